/* SPDX-License-Identifier: MIT */
/*
 * Case 7: how start-up, memory, the stages listing and reload grow with the
 * number of stage types and pipelines. At each size n: n generated plugin
 * files (gen.c: real .so files, distinct ids) and n/10 pipelines of three
 * chained steps on those types, each with an hourly timer, so the scheduler
 * holds n/10 timers too; the steps use n/10 of the types (10%), each three
 * times. Full size: 10,000 types and 1,000 pipelines.
 * The daemon runs with probe_plugins = false: cold probing is case 3's, and
 * at 10,000 files it would take minutes per start.
 *
 *  - start-up: spawn of a real ginid to READY=1 on its NOTIFY_SOCKET, with
 *    its registry cache (STATE_DIR/registry-cache) written by a first,
 *    cold start in the same state directory, which is measured too: the
 *    files are unchanged, so only the types the steps use are loaded;
 *    floor: dlopen+dlsym of the same files, kept open, in-process;
 *  - RSS of that daemon once ready;
 *  - reload: SIGHUP to "READY=1 STATUS=reloaded" (config re-read, plugins
 *    unchanged and reused, every pipeline recompiled, old generation freed);
 *  - shutdown: SIGTERM to the exit (every plugin unloaded), seen on a pidfd;
 *  - listing: the registry filled by the loader in-process, listed with
 *    registry_list() page by page (100 per page, as a client pages); floor:
 *    the same pages copied out of a sorted array; and the real client,
 *    `ginictl stages` (every page of 1000, formatted, to a file) against
 *    the daemon, next to `ginictl --version` (the program's own start-up);
 *
 * Growth is the exponent k in t ~ n^k between the two sizes, set against
 * n log n's over the same span.
 */
#include "bench.h"
#include "gen.h"
#include "proc.h"

#include "loader.h"
#include "registry.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE 100

struct size_rows {
	struct row *cold, *start, *rss, *list, *ctl, *reload, *stop;
};

static char *
scale_conf(size_t n, size_t pipelines)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	/* Probing is off: a cold probe of 10,000 files takes minutes (case 3
	 * measures probing); this case is about the loader, registry,
	 * compiler and scheduler. */
	fprintf(f,
	        "# case 7: %zu pipelines over %zu generated stage types.\nlog_level = \"notice\";\n"
	        "probe_plugins = false;\npipelines = (\n",
	        pipelines, n);
	for (size_t i = 0; i < pipelines; i++) {
		size_t used = MAX(n / 10, (size_t)1);
		size_t a = (3 * i) % used, b = (3 * i + 1) % used, c = (3 * i + 2) % used;

		fprintf(f,
		        "{ name = \"p%zu\"; triggers = { every = \"1h\"; }; steps = (\n"
		        "  { id = \"a\"; stage = \"" GEN_ID_FMT "\"; },\n"
		        "  { id = \"b\"; stage = \"" GEN_ID_FMT "\"; after = [ \"a\" ]; },\n"
		        "  { id = \"c\"; stage = \"" GEN_ID_FMT "\"; after = [ \"b\" ]; }); }%s\n",
		        i, a, b, c, i + 1 < pipelines ? "," : "");
	}
	fprintf(f, ");\n");
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* Start-up, RSS and reload of a real ginid on dir. */
/* What measure_daemon() finds, in ms and MiB. */
struct daemon_times {
	double cold, start, rss, ctl_list, ctl_version, reload, stop;
	size_t ctl_listed; /* how many types `ginictl stages` showed */
};

/* The count in the last line of `ginictl stages`: "N of M stage types". */
static size_t
listed_count(const char *path)
{
	char buf[256];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	off_t end;
	ssize_t k;
	char *line;
	size_t n = 0;

	if (fd < 0)
		return 0;
	end = lseek(fd, 0, SEEK_END);
	lseek(fd, end > (off_t)sizeof(buf) - 1 ? end - (off_t)sizeof(buf) + 1 : 0, SEEK_SET);
	k = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (k <= 0)
		return 0;
	buf[k] = 0;
	while (k > 0 && buf[k - 1] == '\n')
		buf[--k] = 0;
	line = strrchr(buf, '\n');
	if (sscanf(line ? line + 1 : buf, "%zu of", &n) != 1)
		return 0;
	return n;
}

static int
measure_daemon(struct bench *b, const char *work, const char *conf, const char *plugins,
               struct daemon_times *ret)
{
	const char *dirs[] = { plugins };
	struct daemon_proc p = { .pid = -1, .notify_fd = -1 };
	char *ginictl = NULL, *sock = NULL, *listing = NULL;
	uint64_t t0, t1;
	size_t from;
	int r = -1;

	if (asprintf(&ginictl, "%s/ginictl", b->build_dir) < 0 ||
	    asprintf(&sock, "%s/ctl.sock", work) < 0 ||
	    asprintf(&listing, "%s/stages.txt", work) < 0)
		goto out;
	/* The first start in this state directory: no registry cache yet. */
	t0 = mono_ns();
	if (proc_ginid(b, &p, work, conf, dirs, 1) < 0 ||
	    proc_wait_notify(b, &p, "READY=1", 0, 120000, &t1) < 0)
		goto out;
	ret->cold = (double)(t1 - t0) / 1e6;
	if (proc_stop_timed(&p, 60000, &ret->stop) < 0) {
		r = bench_fail(b, "ginid did not stop within 60 s of SIGTERM");
		goto out;
	}
	t0 = mono_ns();
	if (proc_ginid(b, &p, work, conf, dirs, 1) < 0 ||
	    proc_wait_notify(b, &p, "READY=1", 0, 120000, &t1) < 0)
		goto out;
	ret->start = (double)(t1 - t0) / 1e6;
	ret->rss = (double)proc_rss_kib(p.pid) / 1024;
	{
		/* The real client: every stage type, as `ginictl stages` pages
		 * them; and the same program doing nothing, its start-up. */
		char *list[] = { ginictl, "-s", sock, "stages", NULL };
		char *version[] = { ginictl, "--version", NULL };

		if (run_timed_to(b, list, listing, &ret->ctl_list) < 0 ||
		    run_timed(b, version, &ret->ctl_version) < 0)
			goto out;
		ret->ctl_listed = listed_count(listing);
	}
	from = p.notified_len;
	t0 = mono_ns();
	if (kill(p.pid, SIGHUP) < 0 ||
	    proc_wait_notify(b, &p, "STATUS=reloaded", from, 120000, &t1) < 0)
		goto out;
	ret->reload = (double)(t1 - t0) / 1e6;
	r = 0;
out:
	if (p.name && proc_stop_timed(&p, 60000, &ret->stop) < 0 && r == 0)
		r = bench_fail(b, "ginid did not stop within 60 s of SIGTERM");
	free(ginictl);
	free(sock);
	free(listing);
	return r;
}

/* ms to list every entry, page by page, touching each id as a client would. */
static double
time_listing(struct bench *b, struct registry *reg, size_t n)
{
	double t0 = mono_usec();
	size_t seen = 0, total = 0, off = 0, len = 0;

	do {
		struct stage_type **list;
		size_t k;

		if (registry_list(reg, NULL, off, PAGE, &list, &k, &total) < 0) {
			bench_fail(b, "registry_list failed");
			return NAN;
		}
		for (size_t i = 0; i < k; i++)
			len += strlen(list[i]->id) + strlen(list[i]->summary);
		registry_list_free(list, k);
		seen += k;
		off += k;
		if (k == 0)
			break;
	} while (off < total);
	if (seen != n || len == 0) {
		bench_fail(b, "listing saw %zu of %zu types", seen, n);
		return NAN;
	}
	return (mono_usec() - t0) / 1000;
}

/* The listing floor: the same pages copied out of a sorted array. */
static double
time_array_pages(struct stage_type **sorted, size_t n)
{
	struct stage_type *page[PAGE];
	double t0 = mono_usec();
	size_t len = 0;

	for (size_t off = 0; off < n; off += PAGE) {
		size_t k = MIN((size_t)PAGE, n - off);

		for (size_t i = 0; i < k; i++)
			page[i] = stage_type_ref(sorted[off + i]);
		for (size_t i = 0; i < k; i++) {
			len += strlen(page[i]->id) + strlen(page[i]->summary);
			stage_type_unref(page[i]);
		}
	}
	return len ? (mono_usec() - t0) / 1000 : NAN;
}

/* The listing rows of one size, every repetition: loads dir in-process once. */
static int
measure_listing(struct bench *b, const char *dir, size_t n, struct row *row)
{
	char *dirs[] = { (char *)dir };
	struct registry *reg = registry_new();
	struct loader_report rep = { 0 };
	struct stage_type **sorted = NULL;
	size_t n_sorted = 0;
	int r = -1;

	if (!reg || loader_scan(dirs, 1, reg, NULL, &rep) < 0 || registry_count(reg) != n ||
	    registry_list(reg, NULL, 0, 0, &sorted, &n_sorted, NULL) < 0) {
		bench_fail(b, "cannot load %s in-process", dir);
		goto out;
	}
	for (unsigned k = 0; k < b->reps && !b->error; k++) {
		series_add(&row->gini, time_listing(b, reg, n));
		series_add(&row->base, time_array_pages(sorted, n_sorted));
	}
	r = b->error ? -1 : 0;
out:
	registry_list_free(sorted, n_sorted);
	registry_free(reg);
	loader_report_done(&rep);
	return r;
}

static struct row *exponent_row(struct bench *b, const char *what, size_t n1, size_t n2,
                                const char *baseline, bool target);

/* An exponent row with the issue's own limit rather than n log n's. */
static struct row *
exponent_row_le(struct bench *b, const char *what, size_t n1, size_t n2, const char *baseline,
                double limit)
{
	struct row *r = exponent_row(b, what, n1, n2, baseline, false);
	char tgt[64];

	snprintf(tgt, sizeof(tgt), "<= %.2f", limit);
	row_target(r, TARGET_GINI_LE, limit, tgt);
	return r;
}

static struct row *
exponent_row(struct bench *b, const char *what, size_t n1, size_t n2, const char *baseline,
             bool target)
{
	char text[160], tgt[64];
	double nlogn = log(((double)n2 * log((double)n2)) / ((double)n1 * log((double)n1))) /
	               log((double)n2 / (double)n1);
	struct row *r;

	snprintf(text, sizeof(text), "%s growth exponent, %zu -> %zu", what, n1, n2);
	r = bench_row(b, text, "exp", baseline);
	r->signed_ok = true;
	if (target) {
		snprintf(tgt, sizeof(tgt), "<= %.3f (n log n)", nlogn);
		row_target(r, TARGET_GINI_LE, nlogn, tgt);
	}
	return r;
}

static void
add_exponent(struct series *s, double v1, double v2, size_t n1, size_t n2)
{
	series_add(s, log(v2 / v1) / log((double)n2 / (double)n1));
}

int
case_scale(struct bench *b)
{
	size_t sizes[2] = { bench_size(b, 10, 500, 1000), bench_size(b, 100, 5000, 10000) };
	unsigned reps = b->quick ? 1 : b->reps;
	struct size_rows rows[2];
	struct row *e_start, *e_rss, *e_list, *e_ctl, *e_reload, *e_stop;
	char *dirs[2] = { NULL, NULL }, *confs[2] = { NULL, NULL }, *work = NULL;
	char **files[2] = { NULL, NULL };
	bool short_list[2] = { false, false };
	size_t n_files[2] = { 0, 0 };
	char what[128];
	int r = -1;

	work = work_subdir(b, "scale");
	if (!work)
		return bench_fail(b, "cannot make the scale work directory");
	for (size_t s = 0; s < 2; s++) {
		size_t n = sizes[s], pipelines = MAX(n / 10, (size_t)1);
		char name[64], *path = NULL;
		char *text;

		dirs[s] = gen_plugins(b, n);
		if (!dirs[s])
			goto out;
		if (gen_list(dirs[s], &files[s], &n_files[s]) < 0 || n_files[s] != n) {
			bench_fail(b, "%s: expected %zu plugins", dirs[s], n);
			goto out;
		}
		text = scale_conf(n, pipelines);
		snprintf(name, sizeof(name), "gini-%zu.conf", n);
		if (!text || asprintf(&path, "%s/%s", work, name) < 0 ||
		    write_text(path, text) < 0) {
			free(text);
			free(path);
			bench_fail(b, "cannot write the scale config");
			goto out;
		}
		free(text);
		confs[s] = path;
	}
	/* Rows grouped by measurement: both sizes, then the exponent. */
	for (size_t s = 0; s < 2; s++) {
		snprintf(what, sizeof(what),
		         "first start-up (no registry cache), %zu types, %zu pipelines", sizes[s],
		         MAX(sizes[s] / 10, (size_t)1));
		rows[s].cold = bench_row(b, what, "ms", "dlopen+dlsym all, kept open");
	}
	for (size_t s = 0; s < 2; s++) {
		snprintf(what, sizeof(what),
		         "start-up to READY=1, %zu types (10%% used), %zu pipelines", sizes[s],
		         MAX(sizes[s] / 10, (size_t)1));
		rows[s].start = bench_row(b, what, "ms", "dlopen+dlsym all, kept open");
	}
	e_start = exponent_row_le(b, "start-up", sizes[0], sizes[1], "dlopen+dlsym all, kept open",
	                          1.15);
	for (size_t s = 0; s < 2; s++) {
		snprintf(what, sizeof(what), "RSS once ready, %zu types, %zu pipelines", sizes[s],
		         MAX(sizes[s] / 10, (size_t)1));
		rows[s].rss = bench_row(b, what, "MiB", NULL);
	}
	e_rss = exponent_row_le(b, "RSS", sizes[0], sizes[1], NULL, 1.0);
	for (size_t s = 0; s < 2; s++) {
		snprintf(what, sizeof(what), "stages listing, %zu types, pages of %d", sizes[s],
		         PAGE);
		rows[s].list = bench_row(b, what, "ms", "pages copied from an array");
	}
	e_list = exponent_row(b, "stages listing", sizes[0], sizes[1], "pages copied from an array",
	                      true);
	for (size_t s = 0; s < 2; s++) {
		snprintf(what, sizeof(what), "ginictl stages (all, to a file), %zu types",
		         sizes[s]);
		rows[s].ctl = bench_row(b, what, "ms", "ginictl --version");
	}
	e_ctl = exponent_row(b, "ginictl stages", sizes[0], sizes[1], "ginictl --version", true);
	for (size_t s = 0; s < 2; s++) {
		snprintf(what, sizeof(what), "reload (SIGHUP -> READY=1), %zu types, %zu pipelines",
		         sizes[s], MAX(sizes[s] / 10, (size_t)1));
		rows[s].reload = bench_row(b, what, "ms", NULL);
	}
	e_reload = exponent_row(b, "reload", sizes[0], sizes[1], NULL, true);
	for (size_t s = 0; s < 2; s++) {
		snprintf(what, sizeof(what), "shutdown (SIGTERM -> exit), %zu types, %zu pipelines",
		         sizes[s], MAX(sizes[s] / 10, (size_t)1));
		rows[s].stop = bench_row(b, what, "ms", NULL);
	}
	row_target(rows[1].stop, TARGET_GINI_LE, 200, "<= 200 ms");
	e_stop = exponent_row(b, "shutdown", sizes[0], sizes[1], NULL, false);

	for (unsigned rep = 0; rep < reps; rep++) {
		struct daemon_times dt[2];
		double fl[2];

		for (size_t s = 0; s < 2; s++) {
			char *dir = NULL;

			if (asprintf(&dir, "%s/run-%zu", work, sizes[s]) < 0)
				goto out;
			rmtree(dir);
			mkdir(dir, 0755);
			if (measure_daemon(b, dir, confs[s], dirs[s], &dt[s]) < 0) {
				free(dir);
				goto out;
			}
			free(dir);
			fl[s] = time_dlopen_loop(b, files[s], n_files[s], true);
			if (b->error)
				goto out;
			series_add(&rows[s].cold->gini, dt[s].cold);
			series_add(&rows[s].cold->base, fl[s]);
			series_add(&rows[s].start->gini, dt[s].start);
			series_add(&rows[s].start->base, fl[s]);
			series_add(&rows[s].rss->gini, dt[s].rss);
			series_add(&rows[s].ctl->gini, dt[s].ctl_list);
			series_add(&rows[s].ctl->base, dt[s].ctl_version);
			series_add(&rows[s].reload->gini, dt[s].reload);
			series_add(&rows[s].stop->gini, dt[s].stop);
			if (dt[s].ctl_listed != sizes[s] && !short_list[s]) {
				char note[160];

				short_list[s] = true;
				snprintf(note, sizeof(note),
				         "ginictl stages showed %zu of %zu types: its row above "
				         "measures that many",
				         dt[s].ctl_listed, sizes[s]);
				bench_note(b, "ginictl stages, incomplete listing", note);
			}
		}
		add_exponent(&e_start->gini, dt[0].start, dt[1].start, sizes[0], sizes[1]);
		add_exponent(&e_start->base, fl[0], fl[1], sizes[0], sizes[1]);
		add_exponent(&e_rss->gini, dt[0].rss, dt[1].rss, sizes[0], sizes[1]);
		add_exponent(&e_ctl->gini, dt[0].ctl_list, dt[1].ctl_list, sizes[0], sizes[1]);
		add_exponent(&e_ctl->base, dt[0].ctl_version, dt[1].ctl_version, sizes[0],
		             sizes[1]);
		add_exponent(&e_reload->gini, dt[0].reload, dt[1].reload, sizes[0], sizes[1]);
		add_exponent(&e_stop->gini, dt[0].stop, dt[1].stop, sizes[0], sizes[1]);
	}
	for (size_t s = 0; s < 2; s++)
		if (measure_listing(b, dirs[s], sizes[s], rows[s].list) < 0)
			goto out;
	for (size_t k = 0; k < rows[0].list->gini.n && k < rows[1].list->gini.n; k++) {
		add_exponent(&e_list->gini, rows[0].list->gini.v[k], rows[1].list->gini.v[k],
		             sizes[0], sizes[1]);
		add_exponent(&e_list->base, rows[0].list->base.v[k], rows[1].list->base.v[k],
		             sizes[0], sizes[1]);
	}
	r = 0;
out:
	for (size_t s = 0; s < 2; s++) {
		free(dirs[s]);
		free(confs[s]);
		gen_list_free(files[s], n_files[s]);
	}
	free(work);
	return r;
}
