/*
 * log.c: JSON-lines logger; see log.h. A line is formatted into a stack
 * buffer (spilling to the heap past 2 KiB), then one write(2) puts it out
 * whole (atomic for lines below PIPE_BUF on pipes, and in practice on
 * files opened O_APPEND). log_event() serialises only the caller's
 * object with jansson and splices it after the fixed head; log_line()
 * formats typed fields itself and allocates nothing.
 */
#include "util/log.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/utf8.h"

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_int log_min = LOG_INFO;
static atomic_int log_fd = 2;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_init(enum log_level min, int fd)
{
	log_min = min;
	log_fd = fd;
}

int log_level_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (s && strcmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

int log_enabled(enum log_level level)
{
	return (int)level >= log_min;
}

/* ---- line writer: a stack buffer that spills to the heap ---- */

struct lw {
	char *p;
	size_t len, cap;
	bool heap;
	char stack[2048];
};

static void lw_init(struct lw *w)
{
	w->p = w->stack;
	w->len = 0;
	w->cap = sizeof(w->stack);
	w->heap = false;
}

static void lw_put(struct lw *w, const char *s, size_t n)
{
	if (w->len + n + 2 > w->cap) { /* +2: the newline and a NUL */
		size_t cap = w->cap * 2 > w->len + n + 2 ? w->cap * 2 : w->len + n + 2;

		if (w->heap) {
			w->p = xrealloc(w->p, cap);
		} else {
			char *h = xmalloc(cap);

			memcpy(h, w->p, w->len);
			w->p = h;
			w->heap = true;
		}
		w->cap = cap;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void lw_puts(struct lw *w, const char *s)
{
	lw_put(w, s, strlen(s));
}

static void lw_dispose(struct lw *w)
{
	if (w->heap)
		free(w->p);
}

/* s as a JSON string; bytes that are not UTF-8 become U+FFFD. */
static void lw_str(struct lw *w, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run = p,
			    *end = p + strlen(s);
	char esc[8];

	lw_put(w, "\"", 1);
	while (*p) {
		unsigned c = *p;
		size_t n, bad;

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			p++;
			continue;
		}
		lw_put(w, (const char *)run, (size_t)(p - run));
		if (c < 0x80) {
			if (c == '"' || c == '\\')
				snprintf(esc, sizeof(esc), "\\%c", (char)c);
			else if (c == '\n')
				snprintf(esc, sizeof(esc), "\\n");
			else if (c == '\t')
				snprintf(esc, sizeof(esc), "\\t");
			else if (c == '\r')
				snprintf(esc, sizeof(esc), "\\r");
			else
				snprintf(esc, sizeof(esc), "\\u%04x", c);
			lw_puts(w, esc);
			p++;
		} else if ((n = utf8_seq_len(p, (size_t)(end - p), &bad)) > 0) {
			lw_put(w, (const char *)p, n);
			p += n;
		} else {
			lw_put(w, "\xef\xbf\xbd", 3);
			p += bad;
		}
		run = p;
	}
	lw_put(w, (const char *)run, (size_t)(p - run));
	lw_put(w, "\"", 1);
}

static void lw_fields(struct lw *w, const struct log_field *f, size_t n, bool comma)
{
	char num[40];

	for (size_t i = 0; i < n; i++) {
		if (f[i].type == LOG_F_RAW) {
			if (!f[i].s || !*f[i].s)
				continue;
			if (comma)
				lw_put(w, ",", 1);
			lw_puts(w, f[i].s);
			comma = true;
			continue;
		}
		if (f[i].type == LOG_F_STR && !f[i].s)
			continue;
		if (comma)
			lw_put(w, ",", 1);
		comma = true;
		lw_str(w, f[i].key);
		lw_put(w, ":", 1);
		switch (f[i].type) {
		case LOG_F_STR:
			lw_str(w, f[i].s);
			break;
		case LOG_F_INT:
			snprintf(num, sizeof(num), "%lld", f[i].i);
			lw_puts(w, num);
			break;
		default:
			if (isfinite(f[i].d)) {
				snprintf(num, sizeof(num), "%.6g", f[i].d);
				lw_puts(w, num);
			} else {
				lw_puts(w, "null");
			}
			break;
		}
	}
}

/* {"time":"...","level":"...","msg":"..." (no closing brace). The
 * seconds part of the time is formatted once per second per thread. */
static void lw_head(struct lw *w, enum log_level level, const char *msg)
{
	static _Thread_local time_t cached_sec = -1;
	static _Thread_local char cached[24];
	struct timespec ts;
	char ms[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != cached_sec) {
		struct tm tm;

		gmtime_r(&ts.tv_sec, &tm);
		strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm);
		cached_sec = ts.tv_sec;
	}
	snprintf(ms, sizeof(ms), ".%03ldZ", ts.tv_nsec / 1000000L);
	lw_puts(w, "{\"time\":\"");
	lw_puts(w, cached);
	lw_puts(w, ms);
	lw_puts(w, "\",\"level\":\"");
	lw_puts(w, level_names[level]);
	lw_puts(w, "\",\"msg\":");
	lw_str(w, msg ? msg : "");
}

static void lw_emit(struct lw *w)
{
	size_t off = 0;

	w->p[w->len++] = '\n'; /* lw_put always leaves room */
	while (off < w->len) {
		ssize_t n = write(log_fd, w->p + off, w->len - off);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
}

void log_line(enum log_level level, const char *msg, const struct log_field *fields, size_t n)
{
	struct lw w;

	if (!log_enabled(level))
		return;
	lw_init(&w);
	lw_head(&w, level, msg);
	lw_fields(&w, fields, n, true);
	lw_put(&w, "}", 1);
	lw_emit(&w);
	lw_dispose(&w);
}

char *log_format_fields(const struct log_field *fields, size_t n)
{
	struct lw w;
	char *out;

	lw_init(&w);
	lw_fields(&w, fields, n, false);
	out = xmalloc(w.len + 1);
	memcpy(out, w.p, w.len);
	out[w.len] = '\0';
	lw_dispose(&w);
	return out;
}

void log_event(enum log_level level, const char *msg, json_t *fields)
{
	struct lw w;
	char *text = NULL;

	if (!log_enabled(level)) {
		json_decref(fields);
		return;
	}
	lw_init(&w);
	lw_head(&w, level, msg);
	if (fields && json_object_size(fields) > 0)
		text = json_dumps(fields,
				  JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(fields);
	if (text && text[0] == '{' && text[1] != '}') {
		lw_put(&w, ",", 1);
		lw_puts(&w, text + 1); /* the fields and their closing brace */
	} else {
		lw_put(&w, "}", 1);
	}
	free(text);
	lw_emit(&w);
	lw_dispose(&w);
}

static void log_v(enum log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void log_v(enum log_level level, const char *fmt, va_list ap)
{
	struct buf b = BUF_INIT(4096);

	if (!log_enabled(level))
		return;
	buf_vprintf(&b, fmt, ap);
	log_event(level, buf_cstr(&b), NULL);
	buf_dispose(&b);
}

#define LOG_FN(name, level)                          \
	void name(const char *fmt, ...)              \
	{                                            \
		va_list ap;                          \
		va_start(ap, fmt);                   \
		log_v(level, fmt, ap);               \
		va_end(ap);                          \
	}

LOG_FN(log_debug, LOG_DEBUG)
LOG_FN(log_info, LOG_INFO)
LOG_FN(log_warn, LOG_WARN)
LOG_FN(log_error, LOG_ERROR)
