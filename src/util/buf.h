/*
 * buf.h: a growable byte buffer with a hard size cap.
 *
 * Design: every buffer that network input can grow is a struct buf with a
 * max; an append past max fails with SO_ETOOBIG and leaves the buffer as it
 * was, so a caller can answer 413 instead of running out of memory. The
 * data is always NUL-terminated (when not NULL) so text can be used as a C
 * string. Out-of-memory aborts the process (see HACKING.md: "die, but bound
 * every input").
 *
 * Ownership: a struct buf owns data. buf_detach() hands it to the caller
 * (free() it); buf_dispose() frees it. Both accept a buffer never written.
 */
#ifndef SO_UTIL_BUF_H
#define SO_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;  /* NUL-terminated bytes, or NULL while empty */
	size_t len;  /* bytes used, not counting the NUL */
	size_t cap;  /* bytes allocated */
	size_t max;  /* cap on len; 0 means no cap (only for trusted data) */
};

#define BUF_INIT(max_) { NULL, 0, 0, (max_) }

void buf_init(struct buf *b, size_t max);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void buf_reset(struct buf *b);       /* len = 0, keeps memory */
/* Returns the NUL-terminated data (an empty string "" allocated when the
 * buffer was empty) and leaves b empty. Caller frees. */
char *buf_detach(struct buf *b);
void buf_dispose(struct buf *b);     /* accepts NULL */
/* The bytes as a C string; "" when empty. Borrowed. */
const char *buf_cstr(const struct buf *b);

/* Allocation helpers that abort on out-of-memory. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);        /* NULL in, NULL out */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
