/*
 * http_path.h: which request paths are git URLs, and of which project.
 *
 * Design: a pure function over the raw (still percent-encoded) request
 * path, so the route handler can answer HTTP_NEXT cheaply for every other
 * URL and the parser can be fuzzed on its own.
 */
#ifndef SO_GIT_HTTP_PATH_H
#define SO_GIT_HTTP_PATH_H

enum git_http_endpoint {
	GIT_HTTP_NONE = 0,        /* not a git URL: HTTP_NEXT */
	GIT_HTTP_INFO_REFS,       /* GET info/refs */
	GIT_HTTP_UPLOAD_PACK,     /* POST git-upload-pack */
	GIT_HTTP_RECEIVE_PACK,    /* POST git-receive-pack */
	GIT_HTTP_DUMB,            /* HEAD, objects/...: not served (403) */
};

/* Splits a raw request path "/<ns>/<project>.git/<rest>". On a match
 * returns the endpoint and sets *project_path_out to "<ns>/<project>"
 * (caller frees) and *rest_out to the borrowed tail ("info/refs").
 * Returns GIT_HTTP_NONE (outputs NULL) for anything else, including
 * segments with characters GitLab paths never contain. */
enum git_http_endpoint git_http_parse_path(const char *path, char **project_path_out,
					   const char **rest_out);

#endif
