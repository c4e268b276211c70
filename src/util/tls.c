/*
 * tls.c: see tls.h. The key is created once per slot, the first time any
 * thread asks; creation failing (out of keys) aborts, as out-of-memory does.
 */
#include "util/tls.h"
#include "util/buf.h"

#include <stdlib.h>

static pthread_key_t slot_key(struct tls_slot *s)
{
	if (!atomic_load_explicit(&s->ready, memory_order_acquire)) {
		pthread_mutex_lock(&s->mu);
		if (!atomic_load_explicit(&s->ready, memory_order_relaxed)) {
			if (pthread_key_create(&s->key, s->free_fn) != 0)
				abort();
			atomic_store_explicit(&s->ready, true, memory_order_release);
		}
		pthread_mutex_unlock(&s->mu);
	}
	return s->key;
}

void *tls_slot_get(struct tls_slot *s)
{
	pthread_key_t key = slot_key(s);
	void *p = pthread_getspecific(key);

	if (p)
		return p;
	p = xcalloc(1, s->size);
	if (pthread_setspecific(key, p) != 0) {
		s->free_fn(p);
		return NULL;
	}
	return p;
}

void tls_slot_drop(struct tls_slot *s)
{
	pthread_key_t key = slot_key(s);

	s->free_fn(pthread_getspecific(key));
	pthread_setspecific(key, NULL);
}
