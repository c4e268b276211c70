/*
 * session.c: web sessions.
 *
 * Design: a session id is 32 random bytes, base64url in the cookie
 * AUTH_SESSION_COOKIE (HttpOnly; SameSite=Lax; Path=/; Secure when the
 * external URL is https). The store keeps only the keyed hash of the id
 * ("session" domain), the user, a per-session CSRF token (32 random bytes,
 * base64url) and the expiry (now + cfg.session_ttl_s). The cookie's Max-Age
 * matches, so the browser forgets the id when the server would refuse it.
 * Ending a session deletes the row and sends an expired cookie; the id is
 * then worthless even if someone kept a copy.
 */
#include "auth/auth.h"
#include "auth/internal.h"
#include "core/app.h"
#include "http/server.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"

#include <sodium.h>
#include <string.h>

#define SESSION_ID_BYTES 32
#define CSRF_BYTES 32
#define SESSION_TTL_DEFAULT (7 * 24 * 3600)

static char *session_id_hash(const struct app *app, const char *id)
{
	return auth_mac_hex(app, "session", id, strlen(id));
}

int auth_session_start(struct app *app, struct http_request *req, int64_t user_id)
{
	const char *old = http_request_cookie(req, AUTH_SESSION_COOKIE);
	int64_t ttl = app->cfg.session_ttl_s ? (int64_t)app->cfg.session_ttl_s : SESSION_TTL_DEFAULT;
	char *id = NULL, *hash = NULL, *csrf = NULL, *old_hash = NULL;
	int err;

	/* A previous session in this browser ends here (no fixation, no leftovers). */
	if (old && *old && strlen(old) <= AUTH_TOKEN_INPUT_MAX &&
	    (old_hash = session_id_hash(app, old)))
		(void)store_session_delete(app->store, old_hash);
	id = auth_random_b64(SESSION_ID_BYTES);
	csrf = auth_random_b64(CSRF_BYTES);
	if (!(hash = session_id_hash(app, id))) {
		err = SO_EFAIL;
		goto done;
	}
	if ((err = store_session_create(app->store, hash, user_id, csrf, clock_unix() + ttl)) < 0)
		goto done;
	err = auth_set_cookie(app, req, AUTH_SESSION_COOKIE, id, ttl);
done:
	if (id) {
		sodium_memzero(id, strlen(id));
		free(id);
	}
	free(csrf);
	free(hash);
	free(old_hash);
	return err;
}

int auth_session_end(struct app *app, struct http_request *req)
{
	const char *id = http_request_cookie(req, AUTH_SESSION_COOKIE);
	char *hash = NULL;
	int err = 0;

	if (id && *id && strlen(id) <= AUTH_TOKEN_INPUT_MAX) {
		if (!(hash = session_id_hash(app, id))) {
			err = SO_EFAIL;
			goto done;
		}
		err = store_session_delete(app->store, hash);
		if (err == SO_ENOTFOUND)
			err = 0;
		if (err < 0)
			goto done;
	}
	err = auth_set_cookie(app, req, AUTH_SESSION_COOKIE, NULL, 0);
done:
	free(hash);
	return err;
}

int auth_request_session(struct app *app, struct http_request *req, struct auth_identity *id)
{
	const char *cookie = http_request_cookie(req, AUTH_SESSION_COOKIE);
	struct store_session *s = NULL;
	struct store_user *u = NULL;
	char *hash = NULL;
	int err;

	memset(id, 0, sizeof(*id));
	if (!cookie || !*cookie)
		return 0;
	if (strlen(cookie) > AUTH_TOKEN_INPUT_MAX) {
		err = error_set(SO_EAUTH, "Your session expired. Please sign in again.");
		goto done;
	}
	if (!(hash = session_id_hash(app, cookie))) {
		err = SO_EFAIL;
		goto done;
	}
	err = store_session_get(app->store, hash, &s);
	if (err == 0 && s->expires_at <= clock_unix())
		err = SO_ENOTFOUND;
	if (err == SO_ENOTFOUND) {
		err = error_set(SO_EAUTH, "Your session expired. Please sign in again.");
		goto done;
	}
	if (err < 0)
		goto done;
	err = store_user_get(app->store, s->user_id, &u);
	if (err == SO_ENOTFOUND || (err == 0 && u->state != STORE_USER_ACTIVE)) {
		err = error_set(SO_EAUTH, "Your session expired. Please sign in again.");
		goto done;
	}
	if (err < 0)
		goto done;
	id->user = u;
	id->via = AUTH_SESSION;
	id->csrf_token = xstrdup(s->csrf_token);
	u = NULL;
	err = 0;
done:
	store_session_free(s);
	store_user_free(u);
	free(hash);
	return err;
}
