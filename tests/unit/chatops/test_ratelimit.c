/*
 * test_ratelimit.c: the chat rate limiter's token buckets, driven by a
 * fake clock (the limiter takes the time as an argument): burst, refill,
 * the retry-after hint, independent keys, the LRU bound, the "0 means
 * unlimited" setting, and many threads sharing one limiter.
 */
#include "chatops/ratelimit.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

Test(ratelimit, burst_then_refused_with_retry_after)
{
	struct chatops_ratelimit *rl = chatops_ratelimit_new(60, 5, 100); /* 1/s, burst 5 */
	unsigned retry = 99;

	for (int i = 0; i < 5; i++)
		cr_assert(chatops_ratelimit_take(rl, "alice", 1000.0, &retry), "take %d", i);
	cr_assert_eq(retry, 0);
	cr_assert_not(chatops_ratelimit_take(rl, "alice", 1000.0, &retry));
	cr_assert_eq(retry, 1);
	chatops_ratelimit_free(rl);
}

Test(ratelimit, refills_at_the_configured_rate)
{
	struct chatops_ratelimit *rl = chatops_ratelimit_new(20, 10, 100); /* 1 per 3 s */
	unsigned retry = 0;

	for (int i = 0; i < 10; i++)
		cr_assert(chatops_ratelimit_take(rl, "u", 0.0, NULL));
	cr_assert_not(chatops_ratelimit_take(rl, "u", 0.0, &retry));
	cr_assert_eq(retry, 3);
	cr_assert_not(chatops_ratelimit_take(rl, "u", 2.0, &retry));
	cr_assert_eq(retry, 1, "one second left, got %u", retry);
	cr_assert(chatops_ratelimit_take(rl, "u", 3.0, NULL));
	cr_assert_not(chatops_ratelimit_take(rl, "u", 3.0, NULL));
	/* a long pause refills only up to the burst */
	for (int i = 0; i < 10; i++)
		cr_assert(chatops_ratelimit_take(rl, "u", 10000.0, NULL), "take %d", i);
	cr_assert_not(chatops_ratelimit_take(rl, "u", 10000.0, NULL));
	chatops_ratelimit_free(rl);
}

Test(ratelimit, clock_going_backwards_does_not_refill)
{
	struct chatops_ratelimit *rl = chatops_ratelimit_new(60, 1, 10);

	cr_assert(chatops_ratelimit_take(rl, "k", 50.0, NULL));
	cr_assert_not(chatops_ratelimit_take(rl, "k", 10.0, NULL));
	cr_assert_not(chatops_ratelimit_take(rl, "k", 50.5, NULL));
	cr_assert(chatops_ratelimit_take(rl, "k", 51.0, NULL));
	chatops_ratelimit_free(rl);
}

Test(ratelimit, keys_are_independent)
{
	struct chatops_ratelimit *rl = chatops_ratelimit_new(60, 2, 100);

	cr_assert(chatops_ratelimit_take(rl, "T1\nU1", 0, NULL));
	cr_assert(chatops_ratelimit_take(rl, "T1\nU1", 0, NULL));
	cr_assert_not(chatops_ratelimit_take(rl, "T1\nU1", 0, NULL));
	cr_assert(chatops_ratelimit_take(rl, "T1\nU2", 0, NULL));
	cr_assert(chatops_ratelimit_take(rl, "T2\nU1", 0, NULL));
	cr_assert_eq(chatops_ratelimit_size(rl), 3);
	chatops_ratelimit_free(rl);
}

Test(ratelimit, zero_rate_is_unlimited)
{
	struct chatops_ratelimit *rl = chatops_ratelimit_new(0, 1, 10);
	unsigned retry = 7;

	for (int i = 0; i < 1000; i++)
		cr_assert(chatops_ratelimit_take(rl, "x", 0, &retry));
	cr_assert_eq(retry, 0);
	cr_assert_eq(chatops_ratelimit_size(rl), 0, "no bucket is kept");
	chatops_ratelimit_free(rl);
	cr_assert(chatops_ratelimit_take(NULL, "x", 0, NULL), "no limiter: no limit");
	chatops_ratelimit_free(NULL);
}

Test(ratelimit, memory_is_bounded_and_the_least_recently_used_goes)
{
	struct chatops_ratelimit *rl = chatops_ratelimit_new(60, 1, 3);
	char key[32];

	cr_assert(chatops_ratelimit_take(rl, "a", 0, NULL));
	cr_assert(chatops_ratelimit_take(rl, "b", 0, NULL));
	cr_assert(chatops_ratelimit_take(rl, "c", 0, NULL));
	cr_assert_not(chatops_ratelimit_take(rl, "a", 0, NULL)); /* a is now most recent */
	cr_assert(chatops_ratelimit_take(rl, "d", 0, NULL));     /* evicts b */
	cr_assert_eq(chatops_ratelimit_size(rl), 3);
	cr_assert_not(chatops_ratelimit_take(rl, "a", 0, NULL), "a kept its empty bucket");
	cr_assert(chatops_ratelimit_take(rl, "b", 0, NULL), "b was forgotten: a fresh bucket");
	for (int i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		chatops_ratelimit_take(rl, key, 0, NULL);
	}
	cr_assert_eq(chatops_ratelimit_size(rl), 3);
	chatops_ratelimit_free(rl);
}

Test(ratelimit, long_keys_are_capped_not_refused)
{
	struct chatops_ratelimit *rl = chatops_ratelimit_new(60, 1, 10);
	static char a[CHATOPS_RL_MAX_KEY + 100], b[CHATOPS_RL_MAX_KEY + 100];

	memset(a, 'x', sizeof(a) - 1);
	memset(b, 'x', sizeof(b) - 1);
	b[sizeof(b) - 2] = 'y'; /* differs only past the cap */
	cr_assert(chatops_ratelimit_take(rl, a, 0, NULL));
	cr_assert_not(chatops_ratelimit_take(rl, b, 0, NULL), "same bucket after the cap");
	cr_assert(chatops_ratelimit_take(rl, "", 0, NULL));
	chatops_ratelimit_free(rl);
}

struct worker {
	struct chatops_ratelimit *rl;
	int allowed;
};

static void *hammer(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < 10000; i++)
		if (chatops_ratelimit_take(w->rl, i % 2 ? "shared" : "other", 0, NULL))
			w->allowed++;
	return NULL;
}

Test(ratelimit, threads_share_the_buckets_exactly)
{
	struct chatops_ratelimit *rl = chatops_ratelimit_new(60, 100, 10);
	struct worker w[8];
	pthread_t th[8];
	int total = 0;

	for (int i = 0; i < 8; i++) {
		w[i] = (struct worker){ rl, 0 };
		cr_assert_eq(pthread_create(&th[i], NULL, hammer, &w[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		total += w[i].allowed;
	}
	cr_assert_eq(total, 200, "two buckets of 100 at a frozen clock, got %d", total);
	chatops_ratelimit_free(rl);
}
