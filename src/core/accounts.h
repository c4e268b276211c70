/*
 * accounts.h: creating accounts, the one place that applies the rules for
 * a new user (names and email by core/validate.h, password length by
 * auth) and creates what goes with one (its personal namespace). Both the
 * REST API (POST /api/v4/users) and `slashops admin user create` call it.
 */
#ifndef SO_CORE_ACCOUNTS_H
#define SO_CORE_ACCOUNTS_H

#include <stdbool.h>
#include <stdint.h>

struct app;

struct accounts_user_new {
	const char *username; /* borrowed; all fields */
	const char *email;
	const char *name;     /* NULL: the username */
	const char *password; /* plain text; hashed here */
	bool is_admin;
};

/* SO_EINVALID with a message that starts with the field's name
 * ("Username is a reserved name"), SO_EEXISTS when the
 * username or email is taken or a group already uses the username as its
 * path. Every rule is checked before anything is written; then the user
 * and its namespace are inserted. */
int accounts_user_create(struct app *app, const struct accounts_user_new *in, int64_t *out_id);

#endif
