/* SPDX-License-Identifier: MIT */
#pragma once

#include <gini/stage.h>
#include <stdbool.h>

struct file_key;

/*
 * The registry cache: what the registry needs of each plugin file that
 * passed every check (id, version, summary, category, flags, requires), by
 * file key, so that a scan registers an unchanged file without loading it.
 *
 * loader_regcache_begin() starts a scan using the cache file path (read
 * once per path; a file that is corrupt, truncated or not ours is ignored
 * as a whole with one log line). lookup() fills info with the entry's data
 * (its strings belong to the cache; its callbacks are NULL) and marks it
 * used, if it has one (with probed: one that a probe accepted too); put()
 * records a validated descriptor (probed: a probe accepted the file too);
 * flush() writes the file
 * (temporary file and rename, no fsync: it is a cache) with the entries
 * this scan used, if that changes it. Main thread only.
 */
void loader_regcache_begin(const char *path);
bool loader_regcache_lookup(const struct file_key *key, bool probed,
                            struct gini_stage_descriptor *info);
void loader_regcache_put(const struct file_key *key, const struct gini_stage_descriptor *d,
                         bool probed);
void loader_regcache_flush(void);
/* Forgets everything in memory (tests). */
void loader_regcache_reset(void);
