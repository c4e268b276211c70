/*
 * Unit tests for ci/vars: collections with GitLab's precedence (last wins),
 * server-side expansion (sort_and_expand_all), slugs and the predefined
 * variables of a pipeline.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ci/vars.h"
#include "util/error.h"

Test(vars, last_definition_wins_and_duplicates_are_kept)
{
	struct ci_varlist l = CI_VARLIST_INIT;
	ci_varlist_add(&l, "A", "global", false);
	ci_varlist_add(&l, "B", "b", false);
	ci_varlist_add(&l, "A", "job", false);
	cr_expect_eq(l.n, 3);
	cr_expect_str_eq(ci_varlist_get(&l, "A"), "job");
	cr_expect_null(ci_varlist_get(&l, "C"));
	cr_expect_str_eq(ci_varlist_lookup(&l, "B"), "b");
	ci_varlist_dedup(&l);
	cr_assert_eq(l.n, 2);
	cr_expect_str_eq(l.v[0].key, "B");
	cr_expect_str_eq(l.v[1].key, "A");
	cr_expect_str_eq(l.v[1].value, "job");
	cr_expect_str_eq(ci_varlist_get(&l, "A"), "job");
	ci_varlist_dispose(&l);
	ci_varlist_dispose(NULL);
}

Test(vars, shrink_keeps_lookups_and_later_adds)
{
	struct ci_varlist l = CI_VARLIST_INIT;
	char k[16];
	for (int i = 0; i < 20; i++) {
		snprintf(k, sizeof(k), "K%d", i);
		ci_varlist_add(&l, k, k, false);
	}
	cr_assert_gt(l.idx.cap, 0, "a 20-item list is indexed");
	ci_varlist_shrink(&l);
	cr_expect_eq(l.idx.cap, 0);
	cr_expect_eq(l.cap, 20);
	cr_expect_str_eq(ci_varlist_get(&l, "K7"), "K7");
	ci_varlist_add(&l, "K7", "again", false);
	cr_expect_str_eq(ci_varlist_get(&l, "K7"), "again");
	cr_expect_str_eq(ci_varlist_get(&l, "K19"), "K19");
	ci_varlist_dispose(&l);
	ci_varlist_shrink(NULL);
}

Test(vars, borrowed_items_share_strings_and_are_not_freed)
{
	struct ci_varlist owner = CI_VARLIST_INIT, job = CI_VARLIST_INIT, out;
	ci_varlist_add(&owner, "G", "global", false);
	ci_varlist_add(&owner, "R", "$G", true);
	ci_varlist_add_borrowed(&job, &owner.v[0]);
	ci_varlist_add_borrowed(&job, &owner.v[1]);
	ci_varlist_add_static(&job, "CI_JOB_STAGE", "test");
	ci_varlist_add(&job, "OWN", "$G-x", false);
	cr_expect_eq(job.v[0].key, owner.v[0].key, "no copy");
	cr_expect(job.v[1].raw && job.v[1].borrowed && !job.v[3].borrowed);
	ci_varlist_init(&out);
	cr_assert_eq(ci_varlist_expand(&job, &out), 0, "%s", error_msg());
	cr_expect_str_eq(ci_varlist_get(&out, "OWN"), "global-x");
	cr_expect_str_eq(ci_varlist_get(&out, "R"), "$G");
	cr_expect_str_eq(ci_varlist_get(&out, "CI_JOB_STAGE"), "test");
	ci_varlist_dedup(&job);
	ci_varlist_dispose(&job);  /* must not free the owner's strings */
	cr_expect_str_eq(owner.v[0].value, "global");
	ci_varlist_dispose(&owner);
	ci_varlist_dispose(&out);
}

static void expand(struct ci_varlist *in, struct ci_varlist *out)
{
	ci_varlist_init(out);
	cr_assert_eq(ci_varlist_expand(in, out), 0, "%s", error_msg());
}

Test(vars, expansion_forms_escapes_and_undefined)
{
	struct ci_varlist in = CI_VARLIST_INIT, out;
	ci_varlist_add(&in, "A", "1", false);
	ci_varlist_add(&in, "B", "$A-2", false);
	ci_varlist_add(&in, "C", "${B}/x", false);
	ci_varlist_add(&in, "D", "%A%", false);
	ci_varlist_add(&in, "E", "$$A %%A%%", false);
	ci_varlist_add(&in, "F", "$UNDEF ${UNDEF} keep", false);
	ci_varlist_add(&in, "G", "${}$", false);
	expand(&in, &out);
	cr_expect_str_eq(ci_varlist_get(&out, "B"), "1-2");
	cr_expect_str_eq(ci_varlist_get(&out, "C"), "1-2/x");   /* chains expand fully */
	cr_expect_str_eq(ci_varlist_get(&out, "D"), "1");
	cr_expect_str_eq(ci_varlist_get(&out, "E"), "$$A %%A%%");
	cr_expect_str_eq(ci_varlist_get(&out, "F"), "$UNDEF ${UNDEF} keep");
	cr_expect_str_eq(ci_varlist_get(&out, "G"), "${}$");
	ci_varlist_dispose(&in);
	ci_varlist_dispose(&out);
}

Test(vars, gitlab_ci_local_variable_escaping_fixture)
{
	/* variable-escaping: LS_CMD: 'ls "$FLAGS" $$TMP_DIR' with FLAGS=-al;
	 * the server keeps $$ (the runner turns it into $). */
	struct ci_varlist in = CI_VARLIST_INIT, out;
	ci_varlist_add(&in, "FLAGS", "-al", false);
	ci_varlist_add(&in, "LS_CMD", "ls \"$FLAGS\" $$TMP_DIR", false);
	expand(&in, &out);
	cr_expect_str_eq(ci_varlist_get(&out, "LS_CMD"), "ls \"-al\" $$TMP_DIR");
	ci_varlist_dispose(&in);
	ci_varlist_dispose(&out);
}

Test(vars, raw_values_and_references_to_raw_are_left_alone)
{
	struct ci_varlist in = CI_VARLIST_INIT, out;
	ci_varlist_add(&in, "A", "normal", false);
	ci_varlist_add(&in, "B", "raw-$A", true);
	ci_varlist_add(&in, "C", "$B", false);
	expand(&in, &out);
	cr_expect_str_eq(ci_varlist_get(&out, "B"), "raw-$A");
	cr_expect(ci_varlist_item(&out, "B")->raw);
	cr_expect_str_eq(ci_varlist_get(&out, "C"), "$B");
	ci_varlist_dispose(&in);
	ci_varlist_dispose(&out);
}

Test(vars, self_reference_sees_the_earlier_definition)
{
	struct ci_varlist in = CI_VARLIST_INIT, out;
	ci_varlist_add(&in, "P", "/a", false);
	ci_varlist_add(&in, "P", "$P:/b", false);
	expand(&in, &out);
	cr_expect_str_eq(ci_varlist_get(&out, "P"), "/a:/b");
	ci_varlist_dispose(&in);
	ci_varlist_dispose(&out);
}

Test(vars, dependencies_come_first)
{
	struct ci_varlist in = CI_VARLIST_INIT, out;
	ci_varlist_add(&in, "X", "$Y+", false);
	ci_varlist_add(&in, "Y", "y", false);
	ci_varlist_add(&in, "Z", "z", false);
	expand(&in, &out);
	cr_assert_eq(out.n, 3);
	cr_expect_str_eq(out.v[0].key, "Y");
	cr_expect_str_eq(out.v[1].key, "X");
	cr_expect_str_eq(out.v[1].value, "y+");
	cr_expect_str_eq(out.v[2].key, "Z");
	ci_varlist_dispose(&in);
	ci_varlist_dispose(&out);
}

Test(vars, cycles_are_gitlab_errors)
{
	struct ci_varlist in = CI_VARLIST_INIT, out = CI_VARLIST_INIT;
	ci_varlist_add(&in, "A", "$B", false);
	ci_varlist_add(&in, "B", "${A}", false);
	ci_varlist_add(&in, "C", "ok", false);
	cr_expect_eq(ci_varlist_expand(&in, &out), SO_EINVALID);
	cr_expect_str_eq(error_msg(), "circular variable reference detected: [\"A\", \"B\"]");
	ci_varlist_dispose(&in);
	ci_varlist_dispose(&out);
}

Test(vars, long_chain_is_iterative)
{
	struct ci_varlist in = CI_VARLIST_INIT, out;
	char k[32], v[32];
	ci_varlist_add(&in, "V0", "x", false);
	for (int i = 1; i < 20000; i++) {
		snprintf(k, sizeof(k), "V%d", i);
		snprintf(v, sizeof(v), "$V%d", i - 1);
		ci_varlist_add(&in, k, v, false);
	}
	expand(&in, &out);
	cr_expect_str_eq(ci_varlist_get(&out, "V19999"), "x");
	ci_varlist_dispose(&in);
	ci_varlist_dispose(&out);
}

Test(vars, expand_string_for_keywords)
{
	struct ci_varlist l = CI_VARLIST_INIT;
	ci_varlist_add(&l, "CI_COMMIT_REF_SLUG", "feature-x", false);
	ci_varlist_add(&l, "R", "$CI_COMMIT_REF_SLUG", true);
	char *s = ci_vars_expand_string("review/$CI_COMMIT_REF_SLUG/${UNDEF}$$", &l);
	cr_expect_str_eq(s, "review/feature-x/$$");
	free(s);
	s = ci_vars_expand_string("$R", &l);
	cr_expect_str_eq(s, "$CI_COMMIT_REF_SLUG");
	free(s);
	ci_varlist_dispose(&l);
}

Test(vars, slugs)
{
	char *s = ci_slugify("Feature/Login_X");
	cr_expect_str_eq(s, "feature-login-x");
	free(s);
	s = ci_slugify("--a--");
	cr_expect_str_eq(s, "a");
	free(s);
	char longname[100];
	memset(longname, 'a', 99);
	longname[99] = 0;
	s = ci_slugify(longname);
	cr_expect_eq(strlen(s), 63);
	free(s);
	/* gitlab-ci-local fixture `environment` */
	s = ci_environment_slug("Stage Domain");
	cr_expect_str_eq(s, "stage-domain-ip33nk");
	free(s);
	s = ci_environment_slug("production");
	cr_expect_str_eq(s, "production");
	free(s);
	s = ci_environment_slug("review/a-very-long-feature-branch-name");
	cr_expect_eq(strlen(s), 24);
	cr_expect_eq(strncmp(s, "review-a-very-lon-", 18), 0, "%s", s);
	free(s);
}

Test(vars, predefined_for_a_chat_pipeline)
{
	struct ci_pipeline_context ctx = { 0 };
	struct ci_varlist l = CI_VARLIST_INIT;
	ctx.source = "chat";
	ctx.ref = "main";
	ctx.sha = "0123456789abcdef0123456789abcdef01234567";
	ctx.default_branch = "main";
	ctx.project.id = 7;
	ctx.project.path = "proj";
	ctx.project.path_with_namespace = "group/sub/proj";
	ctx.project.namespace = "group/sub";
	ctx.project.url = "https://so.example:8443/group/sub/proj";
	ctx.server_url = "https://so.example:8443";
	ctx.user.id = 3;
	ctx.user.login = "alice";
	ctx.pipeline_id = 42;
	ctx.pipeline_iid = 5;
	ctx.chat.input = "a \"b\"\n$(c) $HOME";
	ctx.chat.channel = "town-square";
	ctx.chat.user_id = "u123";
	ci_vars_persisted(&l, &ctx, 100);
	ci_vars_predefined_pipeline(&l, &ctx, NULL);
	ci_vars_user(&l, &ctx);
	ci_vars_pipeline(&l, &ctx);
	cr_expect_str_eq(ci_varlist_get(&l, "CI"), "true");
	cr_expect_str_eq(ci_varlist_get(&l, "GITLAB_CI"), "true");
	cr_expect_str_eq(ci_varlist_get(&l, "CI_PIPELINE_SOURCE"), "chat");
	cr_expect_str_eq(ci_varlist_get(&l, "CI_PIPELINE_ID"), "42");
	cr_expect_str_eq(ci_varlist_get(&l, "CI_PIPELINE_IID"), "5");
	cr_expect_str_eq(ci_varlist_get(&l, "CI_PIPELINE_URL"),
		"https://so.example:8443/group/sub/proj/-/pipelines/42");
	cr_expect_str_eq(ci_varlist_get(&l, "CI_JOB_URL"),
		"https://so.example:8443/group/sub/proj/-/jobs/100");
	cr_expect_str_eq(ci_varlist_get(&l, "CI_COMMIT_SHORT_SHA"), "01234567");
	cr_expect_str_eq(ci_varlist_get(&l, "CI_COMMIT_BEFORE_SHA"),
		"0000000000000000000000000000000000000000");
	cr_expect_str_eq(ci_varlist_get(&l, "CI_COMMIT_BRANCH"), "main");
	cr_expect_str_eq(ci_varlist_get(&l, "CI_COMMIT_REF_SLUG"), "main");
	cr_expect_null(ci_varlist_get(&l, "CI_COMMIT_TAG"));
	cr_expect_str_eq(ci_varlist_get(&l, "CI_PROJECT_PATH"), "group/sub/proj");
	cr_expect_str_eq(ci_varlist_get(&l, "CI_PROJECT_PATH_SLUG"), "group-sub-proj");
	cr_expect_str_eq(ci_varlist_get(&l, "CI_PROJECT_ROOT_NAMESPACE"), "group");
	cr_expect_str_eq(ci_varlist_get(&l, "CI_SERVER_HOST"), "so.example");
	cr_expect_str_eq(ci_varlist_get(&l, "CI_SERVER_PORT"), "8443");
	cr_expect_str_eq(ci_varlist_get(&l, "CI_SERVER_PROTOCOL"), "https");
	cr_expect_str_eq(ci_varlist_get(&l, "CI_API_V4_URL"), "https://so.example:8443/api/v4");
	cr_expect_str_eq(ci_varlist_get(&l, "GITLAB_USER_LOGIN"), "alice");
	cr_expect_str_eq(ci_varlist_get(&l, "CHAT_INPUT"), "a \"b\"\n$(c) $HOME");
	cr_expect_str_eq(ci_varlist_get(&l, "CHAT_CHANNEL"), "town-square");
	cr_expect_str_eq(ci_varlist_get(&l, "CHAT_USER_ID"), "u123");
	/* chat input is never expanded, even with a HOME variable defined */
	ci_varlist_add(&l, "HOME", "/root", false);
	struct ci_varlist out = CI_VARLIST_INIT;
	cr_assert_eq(ci_varlist_expand(&l, &out), 0);
	cr_expect_str_eq(ci_varlist_get(&out, "CHAT_INPUT"), "a \"b\"\n$(c) $HOME");
	ci_varlist_dispose(&out);
	ci_varlist_dispose(&l);
}

Test(vars, tag_pipeline)
{
	struct ci_pipeline_context ctx = { 0 };
	struct ci_varlist l = CI_VARLIST_INIT;
	ctx.source = "push";
	ctx.ref = "v1.0";
	ctx.tag = true;
	ctx.sha = "abc";
	ci_vars_predefined_pipeline(&l, &ctx, "nightly");
	cr_expect_str_eq(ci_varlist_get(&l, "CI_COMMIT_TAG"), "v1.0");
	cr_expect_null(ci_varlist_get(&l, "CI_COMMIT_BRANCH"));
	cr_expect_str_eq(ci_varlist_get(&l, "CI_PIPELINE_NAME"), "nightly");
	cr_expect_null(ci_varlist_get(&l, "CHAT_INPUT"));
	ci_varlist_dispose(&l);
}
