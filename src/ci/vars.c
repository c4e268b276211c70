/*
 * ci/vars.c: variable collections, expansion and predefined variables.
 *
 * Design: see vars.h. The list is a growable array plus a hash index from
 * key to the last item (the index borrows the item's key string, so it is
 * rebuilt whenever the array moves). Expansion follows
 * Collection#sort_and_expand_all: an iterative depth-first post-order over
 * the items (children = every item of a referenced key, in list order),
 * Tarjan-style cycle detection for components larger than one item (a
 * variable referring to its own key sees the earlier definition, as in
 * GitLab), and one pass of reference substitution per item against the
 * collection built so far. References use Item::VARIABLES_REGEXP:
 * `$$`, `%%`, `$NAME`, `${NAME}`, `%NAME%` with NAME = [A-Za-z_][A-Za-z0-9_]*.
 */
#include "ci/vars.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/error.h"

/* ---------- the list ---------- */

void ci_varlist_init(struct ci_varlist *l)
{
	memset(l, 0, sizeof(*l));
}

void ci_varlist_dispose(struct ci_varlist *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i].borrowed)
			continue;
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	ci_hmap_clear(&l->idx);
	memset(l, 0, sizeof(*l));
}

#define SMALL_LIST 8

static void reindex(struct ci_varlist *l)
{
	ci_hmap_clear(&l->idx);
	memset(&l->idx, 0, sizeof(l->idx));
	if (l->n <= SMALL_LIST)
		return;
	for (size_t i = 0; i < l->n; i++)
		ci_hmap_put(&l->idx, l->v[i].key, strlen(l->v[i].key),
			(void *)(uintptr_t)(i + 1));
}

static void push(struct ci_varlist *l, char *key, char *value, bool raw,
	bool masked)
{
	/* the index borrows the key strings, which never move */
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n].key = key;
	l->v[l->n].value = value;
	l->v[l->n].raw = raw;
	l->v[l->n].masked = masked;
	l->v[l->n].borrowed = false;
	l->n++;
	/* small lists (most per-job ones) are searched linearly */
	if (l->idx.cap)
		ci_hmap_put(&l->idx, key, strlen(key), (void *)(uintptr_t)l->n);
	else if (l->n > SMALL_LIST)
		reindex(l);
}

void ci_varlist_add(struct ci_varlist *l, const char *key, const char *value,
	bool raw)
{
	push(l, xstrdup(key), xstrdup(value ? value : ""), raw, false);
}

void ci_varlist_add_masked(struct ci_varlist *l, const char *key,
	const char *value)
{
	push(l, xstrdup(key), xstrdup(value ? value : ""), false, true);
}

void ci_varlist_add_borrowed(struct ci_varlist *l, const struct ci_varitem *it)
{
	push(l, it->key, it->value, it->raw, it->masked);
	l->v[l->n - 1].borrowed = true;
}

void ci_varlist_add_static(struct ci_varlist *l, const char *key, const char *value)
{
	/* never written through: borrowed items are only read and skipped
	 * when freeing */
	push(l, (char *)key, (char *)(value ? value : ""), false, false);
	l->v[l->n - 1].borrowed = true;
}

void ci_varlist_concat(struct ci_varlist *l, const struct ci_varlist *src)
{
	if (!src)
		return;
	for (size_t i = 0; i < src->n; i++)
		push(l, xstrdup(src->v[i].key), xstrdup(src->v[i].value),
			src->v[i].raw, src->v[i].masked);
}

void ci_varlist_add_yaml(struct ci_varlist *l, const struct ci_vars *vars)
{
	if (!vars)
		return;
	for (size_t i = 0; i < vars->n; i++)
		ci_varlist_add(l, vars->v[i].key, vars->v[i].value,
			!vars->v[i].expand);
}

/* (index + 1) of the last item named key[0..n), 0 when none. */
static uintptr_t last_index(const struct ci_varlist *l, const char *key,
	size_t n)
{
	if (l->idx.cap)
		return (uintptr_t)ci_hmap_get(&l->idx, key, n);
	for (size_t i = l->n; i > 0; i--)
		if (strncmp(l->v[i - 1].key, key, n) == 0 && !l->v[i - 1].key[n])
			return i;
	return 0;
}

const struct ci_varitem *ci_varlist_item(const struct ci_varlist *l,
	const char *key)
{
	uintptr_t i = last_index(l, key, strlen(key));
	return i ? &l->v[i - 1] : NULL;
}

const char *ci_varlist_get(const struct ci_varlist *l, const char *key)
{
	const struct ci_varitem *it = ci_varlist_item(l, key);
	return it ? it->value : NULL;
}

const char *ci_varlist_lookup(void *cls, const char *name)
{
	return cls ? ci_varlist_get(cls, name) : NULL;
}

void ci_varlist_dedup(struct ci_varlist *l)
{
	size_t w = 0;
	bool *keep;

	if (!l->n)
		return;
	/* decide first: the index borrows the first item's key of each name */
	keep = xcalloc(l->n, sizeof(bool));
	for (size_t i = 0; i < l->n; i++)
		keep[i] = last_index(l, l->v[i].key, strlen(l->v[i].key)) == i + 1;
	ci_hmap_clear(&l->idx);
	memset(&l->idx, 0, sizeof(l->idx));
	for (size_t i = 0; i < l->n; i++) {
		if (keep[i]) {
			l->v[w++] = l->v[i];
		} else if (!l->v[i].borrowed) {
			free(l->v[i].key);
			free(l->v[i].value);
		}
	}
	free(keep);
	l->n = w;
	reindex(l);
}

void ci_varlist_shrink(struct ci_varlist *l)
{
	if (!l)
		return;
	ci_hmap_clear(&l->idx);
	memset(&l->idx, 0, sizeof(l->idx));
	if (l->n == 0) {
		free(l->v);
		l->v = NULL;
		l->cap = 0;
	} else if (l->cap > l->n) {
		l->v = xrealloc(l->v, l->n * sizeof(*l->v));
		l->cap = l->n;
	}
}

/* ---------- references ---------- */

static bool name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9');
}

/* One match of VARIABLES_REGEXP at s[i]: returns the match length (0 =
 * none) and sets *name and *nlen (nlen 0 for the $$ / %% / ${} escapes). */
static size_t ref_at(const char *s, size_t i, const char **name, size_t *nlen)
{
	*name = NULL;
	*nlen = 0;
	if (s[i] == '$') {
		if (s[i + 1] == '$')
			return 2;
		if (name_start(s[i + 1])) {
			size_t j = i + 2;
			while (name_char(s[j]))
				j++;
			*name = s + i + 1;
			*nlen = j - i - 1;
			return j - i;
		}
		if (s[i + 1] == '{') {
			if (s[i + 2] == '}')
				return 3;
			if (name_start(s[i + 2])) {
				size_t j = i + 3;
				while (name_char(s[j]))
					j++;
				if (s[j] == '}') {
					*name = s + i + 2;
					*nlen = j - i - 2;
					return j - i + 1;
				}
			}
		}
		return 0;
	}
	if (s[i] == '%') {
		if (s[i + 1] == '%')
			return 2;
		if (name_start(s[i + 1])) {
			size_t j = i + 2;
			while (name_char(s[j]))
				j++;
			if (s[j] == '%') {
				*name = s + i + 1;
				*nlen = j - i - 1;
				return j - i + 1;
			}
		}
	}
	return 0;
}

static const struct ci_varitem *item_n(const struct ci_varlist *l,
	const char *name, size_t n)
{
	uintptr_t i = last_index(l, name, n);
	return i ? &l->v[i - 1] : NULL;
}

/* Collection#expand_value with keep_undefined (runner payload) or
 * ExpandVariables.expand (undefined -> "", raw expanded). */
static char *expand_value(const char *s, const struct ci_varlist *l,
	bool keep_undefined, bool expand_raw)
{
	struct buf b = BUF_INIT(0);
	size_t i = 0;

	while (s[i]) {
		const char *name;
		size_t nlen, m = ref_at(s, i, &name, &nlen);
		if (!m) {
			buf_putc(&b, s[i++]);
			continue;
		}
		const struct ci_varitem *it = nlen ? item_n(l, name, nlen) : NULL;
		if (!nlen)
			buf_append(&b, s + i, m);       /* $$ %% ${} kept */
		else if (it && (!it->raw || expand_raw))
			buf_puts(&b, it->value);
		else if (it || keep_undefined)
			buf_append(&b, s + i, m);
		i += m;
	}
	return buf_detach(&b);
}

char *ci_vars_expand_string(const char *s, const struct ci_varlist *l)
{
	return expand_value(s ? s : "", l, false, true);
}

/* ---------- sort_and_expand_all ---------- */

struct frame {
	size_t item;
	size_t ref_pos;      /* scan position in the item's value */
	size_t dep_k;        /* index among the items of the current ref */
	const char *ref;     /* current referenced name */
	size_t ref_len;
};

/* Items of key name (in list order) are found through a per-key chain. */
struct chains {
	size_t *next;        /* next item with the same key, or SIZE_MAX */
	struct ci_hmap first;/* key -> first item index + 1 */
};

static size_t chain_first(const struct chains *c, const char *name, size_t n)
{
	uintptr_t i = (uintptr_t)ci_hmap_get(&c->first, name, n);
	return i ? i - 1 : SIZE_MAX;
}

int ci_varlist_expand(const struct ci_varlist *in, struct ci_varlist *out)
{
	const struct ci_varitem **items = xmalloc((in->n ? in->n : 1) *
		sizeof(*items));
	int err;

	for (size_t i = 0; i < in->n; i++)
		items[i] = &in->v[i];
	err = ci_varlist_expand_items(items, in->n, out);
	free(items);
	return err;
}

int ci_varlist_expand_items(const struct ci_varitem *const *items, size_t n,
	struct ci_varlist *out)
{
	struct chains ch = { NULL, CI_HMAP_INIT };
	size_t *index = NULL, *low = NULL, *tstack = NULL;
	bool *onstack = NULL;
	struct frame *st = NULL;
	size_t counter = 0, tsp = 0, sp = 0;
	struct buf cyc = BUF_INIT(0);
	size_t ncyc = 0;
	int err = 0;

	if (n == 0)
		return 0;
	ch.next = xmalloc(n * sizeof(size_t));
	{
		size_t *last = xmalloc(n * sizeof(size_t));
		struct ci_hmap lastm = CI_HMAP_INIT;
		ci_hmap_reserve(&lastm, n);
		ci_hmap_reserve(&ch.first, n);
		for (size_t i = 0; i < n; i++) {
			const char *k = items[i]->key;
			size_t kl = strlen(k);
			ch.next[i] = SIZE_MAX;
			uintptr_t p = (uintptr_t)ci_hmap_get(&lastm, k, kl);
			if (p)
				ch.next[last[p - 1]] = i;
			else
				ci_hmap_put(&ch.first, k, kl, (void *)(uintptr_t)(i + 1));
			last[i] = i;
			ci_hmap_put(&lastm, k, kl, (void *)(uintptr_t)(i + 1));
		}
		ci_hmap_clear(&lastm);
		free(last);
	}
	index = xmalloc(n * sizeof(size_t));
	low = xmalloc(n * sizeof(size_t));
	onstack = xcalloc(n, sizeof(bool));
	tstack = xmalloc(n * sizeof(size_t));
	st = xmalloc(n * sizeof(*st));
	for (size_t i = 0; i < n; i++)
		index[i] = SIZE_MAX;

	/* Iterative Tarjan; an item is emitted (expanded into out) when it
	 * is finished, which is TSort's post-order. */
	for (size_t root = 0; root < n; root++) {
		if (index[root] != SIZE_MAX)
			continue;
		st[sp++] = (struct frame){ root, 0, SIZE_MAX, NULL, 0 };
		index[root] = low[root] = counter++;
		tstack[tsp++] = root;
		onstack[root] = true;
		while (sp) {
			struct frame *f = &st[sp - 1];
			const struct ci_varitem *it = items[f->item];
			size_t child = SIZE_MAX;
			/* next child: continue the current key's chain, else
			 * scan the value for the next reference */
			while (child == SIZE_MAX && !it->raw) {
				if (f->dep_k != SIZE_MAX) {
					child = f->dep_k;
					f->dep_k = ch.next[child];
					break;
				}
				const char *s = it->value;
				const char *name = NULL;
				size_t nl = 0, m = 0;
				while (s[f->ref_pos]) {
					m = ref_at(s, f->ref_pos, &name, &nl);
					if (m)
						break;
					f->ref_pos++;
				}
				if (!s[f->ref_pos])
					break;
				f->ref_pos += m;
				if (nl)
					f->dep_k = chain_first(&ch, name, nl);
			}
			if (child != SIZE_MAX) {
				if (index[child] == SIZE_MAX) {
					index[child] = low[child] = counter++;
					tstack[tsp++] = child;
					onstack[child] = true;
					st[sp++] = (struct frame){ child, 0, SIZE_MAX, NULL, 0 };
				} else if (onstack[child] && index[child] < low[f->item]) {
					low[f->item] = index[child];
				}
				continue;
			}
			/* finished: emit */
			size_t v = f->item;
			if (!it->raw && strpbrk(it->value, "$%")) {
				char *val = expand_value(it->value, out, true, false);
				push(out, xstrdup(it->key), val, it->raw, it->masked);
			} else {
				push(out, xstrdup(it->key), xstrdup(it->value), it->raw,
					it->masked);
			}
			sp--;
			if (sp && low[v] < low[st[sp - 1].item])
				low[st[sp - 1].item] = low[v];
			if (low[v] == index[v]) {
				size_t start = tsp;
				do {
					start--;
				} while (tstack[start] != v);
				if (tsp - start > 1) {
					buf_puts(&cyc, ncyc++ ? ", [" : "[");
					for (size_t k = start; k < tsp; k++)
						buf_printf(&cyc, "%s\"%s\"", k > start ? ", " : "",
							items[tstack[k]]->key);
					buf_putc(&cyc, ']');
				}
				for (size_t k = start; k < tsp; k++)
					onstack[tstack[k]] = false;
				tsp = start;
			}
		}
	}
	if (ncyc)
		err = error_set(SO_EINVALID, "circular variable reference detected: %s",
			buf_cstr(&cyc));
	buf_dispose(&cyc);
	free(ch.next);
	ci_hmap_clear(&ch.first);
	free(index);
	free(low);
	free(onstack);
	free(tstack);
	free(st);
	return err;
}

/* ---------- slugs ---------- */

char *ci_slugify(const char *s)
{
	size_t n = strlen(s ? s : ""), a = 0, m;
	char *t = xmalloc(n + 1);

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		t[i] = ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) ? c : '-';
	}
	/* Ruby counts characters for [0..62]; multi-byte ones are one '-' per
	 * byte here, then the cap applies to bytes (documented difference). */
	m = n > 63 ? 63 : n;
	while (a < m && t[a] == '-')
		a++;
	while (m > a && t[m - 1] == '-')
		m--;
	memmove(t, t + a, m - a);
	t[m - a] = 0;
	return t;
}

/* A compact SHA-256 (FIPS 180-4) for the environment slug suffix. */
static const uint32_t K256[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, hh;
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
			(uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0]; b = h[1]; c = h[2]; d = h[3];
	e = h[4]; f = h[5]; g = h[6]; hh = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) +
			((e & f) ^ (~e & g)) + K256[i] + w[i];
		uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) +
			((a & b) ^ (a & c) ^ (b & c));
		hh = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	h[0] += a; h[1] += b; h[2] += c; h[3] += d;
	h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

static void sha256(const void *data, size_t len, unsigned char out[32])
{
	uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	const unsigned char *p = data;
	unsigned char tail[128];
	size_t full = len / 64 * 64, rest = len - full, tl;
	uint64_t bits = (uint64_t)len * 8;

	for (size_t i = 0; i < full; i += 64)
		sha256_block(h, p + i);
	memset(tail, 0, sizeof(tail));
	memcpy(tail, p + full, rest);
	tail[rest] = 0x80;
	tl = rest + 1 + 8 <= 64 ? 64 : 128;
	for (int i = 0; i < 8; i++)
		tail[tl - 1 - i] = (unsigned char)(bits >> (8 * i));
	sha256_block(h, tail);
	if (tl == 128)
		sha256_block(h, tail + 64);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (unsigned char)(h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(h[i] >> 8);
		out[4 * i + 3] = (unsigned char)h[i];
	}
}

char *ci_environment_slug(const char *name)
{
	const char *nm = name ? name : "";
	size_t n = strlen(nm);
	struct buf b = BUF_INIT(0);
	char *s;

	/* lowercase letters and digits only */
	for (size_t i = 0; i < n; i++) {
		char c = nm[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		buf_putc(&b, ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) ?
			c : '-');
	}
	/* must start with a letter */
	if (!(b.len && b.data[0] >= 'a' && b.data[0] <= 'z')) {
		char *t = buf_detach(&b);
		buf_puts(&b, "env-");
		buf_puts(&b, t);
		free(t);
	}
	/* squeeze dashes */
	s = buf_detach(&b);
	{
		size_t w = 0;
		for (size_t i = 0; s[i]; i++)
			if (!(s[i] == '-' && w && s[w - 1] == '-'))
				s[w++] = s[i];
		s[w] = 0;
	}
	if (strlen(s) > 24 || strcmp(s, nm) != 0) {
		unsigned char d[32];
		char suf[7];
		/* SHA2 hexdigest as an integer, base 36, last 6 digits: the
		 * value mod 36^6 */
		uint64_t mod = 36ULL * 36 * 36 * 36 * 36 * 36, r = 0;
		sha256(nm, n, d);
		for (int i = 0; i < 32; i++)
			r = (r * 256 + d[i]) % mod;
		for (int i = 5; i >= 0; i--) {
			suf[i] = "0123456789abcdefghijklmnopqrstuvwxyz"[r % 36];
			r /= 36;
		}
		suf[6] = 0;
		/* Ruby's to_s(36) has no leading zeros: last(6) of a shorter
		 * string is impossible for a 256-bit value in practice. */
		if (strlen(s) > 17)
			s[17] = 0;
		char *t = xasprintf("%s%s%s", s, s[0] && s[strlen(s) - 1] == '-' ?
			"" : "-", suf);
		free(s);
		return t;
	}
	size_t l = strlen(s);
	while (l && s[l - 1] == '-')
		s[--l] = 0;
	return s;
}

/* ---------- predefined variables ---------- */

static void addl(struct ci_varlist *l, const char *k, long v)
{
	char tmp[32];
	snprintf(tmp, sizeof(tmp), "%ld", v);
	ci_varlist_add(l, k, tmp, false);
}

static const char *or(const char *s, const char *dflt)
{
	return s ? s : dflt;
}

#define SO_GITLAB_VERSION "17.0.0"

void ci_vars_predefined_pipeline(struct ci_varlist *l,
	const struct ci_pipeline_context *ctx, const char *pipeline_name)
{
	const char *url = or(ctx->server_url, "http://localhost");
	const char *ver = or(ctx->server_version, SO_GITLAB_VERSION);
	char host[256] = "", port[16] = "", proto[16] = "";
	char major[16] = "", minor[16] = "", patch[16] = "";
	char *tmp;

	/* project.rb#predefined_variables */
	ci_varlist_add(l, "CI_PROJECT_CONFIG_PATH",
		or(ctx->project.config_path, ".gitlab-ci.yml"), false);
	ci_varlist_add(l, "CI", "true", false);
	ci_varlist_add(l, "GITLAB_CI", "true", false);
	{
		const char *p = strstr(url, "://");
		snprintf(proto, sizeof(proto), "%.*s", p ? (int)(p - url) : 4,
			p ? url : "http");
		const char *h = p ? p + 3 : url;
		size_t hl = strcspn(h, ":/");
		snprintf(host, sizeof(host), "%.*s", (int)hl, h);
		if (h[hl] == ':')
			snprintf(port, sizeof(port), "%.*s", (int)strcspn(h + hl + 1, "/"),
				h + hl + 1);
		else
			snprintf(port, sizeof(port), "%s",
				strcmp(proto, "https") == 0 ? "443" : "80");
	}
	ci_varlist_add(l, "CI_SERVER_FQDN", host, false);
	ci_varlist_add(l, "CI_SERVER_URL", url, false);
	ci_varlist_add(l, "CI_SERVER_HOST", host, false);
	ci_varlist_add(l, "CI_SERVER_PORT", port, false);
	ci_varlist_add(l, "CI_SERVER_PROTOCOL", proto, false);
	ci_varlist_add(l, "CI_SERVER_NAME", "GitLab", false);
	ci_varlist_add(l, "CI_SERVER_VERSION", ver, false);
	sscanf(ver, "%15[0-9].%15[0-9].%15[0-9]", major, minor, patch);
	ci_varlist_add(l, "CI_SERVER_VERSION_MAJOR", major, false);
	ci_varlist_add(l, "CI_SERVER_VERSION_MINOR", minor, false);
	ci_varlist_add(l, "CI_SERVER_VERSION_PATCH", patch, false);
	ci_varlist_add(l, "CI_SERVER_REVISION", "slashops", false);
	ci_varlist_add(l, "GITLAB_FEATURES", "", false);
	addl(l, "CI_PROJECT_ID", ctx->project.id);
	ci_varlist_add(l, "CI_PROJECT_NAME", or(ctx->project.path, ""), false);
	ci_varlist_add(l, "CI_PROJECT_TITLE",
		or(ctx->project.name, or(ctx->project.path, "")), false);
	ci_varlist_add(l, "CI_PROJECT_DESCRIPTION",
		or(ctx->project.description, ""), false);
	ci_varlist_add(l, "CI_PROJECT_PATH",
		or(ctx->project.path_with_namespace, ""), false);
	tmp = ci_slugify(or(ctx->project.path_with_namespace, ""));
	ci_varlist_add(l, "CI_PROJECT_PATH_SLUG", tmp, false);
	free(tmp);
	ci_varlist_add(l, "CI_PROJECT_NAMESPACE", or(ctx->project.namespace, ""),
		false);
	tmp = ci_slugify(or(ctx->project.namespace, ""));
	ci_varlist_add(l, "CI_PROJECT_NAMESPACE_SLUG", tmp, false);
	free(tmp);
	addl(l, "CI_PROJECT_NAMESPACE_ID", ctx->project.namespace_id);
	{
		const char *ns = or(ctx->project.namespace, "");
		ci_varlist_add(l, "CI_PROJECT_ROOT_NAMESPACE", "", false);
		free(l->v[l->n - 1].value);
		l->v[l->n - 1].value = xstrndup(ns, strcspn(ns, "/"));
	}
	ci_varlist_add(l, "CI_PROJECT_URL", or(ctx->project.url, ""), false);
	ci_varlist_add(l, "CI_PROJECT_VISIBILITY",
		or(ctx->project.visibility, "private"), false);
	ci_varlist_add(l, "CI_PROJECT_REPOSITORY_LANGUAGES", "", false);
	ci_varlist_add(l, "CI_PROJECT_CLASSIFICATION_LABEL", "", false);
	ci_varlist_add(l, "CI_DEFAULT_BRANCH", or(ctx->default_branch, ""), false);
	ci_varlist_add(l, "CI_CONFIG_PATH",
		or(ctx->project.config_path, ".gitlab-ci.yml"), false);
	tmp = xasprintf("%s/api/v4", url);
	ci_varlist_add(l, "CI_API_V4_URL", tmp, false);
	free(tmp);
	tmp = xasprintf("%s/api/graphql", url);
	ci_varlist_add(l, "CI_API_GRAPHQL_URL", tmp, false);
	free(tmp);

	/* builder/pipeline.rb#predefined_variables */
	addl(l, "CI_PIPELINE_IID", ctx->pipeline_iid);
	ci_varlist_add(l, "CI_PIPELINE_SOURCE", or(ctx->source, "push"), false);
	if (ctx->created_at)
		ci_varlist_add(l, "CI_PIPELINE_CREATED_AT", ctx->created_at, false);
	if (pipeline_name)
		ci_varlist_add(l, "CI_PIPELINE_NAME", pipeline_name, false);
	if (ctx->sha && *ctx->sha) {
		char shortsha[9];
		snprintf(shortsha, sizeof(shortsha), "%s", ctx->sha);
		ci_varlist_add(l, "CI_COMMIT_SHA", ctx->sha, false);
		ci_varlist_add(l, "CI_COMMIT_SHORT_SHA", shortsha, false);
		ci_varlist_add(l, "CI_COMMIT_BEFORE_SHA", or(ctx->before_sha,
			"0000000000000000000000000000000000000000"), false);
		ci_varlist_add(l, "CI_COMMIT_REF_NAME", or(ctx->ref, ""), false);
		tmp = ci_slugify(or(ctx->ref, ""));
		ci_varlist_add(l, "CI_COMMIT_REF_SLUG", tmp, false);
		free(tmp);
		if (!ctx->tag)
			ci_varlist_add(l, "CI_COMMIT_BRANCH", or(ctx->ref, ""), false);
		const char *msg = or(ctx->commit_message, "");
		size_t tl = strcspn(msg, "\n");
		tmp = xstrndup(msg, tl);
		ci_varlist_add(l, "CI_COMMIT_MESSAGE", msg, false);
		ci_varlist_add(l, "CI_COMMIT_TITLE", tmp, false);
		free(tmp);
		const char *desc = msg[tl] ? msg + tl + 1 : "";
		while (*desc == '\n')
			desc++;
		ci_varlist_add(l, "CI_COMMIT_DESCRIPTION", desc, false);
		ci_varlist_add(l, "CI_COMMIT_REF_PROTECTED",
			ctx->ref_protected ? "true" : "false", false);
		ci_varlist_add(l, "CI_COMMIT_TIMESTAMP", or(ctx->commit_timestamp, ""),
			false);
		ci_varlist_add(l, "CI_COMMIT_AUTHOR", or(ctx->commit_author, ""), false);
	}
	if (ctx->tag) {
		ci_varlist_add(l, "CI_COMMIT_TAG", or(ctx->ref, ""), false);
		ci_varlist_add(l, "CI_COMMIT_TAG_MESSAGE", "", false);
	}
}

void ci_vars_persisted(struct ci_varlist *l,
	const struct ci_pipeline_context *ctx, long job_id)
{
	const char *purl = or(ctx->project.url, "");
	char *tmp;

	if (ctx->pipeline_id) {
		addl(l, "CI_PIPELINE_ID", ctx->pipeline_id);
		tmp = xasprintf("%s/-/pipelines/%ld", purl, ctx->pipeline_id);
		ci_varlist_add(l, "CI_PIPELINE_URL", tmp, false);
		free(tmp);
	}
	if (job_id) {
		addl(l, "CI_JOB_ID", job_id);
		tmp = xasprintf("%s/-/jobs/%ld", purl, job_id);
		ci_varlist_add(l, "CI_JOB_URL", tmp, false);
		free(tmp);
	}
}

void ci_vars_user(struct ci_varlist *l, const struct ci_pipeline_context *ctx)
{
	if (!ctx->user.id)
		return;
	addl(l, "GITLAB_USER_ID", ctx->user.id);
	ci_varlist_add(l, "GITLAB_USER_EMAIL", or(ctx->user.email, ""), false);
	ci_varlist_add(l, "GITLAB_USER_LOGIN", or(ctx->user.login, ""), false);
	ci_varlist_add(l, "GITLAB_USER_NAME", or(ctx->user.name, ""), false);
}

void ci_vars_pipeline(struct ci_varlist *l,
	const struct ci_pipeline_context *ctx)
{
	ci_varlist_concat(l, ctx->variables);
	/* Deliberate difference: GitLab stores these as ordinary pipeline
	 * variables, so `$NAME` inside a chat message would be expanded by
	 * GitLab and again by the runner. slashops sends them raw so the
	 * user's text reaches the job byte for byte. */
	if (ctx->source && strcmp(ctx->source, "chat") == 0) {
		ci_varlist_add(l, "CHAT_INPUT", or(ctx->chat.input, ""), true);
		ci_varlist_add(l, "CHAT_CHANNEL", or(ctx->chat.channel, ""), true);
		if (ctx->chat.user_id)
			ci_varlist_add(l, "CHAT_USER_ID", ctx->chat.user_id, true);
	}
}
