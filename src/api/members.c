/*
 * members.c: the Project members API: GET, POST /projects/:id/members and
 * GET, PUT, DELETE /projects/:id/members/:user_id.
 *
 * Design: who may do what follows GitLab's project roles. Anyone who can
 * see the project can list its members. Adding, changing and removing
 * members needs Maintainer; only an Owner may add an Owner, promote to
 * Owner, or change or remove an Owner; any member may remove themselves
 * (leave). A project always keeps at least one Owner: removing or
 * demoting the last one is refused with 403, as GitLab refuses it.
 */
#include "api/api.h"
#include "core/validate.h"

#include "core/app.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

static const struct api_param list_params[] = {
	{ "page", API_PARAM_INT, false, 0 },
	{ "per_page", API_PARAM_INT, false, 0 },
};

static const struct api_param add_params[] = {
	{ "user_id", API_PARAM_INT, true, 0 },
	{ "access_level", API_PARAM_INT, true, 0 },
	{ "expires_at", API_PARAM_STRING, false, 32 },
};

static const struct api_param update_params[] = {
	{ "access_level", API_PARAM_INT, true, 0 },
	{ "expires_at", API_PARAM_STRING, false, 32 },
};

static bool valid_level(int64_t v)
{
	return v == 10 || v == 20 || v == 30 || v == 40 || v == 50;
}

/* Checks access_level and expires_at; answers 400 when wrong. */
static int check_level_and_expiry(struct api_req *r, int64_t level, const char **expires)
{
	char today[32];

	*expires = api_params_str(r->params, "expires_at");
	if (!valid_level(level))
		return api_reply_param_error(r, "access_level does not have a valid value");
	if (*expires && !**expires)
		*expires = NULL; /* "" clears it, as GitLab does */
	if (*expires && !validate_date(*expires))
		return api_reply_param_error(r, "expires_at is invalid");
	clock_now_iso(today, sizeof(today));
	today[10] = '\0';
	if (*expires && strcmp(*expires, today) < 0)
		return api_reply_field_error(r, "expires_at", "cannot be a date in the past");
	return 0;
}

static int last_owner_check(struct api_req *r, int64_t project_id, const char *what)
{
	int64_t owners = 0;
	int rc = store_member_count_owners(r->app->store, project_id, &owners);
	char msg[128];

	if (rc < 0)
		return api_reply_error(r, rc, NULL);
	if (owners <= 1) {
		snprintf(msg, sizeof(msg), "403 Forbidden - The last owner cannot be %s", what);
		return api_reply_message(r, 403, msg);
	}
	return 0;
}

int api_members_list(struct http_request *req, void *app)
{
	struct store_project *p = NULL;
	struct store_member **list = NULL;
	struct store_page pg;
	struct api_req r;
	int64_t total = 0;
	json_t *arr;
	int rc;

	if ((rc = api_begin(&r, req, app, API_ANON_READ, API_SPEC(list_params))) != 0 ||
	    (rc = api_find_project(&r, http_request_param(req, "id"), &p, NULL)) != 0)
		goto done;
	api_page(&r, &pg);
	if ((rc = store_member_list(r.app->store, p->id, &pg, &list, &total)) < 0) {
		rc = api_reply_error(&r, rc, NULL);
		goto done;
	}
	arr = json_array();
	for (size_t i = 0; list[i]; i++)
		json_array_append_new(arr, api_member_json(r.app, list[i]));
	api_page_headers(&r, &pg, total);
	rc = http_respond_json(req, 200, arr);
done:
	store_member_list_free(list);
	store_project_free(p);
	api_end(&r);
	return rc < 0 ? rc : 0;
}

/* Resolves :user_id to a member of p; answers 404 "404 Member Not Found". */
static int find_member(struct api_req *r, const struct store_project *p,
		       struct store_member **out)
{
	int64_t uid;
	int rc;

	*out = NULL;
	if ((rc = api_path_id(r, "user_id", "Member", &uid)) != 0)
		return rc;
	if ((rc = store_member_get(r->app->store, p->id, uid, out)) < 0)
		return api_reply_error(r, rc, "Member");
	return 0;
}

int api_members_get(struct http_request *req, void *app)
{
	struct store_project *p = NULL;
	struct store_member *m = NULL;
	struct api_req r;
	int rc;

	if ((rc = api_begin(&r, req, app, API_ANON_READ, NULL, 0)) != 0 ||
	    (rc = api_find_project(&r, http_request_param(req, "id"), &p, NULL)) != 0 ||
	    (rc = find_member(&r, p, &m)) != 0)
		goto done;
	rc = http_respond_json(req, 200, api_member_json(r.app, m));
done:
	store_member_free(m);
	store_project_free(p);
	api_end(&r);
	return rc < 0 ? rc : 0;
}

int api_members_add(struct http_request *req, void *app)
{
	struct store_project *p = NULL;
	struct store_member *m = NULL;
	struct store_user *u = NULL;
	struct api_req r;
	const char *expires = NULL;
	int64_t uid, level;
	int mine = 0, rc;

	if ((rc = api_begin(&r, req, app, API_WRITE, API_SPEC(add_params))) != 0 ||
	    (rc = api_find_project(&r, http_request_param(req, "id"), &p, &mine)) != 0)
		goto done;
	uid = api_params_int(r.params, "user_id", 0);
	level = api_params_int(r.params, "access_level", 0);
	if (mine < 40 || (level == 50 && mine < 50)) {
		rc = api_reply_message(&r, 403, "403 Forbidden");
		goto done;
	}
	if ((rc = check_level_and_expiry(&r, level, &expires)) != 0)
		goto done;
	if (uid <= 0 || (rc = store_user_get(r.app->store, uid, &u)) == SO_ENOTFOUND) {
		rc = api_reply_message(&r, 404, "404 User Not Found");
		goto done;
	}
	if (rc < 0) {
		rc = api_reply_error(&r, rc, "User");
		goto done;
	}
	rc = store_member_add(r.app->store, p->id, uid, (int)level, expires, api_user_id(&r));
	if (rc == SO_EEXISTS) {
		rc = api_reply_message(&r, 409, "Member already exists");
		goto done;
	}
	if (rc < 0 || (rc = store_member_get(r.app->store, p->id, uid, &m)) < 0) {
		rc = api_reply_error(&r, rc, "Member");
		goto done;
	}
	rc = http_respond_json(req, 201, api_member_json(r.app, m));
done:
	store_user_free(u);
	store_member_free(m);
	store_project_free(p);
	api_end(&r);
	return rc < 0 ? rc : 0;
}

int api_members_update(struct http_request *req, void *app)
{
	struct store_project *p = NULL;
	struct store_member *m = NULL, *after = NULL;
	struct api_req r;
	const char *expires = NULL;
	int64_t level;
	int mine = 0, rc;

	if ((rc = api_begin(&r, req, app, API_WRITE, API_SPEC(update_params))) != 0 ||
	    (rc = api_find_project(&r, http_request_param(req, "id"), &p, &mine)) != 0)
		goto done;
	if (mine < 40) {
		rc = api_reply_message(&r, 403, "403 Forbidden");
		goto done;
	}
	if ((rc = find_member(&r, p, &m)) != 0)
		goto done;
	level = api_params_int(r.params, "access_level", 0);
	if ((level == 50 || m->access_level == 50) && mine < 50) {
		rc = api_reply_message(&r, 403, "403 Forbidden");
		goto done;
	}
	if ((rc = check_level_and_expiry(&r, level, &expires)) != 0)
		goto done;
	if (!api_params_has(r.params, "expires_at"))
		expires = m->expires_at;
	if (m->access_level == 50 && level < 50 &&
	    (rc = last_owner_check(&r, p->id, "demoted")) != 0)
		goto done;
	if ((rc = store_member_update(r.app->store, p->id, m->user_id, (int)level, expires)) < 0 ||
	    (rc = store_member_get(r.app->store, p->id, m->user_id, &after)) < 0) {
		rc = api_reply_error(&r, rc, "Member");
		goto done;
	}
	rc = http_respond_json(req, 200, api_member_json(r.app, after));
done:
	store_member_free(m);
	store_member_free(after);
	store_project_free(p);
	api_end(&r);
	return rc < 0 ? rc : 0;
}

int api_members_remove(struct http_request *req, void *app)
{
	struct store_project *p = NULL;
	struct store_member *m = NULL;
	struct api_req r;
	int mine = 0, rc;
	bool self;

	if ((rc = api_begin(&r, req, app, API_WRITE, NULL, 0)) != 0 ||
	    (rc = api_find_project(&r, http_request_param(req, "id"), &p, &mine)) != 0 ||
	    (rc = find_member(&r, p, &m)) != 0)
		goto done;
	self = m->user_id == api_user_id(&r);
	if (!self && (mine < 40 || (m->access_level == 50 && mine < 50))) {
		rc = api_reply_message(&r, 403, "403 Forbidden");
		goto done;
	}
	if (m->access_level == 50 && (rc = last_owner_check(&r, p->id, "removed")) != 0)
		goto done;
	if ((rc = store_member_remove(r.app->store, p->id, m->user_id)) < 0) {
		rc = api_reply_error(&r, rc, "Member");
		goto done;
	}
	rc = http_respond(req, 204, "text/plain", "", 0);
done:
	store_member_free(m);
	store_project_free(p);
	api_end(&r);
	return rc < 0 ? rc : 0;
}
