/*
 * test_responder.c: which response_url is Slack's (the configured prefix
 * list, its defaults, an empty list), and GitLab's Slack responder bodies:
 * success with the output as is (no code block, colour codes kept), the
 * empty-output rule, the 3,584-byte limit (at and over it), failure, and
 * invalid UTF-8 in the output.
 */
#include "pipeline/internal.h"

#include "core/config.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define JOB "https://ops.example.com/g/p/-/jobs/42"

/* The body parsed; asserts it is exactly {"text","response_type"}. */
static const char *text_of(const char *payload, json_t **keep)
{
	json_error_t e;
	json_t *j = json_loads(payload, 0, &e);

	cr_assert_not_null(j, "JSON: %s (%s)", payload, e.text);
	cr_assert_eq(json_object_size(j), 2, "%s", payload);
	cr_assert_str_eq(json_string_value(json_object_get(j, "response_type")), "in_channel");
	*keep = j;
	return json_string_value(json_object_get(j, "text"));
}

Test(responder, slack_prefixes_default_and_configured)
{
	struct config cfg;

	config_init(&cfg);
	cr_assert(pipeline_chat_url_is_slack(&cfg, "https://hooks.slack.com/commands/T1/2/x"));
	cr_assert(pipeline_chat_url_is_slack(&cfg, "https://hooks.slack-gov.com/commands/T1/2/x"));
	cr_assert(!pipeline_chat_url_is_slack(&cfg, "http://hooks.slack.com/commands/T1/2/x"),
		  "only the https prefix");
	cr_assert(!pipeline_chat_url_is_slack(&cfg, "https://hooks.slack.com.evil.example/x"));
	cr_assert(!pipeline_chat_url_is_slack(&cfg, "https://mm.example.com/hooks/commands/a"));
	cr_assert(!pipeline_chat_url_is_slack(&cfg, NULL));
	cr_assert(pipeline_chat_url_is_slack(NULL, "https://hooks.slack.com/commands/x"),
		  "no configuration: the defaults");
	cr_assert(!pipeline_chat_url_is_slack(NULL, "http://127.0.0.1:9/slack/x"));

	/* A configured list replaces the defaults. */
	for (size_t i = 0; cfg.chat_slack_prefixes[i]; i++)
		free(cfg.chat_slack_prefixes[i]);
	cfg.chat_slack_prefixes[0] = strdup("http://127.0.0.1:9/slack/");
	cfg.chat_slack_prefixes[1] = NULL;
	cr_assert(pipeline_chat_url_is_slack(&cfg, "http://127.0.0.1:9/slack/hooks/1"));
	cr_assert(!pipeline_chat_url_is_slack(&cfg, "https://hooks.slack.com/commands/x"));
	/* An empty list: everything is Mattermost. */
	free(cfg.chat_slack_prefixes[0]);
	cfg.chat_slack_prefixes[0] = NULL;
	cr_assert(!pipeline_chat_url_is_slack(&cfg, "http://127.0.0.1:9/slack/hooks/1"));
	config_dispose(&cfg);
}

Test(responder, slack_success_is_the_output_as_is)
{
	const char out[] = "\x1b[32;1m$ echo hi\x1b[0;m\nhi\n```not a block```";
	char *p = pipeline_slack_job_succeeded("U123", JOB, out, sizeof(out) - 1, false);
	json_t *j;

	cr_assert_not_null(p);
	cr_assert_str_eq(text_of(p, &j), "<@U123>: \x1b[32;1m$ echo hi\x1b[0;m\nhi\n```not a block```");
	cr_assert_eq(strncmp(p, "{\"text\":", 8), 0, "text comes first, as GitLab: %s", p);
	json_decref(j);
	free(p);
}

Test(responder, slack_success_empty_output_sends_nothing)
{
	cr_assert_null(pipeline_slack_job_succeeded("U1", JOB, "", 0, false));
	cr_assert_null(pipeline_slack_job_succeeded("U1", JOB, NULL, 0, false));
}

Test(responder, slack_success_size_limit)
{
	char *big = malloc(3585);
	char *p;
	json_t *j;

	memset(big, 'x', 3585);
	/* Exactly 3,584 bytes is still sent. */
	p = pipeline_slack_job_succeeded("U9", JOB, big, 3584, false);
	cr_assert_eq(strlen(text_of(p, &j)), strlen("<@U9>: ") + 3584);
	json_decref(j);
	free(p);
	/* One more byte is "too large", a link to the job. */
	p = pipeline_slack_job_succeeded("U9", JOB, big, 3585, false);
	cr_assert_str_eq(text_of(p, &j),
			 "<@U9>: <" JOB "|The output is too large to be sent back directly!>");
	json_decref(j);
	free(p);
	/* The trace reader's verdict counts too (it does not read the bytes). */
	p = pipeline_slack_job_succeeded("U9", JOB, NULL, 0, true);
	cr_assert_str_eq(text_of(p, &j),
			 "<@U9>: <" JOB "|The output is too large to be sent back directly!>");
	json_decref(j);
	free(p);
	free(big);
}

Test(responder, slack_failure)
{
	char *p = pipeline_slack_job_failed("W0AB", JOB);
	json_t *j;

	cr_assert_str_eq(text_of(p, &j), "<@W0AB>: <" JOB "|Sorry, the build failed!>");
	json_decref(j);
	free(p);
}

Test(responder, slack_invalid_utf8_is_replaced)
{
	const char out[] = "a\xff" "b";
	char *p = pipeline_slack_job_succeeded("U1", JOB, out, 3, false);
	json_t *j;

	cr_assert_str_eq(text_of(p, &j), "<@U1>: a\xef\xbf\xbd" "b");
	json_decref(j);
	free(p);
}
