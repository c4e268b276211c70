/*
 * cgi.c: the CGI response header parser (see cgi.h).
 *
 * Design: first find the end of the block (an LF followed by LF or CRLF,
 * or the data starting with an empty line) within the first
 * CGI_HEADERS_MAX bytes; only a complete block is parsed, so feeding
 * bytes one at a time and feeding them all at once give the same result.
 * Then each line is split at the first ':'; names must be RFC 9110 tokens,
 * values may contain visible bytes, spaces and tabs only.
 */
#include "git/cgi.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/error.h"

static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* Finds the end of the header block: *end receives the offset just past
 * the empty line. False when the block is not complete in data[0..len). */
static bool find_end(const char *data, size_t len, size_t *end)
{
	size_t line = 0; /* start of the current line */

	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\n')
			continue;
		/* line is data[line..i), maybe with a trailing CR */
		if (i == line || (i == line + 1 && data[line] == '\r')) {
			*end = i + 1;
			return true;
		}
		line = i + 1;
	}
	return false;
}

static int parse_status(const char *v, unsigned *out)
{
	unsigned s;

	if (strlen(v) < 3 || v[0] < '1' || v[0] > '5' || v[1] < '0' || v[1] > '9' ||
	    v[2] < '0' || v[2] > '9' || (v[3] != '\0' && v[3] != ' '))
		return error_set(SO_EINVALID, "CGI Status is not a valid status code");
	s = (unsigned)(v[0] - '0') * 100 + (unsigned)(v[1] - '0') * 10 + (unsigned)(v[2] - '0');
	if (s < 100 || s > 599)
		return error_set(SO_EINVALID, "CGI Status is not a valid status code");
	*out = s;
	return 0;
}

int cgi_parse_headers(const char *data, size_t len, struct cgi_headers *out, size_t *consumed)
{
	struct cgi_headers h = {0};
	size_t end = 0, pos = 0, nfields = 0;
	bool have_status = false, have_location = false;
	int err = 0;

	if (!find_end(data, len < CGI_HEADERS_MAX ? len : CGI_HEADERS_MAX, &end))
		return len >= CGI_HEADERS_MAX
			? error_set(SO_ETOOBIG, "CGI header block is larger than %d bytes",
				    CGI_HEADERS_MAX)
			: SO_EBUSY;
	while (pos < end) {
		size_t eol = pos, stop, colon, vs, ve;
		char *name, *value;

		while (data[eol] != '\n')
			eol++;
		stop = eol > pos && data[eol - 1] == '\r' ? eol - 1 : eol;
		if (stop == pos)
			break; /* the empty line */
		if (++nfields > CGI_HEADERS_MAX_COUNT) {
			err = error_set(SO_ETOOBIG, "CGI response has more than %d header fields",
					CGI_HEADERS_MAX_COUNT);
			goto done;
		}
		for (colon = pos; colon < stop && data[colon] != ':'; colon++)
			if (!is_tchar((unsigned char)data[colon])) {
				err = error_set(SO_EINVALID, "malformed CGI header line");
				goto done;
			}
		if (colon == stop || colon == pos) {
			err = error_set(SO_EINVALID, "malformed CGI header line");
			goto done;
		}
		for (vs = colon + 1; vs < stop; vs++)
			if (!is_value_char((unsigned char)data[vs])) {
				err = error_set(SO_EINVALID, "malformed CGI header value");
				goto done;
			}
		vs = colon + 1;
		while (vs < stop && (data[vs] == ' ' || data[vs] == '\t'))
			vs++;
		ve = stop;
		while (ve > vs && (data[ve - 1] == ' ' || data[ve - 1] == '\t'))
			ve--;
		name = xstrndup(data + pos, colon - pos);
		value = xstrndup(data + vs, ve - vs);
		if (!strcasecmp(name, "Status")) {
			if (have_status) {
				err = error_set(SO_EINVALID, "CGI response has two Status fields");
			} else {
				have_status = true;
				err = parse_status(value, &h.status);
			}
			free(name);
			free(value);
		} else if (!strcasecmp(name, "Content-Type")) {
			if (h.content_type)
				err = error_set(SO_EINVALID, "CGI response has two Content-Type fields");
			else
				h.content_type = value, value = NULL;
			free(name);
			free(value);
		} else {
			if (!strcasecmp(name, "Location"))
				have_location = true;
			h.list = xrealloc(h.list, (h.count + 1) * sizeof(*h.list));
			h.list[h.count].name = name;
			h.list[h.count].value = value;
			h.count++;
		}
		if (err < 0)
			goto done;
		pos = eol + 1;
	}
	if (nfields == 0) {
		err = error_set(SO_EINVALID, "CGI response has no header fields");
		goto done;
	}
	if (!have_status)
		h.status = have_location ? 302 : 200;
	*out = h;
	memset(&h, 0, sizeof(h));
	*consumed = end;
done:
	cgi_headers_dispose(&h);
	return err;
}

void cgi_headers_dispose(struct cgi_headers *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->count; i++) {
		free(h->list[i].name);
		free(h->list[i].value);
	}
	free(h->list);
	free(h->content_type);
	memset(h, 0, sizeof(*h));
}

const char *cgi_headers_get(const struct cgi_headers *h, const char *name)
{
	for (size_t i = 0; h && i < h->count; i++)
		if (!strcasecmp(h->list[i].name, name))
			return h->list[i].value;
	return NULL;
}
