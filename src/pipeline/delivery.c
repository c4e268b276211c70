/*
 * delivery.c: the chat reply delivery worker (see delivery.h for the
 * contract and docs/DELIVERY.md for the behaviour).
 *
 * Design: one thread owns a libcurl multi handle and a fixed array of
 * slots (options.concurrency). Each loop it
 *   1. fetches due outbox rows when a slot is free and something may be
 *      due (a wake, a freed slot, a retry or poll deadline), skipping rows
 *      already in flight, rows waiting out an in-memory backoff, and rows
 *      whose URL has a POST in flight or waiting (one at a time per URL);
 *      expired and used-up rows go to the give-up hook, the rest start;
 *   2. drives the transfers (curl_multi_perform) and settles finished
 *      ones: delivered, retry (store + in-memory hold), or give up;
 *   3. sleeps in curl_multi_poll until socket activity, libcurl's own
 *      timer, the next fetch deadline, or curl_multi_wakeup() from
 *      delivery_wake().
 *
 * libcurl is set up lazily: until the outbox first holds a row, the
 * thread sleeps on a condition variable (woken by delivery_wake() or the
 * poll interval) and no curl_global_init()/multi handle exists, so a
 * server that has not yet replied to anything carries none of libcurl's
 * TLS back ends' pages (about 2.4 MiB resident).
 *
 * Time: the store keeps next_attempt_at in whole Unix seconds. The worker
 * writes floor(retry time) there (durable, so a restart retries at about
 * the right time) and keeps the exact monotonic deadline in a "hold" while
 * it runs, so sub-second backoffs (tests, the first retries) are honoured
 * and a row is never retried early.
 *
 * Ownership: a slot owns its row (from store_outbox_due) and its curl
 * handle while in flight; both are released when it settles or at stop.
 */
#include "pipeline/delivery.h"
#include "pipeline/pipeline.h"

#include "core/app.h"
#include "core/config.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/error.h"
#include "util/log.h"

#include <assert.h>
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define KIND_MATTERMOST "mattermost_response"
#define KIND_SLACK "slack_response"
#define EXCERPT_MAX 200
#define ORIGIN_MAX 200

struct slot {
	CURL *easy;               /* NULL when the slot is free */
	struct store_outbox *row; /* owned while in flight */
	struct curl_slist *headers;
	struct buf body;          /* the answer, capped at max_response_bytes */
	double started_ms;
	char origin[ORIGIN_MAX];
};

/* A row waiting out a backoff: not fetched again before due_ms. */
struct hold {
	int64_t id;
	double due_ms; /* monotonic */
	char *url;     /* owned: later rows to the same URL wait behind it */
};

struct delivery {
	struct app *app; /* borrowed */
	struct delivery_options o;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu; /* guards stop, woken, stats, multi's creation */
	pthread_cond_t cv;  /* signalled by wake/stop while multi is NULL */
	bool stop;
	bool woken;
	struct delivery_stats stats;
	CURLM *multi; /* NULL until the first row is seen (set under mu) */
	struct slot *slots; /* o.concurrency of them */
	unsigned inflight;
	struct hold *holds;
	size_t nholds, capholds;
	uint64_t rng;
};

/* ------------------------------------------------------------ helpers */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static double wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static double rand01(struct delivery *d)
{
	/* xorshift64*: jitter only, no security meaning. */
	d->rng ^= d->rng >> 12;
	d->rng ^= d->rng << 25;
	d->rng ^= d->rng >> 27;
	return (double)((d->rng * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static bool is_response_kind(const char *kind)
{
	return kind && (strcmp(kind, KIND_MATTERMOST) == 0 || strcmp(kind, KIND_SLACK) == 0);
}

static const char *service_name(const char *kind)
{
	return kind && strcmp(kind, KIND_SLACK) == 0 ? "Slack" : "Mattermost";
}

void delivery_url_origin(const char *url, char *out, size_t size)
{
	const char *p, *host, *end, *at;
	size_t slen, hlen;

	if (!out || size == 0)
		return;
	snprintf(out, size, "?");
	if (!url || !(p = strstr(url, "://")))
		return;
	slen = (size_t)(p - url);
	host = p + 3;
	end = host + strcspn(host, "/?#");
	/* Drop user info ("user:password@"). */
	for (at = host; at < end; at++)
		if (*at == '@')
			host = at + 1;
	hlen = (size_t)(end - host);
	if (slen == 0 || slen > 10 || hlen == 0 || slen + 3 + hlen >= size)
		return;
	for (const char *c = url; c < url + slen; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')))
			return;
	for (const char *c = host; c < end; c++)
		if ((unsigned char)*c <= ' ' || *c == 127)
			return;
	snprintf(out, size, "%.*s://%.*s", (int)slen, url, (int)hlen, host);
}

const char *delivery_kind_for_url(const char *response_url)
{
	return pipeline_chat_url_is_slack(NULL, response_url) ? KIND_SLACK : KIND_MATTERMOST;
}

/* Replaces every occurrence of needle (len >= 6) in s with "[redacted]". */
static void redact(struct buf *s, const char *needle, size_t len)
{
	struct buf out;
	const char *p, *hit;

	if (len < 6 || s->len == 0)
		return;
	buf_init(&out, 0);
	p = buf_cstr(s);
	while ((hit = strstr(p, needle)) && hit) {
		buf_append(&out, p, (size_t)(hit - p));
		buf_puts(&out, "[redacted]");
		p = hit + len;
	}
	buf_puts(&out, p);
	buf_reset(s);
	buf_append(s, buf_cstr(&out), out.len);
	buf_dispose(&out);
}

/* A short, loggable excerpt of an error answer into out: the "message" of
 * a JSON body when there is one, else the text; control characters become
 * spaces, at most EXCERPT_MAX bytes, and every path segment of the URL
 * (Mattermost echoes the hook id, which is the secret) is redacted. */
static void answer_excerpt(const struct buf *body, const char *url, struct buf *out)
{
	json_t *j = NULL;
	const char *text = buf_cstr(body), *m, *path;
	size_t n;

	buf_reset(out);
	if (body->len == 0)
		return;
	if ((j = json_loadb(body->data, body->len, 0, NULL)) &&
	    (m = json_string_value(json_object_get(j, "message"))))
		text = m;
	n = strlen(text);
	if (n > EXCERPT_MAX)
		n = EXCERPT_MAX;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];
		buf_putc(out, c < ' ' || c == 127 ? ' ' : (char)c);
	}
	json_decref(j);
	/* Redact the URL's path segments (and query values). */
	if (url && (path = strstr(url, "://")) && (path = strpbrk(path + 3, "/?#"))) {
		while (*path) {
			size_t seg;

			path += strspn(path, "/?#&=");
			seg = strcspn(path, "/?#&=");
			if (seg >= 6) {
				char *needle = xstrndup(path, seg);
				redact(out, needle, seg);
				free(needle);
			}
			path += seg;
		}
	}
	while (out->len > 0 && out->data[out->len - 1] == ' ')
		out->data[--out->len] = '\0';
}

static void stats_add(struct delivery *d, uint64_t *field)
{
	pthread_mutex_lock(&d->mu);
	(*field)++;
	pthread_mutex_unlock(&d->mu);
}

/* ------------------------------------------------------------ holds */

static struct hold *hold_find(struct delivery *d, int64_t id)
{
	for (size_t i = 0; i < d->nholds; i++)
		if (d->holds[i].id == id)
			return &d->holds[i];
	return NULL;
}

static void hold_remove(struct delivery *d, int64_t id)
{
	for (size_t i = 0; i < d->nholds; i++) {
		if (d->holds[i].id == id) {
			free(d->holds[i].url);
			d->holds[i] = d->holds[--d->nholds];
			return;
		}
	}
}

static void hold_add(struct delivery *d, int64_t id, double due_ms, const char *url)
{
	hold_remove(d, id);
	if (d->nholds == d->capholds) {
		d->capholds = d->capholds ? d->capholds * 2 : 16;
		d->holds = xrealloc(d->holds, d->capholds * sizeof(*d->holds));
	}
	d->holds[d->nholds++] = (struct hold){ id, due_ms, xstrdup(url) };
}

/* ------------------------------------------------------------ give up */

void delivery_expired_default(struct app *app, const struct store_outbox *row,
			      enum delivery_giveup why, const char *reason, void *ctx)
{
	char origin[ORIGIN_MAX];
	int err;

	(void)why;
	(void)ctx;
	delivery_url_origin(row->url, origin, sizeof(origin));
	if ((err = store_outbox_mark_failed(app->store, row->id, reason)) < 0 &&
	    err != SO_ECONFLICT)
		log_event(LOG_ERROR, "cannot mark reply failed",
			  json_pack("{s:I, s:s}", "outbox_id", (json_int_t)row->id, "error",
				    error_msg()));
	log_event(LOG_WARN, "reply not delivered; the job page keeps the result",
		  json_pack("{s:I, s:I, s:s, s:s, s:i, s:s*}", "outbox_id", (json_int_t)row->id,
			    "job_id", (json_int_t)row->job_id, "reason", reason, "host", origin,
			    "attempts", row->attempts, "last_error", row->last_error));
}

static void give_up(struct delivery *d, const struct store_outbox *row, enum delivery_giveup why,
		    const char *reason)
{
	delivery_expired_fn fn = d->o.expired ? d->o.expired : delivery_expired_default;
	int err;

	fn(d->app, row, why, reason, d->o.expired_ctx);
	/* Whatever the hook did, the row must not be handed over again. */
	if ((err = store_outbox_mark_failed(d->app->store, row->id, reason)) < 0 &&
	    err != SO_ECONFLICT)
		log_event(LOG_ERROR, "cannot mark reply failed",
			  json_pack("{s:I, s:s}", "outbox_id", (json_int_t)row->id, "error",
				    error_msg()));
	hold_remove(d, row->id);
	stats_add(d, &d->stats.given_up);
}

/* ------------------------------------------------------------ sending */

static size_t on_body(char *p, size_t size, size_t n, void *cls)
{
	struct slot *s = cls;
	size_t len = size * n;

	/* Past the cap the transfer is cut short (CURLE_WRITE_ERROR); the
	 * status line has been read by then and decides the outcome. */
	if (buf_append(&s->body, p, len) < 0)
		return 0;
	return len;
}

static bool in_flight_id(struct delivery *d, int64_t id)
{
	for (unsigned i = 0; i < d->o.concurrency; i++)
		if (d->slots[i].easy && d->slots[i].row->id == id)
			return true;
	return false;
}

/* A URL with a POST in flight, or a row waiting out a backoff, takes no
 * other POST: replies to one response_url go out one at a time, in order. */
static bool url_busy(struct delivery *d, const char *url, int64_t id)
{
	for (unsigned i = 0; i < d->o.concurrency; i++)
		if (d->slots[i].easy && strcmp(d->slots[i].row->url, url) == 0)
			return true;
	for (size_t i = 0; i < d->nholds; i++)
		if (d->holds[i].id != id && strcmp(d->holds[i].url, url) == 0)
			return true;
	return false;
}

/* Starts the POST of row in a free slot; steals row. */
static int start_post(struct delivery *d, struct store_outbox *row)
{
	struct slot *s = NULL;
	CURL *e;
	long timeout_ms = (long)(d->o.timeout_s * 1000.0);

	for (unsigned i = 0; i < d->o.concurrency && !s; i++)
		if (!d->slots[i].easy)
			s = &d->slots[i];
	if (!s || !(e = curl_easy_init())) {
		store_outbox_free(row);
		return error_set(SO_EFAIL, "no delivery slot");
	}
	s->easy = e;
	s->row = row;
	buf_init(&s->body, d->o.max_response_bytes);
	delivery_url_origin(row->url, s->origin, sizeof(s->origin));
	s->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (strcmp(row->kind, KIND_SLACK) == 0)
		s->headers = curl_slist_append(s->headers, "Accept: application/json");
	/* No "Expect: 100-continue" round trip for larger replies. */
	s->headers = curl_slist_append(s->headers, "Expect:");
	curl_easy_setopt(e, CURLOPT_URL, row->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "slashops");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->headers);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, row->payload);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(row->payload));
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(e, CURLOPT_PRIVATE, s);
	s->started_ms = clock_mono_ms();
	if (curl_multi_add_handle(d->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		curl_slist_free_all(s->headers);
		buf_dispose(&s->body);
		store_outbox_free(row);
		memset(s, 0, sizeof(*s));
		return error_set(SO_EFAIL, "cannot start a reply POST");
	}
	d->inflight++;
	pthread_mutex_lock(&d->mu);
	if (d->inflight > d->stats.max_in_flight)
		d->stats.max_in_flight = d->inflight;
	pthread_mutex_unlock(&d->mu);
	return 0;
}

static void slot_release(struct delivery *d, struct slot *s)
{
	curl_multi_remove_handle(d->multi, s->easy);
	curl_easy_cleanup(s->easy);
	curl_slist_free_all(s->headers);
	buf_dispose(&s->body);
	store_outbox_free(s->row);
	memset(s, 0, sizeof(*s));
	d->inflight--;
}

/* The delay before retry number `failures` (1-based), with ±25 % jitter,
 * capped at backoff_max_s. */
static double backoff_ms(struct delivery *d, int failures, double retry_after_s)
{
	double delay = d->o.backoff_base_s;

	for (int i = 1; i < failures && delay < d->o.backoff_max_s; i++)
		delay *= 2;
	if (delay > d->o.backoff_max_s)
		delay = d->o.backoff_max_s;
	delay *= 0.75 + 0.5 * rand01(d);
	if (retry_after_s > delay)
		delay = retry_after_s;
	if (delay > d->o.backoff_max_s)
		delay = d->o.backoff_max_s;
	return delay * 1000.0;
}

static void log_attempt(enum log_level level, const char *msg, const struct slot *s, long status,
			const char *error, int attempt, double retry_in_s)
{
	json_t *f = json_pack("{s:I, s:I, s:s, s:i, s:i, s:f}", "outbox_id",
			      (json_int_t)s->row->id, "job_id", (json_int_t)s->row->job_id, "host",
			      s->origin, "status", (int)status, "attempt", attempt, "duration_ms",
			      clock_mono_ms() - s->started_ms);

	if (error)
		json_object_set_new(f, "error", json_string(error));
	if (retry_in_s >= 0)
		json_object_set_new(f, "retry_in_s", json_real(round(retry_in_s * 1000) / 1000));
	log_event(level, msg, f);
}

/* Settles a finished POST. */
static void settle(struct delivery *d, struct slot *s, CURLcode res)
{
	struct store_outbox *row = s->row;
	long status = 0;
	int attempt = row->attempts + 1, err;
	struct buf excerpt, msg;
	curl_off_t retry_after = 0;

	buf_init(&excerpt, 0);
	buf_init(&msg, 0);
	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
	stats_add(d, &d->stats.posts);

	if (status >= 200 && status < 300) {
		/* Accepted (a body cut at the cap or a slow tail does not undo
		 * that). Recorded at once: the at-least-once window is this one
		 * commit. */
		if ((err = store_outbox_mark_delivered(d->app->store, row->id)) < 0 &&
		    err != SO_ECONFLICT)
			log_event(LOG_ERROR, "reply sent but not recorded; it may be sent again",
				  json_pack("{s:I, s:s}", "outbox_id", (json_int_t)row->id, "error",
					    error_msg()));
		hold_remove(d, row->id);
		stats_add(d, &d->stats.delivered);
		log_attempt(LOG_INFO, "reply delivered", s, status, NULL, attempt, -1);
		goto done;
	}

	answer_excerpt(&s->body, row->url, &excerpt);
	if (status >= 300 && status < 400) {
		buf_printf(&msg, "HTTP %ld (redirects are not followed)", status);
	} else if (status >= 400 && status < 500 && status != 408 && status != 429) {
		buf_printf(&msg, "HTTP %ld%s%s", status, excerpt.len ? ": " : "",
			   buf_cstr(&excerpt));
	} else if (status == 0 &&
		   (res == CURLE_URL_MALFORMAT || res == CURLE_UNSUPPORTED_PROTOCOL)) {
		buf_printf(&msg, "%s", curl_easy_strerror(res));
	} else {
		/* Retryable: network error, 408, 429, 5xx, or anything odd. */
		double delay, now_wall = wall_ms();
		int64_t next_s;

		if (status)
			buf_printf(&msg, "HTTP %ld%s%s", status, excerpt.len ? ": " : "",
				   buf_cstr(&excerpt));
		else
			buf_printf(&msg, "%s", curl_easy_strerror(res));
		if ((unsigned)attempt >= d->o.max_attempts) {
			char *reason = xasprintf("gave up after %d attempts; last error: %s", attempt,
						 buf_cstr(&msg));
			log_attempt(LOG_WARN, "reply not delivered", s, status, buf_cstr(&msg),
				    attempt, -1);
			/* Count the failed attempt before handing over. */
			store_outbox_mark_retry(d->app->store, row->id, (int64_t)(now_wall / 1000),
						buf_cstr(&msg));
			row->attempts = attempt;
			give_up(d, row, DELIVERY_GIVEUP_ATTEMPTS, reason);
			free(reason);
			goto done;
		}
		if (status == 429 || status == 503)
			curl_easy_getinfo(s->easy, CURLINFO_RETRY_AFTER, &retry_after);
		delay = backoff_ms(d, attempt, retry_after > 0 ? (double)retry_after : 0);
		/* Past the URL's lifetime there is nothing left to try: come
		 * back at expiry, when the row is handed to the hook. */
		if (row->expires_at > 0 && now_wall + delay > (double)row->expires_at * 1000.0) {
			delay = (double)row->expires_at * 1000.0 - now_wall;
			if (delay < 0)
				delay = 0;
		}
		next_s = (int64_t)floor((now_wall + delay) / 1000.0);
		if (row->expires_at > 0 && next_s > row->expires_at)
			next_s = row->expires_at;
		if ((err = store_outbox_mark_retry(d->app->store, row->id, next_s, buf_cstr(&msg))) <
			    0 &&
		    err != SO_ECONFLICT)
			log_event(LOG_ERROR, "cannot record a reply retry",
				  json_pack("{s:I, s:s}", "outbox_id", (json_int_t)row->id, "error",
					    error_msg()));
		hold_add(d, row->id, clock_mono_ms() + delay, row->url);
		stats_add(d, &d->stats.retried);
		log_attempt(LOG_WARN, "reply not delivered yet, will retry", s, status,
			    buf_cstr(&msg), attempt, delay / 1000.0);
		goto done;
	}
	/* Refused for good. */
	log_attempt(LOG_WARN, "reply refused", s, status, buf_cstr(&msg), attempt, -1);
	row->attempts = attempt;
	give_up(d, row, DELIVERY_GIVEUP_REFUSED, buf_cstr(&msg));
done:
	buf_dispose(&excerpt);
	buf_dispose(&msg);
}

/* Settles every finished transfer; returns how many. */
static unsigned reap(struct delivery *d)
{
	CURLMsg *m;
	int left;
	unsigned n = 0;

	while ((m = curl_multi_info_read(d->multi, &left))) {
		struct slot *s;
		char *priv = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		if (!(s = (struct slot *)priv))
			continue;
		settle(d, s, m->data.result);
		slot_release(d, s);
		n++;
	}
	return n;
}

/* Checks a due row before sending; true when it was handed to the hook. */
static bool check_give_up(struct delivery *d, const struct store_outbox *row, int64_t now_s)
{
	char reason[160];
	int64_t used = 0;

	if (row->expires_at > 0 && now_s >= row->expires_at) {
		unsigned life = d->app->cfg.chat_delivery_url_lifetime_s;

		if (life == 0 || life == 1800)
			snprintf(reason, sizeof(reason),
				 "response_url expired (%s accepts replies for 30 minutes)",
				 service_name(row->kind));
		else
			snprintf(reason, sizeof(reason),
				 "response_url expired (chat.delivery.response_url_lifetime: %u s)",
				 life);
		if (!is_response_kind(row->kind))
			snprintf(reason, sizeof(reason), "reply expired");
		give_up(d, row, DELIVERY_GIVEUP_EXPIRED, reason);
		return true;
	}
	if (is_response_kind(row->kind) &&
	    store_outbox_count_delivered_to(d->app->store, row->url, &used) == 0 &&
	    used >= (int64_t)d->o.url_uses) {
		snprintf(reason, sizeof(reason), "response_url used %u times", d->o.url_uses);
		give_up(d, row, DELIVERY_GIVEUP_USED_UP, reason);
		return true;
	}
	return false;
}

/* Fetches due rows into free slots. Returns the monotonic time at which
 * to look again (unless a wake or a freed slot comes first). */
static double fill(struct delivery *d)
{
	struct store_outbox **rows = NULL;
	double now_ms = clock_mono_ms(), poll_ms = d->o.poll_s * 1000.0, next;
	int64_t now_s = clock_unix(), next_due = 0;
	size_t limit, n = 0, skipped;
	bool progress = false;
	int err;

	/* Rows in flight and rows waiting out a backoff come back too. When
	 * skipped rows (in flight, held, or queued behind their URL) fill the
	 * whole window while slots are free, the window grows, so one URL's
	 * backlog never hides other replies. */
	limit = (size_t)d->o.concurrency + d->nholds;
	for (;;) {
		if ((err = store_outbox_due(d->app->store, now_s, limit, &rows)) < 0) {
			log_event(LOG_ERROR, "cannot read the reply outbox",
				  json_pack("{s:s}", "error", error_msg()));
			return now_ms + poll_ms;
		}
		skipped = 0;
		for (n = 0; rows[n]; n++) {
			struct store_outbox *row = rows[n];
			struct hold *h;

			if (d->inflight >= d->o.concurrency)
				continue;
			if (in_flight_id(d, row->id)) {
				skipped++;
				continue;
			}
			if ((h = hold_find(d, row->id))) {
				if (h->due_ms > now_ms) {
					skipped++;
					continue;
				}
				hold_remove(d, row->id);
			}
			if (url_busy(d, row->url, row->id)) {
				skipped++;
				continue;
			}
			progress = true;
			if (check_give_up(d, row, now_s))
				continue;
			rows[n] = NULL; /* stolen below; the list is freed by hand */
			if (start_post(d, row) < 0)
				log_event(LOG_ERROR, "cannot send a reply",
					  json_pack("{s:I, s:s}", "outbox_id", (json_int_t)row->id,
						    "error", error_msg()));
		}
		for (size_t i = 0; i < n; i++)
			store_outbox_free(rows[i]);
		free(rows);
		rows = NULL;
		if (n < limit || d->inflight >= d->o.concurrency || skipped == 0 ||
		    limit >= 16384)
			break;
		limit *= 4;
	}
	/* A hold past its time has done its job (its row was due above, or
	 * was settled elsewhere); dropping it keeps the loop from spinning. */
	for (size_t i = 0; i < d->nholds;) {
		if (d->holds[i].due_ms <= now_ms) {
			free(d->holds[i].url);
			d->holds[i] = d->holds[--d->nholds];
		} else {
			i++;
		}
	}

	next = now_ms + poll_ms;
	for (size_t i = 0; i < d->nholds; i++)
		if (d->holds[i].due_ms < next)
			next = d->holds[i].due_ms;
	if (progress && n == limit)
		next = now_ms; /* there may be more due rows */
	if (store_outbox_next_due(d->app->store, &next_due) == 0 && next_due > now_s) {
		double at = now_ms + ((double)next_due * 1000.0 - wall_ms());
		if (at < next)
			next = at;
	}
	return next;
}

/* ------------------------------------------------------------ the thread */

/* Before libcurl is set up: when woken or at fetch_at, looks whether the
 * outbox holds any row and, if so, creates the multi handle; otherwise
 * sleeps until a wake, stop or the next look. Returns the next look's
 * monotonic time. */
static double await_first_row(struct delivery *d, bool woken, double fetch_at)
{
	int64_t next_due = 0;
	CURLM *multi;
	struct timespec ts;
	double at;

	if (woken || clock_mono_ms() >= fetch_at) {
		fetch_at = clock_mono_ms() + d->o.poll_s * 1000.0;
		if (store_outbox_next_due(d->app->store, &next_due) == 0 && next_due > 0) {
			pthread_once(&curl_once, curl_init_once);
			if (curl_init_rc != CURLE_OK) {
				log_event(LOG_ERROR, "cannot initialise libcurl",
					  json_pack("{s:s}", "error",
						    curl_easy_strerror(curl_init_rc)));
			} else if (!(multi = curl_multi_init())) {
				log_event(LOG_ERROR, "cannot create a libcurl multi handle", NULL);
			} else {
				pthread_mutex_lock(&d->mu);
				d->multi = multi;
				pthread_mutex_unlock(&d->mu);
				return 0;
			}
		}
	}
	at = fetch_at;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	{
		double wait_ms = at - clock_mono_ms();
		long long ns;

		if (wait_ms < 0)
			wait_ms = 0;
		ns = (long long)ts.tv_nsec + (long long)(wait_ms * 1e6);
		ts.tv_sec += (time_t)(ns / 1000000000LL);
		ts.tv_nsec = (long)(ns % 1000000000LL);
	}
	pthread_mutex_lock(&d->mu);
	while (!d->stop && !d->woken)
		if (pthread_cond_timedwait(&d->cv, &d->mu, &ts) != 0)
			break;
	pthread_mutex_unlock(&d->mu);
	return fetch_at;
}

static void *worker(void *arg)
{
	struct delivery *d = arg;
	double fetch_at = 0, now, wait, deadline;
	int running;

	for (;;) {
		bool stop, woken;

		pthread_mutex_lock(&d->mu);
		stop = d->stop;
		woken = d->woken;
		d->woken = false;
		pthread_mutex_unlock(&d->mu);
		if (stop)
			break;
		if (!d->multi) {
			fetch_at = await_first_row(d, woken, fetch_at);
			if (!d->multi)
				continue;
			woken = true;
		}
		if (d->inflight < d->o.concurrency && (woken || clock_mono_ms() >= fetch_at))
			fetch_at = fill(d);
		curl_multi_perform(d->multi, &running);
		if (reap(d) > 0)
			fetch_at = 0; /* a slot is free, and a retry may be due */
		now = clock_mono_ms();
		wait = d->o.poll_s * 1000.0;
		if (d->inflight < d->o.concurrency && fetch_at - now < wait)
			wait = fetch_at - now;
		if (wait > 0)
			curl_multi_poll(d->multi, NULL, 0, (int)ceil(wait), NULL);
	}

	/* Stopping: let POSTs in flight finish for a while; the rest stay
	 * pending in the store and go out at the next start. */
	deadline = clock_mono_ms() + d->o.stop_timeout_s * 1000.0;
	while (d->multi && d->inflight > 0 && (now = clock_mono_ms()) < deadline) {
		curl_multi_perform(d->multi, &running);
		reap(d);
		wait = deadline - clock_mono_ms();
		if (d->inflight > 0 && wait > 0)
			curl_multi_poll(d->multi, NULL, 0, (int)ceil(wait < 100 ? wait : 100), NULL);
	}
	for (unsigned i = 0; i < d->o.concurrency; i++) {
		if (!d->slots[i].easy)
			continue;
		log_event(LOG_INFO, "reply left pending for the next start",
			  json_pack("{s:I, s:I}", "outbox_id", (json_int_t)d->slots[i].row->id,
				    "job_id", (json_int_t)d->slots[i].row->job_id));
		slot_release(d, &d->slots[i]);
	}
	return NULL;
}

/* ------------------------------------------------------------ public */

void delivery_options_from_config(struct delivery_options *o, const struct config *cfg)
{
	memset(o, 0, sizeof(*o));
	o->concurrency = cfg->chat_delivery_concurrency;
	o->max_attempts = cfg->chat_delivery_max_attempts;
	o->backoff_base_s = cfg->chat_delivery_backoff_base_s;
	o->backoff_max_s = cfg->chat_delivery_backoff_max_s;
	o->timeout_s = cfg->chat_delivery_timeout_s;
	o->max_response_bytes = cfg->chat_delivery_max_response_bytes;
	o->url_uses = cfg->chat_delivery_url_uses;
	o->stop_timeout_s = -1;
}

int delivery_start(struct delivery **out, struct app *app, const struct delivery_options *o)
{
	struct delivery *d = NULL;
	int err = 0;

	assert(out && app && app->store);
	*out = NULL;
	d = xcalloc(1, sizeof(*d));
	d->app = app;
	if (o)
		d->o = *o;
	else
		d->o.stop_timeout_s = -1;
	if (d->o.concurrency == 0)
		d->o.concurrency = 16;
	if (d->o.max_attempts == 0)
		d->o.max_attempts = 100;
	if (d->o.backoff_base_s <= 0)
		d->o.backoff_base_s = 1;
	if (d->o.backoff_max_s <= 0)
		d->o.backoff_max_s = 60;
	if (d->o.backoff_max_s < d->o.backoff_base_s)
		d->o.backoff_max_s = d->o.backoff_base_s;
	if (d->o.timeout_s <= 0)
		d->o.timeout_s = 10;
	if (d->o.max_response_bytes == 0)
		d->o.max_response_bytes = 64 * 1024;
	if (d->o.url_uses == 0)
		d->o.url_uses = 5;
	if (d->o.poll_s <= 0)
		d->o.poll_s = 1;
	if (d->o.stop_timeout_s < 0)
		d->o.stop_timeout_s = 2;
	d->rng = ((uint64_t)wall_ms() * 2654435761u) ^ ((uint64_t)getpid() << 32) ^
		 (uint64_t)(uintptr_t)d;
	if (d->rng == 0)
		d->rng = 88172645463325252ULL;
	pthread_mutex_init(&d->mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&d->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	d->slots = xcalloc(d->o.concurrency, sizeof(*d->slots));
	if (pthread_create(&d->thread, NULL, worker, d) != 0) {
		err = error_set(SO_EFAIL, "cannot start the delivery thread");
		goto done;
	}
	d->thread_started = true;
	log_event(LOG_INFO, "reply delivery started",
		  json_pack("{s:i, s:f}", "concurrency", (int)d->o.concurrency, "timeout_s",
			    d->o.timeout_s));
	*out = d;
	d = NULL;
done:
	delivery_stop(d);
	return err;
}

void delivery_stop(struct delivery *d)
{
	if (!d)
		return;
	if (d->thread_started) {
		pthread_mutex_lock(&d->mu);
		d->stop = true;
		if (d->multi)
			curl_multi_wakeup(d->multi);
		else
			pthread_cond_signal(&d->cv);
		pthread_mutex_unlock(&d->mu);
		pthread_join(d->thread, NULL);
	}
	if (d->multi)
		curl_multi_cleanup(d->multi);
	for (size_t i = 0; i < d->nholds; i++)
		free(d->holds[i].url);
	free(d->holds);
	free(d->slots);
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

void delivery_wake(struct delivery *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	d->woken = true;
	if (d->multi)
		curl_multi_wakeup(d->multi);
	else
		pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

void delivery_get_stats(struct delivery *d, struct delivery_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	*out = d->stats;
	pthread_mutex_unlock(&d->mu);
}

int delivery_enqueue_response(struct app *app, struct delivery *d, const char *response_url,
			      const char *payload_json, int64_t job_id, int64_t project_id,
			      int64_t url_first_seen_at)
{
	int err = delivery_outbox_add(app, response_url, payload_json, job_id, project_id,
				      url_first_seen_at);

	if (err < 0)
		return err;
	delivery_wake(d);
	return 0;
}

int delivery_outbox_add(struct app *app, const char *response_url, const char *payload_json,
			int64_t job_id, int64_t project_id, int64_t url_first_seen_at)
{
	struct store_outbox_new in;
	unsigned lifetime = app->cfg.chat_delivery_url_lifetime_s ?
				    app->cfg.chat_delivery_url_lifetime_s : 1800;
	int64_t first = url_first_seen_at > 0 ? url_first_seen_at : clock_unix();
	int err;

	memset(&in, 0, sizeof(in));
	in.kind = pipeline_chat_url_is_slack(&app->cfg, response_url) ? KIND_SLACK : KIND_MATTERMOST;
	in.url = response_url;
	in.payload = payload_json;
	in.job_id = job_id;
	in.project_id = project_id;
	in.expires_at = first + (int64_t)lifetime;
	err = store_outbox_enqueue(app->store, &in, NULL);
	return err < 0 ? err : 0;
}
