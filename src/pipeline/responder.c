/*
 * responder.c: which chat service a response_url belongs to, GitLab's
 * Slack responder (the reply a finished ChatOps job posts to a Slack
 * response_url), and queueing a chat reply in the outbox with the kind the
 * configuration gives its URL.
 *
 * Design: GitLab's Chat::Responder.responder_for picks Slack when the
 * response_url starts with https://hooks.slack.com/, Mattermost otherwise.
 * Here the prefixes are chat.slack_response_url_prefixes (default: that
 * one and GovSlack's https://hooks.slack-gov.com/), so a test can point
 * Slack replies at a local receiver. The Slack payloads are GitLab's
 * Chat::Responder::Slack bodies: {"text":"<@USER>: ...","response_type":
 * "in_channel"}, the output as is (no code block, no colour stripping; only
 * invalid UTF-8 is replaced, as JSON needs), the "too large" and "build
 * failed" texts as Slack links to the job. The Mattermost layout lives in
 * chat/presenters.c.
 */
#include "pipeline/internal.h"

#include "chat/reply.h"
#include "core/app.h"
#include "core/config.h"
#include "exec/trace_parse.h"
#include "pipeline/delivery.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Used when there is no configuration (cfg NULL); config_init() sets the
 * same list as chat.slack_response_url_prefixes' default. */
static const char *const default_prefixes[] = { "https://hooks.slack.com/",
						"https://hooks.slack-gov.com/", NULL };

bool pipeline_chat_url_is_slack(const struct config *cfg, const char *response_url)
{
	const char *const *p = cfg ? (const char *const *)cfg->chat_slack_prefixes : default_prefixes;

	if (!response_url || !p)
		return false;
	for (; *p; p++)
		if (**p && strncmp(response_url, *p, strlen(*p)) == 0)
			return true;
	return false;
}

/* {"text":text,"response_type":"in_channel"} as compact JSON. */
static char *slack_post(const char *text)
{
	json_t *o = json_object();
	char *s;

	json_object_set_new(o, "text", json_string(text));
	json_object_set_new(o, "response_type", json_string("in_channel"));
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s)
		abort(); /* out of memory */
	return s;
}

char *pipeline_slack_job_succeeded(const char *chat_user_id, const char *job_url,
				   const char *output, size_t output_len, bool too_large)
{
	char *clean, *text, *post;

	if (!too_large && output_len > TRACE_CHAT_MAX_BYTES)
		too_large = true;
	if (!too_large && output_len == 0)
		return NULL; /* GitLab: "Chat pipeline successful, but output is empty" */
	if (too_large) {
		text = xasprintf("<@%s>: <%s|The output is too large to be sent back directly!>",
				 chat_user_id ? chat_user_id : "", job_url ? job_url : "");
	} else {
		clean = chat_utf8_scrub(output ? output : "", output ? output_len : 0);
		text = xasprintf("<@%s>: %s", chat_user_id ? chat_user_id : "", clean);
		free(clean);
	}
	post = slack_post(text);
	free(text);
	return post;
}

char *pipeline_slack_job_failed(const char *chat_user_id, const char *job_url)
{
	char *text = xasprintf("<@%s>: <%s|Sorry, the build failed!>",
			       chat_user_id ? chat_user_id : "", job_url ? job_url : "");
	char *post = slack_post(text);

	free(text);
	return post;
}

int pipeline_chat_enqueue(struct pipeline_service *s, const char *response_url,
			  const char *payload_json, int64_t job_id, int64_t project_id,
			  int64_t url_first_seen_at)
{
	return delivery_enqueue_response(s->app, s->delivery, response_url, payload_json, job_id,
					 project_id, url_first_seen_at);
}
