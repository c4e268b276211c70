/* Unit tests for auth/session.c and auth/csrf.c: session cookies, lookup,
 * expiry, sign-out, and both kinds of CSRF token. */
#include <criterion/criterion.h>
#include <regex.h>
#include <sodium.h>
#include <string.h>

#include "auth/auth.h"
#include "auth/internal.h"
#include "fake_http.h"
#include "helpers.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"

static char *cookie_value(const char *set_cookie)
{
	const char *eq = strchr(set_cookie, '='), *semi = strchr(set_cookie, ';');

	return xstrndup(eq + 1, (size_t)(semi - eq - 1));
}

Test(session, start_sets_a_safe_cookie_and_authenticates)
{
	struct app *app = test_app_open();
	int64_t alice = test_user(app, "alice", "alice-password", false);
	struct http_request r1, r2;
	struct auth_identity id;
	struct store_session *s = NULL;
	const char *sc;
	char *value, *hash;

	fake_init(&r1);
	cr_assert_eq(auth_session_start(app, &r1, alice), 0, "%s", error_msg());
	sc = fake_out(&r1, "Set-Cookie", 0);
	cr_assert_not_null(sc);
	cr_assert(strncmp(sc, "_slashops_session=", 18) == 0, "%s", sc);
	cr_assert(strstr(sc, "; HttpOnly"));
	cr_assert(strstr(sc, "; SameSite=Lax"));
	cr_assert(strstr(sc, "; Path=/"));
	cr_assert(strstr(sc, "; Max-Age=604800"), "default TTL is 7 days: %s", sc);
	cr_assert_null(strstr(sc, "Secure"), "no Secure flag on plain http");
	value = cookie_value(sc);
	cr_assert_eq(strlen(value), 43, "32 random bytes in base64url");

	/* the store holds a hash, not the id */
	hash = auth_mac_hex(app, "session", value, strlen(value));
	cr_assert_eq(store_session_get(app->store, value, &s), SO_ENOTFOUND);
	cr_assert_eq(store_session_get(app->store, hash, &s), 0);
	cr_assert_eq(s->user_id, alice);
	cr_assert_eq(strlen(s->csrf_token), 43);
	cr_assert(s->expires_at > clock_unix() + 604000);

	fake_init(&r2);
	fake_follow_cookies(&r1, &r2);
	cr_assert_eq(auth_request_session(app, &r2, &id), 0, "%s", error_msg());
	cr_assert_not_null(id.user);
	cr_assert_eq(id.user->id, alice);
	cr_assert_eq(id.via, AUTH_SESSION);
	cr_assert_str_eq(id.csrf_token, s->csrf_token);
	cr_assert(auth_csrf_valid(&id, s->csrf_token));
	cr_assert_not(auth_csrf_valid(&id, "x"));
	cr_assert_not(auth_csrf_valid(&id, ""));
	cr_assert_not(auth_csrf_valid(&id, NULL));
	cr_assert_not(auth_csrf_valid(NULL, s->csrf_token));
	{
		char *wrong = xstrdup(s->csrf_token);

		wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
		cr_assert_not(auth_csrf_valid(&id, wrong));
		free(wrong);
	}
	auth_identity_dispose(&id);
	auth_identity_dispose(NULL);

	store_session_free(s);
	free(hash);
	free(value);
	fake_dispose(&r1);
	fake_dispose(&r2);
	test_app_close(app);
}

Test(session, secure_flag_for_https_and_custom_ttl)
{
	struct app *app = test_app_open();
	int64_t alice = test_user(app, "alice", "alice-password", false);
	struct http_request r;
	const char *sc;

	app->cfg.external_url = xstrdup("https://chatops.example.com");
	app->cfg.session_ttl_s = 3600;
	fake_init(&r);
	cr_assert_eq(auth_session_start(app, &r, alice), 0);
	sc = fake_out(&r, "Set-Cookie", 0);
	cr_assert(strstr(sc, "; Secure"), "%s", sc);
	cr_assert(strstr(sc, "; Max-Age=3600"), "%s", sc);
	fake_dispose(&r);
	test_app_close(app);
}

Test(session, no_cookie_is_anonymous_and_bad_cookie_is_refused)
{
	struct app *app = test_app_open();
	struct http_request r;
	struct auth_identity id;

	fake_init(&r);
	cr_assert_eq(auth_request_session(app, &r, &id), 0);
	cr_assert_null(id.user);
	cr_assert_eq(id.via, AUTH_NONE);
	fake_cookie(&r, "_slashops_session", "made-up-session-id");
	cr_assert_eq(auth_request_session(app, &r, &id), SO_EAUTH);
	cr_assert_null(id.user);
	auth_identity_dispose(&id);
	fake_dispose(&r);
	test_app_close(app);
}

Test(session, expired_session_is_refused)
{
	struct app *app = test_app_open();
	int64_t alice = test_user(app, "alice", "alice-password", false);
	struct http_request r;
	struct auth_identity id;
	char *hash = auth_mac_hex(app, "session", "old-session-id", 14);

	cr_assert_eq(store_session_create(app->store, hash, alice, "csrf", clock_unix() - 1), 0);
	fake_init(&r);
	fake_cookie(&r, "_slashops_session", "old-session-id");
	cr_assert_eq(auth_request_session(app, &r, &id), SO_EAUTH);
	cr_assert_null(id.user);
	free(hash);
	fake_dispose(&r);
	test_app_close(app);
}

Test(session, end_deletes_and_expires_the_cookie)
{
	struct app *app = test_app_open();
	int64_t alice = test_user(app, "alice", "alice-password", false);
	struct http_request r1, r2, r3;
	struct auth_identity id;
	const char *sc;

	fake_init(&r1);
	cr_assert_eq(auth_session_start(app, &r1, alice), 0);
	fake_init(&r2);
	fake_follow_cookies(&r1, &r2);
	cr_assert_eq(auth_session_end(app, &r2), 0, "%s", error_msg());
	sc = fake_out(&r2, "Set-Cookie", 0);
	cr_assert(strncmp(sc, "_slashops_session=;", 19) == 0, "%s", sc);
	cr_assert(strstr(sc, "Max-Age=0"));
	/* a copy of the old cookie is now worthless */
	cr_assert_eq(auth_request_session(app, &r2, &id), SO_EAUTH);
	/* ending twice is harmless */
	fake_init(&r3);
	fake_follow_cookies(&r1, &r3);
	cr_assert_eq(auth_session_end(app, &r3), 0);
	fake_dispose(&r1);
	fake_dispose(&r2);
	fake_dispose(&r3);
	test_app_close(app);
}

Test(session, blocked_user_loses_sessions)
{
	struct app *app = test_app_open();
	int64_t bob = test_user(app, "bob", "bob-password", false);
	struct http_request r1, r2;
	struct auth_identity id;

	fake_init(&r1);
	cr_assert_eq(auth_session_start(app, &r1, bob), 0);
	fake_init(&r2);
	fake_follow_cookies(&r1, &r2);
	cr_assert_eq(store_user_set_state(app->store, bob, STORE_USER_BLOCKED), 0);
	cr_assert_eq(auth_request_session(app, &r2, &id), SO_EAUTH);
	cr_assert_null(id.user);
	cr_assert_eq(store_user_set_state(app->store, bob, STORE_USER_DEACTIVATED), 0);
	cr_assert_eq(auth_request_session(app, &r2, &id), SO_EAUTH);
	fake_dispose(&r1);
	fake_dispose(&r2);
	test_app_close(app);
}

Test(session, new_session_replaces_the_old_one)
{
	struct app *app = test_app_open();
	int64_t alice = test_user(app, "alice", "alice-password", false);
	struct http_request r1, r2, r3;
	struct auth_identity id;

	fake_init(&r1);
	cr_assert_eq(auth_session_start(app, &r1, alice), 0);
	fake_init(&r2);
	fake_follow_cookies(&r1, &r2);
	cr_assert_eq(auth_session_start(app, &r2, alice), 0);
	fake_init(&r3);
	fake_follow_cookies(&r1, &r3); /* the first session's cookie */
	cr_assert_eq(auth_request_session(app, &r3, &id), SO_EAUTH);
	fake_dispose(&r1);
	fake_dispose(&r2);
	fake_dispose(&r3);
	test_app_close(app);
}

Test(csrf, anonymous_double_submit)
{
	struct app *app = test_app_open();
	struct http_request r1, r2;
	char *token, *other_key, *forged, *body, *mac;
	const char *sc;

	fake_init(&r1);
	token = auth_csrf_anon_issue(app, &r1);
	cr_assert_not_null(token);
	sc = fake_out(&r1, "Set-Cookie", 0);
	cr_assert(strncmp(sc, "_slashops_csrf=", 15) == 0, "%s", sc);
	cr_assert(strstr(sc, "; HttpOnly") && strstr(sc, "; SameSite=Lax"), "%s", sc);

	fake_init(&r2);
	cr_assert_not(auth_csrf_anon_valid(app, &r2, token), "no cookie: refused");
	fake_follow_cookies(&r1, &r2);
	cr_assert(auth_csrf_anon_valid(app, &r2, token));
	cr_assert_not(auth_csrf_anon_valid(app, &r2, NULL));
	cr_assert_not(auth_csrf_anon_valid(app, &r2, ""));
	cr_assert_not(auth_csrf_anon_valid(app, &r2, "1.2.3"));

	/* cookie and field agree but the MAC is not ours (a planted cookie) */
	forged = xasprintf("%lld.nonce.%064d", (long long)clock_unix(), 0);
	fake_cookie(&r2, "_slashops_csrf", forged);
	cr_assert_not(auth_csrf_anon_valid(app, &r2, forged));
	free(forged);

	/* a correct MAC, but too old */
	body = xasprintf("%lld.nonce", (long long)clock_unix() - AUTH_CSRF_ANON_TTL_S - 10);
	mac = auth_mac_hex(app, "csrf-anon", body, strlen(body));
	forged = xasprintf("%s.%s", body, mac);
	fake_cookie(&r2, "_slashops_csrf", forged);
	cr_assert_not(auth_csrf_anon_valid(app, &r2, forged));
	free(forged);
	free(body);
	free(mac);

	/* valid pair, but the server key changed */
	fake_cookie(&r2, "_slashops_csrf", token);
	cr_assert(auth_csrf_anon_valid(app, &r2, token));
	other_key = app->secret_key;
	app->secret_key = xstrdup("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
	cr_assert_not(auth_csrf_anon_valid(app, &r2, token));
	free(app->secret_key);
	app->secret_key = other_key;

	/* clear() expires the cookie */
	fake_dispose(&r1);
	fake_init(&r1);
	auth_csrf_anon_clear(app, &r1);
	cr_assert(strstr(fake_out(&r1, "Set-Cookie", 0), "Max-Age=0"));

	free(token);
	fake_dispose(&r1);
	fake_dispose(&r2);
	test_app_close(app);
}
