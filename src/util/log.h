/*
 * log.h: structured logging, one JSON object per line on stderr.
 *
 * Design: every line has "time", "level" and "msg"; log_event() adds the
 * caller's fields. Lines are written with a single write(2) so lines from
 * different threads never interleave. The logger never sees a secret
 * unless a caller passes one: callers log paths without query strings and
 * never log tokens, passwords, cookies or Authorization headers (the HTTP
 * layer's request line is the model; see http/server.c).
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

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
