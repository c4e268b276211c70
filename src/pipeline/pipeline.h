/*
 * pipeline.h: pipelines and jobs coming alive: creating a pipeline from a
 * project's .gitlab-ci.yml (a chat `run` today; push/web/api later),
 * scheduling its jobs on the executor stage by stage, recording how they
 * end, and telling chat.
 *
 * Design: struct pipeline_service owns the executor pool (exec/executor.h)
 * and one scheduler thread. The store is the truth: jobs move through
 * store_job_transition() (compare-and-set), so a cancel racing a start,
 * or a restart in the middle, never leaves two owners. The scheduler
 * wakes on every change (a created pipeline, a finished job, a play, a
 * cancel) and on a timer, looks at pipelines with work left, and submits
 * the jobs whose stage (or needs) allow it to run, with GitLab's when:
 * on_success / on_failure / always semantics. A job's plan is frozen in
 * its spec_json at creation, so a manual job played later runs what was
 * planned. When a job of a chat pipeline ends, its reply (GitLab's
 * attachment layout, output from the trace's chat_reply or step_script
 * section) goes to the outbox through pipeline/delivery.h: it is never
 * lost, even across a restart.
 *
 * At start: jobs the previous process left RUNNING are marked failed
 * (runner_system_failure) and their chat replies are queued; PENDING jobs
 * are submitted again.
 *
 * Traces live at <data_dir>/traces/<job id>.log (pipeline_trace_path).
 *
 * Ownership: strings in requests are borrowed for the call.
 */
#ifndef SO_PIPELINE_PIPELINE_H
#define SO_PIPELINE_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct app;
struct config;
struct delivery;
struct pipeline_created;
struct pipeline_service;

/* Starts the executor pool (options from app->cfg) and the scheduler,
 * after recovering what a previous process left behind. d may be NULL (no
 * chat replies are sent; tests). */
int pipeline_service_start(struct pipeline_service **out, struct app *app, struct delivery *d);
/* Stops scheduling, cancels running jobs (they end as canceled), waits for
 * them, and frees the service. Accepts NULL. */
void pipeline_service_stop(struct pipeline_service *s);

/* A `run <job> <arguments>` from chat (GitLab's Gitlab::Chat::Command). */
struct pipeline_chat_request {
	int64_t project_id;
	int64_t user_id;          /* the linked slashops user: GITLAB_USER_* */
	int64_t chat_name_id;
	int64_t integration_id;
	const char *job_name;     /* exact, case-sensitive */
	const char *arguments;    /* CHAT_INPUT, raw (may be NULL or multi-line) */
	const char *channel_id;   /* CHAT_CHANNEL */
	const char *chat_user_id; /* CHAT_USER_ID */
	const char *response_url; /* where the job's result is posted; may be NULL */
	/* Optional, borrowed: the project and user as the caller just read
	 * them (ids must match project_id/user_id); NULL: read here. */
	const struct store_project *project;
	const struct store_user *user;
	/* Optional: runs inside the write transaction that creates the
	 * pipeline, once it exists (created is filled in). Its own store
	 * writes (a chat command's dedupe claim and kept reply) commit with
	 * the pipeline, in one fsync, or nothing does: a negative return
	 * undoes the pipeline and pipeline_create_chat returns it
	 * (SO_EEXISTS: a repeat of a command already handled). */
	int (*in_transaction)(void *cls, const struct pipeline_created *created);
	void *cls;
};

struct pipeline_created {
	int64_t pipeline_id;
	int64_t job_id;           /* the chat job */
};

/* Creates the one-job chat pipeline on the default branch's head commit.
 * 0 with *out filled when created (the job is pending, or manual);
 * SO_ENOTFOUND when GitLab would create nothing (no default branch, empty
 * repository, no .gitlab-ci.yml, job missing, excluded by rules/only/
 * except/workflow): error_msg() holds GitLab's reason, and the caller
 * answers with the "could not be scheduled" reply. SO_EINVALID for a
 * configuration error (message: the first error with file:line:col).
 * The job is planned before anything is written (reads, git, the CI
 * file, variables, the frozen spec); the write transaction holds only the
 * inserts and in_transaction, so other writers wait as little as possible. */
int pipeline_create_chat(struct pipeline_service *s, const struct pipeline_chat_request *in,
			 struct pipeline_created *out);

/* Plays a manual job as user_id (GitLab's POST .../jobs/:id/play).
 * SO_ECONFLICT when the job is not manual ("Unplayable Job"). */
int pipeline_job_play(struct pipeline_service *s, int64_t job_id, int64_t user_id);
/* Cancels a job: waiting ones end at once, a running one is killed (its
 * whole process group) and ends as canceled. SO_ECONFLICT when it has
 * already finished. */
int pipeline_job_cancel(struct pipeline_service *s, int64_t job_id);

/* Whether a response_url belongs to Slack: it starts with one of
 * cfg->chat_slack_prefixes (cfg NULL: the default list,
 * https://hooks.slack.com/ and https://hooks.slack-gov.com/). Slack gets
 * GitLab's Slack layouts (the in_channel empty acknowledgement, "<@USER>:
 * output" replies); anything else Mattermost's. */
bool pipeline_chat_url_is_slack(const struct config *cfg, const char *response_url);

/* "<data_dir>/traces/<job id>.log". Caller frees. */
char *pipeline_trace_path(const struct app *app, int64_t job_id);

#endif
