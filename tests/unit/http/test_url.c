/* Unit tests for http_url_decode / http_url_encode. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/server.h"
#include "util/error.h"

static char *dec(const char *s, bool plus, size_t max, int *err)
{
	char *out = (char *)"unset";

	*err = http_url_decode(s, strlen(s), plus, max, &out);
	return out;
}

Test(url, decodes_escapes_and_plus)
{
	int err;
	char *s = dec("a%2Fb+c%20d%C3%A9", true, SIZE_MAX, &err);

	cr_assert_eq(err, 0);
	cr_assert_str_eq(s, "a/b c d\xc3\xa9");
	free(s);
	s = dec("a+b", false, SIZE_MAX, &err);
	cr_assert_eq(err, 0);
	cr_assert_str_eq(s, "a+b");
	free(s);
	s = dec("", false, SIZE_MAX, &err);
	cr_assert_eq(err, 0);
	cr_assert_str_eq(s, "");
	free(s);
	s = dec("%2f%2F", false, SIZE_MAX, &err);
	cr_assert_str_eq(s, "//");
	free(s);
}

Test(url, rejects_bad_escapes_and_nul)
{
	const char *bad[] = { "%", "%4", "a%zz", "%g0", "%0", "x%00y", "%%41" };
	int err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *s = dec(bad[i], true, SIZE_MAX, &err);

		cr_assert_eq(err, SO_EINVALID, "%s", bad[i]);
		cr_assert_null(s, "%s", bad[i]);
	}
	/* a raw NUL inside the given length */
	{
		char *out = NULL;

		cr_assert_eq(http_url_decode("a\0b", 3, false, SIZE_MAX, &out), SO_EINVALID);
		cr_assert_null(out);
	}
}

Test(url, decode_respects_max_len)
{
	int err;
	char *s = dec("abc", false, 3, &err);

	cr_assert_eq(err, 0);
	cr_assert_str_eq(s, "abc");
	free(s);
	s = dec("abcd", false, 3, &err);
	cr_assert_eq(err, SO_ETOOBIG);
	cr_assert_null(s);
	/* the cap is on decoded bytes: three escapes are three bytes */
	s = dec("%41%42%43", false, 3, &err);
	cr_assert_eq(err, 0);
	cr_assert_str_eq(s, "ABC");
	free(s);
}

Test(url, encode_keeps_unreserved_only)
{
	char *s = http_url_encode("group/sub project~x_y-z.1+é");

	cr_assert_str_eq(s, "group%2Fsub%20project~x_y-z.1%2B%C3%A9");
	free(s);
	cr_assert_null(http_url_encode(NULL));
	s = http_url_encode("");
	cr_assert_str_eq(s, "");
	free(s);
}

Test(url, encode_then_decode_round_trips)
{
	const char *in = "a&b=c/d?e#f%g h\x01\xff";
	char *enc = http_url_encode(in), *back = NULL;

	cr_assert_eq(http_url_decode(enc, strlen(enc), false, SIZE_MAX, &back), 0);
	cr_assert_str_eq(back, in);
	free(enc);
	free(back);
}
