/* SPDX-License-Identifier: MIT */
/*
 * Run contexts. Steps of one run exchange string values through it (a step's
 * output becomes a later step's input); steps on parallel branches may touch
 * it at once, so every access takes the context's own lock. The lock is a
 * leaf: nothing else is taken while it is held, and no plugin code runs
 * under it (ctx_foreach calls back after releasing it).
 */
#include "context.h"

#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct ctx_entry {
	struct ctx_entry *next; /* on run_ctx.all */
	char *key;
	char *value; /* NULL: a removal */
};

struct run_ctx *
ctx_new(void)
{
	struct run_ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	hashmap_init(&c->map);
	return c;
}

struct run_ctx *
ctx_free(struct run_ctx *c)
{
	if (!c)
		return NULL;
	while (c->all) {
		struct ctx_entry *e = c->all;

		c->all = e->next;
		free(e->key);
		free(e->value);
		free(e);
	}
	hashmap_done(&c->map);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return NULL;
}

bool
ctx_key_valid(const char *key)
{
	size_t n = 0;

	if (!key || !*key)
		return false;
	for (const char *p = key; *p; p++, n++) {
		char ch = *p;

		if (n >= CTX_KEY_MAX)
			return false;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
			return false;
	}
	return true;
}

const char *
ctx_get(struct run_ctx *c, const char *key)
{
	struct ctx_entry *e;

	if (!key)
		return NULL;
	pthread_mutex_lock(&c->lock);
	e = hashmap_get(&c->map, key);
	pthread_mutex_unlock(&c->lock);
	return e ? e->value : NULL;
}

int
ctx_set(struct run_ctx *c, const char *key, const char *value)
{
	struct ctx_entry *e;
	size_t cost;
	void *old = NULL;
	int r = 0;

	if (!ctx_key_valid(key))
		return -EINVAL;
	cost = strlen(key) + (value ? strlen(value) : 0) + 2;
	pthread_mutex_lock(&c->lock);
	if (c->bytes + cost > CTX_MAX_BYTES ||
	    (value && c->map.n >= CTX_MAX_KEYS && !hashmap_get(&c->map, key))) {
		r = -E2BIG;
		goto out;
	}
	if (!value) {
		hashmap_remove(&c->map, key);
		goto out;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		r = -ENOMEM;
		goto out;
	}
	e->key = strdup(key);
	e->value = strdup(value);
	if (!e->key || !e->value) {
		free(e->key);
		free(e->value);
		free(e);
		r = -ENOMEM;
		goto out;
	}
	r = hashmap_replace(&c->map, e->key, e, &old);
	if (r < 0) {
		free(e->key);
		free(e->value);
		free(e);
		goto out;
	}
	e->next = c->all;
	c->all = e;
	c->bytes += cost;
out:
	pthread_mutex_unlock(&c->lock);
	return r;
}

struct kv {
	const char *key;
	const char *value;
};

static int
cmp_kv(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

int
ctx_foreach(struct run_ctx *c, int (*fn)(const char *key, const char *value, void *userdata),
            void *userdata)
{
	struct ctx_entry *e;
	struct kv *v;
	size_t n = 0;
	int r = 0;

	pthread_mutex_lock(&c->lock);
	v = malloc((c->map.n + 1) * sizeof(*v));
	if (v)
		for (size_t i = 0; hashmap_next(&c->map, &i, NULL, (void **)&e);)
			v[n++] = (struct kv){ e->key, e->value };
	pthread_mutex_unlock(&c->lock);
	if (!v)
		return -ENOMEM;
	/* Entries are never freed before the context, so the strings stay valid. */
	qsort(v, n, sizeof(*v), cmp_kv);
	for (size_t i = 0; i < n && r == 0; i++)
		r = fn(v[i].key, v[i].value, userdata);
	free(v);
	return r;
}

size_t
ctx_count(struct run_ctx *c)
{
	size_t n;

	pthread_mutex_lock(&c->lock);
	n = c->map.n;
	pthread_mutex_unlock(&c->lock);
	return n;
}
