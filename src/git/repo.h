/*
 * repo.h: the project repositories on disk, read with libgit2.
 *
 * Design: each project's repository is a bare git repository at
 * <repos_dir>/<project id>.git, named by id so renaming a project never
 * moves files. This module creates and deletes them and reads what the
 * rest of slashops needs (the default branch's head commit, a file at a
 * commit, the branch list, checking out a commit into a directory for a
 * job). Writing happens only through `git http-backend` (smart_http.c).
 *
 * Ownership: strings and blobs returned through out pointers are owned by
 * the caller (free()).
 */
#ifndef SO_GIT_REPO_H
#define SO_GIT_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Initialises libgit2 once per process; later calls are cheap. Every
 * gitrepo_* call below does it itself; code that calls libgit2 directly
 * calls this first. gitrepo_shutdown() undoes it (at exit). */
int gitrepo_init(void);
void gitrepo_shutdown(void);

/* "<repos_dir>/<id>.git". Caller frees. */
char *gitrepo_path(const char *repos_dir, int64_t project_id);
/* Creates the bare repository, with HEAD pointing at refs/heads/<branch>
 * (default_branch, or "main" when NULL). SO_EEXISTS if present. */
int gitrepo_create(const char *repos_dir, int64_t project_id, const char *default_branch);
/* Removes the repository directory recursively. Missing is not an error. */
int gitrepo_delete(const char *repos_dir, int64_t project_id);
/* Points HEAD at refs/heads/<branch>. */
int gitrepo_set_head(const char *repos_dir, int64_t project_id, const char *branch);
/* True when the repository has no commits at all. */
int gitrepo_is_empty(const char *repos_dir, int64_t project_id, bool *out);
/* Branch names (NULL-terminated array, caller frees with gitrepo_strv_free). */
int gitrepo_branches(const char *repos_dir, int64_t project_id, char ***out);
void gitrepo_strv_free(char **v);
/* The full hex sha of refs/heads/<branch>; SO_ENOTFOUND when absent. */
int gitrepo_branch_head(const char *repos_dir, int64_t project_id, const char *branch,
			char **sha_out);
/* The bytes of path at commit sha; SO_ENOTFOUND when the file is absent.
 * max_bytes caps the blob size (SO_ETOOBIG past it). */
int gitrepo_read_file(const char *repos_dir, int64_t project_id, const char *sha,
		      const char *path, size_t max_bytes, char **data_out, size_t *len_out);

/* A commit as CI variables need it (all owned; NULL until filled). */
struct gitrepo_commit {
	char *sha;       /* full hex */
	char *message;   /* the raw message (trailing newline kept) */
	char *author;    /* "Name <email>" of the author */
	char *timestamp; /* the committer date in UTC, "2026-01-31T16:47:55Z" */
};
void gitrepo_commit_dispose(struct gitrepo_commit *c); /* accepts NULL */
/* Commit sha (full or abbreviated hex) of the project's repository;
 * SO_ENOTFOUND when the repository or the commit is missing. */
int gitrepo_commit_info(const char *repos_dir, int64_t project_id, const char *sha,
			struct gitrepo_commit *out);
/* The head commit of refs/heads/<branch> and the bytes of path in it,
 * from one open of the repository (what a chat pipeline needs per
 * command). SO_ENOTFOUND with commit->sha NULL when the branch is absent,
 * SO_ENOTFOUND with *commit filled when the file is absent; SO_ETOOBIG
 * past max_bytes. */
int gitrepo_branch_file(const char *repos_dir, int64_t project_id, const char *branch,
			const char *path, size_t max_bytes, struct gitrepo_commit *commit,
			char **data_out, size_t *len_out);

/* ---- additions beyond the first contract ---- */
/* True when refs/heads/<branch> is a valid ref name (and branch does not
 * start with '-'). */
bool gitrepo_branch_name_valid(const char *branch);
/* The branch HEAD points at (even when unborn). Caller frees. */
int gitrepo_head_branch(const char *repos_dir, int64_t project_id, char **out);
/* The branch to adopt as default after a first push: HEAD's branch when it
 * exists, else "main", else "master", else the first by name. SO_ENOTFOUND
 * when there are no branches. Caller frees. */
int gitrepo_pick_default_branch(const char *repos_dir, int64_t project_id, char **out);
/* Removes path recursively (never following symlinks), but only when it
 * resolves to an entry strictly inside root; SO_EINVALID otherwise.
 * Missing is not an error. */
int gitrepo_remove_tree(const char *root, const char *path);

/* Every file (blob) path of the tree at commit sha, relative to the root,
 * in tree order (for include:local globs and rules:exists). *out is an
 * array of *n strings, caller frees each and the array. SO_ENOTFOUND for an
 * unknown commit, SO_ETOOBIG past GITREPO_LIST_FILES_MAX files. */
#define GITREPO_LIST_FILES_MAX 200000
int gitrepo_list_files(const char *repos_dir, int64_t project_id, const char *sha, char ***out,
		       size_t *n);

#endif
