/* SPDX-License-Identifier: MIT */
/*
 * The registry of stage types. It maps stage ids to reference-counted
 * stage_type objects. Mutations are serialised by one mutex, which is held
 * only for index operations and reference taking, never around plugin code,
 * logging or I/O, so readers never wait on a running stage. A type outlives
 * its registry entry for as long as anyone holds a reference; the last
 * reference unloads its plugin (the release callback the loader gave with
 * it: the registry does not know the loader), which is why compiled steps
 * and runs keep references rather than pointers.
 *
 * Each configuration generation owns its own registry. A reload builds a new
 * one, re-adding the unchanged types of the old one, so a failed reload never
 * touched the registry that is live.
 */
#include "registry.h"

#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
stage_id_valid(const char *id)
{
	size_t n = 0;

	if (!id || !((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= '0' && id[0] <= '9')))
		return false;
	for (const char *p = id; *p; p++, n++) {
		char c = *p;

		if (n >= 64)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return false;
	}
	return true;
}

static struct stage_type *
stage_type_free(struct stage_type *t)
{
	if (!t)
		return NULL;
	free(t->id);
	free(t->version);
	free(t->summary);
	free(t->category);
	strv_free(t->requires_ids);
	free(t->path);
	if (t->plugin && t->release)
		t->release(t->plugin);
	free(t);
	return NULL;
}

struct stage_type *
stage_type_new_plugin(const struct gini_stage_descriptor *desc, struct plugin *plugin,
                      void (*release)(struct plugin *plugin), const char *path)
{
	struct stage_type *t = calloc(1, sizeof(*t));
	size_t n = 0;

	if (!t) {
		if (plugin && release)
			release(plugin);
		return NULL;
	}
	atomic_init(&t->refs, 1);
	t->plugin = plugin;
	t->release = release;
	t->desc = desc;
	t->flags = desc->flags;
	t->id = strdup(desc->id);
	t->version = strdup(desc->version ? desc->version : "0.0.0");
	t->summary = strdup(desc->summary ? desc->summary : "");
	t->category = strdup(desc->category ? desc->category : "");
	t->path = strdup(path ? path : "(builtin)");
	t->requires_ids = calloc(1, sizeof(char *));
	if (!t->id || !t->version || !t->summary || !t->category || !t->path || !t->requires_ids)
		return stage_type_free(t);
	for (const char *const *p = desc->requires_ids; p && *p; p++)
		if (strv_push(&t->requires_ids, &n, *p) < 0)
			return stage_type_free(t);
	return t;
}

struct stage_type *
stage_type_new(const struct gini_stage_descriptor *desc, struct plugin *plugin, const char *path)
{
	return stage_type_new_plugin(desc, plugin, NULL, path);
}

struct stage_type *
stage_type_new_lazy(const struct gini_stage_descriptor *info, struct plugin *plugin,
                    void (*release)(struct plugin *plugin),
                    int (*open)(struct plugin *plugin, const struct gini_stage_descriptor **ret,
                                char *reason, size_t size),
                    const char *path)
{
	struct stage_type *t = stage_type_new_plugin(info, plugin, release, path);

	if (t) {
		t->desc = NULL;
		t->open = open;
	}
	return t;
}

/* Does the loaded descriptor say what the registered type says? */
static bool
same_type(const struct stage_type *t, const struct gini_stage_descriptor *d)
{
	size_t n = 0;

	if (!streq(t->id, d->id) || !streq(t->version, d->version ? d->version : "0.0.0") ||
	    !streq(t->summary, d->summary ? d->summary : "") ||
	    !streq(t->category, d->category ? d->category : "") || t->flags != d->flags)
		return false;
	for (const char *const *p = d->requires_ids; p && *p; p++, n++)
		if (!t->requires_ids[n] || !streq(t->requires_ids[n], *p))
			return false;
	return !t->requires_ids[n];
}

int
stage_type_load(struct stage_type *t, char *reason, size_t size)
{
	const struct gini_stage_descriptor *d = NULL;
	int r;

	if (t->desc)
		return 0;
	if (!t->open || !t->plugin) {
		snprintf(reason, size, "stage type '%s' has no plugin to load", t->id);
		return -ENOENT;
	}
	r = t->open(t->plugin, &d, reason, size);
	if (r < 0)
		return r;
	if (!same_type(t, d)) {
		/* The file key was the same, so this should not happen; refuse
		 * rather than bind a step to something else than was listed. */
		snprintf(reason, size,
		         "its descriptor differs from the one registered for it; reload ginid");
		return -ESTALE;
	}
	t->desc = d;
	return 0;
}

struct stage_type *
stage_type_ref(struct stage_type *t)
{
	if (t)
		atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
	return t;
}

struct stage_type *
stage_type_unref(struct stage_type *t)
{
	if (!t)
		return NULL;
	if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1)
		stage_type_free(t);
	return NULL;
}

const uint64_t stage_bucket_bounds[STAGE_BUCKETS - 1] = {
	1000, 10000, 100000, 1000000, 10000000, 60000000, 600000000,
};

void
stage_type_account_isolation(struct stage_type *t, bool crashed, bool killed)
{
	if (crashed)
		atomic_fetch_add_explicit(&t->counters.crashes, 1, memory_order_relaxed);
	if (killed)
		atomic_fetch_add_explicit(&t->counters.kills, 1, memory_order_relaxed);
}

void
stage_type_account(struct stage_type *t, uint64_t usec, bool failed, bool timed_out)
{
	uint_fast64_t max;
	size_t b = 0;

	while (b < STAGE_BUCKETS - 1 && usec > stage_bucket_bounds[b])
		b++;
	atomic_fetch_add_explicit(&t->counters.buckets[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&t->counters.runs, 1, memory_order_relaxed);
	if (failed)
		atomic_fetch_add_explicit(&t->counters.failures, 1, memory_order_relaxed);
	if (timed_out)
		atomic_fetch_add_explicit(&t->counters.timeouts, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&t->counters.total_usec, usec, memory_order_relaxed);
	max = atomic_load_explicit(&t->counters.max_usec, memory_order_relaxed);
	while (usec > max &&
	       !atomic_compare_exchange_weak_explicit(&t->counters.max_usec, &max, usec,
	                                              memory_order_relaxed, memory_order_relaxed))
		;
}

struct registry *
registry_new(void)
{
	struct registry *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	hashmap_init(&r->by_id);
	return r;
}

struct registry *
registry_free(struct registry *r)
{
	struct stage_type *t;

	if (!r)
		return NULL;
	for (size_t i = 0; hashmap_next(&r->by_id, &i, NULL, (void **)&t);)
		stage_type_unref(t);
	hashmap_done(&r->by_id);
	free(r->sorted);
	pthread_mutex_destroy(&r->lock);
	free(r);
	return NULL;
}

int
registry_add(struct registry *r, struct stage_type *t)
{
	int k;

	pthread_mutex_lock(&r->lock);
	k = hashmap_put(&r->by_id, t->id, t);
	if (k >= 0) {
		stage_type_ref(t);
		r->sorted_valid = false;
	}
	pthread_mutex_unlock(&r->lock);
	return k;
}

int
registry_replace(struct registry *r, struct stage_type *t, struct stage_type **ret_old)
{
	void *old = NULL;
	int k;

	pthread_mutex_lock(&r->lock);
	k = hashmap_replace(&r->by_id, t->id, t, &old);
	if (k >= 0) {
		stage_type_ref(t);
		r->sorted_valid = false;
	}
	pthread_mutex_unlock(&r->lock);
	if (k >= 0)
		*ret_old = old;
	return k;
}

int
registry_remove(struct registry *r, const char *id)
{
	struct stage_type *t;

	pthread_mutex_lock(&r->lock);
	t = hashmap_remove(&r->by_id, id);
	if (t)
		r->sorted_valid = false;
	pthread_mutex_unlock(&r->lock);
	if (!t)
		return -ENOENT;
	/* Outside the lock: this may be the last reference and unload a plugin. */
	stage_type_unref(t);
	return 0;
}

struct stage_type *
registry_acquire(struct registry *r, const char *id)
{
	struct stage_type *t;

	pthread_mutex_lock(&r->lock);
	t = stage_type_ref(hashmap_get(&r->by_id, id));
	pthread_mutex_unlock(&r->lock);
	return t;
}

size_t
registry_count(struct registry *r)
{
	size_t n;

	pthread_mutex_lock(&r->lock);
	n = r->by_id.n;
	pthread_mutex_unlock(&r->lock);
	return n;
}

static int
cmp_type_id(const void *a, const void *b)
{
	const struct stage_type *const *x = a, *const *y = b;

	return strcmp((*x)->id, (*y)->id);
}

static int
ensure_sorted_locked(struct registry *r)
{
	struct stage_type **v;
	size_t n = 0;

	if (r->sorted_valid)
		return 0;
	v = realloc(r->sorted, (r->by_id.n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	r->sorted = v;
	for (size_t i = 0; hashmap_next(&r->by_id, &i, NULL, (void **)&v[n]);)
		n++;
	qsort(v, n, sizeof(*v), cmp_type_id);
	r->n_sorted = n;
	r->sorted_valid = true;
	return 0;
}

static bool
matches(const struct stage_type *t, const struct registry_filter *f)
{
	if (!f)
		return true;
	if (f->category && !streq(f->category, t->category))
		return false;
	if (f->text && !strstr(t->id, f->text) && !strstr(t->summary, f->text))
		return false;
	return true;
}

int
registry_list(struct registry *r, const struct registry_filter *filter, size_t offset, size_t limit,
              struct stage_type ***ret, size_t *ret_n, size_t *ret_total)
{
	struct stage_type **out = NULL;
	size_t n = 0, total = 0;
	int k;

	pthread_mutex_lock(&r->lock);
	k = ensure_sorted_locked(r);
	if (k >= 0) {
		size_t cap = r->n_sorted;

		if (limit && limit < cap)
			cap = limit;
		out = malloc((cap + 1) * sizeof(*out));
		if (!out)
			k = -ENOMEM;
	}
	if (filter && !filter->category && !filter->text)
		filter = NULL;
	if (k >= 0 && !filter) {
		/* Unfiltered: a page is a slice, O(page) not O(offset). */
		total = r->n_sorted;
		for (size_t i = offset; i < r->n_sorted && (!limit || n < limit); i++)
			out[n++] = stage_type_ref(r->sorted[i]);
	}
	for (size_t i = 0; k >= 0 && filter && i < r->n_sorted; i++) {
		struct stage_type *t = r->sorted[i];

		if (!matches(t, filter))
			continue;
		if (total++ < offset || (limit && n >= limit))
			continue;
		out[n++] = stage_type_ref(t);
	}
	pthread_mutex_unlock(&r->lock);
	if (k < 0) {
		free(out);
		return k;
	}
	*ret = out;
	*ret_n = n;
	if (ret_total)
		*ret_total = total;
	return 0;
}

void
registry_list_free(struct stage_type **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		stage_type_unref(list[i]);
	free(list);
}

int
registry_check(struct registry *r, char *err, size_t errsize)
{
	const char *key;
	struct stage_type *t;
	size_t seen = 0;
	int k = 0;

	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; k == 0 && hashmap_next(&r->by_id, &i, &key, (void **)&t);) {
		seen++;
		if (!t || key != t->id) {
			snprintf(err, errsize, "index key '%s' does not belong to its entry", key);
			k = -EUCLEAN;
		} else if (!stage_id_valid(t->id)) {
			snprintf(err, errsize, "entry has an invalid id '%s'", t->id);
			k = -EUCLEAN;
		} else if (atomic_load(&t->refs) < 1) {
			snprintf(err, errsize, "entry '%s' has no reference", t->id);
			k = -EUCLEAN;
		} else if (hashmap_get(&r->by_id, t->id) != t) {
			snprintf(err, errsize, "entry '%s' is not found by its own id", t->id);
			k = -EUCLEAN;
		} else if (t->plugin && !t->release) {
			snprintf(err, errsize, "entry '%s' has a plugin but no way to release it",
			         t->id);
			k = -EUCLEAN;
		}
	}
	if (k == 0 && seen != r->by_id.n) {
		snprintf(err, errsize, "index holds %zu entries but counts %zu", seen, r->by_id.n);
		k = -EUCLEAN;
	}
	if (k == 0 && r->sorted_valid) {
		for (size_t i = 1; i < r->n_sorted; i++)
			if (strcmp(r->sorted[i - 1]->id, r->sorted[i]->id) >= 0) {
				snprintf(err, errsize, "sorted view out of order at '%s'",
				         r->sorted[i]->id);
				k = -EUCLEAN;
				break;
			}
		if (k == 0 && r->n_sorted != r->by_id.n) {
			snprintf(err, errsize, "sorted view holds %zu entries, index %zu",
			         r->n_sorted, r->by_id.n);
			k = -EUCLEAN;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return k;
}
