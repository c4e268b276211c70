/*
 * fuzz_trace_html: the trace renderer on arbitrary bytes. The first two
 * bytes choose a split point; the rest is the trace. Rendering in one
 * piece, in two pieces, byte by byte, and as two fragments joined through
 * a checkpoint token must give the same HTML; the HTML must be valid
 * UTF-8, contain no '<' other than the renderer's own tags, and have its
 * tags balanced, also when a small output cap cuts it.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exec/trace_html.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *render(const char *t, size_t n, size_t step, size_t limit)
{
	struct trace_html *r = trace_html_new();
	struct buf out = BUF_INIT(0);
	size_t i;

	if (limit)
		trace_html_set_limit(r, limit);
	if (!step)
		step = n ? n : 1;
	for (i = 0; i < n; i += step)
		assert(trace_html_feed(r, t + i, n - i < step ? n - i : step, &out) == 0);
	assert(trace_html_finish(r, &out) == 0);
	trace_html_free(r);
	return buf_detach(&out);
}

static size_t count(const char *s, const char *needle)
{
	size_t k = 0;

	while ((s = strstr(s, needle))) {
		k++;
		s += strlen(needle);
	}
	return k;
}

static void check(const char *h)
{
	static const char *const tags[] = {
		"<span class=\"", "</span>", "<details class=\"trace-section\"",
		"</details>", "<summary class=\"trace-section-header\">",
		"</summary>", "<div class=\"trace-truncated\">", "</div>",
	};
	const char *p;
	size_t len = strlen(h), slen, i;
	char *s = trace_utf8_scrub(h, len, &slen);

	assert(slen == len && memcmp(s, h, len) == 0);
	free(s);
	for (p = h; (p = strchr(p, '<')); p++) {
		for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
			if (strncmp(p, tags[i], strlen(tags[i])) == 0)
				break;
		assert(i < sizeof(tags) / sizeof(tags[0]));
	}
	assert(count(h, "<span") == count(h, "</span>"));
	assert(count(h, "<details") == count(h, "</details>"));
	assert(count(h, "<summary") == count(h, "</summary>"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *t;
	size_t n, cut;
	char *whole, *part, *capped;
	struct trace_html *a, *b;
	struct buf out = BUF_INIT(0), tok = BUF_INIT(0);
	uint64_t off;

	if (size < 2)
		return 0;
	cut = ((size_t)data[0] << 8 | data[1]);
	t = (const char *)data + 2;
	n = size - 2;
	cut %= n + 1;

	whole = render(t, n, 0, 0);
	check(whole);
	if (n <= 2048) {
		part = render(t, n, 1, 0);
		assert(strcmp(part, whole) == 0);
		free(part);
	}
	part = render(t, n, cut ? cut : 1, 0);
	assert(strcmp(part, whole) == 0);
	free(part);

	/* two fragments joined through a checkpoint */
	a = trace_html_new();
	b = trace_html_new();
	trace_html_feed(a, t, cut, &out);
	assert(trace_html_save(a, &tok) == 0);
	off = trace_html_offset(a);
	assert(off <= cut);
	assert(trace_html_restore(b, tok.data) == 0);
	trace_html_feed(b, t + off, n - off, &out);
	trace_html_finish(b, &out);
	assert(strcmp(out.data ? out.data : "", whole) == 0);
	trace_html_free(a);
	trace_html_free(b);
	buf_dispose(&out);
	buf_dispose(&tok);

	capped = render(t, n, 0, 16384);
	check(capped);
	assert(strlen(capped) <= 16384);
	free(capped);
	free(whole);
	return 0;
}
