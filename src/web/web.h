/*
 * web.h: the HTML side of slashops: sign-in and sign-out, the dashboard,
 * the stylesheet, and the helpers every later page (profile, project
 * settings, chat account linking) builds on.
 *
 * Design: pages are plain server-rendered HTML5 forms; no JavaScript. A
 * web handler starts with web_require_session() (or auth_request_session()
 * when signing in is optional), checks the authenticity_token of every
 * POST with auth_csrf_valid(), and answers with web_render_page(). Every
 * page carries a strict Content-Security-Policy of its own (no scripts at
 * all, styles only from /assets/), Referrer-Policy and no-store, on top of
 * the http layer's nosniff, X-Frame-Options DENY and general CSP.
 *
 * Ownership: identities are the caller's (auth_identity_dispose).
 */
#ifndef SO_WEB_WEB_H
#define SO_WEB_WEB_H

#include <stdbool.h>
#include <stddef.h>

#include "http/server.h"

struct app;
struct auth_identity;

/* The routes of this part, for the server's table. */
extern const struct http_route web_routes[];
extern const size_t web_routes_count;

/* The project pages (/<namespace>/<project>[/-/<page>], project.c): a GET
 * catch-all the server registers last, after the git route. */
extern const struct http_route web_project_routes[];
extern const size_t web_project_routes_count;

/* Signed-in pages start here. Returns 0 with id filled when the request
 * has a valid session; otherwise answers with a 302 to
 * /users/sign_in?redirect_to=<this path and query> and returns 1 ("already
 * answered": the handler returns 0 without answering again); negative on
 * a store failure (nothing answered). Dispose id in every case. */
int web_require_session(struct app *app, struct http_request *req, struct auth_identity *id);

/* Answers with a full page (html_page) and the security headers. body_html
 * is trusted markup; id (may be NULL) decides the header's user menu. */
int web_render_page(struct http_request *req, unsigned status, const char *title,
		    const char *body_html, const struct auth_identity *id);

/* web_render_page with its own Content-Security-Policy (csp: a complete
 * policy, e.g. the job page's, which allows script-src 'self'). */
int web_render_page_csp(struct http_request *req, unsigned status, const char *title,
			const char *body_html, const struct auth_identity *id, const char *csp);
/* Answers 422 "The change you requested was rejected." (a bad or missing
 * authenticity_token), as GitLab does. */
int web_render_rejected(struct http_request *req, const struct auth_identity *id);

/* True when target is a local path safe to redirect to after sign-in:
 * starts with one '/' (not "//"), has no backslash, no control
 * characters, and is at most 2048 bytes. Anything else could send the
 * user to another site. */
bool web_redirect_is_safe(const char *target);

#endif
