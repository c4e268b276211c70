/*
 * Golden tests for ci/plan: each tests/data/ci/plan/<case>.json names a
 * configuration (<case>.yml unless "config" says otherwise), a pipeline
 * context and, under "expect", what the plan JSON must contain.
 *
 * Matching is by subset, so a golden states only what the case is about:
 * every key of an expected object must be present with a matching value;
 * arrays must have the same length and match element by element. Two
 * conveniences for job variables: "variables" given as an object
 * {"KEY": "value"} checks those keys (null = absent) against the job's
 * final list, and "variable_keys" checks the exact ordered key list.
 * The expected values were written from GitLab's documented behaviour
 * (reference/gitlab-ci.md), not captured from this implementation.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ci/config.h"
#include "ci/plan.h"
#include "util/buf.h"
#include "util/error.h"

#ifndef CI_PLAN_DATA
#define CI_PLAN_DATA "tests/data/ci/plan"
#endif

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT(0);
	char tmp[4096];
	size_t n;
	if (!f)
		return NULL;
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		buf_append(&b, tmp, n);
	fclose(f);
	*len = b.len;
	return buf_detach(&b);
}

static bool match(const json_t *exp, const json_t *act, struct buf *path);

static bool match_vars_map(const json_t *exp, const json_t *act, struct buf *path)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)exp, k, v) {
		const json_t *found = NULL;
		size_t i;
		json_t *item;
		json_array_foreach(act, i, item) {
			if (strcmp(json_string_value(json_object_get(item, "key")), k) == 0)
				found = json_object_get(item, "value");
		}
		if (json_is_null(v) ? found != NULL : !found ||
		    !json_equal(v, (json_t *)found)) {
			buf_printf(path, ".variables[%s]: expected %s, got %s", k,
				json_is_null(v) ? "absent" : json_string_value(v),
				found ? json_string_value(found) : "absent");
			return false;
		}
	}
	return true;
}

static bool match(const json_t *exp, const json_t *act, struct buf *path)
{
	size_t mark = path->len;
	if (json_is_object(exp)) {
		const char *k;
		json_t *v;
		if (!json_is_object(act)) {
			buf_puts(path, ": expected an object");
			return false;
		}
		json_object_foreach((json_t *)exp, k, v) {
			if (strcmp(k, "variable_keys") == 0) {
				json_t *vars = json_object_get(act, "variables"), *it;
				json_t *keys = json_array();
				size_t i;
				json_array_foreach(vars, i, it)
					json_array_append(keys, json_object_get(it, "key"));
				bool ok = json_equal(keys, v);
				if (!ok) {
					char *s = json_dumps(keys, JSON_COMPACT);
					buf_printf(path, ".variable_keys: got %s", s);
					free(s);
				}
				json_decref(keys);
				if (!ok)
					return false;
				continue;
			}
			json_t *a = json_object_get(act, k);
			if (strcmp(k, "variables") == 0 && json_is_object(v) &&
			    json_is_array(a)) {
				if (!match_vars_map(v, a, path))
					return false;
				continue;
			}
			buf_printf(path, ".%s", k);
			if (!a && !json_is_null(v)) {
				buf_puts(path, ": missing");
				return false;
			}
			if (!match(v, a ? a : json_null(), path))
				return false;
			path->len = mark;
			path->data[mark] = 0;
		}
		return true;
	}
	if (json_is_array(exp)) {
		if (!json_is_array(act) || json_array_size(act) != json_array_size(exp)) {
			char *s = json_dumps(act, JSON_COMPACT | JSON_ENCODE_ANY);
			buf_printf(path, ": array length differs, got %.400s", s);
			free(s);
			return false;
		}
		for (size_t i = 0; i < json_array_size(exp); i++) {
			buf_printf(path, "[%zu]", i);
			if (!match(json_array_get(exp, i), json_array_get(act, i), path))
				return false;
			path->len = mark;
			path->data[mark] = 0;
		}
		return true;
	}
	if (!json_equal((json_t *)exp, (json_t *)act)) {
		char *e = json_dumps(exp, JSON_ENCODE_ANY), *a = json_dumps(act, JSON_ENCODE_ANY);
		buf_printf(path, ": expected %s, got %s", e, a ? a : "nothing");
		free(e);
		free(a);
		return false;
	}
	return true;
}

static const char *jget(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int list_files(void *cls, char ***out, size_t *n)
{
	const json_t *files = cls;
	*n = json_array_size(files);
	*out = calloc(*n ? *n : 1, sizeof(char *));
	for (size_t i = 0; i < *n; i++)
		(*out)[i] = strdup(json_string_value(json_array_get(files, i)));
	return 0;
}

/* Runs one golden; returns an error description or NULL. */
static char *run_case(const char *name)
{
	char path[1024];
	size_t len;
	json_error_t jerr;
	struct buf why = BUF_INIT(0);
	struct ci_config *cfg = NULL;
	struct ci_diags diags;
	struct ci_plan *plan = NULL;
	struct ci_varlist pvars = CI_VARLIST_INIT;
	const char **changed = NULL;
	char *yml = NULL;
	json_t *act = NULL;

	snprintf(path, sizeof(path), "%s/%s.json", CI_PLAN_DATA, name);
	json_t *g = json_load_file(path, 0, &jerr);
	if (!g)
		return strdup(jerr.text);
	json_t *c = json_object_get(g, "context");
	snprintf(path, sizeof(path), "%s/%s", CI_PLAN_DATA,
		jget(g, "config") ? jget(g, "config") : "");
	if (!jget(g, "config"))
		snprintf(path, sizeof(path), "%s/%s.yml", CI_PLAN_DATA, name);
	yml = slurp(path, &len);
	if (!yml) {
		buf_printf(&why, "cannot read %s", path);
		goto done;
	}
	ci_diags_init(&diags);
	if (ci_config_load(&cfg, ".gitlab-ci.yml", yml, len, NULL, &diags) < 0) {
		buf_printf(&why, "load failed: %s", error_msg());
		ci_diags_free(&diags);
		goto done;
	}
	ci_diags_free(&diags);

	struct ci_pipeline_context ctx = { 0 };
	ctx.source = jget(c, "source") ? jget(c, "source") : "push";
	ctx.ref = jget(c, "ref") ? jget(c, "ref") : "main";
	ctx.tag = json_is_true(json_object_get(c, "tag"));
	ctx.sha = "8c7a1f0e2b3d4c5e6f708192a3b4c5d6e7f80912";
	ctx.default_branch = "main";
	ctx.commit_message = "Add the deploy job\n\nLonger description.";
	ctx.project.id = 7;
	ctx.project.path = "app";
	ctx.project.name = "App";
	ctx.project.path_with_namespace = "ops/app";
	ctx.project.namespace = "ops";
	ctx.project.namespace_id = 3;
	ctx.project.url = "https://so.example/ops/app";
	ctx.server_url = "https://so.example";
	ctx.user.id = 5;
	ctx.user.login = "alice";
	ctx.user.name = "Alice";
	ctx.user.email = "alice@example.com";
	ctx.pipeline_id = 1000;
	ctx.pipeline_iid = 12;
	ctx.first_job_id = json_integer_value(json_object_get(c, "first_job_id"));
	ctx.chat.input = jget(c, "chat_input");
	ctx.chat.channel = jget(c, "chat_channel");
	ctx.chat.user_id = jget(c, "chat_user_id");
	{
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(c, "variables"), k, v)
			ci_varlist_add(&pvars, k, json_string_value(v), false);
		ctx.variables = &pvars;
	}
	json_t *ch = json_object_get(c, "changed_files");
	if (ch) {
		ctx.has_diff = true;
		ctx.n_changed_files = json_array_size(ch);
		changed = calloc(ctx.n_changed_files + 1, sizeof(char *));
		for (size_t i = 0; i < ctx.n_changed_files; i++)
			changed[i] = json_string_value(json_array_get(ch, i));
		ctx.changed_files = changed;
	}
	if (json_object_get(c, "files")) {
		ctx.list_files = list_files;
		ctx.cls = json_object_get(c, "files");
	}
	if (ci_plan_build(cfg, &ctx, jget(g, "job"), &plan) < 0) {
		buf_printf(&why, "plan failed: %s", error_msg());
		goto done;
	}
	act = ci_plan_to_json(plan);
	buf_puts(&why, "plan");
	if (match(json_object_get(g, "expect"), act, &why)) {
		buf_dispose(&why);
	} else if (getenv("CI_PLAN_DUMP")) {
		json_dumpf(act, stderr, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	}
done:
	json_decref(act);
	ci_plan_free(plan);
	ci_config_free(cfg);
	ci_varlist_dispose(&pvars);
	free(changed);
	free(yml);
	json_decref(g);
	return why.len ? buf_detach(&why) : NULL;
}

Test(plan, goldens)
{
	DIR *d = opendir(CI_PLAN_DATA);
	struct dirent *e;
	int n = 0;
	cr_assert_not_null(d, "no %s", CI_PLAN_DATA);
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0)
			continue;
		char *name = strndup(e->d_name, l - 5);
		char *why = run_case(name);
		cr_expect_null(why, "%s: %s", name, why ? why : "");
		free(why);
		free(name);
		n++;
	}
	closedir(d);
	cr_expect_geq(n, 15, "only %d golden cases", n);
}

/* Planning is linear: 10,000 jobs with rules, needs and variables. */
Test(plan, ten_thousand_jobs_are_linear, .timeout = 20)
{
	struct buf y = BUF_INIT(0);
	struct ci_config *cfg = NULL;
	struct ci_plan *plan = NULL;
	struct ci_pipeline_context ctx = { 0 };

	buf_puts(&y, "variables:\n  G: g\nstages: [build, test]\n"
		".rules: &r\n  - if: $CI_COMMIT_BRANCH =~ /^ma/ && $G == \"g\"\n"
		"  - when: never\n");
	for (int i = 0; i < 10000; i++)
		buf_printf(&y, "b%d:\n  stage: build\n  script: echo %d\n"
			"  rules: *r\n  variables:\n    V: \"$G-%d\"\n"
			"t%d:\n  stage: test\n  script: echo\n  needs: [b%d]\n"
			"  environment: review/$CI_COMMIT_REF_SLUG\n",
			i, i, i, i, i);
	cr_assert_eq(ci_config_load(&cfg, ".gitlab-ci.yml", y.data, y.len, NULL,
		NULL), 0, "%s", error_msg());
	ctx.source = "push";
	ctx.ref = "main";
	ctx.sha = "abc";
	cr_assert_eq(ci_plan_build(cfg, &ctx, NULL, &plan), 0);
	cr_expect_eq(plan->status, CI_PLAN_CREATED);
	cr_expect_eq(plan->n_jobs, 20000);
	cr_expect_str_eq(plan->jobs[19999].needs[0].job, "b9999");
	cr_expect_str_eq(plan->jobs[19999].environment, "review/main");
	struct ci_varlist v;
	cr_assert_eq(ci_plan_job_variables(plan, &plan->jobs[5], &v), 0);
	cr_expect_str_eq(ci_varlist_get(&v, "V"), "g-5");
	ci_varlist_dispose(&v);
	ci_plan_free(plan);
	ci_config_free(cfg);
	buf_dispose(&y);
}

/* ci_plan_write_json writes variables without jansson: its bytes must be
 * exactly jansson's compact dump of ci_plan_to_json, escapes included,
 * and a value that is not UTF-8 still gives valid JSON (U+FFFD). */
Test(plan, streamed_json_is_the_jansson_dump)
{
	const char *yml = "variables:\n  Q: \"say \\\"hi\\\" \\\\ back\\tslash\"\n"
		"  U: \"caf\\u00e9 \\u2028 \\U0001F600 \\x7f \\x01 \\x1f /\"\n"
		"  R:\n    value: \"$Q raw\"\n    expand: false\n"
		"job:\n  script: [echo]\n  environment: review/x\n"
		"  variables:\n    NL: \"a\\nb\\rc\\bd\\fe\"\n";
	struct ci_config *cfg = NULL;
	struct ci_plan *plan = NULL;
	struct ci_pipeline_context ctx = { 0 };
	struct ci_varlist pv = CI_VARLIST_INIT;
	char *text = NULL, *want;
	size_t len = 0;
	FILE *f;
	json_t *all, *parsed;

	cr_assert_eq(ci_config_load(&cfg, ".gitlab-ci.yml", yml, strlen(yml), NULL,
		NULL), 0, "%s", error_msg());
	ctx.source = "chat";
	ctx.ref = "main";
	ctx.sha = "abc";
	ctx.chat.input = "x \"y\" \\ z\n\xc3\xa9";
	ctx.chat.channel = "C1";
	ci_varlist_add_masked(&pv, "SECRET", "hidden");
	ctx.variables = &pv;
	cr_assert_eq(ci_plan_build(cfg, &ctx, "job", &plan), 0, "%s", error_msg());
	cr_assert_eq(plan->status, CI_PLAN_CREATED);
	f = open_memstream(&text, &len);
	cr_assert_eq(ci_plan_write_json(plan, f, 0), 0);
	fclose(f);
	all = ci_plan_to_json(plan);
	want = json_dumps(all, JSON_COMPACT | JSON_PRESERVE_ORDER);
	cr_assert_not_null(want);
	cr_expect_eq(len, strlen(want) + 1);
	{
		size_t d = 0;
		while (want[d] && text[d] == want[d])
			d++;
		cr_expect(want[d] == '\0', "differs at %zu:\n got %.60s\nwant %.60s", d,
			text + (d > 20 ? d - 20 : 0), want + (d > 20 ? d - 20 : 0));
	}
	cr_expect(strstr(text, "\"key\":\"SECRET\",\"value\":\"[MASKED]\",\"masked\":true"));
	free(text);
	free(want);
	json_decref(all);
	ci_plan_free(plan);

	/* not UTF-8: jansson would drop the value; the stream stays JSON */
	ctx.chat.input = "bad \xff\xc3 end";
	cr_assert_eq(ci_plan_build(cfg, &ctx, "job", &plan), 0);
	text = NULL;
	f = open_memstream(&text, &len);
	cr_assert_eq(ci_plan_write_json(plan, f, 0), 0);
	fclose(f);
	parsed = json_loads(text, 0, NULL);
	cr_assert_not_null(parsed, "not JSON: %s", text);
	cr_expect(strstr(text, "\"value\":\"bad \xef\xbf\xbd\xef\xbf\xbd end\""), "%s", text);
	json_decref(parsed);
	free(text);
	ci_plan_free(plan);
	ci_config_free(cfg);
	ci_varlist_dispose(&pv);
}
