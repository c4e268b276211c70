/*
 * server.c: the HTTP server on libmicrohttpd (MHD); see server.h for the
 * contract handlers rely on.
 *
 * Design:
 *  - One thread per connection (MHD_USE_THREAD_PER_CONNECTION), so
 *    handlers, body sinks and stream readers may block.
 *  - Per-request state (struct http_request) is created in MHD's URI log
 *    callback, which sees the request target before MHD touches it: that
 *    is where the raw path and the raw query string come from. MHD's own
 *    unescaping is switched off (keep_escaped), so nothing MHD decodes is
 *    used; the router decodes path parameters and form.c the query. The
 *    state is freed, and the request logged, in MHD's completion callback
 *    (which MHD calls for every request whose URI callback ran).
 *  - MHD calls the access handler once when the headers are in, once per
 *    body chunk, and once at the end. A response can only be queued on the
 *    first or the last call, so a handler's answer is kept in the request
 *    (req->response) and queued by on_request() when it may be: at once
 *    for answers given at header time (MHD then drops the body and closes
 *    the connection), otherwise after the last chunk. An answer decided in
 *    the middle of a body (413, a failing sink) waits while the rest of the
 *    body is read and dropped, up to DISCARD_LIMIT, past which the
 *    connection is simply closed.
 *  - Buffered routes collect the body into a struct buf capped at
 *    max_body_bytes; streaming routes get a body sink. Routing happens at
 *    header time, so a too-large Content-Length is refused before any of
 *    the body is read.
 *  - Every response carries X-Content-Type-Options: nosniff; HTML ones
 *    also X-Frame-Options and (unless the handler set its own) a
 *    Content-Security-Policy that forbids
 *    inline script. While stopping, responses carry "Connection: close".
 *  - http_server_stop() quiesces the daemon (no new connections), waits
 *    for the in-flight request count to fall to zero or the drain timeout,
 *    then stops MHD (which closes idle keep-alive connections).
 *
 * Ownership: the server borrows the route table and app. Each request
 * owns its strings, body, parameters and pending response; the response
 * is kept referenced until completion so that the byte count of a
 * streamed body can be logged.
 */
#include "http/server.h"
#include "http/form.h"
#include "http/router.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

#include <microhttpd.h>

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>


#define DEFAULT_MAX_BODY (1024 * 1024)
#define DEFAULT_MAX_HEADER (32 * 1024)
#define DEFAULT_MAX_CONNECTIONS 512
#define DEFAULT_TIMEOUT_S 60
#define MAX_COOKIES 64
#define MAX_RESPONSE_HEADERS 64
#define STREAM_BLOCK (32 * 1024)
#define DISCARD_LIMIT ((uint64_t)64 << 20)

#define CSP "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " \
	"img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; " \
	"frame-ancestors 'none'"

struct http_server {
	struct MHD_Daemon *daemon;
	const struct http_route *routes; /* borrowed */
	size_t nroutes;
	void *app;                       /* borrowed */
	size_t max_body_bytes;
	double drain_timeout_s;
	atomic_int inflight;
	atomic_bool stopping;
};

enum req_phase {
	PHASE_NEW,     /* the headers have not been handled yet */
	PHASE_BUFFER,  /* collecting the body for a buffered route */
	PHASE_SINK,    /* passing the body to a streaming route's sink */
	PHASE_DISCARD, /* the answer is decided; dropping the rest of the body */
};

struct pair {
	char *name;  /* owned */
	char *value; /* owned */
};

struct stream_ctx {
	http_stream_reader_fn reader;
	void *cls;
	void (*free_cls)(void *);
	uint64_t bytes;
};

struct http_request {
	struct http_server *srv;
	struct MHD_Connection *conn;
	char *uri;            /* raw request target, owned */
	char *path;           /* raw path without the query, owned */
	const char *query;    /* raw query string inside uri, "" when none */
	const char *method;   /* borrowed from MHD; NULL until the headers are in */
	char remote[INET6_ADDRSTRLEN + 8];
	double start_ms;
	enum req_phase phase;
	size_t route_idx;
	struct router_match match;
	struct form query_form;
	struct pair *cookies; /* parsed on first use */
	size_t ncookies;
	bool cookies_parsed;
	struct buf body;
	uint64_t discarded;
	int64_t content_length;
	http_body_sink_fn sink;
	void *sink_cls;
	struct pair *headers; /* response headers added before the answer */
	size_t nheaders;
	struct MHD_Response *response; /* the answer, one reference owned */
	unsigned status;
	uint64_t bytes;
	struct stream_ctx *stream;     /* owned by response */
	bool answered;
	bool queued;
	void *data;
	void (*data_free)(void *);
};

/* ---------------------------------------------------------------- utils */

static _Thread_local char mhd_last_error[256];

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	size_t len;

	(void)cls;
	vsnprintf(mhd_last_error, sizeof(mhd_last_error), fmt, ap);
	len = strlen(mhd_last_error);
	while (len > 0 && (mhd_last_error[len - 1] == '\n' || mhd_last_error[len - 1] == ' '))
		mhd_last_error[--len] = '\0';
	log_event(LOG_WARN, "http server", json_pack("{s:s}", "detail", mhd_last_error));
}
#pragma GCC diagnostic pop

static bool is_api_path(const char *path)
{
	return strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0;
}

static void free_pairs(struct pair *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].value);
	}
	free(p);
}

static void clear_headers(struct http_request *req)
{
	free_pairs(req->headers, req->nheaders);
	req->headers = NULL;
	req->nheaders = 0;
}

static bool header_text_ok(const char *s, bool is_name)
{
	if (!s || (is_name && !*s))
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\r' || c == '\n' || (is_name && (c <= ' ' || c == ':' || c >= 127)))
			return false;
	}
	return true;
}

/* ------------------------------------------------------------ responses */

static int answer(struct http_request *req, unsigned status, const char *content_type,
		  struct MHD_Response *resp, uint64_t bytes)
{
	int err = 0;

	if (req->answered) {
		MHD_destroy_response(resp); /* frees a stream's cls too */
		return error_set(SO_EFAIL, "a response was already sent");
	}
	if (content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (content_type && strncasecmp(content_type, "text/html", 9) == 0) {
		bool own_csp = false;

		for (size_t i = 0; i < req->nheaders; i++)
			if (strcasecmp(req->headers[i].name, "Content-Security-Policy") == 0)
				own_csp = true;
		MHD_add_response_header(resp, "X-Frame-Options", "DENY");
		/* The default policy, unless the handler set its own. */
		if (!own_csp)
			MHD_add_response_header(resp, "Content-Security-Policy", CSP);
	}
	for (size_t i = 0; i < req->nheaders; i++)
		if (MHD_add_response_header(resp, req->headers[i].name, req->headers[i].value) !=
		    MHD_YES)
			log_warn("response header %s refused", req->headers[i].name);
	if (atomic_load(&req->srv->stopping))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	clear_headers(req);
	req->response = resp;
	req->status = status;
	req->bytes = bytes;
	req->answered = true;
	return err;
}

int http_add_header(struct http_request *req, const char *name, const char *value)
{
	if (req->answered)
		return error_set(SO_EFAIL, "a response was already sent");
	if (!header_text_ok(name, true) || !header_text_ok(value, false))
		return error_set(SO_EINVALID, "invalid response header");
	if (req->nheaders >= MAX_RESPONSE_HEADERS)
		return error_set(SO_ETOOBIG, "too many response headers");
	req->headers = xrealloc(req->headers, (req->nheaders + 1) * sizeof(*req->headers));
	req->headers[req->nheaders].name = xstrdup(name);
	req->headers[req->nheaders].value = xstrdup(value);
	req->nheaders++;
	return 0;
}

int http_respond(struct http_request *req, unsigned status, const char *content_type,
		 const void *body, size_t len)
{
	struct MHD_Response *resp;

	if (req->answered)
		return error_set(SO_EFAIL, "a response was already sent");
	resp = MHD_create_response_from_buffer(len, (void *)(len ? body : ""),
					       MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return error_set(SO_EFAIL, "cannot create the response");
	return answer(req, status, content_type, resp, len);
}

int http_respond_json(struct http_request *req, unsigned status, json_t *body)
{
	char *text;
	int err;

	if (!body)
		return error_set(SO_EFAIL, "no JSON body to send");
	text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(body);
	if (!text)
		return error_set(SO_EFAIL, "cannot serialise the JSON response");
	err = http_respond(req, status, "application/json", text, strlen(text));
	free(text);
	return err;
}

int http_respond_error(struct http_request *req, unsigned status, const char *message)
{
	return http_respond_json(req, status, json_pack("{s:s}", "message", message ? message : ""));
}

int http_respond_html(struct http_request *req, unsigned status, const char *html, size_t len)
{
	return http_respond(req, status, "text/html; charset=utf-8", html, len);
}

int http_redirect(struct http_request *req, unsigned status, const char *location)
{
	int err;

	if ((err = http_add_header(req, "Location", location)) < 0)
		return err;
	return http_respond(req, status, NULL, NULL, 0);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream_ctx *ctx = cls;
	ssize_t n;

	(void)pos;
	n = ctx->reader(ctx->cls, buf, max);
	if (n < 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if ((size_t)n > max)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	ctx->bytes += (uint64_t)n;
	return n;
}

static void stream_free(void *cls)
{
	struct stream_ctx *ctx = cls;

	if (ctx->free_cls)
		ctx->free_cls(ctx->cls);
	free(ctx);
}

int http_respond_stream(struct http_request *req, unsigned status, const char *content_type,
			http_stream_reader_fn reader, void *cls, void (*free_cls)(void *))
{
	struct stream_ctx *ctx = xcalloc(1, sizeof(*ctx));
	struct MHD_Response *resp;
	int err;

	ctx->reader = reader;
	ctx->cls = cls;
	ctx->free_cls = free_cls;
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_read, ctx,
						 stream_free);
	if (!resp) {
		stream_free(ctx);
		return error_set(SO_EFAIL, "cannot create the response");
	}
	if ((err = answer(req, status, content_type, resp, 0)) == 0)
		req->stream = ctx;
	return err;
}

/* The server's own answers: JSON under /api/ (and always for 413 and 500,
 * which only API-like clients provoke), plain text elsewhere. */
static void respond_std(struct http_request *req, unsigned status)
{
	const char *text;
	char *allow = NULL;

	switch (status) {
	case 400: text = "400 Bad Request"; break;
	case 404: text = "404 Not Found"; break;
	case 405: text = "405 Method Not Allowed"; break;
	case 413: text = "413 Request Entity Too Large"; break;
	default: status = 500; text = "500 Internal Server Error"; break;
	}
	if (req->answered)
		return;
	clear_headers(req);
	if (status == 405) {
		allow = router_allowed(req->srv->routes, req->srv->nroutes, req->path);
		if (allow)
			http_add_header(req, "Allow", allow);
		free(allow);
	}
	if (status >= 413 || is_api_path(req->path)) {
		http_respond_error(req, status, text);
	} else {
		char body[64];
		int n = snprintf(body, sizeof(body), "%s\n", text);

		http_respond(req, status, "text/plain; charset=utf-8", body, (size_t)n);
	}
}

/* -------------------------------------------------------------- routing */

static void feed_buffered_body(struct http_request *req)
{
	int rc = 0;

	if (req->body.len)
		rc = req->sink(req, req->body.data, req->body.len, req->sink_cls);
	if (rc >= 0)
		rc = req->sink(req, NULL, 0, req->sink_cls);
	if (rc < 0 || !req->answered)
		respond_std(req, 500);
}

/* Finds and runs routes from index start. body_ready: the whole body is in
 * req->body (the last MHD call) rather than still to come. */
static void route(struct http_request *req, size_t start, bool body_ready)
{
	struct http_server *srv = req->srv;
	const struct http_route *r;
	size_t idx;
	int rc;

	for (;;) {
		rc = router_find(srv->routes, srv->nroutes, start, req->method, req->path,
				 &req->match, &idx);
		if (rc < 0) {
			respond_std(req, 400);
			return;
		}
		if (rc == 0) {
			char *allow = start == 0 ? router_allowed(srv->routes, srv->nroutes, req->path)
						 : NULL;

			respond_std(req, allow ? 405 : 404);
			free(allow);
			return;
		}
		r = &srv->routes[idx];
		if (!(r->flags & HTTP_ROUTE_STREAM) && !body_ready) {
			if (req->content_length >= 0 &&
			    (uint64_t)req->content_length > srv->max_body_bytes) {
				respond_std(req, 413);
				return;
			}
			req->route_idx = idx;
			req->phase = PHASE_BUFFER;
			return;
		}
		error_clear();
		rc = r->handler(req, srv->app);
		if (req->answered)
			return;
		if (rc == HTTP_NEXT && !req->sink) {
			clear_headers(req);
			start = idx + 1;
			continue;
		}
		if (rc < 0 || !(r->flags & HTTP_ROUTE_STREAM) || !req->sink) {
			if (rc < 0)
				log_event(LOG_ERROR, "handler failed",
					  json_pack("{s:s, s:s}", "path", req->path, "error",
						    error_msg()));
			respond_std(req, 500);
			return;
		}
		if (body_ready)
			feed_buffered_body(req);
		else
			req->phase = PHASE_SINK;
		return;
	}
}

/* -------------------------------------------------------- MHD callbacks */

static size_t keep_escaped(void *cls, struct MHD_Connection *conn, char *s)
{
	(void)cls;
	(void)conn;
	return strlen(s);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct http_server *srv = cls;
	struct http_request *req = xcalloc(1, sizeof(*req));
	const char *q;

	req->srv = srv;
	req->conn = conn;
	req->start_ms = clock_mono_ms();
	req->uri = xstrdup(uri ? uri : "");
	q = strchr(req->uri, '?');
	req->path = q ? xstrndup(req->uri, (size_t)(q - req->uri)) : xstrdup(req->uri);
	req->query = q ? q + 1 : "";
	req->content_length = -1;
	buf_init(&req->body, srv->max_body_bytes);
	atomic_fetch_add(&srv->inflight, 1);
	return req;
}

static void request_free(struct http_request *req)
{
	if (req->data_free)
		req->data_free(req->data);
	if (req->response)
		MHD_destroy_response(req->response);
	router_match_clear(&req->match);
	form_dispose(&req->query_form);
	free_pairs(req->cookies, req->ncookies);
	free_pairs(req->headers, req->nheaders);
	buf_dispose(&req->body);
	free(req->uri);
	free(req->path);
	free(req);
}

static void log_request(struct http_request *req)
{
	double ms = clock_mono_ms() - req->start_ms;
	uint64_t bytes = req->stream ? req->stream->bytes : req->bytes;

	if (strcmp(req->method, "HEAD") == 0)
		bytes = 0;
	log_event(LOG_INFO, "request",
		  json_pack("{s:s, s:s, s:i, s:f, s:I, s:s}", "method", req->method, "path",
			    req->path, "status", req->queued ? (int)req->status : 0,
			    "duration_ms", round(ms * 1000.0) / 1000.0, "bytes",
			    (json_int_t)bytes, "remote_addr", req->remote));
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct http_request *req = *con_cls;

	(void)conn;
	(void)toe;
	if (!req)
		return;
	*con_cls = NULL;
	if (req->method)
		log_request(req);
	request_free(req);
	atomic_fetch_sub(&srv->inflight, 1);
}

static void read_request_info(struct http_request *req, const char *method)
{
	const union MHD_ConnectionInfo *ci;
	const char *cl, *te;

	req->method = method;
	ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;
		socklen_t salen = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
							     : sizeof(struct sockaddr_in);

		if (getnameinfo(sa, salen, req->remote, sizeof(req->remote), NULL, 0,
				NI_NUMERICHOST) != 0)
			req->remote[0] = '\0';
		if (strncmp(req->remote, "::ffff:", 7) == 0 && strchr(req->remote + 7, '.'))
			memmove(req->remote, req->remote + 7, strlen(req->remote + 7) + 1);
	}
	te = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_TRANSFER_ENCODING);
	cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (!te && cl && *cl >= '0' && *cl <= '9') {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(cl, &end, 10);
		if (errno == 0 && *end == '\0')
			req->content_length = v;
	}
}

static enum MHD_Result queue_answer(struct http_request *req)
{
	if (!req->answered || req->queued)
		return MHD_YES;
	if (MHD_queue_response(req->conn, req->status, req->response) != MHD_YES)
		return MHD_NO;
	req->queued = true;
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct http_request *req = *con_cls;

	(void)version;
	if (!req)
		*con_cls = req = on_uri(cls, url, conn);
	if (req->phase == PHASE_NEW && !req->method) {
		read_request_info(req, method);
		if (req->path[0] != '/')
			respond_std(req, 400);
		else if (form_parse(&req->query_form, req->query, strlen(req->query)) < 0)
			respond_std(req, 400);
		else
			route(req, 0, false);
		if (!req->answered && req->phase == PHASE_NEW)
			respond_std(req, 500);
		return queue_answer(req);
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		switch (req->phase) {
		case PHASE_BUFFER:
			if (buf_append(&req->body, upload_data, n) < 0) {
				respond_std(req, 413);
				req->phase = PHASE_DISCARD;
			}
			break;
		case PHASE_SINK:
			if (req->sink(req, upload_data, n, req->sink_cls) < 0) {
				respond_std(req, 500);
				req->phase = PHASE_DISCARD;
			}
			break;
		case PHASE_NEW:
		case PHASE_DISCARD:
			req->discarded += n;
			if (req->discarded > DISCARD_LIMIT)
				return MHD_NO;
			break;
		}
		return MHD_YES;
	}
	switch (req->phase) {
	case PHASE_BUFFER:
		req->phase = PHASE_DISCARD;
		route(req, req->route_idx, true);
		break;
	case PHASE_SINK:
		req->phase = PHASE_DISCARD;
		if (req->sink(req, NULL, 0, req->sink_cls) < 0 || !req->answered)
			respond_std(req, 500);
		break;
	case PHASE_NEW:
	case PHASE_DISCARD:
		break;
	}
	if (!req->answered)
		respond_std(req, 500);
	return queue_answer(req);
}

/* --------------------------------------------------------------- server */

int http_server_start(struct http_server **out, const struct http_server_options *opts,
		      const struct http_route *routes, size_t nroutes, void *app)
{
	struct http_server *srv = NULL;
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_ERROR_LOG | MHD_USE_POLL | MHD_USE_ITC;
	const char *addr = opts->listen_addr ? opts->listen_addr : "127.0.0.1";
	int err = 0;

	*out = NULL;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(opts->port);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(opts->port);
		flags |= IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr) ? MHD_USE_DUAL_STACK
								   : MHD_USE_IPv6;
	} else {
		return error_set(SO_EINVALID, "listen address \"%s\" is not an IP address", addr);
	}
	srv = xcalloc(1, sizeof(*srv));
	srv->routes = routes;
	srv->nroutes = nroutes;
	srv->app = app;
	srv->max_body_bytes = opts->max_body_bytes ? opts->max_body_bytes : DEFAULT_MAX_BODY;
	srv->drain_timeout_s = opts->drain_timeout_s > 0 ? opts->drain_timeout_s : 0;
	mhd_last_error[0] = '\0';
	srv->daemon = MHD_start_daemon(
		flags, opts->port, NULL, NULL, on_request, srv,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, /* first, as MHD asks */
		MHD_OPTION_CONNECTION_LIMIT,
		(unsigned int)(opts->max_connections ? opts->max_connections
						     : DEFAULT_MAX_CONNECTIONS),
		MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned int)(opts->connection_timeout_s ? opts->connection_timeout_s
							  : DEFAULT_TIMEOUT_S),
		MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)(opts->max_header_bytes ? opts->max_header_bytes : DEFAULT_MAX_HEADER),
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, NULL,
		MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
		MHD_OPTION_END);
	if (!srv->daemon) {
		/* MHD's own words say why ("Failed to bind to port 8080:
		 * Address already in use"); the caller names the address. */
		err = error_set(SO_EFAIL, "%s",
				mhd_last_error[0] ? mhd_last_error : "cannot start the HTTP server");
		goto done;
	}
	*out = srv;
	srv = NULL;
done:
	free(srv);
	return err;
}

uint16_t http_server_port(const struct http_server *srv)
{
	const union MHD_DaemonInfo *info;

	if (!srv)
		return 0;
	info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
	return info ? info->port : 0;
}

void http_server_stop(struct http_server *srv)
{
	MHD_socket listen_fd;
	double deadline;

	if (!srv)
		return;
	atomic_store(&srv->stopping, true);
	listen_fd = MHD_quiesce_daemon(srv->daemon);
	deadline = clock_mono_ms() + srv->drain_timeout_s * 1000.0;
	while (atomic_load(&srv->inflight) > 0 && clock_mono_ms() < deadline) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(srv->daemon);
	if (listen_fd != MHD_INVALID_SOCKET)
		close(listen_fd);
	free(srv);
}

/* ------------------------------------------------------------ accessors */

const char *http_request_method(const struct http_request *req)
{
	return req->method;
}

const char *http_request_path(const struct http_request *req)
{
	return req->path;
}

const char *http_request_param(const struct http_request *req, const char *name)
{
	return router_match_get(&req->match, name);
}

const char *http_request_query(const struct http_request *req, const char *name)
{
	return form_get(&req->query_form, name);
}

const char *http_request_query_string(const struct http_request *req)
{
	return req->query;
}

const char *http_request_header(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

static void trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

static void parse_cookies(struct http_request *req)
{
	const char *h = http_request_header(req, "Cookie");
	const char *p = h;

	req->cookies_parsed = true;
	if (!h)
		return;
	while (*p && req->ncookies < MAX_COOKIES) {
		const char *end = strchrnul(p, ';');
		const char *eq = memchr(p, '=', (size_t)(end - p));

		if (eq) {
			const char *ns = p, *ne = eq, *vs = eq + 1, *ve = end;

			trim(&ns, &ne);
			trim(&vs, &ve);
			if (ve - vs >= 2 && *vs == '"' && ve[-1] == '"') {
				vs++;
				ve--;
			}
			if (ne > ns) {
				req->cookies = xrealloc(req->cookies,
							(req->ncookies + 1) * sizeof(*req->cookies));
				req->cookies[req->ncookies].name = xstrndup(ns, (size_t)(ne - ns));
				req->cookies[req->ncookies].value = xstrndup(vs, (size_t)(ve - vs));
				req->ncookies++;
			}
		}
		p = *end ? end + 1 : end;
	}
}

const char *http_request_cookie(const struct http_request *req, const char *name)
{
	struct http_request *mut = (struct http_request *)req;

	if (!name)
		return NULL;
	if (!req->cookies_parsed)
		parse_cookies(mut);
	for (size_t i = 0; i < req->ncookies; i++)
		if (strcmp(req->cookies[i].name, name) == 0)
			return req->cookies[i].value;
	return NULL;
}

const char *http_request_remote_addr(const struct http_request *req)
{
	return req->remote;
}

const char *http_request_body(const struct http_request *req, size_t *len)
{
	if (len)
		*len = req->body.len;
	return buf_cstr(&req->body);
}

int64_t http_request_content_length(const struct http_request *req)
{
	return req->content_length;
}

void http_request_set_data(struct http_request *req, void *data, void (*free_fn)(void *))
{
	if (req->data_free && req->data != data)
		req->data_free(req->data);
	req->data = data;
	req->data_free = free_fn;
}

void *http_request_data(const struct http_request *req)
{
	return req->data;
}

void http_request_set_body_sink(struct http_request *req, http_body_sink_fn sink, void *cls)
{
	req->sink = sink;
	req->sink_cls = cls;
}
