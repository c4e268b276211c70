/*
 * fake_http.h: a stand-in for the request side of http/server.h, so auth
 * and web unit tests can hand-build requests (headers, cookies, query)
 * and read back what a handler answered (status, headers, body) without a
 * network server. Linked instead of the http part's server.c.
 */
#ifndef SO_TESTS_FAKE_HTTP_H
#define SO_TESTS_FAKE_HTTP_H

#include <stddef.h>

#define FAKE_MAX 16

struct fake_pair {
	char *name;
	char *value;
};

struct http_request {
	const char *method, *path, *query_string;
	struct fake_pair headers[FAKE_MAX];
	size_t nheaders;
	struct fake_pair cookies[FAKE_MAX];
	size_t ncookies;
	struct fake_pair query[FAKE_MAX];
	size_t nquery;
	const char *body;
	size_t body_len;
	/* the answer */
	struct fake_pair out[FAKE_MAX];
	size_t nout;
	unsigned status;
	char *content_type;
	char *answer;
	size_t answer_len;
	int answered;
};

void fake_init(struct http_request *req);
void fake_dispose(struct http_request *req);
void fake_header(struct http_request *req, const char *name, const char *value);
void fake_cookie(struct http_request *req, const char *name, const char *value);
void fake_query(struct http_request *req, const char *name, const char *value);
/* The nth response header called name (case-insensitive), NULL past the last. */
const char *fake_out(const struct http_request *req, const char *name, size_t nth);
/* Moves the cookies the response set (Set-Cookie "name=value; ...") into
 * the request's cookie jar, as a browser would for the next request, and
 * forgets the answer. Expired cookies are removed. */
void fake_follow_cookies(struct http_request *from, struct http_request *to);

#endif
