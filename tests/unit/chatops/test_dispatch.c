/*
 * test_dispatch.c: the chatops command table: GitLab's permission table
 * (run and deploy need Developer, issue close and move Reporter, the rest
 * read access), which commands claim their trigger_id (the ones with
 * effects), that only help has a handler so far (the others answer "not
 * available"), and the available set.
 */
#include "chatops/trigger.h"

#include "auth/auth.h"

#include <criterion/criterion.h>

static bool allowed(enum chat_command_kind k, int level, bool can_read)
{
	return chatops_permitted(chatops_command_def(k), level, can_read);
}

Test(dispatch, table_is_indexed_by_kind)
{
	for (int k = 0; k < CHAT_CMD__COUNT; k++)
		cr_assert_eq(chatops_command_def((enum chat_command_kind)k)->kind, k);
	cr_assert_eq(chatops_command_def(CHAT_CMD__COUNT)->kind, CHAT_CMD_HELP,
		     "an out-of-range kind is help");
}

Test(dispatch, gitlab_permission_table)
{
	const struct {
		enum chat_command_kind kind;
		int min; /* lowest level allowed; 0: anyone who can read */
	} rows[] = {
		{ CHAT_CMD_HELP, 0 },
		{ CHAT_CMD_ISSUE_SHOW, 0 },
		{ CHAT_CMD_ISSUE_SEARCH, 0 },
		{ CHAT_CMD_ISSUE_NEW, 0 },
		{ CHAT_CMD_ISSUE_COMMENT, 0 },
		{ CHAT_CMD_INCIDENT_DECLARE, 0 },
		{ CHAT_CMD_ISSUE_CLOSE, AUTH_ACCESS_REPORTER },
		{ CHAT_CMD_ISSUE_MOVE, AUTH_ACCESS_REPORTER },
		{ CHAT_CMD_DEPLOY, AUTH_ACCESS_DEVELOPER },
		{ CHAT_CMD_RUN, AUTH_ACCESS_DEVELOPER },
	};
	const int levels[] = { 0, 10, 20, 30, 40, 50 };

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		for (size_t j = 0; j < sizeof(levels) / sizeof(levels[0]); j++) {
			bool want = levels[j] >= rows[i].min;

			cr_assert_eq(allowed(rows[i].kind, levels[j], true), want, "%s at %d",
				     chat_command_name(rows[i].kind), levels[j]);
			cr_assert_not(allowed(rows[i].kind, levels[j], false),
				      "%s without read access", chat_command_name(rows[i].kind));
		}
	}
}

Test(dispatch, effects_claim_the_trigger_id)
{
	cr_assert_not(chatops_command_def(CHAT_CMD_HELP)->effectful);
	cr_assert_not(chatops_command_def(CHAT_CMD_ISSUE_SHOW)->effectful);
	cr_assert_not(chatops_command_def(CHAT_CMD_ISSUE_SEARCH)->effectful);
	cr_assert(chatops_command_def(CHAT_CMD_ISSUE_NEW)->effectful);
	cr_assert(chatops_command_def(CHAT_CMD_ISSUE_MOVE)->effectful);
	cr_assert(chatops_command_def(CHAT_CMD_ISSUE_CLOSE)->effectful);
	cr_assert(chatops_command_def(CHAT_CMD_ISSUE_COMMENT)->effectful);
	cr_assert(chatops_command_def(CHAT_CMD_DEPLOY)->effectful);
	cr_assert(chatops_command_def(CHAT_CMD_RUN)->effectful);
}

Test(dispatch, help_and_run_are_built_and_everything_is_offered)
{
	cr_assert_not_null(chatops_command_def(CHAT_CMD_HELP)->run);
	cr_assert_not_null(chatops_command_def(CHAT_CMD_RUN)->run);
	for (int k = CHAT_CMD_HELP + 1; k < CHAT_CMD__COUNT; k++)
		if (k != CHAT_CMD_RUN)
			cr_assert_null(chatops_command_def((enum chat_command_kind)k)->run,
			       "%s is answered as not available",
			       chat_command_name((enum chat_command_kind)k));
	cr_assert_eq(chatops_available_commands(), CHAT_CMD_ALL);
}
