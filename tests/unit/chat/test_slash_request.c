/*
 * Unit tests for chat/slash_request: field picking, caps, the token from
 * the field or the Authorization header.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "chat/slash_request.h"
#include "util/buf.h"
#include "util/error.h"

static const struct chat_request_field mm[] = {
	{ "channel_id", "jux16pkewjrkfj3ehep1psxyxc" },
	{ "channel_name", "town-square" },
	{ "command", "/ops" },
	{ "response_url", "https://mm.example.com/hooks/commands/xbrkb8p393gjpq5cawei7npije" },
	{ "root_id", "" },
	{ "team_domain", "test" },
	{ "team_id", "carya1qs77bemjup96ff538snh" },
	{ "text", "run deploy\n  now" },
	{ "token", "okwexkjpe7ygb8eq1ww58t483w" },
	{ "trigger_id", "dHJpZ2dlcg==" },
	{ "user_id", "aoa1agao6t8fmx3ikt1j9w5ybw" },
	{ "user_name", "alice" },
	{ "user_mentions", "bob" },
};
#define NMM (sizeof(mm) / sizeof(mm[0]))

Test(slash_request, mattermost_fields)
{
	struct chat_request r;

	cr_assert_eq(chat_request_parse_fields(mm, NMM, "Token okwexkjpe7ygb8eq1ww58t483w", &r), 0);
	cr_expect_str_eq(r.token, "okwexkjpe7ygb8eq1ww58t483w");
	cr_expect_str_eq(r.team_id, "carya1qs77bemjup96ff538snh");
	cr_expect_str_eq(r.team_domain, "test");
	cr_expect_str_eq(r.channel_id, "jux16pkewjrkfj3ehep1psxyxc");
	cr_expect_str_eq(r.channel_name, "town-square");
	cr_expect_str_eq(r.user_id, "aoa1agao6t8fmx3ikt1j9w5ybw");
	cr_expect_str_eq(r.user_name, "alice");
	cr_expect_str_eq(r.command, "/ops");
	cr_expect_str_eq(r.text, "run deploy\n  now");
	cr_expect_str_eq(r.response_url,
			 "https://mm.example.com/hooks/commands/xbrkb8p393gjpq5cawei7npije");
	cr_expect_str_eq(r.trigger_id, "dHJpZ2dlcg==");
	cr_expect_str_eq(r.root_id, "");
	cr_expect(chat_request_identifies_user(&r));
	chat_request_dispose(&r);
	cr_expect_null(r.token);
	chat_request_dispose(NULL);
}

Test(slash_request, token_from_header_only)
{
	struct chat_request_field f[] = { { "text", "help" } };
	struct chat_request r;

	cr_assert_eq(chat_request_parse_fields(f, 1, "  token \t abc123  ", &r), 0);
	cr_expect_str_eq(r.token, "abc123");
	cr_expect_null(r.team_id);
	cr_expect_not(chat_request_identifies_user(&r));
	chat_request_dispose(&r);
}

Test(slash_request, token_sources)
{
	struct chat_request_field with[] = { { "token", "abc" } };
	struct chat_request_field empty[] = { { "token", "" } };
	struct chat_request r;

	/* other schemes are not the slash command token */
	cr_assert_eq(chat_request_parse_fields(with, 1, "Bearer other", &r), 0);
	cr_expect_str_eq(r.token, "abc");
	cr_expect_str_eq(r.text, "");
	chat_request_dispose(&r);
	cr_assert_eq(chat_request_parse_fields(NULL, 0, "Bearer other", &r), 0);
	cr_expect_null(r.token);
	chat_request_dispose(&r);
	cr_assert_eq(chat_request_parse_fields(NULL, 0, "Tokenabc", &r), 0);
	cr_expect_null(r.token);
	chat_request_dispose(&r);
	cr_assert_eq(chat_request_parse_fields(NULL, 0, "Token ", &r), 0);
	cr_expect_null(r.token);
	chat_request_dispose(&r);
	/* an empty field defers to the header; alone it stays "" (a wrong token) */
	cr_assert_eq(chat_request_parse_fields(empty, 1, "Token hdr", &r), 0);
	cr_expect_str_eq(r.token, "hdr");
	chat_request_dispose(&r);
	cr_assert_eq(chat_request_parse_fields(empty, 1, NULL, &r), 0);
	cr_expect_str_eq(r.token, "");
	chat_request_dispose(&r);
	/* same on both sides is fine; different is refused */
	cr_assert_eq(chat_request_parse_fields(with, 1, "Token abc", &r), 0);
	cr_expect_str_eq(r.token, "abc");
	chat_request_dispose(&r);
	cr_expect_eq(chat_request_parse_fields(with, 1, "Token abd", &r), SO_EINVALID);
	cr_expect_null(r.token);
	cr_expect_null(strstr(error_msg(), "abd"));
	cr_expect_eq(chat_request_parse_fields(with, 1, "Token abcd", &r), SO_EINVALID);
}

Test(slash_request, first_value_wins)
{
	struct chat_request_field f[] = { { "user_name", "first" }, { "user_name", "second" } };
	struct chat_request r;

	cr_assert_eq(chat_request_parse_fields(f, 2, NULL, &r), 0);
	cr_expect_str_eq(r.user_name, "first");
	chat_request_dispose(&r);
}

Test(slash_request, caps_per_field)
{
	static const struct {
		const char *name;
		size_t max;
	} caps[] = {
		{ "token", CHAT_REQ_MAX_TOKEN },     { "team_id", CHAT_REQ_MAX_ID },
		{ "team_domain", CHAT_REQ_MAX_NAME },{ "channel_id", CHAT_REQ_MAX_ID },
		{ "channel_name", CHAT_REQ_MAX_NAME },{ "user_id", CHAT_REQ_MAX_ID },
		{ "user_name", CHAT_REQ_MAX_NAME },  { "command", CHAT_REQ_MAX_COMMAND },
		{ "text", CHAT_REQ_MAX_TEXT },       { "response_url", CHAT_REQ_MAX_URL },
		{ "trigger_id", CHAT_REQ_MAX_TRIGGER_ID }, { "root_id", CHAT_REQ_MAX_ID },
	};

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		char *v = xmalloc(caps[i].max + 2);
		struct chat_request_field f[] = { { caps[i].name, v } };
		struct chat_request r;
		char want[128];

		memset(v, 'a', caps[i].max);
		v[caps[i].max] = '\0';
		cr_expect_eq(chat_request_parse_fields(f, 1, NULL, &r), 0, "%s at cap", caps[i].name);
		chat_request_dispose(&r);
		v[caps[i].max] = 'a';
		v[caps[i].max + 1] = '\0';
		cr_expect_eq(chat_request_parse_fields(f, 1, NULL, &r), SO_ETOOBIG, "%s", caps[i].name);
		snprintf(want, sizeof(want), "the %s field is too long (at most %zu bytes)",
			 caps[i].name, caps[i].max);
		cr_expect_str_eq(error_msg(), want);
		cr_expect_null(r.text);
		free(v);
	}
}

Test(slash_request, header_caps)
{
	char *h = xmalloc(CHAT_REQ_MAX_AUTHORIZATION + 2);
	struct chat_request r;

	memset(h, 'a', CHAT_REQ_MAX_AUTHORIZATION + 1);
	h[CHAT_REQ_MAX_AUTHORIZATION + 1] = '\0';
	cr_expect_eq(chat_request_parse_fields(NULL, 0, h, &r), SO_ETOOBIG);
	memcpy(h, "Token ", 6);
	h[CHAT_REQ_MAX_TOKEN + 7] = '\0';
	cr_expect_eq(chat_request_parse_fields(NULL, 0, h, &r), SO_ETOOBIG);
	free(h);
}

Test(slash_request, identifies_user_needs_all_four)
{
	struct chat_request_field f[] = {
		{ "team_id", "t" }, { "team_domain", "d" }, { "user_id", "u" }, { "user_name", " " },
	};
	struct chat_request r;

	cr_assert_eq(chat_request_parse_fields(f, 4, NULL, &r), 0);
	cr_expect_not(chat_request_identifies_user(&r));
	chat_request_dispose(&r);
	f[3].value = "alice";
	cr_assert_eq(chat_request_parse_fields(f, 4, NULL, &r), 0);
	cr_expect(chat_request_identifies_user(&r));
	chat_request_dispose(&r);
	cr_expect_not(chat_request_identifies_user(NULL));
}
