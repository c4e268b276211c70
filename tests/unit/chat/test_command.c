/*
 * Unit tests for chat/command: every example of GitLab's grammar from the
 * reference, edge cases found by reading its regexes, and linear time on
 * inputs that would make a backtracking regex slow.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "chat/command.h"
#include "util/buf.h"
#include "util/error.h"

#define H CHAT_CMD_HELP
#define SHOW CHAT_CMD_ISSUE_SHOW
#define NEW CHAT_CMD_ISSUE_NEW
#define SEARCH CHAT_CMD_ISSUE_SEARCH
#define MOVE CHAT_CMD_ISSUE_MOVE
#define CLOSE CHAT_CMD_ISSUE_CLOSE
#define COMMENT CHAT_CMD_ISSUE_COMMENT
#define DEPLOY CHAT_CMD_DEPLOY
#define RUN CHAT_CMD_RUN
#define INCIDENT CHAT_CMD_INCIDENT_DECLARE

/* a: first string capture, b: second (per kind: new title/description,
 * search query, move path, comment note, deploy from/to, run job/args). */
struct row {
	const char *text;
	enum chat_command_kind kind;
	int64_t iid;
	const char *a, *b;
};

static const struct row rows[] = {
	/* issue show */
	{ "issue show 12", SHOW, 12, NULL, NULL },
	{ "issue show #12", SHOW, 12, NULL, NULL },
	{ "issue show 12abc", SHOW, 12, NULL, NULL },
	{ "issue  show\t\n12", SHOW, 12, NULL, NULL },
	{ "issue show 0007", SHOW, 7, NULL, NULL },
	{ "issue show 99999999999999999999999", SHOW, INT64_MAX, NULL, NULL },
	{ "issue show", H, 0, NULL, NULL },
	{ "issue show abc", H, 0, NULL, NULL },
	{ "issue show ##12", H, 0, NULL, NULL },
	{ "issue show12", H, 0, NULL, NULL },
	{ "Issue show 12", H, 0, NULL, NULL },
	{ "ISSUE SHOW 12", H, 0, NULL, NULL },
	{ " issue show 12", H, 0, NULL, NULL },
	/* issue new / create */
	{ "issue new my title", NEW, 0, "my title", "" },
	{ "issue create my title\n\ndescription", NEW, 0, "my title", "description" },
	{ "issue new title  \n  desc line 1\ndesc line 2 \n\n", NEW, 0, "title  ",
	  "  desc line 1\ndesc line 2" },
	{ "issue new\n\ntitle\ndesc", NEW, 0, "title", "desc" },
	{ "issue new \n", NEW, 0, "", "" },
	{ "issue new title\r\ndesc", NEW, 0, "title\r", "desc" },
	{ "issue new", H, 0, NULL, NULL },
	{ "issue newish title", H, 0, NULL, NULL },
	{ "issue New title", H, 0, NULL, NULL },
	{ "issue new \xc3\x9cn\xc3\xaf" "c\xc3\xb8" "d\xc3\xa9 \xf0\x9f\x8e\x89\nBeschreibung \xe2\x9c\x93",
	  NEW, 0, "\xc3\x9cn\xc3\xaf" "c\xc3\xb8" "d\xc3\xa9 \xf0\x9f\x8e\x89", "Beschreibung \xe2\x9c\x93" },
	/* issue search */
	{ "issue search foo bar", SEARCH, 0, "foo bar", NULL },
	{ "issue search foo\nbar", SEARCH, 0, "foo", NULL },
	{ "issue search \nbar", SEARCH, 0, "bar", NULL },
	{ "issue search  ", SEARCH, 0, "", NULL },
	{ "issue search", H, 0, NULL, NULL },
	/* issue move */
	{ "issue move #123456 to gitlab/gitlab-ci", MOVE, 123456, "gitlab/gitlab-ci", NULL },
	{ "issue move 123456 gitlab/gitlab-ci", MOVE, 123456, "gitlab/gitlab-ci", NULL },
	{ "issue move 123456 to gitlab/gitlab-ci ", MOVE, 123456, "gitlab/gitlab-ci", NULL },
	{ "issue move 12 to", MOVE, 12, "to", NULL },
	{ "issue move 12 to   ", MOVE, 12, "to", NULL },
	{ "issue move 12 to to", MOVE, 12, "to", NULL },
	{ "issue move 12 tomato/x", MOVE, 12, "tomato/x", NULL },
	{ "issue move 12\nto\ng/p and more", MOVE, 12, "g/p", NULL },
	{ "issue move 12", H, 0, NULL, NULL },
	{ "issue move 12 ", H, 0, NULL, NULL },
	{ "issue move g/p 12", H, 0, NULL, NULL },
	/* issue close */
	{ "issue close 5 please", CLOSE, 5, NULL, NULL },
	{ "issue close #5", CLOSE, 5, NULL, NULL },
	{ "issue close", H, 0, NULL, NULL },
	/* issue comment */
	{ "issue comment 5 hello", COMMENT, 5, "hello", NULL },
	{ "issue comment #5\nhello\n  world  \n", COMMENT, 5, "hello\n  world", NULL },
	{ "issue comment 5", COMMENT, 5, "", NULL },
	{ "issue comment 5abc", COMMENT, 5, "abc", NULL },
	{ "issue comment", H, 0, NULL, NULL },
	{ "issue comment x", H, 0, NULL, NULL },
	{ "issue foo", H, 0, NULL, NULL },
	{ "issue", H, 0, NULL, NULL },
	/* deploy */
	{ "deploy staging to production", DEPLOY, 0, "staging", "production" },
	{ "deploy staging env to production env", DEPLOY, 0, "staging env", "production env" },
	{ "deploy    staging    to    production    ", DEPLOY, 0, "staging", "production" },
	{ "deploy staging tooo production", DEPLOY, 0, "staging", "production" },
	{ "deploy a to b to c", DEPLOY, 0, "a to b", "c" },
	{ "deploy staging\tto\nproduction", DEPLOY, 0, "staging", "production" },
	{ "deploy\nstaging to production", DEPLOY, 0, "staging", "production" },
	{ "deploy staging to   ", H, 0, NULL, NULL },
	{ "deploy to production", H, 0, NULL, NULL },
	{ "deploy  to production", H, 0, NULL, NULL },
	{ "deploy \xc2\xa0 to production", H, 0, NULL, NULL }, /* U+00A0 is blank */
	{ "deploy \xe3\x80\x80 to production", H, 0, NULL, NULL }, /* U+3000 too */
	{ "deploy \xc3\xa9 to production", DEPLOY, 0, "\xc3\xa9", "production" },
	{ "deploy staging t production", H, 0, NULL, NULL },
	{ "deploy staging", H, 0, NULL, NULL },
	{ "deploy", H, 0, NULL, NULL },
	{ "deployment to production", H, 0, NULL, NULL },
	{ "Deploy staging to production", H, 0, NULL, NULL },
	{ "foo bar", H, 0, NULL, NULL },
	/* run */
	{ "run foo", RUN, 0, "foo", NULL },
	{ "run foo bar baz", RUN, 0, "foo", "bar baz" },
	{ "run foo\nbar\nbaz", RUN, 0, "foo", "bar\nbaz" },
	{ "run   foo   bar  ", RUN, 0, "foo", "bar  " },
	{ "run\tfoo\n\n  bar", RUN, 0, "foo", "bar" },
	{ "run foo  ", RUN, 0, "foo", " " },
	{ "run foo \n", RUN, 0, "foo", "\n" },
	{ "run foo ", H, 0, NULL, NULL },
	{ "run foo\n", H, 0, NULL, NULL },
	{ "run", H, 0, NULL, NULL },
	{ "run ", H, 0, NULL, NULL },
	{ "run  \n ", H, 0, NULL, NULL },
	{ "runner foo", H, 0, NULL, NULL },
	{ "Run foo", H, 0, NULL, NULL },
	{ "run deploy echo \"$(rm -rf /)\" `id` 'x' \\n $HOME\n  second line\t",
	  RUN, 0, "deploy", "echo \"$(rm -rf /)\" `id` 'x' \\n $HOME\n  second line\t" },
	{ "run j\xc3\xb6" "b \xf0\x9f\x9a\x80 \xe6\x97\xa5\xe6\x9c\xac", RUN, 0, "j\xc3\xb6" "b",
	  "\xf0\x9f\x9a\x80 \xe6\x97\xa5\xe6\x9c\xac" },
	{ "run job \xff\xfe\xc3", RUN, 0, "job", "\xff\xfe\xc3" },
	/* incident declare */
	{ "incident declare", INCIDENT, 0, NULL, NULL },
	{ "incident declare ", H, 0, NULL, NULL },
	{ "incident  declare", H, 0, NULL, NULL },
	{ "incident", H, 0, NULL, NULL },
	/* help */
	{ "help", H, 0, NULL, NULL },
	{ "", H, 0, NULL, NULL },
	{ " ", H, 0, NULL, NULL },
	{ "\xff\xfe", H, 0, NULL, NULL },
};

static void check_str(const char *what, const char *text, const char *got, const char *want)
{
	if (!want) {
		cr_expect_null(got, "%s of \"%s\": got \"%s\", want NULL", what, text, got);
		return;
	}
	cr_expect_not_null(got, "%s of \"%s\": got NULL, want \"%s\"", what, text, want);
	if (got)
		cr_expect_str_eq(got, want, "%s of \"%s\"", what, text);
}

Test(command, grammar_table)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct chat_command c;
		const char *a = NULL, *b = NULL;

		cr_assert_eq(chat_command_parse(r->text, strlen(r->text), &c), 0);
		cr_expect_eq(c.kind, r->kind, "kind of \"%s\": got %d, want %d", r->text, c.kind,
			     r->kind);
		cr_expect_eq(c.iid, r->iid, "iid of \"%s\": got %lld", r->text, (long long)c.iid);
		switch (c.kind) {
		case NEW: a = c.title; b = c.description; break;
		case SEARCH: a = c.query; break;
		case MOVE: a = c.project_path; break;
		case COMMENT: a = c.note; break;
		case DEPLOY: a = c.from; b = c.to; break;
		case RUN: a = c.job; b = c.arguments; break;
		default: break;
		}
		if (c.kind == r->kind) {
			check_str("first capture", r->text, a, r->a);
			check_str("second capture", r->text, b, r->b);
		}
		chat_command_dispose(&c);
	}
}

Test(command, only_one_kinds_fields_are_set)
{
	struct chat_command c;

	cr_assert_eq(chat_command_parse("run foo bar", 11, &c), 0);
	cr_expect_null(c.title);
	cr_expect_null(c.query);
	cr_expect_null(c.from);
	cr_expect_null(c.note);
	chat_command_dispose(&c);
	cr_expect_null(c.job);
	cr_expect_eq(c.kind, CHAT_CMD_HELP);
}

Test(command, help_requested_is_a_byte_prefix)
{
	static const struct {
		const char *text;
		bool help;
	} t[] = {
		{ "help", true },      { "helpme", true },   { "help issue", true },
		{ "Help", false },     { " help", false },   { "", false },
		{ "hel", false },      { "HELP", false },    { "issue foo", false },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct chat_command c;

		cr_assert_eq(chat_command_parse(t[i].text, strlen(t[i].text), &c), 0);
		cr_expect_eq(c.help_requested, t[i].help, "\"%s\"", t[i].text);
		cr_expect_eq(c.kind, CHAT_CMD_HELP, "\"%s\"", t[i].text);
		chat_command_dispose(&c);
	}
}

Test(command, text_need_not_be_terminated)
{
	struct chat_command c;
	const char buf[] = { 'r', 'u', 'n', ' ', 'a', ' ', 'b', 'X', 'Y' };

	cr_assert_eq(chat_command_parse(buf, 7, &c), 0);
	cr_expect_eq(c.kind, CHAT_CMD_RUN);
	cr_expect_str_eq(c.arguments, "b");
	chat_command_dispose(&c);
	cr_assert_eq(chat_command_parse(NULL, 0, &c), 0);
	cr_expect_eq(c.kind, CHAT_CMD_HELP);
}

Test(command, refuses_nul_and_oversized_text)
{
	struct chat_command c;
	char *big = xmalloc(CHAT_COMMAND_MAX + 1);

	cr_expect_eq(chat_command_parse("run a\0b", 7, &c), SO_EINVALID);
	cr_expect_eq(c.kind, CHAT_CMD_HELP);
	cr_expect_null(c.job);
	memset(big, 'a', CHAT_COMMAND_MAX + 1);
	memcpy(big, "run x ", 6);
	cr_expect_eq(chat_command_parse(big, CHAT_COMMAND_MAX + 1, &c), SO_ETOOBIG);
	cr_expect_str_eq(error_msg(), "the command is too long (at most 16384 bytes)");
	cr_assert_eq(chat_command_parse(big, CHAT_COMMAND_MAX, &c), 0);
	cr_expect_eq(c.kind, CHAT_CMD_RUN);
	cr_expect_eq(strlen(c.arguments), CHAT_COMMAND_MAX - 6);
	chat_command_dispose(&c);
	free(big);
}

Test(command, restrict_turns_unavailable_commands_into_help)
{
	struct chat_command c;

	cr_assert_eq(chat_command_parse("issue show 3", 12, &c), 0);
	chat_command_restrict(&c, CHAT_CMD_BIT(CHAT_CMD_RUN) | CHAT_CMD_BIT(CHAT_CMD_DEPLOY));
	cr_expect_eq(c.kind, CHAT_CMD_HELP);
	cr_expect_eq(c.iid, 0);
	cr_assert_eq(chat_command_parse("run x", 5, &c), 0);
	chat_command_restrict(&c, CHAT_CMD_BIT(CHAT_CMD_RUN));
	cr_expect_eq(c.kind, CHAT_CMD_RUN);
	cr_expect_str_eq(c.job, "x");
	chat_command_dispose(&c);
	chat_command_restrict(NULL, 0);
	chat_command_dispose(NULL);
}

Test(command, names_and_help_messages)
{
	cr_expect_str_eq(chat_command_name(CHAT_CMD_ISSUE_NEW), "issue new");
	cr_expect_str_eq(chat_command_name(CHAT_CMD_INCIDENT_DECLARE), "incident declare");
	cr_expect_str_eq(chat_command_help_message(CHAT_CMD_ISSUE_MOVE),
			 "issue move <issue_id> (to)? <project_path>");
	cr_expect_str_eq(chat_command_help_message(CHAT_CMD_ISSUE_COMMENT),
			 "issue comment <id> *`\xe2\x87\xa7 Shift`*+*`\xe2\x86\xb5 Enter`* <comment>");
	cr_expect_str_eq(chat_command_help_message(CHAT_CMD__COUNT), "help");
}

/* Inputs that make backtracking regexes quadratic or worse: parsing all
 * of them many times must stay fast. */
Test(command, linear_on_hostile_input)
{
	static const char *const units[] = { " to", "\t", " too", "issue move 1 ", "o",
					     "run ", " ", "#1", "to ", "deploy " };
	char *text = xmalloc(CHAT_COMMAND_MAX);
	clock_t start = clock();

	for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
		static const char *const heads[] = { "deploy ", "run x", "issue move 1 ",
						     "issue new ", "issue comment 1", "" };
		for (size_t h = 0; h < sizeof(heads) / sizeof(heads[0]); h++) {
			size_t n = strlen(heads[h]), ul = strlen(units[u]);

			memcpy(text, heads[h], n);
			while (n + ul <= CHAT_COMMAND_MAX) {
				memcpy(text + n, units[u], ul);
				n += ul;
			}
			for (int rep = 0; rep < 20; rep++) {
				struct chat_command c;

				cr_assert_eq(chat_command_parse(text, n, &c), 0);
				chat_command_dispose(&c);
			}
		}
	}
	cr_expect_lt((double)(clock() - start) / CLOCKS_PER_SEC, 5.0);
	free(text);
}
