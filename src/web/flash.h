/*
 * flash.h: one-shot messages ("Authorized alice") carried from a POST to
 * the page the browser is redirected to, as Rails' flash does.
 *
 * Design: the message travels in a short-lived cookie, WEB_FLASH_COOKIE
 * (HttpOnly; SameSite=Lax; Path=/-/; Max-Age=60; Secure under an https
 * external URL), never in the URL, so nobody can craft a link that shows
 * a message of their choosing. The value is one kind letter ('n' notice,
 * 'a' alert) followed by the base64url (no padding) of the UTF-8 text.
 * The page that shows it expires the cookie in the same answer. Decoding
 * is strict and capped (at most WEB_FLASH_VALUE_MAX bytes of cookie; the
 * text must be valid UTF-8 without control characters), and the page
 * escapes the text like any other, so a planted cookie can at worst show
 * harmless text.
 *
 * Ownership: returned strings are the caller's (free).
 */
#ifndef SO_WEB_FLASH_H
#define SO_WEB_FLASH_H

#include <stddef.h>

struct app;
struct buf;
struct http_request;

#define WEB_FLASH_COOKIE "_slashops_flash"
#define WEB_FLASH_TEXT_MAX 1024u                         /* bytes of message kept */
#define WEB_FLASH_VALUE_MAX (1u + (WEB_FLASH_TEXT_MAX + 2u) / 3u * 4u)

enum web_flash_kind {
	WEB_FLASH_NOTICE = 'n',
	WEB_FLASH_ALERT = 'a',
};

/* The cookie value for a message; text longer than WEB_FLASH_TEXT_MAX is
 * cut at a UTF-8 character boundary. Caller frees. */
char *web_flash_encode(enum web_flash_kind kind, const char *text);
/* Parses a cookie value. SO_EINVALID when it is not one that
 * web_flash_encode() could have made (unknown kind, bad base64url, too
 * long, control characters or invalid UTF-8 in the text); *text_out is
 * then NULL. */
int web_flash_decode(const char *value, enum web_flash_kind *kind_out, char **text_out);

/* Adds the Set-Cookie header carrying the message to req's answer. */
int web_flash_set(const struct app *app, struct http_request *req, enum web_flash_kind kind,
		  const char *text);
/* Reads the request's flash (if any, and valid) and, when a cookie was
 * present, adds the header that expires it. *text_out NULL when none. */
int web_flash_take(const struct app *app, struct http_request *req,
		   enum web_flash_kind *kind_out, char **text_out);
/* Appends the flash's markup (escaped) to out; nothing when text is NULL. */
int web_flash_html(struct buf *out, enum web_flash_kind kind, const char *text);

#endif
