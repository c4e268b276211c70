/* Unit tests for git/repo: a real bare repository made by gitrepo_create,
 * filled by pushing with the real `git` over file://, then read back. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "git/repo.h"
#include "util/buf.h"
#include "util/error.h"

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

/* First line of a command's output. */
static char *capture(const char *cmd)
{
	char line[256] = "";
	FILE *f = popen(cmd, "r");

	cr_assert_not_null(f);
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	pclose(f);
	line[strcspn(line, "\n")] = '\0';
	return xstrdup(line);
}

static void setup(void)
{
	strcpy(root, "/tmp/gitrepo-test-XXXXXX");
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

/* Creates project 1 and pushes main (a.txt, d/b.txt) and feature. */
static void fill(void)
{
	cr_assert_eq(gitrepo_create(repos, 1, NULL), 0, "%s", error_msg());
	run("cd '%s' && git init -q -b main work && cd work && printf 'hi\\n' > a.txt && "
	    "mkdir d && printf 'x' > d/b.txt && git add . && git commit -qm first && "
	    "git push -q 'file://%s/1.git' main main:feature 2>/dev/null",
	    root, repos);
}

TestSuite(gitrepo, .init = setup, .fini = teardown, .timeout = 60);

Test(gitrepo, create_sets_head_and_http_config)
{
	char *head = NULL, *path = gitrepo_path(repos, 1), *v;
	char **br = NULL;
	bool empty = false;

	cr_assert_eq(gitrepo_create(repos, 1, "develop"), 0, "%s", error_msg());
	cr_assert_eq(gitrepo_create(repos, 1, "develop"), SO_EEXISTS);
	cr_assert_eq(gitrepo_head_branch(repos, 1, &head), 0);
	cr_assert_str_eq(head, "develop");
	cr_assert_eq(gitrepo_is_empty(repos, 1, &empty), 0);
	cr_assert(empty);
	cr_assert_eq(gitrepo_branches(repos, 1, &br), 0);
	cr_assert_null(br[0]);
	char *cmd = xasprintf("git --git-dir='%s' config --bool http.receivepack", path);
	v = capture(cmd);
	cr_assert_str_eq(v, "true");
	free(v);
	free(cmd);
	cmd = xasprintf("git --git-dir='%s' config --bool http.uploadpack", path);
	v = capture(cmd);
	cr_assert_str_eq(v, "true");
	free(v);
	free(cmd);
	cmd = xasprintf("git --git-dir='%s' rev-parse --is-bare-repository", path);
	v = capture(cmd);
	cr_assert_str_eq(v, "true");
	free(v);
	free(cmd);
	gitrepo_strv_free(br);
	free(head);
	free(path);
}

Test(gitrepo, create_defaults_to_main_and_rejects_bad_input)
{
	char *head = NULL;

	cr_assert_eq(gitrepo_create(repos, 2, NULL), 0);
	cr_assert_eq(gitrepo_head_branch(repos, 2, &head), 0);
	cr_assert_str_eq(head, "main");
	free(head);
	cr_assert_eq(gitrepo_create(repos, 3, "bad..name"), SO_EINVALID);
	cr_assert_eq(gitrepo_create(repos, 3, "-x"), SO_EINVALID);
	cr_assert_eq(gitrepo_create(repos, 0, NULL), SO_EINVALID);
	char *p3 = gitrepo_path(repos, 3);
	cr_assert_neq(access(p3, F_OK), 0, "nothing half-made is left behind");
	free(p3);
}

Test(gitrepo, reads_pushed_content)
{
	char **br = NULL, *sha = NULL, *data = NULL, *expect, *cmd;
	size_t len = 0;
	bool empty = true;

	fill();
	cr_assert_eq(gitrepo_is_empty(repos, 1, &empty), 0);
	cr_assert_not(empty);
	cr_assert_eq(gitrepo_branches(repos, 1, &br), 0);
	cr_assert_str_eq(br[0], "feature");
	cr_assert_str_eq(br[1], "main");
	cr_assert_null(br[2]);
	gitrepo_strv_free(br);

	cr_assert_eq(gitrepo_branch_head(repos, 1, "main", &sha), 0);
	cmd = xasprintf("git -C '%s/work' rev-parse HEAD", root);
	expect = capture(cmd);
	cr_assert_str_eq(sha, expect);
	cr_assert_eq(strlen(sha), 40);
	free(cmd);
	free(expect);
	cr_assert_eq(gitrepo_branch_head(repos, 1, "nope", &data), SO_ENOTFOUND);
	cr_assert_null(data);
	cr_assert_eq(gitrepo_branch_head(repos, 1, "a..b", &data), SO_ENOTFOUND);

	cr_assert_eq(gitrepo_read_file(repos, 1, sha, "a.txt", 100, &data, &len), 0);
	cr_assert_eq(len, 3);
	cr_assert_str_eq(data, "hi\n");
	free(data);
	cr_assert_eq(gitrepo_read_file(repos, 1, sha, "d/b.txt", 100, &data, &len), 0);
	cr_assert_eq(len, 1);
	cr_assert_str_eq(data, "x");
	free(data);
	/* abbreviated sha works too */
	char short_sha[9];
	memcpy(short_sha, sha, 8);
	short_sha[8] = '\0';
	cr_assert_eq(gitrepo_read_file(repos, 1, short_sha, "a.txt", 100, &data, &len), 0);
	free(data);
	/* size cap, missing paths, directories, bad shas */
	cr_assert_eq(gitrepo_read_file(repos, 1, sha, "a.txt", 2, &data, &len), SO_ETOOBIG);
	cr_assert_null(data);
	cr_assert_eq(gitrepo_read_file(repos, 1, sha, "missing.txt", 100, &data, &len),
		     SO_ENOTFOUND);
	cr_assert_eq(gitrepo_read_file(repos, 1, sha, "d", 100, &data, &len), SO_ENOTFOUND);
	cr_assert_eq(gitrepo_read_file(repos, 1, sha, "d/b.txt/x", 100, &data, &len),
		     SO_ENOTFOUND);
	cr_assert_eq(gitrepo_read_file(repos, 1, sha, "", 100, &data, &len), SO_ENOTFOUND);
	cr_assert_eq(gitrepo_read_file(repos, 1, "0123456789012345678901234567890123456789",
				       "a.txt", 100, &data, &len), SO_ENOTFOUND);
	cr_assert_eq(gitrepo_read_file(repos, 1, "zz", "a.txt", 100, &data, &len), SO_ENOTFOUND);
	cr_assert_eq(gitrepo_read_file(repos, 9, sha, "a.txt", 100, &data, &len), SO_ENOTFOUND);
	free(sha);
}

Test(gitrepo, head_and_default_branch_choice)
{
	char *b = NULL;

	fill();
	cr_assert_eq(gitrepo_pick_default_branch(repos, 1, &b), 0);
	cr_assert_str_eq(b, "main"); /* HEAD's branch exists */
	free(b);
	cr_assert_eq(gitrepo_set_head(repos, 1, "feature"), 0);
	cr_assert_eq(gitrepo_head_branch(repos, 1, &b), 0);
	cr_assert_str_eq(b, "feature");
	free(b);
	cr_assert_eq(gitrepo_pick_default_branch(repos, 1, &b), 0);
	cr_assert_str_eq(b, "feature");
	free(b);
	/* HEAD at a branch that does not exist: main is preferred */
	cr_assert_eq(gitrepo_set_head(repos, 1, "gone"), 0);
	cr_assert_eq(gitrepo_pick_default_branch(repos, 1, &b), 0);
	cr_assert_str_eq(b, "main");
	free(b);
	cr_assert_eq(gitrepo_set_head(repos, 1, "bad..name"), SO_EINVALID);
	cr_assert_eq(gitrepo_set_head(repos, 7, "main"), SO_ENOTFOUND);
	/* an empty repository has nothing to pick */
	cr_assert_eq(gitrepo_create(repos, 2, NULL), 0);
	cr_assert_eq(gitrepo_pick_default_branch(repos, 2, &b), SO_ENOTFOUND);
	cr_assert_null(b);
}

Test(gitrepo, pick_first_branch_without_main)
{
	char *b = NULL;

	cr_assert_eq(gitrepo_create(repos, 1, NULL), 0);
	run("cd '%s' && git init -q -b zeta work && cd work && echo z > z && git add z && "
	    "git commit -qm z && git push -q 'file://%s/1.git' zeta zeta:beta 2>/dev/null",
	    root, repos);
	cr_assert_eq(gitrepo_pick_default_branch(repos, 1, &b), 0);
	cr_assert_str_eq(b, "beta");
	free(b);
}

Test(gitrepo, delete_removes_and_tolerates_missing)
{
	char *path = gitrepo_path(repos, 1);

	fill();
	cr_assert_eq(access(path, F_OK), 0);
	cr_assert_eq(gitrepo_delete(repos, 1), 0, "%s", error_msg());
	cr_assert_neq(access(path, F_OK), 0);
	cr_assert_eq(gitrepo_delete(repos, 1), 0);
	cr_assert_eq(gitrepo_delete(repos, -1), SO_EINVALID);
	free(path);
}

Test(gitrepo, delete_refuses_outside_repos_dir)
{
	char *outside = xasprintf("%s/outside", root);
	char *keep = xasprintf("%s/keep.txt", outside);
	char *link = gitrepo_path(repos, 5);
	char *dotdot = xasprintf("%s/../outside", repos);

	run("mkdir -p '%s' && echo keep > '%s'", outside, keep);
	cr_assert_eq(gitrepo_remove_tree(repos, outside), SO_EINVALID);
	cr_assert_eq(gitrepo_remove_tree(repos, dotdot), SO_EINVALID);
	cr_assert_eq(gitrepo_remove_tree(repos, repos), SO_EINVALID);
	cr_assert_eq(gitrepo_remove_tree(repos, "/"), SO_EINVALID);
	cr_assert_eq(gitrepo_remove_tree("/", "/tmp"), SO_EINVALID);
	cr_assert_eq(access(keep, F_OK), 0);
	/* A repository path that is a symlink to elsewhere: only the link goes. */
	cr_assert_eq(symlink(outside, link), 0);
	cr_assert_eq(gitrepo_delete(repos, 5), 0);
	cr_assert_neq(access(link, F_OK), 0);
	cr_assert_eq(access(keep, F_OK), 0);
	/* A symlink inside a repository is not followed either. */
	cr_assert_eq(gitrepo_create(repos, 6, NULL), 0);
	char *inner = xasprintf("%s/6.git/evil", repos);
	cr_assert_eq(symlink(outside, inner), 0);
	cr_assert_eq(gitrepo_delete(repos, 6), 0);
	cr_assert_eq(access(keep, F_OK), 0);
	free(inner);
	free(outside);
	free(keep);
	free(link);
	free(dotdot);
}

/* libgit2 is set up on first use: after a shutdown (or without any
 * gitrepo_init), the calls still work; gitrepo_init is idempotent. */
Test(gitrepo, libgit2_is_initialised_on_first_use)
{
	bool empty = false;

	gitrepo_shutdown(); /* undo setup's */
	cr_assert(gitrepo_branch_name_valid("main"));
	gitrepo_shutdown();
	cr_assert_eq(gitrepo_create(repos, 7, NULL), 0, "%s", error_msg());
	cr_assert_eq(gitrepo_init(), 0);
	cr_assert_eq(gitrepo_init(), 0);
	gitrepo_shutdown(); /* one shutdown undoes any number of inits */
	cr_assert_eq(gitrepo_is_empty(repos, 7, &empty), 0, "%s", error_msg());
	cr_assert(empty);
}

Test(gitrepo, branch_file_reads_head_commit_and_file_in_one_open)
{
	struct gitrepo_commit c;
	char *data = NULL, *cmd, *expect;
	size_t len = 0;

	/* Nothing pushed yet: no branch, so no commit either. */
	cr_assert_eq(gitrepo_create(repos, 1, NULL), 0, "%s", error_msg());
	cr_assert_eq(gitrepo_branch_file(repos, 1, "main", "a.txt", 100, &c, &data, &len),
		     SO_ENOTFOUND);
	cr_assert_null(c.sha);
	cr_assert_null(data);
	gitrepo_delete(repos, 1);

	fill();
	cr_assert_eq(gitrepo_branch_file(repos, 1, "main", "d/b.txt", 100, &c, &data, &len), 0,
		     "%s", error_msg());
	cmd = xasprintf("git -C '%s/work' rev-parse HEAD", root);
	expect = capture(cmd);
	cr_assert_str_eq(c.sha, expect);
	cr_assert_str_eq(c.message, "first\n");
	cr_assert(strchr(c.author, '<') && c.author[strlen(c.author) - 1] == '>', "%s", c.author);
	cr_assert_eq(strlen(c.timestamp), 20, "%s", c.timestamp);
	cr_assert_eq(len, 1);
	cr_assert_str_eq(data, "x");
	free(data);
	data = NULL;
	free(cmd);
	free(expect);

	/* The file is missing: the commit is still there. */
	gitrepo_commit_dispose(&c);
	cr_assert_eq(gitrepo_branch_file(repos, 1, "main", "nope.yml", 100, &c, &data, &len),
		     SO_ENOTFOUND);
	cr_assert_not_null(c.sha);
	cr_assert_null(data);
	gitrepo_commit_dispose(&c);
	cr_assert_eq(gitrepo_branch_file(repos, 1, "main", "a.txt", 2, &c, &data, &len),
		     SO_ETOOBIG);
	gitrepo_commit_dispose(&c);
	gitrepo_commit_dispose(NULL);
	cr_assert_eq(gitrepo_branch_file(repos, 1, "-x", "a.txt", 100, &c, &data, &len),
		     SO_ENOTFOUND);
}

/* The handle gitrepo_branch_file keeps per thread follows pushes (new
 * refs, new objects and packs) and a repository deleted and re-created. */
Test(gitrepo, branch_file_sees_later_pushes_and_recreated_repositories)
{
	struct gitrepo_commit c;
	char *data = NULL;
	size_t len = 0;

	fill();
	cr_assert_eq(gitrepo_branch_file(repos, 1, "main", "a.txt", 100, &c, &data, &len), 0);
	cr_assert_str_eq(data, "hi\n");
	free(data);
	gitrepo_commit_dispose(&c);
	/* a second push, as a pack (more than a few objects makes git send one) */
	run("cd '%s/work' && for i in 1 2 3 4 5 6 7 8 9 10; do echo $i > f$i; done && "
	    "printf 'two\\n' > a.txt && git add . && git commit -qm second && "
	    "git push -q 'file://%s/1.git' main 2>/dev/null", root, repos);
	cr_assert_eq(gitrepo_branch_file(repos, 1, "main", "a.txt", 100, &c, &data, &len), 0,
		     "%s", error_msg());
	cr_assert_str_eq(data, "two\n");
	cr_assert_str_eq(c.message, "second\n");
	free(data);
	gitrepo_commit_dispose(&c);
	/* deleted and created again under the same id */
	cr_assert_eq(gitrepo_delete(repos, 1), 0);
	cr_assert_eq(gitrepo_branch_file(repos, 1, "main", "a.txt", 100, &c, &data, &len),
		     SO_ENOTFOUND);
	gitrepo_commit_dispose(&c);
	cr_assert_eq(gitrepo_create(repos, 1, NULL), 0);
	run("cd '%s' && rm -rf w2 && git init -q -b main w2 && cd w2 && printf 'three\\n' > a.txt && "
	    "git add . && git commit -qm third && git push -q 'file://%s/1.git' main 2>/dev/null",
	    root, repos);
	cr_assert_eq(gitrepo_branch_file(repos, 1, "main", "a.txt", 100, &c, &data, &len), 0,
		     "%s", error_msg());
	cr_assert_str_eq(data, "three\n");
	free(data);
	gitrepo_commit_dispose(&c);
}
