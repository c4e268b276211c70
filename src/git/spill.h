/*
 * spill.h: a first-in first-out byte store that keeps the first bytes in
 * memory and the rest in an unlinked temporary file.
 *
 * Design: smart_http.c must drain the CGI's stdout while it is still
 * feeding the request body to its stdin (or both block on full pipes), but
 * it cannot send those bytes to the client yet. They go here: up to
 * mem_max bytes in a growing memory buffer, everything past that appended
 * to a file opened with O_TMPFILE (or mkstemp + unlink) in tmp_dir, so the
 * memory used per request is bounded and nothing is left on disk. Reads
 * return the bytes in the order they were written.
 *
 * Ownership: a struct spill owns its memory and file; spill_dispose()
 * releases them (accepts NULL and a never-written spill).
 */
#ifndef SO_GIT_SPILL_H
#define SO_GIT_SPILL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SPILL_MEM_MAX (1024 * 1024)

struct spill {
	char *mem;          /* the first bytes written */
	size_t mem_len;     /* bytes in mem */
	size_t mem_cap;     /* bytes allocated */
	size_t mem_max;     /* never more than this in memory */
	size_t mem_pos;     /* read position in mem */
	int fd;             /* the temporary file, -1 until mem is full */
	uint64_t file_len;  /* bytes written to the file */
	uint64_t file_pos;  /* read position in the file */
	char *tmp_dir;      /* owned copy */
};

/* tmp_dir is copied; mem_max 0 means SPILL_MEM_MAX. */
void spill_init(struct spill *s, const char *tmp_dir, size_t mem_max);
/* Appends n bytes. SO_EFAIL (with the reason) when the file fails. */
int spill_write(struct spill *s, const void *p, size_t n);
/* Reads up to max bytes in FIFO order: the count, 0 when nothing is left
 * to read, -1 (with error_set) on a file error. */
ssize_t spill_read(struct spill *s, void *buf, size_t max);
/* The unread bytes. */
uint64_t spill_pending(const struct spill *s);
void spill_dispose(struct spill *s);

#endif
