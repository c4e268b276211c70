/*
 * log.h: structured logging, one JSON object per line on stderr.
 *
 * Design: every line has "time", "level" and "msg"; log_event() adds the
 * caller's fields. Lines are written with a single write(2) so lines from
 * different threads never interleave. The logger never sees a secret
 * unless a caller passes one: callers log paths without query strings and
 * never log tokens, passwords, cookies or Authorization headers (the HTTP
 * layer's request line is the model; see http/server.c).
 *
 * Two ways in: log_event() takes a jansson object (convenient, allocates),
 * log_line() takes an array of typed fields and formats straight into a
 * stack buffer (no allocation for lines under 2 KiB), for the per-request
 * paths. Both escape strings as JSON; bytes that are not UTF-8 become
 * U+FFFD, so a line is always valid JSON.
 */
#ifndef SO_UTIL_LOG_H
#define SO_UTIL_LOG_H

#include <jansson.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the minimum level and the file descriptor (default: INFO, 2). */
void log_init(enum log_level min, int fd);
/* Parses "debug", "info", "warn", "error"; -1 when unknown. */
int log_level_parse(const char *s);
int log_enabled(enum log_level level);

/* Writes {"time","level","msg", ...fields}. fields is stolen (may be NULL). */
void log_event(enum log_level level, const char *msg, json_t *fields);

/* A field for log_line(); make them with the LOG_* macros below. Strings
 * are borrowed for the call; a NULL string field is left out. */
enum log_field_type { LOG_F_STR, LOG_F_INT, LOG_F_NUM, LOG_F_RAW };
struct log_field {
	const char *key;
	enum log_field_type type;
	const char *s; /* LOG_F_STR: text; LOG_F_RAW: a JSON fragment `"k":v,...` */
	long long i;
	double d;
};
#define LOG_STR(k, v) ((struct log_field){ .key = (k), .type = LOG_F_STR, .s = (v) })
#define LOG_INT(k, v) ((struct log_field){ .key = (k), .type = LOG_F_INT, .i = (long long)(v) })
#define LOG_NUM(k, v) ((struct log_field){ .key = (k), .type = LOG_F_NUM, .d = (double)(v) })
/* Splices fields formatted earlier by log_format_fields() (may be NULL). */
#define LOG_RAW(v) ((struct log_field){ .key = "", .type = LOG_F_RAW, .s = (v) })

/* Writes {"time","level","msg", fields...} like log_event(), without
 * building a jansson object. */
void log_line(enum log_level level, const char *msg, const struct log_field *fields, size_t n);
/* Formats fields as `"k":v,"k2":v2` (no braces) into a new string, for a
 * caller that hands them to another layer's log line (LOG_RAW). Free it. */
char *log_format_fields(const struct log_field *fields, size_t n);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
