/*
 * store.c: the public store API (store.h); backend selection and dispatch.
 *
 * Design: store_open() parses the URL (store_url_parse), opens the chosen
 * backend and keeps {backend table, backend handle} in struct store. Every
 * public function checks and normalizes its arguments here, once for all
 * backends (blank names, enum ranges, "YYYY-MM-DD" dates, page/per_page
 * clamping, splitting "ns/path"), then calls through the table. The result
 * structs are plain heap objects, so their free functions live here too.
 *
 * An empty expires_at string ("" from a web form) means "no expiry", like
 * NULL.
 *
 * The CI rules (issue 5) live here too, so every backend applies the same
 * ones: which job transitions are allowed, GitLab's composite pipeline
 * status, and a pipeline's duration as the union of its jobs' running
 * intervals (declared in store_backend.h; docs/STORE.md has the tables).
 */
#include "store/store.h"
#include "store/store_backend.h"

#include <assert.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"

#define PER_PAGE_DEFAULT 20
#define PER_PAGE_MAX 100
/* Keeps (page - 1) * per_page far from int64 overflow. */
#define PAGE_MAX ((int64_t)1 << 40)

struct store {
	const struct store_backend *be; /* static table */
	void *impl;                     /* owned; released by be->close */
};

/* ---- URL ---- */

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int store_url_parse(const char *url, const struct store_backend **be, char **target)
{
	const char *rest;
	const char *colon;

	*be = NULL;
	*target = NULL;
	if (!url || !*url)
		return error_set(SO_EINVALID, "store URL is empty");
	if (has_prefix(url, "postgres://") || has_prefix(url, "postgresql://") ||
	    has_prefix(url, "postgres:") || has_prefix(url, "postgresql:"))
		return error_set(SO_EINVALID, "PostgreSQL support is not built in");
	if (has_prefix(url, "sqlite:")) {
		rest = url + strlen("sqlite:");
		/* "sqlite:///abs/path" and "sqlite://rel" as well as "sqlite:PATH" */
		if (has_prefix(rest, "//"))
			rest += 2;
	} else {
		colon = strstr(url, "://");
		if (colon && colon > url && !memchr(url, '/', (size_t)(colon - url)))
			return error_set(SO_EINVALID, "unsupported store URL scheme");
		rest = url;
	}
	if (!*rest)
		return error_set(SO_EINVALID, "store URL has no database path");
	if (strlen(rest) > 4096)
		return error_set(SO_EINVALID, "store URL is too long");
	if (memchr(rest, '\n', strlen(rest)))
		return error_set(SO_EINVALID, "store URL contains a newline");
	*be = &store_sqlite_backend;
	*target = xstrdup(rest);
	return 0;
}

/* max_version 0: every migration (be->open). */
static int open_store(struct store **out, const char *url, int max_version)
{
	const struct store_backend *be = NULL;
	char *target = NULL;
	void *impl = NULL;
	int err;

	assert(out);
	*out = NULL;
	if ((err = store_url_parse(url, &be, &target)) < 0 ||
	    (err = max_version > 0 ? be->open_version(&impl, target, max_version)
				   : be->open(&impl, target)) < 0)
		goto done;
	*out = xcalloc(1, sizeof(**out));
	(*out)->be = be;
	(*out)->impl = impl;
	err = 0;
done:
	free(target);
	return err;
}

int store_open(struct store **out, const char *url)
{
	return open_store(out, url, 0);
}

int store_open_version(struct store **out, const char *url, int max_version)
{
	assert(out);
	*out = NULL;
	if (max_version < 1)
		return error_set(SO_EINVALID, "schema version must be at least 1");
	return open_store(out, url, max_version);
}

void store_close(struct store *st)
{
	if (!st)
		return;
	st->be->close(st->impl);
	free(st);
}

int store_schema_version(struct store *st, int *out)
{
	assert(st && out);
	*out = 0;
	return st->be->schema_version(st->impl, out);
}

int store_check(struct store *st)
{
	assert(st);
	return st->be->check(st->impl);
}

int store_read_begin(struct store *st)
{
	assert(st);
	return st->be->read_begin ? st->be->read_begin(st->impl) : 0;
}

uint64_t store_generation(struct store *st)
{
	return st && st->be->generation ? st->be->generation(st->impl) : 0;
}

void store_read_end(struct store *st)
{
	if (st && st->be->read_end)
		st->be->read_end(st->impl);
}

int store_write_begin(struct store *st, bool durable)
{
	assert(st);
	return st->be->write_begin ? st->be->write_begin(st->impl, durable) : 0;
}

int store_write_end(struct store *st, bool commit)
{
	assert(st);
	if (st->be->write_end)
		return st->be->write_end(st->impl, commit);
	return commit ? 0 : error_set(SO_EFAIL, "store: this backend cannot undo a batch");
}

/* ---- argument helpers ---- */

static bool blank(const char *s)
{
	if (!s)
		return true;
	while (*s && isspace((unsigned char)*s))
		s++;
	return *s == '\0';
}

/* "YYYY-MM-DD" with a plausible month and day. */
static bool valid_date(const char *s)
{
	static const char shape[] = "dddd-dd-dd";
	int month, day;

	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++) {
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
			return false;
	}
	month = (s[5] - '0') * 10 + (s[6] - '0');
	day = (s[8] - '0') * 10 + (s[9] - '0');
	return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

/* Normalizes an optional date: NULL or "" -> NULL, else validated. */
static int opt_date(const char *in, const char **out, const char *field)
{
	*out = NULL;
	if (!in || !*in)
		return 0;
	if (!valid_date(in))
		return error_set(SO_EINVALID, "%s is invalid", field);
	*out = in;
	return 0;
}

static bool valid_access_level(int level)
{
	return level == 10 || level == 20 || level == 30 || level == 40 || level == 50;
}

static bool valid_visibility(enum store_visibility v)
{
	return v == STORE_VIS_PRIVATE || v == STORE_VIS_INTERNAL || v == STORE_VIS_PUBLIC;
}

static struct store_page norm_page(const struct store_page *in)
{
	struct store_page p = { 1, PER_PAGE_DEFAULT };

	if (in) {
		p.page = in->page < 1 ? 1 : in->page > PAGE_MAX ? PAGE_MAX : in->page;
		p.per_page = in->per_page < 1 ? PER_PAGE_DEFAULT :
			     in->per_page > PER_PAGE_MAX ? PER_PAGE_MAX : in->per_page;
	}
	return p;
}

static void today(char out[11])
{
	char iso[40];

	clock_now_iso(iso, sizeof(iso));
	memcpy(out, iso, 10);
	out[10] = '\0';
}

/* A namespace full_path: non-empty segments separated by single '/'. */
static bool valid_full_path(const char *s)
{
	size_t seg = 0;

	if (!s || !*s || strlen(s) > 1024)
		return false;
	for (; *s; s++) {
		if (*s == '/') {
			if (seg == 0)
				return false;
			seg = 0;
		} else if ((unsigned char)*s < 0x20) {
			return false;
		} else {
			seg++;
		}
	}
	return seg > 0;
}

/* ---- users ---- */

int store_user_create(struct store *st, const struct store_user_new *in, int64_t *out_id)
{
	int64_t id = 0;
	int err;

	assert(st && in);
	if (out_id)
		*out_id = 0;
	if (blank(in->username))
		return error_set(SO_EINVALID, "Username can't be blank");
	if (blank(in->email))
		return error_set(SO_EINVALID, "Email can't be blank");
	if (blank(in->name))
		return error_set(SO_EINVALID, "Name can't be blank");
	if ((err = st->be->user_create(st->impl, in, &id)) < 0)
		return err;
	if (out_id)
		*out_id = id;
	return 0;
}

int store_user_get(struct store *st, int64_t id, struct store_user **out)
{
	assert(st && out);
	*out = NULL;
	if (id <= 0)
		return error_set(SO_ENOTFOUND, "user not found");
	return st->be->user_get(st->impl, id, out);
}

int store_user_get_by_login(struct store *st, const char *login, struct store_user **out)
{
	assert(st && out);
	*out = NULL;
	if (blank(login))
		return error_set(SO_ENOTFOUND, "user not found");
	return st->be->user_get_by_login(st->impl, login, out);
}

int store_user_list(struct store *st, const struct store_page *page,
		    struct store_user ***out, int64_t *total)
{
	struct store_page p = norm_page(page);
	int64_t count = 0;
	int err;

	assert(st && out);
	*out = NULL;
	err = st->be->user_list(st->impl, &p, out, &count);
	if (total)
		*total = count;
	return err;
}

int store_user_set_state(struct store *st, int64_t id, enum store_user_state state)
{
	assert(st);
	if (state != STORE_USER_ACTIVE && state != STORE_USER_BLOCKED &&
	    state != STORE_USER_DEACTIVATED)
		return error_set(SO_EINVALID, "state is invalid");
	if (id <= 0)
		return error_set(SO_ENOTFOUND, "user not found");
	return st->be->user_set_state(st->impl, id, state);
}

int store_user_set_password(struct store *st, int64_t id, const char *password_hash)
{
	assert(st);
	if (blank(password_hash))
		return error_set(SO_EINVALID, "Password can't be blank");
	if (id <= 0)
		return error_set(SO_ENOTFOUND, "user not found");
	return st->be->user_set_password(st->impl, id, password_hash);
}

int store_user_set_admin(struct store *st, int64_t id, bool is_admin)
{
	assert(st);
	if (id <= 0)
		return error_set(SO_ENOTFOUND, "user not found");
	return st->be->user_set_admin(st->impl, id, is_admin);
}

int store_user_touch_activity(struct store *st, int64_t id)
{
	assert(st);
	if (id <= 0)
		return error_set(SO_ENOTFOUND, "user not found");
	return st->be->user_touch_activity(st->impl, id);
}

int store_user_count(struct store *st, int64_t *out)
{
	assert(st && out);
	*out = 0;
	return st->be->user_count(st->impl, out);
}

int store_user_delete(struct store *st, int64_t id)
{
	assert(st);
	if (id <= 0)
		return error_set(SO_ENOTFOUND, "user not found");
	return st->be->user_delete(st->impl, id);
}

void store_user_free(struct store_user *u)
{
	if (!u)
		return;
	free(u->username);
	free(u->email);
	free(u->name);
	free(u->password_hash);
	free(u->created_at);
	free(u->last_activity_on);
	free(u);
}

void store_user_list_free(struct store_user **list)
{
	if (!list)
		return;
	for (size_t i = 0; list[i]; i++)
		store_user_free(list[i]);
	free(list);
}

/* ---- tokens ---- */

int store_token_create(struct store *st, const struct store_token_new *in, int64_t *out_id)
{
	struct store_token_new t;
	int64_t id = 0;
	int err;

	assert(st && in);
	if (out_id)
		*out_id = 0;
	t = *in;
	if (blank(t.name))
		return error_set(SO_EINVALID, "Name can't be blank");
	if (blank(t.scopes))
		return error_set(SO_EINVALID, "Scopes can't be blank");
	if (blank(t.token_hash))
		return error_set(SO_EINVALID, "token hash is missing");
	if ((err = opt_date(in->expires_at, &t.expires_at, "Expires at")) < 0)
		return err;
	if (t.user_id <= 0)
		return error_set(SO_ENOTFOUND, "user not found");
	if ((err = st->be->token_create(st->impl, &t, &id)) < 0)
		return err;
	if (out_id)
		*out_id = id;
	return 0;
}

int store_token_get_by_hash(struct store *st, const char *token_hash, struct store_token **out)
{
	assert(st && out);
	*out = NULL;
	if (blank(token_hash))
		return error_set(SO_ENOTFOUND, "token not found");
	return st->be->token_get_by_hash(st->impl, token_hash, out);
}

int store_token_list_for_user(struct store *st, int64_t user_id, struct store_token ***out)
{
	assert(st && out);
	*out = NULL;
	return st->be->token_list_for_user(st->impl, user_id, out);
}

int store_token_revoke(struct store *st, int64_t id)
{
	assert(st);
	if (id <= 0)
		return error_set(SO_ENOTFOUND, "token not found");
	return st->be->token_revoke(st->impl, id);
}

int store_token_touch(struct store *st, int64_t id)
{
	assert(st);
	if (id <= 0)
		return error_set(SO_ENOTFOUND, "token not found");
	return st->be->token_touch(st->impl, id);
}

void store_token_free(struct store_token *t)
{
	if (!t)
		return;
	free(t->name);
	free(t->scopes);
	free(t->token_hash);
	free(t->expires_at);
	free(t->created_at);
	free(t->last_used_at);
	free(t);
}

void store_token_list_free(struct store_token **list)
{
	if (!list)
		return;
	for (size_t i = 0; list[i]; i++)
		store_token_free(list[i]);
	free(list);
}

/* ---- sessions ---- */

int store_session_create(struct store *st, const char *id_hash, int64_t user_id,
			 const char *csrf_token, int64_t expires_at)
{
	assert(st);
	if (blank(id_hash) || blank(csrf_token))
		return error_set(SO_EINVALID, "session id or CSRF token is missing");
	if (user_id <= 0)
		return error_set(SO_ENOTFOUND, "user not found");
	return st->be->session_create(st->impl, id_hash, user_id, csrf_token, expires_at);
}

int store_session_get(struct store *st, const char *id_hash, struct store_session **out)
{
	assert(st && out);
	*out = NULL;
	if (blank(id_hash))
		return error_set(SO_ENOTFOUND, "session not found");
	return st->be->session_get(st->impl, id_hash, clock_unix(), out);
}

int store_session_delete(struct store *st, const char *id_hash)
{
	assert(st);
	if (blank(id_hash))
		return 0;
	return st->be->session_delete(st->impl, id_hash);
}

int store_session_delete_for_user(struct store *st, int64_t user_id)
{
	assert(st);
	return st->be->session_delete_for_user(st->impl, user_id);
}

int store_session_purge_expired(struct store *st, int64_t now)
{
	assert(st);
	return st->be->session_purge_expired(st->impl, now);
}

void store_session_free(struct store_session *s)
{
	if (!s)
		return;
	free(s->id_hash);
	free(s->csrf_token);
	free(s->created_at);
	free(s);
}

/* ---- namespaces ---- */

int store_namespace_create(struct store *st, const char *name, const char *full_path,
			   const char *kind, int64_t owner_id, int64_t *out_id)
{
	const char *path;
	int64_t id = 0;
	int err;

	assert(st);
	if (out_id)
		*out_id = 0;
	if (!kind || (strcmp(kind, "user") != 0 && strcmp(kind, "group") != 0))
		return error_set(SO_EINVALID, "namespace kind must be user or group");
	if (!valid_full_path(full_path))
		return error_set(SO_EINVALID, "Path is invalid");
	path = strrchr(full_path, '/');
	path = path ? path + 1 : full_path;
	if (strcmp(kind, "user") == 0 && path != full_path)
		return error_set(SO_EINVALID, "a user namespace cannot be nested");
	if (blank(name))
		name = path;
	if ((err = st->be->namespace_create(st->impl, name, path, full_path, kind,
					    owner_id < 0 ? 0 : owner_id, &id)) < 0)
		return err;
	if (out_id)
		*out_id = id;
	return 0;
}

int store_namespace_get(struct store *st, int64_t id, struct store_namespace **out)
{
	assert(st && out);
	*out = NULL;
	if (id <= 0)
		return error_set(SO_ENOTFOUND, "namespace not found");
	return st->be->namespace_get(st->impl, id, out);
}

int store_namespace_get_by_path(struct store *st, const char *full_path,
				struct store_namespace **out)
{
	assert(st && out);
	*out = NULL;
	if (!valid_full_path(full_path))
		return error_set(SO_ENOTFOUND, "namespace not found");
	return st->be->namespace_get_by_path(st->impl, full_path, out);
}

void store_namespace_free(struct store_namespace *ns)
{
	if (!ns)
		return;
	free(ns->name);
	free(ns->path);
	free(ns->full_path);
	free(ns->kind);
	free(ns->created_at);
	free(ns);
}

/* ---- projects ---- */

int store_project_create(struct store *st, const struct store_project_new *in, int64_t *out_id)
{
	int64_t id = 0;
	int err;

	assert(st && in);
	if (out_id)
		*out_id = 0;
	if (blank(in->name))
		return error_set(SO_EINVALID, "Name can't be blank");
	if (blank(in->path))
		return error_set(SO_EINVALID, "Path can't be blank");
	if (strchr(in->path, '/') || !valid_full_path(in->path))
		return error_set(SO_EINVALID, "Path is invalid");
	if (!valid_visibility(in->visibility))
		return error_set(SO_EINVALID, "Visibility level is invalid");
	if (in->namespace_id <= 0)
		return error_set(SO_ENOTFOUND, "namespace not found");
	if (in->creator_id <= 0)
		return error_set(SO_EINVALID, "a project needs a creator");
	if ((err = st->be->project_create(st->impl, in, &id)) < 0)
		return err;
	if (out_id)
		*out_id = id;
	return 0;
}

int store_project_get(struct store *st, int64_t id, struct store_project **out)
{
	assert(st && out);
	*out = NULL;
	if (id <= 0)
		return error_set(SO_ENOTFOUND, "project not found");
	return st->be->project_get(st->impl, id, out);
}

int store_project_get_by_path(struct store *st, const char *full_path, struct store_project **out)
{
	const char *slash;
	char *ns = NULL;
	int err;

	assert(st && out);
	*out = NULL;
	if (!valid_full_path(full_path) || !(slash = strrchr(full_path, '/'))) {
		err = error_set(SO_ENOTFOUND, "project not found");
		goto done;
	}
	ns = xstrndup(full_path, (size_t)(slash - full_path));
	err = st->be->project_get_by_path(st->impl, ns, slash + 1, out);
done:
	free(ns);
	return err;
}

int store_project_list_visible(struct store *st, int64_t user_id, bool is_admin,
			       const struct store_page *page,
			       struct store_project ***out, int64_t *total)
{
	struct store_page p = norm_page(page);
	int64_t count = 0;
	int err;

	assert(st && out);
	*out = NULL;
	if (user_id <= 0) {
		user_id = 0;
		is_admin = false;
	}
	err = st->be->project_list_visible(st->impl, user_id, is_admin, &p, out, &count);
	if (total)
		*total = count;
	return err;
}

int store_project_delete(struct store *st, int64_t id)
{
	assert(st);
	if (id <= 0)
		return error_set(SO_ENOTFOUND, "project not found");
	return st->be->project_delete(st->impl, id);
}

int store_project_set_default_branch(struct store *st, int64_t id, const char *branch)
{
	assert(st);
	if (blank(branch))
		branch = NULL;
	if (id <= 0)
		return error_set(SO_ENOTFOUND, "project not found");
	return st->be->project_set_default_branch(st->impl, id, branch);
}

int store_project_touch_activity(struct store *st, int64_t id)
{
	assert(st);
	if (id <= 0)
		return error_set(SO_ENOTFOUND, "project not found");
	return st->be->project_touch_activity(st->impl, id);
}

void store_project_free(struct store_project *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->path);
	free(p->path_with_namespace);
	free(p->description);
	free(p->default_branch);
	free(p->created_at);
	free(p->last_activity_at);
	free(p);
}

void store_project_list_free(struct store_project **list)
{
	if (!list)
		return;
	for (size_t i = 0; list[i]; i++)
		store_project_free(list[i]);
	free(list);
}

/* ---- members ---- */

int store_member_add(struct store *st, int64_t project_id, int64_t user_id,
		     int access_level, const char *expires_at, int64_t created_by)
{
	const char *exp;
	int err;

	assert(st);
	if (!valid_access_level(access_level))
		return error_set(SO_EINVALID, "Access level does not have a valid value");
	if ((err = opt_date(expires_at, &exp, "Expires at")) < 0)
		return err;
	if (project_id <= 0)
		return error_set(SO_ENOTFOUND, "project not found");
	if (user_id <= 0)
		return error_set(SO_ENOTFOUND, "user not found");
	return st->be->member_add(st->impl, project_id, user_id, access_level, exp,
				  created_by < 0 ? 0 : created_by);
}

int store_member_get(struct store *st, int64_t project_id, int64_t user_id,
		     struct store_member **out)
{
	assert(st && out);
	*out = NULL;
	if (project_id <= 0 || user_id <= 0)
		return error_set(SO_ENOTFOUND, "member not found");
	return st->be->member_get(st->impl, project_id, user_id, out);
}

int store_member_list(struct store *st, int64_t project_id, const struct store_page *page,
		      struct store_member ***out, int64_t *total)
{
	struct store_page p = norm_page(page);
	int64_t count = 0;
	int err;

	assert(st && out);
	*out = NULL;
	err = st->be->member_list(st->impl, project_id, &p, out, &count);
	if (total)
		*total = count;
	return err;
}

int store_member_update(struct store *st, int64_t project_id, int64_t user_id,
			int access_level, const char *expires_at)
{
	const char *exp;
	int err;

	assert(st);
	if (!valid_access_level(access_level))
		return error_set(SO_EINVALID, "Access level does not have a valid value");
	if ((err = opt_date(expires_at, &exp, "Expires at")) < 0)
		return err;
	if (project_id <= 0 || user_id <= 0)
		return error_set(SO_ENOTFOUND, "member not found");
	return st->be->member_update(st->impl, project_id, user_id, access_level, exp);
}

int store_member_remove(struct store *st, int64_t project_id, int64_t user_id)
{
	assert(st);
	if (project_id <= 0 || user_id <= 0)
		return error_set(SO_ENOTFOUND, "member not found");
	return st->be->member_remove(st->impl, project_id, user_id);
}

int store_member_access_level(struct store *st, int64_t project_id, int64_t user_id, int *out)
{
	char day[11];

	assert(st && out);
	*out = 0;
	if (project_id <= 0 || user_id <= 0)
		return 0;
	today(day);
	return st->be->member_access_level(st->impl, project_id, user_id, day, out);
}

int store_member_count_owners(struct store *st, int64_t project_id, int64_t *out)
{
	char day[11];

	assert(st && out);
	*out = 0;
	today(day);
	return st->be->member_count_owners(st->impl, project_id, day, out);
}

void store_member_free(struct store_member *m)
{
	if (!m)
		return;
	free(m->expires_at);
	free(m->created_at);
	store_user_free(m->user);
	free(m);
}

void store_member_list_free(struct store_member **list)
{
	if (!list)
		return;
	for (size_t i = 0; list[i]; i++)
		store_member_free(list[i]);
	free(list);
}

/* ---- chat integrations ---- */

int store_integration_upsert(struct store *st, int64_t project_id, const char *kind,
			     const char *token_hash, bool active, bool clear_team,
			     int64_t *out_id)
{
	int64_t id = 0;
	int err;

	assert(st);
	if (out_id)
		*out_id = 0;
	if (blank(kind))
		return error_set(SO_EINVALID, "integration kind is missing");
	if (project_id <= 0)
		return error_set(SO_ENOTFOUND, "project not found");
	if (blank(token_hash))
		token_hash = NULL; /* keep the stored one */
	if ((err = st->be->integration_upsert(st->impl, project_id, kind, token_hash, active,
					      clear_team, &id)) < 0)
		return err;
	if (out_id)
		*out_id = id;
	return 0;
}

int store_integration_get(struct store *st, int64_t project_id, const char *kind,
			  struct store_integration **out)
{
	assert(st && out);
	*out = NULL;
	if (project_id <= 0 || blank(kind))
		return error_set(SO_ENOTFOUND, "integration not found");
	return st->be->integration_get(st->impl, project_id, kind, out);
}

int store_integration_delete(struct store *st, int64_t project_id, const char *kind)
{
	assert(st);
	if (project_id <= 0 || blank(kind))
		return error_set(SO_ENOTFOUND, "integration not found");
	return st->be->integration_delete(st->impl, project_id, kind);
}

int store_integration_set_team(struct store *st, int64_t id, const char *team_id,
			       const char *team_domain)
{
	assert(st);
	if (id <= 0)
		return error_set(SO_ENOTFOUND, "integration not found");
	if (blank(team_id))
		team_id = team_domain = NULL;
	if (blank(team_domain))
		team_domain = NULL;
	return st->be->integration_set_team(st->impl, id, team_id, team_domain);
}

void store_integration_free(struct store_integration *in)
{
	if (!in)
		return;
	free(in->kind);
	free(in->token_hash);
	free(in->team_id);
	free(in->team_domain);
	free(in->created_at);
	free(in->updated_at);
	free(in);
}

/* ---- chat names ---- */

int store_chat_name_create(struct store *st, int64_t user_id, const char *team_id,
			   const char *team_domain, const char *chat_id, const char *chat_name,
			   int64_t *out_id)
{
	int64_t id = 0;
	int err;

	assert(st);
	if (out_id)
		*out_id = 0;
	if (blank(team_id))
		return error_set(SO_EINVALID, "chat team id is missing");
	if (blank(chat_id))
		return error_set(SO_EINVALID, "chat user id is missing");
	if (user_id <= 0)
		return error_set(SO_ENOTFOUND, "user not found");
	if ((err = st->be->chat_name_create(st->impl, user_id, team_id,
					    blank(team_domain) ? NULL : team_domain, chat_id,
					    blank(chat_name) ? NULL : chat_name, &id)) < 0)
		return err;
	if (out_id)
		*out_id = id;
	return 0;
}

int store_chat_name_find(struct store *st, const char *team_id, const char *chat_id,
			 struct store_chat_name **out)
{
	assert(st && out);
	*out = NULL;
	if (blank(team_id) || blank(chat_id))
		return error_set(SO_ENOTFOUND, "chat name not found");
	return st->be->chat_name_find(st->impl, team_id, chat_id, out);
}

int store_chat_name_list_for_user(struct store *st, int64_t user_id,
				  struct store_chat_name ***out)
{
	assert(st && out);
	*out = NULL;
	return st->be->chat_name_list_for_user(st->impl, user_id, out);
}

int store_chat_name_delete(struct store *st, int64_t id, int64_t user_id)
{
	assert(st);
	if (id <= 0 || user_id <= 0)
		return error_set(SO_ENOTFOUND, "chat name not found");
	return st->be->chat_name_delete(st->impl, id, user_id);
}

int store_chat_name_touch(struct store *st, int64_t id)
{
	assert(st);
	if (id <= 0)
		return error_set(SO_ENOTFOUND, "chat name not found");
	return st->be->chat_name_touch(st->impl, id);
}

void store_chat_name_free(struct store_chat_name *cn)
{
	if (!cn)
		return;
	free(cn->team_id);
	free(cn->team_domain);
	free(cn->chat_id);
	free(cn->chat_name);
	free(cn->last_used_at);
	free(cn->created_at);
	free(cn);
}

void store_chat_name_list_free(struct store_chat_name **list)
{
	if (!list)
		return;
	for (size_t i = 0; list[i]; i++)
		store_chat_name_free(list[i]);
	free(list);
}

/* ---- chat link requests ---- */

int store_chat_link_create(struct store *st, const struct store_chat_link *in)
{
	struct store_chat_link l;

	assert(st && in);
	l = *in;
	if (blank(l.token_hash))
		return error_set(SO_EINVALID, "token hash is missing");
	if (blank(l.integration_kind))
		return error_set(SO_EINVALID, "integration kind is missing");
	if (blank(l.team_id))
		return error_set(SO_EINVALID, "chat team id is missing");
	if (blank(l.chat_id))
		return error_set(SO_EINVALID, "chat user id is missing");
	if (l.expires_at <= 0)
		return error_set(SO_EINVALID, "expiry time is invalid");
	if (l.project_id <= 0)
		return error_set(SO_ENOTFOUND, "project not found");
	if (blank(l.team_domain))
		l.team_domain = NULL;
	if (blank(l.chat_name))
		l.chat_name = NULL;
	return st->be->chat_link_create(st->impl, &l);
}

int store_chat_link_get(struct store *st, const char *token_hash, int64_t now,
			struct store_chat_link **out)
{
	assert(st && out);
	*out = NULL;
	if (blank(token_hash))
		return error_set(SO_ENOTFOUND, "chat link not found");
	return st->be->chat_link_get(st->impl, token_hash, now, out);
}

int store_chat_link_consume(struct store *st, const char *token_hash, int64_t now,
			    struct store_chat_link **out)
{
	assert(st);
	if (out)
		*out = NULL;
	if (blank(token_hash))
		return error_set(SO_ENOTFOUND, "chat link not found");
	return st->be->chat_link_consume(st->impl, token_hash, now, out);
}

int store_chat_link_purge_expired(struct store *st, int64_t now)
{
	assert(st);
	return st->be->chat_link_purge_expired(st->impl, now);
}

void store_chat_link_free(struct store_chat_link *l)
{
	if (!l)
		return;
	free(l->token_hash);
	free(l->integration_kind);
	free(l->team_id);
	free(l->team_domain);
	free(l->chat_id);
	free(l->chat_name);
	free(l);
}

/* ---- slash command deduplication ---- */

int store_chat_trigger_claim(struct store *st, int64_t integration_id, const char *trigger_id,
			     int64_t now, int64_t window_s, bool *first, char **previous_reply)
{
	int64_t since;

	assert(st && first && previous_reply);
	*first = false;
	*previous_reply = NULL;
	if (blank(trigger_id))
		return error_set(SO_EINVALID, "trigger_id is missing");
	if (window_s < 0)
		return error_set(SO_EINVALID, "deduplication window is negative");
	if (integration_id <= 0)
		return error_set(SO_ENOTFOUND, "integration not found");
	since = now < INT64_MIN + window_s ? INT64_MIN : now - window_s;
	return st->be->chat_trigger_claim(st->impl, integration_id, trigger_id, now, since, first,
					  previous_reply);
}

int store_chat_trigger_set_reply(struct store *st, int64_t integration_id,
				 const char *trigger_id, const char *reply_json)
{
	assert(st);
	if (!reply_json)
		return error_set(SO_EINVALID, "reply is missing");
	if (integration_id <= 0 || blank(trigger_id))
		return error_set(SO_ENOTFOUND, "trigger not found");
	return st->be->chat_trigger_set_reply(st->impl, integration_id, trigger_id, reply_json);
}

/* ---- CI statuses (issue 5) ---- */

static const char *const ci_status_names[] = {
	[STORE_CI_CREATED] = "created",
	[STORE_CI_PENDING] = "pending",
	[STORE_CI_RUNNING] = "running",
	[STORE_CI_SUCCESS] = "success",
	[STORE_CI_FAILED] = "failed",
	[STORE_CI_CANCELED] = "canceled",
	[STORE_CI_SKIPPED] = "skipped",
	[STORE_CI_MANUAL] = "manual",
	[STORE_CI_SCHEDULED] = "scheduled",
};
#define N_CI_STATUSES (sizeof(ci_status_names) / sizeof(ci_status_names[0]))

static bool valid_ci_status(enum store_ci_status s)
{
	return (unsigned)s < N_CI_STATUSES;
}

const char *store_ci_status_name(enum store_ci_status s)
{
	return valid_ci_status(s) ? ci_status_names[s] : "unknown";
}

int store_ci_status_parse(const char *name, enum store_ci_status *out)
{
	assert(out);
	*out = STORE_CI_CREATED;
	for (size_t i = 0; name && i < N_CI_STATUSES; i++) {
		if (strcmp(name, ci_status_names[i]) == 0) {
			*out = (enum store_ci_status)i;
			return 0;
		}
	}
	return error_set(SO_EINVALID, "status does not have a valid value");
}

bool store_ci_status_finished(enum store_ci_status s)
{
	return s == STORE_CI_SUCCESS || s == STORE_CI_FAILED || s == STORE_CI_CANCELED ||
	       s == STORE_CI_SKIPPED;
}

#define CI_BIT(s) (1u << (unsigned)(s))

bool store_ci_transition_allowed(enum store_ci_status from, enum store_ci_status to)
{
	/* For each target status, the statuses a job may come from. */
	static const unsigned allowed_from[] = {
		[STORE_CI_CREATED] = 0,
		[STORE_CI_PENDING] = CI_BIT(STORE_CI_CREATED) | CI_BIT(STORE_CI_MANUAL) |
				     CI_BIT(STORE_CI_SCHEDULED) | CI_BIT(STORE_CI_RUNNING),
		[STORE_CI_RUNNING] = CI_BIT(STORE_CI_PENDING),
		[STORE_CI_SUCCESS] = CI_BIT(STORE_CI_RUNNING),
		[STORE_CI_FAILED] = CI_BIT(STORE_CI_CREATED) | CI_BIT(STORE_CI_PENDING) |
				    CI_BIT(STORE_CI_RUNNING),
		[STORE_CI_CANCELED] = CI_BIT(STORE_CI_CREATED) | CI_BIT(STORE_CI_PENDING) |
				      CI_BIT(STORE_CI_RUNNING) | CI_BIT(STORE_CI_MANUAL) |
				      CI_BIT(STORE_CI_SCHEDULED),
		[STORE_CI_SKIPPED] = CI_BIT(STORE_CI_CREATED) | CI_BIT(STORE_CI_PENDING) |
				     CI_BIT(STORE_CI_MANUAL) | CI_BIT(STORE_CI_SCHEDULED),
		[STORE_CI_MANUAL] = CI_BIT(STORE_CI_CREATED) | CI_BIT(STORE_CI_SCHEDULED),
		[STORE_CI_SCHEDULED] = CI_BIT(STORE_CI_CREATED),
	};

	if (!valid_ci_status(from) || !valid_ci_status(to))
		return false;
	return (allowed_from[to] & CI_BIT(from)) != 0;
}

/* Composite status classes: the nine statuses, plus GitLab's two derived
 * ones: a failed or canceled job allowed to fail counts as "success with
 * warnings", a manual job allowed to fail is "ignored" (it blocks
 * nothing). */
#define CLASS_WARNING (1u << N_CI_STATUSES)
#define CLASS_IGNORED (1u << (N_CI_STATUSES + 1))

void store_ci_composite_add(struct store_ci_composite *c, enum store_ci_status status,
			    bool allow_failure)
{
	assert(c && valid_ci_status(status));
	if (allow_failure && (status == STORE_CI_FAILED || status == STORE_CI_CANCELED))
		c->set |= CLASS_WARNING;
	else if (allow_failure && status == STORE_CI_MANUAL)
		c->set |= CLASS_IGNORED;
	else
		c->set |= CI_BIT(status);
}

/* Every class in the set is one of mask (and the set is not empty). */
static bool only_of(unsigned set, unsigned mask)
{
	return set && (set & ~mask) == 0;
}

/* The order of the tests matters: the first rule that matches wins. */
bool store_ci_composite_status(const struct store_ci_composite *c, enum store_ci_status *out)
{
	const unsigned soft = CLASS_WARNING | CLASS_IGNORED;
	unsigned set;

	assert(c && out);
	set = c->set;
	if (!set)
		return false;
	if (only_of(set, CI_BIT(STORE_CI_SKIPPED) | CLASS_IGNORED))
		*out = STORE_CI_SKIPPED;
	else if (only_of(set, CI_BIT(STORE_CI_SUCCESS) | CI_BIT(STORE_CI_SKIPPED) | soft))
		*out = STORE_CI_SUCCESS;
	else if (only_of(set, CI_BIT(STORE_CI_CREATED) | soft))
		*out = STORE_CI_CREATED;
	else if (only_of(set, CI_BIT(STORE_CI_CANCELED) | CI_BIT(STORE_CI_SUCCESS) |
				      CI_BIT(STORE_CI_SKIPPED) | soft))
		*out = STORE_CI_CANCELED;
	else if (only_of(set, CI_BIT(STORE_CI_PENDING) | CI_BIT(STORE_CI_CREATED) |
				      CI_BIT(STORE_CI_SKIPPED) | soft))
		*out = STORE_CI_PENDING;
	else if (set & (CI_BIT(STORE_CI_RUNNING) | CI_BIT(STORE_CI_PENDING)))
		*out = STORE_CI_RUNNING;
	else if (set & CI_BIT(STORE_CI_MANUAL))
		*out = STORE_CI_MANUAL;
	else if (set & CI_BIT(STORE_CI_SCHEDULED))
		*out = STORE_CI_SCHEDULED;
	else if (set & CI_BIT(STORE_CI_CREATED))
		*out = STORE_CI_RUNNING; /* a later stage still has to start */
	else
		*out = STORE_CI_FAILED;
	return true;
}

int store_iso_ms(const char *iso, int64_t *out)
{
	time_t t;
	int64_t ms = 0;
	int err;

	assert(out);
	*out = 0;
	if (!iso || strlen(iso) < 19 || iso[10] != 'T')
		return error_set(SO_EINVALID, "invalid timestamp");
	if ((err = clock_parse_iso(iso, &t)) < 0)
		return err;
	if (iso[19] == '.') {
		int digits = 0;

		for (const char *p = iso + 20; isdigit((unsigned char)*p); p++) {
			if (digits < 3) {
				ms = ms * 10 + (*p - '0');
				digits++;
			}
		}
		for (; digits > 0 && digits < 3; digits++)
			ms *= 10;
	}
	*out = (int64_t)t * 1000 + ms;
	return 0;
}

static int cmp_interval(const void *a, const void *b)
{
	const struct store_ci_interval *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start ? 1 : 0;
}

double store_ci_union_seconds(struct store_ci_interval *v, size_t n)
{
	int64_t total = 0, cur_start = 0, cur_end = 0;
	bool open = false;

	if (!v || n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_interval);
	for (size_t i = 0; i < n; i++) {
		if (v[i].end < v[i].start)
			continue; /* a clock step backwards: ignore the interval */
		if (open && v[i].start <= cur_end) {
			if (v[i].end > cur_end)
				cur_end = v[i].end;
			continue;
		}
		if (open)
			total += cur_end - cur_start;
		cur_start = v[i].start;
		cur_end = v[i].end;
		open = true;
	}
	if (open)
		total += cur_end - cur_start;
	return (double)total / 1000.0;
}

static int64_t clamp_limit(size_t limit)
{
	return limit > STORE_LIST_LIMIT_MAX ? STORE_LIST_LIMIT_MAX : (int64_t)limit;
}

/* ---- pipelines ---- */

int store_pipeline_create(struct store *st, const struct store_pipeline_new *in,
			  const struct store_job_new *jobs, size_t njobs,
			  int64_t *out_id, int64_t *job_ids_out)
{
	struct store_pipeline_new p;
	struct store_job_new *js = NULL;
	int64_t id = 0;
	int err;

	assert(st && in);
	if (out_id)
		*out_id = 0;
	p = *in;
	if (blank(p.source)) {
		err = error_set(SO_EINVALID, "Source can't be blank");
		goto done;
	}
	if (blank(p.ref)) {
		err = error_set(SO_EINVALID, "Ref can't be blank");
		goto done;
	}
	if (blank(p.sha)) {
		err = error_set(SO_EINVALID, "Sha can't be blank");
		goto done;
	}
	if (njobs == 0 || !jobs) {
		err = error_set(SO_EINVALID, "No stages / jobs for this pipeline.");
		goto done;
	}
	if (p.user_id < 0 || p.chat_name_id < 0 || p.chat_integration_id < 0) {
		err = error_set(SO_EINVALID, "a pipeline reference is negative");
		goto done;
	}
	if (p.project_id <= 0) {
		err = error_set(SO_ENOTFOUND, "project not found");
		goto done;
	}
	if (blank(p.name))
		p.name = NULL;
	if (blank(p.chat_response_url))
		p.chat_response_url = NULL;
	js = xcalloc(njobs, sizeof(*js));
	for (size_t i = 0; i < njobs; i++) {
		js[i] = jobs[i];
		if (blank(js[i].name)) {
			err = error_set(SO_EINVALID, "Name can't be blank");
			goto done;
		}
		if (blank(js[i].stage)) {
			err = error_set(SO_EINVALID, "Stage can't be blank");
			goto done;
		}
		if (js[i].stage_idx < 0) {
			err = error_set(SO_EINVALID, "stage index is negative");
			goto done;
		}
		if (js[i].status != STORE_CI_CREATED && js[i].status != STORE_CI_PENDING &&
		    js[i].status != STORE_CI_MANUAL && js[i].status != STORE_CI_SCHEDULED) {
			err = error_set(SO_EINVALID, "a new job is created, pending, manual or "
					"scheduled, not %s", store_ci_status_name(js[i].status));
			goto done;
		}
		if (blank(js[i].when))
			js[i].when = "on_success";
		if (!js[i].spec_json)
			js[i].spec_json = "{}";
	}
	if ((err = st->be->pipeline_create(st->impl, &p, js, njobs, &id, job_ids_out)) < 0)
		goto done;
	if (out_id)
		*out_id = id;
	err = 0;
done:
	free(js);
	return err;
}

int store_pipeline_get(struct store *st, int64_t id, struct store_pipeline **out)
{
	assert(st && out);
	*out = NULL;
	if (id <= 0)
		return error_set(SO_ENOTFOUND, "pipeline not found");
	return st->be->pipeline_get(st->impl, id, out);
}

int store_pipeline_list(struct store *st, int64_t project_id, const struct store_page *page,
			struct store_pipeline ***out, int64_t *total)
{
	struct store_page p = norm_page(page);
	int64_t count = 0;
	int err;

	assert(st && out);
	*out = NULL;
	err = st->be->pipeline_list(st->impl, project_id, &p, out, &count);
	if (total)
		*total = count;
	return err;
}

int store_pipeline_refresh_status(struct store *st, int64_t id)
{
	assert(st);
	if (id <= 0)
		return error_set(SO_ENOTFOUND, "pipeline not found");
	return st->be->pipeline_refresh_status(st->impl, id);
}

int store_pipeline_delete(struct store *st, int64_t id)
{
	assert(st);
	if (id <= 0)
		return error_set(SO_ENOTFOUND, "pipeline not found");
	return st->be->pipeline_delete(st->impl, id);
}

void store_pipeline_free(struct store_pipeline *p)
{
	if (!p)
		return;
	free(p->source);
	free(p->ref);
	free(p->sha);
	free(p->name);
	free(p->created_at);
	free(p->updated_at);
	free(p->started_at);
	free(p->finished_at);
	free(p->chat_response_url);
	free(p);
}

void store_pipeline_list_free(struct store_pipeline **list)
{
	if (!list)
		return;
	for (size_t i = 0; list[i]; i++)
		store_pipeline_free(list[i]);
	free(list);
}

/* ---- jobs ---- */

int store_job_get(struct store *st, int64_t id, struct store_job **out)
{
	assert(st && out);
	*out = NULL;
	if (id <= 0)
		return error_set(SO_ENOTFOUND, "job not found");
	return st->be->job_get(st->impl, id, out);
}

int store_job_list_for_pipeline(struct store *st, int64_t pipeline_id, struct store_job ***out)
{
	assert(st && out);
	*out = NULL;
	return st->be->job_list_for_pipeline(st->impl, pipeline_id, out);
}

int store_job_list_for_project(struct store *st, int64_t project_id,
			       const struct store_page *page, struct store_job ***out,
			       int64_t *total)
{
	struct store_page p = norm_page(page);
	int64_t count = 0;
	int err;

	assert(st && out);
	*out = NULL;
	err = st->be->job_list_for_project(st->impl, project_id, &p, out, &count);
	if (total)
		*total = count;
	return err;
}

int store_job_list_by_status(struct store *st, enum store_ci_status status, size_t limit,
			     struct store_job ***out)
{
	assert(st && out);
	*out = NULL;
	if (!valid_ci_status(status))
		return error_set(SO_EINVALID, "status does not have a valid value");
	if (limit == 0) {
		*out = xcalloc(1, sizeof(**out));
		return 0;
	}
	return st->be->job_list_by_status(st->impl, status, clamp_limit(limit), out);
}

int store_job_transition(struct store *st, int64_t id, enum store_ci_status from,
			 enum store_ci_status to, int exit_code, const char *failure_reason,
			 int64_t user_id)
{
	assert(st);
	if (!valid_ci_status(from) || !valid_ci_status(to))
		return error_set(SO_EINVALID, "status does not have a valid value");
	if (!store_ci_transition_allowed(from, to))
		return error_set(SO_EINVALID, "a job cannot go from %s to %s",
				 store_ci_status_name(from), store_ci_status_name(to));
	if (id <= 0)
		return error_set(SO_ENOTFOUND, "job not found");
	if (!store_ci_status_finished(to)) {
		exit_code = -1;
		failure_reason = NULL;
	}
	if (blank(failure_reason))
		failure_reason = NULL;
	return st->be->job_transition(st->impl, id, from, to, exit_code, failure_reason,
				      user_id > 0 ? user_id : 0);
}

int store_job_set_trace_bytes(struct store *st, int64_t id, int64_t bytes)
{
	assert(st);
	if (bytes < 0)
		return error_set(SO_EINVALID, "trace size is negative");
	if (id <= 0)
		return error_set(SO_ENOTFOUND, "job not found");
	return st->be->job_set_trace_bytes(st->impl, id, bytes);
}

int store_job_fail_running(struct store *st, const char *failure_reason, int64_t **ids_out,
			   size_t *n_out)
{
	int64_t *ids = NULL;
	size_t n = 0;
	int err;

	assert(st);
	if (ids_out)
		*ids_out = NULL;
	if (n_out)
		*n_out = 0;
	if (blank(failure_reason))
		failure_reason = "unknown_failure";
	if ((err = st->be->job_fail_running(st->impl, failure_reason, &ids, &n)) < 0)
		return err;
	if (ids_out)
		*ids_out = ids;
	else
		free(ids);
	if (n_out)
		*n_out = n;
	return 0;
}

void store_job_free(struct store_job *j)
{
	if (!j)
		return;
	free(j->name);
	free(j->stage);
	free(j->when);
	free(j->spec_json);
	free(j->created_at);
	free(j->queued_at);
	free(j->started_at);
	free(j->finished_at);
	free(j->failure_reason);
	free(j);
}

void store_job_list_free(struct store_job **list)
{
	if (!list)
		return;
	for (size_t i = 0; list[i]; i++)
		store_job_free(list[i]);
	free(list);
}

/* ---- the outbox ---- */

/* Replies are built by slashops, but a response_url comes from the chat
 * service: both are bounded so one bad row cannot fill the database. */
#define OUTBOX_URL_MAX 4096
#define OUTBOX_PAYLOAD_MAX (1024 * 1024)

int store_outbox_enqueue(struct store *st, const struct store_outbox_new *in, int64_t *out_id)
{
	struct store_outbox_new o;
	int64_t id = 0;
	int err;

	assert(st && in);
	if (out_id)
		*out_id = 0;
	o = *in;
	if (blank(o.kind))
		return error_set(SO_EINVALID, "reply kind is missing");
	if (blank(o.url))
		return error_set(SO_EINVALID, "reply URL is missing");
	if (blank(o.payload))
		return error_set(SO_EINVALID, "reply payload is missing");
	if (strlen(o.url) > OUTBOX_URL_MAX)
		return error_set(SO_ETOOBIG, "reply URL is too long");
	if (strlen(o.payload) > OUTBOX_PAYLOAD_MAX)
		return error_set(SO_ETOOBIG, "reply payload is too large");
	if (o.job_id < 0 || o.project_id < 0 || o.not_before < 0 || o.expires_at < 0)
		return error_set(SO_EINVALID, "a reply id or time is negative");
	if (o.not_before == 0)
		o.not_before = clock_unix();
	if ((err = st->be->outbox_enqueue(st->impl, &o, &id)) < 0)
		return err;
	if (out_id)
		*out_id = id;
	return 0;
}

int store_outbox_due(struct store *st, int64_t now, size_t limit, struct store_outbox ***out)
{
	assert(st && out);
	*out = NULL;
	if (limit == 0) {
		*out = xcalloc(1, sizeof(**out));
		return 0;
	}
	return st->be->outbox_due(st->impl, now, clamp_limit(limit), out);
}

int store_outbox_next_due(struct store *st, int64_t *out)
{
	assert(st && out);
	*out = 0;
	return st->be->outbox_next_due(st->impl, out);
}

int store_outbox_mark_delivered(struct store *st, int64_t id)
{
	assert(st);
	if (id <= 0)
		return error_set(SO_ENOTFOUND, "reply not found");
	return st->be->outbox_mark_delivered(st->impl, id);
}

int store_outbox_mark_retry(struct store *st, int64_t id, int64_t next_at, const char *error)
{
	assert(st);
	if (next_at < 0)
		return error_set(SO_EINVALID, "retry time is negative");
	if (id <= 0)
		return error_set(SO_ENOTFOUND, "reply not found");
	return st->be->outbox_mark_retry(st->impl, id, next_at, blank(error) ? NULL : error);
}

int store_outbox_mark_failed(struct store *st, int64_t id, const char *error)
{
	assert(st);
	if (id <= 0)
		return error_set(SO_ENOTFOUND, "reply not found");
	return st->be->outbox_mark_failed(st->impl, id, blank(error) ? NULL : error);
}

int store_outbox_count_delivered_to(struct store *st, const char *url, int64_t *out)
{
	assert(st && out);
	*out = 0;
	if (blank(url))
		return 0;
	return st->be->outbox_count_delivered_to(st->impl, url, out);
}

int store_outbox_list_for_job(struct store *st, int64_t job_id, struct store_outbox ***out)
{
	assert(st && out);
	*out = NULL;
	if (job_id <= 0) {
		*out = xcalloc(1, sizeof(**out));
		return 0;
	}
	return st->be->outbox_list_for_job(st->impl, job_id, out);
}

void store_outbox_free(struct store_outbox *o)
{
	if (!o)
		return;
	free(o->kind);
	free(o->url);
	free(o->payload);
	free(o->last_error);
	free(o->created_at);
	free(o->delivered_at);
	free(o);
}

void store_outbox_list_free(struct store_outbox **list)
{
	if (!list)
		return;
	for (size_t i = 0; list[i]; i++)
		store_outbox_free(list[i]);
	free(list);
}
