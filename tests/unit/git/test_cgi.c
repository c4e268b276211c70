/* Unit tests for git/cgi: CGI response header parsing (LF and CRLF,
 * Status, Location, incremental feeding, malformed blocks, caps). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "git/cgi.h"
#include "util/buf.h"
#include "util/error.h"

static int parse(const char *s, struct cgi_headers *h, size_t *consumed)
{
	return cgi_parse_headers(s, strlen(s), h, consumed);
}

Test(cgi, crlf_block_with_status_and_body)
{
	const char *s = "Status: 403 Forbidden\r\nContent-Type: text/plain\r\n"
			"Expires: Fri, 01 Jan 1980 00:00:00 GMT\r\n\r\nbody bytes";
	struct cgi_headers h = {0};
	size_t used = 0;

	cr_assert_eq(parse(s, &h, &used), 0);
	cr_assert_eq(h.status, 403);
	cr_assert_str_eq(h.content_type, "text/plain");
	cr_assert_eq(h.count, 1);
	cr_assert_str_eq(h.list[0].name, "Expires");
	cr_assert_str_eq(h.list[0].value, "Fri, 01 Jan 1980 00:00:00 GMT");
	cr_assert_str_eq(s + used, "body bytes");
	cr_assert_str_eq(cgi_headers_get(&h, "expires"), "Fri, 01 Jan 1980 00:00:00 GMT");
	cr_assert_null(cgi_headers_get(&h, "Pragma"));
	cgi_headers_dispose(&h);
	cgi_headers_dispose(NULL);
}

Test(cgi, lf_block_defaults_to_200_and_trims_values)
{
	const char *s = "Content-Type:   application/x-git-upload-pack-advertisement  \n"
			"Pragma:no-cache\n\n\x00\x01";
	struct cgi_headers h = {0};
	size_t used = 0;

	cr_assert_eq(parse(s, &h, &used), 0);
	cr_assert_eq(h.status, 200);
	cr_assert_str_eq(h.content_type, "application/x-git-upload-pack-advertisement");
	cr_assert_str_eq(cgi_headers_get(&h, "Pragma"), "no-cache");
	cr_assert_eq(used, strlen(s));
	cgi_headers_dispose(&h);
}

Test(cgi, location_without_status_is_302)
{
	struct cgi_headers h = {0};
	size_t used;

	cr_assert_eq(parse("Location: /x\r\n\r\n", &h, &used), 0);
	cr_assert_eq(h.status, 302);
	cgi_headers_dispose(&h);
	cr_assert_eq(parse("Status: 301 Moved\nLocation: /x\n\n", &h, &used), 0);
	cr_assert_eq(h.status, 301);
	cgi_headers_dispose(&h);
}

Test(cgi, incomplete_block_needs_more)
{
	const char *s = "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nrest";
	struct cgi_headers h = {0};
	size_t used = 0, full = strstr(s, "rest") - s;

	/* Every strict prefix that ends before the blank line asks for more;
	 * feeding one byte at a time gives the same answer as all at once. */
	for (size_t n = 0; n < full; n++)
		cr_assert_eq(cgi_parse_headers(s, n, &h, &used), SO_EBUSY, "prefix %zu", n);
	cr_assert_eq(cgi_parse_headers(s, full, &h, &used), 0);
	cr_assert_eq(used, full);
	cr_assert_eq(h.status, 200);
	cgi_headers_dispose(&h);
}

Test(cgi, missing_blank_line_is_incomplete)
{
	struct cgi_headers h = {0};
	size_t used;

	cr_assert_eq(parse("Status: 200 OK\r\nContent-Type: text/plain\r\n", &h, &used), SO_EBUSY);
	cr_assert_eq(parse("Status: 200 OK", &h, &used), SO_EBUSY);
}

Test(cgi, malformed_blocks_are_invalid)
{
	static const char *const bad[] = {
		"\r\n",                               /* no fields at all */
		"\n",
		"NoColon\r\n\r\n",
		": empty name\r\n\r\n",
		"Bad Name: x\r\n\r\n",
		"X-A: 1\r\n continued\r\n\r\n",       /* obsolete line folding */
		"Status: abc\r\n\r\n",
		"Status: 99 Low\r\n\r\n",
		"Status: 600 High\r\n\r\n",
		"Status: 2000\r\n\r\n",
		"Status: 200\r\nStatus: 200\r\n\r\n",
		"Content-Type: a\r\nContent-Type: b\r\n\r\n",
		"X-A: bell\a\r\n\r\n",
	};
	struct cgi_headers h = {0};
	size_t used;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(parse(bad[i], &h, &used), SO_EINVALID, "case %zu: %s", i, error_msg());
	cr_assert_eq(cgi_parse_headers("X-A: a\0b\r\n\r\n", 12, &h, &used), SO_EINVALID);
	cr_assert_eq(h.count, 0);
	cr_assert_null(h.list);
}

Test(cgi, block_past_cap_is_too_big)
{
	struct buf b = BUF_INIT(0);
	struct cgi_headers h = {0};
	size_t used;

	buf_puts(&b, "X-Long: ");
	while (b.len < CGI_HEADERS_MAX + 10)
		buf_putc(&b, 'a');
	/* Incomplete and already past the cap: no point waiting. */
	cr_assert_eq(cgi_parse_headers(b.data, b.len, &h, &used), SO_ETOOBIG);
	buf_puts(&b, "\r\n\r\n");
	cr_assert_eq(cgi_parse_headers(b.data, b.len, &h, &used), SO_ETOOBIG);
	/* Just under the cap still parses. */
	buf_reset(&b);
	buf_puts(&b, "X-Long: ");
	while (b.len < CGI_HEADERS_MAX - 4)
		buf_putc(&b, 'a');
	buf_puts(&b, "\n\n");
	cr_assert_eq(cgi_parse_headers(b.data, b.len, &h, &used), 0);
	cr_assert_eq(used, b.len);
	cgi_headers_dispose(&h);
	buf_dispose(&b);
}

Test(cgi, too_many_fields)
{
	struct buf b = BUF_INIT(0);
	struct cgi_headers h = {0};
	size_t used;

	for (int i = 0; i <= CGI_HEADERS_MAX_COUNT; i++)
		buf_printf(&b, "X-%d: v\r\n", i);
	buf_puts(&b, "\r\n");
	cr_assert_eq(cgi_parse_headers(b.data, b.len, &h, &used), SO_ETOOBIG);
	buf_dispose(&b);
}
