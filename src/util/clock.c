/*
 * clock.c: wall and monotonic time helpers; see clock.h.
 */
#include "util/clock.h"
#include "util/error.h"

#include <stdio.h>
#include <string.h>

void clock_now_iso(char *out, size_t size)
{
	struct timespec ts;
	struct tm tm;
	char base[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, size, "%s.%03ldZ", base, ts.tv_nsec / 1000000L);
}

void clock_iso_from_unix(time_t t, char *out, size_t size)
{
	struct tm tm;
	char base[24];

	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, size, "%s.000Z", base);
}

int clock_parse_iso(const char *s, time_t *out)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if (!s || !(end = strptime(s, "%Y-%m-%d", &tm)))
		return error_set(SO_EINVALID, "invalid date");
	if (*end == 'T' && !(end = strptime(end + 1, "%H:%M:%S", &tm)))
		return error_set(SO_EINVALID, "invalid time");
	*out = timegm(&tm);
	return 0;
}

double clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

int64_t clock_unix(void)
{
	return (int64_t)time(NULL);
}
