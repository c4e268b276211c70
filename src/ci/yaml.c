/*
 * ci/yaml.c: YAML loading into the CI tree (see yaml.h for the design),
 * plus the tree primitives (copy, deep merge, map index) and diagnostics.
 *
 * The loader is a loop over libfyaml parser events with an explicit stack
 * of open collections, so deep nesting cannot overflow the C stack
 * (libfyaml also caps depth). Merge keys follow Psych (what GitLab runs):
 * pairs are applied in order, `<<: map` merges its keys into the mapping
 * built so far (overwriting), `<<: [a, b]` merges b then a (a wins), and
 * later explicit keys overwrite merged ones.
 */
#include "ci/yaml.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfyaml.h>

#include "util/buf.h"
#include "util/error.h"

#define IDX_MIN 32

/* ---------- diagnostics ---------- */

void ci_diags_init(struct ci_diags *d)
{
	memset(d, 0, sizeof(*d));
}

void ci_diags_free(struct ci_diags *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].message);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}

int ci_diags_format(const struct ci_diags *d, struct buf *out)
{
	int err = 0;

	for (size_t i = 0; i < d->n && err == 0; i++) {
		const struct ci_diag *g = &d->v[i];

		err = buf_printf(out, "%s:%u:%u: %s%s\n", g->file, g->line, g->col,
			g->severity == CI_DIAG_WARNING ? "warning: " : "",
			g->message);
	}
	return err;
}

static int diag_vadd(struct ci_diags *d, enum ci_severity sev,
	const char *file, unsigned line, unsigned col, const char *fmt,
	va_list ap) __attribute__((format(printf, 6, 0)));

static int diag_vadd(struct ci_diags *d, enum ci_severity sev,
	const char *file, unsigned line, unsigned col, const char *fmt,
	va_list ap)
{
	struct ci_diag *g;
	struct buf b = BUF_INIT(0);

	/* A runaway input could produce millions of messages: keep 100. */
	if (d->n < 100) {
		if (d->n % 8 == 0)
			d->v = xrealloc(d->v, (d->n + 8) * sizeof(*d->v));
		g = &d->v[d->n++];
		buf_vprintf(&b, fmt, ap);
		g->severity = sev;
		g->file = xstrdup(file ? file : "");
		g->line = line;
		g->col = col;
		g->message = buf_detach(&b);
	}
	if (sev == CI_DIAG_ERROR) {
		d->n_errors++;
		return SO_EINVALID;
	}
	return 0;
}

int ci_diag_add(struct ci_diags *d, enum ci_severity sev, const char *file,
	unsigned line, unsigned col, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = diag_vadd(d, sev, file, line, col, fmt, ap);
	va_end(ap);
	return r;
}

int ci_diag_at(struct ci_yctx *ctx, const struct ci_node *n,
	const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = diag_vadd(ctx->diags, CI_DIAG_ERROR, n ? n->file : NULL,
		n ? n->line : 0, n ? n->col : 0, fmt, ap);
	va_end(ap);
	return r;
}

/* ---------- context ---------- */

void ci_yctx_init(struct ci_yctx *ctx, struct ci_diags *diags,
	size_t max_nodes, size_t max_bytes)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->diags = diags;
	ctx->max_nodes = max_nodes ? max_nodes : 1000000;
	ctx->max_bytes = max_bytes ? max_bytes : 4u << 20;
}

void ci_yctx_dispose(struct ci_yctx *ctx)
{
	for (size_t i = 0; i < ctx->n_files; i++)
		free(ctx->files[i]);
	free(ctx->files);
	ci_hmap_clear(&ctx->file_idx);
	ctx->files = NULL;
	ctx->n_files = 0;
}

const char *ci_yctx_intern(struct ci_yctx *ctx, const char *file)
{
	char *s = ci_hmap_get(&ctx->file_idx, file, strlen(file));

	if (s)
		return s;
	s = xstrdup(file);
	ctx->files = xrealloc(ctx->files, (ctx->n_files + 1) * sizeof(char *));
	ctx->files[ctx->n_files++] = s;
	ci_hmap_put(&ctx->file_idx, s, strlen(s), s);
	return s;
}

/* ---------- nodes ---------- */

struct ci_node *ci_node_new(enum ci_ntype type, const char *file,
	unsigned line, unsigned col)
{
	struct ci_node *n = xcalloc(1, sizeof(*n));

	n->type = type;
	n->file = file;
	n->line = line;
	n->col = col;
	return n;
}

void ci_node_free(struct ci_node *n)
{
	if (!n)
		return;
	free(n->str);
	for (size_t i = 0; i < n->n; i++) {
		if (n->type == CI_N_MAP) {
			free(n->kv[i].key);
			ci_node_free(n->kv[i].val);
		} else {
			ci_node_free(n->items[i]);
		}
	}
	free(n->items);    /* also n->kv (a union) */
	if (n->idx) {
		ci_hmap_clear(n->idx);
		free(n->idx);
	}
	free(n);
}

size_t ci_node_count(const struct ci_node *n)
{
	size_t c = 1;

	for (size_t i = 0; i < n->n; i++)
		c += ci_node_count(n->type == CI_N_MAP ? n->kv[i].val : n->items[i]);
	return c;
}

static void index_rebuild(struct ci_node *m);

static struct ci_node *copy_rec(const struct ci_node *s)
{
	struct ci_node *d = ci_node_new(s->type, s->file, s->line, s->col);

	d->b = s->b;
	d->len = s->len;
	if (s->str)
		d->str = xstrndup(s->str, s->len);
	/* exact sizes: copies are most of a large configuration's memory */
	if (s->type == CI_N_MAP && s->n) {
		d->kv = xmalloc(s->n * sizeof(*d->kv));
		d->cap = s->n;
		for (size_t i = 0; i < s->n; i++) {
			d->kv[i].key = xstrndup(s->kv[i].key, s->kv[i].klen);
			d->kv[i].klen = s->kv[i].klen;
			d->kv[i].line = s->kv[i].line;
			d->kv[i].col = s->kv[i].col;
			d->kv[i].merged = 0;
			d->kv[i].val = copy_rec(s->kv[i].val);
		}
		d->n = s->n;
		if (s->idx)
			index_rebuild(d);
	} else if (s->n) {
		d->items = xmalloc(s->n * sizeof(*d->items));
		d->cap = s->n;
		for (size_t i = 0; i < s->n; i++)
			d->items[i] = copy_rec(s->items[i]);
		d->n = s->n;
	}
	return d;
}

int ci_node_copy(struct ci_yctx *ctx, const struct ci_node *src,
	struct ci_node **out)
{
	size_t c = ci_node_count(src);

	*out = NULL;
	if (c > ctx->max_nodes || ctx->nodes > ctx->max_nodes - c) {
		ci_diag_at(ctx, src, "the configuration is too large: more than "
			"%zu values after expanding aliases, extends and !reference",
			ctx->max_nodes);
		return SO_ETOOBIG;
	}
	ctx->nodes += c;
	*out = copy_rec(src);
	return 0;
}

static void index_add(struct ci_node *m, size_t i)
{
	ci_hmap_put(m->idx, m->kv[i].key, m->kv[i].klen, (void *)(i + 1));
}

static void index_rebuild(struct ci_node *m)
{
	if (m->idx) {
		ci_hmap_clear(m->idx);
	} else if (m->n >= IDX_MIN) {
		m->idx = xcalloc(1, sizeof(*m->idx));
	}
	if (!m->idx)
		return;
	for (size_t i = 0; i < m->n; i++)
		index_add(m, i);
}

static long map_find(const struct ci_node *m, const char *key, size_t klen)
{
	if (m->type != CI_N_MAP)
		return -1;
	if (m->idx) {
		size_t v = (size_t)ci_hmap_get(m->idx, key, klen);

		return v ? (long)(v - 1) : -1;
	}
	for (size_t i = 0; i < m->n; i++) {
		if (m->kv[i].klen == klen && memcmp(m->kv[i].key, key, klen) == 0)
			return (long)i;
	}
	return -1;
}

struct ci_node *ci_map_get(const struct ci_node *map, const char *key)
{
	long i = map ? map_find(map, key, strlen(key)) : -1;

	return i < 0 ? NULL : map->kv[i].val;
}

const struct ci_kv *ci_map_kv(const struct ci_node *map, const char *key)
{
	long i = map ? map_find(map, key, strlen(key)) : -1;

	return i < 0 ? NULL : &map->kv[i];
}

bool ci_map_set(struct ci_node *map, const char *key, size_t klen,
	unsigned line, unsigned col, struct ci_node *val)
{
	long i = map_find(map, key, klen);
	struct ci_kv *kv;

	if (i >= 0) {
		ci_node_free(map->kv[i].val);
		map->kv[i].val = val;
		return true;
	}
	if (map->n == map->cap) {
		map->cap = map->cap ? map->cap * 2 : 4;
		map->kv = xrealloc(map->kv, map->cap * sizeof(*map->kv));
	}
	kv = &map->kv[map->n++];
	kv->key = xstrndup(key, klen);
	kv->klen = klen;
	kv->line = line;
	kv->col = col;
	kv->merged = 0;
	kv->val = val;
	if (map->idx)
		index_add(map, map->n - 1);
	else if (map->n >= IDX_MIN)
		index_rebuild(map);
	return false;
}

struct ci_node *ci_map_take(struct ci_node *map, const char *key)
{
	long i = map_find(map, key, strlen(key));
	struct ci_node *v;

	if (i < 0)
		return NULL;
	v = map->kv[i].val;
	free(map->kv[i].key);
	memmove(&map->kv[i], &map->kv[i + 1],
		(map->n - (size_t)i - 1) * sizeof(*map->kv));
	map->n--;
	if (map->idx)
		index_rebuild(map);
	return v;
}

void ci_seq_push(struct ci_node *seq, struct ci_node *item)
{
	if (seq->n == seq->cap) {
		seq->cap = seq->cap ? seq->cap * 2 : 4;
		seq->items = xrealloc(seq->items, seq->cap * sizeof(*seq->items));
	}
	seq->items[seq->n++] = item;
}

int ci_node_merge(struct ci_yctx *ctx, struct ci_node *dst,
	const struct ci_node *src)
{
	int err;

	for (size_t i = 0; i < src->n; i++) {
		const struct ci_kv *s = &src->kv[i];
		long j = map_find(dst, s->key, s->klen);
		struct ci_node *c;

		if (j >= 0 && dst->kv[j].val->type == CI_N_MAP &&
		    s->val->type == CI_N_MAP) {
			if ((err = ci_node_merge(ctx, dst->kv[j].val, s->val)) < 0)
				return err;
			continue;
		}
		if ((err = ci_node_copy(ctx, s->val, &c)) < 0)
			return err;
		ci_map_set(dst, s->key, s->klen, s->line, s->col, c);
	}
	return 0;
}

bool ci_node_is_scalar(const struct ci_node *n)
{
	return n->type <= CI_N_STR;
}

const char *ci_node_text(const struct ci_node *n)
{
	switch (n->type) {
	case CI_N_NULL:
		return "";
	case CI_N_BOOL:
		return n->b ? "true" : "false";
	default:
		return n->str ? n->str : "";
	}
}

const char *ci_ntype_name(enum ci_ntype t)
{
	switch (t) {
	case CI_N_NULL: return "null";
	case CI_N_BOOL: return "boolean";
	case CI_N_INT: return "integer";
	case CI_N_FLOAT: return "float";
	case CI_N_STR: return "string";
	case CI_N_SEQ: return "array";
	case CI_N_MAP: return "hash";
	case CI_N_REF: return "!reference";
	}
	return "value";
}

json_t *ci_node_to_json(const struct ci_node *n)
{
	json_t *j;

	switch (n->type) {
	case CI_N_NULL:
		return json_null();
	case CI_N_BOOL:
		return json_boolean(n->b);
	case CI_N_INT: {
		char *end;
		long long v = strtoll(n->str, &end, 10);

		if (*end == '\0' && end != n->str)
			return json_integer(v);
		return json_stringn(n->str, n->len);
	}
	case CI_N_FLOAT:
	case CI_N_STR:
		j = json_stringn(n->str ? n->str : "", n->len);
		return j ? j : json_string("");
	case CI_N_SEQ:
	case CI_N_REF:
		j = json_array();
		for (size_t i = 0; i < n->n; i++)
			json_array_append_new(j, ci_node_to_json(n->items[i]));
		if (n->type == CI_N_REF) {
			json_t *o = json_object();

			json_object_set_new(o, "!reference", j);
			return o;
		}
		return j;
	case CI_N_MAP:
		j = json_object();
		for (size_t i = 0; i < n->n; i++)
			json_object_setn_new_nocheck(j, n->kv[i].key, n->kv[i].klen,
				ci_node_to_json(n->kv[i].val));
		return j;
	}
	return json_null();
}

/* ---------- scalar typing (Psych's YAML 1.1 rules) ---------- */

static bool ieq(const char *s, size_t len, const char *w)
{
	return strlen(w) == len && strncasecmp(s, w, len) == 0;
}

static bool all_digits(const char *s, size_t len, const char *extra)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]) && !strchr(extra, s[i]))
			return false;
	}
	return true;
}

static enum ci_ntype plain_type(const char *s, size_t len, bool *b)
{
	const char *p = s;
	size_t n = len;

	if (len == 0 || (len == 1 && s[0] == '~') || ieq(s, len, "null"))
		return CI_N_NULL;
	if (ieq(s, len, "true") || ieq(s, len, "yes") || ieq(s, len, "on")) {
		*b = true;
		return CI_N_BOOL;
	}
	if (ieq(s, len, "false") || ieq(s, len, "no") || ieq(s, len, "off")) {
		*b = false;
		return CI_N_BOOL;
	}
	if (n && (*p == '-' || *p == '+')) {
		p++;
		n--;
	}
	if (n > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'o' || p[1] == 'b')) {
		for (size_t i = 2; i < n; i++) {
			if (!isxdigit((unsigned char)p[i]) && p[i] != '_')
				return CI_N_STR;
		}
		return CI_N_INT;
	}
	if (all_digits(p, n, "_,") && isdigit((unsigned char)p[0]))
		return CI_N_INT;
	if (ieq(p, n, ".inf") || ieq(s, len, ".nan"))
		return CI_N_FLOAT;
	{
		/* [digits][.digits][e[+-]digits], at least one digit and a '.'
		 * or an exponent */
		size_t i = 0, digits = 0;
		bool dot = false, exp = false;

		while (i < n && (isdigit((unsigned char)p[i]) || p[i] == '_')) {
			i++;
			digits++;
		}
		if (i < n && p[i] == '.') {
			dot = true;
			i++;
			while (i < n && (isdigit((unsigned char)p[i]) || p[i] == '_')) {
				i++;
				digits++;
			}
		}
		if (digits && i < n && (p[i] == 'e' || p[i] == 'E')) {
			size_t j = i + 1;

			if (j < n && (p[j] == '+' || p[j] == '-'))
				j++;
			if (j < n && all_digits(p + j, n - j, "")) {
				exp = true;
				i = n;
			}
		}
		if (digits && i == n && (dot || exp))
			return CI_N_FLOAT;
	}
	return CI_N_STR;
}

/* Psych's integer forms: [-+]0b..., [-+]0<octal>, [-+]decimal with '_' or
 * ',' separators, [-+]0x...; the text becomes Ruby's Integer#to_s. False
 * when s is not one of them (then it is a string, e.g. "08"). */
static bool psych_int(const char *s, size_t len, char **out)
{
	char digits[128];
	size_t n = 0, i = 0;
	int base = 10;
	bool neg = false;
	unsigned long long v = 0;

	if (len && (s[0] == '-' || s[0] == '+')) {
		neg = s[0] == '-';
		i++;
	}
	if (len - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'b')) {
		base = s[i + 1] == 'x' ? 16 : 2;
		i += 2;
	} else if (len - i > 1 && s[i] == '0') {
		base = 8;
		i++;
	}
	for (; i < len; i++) {
		if (s[i] == '_' || s[i] == ',')
			continue;
		if (n + 1 >= sizeof(digits))
			return false;
		digits[n++] = s[i];
	}
	digits[n] = '\0';
	if (n == 0) {
		/* "0", "-0", "0_": the octal prefix alone is zero */
		if (base != 8)
			return false;
		*out = xstrdup("0");
		return true;
	}
	for (size_t k = 0; k < n; k++) {
		int d = isdigit((unsigned char)digits[k]) ? digits[k] - '0' :
			isxdigit((unsigned char)digits[k]) ?
			tolower((unsigned char)digits[k]) - 'a' + 10 : 99;

		if (d >= base)
			return false;
		if (v > (~0ULL - (unsigned)d) / (unsigned)base) {
			/* too big for us: keep the text as Ruby would print it */
			*out = xstrndup(s, len);
			return true;
		}
		v = v * (unsigned)base + (unsigned)d;
	}
	*out = xasprintf("%s%llu", neg && v ? "-" : "", v);
	return true;
}

/* Ruby's Float#to_s for the usual cases: "1.5", "1000.0", "Infinity". */
static char *psych_float(const char *s, size_t len)
{
	char buf[64], *t = xstrndup(s, len), *w = t;
	double d;

	for (char *r = t; *r; r++) {
		if (*r != '_')
			*w++ = *r;
	}
	*w = '\0';
	if (strcasecmp(t, ".inf") == 0 || strcasecmp(t, "+.inf") == 0) {
		free(t);
		return xstrdup("Infinity");
	}
	if (strcasecmp(t, "-.inf") == 0) {
		free(t);
		return xstrdup("-Infinity");
	}
	if (strcasecmp(t, ".nan") == 0) {
		free(t);
		return xstrdup("NaN");
	}
	d = strtod(t, NULL);
	free(t);
	snprintf(buf, sizeof(buf), "%.15g", d);
	if (!strpbrk(buf, ".en"))
		strcat(buf, ".0");
	return xstrdup(buf);
}

/* Offset of the first byte that is not well-formed UTF-8 (or a NUL), or
 * len when all of it is. */
static size_t utf8_check(const char *data, size_t len)
{
	const unsigned char *s = (const unsigned char *)data;
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		size_t n;
		unsigned cp;

		if (c == 0)
			return i;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return i;
		}
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return i;
		i += n + 1;
	}
	return len;
}

/* Offset of the first explicit complex-key indicator ("? " where a key
 * may start: at the start of a line after indentation and "- ", after
 * ": ", or after '[', '{', ',' outside quotes), or len when there is none.
 * libfyaml 0.7.12 crashes on some complex keys (fuzzing found "? t:\t?"),
 * and GitLab configurations have no use for them (keys are names). */
static size_t complex_key_check(const char *s, size_t len)
{
	size_t i = 0;
	long block = -1;   /* indentation of a line that opened a block scalar */

	while (i < len) {
		size_t e = i, k, ind = 0, last = 0;
		char q = 0, prev = ' ';

		while (e < len && s[e] != '\n')
			e++;
		while (i + ind < e && s[i + ind] == ' ')
			ind++;
		if (block >= 0) {
			/* block scalar content: blank or more indented lines */
			if (i + ind == e || s[i + ind] == '\r' || (long)ind > block) {
				i = e + 1;
				continue;
			}
			block = -1;
		}
		/* start of line: indentation and block sequence indicators */
		k = i;
		for (;;) {
			while (k < e && s[k] == ' ')
				k++;
			if (k + 1 < e && s[k] == '-' && (s[k + 1] == ' ' ||
			    s[k + 1] == '\t'))
				k += 2;
			else
				break;
		}
		for (; k < e; k++) {
			char c = s[k];

			if (q) {
				if (c == q && !(q == '"' && k > i && s[k - 1] == '\\'))
					q = 0;
				continue;
			}
			if (c == '#' && (prev == ' ' || prev == '\t' || k == i))
				break;
			if ((c == '"' || c == '\'') && (prev == ' ' || prev == '[' ||
			    prev == '{' || prev == ',' || prev == ':' || k == i)) {
				q = c;
				prev = c;
				continue;
			}
			if (c == '?' && (k + 1 == e || s[k + 1] == ' ' ||
			    s[k + 1] == '\t' || s[k + 1] == '\r')) {
				size_t b = k;

				while (b > i && (s[b - 1] == ' ' || s[b - 1] == '\t'))
					b--;
				if (b == i || s[b - 1] == '[' || s[b - 1] == '{' ||
				    s[b - 1] == ',' || (s[b - 1] == '-' && b - 1 == i) ||
				    (s[b - 1] == ':' && b < k))
					return k;
				/* "- ? x": the sequence indicators were skipped above */
				if (b >= i + 1 && s[b - 1] == '-' && (b - 1 == i ||
				    s[b - 2] == ' '))
					return k;
			}
			if (c != ' ' && c != '\t' && c != '\r') {
				prev = c;
				last = k;
			}
		}
		/* a line ending in | or > (with indicators) opens a block scalar */
		if (!q && last > i) {
			size_t b = last;

			while (b > i && (isdigit((unsigned char)s[b]) || s[b] == '-' ||
			    s[b] == '+'))
				b--;
			if ((s[b] == '|' || s[b] == '>') && (b == i || s[b - 1] == ' '))
				block = (long)ind;
		} else if (!q && last == i && (s[i] == '|' || s[i] == '>')) {
			block = (long)ind;
		}
		i = e + 1;
	}
	return len;
}

/* ---------- the event loader ---------- */

struct frame {
	struct ci_node *node;     /* MAP, SEQ or REF under construction */
	char *anchor;             /* anchor of this collection, or NULL */
	/* maps: the pending key */
	bool have_key;
	bool key_is_merge;        /* a plain `<<` */
	char *key;
	size_t klen;
	unsigned kline, kcol;
};

struct loader {
	struct ci_yctx *ctx;
	const char *file;
	struct frame *st;
	size_t depth, cap;
	struct ci_hmap anchors;   /* name -> owned copy */
	char **anchor_names;
	size_t n_anchors;
	struct ci_node *docs[2];
	size_t n_docs;
	bool failed;
	int err;
};

static int lerr(struct loader *l, unsigned line, unsigned col, int code,
	const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int lerr(struct loader *l, unsigned line, unsigned col, int code,
	const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(l->ctx->diags, CI_DIAG_ERROR, l->file, line, col, fmt, ap);
	va_end(ap);
	l->failed = true;
	l->err = code;
	return code;
}

static void frame_dispose(struct frame *f)
{
	ci_node_free(f->node);
	free(f->anchor);
	free(f->key);
}

static void register_anchor(struct loader *l, const char *name,
	const struct ci_node *n)
{
	struct ci_node *c, *old;
	char *key;

	if (ci_node_copy(l->ctx, n, &c) < 0) {
		l->failed = true;
		l->err = SO_ETOOBIG;
		return;
	}
	old = ci_hmap_get(&l->anchors, name, strlen(name));
	if (old) {
		/* A redefined anchor: later aliases see the new value. */
		for (size_t i = 0; i < l->n_anchors; i++) {
			if (strcmp(l->anchor_names[i], name) == 0) {
				key = l->anchor_names[i];
				ci_node_free(old);
				ci_hmap_put(&l->anchors, key, strlen(key), c);
				return;
			}
		}
	}
	key = xstrdup(name);
	l->anchor_names = xrealloc(l->anchor_names,
		(l->n_anchors + 1) * sizeof(char *));
	l->anchor_names[l->n_anchors++] = key;
	ci_hmap_put(&l->anchors, key, strlen(key), c);
}

/* Merges the keys of src (a map, owned by the caller and emptied here: its
 * values move, nothing is copied) into dst, Psych style (overwriting). */
static void merge_into(struct ci_node *dst, struct ci_node *src)
{
	for (size_t i = 0; i < src->n; i++) {
		struct ci_kv *kv = &src->kv[i];

		ci_map_set(dst, kv->key, kv->klen, kv->line, kv->col, kv->val);
		((struct ci_kv *)ci_map_kv(dst, kv->key))->merged = 1;
		free(kv->key);
	}
	src->n = 0;
}

/* Hands a finished value to the collection on top of the stack (or makes
 * it a document root). val is stolen. */
static void add_value(struct loader *l, struct ci_node *val)
{
	struct frame *f;

	if (l->depth == 0) {
		if (l->n_docs < 2)
			l->docs[l->n_docs++] = val;
		else
			ci_node_free(val);
		return;
	}
	f = &l->st[l->depth - 1];
	if (f->node->type != CI_N_MAP) {
		ci_seq_push(f->node, val);
		return;
	}
	if (!f->have_key) {
		/* this value is a key */
		if (!ci_node_is_scalar(val)) {
			lerr(l, val->line, val->col, SO_EINVALID,
				"mapping keys must be strings, not a %s",
				ci_ntype_name(val->type));
			ci_node_free(val);
			return;
		}
		f->have_key = true;
		f->key_is_merge = val->type == CI_N_STR && val->b /* plain */ &&
			val->len == 2 && memcmp(val->str, "<<", 2) == 0;
		f->key = xstrdup(ci_node_text(val));
		f->klen = strlen(f->key);
		f->kline = val->line;
		f->kcol = val->col;
		ci_node_free(val);
		return;
	}
	f->have_key = false;
	if (f->key_is_merge && (val->type == CI_N_MAP || val->type == CI_N_SEQ)) {
		bool all_maps = true;

		for (size_t i = 0; val->type == CI_N_SEQ && i < val->n; i++)
			all_maps = all_maps && val->items[i]->type == CI_N_MAP;
		if (val->type == CI_N_MAP) {
			merge_into(f->node, val);
			goto merged;
		}
		if (all_maps) {
			struct ci_node *h = ci_node_new(CI_N_MAP, l->file, val->line,
				val->col);

			for (size_t i = val->n; i-- > 0;)
				merge_into(h, val->items[i]);
			merge_into(f->node, h);
			ci_node_free(h);
			goto merged;
		}
	}
	{
		const struct ci_kv *old = ci_map_kv(f->node, f->key);

		if (old && !old->merged)
			ci_diag_add(l->ctx->diags, CI_DIAG_WARNING, l->file, f->kline,
				f->kcol, "duplicated mapping key `%s` (the last one wins)",
				f->key);
	}
	ci_map_set(f->node, f->key, f->klen, f->kline, f->kcol, val);
	free(f->key);
	f->key = NULL;
	return;
merged:
	ci_node_free(val);
	free(f->key);
	f->key = NULL;
}

static const char *token_text(struct fy_token *t, size_t *len)
{
	const char *s = t ? fy_token_get_text(t, len) : NULL;

	if (!s) {
		*len = 0;
		return "";
	}
	return s;
}

static void mark_of(struct fy_event *ev, unsigned *line, unsigned *col)
{
	const struct fy_mark *m = fy_event_start_mark(ev);

	*line = m ? (unsigned)m->line + 1 : 0;
	*col = m ? (unsigned)m->column + 1 : 0;
}

static char *anchor_of(struct fy_event *ev)
{
	size_t len;
	const char *s;
	struct fy_token *t = fy_event_get_anchor_token(ev);

	if (!t)
		return NULL;
	s = token_text(t, &len);
	return xstrndup(s, len);
}

static bool is_reference_tag(struct fy_event *ev)
{
	size_t len;
	const char *s;
	struct fy_token *t = fy_event_get_tag_token(ev);

	if (!t)
		return false;
	s = token_text(t, &len);
	return len == 10 && memcmp(s, "!reference", 10) == 0;
}

/* Deeper YAML than this is refused: the tree is walked recursively, and
 * no CI configuration nests anywhere near it. */
#define MAX_DEPTH 256

static void push_frame(struct loader *l, struct ci_node *n, char *anchor)
{
	if (l->depth == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->st = xrealloc(l->st, l->cap * sizeof(*l->st));
	}
	memset(&l->st[l->depth], 0, sizeof(l->st[0]));
	l->st[l->depth].node = n;
	l->st[l->depth].anchor = anchor;
	l->depth++;
}

static void on_scalar(struct loader *l, struct fy_event *ev)
{
	struct fy_token *t = ev->scalar.value;
	size_t len;
	const char *s = token_text(t, &len);
	unsigned line, col;
	struct ci_node *n;
	char *anchor = anchor_of(ev);
	bool plain = fy_token_scalar_style(t) == FYSS_PLAIN;
	bool b = false;
	enum ci_ntype type = CI_N_STR;

	mark_of(ev, &line, &col);
	if (is_reference_tag(ev)) {
		lerr(l, line, col, SO_EINVALID,
			"!reference must be a sequence of strings");
		free(anchor);
		return;
	}
	if (plain && !fy_event_get_tag_token(ev))
		type = plain_type(s, len, &b);
	n = ci_node_new(type, l->file, line, col);
	if (type == CI_N_INT) {
		if (!psych_int(s, len, &n->str)) {
			n->type = type = CI_N_STR;
			n->str = xstrndup(s, len);
		}
		n->len = strlen(n->str);
	} else if (type == CI_N_FLOAT) {
		n->str = psych_float(s, len);
		n->len = strlen(n->str);
	} else if (type != CI_N_NULL) {
		n->str = xstrndup(s, len);
		n->len = len;
	}
	n->b = type == CI_N_BOOL ? b : (type == CI_N_STR && plain);
	if (anchor)
		register_anchor(l, anchor, n);
	free(anchor);
	add_value(l, n);
}

static void on_alias(struct loader *l, struct fy_event *ev)
{
	size_t len;
	const char *s = token_text(ev->alias.anchor, &len);
	char *name = xstrndup(s, len);
	struct ci_node *a = ci_hmap_get(&l->anchors, name, len);
	struct ci_node *c;
	unsigned line, col;

	mark_of(ev, &line, &col);
	if (!a) {
		lerr(l, line, col, SO_EINVALID, "unknown alias `%s`", name);
	} else if (ci_node_copy(l->ctx, a, &c) < 0) {
		l->failed = true;
		l->err = SO_ETOOBIG;
	} else {
		/* a merge key's value is recognised by its type, and a copied
		 * plain "<<" string keeps its plain flag, like Psych */
		add_value(l, c);
	}
	free(name);
}

static void on_end(struct loader *l)
{
	struct frame f = l->st[--l->depth];
	struct ci_node *n = f.node;

	f.node = NULL;
	if (n->type == CI_N_REF) {
		for (size_t i = 0; i < n->n; i++) {
			if (n->items[i]->type != CI_N_STR &&
			    n->items[i]->type != CI_N_INT) {
				lerr(l, n->line, n->col, SO_EINVALID,
					"!reference must be a sequence of strings");
				break;
			}
		}
		if (n->n == 0)
			lerr(l, n->line, n->col, SO_EINVALID,
				"!reference must be a sequence of strings");
	}
	/* shrink to fit: a finished collection does not grow while loading */
	if (n->n && n->n < n->cap) {
		if (n->type == CI_N_MAP)
			n->kv = xrealloc(n->kv, n->n * sizeof(*n->kv));
		else
			n->items = xrealloc(n->items, n->n * sizeof(*n->items));
		n->cap = n->n;
	}
	if (f.have_key) /* cannot happen with a well-formed stream */
		lerr(l, n->line, n->col, SO_EINVALID, "mapping key without a value");
	if (f.anchor && !l->failed)
		register_anchor(l, f.anchor, n);
	frame_dispose(&f);
	add_value(l, n);
}

struct diag_capture {
	struct loader *l;
	bool reported;
};

static void fy_output(struct fy_diag *diag, void *user, const char *buf,
	size_t len)
{
	(void)diag;
	(void)user;
	(void)buf;
	(void)len;
}

static void report_fy_errors(struct loader *l, struct fy_diag *diag)
{
	void *it = NULL;
	struct fy_diag_error *e;
	bool any = false;

	while ((e = fy_diag_errors_iterate(diag, &it)) != NULL) {
		if (e->type < FYET_ERROR)
			continue;
		lerr(l, (unsigned)e->line + 1, (unsigned)e->column + 1,
			SO_EINVALID, "invalid YAML: %s", e->msg);
		any = true;
		break;
	}
	if (!any)
		lerr(l, 1, 1, SO_EINVALID, "invalid YAML");
}

int ci_yaml_load(struct ci_yctx *ctx, const char *file, const char *data,
	size_t len, struct ci_node **out, struct ci_node **header)
{
	struct loader l = { 0 };
	struct fy_diag_cfg dcfg;
	struct fy_diag *diag = NULL;
	struct fy_parse_cfg pcfg = { 0 };
	struct fy_parser *p = NULL;
	struct fy_event *ev;
	struct ci_node *root = NULL, *hdr = NULL;
	int err = 0;

	*out = NULL;
	if (header)
		*header = NULL;
	l.ctx = ctx;
	l.file = ci_yctx_intern(ctx, file);
	if (len > ctx->max_bytes) {
		err = lerr(&l, 1, 1, SO_ETOOBIG, "the file is larger than %zu bytes",
			ctx->max_bytes);
		goto done;
	}
	{
		/* GitLab reads configuration as UTF-8; invalid bytes are refused
		 * here, which also keeps them away from libfyaml's scanner. */
		size_t bad = utf8_check(data, len);

		if (bad != len) {
			unsigned line = 1, col = 1;

			for (size_t i = 0; i < bad; i++) {
				if (data[i] == '\n') {
					line++;
					col = 1;
				} else if (((unsigned char)data[i] & 0xc0) != 0x80) {
					col++;
				}
			}
			err = lerr(&l, line, col, SO_EINVALID, "invalid YAML: the "
				"file is not valid UTF-8");
			goto done;
		}
	}
	{
		size_t ck = complex_key_check(data, len);

		if (ck != len) {
			unsigned line = 1, col = 1;

			for (size_t i = 0; i < ck; i++) {
				if (data[i] == '\n') {
					line++;
					col = 1;
				} else if (((unsigned char)data[i] & 0xc0) != 0x80) {
					col++;
				}
			}
			err = lerr(&l, line, col, SO_EINVALID, "invalid YAML: complex "
				"mapping keys (\"? \") are not supported");
			goto done;
		}
	}
	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.output_fn = fy_output;
	dcfg.colorize = false;
	diag = fy_diag_create(&dcfg);
	if (!diag) {
		err = error_set(SO_EFAIL, "cannot create a YAML diagnostic");
		goto done;
	}
	fy_diag_set_collect_errors(diag, true);
	pcfg.flags = FYPCF_QUIET | FYPCF_DEFAULT_VERSION_1_1 |
		FYPCF_ALLOW_DUPLICATE_KEYS | FYPCF_JSON_NONE;
	pcfg.diag = diag;
	p = fy_parser_create(&pcfg);
	if (!p || fy_parser_set_string(p, data, len) != 0) {
		err = error_set(SO_EFAIL, "cannot create a YAML parser");
		goto done;
	}
	while (!l.failed && (ev = fy_parser_parse(p)) != NULL) {
		unsigned line, col;

		mark_of(ev, &line, &col);
		switch (ev->type) {
		case FYET_DOCUMENT_START:
			/* anchors are per document */
			break;
		case FYET_SCALAR:
			on_scalar(&l, ev);
			break;
		case FYET_ALIAS:
			on_alias(&l, ev);
			break;
		case FYET_MAPPING_START:
		case FYET_SEQUENCE_START: {
			enum ci_ntype t = ev->type == FYET_MAPPING_START ? CI_N_MAP :
				CI_N_SEQ;

			if (is_reference_tag(ev)) {
				if (t == CI_N_MAP) {
					lerr(&l, line, col, SO_EINVALID,
						"!reference must be a sequence of strings");
					break;
				}
				t = CI_N_REF;
			}
			if (l.depth && l.st[l.depth - 1].node->type == CI_N_MAP &&
			    !l.st[l.depth - 1].have_key) {
				lerr(&l, line, col, SO_EINVALID,
					"mapping keys must be strings");
				break;
			}
			if (l.depth >= MAX_DEPTH) {
				lerr(&l, line, col, SO_EINVALID, "invalid YAML: nested more "
					"than %d levels deep", MAX_DEPTH);
				break;
			}
			push_frame(&l, ci_node_new(t, l.file, line, col),
				anchor_of(ev));
			break;
		}
		case FYET_MAPPING_END:
		case FYET_SEQUENCE_END:
			if (l.depth)
				on_end(&l);
			break;
		default:
			break;
		}
		fy_parser_event_free(p, ev);
	}
	if (!l.failed && fy_parser_get_stream_error(p))
		report_fy_errors(&l, diag);
	if (l.failed) {
		err = l.err ? l.err : SO_EINVALID;
		goto done;
	}
	/* A `spec:` header document followed by the configuration. */
	if (l.n_docs == 2 && l.docs[0] && l.docs[0]->type == CI_N_MAP &&
	    ci_map_get(l.docs[0], "spec")) {
		hdr = l.docs[0];
		root = l.docs[1];
		l.docs[0] = l.docs[1] = NULL;
	} else if (l.n_docs >= 1) {
		root = l.docs[0];
		l.docs[0] = NULL;
	}
	if (!root || root->type == CI_N_NULL) {
		ci_node_free(root);
		root = ci_node_new(CI_N_MAP, l.file, 1, 1);
	}
	if (root->type != CI_N_MAP) {
		err = lerr(&l, root->line, root->col, SO_EINVALID,
			"Invalid configuration format");
		goto done;
	}
	*out = root;
	root = NULL;
	if (header) {
		*header = hdr;
		hdr = NULL;
	}
done:
	ci_node_free(root);
	ci_node_free(hdr);
	for (size_t i = 0; i < l.n_docs; i++)
		ci_node_free(l.docs[i]);
	while (l.depth)
		frame_dispose(&l.st[--l.depth]);
	free(l.st);
	for (size_t i = 0; i < l.n_anchors; i++) {
		ci_node_free(ci_hmap_get(&l.anchors, l.anchor_names[i],
			strlen(l.anchor_names[i])));
		free(l.anchor_names[i]);
	}
	free(l.anchor_names);
	ci_hmap_clear(&l.anchors);
	if (p)
		fy_parser_destroy(p);
	if (diag)
		fy_diag_destroy(diag);
	return err;
}
