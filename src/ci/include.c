/*
 * ci/include.c: include: composition and spec:inputs interpolation (see
 * include.h for the design and GitLab's rules this follows).
 */
#include "ci/include.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ci/expr.h"
#include "util/buf.h"
#include "util/error.h"

struct inc_state {
	struct ci_yctx *ctx;
	const struct ci_load_options *opts;
	size_t n_included;
	char **repo_files;      /* lazily listed */
	size_t n_repo_files;
	bool listed;
};

/* ---------- glob ---------- */

static bool class_match(const char **pp, char c)
{
	const char *p = *pp + 1;
	bool neg = false, ok = false;

	if (*p == '!' || *p == '^') {
		neg = true;
		p++;
	}
	if (*p == ']') {
		ok = c == ']';
		p++;
	}
	while (*p && *p != ']') {
		if (p[1] == '-' && p[2] && p[2] != ']') {
			if (c >= p[0] && c <= p[2])
				ok = true;
			p += 3;
		} else {
			if (c == *p)
				ok = true;
			p++;
		}
	}
	*pp = *p ? p + 1 : p;
	return ok != neg;
}

static bool gmatch(const char *p, const char *s, int budget, bool dirs)
{
	if (budget <= 0)
		return false;
	while (*p) {
		if (dirs && p[0] == '*' && p[1] == '*' && p[2] == '/') {
			if (gmatch(p + 3, s, budget - 1, dirs))
				return true;
			for (const char *q = s; *q; q++) {
				if (*q == '/' && gmatch(p + 3, q + 1, budget - 1, dirs))
					return true;
			}
			return false;
		}
		if (p[0] == '*' && p[1] == '*') {
			for (const char *q = s;; q++) {
				if (gmatch(p + 2, q, budget - 1, dirs))
					return true;
				if (!*q)
					return false;
			}
		}
		if (*p == '*') {
			for (const char *q = s;; q++) {
				if (gmatch(p + 1, q, budget - 1, dirs))
					return true;
				if (!*q || *q == '/')
					return false;
			}
		}
		if (!*s)
			return false;
		if (*p == '?') {
			if (*s == '/')
				return false;
			p++;
		} else if (*p == '[') {
			if (*s == '/' || !class_match(&p, *s))
				return false;
		} else {
			if (*p == '\\' && p[1])
				p++;
			if (*p != *s)
				return false;
			p++;
		}
		s++;
	}
	return *s == '\0';
}

/* Expands the first {a,b} group and recurses (bounded). */
static bool brace_match(const char *p, const char *s, int depth, bool dirs)
{
	const char *open = strchr(p, '{'), *close = NULL, *q;
	int level = 0;

	if (!open || depth > 8)
		return gmatch(p, s, 100000, dirs);
	for (q = open; *q; q++) {
		if (*q == '{')
			level++;
		else if (*q == '}' && --level == 0) {
			close = q;
			break;
		}
	}
	if (!close)
		return gmatch(p, s, 100000, dirs);
	q = open + 1;
	for (;;) {
		const char *end = q;
		struct buf b = BUF_INIT(0);
		bool ok;

		level = 0;
		while (end < close && !(level == 0 && *end == ',')) {
			if (*end == '{')
				level++;
			else if (*end == '}')
				level--;
			end++;
		}
		buf_append(&b, p, (size_t)(open - p));
		buf_append(&b, q, (size_t)(end - q));
		buf_puts(&b, close + 1);
		ok = brace_match(buf_cstr(&b), s, depth + 1, dirs);
		buf_dispose(&b);
		if (ok)
			return true;
		if (end >= close)
			return false;
		q = end + 1;
	}
}

bool ci_glob_match(const char *pattern, const char *path)
{
	return brace_match(pattern, path, 0, true);
}

bool ci_glob_match_include(const char *pattern, const char *path)
{
	return brace_match(pattern, path, 0, false);
}

/* ---------- helpers ---------- */

/* $VAR / ${VAR} expansion with the load's variables; undefined = "". */
static char *expand_vars(const struct ci_load_options *opts, const char *s)
{
	struct buf b = BUF_INIT(0);

	while (*s) {
		if (*s == '$' && (s[1] == '{' || isalpha((unsigned char)s[1]) ||
		    s[1] == '_')) {
			const char *st = s + 1 + (s[1] == '{'), *e = st;
			char *name;
			const char *v;

			while (isalnum((unsigned char)*e) || *e == '_')
				e++;
			if (s[1] == '{' && *e != '}') {
				buf_putc(&b, *s++);
				continue;
			}
			name = xstrndup(st, (size_t)(e - st));
			v = opts->lookup_var ? opts->lookup_var(opts->cls, name) : NULL;
			if (v)
				buf_puts(&b, v);
			free(name);
			s = e + (s[1] == '{');
			continue;
		}
		buf_putc(&b, *s++);
	}
	return buf_detach(&b);
}

static bool has_yaml_ext(const char *p)
{
	size_t n = strlen(p);

	return (n >= 4 && strcmp(p + n - 4, ".yml") == 0) ||
		(n >= 5 && strcmp(p + n - 5, ".yaml") == 0);
}

static bool bad_local_path(const char *p)
{
	const char *s = p;

	if (strncmp(p, "./", 2) == 0 || strcmp(p, ".") == 0)
		return true;
	while (*s) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);

		if (n == 2 && s[0] == '.' && s[1] == '.')
			return true;
		if (!e)
			break;
		s = e + 1;
	}
	return false;
}

static int list_repo(struct inc_state *st)
{
	int err;

	if (st->listed)
		return 0;
	st->listed = true;
	if (!st->opts->list_files)
		return 0;
	if ((err = st->opts->list_files(st->opts->cls, &st->repo_files,
	    &st->n_repo_files)) < 0) {
		st->repo_files = NULL;
		st->n_repo_files = 0;
		return err;
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int process_file(struct inc_state *st, const char *file,
	struct ci_node **root);

/* Loads an included file's bytes, interpolates, recurses, merges into acc. */
static int include_bytes(struct inc_state *st, const struct ci_node *at,
	const char *shown, const char *file, char *data, size_t len,
	const struct ci_node *inputs, struct ci_node *acc)
{
	struct ci_node *root = NULL, *header = NULL;
	int err;

	if (++st->n_included > CI_MAX_INCLUDES) {
		err = ci_diag_at(st->ctx, at,
			"Maximum of %d nested includes are allowed!", CI_MAX_INCLUDES);
		goto done;
	}
	if ((err = ci_yaml_load(st->ctx, file, data, len, &root, &header)) < 0)
		goto done;
	if (root->n == 0 && !header) {
		err = ci_diag_at(st->ctx, at, "Included file `%s` is empty or does "
			"not exist!", shown);
		goto done;
	}
	if ((err = ci_inputs_apply(st->ctx, st->opts, header, inputs, root,
	    at)) < 0 ||
	    (err = process_file(st, file, &root)) < 0 ||
	    (err = ci_node_merge(st->ctx, acc, root)) < 0)
		goto done;
done:
	ci_node_free(root);
	ci_node_free(header);
	return err;
}

static int include_local(struct inc_state *st, const struct ci_node *at,
	const char *raw, const struct ci_node *inputs, struct ci_node *acc)
{
	char *path = expand_vars(st->opts, raw);
	const char *p = path;
	char *data = NULL;
	size_t len = 0;
	int err = 0;

	while (*p == '/')
		p++;
	if (!*path || bad_local_path(p)) {
		err = ci_diag_at(st->ctx, at, "Local file `%s` does not exist!",
			path);
		goto done;
	}
	if (!has_yaml_ext(p)) {
		err = ci_diag_at(st->ctx, at, "Included file `%s` does not have "
			"YAML extension!", path);
		goto done;
	}
	if (strpbrk(p, "*?[{")) {
		char **matches = NULL;
		size_t n = 0;

		if ((err = list_repo(st)) < 0) {
			err = ci_diag_at(st->ctx, at, "cannot list the repository "
				"files for `%s`: %s", path, error_msg());
			goto done;
		}
		for (size_t i = 0; i < st->n_repo_files; i++) {
			if (ci_glob_match_include(p, st->repo_files[i]) &&
			    has_yaml_ext(st->repo_files[i])) {
				matches = xrealloc(matches, (n + 1) * sizeof(char *));
				matches[n++] = st->repo_files[i];
			}
		}
		qsort(matches, n, sizeof(char *), cmp_str);
		for (size_t i = 0; i < n && err == 0; i++) {
			char *d = NULL;
			size_t l = 0;

			if (!st->opts->read_file ||
			    st->opts->read_file(st->opts->cls, matches[i], &d, &l) < 0) {
				err = ci_diag_at(st->ctx, at, "Local file `%s` does not "
					"exist!", matches[i]);
				break;
			}
			err = include_bytes(st, at, matches[i], matches[i], d, l,
				inputs, acc);
			free(d);
		}
		free(matches);
		if (n == 0 && err == 0)
			err = ci_diag_at(st->ctx, at, "Local file `%s` does not exist!",
				path);
		goto done;
	}
	if (!st->opts->read_file ||
	    st->opts->read_file(st->opts->cls, p, &data, &len) < 0) {
		err = ci_diag_at(st->ctx, at, "Local file `%s` does not exist!",
			path);
		goto done;
	}
	if (len > st->ctx->max_bytes) {
		err = ci_diag_at(st->ctx, at, "Local file `%s` is larger than %zu "
			"bytes", path, st->ctx->max_bytes);
		goto done;
	}
	err = include_bytes(st, at, path, p, data, len, inputs, acc);
done:
	free(data);
	free(path);
	return err;
}

static int include_project(struct inc_state *st, const struct ci_node *at,
	const struct ci_node *entry, const struct ci_node *inputs,
	struct ci_node *acc)
{
	const struct ci_node *pn = ci_map_get(entry, "project");
	const struct ci_node *fn = ci_map_get(entry, "file");
	const struct ci_node *rn = ci_map_get(entry, "ref");
	char *project = NULL, *ref = NULL;
	int err = 0;

	if (!ci_node_is_scalar(pn) || pn->type == CI_N_NULL)
		return ci_diag_at(st->ctx, at, "include config project should be "
			"a string");
	if (!fn || !(fn->type == CI_N_STR || fn->type == CI_N_SEQ))
		return ci_diag_at(st->ctx, at, "Include `project` requires `file` "
			"to be a string or an array of strings");
	project = expand_vars(st->opts, ci_node_text(pn));
	if (rn && ci_node_is_scalar(rn) && rn->type != CI_N_NULL)
		ref = expand_vars(st->opts, ci_node_text(rn));
	for (size_t i = 0; i < (fn->type == CI_N_SEQ ? fn->n : 1) && err == 0;
	     i++) {
		const struct ci_node *f = fn->type == CI_N_SEQ ? fn->items[i] : fn;
		char *path, *data = NULL, *shown;
		const char *p;
		size_t len = 0;
		int r;

		if (f->type != CI_N_STR) {
			err = ci_diag_at(st->ctx, f, "include config file should be a "
				"string or an array of strings");
			break;
		}
		path = expand_vars(st->opts, ci_node_text(f));
		p = path;
		while (*p == '/')
			p++;
		if (!has_yaml_ext(p)) {
			err = ci_diag_at(st->ctx, f, "Included file `%s` does not have "
				"YAML extension!", path);
			free(path);
			break;
		}
		if (!st->opts->read_project_file &&
		    st->opts->skip_refused_includes) {
			ci_diag_add(st->ctx->diags, CI_DIAG_WARNING, f->file, f->line,
				f->col, "Project `%s` includes are not available here: "
				"`%s` (skipped)", project, path);
			free(path);
			continue;
		}
		r = st->opts->read_project_file ? st->opts->read_project_file(
			st->opts->cls, project, ref, p, &data, &len) : SO_EDENIED;
		if (r == SO_ENOTFOUND) {
			err = ci_diag_at(st->ctx, f, "Project `%s` file `%s` does not "
				"exist!", project, path);
		} else if (r < 0) {
			err = ci_diag_at(st->ctx, f, "Project `%s` not found or access "
				"denied! Make sure any includes in the pipeline "
				"configuration are correctly defined.", project);
		} else {
			shown = xasprintf("%s:%s", project, p);
			err = include_bytes(st, f, shown, shown, data, len, inputs, acc);
			free(shown);
		}
		free(data);
		free(path);
	}
	free(project);
	free(ref);
	return err;
}

/* include:rules: true when the entry is included. */
static int rules_allow(struct inc_state *st, const struct ci_node *rules,
	bool *out)
{
	*out = false;
	if (rules->type != CI_N_SEQ)
		return ci_diag_at(st->ctx, rules, "include rules config should be "
			"an array of hashes");
	for (size_t i = 0; i < rules->n; i++) {
		const struct ci_node *r = rules->items[i];
		const struct ci_node *ifn, *ex, *when;
		bool match = true;

		if (r->type != CI_N_MAP)
			return ci_diag_at(st->ctx, r, "include rule config should be a "
				"hash");
		for (size_t k = 0; k < r->n; k++) {
			const char *key = r->kv[k].key;

			if (strcmp(key, "if") && strcmp(key, "exists") &&
			    strcmp(key, "changes") && strcmp(key, "when"))
				return ci_diag_at(st->ctx, r, "include rule config contains "
					"unknown keys: %s", key);
		}
		ifn = ci_map_get(r, "if");
		ex = ci_map_get(r, "exists");
		when = ci_map_get(r, "when");
		if (ifn) {
			int err;

			if (ifn->type != CI_N_STR)
				return ci_diag_at(st->ctx, ifn, "include rule if should be "
					"a string");
			err = ci_expr_eval(ifn->str, st->opts->lookup_var, st->opts->cls,
				&match);
			if (err < 0)
				return ci_diag_at(st->ctx, ifn, "include rule if invalid "
					"expression syntax");
		}
		if (match && ex) {
			const struct ci_node *paths = ex->type == CI_N_MAP ?
				ci_map_get(ex, "paths") : ex;
			bool found = false;

			if (list_repo(st) < 0)
				return ci_diag_at(st->ctx, ex, "cannot list the repository "
					"files: %s", error_msg());
			for (size_t k = 0; paths && k < (paths->type == CI_N_SEQ ?
			     paths->n : 1) && !found; k++) {
				const struct ci_node *pn = paths->type == CI_N_SEQ ?
					paths->items[k] : paths;
				char *pat;

				if (pn->type != CI_N_STR || pn->len == 0)
					continue;
				pat = expand_vars(st->opts, pn->str);
				for (size_t f = 0; f < st->n_repo_files && !found; f++)
					found = ci_glob_match(pat[0] == '/' ? pat + 1 : pat,
						st->repo_files[f]);
				free(pat);
			}
			match = found;
		}
		if (match) {
			*out = !(when && when->type == CI_N_STR &&
				strcmp(when->str, "never") == 0);
			return 0;
		}
	}
	return 0;
}

/* A refused include: an error, or a warning when the caller asked to
 * skip them. */
static int refused(struct inc_state *st, const struct ci_node *at,
	const char *what, const char *why, const char *value)
{
	if (st->opts->skip_refused_includes) {
		ci_diag_add(st->ctx->diags, CI_DIAG_WARNING, at->file, at->line,
			at->col, "%s includes are not supported by slashops (%s): "
			"`%s` (skipped)", what, why, value);
		return 0;
	}
	return ci_diag_at(st->ctx, at, "%s includes are not supported by "
		"slashops (%s): `%s`", what, why, value);
}

static int include_entry(struct inc_state *st, const struct ci_node *e,
	struct ci_node *acc)
{
	static const char *const accessors[] = { "local", "project", "remote",
		"template", "component", "artifact" };
	const struct ci_node *rules, *inputs, *v;
	const char *which = NULL;
	int n_acc = 0;
	bool ok;
	int err;

	if (e->type == CI_N_STR) {
		if (strncmp(e->str, "https://", 8) == 0 ||
		    strncmp(e->str, "http://", 7) == 0)
			return refused(st, e, "Remote", "it does not fetch "
				"configuration over the network", e->str);
		return include_local(st, e, e->str, NULL, acc);
	}
	if (e->type != CI_N_MAP)
		return ci_diag_at(st->ctx, e, "include config should be a hash or "
			"a string");
	for (size_t i = 0; i < sizeof(accessors) / sizeof(*accessors); i++) {
		if (ci_map_get(e, accessors[i])) {
			which = accessors[i];
			n_acc++;
		}
	}
	for (size_t k = 0; k < e->n; k++) {
		static const char *const known[] = { "local", "project", "remote",
			"template", "component", "artifact", "file", "ref", "rules",
			"inputs", "job", "cache", "integrity" };
		bool found = false;

		for (size_t i = 0; i < sizeof(known) / sizeof(*known); i++)
			found = found || strcmp(e->kv[k].key, known[i]) == 0;
		if (!found)
			return ci_diag_at(st->ctx, e, "include config contains unknown "
				"keys: %s", e->kv[k].key);
	}
	if (n_acc != 1) {
		json_t *jj = ci_node_to_json(e);
		char *j = json_dumps(jj, JSON_COMPACT);

		json_decref(jj);
		err = ci_diag_at(st->ctx, e, "Include `%s` needs to match exactly "
			"one accessor!", j ? j : "");
		free(j);
		return err;
	}
	rules = ci_map_get(e, "rules");
	if (rules) {
		if ((err = rules_allow(st, rules, &ok)) < 0)
			return err;
		if (!ok)
			return 0;
	}
	inputs = ci_map_get(e, "inputs");
	if (inputs && inputs->type != CI_N_MAP)
		return ci_diag_at(st->ctx, inputs, "include inputs config should be "
			"a hash");
	v = ci_map_get(e, which);
	if (strcmp(which, "local") == 0) {
		if (v->type != CI_N_STR)
			return ci_diag_at(st->ctx, v, "include config local should be a "
				"string");
		return include_local(st, v, v->str, inputs, acc);
	}
	if (strcmp(which, "project") == 0)
		return include_project(st, e, e, inputs, acc);
	if (strcmp(which, "remote") == 0)
		return refused(st, v, "Remote", "it does not fetch configuration "
			"over the network", ci_node_text(v));
	if (strcmp(which, "template") == 0)
		return refused(st, v, "Template", "GitLab's CI/CD templates are not "
			"bundled", ci_node_text(v));
	if (strcmp(which, "component") == 0)
		return refused(st, v, "Component", "there is no CI/CD catalog",
			ci_node_text(v));
	return refused(st, v, "Artifact", "child pipelines are not supported",
		ci_node_text(v));
}

static int process_file(struct inc_state *st, const char *file,
	struct ci_node **root)
{
	struct ci_node *inc = ci_map_take(*root, "include");
	struct ci_node *acc = NULL;
	int err = 0;

	(void)file;
	if (!inc)
		return 0;
	if (inc->type == CI_N_NULL)
		goto done;
	acc = ci_node_new(CI_N_MAP, (*root)->file, (*root)->line, (*root)->col);
	if (inc->type == CI_N_SEQ) {
		for (size_t i = 0; i < inc->n && err == 0; i++) {
			if (inc->items[i]->type == CI_N_SEQ) {
				err = ci_diag_at(st->ctx, inc->items[i], "include config "
					"should be a hash or a string");
				break;
			}
			err = include_entry(st, inc->items[i], acc);
		}
	} else {
		err = include_entry(st, inc, acc);
	}
	if (err < 0)
		goto done;
	if ((err = ci_node_merge(st->ctx, acc, *root)) < 0)
		goto done;
	ci_node_free(*root);
	*root = acc;
	acc = NULL;
done:
	ci_node_free(inc);
	ci_node_free(acc);
	return err;
}

int ci_include_process(struct ci_yctx *ctx, const struct ci_load_options *opts,
	const char *file, struct ci_node **root)
{
	struct inc_state st = { 0 };
	int err;

	st.ctx = ctx;
	st.opts = opts;
	if (opts->no_includes && ci_map_get(*root, "include")) {
		return ci_diag_at(ctx, ci_map_get(*root, "include"),
			"include: is not available here");
	}
	err = process_file(&st, file, root);
	for (size_t i = 0; i < st.n_repo_files; i++)
		free(st.repo_files[i]);
	free(st.repo_files);
	return err;
}

/* ---------- inputs ---------- */

struct interp {
	struct ci_yctx *ctx;
	const struct ci_load_options *opts;
	const struct ci_node *specs;   /* spec:inputs map (may be NULL) */
	struct ci_node *values;        /* resolved values: name -> node */
};

static char *trim(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return xstrndup(s, n);
}

/* Applies the functions of a block to a string value. */
static int apply_functions(struct interp *ip, const struct ci_node *at,
	char **fns, size_t n_fns, char **val)
{
	for (size_t i = 0; i < n_fns; i++) {
		const char *f = fns[i];
		long a, b;

		if (strcmp(f, "expand_vars") == 0) {
			char *e = expand_vars(ip->opts, *val);

			free(*val);
			*val = e;
		} else if (strcmp(f, "posix_escape") == 0) {
			struct buf o = BUF_INIT(0);

			for (const char *s = *val; *s; s++) {
				if (!isalnum((unsigned char)*s) && !strchr("_-./=:,@+%", *s))
					buf_putc(&o, '\\');
				buf_putc(&o, *s);
			}
			free(*val);
			*val = buf_detach(&o);
		} else if (sscanf(f, "truncate(%ld,%ld)", &a, &b) == 2 ||
			   sscanf(f, "truncate(%ld, %ld)", &a, &b) == 2) {
			size_t len = strlen(*val);
			size_t off = a < 0 ? 0 : (size_t)a;
			size_t cnt = b < 0 ? 0 : (size_t)b;
			char *t;

			if (off > len)
				off = len;
			if (cnt > len - off)
				cnt = len - off;
			t = xstrndup(*val + off, cnt);
			free(*val);
			*val = t;
		} else {
			return ci_diag_at(ip->ctx, at, "no function matching `%s`: "
				"check that the function name, arguments, and types are "
				"correct", f);
		}
	}
	return 0;
}

/* Interpolates one string; *replace gets a typed node when the whole
 * string is one block whose value is not a string. */
static int interp_string(struct interp *ip, const struct ci_node *at,
	const char *s, char **out, struct ci_node **replace)
{
	struct buf b = BUF_INIT(0);
	const char *p = s;
	int err = 0;
	size_t blocks = 0;

	*out = NULL;
	*replace = NULL;
	while (*p) {
		const char *st = strstr(p, "$[[");
		const char *en;
		char *inner = NULL, *name = NULL, *val = NULL;
		char *fns[8];
		size_t n_fns = 0;
		const struct ci_node *v;

		if (!st) {
			buf_puts(&b, p);
			break;
		}
		en = strstr(st + 3, "]]");
		if (!en) {
			buf_puts(&b, p);
			break;
		}
		buf_append(&b, p, (size_t)(st - p));
		blocks++;
		inner = trim(st + 3, (size_t)(en - st - 3));
		{
			char *bar = strchr(inner, '|');
			char *q = bar;

			name = trim(inner, bar ? (size_t)(bar - inner) : strlen(inner));
			while (q) {
				char *nb = strchr(q + 1, '|');

				if (n_fns == 8) {
					n_fns++;
					break;
				}
				fns[n_fns++] = trim(q + 1, nb ? (size_t)(nb - q - 1) :
					strlen(q + 1));
				q = nb;
			}
		}
		if (n_fns > 3) {
			err = ci_diag_at(ip->ctx, at, "interpolation interrupted by "
				"errors, too many functions in interpolation block");
			goto next;
		}
		if (strncmp(name, "inputs.", 7) != 0 ||
		    !(v = ci_map_get(ip->values, name + 7))) {
			err = ci_diag_at(ip->ctx, at, "unknown interpolation key: `%s`",
				strncmp(name, "inputs.", 7) == 0 ? name + 7 : name);
			goto next;
		}
		if (st == s && en[2] == '\0' && n_fns == 0 && v->type != CI_N_STR &&
		    v->type != CI_N_NULL && b.len == 0) {
			err = ci_node_copy(ip->ctx, v, replace);
			goto next;
		}
		if (v->type == CI_N_SEQ || v->type == CI_N_MAP) {
			json_t *j = ci_node_to_json(v);

			val = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
			json_decref(j);
			if (!val)
				val = xstrdup("");
		} else {
			val = xstrdup(ci_node_text(v));
		}
		if ((err = apply_functions(ip, at, fns, n_fns, &val)) < 0)
			goto next;
		buf_puts(&b, val);
next:
		for (size_t i = 0; i < n_fns && i < 8; i++)
			free(fns[i]);
		free(val);
		free(name);
		free(inner);
		if (err < 0 || *replace)
			break;
		p = en + 2;
	}
	if (err < 0 || *replace) {
		buf_dispose(&b);
		return err;
	}
	*out = buf_detach(&b);
	return 0;
}

static int interp_node(struct interp *ip, struct ci_node *n)
{
	int err;

	if (n->type == CI_N_STR && strstr(n->str, "$[[")) {
		char *s;
		struct ci_node *rep;

		if ((err = interp_string(ip, n, n->str, &s, &rep)) < 0)
			return err;
		if (rep) {
			/* turn n into rep in place */
			free(n->str);
			n->type = rep->type;
			n->str = rep->str;
			n->len = rep->len;
			n->b = rep->b;
			n->n = rep->n;
			n->cap = rep->cap;
			n->items = rep->items;
			n->kv = rep->kv;
			n->idx = rep->idx;
			free(rep);
			return 0;
		}
		free(n->str);
		n->str = s;
		n->len = strlen(s);
		return 0;
	}
	if (n->type == CI_N_MAP) {
		bool rekey = false;

		for (size_t i = 0; i < n->n; i++) {
			if ((err = interp_node(ip, n->kv[i].val)) < 0)
				return err;
			if (strstr(n->kv[i].key, "$[[")) {
				char *s;
				struct ci_node *rep;
				struct ci_node at = *n;

				at.line = n->kv[i].line;
				at.col = n->kv[i].col;
				if ((err = interp_string(ip, &at, n->kv[i].key, &s,
				    &rep)) < 0)
					return err;
				if (rep) {
					s = xstrdup(ci_node_text(rep));
					ci_node_free(rep);
				}
				free(n->kv[i].key);
				n->kv[i].key = s;
				n->kv[i].klen = strlen(s);
				rekey = true;
			}
		}
		if (rekey) {
			/* rebuild the map so the index and duplicates are right */
			struct ci_node *m = ci_node_new(CI_N_MAP, n->file, n->line,
				n->col);

			for (size_t i = 0; i < n->n; i++) {
				ci_map_set(m, n->kv[i].key, n->kv[i].klen, n->kv[i].line,
					n->kv[i].col, n->kv[i].val);
				free(n->kv[i].key);
			}
			free(n->kv);
			if (n->idx) {
				ci_hmap_clear(n->idx);
				free(n->idx);
			}
			n->kv = m->kv;
			n->n = m->n;
			n->cap = m->cap;
			n->idx = m->idx;
			free(m);
		}
		return 0;
	}
	if (n->type == CI_N_SEQ || n->type == CI_N_REF) {
		for (size_t i = 0; i < n->n; i++) {
			if ((err = interp_node(ip, n->items[i])) < 0)
				return err;
		}
	}
	return 0;
}

static int check_input(struct interp *ip, const char *name,
	const struct ci_node *spec, const struct ci_node *v,
	const struct ci_node *at)
{
	const struct ci_node *type = spec ? ci_map_get(spec, "type") : NULL;
	const struct ci_node *opts = spec ? ci_map_get(spec, "options") : NULL;
	const struct ci_node *re = spec ? ci_map_get(spec, "regex") : NULL;
	const char *t = type ? ci_node_text(type) : "string";
	bool ok;

	if (strcmp(t, "string") == 0)
		ok = v->type == CI_N_STR || v->type == CI_N_NULL;
	else if (strcmp(t, "number") == 0)
		ok = v->type == CI_N_INT || v->type == CI_N_FLOAT;
	else if (strcmp(t, "boolean") == 0)
		ok = v->type == CI_N_BOOL;
	else if (strcmp(t, "array") == 0)
		ok = v->type == CI_N_SEQ;
	else
		return ci_diag_at(ip->ctx, type, "header:spec:inputs:%s input type "
			"unknown value: %s", name, t);
	if (!ok)
		return ci_diag_at(ip->ctx, at, "`%s` input: provided value is not a "
			"%s", name, t);
	if (opts) {
		bool found = false;

		if (opts->type != CI_N_SEQ)
			return ci_diag_at(ip->ctx, opts, "header:spec:inputs:%s options "
				"should be an array", name);
		if (strcmp(t, "string") != 0 && strcmp(t, "number") != 0)
			return ci_diag_at(ip->ctx, opts, "header:spec:inputs:%s options "
				"can only be used with string and number inputs", name);
		for (size_t i = 0; i < opts->n && !found; i++)
			found = ci_node_is_scalar(opts->items[i]) &&
				strcmp(ci_node_text(opts->items[i]), ci_node_text(v)) == 0;
		if (!found)
			return ci_diag_at(ip->ctx, at, "`%s` input: `%s` cannot be used "
				"because it is not in the list of allowed options", name,
				ci_node_text(v));
	}
	if (re) {
		char *pat;
		int r;

		if (strcmp(t, "string") != 0)
			return ci_diag_at(ip->ctx, re, "header:spec:inputs:%s regex can "
				"only be used with string inputs", name);
		pat = xasprintf("/%s/", ci_node_text(re));
		r = ci_expr_regex_search(pat, ci_node_text(v));
		free(pat);
		if (r < 0)
			return ci_diag_at(ip->ctx, re, "`%s` input: invalid regular "
				"expression", name);
		if (r == 0)
			return ci_diag_at(ip->ctx, at, "`%s` input: provided value does "
				"not match required RegEx pattern", name);
	}
	return 0;
}

int ci_inputs_apply(struct ci_yctx *ctx, const struct ci_load_options *opts,
	const struct ci_node *header, const struct ci_node *given,
	struct ci_node *root, const struct ci_node *at)
{
	struct interp ip = { 0 };
	const struct ci_node *spec, *specs = NULL;
	int err = 0;

	ip.ctx = ctx;
	ip.opts = opts;
	if (!header) {
		if (given && given->n)
			return ci_diag_at(ctx, at, "Given inputs not defined in the "
				"`spec` section of the included configuration file");
		return 0;
	}
	spec = ci_map_get(header, "spec");
	if (!spec || (spec->type != CI_N_MAP && spec->type != CI_N_NULL))
		return ci_diag_at(ctx, header, "header:spec config should be a hash");
	for (size_t i = 0; spec->type == CI_N_MAP && i < spec->n; i++) {
		const char *k = spec->kv[i].key;

		if (strcmp(k, "inputs") && strcmp(k, "include") &&
		    strcmp(k, "component"))
			return ci_diag_at(ctx, spec, "header:spec config contains "
				"unknown keys: %s", k);
	}
	specs = ci_map_get(spec, "inputs");
	if (specs && specs->type != CI_N_MAP && specs->type != CI_N_NULL)
		return ci_diag_at(ctx, specs, "header:spec:inputs config should be "
			"a hash");
	ip.specs = specs;
	ip.values = ci_node_new(CI_N_MAP, root->file, 1, 1);
	/* given inputs must be declared */
	for (size_t i = 0; given && i < given->n; i++) {
		if (!ci_map_get(specs, given->kv[i].key)) {
			err = ci_diag_at(ctx, given->kv[i].val, "unknown input "
				"arguments: %s", given->kv[i].key);
			goto done;
		}
	}
	for (size_t i = 0; specs && specs->type == CI_N_MAP && i < specs->n; i++) {
		const char *name = specs->kv[i].key;
		const struct ci_node *s = specs->kv[i].val;
		const struct ci_node *v = given ? ci_map_get(given, name) : NULL;
		struct ci_node spos = *s;
		const struct ci_node *where;
		struct ci_node *c;

		if (spos.line == 0) {
			/* an empty value has no mark: use its key */
			spos.line = specs->kv[i].line;
			spos.col = specs->kv[i].col;
		}
		where = v ? v : &spos;

		if (s->type != CI_N_MAP && s->type != CI_N_NULL) {
			err = ci_diag_at(ctx, s, "header:spec:inputs:%s config should "
				"be a hash", name);
			goto done;
		}
		if (s->type == CI_N_MAP) {
			for (size_t k = 0; k < s->n; k++) {
				const char *kk = s->kv[k].key;

				if (strcmp(kk, "default") && strcmp(kk, "type") &&
				    strcmp(kk, "options") && strcmp(kk, "regex") &&
				    strcmp(kk, "description") && strcmp(kk, "rules")) {
					err = ci_diag_at(ctx, s, "header:spec:inputs:%s config "
						"contains unknown keys: %s", name, kk);
					goto done;
				}
			}
		}
		if (!v && s->type == CI_N_MAP) {
			v = ci_map_get(s, "default");
			where = v ? v : &spos;
		}
		if (!v) {
			err = ci_diag_at(ctx, where, "`%s` input: required value has "
				"not been provided", name);
			goto done;
		}
		if ((err = check_input(&ip, name, s->type == CI_N_MAP ? s : NULL, v,
		    where)) < 0)
			goto done;
		if ((err = ci_node_copy(ctx, v, &c)) < 0)
			goto done;
		ci_map_set(ip.values, name, strlen(name), v->line, v->col, c);
	}
	err = interp_node(&ip, root);
done:
	ci_node_free(ip.values);
	return err;
}
