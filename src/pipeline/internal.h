/*
 * pipeline/internal.h: what the files of the pipeline part share: the
 * frozen job spec (spec_json) and its JSON round trip, the repository
 * callbacks for the CI loader, the service struct, and the notifier.
 *
 * Design: a job's spec is everything the executor needs except the ids
 * (CI_JOB_ID, CI_PIPELINE_ID...), which the scheduler adds at submit time
 * from the store row, so the plan can be frozen before the rows exist.
 * Not a public interface: other parts use pipeline.h.
 */
#ifndef SO_PIPELINE_INTERNAL_H
#define SO_PIPELINE_INTERNAL_H

#include "pipeline/pipeline.h"
#include "store/store.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_user;
struct exec_pool;

/* ---- the frozen plan of one job ---- */
struct pipeline_spec_var {
	char *key;     /* owned */
	char *value;   /* owned, never NULL */
	bool masked;
};

struct pipeline_spec {
	char *name, *stage, *sha, *ref;  /* owned */
	char *when;                      /* "on_success", "manual", "delayed", ... */
	char **before_script;            /* NULL-terminated, owned (never NULL) */
	char **script;
	char **after_script;
	struct pipeline_spec_var *vars;  /* owned, in precedence order */
	size_t n_vars;
	unsigned timeout_s;
	bool allow_failure;
	int64_t run_at;                  /* delayed: Unix seconds to start; else 0 */
};

/* Spec JSON: {"name","stage","sha","ref","when","before_script":[],
 * "script":[],"after_script":[],"variables":[{"key","value","masked"}],
 * "timeout","allow_failure","run_at"}. Caller frees. */
char *pipeline_spec_to_json(const struct pipeline_spec *s);
/* SO_EINVALID for malformed JSON or missing fields; *out is then empty. */
int pipeline_spec_from_json(const char *json, struct pipeline_spec *out);
void pipeline_spec_dispose(struct pipeline_spec *s); /* accepts NULL; leaves it empty */

/* "30", "30s", "30 seconds", "5 minutes", "1 hour", "2 days", "1h 30m":
 * GitLab's start_in (ChronicDuration). SO_EINVALID when unreadable. */
int pipeline_parse_duration(const char *s, int64_t *out);

/* ---- the CI loader's view of a repository at one commit ---- */
struct pipeline_repo_source {
	struct app *app;             /* for include:project (may be NULL: refused) */
	const char *repos_dir;
	int64_t project_id;
	const char *sha;
	const struct store_user *user; /* include:project is read as this user */
	size_t max_bytes;            /* per file; 0 = 4 MiB */
	/* What include:rules:if and include paths see: the pipeline's
	 * predefined, user and pipeline variables (GitLab evaluates includes
	 * with those, before the YAML's own variables exist). */
	const struct ci_varlist *vars;
	bool touched; /* set by the load's callbacks below when any was called */
};

/* ci_read_file_fn / ci_read_project_file_fn / ci_list_files_fn with a
 * struct pipeline_repo_source as cls. */
int pipeline_repo_read_file(void *cls, const char *path, char **data, size_t *len);
int pipeline_repo_read_project_file(void *cls, const char *project, const char *ref,
				    const char *file, char **data, size_t *len);
int pipeline_repo_list_files(void *cls, char ***out, size_t *n);
/* ci_lookup_var_fn over the source's vars. */
const char *pipeline_repo_lookup_var(void *cls, const char *name);

/* ---- the service ---- */
struct pipeline_service {
	struct app *app;            /* borrowed */
	struct delivery *delivery;  /* borrowed; may be NULL */
	struct exec_pool *pool;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stopping;              /* under mu */
	bool wake;                  /* under mu */
	int64_t *submitted;         /* under mu: job ids handed to the pool */
	size_t n_submitted, cap_submitted;
	char *builds_dir;           /* absolute */
	char *traces_dir;
};

/* Wakes the scheduler thread. */
void pipeline_sched_wake(struct pipeline_service *s);
/* The scheduler thread's body (arg: the service). */
void *pipeline_sched_main(void *arg);
/* Executor callbacks (cls: the service). */
void pipeline_sched_on_start(void *cls, int64_t job_id);
struct exec_result;
void pipeline_sched_on_done(void *cls, int64_t job_id, const struct exec_result *r);
/* One scheduling pass: due delayed jobs, created jobs whose stage may
 * start, pending jobs not yet submitted. */
void pipeline_sched_pass(struct pipeline_service *s);

/* Queues the chat reply for a finished job of a chat pipeline (no-op for
 * other pipelines, or without a delivery worker). */
void pipeline_notify_job(struct pipeline_service *s, int64_t job_id);
/* Ends a job: store_job_transition(from -> to) and, for a chat job, its
 * reply into the outbox, in one commit; trace_bytes >= 0 is recorded too.
 * Returns the transition's result (SO_ECONFLICT when the job was not in
 * `from`: nothing is queued then). */
int pipeline_job_finish(struct pipeline_service *s, int64_t job_id, enum store_ci_status from,
			enum store_ci_status to, int exit_code, const char *reason,
			int64_t trace_bytes);

/* ---- chat replies (responder.c) ---- */

/* GitLab's Slack responder bodies (caller frees). succeeded: NULL when the
 * output is empty (nothing is sent); output over TRACE_CHAT_MAX_BYTES (or
 * too_large) gives the "too large" link to job_url. output is not
 * NUL-terminated (output_len bytes; invalid UTF-8 becomes U+FFFD). */
char *pipeline_slack_job_succeeded(const char *chat_user_id, const char *job_url,
				   const char *output, size_t output_len, bool too_large);
char *pipeline_slack_job_failed(const char *chat_user_id, const char *job_url);

/* Writes a reply to the outbox and wakes the delivery worker
 * (delivery_enqueue_response: the kind by pipeline_chat_url_is_slack()
 * over the configuration, expires_at = url_first_seen_at (<= 0: now) +
 * chat.delivery.response_url_lifetime). Strings are borrowed. Errors are
 * the store's. */
int pipeline_chat_enqueue(struct pipeline_service *s, const char *response_url,
			  const char *payload_json, int64_t job_id, int64_t project_id,
			  int64_t url_first_seen_at);

#endif
