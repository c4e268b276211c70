/*
 * ci/vars.h: CI/CD variable lists as GitLab builds them for a job:
 * ordered collections with duplicates, GitLab's precedence layers, the
 * server-side expansion of $VAR / ${VAR} / %VAR% references, and the
 * predefined variables of a pipeline (reference §1.5, §2.4).
 *
 * Design: a struct ci_varlist mirrors Gitlab::Ci::Variables::Collection:
 * items are appended in precedence order (later wins), duplicates are
 * kept, and a hash index gives the last item of a key in O(1). Expansion
 * is Collection#sort_and_expand_all as used for the runner payload
 * (keep_undefined, raw references left for the runner): items are
 * topologically sorted by their references (each value is expanded with
 * the already expanded values of what it references, so chains expand
 * fully), `$$` and `%%` are kept, `expand: false` items are raw and never
 * expanded, and a reference cycle is GitLab's error "circular variable
 * reference detected: [...]". Script lines are never expanded here.
 *
 * The pipeline context carries everything planning needs to know about
 * the pipeline being created; all its strings are borrowed.
 */
#ifndef SO_CI_VARS_H
#define SO_CI_VARS_H

#include <stdbool.h>
#include <stddef.h>

#include "ci/config.h"
#include "ci/expr.h"
#include "ci/hmap.h"

struct ci_varitem {
	char *key;      /* owned */
	char *value;    /* owned, never NULL */
	bool raw;       /* expand: false: sent with raw: true, not expanded */
	bool masked;    /* never shown in plan output values */
	bool borrowed;  /* key and value belong to a list that outlives this
	                   one (ci_varlist_add_borrowed): not freed here */
};

struct ci_varlist {
	struct ci_varitem *v;
	size_t n, cap;
	struct ci_hmap idx;   /* key -> (index + 1) of the last item; only
	                         built past a few items (small lists are
	                         scanned from the end) */
};

#define CI_VARLIST_INIT { NULL, 0, 0, CI_HMAP_INIT }

void ci_varlist_init(struct ci_varlist *l);
/* Frees the items; l is left empty and reusable. Accepts NULL. */
void ci_varlist_dispose(struct ci_varlist *l);

/* Appends a copy of key/value (value NULL = ""). */
void ci_varlist_add(struct ci_varlist *l, const char *key, const char *value,
	bool raw);
void ci_varlist_add_masked(struct ci_varlist *l, const char *key,
	const char *value);
/* Appends an item that shares its key and value strings (no copy);
 * the list that owns them must outlive l. For the per-job lists of a
 * plan, which would otherwise copy every global variable per job. */
void ci_varlist_add_borrowed(struct ci_varlist *l, const struct ci_varitem *it);
/* Appends key/value without copying them (a borrowed item): for string
 * constants and strings that outlive l (the configuration's, the plan
 * job's own). */
void ci_varlist_add_static(struct ci_varlist *l, const char *key, const char *value);
/* Appends every item of src, in order. */
void ci_varlist_concat(struct ci_varlist *l, const struct ci_varlist *src);
/* Appends YAML variables (struct ci_vars from config.h) in order. */
void ci_varlist_add_yaml(struct ci_varlist *l, const struct ci_vars *vars);

/* Value of the last item named key, NULL when none. Borrowed. */
const char *ci_varlist_get(const struct ci_varlist *l, const char *key);
const struct ci_varitem *ci_varlist_item(const struct ci_varlist *l,
	const char *key);
/* A ci_var_lookup_fn over a struct ci_varlist passed as cls. */
const char *ci_varlist_lookup(void *cls, const char *name);

/* GitLab's sort_and_expand_all for the runner payload: *out (initialized
 * by the caller, appended to) receives the items in dependency order with
 * references expanded. SO_EINVALID on a reference cycle, with GitLab's
 * message. */
int ci_varlist_expand(const struct ci_varlist *in, struct ci_varlist *out);

/* The same over borrowed items (no copy of the input). */
int ci_varlist_expand_items(const struct ci_varitem *const *items, size_t n,
	struct ci_varlist *out);

/* Keeps only the last item of every key, at the position of that last
 * item (what a consumer of the list sees). */
void ci_varlist_dedup(struct ci_varlist *l);

/* Releases the spare capacity and the key index of a list that is done
 * growing (lookups then scan it; a later add rebuilds what it needs).
 * For the many small per-job lists a plan keeps. Accepts NULL. */
void ci_varlist_shrink(struct ci_varlist *l);

/* ExpandVariables.expand: replaces $VAR, ${VAR} and %VAR% in s with the
 * values from l (undefined ones become ""; `$$` and `%%` stay). Used for
 * environment:name/url, tags, resource_group, rules:changes/exists paths.
 * Caller frees. */
char *ci_vars_expand_string(const char *s, const struct ci_varlist *l);

/* GitLab's slug (CI_COMMIT_REF_SLUG, CI_JOB_NAME_SLUG...): lowercased,
 * every char outside [a-z0-9] becomes '-', at most 63 chars, no leading
 * or trailing '-'. Caller frees. */
char *ci_slugify(const char *s);

/* CI_ENVIRONMENT_SLUG: GitLab's environment slug (lowercase, [a-z0-9-],
 * starts with a letter, max 24 chars, suffixed with "-" + 6 chars of a
 * SHA-256 of the name when it had to be changed). Caller frees. */
char *ci_environment_slug(const char *name);

/* ---------- the pipeline being created ---------- */

/* Lists the repository's files at the pipeline's commit (rules:exists);
 * same contract as ci_list_files_fn in config.h. */
typedef int (*ci_ctx_list_files_fn)(void *cls, char ***out, size_t *n);

struct ci_pipeline_context {
	const char *source;         /* "push", "web", "api", "trigger",
	                               "schedule", "chat", "pipeline",
	                               "merge_request_event", "external", ... */
	const char *ref;            /* branch or tag name */
	bool tag;                   /* ref is a tag */
	const char *sha;            /* commit SHA (40 hex); NULL = none */
	const char *before_sha;     /* NULL = 40 zeros */
	const char *default_branch; /* project default branch */
	bool ref_protected;
	const char *commit_message; /* NULL = "" */
	const char *commit_timestamp; /* ISO-8601, NULL = "" */
	const char *commit_author;  /* "Name <email>", NULL = "" */

	struct {
		long id;
		const char *path;                /* "proj" */
		const char *path_with_namespace; /* "group/proj" */
		const char *namespace;           /* "group" */
		long namespace_id;
		const char *name;                /* title, "Proj" */
		const char *description;         /* NULL = "" */
		const char *url;                 /* web URL */
		const char *visibility;          /* NULL = "private" */
		const char *config_path;         /* NULL = ".gitlab-ci.yml" */
	} project;

	const char *server_url;     /* "https://host[:port]" */
	const char *server_version; /* NULL = slashops' GitLab-compatible one */

	struct {
		long id;                /* 0 = no user (no GITLAB_USER_*) */
		const char *login, *name, *email;
	} user;

	long pipeline_id;           /* 0 = not persisted yet (omitted) */
	long pipeline_iid;
	long first_job_id;          /* 0 = omit CI_JOB_ID/URL; else job k gets
	                               first_job_id + k (plan order) */
	const char *created_at;     /* ISO-8601, NULL = omitted */

	struct {
		const char *input;      /* CHAT_INPUT, kept byte-exact */
		const char *channel;    /* CHAT_CHANNEL */
		const char *user_id;    /* CHAT_USER_ID (NULL = omitted) */
	} chat;

	/* Pipeline variables from the API / trigger / run form, in order
	 * (they override YAML; CHAT_* are appended after them). May be NULL. */
	const struct ci_varlist *variables;

	/* rules:changes. has_diff false (chat, web, api, schedule, trigger,
	 * new branches) makes every changes clause true, as in GitLab. */
	bool has_diff;
	const char *const *changed_files;
	size_t n_changed_files;

	/* rules:exists: the file list of the commit; NULL = no file exists. */
	ci_ctx_list_files_fn list_files;
	void *cls;
};

/* The predefined variables of the project, server and pipeline, in
 * GitLab's order (project.rb, builder/pipeline.rb); appended to l. */
void ci_vars_predefined_pipeline(struct ci_varlist *l,
	const struct ci_pipeline_context *ctx, const char *pipeline_name);

/* The persisted variables of a job (CI_PIPELINE_ID/URL, CI_JOB_ID/URL) when
 * the context has ids; job_id 0 = none. */
void ci_vars_persisted(struct ci_varlist *l,
	const struct ci_pipeline_context *ctx, long job_id);

/* GITLAB_USER_* (when ctx->user.id != 0). */
void ci_vars_user(struct ci_varlist *l, const struct ci_pipeline_context *ctx);

/* Pipeline variables: ctx->variables then CHAT_INPUT, CHAT_CHANNEL,
 * CHAT_USER_ID for chat pipelines. */
void ci_vars_pipeline(struct ci_varlist *l,
	const struct ci_pipeline_context *ctx);

#endif
