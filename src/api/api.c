/*
 * api.c: the API's route table and the helpers its handlers share:
 * authentication and token scopes, parameter errors, project lookup with
 * visibility, pagination headers, and the JSON presenters. See api.h.
 *
 * Design: presenters build GitLab's field names from store structs and
 * never include a secret (no password hash, no token). URLs are made from
 * the configured external_url so they are right behind a proxy.
 */
#include "api/api.h"
#include "api/ci_api.h"
#include "api/integrations.h"

#include "core/app.h"
#include "git/repo.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/log.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct http_route api_routes[] = {
	{ "GET", "/api/v4/user", api_user_current, 0 },
	{ "GET", "/api/v4/users", api_users_list, 0 },
	{ "POST", "/api/v4/users", api_users_create, 0 },
	{ "GET", "/api/v4/users/:id", api_users_get, 0 },
	{ "POST", "/api/v4/users/:id/block", api_users_block, 0 },
	{ "POST", "/api/v4/users/:id/unblock", api_users_unblock, 0 },
	{ "POST", "/api/v4/users/:id/deactivate", api_users_deactivate, 0 },
	{ "POST", "/api/v4/users/:id/activate", api_users_activate, 0 },
	{ "GET", "/api/v4/projects", api_projects_list, 0 },
	{ "POST", "/api/v4/projects", api_projects_create, 0 },
	{ "GET", "/api/v4/projects/:id", api_projects_get, 0 },
	{ "DELETE", "/api/v4/projects/:id", api_projects_delete, 0 },
	{ "GET", "/api/v4/projects/:id/members", api_members_list, 0 },
	{ "POST", "/api/v4/projects/:id/members", api_members_add, 0 },
	{ "GET", "/api/v4/projects/:id/members/:user_id", api_members_get, 0 },
	{ "PUT", "/api/v4/projects/:id/members/:user_id", api_members_update, 0 },
	{ "DELETE", "/api/v4/projects/:id/members/:user_id", api_members_remove, 0 },
	/* issue 5: pipelines and jobs (ci_api.h) */
	{ "GET", "/api/v4/projects/:id/pipelines", api_pipelines_list, 0 },
	{ "GET", "/api/v4/projects/:id/pipelines/:pipeline_id", api_pipelines_get, 0 },
	{ "GET", "/api/v4/projects/:id/pipelines/:pipeline_id/jobs", api_pipeline_jobs, 0 },
	{ "GET", "/api/v4/projects/:id/jobs", api_jobs_list, 0 },
	{ "GET", "/api/v4/projects/:id/jobs/:job_id", api_jobs_get, 0 },
	{ "GET", "/api/v4/projects/:id/jobs/:job_id/trace", api_jobs_trace, 0 },
	{ "POST", "/api/v4/projects/:id/jobs/:job_id/play", api_jobs_play, 0 },
	{ "POST", "/api/v4/projects/:id/jobs/:job_id/cancel", api_jobs_cancel, 0 },
#define MM_SLASH(prefix) "/api/v4/projects/:id/" prefix "/" API_MATTERMOST_SLASH_COMMANDS_SLUG
	{ "GET", MM_SLASH("integrations"), api_integration_get, 0 },
	{ "PUT", MM_SLASH("integrations"), api_integration_put, 0 },
	{ "DELETE", MM_SLASH("integrations"), api_integration_delete, 0 },
	{ "GET", MM_SLASH("services"), api_integration_get, 0 },
	{ "PUT", MM_SLASH("services"), api_integration_put, 0 },
	{ "DELETE", MM_SLASH("services"), api_integration_delete, 0 },
#undef MM_SLASH
};
const size_t api_routes_count = sizeof(api_routes) / sizeof(api_routes[0]);

/* ---- answers ---- */

static int sent(int rc)
{
	return rc < 0 ? rc : API_ANSWERED;
}

int api_reply_message(struct api_req *r, unsigned status, const char *message)
{
	return sent(http_respond_json(r->req, status, json_pack("{s:s}", "message", message)));
}

int api_reply_field_error(struct api_req *r, const char *field, const char *reason)
{
	return sent(http_respond_json(r->req, 400,
				      json_pack("{s:{s:[s]}}", "message", field, reason)));
}

int api_reply_param_error(struct api_req *r, const char *text)
{
	return sent(http_respond_json(r->req, 400, json_pack("{s:s}", "error", text)));
}

int api_reply_true(struct api_req *r)
{
	return sent(http_respond(r->req, 201, "application/json", "true", 4));
}

int api_reply_error(struct api_req *r, int err, const char *what)
{
	char msg[160];

	switch (err) {
	case SO_ENOTFOUND:
		snprintf(msg, sizeof(msg), "404 %s Not Found", what ? what : "");
		return api_reply_message(r, 404, what ? msg : "404 Not Found");
	case SO_EEXISTS:
		return api_reply_message(r, 409, error_msg());
	case SO_EINVALID:
		return api_reply_message(r, 400, error_msg());
	case SO_EDENIED:
	case SO_ECONFLICT:
		snprintf(msg, sizeof(msg), "403 Forbidden - %s", error_msg());
		return api_reply_message(r, 403, msg);
	case SO_EAUTH:
		return api_reply_message(r, 401, "401 Unauthorized");
	case SO_EBUSY:
		return api_reply_message(r, 503, "503 Service Unavailable");
	default:
		log_error("api: %s %s: %s", http_request_method(r->req),
			  http_request_path(r->req), error_msg());
		return api_reply_message(r, 500, "500 Internal Server Error");
	}
}

/* ---- the request context ---- */

int api_begin(struct api_req *r, struct http_request *req, void *app, enum api_need need,
	      const struct api_param *spec, size_t n)
{
	struct api_params_error perr;
	const char *body;
	size_t len = 0;
	int err;

	memset(r, 0, sizeof(*r));
	r->app = app;
	r->req = req;
	err = auth_request_api(r->app, req, &r->id);
	if (err == SO_EAUTH || (err == 0 && !r->id.user && need != API_ANON_READ))
		return api_reply_message(r, 401, "401 Unauthorized");
	if (err < 0)
		return api_reply_error(r, err, NULL);
	if (r->id.user && r->id.via == AUTH_TOKEN) {
		bool ok = auth_scopes_include(r->id.scopes, "api") ||
			  (need != API_WRITE && auth_scopes_include(r->id.scopes, "read_api"));

		if (!ok) {
			json_t *j = json_pack("{s:s,s:s,s:s}", "error", "insufficient_scope",
					      "error_description",
					      "The request requires higher privileges than provided by "
					      "the access token.",
					      "scope", need == API_WRITE ? "api" : "api read_api");

			return sent(http_respond_json(req, 403, j));
		}
	}
	body = http_request_body(req, &len);
	if (api_params_parse(spec, n, http_request_header(req, "Content-Type"), body, len,
			     http_request_query_string(req), &r->params, &perr) < 0) {
		json_t *j = json_pack("{s:s}", perr.is_message ? "message" : "error", perr.text);

		return sent(http_respond_json(req, perr.status, j));
	}
	return 0;
}

void api_end(struct api_req *r)
{
	if (!r)
		return;
	api_params_free(r->params);
	r->params = NULL;
	auth_identity_dispose(&r->id);
}

bool api_is_admin(const struct api_req *r)
{
	return r->id.user && r->id.user->is_admin;
}

int64_t api_user_id(const struct api_req *r)
{
	return r->id.user ? r->id.user->id : 0;
}

/* ---- lookups ---- */

static bool all_digits(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

int api_path_id(struct api_req *r, const char *param, const char *what, int64_t *out)
{
	const char *s = http_request_param(r->req, param);
	char msg[128];

	*out = 0;
	if (!all_digits(s) || strlen(s) > 18 || (*out = strtoll(s, NULL, 10)) <= 0) {
		snprintf(msg, sizeof(msg), "404 %s Not Found", what);
		return api_reply_message(r, 404, msg);
	}
	return 0;
}

int api_find_project(struct api_req *r, const char *id, struct store_project **out,
		     int *level_out)
{
	struct store_project *p = NULL;
	bool can_read = false;
	int level = 0, err;

	*out = NULL;
	if (level_out)
		*level_out = 0;
	if (!id || !*id || strlen(id) > 2048)
		err = SO_ENOTFOUND;
	else if (all_digits(id))
		err = strlen(id) > 18 ? SO_ENOTFOUND
				      : store_project_get(r->app->store, strtoll(id, NULL, 10), &p);
	else
		err = store_project_get_by_path(r->app->store, id, &p);
	if (err == 0 && r->id.user) {
		err = auth_project_access(r->app, r->id.user, p->id, &level, &can_read);
	} else if (err == 0) {
		can_read = p->visibility == STORE_VIS_PUBLIC;
	}
	if (err == SO_ENOTFOUND || (err == 0 && !can_read)) {
		err = api_reply_message(r, 404, "404 Project Not Found");
		goto done;
	}
	if (err < 0) {
		err = api_reply_error(r, err, "Project");
		goto done;
	}
	*out = p;
	p = NULL;
	if (level_out)
		*level_out = level;
done:
	store_project_free(p);
	return err;
}

/* ---- pagination ---- */

void api_page(const struct api_req *r, struct store_page *out)
{
	int64_t page = api_params_int(r->params, "page", 1);
	int64_t per_page = api_params_int(r->params, "per_page", 20);

	out->page = page < 1 ? 1 : page > 1000000 ? 1000000 : page;
	out->per_page = per_page < 1 ? 20 : per_page > 100 ? 100 : per_page;
}

/* The request's query string without page, per_page and private_token
 * (never echo a secret into a header). */
static void query_without_paging(struct api_req *r, struct buf *out)
{
	const char *q = http_request_query_string(r->req);

	while (q && *q) {
		const char *amp = strchr(q, '&');
		size_t n = amp ? (size_t)(amp - q) : strlen(q);
		const char *eq = memchr(q, '=', n);
		size_t kn = eq ? (size_t)(eq - q) : n;

		if (n && !(kn == 4 && !strncmp(q, "page", 4)) &&
		    !(kn == 8 && !strncmp(q, "per_page", 8)) &&
		    !(kn == 13 && !strncmp(q, "private_token", 13))) {
			buf_append(out, q, n);
			buf_putc(out, '&');
		}
		q = amp ? amp + 1 : NULL;
	}
}

static void add_int_header(struct api_req *r, const char *name, int64_t v)
{
	char s[32];

	snprintf(s, sizeof(s), "%" PRId64, v);
	http_add_header(r->req, name, s);
}

static void add_link(struct api_req *r, struct buf *link, const char *base, const char *query,
		     int64_t page, int64_t per_page, const char *rel)
{
	buf_printf(link, "%s<%s?%spage=%" PRId64 "&per_page=%" PRId64 ">; rel=\"%s\"",
		   link->len ? ", " : "", base, query, page, per_page, rel);
}

void api_page_headers(struct api_req *r, const struct store_page *pg, int64_t total)
{
	int64_t pages = total > 0 ? (total + pg->per_page - 1) / pg->per_page : 1;
	struct buf query = BUF_INIT(0), link = BUF_INIT(0);
	char *base = api_web_url(r->app, http_request_path(r->req) + 1);

	add_int_header(r, "X-Total", total);
	add_int_header(r, "X-Total-Pages", pages);
	add_int_header(r, "X-Page", pg->page);
	add_int_header(r, "X-Per-Page", pg->per_page);
	/* GitLab sends these empty on the last/first page; libmicrohttpd
	 * cannot send an empty header, so they are left out then. */
	if (pg->page < pages)
		add_int_header(r, "X-Next-Page", pg->page + 1);
	if (pg->page > 1)
		add_int_header(r, "X-Prev-Page", pg->page - 1 < pages ? pg->page - 1 : pages);

	query_without_paging(r, &query);
	if (pg->page > 1)
		add_link(r, &link, base, buf_cstr(&query),
			 pg->page - 1 < pages ? pg->page - 1 : pages, pg->per_page, "prev");
	if (pg->page < pages)
		add_link(r, &link, base, buf_cstr(&query), pg->page + 1, pg->per_page, "next");
	add_link(r, &link, base, buf_cstr(&query), 1, pg->per_page, "first");
	add_link(r, &link, base, buf_cstr(&query), pages, pg->per_page, "last");
	http_add_header(r->req, "Link", buf_cstr(&link));
	buf_dispose(&query);
	buf_dispose(&link);
	free(base);
}

/* ---- presenters ---- */

char *api_web_url(const struct app *app, const char *path)
{
	const char *base = app->cfg.external_url ? app->cfg.external_url : "";
	size_t n = strlen(base);

	while (n > 0 && base[n - 1] == '/')
		n--;
	while (path && *path == '/')
		path++;
	return xasprintf("%.*s/%s", (int)n, base, path ? path : "");
}

static const char *user_state(enum store_user_state s)
{
	switch (s) {
	case STORE_USER_BLOCKED:
		return "blocked";
	case STORE_USER_DEACTIVATED:
		return "deactivated";
	default:
		return "active";
	}
}

/* json_string that tolerates NULL (gives null). */
static json_t *str_or_null(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;

	return j ? j : json_null();
}

json_t *api_user_json(const struct app *app, const struct store_user *u, enum api_user_view view)
{
	char *web = api_web_url(app, u->username);
	json_t *j = json_pack("{s:I,s:o,s:o,s:s,s:b,s:n,s:o}", "id", (json_int_t)u->id,
			      "username", str_or_null(u->username), "name", str_or_null(u->name),
			      "state", user_state(u->state), "locked", 0, "avatar_url",
			      "web_url", str_or_null(web));

	free(web);
	if (view == API_USER_BASIC)
		return j;
	json_object_set_new(j, "created_at", str_or_null(u->created_at));
	json_object_set_new(j, "bio", json_string(""));
	json_object_set_new(j, "bot", json_false());
	if (view == API_USER_PUBLIC)
		return j;
	json_object_set_new(j, "email", str_or_null(u->email));
	json_object_set_new(j, "public_email", json_null());
	json_object_set_new(j, "last_activity_on", str_or_null(u->last_activity_on));
	json_object_set_new(j, "two_factor_enabled", json_false());
	json_object_set_new(j, "external", json_false());
	json_object_set_new(j, "can_create_project", json_true());
	json_object_set_new(j, "can_create_group", json_true());
	if (view == API_USER_ADMIN || u->is_admin)
		json_object_set_new(j, "is_admin", json_boolean(u->is_admin));
	return j;
}

json_t *api_namespace_json(const struct app *app, const struct store_namespace *ns)
{
	bool group = ns->kind && !strcmp(ns->kind, "group");
	char *path = group ? xasprintf("groups/%s", ns->full_path) : xstrdup(ns->full_path);
	char *web = api_web_url(app, path);
	json_t *j = json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:n,s:o}", "id", (json_int_t)ns->id,
			      "name", str_or_null(ns->name), "path", str_or_null(ns->path),
			      "kind", str_or_null(ns->kind), "full_path", str_or_null(ns->full_path),
			      "parent_id", ns->parent_id ? json_integer(ns->parent_id) : json_null(),
			      "avatar_url", "web_url", str_or_null(web));

	free(path);
	free(web);
	return j;
}

/* "Group / Sub / " for a namespace and its ancestors (bounded walk). */
static void namespace_human(struct app *app, const struct store_namespace *ns, struct buf *out)
{
	struct store_namespace *parent = NULL;

	if (ns->parent_id && store_namespace_get(app->store, ns->parent_id, &parent) == 0 &&
	    parent->id != ns->id && out->len < 4096)
		namespace_human(app, parent, out);
	store_namespace_free(parent);
	buf_printf(out, "%s / ", ns->name ? ns->name : ns->path);
}

static const char *visibility_name(enum store_visibility v)
{
	return v == STORE_VIS_PUBLIC ? "public" : v == STORE_VIS_INTERNAL ? "internal" : "private";
}

json_t *api_project_json(struct app *app, const struct store_project *p, int access_level)
{
	struct store_namespace *ns = NULL;
	struct buf human = BUF_INIT(0);
	char *web = api_web_url(app, p->path_with_namespace);
	char *git = xasprintf("%s.git", web);
	bool empty = true;
	json_t *j, *perm;

	if (store_namespace_get(app->store, p->namespace_id, &ns) == 0)
		namespace_human(app, ns, &human);
	buf_puts(&human, p->name);
	if (gitrepo_is_empty(app->cfg.repos_dir, p->id, &empty) < 0)
		empty = true;
	j = json_pack("{s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:[],s:[],s:n,s:o,s:o,s:n,s:n,"
		      "s:i,s:i,s:o,s:s,s:b,s:b,s:I}",
		      "id", (json_int_t)p->id, "description", str_or_null(p->description),
		      "name", str_or_null(p->name), "name_with_namespace", str_or_null(buf_cstr(&human)),
		      "path", str_or_null(p->path), "path_with_namespace",
		      str_or_null(p->path_with_namespace), "created_at", str_or_null(p->created_at),
		      "default_branch", str_or_null(p->default_branch), "tag_list", "topics",
		      "ssh_url_to_repo", "http_url_to_repo", str_or_null(git), "web_url",
		      str_or_null(web), "readme_url",
		      "avatar_url", "forks_count", 0, "star_count", 0, "last_activity_at",
		      str_or_null(p->last_activity_at ? p->last_activity_at : p->created_at),
		      "visibility", visibility_name(p->visibility), "empty_repo", empty,
		      "archived", 0, "creator_id", (json_int_t)p->creator_id);
	json_object_set_new(j, "namespace", ns ? api_namespace_json(app, ns) : json_null());
	perm = json_pack("{s:o,s:n}", "project_access",
			 access_level > 0 ? json_pack("{s:i,s:i}", "access_level", access_level,
						      "notification_level", 3)
					  : json_null(),
			 "group_access");
	json_object_set_new(j, "permissions", perm);
	store_namespace_free(ns);
	buf_dispose(&human);
	free(web);
	free(git);
	return j;
}

json_t *api_member_json(struct app *app, const struct store_member *m)
{
	struct store_user *creator = NULL;
	json_t *j;

	if (m->user)
		j = api_user_json(app, m->user, API_USER_BASIC);
	else
		j = json_pack("{s:I}", "id", (json_int_t)m->user_id);
	json_object_set_new(j, "access_level", json_integer(m->access_level));
	json_object_set_new(j, "created_at", str_or_null(m->created_at));
	if (m->created_by && store_user_get(app->store, m->created_by, &creator) == 0)
		json_object_set_new(j, "created_by", api_user_json(app, creator, API_USER_BASIC));
	json_object_set_new(j, "expires_at", str_or_null(m->expires_at));
	json_object_set_new(j, "membership_state", json_string("active"));
	store_user_free(creator);
	return j;
}
