/*
 * tls.h: one object per thread, made on first use and freed when the
 * thread ends: the per-thread caches of the command path (help replies,
 * the trigger's context, the open repository, the loaded CI file).
 *
 * Design: a struct tls_slot wraps a pthread key that is created lazily
 * (double-checked under a mutex) with the slot's free function as the
 * key's destructor. tls_slot_get() hands the calling thread its object,
 * allocating it zeroed the first time; nothing is shared between threads,
 * so users need no lock. A thread that stops before the key's destructors
 * could run (the process's main thread at exit) calls tls_slot_drop().
 */
#ifndef SO_UTIL_TLS_H
#define SO_UTIL_TLS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct tls_slot {
	atomic_bool ready;
	pthread_mutex_t mu;
	pthread_key_t key;
	void (*free_fn)(void *); /* frees one object; must accept NULL */
	size_t size;             /* of one object */
};

#define TLS_SLOT_INIT(free_fn_, size_) \
	{ false, PTHREAD_MUTEX_INITIALIZER, 0, (free_fn_), (size_) }

/* The calling thread's object, zeroed on first use (owned by the slot);
 * NULL when it cannot be kept (then nothing is cached). */
void *tls_slot_get(struct tls_slot *s);
/* Frees the calling thread's object, if it has one. */
void tls_slot_drop(struct tls_slot *s);

#endif
