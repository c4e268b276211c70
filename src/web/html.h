/*
 * html.h: building HTML safely: escaping text into a buffer, and the one
 * page layout every slashops page uses.
 *
 * Design: pages are built as strings in a struct buf. Anything that did
 * not come from a string literal in our source goes through html_escape()
 * (text and attribute values alike: it escapes & < > " and '). The layout
 * references one stylesheet (/assets/app.css) and contains no inline
 * script or style, so the Content-Security-Policy can forbid both.
 *
 * Ownership: buffers are the caller's; the identity is borrowed.
 */
#ifndef SO_WEB_HTML_H
#define SO_WEB_HTML_H

#include <stddef.h>

struct auth_identity;
struct buf;

#define HTML_PRODUCT "slashops"

/* Appends s (NULL is "") with & < > " ' escaped. Errors are the buffer's
 * (SO_ETOOBIG past its cap). */
int html_escape(struct buf *out, const char *s);
/* Appends printf-formatted text; every %s argument is escaped, other
 * conversions are copied as formatted. Only %s, %d, %lld, %zu and %% are
 * supported (enough for pages, and easy to audit). */
int html_printf(struct buf *out, const char *fmt, ...);
/* Appends a complete HTML5 page: head (title, stylesheet), the header
 * with the product name and, when id has a user, the username and a
 * sign-out form carrying the session's authenticity_token; then body_html
 * (trusted, already escaped) inside <main>. id may be NULL. */
int html_page(struct buf *out, const char *title, const char *body_html,
	      const struct auth_identity *id);

#endif
