/* SPDX-License-Identifier: MIT */
/*
 * String-keyed hash map with linear probing and tombstones. It backs the
 * registry (stage types by id), run contexts and name lookups in the config
 * compiler, all of which need O(1) lookups at the sizes the scale benchmark
 * uses (10,000 stage types).
 */
#include "hashmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct hashmap_slot {
	const char *key; /* NULL: empty; TOMBSTONE: deleted */
	void *value;
	uint32_t hash;
};

static const char tombstone_key[1];
#define TOMBSTONE tombstone_key

static uint32_t
hash_string(const char *s)
{
	/* FNV-1a: short keys, no adversary who can pick many colliding ids
	 * without already owning the plugin directory. */
	uint32_t h = 2166136261u;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

void
hashmap_init(struct hashmap *m)
{
	memset(m, 0, sizeof(*m));
}

void
hashmap_done(struct hashmap *m)
{
	free(m->slots);
	hashmap_init(m);
}

static struct hashmap_slot *
find(const struct hashmap *m, const char *key, uint32_t h)
{
	if (m->cap == 0)
		return NULL;
	for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct hashmap_slot *s = &m->slots[i];

		if (!s->key)
			return NULL;
		if (s->key != TOMBSTONE && s->hash == h && strcmp(s->key, key) == 0)
			return s;
	}
}

static int
grow(struct hashmap *m)
{
	size_t ncap = m->cap ? m->cap : 16;
	struct hashmap_slot *old = m->slots, *slots;
	size_t ocap = m->cap;

	/* Keep the load (tombstones included) under 3/4; rehash in place
	 * when tombstones, not entries, filled the table. */
	while (m->n * 2 >= ncap)
		ncap *= 2;
	slots = calloc(ncap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < ocap; i++) {
		if (!old[i].key || old[i].key == TOMBSTONE)
			continue;
		for (size_t j = old[i].hash & (ncap - 1);; j = (j + 1) & (ncap - 1))
			if (!slots[j].key) {
				slots[j] = old[i];
				break;
			}
	}
	free(old);
	m->slots = slots;
	m->cap = ncap;
	m->used = m->n;
	return 0;
}

static int
insert(struct hashmap *m, const char *key, void *value, bool replace, void **ret_old)
{
	uint32_t h = hash_string(key);
	struct hashmap_slot *s = find(m, key, h);

	if (s) {
		if (!replace)
			return -EEXIST;
		if (ret_old)
			*ret_old = s->value;
		s->key = key;
		s->value = value;
		return 0;
	}
	if ((m->used + 1) * 4 >= m->cap * 3) {
		int r = grow(m);

		if (r < 0)
			return r;
	}
	for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		s = &m->slots[i];
		if (!s->key || s->key == TOMBSTONE) {
			if (!s->key)
				m->used++;
			s->key = key;
			s->value = value;
			s->hash = h;
			m->n++;
			break;
		}
	}
	if (ret_old)
		*ret_old = NULL;
	return 0;
}

int
hashmap_put(struct hashmap *m, const char *key, void *value)
{
	return insert(m, key, value, false, NULL);
}

int
hashmap_replace(struct hashmap *m, const char *key, void *value, void **ret_old)
{
	return insert(m, key, value, true, ret_old);
}

void *
hashmap_get(const struct hashmap *m, const char *key)
{
	struct hashmap_slot *s = find(m, key, hash_string(key));

	return s ? s->value : NULL;
}

void *
hashmap_remove(struct hashmap *m, const char *key)
{
	struct hashmap_slot *s = find(m, key, hash_string(key));
	void *v;

	if (!s)
		return NULL;
	v = s->value;
	s->key = TOMBSTONE;
	s->value = NULL;
	m->n--;
	return v;
}

bool
hashmap_next(const struct hashmap *m, size_t *i, const char **ret_key, void **ret_value)
{
	for (; *i < m->cap; (*i)++) {
		struct hashmap_slot *s = &m->slots[*i];

		if (s->key && s->key != TOMBSTONE) {
			if (ret_key)
				*ret_key = s->key;
			if (ret_value)
				*ret_value = s->value;
			(*i)++;
			return true;
		}
	}
	return false;
}
