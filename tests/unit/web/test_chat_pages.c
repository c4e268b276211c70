/* Unit tests for the issue 3 pages (web/chat_names.c,
 * web/integration_settings.c) through the fake HTTP layer with a real
 * store, and for their pure helpers (web/flash.c, the settings values):
 * flash encoding, Mattermost trigger rules and field limits, the
 * authorize / deny / revoke flow with single-use links, CSRF refusals,
 * escaping, and the settings page's access rule and forms. */
#include <criterion/criterion.h>
#include <string.h>

#include "../auth/fake_http.h"
#include "../auth/helpers.h"
#include "auth/auth.h"
#include "http/server.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "web/chat_pages.h"
#include "web/flash.h"
#include "web/web.h"

/* ---- flash ---- */

Test(flash, round_trip)
{
	enum web_flash_kind kind;
	char *v, *text;

	v = web_flash_encode(WEB_FLASH_NOTICE, "Authorized <alice> & \"bob\" é");
	cr_assert_eq(v[0], 'n');
	cr_assert_eq(strspn(v + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
		     strlen(v + 1), "cookie-safe value: %s", v);
	cr_assert_eq(web_flash_decode(v, &kind, &text), 0);
	cr_assert_eq(kind, WEB_FLASH_NOTICE);
	cr_assert_str_eq(text, "Authorized <alice> & \"bob\" é");
	free(text);
	free(v);

	v = web_flash_encode(WEB_FLASH_ALERT, "");
	cr_assert_str_eq(v, "a");
	cr_assert_eq(web_flash_decode(v, &kind, &text), 0);
	cr_assert_eq(kind, WEB_FLASH_ALERT);
	cr_assert_str_eq(text, "");
	free(text);
	free(v);
}

Test(flash, long_text_is_cut_on_a_character_boundary)
{
	struct buf b = BUF_INIT(0);
	enum web_flash_kind kind;
	char *v, *text;

	buf_putc(&b, 'x');
	for (int i = 0; i < 600; i++)
		buf_puts(&b, "é"); /* 2 bytes each: 1201 bytes */
	v = web_flash_encode(WEB_FLASH_NOTICE, buf_cstr(&b));
	cr_assert_leq(strlen(v), WEB_FLASH_VALUE_MAX);
	cr_assert_eq(web_flash_decode(v, &kind, &text), 0);
	cr_assert_eq(strlen(text), 1023, "cut before the character that would cross 1024");
	cr_assert_eq(strncmp(text, buf_cstr(&b), 1023), 0);
	free(text);
	free(v);
	buf_dispose(&b);
}

Test(flash, refuses_what_it_did_not_make)
{
	enum web_flash_kind kind;
	char *text = (char *)"unchanged";
	char big[WEB_FLASH_VALUE_MAX + 8];

	cr_assert_eq(web_flash_decode(NULL, &kind, &text), SO_EINVALID);
	cr_assert_null(text);
	cr_assert_eq(web_flash_decode("", &kind, &text), SO_EINVALID);
	cr_assert_eq(web_flash_decode("xSGk", &kind, &text), SO_EINVALID);     /* kind */
	cr_assert_eq(web_flash_decode("nSGk=", &kind, &text), SO_EINVALID);    /* padding */
	cr_assert_eq(web_flash_decode("nSG+k", &kind, &text), SO_EINVALID);    /* alphabet */
	cr_assert_eq(web_flash_decode("nCg", &kind, &text), SO_EINVALID);      /* "\n" */
	cr_assert_eq(web_flash_decode("n_w", &kind, &text), SO_EINVALID);      /* 0xff */
	cr_assert_eq(web_flash_decode("nwMA", &kind, &text), SO_EINVALID);     /* C0 80 overlong */
	memset(big, 'Q', sizeof(big) - 1);
	big[0] = 'n';
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(web_flash_decode(big, &kind, &text), SO_EINVALID);
	cr_assert_null(text);
	cr_assert_eq(web_flash_decode("nSGk", &kind, &text), 0); /* "Hi" */
	cr_assert_str_eq(text, "Hi");
	free(text);
}

/* ---- settings helpers ---- */

Test(mm_values, trigger_rules)
{
	char w128[129], w129[130];

	cr_assert(web_mm_trigger_ok("ops"));
	cr_assert(web_mm_trigger_ok("group/sub/demo"));
	cr_assert(web_mm_trigger_ok("a\tb"), "Mattermost does not check tabs");
	cr_assert_not(web_mm_trigger_ok(""));
	cr_assert_not(web_mm_trigger_ok(NULL));
	cr_assert_not(web_mm_trigger_ok("/ops"));
	cr_assert_not(web_mm_trigger_ok("my ops"));
	cr_assert_not(web_mm_trigger_ok("help"));
	cr_assert_not(web_mm_trigger_ok("Join"), "built-ins compare case-insensitively");
	memset(w128, 'a', 128);
	w128[128] = '\0';
	memset(w129, 'a', 129);
	w129[129] = '\0';
	cr_assert(web_mm_trigger_ok(w128));
	cr_assert_not(web_mm_trigger_ok(w129));
}

Test(mm_values, fit_and_parse_id)
{
	char *s;

	s = web_mm_fit("short", 64);
	cr_assert_str_eq(s, "short");
	free(s);
	s = web_mm_fit("abcdefghij", 8);
	cr_assert_str_eq(s, "abcde...");
	free(s);
	s = web_mm_fit("abcdéfgh", 7);
	cr_assert_str_eq(s, "abcd...");
	free(s);
	s = web_mm_fit("abéééé", 6); /* 3 bytes would split é: keep "ab" */
	cr_assert_str_eq(s, "ab...");
	free(s);

	cr_assert_eq(web_parse_id("42"), 42);
	cr_assert_eq(web_parse_id("0"), 0);
	cr_assert_eq(web_parse_id("042"), 0);
	cr_assert_eq(web_parse_id("-1"), 0);
	cr_assert_eq(web_parse_id("4a"), 0);
	cr_assert_eq(web_parse_id("1234567890123456789"), 0);
	cr_assert_eq(web_parse_id(""), 0);
	cr_assert_eq(web_parse_id("alice/demo"), 0);
}

/* ---- pages ---- */

static struct app *app;
static int64_t alice, bob, dave, project;

static void setup(void)
{
	app = test_app_open();
	app->cfg.external_url = xstrdup("https://ops.example/");
	alice = test_user(app, "alice", "alice-password", false);
	bob = test_user(app, "bob", "bob-password", false);
	dave = test_user(app, "dave", "dave-password", false);
	project = test_project(app, alice, "alice", "demo", STORE_VIS_PRIVATE);
	cr_assert_eq(store_member_add(app->store, project, dave, 30, NULL, alice), 0);
	cr_assert_eq(store_member_add(app->store, project, bob, 40, NULL, alice), 0);
}

static void teardown(void)
{
	test_app_close(app);
}

TestSuite(chat_pages, .init = setup, .fini = teardown);

/* Runs handler on a request built from the jar's cookies; keeps the
 * answer in *r and moves its cookies into the jar. */
static void call(struct http_request *jar, struct http_request *r, http_handler_fn handler,
		 const char *method, const char *path, const char *token_query, const char *body)
{
	fake_init(r);
	r->method = method;
	r->path = path;
	r->query_string = "";
	for (size_t i = 0; i < jar->ncookies; i++)
		if (jar->cookies[i].value[0])
			fake_cookie(r, jar->cookies[i].name, jar->cookies[i].value);
	if (token_query) {
		r->query_string = token_query;
		fake_query(r, "token", token_query + strlen("token="));
	}
	if (body) {
		fake_header(r, "Content-Type", "application/x-www-form-urlencoded");
		r->body = body;
	}
	cr_assert_eq(handler(r, app), 0, "%s %s: %s", method, path, error_msg());
	cr_assert(r->answered);
	fake_follow_cookies(r, jar);
}

/* A jar holding a session of user_id. */
static void sign_in(struct http_request *jar, int64_t user_id)
{
	struct http_request r;

	fake_init(jar);
	fake_init(&r);
	cr_assert_eq(auth_session_start(app, &r, user_id), 0);
	fake_follow_cookies(&r, jar);
	fake_dispose(&r);
}

static char *form_token(const char *html)
{
	const char *p = strstr(html, "name=\"authenticity_token\" value=\"");

	cr_assert_not_null(p, "no authenticity_token in %s", html);
	p += strlen("name=\"authenticity_token\" value=\"");
	return xstrndup(p, strcspn(p, "\""));
}

/* Stores a link for token as the trigger endpoint does. */
static void make_link(const char *token, const char *chat_id, const char *chat_name,
		      int64_t expires_at)
{
	char *hash = auth_token_hash(app, token);
	struct store_chat_link l = {
		.token_hash = hash, .project_id = project,
		.integration_kind = (char *)"mattermost_slash_commands",
		.team_id = (char *)"teamid0000000000000000000a", .team_domain = (char *)"acme",
		.chat_id = (char *)chat_id, .chat_name = (char *)chat_name,
		.expires_at = expires_at,
	};

	cr_assert_eq(store_chat_link_create(app->store, &l), 0, "%s", error_msg());
	free(hash);
}

/* The flash shown by the list page, after a redirect there. */
static char *follow_to_list(struct http_request *jar)
{
	struct http_request r;
	char *page;

	call(jar, &r, web_chat_names, "GET", "/-/profile/chat_names", NULL, NULL);
	cr_assert_eq(r.status, 200);
	page = xstrdup(r.answer);
	fake_dispose(&r);
	return page;
}

#define TOKEN1 "tok1-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
#define TOKEN2 "tok2-BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
#define TOKEN3 "tok3-CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"

Test(chat_pages, link_needs_sign_in_and_comes_back)
{
	struct http_request jar, r;

	fake_init(&jar);
	make_link(TOKEN1, "user1", "alice.chat", clock_unix() + 600);
	call(&jar, &r, web_chat_name_new, "GET", "/-/profile/chat_names/new", "token=" TOKEN1, NULL);
	cr_assert_eq(r.status, 302);
	cr_assert_str_eq(fake_out(&r, "Location", 0),
			 "/users/sign_in?redirect_to=%2F-%2Fprofile%2Fchat_names%2Fnew%3Ftoken%3D"
			 TOKEN1);
	fake_dispose(&r);
	fake_dispose(&jar);
}

Test(chat_pages, authorize_flow)
{
	struct http_request jar, r;
	char *csrf, *body, *page;

	make_link(TOKEN1, "user1", "<b>alice.chat</b>", clock_unix() + 600);
	sign_in(&jar, alice);

	call(&jar, &r, web_chat_name_new, "GET", "/-/profile/chat_names/new", "token=nope", NULL);
	cr_assert_eq(r.status, 404);
	fake_dispose(&r);
	call(&jar, &r, web_chat_name_new, "GET", "/-/profile/chat_names/new", NULL, NULL);
	cr_assert_eq(r.status, 404);
	fake_dispose(&r);

	call(&jar, &r, web_chat_name_new, "GET", "/-/profile/chat_names/new", "token=" TOKEN1, NULL);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.answer, "An application called Mattermost slash commands is requesting "
				   "access to your slashops account"), "%s", r.answer);
	cr_assert(strstr(r.answer, "&lt;b&gt;alice.chat&lt;/b&gt;"), "chat name escaped");
	cr_assert_null(strstr(r.answer, "<b>alice.chat"));
	cr_assert(strstr(r.answer, "acme"));
	cr_assert(strstr(r.answer, "alice/demo"));
	cr_assert(strstr(r.answer, "action=\"/-/profile/chat_names\""));
	cr_assert(strstr(r.answer, "action=\"/-/profile/chat_names/deny\""));
	cr_assert(strstr(r.answer, "name=\"token\" value=\"" TOKEN1 "\""));
	csrf = form_token(r.answer);
	fake_dispose(&r);

	/* no or wrong CSRF token: 422 and the link is still there */
	call(&jar, &r, web_chat_name_create, "POST", "/-/profile/chat_names", NULL,
	     "token=" TOKEN1);
	cr_assert_eq(r.status, 422);
	fake_dispose(&r);
	call(&jar, &r, web_chat_name_create, "POST", "/-/profile/chat_names", NULL,
	     "token=" TOKEN1 "&authenticity_token=forged");
	cr_assert_eq(r.status, 422);
	fake_dispose(&r);

	body = xasprintf("authenticity_token=%s&token=" TOKEN1, csrf);
	call(&jar, &r, web_chat_name_create, "POST", "/-/profile/chat_names", NULL, body);
	cr_assert_eq(r.status, 302);
	cr_assert_str_eq(fake_out(&r, "Location", 0), "/-/profile/chat_names");
	cr_assert(strstr(fake_out(&r, "Set-Cookie", 0), "_slashops_flash="));
	cr_assert(strstr(fake_out(&r, "Set-Cookie", 0), "HttpOnly"));
	cr_assert(strstr(fake_out(&r, "Set-Cookie", 0), "; Secure"), "https external URL");
	fake_dispose(&r);

	page = follow_to_list(&jar);
	cr_assert(strstr(page, "Authorized &lt;b&gt;alice.chat&lt;/b&gt;"), "%s", page);
	cr_assert(strstr(page, "<td>acme</td>"));
	cr_assert(strstr(page, "Never"));
	cr_assert(strstr(page, "/delete\""));
	free(page);
	page = follow_to_list(&jar);
	cr_assert_null(strstr(page, "Authorized"), "a flash shows once");
	free(page);

	/* the link is used: page and both buttons 404 */
	call(&jar, &r, web_chat_name_new, "GET", "/-/profile/chat_names/new", "token=" TOKEN1, NULL);
	cr_assert_eq(r.status, 404);
	fake_dispose(&r);
	call(&jar, &r, web_chat_name_create, "POST", "/-/profile/chat_names", NULL, body);
	cr_assert_eq(r.status, 404);
	fake_dispose(&r);
	call(&jar, &r, web_chat_name_deny, "POST", "/-/profile/chat_names/deny", NULL, body);
	cr_assert_eq(r.status, 404);
	fake_dispose(&r);
	free(body);

	/* the same chat account again (from bob's session): could not authorize */
	make_link(TOKEN2, "user1", "alice.chat", clock_unix() + 600);
	fake_dispose(&jar);
	sign_in(&jar, bob);
	call(&jar, &r, web_chat_names, "GET", "/-/profile/chat_names", NULL, NULL);
	cr_assert(strstr(r.answer, "You don&#39;t have any active chat names."));
	free(csrf);
	csrf = form_token(r.answer);
	fake_dispose(&r);
	body = xasprintf("authenticity_token=%s&token=" TOKEN2, csrf);
	call(&jar, &r, web_chat_name_create, "POST", "/-/profile/chat_names", NULL, body);
	cr_assert_eq(r.status, 302);
	fake_dispose(&r);
	page = follow_to_list(&jar);
	cr_assert(strstr(page, "Could not authorize integration account nickname. Try again!"));
	cr_assert(strstr(page, "flash-alert"));
	free(page);
	call(&jar, &r, web_chat_name_create, "POST", "/-/profile/chat_names", NULL, body);
	cr_assert_eq(r.status, 404, "used even when authorizing failed");
	fake_dispose(&r);
	free(body);
	free(csrf);
	fake_dispose(&jar);
}

Test(chat_pages, deny_expired_and_revoke)
{
	struct http_request jar, r;
	struct store_chat_name **list = NULL;
	char *csrf, *body, *page, *path;

	sign_in(&jar, alice);
	call(&jar, &r, web_chat_names, "GET", "/-/profile/chat_names", NULL, NULL);
	csrf = form_token(r.answer);
	fake_dispose(&r);

	make_link(TOKEN1, "user2", "carol", clock_unix() + 600);
	body = xasprintf("authenticity_token=%s&token=" TOKEN1, csrf);
	call(&jar, &r, web_chat_name_deny, "POST", "/-/profile/chat_names/deny", NULL, body);
	cr_assert_eq(r.status, 302);
	fake_dispose(&r);
	page = follow_to_list(&jar);
	cr_assert(strstr(page, "Denied authorization of chat nickname carol."), "%s", page);
	free(page);
	call(&jar, &r, web_chat_name_create, "POST", "/-/profile/chat_names", NULL, body);
	cr_assert_eq(r.status, 404, "denied links are used up");
	fake_dispose(&r);
	free(body);

	make_link(TOKEN2, "user3", "old", clock_unix() - 1);
	call(&jar, &r, web_chat_name_new, "GET", "/-/profile/chat_names/new", "token=" TOKEN2, NULL);
	cr_assert_eq(r.status, 404, "expired");
	fake_dispose(&r);

	/* revoke: someone else's is a 404, one's own goes */
	make_link(TOKEN3, "user4", "alice.chat", clock_unix() + 600);
	body = xasprintf("authenticity_token=%s&token=" TOKEN3, csrf);
	call(&jar, &r, web_chat_name_create, "POST", "/-/profile/chat_names", NULL, body);
	cr_assert_eq(r.status, 302);
	fake_dispose(&r);
	free(body);
	cr_assert_eq(store_chat_name_list_for_user(app->store, alice, &list), 0);
	cr_assert_not_null(list[0]);
	path = xasprintf("/-/profile/chat_names/%lld/delete", (long long)list[0]->id);
	store_chat_name_list_free(list);

	fake_dispose(&jar);
	sign_in(&jar, bob);
	call(&jar, &r, web_chat_names, "GET", "/-/profile/chat_names", NULL, NULL);
	free(csrf);
	csrf = form_token(r.answer);
	fake_dispose(&r);
	body = xasprintf("authenticity_token=%s", csrf);
	call(&jar, &r, web_chat_name_delete, "POST", path, NULL, body);
	cr_assert_eq(r.status, 404);
	fake_dispose(&r);
	free(body);

	fake_dispose(&jar);
	sign_in(&jar, alice);
	call(&jar, &r, web_chat_names, "GET", "/-/profile/chat_names", NULL, NULL);
	free(csrf);
	csrf = form_token(r.answer);
	fake_dispose(&r);
	call(&jar, &r, web_chat_name_delete, "POST", path, NULL, "authenticity_token=bad");
	cr_assert_eq(r.status, 422);
	fake_dispose(&r);
	body = xasprintf("authenticity_token=%s", csrf);
	call(&jar, &r, web_chat_name_delete, "POST", path, NULL, body);
	cr_assert_eq(r.status, 302);
	fake_dispose(&r);
	page = follow_to_list(&jar);
	cr_assert(strstr(page, "Deleted chat nickname: alice.chat!"), "%s", page);
	cr_assert(strstr(page, "You don&#39;t have any active chat names."));
	free(page);
	call(&jar, &r, web_chat_name_delete, "POST", path, NULL, body);
	cr_assert_eq(r.status, 404);
	fake_dispose(&r);
	free(body);
	free(path);
	free(csrf);
	fake_dispose(&jar);
}

#define SETTINGS "/-/projects/%lld/settings/integrations/mattermost_slash_commands"

Test(chat_pages, settings_page)
{
	struct http_request jar, r;
	struct store_integration *in = NULL;
	char *path, *csrf, *body, *hash, *sub;

	path = xasprintf(SETTINGS, (long long)project);
	/* a Developer sees a 404, as does anyone for an unknown project */
	sign_in(&jar, dave);
	call(&jar, &r, web_mm_settings, "GET", path, NULL, NULL);
	cr_assert_eq(r.status, 404);
	fake_dispose(&r);
	call(&jar, &r, web_mm_settings_save, "POST", path, NULL, "token=x&active=1");
	cr_assert_eq(r.status, 404);
	fake_dispose(&r);
	fake_dispose(&jar);

	sign_in(&jar, bob); /* Maintainer */
	call(&jar, &r, web_mm_settings, "GET",
	     "/-/projects/999/settings/integrations/mattermost_slash_commands", NULL, NULL);
	cr_assert_eq(r.status, 404);
	fake_dispose(&r);
	call(&jar, &r, web_mm_settings, "GET",
	     "/-/projects/alice%2Fdemo/settings/integrations/mattermost_slash_commands", NULL, NULL);
	cr_assert_eq(r.status, 200, "the full path works as an id");
	fake_dispose(&r);
	call(&jar, &r, web_mm_settings, "GET", path, NULL, NULL);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.answer, "Not configured"));
	sub = xasprintf("value=\"https://ops.example/api/v4/projects/%lld/integrations/"
			"mattermost_slash_commands/trigger\"", (long long)project);
	cr_assert(strstr(r.answer, sub), "%s", r.answer);
	free(sub);
	cr_assert(strstr(r.answer, "value=\"slashops / alice / demo\""), "%s", r.answer);
	cr_assert(strstr(r.answer, "value=\"Perform common operations on slashops project: "
				   "alice / demo\""));
	cr_assert(strstr(r.answer, "value=\"ops\""));
	cr_assert(strstr(r.answer, "value=\"demo\""));
	cr_assert(strstr(r.answer, "value=\"alice/demo\""));
	cr_assert(strstr(r.answer, "value=\"POST\""));
	cr_assert(strstr(r.answer, "value=\"[help]\""));
	cr_assert(strstr(r.answer, "type=\"password\""));
	cr_assert(strstr(r.answer, "<div class=\"muted hint\">Mattermost calls it"), "hint markup");
	cr_assert_null(strstr(r.answer, "&lt;div"), "no markup escaped twice");
	csrf = form_token(r.answer);
	fake_dispose(&r);

	/* CSRF, then active without a token, then a token */
	call(&jar, &r, web_mm_settings_save, "POST", path, NULL, "token=abc&active=1");
	cr_assert_eq(r.status, 422);
	fake_dispose(&r);
	body = xasprintf("authenticity_token=%s&active=1&token=", csrf);
	call(&jar, &r, web_mm_settings_save, "POST", path, NULL, body);
	cr_assert_eq(r.status, 302);
	fake_dispose(&r);
	free(body);
	call(&jar, &r, web_mm_settings, "GET", path, NULL, NULL);
	cr_assert(strstr(r.answer, "Token can&#39;t be blank"), "%s", r.answer);
	fake_dispose(&r);
	cr_assert_eq(store_integration_get(app->store, project, "mattermost_slash_commands", &in),
		     SO_ENOTFOUND);

	body = xasprintf("authenticity_token=%s&active=1&token=mm-token-26chars-abcdefghij", csrf);
	call(&jar, &r, web_mm_settings_save, "POST", path, NULL, body);
	cr_assert_eq(r.status, 302);
	cr_assert_str_eq(fake_out(&r, "Location", 0), path);
	fake_dispose(&r);
	free(body);
	cr_assert_eq(store_integration_get(app->store, project, "mattermost_slash_commands", &in), 0);
	hash = auth_token_hash(app, "mm-token-26chars-abcdefghij");
	cr_assert_str_eq(in->token_hash, hash);
	cr_assert(in->active);
	free(hash);
	call(&jar, &r, web_mm_settings, "GET", path, NULL, NULL);
	cr_assert(strstr(r.answer, "settings saved and active."));
	cr_assert(strstr(r.answer, "Set (hidden)"));
	cr_assert_null(strstr(r.answer, "mm-token-26chars"), "the token is never shown");
	fake_dispose(&r);

	/* inactive keeps the token */
	body = xasprintf("authenticity_token=%s&token=", csrf);
	call(&jar, &r, web_mm_settings_save, "POST", path, NULL, body);
	fake_dispose(&r);
	free(body);
	store_integration_free(in);
	cr_assert_eq(store_integration_get(app->store, project, "mattermost_slash_commands", &in), 0);
	cr_assert_not(in->active);
	cr_assert_not_null(in->token_hash);

	/* team: set, refuse a bad one, clear */
	sub = xasprintf("%s/team", path);
	body = xasprintf("authenticity_token=%s&team_id=abcdefghijklmnopqrstuvwxyz&team_domain=acme",
			 csrf);
	call(&jar, &r, web_mm_settings_team, "POST", sub, NULL, body);
	cr_assert_eq(r.status, 302);
	fake_dispose(&r);
	free(body);
	call(&jar, &r, web_mm_settings, "GET", path, NULL, NULL);
	cr_assert(strstr(r.answer, "acme <span class=\"muted\">(abcdefghijklmnopqrstuvwxyz)"),
		  "%s", r.answer);
	fake_dispose(&r);
	body = xasprintf("authenticity_token=%s&team_id=a%%3Cb&team_domain=x", csrf);
	call(&jar, &r, web_mm_settings_team, "POST", sub, NULL, body);
	fake_dispose(&r);
	free(body);
	store_integration_free(in);
	cr_assert_eq(store_integration_get(app->store, project, "mattermost_slash_commands", &in), 0);
	cr_assert_str_eq(in->team_id, "abcdefghijklmnopqrstuvwxyz");
	body = xasprintf("authenticity_token=%s&clear=1", csrf);
	call(&jar, &r, web_mm_settings_team, "POST", sub, NULL, body);
	fake_dispose(&r);
	free(body);
	free(sub);
	store_integration_free(in);
	cr_assert_eq(store_integration_get(app->store, project, "mattermost_slash_commands", &in), 0);
	cr_assert_null(in->team_id);
	store_integration_free(in);
	in = NULL;

	/* remove */
	sub = xasprintf("%s/delete", path);
	body = xasprintf("authenticity_token=%s", csrf);
	call(&jar, &r, web_mm_settings_delete, "POST", sub, NULL, body);
	cr_assert_eq(r.status, 302);
	fake_dispose(&r);
	free(body);
	free(sub);
	cr_assert_eq(store_integration_get(app->store, project, "mattermost_slash_commands", &in),
		     SO_ENOTFOUND);

	free(csrf);
	free(path);
	fake_dispose(&jar);
}
