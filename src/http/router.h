/*
 * router.h: matching a request's method and raw path against the route
 * table (struct http_route in server.h). Internal to the HTTP layer; kept
 * apart from server.c so it can be tested without sockets.
 *
 * Design: a pattern is a '/'-separated list of segments:
 *   literal    "projects"  matches the same raw (still encoded) segment;
 *   ":name"    matches one non-empty segment and captures it
 *              percent-decoded ("group%2Fproject" -> "group/project");
 *              literal text after the name ("[A-Za-z0-9_]+") must end the
 *              segment and is not captured (":repo.git");
 *   "*name"    (last segment only) captures the rest of the path,
 *              decoded, '/' kept, possibly empty.
 * Matching is done on the structure first and decoding second, so a path
 * that matches a pattern but carries a bad escape ("%zz", "%00") in a
 * captured part is reported as SO_EINVALID (the server answers 400)
 * rather than as "no match". A route whose method is NULL matches any
 * method; a GET route also matches HEAD.
 *
 * Ownership: a struct router_match (zero-initialised before first use)
 * owns the decoded values; parameter names point into the (static)
 * patterns. router_match_clear() frees the values.
 */
#ifndef SO_HTTP_ROUTER_H
#define SO_HTTP_ROUTER_H

#include "http/server.h"

#include <stdbool.h>
#include <stddef.h>

#define ROUTER_MAX_PARAMS 16

struct router_param {
	const char *name; /* borrowed from the pattern, not NUL-terminated */
	size_t name_len;
	char *value;      /* decoded, owned */
};

struct router_match {
	struct router_param params[ROUTER_MAX_PARAMS];
	size_t n;
};

/* 1 when path matches pattern (m holds the parameters), 0 when not (m is
 * empty), SO_EINVALID when it matches but a captured part does not decode.
 * m is cleared first. */
int router_match_path(const char *pattern, const char *path, struct router_match *m);
bool router_method_matches(const char *route_method, const char *method);
/* Finds the first route at index >= start whose method and pattern match.
 * Returns 1 (index in *index, parameters in m), 0 when there is none, or
 * SO_EINVALID as router_match_path does. */
int router_find(const struct http_route *routes, size_t nroutes, size_t start,
		const char *method, const char *path, struct router_match *m, size_t *index);
/* The Allow header for path: the methods of every route whose pattern
 * matches, comma-separated, HEAD added beside GET; NULL when no pattern
 * matches or a matching route takes any method. Caller frees. */
char *router_allowed(const struct http_route *routes, size_t nroutes, const char *path);
/* The decoded value of parameter name; NULL when absent. Borrowed. */
const char *router_match_get(const struct router_match *m, const char *name);
void router_match_clear(struct router_match *m); /* accepts NULL */

#endif
