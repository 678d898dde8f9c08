/* SPDX-License-Identifier: MIT */
/*
 * Case 3: loading a directory of generated plugins with the daemon's loader
 * (every check: lstat, ownership and modes, the libelf export check,
 * dlopen, dlsym, descriptor validation, registration), in-process, against
 * a bare loop of dlopen+dlsym+dlclose over the same files, listed in
 * advance. Both run in the same repetition, alternating, on a warm page
 * cache. A second baseline keeps every object open, as the loader must:
 * glibc's own cost of holding many objects shows there.
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

/* ms for loader_scan of dir into a fresh registry (n types expected). */
double
time_loader_scan(struct bench *b, const char *dir, size_t n)
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
	r = loader_scan(dirs, 1, reg, NULL, &rep);
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
	snprintf(what, sizeof(what), "load %zu plugins (loader_scan, in-process)", n);
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
	r = b->error ? -1 : 0;
out:
	gen_list_free(files, n_files);
	free(dir);
	return r;
}
