/* Unit tests for http/form: urlencoded bodies and query strings. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/form.h"
#include "util/buf.h"
#include "util/error.h"

static int parse(struct form *f, const char *s)
{
	return form_parse(f, s, strlen(s));
}

Test(form, decodes_fields_in_order)
{
	struct form f;

	cr_assert_eq(parse(&f, "text=%2Fdeploy+prod&token=abc%3D&user_name=a.b"), 0);
	cr_assert_eq(f.n, 3);
	cr_assert_str_eq(f.fields[0].name, "text");
	cr_assert_str_eq(f.fields[0].value, "/deploy prod");
	cr_assert_str_eq(form_get(&f, "token"), "abc=");
	cr_assert_str_eq(form_get(&f, "user_name"), "a.b");
	cr_assert_null(form_get(&f, "missing"));
	form_dispose(&f);
	cr_assert_eq(f.n, 0);
	cr_assert_null(f.fields);
}

Test(form, empty_input_and_empty_pieces)
{
	struct form f;

	cr_assert_eq(parse(&f, ""), 0);
	cr_assert_eq(f.n, 0);
	form_dispose(&f);
	cr_assert_eq(parse(&f, "&&a=1&&&b=&c&=orphan&"), 0);
	cr_assert_eq(f.n, 3);
	cr_assert_str_eq(form_get(&f, "a"), "1");
	cr_assert_str_eq(form_get(&f, "b"), "");
	cr_assert_str_eq(form_get(&f, "c"), "");
	cr_assert_null(form_get(&f, ""));
	form_dispose(&f);
}

Test(form, value_keeps_later_equals_signs)
{
	struct form f;

	cr_assert_eq(parse(&f, "q=a=b=c"), 0);
	cr_assert_str_eq(form_get(&f, "q"), "a=b=c");
	form_dispose(&f);
}

Test(form, duplicates_kept_in_order)
{
	struct form f;

	cr_assert_eq(parse(&f, "ids[]=1&x=0&ids%5B%5D=2&ids[]=3"), 0);
	cr_assert_eq(form_count(&f, "ids[]"), 3);
	cr_assert_str_eq(form_get(&f, "ids[]"), "1");
	cr_assert_str_eq(form_get_nth(&f, "ids[]", 1), "2");
	cr_assert_str_eq(form_get_nth(&f, "ids[]", 2), "3");
	cr_assert_null(form_get_nth(&f, "ids[]", 3));
	form_dispose(&f);
}

Test(form, bad_escapes_rejected)
{
	struct form f;

	cr_assert_eq(parse(&f, "a=1&b=%zz"), SO_EINVALID);
	cr_assert_eq(f.n, 0);
	cr_assert_null(f.fields);
	cr_assert_eq(parse(&f, "a%=1"), SO_EINVALID);
	cr_assert_eq(parse(&f, "a=%00"), SO_EINVALID);
	cr_assert_eq(parse(&f, "a=%4"), SO_EINVALID);
}

Test(form, not_nul_terminated_input)
{
	struct form f;
	const char data[] = { 'a', '=', '1', '&', 'b', '=', '2' };

	cr_assert_eq(form_parse(&f, data, 5), 0);
	cr_assert_eq(f.n, 2);
	cr_assert_str_eq(form_get(&f, "a"), "1");
	cr_assert_str_eq(form_get(&f, "b"), "");
	form_dispose(&f);
}

Test(form, caps_field_count)
{
	struct buf b = BUF_INIT(0);
	struct form f;

	for (int i = 0; i < FORM_MAX_FIELDS; i++)
		buf_printf(&b, "k%d=v&", i);
	cr_assert_eq(form_parse(&f, b.data, b.len), 0);
	cr_assert_eq(f.n, FORM_MAX_FIELDS);
	form_dispose(&f);
	buf_puts(&b, "one=more");
	cr_assert_eq(form_parse(&f, b.data, b.len), SO_ETOOBIG);
	cr_assert_eq(f.n, 0);
	buf_dispose(&b);
}

Test(form, caps_key_length)
{
	char key[FORM_MAX_KEY + 3];
	struct form f;

	memset(key, 'k', FORM_MAX_KEY);
	strcpy(key + FORM_MAX_KEY, "=v");
	cr_assert_eq(parse(&f, key), 0);
	cr_assert_str_eq(f.fields[0].value, "v");
	form_dispose(&f);
	memset(key, 'k', FORM_MAX_KEY + 1);
	strcpy(key + FORM_MAX_KEY + 1, "=");
	cr_assert_eq(parse(&f, key), SO_ETOOBIG);
	cr_assert(strstr(error_msg(), "too long"));
}

Test(form, dispose_accepts_null)
{
	form_dispose(NULL);
	cr_assert_null(form_get(NULL, "a"));
}
