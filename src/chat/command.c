/*
 * command.c: the chat command grammar; see command.h.
 *
 * Each matcher mirrors one of GitLab's regexes. The comment above each one
 * gives the regex and why the scan returns what the regex engine returns:
 * greedy quantifiers over classes that cannot overlap the next token never
 * need to give anything back, so a single forward pass suffices; the two
 * places where Ruby would backtrack (issue move's optional "to", run's
 * trailing whitespace) are handled explicitly. Every matcher is O(len).
 */
#include "chat/command.h"

#include "util/buf.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

/* Ruby's \s: [ \t\n\v\f\r]. */
static bool is_ws(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static size_t skip_ws(const char *s, size_t i, size_t n)
{
	while (i < n && is_ws((unsigned char)s[i]))
		i++;
	return i;
}

/* The literal word at s[i]; returns the index after it, or 0 when absent
 * (a literal never matches at index 0 here except for the first word,
 * which is checked with starts_with). */
static size_t lit(const char *s, size_t i, size_t n, const char *word)
{
	size_t wl = strlen(word);

	if (n - i < wl || memcmp(s + i, word, wl) != 0)
		return 0;
	return i + wl;
}

/* `\s+` at i: the index after the maximal run, or 0 when there is none. */
static size_t ws1(const char *s, size_t i, size_t n)
{
	size_t j = skip_ws(s, i, n);

	return j > i ? j : 0;
}

/* `#?\d+` at i: the iid and the index after the digits, or 0 when absent.
 * Leading zeros are fine ("007" is 7); a value beyond int64 saturates. */
static size_t iid_at(const char *s, size_t i, size_t n, int64_t *iid)
{
	int64_t v = 0;
	size_t j;

	if (i < n && s[i] == '#')
		i++;
	for (j = i; j < n && is_digit((unsigned char)s[j]); j++) {
		int d = s[j] - '0';

		if (v > (INT64_MAX - d) / 10)
			v = INT64_MAX;
		else
			v = v * 10 + d;
	}
	if (j == i)
		return 0;
	*iid = v;
	return j;
}

/* `\Aissue\s+<word>\s+`: the index after it, or 0. */
static size_t issue_prefix(const char *s, size_t n, const char *word)
{
	size_t i;

	if ((i = lit(s, 0, n, "issue")) == 0 || (i = ws1(s, i, n)) == 0 ||
	    (i = lit(s, i, n, word)) == 0)
		return 0;
	return ws1(s, i, n);
}

static size_t line_end(const char *s, size_t i, size_t n)
{
	const char *nl = memchr(s + i, '\n', n - i);

	return nl ? (size_t)(nl - s) : n;
}

/* Ruby's strip: ASCII whitespace (NUL cannot occur: it is refused). */
static char *strip_dup(const char *s, size_t a, size_t b)
{
	while (a < b && is_ws((unsigned char)s[a]))
		a++;
	while (b > a && is_ws((unsigned char)s[b - 1]))
		b--;
	return xstrndup(s + a, b - a);
}

/*
 * Rails' String#blank?: empty or only Unicode White_Space ([[:space:]]),
 * which is wider than \s (no-break space, ideographic space...). Bytes
 * that are not valid UTF-8 are not blank.
 */
static bool is_blank(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned cp;
		size_t k;

		if (p[i] < 0x80) {
			cp = p[i];
			k = 1;
		} else if ((p[i] & 0xe0) == 0xc0 && i + 1 < n && (p[i + 1] & 0xc0) == 0x80) {
			cp = ((p[i] & 0x1fu) << 6) | (p[i + 1] & 0x3fu);
			k = 2;
		} else if ((p[i] & 0xf0) == 0xe0 && i + 2 < n && (p[i + 1] & 0xc0) == 0x80 &&
			   (p[i + 2] & 0xc0) == 0x80) {
			cp = ((p[i] & 0x0fu) << 12) | ((p[i + 1] & 0x3fu) << 6) | (p[i + 2] & 0x3fu);
			k = 3;
		} else {
			return false; /* 4-byte sequences hold no White_Space */
		}
		if (!(cp == ' ' || (cp >= 0x09 && cp <= 0x0d) || cp == 0x85 || cp == 0xa0 ||
		      cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
		      cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000))
			return false;
		i += k;
	}
	return true;
}

/* IssueShow `\Aissue\s+show\s+#?(?<iid>\d+)` and IssueClose (same with
 * "close"): no \z, so "issue show 12abc" is 12. */
static bool match_iid_only(const char *s, size_t n, const char *word, struct chat_command *c)
{
	size_t i = issue_prefix(s, n, word);

	return i && iid_at(s, i, n, &c->iid);
}

/* IssueNew `\Aissue\s+(?:new|create)\s+(?<title>[^\n]*)\n*(?<description>(?:.|\n)*)`:
 * \s+ is greedy and [^\n]* may be empty, so the title starts after all
 * the whitespace (newlines too) and runs to the end of its line; the
 * description is everything after the following newlines, rstripped. */
static bool match_issue_new(const char *s, size_t n, struct chat_command *c)
{
	size_t i = issue_prefix(s, n, "new"), e, d;

	if (!i)
		i = issue_prefix(s, n, "create");
	if (!i)
		return false;
	e = line_end(s, i, n);
	for (d = e; d < n && s[d] == '\n'; d++)
		;
	c->title = xstrndup(s + i, e - i);
	while (n > d && is_ws((unsigned char)s[n - 1]))
		n--;
	c->description = xstrndup(s + d, n - d);
	return true;
}

/* IssueSearch `\Aissue\s+search\s+(?<query>.*)`: the query is the rest of
 * the line where the whitespace run ends (possibly empty). */
static bool match_issue_search(const char *s, size_t n, struct chat_command *c)
{
	size_t i = issue_prefix(s, n, "search");

	if (!i)
		return false;
	c->query = xstrndup(s + i, line_end(s, i, n) - i);
	return true;
}

/* IssueMove `\Aissue\s+move\s+\#?(?<iid>\d+)\s+(?:to\s+)?(?<project_path>[^\s]+)`:
 * the optional "to\s+" is taken only if a path follows it; otherwise the
 * engine backtracks and "to" itself is the path ("issue move 12 to"). */
static bool match_issue_move(const char *s, size_t n, struct chat_command *c)
{
	size_t i = issue_prefix(s, n, "move"), p, q, e;
	int64_t iid = 0;

	if (!i || (i = iid_at(s, i, n, &iid)) == 0 || (p = ws1(s, i, n)) == 0)
		return false;
	q = p;
	if (lit(s, p, n, "to") && p + 2 < n && is_ws((unsigned char)s[p + 2])) {
		size_t r = skip_ws(s, p + 2, n);

		if (r < n)
			q = r;
	}
	for (e = q; e < n && !is_ws((unsigned char)s[e]); e++)
		;
	if (e == q)
		return false;
	c->iid = iid;
	c->project_path = xstrndup(s + q, e - q);
	return true;
}

/* IssueComment `\Aissue\s+comment\s+#?(?<iid>\d+)\n*(?<note_body>(.|\n)*)`,
 * then note_body.strip: the body may start on the same line. */
static bool match_issue_comment(const char *s, size_t n, struct chat_command *c)
{
	size_t i = issue_prefix(s, n, "comment");
	int64_t iid = 0;

	if (!i || (i = iid_at(s, i, n, &iid)) == 0)
		return false;
	c->iid = iid;
	c->note = strip_dup(s, i, n);
	return true;
}

/*
 * Deploy (GitLab's ReDoS-safe version): `\Adeploy\s`, then the rest is
 * split at the LAST match of `\sto+\s` (String#rpartition: the greatest
 * start position where the pattern matches; at a given start o+ is greedy
 * and must be followed by \s, so it takes the whole run of o's). No match,
 * or a blank side, is no command; both sides are stripped.
 */
static bool match_deploy(const char *s, size_t n, struct chat_command *c)
{
	const char *r;
	size_t rn, sep = 0, after = 0;
	bool found = false;

	if (!lit(s, 0, n, "deploy") || n < 7 || !is_ws((unsigned char)s[6]))
		return false;
	r = s + 7;
	rn = n - 7;
	for (size_t p = 0; p + 3 < rn; p++) {
		size_t k;

		if (!is_ws((unsigned char)r[p]) || r[p + 1] != 't' || r[p + 2] != 'o')
			continue;
		for (k = p + 2; k < rn && r[k] == 'o'; k++)
			;
		if (k < rn && is_ws((unsigned char)r[k])) {
			found = true;
			sep = p;
			after = k + 1;
		}
	}
	if (!found || is_blank(r, sep) || is_blank(r + after, rn - after))
		return false;
	c->from = strip_dup(r, 0, sep);
	c->to = strip_dup(r, after, rn);
	return true;
}

/*
 * Run `\Arun\s+(?<command>\S+)(?:\s+(?<arguments>.+))?\z` with /m (dot
 * matches newlines). The job name is the maximal non-space run; what
 * follows its whitespace is the arguments, verbatim to the end. When only
 * whitespace follows, Ruby backtracks: with two or more whitespace bytes
 * \s+ gives the last one back to `.+` (arguments " " or "\n"); with
 * exactly one there is no match at all ("run foo " is help).
 */
static bool match_run(const char *s, size_t n, struct chat_command *c)
{
	size_t i, e, r;

	if ((i = lit(s, 0, n, "run")) == 0 || (i = ws1(s, i, n)) == 0)
		return false;
	for (e = i; e < n && !is_ws((unsigned char)s[e]); e++)
		;
	if (e == i)
		return false;
	if (e == n) {
		c->job = xstrndup(s + i, e - i);
		return true;
	}
	r = skip_ws(s, e, n);
	if (r == n) {
		if (n - e < 2)
			return false;
		r = n - 1;
	}
	c->job = xstrndup(s + i, e - i);
	c->arguments = xstrndup(s + r, n - r);
	return true;
}

int chat_command_parse(const char *text, size_t len, struct chat_command *out)
{
	memset(out, 0, sizeof(*out));
	if (len > CHAT_COMMAND_MAX)
		return error_set(SO_ETOOBIG, "the command is too long (at most %d bytes)",
				 CHAT_COMMAND_MAX);
	if (len && memchr(text, '\0', len))
		return error_set(SO_EINVALID, "the command contains a NUL byte");
	if (len == 0)
		text = "";
	out->help_requested = len >= 4 && memcmp(text, "help", 4) == 0;
	if (match_iid_only(text, len, "show", out))
		out->kind = CHAT_CMD_ISSUE_SHOW;
	else if (match_issue_new(text, len, out))
		out->kind = CHAT_CMD_ISSUE_NEW;
	else if (match_issue_search(text, len, out))
		out->kind = CHAT_CMD_ISSUE_SEARCH;
	else if (match_issue_move(text, len, out))
		out->kind = CHAT_CMD_ISSUE_MOVE;
	else if (match_iid_only(text, len, "close", out))
		out->kind = CHAT_CMD_ISSUE_CLOSE;
	else if (match_issue_comment(text, len, out))
		out->kind = CHAT_CMD_ISSUE_COMMENT;
	else if (match_deploy(text, len, out))
		out->kind = CHAT_CMD_DEPLOY;
	else if (match_run(text, len, out))
		out->kind = CHAT_CMD_RUN;
	else if (len == 16 && memcmp(text, "incident declare", 16) == 0)
		out->kind = CHAT_CMD_INCIDENT_DECLARE;
	else
		out->kind = CHAT_CMD_HELP;
	if (out->kind == CHAT_CMD_HELP)
		out->iid = 0; /* a matcher that failed late may have set it */
	return 0;
}

void chat_command_dispose(struct chat_command *c)
{
	if (!c)
		return;
	free(c->title);
	free(c->description);
	free(c->query);
	free(c->project_path);
	free(c->note);
	free(c->from);
	free(c->to);
	free(c->job);
	free(c->arguments);
	memset(c, 0, sizeof(*c));
}

void chat_command_restrict(struct chat_command *c, unsigned available)
{
	bool help;

	if (!c || c->kind == CHAT_CMD_HELP || (available & CHAT_CMD_BIT(c->kind)))
		return;
	help = c->help_requested;
	chat_command_dispose(c);
	c->help_requested = help;
}

static const struct {
	const char *name;
	const char *help;
} commands[CHAT_CMD__COUNT] = {
	[CHAT_CMD_HELP] = { "help", "help" },
	[CHAT_CMD_ISSUE_SHOW] = { "issue show", "issue show <id>" },
	[CHAT_CMD_ISSUE_NEW] = { "issue new",
				 "issue new <title> *`\u21e7 Shift`*+*`\u21b5 Enter`* <description>" },
	[CHAT_CMD_ISSUE_SEARCH] = { "issue search", "issue search <your query>" },
	[CHAT_CMD_ISSUE_MOVE] = { "issue move", "issue move <issue_id> (to)? <project_path>" },
	[CHAT_CMD_ISSUE_CLOSE] = { "issue close", "issue close <id>" },
	[CHAT_CMD_ISSUE_COMMENT] = { "issue comment",
				     "issue comment <id> *`\u21e7 Shift`*+*`\u21b5 Enter`* <comment>" },
	[CHAT_CMD_DEPLOY] = { "deploy", "deploy <environment> to <target-environment>" },
	[CHAT_CMD_RUN] = { "run", "run <command> <arguments>" },
	[CHAT_CMD_INCIDENT_DECLARE] = { "incident declare", "incident declare" },
};

const char *chat_command_name(enum chat_command_kind kind)
{
	return (unsigned)kind < CHAT_CMD__COUNT ? commands[kind].name : "help";
}

const char *chat_command_help_message(enum chat_command_kind kind)
{
	return (unsigned)kind < CHAT_CMD__COUNT ? commands[kind].help : "help";
}
