/*
 * json.h: request parameters for the REST API, from wherever a client puts
 * them.
 *
 * Design: GitLab's API (Grape) takes the same parameters from the query
 * string, a form-encoded body or a JSON body, and validates them against a
 * declared list per endpoint. api_params_parse() does the same: each
 * endpoint declares a static table of struct api_param (name, type,
 * required), and the parser merges the query string and the body into one
 * lookup, checking on the way:
 *  - the body is application/json (an object; jansson with
 *    JSON_REJECT_DUPLICATES, nesting capped at API_JSON_MAX_DEPTH before
 *    jansson sees it) or application/x-www-form-urlencoded (also assumed
 *    when a body comes without a Content-Type, as curl --data sends it);
 *    any other type is refused;
 *  - every name in a body must be declared (slashops refuses unknown
 *    body parameters where GitLab ignores them, so a typo in a write is
 *    an error, not a silent no-op); unknown names in the query string are
 *    ignored as GitLab does, since clients send optional extras (order_by,
 *    statistics...) with their reads; "private_token" in the query string
 *    is allowed, auth reads it;
 *  - a name may be given only once across query and body;
 *  - values coerce as Grape does: int from a JSON integer or a decimal
 *    string, bool from true/false/1/0 (JSON or string), string from a JSON
 *    string or integer; JSON null counts as absent;
 *  - strings are valid UTF-8 without control characters (except tab,
 *    newline and CR) and at most API_PARAM_MAX_LEN bytes (or the entry's
 *    max_len);
 *  - required parameters are present and, for strings, not empty.
 * Errors come back as a struct api_params_error that says which JSON key
 * GitLab uses for it: Grape's {"error": "name is missing"} style for
 * parameter errors, {"message": "400 Bad request - ..."} for an unreadable
 * body.
 *
 * This file has no dependency beyond util/ and jansson so that the fuzzer
 * and the unit tests link it alone.
 *
 * Ownership: struct api_params owns its copies of every value; strings it
 * returns are borrowed until api_params_free().
 */
#ifndef SO_API_JSON_H
#define SO_API_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define API_JSON_MAX_DEPTH 16      /* nesting of arrays/objects in a JSON body */
#define API_PARAM_MAX_LEN 4096     /* default cap on one string value, in bytes */
#define API_PARAMS_MAX_COUNT 64    /* parameters in one request, query + body */

enum api_param_type {
	API_PARAM_STRING,
	API_PARAM_INT,
	API_PARAM_BOOL,
};

struct api_param {
	const char *name;
	enum api_param_type type;
	bool required;
	size_t max_len; /* strings: 0 means API_PARAM_MAX_LEN */
};

struct api_params;

struct api_params_error {
	unsigned status;  /* 400 (or 415 for an unsupported body type) */
	bool is_message;  /* true: {"message": text}; false: {"error": text} */
	char text[512];   /* user-facing, never contains a value that was sent */
};

/* Parses and validates. spec is an array of n entries (borrowed).
 * content_type may be NULL; body may be NULL when len is 0; query is the
 * raw query string without '?' (may be NULL). On success *out is set
 * (caller frees with api_params_free). On failure returns SO_EINVALID and
 * fills *err (never NULL). */
int api_params_parse(const struct api_param *spec, size_t n, const char *content_type,
		     const char *body, size_t len, const char *query,
		     struct api_params **out, struct api_params_error *err);
void api_params_free(struct api_params *p); /* accepts NULL */

/* Was the parameter given (and not null)? */
bool api_params_has(const struct api_params *p, const char *name);
/* The string value, or NULL when absent. For int and bool parameters, the
 * value as sent, normalised ("30", "true"). Borrowed. */
const char *api_params_str(const struct api_params *p, const char *name);
/* The value, or def when absent. The parameter must be declared with the
 * matching type (assert). */
int64_t api_params_int(const struct api_params *p, const char *name, int64_t def);
bool api_params_bool(const struct api_params *p, const char *name, bool def);

/* ---- pieces, exposed for tests ---- */
/* Percent-decodes a form/query component ('+' is a space) into a new
 * NUL-terminated string of at most max bytes. SO_EINVALID on a bad escape
 * or a NUL byte, SO_ETOOBIG past max. Caller frees *out. */
int api_form_decode(const char *s, size_t len, size_t max, char **out);
/* Strict decimal int64 ("-12", "30"; no spaces, no '+', no leading zeros
 * beyond "0"). */
bool api_parse_int(const char *s, int64_t *out);
/* true/false/1/0, case-insensitive for the words. */
bool api_parse_bool(const char *s, bool *out);
/* Valid UTF-8 with no control characters other than \t \n \r. */
bool api_text_valid(const char *s, size_t len);

#endif
