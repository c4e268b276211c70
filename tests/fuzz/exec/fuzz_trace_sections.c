/*
 * fuzz_trace_sections: the trace section scanner on arbitrary bytes. The
 * first two bytes choose a split point; the rest is the trace. The scan
 * in one piece, in two pieces and byte by byte must agree; every kept
 * section must point at real markers; trace_chat_output() on the same
 * bytes (through a memfd) must match the output computed from the memory
 * scan; SGR stripping and UTF-8 scrubbing keep their invariants.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "exec/trace_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const struct trace_sections *a, const struct trace_sections *b)
{
	size_t i;

	assert(a->n == b->n && a->truncated == b->truncated);
	for (i = 0; i < a->n; i++) {
		assert(strcmp(a->v[i].name, b->v[i].name) == 0);
		assert(a->v[i].byte_start == b->v[i].byte_start);
		assert(a->v[i].byte_end == b->v[i].byte_end);
		assert(a->v[i].date_start == b->v[i].date_start);
		assert(a->v[i].date_end == b->v[i].date_end);
		assert(a->v[i].collapsed == b->v[i].collapsed);
		assert(a->v[i].hide_duration == b->v[i].hide_duration);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *t;
	size_t n, cut, i, j, off, len, glen;
	struct trace_sections whole, two, bytes;
	struct trace_scan *sc;
	const struct trace_section *sec = NULL;
	char *out, *copy, *s1, *s2;
	bool big;
	int fd, err;

	if (size < 2)
		return 0;
	cut = ((size_t)data[0] << 8 | data[1]);
	t = (const char *)data + 2;
	n = size - 2;
	cut %= n + 1;

	trace_sections_scan_mem(t, n, &whole);
	sc = trace_scan_new();
	trace_scan_feed(sc, t, cut);
	trace_scan_feed(sc, t + cut, n - cut);
	trace_scan_result(sc, &two);
	trace_scan_free(sc);
	same(&whole, &two);
	if (n <= 4096) {
		sc = trace_scan_new();
		for (i = 0; i < n; i++)
			trace_scan_feed(sc, t + i, 1);
		trace_scan_result(sc, &bytes);
		trace_scan_free(sc);
		same(&whole, &bytes);
		trace_sections_dispose(&bytes);
	}
	for (i = 0; i < whole.n; i++) {
		const struct trace_section *s = &whole.v[i];

		assert(s->byte_start >= 22 && s->byte_start <= s->byte_end);
		assert(s->byte_end + 17 <= n);
		assert(memcmp(t + s->byte_start - 5, "\r\033[0K", 5) == 0);
		assert(memcmp(t + s->byte_end, "section_end:", 12) == 0);
		for (j = 0; j < i; j++)
			assert(strcmp(whole.v[j].name, s->name) != 0);
		if (i)
			assert(whole.v[i - 1].byte_start < s->byte_start);
	}

	/* ChatOps output through a file descriptor */
	fd = memfd_create("trace", 0);
	assert(fd >= 0);
	assert(write(fd, t, n) == (ssize_t)n);
	err = trace_chat_output(fd, data[0] % 2 ? 64 : TRACE_CHAT_MAX_BYTES,
				&out, &glen, &big);
	if (!(sec = trace_sections_find(&whole, "chat_reply")) &&
	    !(sec = trace_sections_find(&whole, "step_script")))
		sec = trace_sections_find(&whole, "build_script");
	if (!sec) {
		assert(err < 0 && !out);
	} else {
		assert(err == 0);
		trace_drop_first_line(t + sec->byte_start,
				      (size_t)(sec->byte_end - sec->byte_start), &off, &len);
		assert(big == (len > (data[0] % 2 ? 64u : (unsigned)TRACE_CHAT_MAX_BYTES)));
		if (big) {
			assert(!out && glen == len);
		} else {
			size_t slen;
			char *want = trace_utf8_scrub(t + sec->byte_start + off, len, &slen);

			assert(glen == slen && memcmp(out, want, slen) == 0);
			free(want);
		}
	}
	free(out);
	close(fd);

	/* scrub is idempotent; SGR stripping never grows the text */
	s1 = trace_utf8_scrub(t, n, &len);
	s2 = trace_utf8_scrub(s1, len, &glen);
	assert(len == glen && memcmp(s1, s2, len) == 0);
	free(s2);
	copy = malloc(n + 1);
	memcpy(copy, t, n);
	copy[n] = '\0';
	s2 = trace_strip_sgr(copy);
	assert(strlen(s2) <= strlen(copy));
	free(s2);
	free(copy);
	free(s1);

	trace_sections_dispose(&whole);
	trace_sections_dispose(&two);
	return 0;
}
