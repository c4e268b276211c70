/*
 * reply.c: CommandResponse builders, the link formatter, UTF-8 scrubbing
 * and the size limits; see reply.h.
 *
 * The link formatter reproduces GitLab's two RE2 patterns without a regex
 * engine. RE2 runs them with leftmost-first (Perl) semantics, global
 * replace, HTML first:
 *
 *   HTML  <a(?:.*?)href=['"](?P<link>.+?)['"](?:.*?)>(?P<text>.+?)</a>
 *         ('.' does not match '\n', so a match lies within one line)
 *   MD    \[(?P<text>[^\[\]]*?)\]\((?P<link>(?:https?://|mailto:)
 *           (?:[V]*?|[V]*?\([V]*?\)[V]*?))\)
 *         V = \w-.~:/?#[]@!$&'*+,;=   (ASCII; no parens, no '%')
 *
 * HTML: from a start "<a", the lazy quantifiers pick the first `href=`
 * followed by a quote, then the first quote after at least one link
 * character, then the first '>', then the first "</a>" after at least one
 * text character, all before the end of the line. Each choice only moves
 * later positions further right, so if the first choice fails every later
 * one fails too, and every later start on the same line fails as well:
 * the scan then skips to the next line. Linear.
 * Markdown: the text runs to the first ']' (a '[' first means no match
 * here); V holds no parentheses, so both link alternatives are fixed by
 * where the next parentheses are; each attempt reads at most up to the
 * third parenthesis after its "](", so the total work is linear too.
 */
#include "chat/reply.h"

#include "util/buf.h"
#include "util/utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 ---- */

char *chat_utf8_scrub(const char *s, size_t len)
{
	struct buf b = BUF_INIT(0);
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, start = 0;

	while (i < len) {
		size_t bad = 0, k = utf8_seq_len(p + i, len - i, &bad);

		if (k) {
			i += k;
			continue;
		}
		buf_append(&b, s + start, i - start);
		buf_puts(&b, "\xef\xbf\xbd");
		i += bad;
		start = i;
	}
	buf_append(&b, s + start, len - start);
	return buf_detach(&b);
}

size_t chat_utf8_runes(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

char *chat_text_limit(const char *s, size_t max_runes)
{
	size_t marker = chat_utf8_runes(CHAT_TRUNCATION_MARKER), keep, runes = 0, cut = 0;
	const char *lt = NULL, *gt = NULL;
	char *out;

	if (chat_utf8_runes(s) <= max_runes)
		return xstrdup(s);
	keep = max_runes > marker ? max_runes - marker : 0;
	for (; s[cut]; cut++) {
		if (((unsigned char)s[cut] & 0xc0) != 0x80) {
			if (runes == keep)
				break;
			runes++;
		}
		if (s[cut] == '<')
			lt = s + cut;
		else if (s[cut] == '>')
			gt = s + cut;
	}
	/* Don't leave half a <url|text> link: cut before an unclosed '<'
	 * that is close to the end. */
	if (lt && (!gt || gt < lt) && (size_t)(s + cut - lt) <= 4096)
		cut = (size_t)(lt - s);
	out = xmalloc(cut + sizeof(CHAT_TRUNCATION_MARKER));
	memcpy(out, s, cut);
	memcpy(out + cut, CHAT_TRUNCATION_MARKER, sizeof(CHAT_TRUNCATION_MARKER));
	return out;
}

/* ---- link formatter ---- */

static bool is_quote(char c)
{
	return c == '"' || c == '\'';
}

/* The first occurrence of needle in s[from, to), or NULL. */
static const char *find_in(const char *s, size_t from, size_t to, const char *needle)
{
	size_t nl = strlen(needle);

	for (size_t i = from; i + nl <= to; i++)
		if (s[i] == needle[0] && memcmp(s + i, needle, nl) == 0)
			return s + i;
	return NULL;
}

static void put_link(struct buf *b, const char *link, size_t ll, const char *text, size_t tl)
{
	buf_putc(b, '<');
	buf_append(b, link, ll);
	if (tl) {
		buf_putc(b, '|');
		buf_append(b, text, tl);
	}
	buf_putc(b, '>');
}

/* The HTML pass over s (n bytes), appended to out. */
static void format_html(const char *s, size_t n, struct buf *out)
{
	size_t copied = 0, at = 0;

	while (at < n) {
		const char *a = find_in(s, at, n, "<a"), *nlp, *h = NULL, *e;
		size_t le, i, q, g;

		if (!a)
			break;
		i = (size_t)(a - s);
		nlp = memchr(a, '\n', n - i);
		le = nlp ? (size_t)(nlp - s) : n;
		/* first href= followed by a quote */
		for (size_t j = i + 2; j + 6 <= le; j++)
			if (s[j] == 'h' && memcmp(s + j, "href=", 5) == 0 && is_quote(s[j + 5])) {
				h = s + j;
				break;
			}
		if (!h)
			goto next_line;
		for (q = (size_t)(h - s) + 7; q < le && !is_quote(s[q]); q++)
			;
		if (q >= le)
			goto next_line;
		for (g = q + 1; g < le && s[g] != '>'; g++)
			;
		if (g >= le || !(e = find_in(s, g + 2, le, "</a>")))
			goto next_line;
		buf_append(out, s + copied, i - copied);
		put_link(out, h + 6, (size_t)(s + q - (h + 6)), s + g + 1,
			 (size_t)(e - (s + g + 1)));
		copied = at = (size_t)(e - s) + 4;
		continue;
next_line:
		at = le + 1;
	}
	if (copied < n)
		buf_append(out, s + copied, n - copied);
}

static bool is_v(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("_-.~:/?#[]@!$&'*+,;=", c));
}

static size_t skip_v(const char *s, size_t i, size_t n)
{
	while (i < n && is_v((unsigned char)s[i]))
		i++;
	return i;
}

/* The Markdown pass over s (n bytes), appended to out. */
static void format_markdown(const char *s, size_t n, struct buf *out)
{
	static const char *const schemes[] = { "https://", "http://", "mailto:" };
	size_t copied = 0, at = 0;

	while (at < n) {
		const char *lb = memchr(s + at, '[', n - at);
		size_t b, j, k, v, end = 0;

		if (!lb)
			break;
		b = (size_t)(lb - s);
		for (j = b + 1; j < n && s[j] != '[' && s[j] != ']'; j++)
			;
		if (j >= n)
			break;
		if (s[j] == '[') {
			at = j;
			continue;
		}
		at = j + 1; /* the next '[' is after this ']' */
		if (j + 1 >= n || s[j + 1] != '(')
			continue;
		k = j + 2;
		for (size_t m = 0; m < 3 && !end; m++) {
			size_t sl = strlen(schemes[m]);

			if (n - k < sl || memcmp(s + k, schemes[m], sl) != 0)
				continue;
			v = skip_v(s, k + sl, n);
			if (v < n && s[v] == ')') {
				end = v; /* [V]*? then ')' */
			} else if (v < n && s[v] == '(') {
				size_t w = skip_v(s, v + 1, n), x;

				if (w < n && s[w] == ')') {
					x = skip_v(s, w + 1, n);
					if (x < n && s[x] == ')')
						end = x;
				}
			}
			break; /* the schemes exclude each other */
		}
		if (!end)
			continue;
		buf_append(out, s + copied, b - copied);
		put_link(out, s + k, end - k, s + b + 1, j - b - 1);
		copied = at = end + 1;
	}
	if (copied < n)
		buf_append(out, s + copied, n - copied);
}

char *chat_link_format(const char *markdown)
{
	struct buf html = BUF_INIT(0), md = BUF_INIT(0);
	char *clean;

	if (!markdown)
		return NULL;
	clean = chat_utf8_scrub(markdown, strlen(markdown));
	format_html(clean, strlen(clean), &html);
	format_markdown(buf_cstr(&html), html.len, &md);
	free(clean);
	buf_dispose(&html);
	return buf_detach(&md);
}

/* ---- replies ---- */

/* A JSON string of s: scrubbed, formatted when asked, limited. */
static json_t *text_value(const char *s, bool format)
{
	char *clean = format ? chat_link_format(s) : chat_utf8_scrub(s, strlen(s));
	char *limited = chat_text_limit(clean, CHAT_TEXT_MAX_RUNES);
	json_t *v = json_string_nocheck(limited);

	free(clean);
	free(limited);
	return v;
}

static void set_text(json_t *obj, const char *key, const char *s, bool format)
{
	if (s)
		json_object_set_new_nocheck(obj, key, text_value(s, format));
}

json_t *chat_reply_new(enum chat_response_type type, const char *text)
{
	json_t *r = json_object();

	json_object_set_new_nocheck(r, "response_type",
				    json_string(type == CHAT_IN_CHANNEL ? "in_channel"
									: "ephemeral"));
	json_object_set_new_nocheck(r, "status", json_integer(200));
	set_text(r, "text", text, true);
	return r;
}

json_t *chat_reply_ephemeral(const char *text)
{
	return chat_reply_new(CHAT_EPHEMERAL, text);
}

json_t *chat_reply_in_channel(const char *text)
{
	return chat_reply_new(CHAT_IN_CHANNEL, text);
}

void chat_reply_add_attachment(json_t *reply, const struct chat_attachment *a)
{
	json_t *list = json_object_get(reply, "attachments"), *o = json_object();

	if (!json_is_array(list)) {
		list = json_array();
		json_object_set_new_nocheck(reply, "attachments", list);
	}
	set_text(o, "title", a->title, false);
	set_text(o, "title_link", a->title_link, false);
	set_text(o, "author_name", a->author_name, false);
	set_text(o, "author_link", a->author_link, false);
	set_text(o, "author_icon", a->author_icon, false);
	set_text(o, "fallback", a->fallback, false);
	set_text(o, "pretext", a->pretext, !a->raw);
	set_text(o, "text", a->text, !a->raw);
	set_text(o, "color", a->color, false);
	if (a->n_fields) {
		json_t *fields = json_array();

		for (size_t i = 0; i < a->n_fields; i++) {
			json_t *f = json_object();

			set_text(f, "title", a->fields[i].title, false);
			set_text(f, "value", a->fields[i].value, false);
			if (a->fields[i].is_short || a->fields[i].long_shown)
				json_object_set_new_nocheck(f, "short",
							    json_boolean(a->fields[i].is_short));
			json_array_append_new(fields, f);
		}
		json_object_set_new_nocheck(o, "fields", fields);
	}
	if (a->mrkdwn_in) {
		static const char *const names[] = { "title", "pretext", "text", "fields" };
		json_t *m = json_array();

		for (unsigned i = 0; i < 4; i++)
			if (a->mrkdwn_in & (1u << i))
				json_array_append_new(m, json_string(names[i]));
		json_object_set_new_nocheck(o, "mrkdwn_in", m);
	}
	json_array_append_new(list, o);
}

static char *dump(json_t *reply)
{
	char *s = json_dumps(reply, JSON_COMPACT | JSON_PRESERVE_ORDER);

	if (!s)
		abort(); /* only out of memory can fail here: see HACKING.md */
	return s;
}

char *chat_reply_dump(json_t *reply)
{
	json_t *list = json_object_get(reply, "attachments");
	const char *t = json_string_value(json_object_get(reply, "text"));
	char *orig = xstrdup(t), *s;
	size_t dropped = 0;

	while (strlen(s = dump(reply)) > CHAT_REPLY_MAX_BYTES && json_is_array(list) &&
	       json_array_size(list) > 0) {
		char *note, *limited;

		free(s);
		json_array_remove(list, json_array_size(list) - 1);
		dropped++;
		note = xasprintf("%s%s_%zu attachment%s left out: the reply was too large "
				 "for chat._",
				 orig ? orig : "", orig && *orig ? "\n\n" : "", dropped,
				 dropped == 1 ? " was" : "s were");
		limited = chat_text_limit(note, CHAT_TEXT_MAX_RUNES);
		json_object_set_new_nocheck(reply, "text", json_string_nocheck(limited));
		free(note);
		free(limited);
	}
	free(orig);
	return s;
}
