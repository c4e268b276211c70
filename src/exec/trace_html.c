/*
 * trace_html.c: job trace to HTML, streaming; see trace_html.h.
 *
 * Design: trace_html_feed() runs the marker matcher over the input. Bytes
 * the matcher says can no longer be part of a marker go to the text layer
 * at once; the few that still might are copied into hold[] (bounded by
 * dropping candidates older than TRACE_HTML_MARKER_MAX). The text layer
 * is a byte state machine (UTF-8 decoding, ESC/CSI/OSC parsing) that
 * appends escaped characters to the current line's HTML; completed lines
 * and section tags are written to the caller's buffer through one
 * function that enforces the output limit while reserving room for the
 * closing tags. After each write the checkpoint (offset + state) is
 * updated; the section stack is copied into it only when it changed.
 */
#include "exec/trace_html.h"

#include "util/error.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define A_BOLD 1
#define A_ITALIC 2
#define A_UNDERLINE 4
#define NOTICE "<div class=\"trace-truncated\">The log is too long to show here in full.</div>"
#define CHUNK (64 * 1024)

enum { E_NONE, E_ESC, E_INTER, E_CSI, E_STR, E_STR_ESC };

struct style {
	int fg, bg;            /* -1 default, else a 256-colour index */
	unsigned attrs;
};

struct sect {
	char name[TRACE_SECTION_NAME_MAX + 1];
	int64_t ts;
	int64_t known;         /* duration from the sections table, -1 unknown */
	bool hide, shown;
};

struct state {
	struct style style;
	bool in_header, header_text;
	unsigned depth;
	struct sect stack[TRACE_HTML_MAX_DEPTH];
};

struct trace_html {
	struct trace_marker_scanner ms;
	uint64_t text_off;     /* offset of hold[0] / next byte for the text layer */
	char hold[TRACE_HTML_MARKER_MAX + 8];
	size_t hold_len;
	const struct trace_sections *secs;
	size_t limit, total;
	size_t line_max;       /* a line is written out at this size */
	bool full, fed;
	int err;
	struct buf *out;       /* borrowed during a call */

	/* text layer */
	uint64_t tpos;         /* offset of the byte being processed */
	int esc;
	char csi[64];
	size_t csi_len, str_len;
	bool csi_over, csi_inter;
	unsigned char u8[4];
	unsigned u8len, u8need;
	unsigned char u8lo, u8hi;
	bool cr;
	struct state st;
	struct style span;
	bool span_open;
	struct buf line;       /* HTML of the unwritten part of the line */
	bool line_chars;

	/* checkpoint */
	uint64_t ck_off;
	struct state ck;
	bool stack_dirty;
};

static const char *const COLOUR[8] = { "black", "red", "green", "yellow",
				       "blue", "magenta", "cyan", "white" };

struct trace_html *trace_html_new(void)
{
	struct trace_html *r = xcalloc(1, sizeof(*r));

	trace_marker_scanner_init(&r->ms, 0);
	r->limit = TRACE_HTML_DEFAULT_LIMIT;
	r->line_max = TRACE_HTML_LINE_MAX;
	r->st.style.fg = r->st.style.bg = -1;
	r->ck = r->st;
	buf_init(&r->line, 0);
	return r;
}

void trace_html_free(struct trace_html *r)
{
	if (!r)
		return;
	buf_dispose(&r->line);
	free(r);
}

void trace_html_set_limit(struct trace_html *r, size_t max_bytes)
{
	r->limit = max_bytes < 16384 ? 16384 : max_bytes;
	r->line_max = r->limit / 4 < TRACE_HTML_LINE_MAX ? r->limit / 4 :
		      TRACE_HTML_LINE_MAX;
}

void trace_html_set_sections(struct trace_html *r,
			     const struct trace_sections *sections)
{
	r->secs = sections;
}

bool trace_html_full(const struct trace_html *r)
{
	return r->full;
}

uint64_t trace_html_offset(const struct trace_html *r)
{
	return r->ck_off;
}

/* ---- output ---- */

/* Room kept for what finish() writes when the limit is reached. */
static size_t reserve(const struct trace_html *r)
{
	return sizeof(NOTICE) + 16 + (size_t)r->st.depth * 24;
}

/* Writes s unless that would pass the limit (minus the reserve and
 * extra); then the renderer is full and nothing more is written. */
static bool emit(struct trace_html *r, const char *s, size_t n, size_t extra)
{
	int err;

	if (r->full || r->err)
		return false;
	if (r->total + n + reserve(r) + extra > r->limit) {
		r->full = true;
		return false;
	}
	if ((err = buf_append(r->out, s, n)) < 0) {
		r->err = err;
		r->full = true;
		return false;
	}
	r->total += n;
	return true;
}

/* Closing tags: always written (their room was reserved). */
static void emit_force(struct trace_html *r, const char *s)
{
	int err;

	if (r->err)
		return;
	if ((err = buf_puts(r->out, s)) < 0)
		r->err = err;
	else
		r->total += strlen(s);
}

static void checkpoint(struct trace_html *r, uint64_t off)
{
	if (r->full)
		return;
	r->ck_off = off;
	if (r->stack_dirty) {
		r->ck = r->st;
		r->stack_dirty = false;
	} else {
		r->ck.style = r->st.style;
		r->ck.in_header = r->st.in_header;
		r->ck.header_text = r->st.header_text;
	}
}

static void escape_into(struct buf *b, const char *s, size_t n)
{
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		const char *e = NULL;

		switch (s[i]) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = "&quot;"; break;
		case '\'': e = "&#39;"; break;
		default: continue;
		}
		buf_append(b, s + run, i - run);
		buf_puts(b, e);
		run = i + 1;
	}
	buf_append(b, s + run, n - run);
}

static void format_duration(int64_t s, char *out, size_t size)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(out, size, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(out, size, "%" PRId64 "m %" PRId64 "s", s / 60, s % 60);
	else
		snprintf(out, size, "%" PRId64 "h %" PRId64 "m %" PRId64 "s",
			 s / 3600, s / 60 % 60, s % 60);
}

static void colour_class(struct buf *b, const char *kind, int c)
{
	if (c < 8)
		buf_printf(b, "term-%s-%s", kind, COLOUR[c]);
	else if (c < 16)
		buf_printf(b, "term-%s-l-%s", kind, COLOUR[c - 8]);
	else
		buf_printf(b, "xterm-%s-%d", kind, c);
}

static bool style_plain(const struct style *s)
{
	return s->fg < 0 && s->bg < 0 && !s->attrs;
}

static bool style_eq(const struct style *a, const struct style *b)
{
	return a->fg == b->fg && a->bg == b->bg && a->attrs == b->attrs;
}

static void span_close(struct trace_html *r)
{
	if (r->span_open) {
		buf_puts(&r->line, "</span>");
		r->span_open = false;
	}
}

static void span_sync(struct trace_html *r)
{
	const struct style *s = &r->st.style;
	const char *sep = "";

	if (r->span_open && style_eq(&r->span, s))
		return;
	span_close(r);
	if (style_plain(s))
		return;
	buf_puts(&r->line, "<span class=\"");
	if (s->fg >= 0) {
		colour_class(&r->line, "fg", s->fg);
		sep = " ";
	}
	if (s->bg >= 0) {
		buf_puts(&r->line, sep);
		colour_class(&r->line, "bg", s->bg);
		sep = " ";
	}
	if (s->attrs & A_BOLD) {
		buf_printf(&r->line, "%sterm-bold", sep);
		sep = " ";
	}
	if (s->attrs & A_ITALIC) {
		buf_printf(&r->line, "%sterm-italic", sep);
		sep = " ";
	}
	if (s->attrs & A_UNDERLINE)
		buf_printf(&r->line, "%sterm-underline", sep);
	buf_puts(&r->line, "\">");
	r->span = *s;
	r->span_open = true;
}

static void line_reset(struct trace_html *r)
{
	buf_reset(&r->line);
	r->span_open = false;
	r->line_chars = false;
	r->cr = false;
}

/* Appends to the line what closes the top section's <summary>: its name
 * when the header had no text, the duration (seconds, -1 unknown) unless
 * hidden, and the tag. Returns whether the duration was shown. */
static bool header_close_into(struct trace_html *r, int64_t duration)
{
	const struct sect *t = &r->st.stack[r->st.depth - 1];
	bool shown = false;
	char d[64];

	span_close(r);
	if (!r->st.header_text && !r->line_chars)
		escape_into(&r->line, t->name, strlen(t->name));
	if (!t->hide && duration >= 0) {
		format_duration(duration, d, sizeof(d));
		buf_printf(&r->line, "<span class=\"duration\">%s</span>", d);
		shown = true;
	}
	buf_puts(&r->line, "</summary>");
	return shown;
}

/* Writes the line buffer (an event's whole output) at once; false when
 * the limit refused it (then nothing was written). Empties the line. */
static bool line_emit(struct trace_html *r)
{
	bool ok = true;

	span_close(r);
	if (r->line.len)
		ok = emit(r, r->line.data, r->line.len, 0);
	buf_reset(&r->line);
	r->line_chars = false;
	return ok;
}

static void text_char(struct trace_html *r, const char *s, size_t n)
{
	if (r->cr)
		line_reset(r);
	span_sync(r);
	escape_into(&r->line, s, n);
	r->line_chars = true;
	if (r->line.len >= r->line_max) {
		bool chars = r->line_chars;

		if (line_emit(r)) {
			if (r->st.in_header && chars)
				r->st.header_text = true;
			checkpoint(r, r->tpos + 1);
		}
	}
}

static void newline(struct trace_html *r)
{
	bool header = r->st.in_header, shown = false;

	r->cr = false;
	span_close(r);
	if (header)
		shown = header_close_into(r, r->st.stack[r->st.depth - 1].known);
	else
		buf_putc(&r->line, '\n');
	if (!line_emit(r))
		return;
	if (header) {
		r->st.stack[r->st.depth - 1].shown = shown;
		r->st.in_header = false;
		r->stack_dirty = true;
	}
	checkpoint(r, r->tpos + 1);
}

/* ---- SGR ---- */

static int nearest_256(int red, int green, int blue)
{
	static const int level[6] = { 0, 95, 135, 175, 215, 255 };
	int c[3] = { red, green, blue }, q[3], i, cube, gray, g, dc = 0, dg = 0;

	for (i = 0; i < 3; i++) {
		q[i] = c[i] < 48 ? 0 : c[i] < 115 ? 1 : (c[i] - 35) / 40;
		dc += (c[i] - level[q[i]]) * (c[i] - level[q[i]]);
	}
	cube = 16 + 36 * q[0] + 6 * q[1] + q[2];
	g = (red + green + blue) / 3;
	gray = g < 8 ? 0 : g > 238 ? 23 : (g - 8) / 10;
	for (i = 0; i < 3; i++)
		dg += (c[i] - (8 + 10 * gray)) * (c[i] - (8 + 10 * gray));
	return dg < dc ? 232 + gray : cube;
}

static void sgr(struct trace_html *r)
{
	int p[32], n = 0, i;
	size_t k;
	struct style *s = &r->st.style;

	p[0] = 0;
	for (k = 0; k <= r->csi_len && n < 32; k++) {
		if (k == r->csi_len || r->csi[k] == ';' || r->csi[k] == ':') {
			n++;
			if (n < 32)
				p[n] = 0;
		} else if (r->csi[k] >= '0' && r->csi[k] <= '9') {
			if (p[n] < 100000)
				p[n] = p[n] * 10 + (r->csi[k] - '0');
		} else {
			return;
		}
	}
	for (i = 0; i < n; i++) {
		int v = p[i];

		if (v == 0) {
			s->fg = s->bg = -1;
			s->attrs = 0;
		} else if (v == 1) {
			s->attrs |= A_BOLD;
		} else if (v == 3) {
			s->attrs |= A_ITALIC;
		} else if (v == 4) {
			s->attrs |= A_UNDERLINE;
		} else if (v == 22) {
			s->attrs &= ~(unsigned)A_BOLD;
		} else if (v == 23) {
			s->attrs &= ~(unsigned)A_ITALIC;
		} else if (v == 24) {
			s->attrs &= ~(unsigned)A_UNDERLINE;
		} else if (v >= 30 && v <= 37) {
			s->fg = v - 30;
		} else if (v >= 90 && v <= 97) {
			s->fg = v - 90 + 8;
		} else if (v >= 40 && v <= 47) {
			s->bg = v - 40;
		} else if (v >= 100 && v <= 107) {
			s->bg = v - 100 + 8;
		} else if (v == 39) {
			s->fg = -1;
		} else if (v == 49) {
			s->bg = -1;
		} else if (v == 38 || v == 48) {
			int *dst = v == 38 ? &s->fg : &s->bg;

			if (i + 2 < n && p[i + 1] == 5) {
				if (p[i + 2] <= 255)
					*dst = p[i + 2];
				i += 2;
			} else if (i + 4 < n && p[i + 1] == 2) {
				if (p[i + 2] <= 255 && p[i + 3] <= 255 && p[i + 4] <= 255)
					*dst = nearest_256(p[i + 2], p[i + 3], p[i + 4]);
				i += 4;
			} else {
				break; /* malformed: ignore the rest */
			}
		}
	}
}

static void csi_dispatch(struct trace_html *r, unsigned char final)
{
	if (r->csi_over || r->csi_inter ||
	    (r->csi_len && r->csi[0] >= '<' && r->csi[0] <= '?'))
		return;
	if (final == 'm') {
		sgr(r);
	} else if (final == 'K') {
		bool whole = r->csi_len == 1 && r->csi[0] == '2';
		bool to_end = r->csi_len == 0 || (r->csi_len == 1 && r->csi[0] == '0');

		if (whole || (to_end && r->cr))
			line_reset(r);
	}
}

/* ---- the text layer ---- */

static void u8_bad(struct trace_html *r)
{
	r->u8len = 0;
	text_char(r, "\xEF\xBF\xBD", 3);
}

static void text_byte(struct trace_html *r, unsigned char c)
{
again:
	switch (r->esc) {
	case E_NONE:
		break;
	case E_ESC:
		r->esc = E_NONE;
		if (c == '[') {
			r->esc = E_CSI;
			r->csi_len = 0;
			r->csi_over = r->csi_inter = false;
		} else if (c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_') {
			r->esc = E_STR;
			r->str_len = 0;
		} else if (c >= 0x20 && c <= 0x2F) {
			r->esc = E_INTER;
		} else if (c < 0x30 || c > 0x7E) {
			goto again; /* not an escape: drop the ESC alone */
		}
		return;
	case E_INTER:
		if (c >= 0x20 && c <= 0x2F)
			return;
		r->esc = E_NONE;
		if (c >= 0x30 && c <= 0x7E)
			return;
		goto again;
	case E_CSI:
		if (c >= 0x30 && c <= 0x3F && !r->csi_inter) {
			if (r->csi_len < sizeof(r->csi))
				r->csi[r->csi_len++] = (char)c;
			else
				r->csi_over = true;
			return;
		}
		if (c >= 0x20 && c <= 0x2F) {
			r->csi_inter = true;
			return;
		}
		r->esc = E_NONE;
		if (c >= 0x40 && c <= 0x7E) {
			csi_dispatch(r, c);
			return;
		}
		goto again;
	case E_STR:
		if (c == 0x07) {
			r->esc = E_NONE;
			return;
		}
		if (c == 0x1b) {
			r->esc = E_STR_ESC;
			return;
		}
		if (c == '\n' || ++r->str_len > 4096) {
			r->esc = E_NONE;
			goto again;
		}
		return;
	case E_STR_ESC:
		r->esc = E_NONE;
		if (c == '\\')
			return;
		r->esc = E_ESC;
		goto again;
	}

	if (r->u8len) {
		if (c >= r->u8lo && c <= r->u8hi) {
			r->u8[r->u8len++] = c;
			r->u8lo = 0x80;
			r->u8hi = 0xBF;
			if (r->u8len == r->u8need) {
				r->u8len = 0;
				text_char(r, (const char *)r->u8, r->u8need);
			}
			return;
		}
		u8_bad(r);
	}
	if (c >= 0x80) {
		r->u8lo = 0x80;
		r->u8hi = 0xBF;
		if (c >= 0xC2 && c <= 0xDF) {
			r->u8need = 2;
		} else if (c >= 0xE0 && c <= 0xEF) {
			r->u8need = 3;
			if (c == 0xE0)
				r->u8lo = 0xA0;
			else if (c == 0xED)
				r->u8hi = 0x9F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			r->u8need = 4;
			if (c == 0xF0)
				r->u8lo = 0x90;
			else if (c == 0xF4)
				r->u8hi = 0x8F;
		} else {
			text_char(r, "\xEF\xBF\xBD", 3);
			return;
		}
		r->u8[0] = c;
		r->u8len = 1;
		return;
	}
	switch (c) {
	case '\n':
		newline(r);
		break;
	case '\r':
		r->cr = true;
		break;
	case '\t':
		text_char(r, "\t", 1);
		break;
	case 0x1b:
		r->esc = E_ESC;
		break;
	default:
		if (c >= 0x20 && c != 0x7f)
			text_char(r, (const char *)&c, 1);
	}
}

static void text_run(struct trace_html *r, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && !r->full; i++, r->tpos++)
		text_byte(r, (unsigned char)p[i]);
}

/* Ends what the text layer holds at a marker or the end: an incomplete
 * UTF-8 sequence becomes U+FFFD, an incomplete escape is dropped. */
static void text_break(struct trace_html *r)
{
	if (r->u8len)
		u8_bad(r);
	r->esc = E_NONE;
}

/* ---- sections ---- */

static int64_t known_duration(const struct trace_html *r,
			      const struct trace_marker *mk)
{
	const struct trace_section *s;

	if (!r->secs || !(s = trace_sections_find(r->secs, mk->name)) ||
	    s->byte_start != mk->end)
		return -1;
	return s->date_end - s->date_start;
}

static void section_start(struct trace_html *r, const struct trace_marker *mk)
{
	bool header = r->st.in_header, shown = false;
	bool push = r->st.depth < TRACE_HTML_MAX_DEPTH;
	struct sect *t;

	text_break(r);
	r->cr = false;
	span_close(r);
	if (header)
		shown = header_close_into(r, r->st.stack[r->st.depth - 1].known);
	if (push) {
		buf_puts(&r->line, "<details class=\"trace-section\"");
		if (!mk->collapsed)
			buf_puts(&r->line, " open");
		buf_puts(&r->line, " data-section=\"");
		escape_into(&r->line, mk->name, strlen(mk->name));
		buf_puts(&r->line, "\"><summary class=\"trace-section-header\">");
	}
	r->line_chars = false;
	if (!emit(r, r->line.data ? r->line.data : "", r->line.len, push ? 24 : 0)) {
		buf_reset(&r->line);
		return;
	}
	buf_reset(&r->line);
	if (header) {
		r->st.stack[r->st.depth - 1].shown = shown;
		r->st.in_header = false;
	}
	if (push) {
		t = &r->st.stack[r->st.depth++];
		memcpy(t->name, mk->name, strlen(mk->name) + 1);
		t->ts = mk->timestamp;
		t->known = known_duration(r, mk);
		t->hide = mk->hide_duration;
		t->shown = false;
		r->st.in_header = true;
		r->st.header_text = false;
	}
	r->stack_dirty = true;
	checkpoint(r, mk->end);
}

static void section_end(struct trace_html *r, const struct trace_marker *mk)
{
	unsigned i = r->st.depth, d;

	text_break(r);
	while (i > 0 && strcmp(r->st.stack[i - 1].name, mk->name) != 0)
		i--;
	if (i == 0)
		return; /* no such open section: the marker just disappears */
	r->cr = false;
	span_close(r);
	for (d = r->st.depth; d >= i; d--) {
		const struct sect *t = &r->st.stack[d - 1];
		bool matched = d == i;
		int64_t dur = matched ? mk->timestamp - t->ts : -1;
		char ds[64];

		if (d == r->st.depth && r->st.in_header) {
			header_close_into(r, matched ? dur : t->known);
		} else if (matched && !t->shown && !t->hide) {
			format_duration(dur, ds, sizeof(ds));
			buf_printf(&r->line,
				   "<span class=\"trace-section-duration\">%s</span>", ds);
		}
		buf_puts(&r->line, "</details>");
	}
	r->line_chars = false;
	if (!line_emit(r))
		return;
	r->st.depth = i - 1;
	r->st.in_header = false;
	r->stack_dirty = true;
	checkpoint(r, mk->end);
}

/* ---- feeding ---- */

/* Gives the text layer the bytes [text_off, upto), taken from hold and
 * then from data (which holds the bytes just scanned, ending at
 * ms.offset), and keeps [upto, ms.offset) in hold. */
static void text_upto(struct trace_html *r, const char *data, size_t used,
		      uint64_t upto)
{
	size_t from_hold = r->hold_len, n = (size_t)(upto - r->text_off), keep;
	uint64_t data_off = r->ms.offset - used;

	if (n <= from_hold) {
		text_run(r, r->hold, n);
	} else {
		text_run(r, r->hold, from_hold);
		text_run(r, data, n - from_hold);
	}
	keep = (size_t)(r->ms.offset - upto);
	if (n < from_hold) {
		memmove(r->hold, r->hold + n, from_hold - n);
		memcpy(r->hold + (from_hold - n), data, used);
	} else {
		memcpy(r->hold, data + (upto - data_off), keep);
	}
	r->hold_len = keep;
	r->text_off = upto;
}

int trace_html_feed(struct trace_html *r, const char *data, size_t len,
		    struct buf *out)
{
	struct trace_marker mk;
	bool found;

	r->out = out;
	r->fed = true;
	while (len && !r->full && !r->err) {
		size_t used = trace_marker_scan(&r->ms, data, len, &mk, &found);

		if (found && mk.end - mk.begin <= TRACE_HTML_MARKER_MAX &&
		    !mk.name_too_long) {
			text_upto(r, data, used, mk.begin);
			r->hold_len = 0;
			r->text_off = mk.end;
			r->tpos = mk.end;
			if (mk.start)
				section_start(r, &mk);
			else
				section_end(r, &mk);
		} else {
			uint64_t o = r->ms.offset;

			trace_marker_drop_before(&r->ms, o > TRACE_HTML_MARKER_MAX ?
						 o - TRACE_HTML_MARKER_MAX : 0);
			text_upto(r, data, used, trace_marker_pending_from(&r->ms));
		}
		data += used;
		len -= used;
	}
	r->out = NULL;
	return r->err;
}

int trace_html_finish(struct trace_html *r, struct buf *out)
{
	r->out = out;
	if (!r->full && !r->err) {
		text_run(r, r->hold, r->hold_len);
		r->text_off += r->hold_len;
		r->hold_len = 0;
		trace_marker_scanner_init(&r->ms, r->text_off);
		text_break(r);
		r->cr = false;
		if (r->st.in_header && r->st.depth) {
			bool shown = header_close_into(r,
					r->st.stack[r->st.depth - 1].known);

			if (line_emit(r)) {
				r->st.stack[r->st.depth - 1].shown = shown;
				r->st.in_header = false;
			}
		} else {
			line_emit(r);
		}
		r->stack_dirty = true;
		checkpoint(r, r->text_off);
	}
	buf_reset(&r->line);
	r->span_open = false;
	if (r->st.depth && r->st.in_header)
		emit_force(r, "</summary>");
	r->st.in_header = false;
	for (; r->st.depth; r->st.depth--)
		emit_force(r, "</details>");
	r->stack_dirty = true;
	if (r->full)
		emit_force(r, NOTICE);
	r->out = NULL;
	return r->err;
}

/* ---- checkpoint tokens ---- */

int trace_html_save(const struct trace_html *r, struct buf *out)
{
	const struct state *s = &r->ck;
	unsigned i;
	int err;

	err = buf_printf(out, "1:%" PRIu64 ":%d:%d:%u:%d", r->ck_off,
			 s->style.fg, s->style.bg, s->style.attrs,
			 (s->in_header ? 1 : 0) | (s->header_text ? 2 : 0));
	for (i = 0; i < s->depth && !err; i++)
		err = buf_printf(out, ":%s,%" PRId64 ",%" PRId64 ",%d",
				 s->stack[i].name, s->stack[i].ts,
				 s->stack[i].known,
				 (s->stack[i].hide ? 1 : 0) |
				 (s->stack[i].shown ? 2 : 0));
	return err;
}

static bool parse_i64(const char **p, int64_t *v)
{
	char *end;
	long long x;

	errno = 0;
	x = strtoll(*p, &end, 10);
	if (end == *p || errno)
		return false;
	*v = x;
	*p = end;
	return true;
}

static bool expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

int trace_html_restore(struct trace_html *r, const char *token)
{
	struct state s = { 0 };
	const char *p = token;
	int64_t off, fg, bg, attrs, flags;

	if (r->fed)
		return error_set(SO_EINVALID, "the renderer has already started");
	if (!expect(&p, '1') || !expect(&p, ':') || !parse_i64(&p, &off) ||
	    off < 0 || !expect(&p, ':') || !parse_i64(&p, &fg) ||
	    fg < -1 || fg > 255 || !expect(&p, ':') || !parse_i64(&p, &bg) ||
	    bg < -1 || bg > 255 || !expect(&p, ':') || !parse_i64(&p, &attrs) ||
	    attrs < 0 || attrs > 7 || !expect(&p, ':') ||
	    !parse_i64(&p, &flags) || flags < 0 || flags > 3)
		goto bad;
	s.style.fg = (int)fg;
	s.style.bg = (int)bg;
	s.style.attrs = (unsigned)attrs;
	s.in_header = flags & 1;
	s.header_text = flags & 2;
	while (*p) {
		struct sect *t;
		size_t n = 0;
		int64_t f;

		if (!expect(&p, ':') || s.depth == TRACE_HTML_MAX_DEPTH)
			goto bad;
		t = &s.stack[s.depth++];
		while (p[n] && p[n] != ',' &&
		       ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') ||
			(p[n] >= '0' && p[n] <= '9') || p[n] == '_' || p[n] == '.' ||
			p[n] == '-'))
			n++;
		if (n == 0 || n > TRACE_SECTION_NAME_MAX)
			goto bad;
		memcpy(t->name, p, n);
		t->name[n] = '\0';
		p += n;
		if (!expect(&p, ',') || !parse_i64(&p, &t->ts) || !expect(&p, ',') ||
		    !parse_i64(&p, &t->known) || !expect(&p, ',') ||
		    !parse_i64(&p, &f) || f < 0 || f > 3)
			goto bad;
		t->hide = f & 1;
		t->shown = f & 2;
	}
	if (s.in_header && s.depth == 0)
		goto bad;
	r->st = s;
	r->ck = s;
	r->ck_off = (uint64_t)off;
	r->text_off = r->tpos = (uint64_t)off;
	trace_marker_scanner_init(&r->ms, (uint64_t)off);
	return 0;
bad:
	return error_set(SO_EINVALID, "invalid log position");
}

int trace_html_render_fd(int fd, const char *token, size_t max_out, bool final,
			 struct buf *html, struct buf *next_token, bool *more)
{
	struct trace_html *r = trace_html_new();
	struct trace_sections secs = { 0 };
	char *chunk = xmalloc(CHUNK);
	uint64_t off, start;
	int err = 0;

	if (more)
		*more = false;
	if (max_out)
		trace_html_set_limit(r, max_out);
	if (token && *token) {
		if ((err = trace_html_restore(r, token)) < 0)
			goto done;
	} else {
		if ((err = trace_sections_scan(fd, &secs)) < 0)
			goto done;
		trace_html_set_sections(r, &secs);
	}
	off = start = r->text_off;
	while (!r->full) {
		ssize_t n = pread(fd, chunk, CHUNK, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = error_set(SO_EFAIL, "cannot read the job log: %s",
					strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		if ((err = trace_html_feed(r, chunk, (size_t)n, html)) < 0)
			goto done;
		off += (uint64_t)n;
	}
	if (r->full && trace_html_offset(r) == start) {
		err = error_set(SO_EFAIL, "the job log cannot be shown in %zu bytes",
				r->limit);
		goto done;
	}
	if (more)
		*more = r->full;
	if (final && !r->full && (err = trace_html_finish(r, html)) < 0)
		goto done;
	err = trace_html_save(r, next_token);
done:
	free(chunk);
	trace_sections_dispose(&secs);
	trace_html_free(r);
	return err;
}

/* ---- stylesheet ---- */

static char *css_text;
static pthread_once_t css_once = PTHREAD_ONCE_INIT;

static const char *const PALETTE[16] = {
	"#2e3436", "#ef5350", "#66bb6a", "#d6b656", "#5c9ded", "#c27fd1",
	"#26c6da", "#d3d7cf", "#6e7479", "#ff7b72", "#8ae234", "#fce94f",
	"#8cb6f5", "#e0a3ec", "#6ff0f0", "#ffffff",
};

static void css_build(void)
{
	static const int level[6] = { 0, 95, 135, 175, 215, 255 };
	struct buf b = BUF_INIT(0);
	int i;

	buf_puts(&b,
		 ".trace{background:#111;color:#eee;font-family:Menlo,"
		 "\"DejaVu Sans Mono\",\"Liberation Mono\",Consolas,monospace;"
		 "font-size:13px;line-height:1.4;white-space:pre-wrap;"
		 "word-break:break-all;overflow-wrap:anywhere;padding:8px 12px;"
		 "border-radius:4px;tab-size:8}\n"
		 ".trace .term-bold{font-weight:bold}\n"
		 ".trace .term-italic{font-style:italic}\n"
		 ".trace .term-underline{text-decoration:underline}\n"
		 ".trace details.trace-section{margin:0;padding:0}\n"
		 ".trace summary.trace-section-header{cursor:pointer;"
		 "display:list-item;list-style-position:inside}\n"
		 ".trace summary.trace-section-header:hover{background:#222}\n"
		 ".trace .duration,.trace .trace-section-duration{float:right;"
		 "color:#999;background:#333;border-radius:8px;padding:0 6px;"
		 "font-size:11px;margin-left:8px}\n"
		 ".trace .trace-section-duration{float:none;display:inline-block}\n"
		 ".trace .trace-truncated{color:#fce94f;font-style:italic;"
		 "margin-top:8px}\n");
	for (i = 0; i < 16; i++)
		buf_printf(&b, ".trace .term-fg-%s%s{color:%s}\n"
			   ".trace .term-bg-%s%s{background-color:%s}\n",
			   i < 8 ? "" : "l-", COLOUR[i % 8], PALETTE[i],
			   i < 8 ? "" : "l-", COLOUR[i % 8], PALETTE[i]);
	for (i = 16; i < 256; i++) {
		int rr, gg, bb;

		if (i < 232) {
			rr = level[(i - 16) / 36];
			gg = level[(i - 16) / 6 % 6];
			bb = level[(i - 16) % 6];
		} else {
			rr = gg = bb = 8 + 10 * (i - 232);
		}
		buf_printf(&b, ".trace .xterm-fg-%d{color:#%02x%02x%02x}\n"
			   ".trace .xterm-bg-%d{background-color:#%02x%02x%02x}\n",
			   i, rr, gg, bb, i, rr, gg, bb);
	}
	css_text = buf_detach(&b);
}

const char *trace_html_css(void)
{
	pthread_once(&css_once, css_build);
	return css_text;
}
