/*
 * ratelimit.c: token buckets in a bounded hash table with LRU eviction;
 * see ratelimit.h.
 *
 * Design: chained hashing (FNV-1a) over a power-of-two table sized for
 * max_keys at load factor <= 1/2, plus a doubly linked LRU list (head =
 * most recent). A take moves its bucket to the head; a new key past
 * max_keys reuses the tail's node. Refill is computed lazily from the time
 * of the bucket's last take, so idle buckets cost nothing.
 */
#include "chatops/ratelimit.h"

#include "util/buf.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct bucket {
	char *key;
	double tokens;
	double last;
	struct bucket *hnext;       /* hash chain */
	struct bucket *prev, *next; /* LRU list */
};

struct chatops_ratelimit {
	pthread_mutex_t mu;
	double rate;  /* tokens a second; 0 = unlimited */
	double burst; /* bucket size */
	size_t max_keys, count;
	struct bucket **table;
	size_t mask;
	struct bucket *head, *tail;
};

static uint64_t hash_key(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

struct chatops_ratelimit *chatops_ratelimit_new(unsigned per_minute, unsigned burst,
						size_t max_keys)
{
	struct chatops_ratelimit *rl = xcalloc(1, sizeof(*rl));
	size_t slots = 16;

	pthread_mutex_init(&rl->mu, NULL);
	rl->rate = per_minute / 60.0;
	rl->burst = burst ? burst : 1;
	rl->max_keys = max_keys ? max_keys : 1;
	while (slots < rl->max_keys * 2 && slots < ((size_t)1 << 24))
		slots <<= 1;
	rl->table = xcalloc(slots, sizeof(*rl->table));
	rl->mask = slots - 1;
	return rl;
}

void chatops_ratelimit_free(struct chatops_ratelimit *rl)
{
	struct bucket *b, *next;

	if (!rl)
		return;
	for (b = rl->head; b; b = next) {
		next = b->next;
		free(b->key);
		free(b);
	}
	free(rl->table);
	pthread_mutex_destroy(&rl->mu);
	free(rl);
}

size_t chatops_ratelimit_size(struct chatops_ratelimit *rl)
{
	size_t n;

	pthread_mutex_lock(&rl->mu);
	n = rl->count;
	pthread_mutex_unlock(&rl->mu);
	return n;
}

static void lru_unlink(struct chatops_ratelimit *rl, struct bucket *b)
{
	if (b->prev)
		b->prev->next = b->next;
	else
		rl->head = b->next;
	if (b->next)
		b->next->prev = b->prev;
	else
		rl->tail = b->prev;
	b->prev = b->next = NULL;
}

static void lru_push_front(struct chatops_ratelimit *rl, struct bucket *b)
{
	b->prev = NULL;
	b->next = rl->head;
	if (rl->head)
		rl->head->prev = b;
	rl->head = b;
	if (!rl->tail)
		rl->tail = b;
}

static void hash_unlink(struct chatops_ratelimit *rl, struct bucket *b)
{
	struct bucket **pp = &rl->table[hash_key(b->key, strlen(b->key)) & rl->mask];

	while (*pp && *pp != b)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = b->hnext;
	b->hnext = NULL;
}

/* The bucket for key (len bytes), created full (or recycled) when new. */
static struct bucket *lookup(struct chatops_ratelimit *rl, const char *key, size_t len,
			     double now)
{
	uint64_t h = hash_key(key, len);
	struct bucket *b;

	for (b = rl->table[h & rl->mask]; b; b = b->hnext)
		if (strlen(b->key) == len && memcmp(b->key, key, len) == 0) {
			lru_unlink(rl, b);
			lru_push_front(rl, b);
			return b;
		}
	if (rl->count >= rl->max_keys) {
		b = rl->tail;
		lru_unlink(rl, b);
		hash_unlink(rl, b);
		free(b->key);
	} else {
		b = xcalloc(1, sizeof(*b));
		rl->count++;
	}
	b->key = xstrndup(key, len);
	b->tokens = rl->burst;
	b->last = now;
	b->hnext = rl->table[h & rl->mask];
	rl->table[h & rl->mask] = b;
	lru_push_front(rl, b);
	return b;
}

bool chatops_ratelimit_take(struct chatops_ratelimit *rl, const char *key, double now,
			    unsigned *retry_after_s)
{
	size_t len = key ? strnlen(key, CHATOPS_RL_MAX_KEY) : 0;
	struct bucket *b;
	bool ok;

	if (retry_after_s)
		*retry_after_s = 0;
	if (!rl || rl->rate <= 0)
		return true;
	pthread_mutex_lock(&rl->mu);
	b = lookup(rl, key ? key : "", len, now);
	if (now > b->last) {
		b->tokens += (now - b->last) * rl->rate;
		if (b->tokens > rl->burst)
			b->tokens = rl->burst;
		b->last = now;
	}
	ok = b->tokens >= 1.0;
	if (ok) {
		b->tokens -= 1.0;
	} else if (retry_after_s) {
		/* less a hair, so float noise never adds a whole second */
		double wait = ceil((1.0 - b->tokens) / rl->rate - 1e-9);

		*retry_after_s = wait < 1 ? 1 : wait > 86400 ? 86400 : (unsigned)wait;
	}
	pthread_mutex_unlock(&rl->mu);
	return ok;
}
