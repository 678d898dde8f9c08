/* SPDX-License-Identifier: MIT */
/*
 * Case 11: the run history (daemon/history.c). Records N runs of a 10-step
 * pipeline (each step with two lines of output) through history_record(),
 * as the manager does, and times the loop's side (enqueueing) and the
 * writer's (until everything is committed); then measures the database's
 * size per run, and starts a real ginid on that database to time
 * `ginictl history --limit 50` and `ginictl logs RUN`, process start
 * included, next to `ginictl --version`, the program's own start-up (the
 * table asks for no steps; --json gets them, in a row of its own). How
 * much the recording costs a dispatch is a row of case 1.
 */
#include "bench.h"
#include "proc.h"

#include "history.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define STEPS 10

static struct history_run *
make_run(uint64_t id, int64_t started)
{
	struct history_run *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->id = id;
	r->pipeline = strdup("nightly");
	r->generation = 1;
	r->trigger = strdup("schedule");
	r->started_usec = started;
	r->ended_usec = started + 1500000;
	r->result = id % 10 == 0 ? "failed" : "success";
	r->steps = calloc(STEPS, sizeof(*r->steps));
	if (!r->pipeline || !r->trigger || !r->steps) {
		history_run_free(r);
		return NULL;
	}
	r->n_steps = STEPS;
	for (size_t i = 0; i < STEPS; i++) {
		struct history_step *s = &r->steps[i];

		if (asprintf(&s->id, "step%zu", i) < 0)
			s->id = NULL;
		s->stage = strdup("exec");
		s->result = "success";
		s->attempts = 1;
		s->duration_usec = 150000;
		if (asprintf(&s->output,
		             "%lld 6 copying /srv/data/part-%zu to the backup host\n"
		             "%lld 6 done: 1234 files, 56 MiB\n",
		             (long long)started, i, (long long)started + 1000) < 0)
			s->output = NULL;
		s->output_len = s->output ? strlen(s->output) : 0;
	}
	return r;
}

static double
file_size(const char *dir, const char *name)
{
	char *p = NULL;
	struct stat st;
	double n = 0;

	if (asprintf(&p, "%s/%s", dir, name) >= 0 && stat(p, &st) == 0)
		n = (double)st.st_size;
	free(p);
	return n;
}

int
case_history(struct bench *b)
{
	size_t n = bench_size(b, 200, 2000, 10000);
	unsigned k = (unsigned)bench_size(b, 2, 10, 30);
	struct history_limits lim = { .max_runs = HISTORY_DEFAULT_MAX_RUNS,
		                      .max_age_usec = HISTORY_DEFAULT_MAX_AGE,
		                      .output_max = HISTORY_DEFAULT_OUTPUT_MAX };
	struct row *enq, *commit, *size, *hist, *histj, *logs;
	char *bundled = NULL, *state = NULL, *sock = NULL, *ginictl = NULL, *last = NULL;
	struct rig g = { 0 };
	char what[128];
	int r = -1;

	if (rig_init(b, &g, "history") < 0 || asprintf(&bundled, "%s/stages", b->build_dir) < 0 ||
	    asprintf(&state, "%s/state", g.dir) < 0 || asprintf(&sock, "%s/ctl.sock", g.dir) < 0 ||
	    asprintf(&ginictl, "%s/ginictl", b->build_dir) < 0 || asprintf(&last, "%zu", n) < 0) {
		bench_fail(b, "out of memory");
		goto out;
	}
	snprintf(what, sizeof(what), "history: enqueue %zu runs of 10 steps (loop side)", n);
	enq = bench_row(b, what, "us/run", NULL);
	snprintf(what, sizeof(what), "history: %zu runs of 10 steps committed (writer)", n);
	commit = bench_row(b, what, "us/run", NULL);
	snprintf(what, sizeof(what), "history: database size, 10 steps x 2 output lines");
	size = bench_row(b, what, "KiB/run", NULL);
	snprintf(what, sizeof(what), "ginictl history --limit 50, %zu-run database", n);
	hist = bench_row(b, what, "ms", "ginictl --version");
	row_target(hist, TARGET_GINI_LE, 20, "< 20 ms");
	snprintf(what, sizeof(what), "ginictl --json history --limit 50 (with steps), %zu runs", n);
	histj = bench_row(b, what, "ms", "ginictl --version");
	snprintf(what, sizeof(what), "ginictl logs RUN, %zu-run database", n);
	logs = bench_row(b, what, "ms", "ginictl --version");
	row_target(logs, TARGET_GINI_LE, 20, "< 20 ms");

	for (unsigned rep = 0; rep < b->reps; rep++) {
		struct history_run **runs = calloc(n, sizeof(*runs));
		int64_t now = (int64_t)now_usec(CLOCK_REALTIME);
		struct history *h;
		double t0, t1, t2;

		rmtree(state);
		mkdir(state, 0755);
		h = history_new(state, &lim, NULL);
		if (!runs || !h || history_disabled(h)) {
			free(runs);
			history_free(h);
			bench_fail(b, "cannot open a history in %s", state);
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			if (!(runs[i] = make_run(i + 1, now - (int64_t)(n - i) * 60 * 1000000))) {
				bench_fail(b, "out of memory");
				break;
			}
		t0 = mono_usec();
		for (size_t i = 0; i < n && !b->error; i++)
			history_record(h, runs[i]);
		t1 = mono_usec();
		history_flush(h);
		t2 = mono_usec();
		history_free(h);
		free(runs);
		if (b->error)
			goto out;
		series_add(&enq->gini, (t1 - t0) / (double)n);
		series_add(&commit->gini, (t2 - t0) / (double)n);
		series_add(&size->gini,
		           (file_size(state, "history.db") + file_size(state, "history.db-wal")) /
		                   1024 / (double)n);

		/* A real daemon on that database. */
		{
			const char *dirs[] = { bundled };
			char *history[] = { ginictl, "-s", sock, "history", "--limit", "50", NULL };
			char *historyj[] = { ginictl,   "-s",      sock, "--json",
				             "history", "--limit", "50", NULL };
			char *logsv[] = { ginictl, "-s", sock, "logs", last, NULL };
			char *version[] = { ginictl, "--version", NULL };

			if (rig_start_gini(b, &g, "pipelines = ();\n", dirs, 1) < 0)
				goto out;
			for (unsigned i = 0; i < k; i++) {
				double ms;

				if (run_timed(b, history, &ms) < 0)
					goto out;
				series_add(&hist->gini, ms);
				if (run_timed(b, historyj, &ms) < 0)
					goto out;
				series_add(&histj->gini, ms);
				if (run_timed(b, logsv, &ms) < 0)
					goto out;
				series_add(&logs->gini, ms);
				if (run_timed(b, version, &ms) < 0)
					goto out;
				series_add(&hist->base, ms);
				series_add(&histj->base, ms);
				series_add(&logs->base, ms);
			}
			/* Resets g.gini, for the next repetition's daemon. */
			proc_stop(&g.gini, 10000);
		}
	}
	r = 0;
out:
	rig_done(&g);
	free(bundled);
	free(state);
	free(sock);
	free(ginictl);
	free(last);
	return r;
}
