/*
 * token.c: random tokens, personal access tokens and their hashes, scopes,
 * and the keyed-hash helpers the rest of src/auth/ shares.
 *
 * Design:
 *  - Random strings map each random byte to one of 64 URL-safe characters
 *    with `byte & 63`; 256 is a multiple of 64, so every character is
 *    equally likely (no modulo bias).
 *  - A personal access token is "glpat-" + 20 such characters (120 bits).
 *    The store keeps only hex(BLAKE2b-256(key = app secret, "pat:" ||
 *    token)): without the secret key a stolen database yields nothing to
 *    try, and with a fast keyed hash a lookup by hash stays cheap.
 *  - A token is refused when revoked, when its expiry date has passed (it
 *    still works on its expires_at day and stops the day after, in UTC), or
 *    when its user is blocked or deactivated. All of these answer the same
 *    SO_EAUTH so a caller cannot tell them apart.
 */
#include "auth/auth.h"
#include "auth/internal.h"
#include "core/app.h"
#include "core/config.h"
#include "http/server.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char url_alphabet[64] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

#define PAT_PREFIX "glpat-"
#define PAT_RANDOM_LEN 20

char *auth_random_token(size_t len)
{
	unsigned char *raw = xmalloc(len ? len : 1);
	char *out = xmalloc(len + 1);
	size_t i;

	randombytes_buf(raw, len);
	for (i = 0; i < len; i++)
		out[i] = url_alphabet[raw[i] & 63];
	out[len] = '\0';
	sodium_memzero(raw, len);
	free(raw);
	return out;
}

char *auth_random_b64(size_t nbytes)
{
	unsigned char *raw = xmalloc(nbytes ? nbytes : 1);
	size_t outlen = sodium_base64_ENCODED_LEN(nbytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *out = xmalloc(outlen);

	randombytes_buf(raw, nbytes);
	sodium_bin2base64(out, outlen, raw, nbytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, nbytes);
	free(raw);
	return out;
}

int auth_secret_key(const struct app *app, unsigned char key[AUTH_KEY_MAX], size_t *len)
{
	unsigned char raw[256];
	size_t n = 0;
	const char *end = NULL;

	*len = 0;
	if (!app || !app->secret_key)
		return error_set(SO_EFAIL, "the server secret key is missing");
	if (sodium_hex2bin(raw, sizeof(raw), app->secret_key, strlen(app->secret_key), NULL, &n,
			   &end) != 0 || *end != '\0' || n < crypto_generichash_KEYBYTES_MIN) {
		sodium_memzero(raw, sizeof(raw));
		return error_set(SO_EFAIL, "the server secret key is not 16 to 256 bytes of hex");
	}
	if (n > AUTH_KEY_MAX) {
		crypto_generichash(key, AUTH_KEY_MAX, raw, n, NULL, 0);
		n = AUTH_KEY_MAX;
	} else {
		memcpy(key, raw, n);
	}
	sodium_memzero(raw, sizeof(raw));
	*len = n;
	return 0;
}

char *auth_mac_hex(const struct app *app, const char *domain, const void *data, size_t len)
{
	unsigned char key[AUTH_KEY_MAX], mac[32];
	char hex[sizeof(mac) * 2 + 1];
	crypto_generichash_state st;
	size_t klen;

	if (auth_secret_key(app, key, &klen) < 0)
		return NULL;
	crypto_generichash_init(&st, key, klen, sizeof(mac));
	crypto_generichash_update(&st, (const unsigned char *)domain, strlen(domain) + 1);
	crypto_generichash_update(&st, data, len);
	crypto_generichash_final(&st, mac, sizeof(mac));
	sodium_memzero(key, sizeof(key));
	sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
	return xstrdup(hex);
}

char *auth_token_hash(const struct app *app, const char *token)
{
	if (!token)
		return NULL;
	return auth_mac_hex(app, "pat", token, strlen(token));
}

/* ---- scopes ---- */

static const char *const known_scopes[] = {
	"api", "read_api", "read_user", "read_repository", "write_repository",
};

static bool word_in(const char *list, const char *word, size_t wlen)
{
	const char *p = list;

	while (p && *p) {
		size_t n;

		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		if (n == wlen && n > 0 && memcmp(p, word, n) == 0)
			return true;
		p += n;
	}
	return false;
}

bool auth_scopes_include(const char *scopes, const char *scope)
{
	if (!scopes || !scope || !*scope)
		return false;
	return word_in(scopes, scope, strlen(scope));
}

bool auth_scopes_permit(const char *scopes, const char *scope)
{
	if (auth_scopes_include(scopes, scope) || auth_scopes_include(scopes, "api"))
		return true;
	if (scope && strcmp(scope, "read_repository") == 0)
		return auth_scopes_include(scopes, "write_repository");
	return false;
}

int auth_scopes_validate(const char *scopes)
{
	const char *p = scopes;
	size_t count = 0, i;

	while (p && *p) {
		size_t n;
		bool known = false;

		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		if (n == 0)
			break;
		for (i = 0; i < sizeof(known_scopes) / sizeof(known_scopes[0]); i++)
			if (strlen(known_scopes[i]) == n && memcmp(known_scopes[i], p, n) == 0)
				known = true;
		if (!known)
			return error_set(SO_EINVALID, "scopes does not have a valid value");
		count++;
		p += n;
	}
	if (count == 0)
		return error_set(SO_EINVALID, "scopes is missing");
	return 0;
}

/* ---- personal access tokens ---- */

/* today (UTC) as YYYY-MM-DD */
static void today(char out[11])
{
	time_t now = (time_t)clock_unix();
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

static bool valid_date(const char *s)
{
	time_t t;
	size_t i;

	if (strlen(s) != 10)
		return false;
	for (i = 0; i < 10; i++)
		if ((i == 4 || i == 7) ? s[i] != '-' : (s[i] < '0' || s[i] > '9'))
			return false;
	return clock_parse_iso(s, &t) == 0;
}

int auth_token_create(struct app *app, int64_t user_id, const char *name, const char *scopes,
		      const char *expires_at, char **token_out, int64_t *id_out)
{
	struct store_token_new in;
	char *random = NULL, *token = NULL, *hash = NULL;
	char day[11];
	int64_t id = 0;
	int err;

	*token_out = NULL;
	if (!name || !*name) {
		err = error_set(SO_EINVALID, "name is missing");
		goto done;
	}
	if (strlen(name) > 255) {
		err = error_set(SO_EINVALID, "name is too long (maximum is 255 characters)");
		goto done;
	}
	if ((err = auth_scopes_validate(scopes)) < 0)
		goto done;
	if (expires_at && *expires_at) {
		today(day);
		if (!valid_date(expires_at)) {
			err = error_set(SO_EINVALID, "expires_at is invalid");
			goto done;
		}
		if (strcmp(expires_at, day) < 0) {
			err = error_set(SO_EINVALID, "expires_at must be in the future");
			goto done;
		}
	} else {
		expires_at = NULL;
	}
	random = auth_random_token(PAT_RANDOM_LEN);
	token = xasprintf(PAT_PREFIX "%s", random);
	if (!(hash = auth_token_hash(app, token))) {
		err = SO_EFAIL;
		goto done;
	}
	in = (struct store_token_new){
		.user_id = user_id,
		.name = name,
		.scopes = scopes,
		.token_hash = hash,
		.expires_at = expires_at,
	};
	if ((err = store_token_create(app->store, &in, &id)) < 0)
		goto done;
	*token_out = token;
	token = NULL;
	if (id_out)
		*id_out = id;
	err = 0;
done:
	if (random) {
		sodium_memzero(random, strlen(random));
		free(random);
	}
	if (token) {
		sodium_memzero(token, strlen(token));
		free(token);
	}
	free(hash);
	return err;
}

int auth_token_authenticate(struct app *app, const char *token, struct store_user **out,
			    char **scopes_out)
{
	struct store_token *t = NULL;
	struct store_user *u = NULL;
	char *hash = NULL;
	char day[11];
	int err;

	*out = NULL;
	if (scopes_out)
		*scopes_out = NULL;
	if (!token || !*token || strlen(token) > AUTH_TOKEN_INPUT_MAX) {
		err = error_set(SO_EAUTH, "401 Unauthorized");
		goto done;
	}
	if (!(hash = auth_token_hash(app, token))) {
		err = SO_EFAIL;
		goto done;
	}
	err = store_token_get_by_hash(app->store, hash, &t);
	if (err == SO_ENOTFOUND) {
		err = error_set(SO_EAUTH, "401 Unauthorized");
		goto done;
	}
	if (err < 0)
		goto done;
	today(day);
	if (t->revoked || (t->expires_at && *t->expires_at && strncmp(t->expires_at, day, 10) < 0)) {
		err = error_set(SO_EAUTH, "401 Unauthorized");
		goto done;
	}
	err = store_user_get(app->store, t->user_id, &u);
	if (err == SO_ENOTFOUND || (err == 0 && u->state != STORE_USER_ACTIVE)) {
		err = error_set(SO_EAUTH, "401 Unauthorized");
		goto done;
	}
	if (err < 0)
		goto done;
	(void)store_token_touch(app->store, t->id); /* bookkeeping only */
	if (scopes_out)
		*scopes_out = xstrdup(t->scopes ? t->scopes : "");
	*out = u;
	u = NULL;
	err = 0;
done:
	store_token_free(t);
	store_user_free(u);
	free(hash);
	return err;
}

/* ---- cookies ---- */

int auth_set_cookie(const struct app *app, struct http_request *req, const char *name,
		    const char *value, int64_t max_age)
{
	bool secure = app && app->cfg.external_url &&
		      strncmp(app->cfg.external_url, "https:", 6) == 0;
	char *h;
	int err;

	if (max_age <= 0)
		h = xasprintf("%s=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; "
			      "HttpOnly; SameSite=Lax%s", name, secure ? "; Secure" : "");
	else
		h = xasprintf("%s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Lax%s", name, value,
			      (long long)max_age, secure ? "; Secure" : "");
	err = http_add_header(req, "Set-Cookie", h);
	sodium_memzero(h, strlen(h));
	free(h);
	return err;
}
