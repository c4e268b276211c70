/* Unit tests for auth/password.c: Argon2id hashing, verification,
 * generation, and the timing-safe password sign-in check. */
#include <criterion/criterion.h>
#include <string.h>

#include "auth/auth.h"
#include "helpers.h"
#include "util/clock.h"
#include "util/error.h"

Test(password, hash_and_verify)
{
	char *hash = NULL;

	cr_assert_eq(auth_init(), 0);
	cr_assert_eq(auth_password_hash("correct horse battery", &hash), 0);
	cr_assert(strncmp(hash, "$argon2id$", 10) == 0, "hash %s is not Argon2id", hash);
	cr_assert(auth_password_verify(hash, "correct horse battery"));
	cr_assert_not(auth_password_verify(hash, "correct horse batterY"));
	cr_assert_not(auth_password_verify(hash, ""));
	cr_assert_not(auth_password_verify(NULL, "correct horse battery"));
	cr_assert_not(auth_password_verify("not-a-hash", "correct horse battery"));
	free(hash);
}

Test(password, same_password_different_salts)
{
	char *a = NULL, *b = NULL;

	cr_assert_eq(auth_password_hash("same password", &a), 0);
	cr_assert_eq(auth_password_hash("same password", &b), 0);
	cr_assert_str_neq(a, b);
	free(a);
	free(b);
}

Test(password, refuses_short_and_long)
{
	char *hash = (char *)1;
	char longpw[AUTH_PASSWORD_MAX + 2];

	cr_assert_eq(auth_password_hash("1234567", &hash), SO_EINVALID);
	cr_assert_null(hash);
	cr_assert_str_eq(error_msg(), "Password is too short (minimum is 8 characters)");
	cr_assert_eq(auth_password_hash(NULL, &hash), SO_EINVALID);
	memset(longpw, 'a', sizeof(longpw) - 1);
	longpw[sizeof(longpw) - 1] = '\0';
	cr_assert_eq(auth_password_hash(longpw, &hash), SO_EINVALID);
	cr_assert_str_eq(error_msg(), "Password is too long (maximum is 128 characters)");
	longpw[AUTH_PASSWORD_MAX] = '\0';
	cr_assert_eq(auth_password_hash(longpw, &hash), 0);
	free(hash);
}

Test(password, generate_is_random_and_url_safe)
{
	char *a = auth_password_generate(), *b = auth_password_generate();

	cr_assert_eq(strlen(a), 20);
	cr_assert_eq(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
		     20);
	cr_assert_str_neq(a, b);
	free(a);
	free(b);
}

Test(password, login_checks_password_and_state)
{
	struct app *app = test_app_open();
	struct store_user *u = NULL;
	int64_t alice = test_user(app, "alice", "alice-password", false);
	int64_t bob = test_user(app, "bob", "bob-password", false);
	int64_t carol = test_user(app, "carol", "carol-password", false);

	cr_assert_eq(auth_password_login(app, "alice", "alice-password", &u), 0, "%s", error_msg());
	cr_assert_eq(u->id, alice);
	store_user_free(u);
	cr_assert_eq(auth_password_login(app, "ALICE@example.com", "alice-password", &u), 0,
		     "%s", error_msg());
	cr_assert_eq(u->id, alice);
	store_user_free(u);

	cr_assert_eq(auth_password_login(app, "alice", "wrong-password", &u), SO_EAUTH);
	cr_assert_null(u);
	cr_assert_str_eq(error_msg(), "Invalid login or password.");
	cr_assert_eq(auth_password_login(app, "nobody", "alice-password", &u), SO_EAUTH);
	cr_assert_str_eq(error_msg(), "Invalid login or password.");
	cr_assert_eq(auth_password_login(app, "", "", &u), SO_EAUTH);
	cr_assert_eq(auth_password_login(app, NULL, NULL, &u), SO_EAUTH);

	cr_assert_eq(store_user_set_state(app->store, bob, STORE_USER_BLOCKED), 0);
	cr_assert_eq(auth_password_login(app, "bob", "bob-password", &u), SO_EAUTH);
	cr_assert_null(u);
	cr_assert(strstr(error_msg(), "blocked"));
	/* a wrong password for a blocked user says nothing about the state */
	cr_assert_eq(auth_password_login(app, "bob", "not-bobs", &u), SO_EAUTH);
	cr_assert_str_eq(error_msg(), "Invalid login or password.");

	cr_assert_eq(store_user_set_state(app->store, carol, STORE_USER_DEACTIVATED), 0);
	cr_assert_eq(auth_password_login(app, "carol", "carol-password", &u), SO_EAUTH);
	cr_assert(strstr(error_msg(), "deactivated"));
	test_app_close(app);
}

/* A missing user costs an Argon2id verification too, so the answer time
 * does not tell whether the login exists. */
Test(password, unknown_user_costs_a_hash_verification)
{
	struct app *app = test_app_open();
	struct store_user *u = NULL;
	double t0, known, unknown;

	test_user(app, "dave", "dave-password", false);
	(void)auth_password_login(app, "nobody", "x", &u); /* builds the dummy hash */
	t0 = clock_mono_ms();
	for (int i = 0; i < 3; i++)
		(void)auth_password_login(app, "dave", "wrong-password", &u);
	known = clock_mono_ms() - t0;
	t0 = clock_mono_ms();
	for (int i = 0; i < 3; i++)
		(void)auth_password_login(app, "nobody", "wrong-password", &u);
	unknown = clock_mono_ms() - t0;
	cr_assert(unknown > known * 0.5 && unknown < known * 2.0,
		  "known user %.1f ms, unknown user %.1f ms", known, unknown);
	test_app_close(app);
}
