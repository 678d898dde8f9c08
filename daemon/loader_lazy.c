/* SPDX-License-Identifier: MIT */
/*
 * Lazy loading: a stage type registered from the registry cache
 * (loader_regcache.c) has a plugin that is not loaded; this file loads it
 * when a step needs it, with every check a scan makes, and refuses a file
 * whose key (device, inode, size, mtime) is no longer the one registered:
 * its bytes were never vetted, so none of its code runs until a reload has
 * checked it.
 */
#include "loader_lazy.h"

#include "loader_cache.h"
#include "loader_file.h"
#include "loader_plugin.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int
vet_probe(const char *path, int mfd, const struct file_key *key, void *userdata, char *reason,
          size_t size)
{
	const struct plugin *p = userdata;
	const char *cache_path;
	uint64_t timeout;

	(void)plugin_vet_options(p, &timeout, &cache_path);
	return loader_cache_probe(path, mfd, key, cache_path, timeout, reason, size);
}

static int
load(struct plugin *p, char *reason, size_t size)
{
	const char *path = plugin_path(p);
	struct plugin *q = NULL;
	struct file_key key = { 0 };
	const char *cache_path;
	uint64_t timeout;
	int r;

	r = loader_file_seal_path(path, plugin_key(p), "scanned it", &key, reason, size);
	if (r < 0)
		return r;
	/* The key is the one whose file passed the ELF check when the cache
	 * recorded it (and was checked again above): libelf is not needed. */
	r = plugin_open_sealed(path, r, &key, true, true,
	                       plugin_vet_options(p, &timeout, &cache_path) ? vet_probe : NULL, p,
	                       &q, reason, size);
	loader_cache_flush();
	if (r < 0)
		return r;
	plugin_adopt(p, q);
	return 0;
}

int
plugin_load(struct plugin *p, const struct gini_stage_descriptor **ret, char *reason, size_t size)
{
	int r = 0;

	if (!plugin_descriptor(p)) {
		r = load(p, reason, size);
		if (r < 0) {
			log_warn("plugin %s: refused: %s", plugin_path(p), reason);
			return r;
		}
		log_debug("plugin %s: loaded for a step", plugin_path(p));
	}
	*ret = plugin_descriptor(p);
	return 0;
}
