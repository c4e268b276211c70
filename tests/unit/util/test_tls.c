/*
 * test_tls.c: a tls_slot gives each thread its own zeroed object, frees it
 * when the thread ends, and tls_slot_drop frees the caller's.
 */
#include "util/tls.h"

#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>

struct obj {
	int value;
};

static atomic_int freed;

static void obj_free(void *p)
{
	if (!p)
		return;
	atomic_fetch_add(&freed, 1);
	free(p);
}

static struct tls_slot slot = TLS_SLOT_INIT(obj_free, sizeof(struct obj));

static void *in_thread(void *arg)
{
	struct obj *o = tls_slot_get(&slot);

	*(int *)arg = o ? o->value : -1; /* zeroed on first use */
	if (o)
		o->value = 7;
	return tls_slot_get(&slot) == o ? o : NULL;
}

Test(tls, one_object_per_thread_freed_at_thread_end)
{
	struct obj *mine = tls_slot_get(&slot);
	pthread_t th;
	void *theirs = NULL;
	int seen = 99;

	cr_assert_not_null(mine);
	mine->value = 1;
	cr_assert_eq(tls_slot_get(&slot), mine, "the same object on every call");
	atomic_store(&freed, 0);
	cr_assert_eq(pthread_create(&th, NULL, in_thread, &seen), 0);
	pthread_join(th, &theirs);
	cr_assert_eq(seen, 0, "another thread starts from a zeroed object");
	cr_assert_not_null(theirs);
	cr_assert_neq(theirs, (void *)mine);
	cr_assert_eq(atomic_load(&freed), 1, "freed when its thread ended");
	cr_assert_eq(mine->value, 1, "this thread's object is untouched");
	tls_slot_drop(&slot);
	cr_assert_eq(atomic_load(&freed), 2);
	cr_assert_eq(((struct obj *)tls_slot_get(&slot))->value, 0, "a fresh one after drop");
	tls_slot_drop(&slot);
	tls_slot_drop(&slot); /* nothing left: harmless */
	cr_assert_eq(atomic_load(&freed), 3);
}
