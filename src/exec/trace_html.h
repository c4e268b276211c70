/*
 * trace_html.h: a job trace rendered as safe HTML, streaming.
 *
 * Output: text with <span class="term-..."> runs for the ANSI SGR colours
 * and attributes, and each section as
 *   <details class="trace-section" open data-section="NAME"><summary
 *   class="trace-section-header">HEADER LINE<span class="duration">1s</span>
 *   </summary>BODY LINES</details>
 * ("open" absent with the marker option collapsed=true; the duration absent
 * with hide_duration=true or when not known when the header is written:
 * then it comes as <span class="trace-section-duration">1s</span> at the
 * end of the body). Lines end with "\n": place the HTML in an element with
 * the class "trace" (white-space: pre-wrap; see trace_html_css()). Every
 * text byte is HTML-escaped, invalid UTF-8 becomes U+FFFD, control
 * characters other than \t and \n are dropped, and non-SGR escapes are
 * removed. Only classes are used (no style attributes): the web CSP
 * forbids inline styles; 256-colour and true colour map to xterm-fg-N /
 * xterm-bg-N classes (true colour to the nearest of the 256).
 *
 * Design: two layers. The marker layer (trace_parse.h's matcher) holds
 * back the bytes that may still be a section marker (at most
 * TRACE_HTML_MARKER_MAX) and passes the rest on as text; the text layer
 * decodes UTF-8 and escape sequences incrementally (an incomplete tail is
 * held, never split) and builds the current line. A line is written out
 * at its '\n', at a marker, or when it reaches TRACE_HTML_LINE_MAX bytes of
 * HTML (or a quarter of the output cap). A carriage return followed by more text on the same line (or by
 * \033[0K / \033[2K) discards the unwritten part of the line, as a terminal
 * overwrites it; "\r\n" is a newline.
 *
 * Each time a line or section tag is written the renderer records a
 * checkpoint: the input offset up to which the output is complete, and
 * the state there (colours, open sections). trace_html_save() turns it
 * into a short ASCII token and trace_html_restore() resumes from it, so a
 * live page can ask for "the HTML after token T" and append it: the
 * concatenation of successive fragments equals one continuous render.
 *
 * Output is bounded: trace_html_set_limit() caps the total bytes; when the
 * next line would pass the cap the renderer stops (trace_html_full());
 * trace_html_finish() still closes every open element (room for that is
 * reserved) and adds a "truncated" notice.
 */
#ifndef SO_EXEC_TRACE_HTML_H
#define SO_EXEC_TRACE_HTML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exec/trace_parse.h"
#include "util/buf.h"

#define TRACE_HTML_MARKER_MAX 1024        /* longer markers render as text */
#define TRACE_HTML_LINE_MAX (64 * 1024)   /* HTML bytes of a line held */
#define TRACE_HTML_MAX_DEPTH 32           /* deeper sections: markers dropped */
#define TRACE_HTML_DEFAULT_LIMIT (16u * 1024 * 1024)

struct trace_html;

/* A renderer for a trace starting at offset 0. Caller frees. */
struct trace_html *trace_html_new(void);
void trace_html_free(struct trace_html *r); /* accepts NULL */

/* Caps the total output (default TRACE_HTML_DEFAULT_LIMIT; minimum 16384,
 * so that any single event fits). Lines are then written out in pieces of
 * at most a quarter of the cap. Call before the first feed. */
void trace_html_set_limit(struct trace_html *r, size_t max_bytes);
/* Durations known in advance (from trace_sections_scan() of the same
 * trace) so that they appear in the section headers. Borrowed: must
 * outlive r. */
void trace_html_set_sections(struct trace_html *r,
			     const struct trace_sections *sections);

/* Renders the next bytes of the trace, appending HTML to out. Returns 0,
 * or SO_ETOOBIG when out's own cap refuses an append (out is then left
 * with whole lines only). Input after the limit is reached is ignored. */
int trace_html_feed(struct trace_html *r, const char *data, size_t len,
		    struct buf *out);
/* The end of the trace: writes the held tail (an incomplete UTF-8 sequence
 * as U+FFFD, an incomplete escape dropped), closes open sections, and the
 * truncation notice if the limit was reached. */
int trace_html_finish(struct trace_html *r, struct buf *out);

/* True once the output limit stopped the renderer. */
bool trace_html_full(const struct trace_html *r);
/* The checkpoint: input offset up to which the output written so far is
 * complete (the next fragment starts there). */
uint64_t trace_html_offset(const struct trace_html *r);
/* Appends the checkpoint token (ASCII [0-9A-Za-z_.:,-]) to out. */
int trace_html_save(const struct trace_html *r, struct buf *out);
/* Resumes a fresh renderer (nothing fed yet) at a saved checkpoint; feed
 * it the trace from trace_html_offset(r). SO_EINVALID on a bad token. */
int trace_html_restore(struct trace_html *r, const char *token);

/* Convenience for the API and the job page: renders the file behind fd
 * (pread) from the checkpoint token (NULL or "": from the start) to its
 * current end, with at most max_out bytes of HTML (0: the default limit).
 * final: the trace is complete, so the tail is written and sections
 * closed. Appends the HTML to html and the next token to next_token;
 * *more (may be NULL) is true when the limit stopped it before the end.
 * Errors: SO_EINVALID (bad token), SO_EFAIL (read error). */
int trace_html_render_fd(int fd, const char *token, size_t max_out, bool final,
			 struct buf *html, struct buf *next_token, bool *more);

/* The stylesheet for the classes above (dark terminal look), NUL-
 * terminated, static. */
const char *trace_html_css(void);

#endif
