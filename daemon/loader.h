/* SPDX-License-Identifier: MIT */
#pragma once

#include <gini/stage.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct registry;

/*
 * The loader's parts, each in a file of its own (see loader.c); included
 * here so that a user of the loader needs this one header.
 */
#include "loader_cache.h"
#include "loader_desc.h"
#include "loader_file.h"
#include "loader_lazy.h"
#include "loader_plugin.h"
#include "loader_probe.h"
#include "loader_regcache.h"

struct loader_refusal {
	char *path;
	char *reason;
	bool probed; /* refused by (or on the cached word of) a probe process */
};

/* What a scan did; owned by the caller, freed with loader_report_done(). */
struct loader_report {
	struct loader_refusal *refusals;
	size_t n_refusals;
	char **warnings; /* NULL-terminated or NULL */
	size_t n_warnings;
	size_t loaded; /* files dlopen()ed by this scan */
	size_t reused; /* unchanged files taken over from the previous registry */
	size_t cached; /* unchanged files registered from the registry cache, not loaded */
};

void loader_report_done(struct loader_report *r);

/*
 * Probing: before the daemon dlopen()s a file, a short-lived gini-probe
 * process loads it (checks, dlopen, descriptor, load and unload hooks) and
 * reports back. A probe that crashes, fails or does not answer within
 * timeout_usec (it is killed) gets the file refused with that reason. Results
 * are kept by file key (device, inode, size, mtime), in memory and in
 * cache_path, so an unchanged file is not probed again, and a refused one
 * not retried, until it changes.
 */
struct loader_options {
	bool probe;
	uint64_t probe_timeout_usec;
	const char *cache_path; /* NULL: in memory only */
	/*
	 * The registry cache (loader_regcache.c), NULL for none: a file whose
	 * key it holds is registered from it and loaded only when a step needs
	 * it (stage_type_load()); every other file is loaded and recorded.
	 */
	const char *registry_cache_path;
};

/*
 * Scans each directory (not recursively; *.so in sorted order) and registers
 * the stage type of every acceptable file into `into`. A file whose key is
 * unchanged since `previous` (may be NULL) registered it is taken over from
 * there without being reopened or re-initialised. Each refusal is logged as
 * "plugin PATH: refused: REASON" and recorded in report. Returns 0, or a
 * negative errno value for failures that are not a plugin's fault (ENOMEM).
 * Main thread only (load hooks run here).
 */
int loader_scan(char *const *dirs, size_t n_dirs, struct registry *into, struct registry *previous,
                struct loader_report *report);
/* The same, probing as opts says (NULL: no probing). */
int loader_scan_with(char *const *dirs, size_t n_dirs, struct registry *into,
                     struct registry *previous, const struct loader_options *opts,
                     struct loader_report *report);
