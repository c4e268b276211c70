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
 * pipeline_job_finish() builds the reply first, then records the job's
 * end and writes the reply to the outbox in one commit (a store write
 * batch): there is no moment at which a finished chat job has no queued
 * reply, and the reply costs one fsync, not two.
 */
#include "pipeline/internal.h"

#include "chat/presenters.h"
#include "core/app.h"
#include "exec/trace_parse.h"
#include "pipeline/delivery.h"
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

/* The outbox row for a finished chat job, built before anything is
 * written. */
struct notice {
	char *url;         /* the pipeline's response_url; owned */
	char *payload;     /* owned */
	int64_t job_id, project_id, first_seen;
};

static void notice_dispose(struct notice *n)
{
	free(n->url);
	free(n->payload);
	memset(n, 0, sizeof(*n));
}

/* Builds the reply of job_id as if it ended as status (-1: its stored
 * status). 1 with *n filled; 0 when chat gets nothing (not a chat
 * pipeline, no response_url, not finished, empty output); negative on a
 * store error. */
static int notice_prepare(struct pipeline_service *s, int64_t job_id, int status,
			  struct notice *n)
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
	int fd = -1, ret = 0;

	memset(n, 0, sizeof(*n));
	if (!s->delivery)
		return 0;
	if ((ret = store_job_get(app->store, job_id, &j)) < 0 ||
	    (ret = store_pipeline_get(app->store, j->pipeline_id, &pl)) < 0)
		goto done;
	if (status < 0)
		status = (int)j->status;
	if (!pl->source || strcmp(pl->source, "chat") != 0 || !pl->chat_response_url ||
	    !*pl->chat_response_url)
		goto done;
	if (status != STORE_CI_SUCCESS && status != STORE_CI_FAILED && status != STORE_CI_CANCELED)
		goto done;
	if ((ret = store_project_get(app->store, j->project_id, &p)) < 0 ||
	    (ret = store_user_get(app->store, pl->user_id, &u)) < 0)
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
	if (status == STORE_CI_SUCCESS) {
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
	n->url = xstrdup(pl->chat_response_url);
	n->payload = payload;
	payload = NULL;
	n->job_id = j->id;
	n->project_id = j->project_id;
	n->first_seen = (int64_t)created;
	ret = 1;
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
	return ret;
}

void pipeline_notify_job(struct pipeline_service *s, int64_t job_id)
{
	struct notice n;

	if (notice_prepare(s, job_id, -1, &n) > 0 &&
	    pipeline_chat_enqueue(s, n.url, n.payload, n.job_id, n.project_id, n.first_seen) < 0)
		log_error("pipeline: cannot queue the chat reply of job %lld: %s",
			  (long long)job_id, error_msg());
	notice_dispose(&n);
}

int pipeline_job_finish(struct pipeline_service *s, int64_t job_id, enum store_ci_status from,
			enum store_ci_status to, int exit_code, const char *reason,
			int64_t trace_bytes)
{
	struct store *st = s->app->store;
	struct notice n;
	bool batch, queued = false;
	int err, e;

	/* Reads, the trace and the reply first: the batch holds the
	 * process's write lock, so it holds only the writes. */
	int have = notice_prepare(s, job_id, (int)to, &n);

	batch = store_write_begin(st, true) == 0; /* else each write commits alone */
	err = store_job_transition(st, job_id, from, to, exit_code, reason, 0);
	if (trace_bytes >= 0)
		(void)store_job_set_trace_bytes(st, job_id, trace_bytes);
	if (err == 0 && have > 0) {
		if ((e = delivery_outbox_add(s->app, n.url, n.payload, n.job_id, n.project_id,
					     n.first_seen)) < 0)
			log_error("pipeline: cannot queue the chat reply of job %lld: %s",
				  (long long)job_id, error_msg());
		else
			queued = true;
	}
	if (batch && (e = store_write_end(st, true)) < 0) {
		log_error("pipeline: the end of job %lld was not recorded: %s", (long long)job_id,
			  error_msg());
		err = e;
		queued = false;
	}
	if (queued)
		delivery_wake(s->delivery);
	notice_dispose(&n);
	return err;
}
