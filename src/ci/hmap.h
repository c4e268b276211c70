/*
 * ci/hmap.h: a small string-keyed hash map for the CI processor (job
 * lookup, mapping-key index, anchors, extends memo).
 *
 * Design: open addressing with linear probing over a power-of-two table,
 * FNV-1a hashing, load factor <= 1/2. Keys are borrowed (the caller keeps
 * them alive as long as the map); values are opaque pointers. There is no
 * delete: callers that remove entries rebuild the map (ci_hmap_clear).
 * Lookups and inserts are O(1) on average, so nothing in src/ci/ needs a
 * quadratic scan over jobs or keys.
 */
#ifndef SO_CI_HMAP_H
#define SO_CI_HMAP_H

#include <stddef.h>

struct ci_hmap_slot {
	const char *key;   /* borrowed; NULL = empty slot */
	size_t len;
	size_t hash;
	void *value;
};

struct ci_hmap {
	struct ci_hmap_slot *slots;
	size_t cap;        /* 0 or a power of two */
	size_t n;
};

#define CI_HMAP_INIT { NULL, 0, 0 }

/* Value for key, or NULL. */
void *ci_hmap_get(const struct ci_hmap *m, const char *key, size_t len);
/* Sets key (borrowed) to value, replacing an existing value; returns the
 * previous value or NULL. */
void *ci_hmap_put(struct ci_hmap *m, const char *key, size_t len, void *value);
void ci_hmap_clear(struct ci_hmap *m);   /* frees the table; accepts NULL */
/* Makes room for n entries in all, so that filling the map with them
 * rehashes nothing (for maps built per call with a known size). */
void ci_hmap_reserve(struct ci_hmap *m, size_t n);

#endif
