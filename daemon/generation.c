/* SPDX-License-Identifier: MIT */
/*
 * Generations: what a configuration load produces as a unit. Building one
 * reads the config, scans the plugin directories (reusing the previous
 * generation's unchanged plugins), and compiles every pipeline against the
 * new registry. Nothing live is touched, so a build that fails leaves the
 * running generation exactly as it was; the caller swaps a good one in.
 */
#include "generation.h"

#include "diag.h"
#include "log.h"
#include "pipeline.h"
#include "registry.h"
#include "startup_trace.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct generation *
generation_free(struct generation *g)
{
	if (!g)
		return NULL;
	/* Pipelines first: their steps hold references into the registry. */
	for (size_t i = g->pipelines ? g->n_pipelines : 0; i-- > 0;)
		pipeline_free(g->pipelines[i]);
	free(g->pipelines);
	hashmap_done(&g->by_name);
	registry_free(g->registry);
	loader_report_done(&g->report);
	config_free(g->config);
	free(g);
	return NULL;
}

struct generation *
generation_ref(struct generation *g)
{
	if (g)
		atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
	return g;
}

struct generation *
generation_unref(struct generation *g)
{
	if (g && atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) == 1)
		generation_free(g);
	return NULL;
}

struct pipeline *
generation_find(struct generation *g, const char *name)
{
	return hashmap_get(&g->by_name, name);
}

/* Reports a problem with the plugin directories where they were named. */
static void __attribute__((format(printf, 3, 4)))
plugin_dirs_error(const struct gini_config *c, struct diags *diags, const char *fmt, ...)
{
	char msg[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->plugin_dirs_from_cmdline)
		diags_add(diags, NULL, 0, "%s (--plugin-dir)", msg);
	else if (c->plugin_dirs_line > 0)
		diags_add(diags, c->file, c->plugin_dirs_line, "%s", msg);
	else
		diags_add(diags, c->file, 0, "%s (the default plugin_dirs)", msg);
}

/*
 * The plugin directories that can be read, in order (borrowed strings);
 * each other one is an error. The loader is given only these, so that it
 * does not also warn that it is ignoring one.
 */
static int
readable_plugin_dirs(const struct gini_config *c, struct diags *diags, char ***ret, size_t *ret_n)
{
	char **v = calloc(c->n_plugin_dirs + 1, sizeof(char *));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_plugin_dirs; i++) {
		DIR *d = opendir(c->plugin_dirs[i]);

		if (!d) {
			plugin_dirs_error(c, diags, "plugin directory %s: %s", c->plugin_dirs[i],
			                  strerror(errno));
			continue;
		}
		closedir(d);
		v[n++] = c->plugin_dirs[i];
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int
generation_build(const char *config_file, const struct config_overrides *ov,
                 struct generation *previous, uint64_t number, struct generation **ret,
                 struct diags *diags)
{
	struct generation *g = calloc(1, sizeof(*g));
	struct compile_options opts;
	struct loader_options lopts;
	_cleanup_free_ char *cache_path = NULL, *registry_cache_path = NULL;
	_cleanup_free_ char **dirs = NULL;
	size_t n_dirs = 0, errors_before;
	int r;

	if (!g)
		return -ENOMEM;
	atomic_init(&g->refs, 1);
	g->number = number;
	g->built_realtime_usec = (int64_t)now_usec(CLOCK_REALTIME);
	hashmap_init(&g->by_name);
	r = config_load(config_file, ov, &g->config, diags);
	if (r < 0)
		goto fail;
	startup_trace("configuration read");
	g->registry = registry_new();
	if (!g->registry) {
		r = -ENOMEM;
		goto fail;
	}
	cache_path = path_join(g->config->state_dir, "probe-cache");
	registry_cache_path = path_join(g->config->state_dir, "registry-cache");
	lopts = (struct loader_options){
		.probe = g->config->probe_plugins,
		.probe_timeout_usec = g->config->probe_timeout_usec,
		.cache_path = cache_path,
		.registry_cache_path = registry_cache_path,
	};
	errors_before = diags->n;
	r = readable_plugin_dirs(g->config, diags, &dirs, &n_dirs);
	if (r < 0)
		goto fail;
	r = loader_scan_with(dirs, n_dirs, g->registry, previous ? previous->registry : NULL,
	                     &lopts, &g->report);
	if (r < 0)
		goto fail;
	startup_trace("plugin scan");
	if (diags->n == errors_before && registry_count(g->registry) == 0 &&
	    g->config->n_pipelines > 0)
		plugin_dirs_error(g->config, diags,
		                  "no stage types loaded from the plugin directories (%s); "
		                  "no pipeline can run",
		                  g->report.n_refusals ? "every plugin file was refused, see above"
		                                       : "they hold no plugin file");
	opts = (struct compile_options){
		.isolate_stages = g->config->isolate_stages,
		.n_isolate_stages = g->config->n_isolate_stages,
		.isolated_create_timeout_usec = g->config->probe_timeout_usec,
	};
	g->pipelines = calloc(g->config->n_pipelines + 1, sizeof(*g->pipelines));
	if (!g->pipelines) {
		r = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < g->config->n_pipelines; i++) {
		struct pipeline_def *def = &g->config->pipelines[i];
		struct pipeline *p;

		/* Duplicates were reported by config.c; compile the first only. */
		if (!def->name || hashmap_get(&g->by_name, def->name))
			continue;
		r = pipeline_compile_with(def, g->registry, &opts, &p, diags);
		if (r == -ENOMEM)
			goto fail;
		if (r < 0)
			continue;
		g->pipelines[g->n_pipelines++] = p;
		r = hashmap_put(&g->by_name, p->name, p);
		if (r < 0)
			goto fail;
	}
	*ret = g;
	return 0;
fail:
	generation_free(g);
	return r;
}
