/* Unit tests for auth/token.c: random tokens, personal access tokens,
 * keyed hashes, authentication and scopes. */
#include <criterion/criterion.h>
#include <regex.h>
#include <sodium.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "helpers.h"
#include "util/buf.h"
#include "util/error.h"

#define ALPHABET "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

Test(token, random_alphabet_length_and_spread)
{
	size_t counts[256] = { 0 };
	char *t;

	cr_assert_eq(auth_init(), 0);
	t = auth_random_token(0);
	cr_assert_str_eq(t, "");
	free(t);
	for (int i = 0; i < 200; i++) {
		t = auth_random_token(64);
		cr_assert_eq(strlen(t), 64);
		cr_assert_eq(strspn(t, ALPHABET), 64, "bad character in %s", t);
		for (int j = 0; j < 64; j++)
			counts[(unsigned char)t[j]]++;
		free(t);
	}
	/* 12800 draws over 64 characters: each expected 200 times */
	for (const char *c = ALPHABET; *c; c++)
		cr_assert(counts[(unsigned char)*c] > 100 && counts[(unsigned char)*c] < 300,
			  "'%c' drawn %zu times", *c, counts[(unsigned char)*c]);
}

static bool matches(const char *re, const char *s)
{
	regex_t r;
	bool ok;

	cr_assert_eq(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
	ok = regexec(&r, s, 0, NULL, 0) == 0;
	regfree(&r);
	return ok;
}

Test(token, create_format_unique_and_hashed)
{
	struct app *app = test_app_open();
	int64_t alice = test_user(app, "alice", "alice-password", false);
	struct store_token **list = NULL;
	char *tokens[20];
	int64_t id = 0;

	for (int i = 0; i < 20; i++) {
		cr_assert_eq(auth_token_create(app, alice, "ci", "api", NULL, &tokens[i], &id), 0,
			     "%s", error_msg());
		cr_assert(id > 0);
		cr_assert(matches("^glpat-[A-Za-z0-9_-]{20}$", tokens[i]), "token %s", tokens[i]);
		for (int j = 0; j < i; j++)
			cr_assert_str_neq(tokens[i], tokens[j]);
	}
	cr_assert_eq(store_token_list_for_user(app->store, alice, &list), 0);
	for (int i = 0; list[i]; i++) {
		cr_assert(matches("^[0-9a-f]{64}$", list[i]->token_hash));
		for (int j = 0; j < 20; j++)
			cr_assert_null(strstr(list[i]->token_hash, tokens[j] + 6),
				       "the store holds the token itself");
	}
	store_token_list_free(list);
	for (int i = 0; i < 20; i++)
		free(tokens[i]);
	test_app_close(app);
}

Test(token, hash_is_keyed)
{
	struct app *app = test_app_open();
	char *a = auth_token_hash(app, "glpat-aaaaaaaaaaaaaaaaaaaa");
	char *a2 = auth_token_hash(app, "glpat-aaaaaaaaaaaaaaaaaaaa");
	char *b = auth_token_hash(app, "glpat-aaaaaaaaaaaaaaaaaaab");
	char *other_key, *c;

	cr_assert_str_eq(a, a2);
	cr_assert_str_neq(a, b);
	cr_assert_eq(strlen(a), 64);
	other_key = app->secret_key;
	app->secret_key = xstrdup("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
	c = auth_token_hash(app, "glpat-aaaaaaaaaaaaaaaaaaaa");
	cr_assert_str_neq(a, c, "a different key must give a different hash");
	free(app->secret_key);
	app->secret_key = xstrdup("not hex");
	cr_assert_null(auth_token_hash(app, "glpat-aaaaaaaaaaaaaaaaaaaa"));
	free(app->secret_key);
	app->secret_key = xstrdup("0011"); /* too short for a key */
	cr_assert_null(auth_token_hash(app, "glpat-aaaaaaaaaaaaaaaaaaaa"));
	free(app->secret_key);
	app->secret_key = other_key;
	free(a);
	free(a2);
	free(b);
	free(c);
	test_app_close(app);
}

Test(token, create_validates_input)
{
	struct app *app = test_app_open();
	int64_t alice = test_user(app, "alice", "alice-password", false);
	char *t = NULL;

	cr_assert_eq(auth_token_create(app, alice, "", "api", NULL, &t, NULL), SO_EINVALID);
	cr_assert_eq(auth_token_create(app, alice, "x", "", NULL, &t, NULL), SO_EINVALID);
	cr_assert_eq(auth_token_create(app, alice, "x", "api sudo", NULL, &t, NULL), SO_EINVALID);
	cr_assert_str_eq(error_msg(), "scopes does not have a valid value");
	cr_assert_eq(auth_token_create(app, alice, "x", "api", "2020-01-01", &t, NULL), SO_EINVALID);
	cr_assert_eq(auth_token_create(app, alice, "x", "api", "tomorrow", &t, NULL), SO_EINVALID);
	cr_assert_eq(auth_token_create(app, alice, "x", "api", "2999-13-01", &t, NULL), SO_EINVALID);
	cr_assert_null(t);
	cr_assert_eq(auth_token_create(app, alice, "x", "read_api  read_repository", "2999-12-31",
				       &t, NULL), 0, "%s", error_msg());
	free(t);
	test_app_close(app);
}

static void day_offset(char out[11], int days)
{
	time_t t = time(NULL) + (time_t)days * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

/* Stores a token with any expiry (even past) the way token.c would. */
static int64_t raw_token(struct app *app, int64_t user, const char *token, const char *expires)
{
	char *hash = auth_token_hash(app, token);
	struct store_token_new in = { user, "raw", "read_api", hash, expires };
	int64_t id = 0;

	cr_assert_eq(store_token_create(app->store, &in, &id), 0, "%s", error_msg());
	free(hash);
	return id;
}

Test(token, authenticate)
{
	struct app *app = test_app_open();
	int64_t alice = test_user(app, "alice", "alice-password", false);
	int64_t bob = test_user(app, "bob", "bob-password", false);
	int64_t carol = test_user(app, "carol", "carol-password", false);
	struct store_user *u = NULL;
	struct store_token **list = NULL;
	char *tok = NULL, *scopes = NULL, *bobtok = NULL, *caroltok = NULL, day[11];
	int64_t id = 0;

	cr_assert_eq(auth_token_create(app, alice, "ci", "api read_user", NULL, &tok, &id), 0);
	cr_assert_eq(auth_token_authenticate(app, tok, &u, &scopes), 0, "%s", error_msg());
	cr_assert_eq(u->id, alice);
	cr_assert_str_eq(scopes, "api read_user");
	store_user_free(u);
	free(scopes);
	cr_assert_eq(store_token_list_for_user(app->store, alice, &list), 0);
	cr_assert_not_null(list[0]->last_used_at, "authentication records last use");
	store_token_list_free(list);

	/* unknown, malformed, empty, oversized */
	cr_assert_eq(auth_token_authenticate(app, "glpat-xxxxxxxxxxxxxxxxxxxx", &u, NULL), SO_EAUTH);
	cr_assert_null(u);
	cr_assert_eq(auth_token_authenticate(app, "", &u, NULL), SO_EAUTH);
	cr_assert_eq(auth_token_authenticate(app, NULL, &u, NULL), SO_EAUTH);
	{
		char big[400];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		cr_assert_eq(auth_token_authenticate(app, big, &u, NULL), SO_EAUTH);
	}

	/* expiry: valid through its day, refused the day after */
	day_offset(day, 0);
	raw_token(app, alice, "glpat-expires-today-000", day);
	cr_assert_eq(auth_token_authenticate(app, "glpat-expires-today-000", &u, NULL), 0);
	store_user_free(u);
	day_offset(day, -1);
	raw_token(app, alice, "glpat-expired-yesterday", day);
	cr_assert_eq(auth_token_authenticate(app, "glpat-expired-yesterday", &u, NULL), SO_EAUTH);
	cr_assert_null(u);

	/* revoked */
	cr_assert_eq(store_token_revoke(app->store, id), 0);
	cr_assert_eq(auth_token_authenticate(app, tok, &u, NULL), SO_EAUTH);

	/* blocked and deactivated users */
	cr_assert_eq(auth_token_create(app, bob, "ci", "api", NULL, &bobtok, NULL), 0);
	cr_assert_eq(auth_token_create(app, carol, "ci", "api", NULL, &caroltok, NULL), 0);
	cr_assert_eq(store_user_set_state(app->store, bob, STORE_USER_BLOCKED), 0);
	cr_assert_eq(store_user_set_state(app->store, carol, STORE_USER_DEACTIVATED), 0);
	cr_assert_eq(auth_token_authenticate(app, bobtok, &u, NULL), SO_EAUTH);
	cr_assert_eq(auth_token_authenticate(app, caroltok, &u, NULL), SO_EAUTH);
	cr_assert_null(u);
	cr_assert_eq(store_user_set_state(app->store, bob, STORE_USER_ACTIVE), 0);
	cr_assert_eq(auth_token_authenticate(app, bobtok, &u, NULL), 0);
	store_user_free(u);

	free(tok);
	free(bobtok);
	free(caroltok);
	test_app_close(app);
}

Test(token, scopes)
{
	cr_assert(auth_scopes_include("api read_user", "api"));
	cr_assert(auth_scopes_include("api read_user", "read_user"));
	cr_assert(auth_scopes_include("  read_user  api ", "api"));
	cr_assert_not(auth_scopes_include("read_api", "api"));
	cr_assert_not(auth_scopes_include("read_api", "read"));
	cr_assert_not(auth_scopes_include("api", "ap"));
	cr_assert_not(auth_scopes_include("api", ""));
	cr_assert_not(auth_scopes_include(NULL, "api"));
	cr_assert_not(auth_scopes_include("api", NULL));

	cr_assert(auth_scopes_permit("api", "read_api"));
	cr_assert(auth_scopes_permit("api", "write_repository"));
	cr_assert(auth_scopes_permit("write_repository", "read_repository"));
	cr_assert_not(auth_scopes_permit("read_repository", "write_repository"));
	cr_assert_not(auth_scopes_permit("read_api", "api"));
	cr_assert_not(auth_scopes_permit("read_user", "read_api"));

	cr_assert_eq(auth_scopes_validate("api read_api read_user read_repository write_repository"),
		     0);
	cr_assert_eq(auth_scopes_validate("api sudo"), SO_EINVALID);
	cr_assert_eq(auth_scopes_validate("  "), SO_EINVALID);
	cr_assert_eq(auth_scopes_validate(NULL), SO_EINVALID);
}
