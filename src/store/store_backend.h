/*
 * store_backend.h: the table a storage backend fills in (private to
 * src/store/).
 *
 * Design: store.c owns the public API in store.h. It parses the store URL,
 * picks a backend, validates and normalizes arguments that every backend
 * would check the same way (NULL pointers, enum ranges, date formats,
 * page/per_page clamping), then forwards the call through this table. A
 * backend therefore receives only well-formed input and never has to
 * re-implement those rules. The result structs (store_user, ...) are plain
 * heap objects released by the *_free() functions in store.c, so a backend
 * allocates them with xmalloc/xstrdup (util/buf.h) and nothing else.
 *
 * Adding a backend (e.g. PostgreSQL): write postgres.c defining a
 * `const struct store_backend store_postgres_backend`, declare it below,
 * add a URL scheme to store_url_parse() in store.c and the file to
 * meson.build. No caller changes.
 *
 * Every function gets the backend's own handle (`impl`, returned by open)
 * first; the other arguments mean what they mean in store.h.
 */
#ifndef SO_STORE_STORE_BACKEND_H
#define SO_STORE_STORE_BACKEND_H

#include "store/store.h"

struct store_backend {
	const char *name; /* "sqlite" */

	/* target: the backend-specific part of the URL (a path or ":memory:"
	 * for SQLite). Creates the database when needed and applies pending
	 * migrations. *out is the backend handle. */
	int (*open)(void **out, const char *target);
	void (*close)(void *impl);
	int (*schema_version)(void *impl, int *out);
	int (*check)(void *impl);
	/* Optional (NULL: reads are never batched). */
	int (*read_begin)(void *impl);
	void (*read_end)(void *impl);
	uint64_t (*generation)(void *impl); /* optional; see store_generation */
	/* Optional (NULL: every write commits alone; store_write_end then
	 * cannot roll back and says so). */
	int (*write_begin)(void *impl, bool durable);
	int (*write_end)(void *impl, bool commit);

	int (*user_create)(void *impl, const struct store_user_new *in, int64_t *out_id);
	int (*user_get)(void *impl, int64_t id, struct store_user **out);
	int (*user_get_by_login)(void *impl, const char *login, struct store_user **out);
	int (*user_list)(void *impl, const struct store_page *page,
			 struct store_user ***out, int64_t *total);
	int (*user_set_state)(void *impl, int64_t id, enum store_user_state state);
	int (*user_set_password)(void *impl, int64_t id, const char *password_hash);
	int (*user_set_admin)(void *impl, int64_t id, bool is_admin);
	int (*user_touch_activity)(void *impl, int64_t id);
	int (*user_count)(void *impl, int64_t *out);
	int (*user_delete)(void *impl, int64_t id);

	int (*token_create)(void *impl, const struct store_token_new *in, int64_t *out_id);
	int (*token_get_by_hash)(void *impl, const char *token_hash, struct store_token **out);
	int (*token_list_for_user)(void *impl, int64_t user_id, struct store_token ***out);
	int (*token_revoke)(void *impl, int64_t id);
	int (*token_touch)(void *impl, int64_t id);

	int (*session_create)(void *impl, const char *id_hash, int64_t user_id,
			      const char *csrf_token, int64_t expires_at);
	int (*session_get)(void *impl, const char *id_hash, int64_t now,
			   struct store_session **out);
	int (*session_delete)(void *impl, const char *id_hash);
	int (*session_delete_for_user)(void *impl, int64_t user_id);
	int (*session_purge_expired)(void *impl, int64_t now);

	/* name is never NULL here (store.c defaults it to the last segment);
	 * path is that last segment. */
	int (*namespace_create)(void *impl, const char *name, const char *path,
				const char *full_path, const char *kind, int64_t owner_id,
				int64_t *out_id);
	int (*namespace_get)(void *impl, int64_t id, struct store_namespace **out);
	int (*namespace_get_by_path)(void *impl, const char *full_path,
				     struct store_namespace **out);

	int (*project_create)(void *impl, const struct store_project_new *in, int64_t *out_id);
	int (*project_get)(void *impl, int64_t id, struct store_project **out);
	/* full_path already split at its last '/'. */
	int (*project_get_by_path)(void *impl, const char *namespace_path, const char *path,
				   struct store_project **out);
	int (*project_list_visible)(void *impl, int64_t user_id, bool is_admin,
				    const struct store_page *page,
				    struct store_project ***out, int64_t *total);
	int (*project_delete)(void *impl, int64_t id);
	int (*project_set_default_branch)(void *impl, int64_t id, const char *branch);
	int (*project_touch_activity)(void *impl, int64_t id);

	int (*member_add)(void *impl, int64_t project_id, int64_t user_id, int access_level,
			  const char *expires_at, int64_t created_by);
	int (*member_get)(void *impl, int64_t project_id, int64_t user_id,
			  struct store_member **out);
	int (*member_list)(void *impl, int64_t project_id, const struct store_page *page,
			   struct store_member ***out, int64_t *total);
	int (*member_update)(void *impl, int64_t project_id, int64_t user_id,
			     int access_level, const char *expires_at);
	int (*member_remove)(void *impl, int64_t project_id, int64_t user_id);
	/* today: "YYYY-MM-DD" (UTC); memberships with expires_at < today
	 * do not count. */
	int (*member_access_level)(void *impl, int64_t project_id, int64_t user_id,
				   const char *today, int *out);
	int (*member_count_owners)(void *impl, int64_t project_id, const char *today,
				   int64_t *out);

	/* Like open, but applies migrations only up to max_version (a
	 * database newer than that is refused). For upgrade tests. */
	int (*open_version)(void **out, const char *target, int max_version);

	/* token_hash NULL keeps the stored hash; clear_team clears team_id
	 * and team_domain. */
	int (*integration_upsert)(void *impl, int64_t project_id, const char *kind,
				  const char *token_hash, bool active, bool clear_team,
				  int64_t *out_id);
	int (*integration_get)(void *impl, int64_t project_id, const char *kind,
			       struct store_integration **out);
	int (*integration_delete)(void *impl, int64_t project_id, const char *kind);
	/* team_id and team_domain are both NULL to clear. */
	int (*integration_set_team)(void *impl, int64_t id, const char *team_id,
				    const char *team_domain);

	/* team_domain and chat_name may be NULL. */
	int (*chat_name_create)(void *impl, int64_t user_id, const char *team_id,
				const char *team_domain, const char *chat_id,
				const char *chat_name, int64_t *out_id);
	int (*chat_name_find)(void *impl, const char *team_id, const char *chat_id,
			      struct store_chat_name **out);
	int (*chat_name_list_for_user)(void *impl, int64_t user_id,
				       struct store_chat_name ***out);
	int (*chat_name_delete)(void *impl, int64_t id, int64_t user_id);
	int (*chat_name_touch)(void *impl, int64_t id);

	/* in's team_domain and chat_name may be NULL; the rest are set. */
	int (*chat_link_create)(void *impl, const struct store_chat_link *in);
	int (*chat_link_get)(void *impl, const char *token_hash, int64_t now,
			     struct store_chat_link **out);
	/* out may be NULL. */
	int (*chat_link_consume)(void *impl, const char *token_hash, int64_t now,
				 struct store_chat_link **out);
	int (*chat_link_purge_expired)(void *impl, int64_t now);

	/* since = now - window, computed without overflow: rows created
	 * before it are purged first. */
	int (*chat_trigger_claim)(void *impl, int64_t integration_id, const char *trigger_id,
				  int64_t now, int64_t since, bool *first, char **previous_reply);
	int (*chat_trigger_set_reply)(void *impl, int64_t integration_id,
				      const char *trigger_id, const char *reply_json);

	/* Pipelines and jobs (issue 5). in's optional strings are NULL (never
	 * blank), its optional ids 0; jobs[0..njobs) (njobs >= 1) are
	 * validated, with when and spec_json filled in. job_ids_out may be
	 * NULL. */
	int (*pipeline_create)(void *impl, const struct store_pipeline_new *in,
			       const struct store_job_new *jobs, size_t njobs, int64_t *out_id,
			       int64_t *job_ids_out);
	int (*pipeline_get)(void *impl, int64_t id, struct store_pipeline **out);
	int (*pipeline_list)(void *impl, int64_t project_id, const struct store_page *page,
			     struct store_pipeline ***out, int64_t *total);
	int (*pipeline_refresh_status)(void *impl, int64_t id);
	int (*pipeline_delete)(void *impl, int64_t id);
	int (*job_get)(void *impl, int64_t id, struct store_job **out);
	int (*job_list_for_pipeline)(void *impl, int64_t pipeline_id, struct store_job ***out);
	int (*job_list_for_project)(void *impl, int64_t project_id, const struct store_page *page,
				    struct store_job ***out, int64_t *total);
	/* limit is 1..STORE_LIST_LIMIT_MAX. */
	int (*job_list_by_status)(void *impl, enum store_ci_status status, int64_t limit,
				  struct store_job ***out);
	/* The edge from -> to is allowed (store_ci_transition_allowed);
	 * failure_reason is NULL unless `to` is a finished status; user_id 0
	 * keeps the job's user. */
	int (*job_transition)(void *impl, int64_t id, enum store_ci_status from,
			      enum store_ci_status to, int exit_code, const char *failure_reason,
			      int64_t user_id);
	int (*job_set_trace_bytes)(void *impl, int64_t id, int64_t bytes);
	/* failure_reason is never blank. *ids_out is malloc'd (NULL when
	 * *n_out is 0). */
	int (*job_fail_running)(void *impl, const char *failure_reason, int64_t **ids_out,
				size_t *n_out);

	/* The outbox (issue 5). in->not_before is already resolved (never 0);
	 * job_id / project_id 0 mean none. */
	int (*outbox_enqueue)(void *impl, const struct store_outbox_new *in, int64_t *out_id);
	/* limit is 1..STORE_LIST_LIMIT_MAX. */
	int (*outbox_due)(void *impl, int64_t now, int64_t limit, struct store_outbox ***out);
	int (*outbox_next_due)(void *impl, int64_t *out);
	int (*outbox_mark_delivered)(void *impl, int64_t id);
	/* error may be NULL. */
	int (*outbox_mark_retry)(void *impl, int64_t id, int64_t next_at, const char *error);
	int (*outbox_mark_failed)(void *impl, int64_t id, const char *error);
	int (*outbox_count_delivered_to)(void *impl, const char *url, int64_t *out);
	int (*outbox_list_for_job)(void *impl, int64_t job_id, struct store_outbox ***out);
};

extern const struct store_backend store_sqlite_backend;

/* ---- CI rules shared by every backend (store.c) ---- */

/* The largest `limit` a backend is asked for (store.c clamps). */
#define STORE_LIST_LIMIT_MAX 10000

/* Whether a job may move from `from` to `to` (the table in docs/STORE.md):
 * a finished job (success, failed, canceled, skipped) never moves again. */
bool store_ci_transition_allowed(enum store_ci_status from, enum store_ci_status to);

/* GitLab's composite status of a pipeline from its jobs. Start with
 * struct store_ci_composite c = { 0 }, add every job, then ask for the
 * result: false when no job was added (the pipeline keeps its status). */
struct store_ci_composite {
	unsigned set;   /* bit per status class (private) */
};
void store_ci_composite_add(struct store_ci_composite *c, enum store_ci_status status,
			    bool allow_failure);
bool store_ci_composite_status(const struct store_ci_composite *c, enum store_ci_status *out);
/* success, failed, canceled, skipped: the statuses a job or pipeline
 * never leaves. */
bool store_ci_status_finished(enum store_ci_status s);

/* Milliseconds since the epoch of an ISO 8601 timestamp as clock_now_iso
 * writes it ("2026-11-22T02:24:00.123Z"); SO_EINVALID otherwise. */
int store_iso_ms(const char *iso, int64_t *out);

/* A pipeline's duration as GitLab computes it: the time during which at
 * least one of its jobs ran, i.e. the length of the union of the jobs'
 * [start, end] intervals (milliseconds), in seconds. Sorts v in place. */
struct store_ci_interval {
	int64_t start, end;
};
double store_ci_union_seconds(struct store_ci_interval *v, size_t n);

/* Splits a store URL into its backend and the backend's target (caller
 * frees *target). Pure: touches no file, so it can be fuzzed.
 * "sqlite:PATH", "sqlite://PATH", "sqlite::memory:", a bare path;
 * "postgres://..." is SO_EINVALID until a PostgreSQL backend exists. */
int store_url_parse(const char *url, const struct store_backend **be, char **target);

/* Opens the store like store_open() but applies schema migrations only up
 * to max_version (>= 1), so tests can build a database as an older
 * slashops left it and check the upgrade. Not for the server. */
int store_open_version(struct store **out, const char *url, int max_version);

#endif
