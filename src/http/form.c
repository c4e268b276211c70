/*
 * form.c: application/x-www-form-urlencoded decoder; see form.h. One pass
 * over the input, one allocation per decoded string, fields in a growing
 * array capped at FORM_MAX_FIELDS.
 */
#include "http/form.h"
#include "http/server.h"
#include "util/buf.h"
#include "util/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int add_field(struct form *f, size_t *cap, const char *piece, size_t len)
{
	const char *eq = memchr(piece, '=', len);
	size_t klen = eq ? (size_t)(eq - piece) : len;
	char *name = NULL, *value = NULL;
	int err;

	if (klen == 0)
		return 0; /* "=x": nothing to name it by */
	if (f->n >= FORM_MAX_FIELDS)
		return error_set(SO_ETOOBIG, "too many form fields (at most %d)", FORM_MAX_FIELDS);
	if ((err = http_url_decode(piece, klen, true, FORM_MAX_KEY, &name)) < 0) {
		if (err == SO_ETOOBIG)
			error_set(err, "form field name is too long (at most %d bytes)",
				  FORM_MAX_KEY);
		goto done;
	}
	if (eq)
		err = http_url_decode(eq + 1, len - klen - 1, true, SIZE_MAX, &value);
	else
		value = xstrdup("");
	if (err < 0)
		goto done;
	if (f->n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		f->fields = xrealloc(f->fields, *cap * sizeof(*f->fields));
	}
	f->fields[f->n].name = name;
	f->fields[f->n].value = value;
	f->n++;
	name = value = NULL;
	err = 0;
done:
	free(name);
	free(value);
	return err;
}

int form_parse(struct form *out, const char *data, size_t len)
{
	size_t cap = 0, start = 0;
	int err = 0;

	out->fields = NULL;
	out->n = 0;
	for (size_t i = 0; i <= len && err == 0; i++) {
		if (i < len && data[i] != '&')
			continue;
		if (i > start)
			err = add_field(out, &cap, data + start, i - start);
		start = i + 1;
	}
	if (err < 0)
		form_dispose(out);
	return err;
}

const char *form_get_nth(const struct form *f, const char *name, size_t nth)
{
	if (!f || !name)
		return NULL;
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->fields[i].name, name) == 0 && nth-- == 0)
			return f->fields[i].value;
	return NULL;
}

const char *form_get(const struct form *f, const char *name)
{
	return form_get_nth(f, name, 0);
}

size_t form_count(const struct form *f, const char *name)
{
	size_t count = 0;

	if (!f || !name)
		return 0;
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->fields[i].name, name) == 0)
			count++;
	return count;
}

void form_dispose(struct form *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		free(f->fields[i].name);
		free(f->fields[i].value);
	}
	free(f->fields);
	f->fields = NULL;
	f->n = 0;
}

int form_parse_request(struct http_request *req, struct form *f)
{
	const char *type = http_request_header(req, "Content-Type");
	const char *body;
	size_t len = 0;

	memset(f, 0, sizeof(*f));
	if (!type || strncasecmp(type, "application/x-www-form-urlencoded", 33) != 0)
		return 0;
	body = http_request_body(req, &len);
	return form_parse(f, body ? body : "", len);
}
