/*
 * accounts.c: account creation and its rules; see accounts.h.
 */
#include "core/accounts.h"
#include "auth/auth.h"
#include "core/app.h"
#include "store/store.h"
#include "util/error.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

static bool is_special(char c)
{
	return c == '_' || c == '-' || c == '.';
}

int accounts_validate_username(const char *u)
{
	size_t len = u ? strlen(u) : 0;

	if (len == 0)
		return error_set(SO_EINVALID, "Username can't be blank");
	if (len < 2)
		return error_set(SO_EINVALID, "Username is too short (minimum is 2 characters)");
	if (len > 255)
		return error_set(SO_EINVALID, "Username is too long (maximum is 255 characters)");
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)u[i];
		if (!(isalnum(c) && c < 0x80) && !is_special((char)c))
			goto bad;
		if (i > 0 && is_special((char)c) && is_special(u[i - 1]))
			goto bad;
	}
	if (u[0] == '-' || u[0] == '.' || u[len - 1] == '.' || u[len - 1] == '-' ||
	    ends_with(u, ".git") || ends_with(u, ".atom"))
		goto bad;
	return 0;
bad:
	return error_set(SO_EINVALID,
			 "Username can contain only letters, digits, '_', '-' and '.'. "
			 "Cannot start with '-' or end in '.', '.git' or '.atom'.");
}

int accounts_validate_email(const char *e)
{
	const char *at = e ? strchr(e, '@') : NULL;

	if (!e || !*e)
		return error_set(SO_EINVALID, "Email can't be blank");
	if (strlen(e) > 254 || !at || at == e || !at[1] || strchr(at + 1, '@') ||
	    strpbrk(e, " \t\r\n<>\"'"))
		return error_set(SO_EINVALID, "Email is invalid");
	return 0;
}

int accounts_user_create(struct app *app, const struct accounts_user_new *in, int64_t *out_id)
{
	struct store_namespace *ns = NULL;
	struct store_user_new u;
	char *hash = NULL;
	int64_t id = 0, ns_id = 0;
	int err;

	if ((err = accounts_validate_username(in->username)) < 0 ||
	    (err = accounts_validate_email(in->email)) < 0 ||
	    (err = auth_password_hash(in->password, &hash)) < 0)
		goto done;
	if (in->name && strlen(in->name) > 255) {
		err = error_set(SO_EINVALID, "Name is too long (maximum is 255 characters)");
		goto done;
	}
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
	if ((err = store_user_create(app->store, &u, &id)) < 0 ||
	    (err = store_namespace_create(app->store, u.name, in->username, "user", id,
					  &ns_id)) < 0)
		goto done;
	*out_id = id;
done:
	store_namespace_free(ns);
	free(hash);
	return err;
}
