/*
 * smart_http.c: git over HTTP through `git http-backend` (see smart_http.h
 * and docs/GIT.md).
 *
 * Design: one request is one struct gitcgi, the running CGI and its three
 * pipes:
 *   1. git_http_handler() parses the path, authenticates (HTTP basic),
 *      checks the project access, and spawns http-backend with a clean
 *      environment (posix_spawn, own process group, default signals, every
 *      other descriptor closed). Its stdin is one end of a socketpair so a
 *      write to a child that died is EPIPE (MSG_NOSIGNAL), never a signal.
 *   2. Both a GET (info/refs, no body) and a POST install a body sink,
 *      so that everything that waits on the child runs on the request's
 *      own thread, never on one of the server's pool threads (the
 *      handler itself only authenticates and spawns). For a GET the sink
 *      sees only the end. A POST's sink writes each chunk to stdin while polling
 *      stdout and stderr too; whatever stdout produces meanwhile goes into
 *      a spill (memory up to 1 MiB, then an unlinked temporary file), so
 *      neither side can block the other. The body is capped at
 *      cfg.max_push_bytes (413).
 *   3. At the end of the body stdin is closed, stdout is read until the
 *      CGI header block is complete (cgi.c), and the answer is streamed:
 *      first the spilled bytes after the header block, then the pipe until
 *      EOF. At EOF the child is reaped; after a successful receive-pack the
 *      default branch is settled and the project's activity touched.
 *   4. The request slot and the response stream each hold a reference;
 *      the last one to go kills the process group if it still runs (the
 *      client went away) and reaps it, so there are never zombies.
 *   5. Waits on the child are cut into POLL_SLICE_MS slices: between them
 *      the sink checks http_request_aborted() and the stream reader checks
 *      whether the request slot is gone (the server ended the request: the
 *      client hung up or the server stops), and both give up, so a stop
 *      never waits for a busy child.
 * stderr is drained all along; its first bytes are logged at warn level
 * when the CGI fails (it never sees credentials: they stay in this process).
 */
#include "git/smart_http.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "auth/auth.h"
#include "core/app.h"
#include "git/cgi.h"
#include "git/http_path.h"
#include "git/repo.h"
#include "git/spill.h"
#include "http/server.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"

#define STDERR_KEEP 2048           /* bytes of CGI stderr kept for the log */
#define IO_TIMEOUT_MS (600 * 1000) /* no progress from the CGI for this long: give up */
#define POLL_SLICE_MS 200          /* longest wait between checks for an abandoned request */
#define DISCARD_SLACK (16u << 20)  /* body bytes swallowed past the cap before hanging up */
#define DEFAULT_BACKEND "/usr/lib/git-core/git-http-backend"
#define REALM_HEADER "Basic realm=\"slashops\""

extern char **environ;

struct gitcgi {
	atomic_int refs;         /* request slot + response stream */
	atomic_bool request_gone; /* the request slot was released: nobody reads the answer */
	struct http_request *req; /* borrowed; for the sink phase only */
	struct app *app;         /* borrowed */
	int64_t project_id;
	bool receive_pack;
	pid_t pid;               /* 0 once reaped */
	int exit_status;         /* waitpid status, valid once reaped */
	int in_fd;               /* our end of the child's stdin, -1 when closed */
	int out_fd;              /* child's stdout, -1 at EOF */
	int err_fd;              /* child's stderr, -1 at EOF */
	struct spill spill;      /* stdout read before the answer started */
	uint64_t body_bytes;     /* request body bytes received */
	uint64_t max_body;
	bool too_big;            /* body went past max_body: child killed */
	bool in_broken;          /* the child stopped reading its stdin */
	bool finished;           /* EOF handled (reaped, post-push done) */
	struct buf errtext;      /* first STDERR_KEEP bytes of stderr */
};

/* ---- the child process ---- */

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static void keep_stderr(struct gitcgi *g, const char *p, size_t n)
{
	if (g->errtext.len < STDERR_KEEP) {
		size_t room = STDERR_KEEP - g->errtext.len;

		buf_append(&g->errtext, p, n < room ? n : room);
	}
}

/* Reads what is available on stderr; closes it at EOF. */
static void drain_stderr(struct gitcgi *g)
{
	char tmp[4096];

	while (g->err_fd >= 0) {
		ssize_t r = read(g->err_fd, tmp, sizeof(tmp));

		if (r > 0) {
			keep_stderr(g, tmp, (size_t)r);
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		close_fd(&g->err_fd);
	}
}

static void kill_child(struct gitcgi *g)
{
	if (g->pid > 0) {
		kill(-g->pid, SIGKILL); /* the whole group: http-backend and its git children */
		kill(g->pid, SIGKILL);
		while (waitpid(g->pid, &g->exit_status, 0) < 0 && errno == EINTR)
			;
		g->pid = 0;
	}
}

static void gitcgi_unref(void *cls)
{
	struct gitcgi *g = cls;

	if (!g || atomic_fetch_sub(&g->refs, 1) != 1)
		return;
	kill_child(g);
	close_fd(&g->in_fd);
	close_fd(&g->out_fd);
	close_fd(&g->err_fd);
	spill_dispose(&g->spill);
	buf_dispose(&g->errtext);
	free(g);
}

/* The request slot's free function: the server is done with the request. */
static void gitcgi_release_request(void *cls)
{
	struct gitcgi *g = cls;

	if (!g)
		return;
	atomic_store(&g->request_gone, true);
	gitcgi_unref(g);
}

/* poll() in slices of POLL_SLICE_MS up to IO_TIMEOUT_MS, giving up early
 * (SO_EFAIL) when the request is abandoned. Returns poll's count (> 0),
 * or a negative code with the message set. */
static int poll_child(struct gitcgi *g, struct pollfd *pf, nfds_t n, bool in_sink)
{
	int waited = 0, r;

	for (;;) {
		r = poll(pf, n, POLL_SLICE_MS);
		if (r > 0)
			return r;
		if (r < 0 && errno != EINTR)
			return error_set(SO_EFAIL, "poll: %s", strerror(errno));
		if (in_sink ? http_request_aborted(g->req) : atomic_load(&g->request_gone))
			return error_set(SO_EFAIL, "the client went away");
		if (r == 0 && (waited += POLL_SLICE_MS) >= IO_TIMEOUT_MS)
			return error_set(SO_EFAIL, "git http-backend made no progress for %d s",
					 IO_TIMEOUT_MS / 1000);
	}
}

static void log_failure(struct gitcgi *g, const char *what)
{
	json_t *f = json_object();

	json_object_set_new(f, "project_id", json_integer(g->project_id));
	json_object_set_new(f, "service",
			    json_string(g->receive_pack ? "git-receive-pack" : "git-upload-pack"));
	if (g->errtext.len)
		json_object_set_new(f, "stderr", json_stringn(buf_cstr(&g->errtext), g->errtext.len));
	log_event(LOG_WARN, what, f);
}

static int ensure_dir(const char *path)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return error_set(SO_EFAIL, "cannot create %s: %s", path, strerror(errno));
	return 0;
}

struct cgi_env {
	char *v[32];
	size_t n;
};

static void env_add(struct cgi_env *e, const char *name, const char *value)
{
	if (!value || e->n + 1 >= sizeof(e->v) / sizeof(e->v[0]))
		return;
	e->v[e->n++] = xasprintf("%s=%s", name, value);
	e->v[e->n] = NULL;
}

static void env_free(struct cgi_env *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	e->n = 0;
}

/* Only the characters a CGI variable from a header may carry: visible
 * ASCII and spaces (no control bytes reach the child's environment). */
static const char *clean_header(const char *v)
{
	if (!v || strlen(v) > 1024)
		return NULL;
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			return NULL;
	return v;
}

static int spawn_backend(struct gitcgi *g, struct http_request *req, const char *username,
			 const char *rest)
{
	const struct config *cfg = &g->app->cfg;
	const char *backend = cfg->git_http_backend && *cfg->git_http_backend
				      ? cfg->git_http_backend
				      : DEFAULT_BACKEND;
	char *home = NULL, *tmp = NULL, *path_info = NULL, *clen = NULL;
	char *argv[] = {(char *)backend, NULL};
	struct cgi_env env = {.n = 0};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int in[2] = {-1, -1}, out[2] = {-1, -1}, errp[2] = {-1, -1};
	int64_t cl = http_request_content_length(req);
	bool fa_init = false, attr_init = false;
	pid_t pid;
	int rc, err = 0;

	home = xasprintf("%s/git-home", cfg->data_dir);
	tmp = xstrdup(g->spill.tmp_dir);
	if ((err = ensure_dir(home)) < 0 || (err = ensure_dir(tmp)) < 0)
		goto done;

	path_info = xasprintf("/%" PRId64 ".git/%s", g->project_id, rest);
	env_add(&env, "GIT_PROJECT_ROOT", cfg->repos_dir);
	env_add(&env, "PATH_INFO", path_info);
	env_add(&env, "REQUEST_METHOD", http_request_method(req));
	env_add(&env, "QUERY_STRING", http_request_query_string(req));
	env_add(&env, "CONTENT_TYPE", clean_header(http_request_header(req, "Content-Type")));
	if (cl >= 0) {
		clen = xasprintf("%" PRId64, cl);
		env_add(&env, "CONTENT_LENGTH", clen);
	}
	env_add(&env, "HTTP_CONTENT_ENCODING",
		clean_header(http_request_header(req, "Content-Encoding")));
	env_add(&env, "GIT_PROTOCOL", clean_header(http_request_header(req, "Git-Protocol")));
	env_add(&env, "REMOTE_USER", username);
	env_add(&env, "REMOTE_ADDR", http_request_remote_addr(req));
	env_add(&env, "GATEWAY_INTERFACE", "CGI/1.1");
	env_add(&env, "SERVER_PROTOCOL", "HTTP/1.1");
	env_add(&env, "GIT_HTTP_EXPORT_ALL", "1");
	env_add(&env, "GIT_HTTP_MAX_REQUEST_BUFFER", "10M");
	env_add(&env, "GIT_CONFIG_NOSYSTEM", "1");
	/* A push is kept as the pack it arrived in, never exploded into
	 * loose objects (git's default below 100 objects): each job copies
	 * the object database, and a few pack files copy much faster than a
	 * file per object. receive.autogc still merges packs (gc.autoPackLimit). */
	env_add(&env, "GIT_CONFIG_COUNT", "1");
	env_add(&env, "GIT_CONFIG_KEY_0", "receive.unpackLimit");
	env_add(&env, "GIT_CONFIG_VALUE_0", "1");
	env_add(&env, "GIT_TERMINAL_PROMPT", "0");
	env_add(&env, "PATH", "/usr/bin:/bin");
	env_add(&env, "HOME", home);
	env_add(&env, "TMPDIR", tmp);
	env_add(&env, "LANG", "C");

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0 ||
	    pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		err = error_set(SO_EFAIL, "cannot create pipes: %s", strerror(errno));
		goto done;
	}
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		goto spawn_fail;
	fa_init = true;
	if ((rc = posix_spawnattr_init(&attr)) != 0)
		goto spawn_fail;
	attr_init = true;
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	if ((rc = posix_spawn_file_actions_adddup2(&fa, in[1], 0)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, out[1], 1)) != 0 ||
	    (rc = posix_spawn_file_actions_adddup2(&fa, errp[1], 2)) != 0 ||
	    (rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) != 0 ||
	    (rc = posix_spawnattr_setsigmask(&attr, &none)) != 0 ||
	    (rc = posix_spawnattr_setsigdefault(&attr, &all)) != 0 ||
	    (rc = posix_spawnattr_setpgroup(&attr, 0)) != 0 ||
	    (rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
							  POSIX_SPAWN_SETPGROUP)) != 0 ||
	    (rc = posix_spawn(&pid, backend, &fa, &attr, argv, env.v)) != 0)
		goto spawn_fail;
	g->pid = pid;
	g->in_fd = in[0];
	g->out_fd = out[0];
	g->err_fd = errp[0];
	in[0] = out[0] = errp[0] = -1;
	set_nonblock(g->in_fd);
	set_nonblock(g->out_fd);
	set_nonblock(g->err_fd);
	goto done;
spawn_fail:
	err = error_set(SO_EFAIL, "cannot run %s: %s", backend, strerror(rc));
done:
	if (fa_init)
		posix_spawn_file_actions_destroy(&fa);
	if (attr_init)
		posix_spawnattr_destroy(&attr);
	for (int i = 0; i < 2; i++) {
		close_fd(&in[i]);
		close_fd(&out[i]);
		close_fd(&errp[i]);
	}
	env_free(&env);
	free(home);
	free(tmp);
	free(path_info);
	free(clen);
	return err;
}

/* One round of I/O with the child: writes from *data (advancing it) when
 * stdin takes bytes, moves stdout into the spill when want_out, and drains
 * stderr. Waits at most IO_TIMEOUT_MS for any progress. */
static int pump(struct gitcgi *g, const char **data, size_t *len, bool want_out)
{
	struct pollfd pf[3];
	int n = 0, in_i = -1, out_i = -1, err_i = -1, r;
	char tmp[65536];

	if (*len > 0 && g->in_fd >= 0) {
		in_i = n;
		pf[n++] = (struct pollfd){.fd = g->in_fd, .events = POLLOUT};
	}
	if (want_out && g->out_fd >= 0) {
		out_i = n;
		pf[n++] = (struct pollfd){.fd = g->out_fd, .events = POLLIN};
	}
	if (g->err_fd >= 0) {
		err_i = n;
		pf[n++] = (struct pollfd){.fd = g->err_fd, .events = POLLIN};
	}
	if (n == 0)
		return 0;
	if ((r = poll_child(g, pf, (nfds_t)n, true)) < 0)
		return r;
	if (in_i >= 0 && pf[in_i].revents) {
		ssize_t w = send(g->in_fd, *data, *len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w > 0) {
			*data += w;
			*len -= (size_t)w;
		} else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			/* The child stopped reading (it failed or answered
			 * early): swallow the rest of the body. */
			g->in_broken = true;
			close_fd(&g->in_fd);
		}
	}
	if (out_i >= 0 && pf[out_i].revents) {
		ssize_t got = read(g->out_fd, tmp, sizeof(tmp));
		int err;

		if (got > 0) {
			if ((err = spill_write(&g->spill, tmp, (size_t)got)) < 0)
				return err;
		} else if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			close_fd(&g->out_fd);
		}
	}
	if (err_i >= 0 && pf[err_i].revents)
		drain_stderr(g);
	return 0;
}

/* Writes one chunk of the request body to the child. */
static int feed(struct gitcgi *g, const char *data, size_t len)
{
	int err;

	while (len > 0 && g->in_fd >= 0)
		if ((err = pump(g, &data, &len, true)) < 0)
			return err;
	return 0;
}

/* Reaps the child once stdout is at EOF, draining stderr meanwhile (a
 * child blocked on a full stderr pipe would never exit). */
static void reap(struct gitcgi *g)
{
	while (g->pid > 0) {
		pid_t r = waitpid(g->pid, &g->exit_status, WNOHANG);

		if (r == g->pid || (r < 0 && errno != EINTR)) {
			g->pid = 0;
			break;
		}
		if (r == 0) {
			struct pollfd pf = {.fd = g->err_fd, .events = POLLIN};

			if (g->err_fd >= 0 && poll(&pf, 1, 50) > 0)
				drain_stderr(g);
			else if (g->err_fd < 0)
				usleep(10000);
		}
	}
	drain_stderr(g);
	close_fd(&g->err_fd);
}

/* After a successful push: adopt a default branch if the project has none,
 * and record activity. Failures here are logged, never fatal to the push
 * that already succeeded. */
static void after_push(struct gitcgi *g)
{
	struct app *app = g->app;
	struct store_project *p = NULL;
	char *branch = NULL;

	if (store_project_get(app->store, g->project_id, &p) < 0)
		goto done;
	if (!p->default_branch || !*p->default_branch) {
		if (gitrepo_pick_default_branch(app->cfg.repos_dir, g->project_id, &branch) == 0 &&
		    (store_project_set_default_branch(app->store, g->project_id, branch) < 0 ||
		     gitrepo_set_head(app->cfg.repos_dir, g->project_id, branch) < 0))
			log_warn("cannot set the default branch of project %" PRId64 ": %s",
				 g->project_id, error_msg());
	}
	if (store_project_touch_activity(app->store, g->project_id) < 0)
		log_warn("cannot record activity of project %" PRId64 ": %s", g->project_id,
			 error_msg());
done:
	error_clear();
	store_project_free(p);
	free(branch);
}

static void finish(struct gitcgi *g)
{
	bool ok;

	if (g->finished)
		return;
	g->finished = true;
	reap(g);
	ok = WIFEXITED(g->exit_status) && WEXITSTATUS(g->exit_status) == 0;
	if (!ok)
		log_failure(g, "git http-backend failed");
	else if (g->receive_pack)
		after_push(g);
}

/* The response body: spilled bytes first, then the pipe until EOF. */
static ssize_t stream_reader(void *cls, char *buf, size_t max)
{
	struct gitcgi *g = cls;
	ssize_t n = spill_read(&g->spill, buf, max);

	if (n != 0)
		return n < 0 ? -1 : n;
	while (g->out_fd >= 0) {
		struct pollfd pf[2] = {{.fd = g->out_fd, .events = POLLIN},
				       {.fd = g->err_fd, .events = POLLIN}};
		if (poll_child(g, pf, g->err_fd >= 0 ? 2 : 1, false) < 0) {
			if (!atomic_load(&g->request_gone))
				log_failure(g, error_msg());
			return -1;
		}
		if (g->err_fd >= 0 && pf[1].revents)
			drain_stderr(g);
		if (pf[0].revents) {
			n = read(g->out_fd, buf, max);
			if (n > 0)
				return n;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
				continue;
			close_fd(&g->out_fd);
		}
	}
	finish(g);
	return 0;
}

static bool hop_by_hop(const char *name)
{
	static const char *const skip[] = {"Content-Length", "Transfer-Encoding", "Connection",
					   "Keep-Alive", "Cache-Control", "Upgrade",
					   "Trailer", "Set-Cookie"};

	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (!strcasecmp(name, skip[i]))
			return true;
	return false;
}

static int respond_text(struct http_request *req, unsigned status, const char *msg)
{
	char *body = xasprintf("%s\n", msg);
	int rc;

	http_add_header(req, "Cache-Control", "no-cache");
	rc = http_respond(req, status, "text/plain; charset=utf-8", body, strlen(body));
	free(body);
	return rc;
}

/* stdin is closed: read until the CGI header block is complete, then
 * answer with the rest streamed. */
static int answer(struct http_request *req, struct gitcgi *g)
{
	struct cgi_headers h = {0};
	size_t consumed = 0;
	const char *none = NULL;
	size_t zero = 0;
	int err;

	close_fd(&g->in_fd);
	for (;;) {
		err = cgi_parse_headers(g->spill.mem ? g->spill.mem : "", g->spill.mem_len, &h,
					&consumed);
		if (err != SO_EBUSY)
			break;
		if (g->out_fd < 0) {
			err = error_set(SO_EFAIL, "git http-backend ended without an answer");
			break;
		}
		if ((err = pump(g, &none, &zero, true)) < 0)
			break;
	}
	if (err < 0) {
		log_failure(g, error_msg());
		kill_child(g);
		return respond_text(req, 502, "git http-backend failed");
	}
	g->spill.mem_pos = consumed;
	for (size_t i = 0; i < h.count; i++)
		if (!hop_by_hop(h.list[i].name))
			http_add_header(req, h.list[i].name, h.list[i].value);
	http_add_header(req, "Cache-Control", "no-cache");
	atomic_fetch_add(&g->refs, 1);
	err = http_respond_stream(req, h.status,
				  h.content_type ? h.content_type : "application/octet-stream",
				  stream_reader, g, gitcgi_unref);
	cgi_headers_dispose(&h);
	return err;
}

static int respond_too_big(struct http_request *req, uint64_t max)
{
	char *msg = xasprintf("the push is larger than the limit of %" PRIu64 " bytes", max);
	int rc = respond_text(req, 413, msg);

	free(msg);
	return rc;
}

static int body_sink(struct http_request *req, const char *data, size_t len, void *cls)
{
	struct gitcgi *g = cls;
	int rc;

	if (data == NULL)
		return g->too_big ? 0 : answer(req, g);
	g->body_bytes += len;
	if (g->too_big)
		/* answered already; swallow a little more so the client can
		 * read the 413, then let the server hang up */
		return g->body_bytes > g->max_body + DISCARD_SLACK ? -1 : 0;
	if (g->body_bytes > g->max_body) {
		g->too_big = true;
		kill_child(g);
		close_fd(&g->in_fd);
		return respond_too_big(req, g->max_body);
	}
	if (g->in_fd < 0)
		return 0; /* the child stopped reading: swallow, it answers at the end */
	if ((rc = feed(g, data, len)) < 0) {
		log_failure(g, error_msg());
		kill_child(g);
		return -1;
	}
	return 0;
}

/* ---- access ---- */

enum verdict { V_OK, V_UNAUTHORIZED, V_FORBIDDEN_READ, V_FORBIDDEN_WRITE, V_SCOPE, V_HIDDEN };

static enum verdict decide(const struct auth_identity *id, const struct store_project *p,
			   int level, bool can_read, bool write)
{
	bool anon = id->user == NULL;
	bool visible = can_read || level >= AUTH_ACCESS_GUEST;
	bool read_code = level >= AUTH_ACCESS_REPORTER ||
			 (can_read && p->visibility != STORE_VIS_PRIVATE);

	if (!visible)
		return anon ? V_UNAUTHORIZED : V_HIDDEN;
	if (write && anon)
		return V_UNAUTHORIZED;
	if (!read_code)
		return anon ? V_UNAUTHORIZED : V_FORBIDDEN_READ;
	if (write && level < AUTH_ACCESS_DEVELOPER)
		return V_FORBIDDEN_WRITE;
	if (id->via == AUTH_TOKEN) {
		const char *s = id->scopes ? id->scopes : "";
		bool ok = auth_scopes_include(s, "api") ||
			  auth_scopes_include(s, "write_repository") ||
			  (!write && auth_scopes_include(s, "read_repository"));

		if (!ok)
			return V_SCOPE;
	}
	return V_OK;
}

static int unauthorized(struct http_request *req)
{
	http_add_header(req, "WWW-Authenticate", REALM_HEADER);
	return respond_text(req, 401, "HTTP Basic: Access denied");
}

int git_http_handler(struct http_request *req, void *app_)
{
	struct app *app = app_;
	struct auth_identity id = {0};
	struct store_project *p = NULL;
	struct gitcgi *g = NULL;
	const char *method = http_request_method(req), *rest = NULL, *service = NULL;
	char *project_path = NULL, *repo = NULL, *tmpdir = NULL;
	enum git_http_endpoint ep;
	int64_t cl;
	struct stat st;
	bool write, can_read = false;
	int level = 0, err;

	ep = git_http_parse_path(http_request_path(req), &project_path, &rest);
	if (ep == GIT_HTTP_NONE)
		return HTTP_NEXT;
	if (ep == GIT_HTTP_DUMB) {
		err = respond_text(req, 403, "the dumb HTTP protocol is not supported; use git 1.6.6 or later");
		goto done;
	}
	if (ep == GIT_HTTP_INFO_REFS) {
		service = http_request_query(req, "service");
		if (strcmp(method, "GET") != 0) {
			http_add_header(req, "Allow", "GET");
			err = respond_text(req, 405, "method not allowed");
			goto done;
		}
		if (!service || (strcmp(service, "git-upload-pack") != 0 &&
				 strcmp(service, "git-receive-pack") != 0)) {
			err = respond_text(req, 403, "the dumb HTTP protocol is not supported; use git 1.6.6 or later");
			goto done;
		}
	} else {
		service = ep == GIT_HTTP_UPLOAD_PACK ? "git-upload-pack" : "git-receive-pack";
		if (strcmp(method, "POST") != 0) {
			http_add_header(req, "Allow", "POST");
			err = respond_text(req, 405, "method not allowed");
			goto done;
		}
	}
	write = !strcmp(service, "git-receive-pack");

	err = auth_request_basic(app, req, &id);
	if (err == SO_EAUTH) {
		err = unauthorized(req);
		goto done;
	}
	if (err < 0)
		goto done;
	err = store_project_get_by_path(app->store, project_path, &p);
	if (err == SO_ENOTFOUND) {
		err = id.user ? respond_text(req, 404, "The project you were looking for could not be found.")
			      : unauthorized(req);
		goto done;
	}
	if (err < 0 || (err = auth_project_access(app, id.user, p->id, &level, &can_read)) < 0)
		goto done;
	switch (decide(&id, p, level, can_read, write)) {
	case V_OK:
		break;
	case V_UNAUTHORIZED:
		err = unauthorized(req);
		goto done;
	case V_HIDDEN:
		err = respond_text(req, 404, "The project you were looking for could not be found.");
		goto done;
	case V_FORBIDDEN_READ:
		err = respond_text(req, 403, "You are not allowed to download code from this project.");
		goto done;
	case V_FORBIDDEN_WRITE:
		err = respond_text(req, 403, "You are not allowed to push code to this project.");
		goto done;
	case V_SCOPE:
		err = respond_text(req, 403, write
			? "Your token needs the write_repository or api scope to push."
			: "Your token needs the read_repository, write_repository or api scope to pull.");
		goto done;
	}

	cl = http_request_content_length(req);
	if (cl > 0 && app->cfg.max_push_bytes && (uint64_t)cl > app->cfg.max_push_bytes) {
		err = respond_too_big(req, app->cfg.max_push_bytes);
		goto done;
	}
	/* A project whose repository is missing (created before its
	 * repository, or restored from a database backup) gets an empty one. */
	repo = gitrepo_path(app->cfg.repos_dir, p->id);
	if (stat(repo, &st) < 0 &&
	    (err = gitrepo_create(app->cfg.repos_dir, p->id, p->default_branch)) < 0 &&
	    err != SO_EEXISTS)
		goto done;

	g = xcalloc(1, sizeof(*g));
	atomic_init(&g->refs, 1);
	g->app = app;
	g->project_id = p->id;
	g->receive_pack = write;
	g->in_fd = g->out_fd = g->err_fd = -1;
	g->max_body = app->cfg.max_push_bytes ? app->cfg.max_push_bytes : UINT64_MAX;
	buf_init(&g->errtext, STDERR_KEEP + 1);
	tmpdir = xasprintf("%s/tmp", app->cfg.data_dir);
	spill_init(&g->spill, tmpdir, SPILL_MEM_MAX);
	g->req = req;
	http_request_set_data(req, g, gitcgi_release_request);
	if ((err = spawn_backend(g, req, id.user ? id.user->username : NULL, rest)) < 0) {
		log_failure(g, error_msg());
		err = respond_text(req, 500, "cannot run git http-backend");
		goto done;
	}
	/* also for info/refs (no body): the answer waits for the child */
	http_request_set_body_sink(req, body_sink, g);
done:
	if (err < 0 && err != HTTP_NEXT)
		log_warn("git request failed: %s", error_msg());
	auth_identity_dispose(&id);
	store_project_free(p);
	free(project_path);
	free(repo);
	free(tmpdir);
	return err;
}
