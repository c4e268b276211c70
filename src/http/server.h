/*
 * server.h: the HTTP layer. It turns libmicrohttpd callbacks into calls of
 * route handlers, and knows nothing about slashops' business.
 *
 * Design:
 *  - A small pool of event-driven threads (server.threads, by default one
 *    per CPU) serves all connections. Handlers run on those threads and
 *    may block briefly (SQLite, a password hash) but never on a client or
 *    a child process: whatever may wait long belongs in a body sink or a
 *    stream reader, which run on a thread of their own per request (see
 *    server.c), so they may block.
 *  - The router matches the method and the *raw* (still percent-encoded)
 *    path against patterns such as "/api/v4/projects/:id/members/:user_id".
 *    A ":name" segment captures one raw segment and percent-decodes it, so
 *    GitLab's "group%2Fproject" ids arrive as "group/project". A trailing
 *    "*name" captures the rest of the path (decoded, '/' kept). The first
 *    matching route wins; a path that matches a route under another method
 *    gets 405; no match gets the not-found handler (JSON 404 under /api/).
 *  - Ordinary routes see the whole request body, buffered up to the
 *    configured cap (413 past it, before the handler runs). Streaming
 *    routes (HTTP_ROUTE_STREAM) see it chunk by chunk instead, for git
 *    pushes that must never be held in memory.
 *  - A handler answers exactly once with one of the http_respond* calls. A
 *    handler that returns without answering gets a 500.
 *  - Every finished request is logged as one JSON line: method, path
 *    without the query string, status, duration_ms, bytes sent, remote
 *    address. Headers, query strings and bodies are never logged.
 *  - http_server_stop() stops accepting, lets in-flight requests finish
 *    (up to a drain timeout), then closes.
 *
 * Ownership: a struct http_request and everything it returns are valid
 * only during the handler call (and, for streaming routes, until the body
 * sink sees the end). Strings returned are borrowed.
 */
#ifndef SO_HTTP_SERVER_H
#define SO_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

struct http_server;
struct http_request;

/* Returns 0 once it has answered; a negative value makes the server answer
 * 500 if nothing was sent yet; HTTP_NEXT (without answering) to pass the
 * request on to the next matching route, e.g. a catch-all git route that
 * finds the path is not a repository URL. Streaming routes are called when
 * the headers arrive; buffered routes after the whole body. */
#define HTTP_NEXT 1

typedef int (*http_handler_fn)(struct http_request *req, void *app);

enum http_route_flags {
	HTTP_ROUTE_STREAM = 1 << 0, /* body delivered through a body sink */
};

struct http_route {
	const char *method;    /* "GET", "POST", ...; NULL matches any method */
	const char *pattern;   /* see above: "/-/health", "/api/v4/users/:id", a final "*rest" */
	http_handler_fn handler;
	unsigned flags;
};

struct http_server_options {
	const char *listen_addr;   /* "127.0.0.1", "::1", "0.0.0.0" */
	uint16_t port;             /* 0 picks a free port (see http_server_port) */
	size_t max_body_bytes;     /* cap for buffered bodies (413 past it) */
	size_t max_header_bytes;   /* per-connection memory for headers */
	unsigned max_connections;
	unsigned connection_timeout_s;
	double drain_timeout_s;    /* how long stop waits for in-flight requests */
	unsigned threads;          /* pool threads; 0: one per CPU (at least 2 in any case) */
};

/* routes is borrowed and must outlive the server (a static table). app is
 * passed to every handler. */
int http_server_start(struct http_server **out, const struct http_server_options *opts,
		      const struct http_route *routes, size_t nroutes, void *app);
uint16_t http_server_port(const struct http_server *srv);
/* The number of pool threads serving connections. */
unsigned http_server_threads(const struct http_server *srv);
/* Stops accepting, waits up to drain_timeout_s for in-flight requests,
 * then frees the server. Accepts NULL. */
void http_server_stop(struct http_server *srv);

/* ---- request accessors (borrowed strings, NULL when absent) ---- */
const char *http_request_method(const struct http_request *req);
const char *http_request_path(const struct http_request *req);      /* raw, no query */
const char *http_request_param(const struct http_request *req, const char *name);
const char *http_request_query(const struct http_request *req, const char *name); /* decoded */
const char *http_request_header(const struct http_request *req, const char *name);
const char *http_request_cookie(const struct http_request *req, const char *name);
const char *http_request_remote_addr(const struct http_request *req);
/* The raw query string (without '?'), "" when none. */
const char *http_request_query_string(const struct http_request *req);
/* The buffered body (NUL-terminated; len excludes the NUL). Empty for
 * streaming routes. */
const char *http_request_body(const struct http_request *req, size_t *len);
/* Content length announced by the client, -1 when chunked/absent. */
int64_t http_request_content_length(const struct http_request *req);

/* Per-request slot for the application (e.g. the authenticated user).
 * free_fn (may be NULL) runs when the request ends. */
void http_request_set_data(struct http_request *req, void *data, void (*free_fn)(void *));
/* The request's log line gets msg (a string that lives forever, e.g. a
 * literal) instead of "request", and fields (from log_format_fields(),
 * taken; may be NULL) after its own: a handler that has more to say about
 * a request says it on the one line instead of a second. */
void http_request_log_as(struct http_request *req, const char *msg, char *fields);
void *http_request_data(const struct http_request *req);

/* ---- streaming request bodies (HTTP_ROUTE_STREAM routes only) ----
 * The handler runs when the headers have arrived, on a pool thread: it
 * must not wait for anything slow. To read the body it installs a sink and
 * returns 0 without answering; the sink then gets each chunk, and finally
 * (data == NULL, len == 0) at the end of the body, when it must answer.
 * A request without a body gets only that last call, so a handler may
 * install a sink just to answer from the request's own thread. The sink
 * runs on that thread and may block. A sink returning negative aborts: the server answers 500
 * (or closes the connection if an answer was already started). A handler
 * may also answer at once (e.g. 401) without installing a sink; the body
 * is then discarded. */
typedef int (*http_body_sink_fn)(struct http_request *req, const char *data, size_t len,
				 void *cls);
void http_request_set_body_sink(struct http_request *req, http_body_sink_fn sink, void *cls);
/* True once the client has gone away or the server stops waiting for this
 * request: a sink that waits on something slow checks it now and then and
 * gives up (returns -1) when it turns true. */
bool http_request_aborted(const struct http_request *req);

/* ---- responses: call exactly one per request ---- */
/* Adds a header to the response about to be sent (before http_respond*). */
int http_add_header(struct http_request *req, const char *name, const char *value);
int http_respond(struct http_request *req, unsigned status, const char *content_type,
		 const void *body, size_t len);
/* Serialises body (stolen) compactly with Content-Type application/json. */
int http_respond_json(struct http_request *req, unsigned status, json_t *body);
/* {"message": message} with the given status, as GitLab's API answers
 * errors (e.g. 404 {"message":"404 Project Not Found"}). */
int http_respond_error(struct http_request *req, unsigned status, const char *message);
int http_respond_html(struct http_request *req, unsigned status, const char *html, size_t len);
int http_redirect(struct http_request *req, unsigned status, const char *location);

/* Streams a response body produced by reader: it fills buf with up to max
 * bytes and returns the count, 0 at the end, or -1 on error (the server
 * then closes the connection). reader may block. free_cls (may be NULL)
 * runs when the response is done and the reader is no longer in use. The
 * reader runs on the request's own thread, never a pool thread. */
typedef ssize_t (*http_stream_reader_fn)(void *cls, char *buf, size_t max);
int http_respond_stream(struct http_request *req, unsigned status, const char *content_type,
			http_stream_reader_fn reader, void *cls, void (*free_cls)(void *));

/* ---- helpers for handlers ---- */
/* Percent-decodes src (also '+' as space when plus_is_space) into a new
 * string of at most max_len bytes. SO_EINVALID on bad escapes or NUL
 * bytes, SO_ETOOBIG past max_len. Caller frees *out. */
int http_url_decode(const char *src, size_t len, bool plus_is_space, size_t max_len, char **out);
/* Appends the percent-encoding of s (RFC 3986 unreserved kept). */
char *http_url_encode(const char *s);

#endif
