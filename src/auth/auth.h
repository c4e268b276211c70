/*
 * auth.h: who is asking. Passwords, personal access tokens, web sessions
 * with CSRF tokens, and the one function handlers call to learn the
 * current user of a request.
 *
 * Design:
 *  - Passwords: libsodium crypto_pwhash_str (Argon2id, interactive limits).
 *  - Tokens: "glpat-" + 20 random URL-safe characters, as GitLab formats
 *    personal access tokens; the store keeps only BLAKE2b(secret_key,
 *    token) in hex, so a copy of the database cannot be used to log in.
 *  - Sessions: a random id in the HttpOnly, SameSite=Lax cookie
 *    "_slashops_session"; the store keeps its hash, the user, an expiry
 *    and a per-session CSRF token that every state-changing form carries
 *    as "authenticity_token" (GitLab's field name).
 *  - Every comparison of a secret is constant-time (sodium_memcmp).
 *  - Blocked and deactivated users cannot authenticate (tokens, basic
 *    auth and sessions all refuse them).
 *
 * Ownership: *out users are owned by the caller (store_user_free).
 */
#ifndef SO_AUTH_AUTH_H
#define SO_AUTH_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct app;
struct http_request;
struct store_user;

int auth_init(void); /* sodium_init(); call once at start */

/* Cookie names (the session cookie as above; the anonymous CSRF cookie
 * backs forms shown before sign-in, see auth_csrf_anon_issue). */
#define AUTH_SESSION_COOKIE "_slashops_session"
#define AUTH_CSRF_COOKIE "_slashops_csrf"
#define AUTH_PASSWORD_MIN 8
#define AUTH_PASSWORD_MAX 128

/* ---- passwords ---- */
/* out receives a malloc'd hash string. SO_EINVALID when the password is
 * shorter than 8 characters ("Password is too short (minimum is 8 characters)"). */
int auth_password_hash(const char *password, char **out);
bool auth_password_verify(const char *hash, const char *password);
/* A random 20-character password, for accounts created without one. */
char *auth_password_generate(void);
/* Checks login (username or email) + password the way every password
 * sign-in must: the time taken does not reveal whether the user exists
 * (a missing user is verified against a dummy hash). SO_EAUTH with
 * "Invalid login or password." on a wrong login or password; SO_EAUTH
 * with "Your account has been blocked..." / "...deactivated..." when the
 * password is right but the user may not sign in. *out: caller frees. */
int auth_password_login(struct app *app, const char *login, const char *password,
			struct store_user **out);

/* ---- tokens ---- */
/* Random token of len URL-safe characters ([A-Za-z0-9_-]). Caller frees. */
char *auth_random_token(size_t len);
/* Hex of keyed BLAKE2b-256 of token, with the app's secret key. Caller frees. */
char *auth_token_hash(const struct app *app, const char *token);
/* Creates a personal access token for user_id; *token_out receives the
 * token (show once), caller frees. scopes: space-separated subset of
 * "api read_api read_user read_repository write_repository". */
int auth_token_create(struct app *app, int64_t user_id, const char *name, const char *scopes,
		      const char *expires_at, char **token_out, int64_t *id_out);
/* Finds the active user of a token. SO_EAUTH when unknown, revoked,
 * expired, or the user is blocked/deactivated. scopes_out (may be NULL)
 * receives the token's scopes (caller frees). */
int auth_token_authenticate(struct app *app, const char *token, struct store_user **out,
			    char **scopes_out);
/* Literal test: is scope one of the space-separated words of scopes? */
bool auth_scopes_include(const char *scopes, const char *scope);
/* GitLab's implications on top of auth_scopes_include: "api" grants every
 * other scope; "write_repository" grants "read_repository"; "read_api"
 * is also granted by "api" only. Use this for access decisions. */
bool auth_scopes_permit(const char *scopes, const char *scope);
/* 0 when scopes is a non-empty space-separated list of known scopes;
 * SO_EINVALID "scopes does not have a valid value" otherwise. */
int auth_scopes_validate(const char *scopes);

/* ---- requests ---- */
enum auth_via { AUTH_NONE, AUTH_TOKEN, AUTH_SESSION, AUTH_BASIC };

struct auth_identity {
	struct store_user *user; /* NULL when anonymous */
	enum auth_via via;
	char *scopes;            /* token scopes, or NULL for sessions/basic */
	char *csrf_token;        /* sessions only */
};

/* Authenticates an API request from the PRIVATE-TOKEN header or
 * "Authorization: Bearer" (or the deprecated private_token query
 * parameter, which GitLab still accepts). No credentials: 0 with id->user
 * NULL. Bad credentials: SO_EAUTH. id is zeroed first; release it with
 * auth_identity_dispose() whatever the result. */
int auth_request_api(struct app *app, struct http_request *req, struct auth_identity *id);
/* Authenticates a git request from HTTP basic auth (username + password,
 * or any username + personal access token). Same results as above. With
 * a token, id->via is AUTH_TOKEN and id->scopes is set (check them with
 * auth_scopes_permit); with a password, AUTH_BASIC and no scopes. */
int auth_request_basic(struct app *app, struct http_request *req, struct auth_identity *id);
/* Authenticates a web request from the session cookie. A missing cookie
 * gives 0 and an anonymous id; an unknown or expired session, or a user
 * who may no longer sign in, gives SO_EAUTH (the caller treats the visitor
 * as anonymous). On success id->csrf_token is the session's token. */
int auth_request_session(struct app *app, struct http_request *req, struct auth_identity *id);
void auth_identity_dispose(struct auth_identity *id); /* accepts NULL */

/* ---- sessions ---- */
/* Creates a session for user_id and adds its Set-Cookie header to req's
 * response. */
int auth_session_start(struct app *app, struct http_request *req, int64_t user_id);
/* Deletes the request's session and clears the cookie. */
int auth_session_end(struct app *app, struct http_request *req);
/* Constant-time check of a submitted authenticity_token. */
bool auth_csrf_valid(const struct auth_identity *id, const char *submitted);
/* CSRF for forms shown to anonymous visitors (the sign-in form): a signed
 * double-submit token. issue() makes "<time>.<nonce>.<mac>" (the MAC is
 * keyed BLAKE2b with the app secret), sets it as the short-lived
 * HttpOnly, SameSite=Lax cookie AUTH_CSRF_COOKIE, and returns it for the
 * form's authenticity_token (caller frees; NULL only if the secret key is
 * unusable). valid() accepts a submitted token that equals the cookie
 * (constant time), carries a valid MAC and is at most
 * AUTH_CSRF_ANON_TTL_S old. clear() expires the cookie. */
#define AUTH_CSRF_ANON_TTL_S 7200
char *auth_csrf_anon_issue(struct app *app, struct http_request *req);
bool auth_csrf_anon_valid(struct app *app, struct http_request *req, const char *submitted);
void auth_csrf_anon_clear(struct app *app, struct http_request *req);

/* ---- access levels (GitLab's) ---- */
enum auth_access {
	AUTH_ACCESS_NONE = 0,
	AUTH_ACCESS_GUEST = 10,
	AUTH_ACCESS_REPORTER = 20,
	AUTH_ACCESS_DEVELOPER = 30,
	AUTH_ACCESS_MAINTAINER = 40,
	AUTH_ACCESS_OWNER = 50,
};
/* The user's effective level in a project: admins are Owner; public and
 * internal projects give non-members Guest-level read (reported as
 * AUTH_ACCESS_NONE plus *can_read = true). */
int auth_project_access(struct app *app, const struct store_user *user, int64_t project_id,
			int *level_out, bool *can_read_out);

#endif
