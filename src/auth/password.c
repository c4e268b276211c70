/*
 * password.c: password hashing, verification, generation and the one
 * password sign-in check every entry point uses.
 *
 * Design: hashes are libsodium's crypto_pwhash_str strings (Argon2id with
 * the INTERACTIVE limits: about 64 MiB and a few tenths of a second), which
 * carry their own salt and parameters, so old hashes keep verifying if the
 * limits change. auth_password_login() verifies against a fixed dummy hash
 * when the login names nobody, so a failed sign-in costs the same whether
 * the user exists or not. The state check (blocked, deactivated) comes
 * only after the password was verified, so it reveals nothing to someone
 * who does not know the password.
 */
#include "auth/auth.h"
#include "auth/internal.h"
#include "core/app.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/error.h"

#include <pthread.h>
#include <sodium.h>
#include <string.h>

int auth_init(void)
{
	if (sodium_init() < 0)
		return error_set(SO_EFAIL, "libsodium failed to initialise");
	return 0;
}

int auth_password_hash(const char *password, char **out)
{
	char hash[crypto_pwhash_STRBYTES];
	size_t n;

	*out = NULL;
	n = password ? strlen(password) : 0;
	if (n < AUTH_PASSWORD_MIN)
		return error_set(SO_EINVALID, "Password is too short (minimum is %d characters)",
				 AUTH_PASSWORD_MIN);
	if (n > AUTH_PASSWORD_MAX)
		return error_set(SO_EINVALID, "Password is too long (maximum is %d characters)",
				 AUTH_PASSWORD_MAX);
	if (crypto_pwhash_str_alg(hash, password, n, crypto_pwhash_OPSLIMIT_INTERACTIVE,
				  crypto_pwhash_MEMLIMIT_INTERACTIVE,
				  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return error_set(SO_EFAIL, "password hashing ran out of memory");
	*out = xstrdup(hash);
	return 0;
}

bool auth_password_verify(const char *hash, const char *password)
{
	size_t n;

	if (!hash || !password)
		return false;
	n = strlen(password);
	if (n > AUTH_PASSWORD_MAX || strnlen(hash, crypto_pwhash_STRBYTES) >= crypto_pwhash_STRBYTES)
		return false;
	return crypto_pwhash_str_verify(hash, password, n) == 0;
}

char *auth_password_generate(void)
{
	return auth_random_token(20);
}

/* A hash of a random password nobody knows, made once on first use. */
static char dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void make_dummy_hash(void)
{
	unsigned char pw[16];

	randombytes_buf(pw, sizeof(pw));
	if (crypto_pwhash_str_alg(dummy_hash, (const char *)pw, sizeof(pw),
				  crypto_pwhash_OPSLIMIT_INTERACTIVE,
				  crypto_pwhash_MEMLIMIT_INTERACTIVE,
				  crypto_pwhash_ALG_ARGON2ID13) != 0)
		dummy_hash[0] = '\0';
	sodium_memzero(pw, sizeof(pw));
}

int auth_password_login(struct app *app, const char *login, const char *password,
			struct store_user **out)
{
	struct store_user *u = NULL;
	bool ok;
	int err;

	*out = NULL;
	if (login && *login && strlen(login) <= 255) {
		err = store_user_get_by_login(app->store, login, &u);
		if (err < 0 && err != SO_ENOTFOUND)
			return err;
	}
	if (u && u->password_hash && *u->password_hash) {
		ok = auth_password_verify(u->password_hash, password ? password : "");
	} else {
		pthread_once(&dummy_once, make_dummy_hash);
		(void)auth_password_verify(dummy_hash, password ? password : "");
		ok = false;
	}
	if (!ok) {
		err = error_set(SO_EAUTH, "Invalid login or password.");
		goto done;
	}
	if (u->state == STORE_USER_BLOCKED) {
		err = error_set(SO_EAUTH, "Your account has been blocked. Please contact your "
			       "administrator if you think this is an error.");
		goto done;
	}
	if (u->state != STORE_USER_ACTIVE) {
		err = error_set(SO_EAUTH, "Your account has been deactivated. Please contact "
			       "your administrator to reactivate it.");
		goto done;
	}
	*out = u;
	u = NULL;
	err = 0;
done:
	store_user_free(u);
	return err;
}
