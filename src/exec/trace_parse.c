/*
 * trace_parse.c: section markers, sections and the ChatOps output of a job
 * trace; see trace_parse.h for the rules.
 *
 * Design: the marker regex is run as a byte automaton. Every 's' opens a
 * candidate slot that advances through the regex's parts ("section_",
 * "start:"/"end:", digits, ':', name, optional [k=v, k=v], "\r\033[0K")
 * and dies on the first byte that cannot follow. That is exactly Ruby's
 * StringScanner loop in GitLab (try the anchored regex at each "section_",
 * skip it when it fails): the regex never backtracks usefully (each part
 * is followed by a byte the part cannot contain), "section_" cannot
 * overlap itself, and a candidate starting inside a live one can only get
 * past its own ':' once the older one has died, so at most three slots are
 * ever alive and the first to complete is the leftmost match. A completed
 * marker clears all slots (scanning resumes after it). Markers never
 * contain '\n', so GitLab's line splitting changes nothing.
 *
 * When no slot is alive the scanner jumps with memmem() to the next
 * "section_" (keeping the last 7 bytes of a chunk for the byte loop), so
 * plain output costs about a memmem per chunk.
 *
 * Sections are accumulated per name (at most two markers remembered, a
 * count saturating at 3) in insertion order with an open-addressing index;
 * a name is kept when it saw exactly start then end.
 */
#include "exec/trace_parse.h"
#include "util/utf8.h"

#include "util/buf.h"
#include "util/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

enum {
	ST_LIT,   /* "section_" at idx */
	ST_ACT,   /* "start:" / "end:" at idx */
	ST_D0,    /* first digit */
	ST_D,     /* digits or ':' */
	ST_N0,    /* first name byte */
	ST_N,     /* name bytes, '[' or '\r' */
	ST_OK0,   /* first key byte */
	ST_OK,    /* key bytes or '=' */
	ST_OV0,   /* first value byte */
	ST_OV,    /* value bytes, ',' or ']' */
	ST_SEP,   /* after ',': ' ' or a key byte */
	ST_SEP2,  /* after ", ": a key byte */
	ST_SUF0,  /* after ']': '\r' */
	ST_SUF,   /* "\r\033[0K" at idx */
};

static const char LIT[] = "section_";
static const char SUF[] = "\r\033[0K";

static bool is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

static bool is_name(unsigned char c)
{
	return is_word(c) || c == '.' || c == '-';
}

void trace_marker_scanner_init(struct trace_marker_scanner *m, uint64_t offset)
{
	m->offset = offset;
	m->nslots = 0;
}

static void option_done(struct trace_marker_slot *sl)
{
	bool is_true = sl->vlen == 4 && memcmp(sl->val, "true", 4) == 0;

	if (sl->klen == 9 && memcmp(sl->key, "collapsed", 9) == 0)
		sl->collapsed = is_true;
	else if (sl->klen == 13 && memcmp(sl->key, "hide_duration", 13) == 0)
		sl->hide_duration = is_true;
	sl->klen = sl->vlen = 0;
}

/* Advances one slot by c: 1 alive, 0 dead, 2 complete. */
static int slot_step(struct trace_marker_slot *sl, unsigned char c)
{
	switch (sl->state) {
	case ST_LIT:
		if (c != (unsigned char)LIT[sl->idx])
			return 0;
		if (++sl->idx == 8) {
			sl->state = ST_ACT;
			sl->idx = 0;
		}
		return 1;
	case ST_ACT: {
		const char *w;

		if (sl->idx == 0) {
			if (c != 's' && c != 'e')
				return 0;
			sl->start = c == 's';
		}
		w = sl->start ? "start:" : "end:";
		if (c != (unsigned char)w[sl->idx])
			return 0;
		if (w[++sl->idx] == '\0')
			sl->state = ST_D0;
		return 1;
	}
	case ST_D0:
	case ST_D:
		if (c >= '0' && c <= '9') {
			int d = c - '0';

			if (sl->ts > (INT64_MAX - d) / 10)
				sl->ts = INT64_MAX;
			else
				sl->ts = sl->ts * 10 + d;
			sl->state = ST_D;
			return 1;
		}
		if (sl->state == ST_D && c == ':') {
			sl->state = ST_N0;
			return 1;
		}
		return 0;
	case ST_N0:
	case ST_N:
		if (is_name(c)) {
			if (sl->name_len < TRACE_SECTION_NAME_MAX)
				sl->name[sl->name_len] = (char)c;
			sl->name_len++;
			sl->state = ST_N;
			return 1;
		}
		if (sl->state == ST_N && c == '[') {
			sl->state = ST_OK0;
			return 1;
		}
		if (sl->state == ST_N && c == '\r') {
			sl->state = ST_SUF;
			sl->idx = 1;
			return 1;
		}
		return 0;
	case ST_OK0:
	case ST_SEP2:
	case ST_SEP:
	case ST_OK:
		if (is_word(c)) {
			if (sl->klen < sizeof(sl->key))
				sl->key[sl->klen] = (char)c;
			sl->klen++;
			sl->state = ST_OK;
			return 1;
		}
		if (sl->state == ST_SEP && c == ' ') {
			sl->state = ST_SEP2;
			return 1;
		}
		if (sl->state == ST_OK && c == '=') {
			sl->state = ST_OV0;
			return 1;
		}
		return 0;
	case ST_OV0:
	case ST_OV:
		if (is_word(c)) {
			if (sl->vlen < sizeof(sl->val))
				sl->val[sl->vlen] = (char)c;
			sl->vlen++;
			sl->state = ST_OV;
			return 1;
		}
		if (sl->state == ST_OV && (c == ',' || c == ']')) {
			option_done(sl);
			sl->state = c == ',' ? ST_SEP : ST_SUF0;
			return 1;
		}
		return 0;
	case ST_SUF0:
		if (c != '\r')
			return 0;
		sl->state = ST_SUF;
		sl->idx = 1;
		return 1;
	case ST_SUF:
		if (c != (unsigned char)SUF[sl->idx])
			return 0;
		return ++sl->idx == 5 ? 2 : 1;
	}
	return 0;
}

static void slot_open(struct trace_marker_scanner *m, uint64_t at)
{
	struct trace_marker_slot *sl;

	if (m->nslots == sizeof(m->slots) / sizeof(m->slots[0]))
		return; /* cannot happen (at most three are alive) */
	sl = &m->slots[m->nslots++];
	sl->begin = at;
	sl->state = ST_LIT;
	sl->idx = 1;
	sl->start = false;
	sl->ts = 0;
	sl->name_len = 0;
	sl->klen = sl->vlen = 0;
	sl->collapsed = sl->hide_duration = false;
}

static void marker_from_slot(const struct trace_marker_slot *sl, uint64_t end,
			     struct trace_marker *out)
{
	out->start = sl->start;
	out->timestamp = sl->ts;
	out->begin = sl->begin;
	out->end = end;
	out->name_len = sl->name_len;
	out->name_too_long = sl->name_len > TRACE_SECTION_NAME_MAX;
	if (out->name_too_long) {
		out->name[0] = '\0';
	} else {
		memcpy(out->name, sl->name, sl->name_len);
		out->name[sl->name_len] = '\0';
	}
	out->collapsed = sl->start && sl->collapsed;
	out->hide_duration = sl->start && sl->hide_duration;
}

size_t trace_marker_scan(struct trace_marker_scanner *m, const char *p,
			 size_t n, struct trace_marker *out, bool *found)
{
	size_t i = 0;

	*found = false;
	while (i < n) {
		unsigned char c;
		unsigned k, keep;

		if (m->nslots == 0) {
			/* Fast path: jump to the next "section_" (or to the
			 * last 7 bytes, which may begin one). */
			const char *q = memmem(p + i, n - i, LIT, 8);
			size_t to = q ? (size_t)(q - p) : (n - i > 7 ? n - 7 : i);

			if (to > i) {
				m->offset += to - i;
				i = to;
			}
		}
		c = (unsigned char)p[i];
		keep = 0;
		for (k = 0; k < m->nslots; k++) {
			int r = slot_step(&m->slots[k], c);

			if (r == 2) {
				marker_from_slot(&m->slots[k], m->offset + 1, out);
				m->nslots = 0;
				m->offset++;
				*found = true;
				return i + 1;
			}
			if (r == 1)
				m->slots[keep++] = m->slots[k];
		}
		m->nslots = keep;
		if (c == 's')
			slot_open(m, m->offset);
		m->offset++;
		i++;
	}
	return n;
}

uint64_t trace_marker_pending_from(const struct trace_marker_scanner *m)
{
	uint64_t from = m->offset;
	unsigned k;

	for (k = 0; k < m->nslots; k++)
		if (m->slots[k].begin < from)
			from = m->slots[k].begin;
	return from;
}

void trace_marker_drop_before(struct trace_marker_scanner *m, uint64_t offset)
{
	unsigned k, keep = 0;

	for (k = 0; k < m->nslots; k++)
		if (m->slots[k].begin >= offset)
			m->slots[keep++] = m->slots[k];
	m->nslots = keep;
}

/* ---- sections ---- */

struct mark {
	uint64_t offset;       /* byte_start for a start, byte_end for an end */
	int64_t ts;
	bool start, collapsed, hide_duration;
};

struct entry {
	char *name;
	unsigned count;        /* markers seen, saturating at 3 */
	struct mark m[2];
};

struct trace_scan {
	struct trace_marker_scanner ms;
	struct entry *v;       /* insertion order */
	size_t n, cap;
	size_t *index;         /* open addressing: entry index + 1, 0 empty */
	size_t index_cap;      /* power of two */
	bool truncated;
};

static size_t hash_name(const char *s)
{
	size_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static bool always_tracked(const char *name)
{
	return strcmp(name, "chat_reply") == 0 ||
	       strcmp(name, "step_script") == 0 ||
	       strcmp(name, "build_script") == 0;
}

static void index_grow(struct trace_scan *s)
{
	size_t i, ncap = s->index_cap ? s->index_cap * 2 : 64;
	size_t *nidx = xcalloc(ncap, sizeof(*nidx));

	for (i = 0; i < s->n; i++) {
		size_t j = hash_name(s->v[i].name) & (ncap - 1);

		while (nidx[j])
			j = (j + 1) & (ncap - 1);
		nidx[j] = i + 1;
	}
	free(s->index);
	s->index = nidx;
	s->index_cap = ncap;
}

static struct entry *entry_get(struct trace_scan *s, const char *name)
{
	size_t j;

	if (s->index_cap) {
		j = hash_name(name) & (s->index_cap - 1);
		for (; s->index[j]; j = (j + 1) & (s->index_cap - 1))
			if (strcmp(s->v[s->index[j] - 1].name, name) == 0)
				return &s->v[s->index[j] - 1];
	}
	if (s->n >= TRACE_SECTIONS_MAX_NAMES && !always_tracked(name)) {
		s->truncated = true;
		return NULL;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n] = (struct entry){ .name = xstrdup(name) };
	s->n++;
	if (s->n * 2 > s->index_cap) {
		index_grow(s);
	} else {
		j = hash_name(name) & (s->index_cap - 1);
		while (s->index[j])
			j = (j + 1) & (s->index_cap - 1);
		s->index[j] = s->n;
	}
	return &s->v[s->n - 1];
}

static void record(struct trace_scan *s, const struct trace_marker *mk)
{
	struct entry *e;

	if (mk->name_too_long || !(e = entry_get(s, mk->name)))
		return;
	if (e->count < 2)
		e->m[e->count] = (struct mark){
			.offset = mk->start ? mk->end : mk->begin,
			.ts = mk->timestamp,
			.start = mk->start,
			.collapsed = mk->collapsed,
			.hide_duration = mk->hide_duration,
		};
	if (e->count < 3)
		e->count++;
}

struct trace_scan *trace_scan_new(void)
{
	struct trace_scan *s = xcalloc(1, sizeof(*s));

	trace_marker_scanner_init(&s->ms, 0);
	return s;
}

void trace_scan_feed(struct trace_scan *s, const char *data, size_t len)
{
	struct trace_marker mk;
	bool found;

	while (len) {
		size_t used = trace_marker_scan(&s->ms, data, len, &mk, &found);

		if (found)
			record(s, &mk);
		data += used;
		len -= used;
	}
}

void trace_scan_result(const struct trace_scan *s, struct trace_sections *out)
{
	size_t i;

	out->v = NULL;
	out->n = 0;
	out->truncated = s->truncated;
	for (i = 0; i < s->n; i++) {
		const struct entry *e = &s->v[i];

		if (e->count != 2 || !e->m[0].start || e->m[1].start)
			continue;
		if (!out->v)
			out->v = xcalloc(s->n, sizeof(*out->v));
		out->v[out->n++] = (struct trace_section){
			.name = xstrdup(e->name),
			.byte_start = e->m[0].offset,
			.byte_end = e->m[1].offset,
			.date_start = e->m[0].ts,
			.date_end = e->m[1].ts,
			.collapsed = e->m[0].collapsed,
			.hide_duration = e->m[0].hide_duration,
		};
	}
}

void trace_scan_free(struct trace_scan *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++)
		free(s->v[i].name);
	free(s->v);
	free(s->index);
	free(s);
}

/* Reads up to n bytes at off; returns the count (short only at end of
 * file) or -1 with errno. */
static ssize_t pread_full(int fd, void *dst, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, (char *)dst + got, n - got, (off_t)(off + got));

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int trace_sections_scan(int fd, struct trace_sections *out)
{
	struct trace_scan *s = trace_scan_new();
	char *chunk = xmalloc(CHUNK);
	uint64_t off = 0;
	int err = 0;

	out->v = NULL;
	out->n = 0;
	out->truncated = false;
	for (;;) {
		ssize_t r = pread_full(fd, chunk, CHUNK, off);

		if (r < 0) {
			err = error_set(SO_EFAIL, "cannot read the job log: %s",
					strerror(errno));
			goto done;
		}
		if (r == 0)
			break;
		trace_scan_feed(s, chunk, (size_t)r);
		off += (uint64_t)r;
	}
	trace_scan_result(s, out);
done:
	free(chunk);
	trace_scan_free(s);
	return err;
}

void trace_sections_scan_mem(const char *data, size_t len,
			     struct trace_sections *out)
{
	struct trace_scan *s = trace_scan_new();

	trace_scan_feed(s, data, len);
	trace_scan_result(s, out);
	trace_scan_free(s);
}

const struct trace_section *trace_sections_find(const struct trace_sections *s,
						const char *name)
{
	size_t i;

	for (i = 0; s && i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0)
			return &s->v[i];
	return NULL;
}

void trace_sections_dispose(struct trace_sections *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++)
		free(s->v[i].name);
	free(s->v);
	s->v = NULL;
	s->n = 0;
	s->truncated = false;
}

/* ---- ChatOps output ---- */

void trace_drop_first_line(const char *s, size_t n, size_t *off, size_t *len)
{
	const char *nl = memchr(s, '\n', n);
	size_t b, e;

	if (!nl) {
		*off = 0;
		*len = 0;
		return;
	}
	b = (size_t)(nl - s) + 1;
	e = n;
	while (e > b && s[e - 1] == '\n')
		e--;
	*off = b;
	*len = e - b;
}

/* The span [*b, *e) of the output inside [start, end) of the file, found
 * without reading more than the first line and the trailing newlines. */
static int output_span(int fd, uint64_t start, uint64_t end, uint64_t *b,
		       uint64_t *e)
{
	char *chunk = xmalloc(CHUNK);
	uint64_t at = start, nl = UINT64_MAX;
	int err = 0;

	while (at < end && nl == UINT64_MAX) {
		size_t want = end - at < CHUNK ? (size_t)(end - at) : CHUNK;
		ssize_t r = pread_full(fd, chunk, want, at);
		const char *q;

		if (r < 0)
			goto fail;
		if (r == 0) {
			end = at; /* the file is shorter than the section */
			break;
		}
		if ((q = memchr(chunk, '\n', (size_t)r)))
			nl = at + (uint64_t)(q - chunk);
		at += (uint64_t)r;
	}
	if (nl == UINT64_MAX) {
		*b = *e = start;
		goto done;
	}
	*b = nl + 1;
	*e = end;
	while (*e > *b) {
		uint64_t from = *e - *b > CHUNK ? *e - CHUNK : *b;
		ssize_t r = pread_full(fd, chunk, (size_t)(*e - from), from), i;

		if (r < 0)
			goto fail;
		if ((uint64_t)r < *e - from) { /* shrank under us: stop here */
			*e = from + (uint64_t)r;
			continue;
		}
		for (i = r; i > 0 && chunk[i - 1] == '\n'; i--)
			;
		*e = from + (uint64_t)i;
		if (i > 0)
			break;
	}
	goto done;
fail:
	err = error_set(SO_EFAIL, "cannot read the job log: %s", strerror(errno));
done:
	free(chunk);
	return err;
}

int trace_chat_output_ex(int fd, size_t max_bytes, char **out, size_t *len,
			 bool *too_large, const char **section)
{
	static const char *const names[] = { "chat_reply", "step_script",
					     "build_script" };
	struct trace_sections secs = { 0 };
	const struct trace_section *sec = NULL;
	uint64_t b = 0, e = 0;
	char *raw = NULL;
	size_t i;
	ssize_t r;
	int err;

	*out = NULL;
	*len = 0;
	*too_large = false;
	if (section)
		*section = NULL;
	if ((err = trace_sections_scan(fd, &secs)) < 0)
		goto done;
	for (i = 0; i < 3 && !sec; i++)
		if ((sec = trace_sections_find(&secs, names[i])) && section)
			*section = names[i];
	if (!sec) {
		err = error_set(SO_ENOTFOUND,
				"The build_script trace section could not be found");
		goto done;
	}
	if ((err = output_span(fd, sec->byte_start, sec->byte_end, &b, &e)) < 0)
		goto done;
	if (e - b > max_bytes) {
		*too_large = true;
		*len = (size_t)(e - b);
		goto done;
	}
	raw = xmalloc((size_t)(e - b) + 1);
	if ((r = pread_full(fd, raw, (size_t)(e - b), b)) < 0) {
		err = error_set(SO_EFAIL, "cannot read the job log: %s",
				strerror(errno));
		goto done;
	}
	*out = trace_utf8_scrub(raw, (size_t)r, len);
done:
	free(raw);
	trace_sections_dispose(&secs);
	return err;
}

int trace_chat_output(int fd, size_t max_bytes, char **out, size_t *len,
		      bool *too_large)
{
	return trace_chat_output_ex(fd, max_bytes, out, len, too_large, NULL);
}

char *trace_utf8_scrub(const char *s, size_t n, size_t *out_len)
{
	struct buf b = BUF_INIT(0);
	size_t i = 0, run = 0;

	while (i < n) {
		size_t bad, k = utf8_seq_len((const unsigned char *)s + i, n - i, &bad);

		if (k) {
			i += k;
			run += k;
			continue;
		}
		buf_append(&b, s + i - run, run);
		buf_append(&b, "\xEF\xBF\xBD", 3);
		run = 0;
		i += bad;
	}
	buf_append(&b, s + n - run, run);
	if (out_len)
		*out_len = b.len;
	return buf_detach(&b);
}

char *trace_strip_sgr(const char *s)
{
	struct buf b = BUF_INIT(0);
	const char *p, *run;

	if (!s)
		return NULL;
	for (p = run = s; *p;) {
		const char *q;

		if (p[0] != '\033' || p[1] != '[') {
			p++;
			continue;
		}
		for (q = p + 2; (*q >= '0' && *q <= '9') || *q == ';'; q++)
			;
		if (*q != 'm') {
			p++;
			continue;
		}
		buf_append(&b, run, (size_t)(p - run));
		p = run = q + 1;
	}
	buf_append(&b, run, (size_t)(p - run));
	return buf_detach(&b);
}
