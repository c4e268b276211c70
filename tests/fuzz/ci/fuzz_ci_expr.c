/*
 * libFuzzer target for ci/expr: arbitrary bytes as a `rules:if` statement,
 * evaluated against a fixed set of variables (plain values, empty, and
 * variables holding regexes, so the run-time regex path is reached too).
 * An invalid statement must give SO_EINVALID, never a crash, hang or leak;
 * a valid one must evaluate the same through every entry point.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ci/expr.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *lookup(void *cls, const char *name)
{
	(void)cls;
	if (strcmp(name, "A") == 0)
		return "main";
	if (strcmp(name, "EMPTY") == 0)
		return "";
	if (strcmp(name, "RE") == 0)
		return "/^ma(in|ster)$/i";
	if (strcmp(name, "BAD_RE") == 0)
		return "/(/";
	if (strcmp(name, "CI_PIPELINE_SOURCE") == 0)
		return "chat";
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	struct ci_expr *e = NULL;
	bool a = false, b = false;
	char *v = NULL;

	if (size > 4096)
		return 0;
	s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = 0;
	int rc = ci_expr_compile(s, &e);
	if (rc == 0) {
		ci_expr_run(e, lookup, NULL, &a);
		ci_expr_run(e, lookup, NULL, &b);   /* cached regexes reused */
		if (a != b)
			abort();
		if (ci_expr_eval(s, lookup, NULL, &b) != 0 || a != b)
			abort();
		if (ci_expr_inspect(s, lookup, NULL, &v) != 0)
			abort();
		free(v);
		ci_expr_free(e);
	} else if (rc != SO_EINVALID || e != NULL) {
		abort();
	}
	/* the same bytes as a Ruby-syntax regex */
	struct ci_regex *re = NULL;
	if (ci_regex_compile(s, &re) == 0) {
		(void)ci_regex_search(re, "main");
		ci_regex_free(re);
	}
	free(s);
	return 0;
}
