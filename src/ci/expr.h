/*
 * ci/expr.h: the CI/CD variable expression language of `rules:if`,
 * `workflow:rules:if`, `include:rules:if` and `only/except:variables`.
 *
 * Design: a faithful re-implementation of GitLab's lexer and parser
 * (lib/gitlab/ci/pipeline/expression/): the same lexemes tried in the same
 * order at each position, at most 100 tokens ("Too many tokens!"), and the
 * same shunting-yard parser, so exactly the statements GitLab accepts are
 * accepted (including its quirks, e.g. `${VAR}` is not a lexeme and makes
 * the statement invalid). Values are nil, booleans, strings and regexes,
 * evaluated with Ruby's rules: `&&`/`||` short-circuit and yield an operand,
 * a statement is true when its value is "present" (not nil, not false, not
 * an empty or whitespace-only string). Undefined variables are nil, so
 * `$UNDEF == null` is true. `=~`/`!~` search unanchored; their right side is
 * a /regex/flags literal or any value, a string that looks like /re/flags
 * being converted to a regex at run time (GitLab 15+). Regexes are RE2 in
 * GitLab; here they are PCRE2 with RE2-like options (see expr.c for the
 * differences). Statements are compiled once; every regex literal is
 * compiled at ci_expr_compile() time.
 *
 * Errors: a statement GitLab rejects gives SO_EINVALID with the message
 * "invalid expression syntax" (GitLab's validation text; callers prefix the
 * key, e.g. "jobs:x:rules:rule if invalid expression syntax"). Run-time
 * failures make the statement false, as GitLab's Statement#truthful? does.
 */
#ifndef SO_CI_EXPR_H
#define SO_CI_EXPR_H

#include <stdbool.h>
#include <stddef.h>

/* Statements longer than this are refused as invalid (GitLab caps tokens,
 * not bytes; one string literal could otherwise be arbitrarily long). */
#define CI_EXPR_MAX_LEN 65536
/* GitLab's Lexer::MAX_TOKENS. */
#define CI_EXPR_MAX_TOKENS 100

/* The value of variable `name`, or NULL when it is undefined. The string is
 * borrowed; it must stay valid until the evaluation returns. */
typedef const char *(*ci_var_lookup_fn)(void *cls, const char *name);

/* A compiled statement. Not thread-safe for concurrent ci_expr_run() calls
 * on the same object (it caches run-time regexes). */
struct ci_expr;

/* Compiles a statement. On success *out is the statement (caller frees
 * with ci_expr_free). On an invalid statement returns SO_EINVALID with
 * error_msg() "invalid expression syntax" and *out = NULL. */
int ci_expr_compile(const char *expr, struct ci_expr **out);

/* Evaluates a compiled statement; lookup may be NULL (everything
 * undefined). Always succeeds: *out is the statement's truth. */
void ci_expr_run(const struct ci_expr *e, ci_var_lookup_fn lookup, void *cls,
	bool *out);

void ci_expr_free(struct ci_expr *e);   /* accepts NULL */

/* Compiles and evaluates in one go. Returns 0 with *out set, or
 * SO_EINVALID ("invalid expression syntax") with *out = false. */
int ci_expr_eval(const char *expr, ci_var_lookup_fn lookup, void *cls,
	bool *out);

/* 0 when GitLab would accept the statement (it also evaluates it once
 * with no variables defined, as GitLab's validator does), else
 * SO_EINVALID with "invalid expression syntax". */
int ci_expr_validate(const char *expr);

/* The statement's value as Ruby's inspect would show it: nil, true,
 * false, "text" (no escaping) or /re/flags, for tests and `slashops lint`
 * diagnostics. Returns 0 with *out malloc'd (caller frees), or
 * SO_EINVALID. */
int ci_expr_inspect(const char *expr, ci_var_lookup_fn lookup, void *cls,
	char **out);

/* A short description of why the last statement compiled on this thread
 * was refused (GitLab's internal reason, e.g. "Unknown lexeme found!"),
 * for logs and tests; "" when none. Borrowed, thread-local. */
const char *ci_expr_last_reason(void);

/* A compiled Ruby-syntax regex "/re/flags" (only/except ref patterns,
 * environment tier inference): compile once, search many times. */
struct ci_regex;
/* SO_EINVALID when pattern is not a valid /re/flags regex. */
int ci_regex_compile(const char *pattern, struct ci_regex **out);
/* Unanchored search. */
bool ci_regex_search(const struct ci_regex *re, const char *text);
void ci_regex_free(struct ci_regex *re);   /* accepts NULL */

/* Regex helper shared with only/except ref patterns: `pattern` in the Ruby
 * syntax "/re/flags" (flags i, m, s, U). Returns 1 when it matches
 * (unanchored search), 0 when not, SO_EINVALID when `pattern` is not a
 * valid regex in that syntax. */
int ci_expr_regex_search(const char *pattern, const char *text);

#endif
