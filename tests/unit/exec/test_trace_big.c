/*
 * test_trace_big.c: a 200 MB trace is scanned, its chat output sized and
 * its HTML paged with bounded memory (peak RSS grows by less than 10 MB),
 * since traces stream to disk and are never held whole.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "exec/trace_html.h"
#include "exec/trace_parse.h"

#define MB (1024 * 1024)

static long peak_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

Test(trace_big, two_hundred_megabytes_with_flat_memory, .timeout = 300)
{
	char path[] = "/tmp/trace-big-XXXXXX";
	int fd = mkstemp(path), i;
	char *block = malloc(MB);
	const char head[] = "section_start:1700000000:step_script\r\033[0Kheader\n"
			    "section_start:1700000001:chat_reply\r\033[0K\n";
	const char tail[] = "section_end:1700000100:chat_reply\r\033[0K"
			    "section_end:1700000101:step_script\r\033[0K";
	struct trace_sections secs;
	const struct trace_section *cr;
	struct buf html = BUF_INIT(0), tok = BUF_INIT(0);
	char *out;
	size_t len, pos = 0;
	bool big, more;
	long before, after;
	uint64_t total;

	cr_assert(fd >= 0);
	unlink(path);
	/* a block of lines with decoys: 's', "section_", broken markers */
	while (pos < MB) {
		static const char line[] =
			"\033[32;1msome output section_start:x:y and section_end:1:\r\033[0J ss\033[0m\n";
		size_t n = sizeof(line) - 1 < MB - pos ? sizeof(line) - 1 : MB - pos;

		memcpy(block + pos, line, n);
		pos += n;
	}
	block[MB - 1] = '\n';
	cr_assert_eq(write(fd, head, sizeof(head) - 1), (ssize_t)(sizeof(head) - 1));
	for (i = 0; i < 200; i++)
		cr_assert_eq(write(fd, block, MB), MB);
	cr_assert_eq(write(fd, tail, sizeof(tail) - 1), (ssize_t)(sizeof(tail) - 1));
	free(block);
	total = sizeof(head) - 1 + 200ULL * MB;

	before = peak_kb();
	cr_assert_eq(trace_sections_scan(fd, &secs), 0);
	cr_assert_eq(secs.n, 2);
	cr = trace_sections_find(&secs, "chat_reply");
	cr_assert_not_null(cr);
	cr_assert_eq(cr->byte_end, total);
	trace_sections_dispose(&secs);

	cr_assert_eq(trace_chat_output(fd, TRACE_CHAT_MAX_BYTES, &out, &len, &big), 0);
	cr_assert(big);
	cr_assert_null(out);
	cr_assert_eq(len, 200ULL * MB - 1, "output size without its trailing newline");

	cr_assert_eq(trace_html_render_fd(fd, NULL, MB, true, &html, &tok, &more), 0);
	cr_assert(more);
	cr_assert_leq(html.len, MB);
	after = peak_kb();
	cr_log_info("peak RSS %ld KiB -> %ld KiB", before, after);
	cr_assert_lt(after - before, 10 * 1024, "RSS grew by %ld KiB", after - before);
	buf_dispose(&html);
	buf_dispose(&tok);
	close(fd);
}
