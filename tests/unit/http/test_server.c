/*
 * In-process tests of http/server: a real server on 127.0.0.1 (port 0)
 * with a test route table and a pool of 2 threads, driven with libcurl.
 * Besides the request/response contract they show the threading model:
 * body sinks and stream readers that sleep hold no pool thread (quick
 * requests on other connections go through meanwhile), and stopping the
 * server with such requests in progress ends them and returns.
 */
/* util/error.h comes before any <sys/socket.h>: both name SO_EFAIL */
#include "util/error.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http/server.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"


#define MAX_BODY 1024
#define MAX_HEADER (32 * 1024)
#define UPLOAD_TOTAL (5 * 1024 * 1024)

static struct http_server *srv;
static char base[64];
static FILE *logf_;

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---------------------------------------------------------- handlers */

static int h_project(struct http_request *req, void *app)
{
	const char *x = http_request_query(req, "x"), *y = http_request_query(req, "y");

	(void)app;
	return http_respond_json(req, 200,
				 json_pack("{s:s, s:s?, s:s?, s:s, s:s, s:s}", "id",
					   http_request_param(req, "id"), "x", x, "y", y, "method",
					   http_request_method(req), "path", http_request_path(req),
					   "qs", http_request_query_string(req)));
}

static int h_echo(struct http_request *req, void *app)
{
	size_t len;
	const char *body = http_request_body(req, &len);
	char cl[32];

	(void)app;
	snprintf(cl, sizeof(cl), "%lld", (long long)http_request_content_length(req));
	http_add_header(req, "X-Announced-Length", cl);
	return http_respond(req, 201, "text/plain", body, len);
}

static int h_cookie(struct http_request *req, void *app)
{
	const char *sid = http_request_cookie(req, "sid"), *other = http_request_cookie(req, "other");
	const char *hdr = http_request_header(req, "x-test-header");

	(void)app;
	return http_respond_json(req, 200, json_pack("{s:s?, s:s?, s:s?, s:s}", "sid", sid, "other",
						     other, "hdr", hdr, "remote",
						     http_request_remote_addr(req)));
}

struct upload {
	size_t bytes, chunks, max_chunk;
};
static atomic_size_t sink_bytes;

static int upload_sink(struct http_request *req, const char *data, size_t len, void *cls)
{
	struct upload *u = cls;

	if (!data) {
		int rc = http_respond_json(req, 200,
					   json_pack("{s:I, s:I, s:I}", "bytes", (json_int_t)u->bytes,
						     "chunks", (json_int_t)u->chunks, "max_chunk",
						     (json_int_t)u->max_chunk));
		return rc;
	}
	for (size_t i = 0; i < len; i++)
		if (data[i] != (char)('a' + (u->bytes + i) % 26))
			return -1;
	u->bytes += len;
	u->chunks++;
	if (len > u->max_chunk)
		u->max_chunk = len;
	atomic_store(&sink_bytes, u->bytes);
	return 0;
}

static int h_upload(struct http_request *req, void *app)
{
	struct upload *u = calloc(1, sizeof(*u));

	(void)app;
	http_request_set_data(req, u, free);
	http_request_set_body_sink(req, upload_sink, u);
	return 0;
}

static int h_deny(struct http_request *req, void *app)
{
	(void)app;
	return http_respond_error(req, 401, "401 Unauthorized");
}

struct counter {
	int left;
	int *freed;
};
static int stream_freed;

static ssize_t stream_reader(void *cls, char *buf, size_t max)
{
	struct counter *c = cls;
	size_t n = max < 1000 ? max : 1000;

	if (c->left == 0)
		return 0;
	memset(buf, '0' + c->left % 10, n);
	c->left--;
	sleep_ms(2);
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	struct counter *c = cls;

	(*c->freed)++;
	free(c);
}

static int h_stream(struct http_request *req, void *app)
{
	struct counter *c = calloc(1, sizeof(*c));

	(void)app;
	c->left = 10;
	c->freed = &stream_freed;
	return http_respond_stream(req, 200, "application/octet-stream", stream_reader, c,
				   stream_free);
}

static atomic_bool slow_entered;

static int h_slow(struct http_request *req, void *app)
{
	(void)app;
	atomic_store(&slow_entered, true);
	sleep_ms(600);
	return http_respond(req, 200, "text/plain", "done", 4);
}

static int h_next(struct http_request *req, void *app)
{
	(void)req;
	(void)app;
	http_add_header(req, "X-Dropped", "1");
	return HTTP_NEXT;
}

static int h_second(struct http_request *req, void *app)
{
	(void)app;
	return http_respond(req, 200, "text/plain", "second", 6);
}

static int h_noanswer(struct http_request *req, void *app)
{
	(void)req;
	(void)app;
	return 0;
}

static int h_fail(struct http_request *req, void *app)
{
	(void)req;
	(void)app;
	return -1;
}

static int h_twice(struct http_request *req, void *app)
{
	(void)app;
	http_respond(req, 200, "text/plain", "one", 3);
	return http_respond(req, 500, "text/plain", "two", 3) < 0 ? 0 : -1;
}

static int h_html(struct http_request *req, void *app)
{
	(void)app;
	return http_respond_html(req, 200, "<p>hi</p>", 9);
}

static int h_html_own_csp(struct http_request *req, void *app)
{
	(void)app;
	http_add_header(req, "Content-Security-Policy", "default-src 'none'");
	return http_respond_html(req, 200, "<p>hi</p>", 9);
}

static int h_redirect(struct http_request *req, void *app)
{
	(void)app;
	return http_redirect(req, 302, "/-/health");
}

/* A sink that sleeps on every call, as a slow consumer (a git child
 * process busy with the pack) would. */
static atomic_int slow_sinks_active, slow_sink_calls;

static int slow_sink(struct http_request *req, const char *data, size_t len, void *cls)
{
	(void)cls;
	(void)len;
	atomic_fetch_add(&slow_sink_calls, 1);
	sleep_ms(150);
	if (!data) {
		atomic_fetch_sub(&slow_sinks_active, 1);
		return http_respond(req, 200, "text/plain", "slow done", 9);
	}
	return 0;
}

static int h_slow_upload(struct http_request *req, void *app)
{
	(void)app;
	atomic_fetch_add(&slow_sinks_active, 1);
	http_request_set_body_sink(req, slow_sink, NULL);
	return 0;
}

/* A stream reader that sleeps before every block, for ever unless told. */
struct slow_stream {
	int blocks; /* -1: endless */
	atomic_int *freed;
};
static atomic_int slow_stream_freed;

static ssize_t slow_stream_reader(void *cls, char *buf, size_t max)
{
	struct slow_stream *s = cls;

	sleep_ms(150);
	if (s->blocks == 0)
		return 0;
	if (s->blocks > 0)
		s->blocks--;
	memset(buf, 's', max < 100 ? max : 100);
	return (ssize_t)(max < 100 ? max : 100);
}

static void slow_stream_free(void *cls)
{
	struct slow_stream *s = cls;

	atomic_fetch_add(s->freed, 1);
	free(s);
}

static int h_slow_stream(struct http_request *req, void *app)
{
	struct slow_stream *s = calloc(1, sizeof(*s));
	const char *n = http_request_query(req, "blocks");

	(void)app;
	s->blocks = n ? atoi(n) : -1;
	s->freed = &slow_stream_freed;
	return http_respond_stream(req, 200, "text/plain", slow_stream_reader, s,
				   slow_stream_free);
}

/* A sink that waits until the server gives up on the request. */
static atomic_bool waiting_sink_in, waiting_sink_saw_abort;

static int waiting_sink(struct http_request *req, const char *data, size_t len, void *cls)
{
	(void)cls;
	(void)data;
	(void)len;
	atomic_store(&waiting_sink_in, true);
	for (int i = 0; i < 3000 && !http_request_aborted(req); i++)
		sleep_ms(10);
	atomic_store(&waiting_sink_saw_abort, http_request_aborted(req));
	return -1;
}

static int h_waiting_upload(struct http_request *req, void *app)
{
	(void)app;
	http_request_set_body_sink(req, waiting_sink, NULL);
	return 0;
}

static const struct http_route routes[] = {
	{ "GET", "/api/v4/projects/:id", h_project, 0 },
	{ "POST", "/echo", h_echo, 0 },
	{ "GET", "/cookie", h_cookie, 0 },
	{ "POST", "/upload", h_upload, HTTP_ROUTE_STREAM },
	{ "POST", "/deny", h_deny, HTTP_ROUTE_STREAM },
	{ "GET", "/stream", h_stream, 0 },
	{ "GET", "/slow", h_slow, 0 },
	{ "GET", "/next", h_next, 0 },
	{ "GET", "/next", h_second, 0 },
	{ "GET", "/allnext", h_next, 0 },
	{ "GET", "/noanswer", h_noanswer, 0 },
	{ "GET", "/fail", h_fail, 0 },
	{ "GET", "/twice", h_twice, 0 },
	{ "GET", "/html", h_html, 0 },
	{ "GET", "/html-own-csp", h_html_own_csp, 0 },
	{ "GET", "/redirect", h_redirect, 0 },
	{ "POST", "/slow-upload", h_slow_upload, HTTP_ROUTE_STREAM },
	{ "GET", "/slow-stream", h_slow_stream, 0 },
	{ "POST", "/waiting-upload", h_waiting_upload, HTTP_ROUTE_STREAM },
};

static void start(void)
{
	struct http_server_options o = {
		.listen_addr = "127.0.0.1",
		.port = 0,
		.max_body_bytes = MAX_BODY,
		.max_header_bytes = MAX_HEADER,
		.max_connections = 128,
		.connection_timeout_s = 10,
		.drain_timeout_s = 5,
		.threads = 2,
	};

	logf_ = tmpfile();
	log_init(LOG_INFO, fileno(logf_));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	cr_assert_eq(http_server_start(&srv, &o, routes, sizeof(routes) / sizeof(routes[0]), NULL),
		     0);
	cr_assert_neq(http_server_port(srv), 0);
	cr_assert_eq(http_server_threads(srv), 2);
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", http_server_port(srv));
}

static void stop(void)
{
	http_server_stop(srv);
	srv = NULL;
	curl_global_cleanup();
	if (logf_)
		fclose(logf_);
}

/* ------------------------------------------------------------- client */

struct reply {
	long status;
	struct buf body;
	struct buf headers;
};

static size_t on_data(char *p, size_t size, size_t n, void *cls)
{
	buf_append(cls, p, size * n);
	return size * n;
}

static void reply_dispose(struct reply *r)
{
	buf_dispose(&r->body);
	buf_dispose(&r->headers);
}

static CURL *client(const char *method, const char *path, struct reply *r)
{
	CURL *c = curl_easy_init();
	char url[512];

	memset(r, 0, sizeof(*r));
	snprintf(url, sizeof(url), "%s%s", base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	return c;
}

static CURLcode finish(CURL *c, struct reply *r)
{
	CURLcode rc = curl_easy_perform(c);

	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(c);
	return rc;
}

static void request(const char *method, const char *path, const char *body, size_t len,
		    struct reply *r)
{
	CURL *c = client(method, path, r);

	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
	}
	cr_assert_eq(finish(c, r), CURLE_OK, "%s %s", method, path);
}

static bool has_header(const struct reply *r, const char *line)
{
	return strcasestr(buf_cstr(&r->headers), line) != NULL;
}

static json_t *json_body(const struct reply *r)
{
	json_t *j = json_loads(buf_cstr(&r->body), 0, NULL);

	cr_assert_not_null(j, "not JSON: %s", buf_cstr(&r->body));
	return j;
}

static char *read_log(void)
{
	struct buf b = BUF_INIT(0);
	char chunk[4096];
	size_t n;

	fflush(logf_);
	rewind(logf_);
	while ((n = fread(chunk, 1, sizeof(chunk), logf_)) > 0)
		buf_append(&b, chunk, n);
	return buf_detach(&b);
}

TestSuite(server, .init = start, .fini = stop, .timeout = 60);

/* -------------------------------------------------------------- tests */

Test(server, raw_path_params_and_query_decoding)
{
	struct reply r;
	json_t *j;

	request("GET", "/api/v4/projects/a%2Fb?x=1+2&y=%C3%A9", NULL, 0, &r);
	cr_assert_eq(r.status, 200);
	cr_assert(has_header(&r, "Content-Type: application/json"));
	cr_assert(has_header(&r, "X-Content-Type-Options: nosniff"));
	j = json_body(&r);
	cr_assert_str_eq(json_string_value(json_object_get(j, "id")), "a/b");
	cr_assert_str_eq(json_string_value(json_object_get(j, "x")), "1 2");
	cr_assert_str_eq(json_string_value(json_object_get(j, "y")), "\xc3\xa9");
	cr_assert_str_eq(json_string_value(json_object_get(j, "path")), "/api/v4/projects/a%2Fb");
	cr_assert_str_eq(json_string_value(json_object_get(j, "qs")), "x=1+2&y=%C3%A9");
	json_decref(j);
	reply_dispose(&r);
}

Test(server, request_log_line_has_no_query)
{
	struct reply r;
	char *log;

	request("GET", "/api/v4/projects/7?private_token=secret123", NULL, 0, &r);
	cr_assert_eq(r.status, 200);
	reply_dispose(&r);
	/* the line is written when MHD completes the request, just after the reply */
	for (int i = 0; i < 100; i++) {
		log = read_log();
		if (strstr(log, "\"msg\":\"request\""))
			break;
		free(log);
		log = NULL;
		sleep_ms(10);
	}
	cr_assert_not_null(log);
	cr_assert(strstr(log, "\"method\":\"GET\""), "%s", log);
	cr_assert(strstr(log, "\"path\":\"/api/v4/projects/7\""), "%s", log);
	cr_assert(strstr(log, "\"status\":200"), "%s", log);
	cr_assert(strstr(log, "\"duration_ms\":"), "%s", log);
	cr_assert(strstr(log, "\"remote_addr\":\"127.0.0.1\""), "%s", log);
	cr_assert(strstr(log, "\"bytes\":"), "%s", log);
	cr_assert_null(strstr(log, "secret123"), "%s", log);
	free(log);
}

Test(server, head_runs_the_get_route_without_body)
{
	struct reply r;

	request("HEAD", "/api/v4/projects/1", NULL, 0, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.body.len, 0);
	cr_assert(has_header(&r, "Content-Type: application/json"));
	reply_dispose(&r);
}

Test(server, not_found_json_under_api_text_elsewhere)
{
	struct reply r;
	json_t *j;

	request("GET", "/api/v4/nothing", NULL, 0, &r);
	cr_assert_eq(r.status, 404);
	j = json_body(&r);
	cr_assert_str_eq(json_string_value(json_object_get(j, "message")), "404 Not Found");
	json_decref(j);
	reply_dispose(&r);

	request("GET", "/nothing", NULL, 0, &r);
	cr_assert_eq(r.status, 404);
	cr_assert(has_header(&r, "Content-Type: text/plain"));
	cr_assert(strstr(buf_cstr(&r.body), "404 Not Found"));
	cr_assert(has_header(&r, "X-Content-Type-Options: nosniff"));
	reply_dispose(&r);
}

Test(server, method_not_allowed_with_allow)
{
	struct reply r;
	json_t *j;

	request("DELETE", "/api/v4/projects/3", NULL, 0, &r);
	cr_assert_eq(r.status, 405);
	cr_assert(has_header(&r, "Allow: GET, HEAD"), "%s", buf_cstr(&r.headers));
	j = json_body(&r);
	cr_assert_str_eq(json_string_value(json_object_get(j, "message")),
			 "405 Method Not Allowed");
	json_decref(j);
	reply_dispose(&r);
	request("GET", "/echo", NULL, 0, &r);
	cr_assert_eq(r.status, 405);
	cr_assert(has_header(&r, "Allow: POST"));
	reply_dispose(&r);
}

Test(server, bad_escape_is_400)
{
	struct reply r;

	request("GET", "/api/v4/projects/a%zz", NULL, 0, &r);
	cr_assert_eq(r.status, 400);
	reply_dispose(&r);
	request("GET", "/api/v4/projects/a%00", NULL, 0, &r);
	cr_assert_eq(r.status, 400);
	reply_dispose(&r);
	request("GET", "/api/v4/projects/1?x=%zz", NULL, 0, &r);
	cr_assert_eq(r.status, 400);
	reply_dispose(&r);
}

Test(server, buffered_body_echoed)
{
	struct reply r;

	request("POST", "/echo", "text=hello+world", 16, &r);
	cr_assert_eq(r.status, 201);
	cr_assert_str_eq(buf_cstr(&r.body), "text=hello+world");
	cr_assert(has_header(&r, "X-Announced-Length: 16"));
	reply_dispose(&r);
	/* exactly at the cap is fine */
	{
		char *big = malloc(MAX_BODY);

		memset(big, 'x', MAX_BODY);
		request("POST", "/echo", big, MAX_BODY, &r);
		cr_assert_eq(r.status, 201);
		cr_assert_eq(r.body.len, MAX_BODY);
		reply_dispose(&r);
		free(big);
	}
}

Test(server, too_large_body_by_content_length_is_413)
{
	char *big = malloc(MAX_BODY + 1);
	struct reply r;
	json_t *j;

	memset(big, 'x', MAX_BODY + 1);
	request("POST", "/echo", big, MAX_BODY + 1, &r);
	cr_assert_eq(r.status, 413);
	j = json_body(&r);
	cr_assert_str_eq(json_string_value(json_object_get(j, "message")),
			 "413 Request Entity Too Large");
	json_decref(j);
	reply_dispose(&r);
	free(big);
}

struct gen {
	size_t sent, total;
	size_t pause_at;        /* wait here until the server has seen some of the body */
	bool waited_out;
};

static size_t gen_read(char *p, size_t size, size_t n, void *cls)
{
	struct gen *g = cls;
	size_t max = size * n, k = 0;

	if (g->pause_at && g->sent >= g->pause_at) {
		double deadline = clock_mono_ms() + 5000;

		while (atomic_load(&sink_bytes) < g->pause_at / 2 && clock_mono_ms() < deadline)
			sleep_ms(5);
		if (atomic_load(&sink_bytes) < g->pause_at / 2)
			g->waited_out = true;
		g->pause_at = 0;
	}
	if (max > 65536)
		max = 65536;
	while (k < max && g->sent < g->total) {
		p[k++] = (char)('a' + g->sent % 26);
		g->sent++;
	}
	return k;
}

static CURL *chunked_post(const char *path, struct gen *g, struct reply *r,
			  struct curl_slist **hdrs)
{
	CURL *c = client("POST", path, r);

	*hdrs = curl_slist_append(NULL, "Transfer-Encoding: chunked");
	*hdrs = curl_slist_append(*hdrs, "Expect:");
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, gen_read);
	curl_easy_setopt(c, CURLOPT_READDATA, g);
	return c;
}

Test(server, too_large_chunked_body_is_413)
{
	struct gen g = { .total = 200 * 1024 };
	struct curl_slist *hdrs;
	struct reply r;
	CURL *c = chunked_post("/echo", &g, &r, &hdrs);
	json_t *j;

	cr_assert_eq(finish(c, &r), CURLE_OK);
	curl_slist_free_all(hdrs);
	cr_assert_eq(r.status, 413);
	j = json_body(&r);
	cr_assert_str_eq(json_string_value(json_object_get(j, "message")),
			 "413 Request Entity Too Large");
	json_decref(j);
	reply_dispose(&r);
}

Test(server, streaming_upload_arrives_incrementally)
{
	struct gen g = { .total = UPLOAD_TOTAL, .pause_at = 1024 * 1024 };
	struct curl_slist *hdrs;
	struct reply r;
	CURL *c = chunked_post("/upload", &g, &r, &hdrs);
	json_t *j;

	atomic_store(&sink_bytes, 0);
	cr_assert_eq(finish(c, &r), CURLE_OK);
	curl_slist_free_all(hdrs);
	cr_assert_eq(r.status, 200, "%s", buf_cstr(&r.body));
	/* the server passed on the first MiB while the client held back the rest */
	cr_assert_not(g.waited_out);
	j = json_body(&r);
	cr_assert_eq(json_integer_value(json_object_get(j, "bytes")), UPLOAD_TOTAL);
	cr_assert_gt(json_integer_value(json_object_get(j, "chunks")), 10);
	cr_assert_leq(json_integer_value(json_object_get(j, "max_chunk")), MAX_HEADER);
	json_decref(j);
	reply_dispose(&r);
}

Test(server, streaming_route_may_answer_at_once)
{
	struct gen g = { .total = 100 * 1024 };
	struct curl_slist *hdrs;
	struct reply r;
	CURL *c = chunked_post("/deny", &g, &r, &hdrs);

	finish(c, &r); /* the server may close before the client is done sending */
	curl_slist_free_all(hdrs);
	cr_assert_eq(r.status, 401);
	reply_dispose(&r);
}

Test(server, streaming_response)
{
	struct reply r;

	stream_freed = 0;
	request("GET", "/stream", NULL, 0, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.body.len, 10000);
	cr_assert_eq(r.body.data[0], '0');
	cr_assert_eq(r.body.data[9999], '1');
	cr_assert(has_header(&r, "Transfer-Encoding: chunked"));
	reply_dispose(&r);
	for (int i = 0; i < 100 && stream_freed == 0; i++)
		sleep_ms(10);
	cr_assert_eq(stream_freed, 1);
}

Test(server, http_next_passes_to_next_route)
{
	struct reply r;

	request("GET", "/next", NULL, 0, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(buf_cstr(&r.body), "second");
	cr_assert_not(has_header(&r, "X-Dropped"));
	reply_dispose(&r);
	request("GET", "/allnext", NULL, 0, &r);
	cr_assert_eq(r.status, 404);
	reply_dispose(&r);
}

Test(server, handler_without_answer_or_failing_gives_500)
{
	const char *paths[] = { "/noanswer", "/fail" };
	struct reply r;

	for (int i = 0; i < 2; i++) {
		json_t *j;

		request("GET", paths[i], NULL, 0, &r);
		cr_assert_eq(r.status, 500, "%s", paths[i]);
		j = json_body(&r);
		cr_assert_str_eq(json_string_value(json_object_get(j, "message")),
				 "500 Internal Server Error");
		json_decref(j);
		reply_dispose(&r);
	}
	request("GET", "/twice", NULL, 0, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(buf_cstr(&r.body), "one");
	reply_dispose(&r);
}

Test(server, cookies_and_headers)
{
	struct curl_slist *h = curl_slist_append(NULL, "X-Test-Header: hello");
	struct reply r;
	CURL *c = client("GET", "/cookie", &r);
	json_t *j;

	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_COOKIE, "a=1; sid=\"s3ss10n\";other= x ");
	cr_assert_eq(finish(c, &r), CURLE_OK);
	curl_slist_free_all(h);
	j = json_body(&r);
	cr_assert_str_eq(json_string_value(json_object_get(j, "sid")), "s3ss10n");
	cr_assert_str_eq(json_string_value(json_object_get(j, "other")), "x");
	cr_assert_str_eq(json_string_value(json_object_get(j, "hdr")), "hello");
	cr_assert_str_eq(json_string_value(json_object_get(j, "remote")), "127.0.0.1");
	json_decref(j);
	reply_dispose(&r);
}

Test(server, html_security_headers_and_redirect)
{
	struct reply r;

	request("GET", "/html", NULL, 0, &r);
	cr_assert_eq(r.status, 200);
	cr_assert(has_header(&r, "X-Frame-Options: DENY"));
	cr_assert(has_header(&r, "Content-Security-Policy: default-src 'self'"));
	cr_assert(has_header(&r, "X-Content-Type-Options: nosniff"));
	cr_assert_null(strstr(buf_cstr(&r.headers), "unsafe-inline'; script") );
	reply_dispose(&r);
	request("GET", "/redirect", NULL, 0, &r);
	cr_assert_eq(r.status, 302);
	cr_assert(has_header(&r, "Location: /-/health"));
	reply_dispose(&r);
}

Test(server, handler_csp_replaces_the_default)
{
	struct reply r;
	const char *h, *first;

	request("GET", "/html-own-csp", NULL, 0, &r);
	cr_assert_eq(r.status, 200);
	h = buf_cstr(&r.headers);
	first = strcasestr(h, "Content-Security-Policy:");
	cr_assert_not_null(first);
	cr_assert_null(strcasestr(first + 1, "Content-Security-Policy:"),
		       "exactly one CSP expected:\n%s", h);
	cr_assert(has_header(&r, "Content-Security-Policy: default-src 'none'"));
	cr_assert(has_header(&r, "X-Frame-Options: DENY"));
	reply_dispose(&r);
}

static void *slow_client(void *arg)
{
	struct reply *r = arg;
	CURL *c = client("GET", "/slow", r);

	if (finish(c, r) != CURLE_OK)
		r->status = -1;
	return NULL;
}

Test(server, stop_drains_in_flight_requests)
{
	struct reply r;
	pthread_t t;

	atomic_store(&slow_entered, false);
	pthread_create(&t, NULL, slow_client, &r);
	for (int i = 0; i < 500 && !atomic_load(&slow_entered); i++)
		sleep_ms(5);
	cr_assert(atomic_load(&slow_entered));
	http_server_stop(srv);
	srv = NULL;
	pthread_join(t, NULL);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(buf_cstr(&r.body), "done");
	cr_assert(has_header(&r, "Connection: close"));
	reply_dispose(&r);
}

Test(server_start, rejects_non_ip_listen_address)
{
	struct http_server_options o = { .listen_addr = "localhost" };
	struct http_server *s = NULL;

	cr_assert_eq(http_server_start(&s, &o, routes, 1, NULL), -4);
	cr_assert_null(s);
}

Test(server_start, ipv6_loopback)
{
	struct http_server_options o = { .listen_addr = "::1", .port = 0 };
	struct http_server *s = NULL;
	struct reply r;
	char url[64];
	CURL *c;

	if (http_server_start(&s, &o, routes, sizeof(routes) / sizeof(routes[0]), NULL) < 0)
		cr_skip_test("no IPv6 loopback here");
	snprintf(url, sizeof(url), "http://[::1]:%u/api/v4/projects/x", http_server_port(s));
	memset(&r, 0, sizeof(r));
	c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
	cr_assert_eq(finish(c, &r), CURLE_OK);
	cr_assert_eq(r.status, 200);
	reply_dispose(&r);
	http_server_stop(s);
}

Test(server_start, port_in_use_is_an_error)
{
	struct http_server_options o = { .listen_addr = "127.0.0.1", .port = 0 };
	struct http_server *a = NULL, *b = NULL;
	int rc;

	cr_assert_eq(http_server_start(&a, &o, routes, 1, NULL), 0);
	o.port = http_server_port(a);
	rc = http_server_start(&b, &o, routes, 1, NULL);
	cr_assert_lt(rc, 0);
	cr_assert_null(b);
	cr_assert(strstr(error_msg(), "in use"), "%s", error_msg());
	http_server_stop(a);
	http_server_stop(NULL);
}

/* ------------------------------------------------- the threading model */

struct trickle {
	int pieces;      /* pieces of 64 bytes, one every 40 ms */
	int sent;
	long status;
	struct buf body;
	const char *path;
	CURLcode rc;
};

static size_t trickle_read(char *p, size_t size, size_t n, void *cls)
{
	struct trickle *t = cls;
	size_t k = size * n < 64 ? size * n : 64;

	if (t->sent >= t->pieces)
		return 0;
	sleep_ms(40);
	memset(p, 't', k);
	t->sent++;
	return k;
}

static void *trickle_client(void *arg)
{
	struct trickle *t = arg;
	struct reply r;
	struct curl_slist *h = curl_slist_append(NULL, "Transfer-Encoding: chunked");
	CURL *c = client("POST", t->path, &r);

	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, trickle_read);
	curl_easy_setopt(c, CURLOPT_READDATA, t);
	t->rc = finish(c, &r);
	curl_slist_free_all(h);
	t->status = r.status;
	t->body = r.body;
	buf_dispose(&r.headers);
	return NULL;
}

static void *slow_stream_client(void *arg)
{
	struct trickle *t = arg;
	struct reply r;
	CURL *c = client("GET", t->path, &r);

	t->rc = finish(c, &r);
	t->status = r.status;
	t->body = r.body;
	buf_dispose(&r.headers);
	return NULL;
}

Test(server, slow_sinks_and_readers_hold_no_pool_thread)
{
	enum { UPLOADS = 3, STREAMS = 3, QUICK = 50 };
	struct trickle up[UPLOADS], st[STREAMS];
	pthread_t ut[UPLOADS], stt[STREAMS];
	double worst = 0, t0;

	atomic_store(&slow_sinks_active, 0);
	atomic_store(&slow_sink_calls, 0);
	atomic_store(&slow_stream_freed, 0);
	for (int i = 0; i < UPLOADS; i++) {
		up[i] = (struct trickle){ .pieces = 40, .path = "/slow-upload" };
		pthread_create(&ut[i], NULL, trickle_client, &up[i]);
	}
	for (int i = 0; i < STREAMS; i++) {
		st[i] = (struct trickle){ .path = "/slow-stream?blocks=20" };
		pthread_create(&stt[i], NULL, slow_stream_client, &st[i]);
	}
	/* every slow sink is busy before the quick requests start */
	for (int i = 0; i < 500 && atomic_load(&slow_sink_calls) < UPLOADS; i++)
		sleep_ms(5);
	cr_assert_geq(atomic_load(&slow_sink_calls), UPLOADS);

	t0 = clock_mono_ms();
	for (int i = 0; i < QUICK; i++) {
		struct reply r;
		double s = clock_mono_ms();
		CURL *c = client("GET", "/api/v4/projects/q", &r);

		curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L); /* a new connection each */
		curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
		cr_assert_eq(finish(c, &r), CURLE_OK);
		cr_assert_eq(r.status, 200);
		reply_dispose(&r);
		if (clock_mono_ms() - s > worst)
			worst = clock_mono_ms() - s;
	}
	/* all of them while the slow requests were still in progress */
	cr_assert_eq(atomic_load(&slow_sinks_active), UPLOADS,
		     "the uploads ended before the quick requests did (%.0f ms)",
		     clock_mono_ms() - t0);
	cr_assert_eq(atomic_load(&slow_stream_freed), 0);
	/* a sink sleeps 150 ms per call: a pool thread held by one would show */
	cr_assert_lt(worst, 100.0, "a quick request took %.1f ms", worst);

	for (int i = 0; i < UPLOADS; i++) {
		pthread_join(ut[i], NULL);
		cr_assert_eq(up[i].rc, CURLE_OK);
		cr_assert_eq(up[i].status, 200);
		cr_assert_str_eq(buf_cstr(&up[i].body), "slow done");
		buf_dispose(&up[i].body);
	}
	for (int i = 0; i < STREAMS; i++) {
		pthread_join(stt[i], NULL);
		cr_assert_eq(st[i].rc, CURLE_OK);
		cr_assert_eq(st[i].status, 200);
		cr_assert_eq(st[i].body.len, 20 * 100);
		buf_dispose(&st[i].body);
	}
	for (int i = 0; i < 100 && atomic_load(&slow_stream_freed) < STREAMS; i++)
		sleep_ms(10);
	cr_assert_eq(atomic_load(&slow_stream_freed), STREAMS);
}

Test(server_stop, stop_ends_streams_and_sinks_in_progress, .timeout = 60)
{
	struct http_server_options o = {
		.listen_addr = "127.0.0.1", .max_connections = 32, .connection_timeout_s = 10,
		.drain_timeout_s = 0.3, .threads = 2,
	};
	struct trickle endless = { .path = "/slow-stream" };
	struct trickle upload = { .pieces = 1000, .path = "/waiting-upload" };
	pthread_t a, b;
	double t0;

	logf_ = tmpfile();
	log_init(LOG_INFO, fileno(logf_));
	curl_global_init(CURL_GLOBAL_DEFAULT);
	cr_assert_eq(http_server_start(&srv, &o, routes, sizeof(routes) / sizeof(routes[0]), NULL),
		     0);
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", http_server_port(srv));
	atomic_store(&slow_stream_freed, 0);
	atomic_store(&waiting_sink_in, false);
	atomic_store(&waiting_sink_saw_abort, false);
	pthread_create(&a, NULL, slow_stream_client, &endless);
	pthread_create(&b, NULL, trickle_client, &upload);
	for (int i = 0; i < 500 && !atomic_load(&waiting_sink_in); i++)
		sleep_ms(5);
	cr_assert(atomic_load(&waiting_sink_in));
	sleep_ms(300); /* the endless stream is under way, suspended between blocks */

	t0 = clock_mono_ms();
	http_server_stop(srv);
	srv = NULL;
	/* drain 0.3 s, then the sink sees the abort and the reader's block ends */
	cr_assert_lt(clock_mono_ms() - t0, 3000.0);
	cr_assert(atomic_load(&waiting_sink_saw_abort));
	cr_assert_eq(atomic_load(&slow_stream_freed), 1);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	cr_assert_gt(endless.body.len, 0);
	cr_assert_neq(endless.rc, CURLE_OK); /* cut off, not ended */
	buf_dispose(&endless.body);
	buf_dispose(&upload.body);
	curl_global_cleanup();
	fclose(logf_);
	logf_ = NULL;
}
