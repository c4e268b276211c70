/*
 * exec/executor.c: the job pool, checkouts, generated scripts, starting
 * the supervisor process (supervisor.c) and the trace writer (see executor.h and
 * docs/EXECUTOR.md).
 *
 * Design:
 * - Threads. exec_pool_start() starts max_concurrent worker threads; each
 *   takes the oldest queued job, runs it to the end and reports it. A
 *   running job is reachable from the pool's slot table, so a cancel can
 *   flag it and wake its worker through the job's eventfd. No signal
 *   handler anywhere: each worker waits on its own children with poll().
 * - Processes. A step (step_script, after_script) is one supervisor
 *   process, started with posix_spawn() from the server's own binary
 *   (supervisor.c: no fork of the server, so no copy-on-write faults in
 *   its threads). It runs bash, kills and reaps everything the step left
 *   behind, then sends bash's wait status on the control socket. The pipe
 *   carrying the job's merged stdout and stderr therefore reaches EOF only
 *   when every process of the step is gone.
 * - Trace. The worker copies the pipe to the trace file as it arrives
 *   (64 KiB reads, write-through), masking masked values on the way with a
 *   carry of at most the longest value minus one byte, and counting bytes
 *   against trace_limit. Its own lines (header, section markers, final
 *   line) are written directly between steps, so the file's order is the
 *   order of events. Memory per job is constant.
 */
#include "exec/executor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <git2.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec/supervisor.h"
#include "git/repo.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

#ifndef SLASHOPS_VERSION
#define SLASHOPS_VERSION "dev"
#endif

#define DEFAULT_TIMEOUT_S 3600u
#define DEFAULT_TRACE_LIMIT (100u * 1024 * 1024)
#define DEFAULT_GRACE_MS 5000u
#define DEFAULT_AFTER_TIMEOUT_S 300u
#define DEFAULT_MAX_QUEUED 1000u
#define READ_CHUNK 65536

#define ANSI_BOLD_GREEN "\033[32;1m"
#define ANSI_BOLD_RED "\033[31;1m"
#define ANSI_BOLD_CYAN "\033[36;1m"
#define ANSI_BOLD_YELLOW "\033[33;1m"
#define ANSI_YELLOW "\033[0;33m"
#define ANSI_RESET "\033[0;m"
#define ANSI_CLEAR "\033[0K"

/* ------------------------------------------------------------------ */
/* Jobs and the pool                                                   */

struct exec_job {
	struct exec_job *next;       /* queue link */
	int64_t id;
	char *job_name, *repos_dir, *sha, *ref, *trace_path;
	int64_t project_id;
	char **before, **script, **after;   /* NULL-terminated, owned */
	char **env;                  /* "KEY=VALUE" in spec order, owned */
	size_t n_env;
	char **masks;                /* masked values, owned */
	size_t n_masks;
	unsigned timeout_s;
	/* Run state. */
	atomic_int cancels;          /* exec_pool_cancel calls */
	atomic_bool force;           /* stop: no after_script, no grace */
	int wake_fd;                 /* eventfd; -1 while queued */
};

struct exec_pool {
	struct exec_pool_options o;  /* strings below are owned copies */
	char *builds_dir, *bash_path, *runner_name, *version;
	char *supervisor_path;       /* the binary run as exec-supervisor */
	bool drop_privileges;        /* running as root */
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	int n_groups;
	char *user_name;             /* job's USER */

	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct exec_job *qhead, *qtail;
	size_t n_queued, n_running;
	struct exec_job **slots;     /* running job per worker, or NULL */
	pthread_t *threads;
	unsigned n_threads;
	bool stopping;
	bool git_ready;              /* shut libgit2 down at stop (set up at the first checkout) */
};

static char **strv_dup(const char *const *v)
{
	size_t n = 0;
	char **out;

	while (v && v[n])
		n++;
	out = xcalloc(n + 1, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

static void strv_free(char **v)
{
	if (!v)
		return;
	for (size_t i = 0; v[i]; i++)
		free(v[i]);
	free(v);
}

static void job_free(struct exec_job *j)
{
	if (!j)
		return;
	free(j->job_name);
	free(j->repos_dir);
	free(j->sha);
	free(j->ref);
	free(j->trace_path);
	strv_free(j->before);
	strv_free(j->script);
	strv_free(j->after);
	for (size_t i = 0; i < j->n_env; i++)
		free(j->env[i]);
	free(j->env);
	for (size_t i = 0; i < j->n_masks; i++)
		free(j->masks[i]);
	free(j->masks);
	if (j->wake_fd >= 0)
		close(j->wake_fd);
	free(j);
}

static bool is_hex_sha(const char *s)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == 40;
}

static bool valid_key(const char *k)
{
	return k && *k && !strchr(k, '=');
}

/* ------------------------------------------------------------------ */
/* Small formatting helpers                                            */

void exec_go_duration(unsigned seconds, char *out, size_t size)
{
	unsigned h = seconds / 3600, m = seconds / 60 % 60, s = seconds % 60;

	if (h)
		snprintf(out, size, "%uh%um%us", h, m, s);
	else if (m)
		snprintf(out, size, "%um%us", m, s);
	else
		snprintf(out, size, "%us", s);
}

char *exec_result_final_line(const struct exec_result *r)
{
	if (r->status == EXEC_SUCCESS)
		return xstrdup(ANSI_BOLD_GREEN "Job succeeded" ANSI_RESET "\n");
	if (r->failure_reason && !strcmp(r->failure_reason, "runner_system_failure"))
		return xasprintf(ANSI_BOLD_RED "ERROR: Job failed (system failure): %s"
				 ANSI_RESET "\n", r->message ? r->message : "");
	return xasprintf(ANSI_BOLD_RED "ERROR: Job failed: %s" ANSI_RESET "\n",
			 r->message ? r->message : "");
}

/* ------------------------------------------------------------------ */
/* The trace writer                                                    */

struct tracew {
	int fd;
	uint64_t written;            /* bytes in the file */
	uint64_t limit;
	bool truncated;
	int werr;                    /* first write error (errno) */
	char *const *masks;          /* borrowed from the job */
	size_t n_masks, max_mask;
	bool first[256];             /* first bytes of mask values */
	char *work;                  /* carry + chunk, READ_CHUNK + max_mask */
	size_t n_carry;
};

static void tw_write(struct tracew *tw, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0 && !tw->werr) {
		ssize_t k = write(tw->fd, c, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			tw->werr = errno;
			return;
		}
		c += k;
		n -= (size_t)k;
		tw->written += (uint64_t)k;
	}
}

/* Job output: counted against the limit. */
static void tw_capped(struct tracew *tw, const char *p, size_t n)
{
	char msg[200];

	if (tw->truncated || n == 0)
		return;
	if (tw->written + n <= tw->limit) {
		tw_write(tw, p, n);
		return;
	}
	if (tw->written < tw->limit)
		tw_write(tw, p, (size_t)(tw->limit - tw->written));
	tw->truncated = true;
	/* GitLab Runner's wording (helpers/trace): the job goes on. */
	snprintf(msg, sizeof(msg), "\n" ANSI_BOLD_YELLOW "Job's log exceeded limit of %llu "
		 "bytes.\nJob execution will continue but no more output will be "
		 "collected." ANSI_RESET "\n", (unsigned long long)tw->limit);
	tw_write(tw, msg, strlen(msg));
}

static void tw_init_masks(struct tracew *tw, char *const *masks, size_t n)
{
	tw->masks = masks;
	tw->n_masks = n;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(masks[i]);

		if (len > tw->max_mask)
			tw->max_mask = len;
		tw->first[(unsigned char)masks[i][0]] = true;
	}
	if (n)
		tw->work = xmalloc(READ_CHUNK + tw->max_mask);
}

/* Job output through the masks. final: no more data follows, so a
 * partial match at the end is output as is. */
static void tw_output(struct tracew *tw, const char *p, size_t n, bool final)
{
	static const char masked[] = "[MASKED]";
	size_t len, i = 0, from = 0;
	char *b;

	if (!tw->n_masks) {
		tw_capped(tw, p, n);
		return;
	}
	b = tw->work;
	memcpy(b + tw->n_carry, p, n);   /* n <= READ_CHUNK */
	len = tw->n_carry + n;
	tw->n_carry = 0;
	while (i < len) {
		size_t best = 0;
		bool partial = false;

		if (!tw->first[(unsigned char)b[i]]) {
			i++;
			continue;
		}
		for (size_t m = 0; m < tw->n_masks; m++) {
			size_t ml = strlen(tw->masks[m]);

			if (len - i >= ml) {
				if (ml > best && !memcmp(b + i, tw->masks[m], ml))
					best = ml;
			} else if (!memcmp(b + i, tw->masks[m], len - i)) {
				partial = true;
			}
		}
		if (best) {
			tw_capped(tw, b + from, i - from);
			tw_capped(tw, masked, sizeof(masked) - 1);
			i += best;
			from = i;
			continue;
		}
		if (partial && !final) {
			tw_capped(tw, b + from, i - from);
			tw->n_carry = len - i;
			memmove(b, b + i, tw->n_carry);
			return;
		}
		i++;
	}
	tw_capped(tw, b + from, len - from);
}

static void tw_printf(struct tracew *tw, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void tw_printf(struct tracew *tw, const char *fmt, ...)
{
	struct buf b = BUF_INIT(0);
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	tw_write(tw, b.data, b.len);
	buf_dispose(&b);
}

static void tw_section_start(struct tracew *tw, const char *name, const char *header)
{
	tw_printf(tw, "section_start:%lld:%s\r" ANSI_CLEAR ANSI_CLEAR ANSI_BOLD_CYAN "%s"
		  ANSI_RESET ANSI_RESET "\n", (long long)clock_unix(), name, header);
}

static void tw_section_end(struct tracew *tw, const char *name)
{
	tw_printf(tw, "section_end:%lld:%s\r" ANSI_CLEAR, (long long)clock_unix(), name);
}

/* ------------------------------------------------------------------ */
/* One step: spawn the supervisor, copy its output, apply deadlines    */

struct step_result {
	int wait_status;             /* bash's; valid when have_status */
	bool have_status;
	bool timed_out, canceled;
	char error[160];             /* system failure, "" if none */
};

static void send_cmd(int fd, char c)
{
	while (send(fd, &c, 1, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

static int run_step(struct exec_pool *p, struct exec_job *j, struct tracew *tw,
		    char *const *argv, char *const *envp, const char *cwd,
		    double deadline_ms, bool is_after, struct step_result *res)
{
	int out[2] = { -1, -1 }, ctl[2] = { -1, -1 }, devnull = -1;
	struct exec_sv_plan c;
	pid_t pid = -1;
	char *chunk = NULL;
	bool out_open = true, ctl_open = true, term_sent = false, kill_sent = false;
	double kill_at = 0;
	size_t have = 0;
	int err = 0, e;

	memset(res, 0, sizeof(*res));
	if (pipe2(out, O_CLOEXEC) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ctl) < 0 ||
	    (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(res->error, sizeof(res->error), "cannot create pipes: %s",
			 strerror(errno));
		err = SO_EFAIL;
		goto done;
	}
	c = (struct exec_sv_plan){
		.bash = p->bash_path, .argv = argv, .envp = envp, .cwd = cwd,
		.drop = p->drop_privileges, .uid = p->uid, .gid = p->gid,
		.groups = p->groups, .n_groups = p->n_groups,
		.devnull = devnull, .out_w = out[1], .ctl = ctl[1],
	};
	if ((e = exec_supervisor_spawn(p->supervisor_path, &c, &pid)) != 0) {
		pid = -1;
		snprintf(res->error, sizeof(res->error), "cannot start the job supervisor %s: %s",
			 p->supervisor_path, strerror(e));
		err = SO_EFAIL;
		goto done;
	}
	close(out[1]);
	out[1] = -1;
	close(ctl[1]);
	ctl[1] = -1;
	chunk = xmalloc(READ_CHUNK);

	while (out_open || ctl_open) {
		struct pollfd pf[3] = {
			{ .fd = out_open ? out[0] : -1, .events = POLLIN },
			{ .fd = ctl_open ? ctl[0] : -1, .events = POLLIN },
			{ .fd = j->wake_fd, .events = POLLIN },
		};
		double now = clock_mono_ms(), next = -1;
		int timeout, n;

		/* A cancel stops step_script; after_script only a forced one. */
		if (!term_sent && (atomic_load(&j->force) ||
				   (!is_after && atomic_load(&j->cancels) > 0))) {
			res->canceled = true;
			goto terminate;
		}
		if (atomic_load(&j->force) && term_sent && !kill_sent) {
			send_cmd(ctl[0], 'K');
			kill_sent = true;
		}
		/* Deadlines: the step's timeout, then SIGKILL after the grace. */
		if (!term_sent && deadline_ms > 0) {
			if (now >= deadline_ms) {
				res->timed_out = true;
				goto terminate;
			}
			next = deadline_ms;
		}
		if (term_sent && !kill_sent) {
			if (now >= kill_at) {
				send_cmd(ctl[0], 'K');
				kill_sent = true;
			} else {
				next = kill_at;
			}
		}
		timeout = next < 0 ? -1 : next - now > 86400000.0 ? 86400000 : (int)(next - now) + 1;
		n = poll(pf, 3, timeout);
		if (n < 0 && errno != EINTR) {
			snprintf(res->error, sizeof(res->error), "poll: %s", strerror(errno));
			goto terminate_now;
		}
		if (n <= 0)
			continue;
		if (pf[2].revents) {
			uint64_t v;

			/* drained; the flags are looked at on the next round */
			if (read(j->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				v = 0;
		}
		if (pf[0].revents) {
			ssize_t k = read(out[0], chunk, READ_CHUNK);

			if (k > 0)
				tw_output(tw, chunk, (size_t)k, false);
			else if (k == 0 || errno != EINTR)
				out_open = false;
		}
		if (pf[1].revents) {
			ssize_t k = recv(ctl[0], (char *)&res->wait_status + have,
					 sizeof(res->wait_status) - have, 0);

			if (k > 0) {
				have += (size_t)k;
				res->have_status = have == sizeof(res->wait_status);
			} else if (k == 0 || errno != EINTR) {
				ctl_open = false;
			}
		}
		continue;
terminate:
		if (!term_sent) {
			send_cmd(ctl[0], atomic_load(&j->force) ? 'K' : 'T');
			term_sent = true;
			kill_sent = atomic_load(&j->force);
			kill_at = clock_mono_ms() + p->o.kill_grace_ms;
		}
		continue;
terminate_now:
		send_cmd(ctl[0], 'K');
		err = SO_EFAIL;
		break;
	}
	tw_output(tw, "", 0, true);   /* flush a partial mask match */
	if (!res->have_status && !err && !res->error[0])
		snprintf(res->error, sizeof(res->error), "the job supervisor ended unexpectedly");
done:
	if (pid > 0) {
		int st;

		if (err)   /* only on a broken poll: closing ctl kills the job */
			close(ctl[0]), ctl[0] = -1;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	free(chunk);
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (ctl[i] >= 0)
			close(ctl[i]);
	}
	if (devnull >= 0)
		close(devnull);
	return err;
}

/* ------------------------------------------------------------------ */
/* Environment and scripts                                             */

struct env_ent {
	const char *s;
	size_t keylen, idx;
};

static int cmp_env(const void *a, const void *b)
{
	const struct env_ent *x = a, *y = b;
	size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c = memcmp(x->s, y->s, n);

	if (c)
		return c;
	if (x->keylen != y->keylen)
		return x->keylen < y->keylen ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The job's environment: defaults, then the job's variables, then the
 * executor's own, later entries of a key winning (at the position of the
 * last one). Returns a NULL-terminated array of owned strings. */
static char **build_env(struct exec_pool *p, struct exec_job *j, unsigned slot,
			const char *project_dir, const char *home, const char *job_status)
{
	char *defaults[] = {
		xstrdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
		xasprintf("HOME=%s", home),
		xstrdup("LANG=C.UTF-8"),
		xasprintf("USER=%s", p->user_name),
		xasprintf("LOGNAME=%s", p->user_name),
		xasprintf("SHELL=%s", p->bash_path),
	};
	char *forced[] = {
		xstrdup("CI_SERVER=yes"),
		xstrdup("CI_SHARED_ENVIRONMENT=true"),
		xasprintf("CI_BUILDS_DIR=%s", p->builds_dir),
		xasprintf("CI_PROJECT_DIR=%s", project_dir),
		xasprintf("CI_JOB_TIMEOUT=%u", j->timeout_s),
		xasprintf("CI_RUNNER_VERSION=%s", p->version),
		xasprintf("CI_JOB_STATUS=%s", job_status),
		xasprintf("CI_CONCURRENT_ID=%u", slot),
	};
	size_t nd = sizeof(defaults) / sizeof(*defaults), nf = sizeof(forced) / sizeof(*forced);
	size_t n = nd + j->n_env + nf, k = 0;
	struct env_ent *e = xcalloc(n, sizeof(*e));
	bool *keep = xcalloc(n, sizeof(*keep));
	char **all = xcalloc(n, sizeof(*all)), **out;

	for (size_t i = 0; i < nd; i++)
		all[k++] = defaults[i];
	for (size_t i = 0; i < j->n_env; i++)
		all[k++] = xstrdup(j->env[i]);
	for (size_t i = 0; i < nf; i++)
		all[k++] = forced[i];
	for (size_t i = 0; i < n; i++)
		e[i] = (struct env_ent){ all[i], strcspn(all[i], "="), i };
	qsort(e, n, sizeof(*e), cmp_env);
	for (size_t i = 0; i < n; i++)
		if (i + 1 == n || e[i].keylen != e[i + 1].keylen ||
		    memcmp(e[i].s, e[i + 1].s, e[i].keylen))
			keep[e[i].idx] = true;
	out = xcalloc(n + 1, sizeof(*out));
	k = 0;
	for (size_t i = 0; i < n; i++) {
		if (keep[i])
			out[k++] = all[i];
		else
			free(all[i]);
	}
	free(all);
	free(keep);
	free(e);
	return out;
}

/* Appends s as one single-quoted shell word. */
static void sh_quote(struct buf *b, const char *s, size_t n)
{
	buf_putc(b, '\'');
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\'')
			buf_puts(b, "'\\''");
		else
			buf_putc(b, s[i]);
	}
	buf_putc(b, '\'');
}

static void script_commands(struct buf *b, char *const *cmds)
{
	for (size_t i = 0; cmds && cmds[i]; i++) {
		const char *c = cmds[i];
		size_t first = strcspn(c, "\n");

		/* the echo is printf with a constant format and the command as
		 * a quoted argument: the text is never interpreted */
		buf_puts(b, "printf '" ANSI_BOLD_GREEN "$ %s" ANSI_RESET "\\n' ");
		if (c[first]) {
			struct buf t = BUF_INIT(0);

			buf_append(&t, c, first);
			buf_puts(&t, " # collapsed multi-line command");
			sh_quote(b, t.data, t.len);
			buf_dispose(&t);
		} else {
			sh_quote(b, c, first);
		}
		buf_putc(b, '\n');
		buf_puts(b, c);
		buf_putc(b, '\n');
	}
}

/* The generated script of a step (GitLab Runner's bash shell). */
static char *make_script(char *const *before, char *const *script, bool after)
{
	struct buf b = BUF_INIT(0);

	buf_puts(&b, "set -eo pipefail\nset +o noclobber\n");
	if (after)
		buf_puts(&b, "printf '" ANSI_BOLD_GREEN "%s" ANSI_RESET "\\n' "
			 "'Running after script...'\n");
	script_commands(&b, before);
	script_commands(&b, script);
	return buf_detach(&b);
}

static int write_file(const char *path, const char *data, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	size_t n = strlen(data);
	int err = 0;

	if (fd < 0)
		return error_set(SO_EFAIL, "cannot write %s: %s", path, strerror(errno));
	while (n > 0) {
		ssize_t k = write(fd, data, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			err = error_set(SO_EFAIL, "cannot write %s: %s", path, strerror(errno));
			break;
		}
		data += k;
		n -= (size_t)k;
	}
	close(fd);
	return err;
}

/* ------------------------------------------------------------------ */
/* Checkout                                                            */

static uid_t chown_uid;
static gid_t chown_gid;
static pthread_mutex_t chown_mu = PTHREAD_MUTEX_INITIALIZER;

static int chown_entry(const char *path, const struct stat *sb, int type, struct FTW *f)
{
	(void)sb;
	(void)type;
	(void)f;
	return lchown(path, chown_uid, chown_gid) < 0 ? -1 : 0;
}

/* Gives a tree to the job user (nftw has no context pointer: a lock). */
static int chown_tree(const char *path, uid_t uid, gid_t gid)
{
	int rc;

	pthread_mutex_lock(&chown_mu);
	chown_uid = uid;
	chown_gid = gid;
	rc = nftw(path, chown_entry, 32, FTW_PHYS | FTW_MOUNT);
	pthread_mutex_unlock(&chown_mu);
	if (rc != 0)
		return error_set(SO_EFAIL, "cannot give %s to the job user: %s", path,
				 strerror(errno));
	return 0;
}

static int git_fail(const char *what)
{
	const git_error *e = git_error_last();

	return error_set(SO_EFAIL, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

/* Copies one object file (objects are immutable; one removed meanwhile
 * by a gc is simply skipped). */
static int copy_file(const char *from, const char *to, char *buf, size_t size)
{
	int in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), out = -1, err = 0;
	ssize_t k;

	if (in < 0)
		return errno == ENOENT ? 0 : error_set(SO_EFAIL, "cannot read %s: %s", from,
						       strerror(errno));
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (out < 0) {
		err = error_set(SO_EFAIL, "cannot create %s: %s", to, strerror(errno));
		goto done;
	}
	while ((k = read(in, buf, size)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 || write(out, buf, (size_t)k) != k) {
			err = error_set(SO_EFAIL, "cannot copy %s: %s", from, strerror(errno));
			goto done;
		}
	}
done:
	close(in);
	if (out >= 0)
		close(out);
	return err;
}

/* Copies the object database (loose objects, packs), never an
 * alternates file, never following a symlink. depth bounds the walk:
 * objects/<xx>/<file>, objects/pack/<file>, objects/info/<file>. */
static bool is_fanout(const char *name)
{
	return strlen(name) == 2 && strspn(name, "0123456789abcdef") == 2;
}

/* skip_loose: at the top level, leave out the loose objects' fan-out
 * directories (pack_loose() has packed them). */
static int copy_objects(const char *from, const char *to, int depth, char *buf, size_t size,
			bool skip_loose)
{
	DIR *d = opendir(from);
	struct dirent *e;
	int err = 0;

	if (!d)
		return errno == ENOENT ? 0 : error_set(SO_EFAIL, "cannot read %s: %s", from,
						       strerror(errno));
	if (mkdir(to, 0755) < 0 && errno != EEXIST) {
		err = error_set(SO_EFAIL, "cannot create %s: %s", to, strerror(errno));
		goto done;
	}
	while (!err && (e = readdir(d))) {
		char *f, *t;
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    strstr(e->d_name, "alternates") || (skip_loose && is_fanout(e->d_name)))
			continue;
		f = xasprintf("%s/%s", from, e->d_name);
		t = xasprintf("%s/%s", to, e->d_name);
		if (lstat(f, &st) == 0) {
			if (S_ISDIR(st.st_mode) && depth > 0)
				err = copy_objects(f, t, depth - 1, buf, size, false);
			else if (S_ISREG(st.st_mode))
				err = copy_file(f, t, buf, size);
		}
		free(f);
		free(t);
	}
done:
	closedir(d);
	return err;
}

#define MAX_PACKED_LOOSE 2000

/* Writes the source repository's loose objects into to_pack as one pack
 * (2 files instead of a directory and a file per object: creating inodes
 * is most of a job's cost, docs/BENCHMARKS.md). Returns 1 when done, 0
 * when there is nothing to pack or too much (the caller copies the loose
 * files instead), negative on error. */
static int pack_loose(const char *src, const char *from, const char *to_pack)
{
	git_repository *repo = NULL;
	git_packbuilder *pb = NULL;
	DIR *d = opendir(from), *sub = NULL;
	struct dirent *e, *f;
	git_oid *oids = xcalloc(MAX_PACKED_LOOSE, sizeof(*oids));
	size_t n = 0;
	int ret = 0;

	if (!d)
		goto cleanup;
	while (ret == 0 && (e = readdir(d))) {
		char *path;

		if (!is_fanout(e->d_name))
			continue;
		path = xasprintf("%s/%s", from, e->d_name);
		sub = opendir(path);
		free(path);
		while (sub && (f = readdir(sub))) {
			char hex[GIT_OID_HEXSZ + 1];

			if (strlen(f->d_name) != GIT_OID_HEXSZ - 2 ||
			    strspn(f->d_name, "0123456789abcdef") != GIT_OID_HEXSZ - 2)
				continue;   /* temporary files of a push */
			if (n == MAX_PACKED_LOOSE) {
				ret = -1;   /* too many: copy the files */
				break;
			}
			snprintf(hex, sizeof(hex), "%s%s", e->d_name, f->d_name);
			if (git_oid_fromstr(&oids[n], hex) == 0)
				n++;
		}
		if (sub)
			closedir(sub);
		sub = NULL;
	}
	if (ret < 0 || n == 0) {
		ret = 0;
		goto cleanup;
	}
	if (git_repository_open_bare(&repo, src) < 0 || git_packbuilder_new(&pb, repo) < 0) {
		ret = git_fail("cannot pack the loose objects");
		goto cleanup;
	}
	git_packbuilder_set_threads(pb, 1);
	for (size_t i = 0; i < n; i++) {
		if (git_packbuilder_insert(pb, &oids[i], NULL) < 0) {
			ret = git_fail("cannot pack the loose objects");
			goto cleanup;
		}
	}
	if (mkdir(to_pack, 0755) < 0 && errno != EEXIST) {
		ret = error_set(SO_EFAIL, "cannot create %s: %s", to_pack, strerror(errno));
		goto cleanup;
	}
	if (git_packbuilder_write(pb, to_pack, 0, NULL, NULL) < 0) {
		ret = git_fail("cannot write the pack of loose objects");
		goto cleanup;
	}
	ret = 1;
cleanup:
	git_packbuilder_free(pb);
	git_repository_free(repo);
	if (d)
		closedir(d);
	free(oids);
	return ret;
}

/* The repository's skeleton: what git needs of one (HEAD, objects/,
 * refs/) and the config `git init` writes on Linux, with HEAD already
 * detached at the job's commit (git makes refs/heads and the like when
 * a job first writes there). Written here rather than by git_repository_init():
 * that probes the file system (symlinks, case, file modes) and rewrites
 * the config three times, a third of a hello-world job's time
 * (docs/BENCHMARKS.md); the answers are known on Linux. libgit2 opens and
 * checks out the result. */
static int skeleton(const char *dir, const char *sha)
{
	static const char *const dirs[] = { "", "/.git", "/.git/objects", "/.git/refs" };
	static const char config[] = "[core]\n"
				     "\trepositoryformatversion = 0\n"
				     "\tfilemode = true\n"
				     "\tbare = false\n"
				     "\tlogallrefupdates = true\n";
	char *path = NULL, *head = NULL;
	int err = 0;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		path = xasprintf("%s%s", dir, dirs[i]);
		if (mkdir(path, 0755) < 0) {
			err = error_set(SO_EFAIL, "cannot create %s: %s", path, strerror(errno));
			goto done;
		}
		free(path);
		path = NULL;
	}
	path = xasprintf("%s/.git/config", dir);
	if ((err = write_file(path, config, 0644)) < 0)
		goto done;
	free(path);
	path = xasprintf("%s/.git/HEAD", dir);
	head = xasprintf("%s\n", sha);
	err = write_file(path, head, 0644);
done:
	free(path);
	free(head);
	return err;
}

/* Makes dir a fresh repository holding a copy of the project's objects
 * and checks out the job's commit as a detached HEAD. (Not git_clone:
 * libgit2 1.5 leaks in the remote configuration it writes, and copying
 * is what a local clone without hard links does. Hard links are out of
 * the question: the job user would own the server's object files after
 * the chown.) Loose objects become one pack (pack_loose). */
static int checkout(struct exec_job *j, const char *dir)
{
	git_checkout_options ck;
	git_repository *repo = NULL;
	git_object *commit = NULL;
	git_oid oid;
	char *src = gitrepo_path(j->repos_dir, j->project_id);
	char *from = xasprintf("%s/objects", src), *to = xasprintf("%s/.git/objects", dir);
	char *buf = xmalloc(READ_CHUNK), *pack = NULL;
	struct stat st;
	int err = 0, packed;

	/* libgit2 is set up on the first checkout, not at pool start (its
	 * global set-up costs megabytes of memory; see git/repo.c) */
	if ((err = gitrepo_init()) < 0)
		goto done;
	git_checkout_options_init(&ck, GIT_CHECKOUT_OPTIONS_VERSION);
	if (stat(from, &st) < 0) {
		err = error_set(SO_ENOTFOUND, "repository of project %lld not found",
				(long long)j->project_id);
		goto done;
	}
	if ((err = skeleton(dir, j->sha)) < 0) /* sha: checked hex by exec_pool_submit */
		goto done;
	pack = xasprintf("%s/pack", to);
	if ((packed = pack_loose(src, from, pack)) < 0) {
		err = packed;
		goto done;
	}
	if ((err = copy_objects(from, to, 2, buf, READ_CHUNK, packed == 1)) < 0)
		goto done;
	if (git_repository_open(&repo, dir) < 0) {
		err = git_fail("cannot open the repository");
		goto done;
	}
	if (git_oid_fromstr(&oid, j->sha) < 0 ||
	    git_object_lookup(&commit, repo, &oid, GIT_OBJECT_COMMIT) < 0) {
		err = error_set(SO_ENOTFOUND, "commit %s not found in the repository", j->sha);
		goto done;
	}
	ck.checkout_strategy = GIT_CHECKOUT_FORCE;
	if (git_checkout_tree(repo, commit, &ck) < 0) {
		err = git_fail("cannot check out the commit");
		goto done;
	}
done:
	git_object_free(commit);
	git_repository_free(repo);
	free(buf);
	free(pack);
	free(from);
	free(to);
	free(src);
	return err;
}

/* ------------------------------------------------------------------ */
/* One job                                                             */

static bool job_canceled(struct exec_job *j)
{
	return atomic_load(&j->cancels) > 0 || atomic_load(&j->force);
}

static const char *step_failure(const struct step_result *s, char *msg, size_t size,
				int *exit_code)
{
	*exit_code = -1;
	if (s->error[0]) {
		snprintf(msg, size, "%s", s->error);
		return "runner_system_failure";
	}
	if (WIFEXITED(s->wait_status)) {
		*exit_code = WEXITSTATUS(s->wait_status);
		if (*exit_code == 0)
			return NULL;
		snprintf(msg, size, "exit status %d", *exit_code);
		return "script_failure";
	}
	if (WIFSIGNALED(s->wait_status)) {
		char name[64];
		const char *sn = strsignal(WTERMSIG(s->wait_status));

		snprintf(name, sizeof(name), "%s", sn ? sn : "unknown");
		if (name[0] >= 'A' && name[0] <= 'Z')
			name[0] = (char)(name[0] - 'A' + 'a');
		snprintf(msg, size, "signal: %s", name);  /* Go's ExitError */
		return "script_failure";
	}
	snprintf(msg, size, "unknown wait status");
	return "runner_system_failure";
}

/* The job's checkout, <builds_dir>/<job id>. Caller frees. */
static char *job_dir(const struct exec_pool *p, int64_t job_id)
{
	return xasprintf("%s/%lld", p->builds_dir, (long long)job_id);
}

static void run_job(struct exec_pool *p, struct exec_job *j, unsigned slot,
		    struct exec_result *r, char *msg, size_t msg_size)
{
	struct tracew tw = { .fd = -1, .limit = p->o.trace_limit };
	char *dir = job_dir(p, j->id);
	char *tmp = xasprintf("%s/%lld.tmp", p->builds_dir, (long long)j->id);
	char *step_path = xasprintf("%s/step_script", tmp);
	char *after_path = xasprintf("%s/after_script", tmp);
	char *text = NULL, **env = NULL;
	double start = clock_mono_ms(), deadline = start + 1000.0 * j->timeout_s;
	struct step_result sr, ar;
	bool sources_ok = false, have_after = j->after && j->after[0];
	char sha8[9];
	int err;

	snprintf(sha8, sizeof(sha8), "%s", j->sha);
	memset(r, 0, sizeof(*r));
	r->exit_code = -1;
	msg[0] = '\0';

	tw.fd = open(j->trace_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (tw.fd < 0) {
		r->status = EXEC_FAILED;
		r->failure_reason = "runner_system_failure";
		snprintf(msg, msg_size, "cannot open the trace file: %s", strerror(errno));
		log_error("job %lld: %s", (long long)j->id, msg);
		goto done;
	}
	tw_init_masks(&tw, j->masks, j->n_masks);

	tw_printf(&tw, ANSI_CLEAR "Running with slashops %s" ANSI_RESET "\n", p->version);
	tw_printf(&tw, ANSI_CLEAR "  on %s" ANSI_RESET "\n", p->runner_name);
	tw_section_start(&tw, "prepare_executor", "Preparing the \"shell\" executor");
	tw_printf(&tw, ANSI_CLEAR "Using Shell (bash) executor..." ANSI_RESET "\n");
	tw_section_end(&tw, "prepare_executor");
	tw_section_start(&tw, "prepare_script", "Preparing environment");
	tw_printf(&tw, "Running on %s...\n", p->runner_name);
	tw_section_end(&tw, "prepare_script");

	tw_section_start(&tw, "get_sources", "Getting source from Git repository");
	tw_printf(&tw, ANSI_BOLD_GREEN "Fetching changes..." ANSI_RESET "\n");
	if (gitrepo_remove_tree(p->builds_dir, dir) < 0 ||
	    gitrepo_remove_tree(p->builds_dir, tmp) < 0 ||
	    mkdir(tmp, 0700) < 0) {
		snprintf(msg, msg_size, "cannot prepare the builds directory: %s",
			 error_code() ? error_msg() : strerror(errno));
	} else {
		tw_printf(&tw, "Initialized empty Git repository in %s/.git/\n", dir);
		tw_printf(&tw, ANSI_BOLD_GREEN "Created fresh repository." ANSI_RESET "\n");
		tw_printf(&tw, ANSI_BOLD_GREEN "Checking out %s as detached HEAD%s%s%s..."
			  ANSI_RESET "\n", sha8, j->ref ? " (ref is " : "", j->ref ? j->ref : "",
			  j->ref ? ")" : "");
		text = make_script(j->before, j->script, false);
		r->checkout_ms = clock_mono_ms();
		err = checkout(j, dir);
		r->checkout_ms = clock_mono_ms() - r->checkout_ms;
		if (err < 0 || write_file(step_path, text, 0500) < 0) {
			snprintf(msg, msg_size, "%s", error_msg());
		} else {
			free(text);
			text = have_after ? make_script(NULL, j->after, true) : NULL;
			if ((text && write_file(after_path, text, 0500) < 0) ||
			    (p->drop_privileges && (chown_tree(dir, p->uid, p->gid) < 0 ||
						    chown_tree(tmp, p->uid, p->gid) < 0)))
				snprintf(msg, msg_size, "%s", error_msg());
			else
				sources_ok = true;
		}
	}
	if (sources_ok) {
		tw_printf(&tw, ANSI_BOLD_GREEN "Skipping Git submodules setup" ANSI_RESET "\n");
	} else {
		tw_printf(&tw, ANSI_BOLD_RED "ERROR: %s" ANSI_RESET "\n", msg);
		r->status = EXEC_FAILED;
		r->failure_reason = "runner_system_failure";
	}
	tw_section_end(&tw, "get_sources");

	if (sources_ok && job_canceled(j)) {
		r->status = EXEC_CANCELED;
	} else if (sources_ok) {
		char *argv[] = { p->bash_path, (char *)"--noprofile", (char *)"--norc",
				 step_path, NULL };

		env = build_env(p, j, slot, dir, tmp, "running");
		tw_section_start(&tw, "step_script",
				 "Executing \"step_script\" stage of the job script");
		r->script_ms = clock_mono_ms();
		run_step(p, j, &tw, argv, env, dir, deadline, false, &sr);
		r->script_ms = clock_mono_ms() - r->script_ms;
		tw_section_end(&tw, "step_script");
		strv_free(env);
		env = NULL;
		if (sr.canceled || (!sr.timed_out && job_canceled(j))) {
			r->status = EXEC_CANCELED;
		} else if (sr.timed_out) {
			char d[32];

			exec_go_duration(j->timeout_s, d, sizeof(d));
			r->status = EXEC_TIMED_OUT;
			r->failure_reason = "job_execution_timeout";
			snprintf(msg, msg_size, "execution took longer than %s seconds", d);
		} else {
			r->failure_reason = step_failure(&sr, msg, msg_size, &r->exit_code);
			r->status = r->failure_reason ? EXEC_FAILED : EXEC_SUCCESS;
		}

		if (have_after && !atomic_load(&j->force)) {
			char *aargv[] = { p->bash_path, (char *)"--noprofile", (char *)"--norc",
					  after_path, NULL };
			const char *status = r->status == EXEC_SUCCESS ? "success"
				: r->status == EXEC_CANCELED ? "canceled" : "failed";
			char amsg[160], d[32];
			bool failed = true;
			int ec;

			env = build_env(p, j, slot, dir, tmp, status);
			tw_section_start(&tw, "after_script", "Running after_script");
			run_step(p, j, &tw, aargv, env, dir,
				 clock_mono_ms() + 1000.0 * p->o.after_script_timeout_s, true, &ar);
			exec_go_duration(p->o.after_script_timeout_s, d, sizeof(d));
			if (ar.timed_out)
				snprintf(amsg, sizeof(amsg), "execution took longer than %s seconds", d);
			else if (ar.canceled)
				snprintf(amsg, sizeof(amsg), "canceled");
			else
				failed = step_failure(&ar, amsg, sizeof(amsg), &ec) != NULL;
			if (failed)
				tw_printf(&tw, ANSI_YELLOW "WARNING: after_script failed, but job will "
					  "continue unaffected: %s" ANSI_RESET "\n", amsg);
			tw_section_end(&tw, "after_script");
		}
		/* a cancel that came at any point before the end wins */
		if (job_canceled(j))
			r->status = EXEC_CANCELED;
		if (r->status == EXEC_CANCELED) {
			r->exit_code = -1;
			r->failure_reason = NULL;
			snprintf(msg, msg_size, "canceled");
		}
	}

	/* The scripts and file variables go now; the checkout itself goes
	 * after the result is reported (worker()), off the reply's path. */
	tw_section_start(&tw, "cleanup_file_variables",
			 "Cleaning up project directory and file based variables");
	if (gitrepo_remove_tree(p->builds_dir, tmp) < 0)
		log_warn("job %lld: %s", (long long)j->id, error_msg());
	tw_section_end(&tw, "cleanup_file_variables");
	if (r->status == EXEC_CANCELED)
		snprintf(msg, msg_size, "canceled");
	r->message = r->status == EXEC_SUCCESS ? NULL : msg;
	{
		char *line = exec_result_final_line(r);

		tw_write(&tw, line, strlen(line));
		free(line);
	}
	if (tw.werr)
		log_error("job %lld: writing the trace: %s", (long long)j->id, strerror(tw.werr));
	r->trace_bytes = tw.written;
	r->trace_truncated = tw.truncated;
done:
	r->message = r->status == EXEC_SUCCESS ? NULL : msg;
	r->duration_ms = clock_mono_ms() - start;
	if (tw.fd >= 0)
		close(tw.fd);
	free(tw.work);
	free(text);
	strv_free(env);
	free(dir);
	free(tmp);
	free(step_path);
	free(after_path);
}

/* ------------------------------------------------------------------ */
/* Workers                                                             */

struct worker_arg {
	struct exec_pool *p;
	unsigned slot;
};

/* One line per job: how it ended and where its time went. */
static void log_finished(const struct exec_job *j, const struct exec_result *r)
{
	struct log_field f[] = {
		LOG_INT("job_id", j->id),
		LOG_STR("name", j->job_name),
		LOG_STR("status", r->status == EXEC_SUCCESS    ? "success"
				  : r->status == EXEC_CANCELED ? "canceled"
							       : "failed"),
		LOG_STR("reason", r->status == EXEC_SUCCESS ? NULL : r->message),
		LOG_NUM("duration_ms", r->duration_ms),
		LOG_NUM("checkout_ms", r->checkout_ms),
		LOG_NUM("script_ms", r->script_ms),
	};

	log_line(LOG_INFO, "job finished", f, sizeof(f) / sizeof(f[0]));
}

static void *worker(void *arg)
{
	struct worker_arg *wa = arg;
	struct exec_pool *p = wa->p;
	unsigned slot = wa->slot;

	free(wa);
	/* Linux keeps a nice value per thread, and children inherit the
	 * value of the thread that starts them. */
	if (p->o.nice > 0 && setpriority(PRIO_PROCESS, (id_t)gettid(), (int)p->o.nice) != 0)
		log_warn("executor: cannot lower the job threads' priority: %s", strerror(errno));
	for (;;) {
		struct exec_job *j;
		struct exec_result r;
		char msg[512];

		pthread_mutex_lock(&p->mu);
		while (!p->stopping && !p->qhead)
			pthread_cond_wait(&p->cv, &p->mu);
		if (!p->qhead) {
			pthread_mutex_unlock(&p->mu);
			break;
		}
		j = p->qhead;
		p->qhead = j->next;
		if (!p->qhead)
			p->qtail = NULL;
		p->n_queued--;
		j->next = NULL;
		p->slots[slot] = j;
		p->n_running++;
		pthread_mutex_unlock(&p->mu);

		log_info("job %lld started%s%s", (long long)j->id,
			 j->job_name ? ": " : "", j->job_name ? j->job_name : "");
		if (p->o.on_start)
			p->o.on_start(p->o.cls, j->id);
		run_job(p, j, slot, &r, msg, sizeof(msg));

		pthread_mutex_lock(&p->mu);
		p->slots[slot] = NULL;
		p->n_running--;
		pthread_mutex_unlock(&p->mu);
		log_finished(j, &r);
		p->o.on_done(p->o.cls, j->id, &r);
		if (!p->o.keep_builds) {
			char *dir = job_dir(p, j->id);

			if (gitrepo_remove_tree(p->builds_dir, dir) < 0)
				log_warn("job %lld: %s", (long long)j->id, error_msg());
			free(dir);
		}
		job_free(j);
	}
	return NULL;
}

static void report_canceled(struct exec_pool *p, struct exec_job *j)
{
	struct exec_result r = {
		.status = EXEC_CANCELED, .exit_code = -1, .message = "canceled",
	};

	p->o.on_done(p->o.cls, j->id, &r);
	job_free(j);
}

/* ------------------------------------------------------------------ */
/* The pool                                                            */

static int resolve_user(struct exec_pool *p, const char *name, bool explicit)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int n = 32;

	if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) != 0 || !res) {
		if (explicit)
			return error_set(SO_ENOTFOUND, "job user %s does not exist", name);
		log_warn("job user %s does not exist; jobs run as nobody", name);
		if (getpwnam_r("nobody", &pw, buf, sizeof(buf), &res) != 0 || !res)
			return error_set(SO_ENOTFOUND, "neither %s nor nobody exists", name);
	}
	if (res->pw_uid == 0)
		return error_set(SO_EINVALID, "jobs cannot run as root (run_as %s)", res->pw_name);
	p->uid = res->pw_uid;
	p->gid = res->pw_gid;
	p->user_name = xstrdup(res->pw_name);
	p->groups = xcalloc((size_t)n, sizeof(gid_t));
	if (getgrouplist(res->pw_name, res->pw_gid, p->groups, &n) < 0) {
		p->groups = xrealloc(p->groups, (size_t)n * sizeof(gid_t));
		if (getgrouplist(res->pw_name, res->pw_gid, p->groups, &n) < 0)
			n = 0;
	}
	p->n_groups = n;
	if (n == 0) {
		p->groups[0] = p->gid;
		p->n_groups = 1;
	}
	return 0;
}

/* Removes what jobs of an earlier run left in builds_dir (a server killed
 * while jobs ran): only entries named <digits> or <digits>.tmp. */
static void purge_stale(const char *builds_dir)
{
	DIR *d = opendir(builds_dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		size_t n = strspn(e->d_name, "0123456789");
		char *path;

		if (n == 0 || (e->d_name[n] && strcmp(e->d_name + n, ".tmp")))
			continue;
		path = xasprintf("%s/%s", builds_dir, e->d_name);
		if (gitrepo_remove_tree(builds_dir, path) < 0)
			log_warn("cannot remove a stale job directory: %s", error_msg());
		free(path);
	}
	closedir(d);
}

static int mkdir_p(const char *path)
{
	char *s = xstrdup(path);
	int err = 0;

	for (char *c = s + 1; ; c++) {
		if (*c == '/' || !*c) {
			char save = *c;

			*c = '\0';
			if (mkdir(s, 0755) < 0 && errno != EEXIST) {
				err = error_set(SO_EFAIL, "cannot create %s: %s", s, strerror(errno));
				break;
			}
			*c = save;
			if (!save)
				break;
		}
	}
	free(s);
	return err;
}

/* The supervisor program: slashops-exec-supervisor beside this process's
 * binary (libc only, quick to start), else the binary itself. */
static int supervisor_default(char **out)
{
	char self[4096], *slash, *alone;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return error_set(SO_EFAIL, "cannot resolve /proc/self/exe: %s", strerror(errno));
	self[n] = '\0';
	slash = strrchr(self, '/');
	alone = xasprintf("%.*s/slashops-exec-supervisor", slash ? (int)(slash - self) : 1,
			  slash ? self : ".");
	if (access(alone, X_OK) == 0) {
		*out = alone;
		return 0;
	}
	free(alone);
	*out = xstrdup(self);
	return 0;
}

int exec_pool_start(struct exec_pool **out, const struct exec_pool_options *o)
{
	struct exec_pool *p = NULL;
	char host[256] = "localhost", probe[64];
	int err = 0;

	*out = NULL;
	if (!o || !o->on_done || !o->builds_dir || o->builds_dir[0] != '/')
		return error_set(SO_EINVALID, "the executor needs on_done and an absolute builds_dir");
	snprintf(probe, sizeof(probe), "/proc/self/task/%ld/children", (long)syscall(SYS_gettid));
	if (access(probe, R_OK) < 0)
		return error_set(SO_EFAIL, "the kernel does not list child processes "
				 "(/proc/<pid>/task/<tid>/children, CONFIG_PROC_CHILDREN)");
	p = xcalloc(1, sizeof(*p));
	p->o = *o;
	if (!p->o.max_concurrent)
		p->o.max_concurrent = 1;
	if (!p->o.max_queued)
		p->o.max_queued = DEFAULT_MAX_QUEUED;
	if (!p->o.trace_limit)
		p->o.trace_limit = DEFAULT_TRACE_LIMIT;
	if (!p->o.kill_grace_ms)
		p->o.kill_grace_ms = DEFAULT_GRACE_MS;
	if (!p->o.after_script_timeout_s)
		p->o.after_script_timeout_s = DEFAULT_AFTER_TIMEOUT_S;
	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	p->builds_dir = xstrdup(o->builds_dir);
	while (strlen(p->builds_dir) > 1 && p->builds_dir[strlen(p->builds_dir) - 1] == '/')
		p->builds_dir[strlen(p->builds_dir) - 1] = '\0';
	p->bash_path = xstrdup(o->bash_path ? o->bash_path : "/bin/bash");
	p->runner_name = xstrdup(o->runner_name ? o->runner_name : host);
	p->version = xstrdup(o->version ? o->version : SLASHOPS_VERSION);
	p->o.builds_dir = p->o.bash_path = p->o.runner_name = p->o.version = NULL;
	p->o.supervisor_path = NULL;
	p->o.run_as = NULL;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);

	if (o->supervisor_path)
		p->supervisor_path = xstrdup(o->supervisor_path);
	else if ((err = supervisor_default(&p->supervisor_path)) < 0)
		goto done;
	if (access(p->supervisor_path, X_OK) < 0) {
		err = error_set(SO_EINVALID, "the job supervisor %s is not executable",
				p->supervisor_path);
		goto done;
	}
	if (access(p->bash_path, X_OK) < 0) {
		err = error_set(SO_EINVALID, "bash not found at %s", p->bash_path);
		goto done;
	}
	if ((err = mkdir_p(p->builds_dir)) < 0)
		goto done;
	purge_stale(p->builds_dir);
	if (geteuid() == 0) {
		struct stat st;

		p->drop_privileges = true;
		if ((err = resolve_user(p, o->run_as ? o->run_as : "slashops-job",
					o->run_as != NULL)) < 0)
			goto done;
		if (stat(p->builds_dir, &st) == 0 && !(st.st_mode & S_IXOTH))
			log_warn("builds_dir %s is not traversable by the job user %s",
				 p->builds_dir, p->user_name);
	} else {
		struct passwd pw, *res = NULL;
		char buf[4096];

		if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res) == 0 && res)
			p->user_name = xstrdup(res->pw_name);
		else
			p->user_name = xasprintf("%u", (unsigned)geteuid());
	}
	p->git_ready = true;
	p->slots = xcalloc(p->o.max_concurrent, sizeof(*p->slots));
	p->threads = xcalloc(p->o.max_concurrent, sizeof(*p->threads));
	for (unsigned i = 0; i < p->o.max_concurrent; i++) {
		struct worker_arg *wa = xmalloc(sizeof(*wa));

		wa->p = p;
		wa->slot = i;
		if (pthread_create(&p->threads[i], NULL, worker, wa) != 0) {
			free(wa);
			err = error_set(SO_EFAIL, "cannot start executor threads");
			goto done;
		}
		p->n_threads++;
	}
	*out = p;
	p = NULL;
done:
	exec_pool_stop(p);
	return err;
}

int exec_pool_submit(struct exec_pool *p, const struct exec_job_spec *s)
{
	struct exec_job *j;
	int err = 0;

	if (!s || s->job_id <= 0 || !s->repos_dir || !s->trace_path || !is_hex_sha(s->sha) ||
	    !s->script || !s->script[0])
		return error_set(SO_EINVALID, "a job needs an id, a repository, a commit sha, "
				 "a trace path and a script");
	for (size_t i = 0; i < s->n_vars; i++) {
		if (!valid_key(s->vars[i].key) || !s->vars[i].value)
			return error_set(SO_EINVALID, "invalid variable name %s",
					 s->vars[i].key ? s->vars[i].key : "(null)");
		/* Linux refuses a longer environment string (MAX_ARG_STRLEN) */
		if (strlen(s->vars[i].key) + strlen(s->vars[i].value) + 2 > EXEC_VAR_MAX)
			return error_set(SO_ETOOBIG, "variable %s is longer than %d bytes",
					 s->vars[i].key, EXEC_VAR_MAX);
	}
	j = xcalloc(1, sizeof(*j));
	j->id = s->job_id;
	j->wake_fd = -1;
	j->job_name = xstrdup(s->job_name);
	j->repos_dir = xstrdup(s->repos_dir);
	j->project_id = s->project_id;
	j->sha = xstrdup(s->sha);
	j->ref = xstrdup(s->ref);
	j->trace_path = xstrdup(s->trace_path);
	j->before = strv_dup(s->before_script);
	j->script = strv_dup(s->script);
	j->after = strv_dup(s->after_script);
	j->timeout_s = s->timeout_s ? s->timeout_s : DEFAULT_TIMEOUT_S;
	j->env = xcalloc(s->n_vars + 1, sizeof(*j->env));
	j->masks = xcalloc(s->n_vars + 1, sizeof(*j->masks));
	for (size_t i = 0; i < s->n_vars; i++) {
		j->env[j->n_env++] = xasprintf("%s=%s", s->vars[i].key, s->vars[i].value);
		if (s->vars[i].masked && s->vars[i].value[0])
			j->masks[j->n_masks++] = xstrdup(s->vars[i].value);
	}
	j->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (j->wake_fd < 0) {
		job_free(j);
		return error_set(SO_EFAIL, "eventfd: %s", strerror(errno));
	}

	pthread_mutex_lock(&p->mu);
	if (p->stopping) {
		err = error_set(SO_ECONFLICT, "the executor is stopping");
		goto unlock;
	}
	if (p->n_queued >= p->o.max_queued) {
		err = error_set(SO_EBUSY, "too many jobs are waiting (%zu)", p->n_queued);
		goto unlock;
	}
	for (struct exec_job *q = p->qhead; q; q = q->next)
		if (q->id == j->id)
			err = error_set(SO_EEXISTS, "job %lld is already queued", (long long)j->id);
	for (unsigned i = 0; i < p->o.max_concurrent; i++)
		if (p->slots[i] && p->slots[i]->id == j->id)
			err = error_set(SO_EEXISTS, "job %lld is already running", (long long)j->id);
	if (err)
		goto unlock;
	if (p->qtail)
		p->qtail->next = j;
	else
		p->qhead = j;
	p->qtail = j;
	p->n_queued++;
	j = NULL;
	pthread_cond_signal(&p->cv);
unlock:
	pthread_mutex_unlock(&p->mu);
	job_free(j);
	return err;
}

static void wake(struct exec_job *j)
{
	uint64_t one = 1;

	if (write(j->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("job %lld: cannot wake its worker: %s", (long long)j->id, strerror(errno));
}

int exec_pool_cancel(struct exec_pool *p, int64_t job_id)
{
	struct exec_job *found = NULL, **pp;
	int err = SO_ENOTFOUND;

	pthread_mutex_lock(&p->mu);
	for (pp = &p->qhead; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == job_id) {
			found = *pp;
			*pp = found->next;
			if (p->qtail == found) {
				p->qtail = NULL;
				for (struct exec_job *q = p->qhead; q; q = q->next)
					p->qtail = q;
			}
			p->n_queued--;
			err = 0;
			break;
		}
	}
	for (unsigned i = 0; !found && i < p->o.max_concurrent; i++) {
		struct exec_job *j = p->slots[i];

		if (j && j->id == job_id) {
			/* a second cancel also kills after_script */
			if (atomic_fetch_add(&j->cancels, 1) > 0)
				atomic_store(&j->force, true);
			wake(j);
			err = 0;
		}
	}
	pthread_mutex_unlock(&p->mu);
	if (found)
		report_canceled(p, found);
	if (err)
		return error_set(err, "job %lld is not queued or running", (long long)job_id);
	return 0;
}

size_t exec_pool_running(struct exec_pool *p)
{
	size_t n;

	pthread_mutex_lock(&p->mu);
	n = p->n_running;
	pthread_mutex_unlock(&p->mu);
	return n;
}

size_t exec_pool_queued(struct exec_pool *p)
{
	size_t n;

	pthread_mutex_lock(&p->mu);
	n = p->n_queued;
	pthread_mutex_unlock(&p->mu);
	return n;
}

void exec_pool_stop(struct exec_pool *p)
{
	struct exec_job *q;

	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	q = p->qhead;
	p->qhead = p->qtail = NULL;
	p->n_queued = 0;
	for (unsigned i = 0; p->slots && i < p->o.max_concurrent; i++) {
		if (p->slots[i]) {
			atomic_store(&p->slots[i]->force, true);
			wake(p->slots[i]);
		}
	}
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	while (q) {
		struct exec_job *next = q->next;

		report_canceled(p, q);
		q = next;
	}
	for (unsigned i = 0; i < p->n_threads; i++)
		pthread_join(p->threads[i], NULL);
	if (p->git_ready)
		gitrepo_shutdown();
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p->threads);
	free(p->slots);
	free(p->groups);
	free(p->user_name);
	free(p->builds_dir);
	free(p->bash_path);
	free(p->runner_name);
	free(p->version);
	free(p->supervisor_path);
	free(p);
}
