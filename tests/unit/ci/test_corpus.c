/*
 * tests/unit/ci/test_corpus.c: every .yml of the shared CI corpus
 * (GitLab's templates, gitlab-ci-local's test cases, gitlab-runner's CI)
 * goes through ci_config_load(), and the outcome must match
 * tests/data/ci/corpus-expectations.tsv (path, expectation, reason).
 *
 * Expectations: `ok` (loads without error), `error` (an invalid case: must
 * fail with diagnostics, never crash), `refused` (uses include:template,
 * remote or component, which slashops refuses: must fail with that
 * message; a row whose reason says "loads when skipped" must also load
 * with skip_refused_includes), `fragment` (a piece meant to be included elsewhere, invalid on
 * its own exactly as GitLab would say), `not-ci` (a gitlab-ci-local data
 * file that is not a CI configuration). A corpus file without a row, or a
 * row without a file, fails the test, so the table stays complete.
 *
 * The repository root for includes is the file's folder (gitlab-ci-local's
 * --cwd), except for gitlab-runner/ whose root is that folder. The corpus
 * is found through SLASHOPS_CORPUS_DIR, else ../shared/corpus beside the
 * source tree; the test is skipped with a message when it is absent.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ci/config.h"
#include "ci/hmap.h"
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
	const char *root;
};

static int repo_read(void *cls, const char *path, char **data, size_t *len)
{
	const struct repo *r = cls;
	char *full = xasprintf("%s/%s", r->root, path);
	struct stat st;

	if (stat(full, &st) != 0 || !S_ISREG(st.st_mode)) {
		free(full);
		return SO_ENOTFOUND;
	}
	*data = slurp(full, len);
	free(full);
	return *data ? 0 : SO_ENOTFOUND;
}

static void walk(const char *root, const char *rel, char ***v, size_t *n,
	bool yml_only)
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
		size_t l = strlen(e->d_name);

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		r = *rel ? xasprintf("%s/%s", rel, e->d_name) : xstrdup(e->d_name);
		full = xasprintf("%s/%s", root, r);
		if (stat(full, &st) == 0 && S_ISDIR(st.st_mode)) {
			walk(root, r, v, n, yml_only);
			free(r);
		} else if (!yml_only || (l > 4 &&
			   strcmp(e->d_name + l - 4, ".yml") == 0)) {
			*v = xrealloc(*v, (*n + 1) * sizeof(char *));
			(*v)[(*n)++] = r;
		} else {
			free(r);
		}
		free(full);
	}
	closedir(d);
}

static int repo_list(void *cls, char ***out, size_t *n)
{
	const struct repo *r = cls;

	*out = NULL;
	*n = 0;
	walk(r->root, "", out, n, false);
	return 0;
}

/* A few predefined variables, as GitLab sets them, for include rules and
 * include paths; CI_INCLUDE_LOCAL is the project variable that
 * gitlab-ci-local's include-local case defines in its variables file. */
static const char *vars(void *cls, const char *name)
{
	static const char *const table[][2] = {
		{ "CI", "true" }, { "GITLAB_CI", "true" },
		{ "CI_PIPELINE_SOURCE", "push" }, { "CI_COMMIT_BRANCH", "main" },
		{ "CI_COMMIT_REF_NAME", "main" }, { "CI_DEFAULT_BRANCH", "main" },
		{ "CI_PROJECT_PATH", "gcl/corpus" },
		{ "CI_INCLUDE_LOCAL", "/.gitlab-ci-base.yml" },
	};

	(void)cls;
	for (size_t i = 0; i < sizeof(table) / sizeof(*table); i++) {
		if (strcmp(name, table[i][0]) == 0)
			return table[i][1];
	}
	return NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct row {
	char *path;
	char *expect;
	char *reason;
	bool seen;
};

static char *corpus_dir(void)
{
	const char *env = getenv("SLASHOPS_CORPUS_DIR");
	const char *src = getenv("SLASHOPS_SOURCE_ROOT");
	struct stat st;
	char *d;

	if (env && *env)
		d = xstrdup(env);
	else
		d = xasprintf("%s/../shared/corpus", src ? src : ".");
	if (stat(d, &st) != 0 || !S_ISDIR(st.st_mode)) {
		free(d);
		return NULL;
	}
	return d;
}

Test(ci_corpus, every_file_matches_its_expectation)
{
	char *dir = corpus_dir();
	char *tsv, *line, *save = NULL;
	struct row *rows = NULL;
	size_t n_rows = 0, n_files = 0;
	char **files = NULL;
	struct ci_hmap idx = CI_HMAP_INIT;
	int failed = 0, counts[5] = { 0 };
	static const char *const kinds[] = { "ok", "error", "refused",
		"fragment", "not-ci" };

	if (!dir)
		cr_skip_test("CI corpus not found: set SLASHOPS_CORPUS_DIR (default "
			"../shared/corpus beside the source tree)");
	tsv = slurp(CI_TEST_DATA "/corpus-expectations.tsv", NULL);
	cr_assert_not_null(tsv, "no corpus-expectations.tsv");
	for (line = strtok_r(tsv, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *t1, *t2;

		if (*line == '#' || !*line)
			continue;
		t1 = strchr(line, '\t');
		cr_assert_not_null(t1, "bad row: %s", line);
		*t1++ = '\0';
		t2 = strchr(t1, '\t');
		if (t2)
			*t2++ = '\0';
		rows = xrealloc(rows, (n_rows + 1) * sizeof(*rows));
		rows[n_rows].path = line;
		rows[n_rows].expect = t1;
		rows[n_rows].reason = t2 ? t2 : "";
		rows[n_rows].seen = false;
		n_rows++;
	}
	for (size_t i = 0; i < n_rows; i++)
		ci_hmap_put(&idx, rows[i].path, strlen(rows[i].path), &rows[i]);

	walk(dir, "", &files, &n_files, true);
	qsort(files, n_files, sizeof(char *), cmp_str);
	for (size_t i = 0; i < n_files; i++) {
		const char *rel = files[i];
		struct row *r = ci_hmap_get(&idx, rel, strlen(rel));
		char *full = xasprintf("%s/%s", dir, rel), *data, *root, *slash;
		const char *inrepo;
		struct repo repo;
		struct ci_load_options o = { 0 };
		struct ci_config *cfg = NULL;
		struct ci_diags d;
		size_t len = 0;
		int err, kind = -1;

		if (!r && getenv("CI_CORPUS_DUMP")) {
			static struct row dummy = { (char *)"", (char *)"ok",
				(char *)"", false };

			r = &dummy;
		}
		if (!r) {
			cr_log_error("corpus file %s has no row in "
				"corpus-expectations.tsv", rel);
			failed++;
			free(full);
			continue;
		}
		r->seen = true;
		for (int k = 0; k < 5; k++) {
			if (strcmp(r->expect, kinds[k]) == 0)
				kind = k;
		}
		cr_assert_geq(kind, 0, "unknown expectation %s", r->expect);
		counts[kind]++;
		if (strncmp(rel, "gitlab-runner/", 14) == 0) {
			root = xasprintf("%s/gitlab-runner", dir);
			inrepo = rel + 14;
		} else {
			root = xstrdup(full);
			slash = strrchr(root, '/');
			*slash = '\0';
			inrepo = strrchr(rel, '/') + 1;
		}
		repo.root = root;
		o.read_file = repo_read;
		o.list_files = repo_list;
		o.lookup_var = vars;
		o.cls = &repo;
		data = slurp(full, &len);
		cr_assert_not_null(data);
		ci_diags_init(&d);
		err = ci_config_load(&cfg, inrepo, data, len, &o, &d);
		if (getenv("CI_CORPUS_DUMP")) {
			FILE *df = fopen(getenv("CI_CORPUS_DUMP"), "a");

			if (df) {
				fprintf(df, "%s\t%s\t%s\n", rel, err ? "fail" : "ok",
					d.n_errors ? d.v[0].message : "");
				fclose(df);
			}
		}
		if (kind == 0 && err != 0) {
			failed++;
			cr_log_error("%s: expected ok, got: %s:%u:%u: %s", rel,
				d.v[0].file, d.v[0].line, d.v[0].col, d.v[0].message);
		} else if (kind != 0 && err == 0) {
			failed++;
			cr_log_error("%s: expected %s (%s), but it loaded", rel,
				r->expect, r->reason);
		} else if (kind != 0 && d.n_errors == 0) {
			failed++;
			cr_log_error("%s: failed without a diagnostic", rel);
		} else if (kind == 2) {
			bool refused = false;

			for (size_t k = 0; k < d.n; k++)
				refused = refused ||
					strstr(d.v[k].message, "not supported by slashops");
			if (!refused) {
				failed++;
				cr_log_error("%s: expected a refused include, got: %s",
					rel, d.v[0].message);
			}
		}
		if (kind == 2) {
			/* refused: with the refused includes skipped, the rest of the
			 * file must still load when its row says so */
			struct ci_config *c2 = NULL;
			struct ci_diags d2;
			bool want = strstr(r->reason, "loads when skipped") != NULL;
			int e2;

			o.skip_refused_includes = true;
			ci_diags_init(&d2);
			const char *first = "";

			e2 = ci_config_load(&c2, inrepo, data, len, &o, &d2);
			for (size_t k = d2.n; k-- > 0;) {
				if (d2.v[k].severity == CI_DIAG_ERROR)
					first = d2.v[k].message;
			}
			if (getenv("CI_CORPUS_DUMP"))
				fprintf(stderr, "SKIPPED %s %s %s\n", rel, e2 ? "fail" : "ok",
					first);
			if (want && e2 != 0) {
				failed++;
				cr_log_error("%s: expected to load with refused includes "
					"skipped, got: %s", rel, first);
			}
			ci_config_free(c2);
			ci_diags_free(&d2);
		}
		ci_config_free(cfg);
		ci_diags_free(&d);
		free(data);
		free(root);
		free(full);
	}
	for (size_t i = 0; i < n_rows; i++) {
		if (!rows[i].seen) {
			failed++;
			cr_log_error("corpus-expectations.tsv row %s names no corpus "
				"file", rows[i].path);
		}
	}
	cr_log_info("corpus: %zu files: %d ok, %d error, %d refused, "
		"%d fragment, %d not-ci", n_files, counts[0], counts[1], counts[2],
		counts[3], counts[4]);
	cr_expect_gt(n_files, 400, "the corpus looks incomplete");
	cr_expect_eq(failed, 0, "%d corpus files do not match their "
		"expectation", failed);
	for (size_t i = 0; i < n_files; i++)
		free(files[i]);
	free(files);
	ci_hmap_clear(&idx);
	free(rows);
	free(tsv);
	free(dir);
}

/* gitlab-runner's own CI (18 files, ~150 entries, heavy extends and
 * !reference): with the gitlab.com project include served by a stand-in
 * and the component/template includes skipped, everything composes; the
 * only errors left are the three jobs that override jobs those skipped
 * includes would define. */
static int runner_project(void *cls, const char *project, const char *ref,
	const char *file, char **data, size_t *len)
{
	(void)cls;
	(void)project;
	(void)ref;
	if (strcmp(file, "templates/gcp_auth.yaml") != 0)
		return SO_ENOTFOUND;
	*data = slurp(CI_TEST_DATA "/corpus-projects/gcp_auth.yaml", len);
	return *data ? 0 : SO_ENOTFOUND;
}

static const char *runner_vars(void *cls, const char *name)
{
	(void)cls;
	if (strcmp(name, "CI_PROJECT_PATH") == 0)
		return "gitlab-org/gitlab-runner";
	if (strcmp(name, "CI_SERVER_HOST") == 0)
		return "gitlab.com";
	return NULL;
}

Test(ci_corpus, gitlab_runner_composes)
{
	char *dir = corpus_dir();
	char *root, *path, *data;
	struct repo repo;
	struct ci_load_options o = { 0 };
	struct ci_config *cfg = NULL;
	struct ci_diags d;
	size_t len = 0, n_err = 0, warnings = 0;
	static const char *const expected[] = {
		"jobs:dependency-scanning config should implement the script:, "
			"run:, or trigger: keyword",
		"jobs:gitlab-advanced-sast config should implement the script:, "
			"run:, or trigger: keyword",
		"fuzz variable mask: unknown keys in `extends` (.fuzz_base)",
	};

	if (!dir)
		cr_skip_test("CI corpus not found: set SLASHOPS_CORPUS_DIR");
	root = xasprintf("%s/gitlab-runner", dir);
	path = xasprintf("%s/.gitlab-ci.yml", root);
	data = slurp(path, &len);
	cr_assert_not_null(data);
	repo.root = root;
	o.read_file = repo_read;
	o.list_files = repo_list;
	o.read_project_file = runner_project;
	o.lookup_var = runner_vars;
	o.skip_refused_includes = true;
	o.cls = &repo;
	ci_diags_init(&d);
	cr_assert_eq(ci_config_load(&cfg, ".gitlab-ci.yml", data, len, &o, &d),
		SO_EINVALID);
	for (size_t i = 0; i < d.n; i++) {
		if (d.v[i].severity == CI_DIAG_WARNING) {
			warnings++;
			cr_expect(strstr(d.v[i].message, "(skipped)") != NULL,
				"unexpected warning %s", d.v[i].message);
			continue;
		}
		cr_expect_lt(n_err, 3, "unexpected error %s:%u: %s", d.v[i].file,
			d.v[i].line, d.v[i].message);
		if (n_err < 3)
			cr_expect_str_eq(d.v[i].message, expected[n_err]);
		n_err++;
	}
	cr_expect_eq(n_err, 3);
	/* two components and a template; danger-review's rules exclude it */
	cr_expect_eq(warnings, 3);
	ci_diags_free(&d);
	free(data);
	free(path);
	free(root);
	free(dir);
}
