/*
 * fuzz_api_params.c: libFuzzer target for api_params_parse() and the
 * naming rules.
 *
 * Input layout: byte 0 picks the Content-Type (json, form, none, other);
 * the bytes up to the first '\n' are the query string; the rest is the
 * body. Every string value that parses is then run through each
 * validator and the path derivation. The target asserts the parser's
 * contract: success gives params and an untouched error, failure gives
 * no params and a non-empty message with a 400/415 status.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/json.h"
#include "core/validate.h"

static const struct api_param spec[] = {
	{ "name", API_PARAM_STRING, false, 0 },
	{ "path", API_PARAM_STRING, false, 255 },
	{ "namespace", API_PARAM_STRING, false, 2048 },
	{ "access_level", API_PARAM_INT, false, 0 },
	{ "admin", API_PARAM_BOOL, false, 0 },
	{ "email", API_PARAM_STRING, false, 254 },
	{ "expires_at", API_PARAM_STRING, false, 32 },
	{ "username", API_PARAM_STRING, true, 255 },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = {
		"application/json", "application/x-www-form-urlencoded; charset=UTF-8", NULL,
		"text/plain",
	};
	struct api_params *p = NULL;
	struct api_params_error err;
	const char *nl, *body;
	char *query;
	size_t qlen, blen;
	int rc;

	if (size < 1)
		return 0;
	nl = memchr(data + 1, '\n', size - 1);
	qlen = nl ? (size_t)(nl - (const char *)(data + 1)) : 0;
	query = malloc(qlen + 1);
	memcpy(query, data + 1, qlen);
	query[qlen] = '\0';
	body = nl ? nl + 1 : (const char *)(data + 1);
	blen = size - (size_t)(body - (const char *)data);

	rc = api_params_parse(spec, sizeof(spec) / sizeof(spec[0]), types[data[0] % 4], body, blen,
			      query, &p, &err);
	if (rc == 0) {
		const char *s;

		assert(p);
		assert(api_params_has(p, "username"));
		for (size_t i = 0; i < sizeof(spec) / sizeof(spec[0]); i++) {
			s = api_params_str(p, spec[i].name);
			if (!s)
				continue;
			(void)validate_path(s, VALIDATE_PATH_PROJECT);
			(void)validate_path(s, VALIDATE_PATH_USER);
			(void)validate_namespace_path(s);
			(void)validate_project_name(s);
			(void)validate_user_name(s);
			(void)validate_email(s);
			(void)validate_branch(s);
			(void)validate_date(s);
			free(validate_path_from_name(s));
		}
		(void)api_params_int(p, "access_level", 0);
		(void)api_params_bool(p, "admin", false);
	} else {
		assert(!p);
		assert(err.text[0]);
		assert(err.status == 400 || err.status == 415);
	}
	api_params_free(p);
	free(query);
	return 0;
}
