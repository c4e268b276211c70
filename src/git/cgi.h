/*
 * cgi.h: parsing the header block of a CGI response (RFC 3875 section 6),
 * as `git http-backend` writes it on its stdout.
 *
 * Design: a pure function over the bytes read so far. The caller keeps
 * appending what it reads from the pipe and calls cgi_parse_headers()
 * again until it stops answering SO_EBUSY ("need more"). Lines end with LF
 * or CRLF; the block ends at the first empty line. "Status: NNN reason"
 * sets the status (200 when absent; 302 when only Location is given).
 * Content-Type is kept apart; other fields are listed in order. Anything
 * that is not "token: value" (continuation lines, control bytes, NULs, a
 * block without any field) is SO_EINVALID; a block longer than
 * CGI_HEADERS_MAX bytes or with more than CGI_HEADERS_MAX_COUNT fields is
 * SO_ETOOBIG. No I/O, no global state: suitable for fuzzing.
 *
 * Ownership: a filled struct cgi_headers owns its strings; release them
 * with cgi_headers_dispose() (accepts NULL and a zeroed struct).
 */
#ifndef SO_GIT_CGI_H
#define SO_GIT_CGI_H

#include <stddef.h>

#define CGI_HEADERS_MAX (64 * 1024)
#define CGI_HEADERS_MAX_COUNT 100

struct cgi_header {
	char *name;  /* as written by the script, e.g. "Cache-Control" */
	char *value; /* leading and trailing blanks removed */
};

struct cgi_headers {
	unsigned status;          /* 100..599 */
	char *content_type;       /* or NULL when the script gave none */
	struct cgi_header *list;  /* other fields (not Status, not Content-Type) */
	size_t count;
};

/* Parses the header block at the start of data[0..len). On success fills
 * *out (caller disposes) and sets *consumed to the length of the block
 * including the empty line, so data + *consumed is the start of the body.
 * SO_EBUSY when the block is not complete yet (out untouched), SO_EINVALID
 * when malformed, SO_ETOOBIG past the caps. */
int cgi_parse_headers(const char *data, size_t len, struct cgi_headers *out, size_t *consumed);
void cgi_headers_dispose(struct cgi_headers *h);
/* The value of the first field named name (case-insensitive), searching
 * the list (Content-Type is in its own field); NULL when absent. */
const char *cgi_headers_get(const struct cgi_headers *h, const char *name);

#endif
