/*
 * sqlite.c: the SQLite backend of the store (the only file that includes
 * sqlite3.h).
 *
 * Design:
 * - Connections: a small pool (up to POOL_MAX, opened lazily) guarded by a
 *   mutex and a condition variable; a call borrows one connection for its
 *   whole duration, so many threads read at once (WAL readers never block
 *   each other or the writer). An in-memory database is private to its
 *   connection, so ":memory:" uses a pool of exactly one.
 * - Every connection runs with foreign_keys=ON, synchronous=FULL and a
 *   busy_timeout; the database file is in WAL mode. With synchronous=FULL
 *   every COMMIT fsyncs the WAL before returning, so a write that returned
 *   0 survives kill -9 (and power loss).
 * - Durability classes: writes whose loss a user would notice (accounts,
 *   projects, pipelines created by a command, a job's end, a reply waiting
 *   in the outbox) commit with synchronous=FULL. Bookkeeping that restart
 *   recovery re-derives (a job becoming pending or running, its trace
 *   size, a reply marked delivered, chat trigger claims) commits with
 *   synchronous=NORMAL: it survives kill -9, and the next FULL commit
 *   (WAL is append-only) makes it durable against power loss too. A power
 *   cut can at worst re-run recovery on a job or re-send one reply. Fewer
 *   fsyncs under write_mu mean a chat command's own commit waits less.
 * - Checkpoints: the automatic checkpoint runs inside COMMIT, i.e. with
 *   write_mu held, and fsyncs the database file: under disk load that
 *   stalled every writer for tens of milliseconds. A WAL hook on each
 *   connection instead wakes a checkpointer thread (its own connection)
 *   past CKPT_PAGES, which runs PASSIVE checkpoints beside the writers.
 * - Writes: BEGIN IMMEDIATE ... COMMIT, one transaction per public call,
 *   except inside a write batch (store_write_begin): then the batch owns
 *   the transaction and each call is a SAVEPOINT in it.
 *   Writers of this process also take write_mu first, so they queue on a
 *   mutex instead of spinning in SQLite's busy handler; other processes
 *   (e.g. an admin CLI next to the server) are covered by busy_timeout.
 * - Statements: every SQL text is an entry of the ST_* table below,
 *   prepared once per connection on first use (SQLITE_PREPARE_PERSISTENT)
 *   and reset + unbound after each use (stmt_done). Values are always bound.
 * - Uniqueness: inside the write transaction we look for the conflicting
 *   row first to name the right field in GitLab's words ("Username has
 *   already been taken"); a UNIQUE failure that still slips through (another
 *   process) is mapped from the constraint's columns by unique_message().
 * - Jobs (issue 5): a transition is a compare-and-set (UPDATE ... WHERE
 *   status = from) in one write transaction that also recomputes the
 *   pipeline's status from its jobs (pipeline_refresh, using the rules in
 *   store.c). Pipeline iids come from a per-project counter row, so a
 *   deleted pipeline's iid is never reused.
 * - Schema: the numbered `migrations` array, applied at open in one
 *   transaction and recorded in PRAGMA user_version. Never edit a shipped
 *   migration; append a new one.
 */
#include "store/store_backend.h"

#include <assert.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

#define POOL_MAX 8
#define CKPT_PAGES 1000 /* SQLite's own autocheckpoint threshold */
#define BUSY_TIMEOUT_MS 5000
/* store_token_touch skips the write when last_used_at is this recent. */
#define TOKEN_TOUCH_SECONDS 60
/* store_chat_name_touch writes last_used_at at most this often. */
#define CHAT_NAME_TOUCH_SECONDS 3600

/* ---- schema ---- */

struct migration {
	int version;
	const char *sql;
};

static const struct migration migrations[] = {
	{ 1,
	  "CREATE TABLE users ("
	  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	  " username TEXT NOT NULL COLLATE NOCASE,"
	  " email TEXT NOT NULL COLLATE NOCASE,"
	  " name TEXT NOT NULL,"
	  " password_hash TEXT,"
	  " is_admin INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),"
	  " state INTEGER NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2)),"
	  " created_at TEXT NOT NULL,"
	  " last_activity_on TEXT,"
	  " UNIQUE (username),"
	  " UNIQUE (email));"
	  "CREATE TABLE namespaces ("
	  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	  " name TEXT NOT NULL,"
	  " path TEXT NOT NULL COLLATE NOCASE,"
	  " full_path TEXT NOT NULL COLLATE NOCASE,"
	  " kind TEXT NOT NULL CHECK (kind IN ('user', 'group')),"
	  " owner_id INTEGER REFERENCES users(id) ON DELETE SET NULL,"
	  " parent_id INTEGER REFERENCES namespaces(id) ON DELETE CASCADE,"
	  " created_at TEXT NOT NULL,"
	  " UNIQUE (full_path));"
	  "CREATE INDEX namespaces_owner_id ON namespaces(owner_id);"
	  "CREATE INDEX namespaces_parent_id ON namespaces(parent_id);"
	  "CREATE TABLE projects ("
	  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	  " namespace_id INTEGER NOT NULL REFERENCES namespaces(id) ON DELETE CASCADE,"
	  " name TEXT NOT NULL,"
	  " path TEXT NOT NULL COLLATE NOCASE,"
	  " description TEXT,"
	  " default_branch TEXT,"
	  " visibility INTEGER NOT NULL DEFAULT 0 CHECK (visibility IN (0, 10, 20)),"
	  " creator_id INTEGER REFERENCES users(id) ON DELETE SET NULL,"
	  " created_at TEXT NOT NULL,"
	  " last_activity_at TEXT NOT NULL,"
	  " UNIQUE (namespace_id, path),"
	  " UNIQUE (namespace_id, name));"
	  "CREATE INDEX projects_visibility ON projects(visibility);"
	  "CREATE INDEX projects_creator_id ON projects(creator_id);"
	  "CREATE TABLE project_members ("
	  " project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
	  " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	  " access_level INTEGER NOT NULL CHECK (access_level IN (10, 20, 30, 40, 50)),"
	  " expires_at TEXT,"
	  " created_at TEXT NOT NULL,"
	  " created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,"
	  " PRIMARY KEY (project_id, user_id)) WITHOUT ROWID;"
	  "CREATE INDEX project_members_user_id ON project_members(user_id);"
	  "CREATE INDEX project_members_created_by ON project_members(created_by);"
	  "CREATE TABLE personal_access_tokens ("
	  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	  " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	  " name TEXT NOT NULL,"
	  " scopes TEXT NOT NULL,"
	  " token_hash TEXT NOT NULL,"
	  " expires_at TEXT,"
	  " revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),"
	  " created_at TEXT NOT NULL,"
	  " last_used_at TEXT,"
	  " UNIQUE (token_hash));"
	  "CREATE INDEX personal_access_tokens_user_id ON personal_access_tokens(user_id);"
	  "CREATE TABLE sessions ("
	  " id_hash TEXT PRIMARY KEY,"
	  " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	  " csrf_token TEXT NOT NULL,"
	  " expires_at INTEGER NOT NULL,"
	  " created_at TEXT NOT NULL) WITHOUT ROWID;"
	  "CREATE INDEX sessions_user_id ON sessions(user_id);"
	  "CREATE INDEX sessions_expires_at ON sessions(expires_at);" },
	/* 2: chat integrations, chat names, chat link requests and slash
	 * command deduplication (issue 3). chat_triggers.created_at is Unix
	 * seconds, so the purge is one indexed range delete. */
	{ 2,
	  "CREATE TABLE integrations ("
	  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	  " project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
	  " kind TEXT NOT NULL,"
	  " token_hash TEXT,"
	  " active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),"
	  " team_id TEXT,"
	  " team_domain TEXT,"
	  " created_at TEXT NOT NULL,"
	  " updated_at TEXT NOT NULL,"
	  " UNIQUE (project_id, kind));"
	  "CREATE TABLE chat_names ("
	  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	  " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	  " team_id TEXT NOT NULL,"
	  " team_domain TEXT,"
	  " chat_id TEXT NOT NULL,"
	  " chat_name TEXT,"
	  " last_used_at TEXT,"
	  " created_at TEXT NOT NULL,"
	  " UNIQUE (team_id, chat_id));"
	  "CREATE INDEX chat_names_user_id ON chat_names(user_id);"
	  "CREATE TABLE chat_links ("
	  " token_hash TEXT PRIMARY KEY,"
	  " project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
	  " integration_kind TEXT NOT NULL,"
	  " team_id TEXT NOT NULL,"
	  " team_domain TEXT,"
	  " chat_id TEXT NOT NULL,"
	  " chat_name TEXT,"
	  " expires_at INTEGER NOT NULL,"
	  " created_at TEXT NOT NULL) WITHOUT ROWID;"
	  "CREATE INDEX chat_links_expires_at ON chat_links(expires_at);"
	  "CREATE INDEX chat_links_project_id ON chat_links(project_id);"
	  "CREATE TABLE chat_triggers ("
	  " integration_id INTEGER NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,"
	  " trigger_id TEXT NOT NULL,"
	  " reply TEXT,"
	  " created_at INTEGER NOT NULL,"
	  " PRIMARY KEY (integration_id, trigger_id)) WITHOUT ROWID;"
	  "CREATE INDEX chat_triggers_created_at ON chat_triggers(created_at);" },
	/* 3: pipelines, jobs and the reply outbox (issue 5). pipeline_iids
	 * holds each project's last pipeline iid, so an iid is never given
	 * twice even after its pipeline is deleted. Statuses are the numbers
	 * of enum store_ci_status / store_outbox_state. The outbox has no
	 * foreign keys: a reply outlives the job and project it is about. */
	{ 3,
	  "CREATE TABLE pipeline_iids ("
	  " project_id INTEGER PRIMARY KEY REFERENCES projects(id) ON DELETE CASCADE,"
	  " last_iid INTEGER NOT NULL);"
	  "CREATE TABLE pipelines ("
	  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	  " project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
	  " iid INTEGER NOT NULL,"
	  " source TEXT NOT NULL,"
	  " ref TEXT NOT NULL,"
	  " sha TEXT NOT NULL,"
	  " status INTEGER NOT NULL DEFAULT 0 CHECK (status BETWEEN 0 AND 8),"
	  " user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,"
	  " name TEXT,"
	  " created_at TEXT NOT NULL,"
	  " updated_at TEXT NOT NULL,"
	  " started_at TEXT,"
	  " finished_at TEXT,"
	  " duration REAL NOT NULL DEFAULT 0,"
	  " chat_name_id INTEGER REFERENCES chat_names(id) ON DELETE SET NULL,"
	  " chat_response_url TEXT,"
	  " chat_integration_id INTEGER REFERENCES integrations(id) ON DELETE SET NULL,"
	  " UNIQUE (project_id, iid));"
	  "CREATE INDEX pipelines_project_id_id ON pipelines(project_id, id DESC);"
	  "CREATE INDEX pipelines_user_id ON pipelines(user_id);"
	  "CREATE INDEX pipelines_chat_name_id ON pipelines(chat_name_id);"
	  "CREATE INDEX pipelines_chat_integration_id ON pipelines(chat_integration_id);"
	  "CREATE TABLE jobs ("
	  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	  " pipeline_id INTEGER NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,"
	  " project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
	  " name TEXT NOT NULL,"
	  " stage TEXT NOT NULL,"
	  " stage_idx INTEGER NOT NULL DEFAULT 0,"
	  " status INTEGER NOT NULL DEFAULT 0 CHECK (status BETWEEN 0 AND 8),"
	  " run_when TEXT NOT NULL,"
	  " allow_failure INTEGER NOT NULL DEFAULT 0 CHECK (allow_failure IN (0, 1)),"
	  " user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,"
	  " spec_json TEXT NOT NULL,"
	  " created_at TEXT NOT NULL,"
	  " queued_at TEXT,"
	  " started_at TEXT,"
	  " finished_at TEXT,"
	  " duration REAL NOT NULL DEFAULT 0,"
	  " exit_code INTEGER NOT NULL DEFAULT -1,"
	  " failure_reason TEXT,"
	  " trace_bytes INTEGER NOT NULL DEFAULT 0);"
	  "CREATE INDEX jobs_status_id ON jobs(status, id);"
	  "CREATE INDEX jobs_project_id_id ON jobs(project_id, id DESC);"
	  "CREATE INDEX jobs_pipeline_id_stage ON jobs(pipeline_id, stage_idx, id);"
	  "CREATE INDEX jobs_user_id ON jobs(user_id);"
	  "CREATE TABLE outbox ("
	  " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	  " kind TEXT NOT NULL,"
	  " url TEXT NOT NULL,"
	  " payload TEXT NOT NULL,"
	  " job_id INTEGER,"
	  " project_id INTEGER,"
	  " state INTEGER NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2)),"
	  " attempts INTEGER NOT NULL DEFAULT 0,"
	  " next_attempt_at INTEGER NOT NULL,"
	  " expires_at INTEGER NOT NULL DEFAULT 0,"
	  " last_error TEXT,"
	  " created_at TEXT NOT NULL,"
	  " delivered_at TEXT);"
	  "CREATE INDEX outbox_state_next ON outbox(state, next_attempt_at);"
	  "CREATE INDEX outbox_url_state ON outbox(url, state);"
	  "CREATE INDEX outbox_job_id ON outbox(job_id);" },
};

#define N_MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))
#define SCHEMA_VERSION (migrations[N_MIGRATIONS - 1].version)

/* ---- statements ---- */

#define USER_COLS "id, username, email, name, password_hash, is_admin, state, created_at, last_activity_on"
#define USER_COLS_U "u.id, u.username, u.email, u.name, u.password_hash, u.is_admin, u.state, u.created_at, u.last_activity_on"
#define TOKEN_COLS "id, user_id, name, scopes, token_hash, expires_at, revoked, created_at, last_used_at"
#define NS_COLS "id, name, path, full_path, kind, owner_id, parent_id, created_at"
#define INTEGRATION_COLS "id, project_id, kind, token_hash, active, team_id, team_domain, created_at, updated_at"
#define CHAT_NAME_COLS "id, user_id, team_id, team_domain, chat_id, chat_name, last_used_at, created_at"
#define CHAT_LINK_COLS "token_hash, project_id, integration_kind, team_id, team_domain, chat_id, chat_name, expires_at"
#define PIPELINE_COLS "id, project_id, iid, source, ref, sha, status, user_id, name, created_at," \
	" updated_at, started_at, finished_at, duration, chat_name_id, chat_response_url," \
	" chat_integration_id"
#define JOB_COLS "id, pipeline_id, project_id, name, stage, stage_idx, status, run_when," \
	" allow_failure, user_id, spec_json, created_at, queued_at, started_at, finished_at," \
	" duration, exit_code, failure_reason, trace_bytes"
#define OUTBOX_COLS "id, kind, url, payload, job_id, project_id, state, attempts," \
	" next_attempt_at, expires_at, last_error, created_at, delivered_at"
#define PROJECT_SELECT \
	"SELECT p.id, p.name, p.path, n.full_path || '/' || p.path, p.description," \
	" p.default_branch, p.visibility, p.namespace_id, p.creator_id, p.created_at," \
	" p.last_activity_at FROM projects p JOIN namespaces n ON n.id = p.namespace_id "
#define MEMBER_SELECT \
	"SELECT m.project_id, m.user_id, m.access_level, m.expires_at, m.created_at," \
	" m.created_by, " USER_COLS_U " FROM project_members m JOIN users u ON u.id = m.user_id "
/* ?1 is_admin, ?2 lowest visible visibility, ?3 user id, ?4 today */
#define VISIBLE_WHERE \
	"WHERE ?1 OR p.visibility >= ?2 OR EXISTS (SELECT 1 FROM project_members m" \
	" WHERE m.project_id = p.id AND m.user_id = ?3" \
	" AND (m.expires_at IS NULL OR m.expires_at >= ?4)) "

#define STATEMENTS(X) \
	X(BEGIN, "BEGIN") \
	X(BEGIN_IMMEDIATE, "BEGIN IMMEDIATE") \
	X(COMMIT, "COMMIT") \
	X(SYNC_NORMAL, "PRAGMA synchronous = NORMAL") \
	X(SYNC_FULL, "PRAGMA synchronous = FULL") \
	X(SAVEPOINT, "SAVEPOINT call") \
	X(RELEASE, "RELEASE call") \
	X(ROLLBACK_TO, "ROLLBACK TO call") \
	X(USER_VERSION, "PRAGMA user_version") \
	X(INTEGRITY_CHECK, "PRAGMA integrity_check") \
	X(FK_CHECK, "PRAGMA foreign_key_check") \
	X(USER_EXISTS, "SELECT 1 FROM users WHERE id = ?1") \
	X(USERNAME_TAKEN, "SELECT 1 FROM users WHERE username = ?1") \
	X(EMAIL_TAKEN, "SELECT 1 FROM users WHERE email = ?1") \
	X(USER_INSERT, "INSERT INTO users (username, email, name, password_hash, is_admin," \
		       " state, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)") \
	X(USER_GET, "SELECT " USER_COLS " FROM users WHERE id = ?1") \
	X(USER_GET_LOGIN, "SELECT " USER_COLS " FROM users WHERE username = ?1 OR email = ?1" \
			  " ORDER BY username = ?1 DESC, id LIMIT 1") \
	X(USER_LIST, "SELECT " USER_COLS " FROM users ORDER BY id LIMIT ?1 OFFSET ?2") \
	X(USER_COUNT, "SELECT count(*) FROM users") \
	X(USER_SET_STATE, "UPDATE users SET state = ?2 WHERE id = ?1") \
	X(USER_SET_PASSWORD, "UPDATE users SET password_hash = ?2 WHERE id = ?1") \
	X(USER_SET_ADMIN, "UPDATE users SET is_admin = ?2 WHERE id = ?1") \
	X(USER_ACTIVITY_GET, "SELECT last_activity_on FROM users WHERE id = ?1") \
	X(USER_ACTIVITY_SET, "UPDATE users SET last_activity_on = ?2 WHERE id = ?1") \
	X(USER_DELETE_NAMESPACES, "DELETE FROM namespaces WHERE kind = 'user' AND owner_id = ?1") \
	X(USER_DELETE, "DELETE FROM users WHERE id = ?1") \
	X(TOKEN_HASH_TAKEN, "SELECT 1 FROM personal_access_tokens WHERE token_hash = ?1") \
	X(TOKEN_INSERT, "INSERT INTO personal_access_tokens (user_id, name, scopes, token_hash," \
			" expires_at, revoked, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)") \
	X(TOKEN_GET_HASH, "SELECT " TOKEN_COLS " FROM personal_access_tokens WHERE token_hash = ?1") \
	X(TOKEN_LIST_USER, "SELECT " TOKEN_COLS " FROM personal_access_tokens WHERE user_id = ?1" \
			   " ORDER BY id") \
	X(TOKEN_REVOKE, "UPDATE personal_access_tokens SET revoked = 1 WHERE id = ?1") \
	X(TOKEN_LAST_USED, "SELECT last_used_at FROM personal_access_tokens WHERE id = ?1") \
	X(TOKEN_TOUCH, "UPDATE personal_access_tokens SET last_used_at = ?2 WHERE id = ?1") \
	X(SESSION_TAKEN, "SELECT 1 FROM sessions WHERE id_hash = ?1") \
	X(SESSION_INSERT, "INSERT INTO sessions (id_hash, user_id, csrf_token, expires_at," \
			  " created_at) VALUES (?1, ?2, ?3, ?4, ?5)") \
	X(SESSION_GET, "SELECT id_hash, user_id, csrf_token, expires_at, created_at FROM sessions" \
		       " WHERE id_hash = ?1 AND expires_at > ?2") \
	X(SESSION_DELETE, "DELETE FROM sessions WHERE id_hash = ?1") \
	X(SESSION_DELETE_USER, "DELETE FROM sessions WHERE user_id = ?1") \
	X(SESSION_PURGE, "DELETE FROM sessions WHERE expires_at <= ?1") \
	X(NS_PATH_TAKEN, "SELECT 1 FROM namespaces WHERE full_path = ?1") \
	X(NS_INSERT, "INSERT INTO namespaces (name, path, full_path, kind, owner_id, parent_id," \
		     " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)") \
	X(NS_GET, "SELECT " NS_COLS " FROM namespaces WHERE id = ?1") \
	X(NS_GET_PATH, "SELECT " NS_COLS " FROM namespaces WHERE full_path = ?1") \
	X(NS_EXISTS, "SELECT 1 FROM namespaces WHERE id = ?1") \
	X(PROJECT_PATH_TAKEN, "SELECT 1 FROM projects WHERE namespace_id = ?1 AND path = ?2") \
	X(PROJECT_NAME_TAKEN, "SELECT 1 FROM projects WHERE namespace_id = ?1 AND name = ?2") \
	X(PROJECT_INSERT, "INSERT INTO projects (namespace_id, name, path, description," \
			  " default_branch, visibility, creator_id, created_at, last_activity_at)" \
			  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)") \
	X(PROJECT_GET, PROJECT_SELECT "WHERE p.id = ?1") \
	X(PROJECT_GET_PATH, PROJECT_SELECT "WHERE n.full_path = ?1 AND p.path = ?2") \
	X(PROJECT_EXISTS, "SELECT 1 FROM projects WHERE id = ?1") \
	X(PROJECT_LIST_VISIBLE, PROJECT_SELECT VISIBLE_WHERE "ORDER BY p.id DESC LIMIT ?5 OFFSET ?6") \
	X(PROJECT_COUNT_VISIBLE, "SELECT count(*) FROM projects p " VISIBLE_WHERE) \
	X(PROJECT_DELETE, "DELETE FROM projects WHERE id = ?1") \
	X(PROJECT_SET_BRANCH, "UPDATE projects SET default_branch = ?2 WHERE id = ?1") \
	X(PROJECT_TOUCH, "UPDATE projects SET last_activity_at = ?2 WHERE id = ?1") \
	X(MEMBER_EXISTS, "SELECT 1 FROM project_members WHERE project_id = ?1 AND user_id = ?2") \
	X(MEMBER_INSERT, "INSERT INTO project_members (project_id, user_id, access_level," \
			 " expires_at, created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6)") \
	X(MEMBER_GET, MEMBER_SELECT "WHERE m.project_id = ?1 AND m.user_id = ?2") \
	X(MEMBER_LIST, MEMBER_SELECT "WHERE m.project_id = ?1 ORDER BY m.user_id" \
		       " LIMIT ?2 OFFSET ?3") \
	X(MEMBER_COUNT, "SELECT count(*) FROM project_members WHERE project_id = ?1") \
	X(MEMBER_UPDATE, "UPDATE project_members SET access_level = ?3, expires_at = ?4" \
			 " WHERE project_id = ?1 AND user_id = ?2") \
	X(MEMBER_DELETE, "DELETE FROM project_members WHERE project_id = ?1 AND user_id = ?2") \
	X(MEMBER_LEVEL, "SELECT access_level FROM project_members WHERE project_id = ?1" \
			" AND user_id = ?2 AND (expires_at IS NULL OR expires_at >= ?3)") \
	X(MEMBER_COUNT_OWNERS, "SELECT count(*) FROM project_members WHERE project_id = ?1" \
			       " AND access_level = 50 AND (expires_at IS NULL OR expires_at >= ?2)") \
	X(INTEGRATION_UPSERT, "INSERT INTO integrations (project_id, kind, token_hash, active," \
			      " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?6, ?6)" \
			      " ON CONFLICT (project_id, kind) DO UPDATE SET" \
			      " token_hash = coalesce(excluded.token_hash, token_hash)," \
			      " active = excluded.active," \
			      " team_id = CASE WHEN ?5 THEN NULL ELSE team_id END," \
			      " team_domain = CASE WHEN ?5 THEN NULL ELSE team_domain END," \
			      " updated_at = excluded.updated_at") \
	X(INTEGRATION_ID, "SELECT id FROM integrations WHERE project_id = ?1 AND kind = ?2") \
	X(INTEGRATION_GET, "SELECT " INTEGRATION_COLS " FROM integrations" \
			   " WHERE project_id = ?1 AND kind = ?2") \
	X(INTEGRATION_DELETE, "DELETE FROM integrations WHERE project_id = ?1 AND kind = ?2") \
	X(INTEGRATION_SET_TEAM, "UPDATE integrations SET team_id = ?2, team_domain = ?3," \
				" updated_at = ?4 WHERE id = ?1") \
	X(INTEGRATION_EXISTS, "SELECT 1 FROM integrations WHERE id = ?1") \
	X(CHAT_NAME_TAKEN, "SELECT 1 FROM chat_names WHERE team_id = ?1 AND chat_id = ?2") \
	X(CHAT_NAME_INSERT, "INSERT INTO chat_names (user_id, team_id, team_domain, chat_id," \
			    " chat_name, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)") \
	X(CHAT_NAME_FIND, "SELECT " CHAT_NAME_COLS " FROM chat_names" \
			  " WHERE team_id = ?1 AND chat_id = ?2") \
	X(CHAT_NAME_LIST_USER, "SELECT " CHAT_NAME_COLS " FROM chat_names WHERE user_id = ?1" \
			       " ORDER BY id") \
	X(CHAT_NAME_DELETE, "DELETE FROM chat_names WHERE id = ?1 AND user_id = ?2") \
	X(CHAT_NAME_LAST_USED, "SELECT last_used_at FROM chat_names WHERE id = ?1") \
	X(CHAT_NAME_TOUCH, "UPDATE chat_names SET last_used_at = ?2 WHERE id = ?1") \
	X(CHAT_LINK_TAKEN, "SELECT 1 FROM chat_links WHERE token_hash = ?1") \
	X(CHAT_LINK_INSERT, "INSERT INTO chat_links (token_hash, project_id, integration_kind," \
			    " team_id, team_domain, chat_id, chat_name, expires_at, created_at)" \
			    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)") \
	X(CHAT_LINK_GET, "SELECT " CHAT_LINK_COLS " FROM chat_links" \
			 " WHERE token_hash = ?1 AND expires_at > ?2") \
	X(CHAT_LINK_CONSUME, "DELETE FROM chat_links WHERE token_hash = ?1" \
			     " RETURNING " CHAT_LINK_COLS) \
	X(CHAT_LINK_PURGE, "DELETE FROM chat_links WHERE expires_at <= ?1") \
	X(CHAT_TRIGGER_PURGE, "DELETE FROM chat_triggers WHERE created_at < ?1") \
	X(CHAT_TRIGGER_INSERT, "INSERT INTO chat_triggers (integration_id, trigger_id, created_at)" \
			       " VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING") \
	X(CHAT_TRIGGER_REPLY, "SELECT reply, created_at FROM chat_triggers" \
			      " WHERE integration_id = ?1 AND trigger_id = ?2") \
	X(CHAT_TRIGGER_SET_REPLY, "UPDATE chat_triggers SET reply = ?3" \
				  " WHERE integration_id = ?1 AND trigger_id = ?2") \
	X(CHAT_NAME_EXISTS, "SELECT 1 FROM chat_names WHERE id = ?1") \
	X(PIPELINE_IID_NEXT, "INSERT INTO pipeline_iids (project_id, last_iid) VALUES (?1, 1)" \
			     " ON CONFLICT (project_id) DO UPDATE SET last_iid = last_iid + 1" \
			     " RETURNING last_iid") \
	X(PIPELINE_INSERT, "INSERT INTO pipelines (project_id, iid, source, ref, sha, status," \
			   " user_id, name, created_at, updated_at, chat_name_id, chat_response_url," \
			   " chat_integration_id) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?8, ?8, ?9," \
			   " ?10, ?11)") \
	X(PIPELINE_GET, "SELECT " PIPELINE_COLS " FROM pipelines WHERE id = ?1") \
	X(PIPELINE_LIST, "SELECT " PIPELINE_COLS " FROM pipelines WHERE project_id = ?1" \
			 " ORDER BY id DESC LIMIT ?2 OFFSET ?3") \
	X(PIPELINE_DELETE, "DELETE FROM pipelines WHERE id = ?1") \
	X(PIPELINE_COUNT, "SELECT count(*) FROM pipelines WHERE project_id = ?1") \
	X(PIPELINE_STATE, "SELECT status, finished_at FROM pipelines WHERE id = ?1") \
	X(PIPELINE_JOB_STATES, "SELECT status, allow_failure, started_at, finished_at FROM jobs" \
			       " WHERE pipeline_id = ?1") \
	X(PIPELINE_SET_STATUS, "UPDATE pipelines SET status = ?2, started_at = ?3," \
			       " finished_at = ?4, duration = ?5, updated_at = ?6 WHERE id = ?1") \
	X(JOB_INSERT, "INSERT INTO jobs (pipeline_id, project_id, name, stage, stage_idx, status," \
		      " run_when, allow_failure, user_id, spec_json, created_at, queued_at)" \
		      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)") \
	X(JOB_GET, "SELECT " JOB_COLS " FROM jobs WHERE id = ?1") \
	X(JOB_LIST_PIPELINE, "SELECT " JOB_COLS " FROM jobs WHERE pipeline_id = ?1" \
			     " ORDER BY stage_idx, id") \
	X(JOB_LIST_PROJECT, "SELECT " JOB_COLS " FROM jobs WHERE project_id = ?1" \
			    " ORDER BY id DESC LIMIT ?2 OFFSET ?3") \
	X(JOB_COUNT_PROJECT, "SELECT count(*) FROM jobs WHERE project_id = ?1") \
	X(JOB_LIST_STATUS, "SELECT " JOB_COLS " FROM jobs WHERE status = ?1 ORDER BY id LIMIT ?2") \
	X(JOB_STATE, "SELECT status, started_at, pipeline_id FROM jobs WHERE id = ?1") \
	X(JOB_TO_PENDING, "UPDATE jobs SET status = ?3, queued_at = ?4, started_at = NULL," \
			  " user_id = coalesce(?5, user_id) WHERE id = ?1 AND status = ?2") \
	X(JOB_TO_RUNNING, "UPDATE jobs SET status = ?3, started_at = ?4," \
			  " user_id = coalesce(?5, user_id) WHERE id = ?1 AND status = ?2") \
	X(JOB_TO_FINISHED, "UPDATE jobs SET status = ?3, finished_at = ?4, duration = ?5," \
			   " exit_code = ?6, failure_reason = ?7, user_id = coalesce(?8, user_id)" \
			   " WHERE id = ?1 AND status = ?2") \
	X(JOB_TO_OTHER, "UPDATE jobs SET status = ?3, user_id = coalesce(?4, user_id)" \
			" WHERE id = ?1 AND status = ?2") \
	X(JOB_SET_TRACE, "UPDATE jobs SET trace_bytes = ?2 WHERE id = ?1") \
	X(JOB_LIST_RUNNING, "SELECT id, pipeline_id, started_at FROM jobs WHERE status = ?1" \
			    " ORDER BY id") \
	X(OUTBOX_INSERT, "INSERT INTO outbox (kind, url, payload, job_id, project_id, state," \
			 " attempts, next_attempt_at, expires_at, created_at)" \
			 " VALUES (?1, ?2, ?3, ?4, ?5, 0, 0, ?6, ?7, ?8)") \
	X(OUTBOX_DUE, "SELECT " OUTBOX_COLS " FROM outbox WHERE state = 0" \
		      " AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2") \
	X(OUTBOX_NEXT_DUE, "SELECT min(next_attempt_at) FROM outbox WHERE state = 0") \
	X(OUTBOX_STATE, "SELECT state FROM outbox WHERE id = ?1") \
	X(OUTBOX_DELIVERED, "UPDATE outbox SET state = 1, delivered_at = ?2" \
			    " WHERE id = ?1 AND state = 0") \
	X(OUTBOX_RETRY, "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2," \
			" last_error = ?3 WHERE id = ?1 AND state = 0") \
	X(OUTBOX_FAILED, "UPDATE outbox SET state = 2, last_error = coalesce(?2, last_error)" \
			 " WHERE id = ?1 AND state = 0") \
	X(OUTBOX_COUNT_URL, "SELECT count(*) FROM outbox WHERE url = ?1 AND state = 1") \
	X(OUTBOX_LIST_JOB, "SELECT " OUTBOX_COLS " FROM outbox WHERE job_id = ?1 ORDER BY id")

#define X_ENUM(name, sql) ST_##name,
#define X_SQL(name, sql) sql,
enum st { STATEMENTS(X_ENUM) ST__COUNT };
static const char *const statement_sql[ST__COUNT] = { STATEMENTS(X_SQL) };

/* ---- connections and pool ---- */

struct conn {
	sqlite3 *db;                       /* owned */
	sqlite3_stmt *stmt[ST__COUNT];     /* owned, prepared on first use */
	struct conn *next_free;            /* pool free list */
	struct conn *next_all;             /* every connection, for close */
	bool in_batch;                     /* pinned by a read batch */
	bool in_wbatch;                    /* pinned by a write batch */
};

struct sq {
	char *path;                 /* owned; ":memory:" or a file path */
	int max;                    /* pool size: 1 for :memory: */
	pthread_mutex_t mu;         /* guards the fields below */
	pthread_cond_t cv;          /* signalled when a connection is returned */
	int opened;                 /* connections opened or being opened */
	struct conn *free_list;
	struct conn *all;
	pthread_mutex_t write_mu;   /* one writer of this process at a time */
	_Atomic uint64_t gen;       /* bumped at the end of every write (store_generation) */
	char *wal_path;             /* owned; "<path>-wal", NULL for :memory: */
	/* the checkpointer (file databases only) */
	pthread_t ckpt_thread;
	bool ckpt_started;
	pthread_mutex_t ckpt_mu;    /* guards ckpt_due, ckpt_stop */
	pthread_cond_t ckpt_cv;
	bool ckpt_due, ckpt_stop;
	struct conn *ckpt_conn;     /* owned by the thread while it runs */
};

static int conn_open(struct sq *sq, struct conn **out);
static void conn_close(struct conn *c);

static int db_error(struct conn *c, int rc);

/* After each commit: wake the checkpointer once the WAL is long enough. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct sq *sq = arg;

	(void)db;
	(void)name;
	if (pages >= CKPT_PAGES) {
		pthread_mutex_lock(&sq->ckpt_mu);
		sq->ckpt_due = true;
		pthread_cond_signal(&sq->ckpt_cv);
		pthread_mutex_unlock(&sq->ckpt_mu);
	}
	return SQLITE_OK;
}

static void *checkpointer(void *arg)
{
	struct sq *sq = arg;

	for (;;) {
		int log_pages = 0, done_pages = 0, rc;

		pthread_mutex_lock(&sq->ckpt_mu);
		while (!sq->ckpt_due && !sq->ckpt_stop)
			pthread_cond_wait(&sq->ckpt_cv, &sq->ckpt_mu);
		sq->ckpt_due = false;
		if (sq->ckpt_stop) {
			pthread_mutex_unlock(&sq->ckpt_mu);
			break;
		}
		pthread_mutex_unlock(&sq->ckpt_mu);
		rc = sqlite3_wal_checkpoint_v2(sq->ckpt_conn->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
					       &log_pages, &done_pages);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_warn("store: checkpoint failed: %s", sqlite3_errmsg(sq->ckpt_conn->db));
	}
	return NULL;
}

static int ckpt_start(struct sq *sq)
{
	int err;

	if ((err = conn_open(sq, &sq->ckpt_conn)) < 0)
		return err;
	if (pthread_create(&sq->ckpt_thread, NULL, checkpointer, sq) != 0) {
		conn_close(sq->ckpt_conn);
		sq->ckpt_conn = NULL;
		return error_set(SO_EFAIL, "cannot start the store's checkpointer");
	}
	sq->ckpt_started = true;
	return 0;
}

static void ckpt_stop(struct sq *sq)
{
	if (sq->ckpt_started) {
		pthread_mutex_lock(&sq->ckpt_mu);
		sq->ckpt_stop = true;
		pthread_cond_signal(&sq->ckpt_cv);
		pthread_mutex_unlock(&sq->ckpt_mu);
		pthread_join(sq->ckpt_thread, NULL);
		sq->ckpt_started = false;
	}
	conn_close(sq->ckpt_conn);
	sq->ckpt_conn = NULL;
}

static int conn_open(struct sq *sq, struct conn **out)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	char *msg = NULL;
	int rc, err = 0;

	*out = NULL;
	rc = sqlite3_open_v2(sq->path, &c->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			     NULL);
	if (rc != SQLITE_OK) {
		err = error_set(SO_EFAIL, "cannot open database %s: %s", sq->path,
				c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
		goto done;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
	if (sq->max > 1)
		sqlite3_wal_hook(c->db, wal_hook, sq); /* replaces the autocheckpoint */
	rc = sqlite3_exec(c->db,
			  "PRAGMA foreign_keys = ON;"
			  "PRAGMA synchronous = FULL;"
			  "PRAGMA trusted_schema = OFF;",
			  NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		err = error_set(SO_EFAIL, "cannot configure database %s: %s", sq->path,
				msg ? msg : sqlite3_errstr(rc));
		goto done;
	}
done:
	sqlite3_free(msg);
	if (err < 0) {
		sqlite3_close(c->db);
		free(c);
		return err;
	}
	*out = c;
	return 0;
}

static void conn_close(struct conn *c)
{
	if (!c)
		return;
	for (int i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(c->stmt[i]);
	if (sqlite3_close(c->db) != SQLITE_OK)
		log_error("store: closing a database connection failed");
	free(c);
}

/* The connection a read batch has pinned for this thread (see
 * store_read_begin). */
static _Thread_local struct sq *pin_sq;
static _Thread_local struct conn *pin_c;

/* Borrows a connection, opening one when the pool is not full yet; inside
 * a read batch, the batch's own. */
static int conn_get(struct sq *sq, struct conn **out)
{
	struct conn *c = NULL;
	int err;

	if (pin_c && pin_sq == sq) {
		*out = pin_c;
		return 0;
	}
	pthread_mutex_lock(&sq->mu);
	while (!sq->free_list && sq->opened >= sq->max)
		pthread_cond_wait(&sq->cv, &sq->mu);
	if (sq->free_list) {
		c = sq->free_list;
		sq->free_list = c->next_free;
		pthread_mutex_unlock(&sq->mu);
		*out = c;
		return 0;
	}
	sq->opened++;
	pthread_mutex_unlock(&sq->mu);

	err = conn_open(sq, &c);
	pthread_mutex_lock(&sq->mu);
	if (err < 0) {
		sq->opened--;
		pthread_cond_signal(&sq->cv);
	} else {
		c->next_all = sq->all;
		sq->all = c;
	}
	pthread_mutex_unlock(&sq->mu);
	*out = c;
	return err;
}

static void conn_put(struct sq *sq, struct conn *c)
{
	if (!c || c->in_batch || c->in_wbatch)
		return;
	pthread_mutex_lock(&sq->mu);
	c->next_free = sq->free_list;
	sq->free_list = c;
	pthread_cond_signal(&sq->cv);
	pthread_mutex_unlock(&sq->mu);
}

/* ---- statement helpers ---- */

/* "UNIQUE constraint failed: users.username" -> GitLab's words. */
static const char *unique_message(const char *errmsg)
{
	static const struct {
		const char *columns;
		const char *message;
	} map[] = {
		{ "users.username", "Username has already been taken" },
		{ "users.email", "Email has already been taken" },
		{ "namespaces.full_path", "Path has already been taken" },
		{ "projects.namespace_id, projects.path", "Path has already been taken" },
		{ "projects.namespace_id, projects.name", "Name has already been taken" },
		{ "project_members.", "Member already exists" },
		{ "personal_access_tokens.token_hash", "Token has already been taken" },
		{ "sessions.id_hash", "session already exists" },
		{ "integrations.project_id, integrations.kind", "Integration already exists" },
		{ "chat_names.team_id, chat_names.chat_id", "This chat account is already linked" },
		{ "chat_links.token_hash", "chat link already exists" },
		{ "chat_triggers.", "trigger already claimed" },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strstr(errmsg, map[i].columns))
			return map[i].message;
	}
	return "has already been taken";
}

/* Maps a failed SQLite call on c to an SO_E* code with a message. */
static int db_error(struct conn *c, int rc)
{
	const char *msg = c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc);

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return error_set(SO_EBUSY, "the database is busy, try again");
	case SQLITE_CONSTRAINT:
		switch (rc) {
		case SQLITE_CONSTRAINT_UNIQUE:
		case SQLITE_CONSTRAINT_PRIMARYKEY:
			return error_set(SO_EEXISTS, "%s", unique_message(msg));
		case SQLITE_CONSTRAINT_FOREIGNKEY:
			return error_set(SO_ENOTFOUND, "a referenced record does not exist");
		default:
			return error_set(SO_EINVALID, "invalid value (%s)", msg);
		}
	case SQLITE_FULL:
		log_error("store: database or disk is full");
		return error_set(SO_EFAIL, "the database or disk is full");
	default:
		log_error("store: sqlite error %d: %s", rc, msg);
		return error_set(SO_EFAIL, "database error: %s", msg);
	}
}

/* Prepares (once per connection) and binds statement id. types: one letter
 * per parameter: 't' const char * (NULL binds NULL), 'i' int64_t, 'I'
 * int64_t where 0 binds NULL (optional foreign keys), 'd' double. */
static int vstart(struct conn *c, enum st id, sqlite3_stmt **out, const char *types,
		  va_list ap)
{
	sqlite3_stmt *s = c->stmt[id];
	int rc, err = 0;

	*out = NULL;
	if (!s) {
		rc = sqlite3_prepare_v3(c->db, statement_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
					&s, NULL);
		if (rc != SQLITE_OK)
			return db_error(c, rc);
		c->stmt[id] = s;
	}
	for (int i = 0; types[i] && err == 0; i++) {
		const char *t;
		int64_t v;

		switch (types[i]) {
		case 't':
			t = va_arg(ap, const char *);
			rc = t ? sqlite3_bind_text(s, i + 1, t, -1, SQLITE_STATIC)
			       : sqlite3_bind_null(s, i + 1);
			break;
		case 'i':
			rc = sqlite3_bind_int64(s, i + 1, va_arg(ap, int64_t));
			break;
		case 'I':
			v = va_arg(ap, int64_t);
			rc = v ? sqlite3_bind_int64(s, i + 1, v) : sqlite3_bind_null(s, i + 1);
			break;
		case 'd':
			rc = sqlite3_bind_double(s, i + 1, va_arg(ap, double));
			break;
		default:
			assert(!"unknown bind type");
			rc = SQLITE_MISUSE;
		}
		if (rc != SQLITE_OK)
			err = db_error(c, rc);
	}
	if (err < 0) {
		sqlite3_clear_bindings(s);
		return err;
	}
	*out = s;
	return 0;
}

static void stmt_done(sqlite3_stmt *s)
{
	if (!s)
		return;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

static int q_start(struct conn *c, enum st id, sqlite3_stmt **out, const char *types, ...)
{
	va_list ap;
	int err;

	va_start(ap, types);
	err = vstart(c, id, out, types, ap);
	va_end(ap);
	return err;
}

/* 1 on a row, 0 when done, <0 on error. */
static int q_step(struct conn *c, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return db_error(c, rc);
}

/* Runs a statement to completion; returns the number of changed rows. */
static int q_exec(struct conn *c, enum st id, const char *types, ...)
{
	sqlite3_stmt *s = NULL;
	va_list ap;
	int err;

	va_start(ap, types);
	err = vstart(c, id, &s, types, ap);
	va_end(ap);
	if (err < 0)
		return err;
	while ((err = q_step(c, s)) == 1)
		;
	if (err == 0)
		err = sqlite3_changes(c->db);
	stmt_done(s);
	return err;
}

/* 1 when the statement yields a row, 0 when not; *out (may be NULL)
 * receives the first column as an integer. */
static int q_int(struct conn *c, int64_t *out, enum st id, const char *types, ...)
{
	sqlite3_stmt *s = NULL;
	va_list ap;
	int err;

	if (out)
		*out = 0;
	va_start(ap, types);
	err = vstart(c, id, &s, types, ap);
	va_end(ap);
	if (err < 0)
		return err;
	err = q_step(c, s);
	if (err == 1 && out)
		*out = sqlite3_column_int64(s, 0);
	stmt_done(s);
	return err;
}

static char *col_str(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? xstrdup((const char *)t) : NULL;
}

/* ---- transactions ---- */

static int tx_begin_write(struct sq *sq, struct conn *c)
{
	int err;

	if (c->in_wbatch) { /* the batch holds write_mu and the transaction */
		err = q_exec(c, ST_SAVEPOINT, "");
		return err < 0 ? err : 0;
	}
	if (c->in_batch)
		return error_set(SO_EFAIL, "store: a write inside a read batch");
	pthread_mutex_lock(&sq->write_mu);
	err = q_exec(c, ST_BEGIN_IMMEDIATE, "");
	if (err < 0)
		pthread_mutex_unlock(&sq->write_mu);
	return err < 0 ? err : 0;
}

/* Commits when err >= 0, rolls back otherwise; returns err or the commit's
 * error. */
static int tx_end_write(struct sq *sq, struct conn *c, int err)
{
	int e;

	if (c->in_wbatch) {
		if (err < 0)
			q_exec(c, ST_ROLLBACK_TO, "");
		if ((e = q_exec(c, ST_RELEASE, "")) < 0 && err >= 0)
			err = e;
		return err;
	}
	if (err >= 0 && (e = q_exec(c, ST_COMMIT, "")) < 0)
		err = e;
	if (err < 0 && !sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	atomic_fetch_add(&sq->gen, 1); /* before the lock opens: no reader caches across it */
	pthread_mutex_unlock(&sq->write_mu);
	return err;
}

/* This process's write counter, mixed with the WAL file's size, mtime and
 * inode: another process's commit (an admin CLI next to the server)
 * appends to the WAL or restarts it, so it changes them too. A restart
 * that leaves size and mtime (a clock tick) as they were could go unseen;
 * callers bound that with a time to live. One stat() per call. */
static uint64_t sq_generation(void *impl)
{
	struct sq *sq = impl;
	uint64_t g = atomic_load(&sq->gen), parts[4];
	struct stat st;

	if (sq->wal_path && stat(sq->wal_path, &st) == 0) {
		parts[0] = (uint64_t)st.st_size;
		parts[1] = (uint64_t)st.st_mtim.tv_sec;
		parts[2] = (uint64_t)st.st_mtim.tv_nsec;
		parts[3] = (uint64_t)st.st_ino;
		for (size_t i = 0; i < 4; i++) /* FNV-1a over the words */
			g = (g ^ parts[i]) * 1099511628211ULL;
	}
	return g ? g : 1;
}

/* Trigger rows are a short-lived cache of replies, written on every slash
 * command: they are committed with synchronous=NORMAL (WAL without an
 * fsync per commit), which survives a crash of the process but not
 * necessarily of the machine. Losing the last claims to a power cut only
 * means a retry arriving after it could run once more. */
static int tx_begin_write_lazy(struct sq *sq, struct conn *c)
{
	int err;

	if (c->in_wbatch) /* the batch chose its durability */
		return tx_begin_write(sq, c);
	if ((err = q_exec(c, ST_SYNC_NORMAL, "")) < 0 || (err = tx_begin_write(sq, c)) < 0) {
		q_exec(c, ST_SYNC_FULL, "");
		return err;
	}
	return 0;
}

static int tx_end_write_lazy(struct sq *sq, struct conn *c, int err)
{
	int e;

	if (c->in_wbatch)
		return tx_end_write(sq, c, err);
	err = tx_end_write(sq, c, err);
	/* Back to the default for every other write on this connection. */
	if ((e = q_exec(c, ST_SYNC_FULL, "")) < 0 && err >= 0)
		err = e;
	return err;
}

/* Read transactions make a list and its total one consistent snapshot. */
static int tx_begin_read(struct conn *c)
{
	int err;

	if (c->in_batch || c->in_wbatch)
		return 0; /* the batch's transaction is the snapshot */
	err = q_exec(c, ST_BEGIN, "");
	return err < 0 ? err : 0;
}

static void tx_end_read(struct conn *c)
{
	if (!c->in_batch && !c->in_wbatch && !sqlite3_get_autocommit(c->db))
		q_exec(c, ST_COMMIT, "");
}

static int sq_read_begin(void *impl)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	int err;

	if (pin_c)
		return error_set(SO_EFAIL, "store: read batches do not nest");
	if ((err = conn_get(sq, &c)) < 0)
		return err;
	if ((err = q_exec(c, ST_BEGIN, "")) < 0) {
		conn_put(sq, c);
		return err;
	}
	c->in_batch = true;
	pin_sq = sq;
	pin_c = c;
	return 0;
}

static void sq_read_end(void *impl)
{
	struct sq *sq = impl;
	struct conn *c = pin_c;

	if (!c || pin_sq != sq)
		return;
	pin_c = NULL;
	pin_sq = NULL;
	c->in_batch = false;
	if (!sqlite3_get_autocommit(c->db))
		q_exec(c, ST_COMMIT, "");
	conn_put(sq, c);
}

/* A write batch (store_write_begin): the connection is pinned like a read
 * batch's, write_mu and BEGIN IMMEDIATE are taken once, with the
 * batch's synchronous level (SQLite refuses to change it inside a
 * transaction); each write inside runs in a savepoint (tx_begin_write). */
static int sq_write_begin(void *impl, bool durable)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	int err;

	if (pin_c)
		return error_set(SO_EFAIL, "store: batches do not nest");
	if ((err = conn_get(sq, &c)) < 0)
		return err;
	if (!durable && (err = q_exec(c, ST_SYNC_NORMAL, "")) < 0)
		goto fail;
	pthread_mutex_lock(&sq->write_mu);
	if ((err = q_exec(c, ST_BEGIN_IMMEDIATE, "")) < 0) {
		pthread_mutex_unlock(&sq->write_mu);
		goto fail;
	}
	c->in_wbatch = true;
	pin_sq = sq;
	pin_c = c;
	return 0;
fail:
	if (!durable)
		q_exec(c, ST_SYNC_FULL, "");
	conn_put(sq, c);
	return err;
}

static int sq_write_end(void *impl, bool commit)
{
	struct sq *sq = impl;
	struct conn *c = pin_c;
	int err = 0, e;

	if (!c || pin_sq != sq || !c->in_wbatch)
		return error_set(SO_EFAIL, "store: no write batch to end");
	pin_c = NULL;
	pin_sq = NULL;
	c->in_wbatch = false;
	if (commit)
		err = q_exec(c, ST_COMMIT, "");
	if ((!commit || err < 0) && !sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	atomic_fetch_add(&sq->gen, 1); /* before the lock opens, as in tx_end_write */
	pthread_mutex_unlock(&sq->write_mu);
	/* The default again (a no-op when the batch was durable). */
	if ((e = q_exec(c, ST_SYNC_FULL, "")) < 0 && err >= 0)
		err = e;
	conn_put(sq, c);
	return err < 0 ? err : 0;
}

static void now_iso(char out[40])
{
	clock_now_iso(out, 40);
}

/* ---- open, close, migrations ---- */

/* Applies the migrations newer than the file's user_version, up to and
 * including max_version (SCHEMA_VERSION outside upgrade tests). */
static int migrate(struct conn *c, int max_version)
{
	int64_t version = 0;
	char *msg = NULL;
	char pragma[64];
	int err, rc;

	if ((err = q_exec(c, ST_BEGIN_IMMEDIATE, "")) < 0)
		return err;
	if ((err = q_int(c, &version, ST_USER_VERSION, "")) < 0)
		goto done;
	if (version > max_version) {
		err = error_set(SO_EFAIL,
				"database schema version %lld is newer than this slashops knows (%d)",
				(long long)version, max_version);
		goto done;
	}
	err = 0;
	for (size_t i = 0; i < N_MIGRATIONS; i++) {
		if (migrations[i].version <= version)
			continue;
		if (migrations[i].version > max_version)
			break;
		rc = sqlite3_exec(c->db, migrations[i].sql, NULL, NULL, &msg);
		if (rc != SQLITE_OK) {
			err = error_set(SO_EFAIL, "schema migration %d failed: %s",
					migrations[i].version, msg ? msg : sqlite3_errstr(rc));
			goto done;
		}
		/* A pragma takes no bound value; the number is ours, not input. */
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", migrations[i].version);
		if ((rc = sqlite3_exec(c->db, pragma, NULL, NULL, &msg)) != SQLITE_OK) {
			err = error_set(SO_EFAIL, "cannot record schema version: %s",
					msg ? msg : sqlite3_errstr(rc));
			goto done;
		}
		log_info("store: applied schema migration %d", migrations[i].version);
	}
done:
	sqlite3_free(msg);
	if (err >= 0 && (rc = q_exec(c, ST_COMMIT, "")) < 0)
		err = rc;
	if (err < 0 && !sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	return err;
}

static void sq_close(void *impl)
{
	struct sq *sq = impl;
	struct conn *c, *next;

	if (!sq)
		return;
	ckpt_stop(sq);
	for (c = sq->all; c; c = next) {
		next = c->next_all;
		conn_close(c);
	}
	pthread_mutex_destroy(&sq->ckpt_mu);
	pthread_cond_destroy(&sq->ckpt_cv);
	free(sq->wal_path);
	pthread_mutex_destroy(&sq->mu);
	pthread_cond_destroy(&sq->cv);
	pthread_mutex_destroy(&sq->write_mu);
	free(sq->path);
	free(sq);
}

static int sq_open_version(void **out, const char *target, int max_version)
{
	struct sq *sq = xcalloc(1, sizeof(*sq));
	struct conn *c = NULL;
	char *mode = NULL;
	sqlite3_stmt *s = NULL;
	int err, rc;

	*out = NULL;
	/* No global memory statistics: they put one process-wide mutex on
	 * every SQLite allocation, which threads serving requests contend
	 * for. Refused (harmlessly) once SQLite is already initialised. */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	if (max_version > SCHEMA_VERSION)
		max_version = SCHEMA_VERSION;
	sq->path = xstrdup(target);
	sq->max = strcmp(target, ":memory:") == 0 ? 1 : POOL_MAX;
	pthread_mutex_init(&sq->mu, NULL);
	pthread_cond_init(&sq->cv, NULL);
	pthread_mutex_init(&sq->write_mu, NULL);
	pthread_mutex_init(&sq->ckpt_mu, NULL);
	pthread_cond_init(&sq->ckpt_cv, NULL);
	atomic_init(&sq->gen, 1);
	if (sq->max > 1)
		sq->wal_path = xasprintf("%s-wal", target);

	if ((err = conn_get(sq, &c)) < 0)
		goto done;
	if (sq->max > 1) {
		/* WAL is a property of the file: set once, kept by every later open. */
		rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
		if (rc != SQLITE_OK || (rc = sqlite3_step(s)) != SQLITE_ROW) {
			err = db_error(c, rc);
			goto done;
		}
		mode = col_str(s, 0);
		sqlite3_finalize(s);
		s = NULL;
		if (!mode || strcmp(mode, "wal") != 0)
			log_warn("store: WAL mode is not available for %s (journal mode %s)",
				 target, mode ? mode : "unknown");
	}
	err = migrate(c, max_version);
	if (err >= 0 && sq->max > 1)
		err = ckpt_start(sq);
done:
	sqlite3_finalize(s);
	free(mode);
	conn_put(sq, c);
	if (err < 0) {
		sq_close(sq);
		return err;
	}
	*out = sq;
	return 0;
}

static int sq_open(void **out, const char *target)
{
	return sq_open_version(out, target, SCHEMA_VERSION);
}

static int sq_schema_version(void *impl, int *out)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	int64_t v = 0;
	int err;

	if ((err = conn_get(sq, &c)) < 0 ||
	    (err = q_int(c, &v, ST_USER_VERSION, "")) < 0)
		goto done;
	*out = (int)v;
	err = 0;
done:
	conn_put(sq, c);
	return err;
}

static int sq_check(void *impl)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	sqlite3_stmt *s = NULL;
	const unsigned char *t;
	int err;

	if ((err = conn_get(sq, &c)) < 0 ||
	    (err = q_start(c, ST_INTEGRITY_CHECK, &s, "")) < 0 ||
	    (err = q_step(c, s)) < 0)
		goto done;
	t = err == 1 ? sqlite3_column_text(s, 0) : NULL;
	if (!t || strcmp((const char *)t, "ok") != 0) {
		err = error_set(SO_EFAIL, "database integrity check failed: %s",
				t ? (const char *)t : "no result");
		log_error("store: %s", error_msg());
		goto done;
	}
	stmt_done(s);
	s = NULL;
	if ((err = q_int(c, NULL, ST_FK_CHECK, "")) < 0)
		goto done;
	if (err == 1) {
		err = error_set(SO_EFAIL, "database foreign key check failed");
		log_error("store: %s", error_msg());
		goto done;
	}
	err = 0;
done:
	stmt_done(s);
	conn_put(sq, c);
	return err;
}

/* ---- users ---- */

static struct store_user *row_user(sqlite3_stmt *s, int b)
{
	struct store_user *u = xcalloc(1, sizeof(*u));

	u->id = sqlite3_column_int64(s, b + 0);
	u->username = col_str(s, b + 1);
	u->email = col_str(s, b + 2);
	u->name = col_str(s, b + 3);
	u->password_hash = col_str(s, b + 4);
	u->is_admin = sqlite3_column_int(s, b + 5) != 0;
	u->state = (enum store_user_state)sqlite3_column_int(s, b + 6);
	u->created_at = col_str(s, b + 7);
	u->last_activity_on = col_str(s, b + 8);
	return u;
}

static int sq_user_create(void *impl, const struct store_user_new *in, int64_t *out_id)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	char now[40];
	int err;

	now_iso(now);
	if ((err = conn_get(sq, &c)) < 0)
		goto done;
	if ((err = tx_begin_write(sq, c)) < 0)
		goto done;
	if ((err = q_int(c, NULL, ST_USERNAME_TAKEN, "t", in->username)) == 1)
		err = error_set(SO_EEXISTS, "Username has already been taken");
	else if (err == 0 && (err = q_int(c, NULL, ST_EMAIL_TAKEN, "t", in->email)) == 1)
		err = error_set(SO_EEXISTS, "Email has already been taken");
	else if (err == 0)
		err = q_exec(c, ST_USER_INSERT, "ttttit", in->username, in->email, in->name,
			     in->password_hash, (int64_t)(in->is_admin ? 1 : 0), now);
	if (err >= 0)
		*out_id = sqlite3_last_insert_rowid(c->db);
	err = tx_end_write(sq, c, err);
done:
	conn_put(sq, c);
	return err < 0 ? err : 0;
}

/* Runs a single-row SELECT; *out receives the row converted by conv, or
 * SO_ENOTFOUND with notfound. */
static int get_one(struct sq *sq, void **out, void *(*conv)(sqlite3_stmt *),
		   const char *notfound, enum st id, const char *types, ...)
{
	struct conn *c = NULL;
	sqlite3_stmt *s = NULL;
	va_list ap;
	int err;

	*out = NULL;
	if ((err = conn_get(sq, &c)) < 0)
		goto done;
	va_start(ap, types);
	err = vstart(c, id, &s, types, ap);
	va_end(ap);
	if (err < 0 || (err = q_step(c, s)) < 0)
		goto done;
	if (err == 0) {
		err = error_set(SO_ENOTFOUND, "%s", notfound);
		goto done;
	}
	*out = conv(s);
	err = 0;
done:
	stmt_done(s);
	conn_put(sq, c);
	return err;
}

/* Runs one write statement in its own transaction; SO_ENOTFOUND with
 * notfound when it changed no row. */
static int write_one_v(struct sq *sq, bool lazy, const char *notfound, enum st id,
		       const char *types, va_list ap)
{
	struct conn *c = NULL;
	sqlite3_stmt *s = NULL;
	int err;

	if ((err = conn_get(sq, &c)) < 0)
		goto done;
	if ((err = lazy ? tx_begin_write_lazy(sq, c) : tx_begin_write(sq, c)) < 0)
		goto done;
	err = vstart(c, id, &s, types, ap);
	if (err >= 0 && (err = q_step(c, s)) >= 0)
		err = sqlite3_changes(c->db);
	stmt_done(s);
	if (err == 0 && notfound)
		err = error_set(SO_ENOTFOUND, "%s", notfound);
	err = lazy ? tx_end_write_lazy(sq, c, err) : tx_end_write(sq, c, err);
done:
	conn_put(sq, c);
	return err < 0 ? err : 0;
}

static int write_one(struct sq *sq, const char *notfound, enum st id, const char *types, ...)
{
	va_list ap;
	int err;

	va_start(ap, types);
	err = write_one_v(sq, false, notfound, id, types, ap);
	va_end(ap);
	return err;
}

/* write_one with synchronous=NORMAL, for bookkeeping (see the top). */
static int write_one_lazy(struct sq *sq, const char *notfound, enum st id, const char *types,
			  ...)
{
	va_list ap;
	int err;

	va_start(ap, types);
	err = write_one_v(sq, true, notfound, id, types, ap);
	va_end(ap);
	return err;
}

static void *conv_user(sqlite3_stmt *s)
{
	return row_user(s, 0);
}

static int sq_user_get(void *impl, int64_t id, struct store_user **out)
{
	void *p = NULL;
	int err = get_one(impl, &p, conv_user, "user not found", ST_USER_GET, "i", id);

	*out = p;
	return err;
}

static int sq_user_get_by_login(void *impl, const char *login, struct store_user **out)
{
	void *p = NULL;
	int err = get_one(impl, &p, conv_user, "user not found", ST_USER_GET_LOGIN,
		       "t", login);

	*out = p;
	return err;
}

#define LIST_PUSH(arr, n, cap, item)                                             \
	do {                                                                     \
		if ((n) + 2 > (cap)) {                                           \
			(cap) = (cap) ? (cap) * 2 : 8;                           \
			(arr) = xrealloc((arr), (cap) * sizeof(*(arr)));         \
		}                                                                \
		(arr)[(n)++] = (item);                                           \
		(arr)[(n)] = NULL;                                               \
	} while (0)

static int sq_user_list(void *impl, const struct store_page *page,
			struct store_user ***out, int64_t *total)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	sqlite3_stmt *s = NULL;
	struct store_user **list = NULL;
	size_t n = 0, cap = 0;
	int err;

	if ((err = conn_get(sq, &c)) < 0 || (err = tx_begin_read(c)) < 0)
		goto done;
	if ((err = q_int(c, total, ST_USER_COUNT, "")) < 0 ||
	    (err = q_start(c, ST_USER_LIST, &s, "ii", page->per_page,
			   (page->page - 1) * page->per_page)) < 0)
		goto done;
	while ((err = q_step(c, s)) == 1)
		LIST_PUSH(list, n, cap, row_user(s, 0));
done:
	stmt_done(s);
	if (c)
		tx_end_read(c);
	conn_put(sq, c);
	if (err < 0) {
		store_user_list_free(list);
		return err;
	}
	*out = list ? list : xcalloc(1, sizeof(*list));
	return 0;
}

static int sq_user_set_state(void *impl, int64_t id, enum store_user_state state)
{
	return write_one(impl, "user not found", ST_USER_SET_STATE, "ii", id, (int64_t)state);
}

static int sq_user_set_password(void *impl, int64_t id, const char *password_hash)
{
	return write_one(impl, "user not found", ST_USER_SET_PASSWORD, "it", id, password_hash);
}

static int sq_user_set_admin(void *impl, int64_t id, bool is_admin)
{
	return write_one(impl, "user not found", ST_USER_SET_ADMIN, "ii", id,
			 (int64_t)(is_admin ? 1 : 0));
}

static int sq_user_touch_activity(void *impl, int64_t id)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	sqlite3_stmt *s = NULL;
	char now[40];
	bool fresh;
	int err;

	now_iso(now);
	now[10] = '\0'; /* YYYY-MM-DD */
	/* Read first: most calls find today's date already recorded. */
	if ((err = conn_get(sq, &c)) < 0 ||
	    (err = q_start(c, ST_USER_ACTIVITY_GET, &s, "i", id)) < 0 ||
	    (err = q_step(c, s)) < 0)
		goto done;
	if (err == 0) {
		err = error_set(SO_ENOTFOUND, "user not found");
		goto done;
	}
	fresh = sqlite3_column_text(s, 0) &&
		strcmp((const char *)sqlite3_column_text(s, 0), now) == 0;
	stmt_done(s);
	s = NULL;
	conn_put(sq, c);
	c = NULL;
	err = fresh ? 0 : write_one(sq, "user not found", ST_USER_ACTIVITY_SET, "it", id, now);
done:
	stmt_done(s);
	conn_put(sq, c);
	return err < 0 ? err : 0;
}

static int sq_user_count(void *impl, int64_t *out)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	int err;

	if ((err = conn_get(sq, &c)) < 0)
		goto done;
	err = q_int(c, out, ST_USER_COUNT, "");
done:
	conn_put(sq, c);
	return err < 0 ? err : 0;
}

static int sq_user_delete(void *impl, int64_t id)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	int err;

	if ((err = conn_get(sq, &c)) < 0)
		goto done;
	if ((err = tx_begin_write(sq, c)) < 0)
		goto done;
	if ((err = q_exec(c, ST_USER_DELETE_NAMESPACES, "i", id)) >= 0 &&
	    (err = q_exec(c, ST_USER_DELETE, "i", id)) == 0)
		err = error_set(SO_ENOTFOUND, "user not found");
	err = tx_end_write(sq, c, err);
done:
	conn_put(sq, c);
	return err < 0 ? err : 0;
}

/* ---- tokens ---- */

static struct store_token *row_token(sqlite3_stmt *s)
{
	struct store_token *t = xcalloc(1, sizeof(*t));

	t->id = sqlite3_column_int64(s, 0);
	t->user_id = sqlite3_column_int64(s, 1);
	t->name = col_str(s, 2);
	t->scopes = col_str(s, 3);
	t->token_hash = col_str(s, 4);
	t->expires_at = col_str(s, 5);
	t->revoked = sqlite3_column_int(s, 6) != 0;
	t->created_at = col_str(s, 7);
	t->last_used_at = col_str(s, 8);
	return t;
}

static void *conv_token(sqlite3_stmt *s)
{
	return row_token(s);
}

static int sq_token_create(void *impl, const struct store_token_new *in, int64_t *out_id)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	char now[40];
	int err;

	now_iso(now);
	if ((err = conn_get(sq, &c)) < 0)
		goto done;
	if ((err = tx_begin_write(sq, c)) < 0)
		goto done;
	if ((err = q_int(c, NULL, ST_USER_EXISTS, "i", in->user_id)) == 0)
		err = error_set(SO_ENOTFOUND, "user not found");
	else if (err == 1 && (err = q_int(c, NULL, ST_TOKEN_HASH_TAKEN, "t", in->token_hash)) == 1)
		err = error_set(SO_EEXISTS, "Token has already been taken");
	else if (err == 0)
		err = q_exec(c, ST_TOKEN_INSERT, "itttt" "t", in->user_id, in->name, in->scopes,
			     in->token_hash, in->expires_at, now);
	if (err >= 0)
		*out_id = sqlite3_last_insert_rowid(c->db);
	err = tx_end_write(sq, c, err);
done:
	conn_put(sq, c);
	return err < 0 ? err : 0;
}

static int sq_token_get_by_hash(void *impl, const char *token_hash, struct store_token **out)
{
	void *p = NULL;
	int err = get_one(impl, &p, conv_token, "token not found", ST_TOKEN_GET_HASH,
		       "t", token_hash);

	*out = p;
	return err;
}

static int sq_token_list_for_user(void *impl, int64_t user_id, struct store_token ***out)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	sqlite3_stmt *s = NULL;
	struct store_token **list = NULL;
	size_t n = 0, cap = 0;
	int err;

	if ((err = conn_get(sq, &c)) < 0 ||
	    (err = q_start(c, ST_TOKEN_LIST_USER, &s, "i", user_id)) < 0)
		goto done;
	while ((err = q_step(c, s)) == 1)
		LIST_PUSH(list, n, cap, row_token(s));
done:
	stmt_done(s);
	conn_put(sq, c);
	if (err < 0) {
		store_token_list_free(list);
		return err;
	}
	*out = list ? list : xcalloc(1, sizeof(*list));
	return 0;
}

static int sq_token_revoke(void *impl, int64_t id)
{
	return write_one(impl, "token not found", ST_TOKEN_REVOKE, "i", id);
}

static int sq_token_touch(void *impl, int64_t id)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	sqlite3_stmt *s = NULL;
	char now[40], recent[40];
	const unsigned char *last;
	bool fresh;
	int err;

	now_iso(now);
	clock_iso_from_unix((time_t)(clock_unix() - TOKEN_TOUCH_SECONDS), recent, sizeof(recent));
	if ((err = conn_get(sq, &c)) < 0 ||
	    (err = q_start(c, ST_TOKEN_LAST_USED, &s, "i", id)) < 0 ||
	    (err = q_step(c, s)) < 0)
		goto done;
	if (err == 0) {
		err = error_set(SO_ENOTFOUND, "token not found");
		goto done;
	}
	/* Same fixed-width ISO format, so strings compare like times. */
	last = sqlite3_column_text(s, 0);
	fresh = last && strcmp((const char *)last, recent) >= 0;
	stmt_done(s);
	s = NULL;
	conn_put(sq, c);
	c = NULL;
	err = fresh ? 0 : write_one(sq, "token not found", ST_TOKEN_TOUCH, "it", id, now);
done:
	stmt_done(s);
	conn_put(sq, c);
	return err < 0 ? err : 0;
}

/* ---- sessions ---- */

static void *conv_session(sqlite3_stmt *s)
{
	struct store_session *x = xcalloc(1, sizeof(*x));

	x->id_hash = col_str(s, 0);
	x->user_id = sqlite3_column_int64(s, 1);
	x->csrf_token = col_str(s, 2);
	x->expires_at = sqlite3_column_int64(s, 3);
	x->created_at = col_str(s, 4);
	return x;
}

static int sq_session_create(void *impl, const char *id_hash, int64_t user_id,
			     const char *csrf_token, int64_t expires_at)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	char now[40];
	int err;

	now_iso(now);
	if ((err = conn_get(sq, &c)) < 0)
		goto done;
	if ((err = tx_begin_write(sq, c)) < 0)
		goto done;
	if ((err = q_int(c, NULL, ST_USER_EXISTS, "i", user_id)) == 0)
		err = error_set(SO_ENOTFOUND, "user not found");
	else if (err == 1 && (err = q_int(c, NULL, ST_SESSION_TAKEN, "t", id_hash)) == 1)
		err = error_set(SO_EEXISTS, "session already exists");
	else if (err == 0)
		err = q_exec(c, ST_SESSION_INSERT, "titit", id_hash, user_id, csrf_token,
			     expires_at, now);
	err = tx_end_write(sq, c, err);
done:
	conn_put(sq, c);
	return err < 0 ? err : 0;
}

static int sq_session_get(void *impl, const char *id_hash, int64_t now,
			  struct store_session **out)
{
	void *p = NULL;
	int err = get_one(impl, &p, conv_session, "session not found", ST_SESSION_GET,
		       "ti", id_hash, now);

	*out = p;
	return err;
}

static int sq_session_delete(void *impl, const char *id_hash)
{
	return write_one(impl, NULL, ST_SESSION_DELETE, "t", id_hash);
}

static int sq_session_delete_for_user(void *impl, int64_t user_id)
{
	return write_one(impl, NULL, ST_SESSION_DELETE_USER, "i", user_id);
}

static int sq_session_purge_expired(void *impl, int64_t now)
{
	return write_one(impl, NULL, ST_SESSION_PURGE, "i", now);
}

/* ---- namespaces ---- */

static void *conv_namespace(sqlite3_stmt *s)
{
	struct store_namespace *ns = xcalloc(1, sizeof(*ns));

	ns->id = sqlite3_column_int64(s, 0);
	ns->name = col_str(s, 1);
	ns->path = col_str(s, 2);
	ns->full_path = col_str(s, 3);
	ns->kind = col_str(s, 4);
	ns->owner_id = sqlite3_column_int64(s, 5);
	ns->parent_id = sqlite3_column_int64(s, 6);
	ns->created_at = col_str(s, 7);
	return ns;
}

/* Finds the group at full_path, creating it (and its parents) when
 * missing, inside the caller's write transaction. *out is its id. */
static int ensure_group(struct conn *c, const char *full_path, int64_t owner_id,
			const char *now, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	const char *slash = strrchr(full_path, '/');
	const char *path = slash ? slash + 1 : full_path;
	const unsigned char *kind;
	char *parent_path = NULL;
	int64_t parent_id = 0;
	int err;

	*out = 0;
	if ((err = q_start(c, ST_NS_GET_PATH, &s, "t", full_path)) < 0 ||
	    (err = q_step(c, s)) < 0)
		goto done;
	if (err == 1) {
		kind = sqlite3_column_text(s, 4);
		if (!kind || strcmp((const char *)kind, "group") != 0) {
			err = error_set(SO_EINVALID, "a subgroup needs a group as parent");
			goto done;
		}
		*out = sqlite3_column_int64(s, 0);
		err = 0;
		goto done;
	}
	stmt_done(s);
	s = NULL;
	if (slash) {
		parent_path = xstrndup(full_path, (size_t)(slash - full_path));
		if ((err = ensure_group(c, parent_path, owner_id, now, &parent_id)) < 0)
			goto done;
	}
	if ((err = q_exec(c, ST_NS_INSERT, "tttt" "IIt", path, path, full_path, "group",
			  owner_id, parent_id, now)) < 0)
		goto done;
	*out = sqlite3_last_insert_rowid(c->db);
	err = 0;
done:
	stmt_done(s);
	free(parent_path);
	return err;
}

static int sq_namespace_create(void *impl, const char *name, const char *path,
			       const char *full_path, const char *kind, int64_t owner_id,
			       int64_t *out_id)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	const char *slash = strrchr(full_path, '/');
	char *parent_path = NULL;
	int64_t parent_id = 0;
	char now[40];
	int err;

	now_iso(now);
	if ((err = conn_get(sq, &c)) < 0)
		goto done;
	if ((err = tx_begin_write(sq, c)) < 0)
		goto done;
	if ((err = q_int(c, NULL, ST_NS_PATH_TAKEN, "t", full_path)) == 1)
		err = error_set(SO_EEXISTS, "Path has already been taken");
	else if (err == 0 && owner_id &&
		 (err = q_int(c, NULL, ST_USER_EXISTS, "i", owner_id)) == 0)
		err = error_set(SO_ENOTFOUND, "user not found");
	if (err >= 0 && slash) {
		parent_path = xstrndup(full_path, (size_t)(slash - full_path));
		err = ensure_group(c, parent_path, owner_id, now, &parent_id);
	}
	if (err >= 0)
		err = q_exec(c, ST_NS_INSERT, "tttt" "IIt", name, path, full_path, kind,
			     owner_id, parent_id, now);
	if (err >= 0)
		*out_id = sqlite3_last_insert_rowid(c->db);
	err = tx_end_write(sq, c, err);
done:
	free(parent_path);
	conn_put(sq, c);
	return err < 0 ? err : 0;
}

static int sq_namespace_get(void *impl, int64_t id, struct store_namespace **out)
{
	void *p = NULL;
	int err = get_one(impl, &p, conv_namespace, "namespace not found", ST_NS_GET,
		       "i", id);

	*out = p;
	return err;
}

static int sq_namespace_get_by_path(void *impl, const char *full_path,
				    struct store_namespace **out)
{
	void *p = NULL;
	int err = get_one(impl, &p, conv_namespace, "namespace not found",
		       ST_NS_GET_PATH, "t", full_path);

	*out = p;
	return err;
}

/* ---- projects ---- */

static struct store_project *row_project(sqlite3_stmt *s)
{
	struct store_project *p = xcalloc(1, sizeof(*p));

	p->id = sqlite3_column_int64(s, 0);
	p->name = col_str(s, 1);
	p->path = col_str(s, 2);
	p->path_with_namespace = col_str(s, 3);
	p->description = col_str(s, 4);
	p->default_branch = col_str(s, 5);
	p->visibility = (enum store_visibility)sqlite3_column_int(s, 6);
	p->namespace_id = sqlite3_column_int64(s, 7);
	p->creator_id = sqlite3_column_int64(s, 8);
	p->created_at = col_str(s, 9);
	p->last_activity_at = col_str(s, 10);
	return p;
}

static void *conv_project(sqlite3_stmt *s)
{
	return row_project(s);
}

static int sq_project_create(void *impl, const struct store_project_new *in, int64_t *out_id)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	int64_t id = 0;
	char now[40];
	int err;

	now_iso(now);
	if ((err = conn_get(sq, &c)) < 0)
		goto done;
	if ((err = tx_begin_write(sq, c)) < 0)
		goto done;
	if ((err = q_int(c, NULL, ST_NS_EXISTS, "i", in->namespace_id)) == 0)
		err = error_set(SO_ENOTFOUND, "namespace not found");
	else if (err == 1 && (err = q_int(c, NULL, ST_USER_EXISTS, "i", in->creator_id)) == 0)
		err = error_set(SO_ENOTFOUND, "user not found");
	else if (err == 1 && (err = q_int(c, NULL, ST_PROJECT_PATH_TAKEN, "it", in->namespace_id,
					  in->path)) == 1)
		err = error_set(SO_EEXISTS, "Path has already been taken");
	else if (err == 0 && (err = q_int(c, NULL, ST_PROJECT_NAME_TAKEN, "it", in->namespace_id,
					  in->name)) == 1)
		err = error_set(SO_EEXISTS, "Name has already been taken");
	else if (err == 0 && (err = q_exec(c, ST_PROJECT_INSERT, "ittt" "tiIt", in->namespace_id,
					   in->name, in->path, in->description,
					   in->default_branch, (int64_t)in->visibility,
					   in->creator_id, now)) >= 0) {
		id = sqlite3_last_insert_rowid(c->db);
		err = q_exec(c, ST_MEMBER_INSERT, "iiit" "tI", id, in->creator_id, (int64_t)50,
			     (const char *)NULL, now, in->creator_id);
	}
	if (err >= 0)
		*out_id = id;
	err = tx_end_write(sq, c, err);
done:
	conn_put(sq, c);
	return err < 0 ? err : 0;
}

static int sq_project_get(void *impl, int64_t id, struct store_project **out)
{
	void *p = NULL;
	int err = get_one(impl, &p, conv_project, "project not found", ST_PROJECT_GET,
		       "i", id);

	*out = p;
	return err;
}

static int sq_project_get_by_path(void *impl, const char *namespace_path, const char *path,
				  struct store_project **out)
{
	void *p = NULL;
	int err = get_one(impl, &p, conv_project, "project not found",
		       ST_PROJECT_GET_PATH, "tt", namespace_path, path);

	*out = p;
	return err;
}

static int sq_project_list_visible(void *impl, int64_t user_id, bool is_admin,
				   const struct store_page *page,
				   struct store_project ***out, int64_t *total)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	sqlite3_stmt *s = NULL;
	struct store_project **list = NULL;
	size_t n = 0, cap = 0;
	int64_t admin = is_admin ? 1 : 0;
	int64_t lowest = user_id > 0 ? STORE_VIS_INTERNAL : STORE_VIS_PUBLIC;
	char day[40];
	int err;

	now_iso(day);
	day[10] = '\0';
	if ((err = conn_get(sq, &c)) < 0 || (err = tx_begin_read(c)) < 0)
		goto done;
	if ((err = q_int(c, total, ST_PROJECT_COUNT_VISIBLE, "iiit", admin, lowest, user_id,
			 day)) < 0 ||
	    (err = q_start(c, ST_PROJECT_LIST_VISIBLE, &s, "iiit" "ii", admin, lowest, user_id,
			   day, page->per_page, (page->page - 1) * page->per_page)) < 0)
		goto done;
	while ((err = q_step(c, s)) == 1)
		LIST_PUSH(list, n, cap, row_project(s));
done:
	stmt_done(s);
	if (c)
		tx_end_read(c);
	conn_put(sq, c);
	if (err < 0) {
		store_project_list_free(list);
		return err;
	}
	*out = list ? list : xcalloc(1, sizeof(*list));
	return 0;
}

static int sq_project_delete(void *impl, int64_t id)
{
	return write_one(impl, "project not found", ST_PROJECT_DELETE, "i", id);
}

static int sq_project_set_default_branch(void *impl, int64_t id, const char *branch)
{
	return write_one(impl, "project not found", ST_PROJECT_SET_BRANCH, "it", id, branch);
}

static int sq_project_touch_activity(void *impl, int64_t id)
{
	char now[40];

	now_iso(now);
	return write_one(impl, "project not found", ST_PROJECT_TOUCH, "it", id, now);
}

/* ---- members ---- */

static struct store_member *row_member(sqlite3_stmt *s)
{
	struct store_member *m = xcalloc(1, sizeof(*m));

	m->project_id = sqlite3_column_int64(s, 0);
	m->user_id = sqlite3_column_int64(s, 1);
	m->access_level = sqlite3_column_int(s, 2);
	m->expires_at = col_str(s, 3);
	m->created_at = col_str(s, 4);
	m->created_by = sqlite3_column_int64(s, 5);
	m->user = row_user(s, 6);
	return m;
}

static void *conv_member(sqlite3_stmt *s)
{
	return row_member(s);
}

static int sq_member_add(void *impl, int64_t project_id, int64_t user_id, int access_level,
			 const char *expires_at, int64_t created_by)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	char now[40];
	int err;

	now_iso(now);
	if ((err = conn_get(sq, &c)) < 0)
		goto done;
	if ((err = tx_begin_write(sq, c)) < 0)
		goto done;
	if ((err = q_int(c, NULL, ST_PROJECT_EXISTS, "i", project_id)) == 0)
		err = error_set(SO_ENOTFOUND, "project not found");
	else if (err == 1 && (err = q_int(c, NULL, ST_USER_EXISTS, "i", user_id)) == 0)
		err = error_set(SO_ENOTFOUND, "user not found");
	else if (err == 1 && (err = q_int(c, NULL, ST_MEMBER_EXISTS, "ii", project_id,
					  user_id)) == 1)
		err = error_set(SO_EEXISTS, "Member already exists");
	else if (err == 0 && created_by &&
		 (err = q_int(c, NULL, ST_USER_EXISTS, "i", created_by)) == 0)
		created_by = 0; /* an unknown creator is recorded as unknown */
	if (err >= 0)
		err = q_exec(c, ST_MEMBER_INSERT, "iiit" "tI", project_id, user_id,
			     (int64_t)access_level, expires_at, now, created_by);
	err = tx_end_write(sq, c, err);
done:
	conn_put(sq, c);
	return err < 0 ? err : 0;
}

static int sq_member_get(void *impl, int64_t project_id, int64_t user_id,
			 struct store_member **out)
{
	void *p = NULL;
	int err = get_one(impl, &p, conv_member, "member not found", ST_MEMBER_GET,
		       "ii", project_id, user_id);

	*out = p;
	return err;
}

static int sq_member_list(void *impl, int64_t project_id, const struct store_page *page,
			  struct store_member ***out, int64_t *total)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	sqlite3_stmt *s = NULL;
	struct store_member **list = NULL;
	size_t n = 0, cap = 0;
	int err;

	if ((err = conn_get(sq, &c)) < 0 || (err = tx_begin_read(c)) < 0)
		goto done;
	if ((err = q_int(c, total, ST_MEMBER_COUNT, "i", project_id)) < 0 ||
	    (err = q_start(c, ST_MEMBER_LIST, &s, "iii", project_id, page->per_page,
			   (page->page - 1) * page->per_page)) < 0)
		goto done;
	while ((err = q_step(c, s)) == 1)
		LIST_PUSH(list, n, cap, row_member(s));
done:
	stmt_done(s);
	if (c)
		tx_end_read(c);
	conn_put(sq, c);
	if (err < 0) {
		store_member_list_free(list);
		return err;
	}
	*out = list ? list : xcalloc(1, sizeof(*list));
	return 0;
}

static int sq_member_update(void *impl, int64_t project_id, int64_t user_id,
			    int access_level, const char *expires_at)
{
	return write_one(impl, "member not found", ST_MEMBER_UPDATE, "iiit", project_id, user_id,
			 (int64_t)access_level, expires_at);
}

static int sq_member_remove(void *impl, int64_t project_id, int64_t user_id)
{
	return write_one(impl, "member not found", ST_MEMBER_DELETE, "ii", project_id, user_id);
}

static int sq_member_access_level(void *impl, int64_t project_id, int64_t user_id,
				  const char *today, int *out)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	int64_t level = 0;
	int err;

	if ((err = conn_get(sq, &c)) < 0 ||
	    (err = q_int(c, &level, ST_MEMBER_LEVEL, "iit", project_id, user_id, today)) < 0)
		goto done;
	*out = (int)level;
	err = 0;
done:
	conn_put(sq, c);
	return err;
}

static int sq_member_count_owners(void *impl, int64_t project_id, const char *today,
				  int64_t *out)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	int err;

	if ((err = conn_get(sq, &c)) < 0)
		goto done;
	err = q_int(c, out, ST_MEMBER_COUNT_OWNERS, "it", project_id, today);
done:
	conn_put(sq, c);
	return err < 0 ? err : 0;
}

/* ---- chat integrations ---- */

static void *conv_integration(sqlite3_stmt *s)
{
	struct store_integration *in = xcalloc(1, sizeof(*in));

	in->id = sqlite3_column_int64(s, 0);
	in->project_id = sqlite3_column_int64(s, 1);
	in->kind = col_str(s, 2);
	in->token_hash = col_str(s, 3);
	in->active = sqlite3_column_int(s, 4) != 0;
	in->team_id = col_str(s, 5);
	in->team_domain = col_str(s, 6);
	in->created_at = col_str(s, 7);
	in->updated_at = col_str(s, 8);
	return in;
}

static int sq_integration_upsert(void *impl, int64_t project_id, const char *kind,
				 const char *token_hash, bool active, bool clear_team,
				 int64_t *out_id)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	int64_t id = 0;
	char now[40];
	int err;

	now_iso(now);
	if ((err = conn_get(sq, &c)) < 0)
		goto done;
	if ((err = tx_begin_write(sq, c)) < 0)
		goto done;
	if ((err = q_int(c, NULL, ST_PROJECT_EXISTS, "i", project_id)) == 0)
		err = error_set(SO_ENOTFOUND, "project not found");
	else if (err == 1 &&
		 (err = q_exec(c, ST_INTEGRATION_UPSERT, "itti" "it", project_id, kind, token_hash,
			       (int64_t)(active ? 1 : 0), (int64_t)(clear_team ? 1 : 0), now)) >= 0 &&
		 (err = q_int(c, &id, ST_INTEGRATION_ID, "it", project_id, kind)) == 0)
		err = error_set(SO_EFAIL, "integration vanished after its upsert");
	if (err >= 0)
		*out_id = id;
	err = tx_end_write(sq, c, err);
done:
	conn_put(sq, c);
	return err < 0 ? err : 0;
}

static int sq_integration_get(void *impl, int64_t project_id, const char *kind,
			      struct store_integration **out)
{
	void *p = NULL;
	int err = get_one(impl, &p, conv_integration, "integration not found",
		       ST_INTEGRATION_GET, "it", project_id, kind);

	*out = p;
	return err;
}

static int sq_integration_delete(void *impl, int64_t project_id, const char *kind)
{
	return write_one(impl, "integration not found", ST_INTEGRATION_DELETE, "it", project_id,
			 kind);
}

static int sq_integration_set_team(void *impl, int64_t id, const char *team_id,
				   const char *team_domain)
{
	char now[40];

	now_iso(now);
	return write_one(impl, "integration not found", ST_INTEGRATION_SET_TEAM, "ittt", id,
			 team_id, team_domain, now);
}

/* ---- chat names ---- */

static struct store_chat_name *row_chat_name(sqlite3_stmt *s)
{
	struct store_chat_name *cn = xcalloc(1, sizeof(*cn));

	cn->id = sqlite3_column_int64(s, 0);
	cn->user_id = sqlite3_column_int64(s, 1);
	cn->team_id = col_str(s, 2);
	cn->team_domain = col_str(s, 3);
	cn->chat_id = col_str(s, 4);
	cn->chat_name = col_str(s, 5);
	cn->last_used_at = col_str(s, 6);
	cn->created_at = col_str(s, 7);
	return cn;
}

static void *conv_chat_name(sqlite3_stmt *s)
{
	return row_chat_name(s);
}

static int sq_chat_name_create(void *impl, int64_t user_id, const char *team_id,
			       const char *team_domain, const char *chat_id,
			       const char *chat_name, int64_t *out_id)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	char now[40];
	int err;

	now_iso(now);
	if ((err = conn_get(sq, &c)) < 0)
		goto done;
	if ((err = tx_begin_write(sq, c)) < 0)
		goto done;
	if ((err = q_int(c, NULL, ST_USER_EXISTS, "i", user_id)) == 0)
		err = error_set(SO_ENOTFOUND, "user not found");
	else if (err == 1 && (err = q_int(c, NULL, ST_CHAT_NAME_TAKEN, "tt", team_id,
					  chat_id)) == 1)
		err = error_set(SO_EEXISTS, "This chat account is already linked");
	else if (err == 0)
		err = q_exec(c, ST_CHAT_NAME_INSERT, "itttt" "t", user_id, team_id, team_domain,
			     chat_id, chat_name, now);
	if (err >= 0)
		*out_id = sqlite3_last_insert_rowid(c->db);
	err = tx_end_write(sq, c, err);
done:
	conn_put(sq, c);
	return err < 0 ? err : 0;
}

static int sq_chat_name_find(void *impl, const char *team_id, const char *chat_id,
			     struct store_chat_name **out)
{
	void *p = NULL;
	int err = get_one(impl, &p, conv_chat_name, "chat name not found", ST_CHAT_NAME_FIND,
		       "tt", team_id, chat_id);

	*out = p;
	return err;
}

static int sq_chat_name_list_for_user(void *impl, int64_t user_id,
				      struct store_chat_name ***out)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	sqlite3_stmt *s = NULL;
	struct store_chat_name **list = NULL;
	size_t n = 0, cap = 0;
	int err;

	if ((err = conn_get(sq, &c)) < 0 ||
	    (err = q_start(c, ST_CHAT_NAME_LIST_USER, &s, "i", user_id)) < 0)
		goto done;
	while ((err = q_step(c, s)) == 1)
		LIST_PUSH(list, n, cap, row_chat_name(s));
done:
	stmt_done(s);
	conn_put(sq, c);
	if (err < 0) {
		store_chat_name_list_free(list);
		return err;
	}
	*out = list ? list : xcalloc(1, sizeof(*list));
	return 0;
}

static int sq_chat_name_delete(void *impl, int64_t id, int64_t user_id)
{
	return write_one(impl, "chat name not found", ST_CHAT_NAME_DELETE, "ii", id, user_id);
}

/* Reads first, like sq_token_touch: a linked account runs many commands an
 * hour and only the first of them writes. */
static int sq_chat_name_touch(void *impl, int64_t id)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	sqlite3_stmt *s = NULL;
	char now[40], recent[40];
	const unsigned char *last;
	bool fresh;
	int err;

	now_iso(now);
	clock_iso_from_unix((time_t)(clock_unix() - CHAT_NAME_TOUCH_SECONDS), recent,
			    sizeof(recent));
	if ((err = conn_get(sq, &c)) < 0 ||
	    (err = q_start(c, ST_CHAT_NAME_LAST_USED, &s, "i", id)) < 0 ||
	    (err = q_step(c, s)) < 0)
		goto done;
	if (err == 0) {
		err = error_set(SO_ENOTFOUND, "chat name not found");
		goto done;
	}
	/* Same fixed-width ISO format, so strings compare like times. */
	last = sqlite3_column_text(s, 0);
	fresh = last && strcmp((const char *)last, recent) >= 0;
	stmt_done(s);
	s = NULL;
	conn_put(sq, c);
	c = NULL;
	err = fresh ? 0 : write_one(sq, "chat name not found", ST_CHAT_NAME_TOUCH, "it", id, now);
done:
	stmt_done(s);
	conn_put(sq, c);
	return err < 0 ? err : 0;
}

/* ---- chat link requests ---- */

static struct store_chat_link *row_chat_link(sqlite3_stmt *s)
{
	struct store_chat_link *l = xcalloc(1, sizeof(*l));

	l->token_hash = col_str(s, 0);
	l->project_id = sqlite3_column_int64(s, 1);
	l->integration_kind = col_str(s, 2);
	l->team_id = col_str(s, 3);
	l->team_domain = col_str(s, 4);
	l->chat_id = col_str(s, 5);
	l->chat_name = col_str(s, 6);
	l->expires_at = sqlite3_column_int64(s, 7);
	return l;
}

static void *conv_chat_link(sqlite3_stmt *s)
{
	return row_chat_link(s);
}

static int sq_chat_link_create(void *impl, const struct store_chat_link *in)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	char now[40];
	int err;

	now_iso(now);
	if ((err = conn_get(sq, &c)) < 0)
		goto done;
	if ((err = tx_begin_write(sq, c)) < 0)
		goto done;
	if ((err = q_int(c, NULL, ST_PROJECT_EXISTS, "i", in->project_id)) == 0)
		err = error_set(SO_ENOTFOUND, "project not found");
	else if (err == 1 && (err = q_int(c, NULL, ST_CHAT_LINK_TAKEN, "t", in->token_hash)) == 1)
		err = error_set(SO_EEXISTS, "chat link already exists");
	else if (err == 0)
		err = q_exec(c, ST_CHAT_LINK_INSERT, "titt" "ttti" "t", in->token_hash,
			     in->project_id, in->integration_kind, in->team_id, in->team_domain,
			     in->chat_id, in->chat_name, in->expires_at, now);
	err = tx_end_write(sq, c, err);
done:
	conn_put(sq, c);
	return err < 0 ? err : 0;
}

static int sq_chat_link_get(void *impl, const char *token_hash, int64_t now,
			    struct store_chat_link **out)
{
	void *p = NULL;
	int err = get_one(impl, &p, conv_chat_link, "chat link not found", ST_CHAT_LINK_GET,
		       "ti", token_hash, now);

	*out = p;
	return err;
}

/* DELETE ... RETURNING inside the write transaction: of many concurrent
 * callers exactly one sees the row. An expired row is deleted too, but
 * counts as not found. */
static int sq_chat_link_consume(void *impl, const char *token_hash, int64_t now,
				struct store_chat_link **out)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	sqlite3_stmt *s = NULL;
	struct store_chat_link *l = NULL;
	int err;

	if ((err = conn_get(sq, &c)) < 0)
		goto done;
	if ((err = tx_begin_write(sq, c)) < 0)
		goto done;
	if ((err = q_start(c, ST_CHAT_LINK_CONSUME, &s, "t", token_hash)) >= 0) {
		while ((err = q_step(c, s)) == 1) {
			if (!l)
				l = row_chat_link(s);
		}
	}
	stmt_done(s);
	s = NULL;
	if (err >= 0 && (!l || now >= l->expires_at))
		err = 1; /* commit the deletion of an expired row, then report it */
	err = tx_end_write(sq, c, err);
	if (err == 1)
		err = error_set(SO_ENOTFOUND, "chat link not found");
done:
	conn_put(sq, c);
	if (err < 0 || !out) {
		store_chat_link_free(l);
		return err < 0 ? err : 0;
	}
	*out = l;
	return 0;
}

static int sq_chat_link_purge_expired(void *impl, int64_t now)
{
	return write_one(impl, NULL, ST_CHAT_LINK_PURGE, "i", now);
}

/* ---- slash command deduplication ---- */


/* Reads first, without the write lock: a repeat within the window (the
 * common duplicate) is answered from the row. Otherwise one write
 * transaction purges old rows and inserts with ON CONFLICT DO NOTHING, so
 * of concurrent claims exactly one inserts. */
static int sq_chat_trigger_claim(void *impl, int64_t integration_id, const char *trigger_id,
				 int64_t now, int64_t since, bool *first, char **previous_reply)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	sqlite3_stmt *s = NULL;
	char *reply = NULL;
	bool claimed = false;
	int err;

	if ((err = conn_get(sq, &c)) < 0 ||
	    (err = q_start(c, ST_CHAT_TRIGGER_REPLY, &s, "it", integration_id, trigger_id)) < 0 ||
	    (err = q_step(c, s)) < 0)
		goto done;
	if (err == 1 && sqlite3_column_int64(s, 1) >= since) {
		reply = col_str(s, 0);
		err = 0;
		goto done;
	}
	stmt_done(s);
	s = NULL;
	if ((err = tx_begin_write_lazy(sq, c)) < 0)
		goto done;
	if ((err = q_int(c, NULL, ST_INTEGRATION_EXISTS, "i", integration_id)) == 0)
		err = error_set(SO_ENOTFOUND, "integration not found");
	else if (err == 1 && (err = q_exec(c, ST_CHAT_TRIGGER_PURGE, "i", since)) >= 0 &&
		 (err = q_exec(c, ST_CHAT_TRIGGER_INSERT, "iti", integration_id, trigger_id,
			       now)) == 1)
		claimed = true;
	else if (err == 0 &&
		 (err = q_start(c, ST_CHAT_TRIGGER_REPLY, &s, "it", integration_id,
				trigger_id)) >= 0 &&
		 (err = q_step(c, s)) == 1)
		reply = col_str(s, 0); /* another claim won since our read */
	stmt_done(s);
	s = NULL;
	err = tx_end_write_lazy(sq, c, err);
done:
	stmt_done(s);
	conn_put(sq, c);
	if (err < 0) {
		free(reply);
		return err;
	}
	*first = claimed;
	*previous_reply = reply;
	return 0;
}

static int sq_chat_trigger_set_reply(void *impl, int64_t integration_id,
				     const char *trigger_id, const char *reply_json)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	int err;

	if ((err = conn_get(sq, &c)) < 0)
		goto done;
	if ((err = tx_begin_write_lazy(sq, c)) < 0)
		goto done;
	if ((err = q_exec(c, ST_CHAT_TRIGGER_SET_REPLY, "itt", integration_id, trigger_id,
			  reply_json)) == 0)
		err = error_set(SO_ENOTFOUND, "trigger not found");
	err = tx_end_write_lazy(sq, c, err);
done:
	conn_put(sq, c);
	return err < 0 ? err : 0;
}

/* ---- pipelines and jobs (issue 5) ---- */

static struct store_pipeline *row_pipeline(sqlite3_stmt *s)
{
	struct store_pipeline *p = xcalloc(1, sizeof(*p));

	p->id = sqlite3_column_int64(s, 0);
	p->project_id = sqlite3_column_int64(s, 1);
	p->iid = sqlite3_column_int64(s, 2);
	p->source = col_str(s, 3);
	p->ref = col_str(s, 4);
	p->sha = col_str(s, 5);
	p->status = (enum store_ci_status)sqlite3_column_int(s, 6);
	p->user_id = sqlite3_column_int64(s, 7);
	p->name = col_str(s, 8);
	p->created_at = col_str(s, 9);
	p->updated_at = col_str(s, 10);
	p->started_at = col_str(s, 11);
	p->finished_at = col_str(s, 12);
	p->duration = sqlite3_column_double(s, 13);
	p->chat_name_id = sqlite3_column_int64(s, 14);
	p->chat_response_url = col_str(s, 15);
	p->chat_integration_id = sqlite3_column_int64(s, 16);
	return p;
}

static void *conv_pipeline(sqlite3_stmt *s)
{
	return row_pipeline(s);
}

static struct store_job *row_job(sqlite3_stmt *s)
{
	struct store_job *j = xcalloc(1, sizeof(*j));

	j->id = sqlite3_column_int64(s, 0);
	j->pipeline_id = sqlite3_column_int64(s, 1);
	j->project_id = sqlite3_column_int64(s, 2);
	j->name = col_str(s, 3);
	j->stage = col_str(s, 4);
	j->stage_idx = sqlite3_column_int(s, 5);
	j->status = (enum store_ci_status)sqlite3_column_int(s, 6);
	j->when = col_str(s, 7);
	j->allow_failure = sqlite3_column_int(s, 8) != 0;
	j->user_id = sqlite3_column_int64(s, 9);
	j->spec_json = col_str(s, 10);
	j->created_at = col_str(s, 11);
	j->queued_at = col_str(s, 12);
	j->started_at = col_str(s, 13);
	j->finished_at = col_str(s, 14);
	j->duration = sqlite3_column_double(s, 15);
	j->exit_code = sqlite3_column_int(s, 16);
	j->failure_reason = col_str(s, 17);
	j->trace_bytes = sqlite3_column_int64(s, 18);
	return j;
}

static void *conv_job(sqlite3_stmt *s)
{
	return row_job(s);
}

/* Seconds from started to finished (ISO strings); 0 when the job never
 * started or a timestamp does not parse. */
static double seconds_between(const char *started, const char *finished)
{
	int64_t a, b;

	if (!started || !finished || store_iso_ms(started, &a) < 0 ||
	    store_iso_ms(finished, &b) < 0 || b < a)
		return 0;
	return (double)(b - a) / 1000.0;
}

/* Recomputes pipeline id's status, started_at, finished_at and duration
 * from its jobs, inside the caller's write transaction (store.c holds
 * the composite rules). A pipeline without jobs keeps its status. */
static int pipeline_refresh(struct conn *c, int64_t id, const char *now)
{
	sqlite3_stmt *s = NULL;
	struct store_ci_composite comp = { 0 };
	struct store_ci_interval *iv = NULL;
	size_t niv = 0, cap = 0;
	enum store_ci_status status;
	char *started = NULL, *finished = NULL, *old_finished = NULL;
	double duration = 0;
	int err;

	if ((err = q_start(c, ST_PIPELINE_STATE, &s, "i", id)) < 0 ||
	    (err = q_step(c, s)) < 0)
		goto done;
	if (err == 0) {
		err = error_set(SO_ENOTFOUND, "pipeline not found");
		goto done;
	}
	status = (enum store_ci_status)sqlite3_column_int(s, 0);
	old_finished = col_str(s, 1);
	stmt_done(s);
	s = NULL;

	if ((err = q_start(c, ST_PIPELINE_JOB_STATES, &s, "i", id)) < 0)
		goto done;
	while ((err = q_step(c, s)) == 1) {
		const char *a = (const char *)sqlite3_column_text(s, 2);
		const char *b = (const char *)sqlite3_column_text(s, 3);
		int64_t ams, bms;

		store_ci_composite_add(&comp, (enum store_ci_status)sqlite3_column_int(s, 0),
				       sqlite3_column_int(s, 1) != 0);
		/* fixed-width ISO strings compare like times */
		if (a && (!started || strcmp(a, started) < 0)) {
			free(started);
			started = xstrdup(a);
		}
		if (b && (!finished || strcmp(b, finished) > 0)) {
			free(finished);
			finished = xstrdup(b);
		}
		if (a && b && store_iso_ms(a, &ams) == 0 && store_iso_ms(b, &bms) == 0) {
			if (niv == cap) {
				cap = cap ? cap * 2 : 8;
				iv = xrealloc(iv, cap * sizeof(*iv));
			}
			iv[niv].start = ams;
			iv[niv].end = bms;
			niv++;
		}
	}
	stmt_done(s);
	s = NULL;
	if (err < 0)
		goto done;
	store_ci_composite_status(&comp, &status);
	if (store_ci_status_finished(status)) {
		duration = store_ci_union_seconds(iv, niv);
		if (!finished) /* nothing ran (all skipped): when it was decided */
			finished = xstrdup(old_finished ? old_finished : now);
	} else {
		free(finished);
		finished = NULL;
	}
	err = q_exec(c, ST_PIPELINE_SET_STATUS, "iitt" "dt", id, (int64_t)status, started,
		     finished, duration, now);
done:
	stmt_done(s);
	free(iv);
	free(started);
	free(finished);
	free(old_finished);
	return err < 0 ? err : 0;
}

static int sq_pipeline_create(void *impl, const struct store_pipeline_new *in,
			      const struct store_job_new *jobs, size_t njobs, int64_t *out_id,
			      int64_t *job_ids_out)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	int64_t id = 0, iid = 0;
	char now[40];
	int err;

	now_iso(now);
	if ((err = conn_get(sq, &c)) < 0)
		goto done;
	if ((err = tx_begin_write(sq, c)) < 0)
		goto done;
	if ((err = q_int(c, NULL, ST_PROJECT_EXISTS, "i", in->project_id)) == 0)
		err = error_set(SO_ENOTFOUND, "project not found");
	else if (err == 1 && in->user_id &&
		 (err = q_int(c, NULL, ST_USER_EXISTS, "i", in->user_id)) == 0)
		err = error_set(SO_ENOTFOUND, "user not found");
	else if (err == 1 && in->chat_name_id &&
		 (err = q_int(c, NULL, ST_CHAT_NAME_EXISTS, "i", in->chat_name_id)) == 0)
		err = error_set(SO_ENOTFOUND, "chat name not found");
	else if (err == 1 && in->chat_integration_id &&
		 (err = q_int(c, NULL, ST_INTEGRATION_EXISTS, "i", in->chat_integration_id)) == 0)
		err = error_set(SO_ENOTFOUND, "integration not found");
	else if (err == 1 &&
		 (err = q_int(c, &iid, ST_PIPELINE_IID_NEXT, "i", in->project_id)) == 0)
		err = error_set(SO_EFAIL, "no pipeline iid was allocated");
	if (err >= 0 &&
	    (err = q_exec(c, ST_PIPELINE_INSERT, "iitt" "tItt" "ItI", in->project_id, iid,
			  in->source, in->ref, in->sha, in->user_id, in->name, now,
			  in->chat_name_id, in->chat_response_url,
			  in->chat_integration_id)) >= 0)
		id = sqlite3_last_insert_rowid(c->db);
	for (size_t i = 0; err >= 0 && i < njobs; i++) {
		const struct store_job_new *j = &jobs[i];

		err = q_exec(c, ST_JOB_INSERT, "iitt" "iiti" "Itt" "t", id, in->project_id,
			     j->name, j->stage, (int64_t)j->stage_idx, (int64_t)j->status,
			     j->when, (int64_t)(j->allow_failure ? 1 : 0), in->user_id,
			     j->spec_json, now, j->status == STORE_CI_PENDING ? now : NULL);
		if (err >= 0 && job_ids_out)
			job_ids_out[i] = sqlite3_last_insert_rowid(c->db);
	}
	if (err >= 0)
		err = pipeline_refresh(c, id, now);
	if (err >= 0)
		*out_id = id;
	err = tx_end_write(sq, c, err);
done:
	conn_put(sq, c);
	return err < 0 ? err : 0;
}

static int sq_pipeline_get(void *impl, int64_t id, struct store_pipeline **out)
{
	void *p = NULL;
	int err = get_one(impl, &p, conv_pipeline, "pipeline not found", ST_PIPELINE_GET,
		       "i", id);

	*out = p;
	return err;
}

static int sq_pipeline_list(void *impl, int64_t project_id, const struct store_page *page,
			    struct store_pipeline ***out, int64_t *total)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	sqlite3_stmt *s = NULL;
	struct store_pipeline **list = NULL;
	size_t n = 0, cap = 0;
	int err;

	if ((err = conn_get(sq, &c)) < 0 || (err = tx_begin_read(c)) < 0)
		goto done;
	if ((err = q_int(c, total, ST_PIPELINE_COUNT, "i", project_id)) < 0 ||
	    (err = q_start(c, ST_PIPELINE_LIST, &s, "iii", project_id, page->per_page,
			   (page->page - 1) * page->per_page)) < 0)
		goto done;
	while ((err = q_step(c, s)) == 1)
		LIST_PUSH(list, n, cap, row_pipeline(s));
done:
	stmt_done(s);
	if (c)
		tx_end_read(c);
	conn_put(sq, c);
	if (err < 0) {
		store_pipeline_list_free(list);
		return err;
	}
	*out = list ? list : xcalloc(1, sizeof(*list));
	return 0;
}

static int sq_pipeline_refresh_status(void *impl, int64_t id)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	char now[40];
	int err;

	now_iso(now);
	if ((err = conn_get(sq, &c)) < 0)
		goto done;
	if ((err = tx_begin_write(sq, c)) < 0)
		goto done;
	err = pipeline_refresh(c, id, now);
	err = tx_end_write(sq, c, err);
done:
	conn_put(sq, c);
	return err < 0 ? err : 0;
}

static int sq_pipeline_delete(void *impl, int64_t id)
{
	return write_one(impl, "pipeline not found", ST_PIPELINE_DELETE, "i", id);
}

static int sq_job_get(void *impl, int64_t id, struct store_job **out)
{
	void *p = NULL;
	int err = get_one(impl, &p, conv_job, "job not found", ST_JOB_GET, "i", id);

	*out = p;
	return err;
}

/* Runs a job list statement (already bound by the caller's types). */
static int job_list(struct sq *sq, struct store_job ***out, int64_t *total, enum st count_id,
		    enum st id, const char *types, int64_t a, int64_t b, int64_t c3)
{
	struct conn *c = NULL;
	sqlite3_stmt *s = NULL;
	struct store_job **list = NULL;
	size_t n = 0, cap = 0;
	int err;

	if ((err = conn_get(sq, &c)) < 0 || (err = tx_begin_read(c)) < 0)
		goto done;
	if (total && (err = q_int(c, total, count_id, "i", a)) < 0)
		goto done;
	if ((err = q_start(c, id, &s, types, a, b, c3)) < 0)
		goto done;
	while ((err = q_step(c, s)) == 1)
		LIST_PUSH(list, n, cap, row_job(s));
done:
	stmt_done(s);
	if (c)
		tx_end_read(c);
	conn_put(sq, c);
	if (err < 0) {
		store_job_list_free(list);
		return err;
	}
	*out = list ? list : xcalloc(1, sizeof(*list));
	return 0;
}

static int sq_job_list_for_pipeline(void *impl, int64_t pipeline_id, struct store_job ***out)
{
	return job_list(impl, out, NULL, ST_JOB_COUNT_PROJECT, ST_JOB_LIST_PIPELINE, "i",
			pipeline_id, 0, 0);
}

static int sq_job_list_for_project(void *impl, int64_t project_id, const struct store_page *page,
				   struct store_job ***out, int64_t *total)
{
	return job_list(impl, out, total, ST_JOB_COUNT_PROJECT, ST_JOB_LIST_PROJECT, "iii",
			project_id, page->per_page, (page->page - 1) * page->per_page);
}

static int sq_job_list_by_status(void *impl, enum store_ci_status status, int64_t limit,
				 struct store_job ***out)
{
	return job_list(impl, out, NULL, ST_JOB_COUNT_PROJECT, ST_JOB_LIST_STATUS, "ii",
			(int64_t)status, limit, 0);
}

/* Moves one job inside the caller's write transaction: a compare-and-set
 * on its status, then the pipeline's status. */
static int job_move(struct conn *c, int64_t id, enum store_ci_status from,
		    enum store_ci_status to, int exit_code, const char *failure_reason,
		    int64_t user_id, const char *now)
{
	sqlite3_stmt *s = NULL;
	enum store_ci_status cur;
	char *started = NULL;
	int64_t pipeline_id = 0;
	int err;

	/* Read first to tell "no such job" from "not in that status"; the
	 * UPDATE below still checks the status itself (WHERE status = from). */
	if ((err = q_start(c, ST_JOB_STATE, &s, "i", id)) < 0 || (err = q_step(c, s)) < 0)
		goto done;
	if (err == 0) {
		err = error_set(SO_ENOTFOUND, "job not found");
		goto done;
	}
	cur = (enum store_ci_status)sqlite3_column_int(s, 0);
	started = col_str(s, 1);
	pipeline_id = sqlite3_column_int64(s, 2);
	stmt_done(s);
	s = NULL;
	if (cur != from) {
		err = error_set(SO_ECONFLICT, "job is not %s (it is %s)",
				store_ci_status_name(from), store_ci_status_name(cur));
		goto done;
	}
	if (to == STORE_CI_PENDING)
		err = q_exec(c, ST_JOB_TO_PENDING, "iiit" "I", id, (int64_t)from, (int64_t)to,
			     now, user_id);
	else if (to == STORE_CI_RUNNING)
		err = q_exec(c, ST_JOB_TO_RUNNING, "iiit" "I", id, (int64_t)from, (int64_t)to,
			     now, user_id);
	else if (store_ci_status_finished(to))
		err = q_exec(c, ST_JOB_TO_FINISHED, "iiit" "dit" "I", id, (int64_t)from,
			     (int64_t)to, now, seconds_between(started, now), (int64_t)exit_code,
			     failure_reason, user_id);
	else
		err = q_exec(c, ST_JOB_TO_OTHER, "iiiI", id, (int64_t)from, (int64_t)to, user_id);
	if (err == 0)
		err = error_set(SO_ECONFLICT, "job is not %s", store_ci_status_name(from));
	if (err >= 0)
		err = pipeline_refresh(c, pipeline_id, now);
done:
	stmt_done(s);
	free(started);
	return err < 0 ? err : 0;
}

static int sq_job_transition(void *impl, int64_t id, enum store_ci_status from,
			     enum store_ci_status to, int exit_code, const char *failure_reason,
			     int64_t user_id)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	char now[40];
	int err;

	/* Becoming pending or running is bookkeeping: restart recovery
	 * re-derives it. Ends (and cancels, plays) are kept firmly. */
	bool lazy = (to == STORE_CI_PENDING && from == STORE_CI_CREATED) || to == STORE_CI_RUNNING;

	if ((err = conn_get(sq, &c)) < 0)
		goto done;
	if ((err = lazy ? tx_begin_write_lazy(sq, c) : tx_begin_write(sq, c)) < 0)
		goto done;
	/* read the clock under the write lock, so that timestamps of one job
	 * never go backwards between two transitions */
	now_iso(now);
	if (user_id && (err = q_int(c, NULL, ST_USER_EXISTS, "i", user_id)) == 0)
		err = error_set(SO_ENOTFOUND, "user not found");
	if (err >= 0)
		err = job_move(c, id, from, to, exit_code, failure_reason, user_id, now);
	err = lazy ? tx_end_write_lazy(sq, c, err) : tx_end_write(sq, c, err);
done:
	conn_put(sq, c);
	return err < 0 ? err : 0;
}

static int sq_job_set_trace_bytes(void *impl, int64_t id, int64_t bytes)
{
	return write_one_lazy(impl, "job not found", ST_JOB_SET_TRACE, "ii", id, bytes);
}

static int cmp_int64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int sq_job_fail_running(void *impl, const char *failure_reason, int64_t **ids_out,
			       size_t *n_out)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	sqlite3_stmt *s = NULL;
	int64_t *ids = NULL, *pipes = NULL;
	char **started = NULL;
	size_t n = 0, cap = 0, npipes = 0;
	char now[40];
	int err;

	*ids_out = NULL;
	*n_out = 0;
	if ((err = conn_get(sq, &c)) < 0)
		goto done;
	if ((err = tx_begin_write(sq, c)) < 0)
		goto done;
	now_iso(now);
	/* collect first: no UPDATE while the SELECT is still stepping */
	if ((err = q_start(c, ST_JOB_LIST_RUNNING, &s, "i", (int64_t)STORE_CI_RUNNING)) >= 0) {
		while ((err = q_step(c, s)) == 1) {
			if (n == cap) {
				cap = cap ? cap * 2 : 16;
				ids = xrealloc(ids, cap * sizeof(*ids));
				pipes = xrealloc(pipes, cap * sizeof(*pipes));
				started = xrealloc(started, cap * sizeof(*started));
			}
			ids[n] = sqlite3_column_int64(s, 0);
			pipes[n] = sqlite3_column_int64(s, 1);
			started[n] = col_str(s, 2);
			n++;
		}
	}
	stmt_done(s);
	s = NULL;
	for (size_t i = 0; err >= 0 && i < n; i++) {
		if ((err = q_exec(c, ST_JOB_TO_FINISHED, "iiit" "dit" "I", ids[i],
				  (int64_t)STORE_CI_RUNNING, (int64_t)STORE_CI_FAILED, now,
				  seconds_between(started[i], now), (int64_t)-1, failure_reason,
				  (int64_t)0)) == 0)
			err = error_set(SO_EFAIL, "a running job changed under the write lock");
	}
	if (err >= 0 && n > 0) {
		/* each affected pipeline once */
		qsort(pipes, n, sizeof(*pipes), cmp_int64);
		for (size_t i = 0; i < n; i++) {
			if (npipes == 0 || pipes[npipes - 1] != pipes[i])
				pipes[npipes++] = pipes[i];
		}
		for (size_t i = 0; err >= 0 && i < npipes; i++)
			err = pipeline_refresh(c, pipes[i], now);
	}
	err = tx_end_write(sq, c, err);
done:
	stmt_done(s);
	conn_put(sq, c);
	for (size_t i = 0; i < n; i++)
		free(started[i]);
	free(started);
	free(pipes);
	if (err < 0) {
		free(ids);
		return err;
	}
	*ids_out = n ? ids : NULL;
	if (!n)
		free(ids);
	*n_out = n;
	return 0;
}

/* ---- the outbox (issue 5) ---- */

static struct store_outbox *row_outbox(sqlite3_stmt *s)
{
	struct store_outbox *o = xcalloc(1, sizeof(*o));

	o->id = sqlite3_column_int64(s, 0);
	o->kind = col_str(s, 1);
	o->url = col_str(s, 2);
	o->payload = col_str(s, 3);
	o->job_id = sqlite3_column_int64(s, 4);
	o->project_id = sqlite3_column_int64(s, 5);
	o->state = (enum store_outbox_state)sqlite3_column_int(s, 6);
	o->attempts = sqlite3_column_int(s, 7);
	o->next_attempt_at = sqlite3_column_int64(s, 8);
	o->expires_at = sqlite3_column_int64(s, 9);
	o->last_error = col_str(s, 10);
	o->created_at = col_str(s, 11);
	o->delivered_at = col_str(s, 12);
	return o;
}

static int sq_outbox_enqueue(void *impl, const struct store_outbox_new *in, int64_t *out_id)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	char now[40];
	int err;

	now_iso(now);
	if ((err = conn_get(sq, &c)) < 0)
		goto done;
	if ((err = tx_begin_write(sq, c)) < 0)
		goto done;
	err = q_exec(c, ST_OUTBOX_INSERT, "tttI" "Iiit", in->kind, in->url, in->payload,
		     in->job_id, in->project_id, in->not_before, in->expires_at, now);
	if (err >= 0)
		*out_id = sqlite3_last_insert_rowid(c->db);
	err = tx_end_write(sq, c, err);
done:
	conn_put(sq, c);
	return err < 0 ? err : 0;
}

static int outbox_list(struct sq *sq, struct store_outbox ***out, enum st id, const char *types,
		       int64_t a, int64_t b)
{
	struct conn *c = NULL;
	sqlite3_stmt *s = NULL;
	struct store_outbox **list = NULL;
	size_t n = 0, cap = 0;
	int err;

	if ((err = conn_get(sq, &c)) < 0 || (err = q_start(c, id, &s, types, a, b)) < 0)
		goto done;
	while ((err = q_step(c, s)) == 1)
		LIST_PUSH(list, n, cap, row_outbox(s));
done:
	stmt_done(s);
	conn_put(sq, c);
	if (err < 0) {
		store_outbox_list_free(list);
		return err;
	}
	*out = list ? list : xcalloc(1, sizeof(*list));
	return 0;
}

static int sq_outbox_due(void *impl, int64_t now, int64_t limit, struct store_outbox ***out)
{
	return outbox_list(impl, out, ST_OUTBOX_DUE, "ii", now, limit);
}

static int sq_outbox_list_for_job(void *impl, int64_t job_id, struct store_outbox ***out)
{
	return outbox_list(impl, out, ST_OUTBOX_LIST_JOB, "i", job_id, 0);
}

static int sq_outbox_next_due(void *impl, int64_t *out)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	int err;

	if ((err = conn_get(sq, &c)) < 0)
		goto done;
	err = q_int(c, out, ST_OUTBOX_NEXT_DUE, ""); /* min() of nothing is NULL: 0 */
done:
	conn_put(sq, c);
	return err < 0 ? err : 0;
}

/* One compare-and-set on pending outbox row row_id: statement id (bound
 * with types and the arguments, row_id first) updates the row only while
 * it is pending. SO_ENOTFOUND when the row does not exist, SO_ECONFLICT
 * when it was already delivered or given up. */
static int outbox_update(struct sq *sq, int64_t row_id, enum st id, const char *types, ...)
{
	struct conn *c = NULL;
	sqlite3_stmt *s = NULL;
	int64_t state = 0;
	va_list ap;
	int err;

	/* Marking a reply delivered is bookkeeping (a power cut may re-send
	 * it once); a retry or a give-up is kept as firmly as the reply. */
	bool lazy = id == ST_OUTBOX_DELIVERED;

	if ((err = conn_get(sq, &c)) < 0)
		goto done;
	if ((err = lazy ? tx_begin_write_lazy(sq, c) : tx_begin_write(sq, c)) < 0)
		goto done;
	va_start(ap, types);
	err = vstart(c, id, &s, types, ap);
	va_end(ap);
	if (err >= 0 && (err = q_step(c, s)) >= 0)
		err = sqlite3_changes(c->db);
	stmt_done(s);
	if (err == 0) {
		if ((err = q_int(c, &state, ST_OUTBOX_STATE, "i", row_id)) == 0)
			err = error_set(SO_ENOTFOUND, "reply not found");
		else if (err == 1)
			err = error_set(SO_ECONFLICT, state == STORE_OUTBOX_DELIVERED ?
					"reply is already delivered" : "reply has already failed");
	}
	err = lazy ? tx_end_write_lazy(sq, c, err) : tx_end_write(sq, c, err);
done:
	conn_put(sq, c);
	return err < 0 ? err : 0;
}

static int sq_outbox_mark_delivered(void *impl, int64_t id)
{
	char now[40];

	now_iso(now);
	return outbox_update(impl, id, ST_OUTBOX_DELIVERED, "it", id, now);
}

static int sq_outbox_mark_retry(void *impl, int64_t id, int64_t next_at, const char *error)
{
	return outbox_update(impl, id, ST_OUTBOX_RETRY, "iit", id, next_at, error);
}

static int sq_outbox_mark_failed(void *impl, int64_t id, const char *error)
{
	return outbox_update(impl, id, ST_OUTBOX_FAILED, "it", id, error);
}

static int sq_outbox_count_delivered_to(void *impl, const char *url, int64_t *out)
{
	struct sq *sq = impl;
	struct conn *c = NULL;
	int err;

	if ((err = conn_get(sq, &c)) < 0)
		goto done;
	err = q_int(c, out, ST_OUTBOX_COUNT_URL, "t", url);
done:
	conn_put(sq, c);
	return err < 0 ? err : 0;
}

const struct store_backend store_sqlite_backend = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.schema_version = sq_schema_version,
	.check = sq_check,
	.user_create = sq_user_create,
	.user_get = sq_user_get,
	.user_get_by_login = sq_user_get_by_login,
	.user_list = sq_user_list,
	.user_set_state = sq_user_set_state,
	.user_set_password = sq_user_set_password,
	.user_set_admin = sq_user_set_admin,
	.user_touch_activity = sq_user_touch_activity,
	.user_count = sq_user_count,
	.user_delete = sq_user_delete,
	.token_create = sq_token_create,
	.token_get_by_hash = sq_token_get_by_hash,
	.token_list_for_user = sq_token_list_for_user,
	.token_revoke = sq_token_revoke,
	.token_touch = sq_token_touch,
	.session_create = sq_session_create,
	.session_get = sq_session_get,
	.session_delete = sq_session_delete,
	.session_delete_for_user = sq_session_delete_for_user,
	.session_purge_expired = sq_session_purge_expired,
	.namespace_create = sq_namespace_create,
	.namespace_get = sq_namespace_get,
	.namespace_get_by_path = sq_namespace_get_by_path,
	.project_create = sq_project_create,
	.project_get = sq_project_get,
	.project_get_by_path = sq_project_get_by_path,
	.project_list_visible = sq_project_list_visible,
	.project_delete = sq_project_delete,
	.project_set_default_branch = sq_project_set_default_branch,
	.project_touch_activity = sq_project_touch_activity,
	.member_add = sq_member_add,
	.member_get = sq_member_get,
	.member_list = sq_member_list,
	.member_update = sq_member_update,
	.member_remove = sq_member_remove,
	.member_access_level = sq_member_access_level,
	.member_count_owners = sq_member_count_owners,
	.open_version = sq_open_version,
	.integration_upsert = sq_integration_upsert,
	.integration_get = sq_integration_get,
	.integration_delete = sq_integration_delete,
	.integration_set_team = sq_integration_set_team,
	.chat_name_create = sq_chat_name_create,
	.chat_name_find = sq_chat_name_find,
	.read_begin = sq_read_begin,
	.generation = sq_generation,
	.read_end = sq_read_end,
	.write_begin = sq_write_begin,
	.write_end = sq_write_end,
	.chat_name_list_for_user = sq_chat_name_list_for_user,
	.chat_name_delete = sq_chat_name_delete,
	.chat_name_touch = sq_chat_name_touch,
	.chat_link_create = sq_chat_link_create,
	.chat_link_get = sq_chat_link_get,
	.chat_link_consume = sq_chat_link_consume,
	.chat_link_purge_expired = sq_chat_link_purge_expired,
	.chat_trigger_claim = sq_chat_trigger_claim,
	.chat_trigger_set_reply = sq_chat_trigger_set_reply,
	.pipeline_create = sq_pipeline_create,
	.pipeline_get = sq_pipeline_get,
	.pipeline_list = sq_pipeline_list,
	.pipeline_refresh_status = sq_pipeline_refresh_status,
	.pipeline_delete = sq_pipeline_delete,
	.job_get = sq_job_get,
	.job_list_for_pipeline = sq_job_list_for_pipeline,
	.job_list_for_project = sq_job_list_for_project,
	.job_list_by_status = sq_job_list_by_status,
	.job_transition = sq_job_transition,
	.job_set_trace_bytes = sq_job_set_trace_bytes,
	.job_fail_running = sq_job_fail_running,
	.outbox_enqueue = sq_outbox_enqueue,
	.outbox_due = sq_outbox_due,
	.outbox_next_due = sq_outbox_next_due,
	.outbox_mark_delivered = sq_outbox_mark_delivered,
	.outbox_mark_retry = sq_outbox_mark_retry,
	.outbox_mark_failed = sq_outbox_mark_failed,
	.outbox_count_delivered_to = sq_outbox_count_delivered_to,
	.outbox_list_for_job = sq_outbox_list_for_job,
};
