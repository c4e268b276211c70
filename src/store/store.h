/*
 * store.h: the persistent state of slashops, behind one interface.
 *
 * Design: this header is the whole contract between the server and its
 * database. Callers see plain structs and functions; they never see SQL, a
 * statement or a connection. All SQL lives in the backend files of this
 * folder (sqlite.c today), as prepared statements only. store.c selects a
 * backend from the store URL ("sqlite:PATH", the default) and forwards each
 * call through a table of function pointers (struct store_backend in
 * store_backend.h), so a PostgreSQL backend can be added as one more file
 * without touching a caller.
 *
 * Concurrency: a struct store is safe to use from many threads at once; the
 * backend keeps its own connections. Every write is one transaction and is
 * durable when the function returns 0 (SQLite: WAL, synchronous=FULL), so a
 * kill -9 never loses an acknowledged write.
 *
 * Errors follow util/error.h: 0, or SO_ENOTFOUND / SO_EEXISTS /
 * SO_EINVALID / SO_ECONFLICT for expected failures (with a message a user
 * may see, in GitLab's words where GitLab has them), SO_EFAIL otherwise.
 *
 * Ownership: structs returned through an `out` pointer are owned by the
 * caller and released with the matching *_free() (each accepts NULL).
 * Lists come as a NULL-terminated array released by *_list_free(). Input
 * structs are borrowed for the duration of the call.
 *
 * Timestamps are ISO 8601 UTC strings (util/clock.h).
 */
#ifndef SO_STORE_STORE_H
#define SO_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

/* Opens (creating when needed) the store at url and applies pending schema
 * migrations. url: "sqlite:/path/to/slashops.db", or a bare path, or
 * "sqlite::memory:" for tests. */
int store_open(struct store **out, const char *url);
void store_close(struct store *st); /* accepts NULL */
/* The schema version after migrations (the number of the last one). */
int store_schema_version(struct store *st, int *out);
/* Runs the backend's integrity check; 0 when the database is sound. */
int store_check(struct store *st);

/* A read batch: the reads this thread makes between store_read_begin()
 * and store_read_end() share one connection and one read transaction (one
 * consistent snapshot, one lock round instead of one per read). Writes are
 * refused inside a batch (SO_EFAIL) and batches do not nest. A failed
 * begin leaves the reads unbatched, so a caller may ignore its result;
 * store_read_end() is a no-op without a batch. */
int store_read_begin(struct store *st);
void store_read_end(struct store *st);

/* A counter that changes whenever this process commits (or rolls back) a
 * write through st; a cache of store reads that saw generation G is still
 * current while the generation is G, except for writes by other processes
 * (an admin CLI), which callers bound with a short time to live. 0 when
 * the backend does not count (then nothing may be cached). */
uint64_t store_generation(struct store *st);

/* A write batch: the writes this thread makes between store_write_begin()
 * and store_write_end() share one connection and one write transaction,
 * so they commit together (one fsync instead of one per write) or not at
 * all. Each call inside still succeeds or fails as it would alone: it runs
 * in its own savepoint, and a failing call undoes only itself. Reads made
 * on this thread inside the batch see its writes. durable: commit with
 * synchronous=FULL (the batch holds a write a user would miss after a
 * power cut) rather than NORMAL (bookkeeping only); see STORE.md. Other
 * writers of the process wait until the batch ends, so keep it short: do
 * the reading and computing first. store_write_end(st, true) commits,
 * false rolls back; either ends the batch. Batches do not nest, nor go
 * inside a read batch (SO_EFAIL). */
int store_write_begin(struct store *st, bool durable);
int store_write_end(struct store *st, bool commit);

/* ---- pagination (GitLab's page/per_page) ---- */
struct store_page {
	int64_t page;     /* 1-based */
	int64_t per_page; /* 1..100 */
};

/* ---- users ---- */
enum store_user_state {
	STORE_USER_ACTIVE = 0,
	STORE_USER_BLOCKED = 1,
	STORE_USER_DEACTIVATED = 2,
};

struct store_user {
	int64_t id;
	char *username;
	char *email;
	char *name;
	char *password_hash;      /* libsodium crypto_pwhash_str output */
	bool is_admin;
	enum store_user_state state;
	char *created_at;
	char *last_activity_on;   /* YYYY-MM-DD or NULL */
};

struct store_user_new {
	const char *username;
	const char *email;
	const char *name;
	const char *password_hash;
	bool is_admin;
};

/* SO_EEXISTS with "Username has already been taken" or
 * "Email has already been taken". Usernames compare case-insensitively. */
int store_user_create(struct store *st, const struct store_user_new *in, int64_t *out_id);
int store_user_get(struct store *st, int64_t id, struct store_user **out);
/* login is a username (case-insensitive) or an email. */
int store_user_get_by_login(struct store *st, const char *login, struct store_user **out);
/* Ordered by id; *total receives the count of all users. */
int store_user_list(struct store *st, const struct store_page *page,
		    struct store_user ***out, int64_t *total);
int store_user_set_state(struct store *st, int64_t id, enum store_user_state state);
int store_user_set_password(struct store *st, int64_t id, const char *password_hash);
int store_user_set_admin(struct store *st, int64_t id, bool is_admin);
int store_user_touch_activity(struct store *st, int64_t id);
int store_user_count(struct store *st, int64_t *out);
/* Deletes the user with their tokens, sessions and memberships, and their
 * personal (kind "user") namespace with its projects. Groups they created
 * stay (owner_id becomes 0). SO_ENOTFOUND when missing. */
int store_user_delete(struct store *st, int64_t id);
void store_user_free(struct store_user *u);
void store_user_list_free(struct store_user **list);

/* ---- personal access tokens ----
 * Only a hash of a token is stored (auth/token.c computes it); the token
 * itself is shown once at creation. */
struct store_token {
	int64_t id;
	int64_t user_id;
	char *name;
	char *scopes;        /* space-separated: "api read_api read_repository write_repository" */
	char *token_hash;    /* hex */
	char *expires_at;    /* YYYY-MM-DD or NULL */
	bool revoked;
	char *created_at;
	char *last_used_at;  /* or NULL */
};

struct store_token_new {
	int64_t user_id;
	const char *name;
	const char *scopes;
	const char *token_hash;
	const char *expires_at; /* may be NULL */
};

int store_token_create(struct store *st, const struct store_token_new *in, int64_t *out_id);
/* SO_ENOTFOUND when no token has that hash (revoked ones are returned;
 * the caller checks revoked and expires_at). */
int store_token_get_by_hash(struct store *st, const char *token_hash, struct store_token **out);
int store_token_list_for_user(struct store *st, int64_t user_id, struct store_token ***out);
int store_token_revoke(struct store *st, int64_t id);
/* Updates last_used_at (the backend may skip writes within a minute). */
int store_token_touch(struct store *st, int64_t id);
void store_token_free(struct store_token *t);
void store_token_list_free(struct store_token **list);

/* ---- web sessions ----
 * The cookie holds a random session id; only its hash is stored. */
struct store_session {
	char *id_hash;
	int64_t user_id;
	char *csrf_token;    /* per-session random token for forms */
	int64_t expires_at;  /* Unix seconds */
	char *created_at;
};

int store_session_create(struct store *st, const char *id_hash, int64_t user_id,
			 const char *csrf_token, int64_t expires_at);
/* SO_ENOTFOUND when missing or expired. */
int store_session_get(struct store *st, const char *id_hash, struct store_session **out);
int store_session_delete(struct store *st, const char *id_hash);
int store_session_delete_for_user(struct store *st, int64_t user_id);
int store_session_purge_expired(struct store *st, int64_t now);
void store_session_free(struct store_session *s);

/* ---- namespaces ----
 * A namespace is where projects live: each user has one (path = username,
 * kind "user"); groups are kind "group" and may nest ("a/b"). */
struct store_namespace {
	int64_t id;
	char *name;
	char *path;       /* last segment */
	char *full_path;  /* "group/sub" */
	char *kind;       /* "user" or "group" */
	int64_t owner_id; /* user that owns a user namespace or created a group */
	int64_t parent_id;/* 0 for top level */
	char *created_at;
};

/* Callers create a user's namespace (kind "user", full_path = username)
 * right after store_user_create; groups are created on demand.
 * SO_EEXISTS "Path has already been taken". */
int store_namespace_create(struct store *st, const char *name, const char *full_path,
			   const char *kind, int64_t owner_id, int64_t *out_id);
int store_namespace_get(struct store *st, int64_t id, struct store_namespace **out);
int store_namespace_get_by_path(struct store *st, const char *full_path,
				struct store_namespace **out);
void store_namespace_free(struct store_namespace *ns);

/* ---- projects ---- */
enum store_visibility {
	STORE_VIS_PRIVATE = 0,
	STORE_VIS_INTERNAL = 10,
	STORE_VIS_PUBLIC = 20,
};

struct store_project {
	int64_t id;
	char *name;
	char *path;               /* last segment, e.g. "demo" */
	char *path_with_namespace;/* "alice/demo" */
	char *description;        /* or NULL */
	char *default_branch;     /* or NULL until set or first push */
	enum store_visibility visibility;
	int64_t namespace_id;
	int64_t creator_id;
	char *created_at;
	char *last_activity_at;
};

struct store_project_new {
	const char *name;
	const char *path;
	int64_t namespace_id;
	const char *description;    /* may be NULL */
	const char *default_branch; /* may be NULL */
	enum store_visibility visibility;
	int64_t creator_id;         /* becomes Owner (access level 50) */
};

/* Creates the project and its creator's Owner membership in one
 * transaction. SO_EEXISTS "Path has already been taken" / "Name has
 * already been taken" within the namespace. */
int store_project_create(struct store *st, const struct store_project_new *in, int64_t *out_id);
int store_project_get(struct store *st, int64_t id, struct store_project **out);
/* Case-insensitive match on path_with_namespace. */
int store_project_get_by_path(struct store *st, const char *full_path, struct store_project **out);
/* Projects user_id may see (member, or internal/public; all for admins).
 * user_id 0 means anonymous (public only). Ordered by id descending, as
 * GitLab orders by created_at desc. */
int store_project_list_visible(struct store *st, int64_t user_id, bool is_admin,
			       const struct store_page *page,
			       struct store_project ***out, int64_t *total);
/* Deletes the project and everything that belongs to it (members, and in
 * later schema versions integrations, pipelines...). */
int store_project_delete(struct store *st, int64_t id);
int store_project_set_default_branch(struct store *st, int64_t id, const char *branch);
int store_project_touch_activity(struct store *st, int64_t id);
void store_project_free(struct store_project *p);
void store_project_list_free(struct store_project **list);

/* ---- project members ----
 * access_level: 10 Guest, 20 Reporter, 30 Developer, 40 Maintainer, 50 Owner. */
struct store_member {
	int64_t project_id;
	int64_t user_id;
	int access_level;
	char *expires_at;   /* YYYY-MM-DD or NULL */
	char *created_at;
	int64_t created_by; /* user id, 0 if unknown */
	struct store_user *user; /* joined, owned by the member */
};

/* SO_EEXISTS "Member already exists". */
int store_member_add(struct store *st, int64_t project_id, int64_t user_id,
		     int access_level, const char *expires_at, int64_t created_by);
int store_member_get(struct store *st, int64_t project_id, int64_t user_id,
		     struct store_member **out);
/* Ordered by user id. */
int store_member_list(struct store *st, int64_t project_id, const struct store_page *page,
		      struct store_member ***out, int64_t *total);
int store_member_update(struct store *st, int64_t project_id, int64_t user_id,
			int access_level, const char *expires_at);
int store_member_remove(struct store *st, int64_t project_id, int64_t user_id);
/* The user's access level in the project, 0 when not a member (expired
 * memberships count as 0). */
int store_member_access_level(struct store *st, int64_t project_id, int64_t user_id, int *out);
/* How many members have access level 50 (to refuse removing the last). */
int store_member_count_owners(struct store *st, int64_t project_id, int64_t *out);
void store_member_free(struct store_member *m);
void store_member_list_free(struct store_member **list);

/* ---- chat integrations (per project; issue 3) ----
 * One row per project and kind ("mattermost_slash_commands"). The token
 * Mattermost generated is kept only as a keyed hash (auth_token_hash), so
 * a copy of the database cannot forge slash commands; the trigger compares
 * hashes in constant time. team_id is the chat team the integration
 * serves: recorded from the first request with a valid token, changeable
 * by a Maintainer; a request from another team is refused. */
struct store_integration {
	int64_t id;
	int64_t project_id;
	char *kind;          /* "mattermost_slash_commands" */
	char *token_hash;    /* hex; NULL when no token is set */
	bool active;
	char *team_id;       /* NULL until the first valid request */
	char *team_domain;   /* NULL until then */
	char *created_at;
	char *updated_at;
};

/* Creates or updates the row for (project_id, kind). token_hash NULL keeps
 * the current hash. Setting a new token clears team_id/team_domain only
 * when clear_team is true. */
int store_integration_upsert(struct store *st, int64_t project_id, const char *kind,
			     const char *token_hash, bool active, bool clear_team,
			     int64_t *out_id);
int store_integration_get(struct store *st, int64_t project_id, const char *kind,
			  struct store_integration **out);
int store_integration_delete(struct store *st, int64_t project_id, const char *kind);
/* team_id NULL clears it (the next valid request records its team). */
int store_integration_set_team(struct store *st, int64_t id, const char *team_id,
			       const char *team_domain);
void store_integration_free(struct store_integration *in);

/* ---- chat names: chat accounts linked to slashops users (issue 3) ----
 * Global, as in GitLab: (team_id, chat_id) identifies a chat account and
 * links to exactly one user. */
struct store_chat_name {
	int64_t id;
	int64_t user_id;
	char *team_id;
	char *team_domain;
	char *chat_id;       /* the chat service's user id */
	char *chat_name;     /* the chat user name at link time */
	char *last_used_at;  /* or NULL */
	char *created_at;
};

/* SO_EEXISTS "This chat account is already linked" when (team_id,
 * chat_id) is linked to anyone. */
int store_chat_name_create(struct store *st, int64_t user_id, const char *team_id,
			   const char *team_domain, const char *chat_id, const char *chat_name,
			   int64_t *out_id);
int store_chat_name_find(struct store *st, const char *team_id, const char *chat_id,
			 struct store_chat_name **out);
/* Ordered by id. */
int store_chat_name_list_for_user(struct store *st, int64_t user_id,
				  struct store_chat_name ***out);
/* Deletes id only if it belongs to user_id (SO_ENOTFOUND otherwise). */
int store_chat_name_delete(struct store *st, int64_t id, int64_t user_id);
/* Updates last_used_at at most once an hour. */
int store_chat_name_touch(struct store *st, int64_t id);
void store_chat_name_free(struct store_chat_name *cn);
void store_chat_name_list_free(struct store_chat_name **list);

/* ---- chat link requests: single-use, short-lived (issue 3) ----
 * The "connect your account" link carries a random token; only its hash
 * is stored, with what the chat request said about the chat account. */
struct store_chat_link {
	char *token_hash;
	int64_t project_id;
	char *integration_kind;
	char *team_id;
	char *team_domain;
	char *chat_id;
	char *chat_name;
	int64_t expires_at;  /* Unix seconds */
};

int store_chat_link_create(struct store *st, const struct store_chat_link *in);
/* SO_ENOTFOUND when missing, used or expired (now >= expires_at). */
int store_chat_link_get(struct store *st, const char *token_hash, int64_t now,
			struct store_chat_link **out);
/* Atomically deletes the row: 0 for the one caller that consumed it,
 * SO_ENOTFOUND for everyone else (used, denied or expired). out (may be
 * NULL) receives the row. */
int store_chat_link_consume(struct store *st, const char *token_hash, int64_t now,
			    struct store_chat_link **out);
int store_chat_link_purge_expired(struct store *st, int64_t now);
void store_chat_link_free(struct store_chat_link *l);

/* ---- slash command deduplication (issue 3) ----
 * Mattermost sends a trigger_id with each command; a repeat within the
 * window is answered with the first reply and never runs twice. These two
 * writes are the one exception to the durability above: they are committed
 * without an fsync (they survive kill -9, not necessarily a power cut),
 * since they happen on every command and only cache a reply. */
/* Claims (integration_id, trigger_id). *first is true for the first
 * claim; otherwise *previous_reply receives the stored reply JSON (or
 * NULL while the first request is still being handled). Rows older than
 * now - window_s are ignored and purged. */
int store_chat_trigger_claim(struct store *st, int64_t integration_id, const char *trigger_id,
			     int64_t now, int64_t window_s, bool *first, char **previous_reply);
/* Stores the reply sent for a claimed trigger. */
int store_chat_trigger_set_reply(struct store *st, int64_t integration_id,
				 const char *trigger_id, const char *reply_json);

/* ---- pipelines and jobs (issue 5) ----
 * GitLab's shapes: a pipeline has a per-project iid; its jobs ("builds")
 * have global ids. A job's plan is frozen at creation as JSON (spec_json:
 * scripts, variables, timeout...), so a manual job played later runs what
 * was planned. Status changes are compare-and-set (store_job_transition),
 * so a cancel and a start racing each other cannot both win. */
enum store_ci_status {
	STORE_CI_CREATED = 0,
	STORE_CI_PENDING,    /* queued for the executor */
	STORE_CI_RUNNING,
	STORE_CI_SUCCESS,
	STORE_CI_FAILED,
	STORE_CI_CANCELED,
	STORE_CI_SKIPPED,
	STORE_CI_MANUAL,     /* waiting for someone to play it */
	STORE_CI_SCHEDULED,  /* delayed (when: delayed) */
};
/* "created", "pending", ... as GitLab's API spells them. */
const char *store_ci_status_name(enum store_ci_status s);
int store_ci_status_parse(const char *name, enum store_ci_status *out);

struct store_pipeline {
	int64_t id;
	int64_t project_id;
	int64_t iid;
	char *source;          /* "chat", "push", "web", "api", ... */
	char *ref;
	char *sha;
	enum store_ci_status status;
	int64_t user_id;       /* who started it */
	char *name;            /* workflow:name, or NULL */
	char *created_at;
	char *updated_at;
	char *started_at;      /* NULL until a job runs */
	char *finished_at;     /* NULL until it completes */
	double duration;       /* seconds; 0 until finished */
	/* chat data (source "chat"): */
	int64_t chat_name_id;  /* 0 if none */
	char *chat_response_url; /* NULL if none */
	int64_t chat_integration_id;
};

struct store_pipeline_new {
	int64_t project_id;
	const char *source;
	const char *ref;
	const char *sha;
	int64_t user_id;
	const char *name;               /* may be NULL */
	int64_t chat_name_id;           /* 0 if none */
	const char *chat_response_url;  /* may be NULL */
	int64_t chat_integration_id;    /* 0 if none */
};

struct store_job {
	int64_t id;
	int64_t pipeline_id;
	int64_t project_id;
	char *name;
	char *stage;
	int stage_idx;
	enum store_ci_status status;
	char *when;            /* "on_success", "manual", "delayed", ... */
	bool allow_failure;
	int64_t user_id;       /* who triggered (or played) it */
	char *spec_json;       /* the frozen plan for the executor */
	char *created_at;
	char *queued_at;
	char *started_at;
	char *finished_at;
	double duration;
	int exit_code;         /* -1 until finished or when killed */
	char *failure_reason;  /* GitLab's names: "script_failure",
	                          "job_execution_timeout", "runner_system_failure",
	                          ... or NULL */
	int64_t trace_bytes;   /* size of the trace on disk when finished */
};

struct store_job_new {
	const char *name;
	const char *stage;
	int stage_idx;
	enum store_ci_status status;   /* CREATED, PENDING or MANUAL */
	const char *when;
	bool allow_failure;
	const char *spec_json;
};

/* Creates the pipeline (iid = the project's next) and its jobs in one
 * transaction. job_ids_out (may be NULL) receives njobs ids in order. */
int store_pipeline_create(struct store *st, const struct store_pipeline_new *in,
			  const struct store_job_new *jobs, size_t njobs,
			  int64_t *out_id, int64_t *job_ids_out);
int store_pipeline_get(struct store *st, int64_t id, struct store_pipeline **out);
/* By project, newest first. */
int store_pipeline_list(struct store *st, int64_t project_id, const struct store_page *page,
			struct store_pipeline ***out, int64_t *total);
/* Recomputes the pipeline's status and timestamps from its jobs
 * (GitLab's composite status: any running -> running; all done ->
 * success unless a job failed without allow_failure -> failed; ...). */
int store_pipeline_refresh_status(struct store *st, int64_t id);
/* Deletes the pipeline and its jobs (GitLab's DELETE .../pipelines/:id);
 * their outbox rows stay. The project never reuses the pipeline's iid.
 * SO_ENOTFOUND when missing. */
int store_pipeline_delete(struct store *st, int64_t id);
void store_pipeline_free(struct store_pipeline *p);
void store_pipeline_list_free(struct store_pipeline **list);

int store_job_get(struct store *st, int64_t id, struct store_job **out);
/* Ordered by stage_idx then id. */
int store_job_list_for_pipeline(struct store *st, int64_t pipeline_id, struct store_job ***out);
/* Jobs of a project, newest first. */
int store_job_list_for_project(struct store *st, int64_t project_id,
			       const struct store_page *page, struct store_job ***out,
			       int64_t *total);
/* Jobs in a status across all projects, oldest first, at most limit. */
int store_job_list_by_status(struct store *st, enum store_ci_status status, size_t limit,
			     struct store_job ***out);
/* Moves a job from `from` to `to` only if it is still in `from`
 * (SO_ECONFLICT otherwise). Sets queued_at/started_at/finished_at and
 * duration as the new status implies; exit_code and failure_reason are
 * set when finishing (pass -1 / NULL otherwise); user_id > 0 replaces the
 * job's user (play). Refreshes the pipeline's status in the same
 * transaction. */
int store_job_transition(struct store *st, int64_t id, enum store_ci_status from,
			 enum store_ci_status to, int exit_code, const char *failure_reason,
			 int64_t user_id);
int store_job_set_trace_bytes(struct store *st, int64_t id, int64_t bytes);
/* At start-up: every job still RUNNING (the server died under it) becomes
 * FAILED with failure_reason (e.g. "runner_system_failure"); returns the
 * affected job ids (NULL-free array of n ids, caller frees). */
int store_job_fail_running(struct store *st, const char *failure_reason, int64_t **ids_out,
			   size_t *n_out);
void store_job_free(struct store_job *j);
void store_job_list_free(struct store_job **list);

/* ---- the outbox: chat replies that must not be lost (issue 5) ----
 * A reply is written here before it is sent; a delivery worker sends due
 * rows, retries with backoff, and marks them delivered or failed. Rows
 * survive restarts. */
enum store_outbox_state {
	STORE_OUTBOX_PENDING = 0,
	STORE_OUTBOX_DELIVERED,
	STORE_OUTBOX_FAILED,   /* gave up (expired, too many attempts) */
};

struct store_outbox {
	int64_t id;
	char *kind;            /* "mattermost_response", "slack_response", "webhook" */
	char *url;             /* where to POST */
	char *payload;         /* JSON body */
	int64_t job_id;        /* 0 if none */
	int64_t project_id;    /* 0 if none */
	enum store_outbox_state state;
	int attempts;
	int64_t next_attempt_at; /* Unix seconds */
	int64_t expires_at;      /* Unix seconds; 0 = never */
	char *last_error;      /* or NULL */
	char *created_at;
	char *delivered_at;    /* or NULL */
};

struct store_outbox_new {
	const char *kind;
	const char *url;
	const char *payload;
	int64_t job_id;
	int64_t project_id;
	int64_t not_before;    /* Unix seconds; 0 = now */
	int64_t expires_at;    /* 0 = never */
};

int store_outbox_enqueue(struct store *st, const struct store_outbox_new *in, int64_t *out_id);
/* Pending rows with next_attempt_at <= now, oldest first, at most limit. */
int store_outbox_due(struct store *st, int64_t now, size_t limit, struct store_outbox ***out);
/* The earliest next_attempt_at of pending rows (0 when none). */
int store_outbox_next_due(struct store *st, int64_t *out);
int store_outbox_mark_delivered(struct store *st, int64_t id);
/* attempts += 1; next_attempt_at = next_at; last_error = error. */
int store_outbox_mark_retry(struct store *st, int64_t id, int64_t next_at, const char *error);
int store_outbox_mark_failed(struct store *st, int64_t id, const char *error);
/* Successful posts already made to url (Mattermost allows 5 per
 * response_url). */
int store_outbox_count_delivered_to(struct store *st, const char *url, int64_t *out);
int store_outbox_list_for_job(struct store *st, int64_t job_id, struct store_outbox ***out);
void store_outbox_free(struct store_outbox *o);
void store_outbox_list_free(struct store_outbox **list);

#endif
