/*
 * fake_http.c: see fake_http.h. Implements the http/server.h functions
 * that auth and web call, over a plain struct.
 */
#include "fake_http.h"
#include "http/server.h"
#include "util/buf.h"
#include "util/error.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void fake_init(struct http_request *req)
{
	memset(req, 0, sizeof(*req));
	req->method = "GET";
	req->path = "/";
	req->query_string = "";
}

static void pairs_free(struct fake_pair *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].value);
	}
}

void fake_dispose(struct http_request *req)
{
	pairs_free(req->headers, req->nheaders);
	pairs_free(req->cookies, req->ncookies);
	pairs_free(req->query, req->nquery);
	pairs_free(req->out, req->nout);
	free(req->content_type);
	free(req->answer);
	memset(req, 0, sizeof(*req));
}

static void add(struct fake_pair *p, size_t *n, const char *name, const char *value)
{
	assert(*n < FAKE_MAX);
	p[*n].name = xstrdup(name);
	p[*n].value = xstrdup(value);
	(*n)++;
}

void fake_header(struct http_request *req, const char *name, const char *value)
{
	add(req->headers, &req->nheaders, name, value);
}

void fake_cookie(struct http_request *req, const char *name, const char *value)
{
	for (size_t i = 0; i < req->ncookies; i++)
		if (strcmp(req->cookies[i].name, name) == 0) {
			free(req->cookies[i].value);
			req->cookies[i].value = xstrdup(value);
			return;
		}
	add(req->cookies, &req->ncookies, name, value);
}

void fake_query(struct http_request *req, const char *name, const char *value)
{
	add(req->query, &req->nquery, name, value);
}

static const char *find(const struct fake_pair *p, size_t n, const char *name, bool nocase,
			size_t nth)
{
	for (size_t i = 0; i < n; i++)
		if ((nocase ? strcasecmp(p[i].name, name) : strcmp(p[i].name, name)) == 0 &&
		    nth-- == 0)
			return p[i].value;
	return NULL;
}

const char *fake_out(const struct http_request *req, const char *name, size_t nth)
{
	return find(req->out, req->nout, name, true, nth);
}

void fake_follow_cookies(struct http_request *from, struct http_request *to)
{
	const char *sc;

	for (size_t i = 0; (sc = fake_out(from, "Set-Cookie", i)); i++) {
		const char *eq = strchr(sc, '='), *semi = strchr(sc, ';');
		char *name = xstrndup(sc, (size_t)(eq - sc));
		char *value = xstrndup(eq + 1, (size_t)(semi - eq - 1));

		if (strstr(sc, "Max-Age=0")) {
			for (size_t j = 0; j < to->ncookies; j++)
				if (strcmp(to->cookies[j].name, name) == 0)
					to->cookies[j].value[0] = '\0';
		} else {
			fake_cookie(to, name, value);
		}
		free(name);
		free(value);
	}
}

const char *http_request_method(const struct http_request *req) { return req->method; }
const char *http_request_path(const struct http_request *req) { return req->path; }
const char *http_request_query_string(const struct http_request *req) { return req->query_string; }

const char *http_request_header(const struct http_request *req, const char *name)
{
	return find(req->headers, req->nheaders, name, true, 0);
}

const char *http_request_cookie(const struct http_request *req, const char *name)
{
	return find(req->cookies, req->ncookies, name, false, 0);
}

const char *http_request_query(const struct http_request *req, const char *name)
{
	return find(req->query, req->nquery, name, false, 0);
}

const char *http_request_body(const struct http_request *req, size_t *len)
{
	*len = req->body ? strlen(req->body) : 0;
	return req->body ? req->body : "";
}

int http_add_header(struct http_request *req, const char *name, const char *value)
{
	assert(!req->answered);
	add(req->out, &req->nout, name, value);
	return 0;
}

int http_respond(struct http_request *req, unsigned status, const char *content_type,
		 const void *body, size_t len)
{
	assert(!req->answered);
	req->answered = 1;
	req->status = status;
	req->content_type = xstrdup(content_type);
	req->answer = xstrndup(body, len);
	req->answer_len = len;
	return 0;
}

int http_respond_html(struct http_request *req, unsigned status, const char *html, size_t len)
{
	return http_respond(req, status, "text/html; charset=utf-8", html, len);
}

int http_redirect(struct http_request *req, unsigned status, const char *location)
{
	http_add_header(req, "Location", location);
	return http_respond(req, status, "text/html", "", 0);
}

int http_respond_json(struct http_request *req, unsigned status, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);
	int err;

	json_decref(body);
	err = http_respond(req, status, "application/json", text ? text : "null",
			   text ? strlen(text) : 4);
	free(text);
	return err;
}

int http_respond_error(struct http_request *req, unsigned status, const char *message)
{
	return http_respond_json(req, status, json_pack("{s:s}", "message", message));
}

/* Streams are drained at once into the answer (the fake has no socket). */
int http_respond_stream(struct http_request *req, unsigned status, const char *content_type,
			http_stream_reader_fn reader, void *cls, void (*free_cls)(void *))
{
	struct buf b = BUF_INIT(0);
	char chunk[4096];
	ssize_t n;
	int err;

	while ((n = reader(cls, chunk, sizeof(chunk))) > 0)
		buf_append(&b, chunk, (size_t)n);
	if (free_cls)
		free_cls(cls);
	err = http_respond(req, status, content_type, buf_cstr(&b), b.len);
	buf_dispose(&b);
	return err;
}
