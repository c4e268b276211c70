/*
 * reply.h: Mattermost CommandResponse JSON for slash-command replies, the
 * Slack link formatter, and the limits every reply keeps to.
 *
 * Design: a reply is a jansson object shaped as GitLab sends it:
 * {"response_type":"ephemeral"|"in_channel","status":200,"text":...,
 * "attachments":[...]} (GitLab's presenters put "status":200 in the body
 * and Mattermost ignores unknown keys). Builders apply everything GitLab's
 * format_response applies, at the moment a string goes in:
 *   - every string is scrubbed to valid UTF-8 (invalid sequences become
 *     U+FFFD), since jansson and Mattermost require UTF-8;
 *   - `text`, and each attachment's `pretext` and `text`, go through the
 *     link formatter (Markdown and HTML links become <url|text>); titles
 *     and fields do not, as in GitLab;
 *   - every string is cut to CHAT_TEXT_MAX_RUNES characters (Mattermost's
 *     post limit, 16383 runes: an in_channel post beyond it fails with
 *     "failed to post response"), at a character boundary, never inside a
 *     <url|text> link, with CHAT_TRUNCATION_MARKER appended.
 * chat_reply_dump() then keeps the whole body under CHAT_REPLY_MAX_BYTES
 * (Mattermost reads at most 1 MiB and stores attachments in post props,
 * at most 800000 runes) by dropping trailing attachments with a note.
 *
 * The link formatter follows GitLab's RE2 patterns (slack-messenger's
 * LinkFormatter) exactly, as hand-written linear scans; see reply.c.
 *
 * Ownership: builders return a new reference (json_decref() it); string
 * parameters are borrowed; returned char * are the caller's to free().
 */
#ifndef SO_CHAT_REPLY_H
#define SO_CHAT_REPLY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Mattermost's PostMessageMaxRunesV2 (model/post.go). */
#define CHAT_TEXT_MAX_RUNES 16383
/* The largest body chat_reply_dump() produces: under Mattermost's 1 MiB
 * read limit and its 760000-rune props split limit. */
#define CHAT_REPLY_MAX_BYTES 760000
/* Appended to a string that was cut (counted within the limit). */
#define CHAT_TRUNCATION_MARKER "\n\n_\u2026 (message truncated: too long for chat)_"

enum chat_response_type {
	CHAT_EPHEMERAL,  /* "ephemeral": only the invoking user sees it */
	CHAT_IN_CHANNEL, /* "in_channel": a post everyone in the channel sees */
};

/* Where Mattermost/Slack render markdown in an attachment (mrkdwn_in). */
enum chat_mrkdwn {
	CHAT_MRKDWN_TITLE = 1u << 0,
	CHAT_MRKDWN_PRETEXT = 1u << 1,
	CHAT_MRKDWN_TEXT = 1u << 2,
	CHAT_MRKDWN_FIELDS = 1u << 3,
};

struct chat_attachment_field {
	const char *title; /* borrowed */
	const char *value; /* borrowed */
	bool is_short;     /* "short":true; the key is left out when false */
	bool long_shown;   /* with is_short false: "short":false written out
	                      (GitLab's job Output field carries it) */
};

/* An attachment; NULL strings are left out of the JSON. All borrowed. */
struct chat_attachment {
	const char *title, *title_link;
	const char *author_name, *author_link, *author_icon;
	const char *fallback;
	const char *pretext; /* link-formatted */
	const char *text;    /* link-formatted */
	const char *color;   /* "#38ae67", "good"... */
	const struct chat_attachment_field *fields;
	size_t n_fields;
	unsigned mrkdwn_in; /* enum chat_mrkdwn bits; 0 leaves the key out */
	bool raw;           /* true: no link formatting of pretext/text either */
};

/* A reply {"response_type":...,"status":200,"text":text}; a NULL text
 * leaves "text" out (a reply made of attachments only). */
json_t *chat_reply_new(enum chat_response_type type, const char *text);
json_t *chat_reply_ephemeral(const char *text);
json_t *chat_reply_in_channel(const char *text);
/* Appends an attachment to reply's "attachments" (created on first use). */
void chat_reply_add_attachment(json_t *reply, const struct chat_attachment *a);

/* The reply as compact JSON, at most CHAT_REPLY_MAX_BYTES: trailing
 * attachments are dropped (and the text says so) when it would be larger.
 * reply is borrowed but may be modified that way. Caller frees. */
char *chat_reply_dump(json_t *reply);

/* GitLab's LinkFormatter: `<a ...href="url"...>text</a>` and then
 * `[text](http://|https://|mailto:...)` become `<url|text>` (`<url>` for
 * an empty Markdown text); the input is first scrubbed to valid UTF-8.
 * NULL in, NULL out. Caller frees. */
char *chat_link_format(const char *markdown);

/* len bytes of s with every invalid UTF-8 sequence replaced by U+FFFD
 * (one per maximal invalid subpart, as Ruby's scrub). Caller frees. */
char *chat_utf8_scrub(const char *s, size_t len);

/* Unicode characters in valid UTF-8 s. */
size_t chat_utf8_runes(const char *s);

/* A copy of valid UTF-8 s cut to at most max_runes characters including
 * CHAT_TRUNCATION_MARKER (the marker is added only when cut). A cut that
 * would split a <url|text> link moves before it. Caller frees. */
char *chat_text_limit(const char *s, size_t max_runes);

#endif
