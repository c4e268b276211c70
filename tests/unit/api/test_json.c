/* Unit tests for api/json: parameters from query, form and JSON bodies,
 * validated against a declared table. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "api/json.h"
#include "util/error.h"

static const struct api_param spec[] = {
	{ "name", API_PARAM_STRING, true, 0 },
	{ "path", API_PARAM_STRING, false, 8 },
	{ "level", API_PARAM_INT, false, 0 },
	{ "admin", API_PARAM_BOOL, false, 0 },
};
#define N (sizeof(spec) / sizeof(spec[0]))

static struct api_params *ok(const char *ct, const char *body, const char *query)
{
	struct api_params *p = NULL;
	struct api_params_error err;
	int rc = api_params_parse(spec, N, ct, body, body ? strlen(body) : 0, query, &p, &err);

	cr_assert_eq(rc, 0, "unexpected error: %s", err.text);
	cr_assert_not_null(p);
	return p;
}

static struct api_params_error bad(const char *ct, const char *body, const char *query)
{
	struct api_params *p = NULL;
	struct api_params_error err;
	int rc = api_params_parse(spec, N, ct, body, body ? strlen(body) : 0, query, &p, &err);

	cr_assert_eq(rc, SO_EINVALID);
	cr_assert_null(p);
	return err;
}

Test(api_json, json_body_types_coerce)
{
	struct api_params *p = ok("application/json; charset=utf-8",
				  "{\"name\":\"Demo\",\"level\":30,\"admin\":true,\"path\":null}", NULL);

	cr_assert_str_eq(api_params_str(p, "name"), "Demo");
	cr_assert_eq(api_params_int(p, "level", 0), 30);
	cr_assert_str_eq(api_params_str(p, "level"), "30");
	cr_assert(api_params_bool(p, "admin", false));
	cr_assert_not(api_params_has(p, "path"), "null counts as absent");
	cr_assert_eq(api_params_int(p, "level", 0), 30);
	api_params_free(p);
}

Test(api_json, json_strings_coerce_to_int_and_bool)
{
	struct api_params *p = ok("application/json", "{\"name\":\"x\",\"level\":\"40\",\"admin\":\"false\"}", NULL);

	cr_assert_eq(api_params_int(p, "level", 0), 40);
	cr_assert_not(api_params_bool(p, "admin", true));
	api_params_free(p);
}

Test(api_json, form_body_and_query_merge)
{
	struct api_params *p = ok("application/x-www-form-urlencoded", "name=My+Project%21&admin=1",
				  "level=20&private_token=secret");

	cr_assert_str_eq(api_params_str(p, "name"), "My Project!");
	cr_assert(api_params_bool(p, "admin", false));
	cr_assert_eq(api_params_int(p, "level", 0), 20);
	cr_assert_null(api_params_str(p, "path"));
	cr_assert_eq(api_params_int(p, "level", 7), 20);
	api_params_free(p);
}

Test(api_json, no_content_type_means_form)
{
	struct api_params *p = ok(NULL, "name=a&path=b", NULL);

	cr_assert_str_eq(api_params_str(p, "path"), "b");
	api_params_free(p);
}

Test(api_json, defaults_when_absent)
{
	struct api_params *p = ok("application/json", "{\"name\":\"n\"}", "");

	cr_assert_eq(api_params_int(p, "level", 20), 20);
	cr_assert(api_params_bool(p, "admin", true));
	cr_assert_not(api_params_has(p, "level"));
	api_params_free(p);
}

Test(api_json, missing_required_lists_names)
{
	struct api_params_error e = bad("application/json", "{}", NULL);

	cr_assert_eq(e.status, 400);
	cr_assert_not(e.is_message);
	cr_assert_str_eq(e.text, "name is missing");
	e = bad(NULL, "name=", NULL);
	cr_assert_str_eq(e.text, "name is empty");
}

Test(api_json, unknown_parameter_is_refused)
{
	struct api_params_error e = bad("application/json", "{\"name\":\"a\",\"foo\":1}", NULL);

	cr_assert_str_eq(e.text, "unknown parameter: foo");
	e = bad(NULL, "name=a&bar%22%0a=1", NULL);
	cr_assert_str_eq(e.text, "unknown parameter: bar??", "got %s", e.text);
	e = bad(NULL, "name=a&private_token=x", NULL);
	cr_assert_str_eq(e.text, "unknown parameter: private_token", "only the query may carry it");
}

Test(api_json, wrong_types_are_invalid)
{
	cr_assert_str_eq(bad("application/json", "{\"name\":\"a\",\"level\":\"ten\"}", NULL).text,
			 "level is invalid");
	cr_assert_str_eq(bad("application/json", "{\"name\":\"a\",\"level\":1.5}", NULL).text,
			 "level is invalid");
	cr_assert_str_eq(bad("application/json", "{\"name\":[\"a\"]}", NULL).text, "name is invalid");
	cr_assert_str_eq(bad("application/json", "{\"name\":\"a\",\"admin\":2}", NULL).text,
			 "admin is invalid");
	cr_assert_str_eq(bad(NULL, "name=a&admin=yes", NULL).text, "admin is invalid");
	cr_assert_str_eq(bad(NULL, "name=a&level=030", NULL).text, "level is invalid");
	cr_assert_str_eq(bad("application/json", "{\"name\":true}", NULL).text, "name is invalid");
}

Test(api_json, repeated_parameter_is_refused)
{
	cr_assert_str_eq(bad(NULL, "name=a&name=b", NULL).text, "name is given more than once");
	cr_assert_str_eq(bad(NULL, "name=a", "name=b").text, "name is given more than once");
	/* JSON duplicates are malformed JSON (JSON_REJECT_DUPLICATES). */
	cr_assert(bad("application/json", "{\"name\":\"a\",\"name\":\"b\"}", NULL).is_message);
}

Test(api_json, malformed_json_is_a_message)
{
	struct api_params_error e = bad("application/json", "{\"name\":", NULL);

	cr_assert_eq(e.status, 400);
	cr_assert(e.is_message);
	cr_assert(strstr(e.text, "400 Bad request - malformed JSON") == e.text, "got %s", e.text);
	e = bad("application/json", "[1,2]", NULL);
	cr_assert_str_eq(e.text, "400 Bad request - the JSON body must be an object");
	e = bad("application/json", "{\"name\":\"a\"} trailing", NULL);
	cr_assert(e.is_message);
}

Test(api_json, deep_nesting_is_refused_before_parsing)
{
	char body[200];
	struct api_params_error e;

	strcpy(body, "{\"name\":");
	for (int i = 0; i < 40; i++)
		strcat(body, "[");
	e = bad("application/json", body, NULL);
	cr_assert(strstr(e.text, "nested too deeply"), "got %s", e.text);
	/* brackets inside strings do not count */
	api_params_free(ok("application/json", "{\"name\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}", NULL));
}

Test(api_json, string_caps_and_text_rules)
{
	cr_assert_str_eq(bad(NULL, "name=a&path=123456789", NULL).text,
			 "path is too long (maximum is 8 characters)");
	cr_assert_str_eq(bad(NULL, "name=a%01b", NULL).text, "name is invalid");
	cr_assert_str_eq(bad(NULL, "name=%ff", NULL).text, "name is invalid");
	cr_assert_str_eq(bad(NULL, "name=a%00", NULL).text, "name is invalid");
	cr_assert(bad("application/json", "{\"name\":\"a\\u0000b\"}", NULL).is_message);
	api_params_free(ok(NULL, "name=%C3%A9t%C3%A9", NULL));
}

Test(api_json, bad_percent_escape)
{
	struct api_params_error e = bad(NULL, "na%zzme=a", NULL);

	cr_assert(e.is_message);
	cr_assert(strstr(e.text, "bad percent-encoding"), "got %s", e.text);
	cr_assert_str_eq(bad(NULL, "name=%4", NULL).text, "name is invalid");
}

Test(api_json, unsupported_media_type)
{
	struct api_params_error e = bad("text/plain", "hello", NULL);

	cr_assert_eq(e.status, 415);
	cr_assert(e.is_message);
	/* an empty body of any type is fine */
	api_params_free(ok("multipart/form-data", NULL, "name=x"));
}

Test(api_json, too_many_parameters)
{
	char q[2000] = "name=a";

	for (int i = 0; i < 70; i++)
		strcat(q, "&&");
	api_params_free(ok(NULL, q, NULL));
	strcpy(q, "");
	for (int i = 0; i < 70; i++)
		strcat(q, "private_token=1&");
	cr_assert(strstr(bad(NULL, "name=a", q).text, "too many parameters"));
}

Test(api_json, helpers)
{
	int64_t v;
	bool b;
	char *s = NULL;

	cr_assert(api_parse_int("-12", &v) && v == -12);
	cr_assert(api_parse_int("0", &v) && v == 0);
	cr_assert_not(api_parse_int("", &v));
	cr_assert_not(api_parse_int("+1", &v));
	cr_assert_not(api_parse_int("1 ", &v));
	cr_assert_not(api_parse_int("99999999999999999999", &v));
	cr_assert(api_parse_bool("TRUE", &b) && b);
	cr_assert(api_parse_bool("0", &b) && !b);
	cr_assert_not(api_parse_bool("2", &b));
	cr_assert(api_text_valid("tab\there\n", 9));
	cr_assert_not(api_text_valid("\xc0\xaf", 2), "overlong encoding");
	cr_assert_not(api_text_valid("\xed\xa0\x80", 3), "surrogate");
	cr_assert_not(api_text_valid("\xe2\x82", 2), "truncated");
	cr_assert(api_text_valid("\xf0\x9f\x98\x80", 4), "emoji");
	cr_assert_eq(api_form_decode("a%2Fb+c", 7, 100, &s), 0);
	cr_assert_str_eq(s, "a/b c");
	free(s);
	cr_assert_eq(api_form_decode("abcdef", 6, 3, &s), SO_ETOOBIG);
	cr_assert_null(s);
}

Test(api_json, unknown_query_parameters_are_ignored_as_gitlab_does)
{
	char longname[400];
	struct api_params *p = ok(NULL, "name=a", "order_by=id&sort=desc&statistics=true");

	cr_assert_str_eq(api_params_str(p, "name"), "a");
	api_params_free(p);
	memset(longname, 'x', sizeof(longname) - 3);
	memcpy(longname + sizeof(longname) - 3, "=1", 3);
	p = ok(NULL, "name=b", longname);
	cr_assert_str_eq(api_params_str(p, "name"), "b");
	api_params_free(p);
	/* Known names are still checked, and malformed encoding still refused. */
	cr_assert_str_eq(bad(NULL, NULL, "name=a&level=ten").text, "level is invalid");
	cr_assert_eq(bad(NULL, NULL, "name=a&%zz=1").status, 400);
}
