/*
 * clock.h: the few time functions the server needs, in one place so tests
 * and the store agree on formats. Timestamps are UTC ISO 8601 with
 * milliseconds and a Z ("2026-11-22T02:24:00.123Z"), as GitLab's API
 * returns them; durations use the monotonic clock.
 */
#ifndef SO_UTIL_CLOCK_H
#define SO_UTIL_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Writes the current UTC time as ISO 8601 into out (>= 25 bytes). */
void clock_now_iso(char *out, size_t size);
/* Formats a Unix time (seconds) the same way, with .000 milliseconds. */
void clock_iso_from_unix(time_t t, char *out, size_t size);
/* Parses "YYYY-MM-DD" or the ISO 8601 form above into Unix seconds. */
int clock_parse_iso(const char *s, time_t *out);
/* Monotonic milliseconds, for durations and timeouts. */
double clock_mono_ms(void);
/* Wall-clock Unix seconds. */
int64_t clock_unix(void);

#endif
