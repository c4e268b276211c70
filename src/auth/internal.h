/*
 * internal.h: helpers shared by the files of src/auth/ and by nothing
 * else: the app secret key as bytes, random base64url strings, keyed MACs
 * and cookie formatting.
 *
 * Design: every secret-derived value in auth (token hashes, session id
 * hashes, anonymous CSRF MACs) is keyed BLAKE2b with the app's secret key,
 * each with its own domain-separating prefix, so a value computed for one
 * purpose can never be replayed for another.
 */
#ifndef SO_AUTH_INTERNAL_H
#define SO_AUTH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct app;
struct http_request;

#define AUTH_KEY_MAX 64

/* Decodes app->secret_key (hex) into key; *len receives 16..64. A longer
 * key is first hashed to 64 bytes. SO_EFAIL when the key is missing or not
 * hex, or shorter than 16 bytes. */
int auth_secret_key(const struct app *app, unsigned char key[AUTH_KEY_MAX], size_t *len);

/* Hex of keyed BLAKE2b-256 over (domain, data). Caller frees; NULL with
 * an error set when the key is unusable. */
char *auth_mac_hex(const struct app *app, const char *domain, const void *data, size_t len);

/* base64url (no padding) of nbytes random bytes. Caller frees. */
char *auth_random_b64(size_t nbytes);

/* Adds "Set-Cookie: name=value; Path=/; HttpOnly; SameSite=Lax[; Secure]"
 * with Max-Age=max_age (0 expires the cookie). Secure is added when the
 * app's external_url starts with https:. app may be NULL (no Secure). */
int auth_set_cookie(const struct app *app, struct http_request *req, const char *name,
		    const char *value, int64_t max_age);

/* Bounds for credentials read from requests. */
#define AUTH_TOKEN_INPUT_MAX 256
#define AUTH_BASIC_INPUT_MAX 2048

#endif
