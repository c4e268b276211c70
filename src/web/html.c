/*
 * html.c: HTML escaping and the page layout; see html.h.
 *
 * Design: html_printf() is a deliberately small formatter: %s arguments are
 * always escaped, so a page template cannot forget to escape a value, and
 * literal markup comes only from the format string (a string literal).
 */
#include "web/html.h"
#include "auth/auth.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/error.h"

#include <stdarg.h>
#include <string.h>

int html_escape(struct buf *out, const char *s)
{
	const char *p, *run;
	int err = 0;

	if (!s)
		return 0;
	for (run = p = s; *p && err == 0; p++) {
		const char *rep;

		switch (*p) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: continue;
		}
		if ((err = buf_append(out, run, (size_t)(p - run))) == 0)
			err = buf_puts(out, rep);
		run = p + 1;
	}
	if (err == 0)
		err = buf_append(out, run, strlen(run));
	return err;
}

int html_printf(struct buf *out, const char *fmt, ...)
{
	va_list ap;
	const char *p, *run;
	int err = 0;

	va_start(ap, fmt);
	for (run = p = fmt; *p && err == 0; p++) {
		if (*p != '%')
			continue;
		if ((err = buf_append(out, run, (size_t)(p - run))) < 0)
			break;
		p++;
		if (*p == 's') {
			err = html_escape(out, va_arg(ap, const char *));
		} else if (*p == 'd') {
			err = buf_printf(out, "%d", va_arg(ap, int));
		} else if (strncmp(p, "lld", 3) == 0) {
			err = buf_printf(out, "%lld", va_arg(ap, long long));
			p += 2;
		} else if (strncmp(p, "zu", 2) == 0) {
			err = buf_printf(out, "%zu", va_arg(ap, size_t));
			p++;
		} else if (*p == '%') {
			err = buf_putc(out, '%');
		} else {
			err = error_set(SO_EFAIL, "html_printf: unsupported conversion");
			break;
		}
		run = p + 1;
	}
	if (err == 0)
		err = buf_append(out, run, strlen(run));
	va_end(ap);
	return err;
}

int html_page(struct buf *out, const char *title, const char *body_html,
	      const struct auth_identity *id)
{
	const struct store_user *u = id ? id->user : NULL;
	int err;

	err = html_printf(out,
		"<!DOCTYPE html>\n"
		"<html lang=\"en\">\n"
		"<head>\n"
		"<meta charset=\"utf-8\">\n"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		"<title>%s · " HTML_PRODUCT "</title>\n"
		"<link rel=\"stylesheet\" href=\"/assets/app.css\">\n"
		"</head>\n"
		"<body>\n"
		"<header class=\"topbar\">\n"
		"<a class=\"brand\" href=\"/\">" HTML_PRODUCT "</a>\n"
		"<nav class=\"account\">\n", title ? title : "");
	if (err == 0 && u)
		err = html_printf(out,
			"<span class=\"user\" title=\"%s\">@%s</span>\n"
			"<form class=\"signout\" method=\"post\" action=\"/users/sign_out\">\n"
			"<input type=\"hidden\" name=\"authenticity_token\" value=\"%s\">\n"
			"<button type=\"submit\" class=\"btn btn-link\">Sign out</button>\n"
			"</form>\n",
			u->name ? u->name : u->username, u->username,
			id->csrf_token ? id->csrf_token : "");
	else if (err == 0)
		err = buf_puts(out, "<a href=\"/users/sign_in\">Sign in</a>\n");
	if (err == 0)
		err = buf_puts(out, "</nav>\n</header>\n<main class=\"content\">\n");
	if (err == 0 && body_html)
		err = buf_puts(out, body_html);
	if (err == 0)
		err = buf_puts(out, "</main>\n</body>\n</html>\n");
	return err;
}
