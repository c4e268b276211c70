/*
 * projects.c: the Projects API: GET and POST /projects, GET and DELETE
 * /projects/:id.
 *
 * Design: creating a project checks everything that can be checked before
 * writing anything (names, visibility, the namespace and the caller's
 * right to create in it, a taken path), then writes in an order that can
 * be undone: missing group namespaces, the project row (with the creator's
 * Owner membership, one store transaction), then the bare repository. If
 * the repository cannot be created the row is deleted again, so a failure
 * leaves neither a row nor a directory behind. Deleting removes the rows
 * first (the project disappears for every reader at once), then the
 * directory.
 *
 * The list filters (membership, owned, search, visibility) are applied to
 * the visible projects in memory, scanning at most LIST_SCAN_MAX of them;
 * without filters the store pages directly.
 */
#include "api/api.h"
#include "core/validate.h"

#include "core/app.h"
#include "git/repo.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LIST_SCAN_MAX 10000

static const struct api_param list_params[] = {
	{ "page", API_PARAM_INT, false, 0 },
	{ "per_page", API_PARAM_INT, false, 0 },
	{ "membership", API_PARAM_BOOL, false, 0 },
	{ "owned", API_PARAM_BOOL, false, 0 },
	{ "search", API_PARAM_STRING, false, 255 },
	{ "visibility", API_PARAM_STRING, false, 16 },
	{ "simple", API_PARAM_BOOL, false, 0 },
};

static const struct api_param create_params[] = {
	{ "name", API_PARAM_STRING, false, 255 },
	{ "path", API_PARAM_STRING, false, 255 },
	{ "namespace", API_PARAM_STRING, false, 2048 },
	{ "namespace_id", API_PARAM_STRING, false, 2048 },
	{ "description", API_PARAM_STRING, false, 2000 },
	{ "default_branch", API_PARAM_STRING, false, 255 },
	{ "visibility", API_PARAM_STRING, false, 16 },
	{ "initialize_with_readme", API_PARAM_BOOL, false, 0 },
};

static bool parse_visibility(const char *s, enum store_visibility *out)
{
	if (!strcmp(s, "private"))
		*out = STORE_VIS_PRIVATE;
	else if (!strcmp(s, "internal"))
		*out = STORE_VIS_INTERNAL;
	else if (!strcmp(s, "public"))
		*out = STORE_VIS_PUBLIC;
	else
		return false;
	return true;
}

/* The caller's own membership level (not the admin override), for the
 * "permissions" field. */
static int member_level(struct api_req *r, int64_t project_id)
{
	int level = 0;

	if (r->id.user && store_member_access_level(r->app->store, project_id, r->id.user->id,
						    &level) < 0)
		level = 0;
	return level;
}

static bool can_create_in(const struct api_req *r, const struct store_namespace *ns)
{
	return api_is_admin(r) || ns->owner_id == api_user_id(r);
}

/* ---- POST /projects ---- */

/* Finds or plans the target namespace. On success either *ns is an
 * existing namespace the caller may create in, or *create_from is the
 * index of the first missing segment of full_path (groups to create). */
static int resolve_namespace(struct api_req *r, const char *full_path,
			     struct store_namespace **ns, size_t *first_missing)
{
	struct store_namespace *cur = NULL, *found = NULL;
	const char *why;
	size_t len = strlen(full_path);
	int rc;

	*ns = NULL;
	*first_missing = 0;
	if ((rc = store_namespace_get_by_path(r->app->store, full_path, &found)) == 0) {
		if (!can_create_in(r, found)) {
			store_namespace_free(found);
			return api_reply_message(r, 403, "403 Forbidden - You cannot create projects "
							 "in this namespace");
		}
		*ns = found;
		return 0;
	}
	if (rc != SO_ENOTFOUND)
		return api_reply_error(r, rc, "Namespace");
	if ((why = validate_namespace_path(full_path)) != NULL)
		return api_reply_field_error(r, "namespace", why);
	/* Walk up to the deepest existing ancestor. */
	for (size_t end = len; end > 0;) {
		char *prefix;

		while (end > 0 && full_path[end - 1] != '/')
			end--;
		if (end == 0)
			break;
		end--; /* at the '/' */
		prefix = xstrndup(full_path, end);
		rc = store_namespace_get_by_path(r->app->store, prefix, &cur);
		free(prefix);
		if (rc == 0) {
			if (strcmp(cur->kind, "group") != 0) {
				store_namespace_free(cur);
				return api_reply_field_error(r, "namespace",
							     "cannot contain groups: the parent "
							     "namespace is a user's");
			}
			if (!can_create_in(r, cur)) {
				store_namespace_free(cur);
				return api_reply_message(r, 403, "403 Forbidden - You cannot create "
								 "groups in this namespace");
			}
			store_namespace_free(cur);
			*first_missing = end + 1;
			return 0;
		}
		if (rc != SO_ENOTFOUND)
			return api_reply_error(r, rc, "Namespace");
	}
	*first_missing = 0;
	return 0;
}

/* Creates the groups of full_path from the segment at offset start on,
 * owned by the caller, and returns the last one. */
static int create_groups(struct api_req *r, const char *full_path, size_t start,
			 struct store_namespace **out)
{
	size_t len = strlen(full_path), end = start;
	int64_t id = 0;
	int rc = 0;

	*out = NULL;
	while (end < len) {
		char *prefix, *name;
		size_t seg = end;

		while (end < len && full_path[end] != '/')
			end++;
		prefix = xstrndup(full_path, end);
		name = xstrndup(full_path + seg, end - seg);
		rc = store_namespace_create(r->app->store, name, prefix, "group", api_user_id(r),
					    &id);
		free(prefix);
		free(name);
		if (rc < 0)
			return api_reply_error(r, rc, "Namespace");
		end++; /* past the '/' */
	}
	if ((rc = store_namespace_get(r->app->store, id, out)) < 0)
		return api_reply_error(r, rc, "Namespace");
	return 0;
}

/* 400 {"message":{"path":["has already been taken"]}} from the store's
 * "Path has already been taken" / "Name has already been taken". */
static int reply_taken(struct api_req *r, const char *msg)
{
	return api_reply_field_error(r, !strncasecmp(msg, "Name", 4) ? "name" : "path",
				     "has already been taken");
}

int api_projects_create(struct http_request *req, void *app)
{
	struct store_namespace *ns = NULL;
	struct store_project *p = NULL, *dup = NULL;
	struct store_project_new in;
	struct api_req r;
	enum store_visibility vis = STORE_VIS_PRIVATE;
	const char *name, *path, *nspath, *nsid, *branch, *why;
	char *derived = NULL, *full = NULL;
	size_t first_missing = 0;
	int64_t id = 0;
	int rc;

	if ((rc = api_begin(&r, req, app, API_WRITE, API_SPEC(create_params))) != 0)
		goto done;
	name = api_params_str(r.params, "name");
	path = api_params_str(r.params, "path");
	nspath = api_params_str(r.params, "namespace");
	nsid = api_params_str(r.params, "namespace_id");
	branch = api_params_str(r.params, "default_branch");
	if ((!name || !*name) && (!path || !*path)) {
		rc = api_reply_param_error(&r, "name, path are missing, at least one parameter "
					       "must be provided");
		goto done;
	}
	if (nspath && nsid) {
		rc = api_reply_param_error(&r, "namespace, namespace_id are mutually exclusive");
		goto done;
	}
	if (!path || !*path)
		path = derived = validate_path_from_name(name);
	if (!name || !*name)
		name = path;
	if ((why = validate_project_name(name)) != NULL) {
		rc = api_reply_field_error(&r, "name", why);
		goto done;
	}
	if ((why = validate_path(path, VALIDATE_PATH_PROJECT)) != NULL) {
		rc = api_reply_field_error(&r, "path", why);
		goto done;
	}
	if (api_params_has(r.params, "visibility") &&
	    !parse_visibility(api_params_str(r.params, "visibility"), &vis)) {
		rc = api_reply_param_error(&r, "visibility does not have a valid value");
		goto done;
	}
	if (branch && (why = validate_branch(branch)) != NULL) {
		rc = api_reply_field_error(&r, "default_branch", why);
		goto done;
	}
	if (api_params_bool(r.params, "initialize_with_readme", false)) {
		rc = api_reply_param_error(&r, "initialize_with_readme is not supported: push a "
					       "first commit instead");
		goto done;
	}

	/* The namespace: an id, a path, or the caller's own. */
	if (!nspath && nsid && !*nsid)
		nsid = NULL;
	if (nsid || (nspath && *nspath && strspn(nspath, "0123456789") == strlen(nspath))) {
		const char *s = nsid ? nsid : nspath;
		char *end = NULL;
		long long v = strtoll(s, &end, 10);

		if (!*s || *end || v <= 0 || strlen(s) > 18)
			rc = SO_ENOTFOUND;
		else
			rc = store_namespace_get(r.app->store, v, &ns);
		if (rc == 0 && !can_create_in(&r, ns)) {
			rc = api_reply_message(&r, 403, "403 Forbidden - You cannot create projects in "
							"this namespace");
			goto done;
		}
		if (rc < 0 && nsid && strspn(nsid, "0123456789") != strlen(nsid)) {
			/* namespace_id given as a path, as GitLab also accepts */
			rc = resolve_namespace(&r, nsid, &ns, &first_missing);
			if (rc != 0)
				goto done;
			nspath = nsid;
		} else if (rc < 0) {
			rc = api_reply_error(&r, rc, "Namespace");
			goto done;
		}
	} else if (nspath && *nspath) {
		if ((rc = resolve_namespace(&r, nspath, &ns, &first_missing)) != 0)
			goto done;
	} else {
		rc = store_namespace_get_by_path(r.app->store, r.id.user->username, &ns);
		if (rc < 0) {
			rc = api_reply_error(&r, rc, "Namespace");
			goto done;
		}
	}

	/* A taken path (only possible in an existing namespace). */
	if (ns) {
		full = xasprintf("%s/%s", ns->full_path, path);
		rc = store_project_get_by_path(r.app->store, full, &dup);
		if (rc == 0) {
			rc = api_reply_field_error(&r, "path", "has already been taken");
			goto done;
		}
		if (rc != SO_ENOTFOUND) {
			rc = api_reply_error(&r, rc, "Project");
			goto done;
		}
	} else if ((rc = create_groups(&r, nspath, first_missing, &ns)) != 0) {
		goto done;
	}

	memset(&in, 0, sizeof(in));
	in.name = name;
	in.path = path;
	in.namespace_id = ns->id;
	in.description = api_params_str(r.params, "description");
	in.default_branch = branch;
	in.visibility = vis;
	in.creator_id = api_user_id(&r);
	if ((rc = store_project_create(r.app->store, &in, &id)) < 0) {
		rc = rc == SO_EEXISTS ? reply_taken(&r, error_msg()) : api_reply_error(&r, rc, "Project");
		goto done;
	}
	rc = gitrepo_create(r.app->cfg.repos_dir, id, branch);
	if (rc == SO_EEXISTS) {
		/* A directory left by a project whose id the store has reused. */
		log_warn("api: removing stale repository directory for project %lld", (long long)id);
		if ((rc = gitrepo_delete(r.app->cfg.repos_dir, id)) == 0)
			rc = gitrepo_create(r.app->cfg.repos_dir, id, branch);
	}
	if (rc < 0) {
		log_error("api: creating the repository of project %lld: %s", (long long)id,
			  error_msg());
		(void)gitrepo_delete(r.app->cfg.repos_dir, id);
		if (store_project_delete(r.app->store, id) < 0)
			log_error("api: undoing project %lld: %s", (long long)id, error_msg());
		rc = api_reply_message(&r, 500, "500 Internal Server Error - the repository could "
						"not be created");
		goto done;
	}
	if ((rc = store_project_get(r.app->store, id, &p)) < 0) {
		rc = api_reply_error(&r, rc, "Project");
		goto done;
	}
	rc = http_respond_json(req, 201, api_project_json(r.app, p, member_level(&r, p->id)));
done:
	store_namespace_free(ns);
	store_project_free(p);
	store_project_free(dup);
	free(derived);
	free(full);
	api_end(&r);
	return rc < 0 ? rc : 0;
}

/* ---- GET /projects ---- */

static bool icontains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; hay && *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return true;
	return !*needle;
}

static bool matches(struct api_req *r, const struct store_project *p, int level)
{
	const char *search = api_params_str(r->params, "search");
	const char *vis = api_params_str(r->params, "visibility");
	enum store_visibility v;

	if (api_params_bool(r->params, "membership", false) && level <= 0)
		return false;
	if (api_params_bool(r->params, "owned", false) && level < 50)
		return false;
	if (search && !icontains(p->name, search) && !icontains(p->path, search))
		return false;
	if (vis && (!parse_visibility(vis, &v) || v != p->visibility))
		return false;
	return true;
}

int api_projects_list(struct http_request *req, void *app)
{
	struct store_project **list = NULL;
	struct store_page pg, scan;
	struct api_req r;
	enum store_visibility v;
	int64_t total = 0, seen = 0, all = 0;
	bool filtered;
	json_t *arr = NULL;
	int rc;

	if ((rc = api_begin(&r, req, app, API_ANON_READ, API_SPEC(list_params))) != 0)
		goto done;
	if (api_params_has(r.params, "visibility") &&
	    !parse_visibility(api_params_str(r.params, "visibility"), &v)) {
		rc = api_reply_param_error(&r, "visibility does not have a valid value");
		goto done;
	}
	api_page(&r, &pg);
	arr = json_array();
	filtered = api_params_bool(r.params, "membership", false) ||
		   api_params_bool(r.params, "owned", false) ||
		   api_params_has(r.params, "search") || api_params_has(r.params, "visibility");
	if (!filtered) {
		rc = store_project_list_visible(r.app->store, api_user_id(&r), api_is_admin(&r), &pg,
						&list, &total);
		if (rc < 0) {
			rc = api_reply_error(&r, rc, NULL);
			goto done;
		}
		for (size_t i = 0; list[i]; i++)
			json_array_append_new(arr, api_project_json(r.app, list[i],
								    member_level(&r, list[i]->id)));
	} else {
		int64_t skip = (pg.page - 1) * pg.per_page;

		scan.per_page = 100;
		for (scan.page = 1; seen < LIST_SCAN_MAX; scan.page++) {
			size_t i;

			rc = store_project_list_visible(r.app->store, api_user_id(&r),
							api_is_admin(&r), &scan, &list, &all);
			if (rc < 0) {
				rc = api_reply_error(&r, rc, NULL);
				goto done;
			}
			for (i = 0; list[i]; i++, seen++) {
				int level = member_level(&r, list[i]->id);

				if (!matches(&r, list[i], level))
					continue;
				if (total >= skip && total < skip + pg.per_page)
					json_array_append_new(arr, api_project_json(r.app, list[i],
										    level));
				total++;
			}
			store_project_list_free(list);
			list = NULL;
			if (i < (size_t)scan.per_page || seen >= all)
				break;
		}
	}
	api_page_headers(&r, &pg, total);
	rc = http_respond_json(req, 200, arr);
	arr = NULL;
done:
	json_decref(arr);
	store_project_list_free(list);
	api_end(&r);
	return rc < 0 ? rc : 0;
}

/* ---- GET and DELETE /projects/:id ---- */

int api_projects_get(struct http_request *req, void *app)
{
	struct store_project *p = NULL;
	struct api_req r;
	int rc;

	if ((rc = api_begin(&r, req, app, API_ANON_READ, NULL, 0)) != 0 ||
	    (rc = api_find_project(&r, http_request_param(req, "id"), &p, NULL)) != 0)
		goto done;
	rc = http_respond_json(req, 200, api_project_json(r.app, p, member_level(&r, p->id)));
done:
	store_project_free(p);
	api_end(&r);
	return rc < 0 ? rc : 0;
}

int api_projects_delete(struct http_request *req, void *app)
{
	struct store_project *p = NULL;
	struct api_req r;
	int level = 0, rc;

	if ((rc = api_begin(&r, req, app, API_WRITE, NULL, 0)) != 0 ||
	    (rc = api_find_project(&r, http_request_param(req, "id"), &p, &level)) != 0)
		goto done;
	if (level < 50) {
		rc = api_reply_message(&r, 403, "403 Forbidden");
		goto done;
	}
	if ((rc = store_project_delete(r.app->store, p->id)) < 0) {
		rc = api_reply_error(&r, rc, "Project");
		goto done;
	}
	if (gitrepo_delete(r.app->cfg.repos_dir, p->id) < 0)
		log_error("api: deleting the repository of project %lld: %s", (long long)p->id,
			  error_msg());
	rc = api_reply_message(&r, 202, "202 Accepted");
done:
	store_project_free(p);
	api_end(&r);
	return rc < 0 ? rc : 0;
}
