/*
 * test_repo_source.c: the CI loader's callbacks read a real bare
 * repository (made with git in a temp dir) at one commit: a file, a
 * missing file, the full file list of that commit (not of a later one),
 * include:project without an app is refused, and the commit facts behind
 * the CI_COMMIT_* variables (raw message, author, committer date in UTC).
 */
#include "pipeline/internal.h"
#include "git/repo.h"
#include "util/buf.h"
#include "util/error.h"

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char root[64];
static char *repos;

static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run(const char *fmt, ...)
{
	struct buf b = BUF_INIT(0);
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	cr_assert_eq(system(buf_cstr(&b)), 0, "command failed: %s", buf_cstr(&b));
	buf_dispose(&b);
}

/* Runs cmd (stolen) and returns its first output line. */
static char *capture(char *cmd)
{
	char line[256] = "";
	FILE *f = popen(cmd, "r");

	free(cmd);
	cr_assert_not_null(f);
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	pclose(f);
	line[strcspn(line, "\n")] = '\0';
	return xstrdup(line);
}

static void setup(void)
{
	strcpy(root, "/tmp/pipeline-test-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	repos = xasprintf("%s/repos", root);
	cr_assert_eq(mkdir(repos, 0700), 0);
	setenv("HOME", root, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_AUTHOR_NAME", "T", 1);
	setenv("GIT_AUTHOR_EMAIL", "t@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "T", 1);
	setenv("GIT_COMMITTER_EMAIL", "t@example.com", 1);
	cr_assert_eq(gitrepo_init(), 0);
}

static void teardown(void)
{
	run("rm -rf '%s'", root);
	free(repos);
	gitrepo_shutdown();
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

TestSuite(repo_source, .init = setup, .fini = teardown);

Test(repo_source, reads_and_lists_at_the_commit)
{
	char *sha1, *sha2, *data = NULL, **files = NULL;
	size_t len = 0, n = 0;

	cr_assert_eq(gitrepo_create(repos, 7, NULL), 0, "%s", error_msg());
	run("cd '%s' && git init -q -b main work && cd work && printf 'a: 1\\n' > .gitlab-ci.yml && "
	    "mkdir -p ci/deep && printf 'x' > ci/deep/x.yml && printf 'r' > README.md && "
	    "git add . && git commit -qm first && git push -q 'file://%s/7.git' main 2>/dev/null",
	    root, repos);
	sha1 = capture(xasprintf("cd '%s/work' && git rev-parse HEAD", root));
	run("cd '%s/work' && printf 'later' > later.txt && git add . && git commit -qm second && "
	    "git push -q 'file://%s/7.git' main 2>/dev/null",
	    root, repos);
	sha2 = capture(xasprintf("cd '%s/work' && git rev-parse HEAD", root));
	cr_assert_str_neq(sha1, sha2);

	struct pipeline_repo_source src = { .repos_dir = repos, .project_id = 7, .sha = sha1 };

	cr_assert_eq(pipeline_repo_read_file(&src, ".gitlab-ci.yml", &data, &len), 0, "%s",
		     error_msg());
	cr_assert_eq(len, 5);
	cr_assert_eq(memcmp(data, "a: 1\n", 5), 0);
	free(data);
	cr_assert_eq(pipeline_repo_read_file(&src, "later.txt", &data, &len), SO_ENOTFOUND,
		     "a file of a later commit is not there");
	cr_assert_eq(pipeline_repo_read_file(&src, "ci", &data, &len), SO_ENOTFOUND,
		     "a directory is not a file");

	cr_assert_eq(pipeline_repo_list_files(&src, &files, &n), 0, "%s", error_msg());
	cr_assert_eq(n, 3);
	qsort(files, n, sizeof(char *), cmp);
	cr_assert_str_eq(files[0], ".gitlab-ci.yml");
	cr_assert_str_eq(files[1], "README.md");
	cr_assert_str_eq(files[2], "ci/deep/x.yml");
	for (size_t i = 0; i < n; i++)
		free(files[i]);
	free(files);

	src.sha = sha2;
	cr_assert_eq(pipeline_repo_list_files(&src, &files, &n), 0);
	cr_assert_eq(n, 4, "the second commit adds later.txt");
	for (size_t i = 0; i < n; i++)
		free(files[i]);
	free(files);

	src.sha = "0000000000000000000000000000000000000001";
	cr_assert_eq(pipeline_repo_list_files(&src, &files, &n), SO_ENOTFOUND);
	cr_assert_null(files);
	cr_assert_eq(pipeline_repo_read_project_file(&src, "other/proj", NULL, "x.yml", &data, &len),
		     SO_EDENIED, "no app: include:project is refused");
	free(sha1);
	free(sha2);
}

Test(repo_source, commit_info_for_the_ci_commit_variables)
{
	struct gitrepo_commit ci = { 0 };
	char *sha;

	cr_assert_eq(gitrepo_create(repos, 9, NULL), 0, "%s", error_msg());
	run("cd '%s' && git init -q -b main w9 && cd w9 && printf 'x' > f && git add . && "
	    "GIT_AUTHOR_NAME='Ada Lovelace' GIT_AUTHOR_EMAIL='ada@example.com' "
	    "GIT_AUTHOR_DATE='2021-05-06T07:08:09+02:00' "
	    "GIT_COMMITTER_DATE='2022-01-31T17:47:55+01:00' "
	    "git commit -q --cleanup=verbatim -m 'Title line' -m 'Body 1\nBody 2' && "
	    "git push -q 'file://%s/9.git' main 2>/dev/null",
	    root, repos);
	sha = capture(xasprintf("cd '%s/w9' && git rev-parse HEAD", root));
	cr_assert_eq(gitrepo_commit_info(repos, 9, sha, &ci), 0, "%s", error_msg());
	cr_assert_str_eq(ci.message, "Title line\n\nBody 1\nBody 2\n", "the raw message");
	cr_assert_str_eq(ci.author, "Ada Lovelace <ada@example.com>");
	cr_assert_str_eq(ci.timestamp, "2022-01-31T16:47:55Z", "the committer date, in UTC");
	gitrepo_commit_dispose(&ci);
	cr_assert_null(ci.message);
	gitrepo_commit_dispose(NULL);

	cr_assert_eq(gitrepo_commit_info(repos, 9, "0123456789012345678901234567890123456789", &ci),
		     SO_ENOTFOUND);
	cr_assert_null(ci.message);
	cr_assert_eq(gitrepo_commit_info(repos, 404, sha, &ci), SO_ENOTFOUND);
	free(sha);
}
