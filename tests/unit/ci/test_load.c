/*
 * tests/unit/ci/test_load.c: golden tests for ci_config_load() and unit
 * tests for the loader's helpers.
 *
 * Design: every tests/data/ci/load/<case>.yml is loaded as ".gitlab-ci.yml"
 * of a repository whose other files live in <case>.d/ (for includes). The
 * result is rendered as text: the diagnostics ("FILE:LINE:COL: message"),
 * then, when the load succeeded, the JSON dump of the model. It must equal
 * <case>.expected byte for byte. The expected files were written from
 * GitLab's documented behaviour and checked by hand; CI_GOLDEN_UPDATE=1
 * rewrites them (review the diff before committing).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ci/config.h"
#include "ci/include.h"
#include "ci/lint.h"
#include "util/buf.h"
#include "util/error.h"

#ifndef CI_TEST_DATA
#define CI_TEST_DATA "tests/data/ci"
#endif

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT(0);
	char chunk[8192];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	if (len)
		*len = b.len;
	return buf_detach(&b);
}

struct repo {
	char *dir;
};

static int repo_read(void *cls, const char *path, char **data, size_t *len)
{
	struct repo *r = cls;
	char *full = xasprintf("%s/%s", r->dir, path);
	struct stat st;

	if (stat(full, &st) != 0 || !S_ISREG(st.st_mode)) {
		free(full);
		return SO_ENOTFOUND;
	}
	*data = slurp(full, len);
	free(full);
	return *data ? 0 : SO_ENOTFOUND;
}

static void walk(const char *root, const char *rel, char ***v, size_t *n)
{
	char *dir = *rel ? xasprintf("%s/%s", root, rel) : xstrdup(root);
	DIR *d = opendir(dir);
	struct dirent *e;

	free(dir);
	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		char *r, *full;
		struct stat st;

		if (e->d_name[0] == '.' && (!e->d_name[1] ||
		    (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		r = *rel ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
		full = xasprintf("%s/%s", root, r);
		if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
			walk(root, r, v, n);
			free(r);
		} else {
			*v = xrealloc(*v, (*n + 1) * sizeof(char *));
			(*v)[(*n)++] = r;
		}
		free(full);
	}
	closedir(d);
}

static int repo_list(void *cls, char ***out, size_t *n)
{
	struct repo *r = cls;

	*out = NULL;
	*n = 0;
	walk(r->dir, "", out, n);
	return 0;
}

static const char *vars(void *cls, const char *name)
{
	(void)cls;
	if (strcmp(name, "DEFINED") == 0)
		return "1";
	return NULL;
}

/* Loads one case and renders the result. Caller frees. */
static char *render_case(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s.yml", dir, name);
	struct repo r = { xasprintf("%s/%s.d", dir, name) };
	struct ci_load_options o = { 0 };
	struct ci_diags d;
	struct ci_config *cfg = NULL;
	struct buf out = BUF_INIT(0);
	size_t len = 0;
	char *data = slurp(path, &len);
	int err;

	cr_assert_not_null(data, "cannot read %s", path);
	o.read_file = repo_read;
	o.list_files = repo_list;
	o.lookup_var = vars;
	o.cls = &r;
	ci_diags_init(&d);
	err = ci_config_load(&cfg, ".gitlab-ci.yml", data, len, &o, &d);
	ci_diags_format(&d, &out);
	if (err == 0) {
		json_t *j = ci_config_to_json(cfg);
		char *s = json_dumps(j, JSON_INDENT(2));

		cr_assert_eq(d.n_errors, 0);
		buf_puts(&out, s);
		buf_putc(&out, '\n');
		free(s);
		json_decref(j);
	} else {
		cr_assert(d.n_errors > 0, "%s failed without a diagnostic", name);
		cr_assert_null(cfg);
	}
	ci_config_free(cfg);
	ci_diags_free(&d);
	free(data);
	free(path);
	free(r.dir);
	return buf_detach(&out);
}

Test(ci_load, golden)
{
	const char *dir = CI_TEST_DATA "/load";
	DIR *d = opendir(dir);
	struct dirent *e;
	int cases = 0, failed = 0;
	bool update = getenv("CI_GOLDEN_UPDATE") != NULL;

	cr_assert_not_null(d, "no %s", dir);
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		char *name, *got, *want, *exp;

		if (n < 5 || strcmp(e->d_name + n - 4, ".yml") != 0)
			continue;
		name = xstrndup(e->d_name, n - 4);
		got = render_case(dir, name);
		exp = xasprintf("%s/%s.expected", dir, name);
		if (update) {
			FILE *f = fopen(exp, "w");

			cr_assert_not_null(f);
			fputs(got, f);
			fclose(f);
		}
		want = slurp(exp, NULL);
		cases++;
		if (!want || strcmp(want, got) != 0) {
			failed++;
			cr_log_error("golden case %s differs\n--- expected\n%s\n"
				"--- got\n%s", name, want ? want : "(missing)", got);
		}
		free(want);
		free(got);
		free(exp);
		free(name);
	}
	closedir(d);
	cr_expect_geq(cases, 40, "only %d golden cases", cases);
	cr_expect_eq(failed, 0, "%d of %d golden cases differ", failed, cases);
}

/* ---------- direct API checks ---------- */

static struct ci_config *load_ok(const char *yaml)
{
	struct ci_config *cfg = NULL;
	struct ci_diags d;
	int err;

	ci_diags_init(&d);
	err = ci_config_load(&cfg, ".gitlab-ci.yml", yaml, strlen(yaml), NULL,
		&d);
	cr_assert_eq(err, 0, "load failed: %s", d.n ? d.v[0].message : "");
	ci_diags_free(&d);
	return cfg;
}

Test(ci_load, job_lookup_and_stage_index)
{
	struct ci_config *cfg = load_ok(
		"stages: [a, b]\n"
		"x: {stage: b, script: echo}\n"
		"y: {stage: a, script: echo, when: manual}\n");
	const struct ci_job *x = ci_config_job(cfg, "x");
	const struct ci_job *y = ci_config_job(cfg, "y");

	cr_assert_not_null(x);
	cr_assert_null(ci_config_job(cfg, "z"));
	cr_assert_eq(x->stage_index, 2);   /* .pre a b .post */
	cr_assert_eq(ci_config_stage_index(cfg, "a"), 1);
	cr_assert_eq(ci_config_stage_index(cfg, "nope"), -1);
	cr_assert(ci_job_allow_failure(y));
	cr_assert_not(ci_job_allow_failure(x));
	cr_assert_str_eq(x->pos.file, ".gitlab-ci.yml");
	cr_assert_eq(x->pos.line, 2);
	cr_assert_eq(x->pos.col, 1);
	ci_config_free(cfg);
}

Test(ci_load, many_jobs_lookup)
{
	struct buf b = BUF_INIT(0);
	struct ci_config *cfg;

	buf_puts(&b, ".t: &t {script: [echo]}\n");
	for (int i = 0; i < 5000; i++)
		buf_printf(&b, "job%d: {<<: *t, needs: [%s]}\n", i,
			i ? "job0" : "");
	cfg = load_ok(buf_cstr(&b));
	cr_assert_eq(cfg->n_jobs, 5000);
	cr_assert_not_null(ci_config_job(cfg, "job4999"));
	cr_assert_str_eq(ci_config_job(cfg, "job17")->needs.v[0].job, "job0");
	ci_config_free(cfg);
	buf_dispose(&b);
}

Test(ci_load, error_sets_message_and_null_diags)
{
	struct ci_config *cfg = (struct ci_config *)1;
	const char *y = "job:\n  script: echo\n  foo: 1\n";

	cr_assert_eq(ci_config_load(&cfg, "ci.yml", y, strlen(y), NULL, NULL),
		SO_EINVALID);
	cr_assert_null(cfg);
	cr_assert_str_eq(error_msg(),
		"ci.yml:3:3: jobs:job config contains unknown keys: foo");
}

Test(ci_load, budget_stops_alias_bombs)
{
	struct ci_config *cfg = NULL;
	struct ci_load_options o = { 0 };
	struct ci_diags d;
	const char *y =
		"a: &a [x, x, x, x, x, x, x, x, x, x]\n"
		"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		"job: {script: *d}\n";

	o.max_nodes = 5000;
	ci_diags_init(&d);
	cr_assert_eq(ci_config_load(&cfg, "x.yml", y, strlen(y), &o, &d),
		SO_ETOOBIG);
	cr_assert(strstr(d.v[0].message, "too large") != NULL);
	ci_diags_free(&d);
}

Test(ci_load, duration_parse)
{
	cr_assert_eq(ci_duration_parse("3600"), 3600);
	cr_assert_eq(ci_duration_parse("1h 30m"), 5400);
	cr_assert_eq(ci_duration_parse("30 minutes"), 1800);
	cr_assert_eq(ci_duration_parse("1 day"), 86400);
	cr_assert_eq(ci_duration_parse("2 weeks"), 1209600);
	cr_assert_eq(ci_duration_parse("1 hour and 5 seconds"), 3605);
	cr_assert_eq(ci_duration_parse("soon"), -1);
	cr_assert_eq(ci_duration_parse(""), -1);
	cr_assert_eq(ci_duration_parse("5 parsecs"), -1);
}

Test(ci_load, glob)
{
	cr_assert(ci_glob_match("configs/*.yml", "configs/a.yml"));
	cr_assert_not(ci_glob_match("configs/*.yml", "configs/sub/a.yml"));
	cr_assert(ci_glob_match("configs/**/*.yml", "configs/sub/x/a.yml"));
	cr_assert(ci_glob_match("configs/**/*.yml", "configs/a.yml"));
	cr_assert(ci_glob_match("configs/**.yml", "configs/sub/a.yml"));
	cr_assert(ci_glob_match("*.{yml,yaml}", "a.yaml"));
	cr_assert(ci_glob_match(".gitlab/*.gitlab-ci.yml",
		".gitlab/docs.gitlab-ci.yml"));
	cr_assert(ci_glob_match("src/[a-c]?.c", "src/b1.c"));
	cr_assert_not(ci_glob_match("src/[a-c]?.c", "src/d1.c"));
}

Test(ci_load, lint_report)
{
	char dir[] = "/tmp/ci-lint-XXXXXX";
	char *p, *inc;
	struct buf out = BUF_INIT(0);
	FILE *f;

	cr_assert_not_null(mkdtemp(dir));
	p = xasprintf("%s/.gitlab-ci.yml", dir);
	inc = xasprintf("%s/inc.yml", dir);
	f = fopen(inc, "w");
	fputs("from-inc: {script: echo}\n", f);
	fclose(f);
	f = fopen(p, "w");
	fputs("include: inc.yml\njob: {script: echo}\n", f);
	fclose(f);
	cr_assert_eq(ci_lint(p, &out), 0);
	cr_assert_str_eq(buf_cstr(&out), "OK\n");
	buf_reset(&out);
	f = fopen(p, "w");
	fputs("job:\n  script: echo\n  stage: nope\n", f);
	fclose(f);
	cr_assert_eq(ci_lint(p, &out), SO_EINVALID);
	cr_assert_str_eq(buf_cstr(&out), ".gitlab-ci.yml:1:1: job job: chosen "
		"stage nope does not exist; available stages are .pre, build, "
		"test, deploy, .post\n");
	remove(p);
	remove(inc);
	rmdir(dir);
	free(p);
	free(inc);
	buf_dispose(&out);
}
