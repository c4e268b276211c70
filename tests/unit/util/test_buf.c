/* Unit tests for util/buf: growth, caps, detach and NUL termination. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/error.h"

Test(buf, appends_and_terminates)
{
	struct buf b = BUF_INIT(0);

	cr_assert_str_eq(buf_cstr(&b), "");
	cr_assert_eq(buf_puts(&b, "hello"), 0);
	cr_assert_eq(buf_printf(&b, " %d", 42), 0);
	cr_assert_str_eq(buf_cstr(&b), "hello 42");
	cr_assert_eq(b.len, 8);
	buf_dispose(&b);
	buf_dispose(NULL);
}

Test(buf, refuses_past_cap_and_keeps_content)
{
	struct buf b = BUF_INIT(8);

	cr_assert_eq(buf_puts(&b, "12345678"), 0);
	cr_assert_eq(buf_putc(&b, 'x'), SO_ETOOBIG);
	cr_assert_eq(error_code(), SO_ETOOBIG);
	cr_assert_str_eq(buf_cstr(&b), "12345678");
	cr_assert_leq(b.cap, 9);
	cr_assert_eq(buf_printf(&b, "%s", "more"), SO_ETOOBIG);
	buf_dispose(&b);
}

Test(buf, huge_append_does_not_overflow)
{
	struct buf b = BUF_INIT(16);

	cr_assert_eq(buf_puts(&b, "abc"), 0);
	cr_assert_eq(buf_append(&b, "x", SIZE_MAX - 1), SO_ETOOBIG);
	buf_dispose(&b);
}

Test(buf, detach_empty_gives_empty_string)
{
	struct buf b = BUF_INIT(0);
	char *s = buf_detach(&b);

	cr_assert_str_eq(s, "");
	free(s);
}

Test(buf, xasprintf_formats)
{
	char *s = xasprintf("%s-%03d", "a", 7);

	cr_assert_str_eq(s, "a-007");
	free(s);
}
