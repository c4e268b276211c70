/* Unit tests for web/signin.c and web/dashboard.c through the fake HTTP
 * layer: the whole sign-in, dashboard and sign-out flow, CSRF refusals,
 * wrong passwords, blocked users and redirect targets. */
#include <criterion/criterion.h>
#include <string.h>

#include "../auth/fake_http.h"
#include "../auth/helpers.h"
#include "auth/auth.h"
#include "http/server.h"
#include "util/buf.h"
#include "util/error.h"
#include "web/web.h"

static struct app *app;
static int64_t alice;

static void setup(void)
{
	app = test_app_open();
	app->cfg.external_url = xstrdup("http://git.example:8080/");
	alice = test_user(app, "alice", "alice-password", false);
	test_user(app, "bob", "bob-password", false);
	test_project(app, alice, "alice", "demo", STORE_VIS_PRIVATE);
}

static void teardown(void)
{
	test_app_close(app);
}

TestSuite(signin, .init = setup, .fini = teardown);

static http_handler_fn route(const char *method, const char *path)
{
	for (size_t i = 0; i < web_routes_count; i++)
		if (strcmp(web_routes[i].method, method) == 0 &&
		    strcmp(web_routes[i].pattern, path) == 0)
			return web_routes[i].handler;
	cr_assert_fail("no route %s %s", method, path);
	return NULL;
}

/* A browser: the cookie jar lives in jar (a request used only for its
 * cookies). Runs one request and keeps the answer in *r. */
static void browse(struct http_request *jar, struct http_request *r, const char *method,
		   const char *path, const char *body)
{
	fake_init(r);
	r->method = method;
	r->path = path;
	for (size_t i = 0; i < jar->ncookies; i++)
		if (jar->cookies[i].value[0])
			fake_cookie(r, jar->cookies[i].name, jar->cookies[i].value);
	if (body) {
		fake_header(r, "Content-Type", "application/x-www-form-urlencoded");
		r->body = body;
	}
	cr_assert_eq(route(method, path)(r, app), 0, "%s %s: %s", method, path, error_msg());
	cr_assert(r->answered);
	fake_follow_cookies(r, jar);
}

/* The value of the authenticity_token hidden field in a page. */
static char *form_token(const char *html)
{
	const char *p = strstr(html, "name=\"authenticity_token\" value=\"");

	cr_assert_not_null(p, "no authenticity_token in %s", html);
	p += strlen("name=\"authenticity_token\" value=\"");
	return xstrndup(p, strcspn(p, "\""));
}

static char *urlenc(const char *s)
{
	struct buf b = BUF_INIT(0);

	for (; *s; s++) {
		if (strchr("&=+%/?# ", *s))
			buf_printf(&b, "%%%02X", (unsigned char)*s);
		else
			buf_putc(&b, *s);
	}
	return buf_detach(&b);
}

static char *signin_body(const char *token, const char *login, const char *password,
			 const char *redirect_to)
{
	char *t = urlenc(token), *r = redirect_to ? urlenc(redirect_to) : NULL;
	char *body = xasprintf("authenticity_token=%s&user%%5Blogin%%5D=%s&user%%5Bpassword%%5D=%s"
			       "%s%s", t, login, password, r ? "&redirect_to=" : "", r ? r : "");

	free(t);
	free(r);
	return body;
}

Test(signin, full_flow)
{
	struct http_request jar, r;
	char *token, *body, *csrf;

	fake_init(&jar);
	/* anonymous dashboard: off to sign in */
	browse(&jar, &r, "GET", "/", NULL);
	cr_assert_eq(r.status, 302);
	cr_assert_str_eq(fake_out(&r, "Location", 0), "/users/sign_in");
	fake_dispose(&r);

	browse(&jar, &r, "GET", "/users/sign_in", NULL);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.answer, "name=\"user[login]\""));
	cr_assert(strstr(r.answer, "name=\"user[password]\""));
	token = form_token(r.answer);
	cr_assert_str_eq(http_request_cookie(&jar, "_slashops_csrf"), token);
	fake_dispose(&r);

	/* wrong password: the form again, with GitLab's message, login kept */
	body = signin_body(token, "alice", "wrong-password", NULL);
	browse(&jar, &r, "POST", "/users/sign_in", body);
	free(body);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.answer, "Invalid login or password."));
	cr_assert(strstr(r.answer, "value=\"alice\""));
	cr_assert_null(strstr(r.answer, "wrong-password"));
	cr_assert_null(fake_out(&r, "Location", 0));
	free(token);
	token = form_token(r.answer);
	fake_dispose(&r);

	/* right password: a session and a redirect home */
	body = signin_body(token, "alice", "alice-password", NULL);
	browse(&jar, &r, "POST", "/users/sign_in", body);
	free(body);
	cr_assert_eq(r.status, 302);
	cr_assert_str_eq(fake_out(&r, "Location", 0), "/");
	cr_assert(strstr(fake_out(&r, "Set-Cookie", 0), "_slashops_session="));
	cr_assert(http_request_cookie(&jar, "_slashops_session")[0]);
	cr_assert_str_eq(http_request_cookie(&jar, "_slashops_csrf"), "", "anon CSRF cookie dropped");
	fake_dispose(&r);

	/* dashboard with the project's clone URL */
	browse(&jar, &r, "GET", "/", NULL);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.answer, "@alice"));
	cr_assert(strstr(r.answer, "alice/demo"));
	cr_assert(strstr(r.answer, "http://git.example:8080/alice/demo.git"), "%s", r.answer);
	csrf = form_token(r.answer);
	fake_dispose(&r);

	/* sign-in page when signed in goes home */
	browse(&jar, &r, "GET", "/users/sign_in", NULL);
	cr_assert_eq(r.status, 302);
	fake_dispose(&r);

	/* sign-out needs the session's token */
	browse(&jar, &r, "POST", "/users/sign_out", "authenticity_token=wrong");
	cr_assert_eq(r.status, 422);
	fake_dispose(&r);
	browse(&jar, &r, "POST", "/users/sign_out", NULL);
	cr_assert_eq(r.status, 422);
	fake_dispose(&r);
	body = xasprintf("authenticity_token=%s", csrf);
	browse(&jar, &r, "POST", "/users/sign_out", body);
	free(body);
	cr_assert_eq(r.status, 302);
	cr_assert_str_eq(fake_out(&r, "Location", 0), "/users/sign_in");
	fake_dispose(&r);
	browse(&jar, &r, "GET", "/", NULL);
	cr_assert_eq(r.status, 302);
	fake_dispose(&r);

	free(csrf);
	free(token);
	fake_dispose(&jar);
}

Test(signin, csrf_is_required)
{
	struct http_request jar, r;
	char *token, *body;

	fake_init(&jar);
	body = signin_body("none", "alice", "alice-password", NULL);
	browse(&jar, &r, "POST", "/users/sign_in", body);
	free(body);
	cr_assert_eq(r.status, 422);
	cr_assert_null(fake_out(&r, "Set-Cookie", 0));
	fake_dispose(&r);

	/* a token from the form but no cookie (another site's page) */
	browse(&jar, &r, "GET", "/users/sign_in", NULL);
	token = form_token(r.answer);
	fake_dispose(&r);
	fake_dispose(&jar);
	fake_init(&jar);
	body = signin_body(token, "alice", "alice-password", NULL);
	browse(&jar, &r, "POST", "/users/sign_in", body);
	free(body);
	cr_assert_eq(r.status, 422);
	fake_dispose(&r);

	/* a body that is not a form */
	fake_init(&r);
	r.method = "POST";
	r.path = "/users/sign_in";
	fake_cookie(&r, "_slashops_csrf", token);
	fake_header(&r, "Content-Type", "application/json");
	r.body = "{}";
	cr_assert_eq(route("POST", "/users/sign_in")(&r, app), 0);
	cr_assert_eq(r.status, 422);
	fake_dispose(&r);
	free(token);
	fake_dispose(&jar);
}

static unsigned signin_as(const char *login, const char *password, const char *redirect_to,
			  char **location, char **page)
{
	struct http_request jar, r;
	char *token, *body;
	unsigned status;

	fake_init(&jar);
	browse(&jar, &r, "GET", "/users/sign_in", NULL);
	token = form_token(r.answer);
	fake_dispose(&r);
	body = signin_body(token, login, password, redirect_to);
	browse(&jar, &r, "POST", "/users/sign_in", body);
	status = r.status;
	if (location)
		*location = xstrdup(fake_out(&r, "Location", 0));
	if (page)
		*page = xstrdup(r.answer);
	fake_dispose(&r);
	fake_dispose(&jar);
	free(body);
	free(token);
	return status;
}

Test(signin, redirect_targets)
{
	char *loc = NULL;

	cr_assert_eq(signin_as("alice", "alice-password", "/alice/demo?x=1", &loc, NULL), 302);
	cr_assert_str_eq(loc, "/alice/demo?x=1");
	free(loc);
	cr_assert_eq(signin_as("alice", "alice-password", "//evil.example", &loc, NULL), 302);
	cr_assert_str_eq(loc, "/");
	free(loc);
	cr_assert_eq(signin_as("alice", "alice-password", "https://evil.example", &loc, NULL), 302);
	cr_assert_str_eq(loc, "/");
	free(loc);
	cr_assert_eq(signin_as("alice", "alice-password", "/\\evil.example", &loc, NULL), 302);
	cr_assert_str_eq(loc, "/");
	free(loc);
}

Test(signin, blocked_and_unknown_users)
{
	char *page = NULL;

	cr_assert_eq(signin_as("nobody", "alice-password", NULL, NULL, &page), 200);
	cr_assert(strstr(page, "Invalid login or password."));
	free(page);
	cr_assert_eq(store_user_set_state(app->store, alice, STORE_USER_BLOCKED), 0);
	cr_assert_eq(signin_as("alice", "alice-password", NULL, NULL, &page), 200);
	cr_assert(strstr(page, "blocked"));
	free(page);
	cr_assert_eq(signin_as("alice", "wrong-password", NULL, NULL, &page), 200);
	cr_assert(strstr(page, "Invalid login or password."));
	free(page);
}

Test(signin, stylesheet)
{
	struct http_request jar, r;

	fake_init(&jar);
	browse(&jar, &r, "GET", "/assets/app.css", NULL);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.content_type, "text/css"));
	cr_assert(strstr(r.answer, ".signin"));
	fake_dispose(&r);
	fake_dispose(&jar);
}
