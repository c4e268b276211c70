/*
 * Unit tests for ci/expr: GitLab's `rules:if` expression language.
 *
 * The first table is GitLab's own statement_spec.rb table (value of each
 * statement, as Ruby's inspect shows it); the second checks truthiness and
 * the cases the CI/CD variable expression docs describe; the third the
 * statements GitLab refuses ("invalid expression syntax").
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "ci/expr.h"
#include "util/error.h"

static const char *vars[][2] = {
	{ "PRESENT_VARIABLE", "my variable" },
	{ "PATH_VARIABLE", "a/path/variable/value" },
	{ "FULL_PATH_VARIABLE", "/a/full/path/variable/value" },
	{ "EMPTY_VARIABLE", "" },
	{ "SPACES", " \t " },
	{ "teststring", "abcde" },
	{ "pattern1", "/^ab.*/" },
	{ "pattern2", "/^at.*/" },
	{ "pattern_i", "/^AB/i" },
	{ "bad_pattern", "/(/" },
	{ "CI_PIPELINE_SOURCE", "chat" },
	{ "CI_COMMIT_BRANCH", "feature/login" },
	{ "CI_COMMIT_TAG", NULL },
	{ "CI_DEFAULT_BRANCH", "main" },
	{ "CI_COMMIT_REF_NAME", "main" },
	{ "CHAT_INPUT", "deploy \"prod\" $(rm -rf /)" },
	{ "MULTI", "one\ntwo" },
	{ "VERSION", "v1.2.3" },
	{ "RELEASE_RE", "/^v\\d+\\.\\d+/" },
	{ "SLASHED_RE", "/^feature\\/lo/" },
	{ "NOT_RE", "feature/login and more" },
	{ "UNICODE_SPACE", "\xc2\xa0\xe3\x80\x80" },
	{ "A", "a" },
	{ "B", "b" },
};

static const char *lookup(void *cls, const char *name)
{
	(void)cls;
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		if (strcmp(vars[i][0], name) == 0)
			return vars[i][1];
	return NULL;
}

struct vcase {
	const char *expr;
	const char *value;   /* inspect form */
};

/* GitLab spec/lib/gitlab/ci/pipeline/expression/statement_spec.rb #evaluate */
static const struct vcase gitlab_values[] = {
	{ "$PRESENT_VARIABLE == \"my variable\"", "true" },
	{ "\"my variable\" == $PRESENT_VARIABLE", "true" },
	{ "$PRESENT_VARIABLE == null", "false" },
	{ "$EMPTY_VARIABLE == null", "false" },
	{ "\"\" == $EMPTY_VARIABLE", "true" },
	{ "$EMPTY_VARIABLE", "\"\"" },
	{ "$UNDEFINED_VARIABLE == null", "true" },
	{ "null == $UNDEFINED_VARIABLE", "true" },
	{ "$PRESENT_VARIABLE", "\"my variable\"" },
	{ "$UNDEFINED_VARIABLE", "nil" },
	{ "$PRESENT_VARIABLE =~ /var.*e$/", "true" },
	{ "$PRESENT_VARIABLE =~ /va\\r.*e$/", "false" },
	{ "$PRESENT_VARIABLE =~ /va\\/r.*e$/", "false" },
	{ "$PRESENT_VARIABLE =~ /^var.*/", "false" },
	{ "$EMPTY_VARIABLE =~ /var.*/", "false" },
	{ "$UNDEFINED_VARIABLE =~ /var.*/", "false" },
	{ "$PRESENT_VARIABLE =~ /VAR.*/i", "true" },
	{ "$PATH_VARIABLE =~ /path\\/variable/", "true" },
	{ "$FULL_PATH_VARIABLE =~ /^\\/a\\/full\\/path\\/variable\\/value$/", "true" },
	{ "$FULL_PATH_VARIABLE =~ /\\\\/path\\\\/variable\\\\/value$/", "true" },
	{ "$PRESENT_VARIABLE != \"my variable\"", "false" },
	{ "\"my variable\" != $PRESENT_VARIABLE", "false" },
	{ "$PRESENT_VARIABLE != null", "true" },
	{ "$EMPTY_VARIABLE != null", "true" },
	{ "\"\" != $EMPTY_VARIABLE", "false" },
	{ "$UNDEFINED_VARIABLE != null", "false" },
	{ "null != $UNDEFINED_VARIABLE", "false" },
	{ "$PRESENT_VARIABLE !~ /var.*e$/", "false" },
	{ "$PRESENT_VARIABLE !~ /^var.*/", "true" },
	{ "$PRESENT_VARIABLE !~ /^v\\ar.*/", "true" },
	{ "$PRESENT_VARIABLE !~ /^v\\/ar.*/", "true" },
	{ "$EMPTY_VARIABLE !~ /var.*/", "true" },
	{ "$UNDEFINED_VARIABLE !~ /var.*/", "true" },
	{ "$PRESENT_VARIABLE !~ /VAR.*/i", "false" },
	{ "$PRESENT_VARIABLE && \"string\"", "\"string\"" },
	{ "$PRESENT_VARIABLE && $PRESENT_VARIABLE", "\"my variable\"" },
	{ "$PRESENT_VARIABLE && $EMPTY_VARIABLE", "\"\"" },
	{ "$PRESENT_VARIABLE && null", "nil" },
	{ "\"string\" && $PRESENT_VARIABLE", "\"my variable\"" },
	{ "$EMPTY_VARIABLE && $PRESENT_VARIABLE", "\"my variable\"" },
	{ "null && $PRESENT_VARIABLE", "nil" },
	{ "$EMPTY_VARIABLE && \"string\"", "\"string\"" },
	{ "$EMPTY_VARIABLE && $EMPTY_VARIABLE", "\"\"" },
	{ "\"string\" && $EMPTY_VARIABLE", "\"\"" },
	{ "\"string\" && null", "nil" },
	{ "null && \"string\"", "nil" },
	{ "\"string\" && \"string\"", "\"string\"" },
	{ "null && null", "nil" },
	{ "$PRESENT_VARIABLE =~ /my var/ && $EMPTY_VARIABLE =~ /nope/", "false" },
	{ "$EMPTY_VARIABLE == \"\" && $PRESENT_VARIABLE", "\"my variable\"" },
	{ "$EMPTY_VARIABLE == \"\" && $PRESENT_VARIABLE != \"nope\"", "true" },
	{ "$PRESENT_VARIABLE && $UNDEFINED_VARIABLE", "nil" },
	{ "$UNDEFINED_VARIABLE && $EMPTY_VARIABLE", "nil" },
	{ "$UNDEFINED_VARIABLE && $PRESENT_VARIABLE", "nil" },
	{ "$FULL_PATH_VARIABLE =~ /^\\/a\\/full\\/path\\/variable\\/value$/ && $PATH_VARIABLE =~ /path\\/variable/", "true" },
	{ "$FULL_PATH_VARIABLE =~ /^\\/a\\/bad\\/path\\/variable\\/value$/ && $PATH_VARIABLE =~ /path\\/variable/", "false" },
	{ "$FULL_PATH_VARIABLE =~ /^\\/a\\/full\\/path\\/variable\\/value$/ && $PATH_VARIABLE =~ /bad\\/path\\/variable/", "false" },
	{ "$FULL_PATH_VARIABLE =~ /^\\/a\\/bad\\/path\\/variable\\/value$/ && $PATH_VARIABLE =~ /bad\\/path\\/variable/", "false" },
	{ "$FULL_PATH_VARIABLE =~ /^\\/a\\/full\\/path\\/variable\\/value$/ || $PATH_VARIABLE =~ /path\\/variable/", "true" },
	{ "$FULL_PATH_VARIABLE =~ /^\\/a\\/bad\\/path\\/variable\\/value$/ || $PATH_VARIABLE =~ /path\\/variable/", "true" },
	{ "$FULL_PATH_VARIABLE =~ /^\\/a\\/full\\/path\\/variable\\/value$/ || $PATH_VARIABLE =~ /bad\\/path\\/variable/", "true" },
	{ "$FULL_PATH_VARIABLE =~ /^\\/a\\/bad\\/path\\/variable\\/value$/ || $PATH_VARIABLE =~ /bad\\/path\\/variable/", "false" },
	{ "$PRESENT_VARIABLE =~ /my var/ || $EMPTY_VARIABLE =~ /nope/", "true" },
	{ "$EMPTY_VARIABLE == \"\" || $PRESENT_VARIABLE", "true" },
	{ "$PRESENT_VARIABLE != \"nope\" || $EMPTY_VARIABLE == \"\"", "true" },
	{ "$PRESENT_VARIABLE && null || $EMPTY_VARIABLE == \"\"", "true" },
	{ "$PRESENT_VARIABLE || $UNDEFINED_VARIABLE", "\"my variable\"" },
	{ "$UNDEFINED_VARIABLE || $PRESENT_VARIABLE", "\"my variable\"" },
	{ "$UNDEFINED_VARIABLE == null || $PRESENT_VARIABLE", "true" },
	{ "$PRESENT_VARIABLE || $UNDEFINED_VARIABLE == null", "\"my variable\"" },
	{ "($PRESENT_VARIABLE)", "\"my variable\"" },
	{ "(($PRESENT_VARIABLE))", "\"my variable\"" },
	{ "(($PRESENT_VARIABLE && null) || $EMPTY_VARIABLE == \"\")", "true" },
	{ "($PRESENT_VARIABLE) && (null || $EMPTY_VARIABLE == \"\")", "true" },
	{ "(\"string\" || \"test\") == \"string\"", "true" },
	{ "(null || (\"test\" == \"string\"))", "false" },
	{ "(\"string\" == (\"test\" && \"string\"))", "true" },
	{ "(\"string\" == (\"test\" || \"string\"))", "false" },
	{ "(\"string\" == \"test\" || \"string\")", "\"string\"" },
	{ "(\"string\" == (\"string\" || ((\"1\" == \"1\") && (\"2\" == \"3\"))))", "true" },
	/* a regex literal is a value of its own */
	{ "/^ab+c/i", "/^ab+c/i" },
	{ "$UNDEFINED_VARIABLE || /a\\/b/", "/a/b/" },
};

Test(expr, gitlab_statement_spec_values)
{
	for (size_t i = 0; i < sizeof(gitlab_values) / sizeof(gitlab_values[0]); i++) {
		char *v = NULL;
		int rc = ci_expr_inspect(gitlab_values[i].expr, lookup, NULL, &v);
		cr_assert_eq(rc, 0, "%s: %s (%s)", gitlab_values[i].expr,
			error_msg(), ci_expr_last_reason());
		cr_expect_str_eq(v, gitlab_values[i].value, "%s", gitlab_values[i].expr);
		free(v);
	}
}

struct tcase {
	const char *expr;
	int expect;   /* 1 true, 0 false, -1 invalid */
};

static const struct tcase truth[] = {
	/* statement_spec.rb #truthful? */
	{ "$PRESENT_VARIABLE == \"my variable\"", 1 },
	{ "$PRESENT_VARIABLE == 'no match'", 0 },
	{ "$UNDEFINED_VARIABLE == null", 1 },
	{ "$PRESENT_VARIABLE", 1 },
	{ "$UNDEFINED_VARIABLE", 0 },
	{ "$EMPTY_VARIABLE", 0 },
	{ "$INVALID = 1", -1 },
	{ "$PRESENT_VARIABLE =~ /var.*/", 1 },
	{ "$UNDEFINED_VARIABLE =~ /var.*/", 0 },
	{ "$PRESENT_VARIABLE !~ /var.*/", 0 },
	{ "$UNDEFINED_VARIABLE !~ /var.*/", 1 },
	/* variables holding patterns (GitLab 15+) */
	{ "$teststring =~ \"abcde\"", 1 },
	{ "$teststring =~ $teststring", 1 },
	{ "$teststring =~ $pattern1", 1 },
	{ "$teststring =~ $pattern2", 0 },
	{ "$teststring !~ $pattern2", 1 },
	{ "$teststring =~ $pattern_i", 1 },
	{ "$CI_COMMIT_BRANCH =~ $SLASHED_RE", 1 },
	{ "$VERSION =~ $RELEASE_RE", 1 },
	{ "$teststring =~ $UNDEFINED", 0 },
	{ "$teststring !~ $UNDEFINED", 1 },
	/* not a regex: substring test of the left text in the right string */
	{ "\"login\" =~ $NOT_RE", 1 },
	{ "\"logout\" =~ $NOT_RE", 0 },
	{ "$teststring =~ $bad_pattern", 0 },
	{ "\"(\" =~ $bad_pattern", 1 },
	/* docs: CI/CD variable expressions */
	{ "$CI_PIPELINE_SOURCE == \"chat\"", 1 },
	{ "$CI_PIPELINE_SOURCE == 'chat'", 1 },
	{ "$CI_PIPELINE_SOURCE != \"push\"", 1 },
	{ "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH", 0 },
	{ "$CI_COMMIT_REF_NAME == $CI_DEFAULT_BRANCH", 1 },
	{ "$CI_COMMIT_BRANCH =~ /^feature/", 1 },
	{ "$CI_COMMIT_BRANCH =~ /^FEATURE/", 0 },
	{ "$CI_COMMIT_BRANCH =~ /^FEATURE/i", 1 },
	{ "$CI_COMMIT_BRANCH !~ /^feature/", 0 },
	{ "$CI_COMMIT_TAG", 0 },
	{ "$CI_COMMIT_TAG == null", 1 },
	{ "$CI_COMMIT_TAG != null", 0 },
	{ "$CI_COMMIT_TAG == \"\"", 0 },
	{ "$A && $B || $UNDEF", 1 },
	{ "$UNDEF && $B || $A", 1 },
	{ "$UNDEF && ($B || $A)", 0 },
	{ "$A == \"a\" && $B == \"x\" || $CI_PIPELINE_SOURCE == \"chat\"", 1 },
	{ "$A == \"a\" && ($B == \"x\" || $CI_PIPELINE_SOURCE == \"push\")", 0 },
	{ "$A || $B && $UNDEF", 1 },     /* && binds tighter */
	{ "($A || $B) && $UNDEF", 0 },
	{ "$SPACES", 0 },                /* blank strings are not present */
	{ "$UNICODE_SPACE", 0 },
	{ "$SPACES == \" \t \"", 1 },
	{ "$MULTI =~ /^two$/", 0 },      /* RE2: ^/$ are text anchors */
	{ "$MULTI =~ /^two$/m", 1 },
	{ "$MULTI =~ /one.two/", 0 },
	{ "$MULTI =~ /one.two/s", 1 },
	{ "$CHAT_INPUT =~ /\\$\\(rm/", 1 },
	{ "$CHAT_INPUT == 'deploy \"prod\" $(rm -rf /)'", 1 },
	{ "$CI_PIPELINE_SOURCE==\"chat\"&&$A", 1 },   /* no spaces needed */
	{ "  $A\n  && $B\n", 1 },                       /* multi-line if: */
	{ "$A ()", 1 },              /* GitLab's parser accepts this */
	{ "$A $B ==", 0 },           /* ... and this (RPN-like) */
	{ "== $A \"a\"", 1 },
	{ "$teststring =~ /bc/", 1 },   /* unanchored search */
	{ "$teststring =~ /cb/", 0 },
	{ "$teststring =~ /c//", 0 },   /* body "c/": [^\\] may be a slash */
	{ "\"c/\" =~ /c//", 1 },
	{ "$teststring =~ /^a.c/U", 1 },
	{ "null", 0 },
	{ "\"\"", 0 },
	{ "\"x\"", 1 },
	{ "$A == $A", 1 },
	{ "$UNDEF == $UNDEF2", 1 },
	{ "($A == \"a\") == ($B == \"b\")", 1 },
	{ "/a+/ == /a+/", 1 },
	{ "/a+/ == /a+/i", 0 },
};

Test(expr, truthiness_table)
{
	for (size_t i = 0; i < sizeof(truth) / sizeof(truth[0]); i++) {
		bool b = true;
		int rc = ci_expr_eval(truth[i].expr, lookup, NULL, &b);
		if (truth[i].expect < 0) {
			cr_expect_eq(rc, SO_EINVALID, "%s should be invalid", truth[i].expr);
			cr_expect_not(b);
			continue;
		}
		cr_expect_eq(rc, 0, "%s: %s (%s)", truth[i].expr, error_msg(),
			ci_expr_last_reason());
		cr_expect_eq(b, truth[i].expect == 1, "%s gave %d", truth[i].expr, b);
	}
}

struct icase {
	const char *expr;
	const char *reason;
};

static const struct icase invalid[] = {
	{ "${CI_COMMIT_BRANCH} == \"main\"", "Unknown lexeme found!" },
	{ "$VAR = 1", "Unknown lexeme found!" },
	{ "$VAR === \"a\"", "Unknown lexeme found!" },
	{ "$VAR == main", "Unknown lexeme found!" },
	{ "$VAR == \"unterminated", "Unknown lexeme found!" },
	{ "$VAR == \"multi\nline\"", "Unknown lexeme found!" },
	{ "$VAR and $B", "Unknown lexeme found!" },
	{ "!$VAR", "Unknown lexeme found!" },
	{ "$VAR == true", "Unknown lexeme found!" },
	{ "$VAR =~ /a/", "Unknown lexeme found!" },   /* GitLab needs 2+ chars */
	{ "$VAR =~ //", "Unknown lexeme found!" },
	{ "$VAR =~ /ab/x", "Unknown lexeme found!" }, /* flag x: leftover "x" */
	{ "", "Empty statement" },
	{ "   \n ", "Empty statement" },
	{ "$VAR ==", "Invalid left operand" },
	{ "== $VAR", "Invalid left operand" },
	{ "&& $A", "Invalid left operand" },
	{ "$A &&", "Invalid left operand" },
	{ "($A", "Unprocessable token found in parse tree: parenthesis_open" },
	{ "$A)", "Unmatched parenthesis" },
	{ "()", "Empty parse tree" },
	{ "$A $B", "Unreachable nodes in parse tree" },
	{ "\"a\" \"b\" \"c\" ==", "Unreachable nodes in parse tree" },
	{ "$VAR =~ /(unclosed/", "Invalid regular expression!" },
	{ "$VAR =~ /(a)\\1/", "Invalid regular expression!" },   /* RE2: no backrefs */
	{ "$VAR =~ /a(?=b)/", "Invalid regular expression!" },   /* no lookahead */
	{ "$VAR =~ /a(?<!b)/", "Invalid regular expression!" },  /* no lookbehind */
	{ "$VAR =~ /a++/", "Invalid regular expression!" },      /* no possessive */
	{ "$VAR =~ /a{1001}/", "Invalid regular expression!" },
};

Test(expr, invalid_statements)
{
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		cr_expect_eq(ci_expr_validate(invalid[i].expr), SO_EINVALID,
			"%s should be invalid", invalid[i].expr);
		cr_expect_str_eq(error_msg(), "invalid expression syntax");
		cr_expect_str_eq(ci_expr_last_reason(), invalid[i].reason,
			"%s", invalid[i].expr);
	}
}

Test(expr, valid_regex_features)
{
	cr_expect_eq(ci_expr_validate("$A =~ /(?i)ab/"), 0);
	cr_expect_eq(ci_expr_validate("$A =~ /(?P<n>ab)/"), 0);
	cr_expect_eq(ci_expr_validate("$A =~ /(?:ab)+/"), 0);
	cr_expect_eq(ci_expr_validate("$A =~ /a{2,1000}/"), 0);
	cr_expect_eq(ci_expr_validate("$A =~ /\\bsast_advanced\\b/"), 0);
	cr_expect_eq(ci_expr_validate("$A =~ /[\\]]x/"), 0);
}

Test(expr, token_cap_is_99)
{
	char buf[1024] = "$A";
	/* "$A" then 49 x " || $A" = 99 tokens: accepted */
	for (int i = 0; i < 49; i++)
		strcat(buf, " || $A");
	cr_expect_eq(ci_expr_validate(buf), 0, "%s", ci_expr_last_reason());
	strcat(buf, " ()");   /* 101 tokens */
	cr_expect_eq(ci_expr_validate(buf), SO_EINVALID);
	cr_expect_str_eq(ci_expr_last_reason(), "Too many tokens!");
	char buf2[1024] = "$A";
	for (int i = 0; i < 49; i++)
		strcat(buf2, " || $A");
	strcat(buf2, " (");   /* exactly 100 tokens: GitLab refuses */
	cr_expect_eq(ci_expr_validate(buf2), SO_EINVALID);
	cr_expect_str_eq(ci_expr_last_reason(), "Too many tokens!");
}

Test(expr, length_cap)
{
	size_t n = CI_EXPR_MAX_LEN + 10;
	char *s = malloc(n + 1);
	memset(s, 'a', n);
	s[0] = '"';
	s[n - 1] = '"';
	s[n] = 0;
	cr_expect_eq(ci_expr_validate(s), SO_EINVALID);
	free(s);
}

Test(expr, compiled_statement_reused_with_other_variables)
{
	struct ci_expr *e;
	bool b;
	cr_assert_eq(ci_expr_compile("$CI_COMMIT_BRANCH =~ $RE", &e), 0);
	const char *env1[][2] = { { "CI_COMMIT_BRANCH", "main" }, { "RE", "/^ma/" } };
	(void)env1;
	ci_expr_run(e, lookup, NULL, &b);
	cr_expect_not(b); /* RE undefined in the fixed table */
	ci_expr_free(e);
	cr_assert_eq(ci_expr_compile("$teststring =~ $pattern1 && $teststring !~ $pattern2", &e), 0);
	for (int i = 0; i < 3; i++) {
		ci_expr_run(e, lookup, NULL, &b);
		cr_expect(b);
	}
	ci_expr_free(e);
}

Test(expr, regex_search_helper)
{
	cr_expect_eq(ci_expr_regex_search("/^release-.*/", "release-1.0"), 1);
	cr_expect_eq(ci_expr_regex_search("/^release-.*/", "main"), 0);
	cr_expect_eq(ci_expr_regex_search("/^MAIN$/i", "main"), 1);
	cr_expect_eq(ci_expr_regex_search("main", "main"), SO_EINVALID);
	cr_expect_eq(ci_expr_regex_search("/(/", "main"), SO_EINVALID);
}
