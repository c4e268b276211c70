/*
 * form.h: application/x-www-form-urlencoded decoding, for request bodies
 * and query strings.
 *
 * Design: the input is split at '&' into fields and each field at its
 * first '=' into a key and a value; both are percent-decoded with '+' as
 * space (http_url_decode). Empty pieces ("a=1&&b=2") are skipped, a piece
 * without '=' is a key with an empty value, a piece with an empty key is
 * skipped. Duplicate keys are kept in input order: form_get() returns the
 * first, form_get_nth() walks them (GitLab's "ids[]=1&ids[]=2").
 * Every size is capped: at most FORM_MAX_FIELDS fields and FORM_MAX_KEY
 * bytes per decoded key (SO_ETOOBIG); a value is never longer than the
 * input, which the caller has already capped (the body or header limit).
 * A bad escape ("%zz", "%4") or an encoded NUL is SO_EINVALID.
 *
 * Ownership: a struct form owns its fields and their strings;
 * form_dispose() frees them. Strings returned by form_get* are borrowed.
 */
#ifndef SO_HTTP_FORM_H
#define SO_HTTP_FORM_H

#include <stddef.h>

#define FORM_MAX_FIELDS 256
#define FORM_MAX_KEY 256

struct form_field {
	char *name;  /* decoded, owned */
	char *value; /* decoded, owned, "" when the field had no '=' */
};

struct form {
	struct form_field *fields; /* owned, n entries */
	size_t n;
};

/* Decodes data (len bytes, need not be NUL-terminated) into *out, which is
 * overwritten (not disposed first). On error *out is left empty. */
int form_parse(struct form *out, const char *data, size_t len);
/* The first value of name; NULL when absent. */
const char *form_get(const struct form *f, const char *name);
/* The nth (0-based) value of name; NULL past the last. */
const char *form_get_nth(const struct form *f, const char *name, size_t nth);
/* How many fields are named name. */
size_t form_count(const struct form *f, const char *name);
void form_dispose(struct form *f); /* accepts NULL; leaves *f empty */

struct http_request;
/* Parses a request's buffered body when its Content-Type is
 * application/x-www-form-urlencoded; any other body leaves f empty (0),
 * so a form field lookup simply finds nothing. Errors as form_parse. */
int form_parse_request(struct http_request *req, struct form *f);

#endif
