/*
 * url.c: percent-decoding and -encoding (http_url_decode, http_url_encode
 * in server.h). Decoding is strict: a '%' must be followed by two hex
 * digits, and neither a raw nor an encoded NUL is accepted, so a decoded
 * string is always a clean C string. The output is never longer than the
 * input, so the allocation is bounded by what the caller already holds.
 */
#include "http/server.h"
#include "util/buf.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int http_url_decode(const char *src, size_t len, bool plus_is_space, size_t max_len, char **out)
{
	char *dst = xmalloc(len + 1);
	size_t n = 0;
	int err = 0;

	*out = NULL;
	for (size_t i = 0; i < len; i++) {
		char c = src[i];

		if (c == '%') {
			if (len - i < 3 || hexval(src[i + 1]) < 0 || hexval(src[i + 2]) < 0) {
				err = error_set(SO_EINVALID, "invalid percent-encoding");
				goto done;
			}
			c = (char)(hexval(src[i + 1]) << 4 | hexval(src[i + 2]));
			i += 2;
		} else if (c == '+' && plus_is_space) {
			c = ' ';
		}
		if (c == '\0') {
			err = error_set(SO_EINVALID, "NUL byte in percent-encoded text");
			goto done;
		}
		if (n >= max_len) {
			err = error_set(SO_ETOOBIG, "decoded text is longer than %zu bytes", max_len);
			goto done;
		}
		dst[n++] = c;
	}
	dst[n] = '\0';
	*out = dst;
	dst = NULL;
done:
	free(dst);
	return err;
}

char *http_url_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf b = BUF_INIT(0);

	if (!s)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
		    *p == '~') {
			buf_putc(&b, (char)*p);
		} else {
			buf_putc(&b, '%');
			buf_putc(&b, hex[*p >> 4]);
			buf_putc(&b, hex[*p & 15]);
		}
	}
	return buf_detach(&b);
}
