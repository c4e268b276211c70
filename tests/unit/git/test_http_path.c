/* Unit tests for git/http_path: which request paths are git URLs. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "git/http_path.h"

static enum git_http_endpoint parse(const char *path, char **project, const char **rest)
{
	return git_http_parse_path(path, project, rest);
}

Test(http_path, smart_endpoints)
{
	char *p = NULL;
	const char *rest = NULL;

	cr_assert_eq(parse("/alice/demo.git/info/refs", &p, &rest), GIT_HTTP_INFO_REFS);
	cr_assert_str_eq(p, "alice/demo");
	cr_assert_str_eq(rest, "info/refs");
	free(p);
	cr_assert_eq(parse("/grp/sub/Pro.j-1_x.git/git-upload-pack", &p, &rest),
		     GIT_HTTP_UPLOAD_PACK);
	cr_assert_str_eq(p, "grp/sub/Pro.j-1_x");
	free(p);
	cr_assert_eq(parse("/a/b.git/git-receive-pack", &p, &rest), GIT_HTTP_RECEIVE_PACK);
	cr_assert_str_eq(p, "a/b");
	free(p);
}

Test(http_path, dumb_endpoints)
{
	static const char *const dumb[] = {"/a/b.git/HEAD", "/a/b.git/objects/info/packs",
					   "/a/b.git/objects/12/3456", "/a/b.git/objects/info/alternates"};
	char *p;
	const char *rest;

	for (size_t i = 0; i < sizeof(dumb) / sizeof(dumb[0]); i++) {
		cr_assert_eq(parse(dumb[i], &p, &rest), GIT_HTTP_DUMB, "%s", dumb[i]);
		cr_assert_str_eq(p, "a/b");
		free(p);
	}
}

Test(http_path, other_paths_pass)
{
	static const char *const other[] = {
		"/", "", "/api/v4/projects", "/a.git/info/refs", /* no namespace */
		"/a/b.git", "/a/b.git/", "/a/b.git/info/refs/x", "/a/b.git/config", "/a/b.git/info/packs",
		"/a/b/info/refs", "/a%2Fb/c.git/info/refs", "/../b.git/info/refs",
		"/a//b.git/info/refs", "/.a/b.git/info/refs", "/a/.git/info/refs",
		"a/b.git/info/refs", "/a/b c.git/info/refs", "/a/..git/info/refs",
	};
	char *p = (char *)"x";
	const char *rest = "x";

	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		cr_assert_eq(parse(other[i], &p, &rest), GIT_HTTP_NONE, "%s", other[i]);
		cr_assert_null(p);
		cr_assert_null(rest);
	}
	cr_assert_eq(parse(NULL, &p, &rest), GIT_HTTP_NONE);
}

Test(http_path, long_paths_pass)
{
	char path[1100];

	memset(path, 'a', sizeof(path));
	path[0] = '/';
	strcpy(path + sizeof(path) - 20, "/x.git/info/refs");
	char *p;
	const char *rest;

	cr_assert_eq(parse(path, &p, &rest), GIT_HTTP_NONE);
}
