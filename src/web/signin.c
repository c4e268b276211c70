/*
 * signin.c: GET and POST /users/sign_in, POST /users/sign_out.
 *
 * Design:
 *  - The sign-in form has GitLab's field names (user[login],
 *    user[password], authenticity_token). Before sign-in there is no
 *    session, so its CSRF token is the signed double-submit token of
 *    auth_csrf_anon_issue() (cookie + hidden field). A POST without a
 *    matching token is refused with 422 before any password is checked.
 *  - Credentials are checked by auth_password_login(), which takes the
 *    same time whether the login exists or not; a failure re-renders the
 *    form (status 200, GitLab's "Invalid login or password.") keeping the
 *    login but never the password.
 *  - Success starts a session (a fresh id, replacing any older one),
 *    drops the anonymous CSRF cookie, and redirects (302) to redirect_to
 *    when web_redirect_is_safe() accepts it, else to "/". Cross-site
 *    targets such as "//evil.example" are refused, so sign-in cannot be
 *    used as an open redirect.
 *  - Sign-out is a POST carrying the session's authenticity_token, so
 *    another site cannot sign a user out.
 */
#include "web/html.h"
#include "web/pages.h"
#include "web/web.h"
#include "auth/auth.h"
#include "core/app.h"
#include "http/form.h"
#include "http/server.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/error.h"

#include <string.h>
#include <strings.h>

#define SIGNIN_BODY_MAX (64u << 10)

/* Renders the form; alert (may be NULL) is shown above it. */
static int render_form(struct app *app, struct http_request *req, const char *alert,
		       const char *login, const char *redirect_to)
{
	struct buf body = BUF_INIT(SIGNIN_BODY_MAX);
	char *token = NULL;
	int err;

	if (!(token = auth_csrf_anon_issue(app, req))) {
		err = SO_EFAIL;
		goto done;
	}
	err = buf_puts(&body, "<section class=\"card signin\">\n<h1>Sign in</h1>\n");
	if (err == 0 && alert)
		err = html_printf(&body, "<div class=\"flash flash-alert\" role=\"alert\">%s</div>\n",
				  alert);
	if (err == 0)
		err = html_printf(&body,
			"<form class=\"form\" method=\"post\" action=\"/users/sign_in\">\n"
			"<input type=\"hidden\" name=\"authenticity_token\" value=\"%s\">\n", token);
	if (err == 0 && redirect_to && web_redirect_is_safe(redirect_to))
		err = html_printf(&body,
			"<input type=\"hidden\" name=\"redirect_to\" value=\"%s\">\n", redirect_to);
	if (err == 0)
		err = html_printf(&body,
			"<label for=\"user_login\">Username or primary email</label>\n"
			"<input type=\"text\" id=\"user_login\" name=\"user[login]\" value=\"%s\" "
			"autocomplete=\"username\" autocapitalize=\"off\" required autofocus>\n"
			"<label for=\"user_password\">Password</label>\n"
			"<input type=\"password\" id=\"user_password\" name=\"user[password]\" "
			"autocomplete=\"current-password\" required>\n"
			"<button type=\"submit\" class=\"btn\">Sign in</button>\n"
			"</form>\n</section>\n", login ? login : "");
	if (err == 0)
		err = web_render_page(req, 200, "Sign in", buf_cstr(&body), NULL);
done:
	free(token);
	buf_dispose(&body);
	return err;
}

int web_signin_form(struct http_request *req, void *ctx)
{
	struct app *app = ctx;
	struct auth_identity id;
	const char *target = http_request_query(req, "redirect_to");
	int err;

	err = auth_request_session(app, req, &id);
	if (err == 0 && id.user) {
		err = http_redirect(req, 302, web_redirect_is_safe(target) ? target : "/");
		goto done;
	}
	if (err < 0 && err != SO_EAUTH)
		goto done;
	err = render_form(app, req, NULL, NULL, target);
done:
	auth_identity_dispose(&id);
	return err;
}

int web_signin(struct http_request *req, void *ctx)
{
	struct app *app = ctx;
	struct auth_identity id;
	struct store_user *u = NULL;
	struct form f;
	const char *token, *login, *password, *target;
	int err;

	memset(&f, 0, sizeof(f));
	err = auth_request_session(app, req, &id);
	if (err < 0 && err != SO_EAUTH)
		goto done;
	if ((err = form_parse_request(req, &f)) < 0) {
		err = web_render_page(req, 400, "Bad request",
				      "<section class=\"card\"><h1>Bad request</h1>"
				      "<p>The form could not be read.</p></section>\n", NULL);
		goto done;
	}
	token = form_get(&f, "authenticity_token");
	if (!auth_csrf_anon_valid(app, req, token) && !auth_csrf_valid(&id, token)) {
		err = web_render_rejected(req, NULL);
		goto done;
	}
	login = form_get(&f, "user[login]");
	password = form_get(&f, "user[password]");
	target = form_get(&f, "redirect_to");
	if (!target)
		target = http_request_query(req, "redirect_to");
	err = auth_password_login(app, login, password, &u);
	if (err == SO_EAUTH) {
		char *alert = xstrdup(error_msg());

		err = render_form(app, req, alert, login, target);
		free(alert);
		goto done;
	}
	if (err < 0 || (err = auth_session_start(app, req, u->id)) < 0)
		goto done;
	auth_csrf_anon_clear(app, req);
	(void)store_user_touch_activity(app->store, u->id);
	err = http_redirect(req, 302, web_redirect_is_safe(target) ? target : "/");
done:
	store_user_free(u);
	form_dispose(&f);
	auth_identity_dispose(&id);
	return err;
}

int web_signout(struct http_request *req, void *ctx)
{
	struct app *app = ctx;
	struct auth_identity id;
	struct form f;
	int err;

	memset(&f, 0, sizeof(f));
	err = auth_request_session(app, req, &id);
	if (err < 0 && err != SO_EAUTH)
		goto done;
	if (!id.user) { /* nothing to end; forget any stale cookie */
		(void)auth_session_end(app, req);
		err = http_redirect(req, 302, "/users/sign_in");
		goto done;
	}
	if ((err = form_parse_request(req, &f)) < 0 ||
	    !auth_csrf_valid(&id, form_get(&f, "authenticity_token"))) {
		err = web_render_rejected(req, &id);
		goto done;
	}
	if ((err = auth_session_end(app, req)) < 0)
		goto done;
	err = http_redirect(req, 302, "/users/sign_in");
done:
	form_dispose(&f);
	auth_identity_dispose(&id);
	return err;
}
