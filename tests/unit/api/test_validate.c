/* Unit tests for api/validate: GitLab's naming rules. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/validate.h"

Test(api_validate, project_paths)
{
	cr_assert_null(validate_path("demo", VALIDATE_PATH_PROJECT));
	cr_assert_null(validate_path("my-project_1.2", VALIDATE_PATH_PROJECT));
	cr_assert_null(validate_path("_x", VALIDATE_PATH_PROJECT));
	cr_assert_null(validate_path("api", VALIDATE_PATH_PROJECT), "only top level reserves api");
	cr_assert_not_null(validate_path("-x", VALIDATE_PATH_PROJECT));
	cr_assert_not_null(validate_path(".x", VALIDATE_PATH_PROJECT));
	cr_assert_not_null(validate_path("x.git", VALIDATE_PATH_PROJECT));
	cr_assert_not_null(validate_path("x.ATOM", VALIDATE_PATH_PROJECT));
	cr_assert_not_null(validate_path("a b", VALIDATE_PATH_PROJECT));
	cr_assert_not_null(validate_path("a/b", VALIDATE_PATH_PROJECT));
	cr_assert_not_null(validate_path("caf\xc3\xa9", VALIDATE_PATH_PROJECT));
	cr_assert_str_eq(validate_path("blob", VALIDATE_PATH_PROJECT), "is a reserved name");
	cr_assert_str_eq(validate_path("", VALIDATE_PATH_PROJECT), "can't be blank");
}

Test(api_validate, user_and_group_paths)
{
	char big[300];

	cr_assert_null(validate_path("alice", VALIDATE_PATH_USER));
	cr_assert_not_null(validate_path("a", VALIDATE_PATH_USER), "too short");
	cr_assert_not_null(validate_path("alice.", VALIDATE_PATH_USER));
	cr_assert_str_eq(validate_path("api", VALIDATE_PATH_USER), "is a reserved name");
	cr_assert_str_eq(validate_path("Users", VALIDATE_PATH_GROUP_TOP), "is a reserved name");
	cr_assert_null(validate_path("users", VALIDATE_PATH_GROUP_SUB));
	cr_assert(validate_path_reserved("assets", VALIDATE_PATH_USER));
	cr_assert_not(validate_path_reserved("alice", VALIDATE_PATH_USER));
	memset(big, 'a', 256);
	big[256] = '\0';
	cr_assert_str_eq(validate_path(big, VALIDATE_PATH_USER), "is too long (maximum is 255 characters)");
}

Test(api_validate, namespace_full_paths)
{
	cr_assert_null(validate_namespace_path("team"));
	cr_assert_null(validate_namespace_path("team/sub/deeper"));
	cr_assert_null(validate_namespace_path("team/users"));
	cr_assert_not_null(validate_namespace_path("api/sub"));
	cr_assert_not_null(validate_namespace_path("team//sub"));
	cr_assert_not_null(validate_namespace_path("team/"));
	cr_assert_not_null(validate_namespace_path("/team"));
	cr_assert_not_null(validate_namespace_path("team/-x"));
	cr_assert_not_null(validate_namespace_path("a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u"));
}

Test(api_validate, project_names)
{
	cr_assert_null(validate_project_name("My Project 2.0+"));
	cr_assert_null(validate_project_name("_private"));
	cr_assert_null(validate_project_name("\xc3\x89t\xc3\xa9"));
	cr_assert_not_null(validate_project_name("-dash"));
	cr_assert_not_null(validate_project_name("a/b"));
	cr_assert_not_null(validate_project_name("a<b"));
	cr_assert_not_null(validate_project_name(""));
}

Test(api_validate, emails_and_names)
{
	cr_assert_null(validate_email("a.b+c@example.com"));
	cr_assert_not_null(validate_email("nope"));
	cr_assert_not_null(validate_email("a@b"));
	cr_assert_not_null(validate_email("a@@b.c"));
	cr_assert_not_null(validate_email("a b@c.d"));
	cr_assert_not_null(validate_email("a@b..c"));
	cr_assert_null(validate_user_name("Alice Smith"));
	cr_assert_not_null(validate_user_name("<script>"));
}

Test(api_validate, branches)
{
	cr_assert_null(validate_branch("main"));
	cr_assert_null(validate_branch("feature/x-1"));
	cr_assert_not_null(validate_branch("a..b"));
	cr_assert_not_null(validate_branch("-x"));
	cr_assert_not_null(validate_branch("x.lock"));
	cr_assert_not_null(validate_branch("a b"));
	cr_assert_not_null(validate_branch("a~1"));
	cr_assert_not_null(validate_branch("x/"));
	cr_assert_not_null(validate_branch("HEAD"));
	cr_assert_not_null(validate_branch("a@{1}"));
}

Test(api_validate, dates)
{
	cr_assert(validate_date("2030-02-28"));
	cr_assert(validate_date("2028-02-29"));
	cr_assert_not(validate_date("2027-02-29"));
	cr_assert_not(validate_date("2100-02-29"));
	cr_assert(validate_date("2000-02-29"));
	cr_assert_not(validate_date("2030-13-01"));
	cr_assert_not(validate_date("2030-04-31"));
	cr_assert_not(validate_date("2030-4-1"));
	cr_assert_not(validate_date("2030-04-01T00:00:00Z"));
}

Test(api_validate, path_from_name)
{
	struct { const char *in, *out; } cases[] = {
		{ "My Project", "my-project" },
		{ "My  Project!", "my-project" },
		{ "  spaced  ", "spaced" },
		{ "under_score-dash", "under_score-dash" },
		{ "v1.2", "v1-2" },
		{ "!!!", "" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = validate_path_from_name(cases[i].in);

		cr_assert_str_eq(s, cases[i].out, "%s -> %s", cases[i].in, s);
		free(s);
	}
}
