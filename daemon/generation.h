/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdatomic.h>
#include <stdint.h>

#include "config.h"
#include "hashmap.h"
#include "loader.h"

struct registry;
struct pipeline;
struct diags;

/*
 * One complete, immutable configuration: the settings, the registry of stage
 * types and the compiled pipelines. Reference-counted: the daemon holds the
 * live one and every run holds the one it started with, so stage code is
 * never unloaded under a run. The last reference must be dropped on the main
 * thread (destroy and unload hooks run there).
 */
struct generation {
	atomic_uint refs;
	uint64_t number;
	struct gini_config *config;
	struct registry *registry;
	struct loader_report report;
	struct pipeline **pipelines; /* config order */
	size_t n_pipelines;
	struct hashmap by_name;
	int64_t built_realtime_usec;
};

/*
 * Builds a generation from the configuration files, taking unchanged plugins
 * over from previous (may be NULL). Every problem goes to diags. *ret is set
 * even when diags is not empty (with the pipelines that compiled), so
 * `ginid -t` can show what loaded; a caller that wants a valid generation
 * discards it then. Returns 0, or -ENOMEM.
 */
int generation_build(const char *config_file, const struct config_overrides *ov,
                     struct generation *previous, uint64_t number, struct generation **ret,
                     struct diags *diags);
struct generation *generation_ref(struct generation *g);
struct generation *generation_unref(struct generation *g);
struct pipeline *generation_find(struct generation *g, const char *name);
