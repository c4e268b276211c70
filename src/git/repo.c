/*
 * repo.c: the project repositories on disk (see repo.h), with libgit2.
 *
 * Design: every call opens the bare repository at <repos_dir>/<id>.git,
 * does its work and closes it again; nothing is cached, so calls from
 * different threads never share a libgit2 object and a repository deleted
 * by one request is simply "not found" for the next. libgit2 failures
 * become SO_EFAIL with libgit2's own message (it names paths and refs,
 * never secrets); a missing ref, path or object becomes SO_ENOTFOUND.
 *
 * Writes to a repository happen only through `git http-backend`
 * (smart_http.c), so gitrepo_create() also writes the two config keys that
 * make http-backend serve both services (we authenticate before running
 * it). Removal is a depth-first walk (nftw, never following symlinks) that
 * refuses to touch anything that does not resolve to a path strictly
 * inside repos_dir.
 *
 * libgit2 is initialised on first use (gitrepo_init() is idempotent and
 * every call here makes it): its global set-up (TLS and SSH back ends,
 * CA certificates) touches about 3 MiB of library pages, which a server
 * that nobody pushes to or runs jobs on never needs. Before it, libssh2 is
 * initialised with LIBSSH2_INIT_NO_CRYPTO (libssh2's flag for programs
 * that set their crypto library up themselves): libgit2's own
 * libssh2_init(0) then finds libssh2 initialised and skips OpenSSL's
 * eager set-up of every engine and algorithm (1.8 MiB of libcrypto pages).
 * slashops only opens local repositories, so libgit2's SSH transport is
 * never used; were it used, OpenSSL (>= 1.1) initialises itself on first
 * use anyway.
 */
#include "git/repo.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>
#include <libssh2.h>

#include "util/buf.h"
#include "util/error.h"
#include "util/tls.h"

/* Turns the last libgit2 error into SO_EFAIL (or SO_ENOTFOUND for
 * GIT_ENOTFOUND) with libgit2's message after what we were doing. */
static int git_fail(int gitcode, const char *what)
{
	const git_error *e = git_error_last();
	int code = gitcode == GIT_ENOTFOUND ? SO_ENOTFOUND : SO_EFAIL;

	return error_set(code, "%s: %s", what, e && e->message ? e->message : "libgit2 error");
}

static pthread_mutex_t init_mu = PTHREAD_MUTEX_INITIALIZER;
static bool initialised; /* under init_mu */

/* gitrepo_branch_file() runs for every chat command; opening the
 * repository (reading its config, listing and mapping its pack indexes)
 * was most of its time. Each thread keeps the last repository it opened
 * there, checked by path and the directory's device and inode (a project
 * deleted and re-created is another directory). Reusing the handle is
 * safe: refs are read from disk at every lookup, and libgit2 rescans the
 * packs when an object is not found (a push added a pack). The handle is
 * freed when the thread ends, or by gitrepo_shutdown() for the calling
 * thread (the server stops its HTTP threads before that). */
struct repo_cache {
	char *path;
	dev_t dev;
	ino_t ino;
	git_repository *repo;
};

static void repo_cache_free(void *p)
{
	struct repo_cache *c = p;

	if (!c)
		return;
	git_repository_free(c->repo);
	free(c->path);
	free(c);
}

static struct tls_slot repo_cache_slot = TLS_SLOT_INIT(repo_cache_free, sizeof(struct repo_cache));

int gitrepo_init(void)
{
	int err = 0;

	pthread_mutex_lock(&init_mu);
	if (!initialised) {
		if (libssh2_init(LIBSSH2_INIT_NO_CRYPTO) != 0) {
			err = error_set(SO_EFAIL, "cannot initialise libssh2");
		} else if (git_libgit2_init() < 0) {
			err = git_fail(-1, "cannot initialise libgit2");
			libssh2_exit();
		} else {
			/* Only each repository's own config counts: the server's
			 * behaviour (and a job's checkout, core.autocrlf say) must
			 * not depend on the system's or the service account's git
			 * configuration, and every open skips looking for them. */
			static const git_config_level_t levels[] = {
				GIT_CONFIG_LEVEL_PROGRAMDATA, GIT_CONFIG_LEVEL_SYSTEM,
				GIT_CONFIG_LEVEL_XDG, GIT_CONFIG_LEVEL_GLOBAL,
			};

			for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
				(void)git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, levels[i], "");
			initialised = true;
		}
	}
	pthread_mutex_unlock(&init_mu);
	return err;
}

void gitrepo_shutdown(void)
{
	tls_slot_drop(&repo_cache_slot);
	pthread_mutex_lock(&init_mu);
	if (initialised) {
		git_libgit2_shutdown();
		libssh2_exit();
	}
	initialised = false;
	pthread_mutex_unlock(&init_mu);
}

char *gitrepo_path(const char *repos_dir, int64_t project_id)
{
	return xasprintf("%s/%lld.git", repos_dir, (long long)project_id);
}

bool gitrepo_branch_name_valid(const char *branch)
{
	char *ref;
	int valid = 0;

	if (!branch || !*branch || strlen(branch) > 255 || branch[0] == '-' ||
	    gitrepo_init() < 0)
		return false;
	ref = xasprintf("refs/heads/%s", branch);
	if (git_reference_name_is_valid(&valid, ref) < 0)
		valid = 0;
	free(ref);
	return valid != 0;
}

static int open_repo(const char *repos_dir, int64_t project_id, git_repository **out)
{
	char *path;
	int rc, err;

	*out = NULL;
	if ((err = gitrepo_init()) < 0)
		return err;
	path = gitrepo_path(repos_dir, project_id);
	rc = git_repository_open_bare(out, path);
	if (rc < 0)
		err = rc == GIT_ENOTFOUND
			? error_set(SO_ENOTFOUND, "repository of project %lld not found",
				    (long long)project_id)
			: git_fail(rc, "cannot open repository");
	free(path);
	return err;
}

/* open_repo() through this thread's one-entry cache: *out is borrowed
 * (valid until this thread's next call). */
static int open_repo_cached(const char *repos_dir, int64_t project_id, git_repository **out)
{
	struct repo_cache *c;
	struct stat st;
	char *path;
	int err;

	*out = NULL;
	if ((err = gitrepo_init()) < 0)
		return err;
	path = gitrepo_path(repos_dir, project_id);
	if (stat(path, &st) != 0) {
		free(path);
		return error_set(SO_ENOTFOUND, "repository of project %lld not found",
				 (long long)project_id);
	}
	if (!(c = tls_slot_get(&repo_cache_slot))) {
		free(path);
		return error_set(SO_EFAIL, "cannot keep a repository handle");
	}
	if (c->repo && strcmp(c->path, path) == 0 && c->dev == st.st_dev && c->ino == st.st_ino) {
		free(path);
		*out = c->repo;
		return 0;
	}
	git_repository_free(c->repo);
	c->repo = NULL;
	free(c->path);
	c->path = path;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	if ((err = open_repo(repos_dir, project_id, &c->repo)) < 0)
		return err;
	*out = c->repo;
	return 0;
}

int gitrepo_create(const char *repos_dir, int64_t project_id, const char *default_branch)
{
	git_repository_init_options opts;
	git_repository *repo = NULL;
	git_config *cfg = NULL, *local = NULL;
	const char *branch = default_branch && *default_branch ? default_branch : "main";
	char *path = gitrepo_path(repos_dir, project_id);
	struct stat st;
	bool made = false;
	int rc, err = 0;

	if (project_id <= 0) {
		err = error_set(SO_EINVALID, "invalid project id");
		goto done;
	}
	if ((err = gitrepo_init()) < 0)
		goto done;
	if (!gitrepo_branch_name_valid(branch)) {
		err = error_set(SO_EINVALID, "default_branch is not a valid branch name");
		goto done;
	}
	if (lstat(path, &st) == 0) {
		err = error_set(SO_EEXISTS, "repository of project %lld already exists",
				(long long)project_id);
		goto done;
	}
	git_repository_init_options_init(&opts, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
	opts.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_NO_REINIT |
		     GIT_REPOSITORY_INIT_MKPATH;
	opts.mode = GIT_REPOSITORY_INIT_SHARED_UMASK;
	opts.initial_head = branch;
	if ((rc = git_repository_init_ext(&repo, path, &opts)) < 0) {
		err = rc == GIT_EEXISTS
			? error_set(SO_EEXISTS, "repository of project %lld already exists",
				    (long long)project_id)
			: git_fail(rc, "cannot create repository");
		goto done;
	}
	made = true;
	if ((rc = git_repository_config(&cfg, repo)) < 0 ||
	    (rc = git_config_open_level(&local, cfg, GIT_CONFIG_LEVEL_LOCAL)) < 0 ||
	    (rc = git_config_set_bool(local, "http.receivepack", 1)) < 0 ||
	    (rc = git_config_set_bool(local, "http.uploadpack", 1)) < 0 ||
	    (rc = git_config_set_bool(local, "http.getanyfile", 0)) < 0) {
		err = git_fail(rc, "cannot configure repository");
		goto done;
	}
done:
	git_config_free(local);
	git_config_free(cfg);
	git_repository_free(repo);
	if (err < 0 && made) {
		/* nothing half-made stays behind */
		int keep = error_code();
		char *msg = xstrdup(error_msg());

		gitrepo_remove_tree(repos_dir, path);
		error_set(keep, "%s", msg);
		free(msg);
	}
	free(path);
	return err;
}

static int rm_entry(const char *fpath, const struct stat *sb, int typeflag, struct FTW *ftwbuf)
{
	(void)sb;
	(void)ftwbuf;
	if (typeflag == FTW_DP)
		return rmdir(fpath) == 0 || errno == ENOENT ? 0 : -1;
	return unlink(fpath) == 0 || errno == ENOENT ? 0 : -1;
}

int gitrepo_remove_tree(const char *root, const char *path)
{
	char *rroot = NULL, *rparent = NULL, *parent = NULL, *slash;
	const char *base;
	struct stat st;
	size_t n;
	int err = 0;

	if (!root || !path || !*path) {
		err = error_set(SO_EINVALID, "no path to remove");
		goto done;
	}
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			goto done; /* missing is not an error */
		err = error_set(SO_EFAIL, "cannot remove %s: %s", path, strerror(errno));
		goto done;
	}
	/* Resolve the parent (not the entry itself: a symlink named like a
	 * repository is removed as a link, never followed). */
	parent = xstrdup(path);
	slash = strrchr(parent, '/');
	base = slash ? slash + 1 : parent;
	if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
		err = error_set(SO_EINVALID, "refusing to remove %s", path);
		goto done;
	}
	if (slash == parent)
		parent[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(parent, ".");
	rroot = realpath(root, NULL);
	rparent = realpath(parent, NULL);
	if (!rroot || !rparent) {
		err = error_set(SO_EINVALID, "refusing to remove %s: outside the repositories directory",
				path);
		goto done;
	}
	n = strlen(rroot);
	if (strncmp(rparent, rroot, n) != 0 || (rparent[n] != '\0' && rparent[n] != '/') ||
	    (n == 1 && rroot[0] == '/')) {
		err = error_set(SO_EINVALID, "refusing to remove %s: outside the repositories directory",
				path);
		goto done;
	}
	if (S_ISDIR(st.st_mode)) {
		if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
			err = error_set(SO_EFAIL, "cannot remove %s: %s", path, strerror(errno));
	} else if (unlink(path) < 0 && errno != ENOENT) {
		err = error_set(SO_EFAIL, "cannot remove %s: %s", path, strerror(errno));
	}
done:
	free(rroot);
	free(rparent);
	free(parent);
	return err;
}

int gitrepo_delete(const char *repos_dir, int64_t project_id)
{
	char *path;
	int err;

	if (project_id <= 0)
		return error_set(SO_EINVALID, "invalid project id");
	path = gitrepo_path(repos_dir, project_id);
	err = gitrepo_remove_tree(repos_dir, path);
	free(path);
	return err;
}

int gitrepo_set_head(const char *repos_dir, int64_t project_id, const char *branch)
{
	git_repository *repo = NULL;
	git_reference *ref = NULL;
	char *target = NULL;
	int rc, err;

	if (!gitrepo_branch_name_valid(branch))
		return error_set(SO_EINVALID, "invalid branch name");
	if ((err = open_repo(repos_dir, project_id, &repo)) < 0)
		goto done;
	target = xasprintf("refs/heads/%s", branch);
	if ((rc = git_reference_symbolic_create(&ref, repo, "HEAD", target, 1,
						"slashops: default branch")) < 0)
		err = git_fail(rc, "cannot set HEAD");
done:
	git_reference_free(ref);
	git_repository_free(repo);
	free(target);
	return err;
}

int gitrepo_head_branch(const char *repos_dir, int64_t project_id, char **out)
{
	git_repository *repo = NULL;
	git_reference *head = NULL;
	const char *t;
	int rc, err;

	*out = NULL;
	if ((err = open_repo(repos_dir, project_id, &repo)) < 0)
		goto done;
	if ((rc = git_reference_lookup(&head, repo, "HEAD")) < 0) {
		err = git_fail(rc, "cannot read HEAD");
		goto done;
	}
	t = git_reference_symbolic_target(head);
	if (!t || strncmp(t, "refs/heads/", 11) != 0) {
		err = error_set(SO_ENOTFOUND, "HEAD does not point at a branch");
		goto done;
	}
	*out = xstrdup(t + 11);
done:
	git_reference_free(head);
	git_repository_free(repo);
	return err;
}

int gitrepo_is_empty(const char *repos_dir, int64_t project_id, bool *out)
{
	git_repository *repo = NULL;
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	int rc, err;

	*out = true;
	if ((err = open_repo(repos_dir, project_id, &repo)) < 0)
		goto done;
	if ((rc = git_reference_iterator_glob_new(&it, repo, "refs/*")) < 0) {
		err = git_fail(rc, "cannot list references");
		goto done;
	}
	rc = git_reference_next(&ref, it);
	if (rc == 0)
		*out = false;
	else if (rc != GIT_ITEROVER)
		err = git_fail(rc, "cannot list references");
done:
	git_reference_free(ref);
	git_reference_iterator_free(it);
	git_repository_free(repo);
	return err;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int gitrepo_branches(const char *repos_dir, int64_t project_id, char ***out)
{
	git_repository *repo = NULL;
	git_branch_iterator *it = NULL;
	git_reference *ref = NULL;
	git_branch_t type;
	char **v = xcalloc(1, sizeof(*v));
	size_t n = 0;
	int rc, err;

	*out = NULL;
	if ((err = open_repo(repos_dir, project_id, &repo)) < 0)
		goto done;
	if ((rc = git_branch_iterator_new(&it, repo, GIT_BRANCH_LOCAL)) < 0) {
		err = git_fail(rc, "cannot list branches");
		goto done;
	}
	while ((rc = git_branch_next(&ref, &type, it)) == 0) {
		const char *name = NULL;

		if (git_branch_name(&name, ref) == 0 && name) {
			v = xrealloc(v, (n + 2) * sizeof(*v));
			v[n++] = xstrdup(name);
			v[n] = NULL;
		}
		git_reference_free(ref);
		ref = NULL;
	}
	if (rc != GIT_ITEROVER) {
		err = git_fail(rc, "cannot list branches");
		goto done;
	}
	qsort(v, n, sizeof(*v), cmp_str);
	*out = v;
	v = NULL;
done:
	gitrepo_strv_free(v);
	git_branch_iterator_free(it);
	git_repository_free(repo);
	return err;
}

void gitrepo_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

int gitrepo_branch_head(const char *repos_dir, int64_t project_id, const char *branch,
			char **sha_out)
{
	git_repository *repo = NULL;
	git_reference *ref = NULL, *resolved = NULL;
	char *name = NULL;
	char hex[GIT_OID_HEXSZ + 1];
	int rc, err;

	*sha_out = NULL;
	if (!gitrepo_branch_name_valid(branch))
		return error_set(SO_ENOTFOUND, "branch not found");
	if ((err = open_repo(repos_dir, project_id, &repo)) < 0)
		goto done;
	name = xasprintf("refs/heads/%s", branch);
	if ((rc = git_reference_lookup(&ref, repo, name)) < 0 ||
	    (rc = git_reference_resolve(&resolved, ref)) < 0) {
		err = rc == GIT_ENOTFOUND ? error_set(SO_ENOTFOUND, "branch %s not found", branch)
					  : git_fail(rc, "cannot read branch");
		goto done;
	}
	git_oid_tostr(hex, sizeof(hex), git_reference_target(resolved));
	*sha_out = xstrdup(hex);
done:
	git_reference_free(resolved);
	git_reference_free(ref);
	git_repository_free(repo);
	free(name);
	return err;
}

/* The bytes of path in commit's tree (see gitrepo_read_file). */
static int read_blob_at(git_repository *repo, git_commit *commit, const char *path,
			size_t max_bytes, char **data_out, size_t *len_out)
{
	git_tree *tree = NULL;
	git_tree_entry *entry = NULL;
	git_odb *odb = NULL;
	git_blob *blob = NULL;
	git_object_t type;
	size_t size = 0;
	int rc, err = 0;

	if ((rc = git_commit_tree(&tree, commit)) < 0) {
		err = git_fail(rc, "cannot read tree");
		goto done;
	}
	if ((rc = git_tree_entry_bypath(&entry, tree, path)) < 0) {
		err = rc == GIT_ENOTFOUND ? error_set(SO_ENOTFOUND, "file %s not found", path)
					  : git_fail(rc, "cannot read tree");
		goto done;
	}
	if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB) {
		err = error_set(SO_ENOTFOUND, "file %s not found", path);
		goto done;
	}
	/* Check the size from the object header before loading the blob. */
	if ((rc = git_repository_odb(&odb, repo)) < 0 ||
	    (rc = git_odb_read_header(&size, &type, odb, git_tree_entry_id(entry))) < 0) {
		err = git_fail(rc, "cannot read file");
		goto done;
	}
	if (size > max_bytes) {
		err = error_set(SO_ETOOBIG, "file %s is larger than %zu bytes", path, max_bytes);
		goto done;
	}
	if ((rc = git_blob_lookup(&blob, repo, git_tree_entry_id(entry))) < 0) {
		err = git_fail(rc, "cannot read file");
		goto done;
	}
	size = (size_t)git_blob_rawsize(blob);
	if (size > max_bytes) {
		err = error_set(SO_ETOOBIG, "file %s is larger than %zu bytes", path, max_bytes);
		goto done;
	}
	*data_out = xmalloc(size + 1);
	memcpy(*data_out, git_blob_rawcontent(blob), size);
	(*data_out)[size] = '\0';
	*len_out = size;
done:
	git_blob_free(blob);
	git_odb_free(odb);
	git_tree_entry_free(entry);
	git_tree_free(tree);
	return err;
}

/* Looks a commit up by (possibly abbreviated) hex sha. */
static int lookup_commit(git_repository *repo, const char *sha, git_commit **out)
{
	git_object *obj = NULL;
	git_oid oid;
	size_t shalen = sha ? strlen(sha) : 0;
	int rc, err = 0;

	*out = NULL;
	if (shalen < 4 || shalen > GIT_OID_HEXSZ || strspn(sha, "0123456789abcdefABCDEF") != shalen)
		return error_set(SO_ENOTFOUND, "commit not found");
	if ((rc = git_oid_fromstrn(&oid, sha, shalen)) < 0 ||
	    (rc = git_object_lookup_prefix(&obj, repo, &oid, shalen, GIT_OBJECT_ANY)) < 0 ||
	    (rc = git_object_peel((git_object **)out, obj, GIT_OBJECT_COMMIT)) < 0)
		err = rc == GIT_ENOTFOUND || rc == GIT_EAMBIGUOUS || rc == GIT_EINVALIDSPEC ||
				      rc == GIT_EPEEL
			      ? error_set(SO_ENOTFOUND, "commit %s not found", sha)
			      : git_fail(rc, "cannot read commit");
	git_object_free(obj);
	return err;
}

int gitrepo_read_file(const char *repos_dir, int64_t project_id, const char *sha,
		      const char *path, size_t max_bytes, char **data_out, size_t *len_out)
{
	git_repository *repo = NULL;
	git_commit *commit = NULL;
	int err;

	*data_out = NULL;
	*len_out = 0;
	if (!path || !*path || path[0] == '/')
		return error_set(SO_ENOTFOUND, "file not found");
	if (!sha || strlen(sha) < 4 || strlen(sha) > GIT_OID_HEXSZ ||
	    strspn(sha, "0123456789abcdefABCDEF") != strlen(sha))
		return error_set(SO_ENOTFOUND, "commit not found");
	if ((err = open_repo(repos_dir, project_id, &repo)) < 0 ||
	    (err = lookup_commit(repo, sha, &commit)) < 0)
		goto done;
	err = read_blob_at(repo, commit, path, max_bytes, data_out, len_out);
done:
	git_commit_free(commit);
	git_repository_free(repo);
	return err;
}

static void commit_fill(git_commit *c, struct gitrepo_commit *out)
{
	const git_signature *a = git_commit_author(c);
	const char *msg = git_commit_message_raw(c);
	char hex[GIT_OID_HEXSZ + 1], ts[32];
	struct tm tm;
	time_t t = (time_t)git_commit_time(c);

	git_oid_tostr(hex, sizeof(hex), git_commit_id(c));
	out->sha = xstrdup(hex);
	out->message = xstrdup(msg ? msg : "");
	out->author = xasprintf("%s <%s>", a && a->name ? a->name : "",
				a && a->email ? a->email : "");
	if (!gmtime_r(&t, &tm) || strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		ts[0] = '\0';
	out->timestamp = xstrdup(ts);
}

void gitrepo_commit_dispose(struct gitrepo_commit *c)
{
	if (!c)
		return;
	free(c->sha);
	free(c->message);
	free(c->author);
	free(c->timestamp);
	memset(c, 0, sizeof(*c));
}

int gitrepo_commit_info(const char *repos_dir, int64_t project_id, const char *sha,
			struct gitrepo_commit *out)
{
	git_repository *repo = NULL;
	git_commit *c = NULL;
	int err;

	memset(out, 0, sizeof(*out));
	if ((err = open_repo(repos_dir, project_id, &repo)) < 0 ||
	    (err = lookup_commit(repo, sha, &c)) < 0)
		goto done;
	commit_fill(c, out);
done:
	git_commit_free(c);
	git_repository_free(repo);
	return err;
}

int gitrepo_branch_file(const char *repos_dir, int64_t project_id, const char *branch,
			const char *path, size_t max_bytes, struct gitrepo_commit *commit,
			char **data_out, size_t *len_out)
{
	git_repository *repo = NULL;
	git_reference *ref = NULL, *resolved = NULL;
	git_commit *c = NULL;
	char *name = NULL;
	int rc, err;

	memset(commit, 0, sizeof(*commit));
	*data_out = NULL;
	*len_out = 0;
	if (!gitrepo_branch_name_valid(branch))
		return error_set(SO_ENOTFOUND, "branch not found");
	if (!path || !*path || path[0] == '/')
		return error_set(SO_ENOTFOUND, "file not found");
	if ((err = open_repo_cached(repos_dir, project_id, &repo)) < 0)
		goto done;
	name = xasprintf("refs/heads/%s", branch);
	if ((rc = git_reference_lookup(&ref, repo, name)) < 0 ||
	    (rc = git_reference_resolve(&resolved, ref)) < 0 ||
	    (rc = git_commit_lookup(&c, repo, git_reference_target(resolved))) < 0) {
		err = rc == GIT_ENOTFOUND ? error_set(SO_ENOTFOUND, "branch %s not found", branch)
					  : git_fail(rc, "cannot read branch");
		goto done;
	}
	commit_fill(c, commit);
	err = read_blob_at(repo, c, path, max_bytes, data_out, len_out);
done:
	git_commit_free(c);
	git_reference_free(resolved);
	git_reference_free(ref);
	free(name);
	return err;
}

int gitrepo_pick_default_branch(const char *repos_dir, int64_t project_id, char **out)
{
	char **branches = NULL, *head = NULL;
	const char *pick = NULL;
	int err;

	*out = NULL;
	if ((err = gitrepo_branches(repos_dir, project_id, &branches)) < 0)
		goto done;
	if (!branches[0]) {
		err = error_set(SO_ENOTFOUND, "the repository has no branches");
		goto done;
	}
	if (gitrepo_head_branch(repos_dir, project_id, &head) < 0)
		error_clear();
	for (size_t i = 0; branches[i] && !pick; i++)
		if (head && !strcmp(branches[i], head))
			pick = branches[i];
	for (size_t i = 0; branches[i] && !pick; i++)
		if (!strcmp(branches[i], "main"))
			pick = branches[i];
	for (size_t i = 0; branches[i] && !pick; i++)
		if (!strcmp(branches[i], "master"))
			pick = branches[i];
	if (!pick)
		pick = branches[0];
	*out = xstrdup(pick);
done:
	free(head);
	gitrepo_strv_free(branches);
	return err;
}

/* ---- gitrepo_list_files: every blob path of a commit's tree ---- */

struct list_ctx {
	char **v;
	size_t n, cap;
	size_t max;
	bool too_many;
};

static int list_cb(const char *root, const git_tree_entry *entry, void *payload)
{
	struct list_ctx *c = payload;
	git_object_t t = git_tree_entry_type(entry);

	if (t != GIT_OBJECT_BLOB)
		return 0; /* trees are walked into; submodules are not files */
	if (c->n >= c->max) {
		c->too_many = true;
		return -1;
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->v = xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	c->v[c->n++] = xasprintf("%s%s", root, git_tree_entry_name(entry));
	return 0;
}

int gitrepo_list_files(const char *repos_dir, int64_t project_id, const char *sha, char ***out,
		       size_t *n)
{
	git_repository *repo = NULL;
	git_object *obj = NULL;
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	struct list_ctx c = { NULL, 0, 0, GITREPO_LIST_FILES_MAX, false };
	git_oid oid;
	size_t shalen;
	int rc, err;

	*out = NULL;
	*n = 0;
	shalen = sha ? strlen(sha) : 0;
	if (shalen < 4 || shalen > GIT_OID_HEXSZ || strspn(sha, "0123456789abcdefABCDEF") != shalen)
		return error_set(SO_ENOTFOUND, "commit not found");
	if ((err = open_repo(repos_dir, project_id, &repo)) < 0)
		goto done;
	if ((rc = git_oid_fromstrn(&oid, sha, shalen)) < 0 ||
	    (rc = git_object_lookup_prefix(&obj, repo, &oid, shalen, GIT_OBJECT_ANY)) < 0 ||
	    (rc = git_object_peel((git_object **)&commit, obj, GIT_OBJECT_COMMIT)) < 0) {
		err = rc == GIT_ENOTFOUND || rc == GIT_EAMBIGUOUS || rc == GIT_EINVALIDSPEC ||
				      rc == GIT_EPEEL
			      ? error_set(SO_ENOTFOUND, "commit %s not found", sha)
			      : git_fail(rc, "cannot read commit");
		goto done;
	}
	if ((rc = git_commit_tree(&tree, commit)) < 0) {
		err = git_fail(rc, "cannot read tree");
		goto done;
	}
	rc = git_tree_walk(tree, GIT_TREEWALK_PRE, list_cb, &c);
	if (c.too_many) {
		err = error_set(SO_ETOOBIG, "the commit has more than %zu files", c.max);
		goto done;
	}
	if (rc < 0) {
		err = git_fail(rc, "cannot read tree");
		goto done;
	}
	*out = c.v;
	*n = c.n;
	c.v = NULL;
	c.n = 0;
	err = 0;
done:
	for (size_t i = 0; i < c.n; i++)
		free(c.v[i]);
	free(c.v);
	git_tree_free(tree);
	git_commit_free(commit);
	git_object_free(obj);
	git_repository_free(repo);
	return err;
}
