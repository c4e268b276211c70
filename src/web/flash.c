/*
 * flash.c: one-shot messages in a short-lived cookie (see flash.h).
 *
 * Design: base64url through libsodium (sodium_bin2base64 /
 * sodium_base642bin with the URL-safe, unpadded variant, which rejects
 * any character outside the alphabet). The decoded text is checked to be
 * UTF-8 without control characters before anyone sees it.
 */
#include "web/flash.h"
#include "web/html.h"
#include "core/app.h"
#include "http/server.h"
#include "util/buf.h"
#include "util/error.h"

#include <sodium.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#define FLASH_MAX_AGE_S 60

/* Length of the UTF-8 sequence starting at s (at most n bytes), 0 when it
 * is not a valid, shortest-form sequence. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* The longest prefix of s (at most max bytes) that ends on a character
 * boundary; invalid bytes end the prefix too. */
static size_t utf8_prefix(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), at = 0, l;

	while (at < n && at < max) {
		if (!(l = utf8_len(p + at, n - at)) || at + l > max)
			break;
		at += l;
	}
	return at;
}

static bool text_ok(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t at = 0, l;

	while (at < n) {
		if (p[at] < 0x20 || p[at] == 0x7f || !(l = utf8_len(p + at, n - at)))
			return false;
		at += l;
	}
	return true;
}

char *web_flash_encode(enum web_flash_kind kind, const char *text)
{
	const char *t = text ? text : "";
	size_t n = utf8_prefix(t, WEB_FLASH_TEXT_MAX);
	size_t cap = sodium_base64_encoded_len(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *out = xmalloc(cap + 1);

	out[0] = kind == WEB_FLASH_ALERT ? 'a' : 'n';
	sodium_bin2base64(out + 1, cap, (const unsigned char *)t, n,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

int web_flash_decode(const char *value, enum web_flash_kind *kind_out, char **text_out)
{
	size_t vlen, len = 0;
	unsigned char *bin = NULL;
	const char *end = NULL;
	int err = 0;

	*text_out = NULL;
	if (!value || (value[0] != 'n' && value[0] != 'a'))
		return error_set(SO_EINVALID, "not a flash message");
	vlen = strlen(value + 1);
	if (vlen + 1 > WEB_FLASH_VALUE_MAX)
		return error_set(SO_EINVALID, "flash message too long");
	bin = xmalloc(vlen + 1);
	if (sodium_base642bin(bin, vlen + 1, value + 1, vlen, NULL, &len, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    end != value + 1 + vlen || len > WEB_FLASH_TEXT_MAX ||
	    !text_ok((const char *)bin, len)) {
		err = error_set(SO_EINVALID, "not a flash message");
		goto done;
	}
	bin[len] = '\0';
	*kind_out = value[0] == 'a' ? WEB_FLASH_ALERT : WEB_FLASH_NOTICE;
	*text_out = (char *)bin;
	bin = NULL;
done:
	free(bin);
	return err;
}

static bool secure_site(const struct app *app)
{
	const char *u = app ? app->cfg.external_url : NULL;

	return u && strncasecmp(u, "https:", 6) == 0;
}

int web_flash_set(const struct app *app, struct http_request *req, enum web_flash_kind kind,
		  const char *text)
{
	char *value = web_flash_encode(kind, text);
	char *h = xasprintf(WEB_FLASH_COOKIE "=%s; Path=/-/; Max-Age=%d; HttpOnly; SameSite=Lax%s",
			    value, FLASH_MAX_AGE_S, secure_site(app) ? "; Secure" : "");
	int err = http_add_header(req, "Set-Cookie", h);

	free(h);
	free(value);
	return err;
}

int web_flash_take(const struct app *app, struct http_request *req,
		   enum web_flash_kind *kind_out, char **text_out)
{
	const char *value = http_request_cookie(req, WEB_FLASH_COOKIE);
	char *h;
	int err;

	*text_out = NULL;
	*kind_out = WEB_FLASH_NOTICE;
	if (!value)
		return 0;
	if (web_flash_decode(value, kind_out, text_out) < 0)
		error_clear(); /* a bad cookie is dropped, not an error */
	h = xasprintf(WEB_FLASH_COOKIE "=; Path=/-/; Max-Age=0; HttpOnly; SameSite=Lax%s",
		      secure_site(app) ? "; Secure" : "");
	err = http_add_header(req, "Set-Cookie", h);
	free(h);
	if (err < 0) {
		free(*text_out);
		*text_out = NULL;
	}
	return err;
}

int web_flash_html(struct buf *out, enum web_flash_kind kind, const char *text)
{
	if (!text)
		return 0;
	return html_printf(out, "<div class=\"flash %s\" role=\"%s\">%s</div>\n",
			   kind == WEB_FLASH_ALERT ? "flash-alert" : "flash-notice",
			   kind == WEB_FLASH_ALERT ? "alert" : "status", text);
}
