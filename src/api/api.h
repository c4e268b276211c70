/*
 * api.h: GitLab's REST API v4 (users, projects, project members), as a
 * route table the HTTP server serves, plus the helpers every handler
 * shares.
 *
 * Design: a handler runs in three steps, always in this order:
 *  1. api_begin() authenticates the request (auth_request_api: the
 *     PRIVATE-TOKEN header or "Authorization: Bearer"), checks the token's
 *     scope for the kind of request (writes need "api", reads "api" or
 *     "read_api"), and parses the parameters against the endpoint's
 *     declared table (api/json.h). When any step fails it has already
 *     answered as GitLab does (401 {"message":"401 Unauthorized"}, 403
 *     {"error":"insufficient_scope",...}, 400 {"error":"name is missing"})
 *     and returns API_ANSWERED.
 *  2. The handler does its work through the store, auth and git parts.
 *     api_find_project() resolves ":id" (numeric id or the decoded full
 *     path) and answers 404 {"message":"404 Project Not Found"} alike for
 *     a project that does not exist and one the caller may not see.
 *  3. It answers once, with a presenter's JSON (api_*_json) or one of the
 *     api_reply_* helpers, then api_end() releases the context.
 * Lists are paginated with GitLab's page/per_page and headers (X-Total,
 * X-Total-Pages, X-Page, X-Per-Page, X-Next-Page, X-Prev-Page, Link).
 *
 * docs/API.md lists every endpoint, its parameters and status codes, and
 * where slashops differs from GitLab.
 *
 * Ownership: struct api_req owns its identity and parameters; presenters
 * return new JSON references (caller owns, usually stolen by
 * http_respond_json).
 */
#ifndef SO_API_API_H
#define SO_API_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "api/json.h"
#include "auth/auth.h"
#include "http/server.h"

struct app;
struct store_member;
struct store_namespace;
struct store_page;
struct store_project;
struct store_user;

extern const struct http_route api_routes[];
extern const size_t api_routes_count;

/* Returned by helpers that have answered the request already; the handler
 * then cleans up and returns 0. */
#define API_ANSWERED 1

enum api_need {
	API_ANON_READ, /* anonymous callers allowed (they see public data only) */
	API_READ,      /* a signed-in caller; tokens need read_api or api */
	API_WRITE,     /* a signed-in caller; tokens need api */
};

struct api_req {
	struct app *app;             /* borrowed */
	struct http_request *req;    /* borrowed */
	struct auth_identity id;     /* owned; id.user NULL when anonymous */
	struct api_params *params;   /* owned */
};

#define API_SPEC(table) (table), (sizeof(table) / sizeof((table)[0]))

/* Step 1 (see above). spec may be NULL with n 0 (no parameters at all). */
int api_begin(struct api_req *r, struct http_request *req, void *app, enum api_need need,
	      const struct api_param *spec, size_t n);
void api_end(struct api_req *r); /* accepts a zeroed struct */

bool api_is_admin(const struct api_req *r);
int64_t api_user_id(const struct api_req *r); /* 0 when anonymous */

/* ---- answers (each returns API_ANSWERED, or negative if sending failed) ---- */
/* {"message": message} */
int api_reply_message(struct api_req *r, unsigned status, const char *message);
/* 400 {"message": {field: [reason]}}, GitLab's validation-error shape. */
int api_reply_field_error(struct api_req *r, const char *field, const char *reason);
/* 400 {"error": text}, Grape's parameter-error shape. */
int api_reply_param_error(struct api_req *r, const char *text);
/* Maps a store/auth error code to GitLab's answer: SO_ENOTFOUND 404 with
 * "404 <what> Not Found", SO_EEXISTS 409 with the store's message,
 * SO_EINVALID 400, SO_EDENIED 403, everything else 500 (logged, not
 * shown). */
int api_reply_error(struct api_req *r, int err, const char *what);
/* 201 true: what GitLab's user state actions answer. */
int api_reply_true(struct api_req *r);

/* ---- lookups ---- */
/* Finds the project :id names (digits: an id; otherwise a full path,
 * already percent-decoded by the router) that the caller can see.
 * level_out (may be NULL) receives the caller's effective access level
 * (admins: Owner; non-members of a readable project: 0). Answers 404 and
 * returns API_ANSWERED when missing or invisible. */
int api_find_project(struct api_req *r, const char *id, struct store_project **out,
		     int *level_out);
/* Parses a numeric path parameter; answers 404 "404 <what> Not Found"
 * when it is not a positive integer. */
int api_path_id(struct api_req *r, const char *param, const char *what, int64_t *out);

/* ---- pagination ---- */
/* page/per_page from the parameters (the endpoint declares both as
 * ints): page >= 1 (default 1), per_page 1..100 (default 20; larger
 * values are clamped to 100, as GitLab does). */
void api_page(const struct api_req *r, struct store_page *out);
/* Adds GitLab's pagination headers for total items. */
void api_page_headers(struct api_req *r, const struct store_page *pg, int64_t total);

/* ---- presenters ---- */
/* "<external_url>/<path>" without a doubled '/'. Caller frees. */
char *api_web_url(const struct app *app, const char *path);

enum api_user_view {
	API_USER_BASIC,  /* id, username, name, state, locked, avatar_url, web_url */
	API_USER_PUBLIC, /* + created_at, bot, ... */
	API_USER_SELF,   /* + email (the caller themselves) */
	API_USER_ADMIN,  /* + email, is_admin, ... (the caller is an admin) */
};
json_t *api_user_json(const struct app *app, const struct store_user *u, enum api_user_view view);
json_t *api_namespace_json(const struct app *app, const struct store_namespace *ns);
/* access_level: the caller's membership level (0: none). */
json_t *api_project_json(struct app *app, const struct store_project *p, int access_level);
json_t *api_member_json(struct app *app, const struct store_member *m);

/* ---- handlers (users.c, projects.c, members.c) ---- */
int api_user_current(struct http_request *req, void *app);
int api_users_list(struct http_request *req, void *app);
int api_users_create(struct http_request *req, void *app);
int api_users_get(struct http_request *req, void *app);
int api_users_block(struct http_request *req, void *app);
int api_users_unblock(struct http_request *req, void *app);
int api_users_deactivate(struct http_request *req, void *app);
int api_users_activate(struct http_request *req, void *app);
int api_projects_list(struct http_request *req, void *app);
int api_projects_create(struct http_request *req, void *app);
int api_projects_get(struct http_request *req, void *app);
int api_projects_delete(struct http_request *req, void *app);
int api_members_list(struct http_request *req, void *app);
int api_members_get(struct http_request *req, void *app);
int api_members_add(struct http_request *req, void *app);
int api_members_update(struct http_request *req, void *app);
int api_members_remove(struct http_request *req, void *app);

#endif
