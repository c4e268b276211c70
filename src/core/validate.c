/*
 * validate.c: GitLab's naming rules; see validate.h. The reserved-name
 * lists follow GitLab's path regex module (the top-level routes and the
 * project wildcard routes); a path is compared case-insensitively, as
 * GitLab does.
 */
#include "core/validate.h"

#include "util/buf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const top_level_reserved[] = {
	"-", ".well-known", "404.html", "422.html", "500.html", "502.html", "503.html",
	"admin", "api", "apple-touch-icon.png", "assets", "dashboard", "deploy.html",
	"explore", "favicon.ico", "favicon.png", "files", "groups", "health_check", "help",
	"import", "jwt", "login", "oauth", "profile", "projects", "public", "robots.txt", "s",
	"search", "sitemap", "sitemap.xml", "sitemap.xml.gz", "slash-command-logo.png",
	"snippets", "unsubscribes", "uploads", "users", "v2", NULL,
};

static const char *const project_reserved[] = {
	"-", "badges", "blame", "blob", "builds", "commits", "create", "create_dir", "edit",
	"files", "find_file", "new", "preview", "raw", "refs", "tree", "update", "wikis", NULL,
};

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcasecmp(s, *list))
			return true;
	return false;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcasecmp(s + a - b, suffix);
}

static bool path_char(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '.';
}

bool validate_path_reserved(const char *s, enum validate_path_kind kind)
{
	if (!s)
		return false;
	if (kind == VALIDATE_PATH_USER || kind == VALIDATE_PATH_GROUP_TOP)
		return in_list(s, top_level_reserved);
	if (kind == VALIDATE_PATH_PROJECT)
		return in_list(s, project_reserved);
	return !strcmp(s, "-");
}

const char *validate_path(const char *s, enum validate_path_kind kind)
{
	bool project = kind == VALIDATE_PATH_PROJECT;
	size_t len;

	if (!s || !*s)
		return "can't be blank";
	len = strlen(s);
	if (len > VALIDATE_PATH_MAX_LEN)
		return "is too long (maximum is 255 characters)";
	if (kind == VALIDATE_PATH_USER && len < 2)
		return "is too short (minimum is 2 characters)";
	for (size_t i = 0; i < len; i++)
		if (!(s[i] & 0x80) ? !path_char((unsigned char)s[i]) : true)
			goto bad_format;
	if (!(isalnum((unsigned char)s[0]) || s[0] == '_'))
		goto bad_format;
	if (ends_with(s, ".git") || ends_with(s, ".atom"))
		goto bad_format;
	if (!project && s[len - 1] == '.')
		goto bad_format;
	if (validate_path_reserved(s, kind))
		return "is a reserved name";
	return NULL;
bad_format:
	return project
		? "can contain only letters, digits, '_', '-' and '.'. Cannot start with '-' or '.', "
		  "end in '.git' or end in '.atom'"
		: "can contain only letters, digits, '_', '-' and '.'. Cannot start with '-' or '.' "
		  "or end in '.', '.git' or '.atom'";
}

const char *validate_namespace_path(const char *full_path)
{
	const char *seg = full_path, *why;
	char part[VALIDATE_PATH_MAX_LEN + 2];
	int depth = 0;

	if (!full_path || !*full_path)
		return "can't be blank";
	for (;;) {
		const char *slash = strchr(seg, '/');
		size_t n = slash ? (size_t)(slash - seg) : strlen(seg);

		if (++depth > VALIDATE_NAMESPACE_MAX_DEPTH)
			return "has too many levels (maximum is 20)";
		if (n == 0)
			return "can contain only letters, digits, '_', '-' and '.', in segments "
			       "separated by single '/'";
		if (n > VALIDATE_PATH_MAX_LEN)
			return "is too long (maximum is 255 characters)";
		memcpy(part, seg, n);
		part[n] = '\0';
		why = validate_path(part, depth == 1 ? VALIDATE_PATH_GROUP_TOP : VALIDATE_PATH_GROUP_SUB);
		if (why)
			return why;
		if (!slash)
			return NULL;
		seg = slash + 1;
	}
}

/* Letters here include every non-ASCII character (GitLab allows Unicode
 * letters and emoji); the JSON layer has already checked UTF-8. */
const char *validate_project_name(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t len;

	if (!name || !*name)
		return "can't be blank";
	len = strlen(name);
	if (len > VALIDATE_PATH_MAX_LEN)
		return "is too long (maximum is 255 characters)";
	if (!(isalnum(p[0]) || p[0] == '_' || p[0] >= 0x80))
		goto bad;
	for (size_t i = 0; i < len; i++)
		if (!(isalnum(p[i]) || p[i] >= 0x80 || strchr("_.+- ", p[i])))
			goto bad;
	return NULL;
bad:
	return "can contain only letters, digits, emoji, '_', '.', '+', dashes, or spaces. "
	       "It must start with a letter, digit, emoji, or '_'.";
}

const char *validate_user_name(const char *name)
{
	if (!name || !*name)
		return "can't be blank";
	if (strlen(name) > VALIDATE_PATH_MAX_LEN)
		return "is too long (maximum is 255 characters)";
	for (const char *p = name; *p; p++)
		if (*p == '<' || *p == '>')
			return "cannot contain the characters < or >";
	return NULL;
}

/* A pragmatic check, as GitLab's Devise regex is: one '@', a non-empty
 * local part without spaces, a domain with a dot, no spaces or control
 * characters anywhere. */
const char *validate_email(const char *email)
{
	const char *at, *dot;
	size_t len;

	if (!email || !*email)
		return "can't be blank";
	len = strlen(email);
	if (len > 254)
		return "is too long (maximum is 254 characters)";
	for (const char *p = email; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>' ||
		    *p == ',' || *p == ';' || *p == '"' || *p == '\\')
			return "is invalid";
	at = strchr(email, '@');
	if (!at || at == email || strchr(at + 1, '@'))
		return "is invalid";
	dot = strrchr(at + 1, '.');
	if (!dot || dot == at + 1 || !dot[1] || strstr(at + 1, ".."))
		return "is invalid";
	return NULL;
}

const char *validate_branch(const char *b)
{
	static const char *const bad = "is not a valid branch name";
	size_t len;

	if (!b || !*b)
		return "can't be blank";
	len = strlen(b);
	if (len > VALIDATE_PATH_MAX_LEN)
		return "is too long (maximum is 255 characters)";
	if (b[0] == '-' || b[0] == '/' || b[len - 1] == '/' || b[len - 1] == '.' ||
	    ends_with(b, ".lock") || strstr(b, "..") || strstr(b, "//") || strstr(b, "@{") ||
	    strstr(b, "/.") || b[0] == '.' || !strcmp(b, "@") || !strcmp(b, "HEAD"))
		return bad;
	for (const char *p = b; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= ' ' || c == 0x7f || strchr("~^:?*[\\", c))
			return bad;
	}
	return NULL;
}

bool validate_date(const char *s)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d, n = 0;

	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return false;
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10)
		return false;
	if (y < 1970 || m < 1 || m > 12 || d < 1)
		return false;
	if (m == 2 && d == 29)
		return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return d <= mdays[m - 1];
}

char *validate_path_from_name(const char *name)
{
	struct buf b = BUF_INIT(0);
	bool dash = false;

	for (const unsigned char *p = (const unsigned char *)name; p && *p; p++) {
		if (isalnum(*p) || *p == '_' || *p == '-') {
			if (dash && b.len)
				buf_putc(&b, '-');
			dash = false;
			buf_putc(&b, (char)tolower(*p));
		} else {
			dash = true;
		}
	}
	/* trim leading/trailing separators GitLab's path rules reject */
	{
		char *s = buf_detach(&b);
		size_t start = 0, end = strlen(s);

		while (start < end && strchr("-_.", s[start]) && s[start] != '_')
			start++;
		while (end > start && (s[end - 1] == '-' || s[end - 1] == '.'))
			end--;
		memmove(s, s + start, end - start);
		s[end - start] = '\0';
		return s;
	}
}
