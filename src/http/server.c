/*
 * server.c: the HTTP server on libmicrohttpd (MHD); see server.h for the
 * contract handlers rely on.
 *
 * Threads (see also docs/ARCHITECTURE.md, "Threads and processes"):
 *  - A small pool of event-driven threads (MHD's internal epoll, or poll
 *    where epoll is missing, with MHD_OPTION_THREAD_POOL_SIZE =
 *    server.threads, by default the number of CPUs, at least 2) serves
 *    every connection. Keep-alive connections cost no thread of their own.
 *  - Handlers of buffered routes, and the header-time call of streaming
 *    routes, run on a pool thread: they may block briefly (SQLite, a
 *    password hash), never on a client or a child process.
 *  - Everything that may block for long runs on a per-request worker
 *    thread (struct job), created only for requests that need one: a
 *    streaming route that installs a body sink, and any answer given with
 *    http_respond_stream(). The worker calls the body sink, and then the
 *    stream reader, so both may block as server.h promises.
 *      upload: MHD hands body bytes to on_request() on the pool thread,
 *        which copies them into the job's queue and returns at once. When
 *        the queue holds QUEUE_MAX bytes or more the connection is
 *        suspended (MHD stops reading from the socket, so TCP pushes back
 *        on the client); the worker resumes it when it has drained the
 *        queue below QUEUE_MAX / 2. The queue is bounded by QUEUE_MAX
 *        plus one MHD read buffer (server.max_header_bytes). Its chunks
 *        (CHUNK_CAP, small pieces share one) are reused once drained, so
 *        a long upload allocates nothing per chunk.
 *      end of body: the pool thread suspends the connection until the
 *        worker has called the sink for the end and thereby answered;
 *        then the answer is queued from the pool thread (MHD calls the
 *        access handler again after the resume).
 *      response: MHD's content reader (stream_crc) never blocks: it copies
 *        what the worker has read (one STREAM_BLOCK at a time, the worker
 *        reading the next block meanwhile) and, when nothing is ready,
 *        suspends the connection and returns 0; the worker resumes it when
 *        a block, the end or an error is there.
 *    Suspending and resuming follow one rule, under the job's mutex: only
 *    a pool thread inside an MHD callback suspends, and sets
 *    job->suspended; only a thread that finds job->suspended set clears it
 *    and resumes. So a resume always follows its suspend, and a suspended
 *    connection (which MHD cannot close) never meets a dangling resume.
 *  - Lifetimes: the job is reference-counted (the request, the worker, the
 *    stream response's reader slot); the reader's cls is freed when the
 *    last one goes, so it never happens while the worker is inside the
 *    reader. When MHD ends a request while the worker is still in the
 *    sink phase (the client went away), the request itself is handed to
 *    the worker (job->req_orphan), which frees it when it leaves the sink.
 *  - http_server_stop(): quiesce (no new connections), wait for in-flight
 *    requests up to the drain timeout, then mark every job aborted and
 *    resume its connection (MHD must not be stopped with suspended
 *    connections; an aborted job never suspends again, and no new job is
 *    started), stop MHD, and wait for the workers to leave (a sink or
 *    reader that waits on something slow checks http_request_aborted()).
 *
 * Requests:
 *  - Per-request state (struct http_request) is created in MHD's URI log
 *    callback, which sees the request target before MHD touches it: that
 *    is where the raw path and the raw query string come from. MHD's own
 *    unescaping is switched off (keep_escaped), so nothing MHD decodes is
 *    used; the router decodes path parameters and form.c the query. The
 *    request is logged, and normally freed, in MHD's completion callback
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
 *    the body is buffered; a body up to DISCARD_LIMIT is still read and
 *    dropped before the 413 goes out, so a client that is still sending
 *    reads the answer instead of a reset.
 *  - Every response carries X-Content-Type-Options: nosniff; HTML ones
 *    also X-Frame-Options and (unless the handler set its own) a
 *    Content-Security-Policy that forbids inline script. While stopping,
 *    responses carry "Connection: close".
 *
 * Ownership: the server borrows the route table and app. Each request
 * owns its strings, body, parameters and pending response (one MHD
 * reference, dropped when the request is freed).
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
#include <pthread.h>
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
#define DEFAULT_MAX_HEADER (16 * 1024)
#define DEFAULT_MAX_CONNECTIONS 512
#define DEFAULT_TIMEOUT_S 60
#define MIN_THREADS 2
#define MAX_THREADS 256
#define MAX_COOKIES 64
#define MAX_RESPONSE_HEADERS 64
#define MAX_SNAPSHOT_HEADERS 1024     /* MHD's memory limit bounds them well before */
#define STREAM_BLOCK (32 * 1024)
#define QUEUE_MAX (256 * 1024)          /* upload bytes queued for a worker before suspending */
#define CHUNK_CAP (32 * 1024)           /* queue chunk size; small pieces share one */
#define MAX_SPARE (QUEUE_MAX / CHUNK_CAP + 2) /* drained chunks kept for reuse: a full queue's worth */
#define WORKER_STACK (2 * 1024 * 1024) /* stack of a request's worker thread */
#define DISCARD_LIMIT ((uint64_t)64 << 20)

#define CSP "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " \
	"img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; " \
	"frame-ancestors 'none'"

struct job;

struct http_server {
	struct MHD_Daemon *daemon;
	const struct http_route *routes; /* borrowed */
	size_t nroutes;
	void *app;                       /* borrowed */
	size_t max_body_bytes;
	double drain_timeout_s;
	unsigned threads;
	atomic_int inflight;
	atomic_bool stopping;
	pthread_mutex_t jobs_mu;         /* guards the fields below */
	pthread_cond_t jobs_cond;        /* signalled when a worker leaves */
	struct job *jobs;                /* live jobs, for the abort at stop */
	unsigned nworkers;               /* worker threads still running */
	bool aborting;                   /* stop has aborted the jobs: start no more */
};

enum req_phase {
	PHASE_NEW,     /* the headers have not been handled yet */
	PHASE_BUFFER,  /* collecting the body for a buffered route */
	PHASE_SINK,    /* passing the body to a streaming route's worker */
	PHASE_DISCARD, /* the answer is decided; dropping the rest of the body */
};

struct pair {
	char *name;  /* owned */
	char *value; /* owned */
};

struct chunk {
	struct chunk *next;
	size_t len;
	size_t cap;
	char data[];
};

/* A request's worker thread and what it shares with MHD's side. Fields
 * marked (mu) are read and written under mu only. */
struct job {
	pthread_mutex_t mu;
	pthread_cond_t cond;           /* the worker waits on it */
	int refs;                      /* (mu) request + worker + stream response */
	struct http_server *srv;
	struct MHD_Connection *conn;   /* resumed only while (mu) suspended is set */
	struct http_request *req;      /* the worker's during the sink phase only */
	struct job *prev, *next;       /* (srv->jobs_mu) in srv->jobs */
	bool suspended;                /* (mu) we suspended conn; whoever clears it resumes */
	bool aborted;                  /* (mu) the request ended or the server stops */
	bool worker_started;           /* pool side only */
	/* upload */
	bool has_sink;                 /* set before the worker starts */
	struct chunk *head, *tail;     /* (mu) body bytes for the sink */
	struct chunk *spare;           /* (mu) drained chunks kept for reuse */
	unsigned nspare;               /* (mu) */
	size_t queued;                 /* (mu) bytes in the queue */
	bool body_end;                 /* (mu) MHD has seen the end of the body */
	bool in_sink;                  /* (mu) the worker may still touch req */
	bool sink_done;                /* (mu) the sink phase is over: req->answered is final */
	bool sink_failed;              /* (mu) drop the rest of the body */
	bool req_orphan;               /* (mu) MHD ended the request: the worker frees req */
	/* response */
	http_stream_reader_fn reader;  /* set by the answering thread before use */
	void *cls;
	void (*free_cls)(void *);
	char *out;                     /* (mu) a block read by the worker, STREAM_BLOCK bytes */
	size_t out_pos, out_len;       /* (mu) */
	bool out_eof, out_error;       /* (mu) */
	uint64_t bytes_sent;           /* (mu) bytes handed to MHD */
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
	struct pair *in_headers; /* request headers copied for a worker, owned */
	size_t nin_headers;
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
	struct job *job;      /* one reference owned; NULL for most requests */
	bool answered;
	bool queued;
	void *data;
	void (*data_free)(void *);
	const char *log_msg; /* static; NULL: "request" */
	char *log_fields;    /* owned; extra fields for the request's line */
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

/* ----------------------------------------------------------------- jobs */

static void job_free_chunks(struct job *job)
{
	while (job->head) {
		struct chunk *c = job->head;

		job->head = c->next;
		free(c);
	}
	job->tail = NULL;
	job->queued = 0;
}

/* A drained chunk goes back for reuse (a busy upload then allocates
 * nothing per chunk) or is freed. Call with job->mu held. */
static void chunk_recycle_locked(struct job *job, struct chunk *c)
{
	if (c->cap == CHUNK_CAP && job->nspare < MAX_SPARE) {
		c->next = job->spare;
		job->spare = c;
		job->nspare++;
	} else {
		free(c);
	}
}

static struct job *job_new(struct http_request *req)
{
	struct http_server *srv = req->srv;
	struct job *job = xcalloc(1, sizeof(*job));

	pthread_mutex_init(&job->mu, NULL);
	pthread_cond_init(&job->cond, NULL);
	job->refs = 1; /* the request's */
	job->srv = srv;
	job->conn = req->conn;
	job->req = req;
	pthread_mutex_lock(&srv->jobs_mu);
	job->next = srv->jobs;
	if (srv->jobs)
		srv->jobs->prev = job;
	srv->jobs = job;
	/* jobs created after stop's sweep are aborted from the start */
	job->aborted = srv->aborting;
	pthread_mutex_unlock(&srv->jobs_mu);
	req->job = job;
	return job;
}

static void job_ref(struct job *job)
{
	pthread_mutex_lock(&job->mu);
	job->refs++;
	pthread_mutex_unlock(&job->mu);
}

static void job_unref(struct job *job)
{
	struct http_server *srv;
	int left;

	if (!job)
		return;
	pthread_mutex_lock(&job->mu);
	left = --job->refs;
	pthread_mutex_unlock(&job->mu);
	if (left > 0)
		return;
	srv = job->srv;
	pthread_mutex_lock(&srv->jobs_mu);
	if (job->prev)
		job->prev->next = job->next;
	else
		srv->jobs = job->next;
	if (job->next)
		job->next->prev = job->prev;
	pthread_mutex_unlock(&srv->jobs_mu);
	if (job->free_cls)
		job->free_cls(job->cls);
	job_free_chunks(job);
	while (job->spare) {
		struct chunk *c = job->spare;

		job->spare = c->next;
		free(c);
	}
	free(job->out);
	pthread_cond_destroy(&job->cond);
	pthread_mutex_destroy(&job->mu);
	free(job);
}

/* Resumes the connection if we suspended it. Call with job->mu held. */
static void job_resume_locked(struct job *job)
{
	if (job->suspended) {
		job->suspended = false;
		MHD_resume_connection(job->conn);
	}
}

/* Suspends the connection from inside an MHD callback on the pool thread.
 * Call with job->mu held and job->aborted false. MHD may call again while
 * suspended (several chunks of one read buffer): then nothing to do. */
static void job_suspend_locked(struct job *job)
{
	assert(!job->aborted);
	if (!job->suspended) {
		job->suspended = true;
		MHD_suspend_connection(job->conn);
	}
}

/* ------------------------------------------------------------ responses */

static int answer(struct http_request *req, unsigned status, const char *content_type,
		  struct MHD_Response *resp, uint64_t bytes)
{
	int err = 0;

	if (req->answered) {
		MHD_destroy_response(resp);
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

/* MHD's content reader for streamed answers, on the pool thread: never
 * blocks (see the top of the file). */
static ssize_t stream_crc(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct job *job = cls;
	ssize_t n;

	(void)pos;
	pthread_mutex_lock(&job->mu);
	if (job->out_len > 0) {
		n = (ssize_t)(max < job->out_len ? max : job->out_len);
		memcpy(buf, job->out + job->out_pos, (size_t)n);
		job->out_pos += (size_t)n;
		job->out_len -= (size_t)n;
		job->bytes_sent += (uint64_t)n;
		if (job->out_len == 0)
			pthread_cond_signal(&job->cond);
	} else if (job->out_eof) {
		n = MHD_CONTENT_READER_END_OF_STREAM;
	} else if (job->out_error || job->aborted) {
		n = MHD_CONTENT_READER_END_WITH_ERROR;
	} else {
		job_suspend_locked(job);
		n = 0;
	}
	pthread_mutex_unlock(&job->mu);
	return n;
}

static void stream_crc_free(void *cls)
{
	job_unref(cls); /* the response's reference */
}

int http_respond_stream(struct http_request *req, unsigned status, const char *content_type,
			http_stream_reader_fn reader, void *cls, void (*free_cls)(void *))
{
	struct MHD_Response *resp;
	struct job *job;

	if (req->answered || (req->job && req->job->reader)) {
		if (free_cls)
			free_cls(cls);
		return error_set(SO_EFAIL, "a response was already sent");
	}
	job = req->job ? req->job : job_new(req);
	job->reader = reader;
	job->cls = cls;
	job->free_cls = free_cls; /* from now on the job frees cls */
	job_ref(job);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_crc, job,
						 stream_crc_free);
	if (!resp) {
		job_unref(job);
		return error_set(SO_EFAIL, "cannot create the response");
	}
	return answer(req, status, content_type, resp, 0);
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
	case 503: text = "503 Service Unavailable"; break;
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

/* --------------------------------------------------------------- worker */

static void request_free(struct http_request *req);

/* The sink phase: body chunks from the queue to the sink, then the end. */
static void worker_sink(struct job *job)
{
	struct http_request *req = job->req;
	bool failed = false, orphan;

	pthread_mutex_lock(&job->mu);
	for (;;) {
		struct chunk *c;
		int rc;

		while (!job->head && !job->body_end && !job->aborted)
			pthread_cond_wait(&job->cond, &job->mu);
		if (job->aborted)
			break;
		if (!job->head) { /* the end of the body */
			pthread_mutex_unlock(&job->mu);
			if (!failed) {
				error_clear();
				rc = req->sink(req, NULL, 0, req->sink_cls);
				if (rc < 0 || !req->answered)
					respond_std(req, 500);
			} else if (!req->answered) {
				respond_std(req, 500);
			}
			pthread_mutex_lock(&job->mu);
			break;
		}
		c = job->head;
		job->head = c->next;
		if (!job->head)
			job->tail = NULL;
		job->queued -= c->len;
		if (job->queued < QUEUE_MAX / 2 && !job->body_end)
			job_resume_locked(job);
		pthread_mutex_unlock(&job->mu);
		if (!failed) {
			error_clear();
			if (req->sink(req, c->data, c->len, req->sink_cls) < 0) {
				respond_std(req, 500);
				failed = true;
			}
		}
		pthread_mutex_lock(&job->mu);
		chunk_recycle_locked(job, c);
		if (failed && !job->sink_failed) {
			job->sink_failed = true;
			job_free_chunks(job);
			job_resume_locked(job);
		}
	}
	job->in_sink = false;
	job->sink_done = true;
	orphan = job->req_orphan;
	job->req = NULL;
	if (!job->aborted)
		job_resume_locked(job); /* the pool thread waits to queue the answer */
	pthread_mutex_unlock(&job->mu);
	if (orphan)
		request_free(req);
}

/* The reader phase: one block read ahead of what MHD sends. */
static void worker_reader(struct job *job)
{
	char *next = xmalloc(STREAM_BLOCK);

	for (;;) {
		ssize_t n;
		char *tmp;

		pthread_mutex_lock(&job->mu);
		if (job->aborted) {
			pthread_mutex_unlock(&job->mu);
			break;
		}
		pthread_mutex_unlock(&job->mu);
		error_clear();
		n = job->reader(job->cls, next, STREAM_BLOCK);
		pthread_mutex_lock(&job->mu);
		while (job->out_len > 0 && !job->aborted)
			pthread_cond_wait(&job->cond, &job->mu);
		if (job->aborted) {
			pthread_mutex_unlock(&job->mu);
			break;
		}
		if (n > 0 && n <= STREAM_BLOCK) {
			tmp = job->out;
			job->out = next;
			next = tmp ? tmp : xmalloc(STREAM_BLOCK);
			job->out_pos = 0;
			job->out_len = (size_t)n;
		} else if (n == 0) {
			job->out_eof = true;
		} else {
			job->out_error = true;
		}
		job_resume_locked(job);
		pthread_mutex_unlock(&job->mu);
		if (n <= 0 || n > STREAM_BLOCK)
			break;
	}
	free(next);
}

static void *worker_main(void *arg)
{
	struct job *job = arg;
	struct http_server *srv = job->srv;
	bool reader;

	if (job->has_sink)
		worker_sink(job);
	pthread_mutex_lock(&job->mu);
	reader = job->reader && !job->aborted;
	pthread_mutex_unlock(&job->mu);
	if (reader)
		worker_reader(job);
	job_unref(job);
	pthread_mutex_lock(&srv->jobs_mu);
	srv->nworkers--;
	pthread_cond_broadcast(&srv->jobs_cond);
	pthread_mutex_unlock(&srv->jobs_mu);
	return NULL;
}

static enum MHD_Result copy_header(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	struct http_request *req = cls;

	(void)kind;
	if (req->nin_headers >= MAX_SNAPSHOT_HEADERS)
		return MHD_NO;
	req->in_headers = xrealloc(req->in_headers, (req->nin_headers + 1) * sizeof(struct pair));
	req->in_headers[req->nin_headers].name = xstrdup(key);
	req->in_headers[req->nin_headers].value = xstrdup(value ? value : "");
	req->nin_headers++;
	return MHD_YES;
}

/* Starts the worker of req's job (created when absent). On the pool
 * thread; with_sink: the worker takes the body (the request's headers are
 * copied first, so the sink never reads MHD's connection while the pool
 * thread parses trailers into it). */
static int start_worker(struct http_request *req, bool with_sink)
{
	struct http_server *srv = req->srv;
	struct job *job = req->job ? req->job : job_new(req);
	pthread_attr_t attr;
	pthread_t tid;
	int rc;

	assert(!job->worker_started);
	if (with_sink)
		MHD_get_connection_values(req->conn, MHD_HEADER_KIND, copy_header, req);
	pthread_mutex_lock(&srv->jobs_mu);
	if (srv->aborting) {
		pthread_mutex_unlock(&srv->jobs_mu);
		return error_set(SO_EFAIL, "the server is stopping");
	}
	srv->nworkers++;
	pthread_mutex_unlock(&srv->jobs_mu);
	job->has_sink = with_sink;
	job->in_sink = with_sink; /* read by on_completed on this same thread */
	job_ref(job); /* the worker's */
	job->worker_started = true;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, WORKER_STACK);
	rc = pthread_create(&tid, &attr, worker_main, job);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		job->worker_started = false;
		job->has_sink = false;
		job->in_sink = false;
		job_unref(job);
		pthread_mutex_lock(&srv->jobs_mu);
		srv->nworkers--;
		pthread_cond_broadcast(&srv->jobs_cond);
		pthread_mutex_unlock(&srv->jobs_mu);
		return error_set(SO_EFAIL, "cannot start a worker thread: %s", strerror(rc));
	}
	return 0;
}

/* -------------------------------------------------------------- routing */

/* Appends body bytes to the queue: into the last chunk when they fit,
 * else into a spare or new chunk of CHUNK_CAP (or n, when larger). */
static void queue_chunk_locked(struct job *job, const char *data, size_t n)
{
	struct chunk *c = job->tail;

	job->queued += n;
	pthread_cond_signal(&job->cond);
	if (c && c->cap - c->len >= n) {
		memcpy(c->data + c->len, data, n);
		c->len += n;
		return;
	}
	if (n <= CHUNK_CAP && job->spare) {
		c = job->spare;
		job->spare = c->next;
		job->nspare--;
	} else {
		size_t cap = n > CHUNK_CAP ? n : CHUNK_CAP;

		c = xmalloc(sizeof(*c) + cap);
		c->cap = cap;
	}
	c->next = NULL;
	c->len = n;
	memcpy(c->data, data, n);
	if (job->tail)
		job->tail->next = c;
	else
		job->head = c;
	job->tail = c;
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
				/* A client still sending would see a reset instead
				 * of the answer: read and drop a body of moderate
				 * size first (on_request sends the 413 at its end). */
				if ((uint64_t)req->content_length <= DISCARD_LIMIT)
					req->phase = PHASE_DISCARD;
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
		if (start_worker(req, true) < 0) {
			log_event(LOG_ERROR, "handler failed",
				  json_pack("{s:s, s:s}", "path", req->path, "error", error_msg()));
			respond_std(req, atomic_load(&srv->stopping) ? 503 : 500);
			return;
		}
		req->phase = PHASE_SINK;
		if (body_ready && req->body.len) {
			/* a buffered route passed the request on: its body, whole */
			pthread_mutex_lock(&req->job->mu);
			queue_chunk_locked(req->job, req->body.data, req->body.len);
			pthread_mutex_unlock(&req->job->mu);
		}
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
	free_pairs(req->in_headers, req->nin_headers);
	free_pairs(req->headers, req->nheaders);
	buf_dispose(&req->body);
	free(req->uri);
	free(req->path);
	free(req->log_fields);
	job_unref(req->job);
	free(req);
}

/* status 0: no answer was sent (the client went away first). One line
 * per request; a handler may rename it and add its own fields
 * (http_request_log_as). */
static void log_request(struct http_request *req, unsigned status, uint64_t bytes)
{
	double ms = clock_mono_ms() - req->start_ms;
	struct log_field f[] = {
		LOG_STR("method", req->method),
		LOG_STR("path", req->path),
		LOG_INT("status", status),
		LOG_NUM("duration_ms", round(ms * 1000.0) / 1000.0),
		LOG_INT("bytes", strcmp(req->method, "HEAD") == 0 ? 0 : bytes),
		LOG_STR("remote_addr", req->remote),
		LOG_RAW(req->log_fields),
	};

	log_line(LOG_INFO, req->log_msg ? req->log_msg : "request", f, sizeof(f) / sizeof(f[0]));
}

void http_request_log_as(struct http_request *req, const char *msg, char *fields)
{
	if (!req) {
		free(fields);
		return;
	}
	req->log_msg = msg;
	free(req->log_fields);
	req->log_fields = fields;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct http_request *req = *con_cls;
	struct job *job;
	uint64_t bytes = 0;
	bool orphan = false, streamed = false;

	(void)conn;
	(void)toe;
	if (!req)
		return;
	*con_cls = NULL;
	job = req->job;
	if (job) {
		pthread_mutex_lock(&job->mu);
		job->aborted = true; /* whatever the worker still does is for nobody */
		assert(!job->suspended);
		if (job->in_sink)
			orphan = job->req_orphan = true;
		else if ((streamed = job->reader != NULL))
			bytes = job->bytes_sent;
		pthread_cond_broadcast(&job->cond);
		pthread_mutex_unlock(&job->mu);
	}
	/* While the worker is in the sink it owns the answer fields; nothing
	 * was queued then (req->queued is this thread's). */
	if (!orphan && !streamed)
		bytes = req->bytes;
	if (req->method)
		log_request(req, req->queued ? req->status : 0, bytes);
	if (!orphan)
		request_free(req); /* else the worker frees it when it leaves the sink */
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
	/* a streamed answer given by a handler on this thread needs its worker */
	if (req->job && !req->job->worker_started && req->job->reader &&
	    start_worker(req, false) < 0) {
		log_warn("cannot stream the answer to %s: %s", req->path, error_msg());
		return MHD_NO;
	}
	if (MHD_queue_response(req->conn, req->status, req->response) != MHD_YES)
		return MHD_NO;
	req->queued = true;
	return MHD_YES;
}

/* A body chunk for the worker (pool thread). Always takes all of it: MHD
 * treats a full read buffer that the application does not take while
 * suspended as an error. */
static enum MHD_Result sink_chunk(struct http_request *req, const char *data, size_t n)
{
	struct job *job = req->job;

	pthread_mutex_lock(&job->mu);
	if (job->aborted) {
		pthread_mutex_unlock(&job->mu);
		return MHD_NO;
	}
	if (job->sink_failed) { /* the worker has given up: drop the rest */
		pthread_mutex_unlock(&job->mu);
		req->discarded += n;
		return req->discarded > DISCARD_LIMIT ? MHD_NO : MHD_YES;
	}
	queue_chunk_locked(job, data, n);
	if (job->queued >= QUEUE_MAX)
		job_suspend_locked(job);
	pthread_mutex_unlock(&job->mu);
	return MHD_YES;
}

/* The last call of a request whose body went to a worker: wait (suspended)
 * for the worker's answer, then queue it. */
static enum MHD_Result sink_end(struct http_request *req)
{
	struct job *job = req->job;
	bool done;

	pthread_mutex_lock(&job->mu);
	if (!job->body_end) {
		job->body_end = true;
		pthread_cond_signal(&job->cond);
	}
	done = job->sink_done;
	if (!done && job->aborted) {
		pthread_mutex_unlock(&job->mu);
		return MHD_NO;
	}
	if (!done)
		job_suspend_locked(job);
	pthread_mutex_unlock(&job->mu);
	if (!done)
		return MHD_YES; /* MHD calls again once the worker resumes us */
	req->phase = PHASE_DISCARD;
	if (!req->answered)
		respond_std(req, 500);
	return queue_answer(req);
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
		if (req->phase == PHASE_DISCARD)
			return MHD_YES; /* answered once the body is dropped */
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
			return sink_chunk(req, upload_data, n);
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
		if (req->phase == PHASE_SINK)
			return sink_end(req);
		break;
	case PHASE_SINK:
		return sink_end(req);
	case PHASE_NEW:
	case PHASE_DISCARD:
		break;
	}
	if (!req->answered)
		respond_std(req, 500);
	return queue_answer(req);
}

/* --------------------------------------------------------------- server */

static unsigned pool_size(unsigned wanted)
{
	long cpus;

	if (wanted == 0) {
		cpus = sysconf(_SC_NPROCESSORS_ONLN);
		wanted = cpus > 0 ? (unsigned)cpus : MIN_THREADS;
	}
	if (wanted < MIN_THREADS)
		wanted = MIN_THREADS;
	return wanted > MAX_THREADS ? MAX_THREADS : wanted;
}

int http_server_start(struct http_server **out, const struct http_server_options *opts,
		      const struct http_route *routes, size_t nroutes, void *app)
{
	struct http_server *srv = NULL;
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC |
			 MHD_ALLOW_SUSPEND_RESUME;
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
	srv->threads = pool_size(opts->threads);
	pthread_mutex_init(&srv->jobs_mu, NULL);
	pthread_cond_init(&srv->jobs_cond, NULL);
	mhd_last_error[0] = '\0';
	srv->daemon = MHD_start_daemon(
		flags, opts->port, NULL, NULL, on_request, srv,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, /* first, as MHD asks */
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)srv->threads,
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
	if (srv) {
		pthread_cond_destroy(&srv->jobs_cond);
		pthread_mutex_destroy(&srv->jobs_mu);
	}
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

unsigned http_server_threads(const struct http_server *srv)
{
	return srv ? srv->threads : 0;
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
	/* Abort what is left: no connection may stay suspended when MHD
	 * stops, and no job starts or suspends from now on. */
	pthread_mutex_lock(&srv->jobs_mu);
	srv->aborting = true;
	for (struct job *job = srv->jobs; job; job = job->next) {
		pthread_mutex_lock(&job->mu);
		job->aborted = true;
		job_resume_locked(job);
		pthread_cond_broadcast(&job->cond);
		pthread_mutex_unlock(&job->mu);
	}
	pthread_mutex_unlock(&srv->jobs_mu);
	MHD_stop_daemon(srv->daemon);
	if (listen_fd != MHD_INVALID_SOCKET)
		close(listen_fd);
	/* The workers use the app; wait until the last has left. */
	pthread_mutex_lock(&srv->jobs_mu);
	while (srv->nworkers > 0)
		pthread_cond_wait(&srv->jobs_cond, &srv->jobs_mu);
	pthread_mutex_unlock(&srv->jobs_mu);
	pthread_cond_destroy(&srv->jobs_cond);
	pthread_mutex_destroy(&srv->jobs_mu);
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
	if (req->in_headers) { /* a worker's copy (see start_worker) */
		for (size_t i = 0; name && i < req->nin_headers; i++)
			if (strcasecmp(req->in_headers[i].name, name) == 0)
				return req->in_headers[i].value;
		return NULL;
	}
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

bool http_request_aborted(const struct http_request *req)
{
	struct job *job = req->job;
	bool aborted;

	if (!job)
		return atomic_load(&req->srv->stopping);
	pthread_mutex_lock(&job->mu);
	aborted = job->aborted;
	pthread_mutex_unlock(&job->mu);
	return aborted;
}
