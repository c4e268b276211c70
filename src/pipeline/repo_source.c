/*
 * repo_source.c: the CI loader's callbacks over a bare repository at one
 * commit: local includes and globs read the pipeline's own commit;
 * include:project reads another project's default branch (or the given
 * branch) if the pipeline's user may read that project.
 *
 * Design: thin wrappers around git/repo.h; a project the user cannot see
 * answers the same as a missing one (SO_ENOTFOUND), which the loader turns
 * into GitLab's "Project `x` not found or access denied!". The commit facts behind CI_COMMIT_*
 * come from git/repo.h (gitrepo_branch_file, gitrepo_commit_info).
 */
#include "pipeline/internal.h"
#include "ci/vars.h"

#include "auth/auth.h"
#include "core/app.h"
#include "git/repo.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_BYTES (4u * 1024 * 1024)

int pipeline_repo_read_file(void *cls, const char *path, char **data, size_t *len)
{
	struct pipeline_repo_source *src = cls;

	return gitrepo_read_file(src->repos_dir, src->project_id, src->sha, path,
				 src->max_bytes ? src->max_bytes : DEFAULT_MAX_BYTES, data, len);
}

int pipeline_repo_list_files(void *cls, char ***out, size_t *n)
{
	struct pipeline_repo_source *src = cls;

	return gitrepo_list_files(src->repos_dir, src->project_id, src->sha, out, n);
}

int pipeline_repo_read_project_file(void *cls, const char *project, const char *ref,
				    const char *file, char **data, size_t *len)
{
	struct pipeline_repo_source *src = cls;
	struct store_project *p = NULL;
	char *sha = NULL;
	bool can_read = false;
	int level = 0, err;

	*data = NULL;
	*len = 0;
	if (!src->app || !src->user) {
		err = error_set(SO_EDENIED, "include:project is not available here");
		goto done;
	}
	if ((err = store_project_get_by_path(src->app->store, project, &p)) < 0 ||
	    (err = auth_project_access(src->app, src->user, p->id, &level, &can_read)) < 0)
		goto done;
	if (!can_read) {
		err = error_set(SO_ENOTFOUND, "project not found");
		goto done;
	}
	if (!ref || !*ref)
		ref = p->default_branch;
	if (!ref) {
		err = error_set(SO_ENOTFOUND, "project %s has no default branch", project);
		goto done;
	}
	/* A branch name, or else a commit sha. */
	if ((err = gitrepo_branch_head(src->repos_dir, p->id, ref, &sha)) == SO_ENOTFOUND) {
		free(sha);
		sha = strdup(ref);
		err = sha ? 0 : SO_EFAIL;
	}
	if (err < 0)
		goto done;
	err = gitrepo_read_file(src->repos_dir, p->id, sha, file,
				src->max_bytes ? src->max_bytes : DEFAULT_MAX_BYTES, data, len);
done:
	free(sha);
	store_project_free(p);
	return err;
}

const char *pipeline_repo_lookup_var(void *cls, const char *name)
{
	const struct pipeline_repo_source *src = cls;

	return src->vars ? ci_varlist_get(src->vars, name) : NULL;
}


