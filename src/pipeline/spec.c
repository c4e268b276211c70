/*
 * spec.c: the frozen job plan (spec_json) as JSON and back, and GitLab's
 * start_in durations.
 *
 * Design: jansson both ways; reading is strict about types (a spec is
 * written by this file only, so anything odd means a damaged row and the
 * job fails rather than running something else).
 */
#include "pipeline/internal.h"

#include "util/buf.h"
#include "util/error.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static json_t *strv_json(char *const *v)
{
	json_t *a = json_array();

	for (size_t i = 0; v && v[i]; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

char *pipeline_spec_to_json(const struct pipeline_spec *s)
{
	json_t *o = json_object(), *vars = json_array();
	char *out;

	json_object_set_new(o, "name", str_or_null(s->name));
	json_object_set_new(o, "stage", str_or_null(s->stage));
	json_object_set_new(o, "sha", str_or_null(s->sha));
	json_object_set_new(o, "ref", str_or_null(s->ref));
	json_object_set_new(o, "when", str_or_null(s->when));
	json_object_set_new(o, "before_script", strv_json(s->before_script));
	json_object_set_new(o, "script", strv_json(s->script));
	json_object_set_new(o, "after_script", strv_json(s->after_script));
	for (size_t i = 0; i < s->n_vars; i++)
		json_array_append_new(vars, json_pack("{s:s, s:s, s:b}", "key", s->vars[i].key,
						      "value", s->vars[i].value ? s->vars[i].value : "",
						      "masked", s->vars[i].masked));
	json_object_set_new(o, "variables", vars);
	json_object_set_new(o, "timeout", json_integer(s->timeout_s));
	json_object_set_new(o, "allow_failure", json_boolean(s->allow_failure));
	json_object_set_new(o, "run_at", json_integer(s->run_at));
	out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!out)
		abort(); /* only out of memory (every string is a C string) */
	char *copy = xstrdup(out);
	free(out);
	return copy;
}

static char *get_str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

static int get_strv(json_t *o, const char *key, char ***out)
{
	json_t *a = json_object_get(o, key), *it;
	size_t i;

	*out = NULL;
	if (a && !json_is_array(a))
		return error_set(SO_EINVALID, "job spec: %s is not a list", key);
	*out = xcalloc(json_array_size(a) + 1, sizeof(char *));
	json_array_foreach(a, i, it) {
		if (!json_is_string(it))
			return error_set(SO_EINVALID, "job spec: %s holds a non-string", key);
		(*out)[i] = xstrdup(json_string_value(it));
	}
	return 0;
}

int pipeline_spec_from_json(const char *text, struct pipeline_spec *out)
{
	json_t *o = NULL, *vars, *it;
	json_error_t jerr;
	size_t i;
	int err;

	memset(out, 0, sizeof(*out));
	o = text ? json_loads(text, JSON_REJECT_DUPLICATES, &jerr) : NULL;
	if (!json_is_object(o)) {
		err = error_set(SO_EINVALID, "job spec is not a JSON object");
		goto done;
	}
	out->name = get_str(o, "name");
	out->stage = get_str(o, "stage");
	out->sha = get_str(o, "sha");
	out->ref = get_str(o, "ref");
	out->when = get_str(o, "when");
	if (!out->name || !out->sha) {
		err = error_set(SO_EINVALID, "job spec lacks its name or commit");
		goto done;
	}
	if ((err = get_strv(o, "before_script", &out->before_script)) < 0 ||
	    (err = get_strv(o, "script", &out->script)) < 0 ||
	    (err = get_strv(o, "after_script", &out->after_script)) < 0)
		goto done;
	vars = json_object_get(o, "variables");
	if (vars && !json_is_array(vars)) {
		err = error_set(SO_EINVALID, "job spec: variables is not a list");
		goto done;
	}
	out->vars = xcalloc(json_array_size(vars) + 1, sizeof(*out->vars));
	json_array_foreach(vars, i, it) {
		json_t *k = json_object_get(it, "key"), *v = json_object_get(it, "value");

		if (!json_is_string(k) || !json_is_string(v)) {
			err = error_set(SO_EINVALID, "job spec: a variable lacks its key or value");
			goto done;
		}
		out->vars[i].key = xstrdup(json_string_value(k));
		/* values may hold any byte but NUL: take the length jansson kept */
		out->vars[i].value = xstrndup(json_string_value(v), json_string_length(v));
		out->vars[i].masked = json_is_true(json_object_get(it, "masked"));
		out->n_vars = i + 1;
	}
	out->timeout_s = (unsigned)json_integer_value(json_object_get(o, "timeout"));
	out->allow_failure = json_is_true(json_object_get(o, "allow_failure"));
	out->run_at = (int64_t)json_integer_value(json_object_get(o, "run_at"));
	err = 0;
done:
	json_decref(o);
	if (err < 0)
		pipeline_spec_dispose(out);
	return err;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void pipeline_spec_dispose(struct pipeline_spec *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->stage);
	free(s->sha);
	free(s->ref);
	free(s->when);
	strv_free(s->before_script);
	strv_free(s->script);
	strv_free(s->after_script);
	for (size_t i = 0; i < s->n_vars; i++) {
		free(s->vars[i].key);
		free(s->vars[i].value);
	}
	free(s->vars);
	memset(s, 0, sizeof(*s));
}

int pipeline_parse_duration(const char *s, int64_t *out)
{
	static const struct { const char *name; int64_t mult; } units[] = {
		{ "seconds", 1 }, { "second", 1 }, { "secs", 1 }, { "sec", 1 }, { "s", 1 },
		{ "minutes", 60 }, { "minute", 60 }, { "mins", 60 }, { "min", 60 }, { "m", 60 },
		{ "hours", 3600 }, { "hour", 3600 }, { "hrs", 3600 }, { "hr", 3600 }, { "h", 3600 },
		{ "days", 86400 }, { "day", 86400 }, { "d", 86400 },
		{ "weeks", 604800 }, { "week", 604800 }, { "w", 604800 },
	};
	int64_t total = 0;
	bool any = false;
	const char *p = s;

	*out = 0;
	if (!s)
		return error_set(SO_EINVALID, "start_in is missing");
	for (;;) {
		int64_t n = 0, mult = 1;
		size_t ulen;

		while (isspace((unsigned char)*p) || *p == ',')
			p++;
		if (!*p)
			break;
		if (strncmp(p, "and", 3) == 0 && !isalpha((unsigned char)p[3])) {
			p += 3;
			continue;
		}
		if (!isdigit((unsigned char)*p))
			return error_set(SO_EINVALID, "start_in \"%s\" is not a duration", s);
		while (isdigit((unsigned char)*p)) {
			if (n > 100000000)
				return error_set(SO_EINVALID, "start_in \"%s\" is too long", s);
			n = n * 10 + (*p++ - '0');
		}
		while (*p == ' ')
			p++;
		ulen = 0;
		while (isalpha((unsigned char)p[ulen]))
			ulen++;
		if (ulen) {
			size_t i;

			for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
				if (strlen(units[i].name) == ulen && strncasecmp(p, units[i].name, ulen) == 0)
					break;
			if (i == sizeof(units) / sizeof(units[0]))
				return error_set(SO_EINVALID, "start_in \"%s\" is not a duration", s);
			mult = units[i].mult;
			p += ulen;
		}
		total += n * mult;
		if (total > 10LL * 366 * 86400)
			return error_set(SO_EINVALID, "start_in \"%s\" is too long", s);
		any = true;
	}
	if (!any)
		return error_set(SO_EINVALID, "start_in \"%s\" is not a duration", s);
	*out = total;
	return 0;
}
