/*
 * users.c: the Users API: GET /user, GET and POST /users, GET /users/:id,
 * and the admin state actions (block, unblock, deactivate, activate).
 *
 * Design: creating a user goes through core/accounts (the same rules and
 * the same personal namespace as `slashops admin user create`); this file
 * adds what is API-specific: admin-only access, GitLab's password options
 * and reserved usernames, and turning a rule's message ("Username can
 * contain only ...") into GitLab's {"message": {"username": [...]}} shape.
 * Which fields a user JSON shows depends on who asks (api_user_view).
 */
#include "api/api.h"
#include "core/validate.h"

#include "auth/auth.h"
#include "core/accounts.h"
#include "core/app.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/error.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct api_param list_params[] = {
	{ "page", API_PARAM_INT, false, 0 },
	{ "per_page", API_PARAM_INT, false, 0 },
	{ "username", API_PARAM_STRING, false, 255 },
};

static const struct api_param create_params[] = {
	{ "username", API_PARAM_STRING, true, 255 },
	{ "email", API_PARAM_STRING, true, 254 },
	{ "name", API_PARAM_STRING, true, 255 },
	{ "password", API_PARAM_STRING, false, 128 },
	{ "reset_password", API_PARAM_BOOL, false, 0 },
	{ "force_random_password", API_PARAM_BOOL, false, 0 },
	{ "admin", API_PARAM_BOOL, false, 0 },
	{ "skip_confirmation", API_PARAM_BOOL, false, 0 },
};

static enum api_user_view view_for(const struct api_req *r, const struct store_user *u)
{
	if (api_is_admin(r))
		return API_USER_ADMIN;
	return u->id == api_user_id(r) ? API_USER_SELF : API_USER_PUBLIC;
}

int api_user_current(struct http_request *req, void *app)
{
	struct api_req r;
	int rc;

	if ((rc = api_begin(&r, req, app, API_READ, NULL, 0)) == 0)
		rc = http_respond_json(req, 200,
				       api_user_json(r.app, r.id.user,
						     api_is_admin(&r) ? API_USER_ADMIN : API_USER_SELF));
	api_end(&r);
	return rc < 0 ? rc : 0;
}

int api_users_list(struct http_request *req, void *app)
{
	struct store_user **list = NULL, *one = NULL;
	struct store_page pg;
	struct api_req r;
	const char *username;
	int64_t total = 0;
	json_t *arr;
	int rc;

	if ((rc = api_begin(&r, req, app, API_READ, API_SPEC(list_params))) != 0)
		goto done;
	api_page(&r, &pg);
	arr = json_array();
	username = api_params_str(r.params, "username");
	if (username) {
		rc = store_user_get_by_login(r.app->store, username, &one);
		if (rc == 0 && !strcasecmp(one->username, username)) {
			total = 1;
			if (pg.page == 1)
				json_array_append_new(arr, api_user_json(r.app, one,
									 api_is_admin(&r) ? API_USER_ADMIN
											  : API_USER_BASIC));
		} else if (rc < 0 && rc != SO_ENOTFOUND) {
			json_decref(arr);
			rc = api_reply_error(&r, rc, NULL);
			goto done;
		}
	} else {
		if ((rc = store_user_list(r.app->store, &pg, &list, &total)) < 0) {
			json_decref(arr);
			rc = api_reply_error(&r, rc, NULL);
			goto done;
		}
		for (size_t i = 0; list[i]; i++)
			json_array_append_new(arr, api_user_json(r.app, list[i],
								 api_is_admin(&r) ? API_USER_ADMIN
										  : API_USER_BASIC));
	}
	api_page_headers(&r, &pg, total);
	rc = http_respond_json(req, 200, arr);
done:
	store_user_list_free(list);
	store_user_free(one);
	api_end(&r);
	return rc < 0 ? rc : 0;
}

/* "Username can contain only ..." -> 400 {"message":{"username":["can
 * contain only ..."]}}. Messages without a leading field name are sent
 * as they are. */
static int reply_rule_error(struct api_req *r, const char *msg)
{
	const char *sp = strchr(msg, ' ');
	char field[32];
	size_t n = sp ? (size_t)(sp - msg) : 0;

	if (n == 0 || n >= sizeof(field))
		return api_reply_message(r, 400, msg);
	for (size_t i = 0; i < n; i++)
		field[i] = (char)tolower((unsigned char)msg[i]);
	field[n] = '\0';
	return api_reply_field_error(r, field, sp + 1);
}

int api_users_create(struct http_request *req, void *app)
{
	struct accounts_user_new in;
	struct store_user *u = NULL;
	struct api_req r;
	char *generated = NULL;
	int64_t id = 0;
	int rc;

	if ((rc = api_begin(&r, req, app, API_WRITE, API_SPEC(create_params))) != 0)
		goto done;
	if (!api_is_admin(&r)) {
		rc = api_reply_message(&r, 403, "403 Forbidden");
		goto done;
	}
	memset(&in, 0, sizeof(in));
	in.username = api_params_str(r.params, "username");
	in.email = api_params_str(r.params, "email");
	in.name = api_params_str(r.params, "name");
	in.is_admin = api_params_bool(r.params, "admin", false);
	if (api_params_bool(r.params, "reset_password", false) ||
	    api_params_bool(r.params, "force_random_password", false)) {
		/* slashops sends no mail: the account gets a random password that
		 * nobody sees; an admin sets one later (docs/API.md). */
		generated = auth_password_generate();
		in.password = generated;
	} else {
		in.password = api_params_str(r.params, "password");
	}
	if (!in.password) {
		rc = api_reply_param_error(&r, "password, reset_password, force_random_password are "
					       "missing, at least one parameter must be provided");
		goto done;
	}
	rc = accounts_user_create(r.app, &in, &id);
	if (rc == SO_EINVALID) {
		rc = reply_rule_error(&r, error_msg());
		goto done;
	}
	if (rc < 0) {
		rc = api_reply_error(&r, rc, "User");
		goto done;
	}
	if ((rc = store_user_get(r.app->store, id, &u)) < 0) {
		rc = api_reply_error(&r, rc, "User");
		goto done;
	}
	rc = http_respond_json(req, 201, api_user_json(r.app, u, API_USER_ADMIN));
done:
	if (generated) {
		memset(generated, 0, strlen(generated));
		free(generated);
	}
	store_user_free(u);
	api_end(&r);
	return rc < 0 ? rc : 0;
}

/* Resolves :id to a user, answering 404 "404 User Not Found". */
static int find_user(struct api_req *r, struct store_user **out)
{
	int64_t id;
	int rc;

	*out = NULL;
	if ((rc = api_path_id(r, "id", "User", &id)) != 0)
		return rc;
	rc = store_user_get(r->app->store, id, out);
	if (rc < 0)
		return api_reply_error(r, rc, "User");
	return 0;
}

int api_users_get(struct http_request *req, void *app)
{
	struct store_user *u = NULL;
	struct api_req r;
	int rc;

	if ((rc = api_begin(&r, req, app, API_READ, NULL, 0)) != 0 ||
	    (rc = find_user(&r, &u)) != 0)
		goto done;
	rc = http_respond_json(req, 200, api_user_json(r.app, u, view_for(&r, u)));
done:
	store_user_free(u);
	api_end(&r);
	return rc < 0 ? rc : 0;
}

enum state_action { ACT_BLOCK, ACT_UNBLOCK, ACT_DEACTIVATE, ACT_ACTIVATE };

/* GitLab's rules for the admin state actions: blocked users must be
 * unblocked before anything else; deactivated users are activated, not
 * unblocked. An admin cannot block or deactivate themselves (a slashops
 * rule: it would lock the last admin out). */
static int state_action(struct http_request *req, void *app, enum state_action act)
{
	static const enum store_user_state target[] = {
		[ACT_BLOCK] = STORE_USER_BLOCKED,
		[ACT_UNBLOCK] = STORE_USER_ACTIVE,
		[ACT_DEACTIVATE] = STORE_USER_DEACTIVATED,
		[ACT_ACTIVATE] = STORE_USER_ACTIVE,
	};
	struct store_user *u = NULL;
	struct api_req r;
	const char *refuse = NULL;
	int rc;

	if ((rc = api_begin(&r, req, app, API_WRITE, NULL, 0)) != 0)
		goto done;
	if (!api_is_admin(&r)) {
		rc = api_reply_message(&r, 403, "403 Forbidden");
		goto done;
	}
	if ((rc = find_user(&r, &u)) != 0)
		goto done;
	if ((act == ACT_BLOCK || act == ACT_DEACTIVATE) && u->id == api_user_id(&r))
		refuse = act == ACT_BLOCK ? "403 Forbidden - You cannot block yourself"
					  : "403 Forbidden - You cannot deactivate yourself";
	else if (act == ACT_UNBLOCK && u->state == STORE_USER_DEACTIVATED)
		refuse = "403 Forbidden - Deactivated users cannot be unblocked by the API";
	else if (act == ACT_DEACTIVATE && u->state == STORE_USER_BLOCKED)
		refuse = "403 Forbidden - A blocked user cannot be deactivated by the API";
	else if (act == ACT_ACTIVATE && u->state == STORE_USER_BLOCKED)
		refuse = "403 Forbidden - A blocked user must be unblocked to be activated";
	if (refuse) {
		rc = api_reply_message(&r, 403, refuse);
		goto done;
	}
	if (u->state != target[act]) {
		if ((rc = store_user_set_state(r.app->store, u->id, target[act])) < 0) {
			rc = api_reply_error(&r, rc, "User");
			goto done;
		}
		if (target[act] != STORE_USER_ACTIVE)
			(void)store_session_delete_for_user(r.app->store, u->id);
	}
	rc = api_reply_true(&r);
done:
	store_user_free(u);
	api_end(&r);
	return rc < 0 ? rc : 0;
}

int api_users_block(struct http_request *req, void *app)
{
	return state_action(req, app, ACT_BLOCK);
}

int api_users_unblock(struct http_request *req, void *app)
{
	return state_action(req, app, ACT_UNBLOCK);
}

int api_users_deactivate(struct http_request *req, void *app)
{
	return state_action(req, app, ACT_DEACTIVATE);
}

int api_users_activate(struct http_request *req, void *app)
{
	return state_action(req, app, ACT_ACTIVATE);
}
