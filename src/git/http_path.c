/*
 * http_path.c: recognising git URLs (see http_path.h).
 *
 * Design: walk the raw path segment by segment until one ends in ".git";
 * every segment before it (at least one) is the namespace, and each must
 * look like a GitLab path segment ([A-Za-z0-9_.-], not starting with '.'),
 * so percent-escapes, "..", empty segments and control bytes never reach
 * the store lookup or the CGI's PATH_INFO. The tail must be one of the
 * smart-protocol endpoints or a dumb-protocol file.
 */
#include "git/http_path.h"

#include <stdbool.h>
#include <string.h>

#include "util/buf.h"

#define GIT_PATH_MAX 1024 /* a longer URL is not a repository URL */

static bool segment_ok(const char *s, size_t n)
{
	if (n == 0 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return s[0] != '.';
}

enum git_http_endpoint git_http_parse_path(const char *path, char **project_path_out,
					   const char **rest_out)
{
	const char *p, *seg, *rest = NULL;
	size_t nseg = 0, plen = 0;
	enum git_http_endpoint ep;

	*project_path_out = NULL;
	*rest_out = NULL;
	if (!path || path[0] != '/' || strlen(path) > GIT_PATH_MAX)
		return GIT_HTTP_NONE;
	/* Walk the segments until one ends in ".git": that is the project;
	 * the ones before it are the namespace. */
	for (p = path + 1;;) {
		const char *end = strchr(p, '/');
		size_t n;

		if (!end)
			return GIT_HTTP_NONE; /* no "<project>.git/" segment */
		seg = p;
		n = (size_t)(end - p);
		if (n > 4 && !memcmp(seg + n - 4, ".git", 4)) {
			if (nseg == 0 || !segment_ok(seg, n - 4))
				return GIT_HTTP_NONE;
			plen = (size_t)(seg + n - 4 - (path + 1));
			rest = end + 1;
			break;
		}
		if (!segment_ok(seg, n))
			return GIT_HTTP_NONE;
		nseg++;
		p = end + 1;
	}
	if (!strcmp(rest, "info/refs"))
		ep = GIT_HTTP_INFO_REFS;
	else if (!strcmp(rest, "git-upload-pack"))
		ep = GIT_HTTP_UPLOAD_PACK;
	else if (!strcmp(rest, "git-receive-pack"))
		ep = GIT_HTTP_RECEIVE_PACK;
	else if (!strcmp(rest, "HEAD") || !strncmp(rest, "objects/", 8))
		ep = GIT_HTTP_DUMB;
	else
		return GIT_HTTP_NONE;
	*project_path_out = xstrndup(path + 1, plen);
	*rest_out = rest;
	return ep;
}
