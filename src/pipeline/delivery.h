/*
 * delivery.h: the chat reply delivery worker. Replies never go straight
 * from a job to the network: they are written to the store's outbox first
 * (store_outbox_enqueue), and this worker sends them.
 *
 * Design: one thread drives a libcurl multi handle. It fetches due outbox
 * rows (store_outbox_due), at most as many as it has free slots
 * (options.concurrency), POSTs each row's JSON payload to its URL, and
 * settles the row only after the POST has completed: 2xx → delivered;
 * network error, 408, 429 or 5xx → retried with exponential backoff and
 * jitter; 3xx and other 4xx → failed (Mattermost answers 400/404 on a
 * response_url for good: unknown, expired, or used up). Rows the worker
 * holds in flight are never started twice; at most one POST per URL is in
 * flight, so replies to one response_url go out in order.
 *
 * A chat service accepts a response_url for a limited time (30 minutes)
 * and a limited number of posts (5). A row whose expires_at has passed, or
 * whose URL has already been used options.url_uses times, is not sent; it
 * is handed to the give-up hook (options.expired), as are rows that ran
 * out of attempts or were refused for good. The default hook marks the row
 * failed with the reason and logs a warning naming the job; a later issue
 * plugs in a hook that forwards the reply to the project's notification
 * webhook instead.
 *
 * Delivery is at least once: a crash after the chat service accepted a
 * POST but before the row was marked delivered sends the reply again at
 * the next start. The row is marked in the very next statement after the
 * 2xx, so the window is one SQLite commit. docs/DELIVERY.md has the whole
 * story.
 *
 * Producers wake the worker with delivery_wake() (delivery_enqueue_response
 * does it), so a reply leaves within milliseconds; without a wake the
 * worker still polls the store every options.poll_s.
 *
 * Logging: one line per attempt outcome with the outbox id, job id, HTTP
 * status, attempt number and the next attempt's delay. URLs are logged as
 * scheme://host only (a Slack response_url carries its secret in the
 * path, a Mattermost one is itself the secret); payloads are never logged.
 *
 * Threads: delivery_start/stop are called by the owner (cli/serve.c);
 * delivery_wake and delivery_enqueue_response may be called from any
 * thread while the worker runs.
 */
#ifndef SO_PIPELINE_DELIVERY_H
#define SO_PIPELINE_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct app;
struct config;
struct delivery;
struct store_outbox;

/* Why a row is given up. */
enum delivery_giveup {
	DELIVERY_GIVEUP_EXPIRED = 1,  /* now >= expires_at */
	DELIVERY_GIVEUP_USED_UP,      /* the response_url was used url_uses times */
	DELIVERY_GIVEUP_ATTEMPTS,     /* max_attempts failed attempts */
	DELIVERY_GIVEUP_REFUSED,      /* a 3xx or a 4xx other than 408/429 */
};

/* The give-up hook, called on the worker thread for a pending row that will
 * not be sent to its URL. row is borrowed; reason is a short sentence
 * ("response_url expired (Mattermost accepts replies for 30 minutes)").
 * The hook may forward the reply elsewhere (enqueue a "webhook" row) and
 * should settle the row (store_outbox_mark_failed); whatever it does, the
 * worker marks the row failed with reason afterwards if it is still
 * pending, so a row is never handed over twice. */
typedef void (*delivery_expired_fn)(struct app *app, const struct store_outbox *row,
				    enum delivery_giveup why, const char *reason, void *ctx);

/* The default hook: marks the row failed with reason and logs a warning
 * naming the outbox id and the job id (the job page keeps the result). */
void delivery_expired_default(struct app *app, const struct store_outbox *row,
			      enum delivery_giveup why, const char *reason, void *ctx);

struct delivery_options {
	unsigned concurrency;      /* POSTs in flight at once; 0 → 16 */
	unsigned max_attempts;     /* failed attempts before giving up; 0 → 100 */
	double backoff_base_s;     /* first retry delay; <= 0 → 1 s (doubles each time) */
	double backoff_max_s;      /* retry delay cap; <= 0 → 60 s */
	double timeout_s;          /* whole POST, connect included; <= 0 → 10 s */
	size_t max_response_bytes; /* answer body kept (excerpt for errors); 0 → 64 KiB */
	unsigned url_uses;         /* posts a response_url accepts; 0 → 5 */
	double poll_s;             /* store poll without a wake; <= 0 → 1 s */
	double stop_timeout_s;     /* delivery_stop waits this long for POSTs in flight;
				    * < 0 → 2 s, 0 → abort them at once */
	delivery_expired_fn expired; /* NULL → delivery_expired_default */
	void *expired_ctx;           /* borrowed, passed to expired */
};

/* Options from the configuration (chat.delivery.*); hooks are left NULL. */
void delivery_options_from_config(struct delivery_options *o, const struct config *cfg);

/* Starts the worker. app is borrowed and must outlive the worker; o is
 * copied (NULL: defaults). Initialises libcurl once per process. Rows left
 * pending by an earlier run (a restart, even kill -9) are sent at once. */
int delivery_start(struct delivery **out, struct app *app, const struct delivery_options *o);

/* Stops fetching, lets POSTs in flight finish for up to stop_timeout_s
 * (their rows are settled as usual), aborts the rest (their rows stay
 * pending and are sent at the next start), joins the thread, frees d.
 * Accepts NULL. */
void delivery_stop(struct delivery *d);

/* Makes the worker look at the outbox now instead of at its next poll.
 * Cheap, thread-safe; accepts NULL (then the next poll finds the row). */
void delivery_wake(struct delivery *d);

/* The outbox kind for a response_url with the default Slack prefixes
 * (pipeline_chat_url_is_slack): "slack_response" or "mattermost_response".
 * delivery_enqueue_response() uses the configured prefixes. */
const char *delivery_kind_for_url(const char *response_url);

/* Writes a reply to the outbox and wakes the worker: kind by URL prefix,
 * expires_at = url_first_seen_at + chat.delivery.response_url_lifetime
 * (1800 s; url_first_seen_at <= 0 means now). payload_json and
 * response_url are borrowed. d may be NULL (no worker: the row waits for
 * the next start). job_id/project_id may be 0. Errors are the store's. */
int delivery_enqueue_response(struct app *app, struct delivery *d, const char *response_url,
			      const char *payload_json, int64_t job_id, int64_t project_id,
			      int64_t url_first_seen_at);
/* The same row without the wake, for a caller that writes it inside a
 * store write batch: wake the worker (delivery_wake) after the batch
 * commits, or it finds the row only at its next poll. */
int delivery_outbox_add(struct app *app, const char *response_url, const char *payload_json,
			int64_t job_id, int64_t project_id, int64_t url_first_seen_at);

/* Counters since start, for tests and health output. */
struct delivery_stats {
	uint64_t posts;       /* POSTs completed (any outcome) */
	uint64_t delivered;
	uint64_t retried;
	uint64_t given_up;
	unsigned max_in_flight; /* the most POSTs ever in flight at once */
};
void delivery_get_stats(struct delivery *d, struct delivery_stats *out);

/* "scheme://host[:port]" of url into out (never the path, query or
 * user info), "?" when it cannot be parsed. For logs. */
void delivery_url_origin(const char *url, char *out, size_t size);

#endif
