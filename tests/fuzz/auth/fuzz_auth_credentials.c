/*
 * fuzz_auth_credentials.c: libFuzzer target for the credential strings
 * auth parses without a database: the anonymous CSRF token
 * ("<time>.<nonce>.<mac>", checked against a cookie) and scope lists.
 *
 * Input: "<cookie>\n<submitted>\n<scopes>" (missing parts are empty). The
 * target also checks two properties: a token we issued validates when
 * cookie and field carry it, and a token validates only when it equals
 * the cookie.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../unit/auth/fake_http.h"
#include "auth/auth.h"
#include "core/app.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *piece(const char **p, const char *end)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	const char *stop = nl ? nl : end;
	char *s = xstrndup(*p, (size_t)(stop - *p));

	*p = nl ? nl + 1 : end;
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct app app;
	const char *p = (const char *)data, *end = p + size;
	struct http_request req;
	char *cookie, *submitted, *scopes, *issued;
	bool ok;

	if (!app.secret_key) {
		auth_init();
		app.secret_key = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
	}
	if (memchr(data, '\0', size))
		return 0;
	cookie = piece(&p, end);
	submitted = piece(&p, end);
	scopes = piece(&p, end);

	fake_init(&req);
	if (*cookie)
		fake_cookie(&req, AUTH_CSRF_COOKIE, cookie);
	ok = auth_csrf_anon_valid(&app, &req, submitted);
	if (ok && strcmp(cookie, submitted) != 0)
		abort();
	fake_dispose(&req);

	fake_init(&req);
	issued = auth_csrf_anon_issue(&app, &req);
	if (!issued)
		abort();
	fake_cookie(&req, AUTH_CSRF_COOKIE, issued);
	if (!auth_csrf_anon_valid(&app, &req, issued))
		abort();
	free(issued);
	fake_dispose(&req);

	(void)auth_scopes_validate(scopes);
	(void)auth_scopes_include(scopes, submitted);
	(void)auth_scopes_permit(scopes, "read_repository");

	free(cookie);
	free(submitted);
	free(scopes);
	return 0;
}
