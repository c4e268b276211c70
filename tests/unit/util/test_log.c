/*
 * test_log.c: the JSON-lines logger. Lines are written to a temporary
 * file, read back and parsed with jansson: every line must be valid JSON
 * with the head fields first and the caller's fields after them.
 */
#include "util/log.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static FILE *out;

static void setup(void)
{
	out = tmpfile();
	cr_assert(out);
	log_init(LOG_INFO, fileno(out));
}

static void teardown(void)
{
	log_init(LOG_INFO, 2);
	fclose(out);
}

/* The whole file written so far; caller frees. */
static char *slurp(void)
{
	long n;
	char *s;

	fflush(out);
	n = lseek(fileno(out), 0, SEEK_END);
	s = calloc(1, (size_t)n + 1);
	cr_assert(pread(fileno(out), s, (size_t)n, 0) == n);
	return s;
}

static json_t *only_line(char **text_out)
{
	char *text = slurp();
	json_error_t e;
	json_t *j;
	size_t len = strlen(text);

	cr_assert(len > 0 && text[len - 1] == '\n', "one newline-terminated line: %s", text);
	cr_assert(strchr(text, '\n') == text + len - 1, "exactly one line: %s", text);
	j = json_loads(text, 0, &e);
	cr_assert(j, "valid JSON: %s (%s)", text, e.text);
	if (text_out)
		*text_out = text;
	else
		free(text);
	return j;
}

TestSuite(log, .init = setup, .fini = teardown);

Test(log, line_has_head_then_typed_fields)
{
	struct log_field f[] = { LOG_STR("path", "/a\"b\\c\n"), LOG_INT("status", 404),
				 LOG_NUM("duration_ms", 1.25), LOG_STR("skipped", NULL) };
	char *text;
	json_t *j;

	log_line(LOG_INFO, "request", f, 4);
	j = only_line(&text);
	cr_assert(strncmp(text, "{\"time\":\"", 9) == 0, "%s", text);
	cr_assert(strstr(text, "\"level\":\"info\",\"msg\":\"request\",\"path\""), "%s", text);
	cr_assert_str_eq(json_string_value(json_object_get(j, "path")), "/a\"b\\c\n");
	cr_assert_eq(json_integer_value(json_object_get(j, "status")), 404);
	cr_assert_float_eq(json_real_value(json_object_get(j, "duration_ms")), 1.25, 1e-9);
	cr_assert_null(json_object_get(j, "skipped"));
	cr_assert_eq(strlen(json_string_value(json_object_get(j, "time"))), 24);
	json_decref(j);
	free(text);
}

Test(log, invalid_utf8_becomes_replacement_and_controls_escaped)
{
	struct log_field f[] = { LOG_STR("s", "ok\xc3\xa9 bad\xff\xc3( \x01\x7f end \xf0\x9f\x98\x80") };
	json_t *j;

	log_line(LOG_WARN, "m", f, 1);
	j = only_line(NULL);
	cr_assert_str_eq(json_string_value(json_object_get(j, "s")),
			 "ok\xc3\xa9 bad\xef\xbf\xbd\xef\xbf\xbd( \x01\x7f end \xf0\x9f\x98\x80");
	cr_assert_str_eq(json_string_value(json_object_get(j, "level")), "warn");
	json_decref(j);
}

Test(log, raw_fields_are_spliced_after_the_line_fields)
{
	struct log_field inner[] = { LOG_INT("project_id", 7), LOG_STR("command", "help") };
	char *raw = log_format_fields(inner, 2);
	struct log_field f[] = { LOG_INT("status", 200), LOG_RAW(raw), LOG_RAW(NULL) };
	json_t *j;

	cr_assert_str_eq(raw, "\"project_id\":7,\"command\":\"help\"");
	log_line(LOG_INFO, "chat command", f, 3);
	j = only_line(NULL);
	cr_assert_eq(json_integer_value(json_object_get(j, "project_id")), 7);
	cr_assert_str_eq(json_string_value(json_object_get(j, "command")), "help");
	cr_assert_eq(json_object_size(j), 6);
	json_decref(j);
	free(raw);
}

Test(log, long_lines_spill_to_the_heap_whole)
{
	size_t n = 10000;
	char *big = malloc(n + 1);
	json_t *j;

	memset(big, 'x', n);
	big[n] = '\0';
	log_line(LOG_ERROR, "big", &LOG_STR("v", big), 1);
	j = only_line(NULL);
	cr_assert_eq(strlen(json_string_value(json_object_get(j, "v"))), n);
	json_decref(j);
	free(big);
}

Test(log, event_splices_the_jansson_object_and_handles_empty)
{
	json_t *j;
	char *text = NULL, *line2;

	log_event(LOG_INFO, "ev", json_pack("{s:s, s:i}", "a", "b", "n", 3));
	j = only_line(&text);
	cr_assert_str_eq(json_string_value(json_object_get(j, "a")), "b");
	cr_assert_eq(json_integer_value(json_object_get(j, "n")), 3);
	json_decref(j);
	free(text);
	cr_assert(ftruncate(fileno(out), 0) == 0 && lseek(fileno(out), 0, SEEK_SET) == 0);
	log_event(LOG_INFO, "empty", json_object());
	j = only_line(&line2);
	cr_assert_eq(json_object_size(j), 3, "%s", line2);
	json_decref(j);
	free(line2);
}

Test(log, below_the_level_nothing_is_written)
{
	char *text;

	log_line(LOG_DEBUG, "quiet", NULL, 0);
	log_event(LOG_DEBUG, "quiet", json_pack("{s:i}", "x", 1));
	text = slurp();
	cr_assert_str_eq(text, "");
	free(text);
}
