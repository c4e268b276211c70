/*
 * test_utf8.c: utf8_seq_len() against the edges of Unicode's table 3-7 and
 * the maximal-subpart lengths that replacement with U+FFFD relies on.
 */
#include "util/utf8.h"

#include <criterion/criterion.h>
#include <string.h>

static size_t len_of(const char *s, size_t *bad)
{
	return utf8_seq_len((const unsigned char *)s, strlen(s), bad);
}

Test(utf8, well_formed_sequences)
{
	size_t bad = 0;

	cr_assert_eq(len_of("a", &bad), 1);
	cr_assert_eq(len_of("\xc3\xa9", &bad), 2);
	cr_assert_eq(len_of("\xe0\xa0\x80", &bad), 3);     /* U+0800, lowest 3-byte */
	cr_assert_eq(len_of("\xed\x9f\xbf", &bad), 3);     /* U+D7FF, below surrogates */
	cr_assert_eq(len_of("\xf0\x90\x80\x80", &bad), 4); /* U+10000 */
	cr_assert_eq(len_of("\xf4\x8f\xbf\xbf", &bad), 4); /* U+10FFFF */
}

Test(utf8, invalid_sequences_and_their_maximal_subparts)
{
	size_t bad = 0;

	cr_assert_eq(len_of("\x80", &bad), 0);
	cr_assert_eq(bad, 1, "a lone continuation byte");
	cr_assert_eq(len_of("\xc0\xaf", &bad), 0);
	cr_assert_eq(bad, 1, "overlong lead byte");
	cr_assert_eq(len_of("\xe0\x80\x80", &bad), 0);
	cr_assert_eq(bad, 1, "overlong 3-byte form");
	cr_assert_eq(len_of("\xed\xa0\x80", &bad), 0);
	cr_assert_eq(bad, 1, "a surrogate");
	cr_assert_eq(len_of("\xf4\x90\x80\x80", &bad), 0);
	cr_assert_eq(bad, 1, "past U+10FFFF");
	cr_assert_eq(len_of("\xe2\x82(", &bad), 0);
	cr_assert_eq(bad, 2, "a truncated sequence is one subpart");
	cr_assert_eq(utf8_seq_len((const unsigned char *)"\xf0\x9f\x98", 3, &bad), 0);
	cr_assert_eq(bad, 3, "cut short by the end of the input");
}
