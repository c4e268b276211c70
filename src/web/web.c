/*
 * web.c: the route table of the web part, page rendering with security
 * headers, the signed-in guard and the stylesheet.
 *
 * Design: the stylesheet is compiled in (one small file, cacheable) so the
 * server needs no asset directory. Pages are rendered into a capped buffer
 * (WEB_PAGE_MAX); a page that would exceed it is a bug and answers 500.
 */
#include "web/web.h"
#include "web/html.h"
#include "web/jobs.h"
#include "web/pages.h"
#include "web/chat_pages.h"
#include "auth/auth.h"
#include "core/app.h"
#include "util/buf.h"
#include "util/error.h"

#include <string.h>

#define WEB_PAGE_MAX (4u << 20)
#define WEB_CSP "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " \
	"frame-ancestors 'none'; base-uri 'none'"

static int assets_css(struct http_request *req, void *app);

const struct http_route web_routes[] = {
	{ "GET", "/", web_dashboard, 0 },
	{ "GET", "/users/sign_in", web_signin_form, 0 },
	{ "POST", "/users/sign_in", web_signin, 0 },
	{ "POST", "/users/sign_out", web_signout, 0 },
	{ "GET", "/assets/app.css", assets_css, 0 },
	{ "GET", "/assets/job.css", web_assets_job_css, 0 },   /* jobs.h (issue 5) */
	{ "GET", "/assets/job.js", web_assets_job_js, 0 },
	/* issue 3: chat account linking and integration settings (chat_pages.h) */
	{ "GET", "/-/profile/chat_names/new", web_chat_name_new, 0 },
	{ "POST", "/-/profile/chat_names/deny", web_chat_name_deny, 0 },
	{ "GET", "/-/profile/chat_names", web_chat_names, 0 },
	{ "POST", "/-/profile/chat_names", web_chat_name_create, 0 },
	{ "POST", "/-/profile/chat_names/:id/delete", web_chat_name_delete, 0 },
	{ "GET", "/-/projects/:id/settings/integrations/mattermost_slash_commands",
	  web_mm_settings, 0 },
	{ "POST", "/-/projects/:id/settings/integrations/mattermost_slash_commands",
	  web_mm_settings_save, 0 },
	{ "POST", "/-/projects/:id/settings/integrations/mattermost_slash_commands/team",
	  web_mm_settings_team, 0 },
	{ "POST", "/-/projects/:id/settings/integrations/mattermost_slash_commands/delete",
	  web_mm_settings_delete, 0 },
};
const size_t web_routes_count = sizeof(web_routes) / sizeof(web_routes[0]);

/* The http layer already sends nosniff and X-Frame-Options: DENY with
 * every HTML answer; pages replace its general CSP with this stricter one
 * (no script, no inline style). */
static int security_headers(struct http_request *req, const char *csp)
{
	int err;

	if ((err = http_add_header(req, "Content-Security-Policy", csp)) < 0 ||
	    (err = http_add_header(req, "Referrer-Policy", "strict-origin-when-cross-origin")) < 0)
		return err;
	return http_add_header(req, "Cache-Control", "no-store");
}

int web_render_page(struct http_request *req, unsigned status, const char *title,
		    const char *body_html, const struct auth_identity *id)
{
	return web_render_page_csp(req, status, title, body_html, id, WEB_CSP);
}

int web_render_page_csp(struct http_request *req, unsigned status, const char *title,
			const char *body_html, const struct auth_identity *id, const char *csp)
{
	struct buf page = BUF_INIT(WEB_PAGE_MAX);
	int err;

	if ((err = html_page(&page, title, body_html, id)) < 0 ||
	    (err = security_headers(req, csp)) < 0)
		goto done;
	err = http_respond_html(req, status, buf_cstr(&page), page.len);
done:
	buf_dispose(&page);
	return err;
}

int web_render_rejected(struct http_request *req, const struct auth_identity *id)
{
	return web_render_page(req, 422, "Change rejected",
		"<section class=\"card\">\n"
		"<h1>The change you requested was rejected.</h1>\n"
		"<p>Make sure you have access to the thing you tried to change. "
		"If the form was open for a long time, reload it and try again.</p>\n"
		"<p><a href=\"/users/sign_in\">Go to the sign-in page</a></p>\n"
		"</section>\n", id);
}

bool web_redirect_is_safe(const char *target)
{
	const unsigned char *p;

	if (!target || target[0] != '/' || target[1] == '/' || strlen(target) > 2048)
		return false;
	for (p = (const unsigned char *)target; *p; p++)
		if (*p == '\\' || *p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

int web_require_session(struct app *app, struct http_request *req, struct auth_identity *id)
{
	const char *path = http_request_path(req);
	const char *query = http_request_query_string(req);
	char *here = NULL, *enc = NULL, *location = NULL;
	int err;

	err = auth_request_session(app, req, id);
	if (err == 0 && id->user)
		return 0;
	if (err < 0 && err != SO_EAUTH)
		return err;
	auth_identity_dispose(id);
	if (err == SO_EAUTH) /* a stale cookie: let the browser forget it */
		(void)auth_session_end(app, req);
	here = xasprintf("%s%s%s", path ? path : "/", query && *query ? "?" : "",
			 query ? query : "");
	if (web_redirect_is_safe(here) && strcmp(here, "/") != 0) {
		enc = http_url_encode(here);
		location = xasprintf("/users/sign_in?redirect_to=%s", enc);
	} else {
		location = xstrdup("/users/sign_in");
	}
	err = http_redirect(req, 302, location);
	if (err == 0)
		err = 1;
	free(here);
	free(enc);
	free(location);
	return err;
}

static const char app_css[] =
	":root{--fg:#1f1e24;--muted:#626168;--line:#dcdcde;--bg:#fbfafd;--card:#fff;"
	"--accent:#1f75cb;--accent-dark:#1068bf;--alert-bg:#fdd4cd;--alert-fg:#8d1300}\n"
	"*{box-sizing:border-box}\n"
	"html,body{margin:0;padding:0}\n"
	"body{font:15px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,\"Noto Sans\","
	"Ubuntu,sans-serif;color:var(--fg);background:var(--bg)}\n"
	".topbar{display:flex;align-items:center;justify-content:space-between;"
	"padding:0 24px;height:48px;background:#28272d;color:#fff}\n"
	".topbar a{color:#fff;text-decoration:none}\n"
	".brand{font-weight:700;font-size:17px;letter-spacing:.02em}\n"
	".account{display:flex;align-items:center;gap:12px}\n"
	".account .user{color:#ececef}\n"
	".signout{margin:0}\n"
	".btn{display:inline-block;border:1px solid var(--accent-dark);border-radius:4px;"
	"padding:8px 16px;font:inherit;cursor:pointer;background:var(--accent);color:#fff}\n"
	".btn:hover{background:var(--accent-dark)}\n"
	".btn-link{background:none;border:1px solid #737278;padding:3px 10px;color:#fff}\n"
	".btn-link:hover{background:#3a383f}\n"
	".content{max-width:960px;margin:32px auto;padding:0 24px}\n"
	".card{background:var(--card);border:1px solid var(--line);border-radius:6px;"
	"padding:24px 28px;margin-bottom:24px}\n"
	".signin{max-width:400px;margin:48px auto}\n"
	".signin h1{font-size:22px;margin:0 0 16px}\n"
	".form label{display:block;font-weight:600;margin:14px 0 4px}\n"
	".form input[type=text],.form input[type=password]{width:100%;padding:8px 10px;"
	"border:1px solid #89888d;border-radius:4px;font:inherit}\n"
	".form input:focus{outline:2px solid var(--accent);outline-offset:1px}\n"
	".form .btn{width:100%;margin-top:20px}\n"
	".flash{padding:10px 14px;border-radius:4px;margin-bottom:12px}\n"
	".flash-alert{background:var(--alert-bg);color:var(--alert-fg)}\n"
	"h1{font-size:24px;margin:0 0 16px}\n"
	".muted{color:var(--muted)}\n"
	".projects{width:100%;border-collapse:collapse}\n"
	".projects th,.projects td{text-align:left;padding:10px 8px;"
	"border-bottom:1px solid var(--line);vertical-align:top}\n"
	".projects th{font-size:13px;color:var(--muted);font-weight:600}\n"
	/* issue 3 pages: notices, secondary and danger buttons, copyable values */
	".flash-notice{background:#c3e6cd;color:#0a4020}\n"
	".btn-secondary{background:#fff;color:var(--fg);border-color:#89888d}\n"
	".btn-secondary:hover{background:#ececef}\n"
	".btn-danger{background:#dd2b0e;border-color:#c91c00;color:#fff;padding:4px 12px}\n"
	".btn-danger:hover{background:#c91c00}\n"
	".actions{display:flex;gap:12px;margin-top:20px}\n"
	".actions form,form.inline{margin:0;display:inline-block}\n"
	/* [hidden] wins over any display rule (job.js hides finished jobs' forms) */
	"[hidden]{display:none!important}\n"
	".lead{font-size:17px}\n"
	".details th{width:180px}\n"
	".values th{width:220px}\n"
	"input.copy{width:100%;padding:6px 8px;border:1px solid var(--line);border-radius:4px;"
	"font:13px/1.4 ui-monospace,\"SFMono-Regular\",Menlo,Consolas,monospace;background:#f7f7f8}\n"
	".hint{font-size:13px;margin-top:4px}\n"
	".steps li{margin-bottom:6px}\n"
	".form .check{font-weight:400;display:flex;align-items:center;gap:8px}\n"
	".form.settings .btn,.form.team .btn{width:auto}\n"
	"h2{font-size:19px;margin:0 0 12px}\n"
	"code{font:13px/1.4 ui-monospace,\"SFMono-Regular\",Menlo,Consolas,monospace;"
	"background:#ececef;padding:2px 6px;border-radius:3px;word-break:break-all}\n";

static int assets_css(struct http_request *req, void *app)
{
	int err;

	if ((err = http_add_header(req, "Cache-Control", "public, max-age=3600")) < 0)
		return err;
	return http_respond(req, 200, "text/css; charset=utf-8", app_css, sizeof(app_css) - 1);
}
