/* SPDX-License-Identifier: MIT */
#pragma once

#include <gini/stage.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct registry;

/* Identifies one version of a file: a change to any field is a new version. */
struct file_key {
	uint64_t dev;
	uint64_t ino;
	int64_t size;
	int64_t mtime_ns;
};

static inline bool
file_key_equal(const struct file_key *a, const struct file_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns;
}

/* A dlopen()ed plugin file whose descriptor passed validation. */
struct plugin;

const struct gini_stage_descriptor *plugin_descriptor(const struct plugin *p);
const char *plugin_path(const struct plugin *p);
const struct file_key *plugin_key(const struct plugin *p);
/* Runs the unload hook and dlclose()s. Accepts NULL. */
void plugin_close(struct plugin *p);

struct loader_refusal {
	char *path;
	char *reason;
};

/* What a scan did; owned by the caller, freed with loader_report_done(). */
struct loader_report {
	struct loader_refusal *refusals;
	size_t n_refusals;
	char **warnings; /* NULL-terminated or NULL */
	size_t n_warnings;
	size_t loaded; /* files dlopen()ed by this scan */
	size_t reused; /* unchanged files taken over from the previous registry */
};

void loader_report_done(struct loader_report *r);

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

/*
 * Runs every check on one file and loads it, without registering: for
 * `ginictl inspect` and the probe helper. 0 and *ret, or a negative errno
 * value and the reason.
 */
int loader_open_file(const char *path, struct plugin **ret, char *reason, size_t size);

/*
 * Validates a descriptor's header and contents against this host's ABI.
 * 0, or -EINVAL and the precise reason.
 */
int descriptor_validate(const struct gini_stage_descriptor *d, char *reason, size_t size);

/* The smallest descriptor an ABI 1.0 plugin may have. */
#define DESCRIPTOR_SIZE_V1_0 (offsetof(struct gini_stage_descriptor, check) + sizeof(void (*)(void)))
#define DESCRIPTOR_SIZE_MAX 4096u
/* Plugin files larger than this are refused before being read. */
#define PLUGIN_FILE_MAX (256ll << 20)
