/*
 * test_delivery.c: the reply delivery worker against a real store (a
 * temporary SQLite file) and a real HTTP receiver (src/http's server on
 * 127.0.0.1, port 0) that can be told to answer 503/400/302, to answer
 * slowly, or not to be listening at all, and that counts what it gets.
 *
 * Cases: delivered once on 200 with the right headers and body; 503 three
 * times then 200; connection refused until the receiver starts; expiry
 * before and during retries (hook called, reason recorded); the five-use
 * limit with replies in order; 400 and 302 refused for good (hook called,
 * the hook id Mattermost echoes redacted); max_attempts; rows pending at
 * start (after a restart, also one cut off mid-POST) are sent; 200 rows
 * delivered once each within the concurrency limit; wake latency; the log
 * never carries the URL's path or the payload.
 */
#include "pipeline/delivery.h"

#include "core/app.h"
#include "core/config.h"
#include "http/server.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ------------------------------------------------------------ receiver */

#define MAX_IDS 512
#define MAX_ORDER 32

struct receiver {
	pthread_mutex_t mu;
	int fail_remaining;    /* answer fail_status while > 0 */
	unsigned fail_status;
	unsigned status;       /* afterwards (default 200) */
	const char *answer;    /* body of the answer; NULL: "ok" */
	int delay_ms;          /* before answering */
	long fail_id;          /* this hook id always answers 503 (0: none) */
	unsigned requests;
	unsigned ok;           /* 2xx answers */
	unsigned per_id[MAX_IDS]; /* 2xx answers per numeric hook id */
	unsigned current, max_concurrent;
	char content_type[64], accept[64];
	char bodies[MAX_ORDER][64]; /* 2xx bodies in arrival order */
	unsigned nbodies;
	double first_at_ms;    /* monotonic time of the first request */
	struct http_server *srv;
	uint16_t port;
};

static struct receiver R = { .mu = PTHREAD_MUTEX_INITIALIZER };

static int hook_handler(struct http_request *req, void *cls)
{
	struct receiver *r = cls;
	const char *id = http_request_param(req, "id"), *ct, *ac, *answer;
	size_t len = 0;
	const char *body = http_request_body(req, &len);
	unsigned status;
	int delay;
	long n = id ? strtol(id, NULL, 10) : 0;

	pthread_mutex_lock(&r->mu);
	if (r->requests++ == 0)
		r->first_at_ms = clock_mono_ms();
	if (++r->current > r->max_concurrent)
		r->max_concurrent = r->current;
	ct = http_request_header(req, "Content-Type");
	ac = http_request_header(req, "Accept");
	snprintf(r->content_type, sizeof(r->content_type), "%s", ct ? ct : "");
	snprintf(r->accept, sizeof(r->accept), "%s", ac ? ac : "");
	if (r->fail_id && n == r->fail_id) {
		status = 503;
	} else if (r->fail_remaining > 0) {
		r->fail_remaining--;
		status = r->fail_status;
	} else {
		status = r->status ? r->status : 200;
	}
	answer = r->answer && status != 503 ? r->answer : "ok";
	delay = r->delay_ms;
	pthread_mutex_unlock(&r->mu);

	if (delay > 0)
		usleep((useconds_t)delay * 1000);

	pthread_mutex_lock(&r->mu);
	r->current--;
	if (status >= 200 && status < 300) {
		r->ok++;
		if (n >= 0 && n < MAX_IDS)
			r->per_id[n]++;
		if (r->nbodies < MAX_ORDER)
			snprintf(r->bodies[r->nbodies++], sizeof(r->bodies[0]), "%.*s", (int)len,
				 body);
	}
	pthread_mutex_unlock(&r->mu);
	if (status == 302)
		http_add_header(req, "Location", "http://127.0.0.1:1/elsewhere");
	return http_respond(req, status, "text/plain", answer, strlen(answer));
}

static const struct http_route routes[] = {
	{ "POST", "/hooks/commands/:id", hook_handler, 0 },
};

static void receiver_start(uint16_t port)
{
	struct http_server_options o = {
		.listen_addr = "127.0.0.1",
		.port = port,
		.max_body_bytes = 1024 * 1024,
		.max_header_bytes = 32 * 1024,
		.max_connections = 128,
		.connection_timeout_s = 10,
		.drain_timeout_s = 1,
	};

	cr_assert_eq(http_server_start(&R.srv, &o, routes, 1, &R), 0, "%s", error_msg());
	R.port = http_server_port(R.srv);
}

static void receiver_stop(void)
{
	http_server_stop(R.srv);
	R.srv = NULL;
}

static unsigned receiver_get(const unsigned *field)
{
	unsigned v;

	pthread_mutex_lock(&R.mu);
	v = *field;
	pthread_mutex_unlock(&R.mu);
	return v;
}

/* A port nobody listens on (bound, then closed at once). */
static uint16_t free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert(fd >= 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* ------------------------------------------------------------ the app */

static char db_path[64];
static int log_fd = -1;
static char log_path[64];

static struct app *app_new(void)
{
	struct app *a = xcalloc(1, sizeof(*a));
	char *url = xasprintf("sqlite:%s", db_path);

	config_init(&a->cfg);
	cr_assert_eq(store_open(&a->store, url), 0, "store_open: %s", error_msg());
	free(url);
	return a;
}

static void app_free(struct app *a)
{
	if (!a)
		return;
	store_close(a->store);
	config_dispose(&a->cfg);
	free(a);
}

static void setup(void)
{
	int fd;

	snprintf(db_path, sizeof(db_path), "/tmp/so-delivery-test-XXXXXX");
	fd = mkstemp(db_path);
	cr_assert(fd >= 0);
	close(fd);
	unlink(db_path);
	snprintf(log_path, sizeof(log_path), "/tmp/so-delivery-log-XXXXXX");
	log_fd = mkstemp(log_path);
	cr_assert(log_fd >= 0);
	log_init(LOG_DEBUG, log_fd);
}

static void teardown(void)
{
	char *p;

	receiver_stop();
	unlink(db_path);
	p = xasprintf("%s-wal", db_path);
	unlink(p);
	free(p);
	p = xasprintf("%s-shm", db_path);
	unlink(p);
	free(p);
	close(log_fd);
	unlink(log_path);
}

/* ------------------------------------------------------------ hooks */

struct hook_record {
	pthread_mutex_t mu;
	unsigned calls;
	enum delivery_giveup why;
	char reason[200];
	int64_t job_id;
};

static struct hook_record H = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void record_hook(struct app *app, const struct store_outbox *row, enum delivery_giveup why,
			const char *reason, void *ctx)
{
	struct hook_record *h = ctx;

	pthread_mutex_lock(&h->mu);
	h->calls++;
	h->why = why;
	h->job_id = row->job_id;
	snprintf(h->reason, sizeof(h->reason), "%s", reason);
	pthread_mutex_unlock(&h->mu);
	delivery_expired_default(app, row, why, reason, NULL);
}

static unsigned hook_calls(void)
{
	unsigned n;

	pthread_mutex_lock(&H.mu);
	n = H.calls;
	pthread_mutex_unlock(&H.mu);
	return n;
}

static struct delivery_options fast_options(void)
{
	struct delivery_options o;

	memset(&o, 0, sizeof(o));
	o.concurrency = 4;
	o.backoff_base_s = 0.02;
	o.backoff_max_s = 0.2;
	o.timeout_s = 2;
	o.poll_s = 0.2;
	o.stop_timeout_s = 1;
	o.expired = record_hook;
	o.expired_ctx = &H;
	return o;
}

/* ------------------------------------------------------------ helpers */

static char *hook_url(uint16_t port, int id)
{
	return xasprintf("http://127.0.0.1:%u/hooks/commands/%ds3cr3tHookId", (unsigned)port, id);
}

/* The outbox row of job_id (the first one), or NULL. Caller frees. */
static struct store_outbox *row_of(struct app *a, int64_t job_id)
{
	struct store_outbox **list = NULL, *o = NULL;

	cr_assert_eq(store_outbox_list_for_job(a->store, job_id, &list), 0, "%s", error_msg());
	if (list[0]) {
		o = list[0];
		for (size_t i = 1; list[i]; i++)
			store_outbox_free(list[i]);
	}
	free(list);
	return o;
}

static enum store_outbox_state state_of(struct app *a, int64_t job_id)
{
	struct store_outbox *o = row_of(a, job_id);
	enum store_outbox_state s;

	cr_assert_not_null(o, "no outbox row for job %lld", (long long)job_id);
	s = o->state;
	store_outbox_free(o);
	return s;
}

/* Waits until job_id's row leaves PENDING (or timeout_ms); returns it. */
static enum store_outbox_state wait_settled(struct app *a, int64_t job_id, int timeout_ms)
{
	double end = clock_mono_ms() + timeout_ms;
	enum store_outbox_state s;

	while ((s = state_of(a, job_id)) == STORE_OUTBOX_PENDING && clock_mono_ms() < end)
		usleep(2000);
	return s;
}

static int64_t enqueue_raw(struct app *a, const char *kind, const char *url, const char *payload,
			   int64_t job_id, int64_t expires_at)
{
	struct store_outbox_new in = { kind, url, payload, job_id, 1, 0, expires_at };
	int64_t id = 0;

	cr_assert_eq(store_outbox_enqueue(a->store, &in, &id), 0, "%s", error_msg());
	return id;
}

static char *read_log(void)
{
	FILE *f = fopen(log_path, "r");
	struct buf b;
	char chunk[4096];
	size_t n;

	cr_assert_not_null(f);
	buf_init(&b, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	return buf_detach(&b);
}

TestSuite(delivery, .init = setup, .fini = teardown, .timeout = 60);

/* ------------------------------------------------------------ pure helpers */

Test(delivery, kind_by_url_prefix)
{
	cr_assert_str_eq(delivery_kind_for_url("https://hooks.slack.com/commands/T1/2/x"),
			 "slack_response");
	cr_assert_str_eq(delivery_kind_for_url("https://mm.example.com/hooks/commands/abc"),
			 "mattermost_response");
	cr_assert_str_eq(delivery_kind_for_url("http://hooks.slack.com/commands/T1/2/x"),
			 "mattermost_response", "only the https Slack prefix counts");
	cr_assert_str_eq(delivery_kind_for_url("https://hooks.slack.com.evil.example/x"),
			 "mattermost_response");
}

Test(delivery, url_origin_keeps_scheme_and_host_only)
{
	char o[64];

	delivery_url_origin("https://hooks.slack.com/commands/T1/2/secret?x=1", o, sizeof(o));
	cr_assert_str_eq(o, "https://hooks.slack.com");
	delivery_url_origin("http://user:pw@127.0.0.1:8065/hooks/commands/abc", o, sizeof(o));
	cr_assert_str_eq(o, "http://127.0.0.1:8065");
	delivery_url_origin("http://[::1]:80?q=secret", o, sizeof(o));
	cr_assert_str_eq(o, "http://[::1]:80");
	delivery_url_origin("not a url", o, sizeof(o));
	cr_assert_str_eq(o, "?");
	delivery_url_origin(NULL, o, sizeof(o));
	cr_assert_str_eq(o, "?");
}

Test(delivery, options_from_config)
{
	struct config cfg;
	struct delivery_options o;

	config_init(&cfg);
	delivery_options_from_config(&o, &cfg);
	cr_assert_eq(o.concurrency, 16);
	cr_assert_eq(o.max_attempts, 100);
	cr_assert_float_eq(o.backoff_base_s, 1.0, 1e-9);
	cr_assert_float_eq(o.backoff_max_s, 60.0, 1e-9);
	cr_assert_float_eq(o.timeout_s, 10.0, 1e-9);
	cr_assert_eq(o.max_response_bytes, 64 * 1024);
	cr_assert_eq(o.url_uses, 5);
	cr_assert_eq(cfg.chat_delivery_url_lifetime_s, 1800);
	cr_assert_null(o.expired);
	config_dispose(&cfg);
	delivery_stop(NULL);
	delivery_wake(NULL);
}

/* ------------------------------------------------------------ delivery */

Test(delivery, delivered_once_on_200)
{
	struct app *a = app_new();
	struct delivery *d = NULL;
	struct delivery_options o = fast_options();
	struct store_outbox *row;
	char *url;
	int64_t used = 0;

	receiver_start(0);
	url = hook_url(R.port, 1);
	cr_assert_eq(delivery_start(&d, a, &o), 0, "%s", error_msg());
	cr_assert_eq(delivery_enqueue_response(a, d, url, "{\"text\":\"hello-payload\"}", 11, 7,
					       clock_unix()),
		     0, "%s", error_msg());
	cr_assert_eq(wait_settled(a, 11, 5000), STORE_OUTBOX_DELIVERED);
	usleep(200 * 1000); /* nothing more arrives */
	cr_assert_eq(receiver_get(&R.requests), 1);
	cr_assert_eq(R.per_id[1], 1);
	cr_assert_str_eq(R.content_type, "application/json");
	cr_assert_str_eq(R.bodies[0], "{\"text\":\"hello-payload\"}");
	row = row_of(a, 11);
	cr_assert_str_eq(row->kind, "mattermost_response");
	cr_assert_eq(row->attempts, 0);
	cr_assert_eq(row->project_id, 7);
	cr_assert_null(row->last_error);
	cr_assert_not_null(row->delivered_at);
	cr_assert(row->expires_at >= clock_unix() + 1795 && row->expires_at <= clock_unix() + 1800,
		  "expires 30 minutes after the URL was seen");
	store_outbox_free(row);
	cr_assert_eq(store_outbox_count_delivered_to(a->store, url, &used), 0);
	cr_assert_eq(used, 1);
	cr_assert_eq(hook_calls(), 0);
	delivery_stop(d);
	free(url);
	app_free(a);
}

Test(delivery, slack_kind_sends_accept_header)
{
	struct app *a = app_new();
	struct delivery *d = NULL;
	struct delivery_options o = fast_options();
	char *url;

	receiver_start(0);
	url = hook_url(R.port, 2);
	enqueue_raw(a, "slack_response", url, "{\"text\":\"hi\"}", 12, 0);
	cr_assert_eq(delivery_start(&d, a, &o), 0, "%s", error_msg());
	cr_assert_eq(wait_settled(a, 12, 5000), STORE_OUTBOX_DELIVERED);
	cr_assert_str_eq(R.accept, "application/json");
	cr_assert_str_eq(R.content_type, "application/json");
	delivery_stop(d);
	free(url);
	app_free(a);
}

Test(delivery, retries_503_then_delivers_once)
{
	struct app *a = app_new();
	struct delivery *d = NULL;
	struct delivery_options o = fast_options();
	struct delivery_stats st;
	struct store_outbox *row;
	char *url;

	receiver_start(0);
	R.fail_remaining = 3;
	R.fail_status = 503;
	url = hook_url(R.port, 3);
	cr_assert_eq(delivery_start(&d, a, &o), 0, "%s", error_msg());
	cr_assert_eq(delivery_enqueue_response(a, d, url, "{\"text\":\"x\"}", 13, 1, 0), 0);
	cr_assert_eq(wait_settled(a, 13, 10000), STORE_OUTBOX_DELIVERED);
	usleep(200 * 1000);
	cr_assert_eq(receiver_get(&R.requests), 4, "3 refused + 1 accepted, got %u",
		     receiver_get(&R.requests));
	cr_assert_eq(receiver_get(&R.ok), 1);
	row = row_of(a, 13);
	cr_assert_eq(row->attempts, 3, "failed attempts are recorded");
	cr_assert_str_eq(row->last_error, "HTTP 503: ok");
	store_outbox_free(row);
	delivery_get_stats(d, &st);
	cr_assert_eq(st.retried, 3);
	cr_assert_eq(st.delivered, 1);
	cr_assert_eq(st.posts, 4);
	delivery_stop(d);
	free(url);
	app_free(a);
}

Test(delivery, connection_refused_until_receiver_starts)
{
	struct app *a = app_new();
	struct delivery *d = NULL;
	struct delivery_options o = fast_options();
	struct store_outbox *row;
	uint16_t port = free_port();
	char *url = hook_url(port, 4);

	cr_assert_eq(delivery_start(&d, a, &o), 0, "%s", error_msg());
	cr_assert_eq(delivery_enqueue_response(a, d, url, "{\"text\":\"x\"}", 14, 1, 0), 0);
	usleep(400 * 1000);
	row = row_of(a, 14);
	cr_assert_eq(row->state, STORE_OUTBOX_PENDING);
	cr_assert_geq(row->attempts, 2, "retried while refused (%d)", row->attempts);
	cr_assert_not_null(row->last_error);
	cr_assert(strstr(row->last_error, "connect"), "%s", row->last_error);
	store_outbox_free(row);
	receiver_start(port);
	cr_assert_eq(wait_settled(a, 14, 5000), STORE_OUTBOX_DELIVERED);
	usleep(100 * 1000);
	cr_assert_eq(receiver_get(&R.requests), 1);
	delivery_stop(d);
	free(url);
	app_free(a);
}

Test(delivery, expired_url_goes_to_the_hook)
{
	struct app *a = app_new();
	struct delivery *d = NULL;
	struct delivery_options o = fast_options();
	struct store_outbox *row;
	char *url;

	receiver_start(0);
	url = hook_url(R.port, 5);
	cr_assert_eq(delivery_start(&d, a, &o), 0, "%s", error_msg());
	cr_assert_eq(delivery_enqueue_response(a, d, url, "{\"text\":\"late\"}", 15, 1,
					       clock_unix() - 1801),
		     0);
	cr_assert_eq(wait_settled(a, 15, 5000), STORE_OUTBOX_FAILED);
	row = row_of(a, 15);
	cr_assert_str_eq(row->last_error,
			 "response_url expired (Mattermost accepts replies for 30 minutes)");
	store_outbox_free(row);
	cr_assert_eq(hook_calls(), 1);
	cr_assert_eq(H.why, DELIVERY_GIVEUP_EXPIRED);
	cr_assert_eq(H.job_id, 15);
	cr_assert_eq(receiver_get(&R.requests), 0, "an expired URL is not posted to");
	delivery_stop(d);
	free(url);
	app_free(a);
}

Test(delivery, expires_while_retrying)
{
	struct app *a = app_new();
	struct delivery *d = NULL;
	struct delivery_options o = fast_options();
	char *url;
	char *log;

	receiver_start(0);
	R.fail_remaining = 1000000;
	R.fail_status = 503;
	a->cfg.chat_delivery_url_lifetime_s = 1;
	url = hook_url(R.port, 6);
	cr_assert_eq(delivery_start(&d, a, &o), 0, "%s", error_msg());
	cr_assert_eq(delivery_enqueue_response(a, d, url, "{\"text\":\"x\"}", 16, 1, 0), 0);
	cr_assert_eq(wait_settled(a, 16, 5000), STORE_OUTBOX_FAILED);
	cr_assert_eq(hook_calls(), 1);
	cr_assert_eq(H.why, DELIVERY_GIVEUP_EXPIRED);
	cr_assert_str_eq(H.reason,
			 "response_url expired (chat.delivery.response_url_lifetime: 1 s)");
	/* The lifetime is kept in whole seconds, so how many retries fit in
	 * it depends on where the second boundary falls: at least one. */
	cr_assert_geq(receiver_get(&R.requests), 1);
	delivery_stop(d);
	log = read_log();
	cr_assert(strstr(log, "\"job_id\": 16") || strstr(log, "\"job_id\":16"),
		  "the warning names the job");
	cr_assert(strstr(log, "reply not delivered; the job page keeps the result"));
	free(log);
	free(url);
	app_free(a);
}

Test(delivery, five_uses_per_response_url_in_order)
{
	struct app *a = app_new();
	struct delivery *d = NULL;
	struct delivery_options o = fast_options();
	struct store_outbox *row;
	char *url, payload[32];
	int64_t used = 0;

	receiver_start(0);
	url = hook_url(R.port, 7);
	for (int i = 1; i <= 6; i++) {
		snprintf(payload, sizeof(payload), "{\"n\":%d}", i);
		cr_assert_eq(delivery_enqueue_response(a, NULL, url, payload, 100 + i, 1, 0), 0);
	}
	cr_assert_eq(delivery_start(&d, a, &o), 0, "%s", error_msg());
	cr_assert_eq(wait_settled(a, 106, 5000), STORE_OUTBOX_FAILED);
	for (int i = 1; i <= 5; i++)
		cr_assert_eq(state_of(a, 100 + i), STORE_OUTBOX_DELIVERED);
	row = row_of(a, 106);
	cr_assert_str_eq(row->last_error, "response_url used 5 times");
	store_outbox_free(row);
	cr_assert_eq(hook_calls(), 1);
	cr_assert_eq(H.why, DELIVERY_GIVEUP_USED_UP);
	cr_assert_eq(receiver_get(&R.requests), 5);
	for (int i = 1; i <= 5; i++) {
		snprintf(payload, sizeof(payload), "{\"n\":%d}", i);
		cr_assert_str_eq(R.bodies[i - 1], payload, "replies to one URL arrive in order");
	}
	cr_assert_eq(store_outbox_count_delivered_to(a->store, url, &used), 0);
	cr_assert_eq(used, 5);
	delivery_stop(d);
	free(url);
	app_free(a);
}

Test(delivery, bad_request_is_permanent_and_redacted)
{
	struct app *a = app_new();
	struct delivery *d = NULL;
	struct delivery_options o = fast_options();
	struct store_outbox *row;
	char *url, *log;

	receiver_start(0);
	R.status = 400;
	R.answer = "{\"id\":\"web.command_webhook.parse.app_error\",\"message\":\"Unable to parse "
		   "incoming data for webhook 8s3cr3tHookId.\",\"status_code\":400}";
	url = hook_url(R.port, 8);
	cr_assert_eq(delivery_start(&d, a, &o), 0, "%s", error_msg());
	cr_assert_eq(delivery_enqueue_response(a, d, url, "{\"text\":\"hello-payload\"}", 18, 1, 0),
		     0);
	cr_assert_eq(wait_settled(a, 18, 5000), STORE_OUTBOX_FAILED);
	usleep(200 * 1000);
	cr_assert_eq(receiver_get(&R.requests), 1, "a 400 is not retried");
	row = row_of(a, 18);
	cr_assert_str_eq(row->last_error,
			 "HTTP 400: Unable to parse incoming data for webhook [redacted].");
	store_outbox_free(row);
	cr_assert_eq(hook_calls(), 1);
	cr_assert_eq(H.why, DELIVERY_GIVEUP_REFUSED);
	delivery_stop(d);

	/* No log line of the worker carries the URL's path or the payload. */
	log = read_log();
	cr_assert(strstr(log, "reply refused"));
	for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
		if (!strstr(line, "outbox_id"))
			continue; /* the receiver's own request log */
		cr_assert_null(strstr(line, "s3cr3tHookId"), "secret in log: %s", line);
		cr_assert_null(strstr(line, "hello-payload"), "payload in log: %s", line);
		cr_assert_null(strstr(line, "/hooks/commands"), "path in log: %s", line);
	}
	free(log);
	free(url);
	app_free(a);
}

Test(delivery, redirect_is_refused)
{
	struct app *a = app_new();
	struct delivery *d = NULL;
	struct delivery_options o = fast_options();
	struct store_outbox *row;
	char *url;

	receiver_start(0);
	R.status = 302;
	url = hook_url(R.port, 9);
	cr_assert_eq(delivery_start(&d, a, &o), 0, "%s", error_msg());
	cr_assert_eq(delivery_enqueue_response(a, d, url, "{}", 19, 1, 0), 0);
	cr_assert_eq(wait_settled(a, 19, 5000), STORE_OUTBOX_FAILED);
	row = row_of(a, 19);
	cr_assert_str_eq(row->last_error, "HTTP 302 (redirects are not followed)");
	store_outbox_free(row);
	cr_assert_eq(receiver_get(&R.requests), 1);
	delivery_stop(d);
	free(url);
	app_free(a);
}

Test(delivery, gives_up_after_max_attempts)
{
	struct app *a = app_new();
	struct delivery *d = NULL;
	struct delivery_options o = fast_options();
	struct store_outbox *row;
	char *url;

	receiver_start(0);
	R.fail_remaining = 1000;
	R.fail_status = 500;
	o.max_attempts = 3;
	url = hook_url(R.port, 10);
	enqueue_raw(a, "webhook", url, "{}", 20, 0); /* no expiry */
	cr_assert_eq(delivery_start(&d, a, &o), 0, "%s", error_msg());
	cr_assert_eq(wait_settled(a, 20, 5000), STORE_OUTBOX_FAILED);
	row = row_of(a, 20);
	cr_assert_str_eq(row->last_error, "gave up after 3 attempts; last error: HTTP 500: ok");
	cr_assert_eq(row->attempts, 3);
	store_outbox_free(row);
	cr_assert_eq(H.why, DELIVERY_GIVEUP_ATTEMPTS);
	cr_assert_eq(receiver_get(&R.requests), 3);
	delivery_stop(d);
	free(url);
	app_free(a);
}

/* ------------------------------------------------------------ restarts */

Test(delivery, pending_rows_are_sent_at_start)
{
	struct app *a = app_new();
	struct delivery *d = NULL;
	struct delivery_options o = fast_options();
	char *url;

	receiver_start(0);
	url = hook_url(R.port, 21);
	/* Written while no worker runs (the server died right after). */
	cr_assert_eq(delivery_enqueue_response(a, NULL, url, "{\"text\":\"x\"}", 21, 1, 0), 0);
	app_free(a);
	usleep(100 * 1000);
	cr_assert_eq(receiver_get(&R.requests), 0);

	a = app_new(); /* the next start, on the same database */
	cr_assert_eq(delivery_start(&d, a, &o), 0, "%s", error_msg());
	cr_assert_eq(wait_settled(a, 21, 5000), STORE_OUTBOX_DELIVERED);
	usleep(100 * 1000);
	cr_assert_eq(receiver_get(&R.requests), 1);
	delivery_stop(d);
	free(url);
	app_free(a);
}

Test(delivery, post_cut_off_by_stop_is_sent_again_at_start)
{
	struct app *a = app_new();
	struct delivery *d = NULL;
	struct delivery_options o = fast_options();
	struct store_outbox *row;
	double end;
	char *url;

	receiver_start(0);
	R.delay_ms = 600;
	url = hook_url(R.port, 22);
	o.stop_timeout_s = 0; /* abort at once, as a crash would */
	cr_assert_eq(delivery_start(&d, a, &o), 0, "%s", error_msg());
	cr_assert_eq(delivery_enqueue_response(a, d, url, "{\"text\":\"x\"}", 22, 1, 0), 0);
	end = clock_mono_ms() + 3000;
	while (receiver_get(&R.requests) == 0 && clock_mono_ms() < end)
		usleep(1000);
	cr_assert_eq(receiver_get(&R.requests), 1);
	delivery_stop(d);
	row = row_of(a, 22);
	cr_assert_eq(row->state, STORE_OUTBOX_PENDING, "not marked: the POST did not complete");
	cr_assert_eq(row->attempts, 0);
	store_outbox_free(row);
	app_free(a);

	pthread_mutex_lock(&R.mu);
	R.delay_ms = 0;
	pthread_mutex_unlock(&R.mu);
	a = app_new();
	cr_assert_eq(delivery_start(&d, a, &o), 0, "%s", error_msg());
	cr_assert_eq(wait_settled(a, 22, 5000), STORE_OUTBOX_DELIVERED);
	/* At least once: the cut-off POST reached the receiver too. */
	cr_assert_eq(receiver_get(&R.requests), 2);
	delivery_stop(d);
	free(url);
	app_free(a);
}

Test(delivery, stop_waits_for_posts_in_flight)
{
	struct app *a = app_new();
	struct delivery *d = NULL;
	struct delivery_options o = fast_options();
	double end;
	char *url;

	receiver_start(0);
	R.delay_ms = 150;
	url = hook_url(R.port, 23);
	o.stop_timeout_s = 3;
	cr_assert_eq(delivery_start(&d, a, &o), 0, "%s", error_msg());
	cr_assert_eq(delivery_enqueue_response(a, d, url, "{}", 23, 1, 0), 0);
	end = clock_mono_ms() + 3000;
	while (receiver_get(&R.requests) == 0 && clock_mono_ms() < end)
		usleep(1000);
	delivery_stop(d);
	cr_assert_eq(state_of(a, 23), STORE_OUTBOX_DELIVERED, "the in-flight POST was finished");
	free(url);
	app_free(a);
}

/* ------------------------------------------------------------ load, latency */

Test(delivery, one_refusing_url_does_not_hold_up_others)
{
	struct app *a = app_new();
	struct delivery *d = NULL;
	struct delivery_options o = fast_options();
	char *url;

	receiver_start(0);
	R.fail_id = 50;
	o.concurrency = 2;
	o.backoff_base_s = 0.5;
	o.backoff_max_s = 2;
	url = hook_url(R.port, 50);
	for (int i = 0; i < 5; i++) /* a backlog of five replies to one refusing URL */
		cr_assert_eq(delivery_enqueue_response(a, NULL, url, "{}", 500 + i, 1, 0), 0);
	free(url);
	for (int i = 0; i < 3; i++) {
		url = hook_url(R.port, 60 + i);
		cr_assert_eq(delivery_enqueue_response(a, NULL, url, "{}", 600 + i, 1, 0), 0);
		free(url);
	}
	cr_assert_eq(delivery_start(&d, a, &o), 0, "%s", error_msg());
	for (int i = 0; i < 3; i++)
		cr_assert_eq(wait_settled(a, 600 + i, 2000), STORE_OUTBOX_DELIVERED, "reply %d", i);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(state_of(a, 500 + i), STORE_OUTBOX_PENDING);
	delivery_stop(d);
	app_free(a);
}

Test(delivery, many_rows_once_each_within_concurrency)
{
	struct app *a = app_new();
	struct delivery *d = NULL;
	struct delivery_options o = fast_options();
	struct delivery_stats st;
	enum { N = 200 };
	char *url;
	double end;

	receiver_start(0);
	R.delay_ms = 3;
	o.concurrency = 8;
	cr_assert_eq(delivery_start(&d, a, &o), 0, "%s", error_msg());
	for (int i = 0; i < N; i++) {
		url = hook_url(R.port, i);
		cr_assert_eq(delivery_enqueue_response(a, d, url, "{\"text\":\"x\"}", 1000 + i, 1, 0),
			     0);
		free(url);
	}
	end = clock_mono_ms() + 30000;
	while (receiver_get(&R.ok) < N && clock_mono_ms() < end)
		usleep(5000);
	for (int i = 0; i < N; i++)
		cr_assert_eq(wait_settled(a, 1000 + i, 5000), STORE_OUTBOX_DELIVERED, "row %d", i);
	usleep(200 * 1000);
	cr_assert_eq(receiver_get(&R.requests), N);
	for (int i = 0; i < N; i++)
		cr_assert_eq(R.per_id[i], 1, "reply %d arrived %u times", i, R.per_id[i]);
	cr_assert_leq(R.max_concurrent, 8, "receiver saw %u at once", R.max_concurrent);
	cr_assert_geq(R.max_concurrent, 2, "POSTs do run in parallel");
	delivery_get_stats(d, &st);
	cr_assert_leq(st.max_in_flight, 8);
	cr_assert_eq(st.delivered, N);
	delivery_stop(d);
	app_free(a);
}

Test(delivery, wake_latency_under_50ms)
{
	struct app *a = app_new();
	struct delivery *d = NULL;
	struct delivery_options o = fast_options();
	double t0, elapsed = 0;
	char *url;

	receiver_start(0);
	o.poll_s = 5; /* only the wake can explain a fast delivery */
	url = hook_url(R.port, 30);
	cr_assert_eq(delivery_start(&d, a, &o), 0, "%s", error_msg());
	usleep(150 * 1000); /* the worker is asleep in its poll */
	for (int round = 0; round < 3; round++) {
		char *u = hook_url(R.port, 30 + round);

		t0 = clock_mono_ms();
		cr_assert_eq(delivery_enqueue_response(a, d, u, "{\"text\":\"x\"}", 30 + round, 1, 0),
			     0);
		cr_assert_eq(wait_settled(a, 30 + round, 5000), STORE_OUTBOX_DELIVERED);
		elapsed = clock_mono_ms() - t0;
		free(u);
		cr_assert_lt(elapsed, 50.0, "enqueue to delivered took %.1f ms", elapsed);
		usleep(100 * 1000);
	}
	delivery_stop(d);
	free(url);
	app_free(a);
}
