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
/*
 * Probes one file in a gini-probe process (with its load and unload hooks
 * when hooks is set). 0 if it is acceptable; else a negative errno value and
 * the reason: the probe's own refusal, or how the probe died. probe is the
 * helper to run (NULL: helper_path("gini-probe")); ret_answer (may be NULL)
 * gets the probe's JSON answer when it gave one (malloc'ed).
 */
int loader_probe(const char *probe, const char *path, bool hooks, uint64_t timeout_usec,
                 char *reason, size_t size, char **ret_answer);
/* Forgets the in-memory probe results (tests). */
void loader_probe_cache_reset(void);

/*
 * Runs every check on one file and loads it (from a sealed private copy, as
 * a scan does), without registering: for the probe and worker helpers. With
 * LOADER_NO_HOOKS the plugin's load hook is not called (nor, later, its
 * unload hook): only the descriptor is read. With expect, a file whose key
 * differs is refused before any of it is mapped (-ESTALE). 0 and *ret, or a
 * negative errno value and the reason.
 */
#define LOADER_NO_HOOKS 0x1
int loader_open_file(const char *path, unsigned flags, const struct file_key *expect,
                     struct plugin **ret, char *reason, size_t size);
/*
 * The same on the sealed copy of path that the daemon handed to its probe
 * at fd (which is taken over): the file checks were the daemon's, the ELF
 * check, dlopen and the rest happen here on exactly the bytes it will load.
 * A descriptor without the write, grow and shrink seals is refused.
 */
int loader_open_sealed(int fd, const char *path, unsigned flags, struct plugin **ret, char *reason,
                       size_t size);

/*
 * Validates a descriptor's header and contents against this host's ABI.
 * 0, or -EINVAL and the precise reason.
 */
int descriptor_validate(const struct gini_stage_descriptor *d, char *reason, size_t size);
/*
 * Copies the plugin's descriptor d into *ret, a full-size descriptor of this
 * host's ABI: after checking the header (ABI version, struct_size), takes
 * min(d->struct_size, sizeof(*ret)) bytes and zero-fills the rest, so fields
 * appended after the plugin's minor read as absent; then validates the copy.
 * 0 and *ret, or -EINVAL and the reason (*ret untouched). The daemon reads
 * only the copy: a plugin's descriptor is never read in place.
 */
int descriptor_copy(const struct gini_stage_descriptor *d, struct gini_stage_descriptor *ret,
                    char *reason, size_t size);

/* The smallest descriptor an ABI 1.0 plugin may have. */
#define DESCRIPTOR_SIZE_V1_0                                                                       \
	(offsetof(struct gini_stage_descriptor, check) + sizeof(void (*)(void)))
#define DESCRIPTOR_SIZE_MAX 4096u
/* Plugin files larger than this are refused before being read. */
#define PLUGIN_FILE_MAX (256LL << 20)
