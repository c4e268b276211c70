/*
 * json.c: request parameters from the query string, a form body or a JSON
 * body, validated against a per-endpoint table; see json.h.
 *
 * Design: one slot per declared parameter (same index as the table). Each
 * source is walked once; every value is checked and coerced as it arrives
 * and stored in its slot, so the three sources end in one uniform lookup.
 * Errors stop the walk at the first unknown, repeated or ill-typed
 * parameter; missing required parameters are collected together at the
 * end, as Grape lists them ("a is missing, b is missing").
 */
#include "api/json.h"

#include "util/buf.h"
#include "util/error.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NAME_MAX_LEN 128 /* a parameter name, decoded */

struct slot {
	bool present;
	char *str;     /* owned: the string, or the normalised int/bool */
	int64_t ival;
	bool bval;
};

struct api_params {
	const struct api_param *spec; /* borrowed */
	size_t n;
	struct slot *slots;           /* n entries */
	size_t count;                 /* values taken so far, all sources */
};

static int fail(struct api_params_error *err, unsigned status, bool is_message,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(struct api_params_error *err, unsigned status, bool is_message,
		const char *fmt, ...)
{
	va_list ap;

	err->status = status;
	err->is_message = is_message;
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
	return error_set(SO_EINVALID, "%s", err->text);
}

/* A parameter name fit for an error message: printable ASCII, short. */
static void safe_name(const char *s, size_t len, char *out, size_t size)
{
	size_t i, j = 0;

	for (i = 0; i < len && j + 4 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		out[j++] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?';
	}
	if (i < len && j + 3 < size) {
		out[j++] = '.';
		out[j++] = '.';
		out[j++] = '.';
	}
	out[j] = '\0';
}

/* ---- small parsers ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int api_form_decode(const char *s, size_t len, size_t max, char **out)
{
	char *d = xmalloc(len + 1);
	size_t i, j = 0;
	int err = 0;

	*out = NULL;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi = i + 2 < len ? hexval((unsigned char)s[i + 1]) : -1;
			int lo = i + 2 < len ? hexval((unsigned char)s[i + 2]) : -1;

			if (hi < 0 || lo < 0) {
				err = error_set(SO_EINVALID, "bad percent-escape");
				goto done;
			}
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (c == '\0') {
			err = error_set(SO_EINVALID, "NUL byte in parameter");
			goto done;
		}
		if (j >= max) {
			err = error_set(SO_ETOOBIG, "parameter too long");
			goto done;
		}
		d[j++] = c;
	}
	d[j] = '\0';
	*out = d;
	d = NULL;
done:
	free(d);
	return err;
}

bool api_parse_int(const char *s, int64_t *out)
{
	const char *p = s;
	char *end;
	long long v;

	if (!s || !*s)
		return false;
	if (*p == '-')
		p++;
	if (!isdigit((unsigned char)*p))
		return false;
	if (p[0] == '0' && p[1] != '\0')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end != '\0')
		return false;
	*out = (int64_t)v;
	return true;
}

bool api_parse_bool(const char *s, bool *out)
{
	if (!s)
		return false;
	if (!strcasecmp(s, "true") || !strcmp(s, "1")) {
		*out = true;
		return true;
	}
	if (!strcasecmp(s, "false") || !strcmp(s, "0")) {
		*out = false;
		return true;
	}
	return false;
}

bool api_text_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + n >= len)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
			return false;
		i += n + 1;
	}
	return true;
}

/* ---- storing values ---- */

static ssize_t spec_find(const struct api_params *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->spec[i].name, name))
			return (ssize_t)i;
	return -1;
}

/* Takes a string value (from a form, the query, or a JSON string) for the
 * declared parameter idx, coercing it to the declared type. */
static int put_string(struct api_params *p, size_t idx, const char *v, size_t len,
		      struct api_params_error *err)
{
	const struct api_param *d = &p->spec[idx];
	struct slot *s = &p->slots[idx];
	size_t max = d->max_len ? d->max_len : API_PARAM_MAX_LEN;

	if (len > max)
		return fail(err, 400, false, "%s is too long (maximum is %zu characters)",
			    d->name, max);
	if (strlen(v) != len || !api_text_valid(v, len))
		return fail(err, 400, false, "%s is invalid", d->name);
	switch (d->type) {
	case API_PARAM_STRING:
		s->str = xstrndup(v, len);
		break;
	case API_PARAM_INT:
		if (!api_parse_int(v, &s->ival))
			return fail(err, 400, false, "%s is invalid", d->name);
		s->str = xasprintf("%" PRId64, s->ival);
		break;
	case API_PARAM_BOOL:
		if (!api_parse_bool(v, &s->bval))
			return fail(err, 400, false, "%s is invalid", d->name);
		s->str = xstrdup(s->bval ? "true" : "false");
		break;
	}
	s->present = true;
	return 0;
}

/* Looks a name up and refuses unknown and repeated ones. *idx is -1 for a
 * name to skip (private_token in the query). */
static int claim(struct api_params *p, const char *name, size_t name_len, bool from_query,
		 ssize_t *idx, struct api_params_error *err)
{
	char shown[80];

	*idx = -1;
	if (++p->count > API_PARAMS_MAX_COUNT)
		return fail(err, 400, true, "400 Bad request - too many parameters (maximum is %d)",
			    API_PARAMS_MAX_COUNT);
	if (strlen(name) == name_len) {
		if (from_query && !strcmp(name, "private_token"))
			return 0;
		*idx = spec_find(p, name);
	}
	if (*idx < 0 && from_query)
		return 0; /* GitLab ignores what it does not know; clients send extras */
	if (*idx < 0) {
		safe_name(name, name_len, shown, sizeof(shown));
		return fail(err, 400, false, "unknown parameter: %s", shown);
	}
	if (p->slots[*idx].present)
		return fail(err, 400, false, "%s is given more than once", p->spec[*idx].name);
	return 0;
}

/* ---- sources ---- */

static int parse_form(struct api_params *p, const char *s, size_t len, bool from_query,
		      struct api_params_error *err)
{
	const char *end = s + len;
	char *name = NULL, *value = NULL;
	int rc = 0;

	while (s < end) {
		const char *amp = memchr(s, '&', (size_t)(end - s));
		const char *seg_end = amp ? amp : end;
		const char *eq = memchr(s, '=', (size_t)(seg_end - s));
		const char *name_end = eq ? eq : seg_end;
		ssize_t idx;
		size_t max;

		if (seg_end == s) { /* "a=1&&b=2" */
			s = seg_end + 1;
			continue;
		}
		rc = api_form_decode(s, (size_t)(name_end - s), NAME_MAX_LEN, &name);
		if (rc < 0) {
			char shown[80];

			safe_name(s, (size_t)(name_end - s), shown, sizeof(shown));
			if (rc == SO_ETOOBIG && from_query) { /* an unknown name: ignored */
				rc = 0;
				s = amp ? amp + 1 : end;
				continue;
			}
			rc = rc == SO_ETOOBIG
				? fail(err, 400, false, "unknown parameter: %s", shown)
				: fail(err, 400, true,
				       "400 Bad request - malformed %s: bad percent-encoding",
				       from_query ? "query string" : "form body");
			goto done;
		}
		if ((rc = claim(p, name, strlen(name), from_query, &idx, err)) < 0)
			goto done;
		if (idx >= 0) {
			max = p->spec[idx].max_len ? p->spec[idx].max_len : API_PARAM_MAX_LEN;
			rc = api_form_decode(eq ? eq + 1 : seg_end,
					     eq ? (size_t)(seg_end - eq - 1) : 0, max, &value);
			if (rc == SO_ETOOBIG) {
				rc = fail(err, 400, false, "%s is too long (maximum is %zu characters)",
					  p->spec[idx].name, max);
				goto done;
			}
			if (rc < 0) {
				rc = fail(err, 400, false, "%s is invalid", p->spec[idx].name);
				goto done;
			}
			if ((rc = put_string(p, (size_t)idx, value, strlen(value), err)) < 0)
				goto done;
		}
		free(name);
		free(value);
		name = value = NULL;
		s = amp ? amp + 1 : end;
	}
done:
	free(name);
	free(value);
	return rc;
}

/* Depth of [ and { outside strings, checked before jansson parses. */
static bool json_depth_ok(const char *s, size_t len, int max)
{
	bool in_str = false, esc = false;
	int depth = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '[' || c == '{') {
			if (++depth > max)
				return false;
		} else if (c == ']' || c == '}') {
			depth--;
		}
	}
	return true;
}

static int put_json(struct api_params *p, size_t idx, json_t *v, struct api_params_error *err)
{
	const struct api_param *d = &p->spec[idx];
	struct slot *s = &p->slots[idx];
	char num[32];

	switch (json_typeof(v)) {
	case JSON_STRING:
		return put_string(p, idx, json_string_value(v), json_string_length(v), err);
	case JSON_INTEGER:
		if (d->type == API_PARAM_BOOL && json_integer_value(v) != 0 &&
		    json_integer_value(v) != 1)
			break;
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return put_string(p, idx, num, strlen(num), err);
	case JSON_TRUE:
	case JSON_FALSE:
		if (d->type != API_PARAM_BOOL)
			break;
		s->bval = json_is_true(v);
		s->str = xstrdup(s->bval ? "true" : "false");
		s->present = true;
		return 0;
	default:
		break;
	}
	return fail(err, 400, false, "%s is invalid", d->name);
}

static int parse_json(struct api_params *p, const char *body, size_t len,
		      struct api_params_error *err)
{
	json_error_t jerr;
	json_t *root = NULL, *v;
	const char *key;
	int rc = 0;

	if (!json_depth_ok(body, len, API_JSON_MAX_DEPTH)) {
		rc = fail(err, 400, true,
			  "400 Bad request - JSON body nested too deeply (maximum depth is %d)",
			  API_JSON_MAX_DEPTH);
		goto done;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		rc = fail(err, 400, true, "400 Bad request - malformed JSON: %.200s (line %d, column %d)",
			  jerr.text, jerr.line, jerr.column);
		goto done;
	}
	if (!json_is_object(root)) {
		rc = fail(err, 400, true, "400 Bad request - the JSON body must be an object");
		goto done;
	}
	json_object_foreach(root, key, v) {
		ssize_t idx;

		if ((rc = claim(p, key, strlen(key), false, &idx, err)) < 0)
			goto done;
		if (json_is_null(v))
			continue;
		if ((rc = put_json(p, (size_t)idx, v, err)) < 0)
			goto done;
	}
done:
	json_decref(root);
	return rc;
}

/* The media type of a Content-Type header, lowercased, without
 * parameters, into out. */
static void media_type(const char *ct, char *out, size_t size)
{
	size_t j = 0;

	while (ct && (*ct == ' ' || *ct == '\t'))
		ct++;
	for (; ct && *ct && *ct != ';' && *ct != ' ' && *ct != '\t' && j + 1 < size; ct++)
		out[j++] = (char)tolower((unsigned char)*ct);
	out[j] = '\0';
}

int api_params_parse(const struct api_param *spec, size_t n, const char *content_type,
		     const char *body, size_t len, const char *query,
		     struct api_params **out, struct api_params_error *err)
{
	struct api_params *p = xcalloc(1, sizeof(*p));
	struct buf missing = BUF_INIT(0);
	char mt[80];
	int rc = 0;

	*out = NULL;
	memset(err, 0, sizeof(*err));
	p->spec = spec;
	p->n = n;
	p->slots = xcalloc(n ? n : 1, sizeof(*p->slots));

	if (query && *query && (rc = parse_form(p, query, strlen(query), true, err)) < 0)
		goto done;
	media_type(content_type, mt, sizeof(mt));
	if (!strcmp(mt, "application/json")) {
		if (len > 0 && (rc = parse_json(p, body, len, err)) < 0)
			goto done;
	} else if (!*mt || !strcmp(mt, "application/x-www-form-urlencoded")) {
		if (len > 0 && (rc = parse_form(p, body, len, false, err)) < 0)
			goto done;
	} else if (len > 0) {
		rc = fail(err, 415, true,
			  "415 Unsupported Media Type - send parameters as application/json or "
			  "application/x-www-form-urlencoded");
		goto done;
	}

	for (size_t i = 0; i < n; i++) {
		const char *why = NULL;

		if (!spec[i].required)
			continue;
		if (!p->slots[i].present)
			why = "is missing";
		else if (spec[i].type == API_PARAM_STRING && !*p->slots[i].str)
			why = "is empty";
		if (why)
			buf_printf(&missing, "%s%s %s", missing.len ? ", " : "", spec[i].name, why);
	}
	if (missing.len) {
		rc = fail(err, 400, false, "%s", buf_cstr(&missing));
		goto done;
	}
	*out = p;
	p = NULL;
done:
	buf_dispose(&missing);
	api_params_free(p);
	return rc;
}

void api_params_free(struct api_params *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->slots[i].str);
	free(p->slots);
	free(p);
}

static const struct slot *slot_of(const struct api_params *p, const char *name,
				  enum api_param_type type, bool check_type)
{
	ssize_t i = p ? spec_find(p, name) : -1;

	assert(!p || i >= 0); /* a handler asked for a parameter it did not declare */
	if (i < 0)
		return NULL;
	assert(!check_type || p->spec[i].type == type);
	(void)type;
	(void)check_type;
	return p->slots[i].present ? &p->slots[i] : NULL;
}

bool api_params_has(const struct api_params *p, const char *name)
{
	return slot_of(p, name, API_PARAM_STRING, false) != NULL;
}

const char *api_params_str(const struct api_params *p, const char *name)
{
	const struct slot *s = slot_of(p, name, API_PARAM_STRING, false);

	return s ? s->str : NULL;
}

int64_t api_params_int(const struct api_params *p, const char *name, int64_t def)
{
	const struct slot *s = slot_of(p, name, API_PARAM_INT, true);

	return s ? s->ival : def;
}

bool api_params_bool(const struct api_params *p, const char *name, bool def)
{
	const struct slot *s = slot_of(p, name, API_PARAM_BOOL, true);

	return s ? s->bval : def;
}
