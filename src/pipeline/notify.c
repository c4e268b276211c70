/*
 * notify.c: the chat reply for a finished job of a chat pipeline (GitLab's
 * ChatNotificationWorker and its Mattermost responder).
 *
 * Design: success posts the job's chat output (trace_chat_output: the
 * chat_reply section, else step_script; first line dropped; over 3,584
 * bytes the "too large" text, decided by the presenter); an empty output
 * posts nothing, as GitLab sends nothing. Failure and cancel post the red
 * "failed!" attachment. A response_url the configuration names as Slack's
 * (chat.slack_response_url_prefixes) gets GitLab's Slack responder bodies
 * instead ("<@USER>: output", responder.c), mentioning the chat user id the
 * job was started with (its frozen CHAT_USER_ID). The payload goes to the
 * outbox (pipeline_chat_enqueue), so it survives a restart and is retried.
 */
#include "pipeline/internal.h"

#include "chat/presenters.h"
#include "core/app.h"
#include "exec/trace_parse.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The value of variable key in a job's frozen spec, or NULL. Caller frees. */
static char *spec_var(const char *spec_json, const char *key)
{
	struct pipeline_spec sp = { 0 };
	char *v = NULL;

	if (!spec_json || pipeline_spec_from_json(spec_json, &sp) < 0)
		return NULL;
	for (size_t i = 0; i < sp.n_vars && !v; i++)
		if (strcmp(sp.vars[i].key, key) == 0)
			v = xstrdup(sp.vars[i].value);
	pipeline_spec_dispose(&sp);
	return v;
}

void pipeline_notify_job(struct pipeline_service *s, int64_t job_id)
{
	struct app *app = s->app;
	struct store_job *j = NULL;
	struct store_pipeline *pl = NULL;
	struct store_project *p = NULL;
	struct store_user *u = NULL;
	json_t *reply = NULL;
	char *output = NULL, *trace = NULL, *user_url = NULL, *job_url = NULL, *payload = NULL;
	char *chat_user_id = NULL;
	size_t out_len = 0;
	bool too_large = false, slack;
	time_t created = 0;
	int fd = -1;

	if (!s->delivery)
		return;
	if (store_job_get(app->store, job_id, &j) < 0 ||
	    store_pipeline_get(app->store, j->pipeline_id, &pl) < 0)
		goto done;
	if (!pl->source || strcmp(pl->source, "chat") != 0 || !pl->chat_response_url ||
	    !*pl->chat_response_url)
		goto done;
	if (j->status != STORE_CI_SUCCESS && j->status != STORE_CI_FAILED &&
	    j->status != STORE_CI_CANCELED)
		goto done;
	if (store_project_get(app->store, j->project_id, &p) < 0 ||
	    store_user_get(app->store, pl->user_id, &u) < 0)
		goto done;
	slack = pipeline_chat_url_is_slack(&app->cfg, pl->chat_response_url);
	if (slack)
		chat_user_id = spec_var(j->spec_json, "CHAT_USER_ID");
	user_url = xasprintf("%s/%s", app->cfg.external_url, u->username);
	job_url = xasprintf("%s/%s/-/jobs/%lld", app->cfg.external_url, p->path_with_namespace,
			    (long long)j->id);
	struct chat_job_result r = {
		.user_full_name = u->name, .user_url = user_url, .job_id = j->id,
		.job_url = job_url, .job_name = j->name,
	};
	if (j->status == STORE_CI_SUCCESS) {
		trace = pipeline_trace_path(app, j->id);
		fd = open(trace, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || trace_chat_output(fd, TRACE_CHAT_MAX_BYTES, &output, &out_len,
						&too_large) < 0) {
			log_info("pipeline: job %lld succeeded without chat output (%s); no reply",
				 (long long)j->id, fd < 0 ? "no trace" : error_msg());
			goto done;
		}
		if (!too_large && out_len == 0) {
			log_info("pipeline: job %lld succeeded with empty output; no reply",
				 (long long)j->id);
			goto done;
		}
		if (slack) {
			payload = pipeline_slack_job_succeeded(chat_user_id, job_url, output, out_len,
							       too_large);
		} else {
			r.output = too_large ? NULL : output;
			r.output_len = out_len;
			reply = chat_present_job_succeeded(&r);
		}
	} else if (slack) {
		payload = pipeline_slack_job_failed(chat_user_id, job_url);
	} else {
		reply = chat_present_job_failed(&r);
	}
	if (reply)
		payload = json_dumps(reply, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!payload)
		goto done;
	if (clock_parse_iso(pl->created_at, &created) < 0)
		created = time(NULL);
	if (pipeline_chat_enqueue(s, pl->chat_response_url, payload, j->id, j->project_id,
				  (int64_t)created) < 0)
		log_error("pipeline: cannot queue the chat reply of job %lld: %s", (long long)j->id,
			  error_msg());
done:
	if (fd >= 0)
		close(fd);
	free(payload);
	json_decref(reply);
	free(output);
	free(trace);
	free(user_url);
	free(job_url);
	free(chat_user_id);
	store_user_free(u);
	store_project_free(p);
	store_pipeline_free(pl);
	store_job_free(j);
}
