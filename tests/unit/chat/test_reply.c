/*
 * Unit tests for chat/reply: the CommandResponse JSON shape, the link
 * formatter (GitLab's LinkFormatter cases), UTF-8 scrubbing and the
 * Mattermost size limits.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "chat/reply.h"
#include "util/buf.h"

static char *dump_free(json_t *r)
{
	char *s = chat_reply_dump(r);

	json_decref(r);
	return s;
}

static void expect_dump(json_t *r, const char *want)
{
	char *s = dump_free(r);

	cr_expect_str_eq(s, want);
	free(s);
}

Test(reply, ephemeral_and_in_channel_shape)
{
	expect_dump(chat_reply_ephemeral("hi"),
		    "{\"response_type\":\"ephemeral\",\"status\":200,\"text\":\"hi\"}");
	expect_dump(chat_reply_in_channel("x"),
		    "{\"response_type\":\"in_channel\",\"status\":200,\"text\":\"x\"}");
	expect_dump(chat_reply_ephemeral(NULL), "{\"response_type\":\"ephemeral\",\"status\":200}");
	expect_dump(chat_reply_ephemeral("a \"q\"\n\\ \xc3\xa9"),
		    "{\"response_type\":\"ephemeral\",\"status\":200,"
		    "\"text\":\"a \\\"q\\\"\\n\\\\ \xc3\xa9\"}");
}

Test(reply, text_is_link_formatted)
{
	expect_dump(chat_reply_ephemeral("please [connect](https://ops.example/x?token=a_b)."),
		    "{\"response_type\":\"ephemeral\",\"status\":200,"
		    "\"text\":\"please <https://ops.example/x?token=a_b|connect>.\"}");
}

Test(reply, attachments_format_pretext_and_text_only)
{
	json_t *r = chat_reply_in_channel(NULL);
	struct chat_attachment_field f[] = {
		{ "Assignee", "[x](http://f)", true, false },
		{ "Comment", "plain", false, false },
	};
	struct chat_attachment a = {
		.title = "[t](http://t) \xc2\xb7 #1",
		.title_link = "http://i/1",
		.author_name = "Ann",
		.fallback = "Issue #1: t",
		.pretext = "Issue *[#1](http://i/1)*",
		.text = "**Open**",
		.color = "#38ae67",
		.fields = f,
		.n_fields = 2,
		.mrkdwn_in = CHAT_MRKDWN_TITLE | CHAT_MRKDWN_PRETEXT | CHAT_MRKDWN_FIELDS,
	};

	chat_reply_add_attachment(r, &a);
	expect_dump(r, "{\"response_type\":\"in_channel\",\"status\":200,\"attachments\":[{"
		       "\"title\":\"[t](http://t) \xc2\xb7 #1\",\"title_link\":\"http://i/1\","
		       "\"author_name\":\"Ann\",\"fallback\":\"Issue #1: t\","
		       "\"pretext\":\"Issue *<http://i/1|#1>*\",\"text\":\"**Open**\","
		       "\"color\":\"#38ae67\",\"fields\":[{\"title\":\"Assignee\","
		       "\"value\":\"[x](http://f)\",\"short\":true},{\"title\":\"Comment\","
		       "\"value\":\"plain\"}],\"mrkdwn_in\":[\"title\",\"pretext\",\"fields\"]}]}");
}

Test(reply, raw_attachment_keeps_markdown)
{
	json_t *r = chat_reply_in_channel(NULL);
	struct chat_attachment a = { .text = "by [A](http://u)", .raw = true };

	chat_reply_add_attachment(r, &a);
	expect_dump(r, "{\"response_type\":\"in_channel\",\"status\":200,"
		       "\"attachments\":[{\"text\":\"by [A](http://u)\"}]}");
}

struct fmt_case {
	const char *in, *out;
};

static const struct fmt_case fmt_cases[] = {
	{ "[text](http://example.com)", "<http://example.com|text>" },
	{ "[text](https://example.com/a/b?c=d&e=f#g)", "<https://example.com/a/b?c=d&e=f#g|text>" },
	{ "[](https://x.y)", "<https://x.y>" },
	{ "[mail me](mailto:a@b.c)", "<mailto:a@b.c|mail me>" },
	{ "[ftp](ftp://x)", "[ftp](ftp://x)" },
	{ "[x](HTTP://x)", "[x](HTTP://x)" },
	{ "[wiki](http://x.org/A_(b))", "<http://x.org/A_(b)|wiki>" },
	{ "[two](http://x/(a)(b))", "[two](http://x/(a)(b))" },
	{ "[pct](http://x/a%20b)", "[pct](http://x/a%20b)" },
	{ "[sp](http://x/a b)", "[sp](http://x/a b)" },
	{ "[a]b(http://x)", "[a]b(http://x)" },
	{ "[a [b](http://x)", "[a <http://x|b>" },
	{ "[a](http://[b](http://c)", "[a](http://<http://c|b>" },
	{ "[multi\nline](http://x)", "<http://x|multi\nline>" },
	{ "see [a](http://a) and [b](https://b).", "see <http://a|a> and <https://b|b>." },
	{ "<a href=\"http://x\">text</a>", "<http://x|text>" },
	{ "<a class='c' href='http://x' target=_blank>t</a> and [m](http://y)",
	  "<http://x|t> and <http://y|m>" },
	{ "<a href=\"x\">\ntext</a>", "<a href=\"x\">\ntext</a>" },
	{ "<a href=\"x\"></a> tail</a>", "<x|</a> tail>" },
	{ "<a href=x>t</a>", "<a href=x>t</a>" },
	{ "<abbr href='u'>t</a>", "<u|t>" },
	{ "<a href=\"\"x\">t</a>", "<\"x|t>" },
	{ "1 <a href='u1'>a</a> 2 <a href='u2'>b</a>", "1 <u1|a> 2 <u2|b>" },
	{ "<a href='u'>[x](http://y)</a>", "<u|<http://y|x>>" },
	{ "<a><a href='u'>t</a>", "<u|t>" },
	{ "no links here <arguments> [x] (y)", "no links here <arguments> [x] (y)" },
	{ "bad \xff [x](http://y)", "bad \xef\xbf\xbd <http://y|x>" },
	{ "", "" },
};

Test(reply, link_formatter_cases)
{
	for (size_t i = 0; i < sizeof(fmt_cases) / sizeof(fmt_cases[0]); i++) {
		char *got = chat_link_format(fmt_cases[i].in);

		cr_expect_str_eq(got, fmt_cases[i].out, "format(\"%s\")", fmt_cases[i].in);
		free(got);
	}
	cr_expect_null(chat_link_format(NULL));
}

Test(reply, link_formatter_is_linear)
{
	static const char *const units[] = { "<a href='", "<a", "[](http://", "[", "](",
					     "<a href='x'>", "[x](http://a(", "href='\"" };
	size_t n = 200000;
	char *s = xmalloc(n + 1);
	clock_t start = clock();

	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		size_t ul = strlen(units[u]), k = 0;
		char *out;

		while (k + ul <= n) {
			memcpy(s + k, units[u], ul);
			k += ul;
		}
		s[k] = '\0';
		out = chat_link_format(s);
		cr_assert_not_null(out);
		free(out);
	}
	cr_expect_lt((double)(clock() - start) / CLOCKS_PER_SEC, 3.0);
	free(s);
}

Test(reply, scrub_replaces_invalid_utf8)
{
	static const struct fmt_case c[] = {
		{ "ok \xc3\xa9", "ok \xc3\xa9" },
		{ "\xff", "\xef\xbf\xbd" },
		{ "a\xe3\x81" "b", "a\xef\xbf\xbd" "b" },       /* truncated: one U+FFFD */
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" }, /* surrogate */
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },      /* overlong */
		{ "\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
		{ "\xf0\x9f\x8e\x89", "\xf0\x9f\x8e\x89" },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char *got = chat_utf8_scrub(c[i].in, strlen(c[i].in));

		cr_expect_str_eq(got, c[i].out, "case %zu", i);
		free(got);
	}
}

Test(reply, invalid_utf8_reaches_json_as_replacement)
{
	expect_dump(chat_reply_ephemeral("job \xff"),
		    "{\"response_type\":\"ephemeral\",\"status\":200,\"text\":\"job \xef\xbf\xbd\"}");
}

static char *repeat(const char *unit, size_t times)
{
	struct buf b = BUF_INIT(0);

	for (size_t i = 0; i < times; i++)
		buf_puts(&b, unit);
	return buf_detach(&b);
}

static const char *text_of(json_t *r)
{
	return json_string_value(json_object_get(r, "text"));
}

Test(reply, long_text_is_cut_to_the_post_limit)
{
	char *ascii = repeat("a", 20000), *wide = repeat("\xc3\xa9", 20000);
	char *ok = repeat("b", CHAT_TEXT_MAX_RUNES);
	json_t *r = chat_reply_in_channel(ascii), *w = chat_reply_in_channel(wide);
	json_t *o = chat_reply_in_channel(ok);
	const char *t = text_of(r), *wt = text_of(w);
	size_t ml = strlen(CHAT_TRUNCATION_MARKER);

	cr_expect_eq(chat_utf8_runes(t), CHAT_TEXT_MAX_RUNES);
	cr_expect_str_eq(t + strlen(t) - ml, CHAT_TRUNCATION_MARKER);
	cr_expect_eq(chat_utf8_runes(wt), CHAT_TEXT_MAX_RUNES);
	cr_expect_str_eq(wt + strlen(wt) - ml, CHAT_TRUNCATION_MARKER);
	cr_expect_eq(strncmp(wt, "\xc3\xa9\xc3\xa9", 4), 0);
	/* at the limit exactly: untouched */
	cr_expect_str_eq(text_of(o), ok);
	json_decref(r);
	json_decref(w);
	json_decref(o);
	free(ascii);
	free(wide);
	free(ok);
}

Test(reply, cut_never_splits_a_link)
{
	char *pad = repeat("x", CHAT_TEXT_MAX_RUNES - 60);
	char *s = xasprintf("%s [link text](https://example.com/a/very/long/path/to/something) end",
			    pad);
	char *cut = chat_text_limit(s, CHAT_TEXT_MAX_RUNES);
	char *formatted = chat_link_format(s);
	char *cut2 = chat_text_limit(formatted, CHAT_TEXT_MAX_RUNES);
	size_t ml = strlen(CHAT_TRUNCATION_MARKER);

	/* the raw Markdown is not a <...> link, so it is cut anywhere... */
	cr_expect_eq(chat_utf8_runes(cut), CHAT_TEXT_MAX_RUNES);
	/* ...but a formatted <url|text> is dropped whole */
	cr_expect_eq(strlen(cut2), strlen(pad) + 1 + ml);
	cr_expect_null(strchr(cut2, '<'));
	free(pad);
	free(s);
	free(cut);
	free(formatted);
	free(cut2);
}

Test(reply, body_stays_under_the_byte_limit)
{
	json_t *r = chat_reply_ephemeral("Here are many:");
	char *big = repeat("\xe6\x97\xa5", 16000), *s;
	struct chat_attachment a = { .text = big, .raw = true };

	for (int i = 0; i < 40; i++)
		chat_reply_add_attachment(r, &a);
	s = chat_reply_dump(r);
	cr_expect_leq(strlen(s), CHAT_REPLY_MAX_BYTES);
	cr_expect_lt(json_array_size(json_object_get(r, "attachments")), 40);
	cr_expect_gt(json_array_size(json_object_get(r, "attachments")), 0);
	cr_expect_not_null(strstr(text_of(r), "Here are many:\n\n_"));
	cr_expect_not_null(strstr(text_of(r), "attachments were left out"));
	free(s);
	free(big);
	json_decref(r);
}

Test(reply, runes_count_characters)
{
	cr_expect_eq(chat_utf8_runes(""), 0);
	cr_expect_eq(chat_utf8_runes("a\xc3\xa9\xe6\x97\xa5\xf0\x9f\x8e\x89"), 4);
}
