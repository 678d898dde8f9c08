/* SPDX-License-Identifier: MIT */
/*
 * Case 3: loading a directory of generated plugins with the daemon's loader
 * (every check: lstat, ownership and modes, the libelf export check,
 * dlopen, dlsym, descriptor validation, registration), in-process, against
 * a bare loop of dlopen+dlsym+dlclose over the same files, listed in
 * advance. Both run in the same repetition, alternating, on a warm page
 * cache. A second baseline keeps every object open, as the loader must:
 * glibc's own cost of holding many objects shows there. Then the same with
 * probing on (ginid's default), cold and warm.
 */
#include "bench.h"
#include "gen.h"

#include "loader.h"
#include "registry.h"

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static double time_loader_scan_with(struct bench *b, const char *dir, size_t n,
                                    const struct loader_options *opts);

/* ms for loader_scan of dir into a fresh registry (n types expected). */
double
time_loader_scan(struct bench *b, const char *dir, size_t n)
{
	return time_loader_scan_with(b, dir, n, NULL);
}

/* The same, probing as opts says (NULL: no probing). */
static double
time_loader_scan_with(struct bench *b, const char *dir, size_t n, const struct loader_options *opts)
{
	char *dirs[] = { (char *)dir };
	struct registry *reg = registry_new();
	struct loader_report rep = { 0 };
	double t0, t;
	int r;

	if (!reg) {
		bench_fail(b, "out of memory");
		return NAN;
	}
	t0 = mono_usec();
	r = loader_scan_with(dirs, 1, reg, NULL, opts, &rep);
	t = (mono_usec() - t0) / 1000;
	if (r < 0 || rep.n_refusals > 0 || registry_count(reg) != n) {
		bench_fail(b, "loader_scan %s: %zu types of %zu%s%s", dir, registry_count(reg), n,
		           rep.n_refusals ? "; refused: " : "",
		           rep.n_refusals ? rep.refusals[0].reason : "");
		t = NAN;
	}
	registry_free(reg);
	loader_report_done(&rep);
	return t;
}

/*
 * ms for dlopen(RTLD_NOW|RTLD_LOCAL)+dlsym+stage_descriptor() of each file;
 * with keep_open, everything stays open until the clock stopped.
 */
double
time_dlopen_loop(struct bench *b, char *const *files, size_t n, bool keep_open)
{
	void **handles = keep_open ? calloc(n + 1, sizeof(*handles)) : NULL;
	double t0, t;
	size_t ok = 0;

	if (keep_open && !handles) {
		bench_fail(b, "out of memory");
		return NAN;
	}
	t0 = mono_usec();
	for (size_t i = 0; i < n; i++) {
		const struct gini_stage_descriptor *(*entry)(void);
		void *dl = dlopen(files[i], RTLD_NOW | RTLD_LOCAL);

		if (!dl)
			continue;
		*(void **)&entry = dlsym(dl, "stage_descriptor");
		if (entry && entry() && entry()->id)
			ok++;
		if (keep_open)
			handles[i] = dl;
		else
			dlclose(dl);
	}
	t = (mono_usec() - t0) / 1000;
	for (size_t i = 0; keep_open && i < n; i++)
		if (handles[i])
			dlclose(handles[i]);
	free(handles);
	if (ok != n) {
		bench_fail(b, "bare dlopen loop: %zu of %zu files loaded", ok, n);
		return NAN;
	}
	return t;
}

/*
 * Probing (isolation): each file is first loaded by a gini-probe process.
 * Cold: the verdicts forgotten (memory and cache file), every file probed;
 * against posix_spawn of /bin/true per file, the least a process per file
 * costs. Warm: every verdict cached, as after a restart; against the bare
 * dlopen loop. The cache file is kept as ginid keeps STATE_DIR/probe-cache.
 */
static int
probing(struct bench *b)
{
	size_t n = bench_size(b, 3, 100, 1000);
	unsigned reps = b->reps < 3 ? b->reps : 3; /* a cold probe is slow */
	char *dir = gen_plugins(b, n), *work = work_subdir(b, "probe"), *cache = NULL;
	char **files = NULL;
	size_t n_files = 0;
	struct loader_options opts = { .probe = true, .probe_timeout_usec = 5000000 };
	struct row *cold, *warm;
	char what[96];
	int r = -1;

	if (!dir || !work || asprintf(&cache, "%s/probe-cache", work) < 0 ||
	    gen_list(dir, &files, &n_files) < 0 || n_files != n) {
		bench_fail(b, "cannot set up probing of %zu plugins", n);
		goto out;
	}
	opts.cache_path = cache;
	snprintf(what, sizeof(what), "load %zu plugins, probing, cold cache", n);
	cold = bench_row(b, what, "ms", "posix_spawn /bin/true per file");
	row_target(cold, TARGET_RATIO_LE, 1.5, "<= 1.5x");
	snprintf(what, sizeof(what), "load %zu plugins, probing, warm cache", n);
	warm = bench_row(b, what, "ms", "dlopen+dlsym+dlclose loop");
	row_target(warm, TARGET_RATIO_LE, 1.5, "<= 1.5x");
	for (unsigned rep = 0; rep < reps && !b->error; rep++) {
		loader_probe_cache_reset();
		unlink(cache);
		series_add(&cold->gini, time_loader_scan_with(b, dir, n, &opts));
		series_add(&warm->gini, time_loader_scan_with(b, dir, n, &opts));
		series_add(&cold->base, time_processes(b, true, (unsigned)n) * (double)n / 1000);
		series_add(&warm->base, time_dlopen_loop(b, files, n, false));
	}
	r = b->error ? -1 : 0;
out:
	loader_probe_cache_reset();
	gen_list_free(files, n_files);
	free(dir);
	free(work);
	free(cache);
	return r;
}

int
case_loading(struct bench *b)
{
	size_t n = bench_size(b, 5, 1000, 1000);
	char *dir = gen_plugins(b, n), **files = NULL;
	struct row *bare, *kept;
	size_t n_files = 0;
	char what[96];
	int r = -1;

	if (!dir)
		return -1;
	if (gen_list(dir, &files, &n_files) < 0 || n_files != n) {
		bench_fail(b, "%s: expected %zu plugins", dir, n);
		goto out;
	}
	snprintf(what, sizeof(what), "load %zu plugins, no probing", n);
	bare = bench_row(b, what, "ms", "dlopen+dlsym+dlclose loop");
	row_target(bare, TARGET_RATIO_LE, 1.5, "<= 1.5x");
	kept = bench_row(b, what, "ms", "dlopen+dlsym loop, kept open");

	/* Warm-up: the page cache and glibc's own caches, for both sides. */
	time_loader_scan(b, dir, n);
	time_dlopen_loop(b, files, n, false);
	for (unsigned rep = 0; rep < b->reps && !b->error; rep++) {
		double g = time_loader_scan(b, dir, n);

		series_add(&bare->gini, g);
		series_add(&kept->gini, g);
		series_add(&bare->base, time_dlopen_loop(b, files, n, false));
		series_add(&kept->base, time_dlopen_loop(b, files, n, true));
	}
	r = b->error ? -1 : probing(b);
out:
	gen_list_free(files, n_files);
	free(dir);
	return r;
}
