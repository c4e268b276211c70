/*
 * test_trace_html.c: the trace renderer: escaping, SGR colours and resets,
 * 256-colour and true colour, carriage returns, sections with headers and
 * durations, escape sequences and UTF-8 split across feeds, invalid UTF-8,
 * the output cap, checkpoint tokens, render_fd and the stylesheet.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec/trace_html.h"
#include "util/error.h"

#define E "\033"

static char *render_n(const char *s, size_t n, size_t step,
		      const struct trace_sections *secs)
{
	struct trace_html *r = trace_html_new();
	struct buf out = BUF_INIT(0);
	size_t i;

	if (secs)
		trace_html_set_sections(r, secs);
	if (!step)
		step = n ? n : 1;
	for (i = 0; i < n; i += step)
		cr_assert_eq(trace_html_feed(r, s + i, n - i < step ? n - i : step, &out), 0);
	cr_assert_eq(trace_html_finish(r, &out), 0);
	trace_html_free(r);
	return buf_detach(&out);
}

static char *render(const char *s)
{
	return render_n(s, strlen(s), 0, NULL);
}

#define HTML_EQ(in, want) do { \
	char *got_ = render(in); \
	cr_assert_str_eq(got_, want, "render(%s)", #in); \
	free(got_); \
} while (0)

Test(trace_html, escapes_every_special_byte)
{
	HTML_EQ("<script>alert(\"x\" & 'y')</script>\n",
		"&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;\n");
	HTML_EQ("a\tb\x01\x7f" "c\n", "a\tbc\n");
	HTML_EQ("no newline", "no newline");
}

Test(trace_html, colours_and_resets)
{
	HTML_EQ(E "[31mred" E "[0m plain\n",
		"<span class=\"term-fg-red\">red</span> plain\n");
	HTML_EQ(E "[32;1mJob succeeded" E "[0;m\n",
		"<span class=\"term-fg-green term-bold\">Job succeeded</span>\n");
	HTML_EQ(E "[1;3;4;93;104mx" E "[22my" E "[23;24mz" E "[39mw" E "[49mv\n",
		"<span class=\"term-fg-l-yellow term-bg-l-blue term-bold term-italic term-underline\">x</span>"
		"<span class=\"term-fg-l-yellow term-bg-l-blue term-italic term-underline\">y</span>"
		"<span class=\"term-fg-l-yellow term-bg-l-blue\">z</span>"
		"<span class=\"term-bg-l-blue\">w</span>v\n");
	HTML_EQ(E "[44mbg" E "[mno\n", "<span class=\"term-bg-blue\">bg</span>no\n");
	/* style carries over lines; the span is closed at each line end */
	HTML_EQ(E "[35ma\nb\n", "<span class=\"term-fg-magenta\">a</span>\n"
		"<span class=\"term-fg-magenta\">b</span>\n");
	/* SGR without text writes nothing */
	HTML_EQ(E "[31m" E "[0m\n", "\n");
}

Test(trace_html, extended_colours)
{
	HTML_EQ(E "[38;5;196mx" E "[48;5;21my\n",
		"<span class=\"xterm-fg-196\">x</span>"
		"<span class=\"xterm-fg-196 xterm-bg-21\">y</span>\n");
	HTML_EQ(E "[38;5;9mx\n", "<span class=\"term-fg-l-red\">x</span>\n");
	HTML_EQ(E "[38;2;255;0;0mx\n", "<span class=\"xterm-fg-196\">x</span>\n");
	HTML_EQ(E "[48;2;128;128;128mx\n", "<span class=\"xterm-bg-244\">x</span>\n");
	/* out-of-range and malformed: ignored */
	HTML_EQ(E "[38;5;300mx" E "[38;7mz\n", "xz\n");
}

Test(trace_html, other_escapes_removed)
{
	HTML_EQ("a" E "[2Jb" E "[?25lc" E "]8;;http://x" E "\\link" E "]8;;" E "\\d" E "(Be\n",
		"abclinkde\n");
	HTML_EQ("a" E "]0;title\x07" "b\n", "ab\n");
}

Test(trace_html, carriage_return_overwrites)
{
	HTML_EQ("10%\r20%\r30%\n", "30%\n");
	HTML_EQ("kept\r\n", "kept\n");
	HTML_EQ("old" E "[31m\rnew\n", "<span class=\"term-fg-red\">new</span>\n");
	HTML_EQ("abc\r" E "[0K\n", "\n");
	HTML_EQ("abc" E "[0Kdef\n", "abcdef\n");
	HTML_EQ("abc" E "[2Kdef\n", "def\n");
	HTML_EQ("trailing\r", "trailing");
}

Test(trace_html, utf8)
{
	HTML_EQ("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n",
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n");
	HTML_EQ("a\xff" "b\xc3(\xe0\x80\n",
		"a\xEF\xBF\xBD" "b\xEF\xBF\xBD(\xEF\xBF\xBD\xEF\xBF\xBD\n");
	HTML_EQ("cut \xe2\x82", "cut \xEF\xBF\xBD");
}

static const char TRACE[] =
	E "[0KRunning with gitlab-runner 19.4.0" E "[0;m\n"
	"section_start:1700000000:prepare_executor\r" E "[0K" E "[0K" E
	"[36;1mPreparing the \"shell\" executor" E "[0;m" E "[0;m\n"
	E "[0KUsing Shell (bash) executor..." E "[0;m\n"
	"section_end:1700000002:prepare_executor\r" E "[0K"
	"section_start:1700000002:step_script\r" E "[0K" E "[0K" E
	"[36;1mExecuting \"step_script\" stage of the job script" E "[0;m" E "[0;m\n"
	E "[32;1m$ echo <hi>" E "[0;m\n"
	"<hi>\n"
	"section_end:1700000125:step_script\r" E "[0K"
	"section_start:1700000125:cleanup[collapsed=true,hide_duration=true]\r" E "[0K"
	"cleaning\n"
	"section_end:1700000126:cleanup\r" E "[0K"
	E "[32;1mJob succeeded" E "[0;m\n";

static const char TRACE_HTML_NO_TABLE[] =
	"Running with gitlab-runner 19.4.0\n"
	"<details class=\"trace-section\" open data-section=\"prepare_executor\">"
	"<summary class=\"trace-section-header\">"
	"<span class=\"term-fg-cyan term-bold\">Preparing the &quot;shell&quot; executor</span>"
	"</summary>Using Shell (bash) executor...\n"
	"<span class=\"trace-section-duration\">2s</span></details>"
	"<details class=\"trace-section\" open data-section=\"step_script\">"
	"<summary class=\"trace-section-header\">"
	"<span class=\"term-fg-cyan term-bold\">Executing &quot;step_script&quot; stage of the job script</span>"
	"</summary><span class=\"term-fg-green term-bold\">$ echo &lt;hi&gt;</span>\n"
	"&lt;hi&gt;\n"
	"<span class=\"trace-section-duration\">2m 3s</span></details>"
	"<details class=\"trace-section\" data-section=\"cleanup\">"
	"<summary class=\"trace-section-header\">cleaning</summary></details>"
	"<span class=\"term-fg-green term-bold\">Job succeeded</span>\n";

Test(trace_html, sections)
{
	char *got = render(TRACE);

	cr_assert_str_eq(got, TRACE_HTML_NO_TABLE);
	free(got);
}

Test(trace_html, sections_with_durations_in_the_header)
{
	struct trace_sections secs;
	char *got;

	trace_sections_scan_mem(TRACE, strlen(TRACE), &secs);
	got = render_n(TRACE, strlen(TRACE), 0, &secs);
	cr_assert_not_null(strstr(got, "executor</span><span class=\"duration\">2s</span></summary>"));
	cr_assert_not_null(strstr(got, "job script</span><span class=\"duration\">2m 3s</span></summary>"));
	cr_assert_null(strstr(got, "trace-section-duration"));
	cr_assert_null(strstr(got, "1s"), "hide_duration");
	free(got);
	trace_sections_dispose(&secs);
}

Test(trace_html, section_edge_cases)
{
	/* empty section: the name is the header, duration from the markers */
	HTML_EQ("section_start:10:empty\r" E "[0Ksection_end:11:empty\r" E "[0K",
		"<details class=\"trace-section\" open data-section=\"empty\">"
		"<summary class=\"trace-section-header\">empty<span class=\"duration\">1s</span>"
		"</summary></details>");
	/* an end without a start disappears; an unterminated section is closed */
	HTML_EQ("a section_end:1:nope\r" E "[0Kb\nsection_start:1:open\r" E "[0Kh\nbody",
		"a b\n<details class=\"trace-section\" open data-section=\"open\">"
		"<summary class=\"trace-section-header\">h</summary>body</details>");
	/* the end of an outer section closes the inner one */
	HTML_EQ("section_start:1:o\r" E "[0Ko\nsection_start:1:i\r" E "[0Ki\nx\n"
		"section_end:4:o\r" E "[0K",
		"<details class=\"trace-section\" open data-section=\"o\">"
		"<summary class=\"trace-section-header\">o</summary>"
		"<details class=\"trace-section\" open data-section=\"i\">"
		"<summary class=\"trace-section-header\">i</summary>x\n</details>"
		"<span class=\"trace-section-duration\">3s</span></details>");
	/* the command echo's literal text is not a marker */
	HTML_EQ("$ echo section_start:$(date +%s):chat_reply\\r\n",
		"$ echo section_start:$(date +%s):chat_reply\\r\n");
}

Test(trace_html, feeding_byte_by_byte_gives_the_same_html)
{
	static const char *const inputs[] = {
		TRACE,
		"x" E "[38;2;1;2;3my" E "]8;;u" E "\\z\xe2\x82\xac\xf0\x9f\x98\x80\r\xffq\n",
		"section_start:1:a[collapsed=true]\r" E "[0Kh\xc3\xa9\nsection_end:2:a\r" E "[0K",
		"section_sectionsection_start:1:b\r" E "[0Kb\r\nsection_end:3:b\r\033[0",
	};
	size_t i, step;

	for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		char *whole = render_n(inputs[i], strlen(inputs[i]), 0, NULL);

		for (step = 1; step < 9; step++) {
			char *part = render_n(inputs[i], strlen(inputs[i]), step, NULL);

			cr_assert_str_eq(part, whole, "input %zu step %zu", i, step);
			free(part);
		}
		free(whole);
	}
}

Test(trace_html, long_marker_like_text_is_text)
{
	struct buf in = BUF_INIT(0);
	char *a, *b;
	size_t i;

	buf_puts(&in, "section_start:1:");
	for (i = 0; i < 3000; i++)
		buf_putc(&in, 'n');
	buf_puts(&in, "\r" E "[0Kafter\n");
	a = render_n(in.data, in.len, 0, NULL);
	b = render_n(in.data, in.len, 7, NULL);
	cr_assert_str_eq(a, b);
	cr_assert_null(strstr(a, "<details"));
	/* as text, its "\r\033[0K" erases the line like a terminal does */
	cr_assert_str_eq(a, "after\n");
	free(a);
	free(b);
	buf_dispose(&in);
}

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;

	while ((s = strstr(s, needle))) {
		n++;
		s += strlen(needle);
	}
	return n;
}

Test(trace_html, output_limit)
{
	struct trace_html *r = trace_html_new();
	struct buf out = BUF_INIT(0);
	int i;

	trace_html_set_limit(r, 16384);
	trace_html_feed(r, "section_start:1:a\r" E "[0Khead\n", 24, &out);
	for (i = 0; i < 100000 && !trace_html_full(r); i++)
		cr_assert_eq(trace_html_feed(r, E "[31m<line>" E "[0m\n", 16, &out), 0);
	cr_assert(trace_html_full(r));
	cr_assert_eq(trace_html_finish(r, &out), 0);
	cr_assert_leq(out.len, 16384);
	cr_assert_not_null(strstr(out.data, "trace-truncated"));
	cr_assert_eq(count(out.data, "<span"), count(out.data, "</span>"));
	cr_assert_eq(count(out.data, "<details"), count(out.data, "</details>"));
	cr_assert_eq(count(out.data, "<summary"), count(out.data, "</summary>"));
	trace_html_free(r);
	buf_dispose(&out);

	/* one huge line (no newline) is written in pieces, still bounded */
	r = trace_html_new();
	trace_html_set_limit(r, 100000);
	for (i = 0; i < 20000; i++)
		trace_html_feed(r, "<<<<<<<<", 8, &out);
	trace_html_finish(r, &out);
	cr_assert_leq(out.len, 100000);
	cr_assert_gt(out.len, 100000 - 100000 / 4 - 1000);
	trace_html_free(r);
	buf_dispose(&out);
}

Test(trace_html, caller_buffer_cap)
{
	struct trace_html *r = trace_html_new();
	struct buf out = BUF_INIT(100);
	int err = 0, i;

	for (i = 0; i < 50 && !err; i++)
		err = trace_html_feed(r, "0123456789\n", 11, &out);
	cr_assert_eq(err, SO_ETOOBIG);
	cr_assert_leq(out.len, 100);
	cr_assert_eq(out.len % 11, 0, "whole lines only");
	trace_html_free(r);
	buf_dispose(&out);
}

/* Fragments resumed from checkpoint tokens concatenate to the full render. */
Test(trace_html, checkpoints_resume)
{
	size_t n = strlen(TRACE), cut;
	char *whole = render_n(TRACE, n, 0, NULL);

	for (cut = 0; cut <= n; cut++) {
		struct trace_html *a = trace_html_new(), *b = trace_html_new();
		struct buf out = BUF_INIT(0), tok = BUF_INIT(0);
		uint64_t off;

		trace_html_feed(a, TRACE, cut, &out);
		cr_assert_eq(trace_html_save(a, &tok), 0);
		off = trace_html_offset(a);
		cr_assert_leq(off, cut);
		cr_assert_eq(trace_html_restore(b, tok.data), 0, "%s", tok.data);
		cr_assert_eq(trace_html_offset(b), off);
		trace_html_feed(b, TRACE + off, n - off, &out);
		trace_html_finish(b, &out);
		cr_assert_str_eq(out.data, whole, "cut %zu token %s", cut, tok.data);
		trace_html_free(a);
		trace_html_free(b);
		buf_dispose(&out);
		buf_dispose(&tok);
	}
	free(whole);
}

Test(trace_html, bad_tokens)
{
	static const char *const bad[] = {
		"", "2:0:-1:-1:0:0", "1:x", "1:0:-1:-1:0:0:", "1:0:256:-1:0:0",
		"1:0:-1:-1:0:1", "1:0:-1:-1:0:0:a b,1,1,0", "1:-5:-1:-1:0:0",
		"1:0:-1:-1:9:0", "1:0:-1:-1:0:0:a,1,1",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct trace_html *r = trace_html_new();

		cr_assert_eq(trace_html_restore(r, bad[i]), SO_EINVALID, "%s", bad[i]);
		trace_html_free(r);
	}
}

Test(trace_html, render_fd_live_then_final)
{
	char path[] = "/tmp/trace-html-XXXXXX";
	int fd = mkstemp(path);
	size_t half = strlen(TRACE) / 2;
	struct buf h1 = BUF_INIT(0), h2 = BUF_INIT(0), t1 = BUF_INIT(0),
		   t2 = BUF_INIT(0), all = BUF_INIT(0), tall = BUF_INIT(0);
	struct trace_sections secs;
	char *expect;
	bool more;

	cr_assert(fd >= 0);
	unlink(path);
	cr_assert_eq(write(fd, TRACE, half), (ssize_t)half);
	cr_assert_eq(trace_html_render_fd(fd, NULL, 0, false, &h1, &t1, &more), 0);
	cr_assert(!more);
	cr_assert_eq(write(fd, TRACE + half, strlen(TRACE) - half),
		     (ssize_t)(strlen(TRACE) - half));
	cr_assert_eq(trace_html_render_fd(fd, t1.data, 0, true, &h2, &t2, &more), 0);
	buf_append(&h1, h2.data, h2.len);
	/* the first call knew the sections complete in the first half */
	trace_sections_scan_mem(TRACE, half, &secs);
	cr_assert_eq(secs.n, 1);
	expect = render_n(TRACE, strlen(TRACE), 0, &secs);
	cr_assert_str_eq(h1.data, expect);
	cr_assert_not_null(strstr(expect, "executor</span><span class=\"duration\">2s</span>"));
	cr_assert_not_null(strstr(expect, "<span class=\"trace-section-duration\">2m 3s</span>"));
	free(expect);
	trace_sections_dispose(&secs);
	/* a fresh full render scans the sections first: durations in headers */
	cr_assert_eq(trace_html_render_fd(fd, "", 0, true, &all, &tall, NULL), 0);
	cr_assert_not_null(strstr(all.data, "<span class=\"duration\">2m 3s</span>"));
	cr_assert_eq(trace_html_render_fd(fd, "junk", 0, true, &all, &tall, NULL),
		     SO_EINVALID);
	close(fd);
	buf_dispose(&h1);
	buf_dispose(&h2);
	buf_dispose(&t1);
	buf_dispose(&t2);
	buf_dispose(&all);
	buf_dispose(&tall);
}

Test(trace_html, render_fd_pages_by_limit)
{
	char path[] = "/tmp/trace-html-XXXXXX";
	int fd = mkstemp(path), i;
	struct buf in = BUF_INIT(0), acc = BUF_INIT(0), tok = BUF_INIT(0);
	struct trace_sections secs;
	char *whole;
	bool more = true;
	int pages = 0;

	cr_assert(fd >= 0);
	unlink(path);
	buf_puts(&in, "section_start:1:s\r" E "[0Kheader\n");
	for (i = 0; i < 3000; i++)
		buf_printf(&in, E "[3%dmline %d <&>" E "[0m\n", i % 8, i);
	buf_puts(&in, "section_end:2:s\r" E "[0Kdone\n");
	cr_assert_eq(write(fd, in.data, in.len), (ssize_t)in.len);
	/* the first page scans the sections: the duration is in the header */
	trace_sections_scan_mem(in.data, in.len, &secs);
	whole = render_n(in.data, in.len, 0, &secs);
	trace_sections_dispose(&secs);
	while (more) {
		struct buf next = BUF_INIT(0);

		cr_assert_eq(trace_html_render_fd(fd, tok.data, 16384, true, &acc, &next,
						  &more), 0);
		buf_dispose(&tok);
		tok = next;
		cr_assert_lt(++pages, 1000);
	}
	cr_assert_gt(pages, 5);
	cr_assert_str_eq(acc.data, whole);
	free(whole);
	close(fd);
	buf_dispose(&in);
	buf_dispose(&acc);
	buf_dispose(&tok);
}

Test(trace_html, stylesheet)
{
	const char *css = trace_html_css();

	cr_assert_not_null(strstr(css, ".trace .term-fg-red{"));
	cr_assert_not_null(strstr(css, ".trace .term-bg-l-blue{"));
	cr_assert_not_null(strstr(css, ".trace .xterm-fg-196{color:#ff0000}"));
	cr_assert_not_null(strstr(css, ".trace .xterm-bg-232{background-color:#080808}"));
	cr_assert_not_null(strstr(css, ".trace .term-bold{"));
	cr_assert_not_null(strstr(css, "white-space:pre-wrap"));
	cr_assert_eq(css, trace_html_css());
}
