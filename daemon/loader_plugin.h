/* SPDX-License-Identifier: MIT */
#pragma once

#include <gini/stage.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loader_file.h"

/* A dlopen()ed plugin file whose descriptor passed validation. */
struct plugin;

const struct gini_stage_descriptor *plugin_descriptor(const struct plugin *p);
const char *plugin_path(const struct plugin *p);
const struct file_key *plugin_key(const struct plugin *p);
/* The sealed copy that is mapped (borrowed: p's), -1 while not loaded. */
int plugin_fd(const struct plugin *p);
/* Runs the unload hook and dlclose()s. Accepts NULL. */
void plugin_close(struct plugin *p);
/*
 * A plugin not loaded yet: the path and key of a file a scan checked, and
 * how to vet it (probe, its timeout and cache) when plugin_load()
 * (loader_lazy.c) loads it. plugin_descriptor() is NULL until then.
 */
struct plugin *plugin_new_unloaded(const char *path, const struct file_key *key, bool probe,
                                   uint64_t probe_timeout_usec, const char *cache_path);
/* Whether to probe p before loading it, and with what timeout and cache. */
bool plugin_vet_options(const struct plugin *p, uint64_t *ret_timeout_usec,
                        const char **ret_cache_path);
/* Moves the loaded plugin from into the unloaded into, and frees from. */
void plugin_adopt(struct plugin *into, struct plugin *from);

/*
 * Looks at the sealed copy mfd of path (key: the original file's) after the
 * ELF check and before dlopen(): 0 lets it be loaded, a negative errno value
 * and the reason refuse it. The scan probes here (loader_cache.c).
 */
typedef int plugin_vet_fn(const char *path, int mfd, const struct file_key *key, void *userdata,
                          char *reason, size_t size);

/*
 * Steps 2 to 5 of loading (see loader.c) on the sealed copy mfd of path,
 * which is what gets mapped; key is the original file's. elf_vetted skips
 * the ELF check: only for a key whose file passed it before (the registry
 * cache's, loader_lazy.c). vet (may be NULL) runs before dlopen(). Takes
 * ownership of mfd. 0 and *ret, or a negative errno value and the reason.
 */
int plugin_open_sealed(const char *path, int mfd, const struct file_key *key, bool hooks,
                       bool elf_vetted, plugin_vet_fn *vet, void *userdata, struct plugin **ret,
                       char *reason, size_t size);

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
 * With LOADER_ELF_VETTED the ELF check is skipped too: fd is the copy the
 * daemon itself loaded, after that check (an isolated step's worker).
 * A descriptor without the write, grow and shrink seals is refused.
 */
#define LOADER_ELF_VETTED 0x2
int loader_open_sealed(int fd, const char *path, unsigned flags, struct plugin **ret, char *reason,
                       size_t size);
