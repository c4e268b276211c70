/*
 * ci/config.c: ci_config_load(), the validation of the composed tree into
 * the model of config.h, and the model's helpers (free, lookup, JSON).
 *
 * Design: ci_config_load runs GitLab's steps in GitLab's order: YAML load
 * (yaml.c), spec:inputs defaults, include (include.c), extends and
 * !reference (extends.c), then this file: top-level deprecated keys become
 * default: keys, stages get .pre/.post, each visible job is validated key
 * by key with GitLab's messages (location "jobs:NAME[:key]"), default:
 * values are copied into jobs that do not set them (inherit:default),
 * parallel jobs are expanded into instances, needs/dependencies on a
 * parallel job are rewritten to its instances, and the cross-job checks of
 * Gitlab::Ci::YamlProcessor run last (stages, needs, dependencies, needs
 * cycles). Validation goes on after an error so that lint can show every
 * problem; any error fails the load. Job lookup uses a hash table and the
 * needs-cycle check is an iterative DFS, so everything is linear in the
 * number of jobs.
 */
#include "ci/config.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ci/expr.h"
#include "ci/extends.h"
#include "ci/hmap.h"
#include "ci/include.h"
#include "ci/yaml.h"
#include "util/buf.h"
#include "util/error.h"

#define MAX_SCRIPT_DEPTH 10
#define MAX_PARALLEL 200
#define MAX_NAME 255

struct cfg_priv {
	struct ci_hmap jobs;       /* name -> struct ci_job * */
	char **files;              /* interned file names */
	size_t n_files;
};

struct bld {
	const struct ci_node *cur_matrix; /* matrix vars of the job being built */
	struct ci_hmap exprs;      /* validated if: statements -> 1 ok, 2 bad */
	struct ci_yctx *ctx;
	const struct ci_load_options *opts;
	struct ci_config *cfg;
	int err;                   /* first error seen (kept going after) */
};

/* ---------- small helpers ---------- */

static const char *const WHEN_NAMES[] = { NULL, "on_success", "on_failure",
	"always", "manual", "delayed", "never" };

const char *ci_when_name(enum ci_when w)
{
	if ((int)w < 0 || (size_t)w >= sizeof(WHEN_NAMES) / sizeof(*WHEN_NAMES))
		return NULL;
	return WHEN_NAMES[w];
}

static enum ci_when when_parse(const char *s)
{
	for (size_t i = 1; i < sizeof(WHEN_NAMES) / sizeof(*WHEN_NAMES); i++) {
		if (strcmp(s, WHEN_NAMES[i]) == 0)
			return (enum ci_when)i;
	}
	return CI_WHEN_UNSET;
}

static void strv_push(struct ci_strv *v, const char *s)
{
	if ((v->n & (v->n - 1)) == 0)
		v->v = xrealloc(v->v, (v->n ? v->n * 2 : 1) * sizeof(char *));
	v->v[v->n++] = xstrdup(s);
}

static void strv_free(struct ci_strv *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->n = 0;
}

static void intv_push(struct ci_intv *v, int x)
{
	if ((v->n & (v->n - 1)) == 0)
		v->v = xrealloc(v->v, (v->n ? v->n * 2 : 1) * sizeof(int));
	v->v[v->n++] = x;
}

static struct ci_pos pos_of(const struct ci_node *n)
{
	struct ci_pos p = { n ? n->file : NULL, n ? n->line : 0, n ? n->col : 0 };

	return p;
}

static void vars_free(struct ci_vars *v)
{
	for (size_t i = 0; i < v->n; i++) {
		free(v->v[i].key);
		free(v->v[i].value);
		free(v->v[i].description);
		strv_free(&v->v[i].options);
	}
	free(v->v);
	v->v = NULL;
	v->n = 0;
}

static void needs_free(struct ci_needs *n)
{
	for (size_t i = 0; i < n->n; i++) {
		free(n->v[i].job);
		free(n->v[i].pipeline);
		free(n->v[i].project);
		free(n->v[i].ref);
	}
	free(n->v);
	n->v = NULL;
	n->n = 0;
}

static void changes_free(struct ci_changes *c)
{
	strv_free(&c->paths);
	free(c->compare_to);
}

static void rules_free(struct ci_rules *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct ci_rule *x = &r->v[i];

		free(x->if_expr);
		changes_free(&x->changes);
		strv_free(&x->exists.paths);
		free(x->exists.project);
		free(x->exists.ref);
		free(x->start_in);
		vars_free(&x->variables);
		needs_free(&x->needs);
	}
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

static void policy_free(struct ci_policy *p)
{
	strv_free(&p->refs);
	strv_free(&p->variables);
	changes_free(&p->changes);
	free(p->kubernetes);
}

static void job_free(struct ci_job *j)
{
	if (!j)
		return;
	free(j->name);
	free(j->base_name);
	free(j->stage);
	strv_free(&j->script);
	strv_free(&j->before_script);
	strv_free(&j->after_script);
	free(j->start_in);
	free(j->allow_failure.exit_codes.v);
	rules_free(&j->rules);
	policy_free(&j->only);
	policy_free(&j->except);
	needs_free(&j->needs);
	strv_free(&j->dependencies);
	free(j->environment.name);
	free(j->environment.url);
	free(j->environment.action);
	free(j->environment.deployment_tier);
	free(j->environment.on_stop);
	free(j->environment.auto_stop_in);
	json_decref(j->environment.kubernetes);
	free(j->timeout);
	strv_free(&j->retry.when);
	free(j->retry.exit_codes.v);
	free(j->resource_group);
	strv_free(&j->tags);
	vars_free(&j->variables);
	free(j->coverage);
	strv_free(&j->inherit.default_keys);
	strv_free(&j->inherit.variables_keys);
	vars_free(&j->parallel.matrix_vars);
	strv_free(&j->extends);
	json_decref(j->artifacts);
	json_decref(j->image);
	json_decref(j->services);
	json_decref(j->cache);
	json_decref(j->trigger);
	json_decref(j->release);
	json_decref(j->secrets);
	json_decref(j->id_tokens);
	json_decref(j->hooks);
	json_decref(j->pages);
	json_decref(j->environment_json);
	free(j);
}

void ci_config_free(struct ci_config *cfg)
{
	struct cfg_priv *p;

	if (!cfg)
		return;
	p = cfg->priv;
	for (size_t i = 0; i < cfg->n_stages; i++)
		free(cfg->stages[i]);
	free(cfg->stages);
	vars_free(&cfg->variables);
	free(cfg->workflow.name);
	rules_free(&cfg->workflow.rules);
	json_decref(cfg->workflow.auto_cancel);
	json_decref(cfg->default_json);
	for (size_t i = 0; i < cfg->n_jobs; i++)
		job_free(cfg->jobs[i]);
	free(cfg->jobs);
	if (p) {
		ci_hmap_clear(&p->jobs);
		for (size_t i = 0; i < p->n_files; i++)
			free(p->files[i]);
		free(p->files);
		free(p);
	}
	free(cfg);
}

const struct ci_job *ci_config_job(const struct ci_config *cfg,
	const char *name)
{
	struct cfg_priv *p = cfg->priv;

	return ci_hmap_get(&p->jobs, name, strlen(name));
}

long ci_config_stage_index(const struct ci_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_stages; i++) {
		if (strcmp(cfg->stages[i], name) == 0)
			return (long)i;
	}
	return -1;
}

bool ci_job_allow_failure(const struct ci_job *job)
{
	if (job->allow_failure.specified)
		return job->allow_failure.value;
	return job->when == CI_WHEN_MANUAL;
}

long ci_duration_parse(const char *s)
{
	static const struct { const char *u; long mul; } units[] = {
		{ "s", 1 }, { "sec", 1 }, { "secs", 1 }, { "second", 1 },
		{ "seconds", 1 }, { "m", 60 }, { "min", 60 }, { "mins", 60 },
		{ "minute", 60 }, { "minutes", 60 }, { "h", 3600 }, { "hr", 3600 },
		{ "hrs", 3600 }, { "hour", 3600 }, { "hours", 3600 },
		{ "d", 86400 }, { "day", 86400 }, { "days", 86400 },
		{ "w", 604800 }, { "wk", 604800 }, { "wks", 604800 },
		{ "week", 604800 }, { "weeks", 604800 }, { "mo", 2592000 },
		{ "mos", 2592000 }, { "month", 2592000 }, { "months", 2592000 },
		{ "y", 31536000 }, { "yr", 31536000 }, { "yrs", 31536000 },
		{ "year", 31536000 }, { "years", 31536000 },
	};
	double total = 0;
	bool any = false;

	if (!s)
		return -1;
	while (*s) {
		char *end;
		double v;
		size_t ul = 0;
		long mul = 1;

		while (isspace((unsigned char)*s) || *s == ',')
			s++;
		if (!*s)
			break;
		if (strncmp(s, "and ", 4) == 0) {
			s += 4;
			continue;
		}
		if (!isdigit((unsigned char)*s) && *s != '.')
			return -1;
		v = strtod(s, &end);
		if (end == s || v < 0)
			return -1;
		s = end;
		while (isspace((unsigned char)*s))
			s++;
		while (isalpha((unsigned char)s[ul]))
			ul++;
		if (ul) {
			bool found = false;

			for (size_t i = 0; i < sizeof(units) / sizeof(*units); i++) {
				if (strlen(units[i].u) == ul &&
				    strncasecmp(units[i].u, s, ul) == 0) {
					mul = units[i].mul;
					found = true;
					break;
				}
			}
			if (!found)
				return -1;
			s += ul;
		}
		total += v * (double)mul;
		any = true;
		if (total > (double)LONG_MAX / 2)
			return -1;
	}
	return any ? (long)total : -1;
}

/* String equality with a first-byte test in front: the key dispatch runs
 * for every key of every job. */
#define KEY_IS(k, lit) ((k)[0] == (lit)[0] && strcmp((k), (lit)) == 0)

/* "a:b" without printf (built for every key of every job). Caller frees. */
static char *loc_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = xmalloc(la + lb + 2);

	memcpy(s, a, la);
	s[la] = ':';
	memcpy(s + la + 1, b, lb + 1);
	return s;
}

/* ci_expr_validate() with a cache: a large configuration repeats the same
 * few rules (anchors, extends) on thousands of jobs. */
static bool expr_valid(struct bld *b, const char *e)
{
	size_t len = strlen(e);
	size_t v = (size_t)ci_hmap_get(&b->exprs, e, len);
	char *k;

	if (v)
		return v == 1;
	v = ci_expr_validate(e) == 0 ? 1 : 2;
	k = xstrndup(e, len);
	ci_hmap_put(&b->exprs, k, len, (void *)v);
	/* keys are freed through the slots in ci_config_load */
	return v == 1;
}

/* ---------- error helpers ---------- */

static int berr(struct bld *b, const struct ci_node *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int berr(struct bld *b, const struct ci_node *at, const char *fmt, ...)
{
	va_list ap;
	struct buf m = BUF_INIT(0);

	va_start(ap, fmt);
	buf_vprintf(&m, fmt, ap);
	va_end(ap);
	ci_diag_add(b->ctx->diags, CI_DIAG_ERROR, at ? at->file : NULL,
		at ? at->line : 0, at ? at->col : 0, "%s", buf_cstr(&m));
	buf_dispose(&m);
	if (!b->err)
		b->err = SO_EINVALID;
	return SO_EINVALID;
}

/* Errors at a map key's position. */
static int berr_kv(struct bld *b, const struct ci_node *map,
	const struct ci_kv *kv, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int berr_kv(struct bld *b, const struct ci_node *map,
	const struct ci_kv *kv, const char *fmt, ...)
{
	va_list ap;
	struct buf m = BUF_INIT(0);

	va_start(ap, fmt);
	buf_vprintf(&m, fmt, ap);
	va_end(ap);
	ci_diag_add(b->ctx->diags, CI_DIAG_ERROR, map->file, kv->line, kv->col,
		"%s", buf_cstr(&m));
	buf_dispose(&m);
	if (!b->err)
		b->err = SO_EINVALID;
	return SO_EINVALID;
}

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++) {
		if (KEY_IS(s, *list))
			return true;
	}
	return false;
}

/* "config contains unknown keys: a, b" when map has keys not in list. */
static int check_keys(struct bld *b, const char *loc, const struct ci_node *m,
	const char *const *allowed)
{
	struct buf u = BUF_INIT(0);
	const struct ci_kv *first = NULL;
	int err = 0;

	for (size_t i = 0; i < m->n; i++) {
		if (!in_list(m->kv[i].key, allowed)) {
			buf_printf(&u, "%s%s", u.len ? ", " : "", m->kv[i].key);
			if (!first)
				first = &m->kv[i];
		}
	}
	if (first)
		err = berr_kv(b, m, first, "%s config contains unknown keys: %s",
			loc, buf_cstr(&u));
	buf_dispose(&u);
	return err;
}

static bool is_text(const struct ci_node *n)
{
	return n->type == CI_N_STR || n->type == CI_N_INT ||
		n->type == CI_N_FLOAT;
}

static int get_str(struct bld *b, const char *loc, const struct ci_node *n,
	char **out)
{
	if (!is_text(n))
		return berr(b, n, "%s config should be a string", loc);
	free(*out);
	*out = xstrdup(ci_node_text(n));
	return 0;
}

static int get_bool(struct bld *b, const char *loc, const struct ci_node *n,
	bool *out)
{
	if (n->type != CI_N_BOOL)
		return berr(b, n, "%s config should be a boolean value", loc);
	*out = n->b;
	return 0;
}

/* An array of strings (a single string is accepted when allow_str). */
static int get_strv(struct bld *b, const char *loc, const struct ci_node *n,
	bool allow_str, struct ci_strv *out)
{
	if (allow_str && is_text(n)) {
		strv_push(out, ci_node_text(n));
		return 0;
	}
	if (n->type != CI_N_SEQ)
		return berr(b, n, "%s config should be an array of strings", loc);
	for (size_t i = 0; i < n->n; i++) {
		if (!is_text(n->items[i]))
			return berr(b, n->items[i], "%s config should be an array of "
				"strings", loc);
		strv_push(out, ci_node_text(n->items[i]));
	}
	return 0;
}

static int flatten_rec(struct bld *b, const char *loc, const struct ci_node *n,
	int depth, struct ci_strv *out)
{
	if (n->type == CI_N_SEQ) {
		if (depth >= MAX_SCRIPT_DEPTH)
			return berr(b, n, "%s config should be a string or a nested "
				"array of strings up to %d levels deep", loc,
				MAX_SCRIPT_DEPTH);
		for (size_t i = 0; i < n->n; i++) {
			int err = flatten_rec(b, loc, n->items[i], depth + 1, out);

			if (err < 0)
				return err;
		}
		return 0;
	}
	if (n->type == CI_N_STR || n->type == CI_N_INT ||
	    n->type == CI_N_FLOAT || n->type == CI_N_BOOL) {
		strv_push(out, ci_node_text(n));
		return 0;
	}
	return berr(b, n, "%s config should be a string or a nested array of "
		"strings up to %d levels deep", loc, MAX_SCRIPT_DEPTH);
}

/* script-like: a string or nested arrays of strings (<= 10 levels). */
static int get_script(struct bld *b, const char *loc, const struct ci_node *n,
	struct ci_strv *out)
{
	return flatten_rec(b, loc, n, 0, out);
}

/* Flattens nested arrays of hashes (rules). */
static void flatten_nodes(const struct ci_node *n, int depth,
	const struct ci_node ***out, size_t *cnt, bool *too_deep)
{
	for (size_t i = 0; i < n->n; i++) {
		const struct ci_node *c = n->items[i];

		if (c->type == CI_N_SEQ) {
			if (depth >= MAX_SCRIPT_DEPTH) {
				*too_deep = true;
				return;
			}
			flatten_nodes(c, depth + 1, out, cnt, too_deep);
			continue;
		}
		if ((*cnt & (*cnt - 1)) == 0)
			*out = xrealloc(*out, (*cnt ? *cnt * 2 : 1) * sizeof(**out));
		(*out)[(*cnt)++] = c;
	}
}

/* ---------- variables ---------- */

static int parse_vars(struct bld *b, const char *loc, const struct ci_node *n,
	struct ci_vars *out)
{
	static const char *const data_keys[] = { "value", "description",
		"expand", "options", NULL };

	if (n->type == CI_N_NULL)
		return 0;
	if (n->type != CI_N_MAP)
		return berr(b, n, "%s config should be a hash of key value pairs, "
			"value can be a hash", loc);
	out->v = xcalloc(n->n ? n->n : 1, sizeof(*out->v));
	for (size_t i = 0; i < n->n; i++) {
		const struct ci_kv *kv = &n->kv[i];
		const struct ci_node *v = kv->val;
		struct ci_var *x = &out->v[out->n];

		memset(x, 0, sizeof(*x));
		x->expand = true;
		x->pos.file = n->file;
		x->pos.line = kv->line;
		x->pos.col = kv->col;
		if (v->type == CI_N_MAP) {
			const struct ci_node *val = ci_map_get(v, "value");
			const struct ci_node *d = ci_map_get(v, "description");
			const struct ci_node *e = ci_map_get(v, "expand");
			const struct ci_node *o = ci_map_get(v, "options");

			for (size_t k = 0; k < v->n; k++) {
				if (!in_list(v->kv[k].key, data_keys))
					return berr_kv(b, n, kv, "%s config uses invalid data "
						"keys: %s", loc, v->kv[k].key);
			}
			if (val && !ci_node_is_scalar(val))
				return berr(b, val, "%s config should be a hash of key "
					"value pairs, value can be a hash", loc);
			if (e && e->type != CI_N_BOOL)
				return berr(b, e, "%s config should be a hash of key value "
					"pairs, value can be a hash", loc);
			x->value = xstrdup(val ? ci_node_text(val) : "");
			if (d && ci_node_is_scalar(d))
				x->description = xstrdup(ci_node_text(d));
			if (e)
				x->expand = e->b;
			if (o && o->type == CI_N_SEQ) {
				for (size_t k = 0; k < o->n; k++)
					strv_push(&x->options, ci_node_text(o->items[k]));
			}
		} else if (ci_node_is_scalar(v)) {
			x->value = xstrdup(ci_node_text(v));
		} else {
			return berr_kv(b, n, kv, "%s config should be a hash of key "
				"value pairs, value can be a hash", loc);
		}
		x->key = xstrndup(kv->key, kv->klen);
		out->n++;
	}
	return 0;
}

/* ---------- needs ---------- */

static int parse_needs(struct bld *b, const char *loc, const struct ci_node *n,
	struct ci_needs *out)
{
	static const char *const keys[] = { "job", "artifacts", "optional",
		"pipeline", "project", "ref", "parallel", NULL };
	char *nloc = loc_join(loc, "need");
	int err = 0;

	const struct ci_node **items = NULL;
	size_t cnt = 0;
	bool too_deep = false;

	out->specified = true;
	if (n->type != CI_N_SEQ && n->type != CI_N_MAP) {
		err = berr(b, n, "%s config can only be a Hash or an Array", loc);
		goto done;
	}
	if (n->type == CI_N_SEQ) {
		/* nested arrays (from !reference) are flattened */
		flatten_nodes(n, 1, &items, &cnt, &too_deep);
		if (too_deep) {
			err = berr(b, n, "%s config can only be a Hash or an Array "
				"(nested arrays up to 10 levels deep)", loc);
			goto done;
		}
	}
	for (size_t i = 0; i < (n->type == CI_N_SEQ ? cnt : 1); i++) {
		const struct ci_node *e = n->type == CI_N_SEQ ? items[i] : n;
		struct ci_need *x;

		if (is_text(e)) {
			out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
			x = &out->v[out->n++];
			memset(x, 0, sizeof(*x));
			x->job = xstrdup(ci_node_text(e));
			x->artifacts = true;
			x->pos = pos_of(e);
			continue;
		}
		if (e->type != CI_N_MAP) {
			err = berr(b, e, "%s has an unsupported type", nloc);
			goto done;
		}
		if ((err = check_keys(b, nloc, e, keys)) < 0)
			goto done;
		out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
		x = &out->v[out->n++];
		memset(x, 0, sizeof(*x));
		x->artifacts = true;
		x->pos = pos_of(e);
		for (size_t k = 0; k < e->n; k++) {
			const char *key = e->kv[k].key;
			const struct ci_node *v = e->kv[k].val;

			if (KEY_IS(key, "job"))
				err = get_str(b, nloc, v, &x->job);
			else if (KEY_IS(key, "artifacts"))
				err = get_bool(b, nloc, v, &x->artifacts);
			else if (KEY_IS(key, "optional"))
				err = get_bool(b, nloc, v, &x->optional);
			else if (KEY_IS(key, "pipeline"))
				err = get_str(b, nloc, v, &x->pipeline);
			else if (KEY_IS(key, "project"))
				err = get_str(b, nloc, v, &x->project);
			else if (KEY_IS(key, "ref"))
				err = get_str(b, nloc, v, &x->ref);
			if (err < 0)
				goto done;
		}
		if (!x->job) {
			err = berr(b, e, "%s job can't be blank", nloc);
			goto done;
		}
		x->ignored = x->pipeline || x->project;
	}
done:
	free(items);
	free(nloc);
	return err;
}

/* ---------- rules ---------- */

static int parse_changes(struct bld *b, const char *loc,
	const struct ci_node *n, struct ci_changes *out)
{
	out->specified = true;
	if (n->type == CI_N_MAP) {
		static const char *const keys[] = { "paths", "compare_to", NULL };
		const struct ci_node *p = ci_map_get(n, "paths");
		const struct ci_node *c = ci_map_get(n, "compare_to");
		int err;

		if ((err = check_keys(b, loc, n, keys)) < 0)
			return err;
		if (!p)
			return berr(b, n, "%s paths can't be blank", loc);
		if ((err = get_strv(b, loc, p, false, &out->paths)) < 0)
			return err;
		if (c && (err = get_str(b, loc, c, &out->compare_to)) < 0)
			return err;
		return 0;
	}
	return get_strv(b, loc, n, true, &out->paths);
}

static int parse_rules(struct bld *b, const char *loc, const struct ci_node *n,
	bool workflow, struct ci_rules *out)
{
	static const char *const job_keys[] = { "if", "changes", "exists",
		"when", "start_in", "allow_failure", "variables", "needs",
		"interruptible", NULL };
	static const char *const wf_keys[] = { "if", "changes", "exists",
		"when", "variables", "auto_cancel", NULL };
	const struct ci_node **items = NULL;
	size_t cnt = 0;
	bool too_deep = false;
	char *rloc = loc_join(loc, "rule");
	int err = 0;

	out->specified = true;
	if (n->type != CI_N_SEQ) {
		err = berr(b, n, "%s config should be an array of hashes", loc);
		goto done;
	}
	flatten_nodes(n, 1, &items, &cnt, &too_deep);
	if (too_deep) {
		err = berr(b, n, "%s config should be an array of hashes (nested "
			"arrays up to 10 levels deep)", loc);
		goto done;
	}
	if (cnt == 0) {
		err = berr(b, n, "%s config can't be blank", loc);
		goto done;
	}
	out->v = xcalloc(cnt, sizeof(*out->v));
	for (size_t i = 0; i < cnt; i++) {
		const struct ci_node *r = items[i];
		struct ci_rule *x = &out->v[out->n++];

		x->allow_failure = CI_TRI_UNSET;
		x->interruptible = CI_TRI_UNSET;
		x->pos = pos_of(r);
		if (r->type != CI_N_MAP) {
			err = berr(b, r, "%s config should be a hash", rloc);
			goto done;
		}
		if ((err = check_keys(b, rloc, r, workflow ? wf_keys :
		    job_keys)) < 0)
			goto done;
		for (size_t k = 0; k < r->n; k++) {
			const char *key = r->kv[k].key;
			const struct ci_node *v = r->kv[k].val;

			if (KEY_IS(key, "if")) {
				if (v->type != CI_N_STR) {
					err = berr(b, v, "%s if should be a string", rloc);
				} else if (!expr_valid(b, v->str)) {
					err = berr(b, v, "%s if invalid expression syntax",
						rloc);
				} else {
					x->if_expr = xstrdup(v->str);
					x->if_pos = pos_of(v);
				}
			} else if (KEY_IS(key, "changes")) {
				char *l = loc_join(rloc, "changes");

				err = parse_changes(b, l, v, &x->changes);
				free(l);
			} else if (KEY_IS(key, "exists")) {
				x->exists.specified = true;
				if (v->type == CI_N_MAP) {
					static const char *const ek[] = { "paths", "project",
						"ref", NULL };
					const struct ci_node *p = ci_map_get(v, "paths");
					const struct ci_node *pr = ci_map_get(v, "project");
					const struct ci_node *rf = ci_map_get(v, "ref");

					if ((err = check_keys(b, rloc, v, ek)) == 0 && p)
						err = get_strv(b, rloc, p, true, &x->exists.paths);
					if (err == 0 && pr)
						err = get_str(b, rloc, pr, &x->exists.project);
					if (err == 0 && rf)
						err = get_str(b, rloc, rf, &x->exists.ref);
				} else {
					err = get_strv(b, rloc, v, true, &x->exists.paths);
				}
			} else if (KEY_IS(key, "when")) {
				x->when = is_text(v) ? when_parse(ci_node_text(v)) :
					CI_WHEN_UNSET;
				if (x->when == CI_WHEN_UNSET || (workflow &&
				    x->when != CI_WHEN_ALWAYS && x->when != CI_WHEN_NEVER))
					err = berr(b, v, "%s when unknown value: %s", rloc,
						ci_node_text(v));
			} else if (KEY_IS(key, "start_in")) {
				err = get_str(b, rloc, v, &x->start_in);
				if (err == 0 && ci_duration_parse(x->start_in) < 0)
					err = berr(b, v, "%s start_in should be a duration",
						rloc);
			} else if (KEY_IS(key, "allow_failure")) {
				bool bv = false;

				if ((err = get_bool(b, rloc, v, &bv)) == 0)
					x->allow_failure = bv ? CI_TRI_TRUE : CI_TRI_FALSE;
			} else if (KEY_IS(key, "interruptible")) {
				bool bv = false;

				if ((err = get_bool(b, rloc, v, &bv)) == 0)
					x->interruptible = bv ? CI_TRI_TRUE : CI_TRI_FALSE;
			} else if (KEY_IS(key, "variables")) {
				char *l = loc_join(rloc, "variables");

				err = parse_vars(b, l, v, &x->variables);
				free(l);
			} else if (KEY_IS(key, "needs")) {
				char *l = loc_join(rloc, "needs");

				err = parse_needs(b, l, v, &x->needs);
				free(l);
			}
			if (err < 0)
				goto done;
		}
		if (x->when == CI_WHEN_DELAYED && !x->start_in) {
			err = berr(b, r, "%s start_in should be specified for delayed "
				"rules", rloc);
			goto done;
		}
	}
done:
	free(items);
	free(rloc);
	return err;
}

/* ---------- only / except ---------- */

static int parse_policy(struct bld *b, const char *loc, const struct ci_node *n,
	struct ci_policy *out)
{
	static const char *const keys[] = { "refs", "variables", "changes",
		"kubernetes", NULL };
	int err = 0;

	out->specified = true;
	out->pos = pos_of(n);
	if (n->type == CI_N_SEQ || is_text(n))
		return get_strv(b, loc, n, true, &out->refs);
	if (n->type != CI_N_MAP)
		return berr(b, n, "%s config should be an array of strings or "
			"regular expressions, or a hash", loc);
	if ((err = check_keys(b, loc, n, keys)) < 0)
		return err;
	for (size_t k = 0; k < n->n && err == 0; k++) {
		const char *key = n->kv[k].key;
		const struct ci_node *v = n->kv[k].val;

		if (KEY_IS(key, "refs")) {
			err = get_strv(b, loc, v, true, &out->refs);
		} else if (KEY_IS(key, "variables")) {
			err = get_strv(b, loc, v, true, &out->variables);
			for (size_t i = 0; err == 0 && i < out->variables.n; i++) {
				if (!expr_valid(b, out->variables.v[i]))
					err = berr(b, v, "%s variables invalid expression "
						"syntax", loc);
			}
		} else if (KEY_IS(key, "changes")) {
			err = parse_changes(b, loc, v, &out->changes);
		} else if (KEY_IS(key, "kubernetes")) {
			err = get_str(b, loc, v, &out->kubernetes);
		}
	}
	return err;
}

/* ---------- job ---------- */

static const char *const JOB_KEYS[] = { "image", "services", "before_script",
	"after_script", "hooks", "rules", "variables", "cache", "id_tokens",
	"identity", "secrets", "script", "run", "stage", "type", "only",
	"extends", "needs", "except", "tags", "allow_failure", "timeout", "when",
	"start_in", "manual_confirmation", "dependencies", "artifacts",
	"environment", "release", "coverage", "retry", "parallel",
	"interruptible", "resource_group", "trigger", "inherit", "publish",
	"pages", "dast_configuration", "inputs", NULL };

static const char *const DEFAULT_KEYS[] = { "after_script", "artifacts",
	"before_script", "cache", "hooks", "id_tokens", "image", "interruptible",
	"retry", "services", "tags", "timeout", NULL };

static int parse_inherit_mode(struct bld *b, const char *loc,
	const struct ci_node *v, const char *const *allowed,
	enum ci_inherit_mode *mode, struct ci_strv *keys)
{
	int err;

	if (v->type == CI_N_BOOL) {
		*mode = v->b ? CI_INHERIT_ALL : CI_INHERIT_NONE;
		return 0;
	}
	if (v->type != CI_N_SEQ)
		return berr(b, v, "%s config should be a boolean value or an array "
			"of strings", loc);
	if ((err = get_strv(b, loc, v, false, keys)) < 0)
		return err;
	for (size_t i = 0; allowed && i < keys->n; i++) {
		if (!in_list(keys->v[i], allowed))
			return berr(b, v, "%s config should be a boolean value or an "
				"array of strings", loc);
	}
	*mode = CI_INHERIT_LIST;
	return 0;
}

static int parse_inherit(struct bld *b, const char *loc,
	const struct ci_node *n, struct ci_inherit *out)
{
	static const char *const keys[] = { "default", "variables", NULL };
	char *l = loc_join(loc, "inherit");
	int err;

	if (n->type != CI_N_MAP) {
		err = berr(b, n, "%s config should be a hash", l);
		goto done;
	}
	if ((err = check_keys(b, l, n, keys)) < 0)
		goto done;
	for (size_t k = 0; k < n->n && err == 0; k++) {
		char *kl = loc_join(l, n->kv[k].key);

		if (strcmp(n->kv[k].key, "default") == 0)
			err = parse_inherit_mode(b, kl, n->kv[k].val, DEFAULT_KEYS,
				&out->default_mode, &out->default_keys);
		else
			err = parse_inherit_mode(b, kl, n->kv[k].val, NULL,
				&out->variables_mode, &out->variables_keys);
		free(kl);
	}
done:
	free(l);
	return err;
}

static int parse_environment(struct bld *b, const char *loc,
	const struct ci_node *n, struct ci_environment *e)
{
	static const char *const keys[] = { "name", "url", "action",
		"deployment_tier", "on_stop", "auto_stop_in", "kubernetes",
		NULL };
	static const char *const actions[] = { "start", "prepare", "stop",
		"verify", "access", NULL };
	static const char *const tiers[] = { "production", "staging",
		"testing", "development", "other", NULL };
	char *l = loc_join(loc, "environment");
	int err = 0;

	e->specified = true;
	e->pos = pos_of(n);
	if (is_text(n)) {
		e->name = xstrdup(ci_node_text(n));
		goto done;
	}
	if (n->type != CI_N_MAP) {
		err = berr(b, n, "%s config should be a hash or a string", l);
		goto done;
	}
	if ((err = check_keys(b, l, n, keys)) < 0)
		goto done;
	for (size_t k = 0; k < n->n && err == 0; k++) {
		const char *key = n->kv[k].key;
		const struct ci_node *v = n->kv[k].val;

		if (KEY_IS(key, "name"))
			err = get_str(b, l, v, &e->name);
		else if (KEY_IS(key, "url"))
			err = get_str(b, l, v, &e->url);
		else if (KEY_IS(key, "action")) {
			err = get_str(b, l, v, &e->action);
			if (err == 0 && !in_list(e->action, actions))
				err = berr(b, v, "%s action should be start, stop, "
					"prepare, verify, or access", l);
		} else if (KEY_IS(key, "deployment_tier")) {
			err = get_str(b, l, v, &e->deployment_tier);
			if (err == 0 && !in_list(e->deployment_tier, tiers))
				err = berr(b, v, "%s deployment_tier must be one of: "
					"production, staging, testing, development, other", l);
		} else if (KEY_IS(key, "on_stop"))
			err = get_str(b, l, v, &e->on_stop);
		else if (KEY_IS(key, "auto_stop_in"))
			err = get_str(b, l, v, &e->auto_stop_in);
		else if (KEY_IS(key, "kubernetes"))
			e->kubernetes = ci_node_to_json(v);
	}
	if (err == 0 && (!e->name || !*e->name))
		err = berr(b, n, "%s name can't be blank", l);
done:
	free(l);
	return err;
}

static int parse_exit_codes(struct bld *b, const char *loc,
	const struct ci_node *v, struct ci_intv *out)
{
	for (size_t i = 0; i < (v->type == CI_N_SEQ ? v->n : 1); i++) {
		const struct ci_node *c = v->type == CI_N_SEQ ? v->items[i] : v;
		char *end;
		long x;

		if (c->type != CI_N_INT)
			return berr(b, c, "%s exit_codes should be an array of "
				"integers or an integer", loc);
		x = strtol(c->str, &end, 0);
		intv_push(out, (int)x);
	}
	return 0;
}

static int parse_allow_failure(struct bld *b, const char *loc,
	const struct ci_node *n, struct ci_allow_failure *af)
{
	char *l = loc_join(loc, "allow_failure");
	int err = 0;

	af->specified = true;
	if (n->type == CI_N_BOOL) {
		af->value = n->b;
	} else if (n->type == CI_N_MAP) {
		static const char *const keys[] = { "exit_codes", NULL };
		const struct ci_node *ec = ci_map_get(n, "exit_codes");

		if ((err = check_keys(b, l, n, keys)) == 0 && ec)
			err = parse_exit_codes(b, l, ec, &af->exit_codes);
		af->value = true;
	} else {
		err = berr(b, n, "%s config should be a hash or a boolean value", l);
	}
	free(l);
	return err;
}

static int parse_retry(struct bld *b, const char *loc, const struct ci_node *n,
	struct ci_retry *r)
{
	char *l = loc_join(loc, "retry");
	const struct ci_node *max = n;
	int err = 0;

	r->specified = true;
	if (n->type == CI_N_MAP) {
		static const char *const keys[] = { "max", "when", "exit_codes",
			NULL };
		const struct ci_node *w = ci_map_get(n, "when");
		const struct ci_node *ec = ci_map_get(n, "exit_codes");

		if ((err = check_keys(b, l, n, keys)) < 0)
			goto done;
		max = ci_map_get(n, "max");
		if (w && (err = get_strv(b, l, w, true, &r->when)) < 0)
			goto done;
		if (ec && (err = parse_exit_codes(b, l, ec, &r->exit_codes)) < 0)
			goto done;
	} else if (n->type != CI_N_INT) {
		err = berr(b, n, "%s config should be a hash or an integer", l);
		goto done;
	}
	if (max) {
		long x = max->type == CI_N_INT ? strtol(max->str, NULL, 10) : -1;

		if (x < 0 || x > 2) {
			err = berr(b, max, "%s max should be an integer between 0 and 2",
				l);
			goto done;
		}
		r->max = (int)x;
	}
done:
	free(l);
	return err;
}

static int check_cache(struct bld *b, const char *loc, const struct ci_node *n)
{
	static const char *const keys[] = { "key", "untracked", "paths", "when",
		"policy", "unprotect", "fallback_keys", NULL };
	char *l = loc_join(loc, "cache");
	int err = 0;

	for (size_t i = 0; i < (n->type == CI_N_SEQ ? n->n : 1) && err == 0;
	     i++) {
		const struct ci_node *c = n->type == CI_N_SEQ ? n->items[i] : n;
		const struct ci_node *p, *k;

		if (c->type == CI_N_NULL)
			continue;
		if (c->type != CI_N_MAP) {
			err = berr(b, c, "%s config should be a hash or an array of "
				"hashes", l);
			break;
		}
		if ((err = check_keys(b, l, c, keys)) < 0)
			break;
		p = ci_map_get(c, "paths");
		if (p && p->type != CI_N_SEQ) {
			err = berr(b, p, "%s:paths config should be an array of "
				"strings", l);
			break;
		}
		k = ci_map_get(c, "key");
		if (k && k->type == CI_N_MAP) {
			static const char *const kk[] = { "files", "prefix", NULL };
			const struct ci_node *f = ci_map_get(k, "files");
			char *kl = loc_join(l, "key");

			err = check_keys(b, kl, k, kk);
			if (err == 0 && (!f || f->type != CI_N_SEQ || f->n == 0 ||
			    f->n > 2))
				err = berr(b, f ? f : k, "%s:files config should be an "
					"array of strings with at most 2 items", kl);
			free(kl);
		} else if (k && !is_text(k)) {
			err = berr(b, k, "%s:key config should be a hash, a string or a "
				"symbol", l);
		}
	}
	free(l);
	return err;
}

/* One parallel instance to build from a job map. */
struct instance {
	const char *name;
	int total, index;
	bool matrix;
	const struct ci_node *matrix_vars;  /* map or NULL */
};

static int parse_job(struct bld *b, const char *base, const struct ci_node *n,
	const struct ci_kv *jkv, const struct instance *inst,
	struct ci_job **out)
{
	struct ci_job *j = xcalloc(1, sizeof(*j));
	char *loc = loc_join("jobs", base);
	bool has_script = false;
	int err = 0;

	*out = NULL;
	j->name = xstrdup(inst ? inst->name : base);
	j->base_name = xstrdup(base);
	j->pos.file = n->file;
	j->pos.line = jkv->line;
	j->pos.col = jkv->col;
	j->interruptible = CI_TRI_UNSET;
	if (check_keys(b, loc, n, JOB_KEYS) < 0)
		err = SO_EINVALID;
	for (size_t k = 0; k < n->n; k++) {
		const char *key = n->kv[k].key;
		const struct ci_node *v = n->kv[k].val;
		char *kl = loc_join(loc, key);
		int e = 0;

		if (KEY_IS(key, "script")) {
			has_script = true;
			e = get_script(b, kl, v, &j->script);
			if (e == 0 && j->script.n == 0)
				e = berr(b, v, "%s config can't be blank", kl);
		} else if (KEY_IS(key, "before_script")) {
			j->has_before_script = true;
			e = get_script(b, kl, v, &j->before_script);
		} else if (KEY_IS(key, "after_script")) {
			j->has_after_script = true;
			e = get_script(b, kl, v, &j->after_script);
		} else if (KEY_IS(key, "stage") || KEY_IS(key, "type")) {
			e = get_str(b, kl, v, &j->stage);
		} else if (KEY_IS(key, "when")) {
			j->when = is_text(v) ? when_parse(ci_node_text(v)) :
				CI_WHEN_UNSET;
			if (j->when == CI_WHEN_UNSET || j->when == CI_WHEN_NEVER)
				e = berr(b, v, "%s when should be one of: on_success, "
					"on_failure, always, manual, delayed", loc);
		} else if (KEY_IS(key, "start_in")) {
			e = get_str(b, kl, v, &j->start_in);
		} else if (KEY_IS(key, "allow_failure")) {
			e = parse_allow_failure(b, loc, v, &j->allow_failure);
		} else if (KEY_IS(key, "rules")) {
			e = parse_rules(b, kl, v, false, &j->rules);
		} else if (KEY_IS(key, "only")) {
			e = parse_policy(b, kl, v, &j->only);
		} else if (KEY_IS(key, "except")) {
			e = parse_policy(b, kl, v, &j->except);
		} else if (KEY_IS(key, "needs")) {
			e = parse_needs(b, kl, v, &j->needs);
		} else if (KEY_IS(key, "dependencies")) {
			j->dependencies_specified = true;
			e = get_strv(b, kl, v, false, &j->dependencies);
		} else if (KEY_IS(key, "environment")) {
			e = parse_environment(b, loc, v, &j->environment);
			j->environment_json = ci_node_to_json(v);
		} else if (KEY_IS(key, "timeout")) {
			if ((e = get_str(b, kl, v, &j->timeout)) == 0) {
				j->timeout_seconds = ci_duration_parse(j->timeout);
				if (j->timeout_seconds < 0)
					e = berr(b, v, "%s config should be a duration", kl);
			}
		} else if (KEY_IS(key, "retry")) {
			e = parse_retry(b, loc, v, &j->retry);
		} else if (KEY_IS(key, "resource_group")) {
			e = get_str(b, kl, v, &j->resource_group);
		} else if (KEY_IS(key, "interruptible")) {
			bool bv = false;

			if ((e = get_bool(b, kl, v, &bv)) == 0)
				j->interruptible = bv ? CI_TRI_TRUE : CI_TRI_FALSE;
		} else if (KEY_IS(key, "tags")) {
			e = get_script(b, kl, v, &j->tags);
			if (e == 0 && v->type != CI_N_SEQ)
				e = berr(b, v, "%s config should be an array of strings",
					kl);
		} else if (KEY_IS(key, "variables")) {
			e = parse_vars(b, kl, v, &j->variables);
		} else if (KEY_IS(key, "coverage")) {
			e = get_str(b, kl, v, &j->coverage);
		} else if (KEY_IS(key, "inherit")) {
			e = parse_inherit(b, loc, v, &j->inherit);
		} else if (KEY_IS(key, "extends")) {
			e = get_strv(b, kl, v, true, &j->extends);
		} else if (KEY_IS(key, "artifacts")) {
			if (v->type != CI_N_MAP && v->type != CI_N_NULL)
				e = berr(b, v, "%s config should be a hash", kl);
			j->artifacts = ci_node_to_json(v);
		} else if (KEY_IS(key, "image")) {
			if (!is_text(v) && v->type != CI_N_MAP)
				e = berr(b, v, "%s config should be a hash or a string", kl);
			j->image = ci_node_to_json(v);
		} else if (KEY_IS(key, "services")) {
			if (v->type != CI_N_SEQ)
				e = berr(b, v, "%s config should be a array", kl);
			j->services = ci_node_to_json(v);
		} else if (KEY_IS(key, "cache")) {
			e = check_cache(b, loc, v);
			j->cache = ci_node_to_json(v);
		} else if (KEY_IS(key, "trigger")) {
			if (!is_text(v) && v->type != CI_N_MAP)
				e = berr(b, v, "%s config should be a hash or a string", kl);
			j->trigger = ci_node_to_json(v);
		} else if (KEY_IS(key, "release")) {
			j->release = ci_node_to_json(v);
		} else if (KEY_IS(key, "secrets")) {
			j->secrets = ci_node_to_json(v);
		} else if (KEY_IS(key, "id_tokens")) {
			j->id_tokens = ci_node_to_json(v);
		} else if (KEY_IS(key, "hooks")) {
			j->hooks = ci_node_to_json(v);
		} else if (KEY_IS(key, "pages")) {
			j->pages = ci_node_to_json(v);
		} else if (KEY_IS(key, "run")) {
			e = berr(b, v, "%s: `run:` (CI/CD steps) is not supported by "
				"slashops; use script:", kl);
		} else if (KEY_IS(key, "parallel")) {
			/* expanded by the caller */
		}
		free(kl);
		if (e < 0)
			err = e;
	}
	if (!has_script && !j->trigger && !ci_map_get(n, "run"))
		err = berr_kv(b, n, jkv, "%s config should implement the script:, "
			"run:, or trigger: keyword", loc);
	j->bridge = !has_script && j->trigger;
	if (!j->stage)
		j->stage = xstrdup("test");
	if (j->rules.specified && (j->only.specified || j->except.specified ||
	    j->start_in)) {
		err = berr_kv(b, n, jkv, "%s config key may not be used with "
			"`rules`: %s", loc, j->only.specified ? "only" :
			j->except.specified ? "except" : "start_in");
	}
	if (j->when == CI_WHEN_DELAYED && !j->start_in)
		err = berr_kv(b, n, jkv, "%s start in can't be blank", loc);
	if (j->start_in && !j->rules.specified) {
		if (j->when != CI_WHEN_DELAYED)
			err = berr_kv(b, n, jkv, "%s start in must be blank", loc);
		else if (ci_duration_parse(j->start_in) < 0)
			err = berr_kv(b, n, jkv, "%s start in should be a duration",
				loc);
	}
	if (inst) {
		j->parallel.total = inst->total;
		j->parallel.index = inst->index;
		j->parallel.matrix = inst->matrix;
		if (inst->matrix_vars)
			parse_vars(b, loc, inst->matrix_vars, &j->parallel.matrix_vars);
	}
	if (err < 0) {
		job_free(j);
		free(loc);
		return err;
	}
	*out = j;
	free(loc);
	return 0;
}

/* ---------- parallel ---------- */

/* A copy of a map of string nodes (a matrix combination). */
static struct ci_node *copy_strmap(const struct ci_node *m)
{
	struct ci_node *c = ci_node_new(CI_N_MAP, m->file, m->line, m->col);

	for (size_t i = 0; i < m->n; i++) {
		const struct ci_node *v = m->kv[i].val;
		struct ci_node *s = ci_node_new(CI_N_STR, v->file, v->line, v->col);

		s->str = xstrdup(ci_node_text(v));
		s->len = strlen(s->str);
		ci_map_set(c, m->kv[i].key, m->kv[i].klen, m->kv[i].line,
			m->kv[i].col, s);
	}
	return c;
}

/* Appends to vars/labels every combination of one matrix entry. */
static void matrix_product(const struct ci_node *entry, size_t k,
	struct ci_node *cur, struct buf *label, struct ci_node ***vars,
	char ***labels, size_t *n, size_t cap)
{
	const struct ci_node *v;

	if (*n >= cap)
		return;
	if (k == entry->n) {
		*vars = xrealloc(*vars, (*n + 1) * sizeof(**vars));
		*labels = xrealloc(*labels, (*n + 1) * sizeof(**labels));
		(*vars)[*n] = copy_strmap(cur);
		(*labels)[*n] = xstrdup(buf_cstr(label));
		(*n)++;
		return;
	}
	v = entry->kv[k].val;
	for (size_t i = 0; i < (v->type == CI_N_SEQ ? v->n : 1); i++) {
		const struct ci_node *x = v->type == CI_N_SEQ ? v->items[i] : v;
		size_t save = label->len;
		struct ci_node *s = ci_node_new(CI_N_STR, x->file, x->line, x->col);

		s->str = xstrdup(ci_node_text(x));
		s->len = strlen(s->str);
		ci_map_set(cur, entry->kv[k].key, entry->kv[k].klen, entry->kv[k].line,
			entry->kv[k].col, s);
		buf_printf(label, "%s%s", k ? ", " : "", s->str);
		matrix_product(entry, k + 1, cur, label, vars, labels, n, cap);
		label->len = save;
		if (label->data)
			label->data[save] = '\0';
	}
}

static void free_combos(struct ci_node **vars, char **labels, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ci_node_free(vars[i]);
		free(labels[i]);
	}
	free(vars);
	free(labels);
}

/* All combinations of a parallel:matrix value, in GitLab's order. */
static int matrix_expand(struct bld *b, const char *loc,
	const struct ci_node *matrix, struct ci_node ***vars, char ***labels,
	size_t *n)
{
	*vars = NULL;
	*labels = NULL;
	*n = 0;
	if (matrix->type != CI_N_SEQ || matrix->n == 0)
		return berr(b, matrix, "%s:matrix config should be an array of "
			"hashes", loc);
	for (size_t i = 0; i < matrix->n; i++) {
		const struct ci_node *e = matrix->items[i];
		struct ci_node *cur;
		struct buf label = BUF_INIT(0);

		if (e->type != CI_N_MAP || e->n == 0)
			return berr(b, e, "%s:matrix config should be an array of "
				"hashes", loc);
		for (size_t k = 0; k < e->n; k++) {
			const struct ci_node *v = e->kv[k].val;

			if (v->type == CI_N_SEQ) {
				for (size_t x = 0; x < v->n; x++) {
					if (!is_text(v->items[x]))
						return berr(b, v->items[x], "%s:matrix config "
							"variables should be strings or arrays of "
							"strings", loc);
				}
				if (v->n == 0)
					return berr(b, v, "%s:matrix config variables can't be "
						"blank", loc);
			} else if (!is_text(v)) {
				return berr(b, v, "%s:matrix config variables should be "
					"strings or arrays of strings", loc);
			}
		}
		cur = ci_node_new(CI_N_MAP, e->file, e->line, e->col);
		matrix_product(e, 0, cur, &label, vars, labels, n, MAX_PARALLEL + 1);
		ci_node_free(cur);
		buf_dispose(&label);
		if (*n > MAX_PARALLEL)
			return berr(b, matrix, "%s:matrix config generates too many "
				"jobs (maximum is %d)", loc, MAX_PARALLEL);
	}
	return 0;
}

/* Replaces $[[ matrix.NAME ]] in a needs:parallel:matrix value with the
 * current job's matrix value. Returns a new node (caller frees). */
static int subst_matrix(struct bld *b, const struct ci_node *n,
	struct ci_node **out)
{
	struct ci_node *c;
	int err = 0;

	*out = NULL;
	if (n->type == CI_N_STR && strstr(n->str, "$[[")) {
		struct buf o = BUF_INIT(0);
		const char *p = n->str;

		while (*p) {
			const char *s = strstr(p, "$[["), *e;
			char *name = NULL;
			const struct ci_node *v;

			if (!s || !(e = strstr(s, "]]"))) {
				buf_puts(&o, p);
				break;
			}
			buf_append(&o, p, (size_t)(s - p));
			{
				const char *q = s + 3, *qe = e;

				while (q < qe && isspace((unsigned char)*q))
					q++;
				while (qe > q && isspace((unsigned char)qe[-1]))
					qe--;
				name = xstrndup(q, (size_t)(qe - q));
			}
			v = strncmp(name, "matrix.", 7) == 0 && b->cur_matrix ?
				ci_map_get(b->cur_matrix, name + 7) : NULL;
			if (!v) {
				err = berr(b, n, "needs:parallel:matrix: `%s` is not an "
					"identifier of this job's parallel:matrix", name);
				free(name);
				buf_dispose(&o);
				return err;
			}
			buf_puts(&o, ci_node_text(v));
			free(name);
			p = e + 2;
		}
		c = ci_node_new(CI_N_STR, n->file, n->line, n->col);
		c->str = buf_detach(&o);
		c->len = strlen(c->str);
		*out = c;
		return 0;
	}
	c = ci_node_new(n->type, n->file, n->line, n->col);
	c->b = n->b;
	if (n->str) {
		c->str = xstrndup(n->str, n->len);
		c->len = n->len;
	}
	for (size_t i = 0; i < n->n && err == 0; i++) {
		struct ci_node *x;

		err = subst_matrix(b, n->type == CI_N_MAP ? n->kv[i].val :
			n->items[i], &x);
		if (err < 0)
			break;
		if (n->type == CI_N_MAP)
			ci_map_set(c, n->kv[i].key, n->kv[i].klen, n->kv[i].line,
				n->kv[i].col, x);
		else
			ci_seq_push(c, x);
	}
	if (err < 0) {
		ci_node_free(c);
		return err;
	}
	*out = c;
	return 0;
}

/* Expands needs entries with parallel:matrix into one need per instance. */
static int expand_need_matrices(struct bld *b, const char *loc,
	const struct ci_node *needs_node, struct ci_needs *needs)
{
	const struct ci_node **items = NULL;
	size_t src = 0, cnt = 0;
	bool too_deep = false;
	int err = 0;

	if (!needs_node || needs_node->type != CI_N_SEQ)
		return 0;
	/* needs->v[i] corresponds to the i-th flattened item */
	flatten_nodes(needs_node, 1, &items, &cnt, &too_deep);
	for (size_t i = 0; i < cnt && src < needs->n; i++, src++) {
		const struct ci_node *e = items[i];
		const struct ci_node *par = e->type == CI_N_MAP ?
			ci_map_get(e, "parallel") : NULL;
		const struct ci_node *mx = par && par->type == CI_N_MAP ?
			ci_map_get(par, "matrix") : NULL;
		struct ci_node *subst = NULL, **vars = NULL;
		char **labels = NULL;
		size_t n = 0;
		struct ci_need base;

		if (!par)
			continue;
		if (!mx) {
			err = berr(b, par, "%s:need parallel config should contain "
				"a matrix", loc);
			break;
		}
		if ((err = subst_matrix(b, mx, &subst)) < 0)
			break;
		err = matrix_expand(b, loc, subst, &vars, &labels, &n);
		ci_node_free(subst);
		if (err < 0) {
			free_combos(vars, labels, n);
			break;
		}
		base = needs->v[src];
		needs->v = xrealloc(needs->v, (needs->n + n) * sizeof(*needs->v));
		memmove(&needs->v[src + n], &needs->v[src + 1],
			(needs->n - src - 1) * sizeof(*needs->v));
		needs->n += n - 1;
		for (size_t k = 0; k < n; k++) {
			struct ci_need *x = &needs->v[src + k];

			*x = base;
			x->job = xasprintf("%s: [%s]", base.job, labels[k]);
			x->pipeline = xstrdup(base.pipeline);
			x->project = xstrdup(base.project);
			x->ref = xstrdup(base.ref);
		}
		free(base.job);
		free(base.pipeline);
		free(base.project);
		free(base.ref);
		src += n - 1;
		free_combos(vars, labels, n);
	}
	free(items);
	return err;
}

static void add_job(struct bld *b, struct ci_job *j)
{
	struct ci_config *cfg = b->cfg;

	if ((cfg->n_jobs & (cfg->n_jobs - 1)) == 0)
		cfg->jobs = xrealloc(cfg->jobs, (cfg->n_jobs ? cfg->n_jobs * 2 : 1) *
			sizeof(*cfg->jobs));
	cfg->jobs[cfg->n_jobs++] = j;
}

static int build_job(struct bld *b, const struct ci_kv *jkv)
{
	const struct ci_node *n = jkv->val;
	const struct ci_node *par = ci_map_get(n, "parallel");
	char *loc = loc_join("jobs", jkv->key);
	char *ploc = loc_join(loc, "parallel");
	struct ci_node **vars = NULL;
	char **labels = NULL;
	size_t cnt = 0;
	long total = 0;
	int err = 0;

	if (jkv->klen > MAX_NAME) {
		err = berr_kv(b, n, jkv, "%s name is too long (maximum is %d "
			"characters)", loc, MAX_NAME);
		goto done;
	}
	if (!par || par->type == CI_N_NULL) {
		struct ci_job *j;

		b->cur_matrix = NULL;
		if ((err = parse_job(b, jkv->key, n, jkv, NULL, &j)) == 0) {
			err = expand_need_matrices(b, loc, ci_map_get(n, "needs"),
				&j->needs);
			add_job(b, j);
		}
		goto done;
	}
	if (par->type == CI_N_INT) {
		total = strtol(par->str, NULL, 10);
		if (total < 1 || total > MAX_PARALLEL) {
			err = berr(b, par, "%s config must be between 1 and %d", ploc,
				MAX_PARALLEL);
			goto done;
		}
	} else if (par->type == CI_N_MAP) {
		static const char *const keys[] = { "matrix", NULL };
		const struct ci_node *mx = ci_map_get(par, "matrix");

		if ((err = check_keys(b, ploc, par, keys)) < 0)
			goto done;
		if (!mx) {
			err = berr(b, par, "%s config should be an integer or a hash",
				ploc);
			goto done;
		}
		if ((err = matrix_expand(b, ploc, mx, &vars, &labels, &cnt)) < 0)
			goto done;
		total = (long)cnt;
	} else {
		err = berr(b, par, "%s config should be an integer or a hash", ploc);
		goto done;
	}
	for (long i = 0; i < total; i++) {
		struct instance in = { 0 };
		struct ci_job *j;
		char *name = vars ? xasprintf("%s: [%s]", jkv->key, labels[i]) :
			xasprintf("%s %ld/%ld", jkv->key, i + 1, total);
		int e;

		in.name = name;
		in.total = (int)total;
		in.index = (int)i + 1;
		in.matrix = vars != NULL;
		in.matrix_vars = vars ? vars[i] : NULL;
		b->cur_matrix = in.matrix_vars;
		e = parse_job(b, jkv->key, n, jkv, &in, &j);
		if (e == 0) {
			e = expand_need_matrices(b, loc, ci_map_get(n, "needs"),
				&j->needs);
			add_job(b, j);
		}
		free(name);
		if (e < 0) {
			err = e;
			break;
		}
	}
done:
	b->cur_matrix = NULL;
	free_combos(vars, labels, cnt);
	free(loc);
	free(ploc);
	return err;
}

/* ---------- top level ---------- */

static const char *const ROOT_KEYS[] = { "default", "include",
	"before_script", "image", "services", "after_script", "variables",
	"stages", "types", "cache", "workflow", NULL };

/* Moves deprecated top-level keys into default: (GitLab treats them as
 * defaults; both places at once is an error). */
static int lift_deprecated(struct bld *b, struct ci_node *root)
{
	static const char *const keys[] = { "image", "services", "cache",
		"before_script", "after_script", NULL };
	struct ci_node *def = ci_map_get(root, "default");
	int err = 0;

	for (size_t i = 0; keys[i]; i++) {
		const struct ci_kv *kv = ci_map_kv(root, keys[i]);
		struct ci_node *v;

		if (!kv)
			continue;
		if (def && def->type == CI_N_MAP && ci_map_get(def, keys[i])) {
			err = berr_kv(b, root, kv, "%s is defined in top-level and "
				"`default:` entry", keys[i]);
			continue;
		}
		if (!def || def->type != CI_N_MAP) {
			if (def && def->type != CI_N_NULL)
				continue;  /* reported by the default: check */
			ci_map_set(root, "default", 7, kv->line, kv->col,
				ci_node_new(CI_N_MAP, root->file, kv->line, kv->col));
			def = ci_map_get(root, "default");
			kv = ci_map_kv(root, keys[i]);
		}
		{
			unsigned line = kv->line, col = kv->col;

			v = ci_map_take(root, keys[i]);
			ci_map_set(def, keys[i], strlen(keys[i]), line, col, v);
		}
	}
	return err;
}

static int build_stages(struct bld *b, const struct ci_node *root)
{
	const struct ci_kv *kv = ci_map_kv(root, "stages");
	struct ci_strv st = { 0 };
	struct ci_config *cfg = b->cfg;
	int err = 0;

	if (!kv)
		kv = ci_map_kv(root, "types");
	if (!kv || kv->val->type == CI_N_NULL) {
		strv_push(&st, "build");
		strv_push(&st, "test");
		strv_push(&st, "deploy");
	} else if (kv->val->type != CI_N_SEQ) {
		err = berr(b, kv->val, "stages config should be an array of "
			"strings");
	} else if ((err = get_script(b, "stages", kv->val, &st)) < 0) {
		/* reported */
	}
	cfg->stages = xcalloc(st.n + 2, sizeof(char *));
	cfg->stages[cfg->n_stages++] = xstrdup(".pre");
	for (size_t i = 0; i < st.n; i++) {
		if (strcmp(st.v[i], ".pre") && strcmp(st.v[i], ".post"))
			cfg->stages[cfg->n_stages++] = xstrdup(st.v[i]);
	}
	cfg->stages[cfg->n_stages++] = xstrdup(".post");
	strv_free(&st);
	return err;
}

static int build_workflow(struct bld *b, const struct ci_node *n)
{
	static const char *const keys[] = { "rules", "name", "auto_cancel",
		NULL };
	struct ci_workflow *w = &b->cfg->workflow;
	int err = 0;

	if (n->type == CI_N_NULL)
		return 0;
	if (n->type != CI_N_MAP)
		return berr(b, n, "workflow config should be a hash");
	w->specified = true;
	if ((err = check_keys(b, "workflow", n, keys)) < 0)
		return err;
	for (size_t k = 0; k < n->n && err == 0; k++) {
		const char *key = n->kv[k].key;
		const struct ci_node *v = n->kv[k].val;

		if (KEY_IS(key, "rules"))
			err = parse_rules(b, "workflow:rules", v, true, &w->rules);
		else if (KEY_IS(key, "name"))
			err = get_str(b, "workflow:name", v, &w->name);
		else
			w->auto_cancel = ci_node_to_json(v);
	}
	return err;
}

/* Copies default: values into a job map that does not set them. */
static int apply_defaults(struct bld *b, const struct ci_node *def,
	struct ci_node *job)
{
	const struct ci_node *inh = ci_map_get(job, "inherit");
	const struct ci_node *d = inh && inh->type == CI_N_MAP ?
		ci_map_get(inh, "default") : NULL;
	int err;

	if (!def || def->type != CI_N_MAP)
		return 0;
	if (d && d->type == CI_N_BOOL && !d->b)
		return 0;
	for (size_t i = 0; i < def->n; i++) {
		const struct ci_kv *kv = &def->kv[i];
		struct ci_node *c;
		bool listed = true;

		if (ci_map_get(job, kv->key))
			continue;
		if (d && d->type == CI_N_SEQ) {
			listed = false;
			for (size_t k = 0; k < d->n; k++)
				listed = listed || strcmp(ci_node_text(d->items[k]),
					kv->key) == 0;
		}
		if (!listed)
			continue;
		if ((err = ci_node_copy(b->ctx, kv->val, &c)) < 0)
			return err;
		ci_map_set(job, kv->key, kv->klen, kv->line, kv->col, c);
	}
	return 0;
}

static int check_default(struct bld *b, const struct ci_node *def)
{
	struct ci_job *tmp = NULL;
	struct ci_kv kv = { (char *)"default", NULL, 7, def->line, def->col, 0 };
	struct ci_node *probe;
	int err;

	if (def->type == CI_N_NULL)
		return 0;
	if (def->type != CI_N_MAP)
		return berr(b, def, "default config should be a hash");
	if ((err = check_keys(b, "default", def, DEFAULT_KEYS)) < 0)
		return err;
	/* validate the values with the job parser on a probe job */
	if ((err = ci_node_copy(b->ctx, def, &probe)) < 0)
		return err;
	if (!ci_map_get(probe, "script")) {
		struct ci_node *s = ci_node_new(CI_N_STR, def->file, def->line,
			def->col);

		s->str = xstrdup("true");
		s->len = 4;
		ci_map_set(probe, "script", 6, def->line, def->col, s);
	}
	kv.val = probe;
	err = parse_job(b, "default", probe, &kv, NULL, &tmp);
	job_free(tmp);
	ci_node_free(probe);
	return err;
}

/* ---------- cross-job checks (Gitlab::Ci::YamlProcessor) ---------- */

struct par_group {
	size_t first, count;
};

static void rewrite_parallel_names(struct bld *b, struct ci_hmap *groups,
	struct ci_needs *needs, struct ci_strv *deps)
{
	struct ci_config *cfg = b->cfg;
	struct cfg_priv *p = cfg->priv;

	for (size_t i = 0; needs && i < needs->n; i++) {
		struct ci_need *x = &needs->v[i];
		struct par_group *g;

		if (x->ignored || ci_hmap_get(&p->jobs, x->job, strlen(x->job)) ||
		    !(g = ci_hmap_get(groups, x->job, strlen(x->job))))
			continue;
		{
			struct ci_need base = *x;
			size_t n = g->count;

			needs->v = xrealloc(needs->v, (needs->n + n) *
				sizeof(*needs->v));
			memmove(&needs->v[i + n], &needs->v[i + 1],
				(needs->n - i - 1) * sizeof(*needs->v));
			needs->n += n - 1;
			for (size_t k = 0; k < n; k++) {
				struct ci_need *y = &needs->v[i + k];

				*y = base;
				y->job = xstrdup(cfg->jobs[g->first + k]->name);
				y->pipeline = xstrdup(base.pipeline);
				y->project = xstrdup(base.project);
				y->ref = xstrdup(base.ref);
			}
			free(base.job);
			free(base.pipeline);
			free(base.project);
			free(base.ref);
			i += n - 1;
		}
	}
	if (deps) {
		struct ci_strv nd = { 0 };
		bool changed = false;

		for (size_t i = 0; i < deps->n; i++) {
			struct par_group *g;

			if (!ci_hmap_get(&p->jobs, deps->v[i], strlen(deps->v[i])) &&
			    (g = ci_hmap_get(groups, deps->v[i], strlen(deps->v[i])))) {
				for (size_t k = 0; k < g->count; k++)
					strv_push(&nd, cfg->jobs[g->first + k]->name);
				changed = true;
			} else {
				strv_push(&nd, deps->v[i]);
			}
		}
		if (changed) {
			strv_free(deps);
			*deps = nd;
		} else {
			strv_free(&nd);
		}
	}
}

static int job_err(struct bld *b, const struct ci_job *j, const char *fmt,
	...) __attribute__((format(printf, 3, 4)));

static int job_err(struct bld *b, const struct ci_job *j, const char *fmt, ...)
{
	va_list ap;
	struct buf m = BUF_INIT(0);

	va_start(ap, fmt);
	buf_vprintf(&m, fmt, ap);
	va_end(ap);
	ci_diag_add(b->ctx->diags, CI_DIAG_ERROR, j->pos.file, j->pos.line,
		j->pos.col, "%s", buf_cstr(&m));
	buf_dispose(&m);
	if (!b->err)
		b->err = SO_EINVALID;
	return SO_EINVALID;
}

static void check_need_list(struct bld *b, const struct ci_job *j,
	const struct ci_needs *needs)
{
	for (size_t i = 0; i < needs->n; i++) {
		const struct ci_need *x = &needs->v[i];
		const struct ci_job *t;

		if (x->ignored)
			continue;
		t = ci_config_job(b->cfg, x->job);
		if (!t) {
			if (!x->optional)
				job_err(b, j, "%s job: undefined need: %s", j->name, x->job);
			continue;
		}
		if (t->stage_index > j->stage_index)
			job_err(b, j, "%s job: need %s is not defined in current or "
				"prior stages", j->name, x->job);
	}
}

static int check_jobs(struct bld *b)
{
	struct ci_config *cfg = b->cfg;
	struct cfg_priv *p = cfg->priv;
	struct ci_hmap groups = CI_HMAP_INIT;
	struct par_group *gs = xcalloc(cfg->n_jobs + 1, sizeof(*gs));
	size_t n_groups = 0;
	struct buf avail = BUF_INIT(0);

	for (size_t i = 0; i < cfg->n_stages; i++)
		buf_printf(&avail, "%s%s", i ? ", " : "", cfg->stages[i]);
	for (size_t i = 0; i < cfg->n_jobs; i++) {
		struct ci_job *j = cfg->jobs[i];
		long si = ci_config_stage_index(cfg, j->stage);

		if (si < 0) {
			job_err(b, j, "%s job: chosen stage %s does not exist; "
				"available stages are %s", j->name, j->stage,
				buf_cstr(&avail));
			si = 0;
		}
		j->stage_index = (size_t)si;
		if (ci_hmap_put(&p->jobs, j->name, strlen(j->name), j))
			job_err(b, j, "jobs:%s is defined more than once", j->name);
		if (j->parallel.total > 0 && j->parallel.index == 1) {
			gs[n_groups].first = i;
			gs[n_groups].count = (size_t)j->parallel.total;
			ci_hmap_put(&groups, j->base_name, strlen(j->base_name),
				&gs[n_groups]);
			n_groups++;
		}
	}
	for (size_t i = 0; i < cfg->n_jobs; i++) {
		struct ci_job *j = cfg->jobs[i];

		rewrite_parallel_names(b, &groups, &j->needs, &j->dependencies);
		for (size_t r = 0; r < j->rules.n; r++)
			rewrite_parallel_names(b, &groups, &j->rules.v[r].needs, NULL);
	}
	for (size_t i = 0; i < cfg->n_jobs; i++) {
		struct ci_job *j = cfg->jobs[i];

		check_need_list(b, j, &j->needs);
		for (size_t r = 0; r < j->rules.n; r++)
			check_need_list(b, j, &j->rules.v[r].needs);
		for (size_t d = 0; d < j->dependencies.n; d++) {
			const char *dn = j->dependencies.v[d];
			const struct ci_job *t = ci_config_job(cfg, dn);
			bool in_needs = false;

			if (!t) {
				job_err(b, j, "%s job: undefined dependency: %s", j->name,
					dn);
				continue;
			}
			if (t->stage_index > j->stage_index ||
			    (t->stage_index == j->stage_index && !j->needs.n)) {
				job_err(b, j, "%s job: dependency %s is not defined in "
					"current or prior stages", j->name, dn);
				continue;
			}
			for (size_t k = 0; k < j->needs.n; k++)
				in_needs = in_needs || strcmp(j->needs.v[k].job, dn) == 0;
			if (j->needs.n && !in_needs)
				job_err(b, j, "%s job: dependency %s should be part of "
					"needs", j->name, dn);
		}
	}
	/* needs cycles: iterative DFS, colour 0 white, 1 grey, 2 black */
	{
		unsigned char *colour = xcalloc(cfg->n_jobs + 1, 1);
		struct { size_t job, next; } *stack = xcalloc(cfg->n_jobs + 1,
			sizeof(*stack));
		struct ci_hmap index = CI_HMAP_INIT;
		bool cyclic = false;

		for (size_t i = 0; i < cfg->n_jobs; i++)
			ci_hmap_put(&index, cfg->jobs[i]->name,
				strlen(cfg->jobs[i]->name), (void *)(i + 1));
		for (size_t s = 0; s < cfg->n_jobs && !cyclic; s++) {
			size_t sp = 0;

			if (colour[s])
				continue;
			stack[sp].job = s;
			stack[sp++].next = 0;
			colour[s] = 1;
			while (sp && !cyclic) {
				size_t u = stack[sp - 1].job;
				const struct ci_needs *nd = &cfg->jobs[u]->needs;

				if (stack[sp - 1].next < nd->n) {
					const struct ci_need *x = &nd->v[stack[sp - 1].next++];
					size_t v = x->ignored ? 0 : (size_t)ci_hmap_get(&index,
						x->job, strlen(x->job));

					if (!v)
						continue;
					v--;
					if (colour[v] == 1) {
						cyclic = true;
						job_err(b, cfg->jobs[u], "The pipeline has circular "
							"dependencies: %s needs %s", cfg->jobs[u]->name,
							cfg->jobs[v]->name);
					} else if (colour[v] == 0) {
						colour[v] = 1;
						stack[sp].job = v;
						stack[sp++].next = 0;
					}
				} else {
					colour[u] = 2;
					sp--;
				}
			}
		}
		ci_hmap_clear(&index);
		free(stack);
		free(colour);
	}
	ci_hmap_clear(&groups);
	free(gs);
	buf_dispose(&avail);
	return b->err;
}

static int build_config(struct bld *b, struct ci_node *root)
{
	const struct ci_node *def;
	struct ci_compose *comp = NULL;
	struct ci_hmap pins = CI_HMAP_INIT;
	int err;

	lift_deprecated(b, root);
	/* Compose (extends, !reference) entry by entry: the top-level keys
	 * first, then each job just before it is built; a job's tree is freed
	 * once its model exists unless a reference or extends may look at it. */
	ci_compose_pins(root, &pins);
	ci_compose_begin(b->ctx, root, &comp);
	for (size_t i = 0; i < root->n; i++) {
		if (in_list(root->kv[i].key, ROOT_KEYS) &&
		    (err = ci_compose_entry(comp, i)) < 0)
			goto done;
	}
	def = ci_map_get(root, "default");
	if (def)
		check_default(b, def);
	build_stages(b, root);
	for (size_t i = 0; i < root->n; i++) {
		const struct ci_kv *kv = &root->kv[i];

		if (strcmp(kv->key, "variables") == 0)
			parse_vars(b, "variables", kv->val, &b->cfg->variables);
		else if (strcmp(kv->key, "workflow") == 0)
			build_workflow(b, kv->val);
	}
	if (def && def->type == CI_N_MAP)
		b->cfg->default_json = ci_node_to_json(def);
	for (size_t i = 0; i < root->n; i++) {
		struct ci_kv *kv = &root->kv[i];

		if (in_list(kv->key, ROOT_KEYS) || kv->key[0] == '.')
			continue;
		if ((err = ci_compose_entry(comp, i)) < 0)
			goto done;
		if (kv->val->type != CI_N_MAP) {
			berr_kv(b, root, kv, "jobs:%s config should implement the "
				"script:, run:, or trigger: keyword", kv->key);
			continue;
		}
		if ((err = apply_defaults(b, def, kv->val)) < 0)
			goto done;
		build_job(b, kv);
		if (!ci_hmap_get(&pins, kv->key, kv->klen)) {
			struct ci_node *gone = kv->val;

			kv->val = ci_node_new(CI_N_NULL, gone->file, gone->line,
				gone->col);
			ci_node_free(gone);
		}
	}
	/* hidden entries nobody used: GitLab still resolves (and reports) */
	if ((err = ci_compose_rest(comp)) < 0)
		goto done;
	if (b->cfg->n_jobs == 0 && !b->err)
		berr(b, root, "jobs config should contain at least one visible job");
	err = b->err ? b->err : check_jobs(b);
done:
	ci_compose_end(comp);
	ci_compose_pins_free(&pins);
	return err;
}

/* ---------- JSON ---------- */

static json_t *strv_json(const struct ci_strv *v)
{
	json_t *a = json_array();

	for (size_t i = 0; i < v->n; i++)
		json_array_append_new(a, json_string(v->v[i]));
	return a;
}

static json_t *intv_json(const struct ci_intv *v)
{
	json_t *a = json_array();

	for (size_t i = 0; i < v->n; i++)
		json_array_append_new(a, json_integer(v->v[i]));
	return a;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *tri_json(enum ci_tri t)
{
	return t == CI_TRI_UNSET ? json_null() : json_boolean(t == CI_TRI_TRUE);
}

static json_t *vars_json(const struct ci_vars *v)
{
	json_t *a = json_array();

	for (size_t i = 0; i < v->n; i++) {
		json_t *o = json_pack("{s:s, s:s, s:b}", "key", v->v[i].key,
			"value", v->v[i].value, "expand", v->v[i].expand);

		if (v->v[i].description)
			json_object_set_new(o, "description",
				json_string(v->v[i].description));
		if (v->v[i].options.n)
			json_object_set_new(o, "options", strv_json(&v->v[i].options));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *needs_json(const struct ci_needs *n)
{
	json_t *a;

	if (!n->specified)
		return json_null();
	a = json_array();
	for (size_t i = 0; i < n->n; i++) {
		const struct ci_need *x = &n->v[i];
		json_t *o = json_pack("{s:s, s:b, s:b}", "job", x->job, "optional",
			x->optional, "artifacts", x->artifacts);

		if (x->pipeline)
			json_object_set_new(o, "pipeline", json_string(x->pipeline));
		if (x->project)
			json_object_set_new(o, "project", json_string(x->project));
		if (x->ref)
			json_object_set_new(o, "ref", json_string(x->ref));
		if (x->ignored)
			json_object_set_new(o, "ignored", json_true());
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *changes_json(const struct ci_changes *c)
{
	json_t *o;

	if (!c->specified)
		return json_null();
	o = json_pack("{s:o}", "paths", strv_json(&c->paths));
	if (c->compare_to)
		json_object_set_new(o, "compare_to", json_string(c->compare_to));
	return o;
}

static json_t *rules_json(const struct ci_rules *r)
{
	json_t *a;

	if (!r->specified)
		return json_null();
	a = json_array();
	for (size_t i = 0; i < r->n; i++) {
		const struct ci_rule *x = &r->v[i];
		json_t *o = json_object();

		if (x->if_expr)
			json_object_set_new(o, "if", json_string(x->if_expr));
		if (x->changes.specified)
			json_object_set_new(o, "changes", changes_json(&x->changes));
		if (x->exists.specified)
			json_object_set_new(o, "exists", strv_json(&x->exists.paths));
		if (x->when)
			json_object_set_new(o, "when", json_string(ci_when_name(x->when)));
		if (x->start_in)
			json_object_set_new(o, "start_in", json_string(x->start_in));
		if (x->allow_failure != CI_TRI_UNSET)
			json_object_set_new(o, "allow_failure",
				tri_json(x->allow_failure));
		if (x->interruptible != CI_TRI_UNSET)
			json_object_set_new(o, "interruptible",
				tri_json(x->interruptible));
		if (x->variables.n)
			json_object_set_new(o, "variables", vars_json(&x->variables));
		if (x->needs.specified)
			json_object_set_new(o, "needs", needs_json(&x->needs));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *policy_json(const struct ci_policy *p)
{
	json_t *o;

	if (!p->specified)
		return json_null();
	o = json_pack("{s:o}", "refs", strv_json(&p->refs));
	if (p->variables.n)
		json_object_set_new(o, "variables", strv_json(&p->variables));
	if (p->changes.specified)
		json_object_set_new(o, "changes", changes_json(&p->changes));
	if (p->kubernetes)
		json_object_set_new(o, "kubernetes", json_string(p->kubernetes));
	return o;
}

static const char *inherit_mode(enum ci_inherit_mode m)
{
	return m == CI_INHERIT_ALL ? "all" : m == CI_INHERIT_NONE ? "none" :
		"list";
}

static void set_opt(json_t *o, const char *k, json_t *v)
{
	if (v)
		json_object_set(o, k, v);
}

static json_t *job_json(const struct ci_job *j)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(j->name));
	if (strcmp(j->name, j->base_name))
		json_object_set_new(o, "base_name", json_string(j->base_name));
	json_object_set_new(o, "pos", json_sprintf("%s:%u:%u", j->pos.file,
		j->pos.line, j->pos.col));
	json_object_set_new(o, "stage", json_string(j->stage));
	if (j->bridge)
		json_object_set_new(o, "bridge", json_true());
	json_object_set_new(o, "script", strv_json(&j->script));
	if (j->has_before_script)
		json_object_set_new(o, "before_script",
			strv_json(&j->before_script));
	if (j->has_after_script)
		json_object_set_new(o, "after_script", strv_json(&j->after_script));
	if (j->when)
		json_object_set_new(o, "when", json_string(ci_when_name(j->when)));
	if (j->start_in)
		json_object_set_new(o, "start_in", json_string(j->start_in));
	json_object_set_new(o, "allow_failure",
		json_boolean(ci_job_allow_failure(j)));
	if (j->allow_failure.exit_codes.n)
		json_object_set_new(o, "allow_failure_exit_codes",
			intv_json(&j->allow_failure.exit_codes));
	if (j->rules.specified)
		json_object_set_new(o, "rules", rules_json(&j->rules));
	if (j->only.specified)
		json_object_set_new(o, "only", policy_json(&j->only));
	if (j->except.specified)
		json_object_set_new(o, "except", policy_json(&j->except));
	if (j->needs.specified)
		json_object_set_new(o, "needs", needs_json(&j->needs));
	if (j->dependencies_specified)
		json_object_set_new(o, "dependencies", strv_json(&j->dependencies));
	if (j->environment.specified) {
		const struct ci_environment *e = &j->environment;
		json_t *eo = json_pack("{s:s}", "name", e->name ? e->name : "");

		if (e->url)
			json_object_set_new(eo, "url", json_string(e->url));
		if (e->action)
			json_object_set_new(eo, "action", json_string(e->action));
		if (e->deployment_tier)
			json_object_set_new(eo, "deployment_tier",
				json_string(e->deployment_tier));
		if (e->on_stop)
			json_object_set_new(eo, "on_stop", json_string(e->on_stop));
		if (e->auto_stop_in)
			json_object_set_new(eo, "auto_stop_in",
				json_string(e->auto_stop_in));
		json_object_set_new(o, "environment", eo);
	}
	if (j->timeout)
		json_object_set_new(o, "timeout", json_pack("{s:s, s:I}", "value",
			j->timeout, "seconds", (json_int_t)j->timeout_seconds));
	if (j->retry.specified) {
		json_t *r = json_pack("{s:i}", "max", j->retry.max);

		if (j->retry.when.n)
			json_object_set_new(r, "when", strv_json(&j->retry.when));
		if (j->retry.exit_codes.n)
			json_object_set_new(r, "exit_codes",
				intv_json(&j->retry.exit_codes));
		json_object_set_new(o, "retry", r);
	}
	if (j->resource_group)
		json_object_set_new(o, "resource_group",
			json_string(j->resource_group));
	if (j->interruptible != CI_TRI_UNSET)
		json_object_set_new(o, "interruptible", tri_json(j->interruptible));
	if (j->tags.n)
		json_object_set_new(o, "tags", strv_json(&j->tags));
	if (j->variables.n)
		json_object_set_new(o, "variables", vars_json(&j->variables));
	if (j->coverage)
		json_object_set_new(o, "coverage", json_string(j->coverage));
	if (j->inherit.default_mode != CI_INHERIT_ALL ||
	    j->inherit.variables_mode != CI_INHERIT_ALL) {
		json_t *in = json_object();

		json_object_set_new(in, "default", j->inherit.default_mode ==
			CI_INHERIT_LIST ? strv_json(&j->inherit.default_keys) :
			json_string(inherit_mode(j->inherit.default_mode)));
		json_object_set_new(in, "variables", j->inherit.variables_mode ==
			CI_INHERIT_LIST ? strv_json(&j->inherit.variables_keys) :
			json_string(inherit_mode(j->inherit.variables_mode)));
		json_object_set_new(o, "inherit", in);
	}
	if (j->parallel.total) {
		json_t *p = json_pack("{s:i, s:i}", "index", j->parallel.index,
			"total", j->parallel.total);

		if (j->parallel.matrix)
			json_object_set_new(p, "matrix",
				vars_json(&j->parallel.matrix_vars));
		json_object_set_new(o, "parallel", p);
	}
	if (j->extends.n)
		json_object_set_new(o, "extends", strv_json(&j->extends));
	set_opt(o, "artifacts", j->artifacts);
	set_opt(o, "image", j->image);
	set_opt(o, "services", j->services);
	set_opt(o, "cache", j->cache);
	set_opt(o, "trigger", j->trigger);
	set_opt(o, "release", j->release);
	set_opt(o, "secrets", j->secrets);
	set_opt(o, "id_tokens", j->id_tokens);
	set_opt(o, "hooks", j->hooks);
	set_opt(o, "pages", j->pages);
	return o;
}

json_t *ci_config_to_json(const struct ci_config *cfg)
{
	json_t *o = json_object(), *jobs = json_array();
	json_t *st = json_array();

	for (size_t i = 0; i < cfg->n_stages; i++)
		json_array_append_new(st, json_string(cfg->stages[i]));
	json_object_set_new(o, "stages", st);
	json_object_set_new(o, "variables", vars_json(&cfg->variables));
	if (cfg->workflow.specified) {
		json_t *w = json_object();

		if (cfg->workflow.name)
			json_object_set_new(w, "name", json_string(cfg->workflow.name));
		if (cfg->workflow.rules.specified)
			json_object_set_new(w, "rules", rules_json(&cfg->workflow.rules));
		json_object_set_new(o, "workflow", w);
	}
	if (cfg->default_json)
		json_object_set(o, "default", cfg->default_json);
	for (size_t i = 0; i < cfg->n_jobs; i++)
		json_array_append_new(jobs, job_json(cfg->jobs[i]));
	json_object_set_new(o, "jobs", jobs);
	(void)str_or_null;
	return o;
}

/* ---------- the loader ---------- */

int ci_config_load(struct ci_config **out, const char *path, const char *data,
	size_t len, const struct ci_load_options *opts, struct ci_diags *diags)
{
	static const struct ci_load_options none = { 0 };
	struct ci_diags local;
	struct ci_yctx ctx;
	struct ci_node *root = NULL, *header = NULL;
	struct bld b = { 0 };
	struct ci_config *cfg = NULL;
	int err;

	*out = NULL;
	if (!opts)
		opts = &none;
	ci_diags_init(&local);
	ci_yctx_init(&ctx, &local, opts->max_nodes, opts->max_bytes);
	if ((err = ci_yaml_load(&ctx, path, data, len, &root, &header)) < 0)
		goto done;
	if (root->n == 0 && !header) {
		err = ci_diag_add(&local, CI_DIAG_ERROR, path, 1, 1,
			"Please provide content of %s", path);
		goto done;
	}
	if ((err = ci_inputs_apply(&ctx, opts, header, NULL, root, root)) < 0 ||
	    (err = ci_include_process(&ctx, opts, path, &root)) < 0)
		goto done;
	cfg = xcalloc(1, sizeof(*cfg));
	cfg->priv = xcalloc(1, sizeof(struct cfg_priv));
	b.ctx = &ctx;
	b.opts = opts;
	b.cfg = cfg;
	err = build_config(&b, root);
	for (size_t i = 0; i < b.exprs.cap; i++)
		free((char *)b.exprs.slots[i].key);
	ci_hmap_clear(&b.exprs);
done:
	if (err == 0 && local.n_errors)
		err = SO_EINVALID;
	if (err < 0) {
		ci_config_free(cfg);
		cfg = NULL;
		if (local.n_errors == 0)
			ci_diag_add(&local, CI_DIAG_ERROR, path, 1, 1, "%s",
				*error_msg() ? error_msg() : "invalid configuration");
		error_set(err == SO_ETOOBIG ? SO_ETOOBIG : SO_EINVALID, "%s:%u:%u: %s",
			local.v[0].file, local.v[0].line, local.v[0].col,
			local.v[0].message);
		err = err == SO_ETOOBIG ? SO_ETOOBIG : SO_EINVALID;
	} else {
		/* the interned file names now belong to the config */
		struct cfg_priv *p = cfg->priv;

		p->files = ctx.files;
		p->n_files = ctx.n_files;
		ctx.files = NULL;
		ctx.n_files = 0;
		*out = cfg;
	}
	ci_node_free(root);
	ci_node_free(header);
	ci_yctx_dispose(&ctx);
	if (diags) {
		/* append ours to the caller's list */
		for (size_t i = 0; i < local.n; i++) {
			ci_diag_add(diags, local.v[i].severity, local.v[i].file,
				local.v[i].line, local.v[i].col, "%s", local.v[i].message);
		}
	}
	ci_diags_free(&local);
	return err;
}
