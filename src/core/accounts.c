/*
 * accounts.c: account creation and its rules; see accounts.h.
 */
#include "core/accounts.h"
#include "auth/auth.h"
#include "core/app.h"
#include "core/validate.h"
#include "store/store.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

int accounts_user_create(struct app *app, const struct accounts_user_new *in, int64_t *out_id)
{
	struct store_namespace *ns = NULL;
	struct store_user_new u;
	const char *why;
	char *hash = NULL;
	int64_t id = 0, ns_id = 0;
	int err;

	if ((why = validate_path(in->username, VALIDATE_PATH_USER)) != NULL) {
		err = error_set(SO_EINVALID, "Username %s", why);
		goto done;
	}
	if ((why = validate_email(in->email)) != NULL) {
		err = error_set(SO_EINVALID, "Email %s", why);
		goto done;
	}
	if (in->name && *in->name && (why = validate_user_name(in->name)) != NULL) {
		err = error_set(SO_EINVALID, "Name %s", why);
		goto done;
	}
	if ((err = auth_password_hash(in->password, &hash)) < 0)
		goto done;
	if (store_namespace_get_by_path(app->store, in->username, &ns) == 0) {
		err = error_set(SO_EEXISTS, "Username has already been taken");
		goto done;
	}
	memset(&u, 0, sizeof(u));
	u.username = in->username;
	u.email = in->email;
	u.name = in->name && *in->name ? in->name : in->username;
	u.password_hash = hash;
	u.is_admin = in->is_admin;
	if ((err = store_user_create(app->store, &u, &id)) < 0)
		goto done;
	if ((err = store_namespace_create(app->store, u.name, in->username, "user", id,
					  &ns_id)) < 0) {
		/* Nothing half-written: the user goes again with its namespace. */
		store_user_delete(app->store, id);
		goto done;
	}
	*out_id = id;
done:
	store_namespace_free(ns);
	free(hash);
	return err;
}
