/* SPDX-License-Identifier: MIT */
/*
 * Cases 4, 5 and 6: a real ginid, started as systemd would start it (a
 * NOTIFY_SOCKET the bench owns, READY=1 awaited), next to a floor process
 * doing the same job with nothing in between (bench/floor.c).
 *
 * The noop stage stamps CLOCK_MONOTONIC on entry to run() into a FIFO, the
 * floors stamp their wake-up into another; the bench reads both. So a
 * latency is from the instant before kill() to the instant the work could
 * start, on one clock, and includes nothing of the bench's own wake-up.
 */
#include "bench.h"
#include "proc.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Discards stamps already in a FIFO. */
static void
fifo_drain(int fd)
{
	uint64_t ns;

	while (fifo_read(fd, &ns) > 0)
		;
}

/*
 * Signals pid and returns µs until the stamp arrives on fifo, or NAN. The
 * daemon's notifications are left queued meanwhile (the caller drains them
 * between signals): the bench waking up to read a STATUS= message would
 * take a CPU from the daemon in the very interval measured.
 */
static double
signal_latency(struct bench *b, struct daemon_proc *p, int fifo)
{
	uint64_t t0, stamp;

	fifo_drain(fifo);
	t0 = mono_ns();
	if (kill(p->pid, SIGUSR1) < 0) {
		bench_fail(b, "kill %s: %s", p->name, strerror(errno));
		return NAN;
	}
	if (proc_wait_fd(NULL, fifo, 5000) <= 0 || fifo_read(fifo, &stamp) <= 0) {
		bench_fail(b, "%s: no stamp within 5 s of SIGUSR1", p->name);
		return NAN;
	}
	if (stamp < t0) {
		bench_fail(b, "%s: stamp before the signal", p->name);
		return NAN;
	}
	return (double)(stamp - t0) / 1000;
}

int
case_trigger(struct bench *b)
{
	size_t n = bench_size(b, 5, 300, 2000);
	uint64_t gap_usec = 1000;
	char *stages = bench_path(b, "stages"), *bundled = NULL, *conf = NULL;
	struct row *rows[3];
	double *lg = calloc(n, sizeof(double)), *lf = calloc(n, sizeof(double));
	struct rig g;
	char what[96];
	int r = -1;

	if (rig_init(b, &g, "trigger") < 0 || !stages || !lg || !lf ||
	    asprintf(&bundled, "%s/stages", b->build_dir) < 0)
		goto out;
	if (asprintf(&conf,
	             "# case 4: one pipeline on SIGUSR1 whose first step stamps its start.\n"
	             "# parallel: a signal that comes before the loop has seen the last\n"
	             "# run end (a loaded machine) starts a run rather than being skipped.\n"
	             "pipelines = ({ name = \"latency\"; triggers = { signal = \"SIGUSR1\"; };\n"
	             "  overlap = \"parallel\";\n"
	             "  steps = ({ id = \"stamp\"; stage = \"noop\"; params = { stamp = \"%s\"; }; "
	             "}); });\n",
	             g.gini_fifo_path) < 0)
		goto out;
	{
		const char *dirs[] = { stages, bundled };

		if (rig_start_gini(b, &g, conf, dirs, 2) < 0)
			goto out;
	}
	if (rig_start_floor(b, &g, "signalfd", NULL, NULL) < 0)
		goto out;
	proc_sleep(&g.gini, 200000);

	snprintf(what, sizeof(what), "trigger latency p50, SIGUSR1 -> run(), %zu signals", n);
	rows[0] = bench_row(b, what, "us", "signalfd in epoll");
	snprintf(what, sizeof(what), "trigger latency p99, SIGUSR1 -> run(), %zu signals", n);
	rows[1] = bench_row(b, what, "us", "signalfd in epoll");
	row_target(rows[1], TARGET_DIFF_LE, 50, "p99 <= floor + 50 us");
	snprintf(what, sizeof(what), "trigger latency max, SIGUSR1 -> run(), %zu signals", n);
	rows[2] = bench_row(b, what, "us", "signalfd in epoll");

	for (unsigned rep = 0; rep < b->reps; rep++) {
		/* Interleaved, so both see the same moments of the machine. */
		for (size_t i = 0; i < n; i++) {
			lg[i] = signal_latency(b, &g.gini, g.gini_fifo);
			proc_sleep(&g.gini, gap_usec);
			lf[i] = signal_latency(b, &g.floor, g.floor_fifo);
			proc_sleep(&g.gini, gap_usec);
			if (b->error)
				goto out;
		}
		series_add(&rows[0]->gini, quantile(lg, n, 0.50));
		series_add(&rows[0]->base, quantile(lf, n, 0.50));
		series_add(&rows[1]->gini, quantile(lg, n, 0.99));
		series_add(&rows[1]->base, quantile(lf, n, 0.99));
		series_add(&rows[2]->gini, quantile(lg, n, 1.0));
		series_add(&rows[2]->base, quantile(lf, n, 1.0));
	}
	r = 0;
out:
	rig_done(&g);
	free(stages);
	free(bundled);
	free(conf);
	free(lg);
	free(lf);
	return r;
}

/* Lateness (µs) of a stamp against the grid due0 + k * period. */
static double
lateness(uint64_t stamp, uint64_t due0, uint64_t period)
{
	int64_t d = (int64_t)(stamp - due0);
	int64_t k = d >= 0 ? d / (int64_t)period : -((-d + (int64_t)period - 1) / (int64_t)period);

	return (double)(d - k * (int64_t)period) / 1000;
}

int
case_schedule(struct bench *b)
{
	const uint64_t period = 100 * 1000000ull; /* ns */
	uint64_t window = bench_size(b, 350, 2000, 10000) * 1000000ull;
	size_t cap = (size_t)(window / period) + 16, ng, nf;
	char *stages = bench_path(b, "stages"), *conf = NULL;
	double *lg = calloc(cap, sizeof(double)), *lf = calloc(cap, sizeof(double));
	uint64_t due_g, due_f, stamp;
	struct row *rows[3];
	struct rig g;
	char what[96], a1[32], a2[32];
	int r = -1;

	if (rig_init(b, &g, "schedule") < 0 || !stages || !lg || !lf)
		goto out;
	if (asprintf(&conf,
	             "# case 5: a pipeline every 100ms whose step stamps its start.\n"
	             "pipelines = ({ name = \"tick\"; triggers = { every = \"100ms\"; };\n"
	             "  steps = ({ id = \"stamp\"; stage = \"noop\"; params = { stamp = \"%s\"; }; "
	             "}); });\n",
	             g.gini_fifo_path) < 0)
		goto out;
	{
		const char *dirs[] = { stages };

		if (rig_start_gini(b, &g, conf, dirs, 1) < 0)
			goto out;
	}
	/*
	 * The daemon's grid: when its monotonic timerfd is armed for, read from
	 * the kernel while the loop sleeps (20 ms after a tick). The floor's
	 * grid is set half a period off, so the two never wake together.
	 */
	if (proc_wait_fd(&g.gini, g.gini_fifo, 5000) <= 0) {
		bench_fail(b, "ginid: no tick within 5 s");
		goto out;
	}
	proc_sleep(&g.gini, 20000);
	if (proc_timerfd_due_ns(g.gini.pid, &due_g) < 0) {
		bench_fail(b, "ginid: no armed CLOCK_MONOTONIC timerfd in /proc/%d/fdinfo",
		           (int)g.gini.pid);
		goto out;
	}
	due_f = due_g + period / 2;
	snprintf(a1, sizeof(a1), "%llu", (unsigned long long)due_f);
	snprintf(a2, sizeof(a2), "%llu", (unsigned long long)period);
	if (rig_start_floor(b, &g, "timerfd", a1, a2) < 0)
		goto out;

	snprintf(what, sizeof(what), "schedule lateness p50, every 100ms, %gs",
	         (double)window / 1e9);
	rows[0] = bench_row(b, what, "us", "timerfd loop");
	snprintf(what, sizeof(what), "schedule lateness p99, every 100ms, %gs",
	         (double)window / 1e9);
	rows[1] = bench_row(b, what, "us", "timerfd loop");
	row_target(rows[1], TARGET_DIFF_LE, 50, "p99 <= floor + 50 us");
	snprintf(what, sizeof(what), "schedule lateness max, every 100ms, %gs",
	         (double)window / 1e9);
	rows[2] = bench_row(b, what, "us", "timerfd loop");

	for (unsigned rep = 0; rep < b->reps; rep++) {
		uint64_t end;

		/* Re-read the grid: a tick later than a period would shift it. */
		fifo_drain(g.gini_fifo);
		if (proc_wait_fd(&g.gini, g.gini_fifo, 5000) <= 0) {
			bench_fail(b, "ginid: no tick within 5 s");
			goto out;
		}
		fifo_drain(g.gini_fifo);
		proc_sleep(&g.gini, 20000);
		if (proc_timerfd_due_ns(g.gini.pid, &due_g) < 0) {
			bench_fail(b, "ginid: its timerfd is no longer armed");
			goto out;
		}
		fifo_drain(g.floor_fifo);
		ng = nf = 0;
		end = mono_ns() + window;
		while (mono_ns() < end) {
			struct pollfd pfd[2] = { { .fd = g.gini_fifo, .events = POLLIN },
				                 { .fd = g.floor_fifo, .events = POLLIN } };

			/* Not woken by the daemon's STATUS= messages while it
			 * works: drained once its tick has been stamped. */
			poll(pfd, 2, 50);
			while (fifo_read(g.gini_fifo, &stamp) > 0 && ng < cap)
				lg[ng++] = lateness(stamp, due_g, period);
			while (fifo_read(g.floor_fifo, &stamp) > 0 && nf < cap)
				lf[nf++] = lateness(stamp, due_f, period);
			proc_drain(&g.gini);
		}
		if (ng == 0 || nf == 0) {
			bench_fail(b, "no ticks in %.1fs (ginid %zu, floor %zu)",
			           (double)window / 1e9, ng, nf);
			goto out;
		}
		series_add(&rows[0]->gini, quantile(lg, ng, 0.50));
		series_add(&rows[0]->base, quantile(lf, nf, 0.50));
		series_add(&rows[1]->gini, quantile(lg, ng, 0.99));
		series_add(&rows[1]->base, quantile(lf, nf, 0.99));
		series_add(&rows[2]->gini, quantile(lg, ng, 1.0));
		series_add(&rows[2]->base, quantile(lf, nf, 1.0));
	}
	r = 0;
out:
	rig_done(&g);
	free(stages);
	free(conf);
	free(lg);
	free(lf);
	return r;
}

int
case_idle(struct bench *b)
{
	size_t n_pipelines = bench_size(b, 10, 100, 100);
	uint64_t settle = bench_size(b, 100, 1000, 3000) * 1000;
	uint64_t total = bench_size(b, 200, 10000, 60000) * 1000;
	uint64_t window = total / b->reps;
	char *bundled = NULL, *conf = NULL;
	struct row *wake, *rss;
	struct rig g;
	char what[96];
	time_t now = time(NULL);
	struct tm tm;
	int r = -1;

	localtime_r(&now, &tm);
	if (rig_init(b, &g, "idle") < 0 || asprintf(&bundled, "%s/stages", b->build_dir) < 0)
		goto out;
	{
		/* Half on 'every', half on a daily cron twelve hours away. */
		size_t len = 0;
		FILE *f = open_memstream(&conf, &len);

		if (!f)
			goto out;
		fprintf(f, "# case 6: %zu pipelines, none due within the hour.\npipelines = (\n",
		        n_pipelines);
		for (size_t i = 0; i < n_pipelines; i++) {
			if (i % 2)
				fprintf(f, "{ name = \"p%zu\"; triggers = { every = \"2h\"; };", i);
			else
				fprintf(f,
				        "{ name = \"p%zu\"; triggers = { schedule = \"%d %d * * "
				        "*\"; };",
				        i, tm.tm_min, (tm.tm_hour + 12) % 24);
			fprintf(f,
			        " steps = ({ id = \"say\"; stage = \"log\"; params = { message = "
			        "\"idle bench\"; }; }); }%s\n",
			        i + 1 < n_pipelines ? "," : "");
		}
		fprintf(f, ");\n");
		if (fclose(f) != 0)
			goto out;
	}
	{
		const char *dirs[] = { bundled };

		if (rig_start_gini(b, &g, conf, dirs, 1) < 0)
			goto out;
	}
	if (rig_start_floor(b, &g, "idle", NULL, NULL) < 0)
		goto out;
	proc_sleep(&g.gini, settle);

	snprintf(what, sizeof(what), "idle wake-ups, %zu pipelines none due", n_pipelines);
	wake = bench_row(b, what, "/min", "bare epoll process");
	row_target(wake, TARGET_DIFF_LE, 0, "0 beyond due timers");
	snprintf(what, sizeof(what), "idle RSS, bundled plugins, %zu pipelines", n_pipelines);
	rss = bench_row(b, what, "MiB", "bare epoll process");
	/* collectd is measured beside ginid in case 10 (incumbent.c). */

	for (unsigned rep = 0; rep < b->reps; rep++) {
		long long g0 = proc_voluntary_switches(g.gini.pid);
		long long f0 = proc_voluntary_switches(g.floor.pid);
		double t0 = mono_usec(), minutes;

		proc_sleep(&g.gini, window);
		minutes = (mono_usec() - t0) / 60e6;
		if (g0 < 0 || f0 < 0) {
			bench_fail(b, "cannot read context switches from /proc");
			goto out;
		}
		series_add(&wake->gini,
		           (double)(proc_voluntary_switches(g.gini.pid) - g0) / minutes);
		series_add(&wake->base,
		           (double)(proc_voluntary_switches(g.floor.pid) - f0) / minutes);
		series_add(&rss->gini, (double)proc_rss_kib(g.gini.pid) / 1024);
		series_add(&rss->base, (double)proc_rss_kib(g.floor.pid) / 1024);
	}
	r = 0;
out:
	rig_done(&g);
	free(bundled);
	free(conf);
	return r;
}
