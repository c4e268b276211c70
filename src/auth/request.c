/*
 * request.c: who sent this request. One function per kind of credential:
 * API tokens, git's HTTP basic auth, web session cookies (session.c).
 *
 * Design:
 *  - API: the PRIVATE-TOKEN header, else "Authorization: Bearer <token>",
 *    else the private_token query parameter. GitLab still accepts the
 *    query parameter but deprecates it (it ends up in proxy logs and
 *    browser history); we accept it for compatibility and our own request
 *    log never records query strings.
 *  - Basic auth (git): the header is capped at AUTH_BASIC_INPUT_MAX, decoded
 *    with sodium_base642bin and split at the first ':' (passwords may
 *    contain ':'). A password that looks like a personal access token
 *    ("glpat-") is tried only as a token, with any username, as GitLab
 *    does. Anything else is checked as the user's password (with the
 *    timing-safe auth_password_login), and if that fails, as a token, so
 *    tokens of any format keep working.
 *  - Credentials that are present but wrong are SO_EAUTH; absent ones
 *    leave the identity anonymous. Error messages never echo them.
 */
#include "auth/auth.h"
#include "auth/internal.h"
#include "core/app.h"
#include "http/server.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/error.h"

#include <sodium.h>
#include <string.h>
#include <strings.h>

void auth_identity_dispose(struct auth_identity *id)
{
	if (!id)
		return;
	store_user_free(id->user);
	free(id->scopes);
	if (id->csrf_token) {
		sodium_memzero(id->csrf_token, strlen(id->csrf_token));
		free(id->csrf_token);
	}
	memset(id, 0, sizeof(*id));
}

/* "Scheme value": returns value (spaces skipped) when the scheme matches
 * case-insensitively, else NULL. */
static const char *auth_scheme(const char *header, const char *scheme)
{
	size_t n = strlen(scheme);

	if (!header || strncasecmp(header, scheme, n) != 0 || header[n] != ' ')
		return NULL;
	header += n;
	while (*header == ' ')
		header++;
	return header;
}

static int token_identity(struct app *app, const char *token, struct auth_identity *id)
{
	struct store_user *u = NULL;
	char *scopes = NULL;
	int err;

	if ((err = auth_token_authenticate(app, token, &u, &scopes)) < 0)
		return err;
	id->user = u;
	id->scopes = scopes;
	id->via = AUTH_TOKEN;
	return 0;
}

int auth_request_api(struct app *app, struct http_request *req, struct auth_identity *id)
{
	const char *token;

	memset(id, 0, sizeof(*id));
	token = http_request_header(req, "PRIVATE-TOKEN");
	if (!token)
		token = auth_scheme(http_request_header(req, "Authorization"), "Bearer");
	if (!token)
		token = http_request_query(req, "private_token"); /* deprecated by GitLab */
	if (!token)
		return 0;
	return token_identity(app, token, id);
}

int auth_request_basic(struct app *app, struct http_request *req, struct auth_identity *id)
{
	const char *b64 = auth_scheme(http_request_header(req, "Authorization"), "Basic");
	unsigned char raw[AUTH_BASIC_INPUT_MAX];
	struct store_user *u = NULL;
	char *user, *pass, *colon;
	size_t b64len, n = 0;
	int err;

	memset(id, 0, sizeof(*id));
	if (!b64)
		return 0;
	b64len = strlen(b64);
	while (b64len > 0 && b64[b64len - 1] == ' ')
		b64len--;
	if (b64len == 0 || b64len > AUTH_BASIC_INPUT_MAX ||
	    sodium_base642bin(raw, sizeof(raw) - 1, b64, b64len, NULL, &n, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    memchr(raw, '\0', n)) {
		err = error_set(SO_EAUTH, "HTTP Basic: Access denied");
		goto done;
	}
	raw[n] = '\0';
	user = (char *)raw;
	if (!(colon = strchr(user, ':'))) {
		err = error_set(SO_EAUTH, "HTTP Basic: Access denied");
		goto done;
	}
	*colon = '\0';
	pass = colon + 1;
	if (strncmp(pass, "glpat-", 6) != 0) {
		err = auth_password_login(app, user, pass, &u);
		if (err == 0) {
			id->user = u;
			id->via = AUTH_BASIC;
			goto done;
		}
		if (err != SO_EAUTH)
			goto done;
	}
	err = token_identity(app, pass, id);
	if (err == SO_EAUTH)
		err = error_set(SO_EAUTH, "HTTP Basic: Access denied");
done:
	sodium_memzero(raw, sizeof(raw));
	return err;
}
