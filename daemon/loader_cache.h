/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct file_key;

/*
 * The probe's verdict on the sealed copy fd of path, whose original file is
 * key: from the cache, or from a fresh probe (loader_probe_fd()) that is
 * then remembered, in memory and, once loader_cache_flush() runs, in
 * cache_path (NULL: in memory only). 0 if it may be loaded; else the
 * refusal. A probe that could not even be started is not remembered.
 */
int loader_cache_probe(const char *path, int fd, const struct file_key *key, const char *cache_path,
                       uint64_t timeout_usec, char *reason, size_t size);
/* Writes the cache file if something changed since it was read. */
void loader_cache_flush(void);
/* Forgets the in-memory probe results (tests). */
void loader_probe_cache_reset(void);
