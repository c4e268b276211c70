/*
 * test_spec.c: the job spec frozen in spec_json survives a round trip
 * byte for byte (scripts, variables with any bytes, masked flags, order),
 * malformed specs are refused, and GitLab's start_in durations parse.
 */
#include "pipeline/internal.h"
#include "util/buf.h"
#include "util/error.h"

#include <criterion/criterion.h>
#include <string.h>

static char *sv[] = { "echo \"a\" 'b' $(x) `y`", "exit 0", NULL };
static char *empty[] = { NULL };

Test(spec, round_trip)
{
	struct pipeline_spec_var vars[] = {
		{ "CI_PIPELINE_IID", "0", false },
		{ "CHAT_INPUT", "line1\nline2 \"q\" ünï 🚀 $(rm -rf /)", false },
		{ "SECRET", "s3cr3t", true },
		{ "CHAT_INPUT", "later wins", false },
	};
	struct pipeline_spec in = {
		.name = "deploy: [a, b]", .stage = "chatops", .sha = "0123456789abcdef0123456789abcdef01234567",
		.ref = "main", .when = "manual", .before_script = empty, .script = sv,
		.after_script = empty, .vars = vars, .n_vars = 4, .timeout_s = 90,
		.allow_failure = true, .run_at = 1234567890,
	};
	struct pipeline_spec out;
	char *json = pipeline_spec_to_json(&in), *again;

	cr_assert_eq(pipeline_spec_from_json(json, &out), 0, "%s", error_msg());
	cr_assert_str_eq(out.name, in.name);
	cr_assert_str_eq(out.stage, "chatops");
	cr_assert_str_eq(out.sha, in.sha);
	cr_assert_str_eq(out.ref, "main");
	cr_assert_str_eq(out.when, "manual");
	cr_assert_null(out.before_script[0]);
	cr_assert_str_eq(out.script[0], sv[0]);
	cr_assert_str_eq(out.script[1], "exit 0");
	cr_assert_null(out.script[2]);
	cr_assert_eq(out.n_vars, 4);
	for (size_t i = 0; i < 4; i++) {
		cr_assert_str_eq(out.vars[i].key, vars[i].key);
		cr_assert_str_eq(out.vars[i].value, vars[i].value);
		cr_assert_eq(out.vars[i].masked, vars[i].masked);
	}
	cr_assert_eq(out.timeout_s, 90);
	cr_assert(out.allow_failure);
	cr_assert_eq(out.run_at, 1234567890);
	again = pipeline_spec_to_json(&out);
	cr_assert_str_eq(again, json, "a second round trip writes the same JSON");
	pipeline_spec_dispose(&out);
	pipeline_spec_dispose(&out); /* safe twice */
	free(json);
	free(again);
}

Test(spec, refuses_damaged_rows)
{
	struct pipeline_spec out;

	cr_assert_eq(pipeline_spec_from_json("{}", &out), SO_EINVALID);
	cr_assert_eq(pipeline_spec_from_json("not json", &out), SO_EINVALID);
	cr_assert_eq(pipeline_spec_from_json(NULL, &out), SO_EINVALID);
	cr_assert_eq(pipeline_spec_from_json("{\"name\":\"a\",\"sha\":\"b\",\"script\":[1]}", &out),
		     SO_EINVALID);
	cr_assert_eq(pipeline_spec_from_json("{\"name\":\"a\",\"sha\":\"b\",\"variables\":[{\"key\":\"K\"}]}",
					     &out),
		     SO_EINVALID);
	cr_assert_null(out.name, "left empty on error");
	cr_assert_eq(pipeline_spec_from_json("{\"name\":\"a\",\"sha\":\"b\"}", &out), 0);
	cr_assert_not_null(out.script);
	cr_assert_null(out.script[0], "absent lists are empty");
	pipeline_spec_dispose(&out);
}

Test(spec, start_in_durations)
{
	static const struct { const char *s; int64_t v; } ok[] = {
		{ "30", 30 }, { "30s", 30 }, { "30 seconds", 30 }, { "1 second", 1 },
		{ "5 minutes", 300 }, { "5min", 300 }, { "1 hour", 3600 }, { "2 days", 172800 },
		{ "1h 30m", 5400 }, { "1 day and 1 hour", 90000 }, { "1 week", 604800 },
	};
	static const char *bad[] = { "", "soon", "5 fortnights", "-5", "minutes 5" };
	int64_t v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_assert_eq(pipeline_parse_duration(ok[i].s, &v), 0, "%s: %s", ok[i].s, error_msg());
		cr_assert_eq(v, ok[i].v, "%s -> %lld", ok[i].s, (long long)v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(pipeline_parse_duration(bad[i], &v), SO_EINVALID, "%s", bad[i]);
	cr_assert_eq(pipeline_parse_duration(NULL, &v), SO_EINVALID);
}
