/*
 * accounts.h: creating accounts, the one place that knows the rules for a
 * new user (GitLab's username rules, email shape, password length) and
 * what goes with one (its personal namespace). Both the REST API
 * (POST /api/v4/users) and `slashops admin user create` call it.
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

/* SO_EINVALID with a message naming the field, SO_EEXISTS when the
 * username or email is taken or a group already uses the username as its
 * path. Every rule is checked before anything is written; then the user
 * and its namespace are inserted. */
int accounts_user_create(struct app *app, const struct accounts_user_new *in, int64_t *out_id);

/* GitLab's username rule: 2..255 characters of letters, digits, '_', '-'
 * and '.', starting with a letter, digit or '_', not ending in '.',
 * '.git' or '.atom', no two special characters in a row. 0 or SO_EINVALID. */
int accounts_validate_username(const char *username);
int accounts_validate_email(const char *email);

#endif
