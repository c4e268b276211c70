/*
 * trace_parse.h: job trace sections and the ChatOps output of a trace.
 *
 * A job trace is the byte stream a job writes (GitLab Runner's format, see
 * docs/TRACE.md). Sections are delimited by markers
 *   section_start:<unix time>:<name>[<options>]\r\033[0K
 *   section_end:<unix time>:<name>\r\033[0K
 * that may appear anywhere in a line. GitLab's rules, which this module
 * follows exactly: a marker is the regex
 *   section_(start|end):(\d+):([a-zA-Z0-9_.-]+)(\[\w+=\w+(, ?\w+=\w+)*\])?\r\033\[0K
 * tried at each "section_" not inside an earlier marker; a section's
 * byte_start is the offset just after its start marker, its byte_end the
 * offset where its end marker begins; a name is kept only when it has
 * exactly two markers, a start and then an end.
 *
 * Design: everything streams. A marker matcher (struct trace_marker_scanner)
 * is a byte automaton with a few candidate slots, so markers straddling
 * any chunk boundary are found and no trace content is held: only offsets,
 * timestamps and names (names longer than TRACE_SECTION_NAME_MAX are
 * matched but not recorded). trace_sections_scan() reads a file descriptor
 * with pread() in 64 KiB chunks, so a trace larger than memory is fine and
 * a file still being appended can be scanned. The renderer (trace_html.h)
 * uses the same matcher.
 *
 * trace_chat_output() is GitLab's Gitlab::Chat::Output: the chat_reply
 * section, else step_script, else build_script; its bytes without the
 * first line and without trailing newlines (Ruby's
 * split("\n")[1..-1].join("\n")); the size is known before anything is
 * read, so an oversized output is reported without reading it.
 */
#ifndef SO_EXEC_TRACE_PARSE_H
#define SO_EXEC_TRACE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest section name recorded; longer names still form markers. */
#define TRACE_SECTION_NAME_MAX 255
/* Distinct names tracked per trace (plus the three ChatOps names, which are
 * always tracked); markers of further names are ignored. */
#define TRACE_SECTIONS_MAX_NAMES 4096
/* Mattermost's MESSAGE_SIZE_LIMIT (3.5 KiB), on the output before any
 * colour stripping. */
#define TRACE_CHAT_MAX_BYTES 3584

/* ---- the marker matcher (low level; used by the scanner and renderer) ---- */

struct trace_marker {
	bool start;            /* section_start (false: section_end) */
	int64_t timestamp;     /* the \d+ field, saturated at INT64_MAX */
	uint64_t begin;        /* offset of the 's' of "section_" */
	uint64_t end;          /* offset just after "\r\033[0K" */
	size_t name_len;       /* bytes of the name, even when not recorded */
	bool name_too_long;    /* name_len > TRACE_SECTION_NAME_MAX: name is "" */
	char name[TRACE_SECTION_NAME_MAX + 1]; /* NUL-terminated */
	bool collapsed;        /* option collapsed=true */
	bool hide_duration;    /* option hide_duration=true */
};

/* A plain value: initialise with trace_marker_scanner_init(). Holds no
 * heap memory. The slots are candidate matches in progress (private). */
struct trace_marker_scanner {
	uint64_t offset;       /* offset of the next byte to be fed */
	unsigned nslots;
	struct trace_marker_slot {
		uint64_t begin;
		int state, idx;
		bool start;
		int64_t ts;
		size_t name_len;
		char name[TRACE_SECTION_NAME_MAX + 1];
		char key[16], val[16];
		unsigned klen, vlen;
		bool collapsed, hide_duration;
	} slots[4];
};

void trace_marker_scanner_init(struct trace_marker_scanner *m, uint64_t offset);
/* Feeds bytes until a marker completes or p[0..n) is used up. Returns the
 * number of bytes consumed; when a marker completed with the last consumed
 * byte, *found is true and *out describes it. Call again with the rest. */
size_t trace_marker_scan(struct trace_marker_scanner *m, const char *p,
			 size_t n, struct trace_marker *out, bool *found);
/* Offset of the earliest byte that may still turn out to belong to a
 * marker (== m->offset when no candidate is alive). Bytes before it are
 * plain text for good. */
uint64_t trace_marker_pending_from(const struct trace_marker_scanner *m);
/* Forgets candidates that began before offset (the renderer's bound on how
 * much it holds back). */
void trace_marker_drop_before(struct trace_marker_scanner *m, uint64_t offset);

/* ---- sections ---- */

struct trace_section {
	char *name;            /* owned by the enclosing trace_sections */
	uint64_t byte_start;   /* first byte after the start marker */
	uint64_t byte_end;     /* first byte of the end marker */
	int64_t date_start;    /* Unix seconds of the start marker */
	int64_t date_end;      /* Unix seconds of the end marker */
	bool collapsed;        /* start marker option collapsed=true */
	bool hide_duration;    /* start marker option hide_duration=true */
};

/* Owns its array and names; release with trace_sections_dispose(). */
struct trace_sections {
	struct trace_section *v; /* kept sections, in order of byte_start */
	size_t n;
	bool truncated;        /* more than TRACE_SECTIONS_MAX_NAMES names seen */
};

/* Incremental scanner for a trace being written: feed bytes as they come. */
struct trace_scan;
struct trace_scan *trace_scan_new(void);           /* caller frees */
void trace_scan_feed(struct trace_scan *s, const char *data, size_t len);
/* The sections kept so far (a name whose end has not come yet is not
 * kept). May be called more than once; out is filled anew (caller
 * disposes). */
void trace_scan_result(const struct trace_scan *s, struct trace_sections *out);
void trace_scan_free(struct trace_scan *s);        /* accepts NULL */

/* Scans a whole trace: the file from offset 0 to its current end (pread;
 * the descriptor's position is not used or moved), or a memory buffer.
 * out is filled (caller disposes). Errors: SO_EFAIL when reading fails. */
int trace_sections_scan(int fd, struct trace_sections *out);
void trace_sections_scan_mem(const char *data, size_t len,
			     struct trace_sections *out);
/* The kept section called name, or NULL. Borrowed from s. */
const struct trace_section *trace_sections_find(const struct trace_sections *s,
						const char *name);
void trace_sections_dispose(struct trace_sections *s); /* accepts NULL */

/* ---- ChatOps output ---- */

/* Ruby's s.split("\n")[1..-1].join("\n") || "": the bytes after the first
 * newline, with trailing newlines removed; "" when there is no newline.
 * Sets *off and *len to that span of s[0..n). */
void trace_drop_first_line(const char *s, size_t n, size_t *off, size_t *len);

/* The chat output of a trace (the file behind fd, read with pread).
 * On success: *too_large is true when the output's byte size (GitLab's
 * output.bytesize, before SGR stripping) exceeds max_bytes; then *out is
 * NULL, nothing of it was read, and *len is that size. Otherwise *out is the
 * output (NUL-terminated, invalid UTF-8 replaced by U+FFFD, caller frees)
 * and *len its length; the size GitLab compares is then at most max_bytes.
 * *section (may be NULL) receives "chat_reply", "step_script" or
 * "build_script" (static). Errors: SO_ENOTFOUND with GitLab's message when
 * the trace has none of the three sections; SO_EFAIL when reading fails. */
int trace_chat_output(int fd, size_t max_bytes, char **out, size_t *len,
		      bool *too_large);
int trace_chat_output_ex(int fd, size_t max_bytes, char **out, size_t *len,
			 bool *too_large, const char **section);

/* Replaces invalid UTF-8 in s[0..n) by U+FFFD (one per maximal invalid
 * subpart, as the Unicode standard recommends and Ruby's scrub does).
 * Returns a NUL-terminated copy (caller frees); *out_len may be NULL. */
char *trace_utf8_scrub(const char *s, size_t n, size_t *out_len);

/* s with every SGR sequence /\x1b\[[0-9;]*m/ removed; other escapes (such
 * as \x1b[0K) stay. NULL in, NULL out. Caller frees. */
char *trace_strip_sgr(const char *s);

#endif
