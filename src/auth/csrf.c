/*
 * csrf.c: cross-site request forgery tokens ("authenticity_token", as
 * GitLab calls the form field).
 *
 * Design:
 *  - Signed-in forms carry the session's own random CSRF token (see
 *    session.c); auth_csrf_valid() compares it in constant time.
 *  - Forms shown to anonymous visitors (sign-in) cannot use a session, so
 *    they use a signed double-submit token: "<unix time>.<nonce>.<mac>"
 *    where nonce is 32 random bytes (base64url) and mac is keyed BLAKE2b
 *    (app secret, "csrf-anon" domain) over "<time>.<nonce>". The same value
 *    goes into a short-lived HttpOnly, SameSite=Lax cookie and into the
 *    form. A cross-site attacker can read neither; one who can plant a
 *    cookie (a sibling subdomain) still cannot mint a value with a valid
 *    MAC; and the embedded time bounds a token's life even if a browser
 *    keeps the cookie.
 */
#include "auth/auth.h"
#include "auth/internal.h"
#include "core/app.h"
#include "http/server.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ANON_NONCE_BYTES 32
#define ANON_TOKEN_MAX 200

static bool equal_secret(const char *a, const char *b)
{
	size_t n;

	if (!a || !b)
		return false;
	n = strlen(a);
	if (n == 0 || n != strlen(b))
		return false;
	return sodium_memcmp(a, b, n) == 0;
}

bool auth_csrf_valid(const struct auth_identity *id, const char *submitted)
{
	return id && id->user && equal_secret(id->csrf_token, submitted);
}

char *auth_csrf_anon_issue(struct app *app, struct http_request *req)
{
	char *nonce = auth_random_b64(ANON_NONCE_BYTES);
	char *body = xasprintf("%lld.%s", (long long)clock_unix(), nonce);
	char *mac = auth_mac_hex(app, "csrf-anon", body, strlen(body));
	char *token = NULL;

	if (!mac)
		goto done;
	token = xasprintf("%s.%s", body, mac);
	if (auth_set_cookie(app, req, AUTH_CSRF_COOKIE, token, AUTH_CSRF_ANON_TTL_S) < 0) {
		free(token);
		token = NULL;
	}
done:
	free(nonce);
	free(body);
	free(mac);
	return token;
}

bool auth_csrf_anon_valid(struct app *app, struct http_request *req, const char *submitted)
{
	const char *cookie = http_request_cookie(req, AUTH_CSRF_COOKIE);
	const char *dot;
	char *end = NULL, *mac = NULL;
	long long issued;
	int64_t now = clock_unix();
	bool ok = false;

	if (!submitted || strlen(submitted) > ANON_TOKEN_MAX || !equal_secret(cookie, submitted))
		return false;
	/* "<time>.<nonce>.<mac>": the MAC covers everything before the last dot */
	if (!(dot = strrchr(submitted, '.')) || dot == submitted)
		return false;
	issued = strtoll(submitted, &end, 10);
	if (end == submitted || *end != '.' || end >= dot)
		return false;
	if (issued <= 0 || issued > now + 60 || now - issued > AUTH_CSRF_ANON_TTL_S)
		return false;
	if (!(mac = auth_mac_hex(app, "csrf-anon", submitted, (size_t)(dot - submitted))))
		return false;
	ok = equal_secret(mac, dot + 1);
	free(mac);
	return ok;
}

void auth_csrf_anon_clear(struct app *app, struct http_request *req)
{
	(void)auth_set_cookie(app, req, AUTH_CSRF_COOKIE, NULL, 0);
}
