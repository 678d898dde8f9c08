/* SPDX-License-Identifier: MIT */
#pragma once

#include <gini/stage.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "hashmap.h"

struct plugin;

/*
 * Per-type counters, updated by workers with relaxed atomics and never under
 * the registry lock; readers get a consistent-enough snapshot.
 */
#define STAGE_BUCKETS 8
/* Upper bounds (µs) of the duration histogram's buckets; the last is +Inf. */
extern const uint64_t stage_bucket_bounds[STAGE_BUCKETS - 1];

struct stage_counters {
	atomic_uint_fast64_t runs;
	atomic_uint_fast64_t failures;
	atomic_uint_fast64_t timeouts;
	atomic_uint_fast64_t crashes; /* isolated workers that died of a signal */
	atomic_uint_fast64_t kills;   /* isolated workers killed for overstaying */
	atomic_uint_fast64_t total_usec;
	atomic_uint_fast64_t max_usec;
	atomic_uint_fast64_t buckets[STAGE_BUCKETS]; /* not cumulative */
};

/*
 * A registered stage type. Reference-counted: the registry holds one
 * reference per entry, and every user (a compiled step, a listing) holds its
 * own, so the plugin behind it is unloaded only when the last user is gone.
 * Everything but the counters, refs and a lazy type's desc is immutable after
 * stage_type_new(). A lazy type (registered from the loader's registry
 * cache) has its strings and flags but no desc until stage_type_load()
 * loads its plugin, which the main thread does before a step is bound to it,
 * while compiling a generation that is not live yet: the loader never
 * shares an unloaded type between generations.
 * The strings are copies, so a plugin that scribbles on its descriptor cannot
 * corrupt the registry's index.
 */
struct stage_type {
	atomic_uint refs;
	char *id;
	char *version;
	char *summary;
	char *category;
	char **requires_ids; /* NULL-terminated, never NULL */
	uint32_t flags;
	/* Borrowed from the plugin's image, valid while plugin is loaded; NULL
	 * until stage_type_load() for a lazy type. */
	const struct gini_stage_descriptor *desc;
	/* Owned; NULL for types built into the executable (tests, benches). */
	struct plugin *plugin;
	/* Frees plugin with the last reference (the loader's plugin_close()). */
	void (*release)(struct plugin *plugin);
	/* File the type came from ("(builtin)" without a plugin). */
	char *path;
	struct stage_counters counters;
	/* Loads a lazy type's plugin (the loader's plugin_load()); NULL otherwise. */
	int (*open)(struct plugin *plugin, const struct gini_stage_descriptor **ret, char *reason,
	            size_t size);
};

/*
 * Takes ownership of plugin: release(plugin) runs when the type is freed,
 * also on failure here. The registry knows nothing else of plugins: the
 * loader, which does, passes the callback. desc must have been validated.
 * Returns a type with one reference, or NULL.
 */
struct stage_type *stage_type_new_plugin(const struct gini_stage_descriptor *desc,
                                         struct plugin *plugin,
                                         void (*release)(struct plugin *plugin), const char *path);
/* A type without a release callback: for types built into the executable
 * (tests, benches), whose plugin is NULL. */
struct stage_type *stage_type_new(const struct gini_stage_descriptor *desc, struct plugin *plugin,
                                  const char *path);
/*
 * A lazy type: info gives the strings and flags (its callbacks are not
 * read), plugin is not loaded yet, and open loads it on stage_type_load().
 */
struct stage_type *
stage_type_new_lazy(const struct gini_stage_descriptor *info, struct plugin *plugin,
                    void (*release)(struct plugin *plugin),
                    int (*open)(struct plugin *plugin, const struct gini_stage_descriptor **ret,
                                char *reason, size_t size),
                    const char *path);
/*
 * Makes t->desc usable: 0 at once for a loaded type, else loads its plugin
 * and checks that what it describes is what was registered. A negative errno
 * value and the reason if it cannot be loaded (the type stays unloaded and
 * a later call tries again). Main thread only (a load hook may run).
 */
int stage_type_load(struct stage_type *t, char *reason, size_t size);
struct stage_type *stage_type_ref(struct stage_type *t);
/* Drops a reference; the last one unloads the plugin. Accepts NULL, returns NULL. */
struct stage_type *stage_type_unref(struct stage_type *t);
/* Records how an isolated worker ended badly. Thread-safe and lock-free. */
void stage_type_account_isolation(struct stage_type *t, bool crashed, bool killed);
/* Records one finished execution. Thread-safe and lock-free. */
void stage_type_account(struct stage_type *t, uint64_t usec, bool failed, bool timed_out);

struct registry {
	/* Guards by_id, sorted and sorted_valid. Held only to look up, insert,
	 * remove or take references: never while calling into a plugin. */
	pthread_mutex_t lock;
	struct hashmap by_id;
	/* All entries sorted by id, rebuilt lazily for listings. */
	struct stage_type **sorted;
	size_t n_sorted;
	bool sorted_valid;
};

struct registry *registry_new(void);
/* Drops every entry's reference. Accepts NULL, returns NULL. */
struct registry *registry_free(struct registry *r);

/* Adds t (taking a new reference). -EEXIST if its id is taken. */
int registry_add(struct registry *r, struct stage_type *t);
/*
 * Adds t, or replaces the entry with the same id (the versioning path: a new
 * build of a plugin). The replaced type's registry reference is handed to the
 * caller in *ret_old (NULL if none).
 */
int registry_replace(struct registry *r, struct stage_type *t, struct stage_type **ret_old);
/* Removes the entry for id and drops its reference. -ENOENT if absent. */
int registry_remove(struct registry *r, const char *id);
/* Looks id up and returns a new reference, or NULL. */
struct stage_type *registry_acquire(struct registry *r, const char *id);
size_t registry_count(struct registry *r);

struct registry_filter {
	const char *category; /* exact match, or NULL */
	const char *text;     /* substring of id or summary, or NULL */
};
/*
 * Lists the entries matching filter (NULL: all) in id order, skipping the
 * first offset matches and returning at most limit (0: no limit), each with
 * a new reference; *ret_total is the number of matches. Free the result
 * with registry_list_free().
 */
int registry_list(struct registry *r, const struct registry_filter *filter, size_t offset,
                  size_t limit, struct stage_type ***ret, size_t *ret_n, size_t *ret_total);
void registry_list_free(struct stage_type **list, size_t n);

/*
 * Verifies the registry's invariants (index and entries agree, ids unique and
 * valid, every entry referenced). 0, or -EUCLEAN with the first problem in
 * err.
 */
int registry_check(struct registry *r, char *err, size_t errsize);

/* Descriptor field syntax, shared with the loader's validation. */
bool stage_id_valid(const char *id);
