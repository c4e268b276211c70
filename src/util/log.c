/*
 * log.c: JSON-lines logger; see log.h. Formatting happens into a local
 * buffer, then one write(2) puts the whole line out (atomic for lines
 * below PIPE_BUF on pipes, and in practice on files opened O_APPEND).
 */
#include "util/log.h"
#include "util/buf.h"
#include "util/clock.h"

#include <stdarg.h>
#include <stdatomic.h>
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

void log_event(enum log_level level, const char *msg, json_t *fields)
{
	char now[40];
	json_t *line;
	char *text;
	size_t len, off = 0;

	if (!log_enabled(level)) {
		json_decref(fields);
		return;
	}
	clock_now_iso(now, sizeof(now));
	line = json_pack("{s:s, s:s, s:s}", "time", now,
			 "level", level_names[level], "msg", msg ? msg : "");
	if (!line) {
		json_decref(fields);
		return;
	}
	if (fields)
		json_object_update(line, fields);
	json_decref(fields);
	text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	json_decref(line);
	if (!text)
		return;
	len = strlen(text);
	text[len++] = '\n'; /* overwrites the NUL; length is tracked */
	while (off < len) {
		ssize_t n = write(log_fd, text + off, len - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	free(text);
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
