/* fuzz_cgi_headers: cgi_parse_headers() on arbitrary bytes. Checks that a
 * success consumes no more than the input, gives a status in range and
 * ends at an empty line, and that every prefix of a parsed block asks for
 * more (incremental feeding agrees with all-at-once). */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "git/cgi.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cgi_headers h = {0}, h2 = {0};
	size_t used = 0, used2 = 0;
	const char *s = (const char *)data;
	int rc = cgi_parse_headers(s, size, &h, &used);

	if (rc == 0) {
		assert(used > 0 && used <= size && used <= CGI_HEADERS_MAX);
		assert(s[used - 1] == '\n');
		assert(h.status >= 100 && h.status <= 599);
		assert(h.count <= CGI_HEADERS_MAX_COUNT);
		for (size_t i = 0; i < h.count; i++)
			assert(h.list[i].name[0] && !strchr(h.list[i].name, ':'));
		/* the same block alone parses the same; a prefix needs more */
		assert(cgi_parse_headers(s, used, &h2, &used2) == 0 && used2 == used &&
		       h2.status == h.status && h2.count == h.count);
		cgi_headers_dispose(&h2);
		assert(cgi_parse_headers(s, used - 1, &h2, &used2) == SO_EBUSY);
	} else {
		assert(rc == SO_EBUSY || rc == SO_EINVALID || rc == SO_ETOOBIG);
		assert(h.list == NULL && h.content_type == NULL);
	}
	cgi_headers_dispose(&h);
	return 0;
}
