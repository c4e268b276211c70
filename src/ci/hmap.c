/*
 * ci/hmap.c: open-addressing string hash map (see hmap.h).
 */
#include "ci/hmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

static size_t hash_bytes(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return (size_t)(h ^ (h >> 29));
}

static struct ci_hmap_slot *find(const struct ci_hmap *m, const char *key,
	size_t len, size_t h)
{
	size_t mask = m->cap - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct ci_hmap_slot *s = &m->slots[i];

		if (!s->key)
			return s;
		if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0)
			return s;
	}
}

void *ci_hmap_get(const struct ci_hmap *m, const char *key, size_t len)
{
	struct ci_hmap_slot *s;

	if (!m->cap)
		return NULL;
	s = find(m, key, len, hash_bytes(key, len));
	return s->key ? s->value : NULL;
}

static void resize(struct ci_hmap *m, size_t cap)
{
	struct ci_hmap_slot *old = m->slots;
	size_t oldcap = m->cap;

	m->cap = cap;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	for (size_t i = 0; i < oldcap; i++) {
		if (old[i].key)
			*find(m, old[i].key, old[i].len, old[i].hash) = old[i];
	}
	free(old);
}

void *ci_hmap_put(struct ci_hmap *m, const char *key, size_t len, void *value)
{
	size_t h = hash_bytes(key, len);
	struct ci_hmap_slot *s;
	void *prev;

	if ((m->n + 1) * 2 > m->cap)
		resize(m, m->cap ? m->cap * 2 : 16);
	s = find(m, key, len, h);
	if (s->key) {
		prev = s->value;
		s->value = value;
		return prev;
	}
	s->key = key;
	s->len = len;
	s->hash = h;
	s->value = value;
	m->n++;
	return NULL;
}

void ci_hmap_reserve(struct ci_hmap *m, size_t n)
{
	size_t cap = 16;

	while (cap < n * 2)
		cap *= 2;
	if (cap > m->cap)
		resize(m, cap);
}

void ci_hmap_clear(struct ci_hmap *m)
{
	if (!m)
		return;
	free(m->slots);
	m->slots = NULL;
	m->cap = 0;
	m->n = 0;
}
