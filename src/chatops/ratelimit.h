/*
 * ratelimit.h: in-memory token buckets for slash commands, one bucket per
 * key (a chat user "team_id/user_id", or an integration id).
 *
 * Design: a classic token bucket per key. A bucket holds at most `burst`
 * tokens and refills at per_minute/60 tokens a second; a command takes one
 * token, and when none is left the caller learns how many whole seconds
 * until the next one (at least 1). Memory is bounded: at most max_keys
 * buckets live in a hash table threaded on an LRU list; a new key beyond
 * that evicts the least recently used bucket (which, unused longest, has
 * usually refilled anyway: forgetting it costs at most one burst). The
 * limiter is thread-safe (one mutex; a take is a hash lookup and a few
 * additions). Time is passed in by the caller (seconds on any monotonic
 * scale), so tests drive a fake clock. Keys are copied and capped at
 * CHATOPS_RL_MAX_KEY bytes (longer keys are cut, which only merges
 * buckets of absurdly long ids).
 *
 * A per_minute of 0 disables the limiter: every take succeeds.
 *
 * Ownership: a limiter owns its buckets and key copies;
 * chatops_ratelimit_free() releases everything (accepts NULL). Keys passed
 * in are borrowed.
 */
#ifndef SO_CHATOPS_RATELIMIT_H
#define SO_CHATOPS_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>

#define CHATOPS_RL_MAX_KEY 512

struct chatops_ratelimit;

/* per_minute: the sustained rate (0: unlimited); burst: bucket size (0 is
 * taken as 1); max_keys: how many buckets to keep (0 is taken as 1). */
struct chatops_ratelimit *chatops_ratelimit_new(unsigned per_minute, unsigned burst,
						size_t max_keys);
void chatops_ratelimit_free(struct chatops_ratelimit *rl);

/* Takes one token from key's bucket at time now (seconds). true: allowed.
 * false: limited, and *retry_after_s (may be NULL) receives the seconds
 * until a token is available, rounded up, at least 1. */
bool chatops_ratelimit_take(struct chatops_ratelimit *rl, const char *key, double now,
			    unsigned *retry_after_s);

/* How many buckets are held (for tests and the bound). */
size_t chatops_ratelimit_size(struct chatops_ratelimit *rl);

#endif
