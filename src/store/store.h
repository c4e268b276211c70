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

#endif
