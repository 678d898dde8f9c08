/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * A string-keyed open-addressing hash map. Keys are borrowed: the caller
 * keeps each key alive (usually it lives inside the value) until it is
 * removed or the map freed. Not thread-safe; callers lock.
 */
struct hashmap {
	struct hashmap_slot *slots;
	size_t cap;  /* power of two, or 0 */
	size_t n;    /* live entries */
	size_t used; /* live + tombstones */
};

void hashmap_init(struct hashmap *m);
void hashmap_done(struct hashmap *m);
/* 0, -EEXIST if key is present (map unchanged), -ENOMEM. */
int hashmap_put(struct hashmap *m, const char *key, void *value);
/* Inserts or replaces; returns the previous value (NULL if none) in *ret_old. */
int hashmap_replace(struct hashmap *m, const char *key, void *value, void **ret_old);
void *hashmap_get(const struct hashmap *m, const char *key);
/* Returns the removed value, or NULL. */
void *hashmap_remove(struct hashmap *m, const char *key);
/*
 * Iteration: for (size_t i = 0; hashmap_next(m, &i, &k, &v);) ... The map
 * must not change meanwhile. Order is unspecified.
 */
bool hashmap_next(const struct hashmap *m, size_t *i, const char **ret_key, void **ret_value);
