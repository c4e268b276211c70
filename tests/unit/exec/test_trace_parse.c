/*
 * test_trace_parse.c: section markers and sections with GitLab's rules
 * (offsets, options, duplicates, nesting, order), chunk boundaries, Ruby's
 * split semantics, the ChatOps output (section choice, the seed's ls
 * example written by a real bash, the size limit), SGR stripping and
 * UTF-8 scrubbing.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec/trace_parse.h"
#include "util/buf.h"
#include "util/error.h"

#define E "\033"
#define START(ts, name) "section_start:" #ts ":" name "\r" E "[0K"
#define END(ts, name) "section_end:" #ts ":" name "\r" E "[0K"

static void scan(const char *s, struct trace_sections *out)
{
	trace_sections_scan_mem(s, strlen(s), out);
}

/* A temporary file holding n bytes of s; returns an fd at offset 0. */
static int temp_fd(const char *s, size_t n)
{
	char path[] = "/tmp/trace-test-XXXXXX";
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	unlink(path);
	cr_assert_eq(write(fd, s, n), (ssize_t)n);
	return fd;
}

Test(trace_sections, offsets_follow_gitlab)
{
	const char *t = "pre\n" START(100, "a") "head\nbody\n" END(103, "a") "post\n";
	struct trace_sections s;
	const struct trace_section *a;
	size_t start = strlen("pre\n" START(100, "a"));

	scan(t, &s);
	cr_assert_eq(s.n, 1);
	a = trace_sections_find(&s, "a");
	cr_assert_not_null(a);
	cr_assert_eq(a->byte_start, start);
	cr_assert_eq(a->byte_end, start + strlen("head\nbody\n"));
	cr_assert_eq(memcmp(t + a->byte_end, "section_end:", 12), 0);
	cr_assert_eq(a->date_start, 100);
	cr_assert_eq(a->date_end, 103);
	cr_assert(!a->collapsed);
	cr_assert_null(trace_sections_find(&s, "b"));
	trace_sections_dispose(&s);
}

Test(trace_sections, marker_anywhere_in_a_line_and_clear_before_end_stays_inside)
{
	const char *t = "x " E "[0K" START(5, "s") "abc" E "[0K" END(6, "s") "tail";
	struct trace_sections s;
	const struct trace_section *a;

	scan(t, &s);
	a = trace_sections_find(&s, "s");
	cr_assert_not_null(a);
	cr_assert_eq(a->byte_end - a->byte_start, strlen("abc" E "[0K"));
	trace_sections_dispose(&s);
}

Test(trace_sections, options)
{
	struct trace_sections s;
	const struct trace_section *a;

	scan("section_start:1:a[collapsed=true]\r" E "[0Kx" END(2, "a")
	     "section_start:1:b[hide_duration=true, collapsed=true]\r" E "[0K" END(4, "b")
	     "section_start:1:c[k1=v1,k2=v2]\r" E "[0K" END(4, "c")
	     "section_start:1:d[collapsed=false]\r" E "[0K" END(4, "d"), &s);
	cr_assert_eq(s.n, 4);
	a = trace_sections_find(&s, "a");
	cr_assert(a && a->collapsed && !a->hide_duration);
	cr_assert_eq(a->byte_end - a->byte_start, 1);
	a = trace_sections_find(&s, "b");
	cr_assert(a && a->collapsed && a->hide_duration);
	a = trace_sections_find(&s, "c");
	cr_assert(a && !a->collapsed);
	a = trace_sections_find(&s, "d");
	cr_assert(a && !a->collapsed);
	trace_sections_dispose(&s);

	/* Malformed options: not a marker at all. */
	scan("section_start:1:a[k]\r" E "[0K" END(2, "a")
	     "section_start:1:b[k=v\r" E "[0K" END(2, "b")
	     "section_start:1:c[k=v,,j=w]\r" E "[0K" END(2, "c")
	     "section_start:1:d[k=v,  j=w]\r" E "[0K" END(2, "d")
	     "section_start:1:e[]\r" E "[0K" END(2, "e")
	     "section_start:1:f[k=v-w]\r" E "[0K" END(2, "f"), &s);
	cr_assert_eq(s.n, 0);
	trace_sections_dispose(&s);
}

Test(trace_sections, not_markers)
{
	struct trace_sections s;

	scan("section_start:$(date +%s):x\r" E "[0K" END(1, "x")   /* no digits */
	     "section_start:1:y\r" E "[1K" END(2, "y")             /* wrong suffix */
	     "section_start:1:z\n" E "[0K" END(2, "z")             /* \n not \r */
	     "section_start:1:\r" E "[0K"                          /* empty name */
	     "section_start::w\r" E "[0K" END(1, "w")              /* empty time */
	     "section_begin:1:v\r" E "[0K" END(1, "v")
	     "Section_start:1:u\r" E "[0K" END(1, "u")
	     "section_start:1:n a\r" E "[0K" END(1, "n a")
	     "section_start:1:q\r" E "[0", &s);                    /* cut short */
	cr_assert_eq(s.n, 0);
	trace_sections_dispose(&s);
}

Test(trace_sections, name_characters_and_section_inside_text)
{
	struct trace_sections s;
	const struct trace_section *a;
	const char *t = "section_section_start:1:a.B-9_z\r" E "[0Kq" END(2, "a.B-9_z");

	scan(t, &s);
	a = trace_sections_find(&s, "a.B-9_z");
	cr_assert_not_null(a);
	cr_assert_eq(a->byte_start, strlen("section_" START(1, "a.B-9_z")));
	trace_sections_dispose(&s);

	/* A failed candidate whose name holds another marker's start. */
	scan("section_start:1:xsection_start:2:in\r" E "[0K" END(3, "in"), &s);
	cr_assert_eq(s.n, 1);
	cr_assert_not_null(trace_sections_find(&s, "in"));
	trace_sections_dispose(&s);

	/* Name "section_" prefix inside a real marker's name: one marker. */
	scan("section_start:1:section_x\r" E "[0Kb" END(3, "section_x"), &s);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.v[0].byte_end - s.v[0].byte_start, 1);
	trace_sections_dispose(&s);
}

Test(trace_sections, duplicates_order_and_unterminated)
{
	struct trace_sections s;

	scan(START(1, "dup") "a" END(2, "dup") START(3, "dup") "b" END(4, "dup")
	     END(1, "rev") START(2, "rev")
	     START(1, "open") "x"
	     START(1, "ss") START(2, "ss") END(3, "ss")
	     END(1, "ee")
	     START(1, "three") END(2, "three") END(3, "three")
	     START(1, "ok") "fine" END(9, "ok"), &s);
	cr_assert_eq(s.n, 1);
	cr_assert_str_eq(s.v[0].name, "ok");
	cr_assert_eq(s.v[0].date_end - s.v[0].date_start, 8);
	trace_sections_dispose(&s);
}

Test(trace_sections, nesting)
{
	struct trace_sections s;
	const struct trace_section *outer, *inner;

	scan(START(1, "outer") "o\n" START(2, "inner") "i\n" END(3, "inner")
	     "o2\n" END(4, "outer"), &s);
	cr_assert_eq(s.n, 2);
	cr_assert_str_eq(s.v[0].name, "outer");
	outer = trace_sections_find(&s, "outer");
	inner = trace_sections_find(&s, "inner");
	cr_assert(outer->byte_start < inner->byte_start);
	cr_assert(inner->byte_end < outer->byte_end);
	trace_sections_dispose(&s);
}

Test(trace_sections, huge_timestamp_saturates)
{
	struct trace_sections s;

	scan(START(99999999999999999999999, "t") END(1, "t"), &s);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.v[0].date_start, INT64_MAX);
	trace_sections_dispose(&s);
}

static const char RUNNER_TRACE[] =
	E "[0KRunning with gitlab-runner 19.4.0 (d79f3e7b)" E "[0;m\n"
	"section_start:1700000000:prepare_executor\r" E "[0K" E "[0K" E
	"[36;1mPreparing the \"shell\" executor" E "[0;m" E "[0;m\n"
	E "[0KUsing Shell (bash) executor..." E "[0;m\n"
	"section_end:1700000000:prepare_executor\r" E "[0K"
	"section_start:1700000001:step_script\r" E "[0K" E "[0K" E
	"[36;1mExecuting \"step_script\" stage of the job script" E "[0;m" E "[0;m\n"
	E "[32;1m$ echo hi" E "[0;m\n"
	"hi\n"
	"section_end:1700000003:step_script\r" E "[0K"
	"section_start:1700000003:cleanup_file_variables[collapsed=true]\r" E "[0K"
	"section_end:1700000003:cleanup_file_variables\r" E "[0K"
	E "[32;1mJob succeeded" E "[0;m\n";

static void sections_eq(const struct trace_sections *a,
			const struct trace_sections *b)
{
	size_t i;

	cr_assert_eq(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		cr_assert_str_eq(a->v[i].name, b->v[i].name);
		cr_assert_eq(a->v[i].byte_start, b->v[i].byte_start);
		cr_assert_eq(a->v[i].byte_end, b->v[i].byte_end);
		cr_assert_eq(a->v[i].date_start, b->v[i].date_start);
		cr_assert_eq(a->v[i].date_end, b->v[i].date_end);
		cr_assert_eq(a->v[i].collapsed, b->v[i].collapsed);
	}
}

Test(trace_sections, one_byte_at_a_time_equals_whole)
{
	struct trace_sections whole, bytes, halves;
	struct trace_scan *sc = trace_scan_new();
	size_t n = strlen(RUNNER_TRACE), i;

	scan(RUNNER_TRACE, &whole);
	cr_assert_eq(whole.n, 3);
	cr_assert_str_eq(whole.v[1].name, "step_script");
	cr_assert(whole.v[2].collapsed);
	for (i = 0; i < n; i++)
		trace_scan_feed(sc, RUNNER_TRACE + i, 1);
	trace_scan_result(sc, &bytes);
	sections_eq(&whole, &bytes);
	trace_scan_free(sc);
	/* every split point */
	for (i = 0; i <= n; i++) {
		sc = trace_scan_new();
		trace_scan_feed(sc, RUNNER_TRACE, i);
		trace_scan_feed(sc, RUNNER_TRACE + i, n - i);
		trace_scan_result(sc, &halves);
		sections_eq(&whole, &halves);
		trace_sections_dispose(&halves);
		trace_scan_free(sc);
	}
	trace_sections_dispose(&whole);
	trace_sections_dispose(&bytes);
}

Test(trace_sections, result_while_running)
{
	struct trace_scan *sc = trace_scan_new();
	struct trace_sections s;

	trace_scan_feed(sc, START(1, "a") "x", strlen(START(1, "a") "x"));
	trace_scan_result(sc, &s);
	cr_assert_eq(s.n, 0);
	trace_sections_dispose(&s);
	trace_scan_feed(sc, END(2, "a"), strlen(END(2, "a")));
	trace_scan_result(sc, &s);
	cr_assert_eq(s.n, 1);
	trace_sections_dispose(&s);
	trace_scan_free(sc);
}

Test(trace_sections, scan_fd_and_name_cap)
{
	struct buf b = BUF_INIT(0);
	struct trace_sections s;
	int i, fd;

	for (i = 0; i < TRACE_SECTIONS_MAX_NAMES + 10; i++)
		buf_printf(&b, "section_start:1:n%d\r\033[0Ksection_end:2:n%d\r\033[0K", i, i);
	buf_puts(&b, START(1, "chat_reply") "\nok" END(2, "chat_reply"));
	fd = temp_fd(b.data, b.len);
	cr_assert_eq(trace_sections_scan(fd, &s), 0);
	cr_assert(s.truncated);
	cr_assert_eq(s.n, TRACE_SECTIONS_MAX_NAMES + 1);
	cr_assert_not_null(trace_sections_find(&s, "chat_reply"));
	cr_assert_not_null(trace_sections_find(&s, "n0"));
	cr_assert_null(trace_sections_find(&s, "n4100"));
	trace_sections_dispose(&s);
	close(fd);
	buf_dispose(&b);
}

/* ---- Ruby split ---- */

static char *drop(const char *s)
{
	size_t off, len;

	trace_drop_first_line(s, strlen(s), &off, &len);
	return xstrndup(s + off, len);
}

#define DROP_EQ(in, want) do { \
	char *got_ = drop(in); \
	cr_assert_str_eq(got_, want, "split(%s)", #in); \
	free(got_); \
} while (0)

Test(trace_output, ruby_split_semantics)
{
	DROP_EQ("hello\nworld", "world");
	DROP_EQ("", "");
	DROP_EQ("\n", "");
	DROP_EQ("single line", "");
	DROP_EQ("a\nb\n\n", "b");
	DROP_EQ("a\n\n\n", "");
	DROP_EQ("\n\nfoo", "\nfoo");
	DROP_EQ("a\n\nb\n", "\nb");
	DROP_EQ("a\nb\r\n", "b\r");
	DROP_EQ("a\nb \n ", "b \n ");
	DROP_EQ("\nls\noutput\n", "ls\noutput");
	/* GitLab's spec: "echo hello\nhello" read as 13 bytes -> "he" */
	DROP_EQ("echo hello\nhe", "he");
}

/* ---- ChatOps output ---- */

static int output_of(const char *trace, size_t max, char **out, size_t *len,
		     bool *too_large, const char **section)
{
	int fd = temp_fd(trace, strlen(trace)), err;

	err = trace_chat_output_ex(fd, max, out, len, too_large, section);
	close(fd);
	return err;
}

Test(trace_output, section_choice)
{
	char *out;
	size_t len;
	bool big;
	const char *sec;

	cr_assert_eq(output_of(RUNNER_TRACE, TRACE_CHAT_MAX_BYTES, &out, &len, &big,
			       &sec), 0);
	cr_assert_str_eq(sec, "step_script");
	cr_assert_str_eq(out, E "[32;1m$ echo hi" E "[0;m\nhi");
	cr_assert_eq(len, strlen(out));
	cr_assert(!big);
	free(out);

	/* two chat_reply sections: both discarded, step_script is used */
	cr_assert_eq(output_of(START(1, "step_script") "hdr\nstep out\n"
			       START(1, "chat_reply") "\none\n" END(1, "chat_reply")
			       START(1, "chat_reply") "\ntwo\n" END(1, "chat_reply")
			       END(2, "step_script"),
			       TRACE_CHAT_MAX_BYTES, &out, &len, &big, &sec), 0);
	cr_assert_str_eq(sec, "step_script");
	cr_assert_eq(strncmp(out, "step out\n", 9), 0);
	free(out);

	cr_assert_eq(output_of(START(1, "build_script") "h\nlegacy\n" END(1, "build_script"),
			       TRACE_CHAT_MAX_BYTES, &out, &len, &big, &sec), 0);
	cr_assert_str_eq(sec, "build_script");
	cr_assert_str_eq(out, "legacy");
	free(out);

	/* chat_reply wins over step_script */
	cr_assert_eq(output_of(START(1, "step_script") "h\nx\n"
			       START(1, "chat_reply") "\nreply\n" END(1, "chat_reply")
			       END(1, "step_script"),
			       TRACE_CHAT_MAX_BYTES, &out, &len, &big, &sec), 0);
	cr_assert_str_eq(sec, "chat_reply");
	cr_assert_str_eq(out, "reply");
	free(out);

	/* empty output */
	cr_assert_eq(output_of(START(1, "chat_reply") "only one line" END(1, "chat_reply"),
			       TRACE_CHAT_MAX_BYTES, &out, &len, &big, &sec), 0);
	cr_assert_str_eq(out, "");
	cr_assert_eq(len, 0);
	free(out);
}

Test(trace_output, missing_section)
{
	char *out = (char *)1;
	size_t len;
	bool big;

	cr_assert_eq(output_of("no sections\n" START(1, "step_script") "unterminated",
			       TRACE_CHAT_MAX_BYTES, &out, &len, &big, NULL),
		     SO_ENOTFOUND);
	cr_assert_null(out);
	cr_assert_str_eq(error_msg(), "The build_script trace section could not be found");
}

/* The seed's example, as bash writes it, inside the runner's step_script
 * section after the green command echo (whose text holds the literal
 * "section_start:$(date +%s)", not a marker). */
Test(trace_output, seed_ls_example_through_real_bash)
{
	static const char cmd[] =
		"echo -e \"section_start:$(date +%s):chat_reply\\r\\033[0K\\n$(ls -la)"
		"\\nsection_end:$(date +%s):chat_reply\\r\\033[0K\"";
	char dir[] = "/tmp/trace-ls-XXXXXX", line[512], *out;
	struct buf job = BUF_INIT(0), trace = BUF_INIT(0), ls = BUF_INIT(0);
	FILE *p;
	size_t n, len;
	bool big;
	char *shell;
	int fd;

	cr_assert_not_null(mkdtemp(dir));
	shell = xasprintf("cd %s && touch alpha 'b c' && mkdir sub && %s", dir, cmd);
	/* run the job's command with bash, exactly as the script would */
	{
		char path[] = "/tmp/trace-ls-cmd-XXXXXX";
		int cfd = mkstemp(path);
		char *run;

		cr_assert(cfd >= 0);
		cr_assert_eq(write(cfd, shell, strlen(shell)), (ssize_t)strlen(shell));
		close(cfd);
		run = xasprintf("bash %s", path);
		p = popen(run, "r");
		cr_assert_not_null(p);
		while ((n = fread(line, 1, sizeof(line), p)) > 0)
			buf_append(&job, line, n);
		cr_assert_eq(pclose(p), 0);
		unlink(path);
		free(run);
	}
	{
		char *run = xasprintf("cd %s && ls -la", dir);

		p = popen(run, "r");
		while ((n = fread(line, 1, sizeof(line), p)) > 0)
			buf_append(&ls, line, n);
		cr_assert_eq(pclose(p), 0);
		free(run);
	}
	cr_assert(ls.len > 10);
	cr_assert_eq(strncmp(job.data, "section_start:", 14), 0);

	buf_puts(&trace, E "[0KRunning with slashops" E "[0;m\n"
		 "section_start:1700000000:step_script\r" E "[0K" E "[0K" E
		 "[36;1mExecuting \"step_script\" stage of the job script" E "[0;m" E "[0;m\n");
	buf_printf(&trace, E "[32;1m$ %s" E "[0;m\n", cmd);
	buf_append(&trace, job.data, job.len);
	buf_puts(&trace, "section_end:1700000001:step_script\r" E "[0K"
		 E "[32;1mJob succeeded" E "[0;m\n");

	fd = temp_fd(trace.data, trace.len);
	cr_assert_eq(trace_chat_output(fd, TRACE_CHAT_MAX_BYTES, &out, &len, &big), 0);
	cr_assert(!big);
	/* exactly the ls output, without its trailing newline */
	cr_assert_eq(len, ls.len - 1);
	cr_assert_eq(memcmp(out, ls.data, len), 0);
	cr_assert_eq(out[len], '\0');
	free(out);
	close(fd);

	{
		char *rm = xasprintf("rm -rf %s", dir);

		cr_assert_eq(system(rm), 0);
		free(rm);
	}
	free(shell);
	buf_dispose(&job);
	buf_dispose(&trace);
	buf_dispose(&ls);
}

Test(trace_output, size_limit_is_on_the_output_bytes)
{
	struct buf t = BUF_INIT(0);
	char *out;
	size_t len, i;
	bool big;
	int fd;

	/* exactly the limit: sent */
	buf_puts(&t, START(1, "chat_reply") "\n");
	for (i = 0; i < TRACE_CHAT_MAX_BYTES; i++)
		buf_putc(&t, i % 64 == 62 ? '\n' : 'x');
	buf_puts(&t, "\n" END(2, "chat_reply"));
	fd = temp_fd(t.data, t.len);
	cr_assert_eq(trace_chat_output(fd, TRACE_CHAT_MAX_BYTES, &out, &len, &big), 0);
	cr_assert(!big);
	cr_assert_eq(len, TRACE_CHAT_MAX_BYTES);
	free(out);
	close(fd);

	/* one byte more: too large, not read */
	buf_reset(&t);
	buf_puts(&t, START(1, "chat_reply") "\n");
	for (i = 0; i < TRACE_CHAT_MAX_BYTES + 1; i++)
		buf_putc(&t, 'y');
	buf_puts(&t, "\n" END(2, "chat_reply"));
	fd = temp_fd(t.data, t.len);
	cr_assert_eq(trace_chat_output(fd, TRACE_CHAT_MAX_BYTES, &out, &len, &big), 0);
	cr_assert(big);
	cr_assert_null(out);
	cr_assert_eq(len, TRACE_CHAT_MAX_BYTES + 1);
	close(fd);

	/* a long first line and many trailing newlines do not count */
	buf_reset(&t);
	buf_puts(&t, START(1, "chat_reply"));
	for (i = 0; i < 100000; i++)
		buf_putc(&t, 'h');
	buf_puts(&t, "\nshort output");
	for (i = 0; i < 100000; i++)
		buf_putc(&t, '\n');
	buf_puts(&t, END(2, "chat_reply"));
	fd = temp_fd(t.data, t.len);
	cr_assert_eq(trace_chat_output(fd, TRACE_CHAT_MAX_BYTES, &out, &len, &big), 0);
	cr_assert(!big);
	cr_assert_str_eq(out, "short output");
	free(out);
	close(fd);

	/* SGR codes count before stripping (GitLab compares output.bytesize) */
	buf_reset(&t);
	buf_puts(&t, START(1, "chat_reply") "\n");
	for (i = 0; i < 600; i++)
		buf_puts(&t, E "[31mx");
	buf_puts(&t, END(2, "chat_reply"));
	fd = temp_fd(t.data, t.len);
	cr_assert_eq(trace_chat_output(fd, TRACE_CHAT_MAX_BYTES, &out, &len, &big), 0);
	cr_assert(big);
	cr_assert_eq(len, 600 * 6);
	close(fd);
	buf_dispose(&t);
}

Test(trace_output, invalid_utf8_is_scrubbed)
{
	char *out;
	size_t len;
	bool big;

	cr_assert_eq(output_of(START(1, "chat_reply") "\nok \xff\xfe caf\xc3\xa9 \xe2\x82\n"
			       END(1, "chat_reply"),
			       TRACE_CHAT_MAX_BYTES, &out, &len, &big, NULL), 0);
	cr_assert_str_eq(out, "ok \xEF\xBF\xBD\xEF\xBF\xBD caf\xc3\xa9 \xEF\xBF\xBD");
	free(out);
}

Test(trace_output, utf8_scrub_maximal_subparts)
{
	char *s;
	size_t n;

	s = trace_utf8_scrub("a\xe2\x82\xac" "b", 5, &n);
	cr_assert_str_eq(s, "a\xe2\x82\xac" "b");
	free(s);
	/* E0 80: E0 needs A0..BF, so two replacements */
	s = trace_utf8_scrub("\xe0\x80", 2, NULL);
	cr_assert_str_eq(s, "\xEF\xBF\xBD\xEF\xBF\xBD");
	free(s);
	/* truncated 4-byte sequence: one replacement */
	s = trace_utf8_scrub("\xf0\x9f\x98", 3, NULL);
	cr_assert_str_eq(s, "\xEF\xBF\xBD");
	free(s);
	/* surrogate and overlong */
	s = trace_utf8_scrub("\xed\xa0\x80" "\xc0\xaf", 5, &n);
	cr_assert_eq(n, 15);
	free(s);
	/* NUL kept as a byte */
	s = trace_utf8_scrub("a\0b", 3, &n);
	cr_assert_eq(n, 3);
	free(s);
}

Test(trace_output, strip_sgr)
{
	char *s;

	s = trace_strip_sgr(E "[32;1m$ ls" E "[0;m\n" E "[0Kkept" E "[m" E "[1;2H" E "[");
	cr_assert_str_eq(s, "$ ls\n" E "[0Kkept" E "[1;2H" E "[");
	free(s);
	s = trace_strip_sgr(E E "[31mx" E "[38;5;196my" E "[3x");
	cr_assert_str_eq(s, E "xy" E "[3x");
	free(s);
	cr_assert_null(trace_strip_sgr(NULL));
}
