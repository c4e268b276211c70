/*
 * ci/plan.c: pipeline planning (what GitLab's CreatePipelineService would
 * create), see plan.h.
 *
 * Design, in GitLab's chain order (reference §1.10-1.14, §2):
 *  1. RemoveUnwantedChatJobs: with only_job, the candidates are the one job
 *     of that exact name (the loader already validated the whole file).
 *  2. EvaluateWorkflowRules: default when `always`; no match or `never`
 *     gives "Pipeline filtered out by workflow rules."; the matching rule's
 *     variables are merged over the global ones (Helpers.merge_variables:
 *     untouched globals first, then the new ones).
 *  3. Seed, per job: YAML variables = inherited globals merged with the
 *     job's (matrix variables first, then its own); rules (first rule whose
 *     if/changes/exists all hold; its when or the job's; no match = never),
 *     or only/except (default `only: [branches, tags]` unless the job has
 *     rules or the file has workflow:rules). Rule attributes override:
 *     allow_failure, start_in, variables (merged), needs, interruptible.
 *     Expressions see the job's predefined, project, pipeline, YAML, user
 *     and pipeline variables (unexpanded, last wins), not the persisted
 *     CI_PIPELINE_ID / CI_JOB_ID, as in GitLab's seed step.
 *  4. Needs against the jobs left (hash set): optional needs of absent jobs
 *     are dropped, others are GitLab's seed error (config_error).
 *  5. Populate: no job left, or only .pre/.post jobs: not created.
 *  6. Each kept job gets its id (first_job_id + k), job predefined
 *     variables with its final when (CI_JOB_MANUAL), environment variables,
 *     and its environment name, tags and resource_group expanded with its
 *     variables.
 *
 * allow_failure: the job's value when given, else true for a job-level
 * `when: manual` (ci_job_allow_failure), overridden by the matching
 * rule's allow_failure (which also drops exit_codes). A rule-made manual
 * job thus defaults to false, a job-level manual one to true.
 *
 * Speed: statements are compiled once per distinct text (hash cache), the
 * repository listing for rules:exists is read once and hashed, needs are
 * resolved through a hash of kept job names; everything is linear.
 */
#include "ci/plan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ci/expr.h"
#include "ci/hmap.h"
#include "util/buf.h"
#include "util/error.h"

#define EXISTS_MAX_COMPARISONS 10000
#define GLOB_MAX_STEPS 100000
#define BRACE_MAX_ALTERNATIVES 256

struct plan_priv {
	struct ci_hmap exprs;      /* statement text -> struct ci_expr * or
	                              INVALID_EXPR */
	struct ci_expr **owned;    /* compiled statements to free */
	size_t n_owned, cap_owned;
	bool files_loaded;
	char **files;              /* repository listing (rules:exists) */
	size_t n_files;
	struct ci_hmap file_set;   /* path -> 1 */
	struct ci_hmap regexes;    /* /re/ text -> struct ci_regex * or
	                              INVALID_EXPR */
	struct ci_regex **owned_re;
	size_t n_re, cap_re;
	const struct ci_pipeline_context *ctx;
	const struct ci_config *cfg;
};

static char invalid_expr_marker;
#define INVALID_EXPR ((void *)&invalid_expr_marker)

/* ---------- layered variable lookup ---------- */

#define MAX_LAYERS 6

struct layers {
	const struct ci_varlist *l[MAX_LAYERS];   /* lowest precedence first */
	int n;
};

static const char *layers_lookup(void *cls, const char *name)
{
	const struct layers *ls = cls;
	for (int i = ls->n - 1; i >= 0; i--) {
		const char *v = ls->l[i] ? ci_varlist_get(ls->l[i], name) : NULL;
		if (v)
			return v;
	}
	return NULL;
}

/* ExpandVariables.expand_existing over a lookup: $VAR ${VAR} %VAR%
 * replaced when defined, kept otherwise. */
static char *expand_existing(const char *s, ci_var_lookup_fn lookup, void *cls)
{
	struct buf b = BUF_INIT(0);
	size_t i = 0;

	while (s[i]) {
		char c = s[i];
		size_t st = 0, nl = 0, m = 0;
		if (c == '$' && s[i + 1] == '$') {
			buf_append(&b, s + i, 2);
			i += 2;
			continue;
		}
		if (c == '$' && s[i + 1] == '{') {
			size_t j = i + 2;
			while ((s[j] >= 'A' && s[j] <= 'Z') || (s[j] >= 'a' && s[j] <= 'z') ||
			    (s[j] >= '0' && s[j] <= '9') || s[j] == '_')
				j++;
			if (s[j] == '}' && j > i + 2) {
				st = i + 2; nl = j - st; m = j + 1 - i;
			}
		} else if (c == '$' || c == '%') {
			size_t j = i + 1;
			if ((s[j] >= 'A' && s[j] <= 'Z') || (s[j] >= 'a' && s[j] <= 'z') ||
			    s[j] == '_') {
				while ((s[j] >= 'A' && s[j] <= 'Z') ||
				    (s[j] >= 'a' && s[j] <= 'z') ||
				    (s[j] >= '0' && s[j] <= '9') || s[j] == '_')
					j++;
				if (c == '$') {
					st = i + 1; nl = j - st; m = j - i;
				} else if (s[j] == '%') {
					st = i + 1; nl = j - st; m = j + 1 - i;
				}
			}
		}
		if (!m) {
			buf_putc(&b, s[i++]);
			continue;
		}
		char *name = xstrndup(s + st, nl);
		const char *v = lookup(cls, name);
		free(name);
		if (v)
			buf_puts(&b, v);
		else
			buf_append(&b, s + i, m);
		i += m;
	}
	return buf_detach(&b);
}

/* The last item of name in the layers (highest precedence first). */
static const struct ci_varitem *layers_item(const struct layers *ls,
	const char *name)
{
	for (int i = ls->n - 1; i >= 0; i--) {
		const struct ci_varitem *it = ls->l[i] ?
			ci_varlist_item(ls->l[i], name) : NULL;
		if (it)
			return it;
	}
	return NULL;
}

/* ExpandVariables.expand against the job's expanded variables, without
 * building the list: each referenced value is itself expanded (raw ones
 * are not), to a bounded depth; undefined references become "". */
static char *expand_deep(const char *s, const struct layers *ls, int depth)
{
	struct buf b = BUF_INIT(0);
	size_t i = 0;

	while (s[i]) {
		char c = s[i];
		size_t st = 0, nl = 0, m = 0;
		if ((c == '$' && s[i + 1] == '$') || (c == '%' && s[i + 1] == '%')) {
			buf_append(&b, s + i, 2);
			i += 2;
			continue;
		}
		if (c == '$' && s[i + 1] == '{') {
			size_t j = i + 2;
			while ((s[j] >= 'A' && s[j] <= 'Z') || (s[j] >= 'a' && s[j] <= 'z') ||
			    (s[j] >= '0' && s[j] <= '9') || s[j] == '_')
				j++;
			if (s[j] == '}' && j > i + 2) {
				st = i + 2; nl = j - st; m = j + 1 - i;
			}
		} else if (c == '$' || c == '%') {
			size_t j = i + 1;
			if ((s[j] >= 'A' && s[j] <= 'Z') || (s[j] >= 'a' && s[j] <= 'z') ||
			    s[j] == '_') {
				while ((s[j] >= 'A' && s[j] <= 'Z') ||
				    (s[j] >= 'a' && s[j] <= 'z') ||
				    (s[j] >= '0' && s[j] <= '9') || s[j] == '_')
					j++;
				if (c == '$') {
					st = i + 1; nl = j - st; m = j - i;
				} else if (s[j] == '%') {
					st = i + 1; nl = j - st; m = j + 1 - i;
				}
			}
		}
		if (!m) {
			buf_putc(&b, s[i++]);
			continue;
		}
		char *name = xstrndup(s + st, nl);
		const struct ci_varitem *it = layers_item(ls, name);
		free(name);
		if (it && !it->raw && depth < 10 && strpbrk(it->value, "$%")) {
			char *v = expand_deep(it->value, ls, depth + 1);
			buf_puts(&b, v);
			free(v);
		} else if (it) {
			buf_puts(&b, it->value);
		}
		i += m;
	}
	return buf_detach(&b);
}

/* ---------- globs (Ruby File.fnmatch? with PATHNAME|DOTMATCH|EXTGLOB) ---- */

static bool class_match(const char **pp, char c)
{
	const char *p = *pp + 1;
	bool neg = false, ok = false;

	if (*p == '!' || *p == '^') {
		neg = true;
		p++;
	}
	bool first = true;
	while (*p && (*p != ']' || first)) {
		first = false;
		char lo = *p;
		if (lo == '\\' && p[1])
			lo = *++p;
		char hi = lo;
		if (p[1] == '-' && p[2] && p[2] != ']') {
			hi = p[2];
			if (hi == '\\' && p[3]) {
				hi = p[3];
				p++;
			}
			p += 2;
		}
		if (c >= lo && c <= hi)
			ok = true;
		p++;
	}
	if (*p != ']')
		return false;   /* unterminated: no match */
	*pp = p + 1;
	return ok != neg && c != '/';
}

static bool glob_rec(const char *p, const char *s, bool seg_start, long *steps)
{
	while (*p) {
		if (++*steps > GLOB_MAX_STEPS)
			return false;
		if (p[0] == '*' && p[1] == '*' && p[2] == '/' && seg_start) {
			const char *t = s;
			for (;;) {
				if (glob_rec(p + 3, t, true, steps))
					return true;
				t = strchr(t, '/');
				if (!t)
					return false;
				t++;
			}
		}
		if (*p == '*') {
			while (*p == '*')
				p++;
			for (const char *t = s;; t++) {
				if (glob_rec(p, t, false, steps))
					return true;
				if (!*t || *t == '/')
					return false;
			}
		}
		if (!*s)
			return false;
		if (*p == '?') {
			if (*s == '/')
				return false;
		} else if (*p == '[') {
			const char *q = p;
			if (!class_match(&q, *s))
				return false;
			p = q;
			seg_start = false;
			s++;
			continue;
		} else {
			char lit = *p;
			if (lit == '\\' && p[1])
				lit = *++p;
			if (lit != *s)
				return false;
		}
		seg_start = *s == '/';
		p++;
		s++;
	}
	return *s == 0;
}

/* Expands the first top-level {a,b} group; returns false when none. */
static bool brace_split(const char *p, struct buf *pre, const char **alts,
	size_t *alens, size_t *nalts, const char **post)
{
	for (const char *o = p; *o; o++) {
		if (*o == '\\' && o[1]) {
			o++;
			continue;
		}
		if (*o != '{')
			continue;
		int depth = 0;
		const char *start = o + 1;
		*nalts = 0;
		for (const char *c = o; *c; c++) {
			if (*c == '\\' && c[1]) {
				c++;
				continue;
			}
			if (*c == '{') {
				depth++;
			} else if (*c == '}' && --depth == 0) {
				if (*nalts < BRACE_MAX_ALTERNATIVES) {
					alts[*nalts] = start;
					alens[(*nalts)++] = (size_t)(c - start);
				}
				buf_append(pre, p, (size_t)(o - p));
				*post = c + 1;
				return true;
			} else if (*c == ',' && depth == 1 &&
			    *nalts < BRACE_MAX_ALTERNATIVES) {
				alts[*nalts] = start;
				alens[(*nalts)++] = (size_t)(c - start);
				start = c + 1;
			}
		}
		return false;   /* unbalanced: literal */
	}
	return false;
}

static bool glob_braces(const char *pattern, const char *path, int depth,
	long *steps)
{
	struct buf pre = BUF_INIT(0);
	const char *alts[BRACE_MAX_ALTERNATIVES];
	size_t alens[BRACE_MAX_ALTERNATIVES], n = 0;
	const char *post;
	bool ok = false;

	if (depth < 8 && brace_split(pattern, &pre, alts, alens, &n, &post)) {
		for (size_t i = 0; i < n && !ok && *steps <= GLOB_MAX_STEPS; i++) {
			char *alt = xasprintf("%s%.*s%s", buf_cstr(&pre), (int)alens[i],
				alts[i], post);
			ok = glob_braces(alt, path, depth + 1, steps);
			free(alt);
		}
		buf_dispose(&pre);
		return ok;
	}
	buf_dispose(&pre);
	return glob_rec(pattern, path, true, steps);
}

/* Ruby File.fnmatch?(pattern, path, FNM_PATHNAME | FNM_DOTMATCH |
 * FNM_EXTGLOB): `*` and `?` stop at '/', "**" + "/" spans directories,
 * `[...]`, `{a,b}`, backslash escapes; bounded work. */
static bool glob_match(const char *pattern, const char *path)
{
	long steps = 0;
	return glob_braces(pattern, path, 0, &steps);
}

static bool has_glob_chars(const char *p)
{
	return strpbrk(p, "*?[{\\") != NULL;
}

/* ---------- clauses ---------- */

static struct ci_expr *expr_get(struct plan_priv *pv, const char *text)
{
	size_t len = strlen(text);
	void *e = ci_hmap_get(&pv->exprs, text, len);
	if (!e) {
		struct ci_expr *ce = NULL;
		if (ci_expr_compile(text, &ce) < 0) {
			e = INVALID_EXPR;
		} else {
			e = ce;
			if (pv->n_owned == pv->cap_owned) {
				pv->cap_owned = pv->cap_owned ? pv->cap_owned * 2 : 64;
				pv->owned = xrealloc(pv->owned,
					pv->cap_owned * sizeof(*pv->owned));
			}
			pv->owned[pv->n_owned++] = ce;
		}
		ci_hmap_put(&pv->exprs, text, len, e);
	}
	return e == INVALID_EXPR ? NULL : e;
}

static bool eval_if(struct plan_priv *pv, const char *text, struct layers *ls)
{
	struct ci_expr *e = expr_get(pv, text);
	bool b = false;
	if (!e)
		return false;   /* Statement#truthful? rescues errors */
	ci_expr_run(e, layers_lookup, ls, &b);
	return b;
}

static bool changes_hold(struct plan_priv *pv, const struct ci_changes *c,
	struct layers *ls)
{
	const struct ci_pipeline_context *ctx = pv->ctx;
	if (!ctx->has_diff)
		return true;   /* no diff: GitLab treats changes as satisfied */
	for (size_t i = 0; i < c->paths.n; i++) {
		char *pat = expand_existing(c->paths.v[i], layers_lookup, ls);
		for (size_t k = 0; k < ctx->n_changed_files; k++) {
			if (glob_match(pat, ctx->changed_files[k])) {
				free(pat);
				return true;
			}
		}
		free(pat);
	}
	return false;
}

static void load_files(struct plan_priv *pv)
{
	if (pv->files_loaded)
		return;
	pv->files_loaded = true;
	if (!pv->ctx->list_files ||
	    pv->ctx->list_files(pv->ctx->cls, &pv->files, &pv->n_files) < 0) {
		pv->files = NULL;
		pv->n_files = 0;
		return;
	}
	for (size_t i = 0; i < pv->n_files; i++)
		ci_hmap_put(&pv->file_set, pv->files[i], strlen(pv->files[i]),
			(void *)1);
}

static bool exists_hold(struct plan_priv *pv, const struct ci_exists *e,
	struct layers *ls)
{
	long comparisons = 0;

	load_files(pv);
	for (size_t i = 0; i < e->paths.n; i++) {
		char *pat = expand_existing(e->paths.v[i], layers_lookup, ls);
		const char *p = pat;
		bool hit = false;
		while (*p == '/')
			p++;   /* paths are relative to the repository root */
		if (!*p) {
			/* an empty path never matches */
		} else if (!has_glob_chars(p)) {
			hit = ci_hmap_get(&pv->file_set, p, strlen(p)) != NULL;
			if (!hit) {
				/* a directory exists when a file lies below it */
				size_t pl = strlen(p);
				for (size_t k = 0; k < pv->n_files && !hit; k++)
					hit = strncmp(pv->files[k], p, pl) == 0 &&
						pv->files[k][pl] == '/';
			}
		} else {
			for (size_t k = 0; k < pv->n_files && !hit; k++) {
				if (++comparisons > EXISTS_MAX_COMPARISONS)
					hit = true;   /* GitLab gives up: true */
				else
					hit = glob_match(p, pv->files[k]);
			}
		}
		free(pat);
		if (hit)
			return true;
	}
	return false;
}

/* ---------- cached regexes ---------- */

/* 1 match, 0 no match, -1 not a regex. The pattern string must outlive
 * the plan build (config strings and static tables do). */
static int regex_search(struct plan_priv *pv, const char *pattern,
	const char *text)
{
	size_t len = strlen(pattern);
	void *r = ci_hmap_get(&pv->regexes, pattern, len);
	if (!r) {
		struct ci_regex *re = NULL;
		if (ci_regex_compile(pattern, &re) < 0) {
			r = INVALID_EXPR;
		} else {
			r = re;
			if (pv->n_re == pv->cap_re) {
				pv->cap_re = pv->cap_re ? pv->cap_re * 2 : 16;
				pv->owned_re = xrealloc(pv->owned_re,
					pv->cap_re * sizeof(*pv->owned_re));
			}
			pv->owned_re[pv->n_re++] = re;
		}
		ci_hmap_put(&pv->regexes, pattern, len, r);
	}
	if (r == INVALID_EXPR)
		return -1;
	return ci_regex_search(r, text) ? 1 : 0;
}

/* ---------- only / except ---------- */

static char *pluralize(const char *s)
{
	size_t n = strlen(s);
	if ((n >= 2 && (strcmp(s + n - 2, "sh") == 0 || strcmp(s + n - 2, "ch") == 0)) ||
	    (n >= 1 && (s[n - 1] == 's' || s[n - 1] == 'x')))
		return xasprintf("%ses", s);
	return xasprintf("%ss", s);
}

static bool ref_pattern_matches(struct plan_priv *pv, const char *full)
{
	const struct ci_pipeline_context *ctx = pv->ctx;
	const char *at = strchr(full, '@');
	char *pattern = at ? xstrndup(full, (size_t)(at - full)) : xstrdup(full);
	const char *source = ctx->source ? ctx->source : "push";
	bool mr = strcmp(source, "merge_request_event") == 0;
	bool tag = ctx->tag, branch = !tag && !mr;
	bool ok = false;

	/* pattern@group/project restricts by project path */
	if (at && strcmp(at + 1, ctx->project.path_with_namespace ?
	    ctx->project.path_with_namespace : "") != 0)
		goto done;
	if ((tag && strcmp(pattern, "tags") == 0) ||
	    (branch && strcmp(pattern, "branches") == 0)) {
		ok = true;
		goto done;
	}
	{
		size_t sl = strlen(source);
		char *san = (sl > 6 && strcmp(source + sl - 6, "_event") == 0) ?
			xstrndup(source, sl - 6) : xstrdup(source);
		char *plural = pluralize(san);
		ok = strcmp(san, pattern) == 0 || strcmp(plural, pattern) == 0;
		free(san);
		free(plural);
		if (ok)
			goto done;
	}
	if (branch || tag) {
		int r = at ? ci_expr_regex_search(pattern, ctx->ref ? ctx->ref : "") :
			regex_search(pv, full, ctx->ref ? ctx->ref : "");
		if (r >= 0)
			ok = r == 1;
		else
			ok = strcmp(pattern, ctx->ref ? ctx->ref : "") == 0;
	}
done:
	free(pattern);
	return ok;
}

/* One only/except entry: returns whether each present spec is satisfied.
 * *all = every present spec holds; *any = some present spec holds. */
static void policy_eval(struct plan_priv *pv, const struct ci_policy *p,
	struct layers *ls, bool *all, bool *any)
{
	bool a = true, y = false;

	if (p->refs.n) {
		bool r = false;
		for (size_t i = 0; i < p->refs.n && !r; i++)
			r = ref_pattern_matches(pv, p->refs.v[i]);
		a = a && r;
		y = y || r;
	}
	if (p->variables.n) {
		bool r = false;
		for (size_t i = 0; i < p->variables.n && !r; i++)
			r = eval_if(pv, p->variables.v[i], ls);
		a = a && r;
		y = y || r;
	}
	if (p->changes.specified) {
		bool r = changes_hold(pv, &p->changes, ls);
		a = a && r;
		y = y || r;
	}
	if (p->kubernetes) {
		/* no Kubernetes integration: never active */
		a = false;
	}
	*all = a;
	*any = y;
}

/* ---------- variables ---------- */

/* Helpers.merge_variables: the items of cur whose key is not in add, then
 * add. Appends to out; items of cur that borrow (from the plan's globals)
 * still borrow in out. */
static void merge_into(struct ci_varlist *out, const struct ci_varlist *cur,
	const struct ci_varlist *add)
{
	for (size_t i = 0; i < cur->n; i++) {
		if (add && ci_varlist_item(add, cur->v[i].key))
			continue;
		if (cur->v[i].borrowed)
			ci_varlist_add_borrowed(out, &cur->v[i]);
		else
			ci_varlist_add(out, cur->v[i].key, cur->v[i].value, cur->v[i].raw);
	}
	if (add)
		ci_varlist_concat(out, add);
}

static void yaml_list(struct ci_varlist *out, const struct ci_vars *v)
{
	ci_varlist_init(out);
	ci_varlist_add_yaml(out, v);
}

static bool strv_has(const struct ci_strv *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->v[i], s) == 0)
			return true;
	return false;
}

/* Environment#guess_tier-like inference from the name. */
static const char *guess_tier(struct plan_priv *pv, const char *name)
{
	static const struct { const char *re; const char *tier; } t[] = {
		{ "/(dev|review\\/|trunk)/i", "development" },
		{ "/(test|tst|int|ac(ce|)pt|qa|qc|control|quality)/i", "testing" },
		{ "/(st(a|)g|mod(e|)l|pre|demo|non)/i", "staging" },
		{ "/(pr(o|)d|live)/i", "production" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (regex_search(pv, t[i].re, name) == 1)
			return t[i].tier;
	return "other";
}

static void add_job_predefined(struct ci_varlist *l, const struct ci_job *j,
	enum ci_when when, const struct ci_pipeline_context *ctx,
	const char *env_name, const char *env_action, const char *env_tier,
	const char *env_url)
{
	char *slug = ci_slugify(j->name);
	char num[32];

	/* keys are constants and values the configuration's (which outlives
	 * the plan): borrowed, not copied, as thousands of jobs keep them */
	ci_varlist_add_static(l, "CI_JOB_NAME", j->name);
	ci_varlist_add(l, "CI_JOB_NAME_SLUG", slug, false);
	free(slug);
	ci_varlist_add_static(l, "CI_JOB_STAGE", j->stage);
	if (when == CI_WHEN_MANUAL || when == CI_WHEN_DELAYED)
		ci_varlist_add_static(l, "CI_JOB_MANUAL", "true");
	if (ctx->source && strcmp(ctx->source, "trigger") == 0)
		ci_varlist_add_static(l, "CI_PIPELINE_TRIGGERED", "true");
	if (j->parallel.total > 0) {
		snprintf(num, sizeof(num), "%d", j->parallel.index);
		ci_varlist_add(l, "CI_NODE_INDEX", num, false);
		snprintf(num, sizeof(num), "%d", j->parallel.total);
		ci_varlist_add(l, "CI_NODE_TOTAL", num, false);
	} else {
		ci_varlist_add_static(l, "CI_NODE_TOTAL", "1");
	}
	if (env_name && *env_name) {
		ci_varlist_add(l, "CI_ENVIRONMENT_NAME", env_name, false);
		ci_varlist_add(l, "CI_ENVIRONMENT_ACTION", env_action, false);
		ci_varlist_add(l, "CI_ENVIRONMENT_TIER", env_tier, false);
		if (env_url)
			ci_varlist_add(l, "CI_ENVIRONMENT_URL", env_url, false);
	}
}

/* ---------- planning ---------- */

struct seed {
	const struct ci_job *job;
	enum ci_when when;
	const char *start_in;
	bool allow_failure;
	bool exit_codes;
	enum ci_tri interruptible;
	const struct ci_needs *needs;
	struct ci_varlist yaml;
};

static void set_status(struct ci_plan *p, enum ci_plan_status st,
	enum ci_plan_empty em, const char *msg)
{
	p->status = st;
	p->empty = em;
	free(p->message);
	p->message = xstrdup(msg);
}

static void seed_dispose(struct seed *s)
{
	ci_varlist_dispose(&s->yaml);
}

void ci_plan_free(struct ci_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_jobs; i++) {
		struct ci_plan_job *j = &p->jobs[i];
		free(j->needs);
		free(j->environment);
		free(j->environment_url);
		free(j->environment_slug);
		for (size_t k = 0; k < j->n_tags; k++)
			free(j->tags[k]);
		free(j->tags);
		free(j->resource_group);
		ci_varlist_dispose(&j->head);
		ci_varlist_dispose(&j->yaml);
		ci_varlist_dispose(&j->tail);
	}
	free(p->jobs);
	free((void *)p->stages);
	free(p->message);
	free(p->chat_reply);
	free(p->name);
	ci_varlist_dispose(&p->persisted);
	ci_varlist_dispose(&p->predefined);
	ci_varlist_dispose(&p->post);
	ci_varlist_dispose(&p->globals); /* after the jobs, which borrow from it */
	free(p);
}

static void priv_free(struct plan_priv *pv)
{
	if (!pv)
		return;
	for (size_t i = 0; i < pv->n_re; i++)
		ci_regex_free(pv->owned_re[i]);
	free(pv->owned_re);
	ci_hmap_clear(&pv->regexes);
	for (size_t i = 0; i < pv->n_owned; i++)
		ci_expr_free(pv->owned[i]);
	free(pv->owned);
	ci_hmap_clear(&pv->exprs);
	ci_hmap_clear(&pv->file_set);
	for (size_t i = 0; i < pv->n_files; i++)
		free(pv->files[i]);
	free(pv->files);
	free(pv);
}

static bool is_edge(const char *stage)
{
	return strcmp(stage, ".pre") == 0 || strcmp(stage, ".post") == 0;
}

/* Evaluates job rules; returns the matching rule or NULL (no match). */
static const struct ci_rule *match_rules(struct plan_priv *pv,
	const struct ci_rules *rules, struct layers *ls)
{
	for (size_t i = 0; i < rules->n; i++) {
		const struct ci_rule *r = &rules->v[i];
		if (r->if_expr && !eval_if(pv, r->if_expr, ls))
			continue;
		if (r->changes.specified && !changes_hold(pv, &r->changes, ls))
			continue;
		if (r->exists.specified && !exists_hold(pv, &r->exists, ls))
			continue;
		return r;
	}
	return NULL;
}

/* Seeds one job: false when it is not part of the pipeline. */
static bool seed_job(struct plan_priv *pv, const struct ci_plan *p,
	const struct ci_varlist *globals, const struct ci_job *j,
	struct seed *s)
{
	const struct ci_config *cfg = pv->cfg;
	struct ci_varlist inherited = CI_VARLIST_INIT, own = CI_VARLIST_INIT;
	struct ci_varlist pre_head = CI_VARLIST_INIT;
	struct layers ls;
	bool included;

	memset(s, 0, sizeof(*s));
	s->job = j;
	s->when = j->when ? j->when : CI_WHEN_ON_SUCCESS;
	s->start_in = j->start_in;
	s->allow_failure = ci_job_allow_failure(j);
	s->exit_codes = j->allow_failure.specified &&
		j->allow_failure.exit_codes.n > 0;
	s->interruptible = j->interruptible;
	s->needs = &j->needs;

	/* YAML variables: inherit:variables, then matrix + job variables */
	for (size_t i = 0; i < globals->n; i++) {
		const struct ci_varitem *it = &globals->v[i];
		if (j->inherit.variables_mode == CI_INHERIT_NONE ||
		    (j->inherit.variables_mode == CI_INHERIT_LIST &&
		     !strv_has(&j->inherit.variables_keys, it->key)))
			continue;
		/* p->globals lives as long as the plan: share, don't copy */
		ci_varlist_add_borrowed(&inherited, it);
	}
	ci_varlist_add_yaml(&own, &j->parallel.matrix_vars);
	ci_varlist_add_yaml(&own, &j->variables);
	merge_into(&s->yaml, &inherited, &own);
	ci_varlist_dispose(&inherited);
	ci_varlist_dispose(&own);

	add_job_predefined(&pre_head, j, s->when, pv->ctx,
		j->environment.specified ? j->environment.name : NULL,
		j->environment.action ? j->environment.action : "start",
		j->environment.deployment_tier ? j->environment.deployment_tier :
		"", j->environment.url);
	ls.n = 0;
	ls.l[ls.n++] = &pre_head;
	ls.l[ls.n++] = &p->predefined;
	ls.l[ls.n++] = &s->yaml;
	ls.l[ls.n++] = &p->post;

	if (j->rules.specified) {
		const struct ci_rule *r = match_rules(pv, &j->rules, &ls);
		if (!r) {
			included = false;
		} else {
			if (r->when)
				s->when = r->when;
			included = s->when != CI_WHEN_NEVER;
			if (r->start_in)
				s->start_in = r->start_in;
			if (r->allow_failure != CI_TRI_UNSET) {
				s->allow_failure = r->allow_failure == CI_TRI_TRUE;
				s->exit_codes = false;
			}
			if (r->interruptible != CI_TRI_UNSET)
				s->interruptible = r->interruptible;
			if (r->needs.specified)
				s->needs = &r->needs;
			if (r->variables.n) {
				struct ci_varlist rv, merged = CI_VARLIST_INIT;
				yaml_list(&rv, &r->variables);
				merge_into(&merged, &s->yaml, &rv);
				ci_varlist_dispose(&rv);
				ci_varlist_dispose(&s->yaml);
				s->yaml = merged;
			}
		}
	} else {
		bool only_ok = true, except_hit = false, all, any;
		if (j->only.specified) {
			policy_eval(pv, &j->only, &ls, &all, &any);
			only_ok = all;
		} else if (!cfg->workflow.rules.specified) {
			/* default only: [branches, tags] */
			const char *src = pv->ctx->source ? pv->ctx->source : "push";
			only_ok = pv->ctx->tag ||
				strcmp(src, "merge_request_event") != 0;
		}
		if (j->except.specified) {
			policy_eval(pv, &j->except, &ls, &all, &any);
			except_hit = any;
		}
		included = only_ok && !except_hit;
	}
	ci_varlist_dispose(&pre_head);
	ci_varlist_shrink(&s->yaml); /* every job's seed is kept until finalized */
	if (s->when == CI_WHEN_NEVER)
		included = false;
	if (s->when != CI_WHEN_DELAYED)
		s->start_in = NULL;
	return included;
}

static int finalize_job(struct plan_priv *pv, struct ci_plan *p,
	struct seed *s, struct ci_plan_job *pj, const struct ci_hmap *kept)
{
	const struct ci_job *j = s->job;
	const struct ci_pipeline_context *ctx = pv->ctx;
	struct layers ls;

	pj->src = j;
	pj->name = j->name;
	pj->stage = j->stage;
	pj->when = s->when;
	pj->start_in = s->start_in;
	pj->allow_failure = s->allow_failure;
	pj->exit_codes = s->exit_codes ? &j->allow_failure.exit_codes : NULL;
	if (pj->exit_codes)
		pj->allow_failure = false;
	pj->interruptible = s->interruptible;
	pj->needs_specified = s->needs->specified;
	pj->needs = xcalloc(s->needs->n ? s->needs->n : 1, sizeof(*pj->needs));
	for (size_t i = 0; i < s->needs->n; i++) {
		const struct ci_need *nd = &s->needs->v[i];
		if (nd->ignored || !nd->job)
			continue;
		if (!ci_hmap_get(kept, nd->job, strlen(nd->job)))
			continue;   /* optional: checked before */
		pj->needs[pj->n_needs].job = nd->job;
		pj->needs[pj->n_needs].artifacts = nd->artifacts;
		pj->needs[pj->n_needs].optional = nd->optional;
		pj->n_needs++;
	}
	pj->yaml = s->yaml;
	ci_varlist_init(&s->yaml);

	/* head without environment first, to expand keywords with */
	ci_vars_persisted(&pj->head, &(struct ci_pipeline_context){
		.project = ctx->project }, pj->id);
	add_job_predefined(&pj->head, j, pj->when, ctx, NULL, NULL, NULL, NULL);
	ls.n = 0;
	ls.l[ls.n++] = &p->persisted;
	ls.l[ls.n++] = &pj->head;
	ls.l[ls.n++] = &p->predefined;
	ls.l[ls.n++] = &pj->yaml;
	ls.l[ls.n++] = &p->post;

	if (j->environment.specified && j->environment.name) {
		pj->environment = expand_deep(j->environment.name, &ls, 0);
		pj->environment_url = j->environment.url ?
			xstrdup(j->environment.url) : NULL;
		pj->environment_action = j->environment.action ?
			j->environment.action : "start";
		pj->environment_tier = j->environment.deployment_tier ?
			j->environment.deployment_tier : guess_tier(pv, pj->environment);
		pj->environment_slug = ci_environment_slug(pj->environment);
		if (*pj->environment) {
			/* borrowed: pj's own strings and the configuration's */
			ci_varlist_add_static(&pj->head, "CI_ENVIRONMENT_NAME",
				pj->environment);
			ci_varlist_add_static(&pj->head, "CI_ENVIRONMENT_ACTION",
				pj->environment_action);
			ci_varlist_add_static(&pj->head, "CI_ENVIRONMENT_TIER",
				pj->environment_tier);
			if (pj->environment_url)
				ci_varlist_add_static(&pj->head, "CI_ENVIRONMENT_URL",
					pj->environment_url);
			ci_varlist_add_static(&pj->tail, "CI_ENVIRONMENT_SLUG",
				pj->environment_slug);
			if (pj->environment_url)
				ci_varlist_add_static(&pj->tail, "CI_ENVIRONMENT_URL",
					pj->environment_url);
		}
	}
	if (j->tags.n) {
		pj->tags = xcalloc(j->tags.n, sizeof(char *));
		for (size_t i = 0; i < j->tags.n; i++)
			pj->tags[pj->n_tags++] = expand_deep(j->tags.v[i], &ls, 0);
	}
	if (j->resource_group)
		pj->resource_group = expand_deep(j->resource_group, &ls, 0);
	/* thousands of jobs keep these lists until the plan is written */
	ci_varlist_shrink(&pj->head);
	ci_varlist_shrink(&pj->yaml);
	ci_varlist_shrink(&pj->tail);
	return 0;
}

int ci_plan_job_variables(const struct ci_plan *p,
	const struct ci_plan_job *j, struct ci_varlist *out)
{
	const struct ci_varlist *layer[] = { &p->persisted, &j->head,
		&p->predefined, &j->yaml, &p->post, &j->tail };
	const struct ci_varitem **items;
	size_t n = 0;
	int err;

	ci_varlist_init(out);
	for (size_t k = 0; k < 6; k++)
		n += layer[k]->n;
	items = xmalloc((n ? n : 1) * sizeof(*items));
	n = 0;
	for (size_t k = 0; k < 6; k++)
		for (size_t i = 0; i < layer[k]->n; i++)
			items[n++] = &layer[k]->v[i];
	if ((err = ci_varlist_expand_items(items, n, out)) == 0)
		ci_varlist_dedup(out);
	free(items);
	return err;
}

static char *chat_unscheduled(const char *cmd)
{
	return xasprintf("The command could not be scheduled. Make sure that "
		"your project has a .gitlab-ci.yml that defines a job with the "
		"name \"%s\"", cmd);
}

int ci_plan_build(const struct ci_config *cfg,
	const struct ci_pipeline_context *ctx, const char *only_job,
	struct ci_plan **out)
{
	struct ci_plan *p = xcalloc(1, sizeof(*p));
	struct plan_priv *pv = xcalloc(1, sizeof(*pv));
	struct ci_varlist *globals = NULL, gyaml = CI_VARLIST_INIT;
	const struct ci_job **cand = NULL;
	size_t n_cand = 0;
	struct seed *seeds = NULL;
	size_t n_seeds = 0;
	struct ci_hmap kept = CI_HMAP_INIT;
	struct buf needs_err = BUF_INIT(0);
	size_t *stage_count = NULL;
	long *stage_map = NULL;
	int err = 0;

	*out = NULL;
	pv->ctx = ctx;
	pv->cfg = cfg;
	p->priv = pv;
	p->source = ctx->source ? ctx->source : "push";
	p->ref = ctx->ref;
	p->sha = ctx->sha;
	globals = &p->globals;

	/* shared variable layers */
	ci_vars_persisted(&p->persisted, ctx, 0);
	ci_vars_user(&p->post, ctx);
	ci_vars_pipeline(&p->post, ctx);
	yaml_list(&gyaml, &cfg->variables);

	/* 1. chat: keep only the named job */
	cand = xcalloc(cfg->n_jobs ? cfg->n_jobs : 1, sizeof(*cand));
	if (only_job) {
		const struct ci_job *j = ci_config_job(cfg, only_job);
		if (j)
			cand[n_cand++] = j;
	} else {
		for (size_t i = 0; i < cfg->n_jobs; i++)
			cand[n_cand++] = cfg->jobs[i];
	}

	/* 2. workflow:rules (variables: predefined, pipeline, global YAML) */
	{
		struct ci_varlist pre0 = CI_VARLIST_INIT;
		struct layers ls;
		ci_vars_predefined_pipeline(&pre0, ctx, NULL);
		ls.n = 0;
		ls.l[ls.n++] = &pre0;
		ls.l[ls.n++] = &p->post;
		ls.l[ls.n++] = &gyaml;
		bool filtered = false;
		if (cfg->workflow.rules.specified) {
			const struct ci_rule *r = match_rules(pv, &cfg->workflow.rules, &ls);
			if (!r || r->when == CI_WHEN_NEVER) {
				filtered = true;
			} else if (r->variables.n) {
				struct ci_varlist rv;
				yaml_list(&rv, &r->variables);
				merge_into(globals, &gyaml, &rv);
				ci_varlist_dispose(&rv);
			}
		}
		if (!globals->n)
			ci_varlist_concat(globals, &gyaml);
		if (cfg->workflow.name) {
			ls.l[2] = globals;
			p->name = expand_existing(cfg->workflow.name, layers_lookup, &ls);
		}
		ci_varlist_dispose(&pre0);
		ci_vars_predefined_pipeline(&p->predefined, ctx, p->name);
		if (filtered) {
			set_status(p, CI_PLAN_FILTERED_BY_WORKFLOW, CI_PLAN_EMPTY_NONE,
				CI_PLAN_MSG_WORKFLOW);
			goto finish;
		}
	}
	if (only_job && n_cand == 0) {
		set_status(p, CI_PLAN_FILTERED_BY_RULES, CI_PLAN_EMPTY_JOB_MISSING,
			CI_PLAN_MSG_NO_JOBS);
		goto finish;
	}

	/* 3. seed */
	seeds = xcalloc(n_cand ? n_cand : 1, sizeof(*seeds));
	for (size_t i = 0; i < n_cand; i++) {
		if (seed_job(pv, p, globals, cand[i], &seeds[n_seeds])) {
			ci_hmap_put(&kept, cand[i]->name, strlen(cand[i]->name),
				&seeds[n_seeds]);
			n_seeds++;
		} else {
			seed_dispose(&seeds[n_seeds]);
		}
	}

	/* 4. needs against the jobs left */
	for (size_t i = 0; i < n_seeds; i++) {
		const struct ci_needs *nd = seeds[i].needs;
		for (size_t k = 0; k < nd->n; k++) {
			const struct ci_need *n = &nd->v[k];
			if (n->ignored || !n->job || n->optional ||
			    ci_hmap_get(&kept, n->job, strlen(n->job)))
				continue;
			buf_printf(&needs_err, "%s'%s' job needs '%s' job, but '%s' "
				"does not exist in the pipeline. This might be because "
				"of the only, except, or rules keywords. To need a job "
				"that sometimes does not exist in the pipeline, use "
				"needs:optional.", needs_err.len ? "\n" : "",
				seeds[i].job->name, n->job, n->job);
		}
	}
	if (needs_err.len) {
		set_status(p, CI_PLAN_CONFIG_ERROR, CI_PLAN_EMPTY_NONE,
			buf_cstr(&needs_err));
		goto finish;
	}

	/* 5. populate: stages with jobs, .pre/.post alone are no pipeline */
	stage_count = xcalloc(cfg->n_stages ? cfg->n_stages : 1, sizeof(size_t));
	stage_map = xcalloc(cfg->n_stages ? cfg->n_stages : 1, sizeof(long));
	{
		bool real = false;
		for (size_t i = 0; i < n_seeds; i++) {
			size_t si = seeds[i].job->stage_index;
			if (si < cfg->n_stages)
				stage_count[si]++;
			if (!is_edge(seeds[i].job->stage))
				real = true;
		}
		if (n_seeds == 0 || !real) {
			set_status(p, CI_PLAN_FILTERED_BY_RULES, n_seeds ?
				CI_PLAN_EMPTY_EDGE_ONLY : CI_PLAN_EMPTY_EXCLUDED,
				CI_PLAN_MSG_RULES);
			goto finish;
		}
	}
	p->stages = xcalloc(cfg->n_stages, sizeof(char *));
	for (size_t s = 0; s < cfg->n_stages; s++) {
		stage_map[s] = -1;
		if (stage_count[s]) {
			stage_map[s] = (long)p->n_stages;
			p->stages[p->n_stages++] = cfg->stages[s];
		}
	}

	/* 6. jobs in stage order, then file order (counting sort) */
	{
		size_t *start = xcalloc(cfg->n_stages + 1, sizeof(size_t));
		for (size_t s = 0; s < cfg->n_stages; s++)
			start[s + 1] = start[s] + stage_count[s];
		p->jobs = xcalloc(n_seeds, sizeof(*p->jobs));
		for (size_t i = 0; i < n_seeds; i++) {
			size_t si = seeds[i].job->stage_index;
			size_t slot = start[si]++;
			p->jobs[slot].stage_idx = (size_t)stage_map[si];
			p->jobs[slot].src = (const struct ci_job *)&seeds[i]; /* temp */
		}
		free(start);
		p->n_jobs = n_seeds;
		for (size_t k = 0; k < p->n_jobs; k++) {
			struct seed *s = (struct seed *)p->jobs[k].src;
			p->jobs[k].id = ctx->first_job_id ? ctx->first_job_id + (long)k : 0;
			if ((err = finalize_job(pv, p, s, &p->jobs[k], &kept)) < 0) {
				/* the remaining entries still point at seeds */
				for (size_t r = k + 1; r < p->n_jobs; r++)
					memset(&p->jobs[r], 0, sizeof(p->jobs[r]));
				goto finish;
			}
		}
	}
	p->status = CI_PLAN_CREATED;

finish:
	if (p->status != CI_PLAN_CREATED && only_job &&
	    strcmp(p->source, "chat") == 0)
		p->chat_reply = p->status == CI_PLAN_CONFIG_ERROR ?
			xstrdup("Sorry, this chat service is currently not supported "
				"by GitLab ChatOps.") : chat_unscheduled(only_job);
	for (size_t i = 0; i < n_seeds; i++)
		seed_dispose(&seeds[i]);
	free(seeds);
	free(cand);
	free(stage_count);
	free(stage_map);
	ci_hmap_clear(&kept);
	buf_dispose(&needs_err);
	ci_varlist_dispose(&gyaml);
	priv_free(pv);
	p->priv = NULL;
	if (err < 0) {
		ci_plan_free(p);
		return err;
	}
	*out = p;
	return 0;
}

/* ---------- JSON ---------- */

static const char *status_name(enum ci_plan_status s)
{
	switch (s) {
	case CI_PLAN_CREATED: return "created";
	case CI_PLAN_FILTERED_BY_WORKFLOW: return "filtered_by_workflow_rules";
	case CI_PLAN_FILTERED_BY_RULES: return "filtered_by_rules";
	case CI_PLAN_CONFIG_ERROR: return "config_error";
	}
	return "unknown";
}

static const char *empty_name(enum ci_plan_empty e)
{
	switch (e) {
	case CI_PLAN_EMPTY_JOB_MISSING: return "job_missing";
	case CI_PLAN_EMPTY_EXCLUDED: return "excluded";
	case CI_PLAN_EMPTY_EDGE_ONLY: return "edge_stages_only";
	default: return NULL;
	}
}

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *jstrv(const struct ci_strv *v)
{
	json_t *a = json_array();
	for (size_t i = 0; i < v->n; i++)
		json_array_append_new(a, json_string(v->v[i]));
	return a;
}

static json_t *jintv(const struct ci_intv *v)
{
	json_t *a = json_array();
	for (size_t i = 0; i < v->n; i++)
		json_array_append_new(a, json_integer(v->v[i]));
	return a;
}

static json_t *jtri(enum ci_tri t)
{
	return t == CI_TRI_UNSET ? json_null() : json_boolean(t == CI_TRI_TRUE);
}

static json_t *jcopy(const json_t *j)
{
	return j ? json_deep_copy(j) : json_null();
}

static json_t *job_json(const struct ci_plan *p, const struct ci_plan_job *j,
	bool with_vars)
{
	const struct ci_job *s = j->src;
	json_t *o = json_object(), *a;
	struct ci_varlist vars;

	json_object_set_new(o, "name", json_string(j->name));
	json_object_set_new(o, "stage", json_string(j->stage));
	json_object_set_new(o, "stage_idx", json_integer((json_int_t)j->stage_idx));
	if (j->id)
		json_object_set_new(o, "id", json_integer(j->id));
	json_object_set_new(o, "when", json_string(ci_when_name(j->when)));
	json_object_set_new(o, "start_in", jstr(j->start_in));
	json_object_set_new(o, "allow_failure", json_boolean(j->allow_failure));
	json_object_set_new(o, "allow_failure_exit_codes",
		j->exit_codes ? jintv(j->exit_codes) : json_null());
	if (j->needs_specified) {
		a = json_array();
		for (size_t i = 0; i < j->n_needs; i++)
			json_array_append_new(a, json_pack("{s:s, s:b, s:b}",
				"job", j->needs[i].job, "artifacts", j->needs[i].artifacts,
				"optional", j->needs[i].optional));
		json_object_set_new(o, "needs", a);
	} else {
		json_object_set_new(o, "needs", json_null());
	}
	json_object_set_new(o, "dependencies", s->dependencies_specified ?
		jstrv(&s->dependencies) : json_null());
	if (j->environment) {
		json_object_set_new(o, "environment", json_pack(
			"{s:s, s:o, s:s, s:s, s:s, s:o, s:o}",
			"name", j->environment,
			"url", jstr(j->environment_url),
			"slug", j->environment_slug,
			"action", j->environment_action,
			"deployment_tier", j->environment_tier,
			"on_stop", jstr(s->environment.on_stop),
			"auto_stop_in", jstr(s->environment.auto_stop_in)));
	} else {
		json_object_set_new(o, "environment", json_null());
	}
	json_object_set_new(o, "timeout", jstr(s->timeout));
	json_object_set_new(o, "timeout_seconds", s->timeout_seconds ?
		json_integer(s->timeout_seconds) : json_null());
	if (s->retry.specified)
		json_object_set_new(o, "retry", json_pack("{s:i, s:o, s:o}",
			"max", s->retry.max, "when", jstrv(&s->retry.when),
			"exit_codes", jintv(&s->retry.exit_codes)));
	else
		json_object_set_new(o, "retry", json_null());
	a = json_array();
	for (size_t i = 0; i < j->n_tags; i++)
		json_array_append_new(a, json_string(j->tags[i]));
	json_object_set_new(o, "tags", a);
	json_object_set_new(o, "resource_group", jstr(j->resource_group));
	json_object_set_new(o, "interruptible", jtri(j->interruptible));
	if (s->parallel.total > 0)
		json_object_set_new(o, "parallel", json_pack("{s:i, s:i, s:b}",
			"index", s->parallel.index, "total", s->parallel.total,
			"matrix", s->parallel.matrix));
	json_object_set_new(o, "before_script", jstrv(&s->before_script));
	json_object_set_new(o, "script", jstrv(&s->script));
	json_object_set_new(o, "after_script", jstrv(&s->after_script));
	json_object_set_new(o, "image", jcopy(s->image));
	json_object_set_new(o, "services", jcopy(s->services));
	json_object_set_new(o, "artifacts", jcopy(s->artifacts));
	json_object_set_new(o, "cache", jcopy(s->cache));
	if (s->bridge)
		json_object_set_new(o, "trigger", jcopy(s->trigger));
	if (!with_vars)
		return o;
	a = json_array();
	if (ci_plan_job_variables(p, j, &vars) == 0) {
		for (size_t i = 0; i < vars.n; i++) {
			json_t *v = json_object();
			json_object_set_new_nocheck(v, "key", json_string(vars.v[i].key));
			json_object_set_new_nocheck(v, "value", json_string(
				vars.v[i].masked ? "[MASKED]" : vars.v[i].value));
			if (vars.v[i].raw)
				json_object_set_new(v, "raw", json_true());
			if (vars.v[i].masked)
				json_object_set_new(v, "masked", json_true());
			json_array_append_new(a, v);
		}
	} else {
		json_object_set_new(o, "variables_error", json_string(error_msg()));
	}
	ci_varlist_dispose(&vars);
	json_object_set_new(o, "variables", a);
	return o;
}

static json_t *head_json(const struct ci_plan *p)
{
	json_t *o = json_object(), *a = json_array();
	json_object_set_new(o, "status", json_string(status_name(p->status)));
	json_object_set_new(o, "created", json_boolean(p->status == CI_PLAN_CREATED));
	json_object_set_new(o, "message", jstr(p->message));
	json_object_set_new(o, "reason", jstr(empty_name(p->empty)));
	json_object_set_new(o, "chat_reply", jstr(p->chat_reply));
	json_object_set_new(o, "source", jstr(p->source));
	json_object_set_new(o, "ref", jstr(p->ref));
	json_object_set_new(o, "sha", jstr(p->sha));
	json_object_set_new(o, "name", jstr(p->name));
	for (size_t i = 0; i < p->n_stages; i++)
		json_array_append_new(a, json_string(p->stages[i]));
	json_object_set_new(o, "stages", a);
	return o;
}

json_t *ci_plan_to_json(const struct ci_plan *p)
{
	json_t *o = head_json(p), *a = json_array();
	for (size_t i = 0; i < p->n_jobs; i++)
		json_array_append_new(a, job_json(p, &p->jobs[i], true));
	json_object_set_new(o, "jobs", a);
	return o;
}

/* A JSON string as jansson's compact dump writes it (UTF-8 kept, `"`,
 * `\\` and control characters escaped); bytes that are not UTF-8 become
 * U+FFFD, where jansson would refuse the whole string. */
static void json_str_to_buf(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;

	buf_putc(b, '"');
	while (*p) {
		const unsigned char *run = p;

		/* the common case: a run of printable ASCII */
		while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		if (p > run)
			buf_append(b, run, (size_t)(p - run));
		if (!*p)
			break;
		if (*p < 0x80) {
			char esc[7] = { '\\', 0, 0, 0, 0, 0, 0 };
			switch (*p) {
			case '"': esc[1] = '"'; break;
			case '\\': esc[1] = '\\'; break;
			case '\b': esc[1] = 'b'; break;
			case '\f': esc[1] = 'f'; break;
			case '\n': esc[1] = 'n'; break;
			case '\r': esc[1] = 'r'; break;
			case '\t': esc[1] = 't'; break;
			default:
				esc[1] = 'u'; esc[2] = '0'; esc[3] = '0';
				esc[4] = hex[*p >> 4]; esc[5] = hex[*p & 15];
			}
			buf_append(b, esc, esc[1] == 'u' ? 6 : 2);
			p++;
			continue;
		}
		/* a multi-byte sequence: copied when well-formed */
		size_t n = (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 :
			(*p & 0xF8) == 0xF0 ? 4 : 0;
		bool ok = n > 0;
		uint32_t cp = n == 2 ? (*p & 0x1Fu) : n == 3 ? (*p & 0x0Fu) : (*p & 0x07u);
		for (size_t k = 1; ok && k < n; k++) {
			ok = (p[k] & 0xC0) == 0x80;
			cp = (cp << 6) | (p[k] & 0x3Fu);
		}
		if (ok)
			ok = !(n == 2 && cp < 0x80) && !(n == 3 && cp < 0x800) &&
				!(n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) &&
				!(cp >= 0xD800 && cp <= 0xDFFF);
		if (ok) {
			buf_append(b, p, n);
			p += n;
		} else {
			buf_puts(b, "\xef\xbf\xbd");
			p++;
		}
	}
	buf_putc(b, '"');
}

/* The "variables" member of a job, appended as JSON text: the same bytes
 * job_json's array dumps to, without a JSON object per variable. */
static void variables_to_buf(const struct ci_plan *p, const struct ci_plan_job *j,
	struct buf *b)
{
	struct ci_varlist vars;

	if (ci_plan_job_variables(p, j, &vars) < 0) {
		buf_puts(b, ",\"variables_error\":");
		json_str_to_buf(b, error_msg());
		buf_puts(b, ",\"variables\":[]");
		ci_varlist_dispose(&vars);
		return;
	}
	buf_puts(b, ",\"variables\":[");
	for (size_t i = 0; i < vars.n; i++) {
		buf_puts(b, i ? ",{\"key\":" : "{\"key\":");
		json_str_to_buf(b, vars.v[i].key);
		buf_puts(b, ",\"value\":");
		json_str_to_buf(b, vars.v[i].masked ? "[MASKED]" : vars.v[i].value);
		if (vars.v[i].raw)
			buf_puts(b, ",\"raw\":true");
		if (vars.v[i].masked)
			buf_puts(b, ",\"masked\":true");
		buf_putc(b, '}');
	}
	buf_putc(b, ']');
	ci_varlist_dispose(&vars);
}

/* json_dump_callback into a struct buf (no cap: the plan is ours) */
static int dump_to_buf(const char *data, size_t n, void *cls)
{
	return buf_append(cls, data, n) < 0 ? -1 : 0;
}

int ci_plan_write_json(const struct ci_plan *p, FILE *f, unsigned flags)
{
	json_t *h = head_json(p);
	char *hs = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
	size_t hl = strlen(hs);
	struct buf jb = BUF_INIT(0);
	int err = 0;

	json_decref(h);
	/* "{...}" -> "{..., "jobs": [ job, job ]}" */
	if (fwrite(hs, 1, hl - 1, f) != hl - 1 || fputs(",\"jobs\":[", f) < 0)
		err = SO_EFAIL;
	free(hs);
	/* each job is dumped into one buffer and written at once: jansson's
	 * dumpf writes token by token, which costs more than building it */
	for (size_t i = 0; i < p->n_jobs && !err; i++) {
		json_t *j = job_json(p, &p->jobs[i], false);
		jb.len = 0;
		if ((i && buf_putc(&jb, ',') < 0) ||
		    json_dump_callback(j, dump_to_buf, &jb,
			    JSON_COMPACT | JSON_PRESERVE_ORDER) < 0) {
			err = SO_EFAIL;
		} else if (!(flags & CI_PLAN_JSON_NO_VARIABLES)) {
			/* variables, most of the bytes, are written directly:
			 * "{...}" -> "{...,"variables":[...]}" */
			jb.len--;
			variables_to_buf(p, &p->jobs[i], &jb);
			buf_putc(&jb, '}');
		}
		if (!err && fwrite(jb.data, 1, jb.len, f) != jb.len)
			err = SO_EFAIL;
		json_decref(j);
	}
	buf_dispose(&jb);
	if (!err && fputs("]}\n", f) < 0)
		err = SO_EFAIL;
	if (err)
		return error_set(SO_EFAIL, "cannot write the plan");
	return 0;
}
