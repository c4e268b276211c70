/*
 * Unit tests for chat/presenters: the exact texts and JSON of every reply.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "chat/presenters.h"
#include "chat/reply.h"

#define PROJ "https://ops.example/ns/proj"
#define DOCS "https://ops.example/help/chatops"

static char *dump_free(json_t *r)
{
	char *s = chat_reply_dump(r);

	json_decref(r);
	return s;
}

static void expect_dump(json_t *r, const char *want)
{
	char *s = dump_free(r);

	cr_expect_str_eq(s, want);
	free(s);
}

/* The reply's text, with its response_type checked. */
static void expect_text(json_t *r, const char *type, const char *want)
{
	cr_expect_str_eq(json_string_value(json_object_get(r, "response_type")), type);
	cr_expect_eq(json_integer_value(json_object_get(r, "status")), 200);
	cr_expect_str_eq(json_string_value(json_object_get(r, "text")), want);
	json_decref(r);
}

#define LIST                                                                                   \
	"*Available commands*\n"                                                               \
	"\n"                                                                                   \
	"The following commands are available for this chatops integration:\n"                 \
	"\n"                                                                                   \
	"/ops issue show <id>\n"                                                               \
	"/ops issue new <title> *`\xe2\x87\xa7 Shift`*+*`\xe2\x86\xb5 Enter`* <description>\n" \
	"/ops issue search <your query>\n"                                                     \
	"/ops issue move <issue_id> (to)? <project_path>\n"                                    \
	"/ops issue close <id>\n"                                                              \
	"/ops issue comment <id> *`\xe2\x87\xa7 Shift`*+*`\xe2\x86\xb5 Enter`* <comment>\n"    \
	"/ops deploy <environment> to <target-environment>\n"                                  \
	"/ops run <command> <arguments>\n"                                                     \
	"/ops incident declare\n"                                                              \
	"\n"                                                                                   \
	"If available, the `run` command is used for running slashops CI jobs\n"               \
	"defined in this project's `.gitlab-ci.yml` file. For example, if a\n"                 \
	"job called \"help\" is defined you can run it like so:\n"                             \
	"\n"                                                                                   \
	"`/ops run help`\n"

#define FOOTER                                                                                 \
	"*Project*\n"                                                                          \
	"\n"                                                                                   \
	"The slashops project for this chatops integration can be found at\n"                  \
	"https://ops.example/ns/proj.\n"                                                       \
	"\n"                                                                                   \
	"*Documentation*\n"                                                                    \
	"\n"                                                                                   \
	"For more information about slashops chatops, refer to its\n"                          \
	"documentation: https://ops.example/help/chatops.\n"

Test(presenters, help_exact_layout)
{
	expect_text(chat_present_help("/ops", CHAT_CMD_ALL, "help", PROJ, DOCS), "ephemeral",
		    LIST "\n\n" FOOTER "\n");
	expect_text(chat_present_help("/ops", CHAT_CMD_ALL, "helpme", PROJ, DOCS), "ephemeral",
		    LIST "\n\n" FOOTER "\n");
	expect_text(chat_present_help("/ops", CHAT_CMD_ALL, "Help", PROJ, DOCS), "ephemeral",
		    "The specified command is not valid.\n\n" LIST "\n\n" FOOTER "\n");
	expect_text(chat_present_help("/ops", CHAT_CMD_ALL, "", PROJ, DOCS), "ephemeral",
		    "The specified command is not valid.\n\n" LIST "\n\n" FOOTER "\n");
}

Test(presenters, help_lists_only_available_commands_in_order)
{
	char *t = chat_help_text("/deploy", CHAT_CMD_BIT(CHAT_CMD_RUN) |
				 CHAT_CMD_BIT(CHAT_CMD_ISSUE_SHOW) | CHAT_CMD_BIT(CHAT_CMD_HELP),
				 "help", NULL, DOCS);

	cr_expect_str_eq(t, "*Available commands*\n\n"
			    "The following commands are available for this chatops integration:\n\n"
			    "/deploy issue show <id>\n"
			    "/deploy run <command> <arguments>\n\n"
			    "If available, the `run` command is used for running slashops CI jobs\n"
			    "defined in this project's `.gitlab-ci.yml` file. For example, if a\n"
			    "job called \"help\" is defined you can run it like so:\n\n"
			    "`/deploy run help`\n\n\n"
			    "*Documentation*\n\n"
			    "For more information about slashops chatops, refer to its\n"
			    "documentation: https://ops.example/help/chatops.\n\n");
	free(t);
}

Test(presenters, help_without_commands)
{
	expect_text(chat_present_help("/ops", 0, "help", PROJ, DOCS), "ephemeral",
		    "This chatops integration does not have any commands that can be\n"
		    "executed.\n\n" FOOTER "\n");
}

Test(presenters, access_texts)
{
	expect_text(chat_present_authorize("https://ops.example/-/profile/chat_names/new?token=abc_-1"),
		    "ephemeral",
		    ":wave: Hi there! Before I do anything for you, please "
		    "<https://ops.example/-/profile/chat_names/new?token=abc_-1|connect your "
		    "slashops account>.");
	expect_text(chat_present_authorize(NULL), "ephemeral",
		    ":sweat_smile: Couldn't identify you, nor can I authorize you!");
	expect_text(chat_present_access_denied(PROJ), "ephemeral",
		    "You are not allowed to perform the given chatops command. Most\n"
		    "likely you do not have access to the slashops project for this chatops\n"
		    "integration.\n\n"
		    "The slashops project for this chatops integration can be found at\n"
		    "https://ops.example/ns/proj.\n");
	expect_text(chat_present_generic_access_denied(), "ephemeral",
		    "You are not allowed to perform the given chatops command.");
	expect_text(chat_present_deactivated("https://ops.example"), "ephemeral",
		    "You are not allowed to perform the given ChatOps command. Most likely\n"
		    "your https://ops.example account needs to be reactivated.\n\n"
		    "Please log back in from a web browser to reactivate your account at "
		    "https://ops.example\n");
	expect_text(chat_present_not_found(), "ephemeral",
		    "404 not found! slashops couldn't find what you were looking for! :boom:");
	expect_text(chat_present_error("unauthorized"), "ephemeral", "unauthorized");
}

Test(presenters, display_errors)
{
	const char *errs[] = { "Title is too long (maximum is 255 characters)", "Other" };

	expect_text(chat_present_errors(errs, 2), "ephemeral",
		    "The action was not successful, because:\n"
		    "- Title is too long (maximum is 255 characters)\n- Other");
}

Test(presenters, slashops_replies)
{
	expect_text(chat_present_unavailable(CHAT_CMD_ISSUE_NEW), "ephemeral",
		    "The `issue new` command is not available on this slashops server yet.");
	expect_text(chat_present_unavailable(CHAT_CMD_DEPLOY), "ephemeral",
		    "The `deploy` command is not available on this slashops server yet.");
	expect_text(chat_present_rate_limited(30), "ephemeral",
		    "You are sending commands too quickly. Try again in 30 seconds.");
	expect_text(chat_present_rate_limited(0), "ephemeral",
		    "You are sending commands too quickly. Try again in 1 second.");
	expect_text(chat_present_wrong_team(PROJ), "ephemeral",
		    "This chatops integration does not serve your team, so it cannot run "
		    "commands for you.\n\n"
		    "The slashops project for this chatops integration can be found at\n"
		    "https://ops.example/ns/proj.\n");
	expect_text(chat_present_too_long(), "ephemeral",
		    "The command is too long: at most 16384 bytes can be handled.");
}

Test(presenters, run_replies)
{
	expect_dump(chat_present_run_scheduled(123, "https://ops.example/ns/proj/-/jobs/123"),
		    "{\"response_type\":\"ephemeral\",\"status\":200,\"text\":\"Your ChatOps job "
		    "<https://ops.example/ns/proj/-/jobs/123|#123> has been created!\"}");
	expect_text(chat_present_run_failed_to_schedule("deploy"), "ephemeral",
		    "The command could not be scheduled. Make sure that your project has a "
		    ".gitlab-ci.yml that defines a job with the name \"deploy\"");
	expect_text(chat_present_run_failed_to_schedule("a\"b\\c\nd#{x}"), "ephemeral",
		    "The command could not be scheduled. Make sure that your project has a "
		    ".gitlab-ci.yml that defines a job with the name \"a\\\"b\\\\c\\nd\\#{x}\"");
	expect_text(chat_present_run_unsupported(), "ephemeral",
		    "Sorry, this chat service is currently not supported by slashops ChatOps.");
}

Test(presenters, ruby_inspect)
{
	static const char *const c[][2] = {
		{ "deploy", "\"deploy\"" },
		{ "", "\"\"" },
		{ "t\tr\re\x1b" "b\x01" "d\x7f", "\"t\\tr\\re\\eb\\u0001d\\u007F\"" },
		{ "#x #$y #@z #{w}", "\"#x \\#$y \\#@z \\#{w}\"" },
		{ "j\xc3\xb6" "b \xff", "\"j\xc3\xb6" "b \\xFF\"" },
		{ "\xe6\x97", "\"\\xE6\\x97\"" },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char *got = chat_ruby_inspect(c[i][0]);

		cr_expect_str_eq(got, c[i][1], "case %zu", i);
		free(got);
	}
}

Test(presenters, job_finished_posts)
{
	struct chat_job_result r = {
		.user_full_name = "Ann Example", .user_url = "https://ops.example/ann",
		.job_id = 42, .job_url = "https://ops.example/ns/proj/-/jobs/42", .job_name = "uptime",
		.output = "\x1b[32mup\x1b[0m 3 days\x1b[0K", .output_len = 23,
	};
	char big[CHAT_JOB_OUTPUT_MAX + 1];

	expect_dump(chat_present_job_succeeded(&r),
		    "{\"response_type\":\"in_channel\",\"attachments\":[{\"text\":\"ChatOps job "
		    "started by [Ann Example](https://ops.example/ann) completed successfully\","
		    "\"color\":\"#00c100\",\"fields\":[{\"title\":\"ID\",\"value\":\"[#42]"
		    "(https://ops.example/ns/proj/-/jobs/42)\",\"short\":true},{\"title\":\"Name\","
		    "\"value\":\"uptime\",\"short\":true},{\"title\":\"Output\",\"value\":"
		    "\"```shell\\nup 3 days\\u001B[0K\\n```\",\"short\":false}]}]}");
	memset(big, 'x', sizeof(big));
	r.output = big;
	r.output_len = sizeof(big);
	{
		json_t *j = chat_present_job_succeeded(&r);
		json_t *f = json_array_get(json_object_get(
			json_array_get(json_object_get(j, "attachments"), 0), "fields"), 2);

		cr_expect_str_eq(json_string_value(json_object_get(f, "value")),
				 "```shell\nThe output is too large to be sent back directly!\n```");
		json_decref(j);
	}
	expect_dump(chat_present_job_failed(&r),
		    "{\"response_type\":\"in_channel\",\"attachments\":[{\"text\":\"ChatOps job "
		    "started by [Ann Example](https://ops.example/ann) failed!\","
		    "\"color\":\"#e40303\",\"fields\":[{\"title\":\"ID\",\"value\":\"[#42]"
		    "(https://ops.example/ns/proj/-/jobs/42)\",\"short\":true},{\"title\":\"Name\","
		    "\"value\":\"uptime\",\"short\":true}]}]}");
}

Test(presenters, deploy_replies)
{
	expect_dump(chat_present_deploy_started("staging", "production",
						"https://ops.example/ns/proj/-/jobs/42"),
		    "{\"response_type\":\"in_channel\",\"status\":200,\"text\":\"Deployment started "
		    "from staging to production. <https://ops.example/ns/proj/-/jobs/42|Follow its "
		    "progress>.\"}");
	expect_text(chat_present_deploy_no_action(), "ephemeral",
		    "Couldn't find a deployment manual action.");
	expect_text(chat_present_deploy_failed("no runner"), "ephemeral",
		    "Couldn't start the deployment: no runner");
}

static const struct chat_issue issue12 = {
	.iid = 12, .title = "My title", .url = "https://ops.example/ns/proj/-/issues/12",
	.open = true, .upvotes = 1, .notes = 3, .labels = "bug, ui",
	.author = { "ann", "Ann Example", "https://ops.example/ann", "https://ops.example/a.png" },
};

static const struct chat_person bob = { "bob", "Bob", "https://ops.example/bob", NULL };

Test(presenters, issue_show_card)
{
	struct chat_issue conf = issue12;

	expect_dump(chat_present_issue_show(&issue12, "Ns / Proj"),
		    "{\"response_type\":\"in_channel\",\"status\":200,\"attachments\":[{"
		    "\"title\":\"My title \xc2\xb7 #12\","
		    "\"title_link\":\"https://ops.example/ns/proj/-/issues/12\","
		    "\"author_name\":\"Ann Example\",\"author_icon\":\"https://ops.example/a.png\","
		    "\"fallback\":\"Issue #12: My title\",\"pretext\":\"Issue *#12* from Ns / Proj\","
		    "\"text\":\"**Open** \xc2\xb7 :+1: 1 :speech_balloon: 3\",\"color\":\"#38ae67\","
		    "\"fields\":[{\"title\":\"Assignee\",\"value\":\"_None_\",\"short\":true},"
		    "{\"title\":\"Milestone\",\"value\":\"_None_\",\"short\":true},"
		    "{\"title\":\"Labels\",\"value\":\"bug, ui\",\"short\":true}],"
		    "\"mrkdwn_in\":[\"title\",\"pretext\",\"fields\"]}]}");
	conf.confidential = true;
	conf.open = false;
	conf.upvotes = conf.notes = 0;
	{
		json_t *r = chat_present_issue_show(&conf, "Ns / Proj");
		json_t *a = json_array_get(json_object_get(r, "attachments"), 0);

		cr_expect_str_eq(json_string_value(json_object_get(r, "response_type")), "ephemeral");
		cr_expect_str_eq(json_string_value(json_object_get(a, "text")), "**Closed**");
		cr_expect_str_eq(json_string_value(json_object_get(a, "color")), "#d22852");
		json_decref(r);
	}
}

Test(presenters, issue_new_text)
{
	expect_text(chat_present_issue_new(&issue12, &bob, "Ns / Proj", PROJ), "in_channel",
		    "I created an issue on <https://ops.example/bob|@bob>'s behalf: "
		    "*<https://ops.example/ns/proj/-/issues/12|#12>* in "
		    "<https://ops.example/ns/proj|Ns / Proj>");
}

Test(presenters, issue_search_headers)
{
	struct chat_issue list[6];
	json_t *r;

	for (int i = 0; i < 6; i++) {
		list[i] = issue12;
		list[i].iid = i + 1;
		list[i].open = i % 2 == 0;
	}
	expect_text(chat_present_issue_search(list, 0), "ephemeral",
		    "404 not found! slashops couldn't find what you were looking for! :boom:");
	r = chat_present_issue_search(list, 1);
	cr_expect_str_eq(json_string_value(json_object_get(r, "text")),
			 "Here is the only issue I found:");
	expect_dump(r, "{\"response_type\":\"ephemeral\",\"status\":200,\"text\":\"Here is the only "
		       "issue I found:\",\"attachments\":[{\"fallback\":\"#1 My title\",\"text\":"
		       "\"<https://ops.example/ns/proj/-/issues/12|#1> \xc2\xb7 My title (Open)\","
		       "\"color\":\"#38ae67\",\"mrkdwn_in\":[\"text\"]}]}");
	r = chat_present_issue_search(list, 3);
	cr_expect_str_eq(json_string_value(json_object_get(r, "text")),
			 "Here are the 3 issues I found:");
	json_decref(r);
	r = chat_present_issue_search(list, 6);
	cr_expect_str_eq(json_string_value(json_object_get(r, "text")),
			 "Here are the first 5 issues I found:");
	cr_expect_eq(json_array_size(json_object_get(r, "attachments")), 5);
	json_decref(r);
}

Test(presenters, issue_move_close_comment)
{
	struct chat_issue moved = issue12;
	json_t *r, *a;

	moved.iid = 2;
	moved.url = "https://ops.example/g/p/-/issues/2";
	r = chat_present_issue_move(&issue12, &moved);
	a = json_array_get(json_object_get(r, "attachments"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(r, "response_type")), "in_channel");
	cr_expect_str_eq(json_string_value(json_object_get(a, "pretext")),
			 "Moved issue *<https://ops.example/ns/proj/-/issues/12|#12>* to "
			 "*<https://ops.example/g/p/-/issues/2|#2>*");
	cr_expect_str_eq(json_string_value(json_object_get(a, "fallback")), "Issue #2: My title");
	json_decref(r);

	r = chat_present_issue_close(&issue12, &bob, "Ns / Proj", PROJ);
	a = json_array_get(json_object_get(r, "attachments"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(a, "pretext")),
			 "I closed an issue on <https://ops.example/bob|@bob>'s behalf: *#12* in "
			 "<https://ops.example/ns/proj|Ns / Proj>");
	cr_expect_str_eq(json_string_value(json_object_get(a, "fallback")),
			 "Closed issue #12: My title");
	json_decref(r);

	expect_text(chat_present_issue_already_closed(&issue12), "ephemeral",
		    "Issue #12 is already closed.");

	r = chat_present_issue_comment(&issue12, 99, "looks good", &bob, "Ns / Proj", PROJ);
	a = json_array_get(json_object_get(r, "attachments"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(r, "response_type")), "ephemeral");
	cr_expect_str_eq(json_string_value(json_object_get(a, "title_link")),
			 "https://ops.example/ns/proj/-/issues/12#note_99");
	cr_expect_str_eq(json_string_value(json_object_get(a, "author_name")), "Bob");
	cr_expect_str_eq(json_string_value(json_object_get(a, "pretext")),
			 "I commented on an issue on <https://ops.example/bob|@bob>'s behalf: *#12* "
			 "in <https://ops.example/ns/proj|Ns / Proj>");
	cr_expect_str_eq(json_string_value(json_object_get(
				 json_array_get(json_object_get(a, "fields"), 0), "value")),
			 "looks good");
	cr_expect_null(json_object_get(json_array_get(json_object_get(a, "fields"), 0), "short"));
	json_decref(r);
}

Test(presenters, linking_texts)
{
	char *s;

	cr_expect_str_eq(chat_integration_name("T123", "U456"), "slashops for Slack app");
	cr_expect_str_eq(chat_integration_name("T123", "W456"), "slashops for Slack app");
	cr_expect_str_eq(chat_integration_name("carya1qs77bemjup96ff538snh", "Uabc"),
			 "Mattermost slash commands");
	cr_expect_str_eq(chat_integration_name("tabc", "uabc"), "Mattermost slash commands");
	cr_expect_str_eq(chat_integration_name(NULL, NULL), "Mattermost slash commands");
	s = chat_text_requesting_access("Mattermost slash commands");
	cr_expect_str_eq(s, "An application called Mattermost slash commands is requesting access "
			    "to your slashops account");
	free(s);
	s = chat_text_authorized("alice");
	cr_expect_str_eq(s, "Authorized alice");
	free(s);
	s = chat_text_denied("alice");
	cr_expect_str_eq(s, "Denied authorization of chat nickname alice.");
	free(s);
	s = chat_text_deleted("alice");
	cr_expect_str_eq(s, "Deleted chat nickname: alice!");
	free(s);
	s = chat_text_delete_failed("alice");
	cr_expect_str_eq(s, "Could not delete account nickname alice.");
	free(s);
}
