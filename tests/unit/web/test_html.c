/* Unit tests for web/html.c and the helpers of web/web.c: escaping, the
 * page layout, redirect safety, security headers and the sign-in guard. */
#include <criterion/criterion.h>
#include <string.h>

#include "../auth/fake_http.h"
#include "../auth/helpers.h"
#include "auth/auth.h"
#include "util/buf.h"
#include "util/error.h"
#include "web/html.h"
#include "web/web.h"

Test(html, escapes_the_five_characters)
{
	struct buf b = BUF_INIT(0);

	cr_assert_eq(html_escape(&b, "<a href=\"x\" title='y'>&amp;</a>"), 0);
	cr_assert_str_eq(buf_cstr(&b),
			 "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;");
	buf_reset(&b);
	cr_assert_eq(html_escape(&b, "plain text ✓"), 0);
	cr_assert_str_eq(buf_cstr(&b), "plain text ✓");
	buf_reset(&b);
	cr_assert_eq(html_escape(&b, NULL), 0);
	cr_assert_eq(html_escape(&b, ""), 0);
	cr_assert_str_eq(buf_cstr(&b), "");
	buf_dispose(&b);
}

Test(html, escape_respects_the_cap)
{
	struct buf b = BUF_INIT(8);

	cr_assert_eq(html_escape(&b, "<<<"), SO_ETOOBIG);
	cr_assert(b.len <= 8);
	buf_dispose(&b);
}

Test(html, printf_escapes_every_string)
{
	struct buf b = BUF_INIT(0);

	cr_assert_eq(html_printf(&b, "<p class=\"%s\">%s %d %lld %zu 100%%</p>", "a\"b",
				 "<script>", -3, (long long)1 << 40, (size_t)7), 0);
	cr_assert_str_eq(buf_cstr(&b),
			 "<p class=\"a&quot;b\">&lt;script&gt; -3 1099511627776 7 100%</p>");
	buf_reset(&b);
	cr_assert_eq(html_printf(&b, "%x", 1), SO_EFAIL);
	buf_dispose(&b);
}

Test(html, page_layout_anonymous_and_signed_in)
{
	struct buf b = BUF_INIT(0);
	struct store_user u = { .id = 1, .username = "al<ice", .name = "Alice \"A\"" };
	struct auth_identity id = { .user = &u, .via = AUTH_SESSION, .csrf_token = "tok&en" };

	cr_assert_eq(html_page(&b, "T<itle>", "<p>body</p>", NULL), 0);
	cr_assert(strncmp(buf_cstr(&b), "<!DOCTYPE html>", 15) == 0);
	cr_assert(strstr(buf_cstr(&b), "<title>T&lt;itle&gt; · slashops</title>"));
	cr_assert(strstr(buf_cstr(&b), "href=\"/assets/app.css\""));
	cr_assert(strstr(buf_cstr(&b), ">slashops</a>"));
	cr_assert(strstr(buf_cstr(&b), "<p>body</p>"));
	cr_assert(strstr(buf_cstr(&b), "href=\"/users/sign_in\""));
	cr_assert_null(strstr(buf_cstr(&b), "sign_out"));
	cr_assert_null(strstr(buf_cstr(&b), "<script"));
	cr_assert_null(strstr(buf_cstr(&b), "style="));
	buf_reset(&b);

	cr_assert_eq(html_page(&b, "Home", "", &id), 0);
	cr_assert(strstr(buf_cstr(&b), "@al&lt;ice"));
	cr_assert(strstr(buf_cstr(&b), "title=\"Alice &quot;A&quot;\""));
	cr_assert(strstr(buf_cstr(&b), "action=\"/users/sign_out\""));
	cr_assert(strstr(buf_cstr(&b), "name=\"authenticity_token\" value=\"tok&amp;en\""));
	buf_dispose(&b);
}

Test(web, redirect_safety)
{
	cr_assert(web_redirect_is_safe("/"));
	cr_assert(web_redirect_is_safe("/alice/demo?tab=1"));
	cr_assert(web_redirect_is_safe("/-/profile"));
	cr_assert_not(web_redirect_is_safe(NULL));
	cr_assert_not(web_redirect_is_safe(""));
	cr_assert_not(web_redirect_is_safe("//evil.example"));
	cr_assert_not(web_redirect_is_safe("/\\evil.example"));
	cr_assert_not(web_redirect_is_safe("https://evil.example/"));
	cr_assert_not(web_redirect_is_safe("javascript:alert(1)"));
	cr_assert_not(web_redirect_is_safe("evil.example"));
	cr_assert_not(web_redirect_is_safe("/\t/evil.example"));
	cr_assert_not(web_redirect_is_safe("/a\r\nSet-Cookie: x=y"));
}

Test(web, render_page_sends_security_headers)
{
	struct http_request r;

	fake_init(&r);
	cr_assert_eq(web_render_page(&r, 200, "Title", "<p>x</p>", NULL), 0);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.content_type, "text/html"));
	cr_assert(strstr(fake_out(&r, "Content-Security-Policy", 0), "default-src 'none'"));
	cr_assert_null(strstr(fake_out(&r, "Content-Security-Policy", 0), "unsafe-inline"));
	cr_assert(strstr(fake_out(&r, "Content-Security-Policy", 0), "frame-ancestors 'none'"));
	cr_assert_str_eq(fake_out(&r, "Referrer-Policy", 0), "strict-origin-when-cross-origin");
	cr_assert_str_eq(fake_out(&r, "Cache-Control", 0), "no-store");
	cr_assert(strstr(r.answer, "<p>x</p>"));
	fake_dispose(&r);
}

Test(web, rejected_is_422)
{
	struct http_request r;

	fake_init(&r);
	cr_assert_eq(web_render_rejected(&r, NULL), 0);
	cr_assert_eq(r.status, 422);
	cr_assert(strstr(r.answer, "The change you requested was rejected."));
	fake_dispose(&r);
}

Test(web, require_session_redirects_anonymous_visitors)
{
	struct app *app = test_app_open();
	int64_t alice = test_user(app, "alice", "alice-password", false);
	struct http_request r, r2, r3;
	struct auth_identity id;

	fake_init(&r);
	r.path = "/alice/demo";
	r.query_string = "tab=a b&x=1";
	cr_assert_eq(web_require_session(app, &r, &id), 1);
	cr_assert_null(id.user);
	cr_assert_eq(r.status, 302);
	cr_assert_str_eq(fake_out(&r, "Location", 0),
			 "/users/sign_in?redirect_to=%2Falice%2Fdemo%3Ftab%3Da%20b%26x%3D1");
	auth_identity_dispose(&id);

	/* a stale cookie is cleared on the way */
	fake_init(&r2);
	fake_cookie(&r2, "_slashops_session", "stale");
	cr_assert_eq(web_require_session(app, &r2, &id), 1);
	cr_assert(strstr(fake_out(&r2, "Set-Cookie", 0), "Max-Age=0"));
	cr_assert_str_eq(fake_out(&r2, "Location", 0), "/users/sign_in");

	/* signed in: nothing answered, identity filled */
	fake_dispose(&r);
	fake_init(&r);
	cr_assert_eq(auth_session_start(app, &r, alice), 0);
	fake_init(&r3);
	fake_follow_cookies(&r, &r3);
	cr_assert_eq(web_require_session(app, &r3, &id), 0);
	cr_assert_eq(id.user->id, alice);
	cr_assert_not(r3.answered);
	auth_identity_dispose(&id);
	fake_dispose(&r);
	fake_dispose(&r2);
	fake_dispose(&r3);
	test_app_close(app);
}
