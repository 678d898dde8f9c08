/* SPDX-License-Identifier: MIT */
/*
 * Cases 1 and 2: dispatch cost through the real executor, in-process.
 * The noop stage is loaded from bench_dir/stages by the daemon's own
 * loader, pipelines are compiled from config text by config.c and
 * pipeline.c, and runs go through run_new()/executor_submit() exactly as
 * the manager submits them, on_done included; only the event loop is left
 * out (cases 4 and 5 measure the path through it).
 *
 * Floor: the same run() pointers of the same compiled steps called in a
 * plain loop. Alternatives: fork+exec of /bin/true and posix_spawn per step,
 * what cron, run-parts or a systemd unit per job pay.
 */
#include "bench.h"

#include "config.h"
#include "diag.h"
#include "executor.h"
#include "history.h"
#include "host.h"
#include "isolate_pool.h"
#include "loader.h"
#include "manager.h"
#include "pipeline.h"
#include "registry.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct env {
	struct bench *b;
	struct registry *reg;
	struct loader_report report;
};

struct compiled {
	struct gini_config *cfg;
	struct pipeline *p;
};

static int
env_init(struct bench *b, struct env *e)
{
	char *dir = bench_path(b, "stages");
	char *dirs[] = { dir };
	int r;

	memset(e, 0, sizeof(*e));
	e->b = b;
	e->reg = registry_new();
	if (!dir || !e->reg) {
		free(dir);
		return bench_fail(b, "out of memory");
	}
	r = loader_scan(dirs, 1, e->reg, NULL, &e->report);
	free(dir);
	if (r < 0 || e->report.n_refusals > 0 || registry_count(e->reg) == 0)
		return bench_fail(b, "cannot load the noop stage from %s/stages: %s", b->bench_dir,
		                  e->report.n_refusals ? e->report.refusals[0].reason
		                                       : strerror(r < 0 ? -r : ENOENT));
	return 0;
}

static void
env_done(struct env *e)
{
	registry_free(e->reg);
	loader_report_done(&e->report);
}

static void
compiled_done(struct compiled *c)
{
	c->p = pipeline_free(c->p);
	c->cfg = config_free(c->cfg);
}

static int
compile(struct env *e, const char *text, struct compiled *ret)
{
	struct diags d = { 0 };
	char buf[1024];
	int r;

	memset(ret, 0, sizeof(*ret));
	r = config_load_string(text, "bench.conf", "/nonexistent", NULL, &ret->cfg, &d);
	if (r >= 0 && d.n == 0)
		r = pipeline_compile(&ret->cfg->pipelines[0], e->reg, &ret->p, &d);
	if (r < 0 || d.n > 0) {
		bench_fail(e->b, "compiling the bench pipeline: %s",
		           d.n ? diag_format(&d.v[0], buf, sizeof(buf)) : strerror(-r));
		diags_done(&d);
		compiled_done(ret);
		return -1;
	}
	diags_done(&d);
	return 0;
}

enum shape {
	LINEAR,  /* s0 -> s1 -> ... */
	FANOUT,  /* n independent steps */
	DIAMOND, /* top -> m0..m(n-3) -> bottom */
};

/*
 * The config text of one pipeline of n noop steps; params (the inside of a
 * params group) and extra (more step settings) may be NULL.
 */
static char *
pipeline_text(enum shape shape, size_t n, const char *params, const char *extra)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	fprintf(f, "pipelines = ({ name = \"bench\"; steps = (\n");
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "{ id = \"s%zu\"; stage = \"noop\";", i);
		if (params)
			fprintf(f, " params = { %s };", params);
		if (extra)
			fprintf(f, " %s", extra);
		if (shape == LINEAR && i > 0)
			fprintf(f, " after = [ \"s%zu\" ];", i - 1);
		if (shape == DIAMOND && i > 0 && i < n - 1)
			fprintf(f, " after = [ \"s0\" ];");
		if (shape == DIAMOND && i == n - 1) {
			fprintf(f, " after = [");
			for (size_t k = 1; k < n - 1; k++)
				fprintf(f, "%s\"s%zu\"", k > 1 ? ", " : " ", k);
			fprintf(f, " ];");
		}
		fprintf(f, " }%s\n", i + 1 < n ? "," : "");
	}
	fprintf(f, "); });\n");
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

static int
compile_shape(struct env *e, enum shape shape, size_t n, const char *params, const char *extra,
              struct compiled *ret)
{
	char *text = pipeline_text(shape, n, params, extra);
	int r;

	if (!text)
		return bench_fail(e->b, "out of memory");
	r = compile(e, text, ret);
	free(text);
	return r;
}

/* Runs: submitted one after the other, each waited for. */

struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
};

static void
on_done(struct run *r, void *userdata)
{
	struct waiter *w = userdata;

	(void)r;
	pthread_mutex_lock(&w->lock);
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* With h, the run is recorded as the manager records it (start and end). */
static int
run_once(struct executor *ex, const struct pipeline *p, struct waiter *w, struct history *h)
{
	struct run *r = run_new(p, "bench");
	bool ok;

	if (!r)
		return -1;
	r->on_done = on_done;
	r->userdata = w;
	r->output_max = history_output_max(h);
	w->done = false;
	if (executor_submit(ex, r) < 0) {
		run_free(r);
		return -1;
	}
	if (h)
		history_record(h, manager_run_record(h, r, 1, false));
	pthread_mutex_lock(&w->lock);
	while (!w->done)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
	if (h)
		history_record(h, manager_run_record(h, r, 1, true));
	ok = r->status == RUN_SUCCESS;
	run_free(r);
	return ok ? 0 : -1;
}

/*
 * µs per step: runs of p back to back (run_new, submit, wait, run_free:
 * what a trigger costs, timing and result recording included) until
 * min_usec passed and at least min_runs were made.
 */
static double
time_runs_h(struct bench *b, struct executor *ex, const struct pipeline *p, double min_usec,
            unsigned min_runs, double *ret_wall_per_run, struct history *h)
{
	struct waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false };
	double t0 = mono_usec(), t;
	unsigned runs = 0;

	do {
		if (run_once(ex, p, &w, h) < 0) {
			bench_fail(b, "a bench run failed");
			return NAN;
		}
		runs++;
		t = mono_usec() - t0;
	} while (t < min_usec || runs < min_runs);
	if (ret_wall_per_run)
		*ret_wall_per_run = t / runs;
	return t / ((double)runs * (double)p->n_steps);
}

static double
time_runs(struct bench *b, struct executor *ex, const struct pipeline *p, double min_usec,
          unsigned min_runs, double *ret_wall_per_run)
{
	return time_runs_h(b, ex, p, min_usec, min_runs, ret_wall_per_run, NULL);
}

/* The floor: the steps' own run() pointers, called in topological order. */
static double
time_direct(const struct pipeline *p, double min_usec)
{
	struct gini_handle h;
	double t0 = mono_usec(), t;
	size_t calls = 0;
	int rc = 0;

	handle_init(&h);
	do {
		for (size_t k = 0; k < p->n_steps; k++) {
			const struct step *s = &p->steps[p->order[k]];

			rc |= s->type->desc->run(&host_services, &h, s->instance);
		}
		calls += p->n_steps;
		t = mono_usec() - t0;
	} while (t < min_usec);
	handle_done(&h);
	return rc == GINI_SUCCESS ? t / (double)calls : NAN;
}

/* µs per fork+exec (or posix_spawn) of /bin/true, waited for. */
double
time_processes(struct bench *b, bool use_spawn, unsigned n)
{
	char *argv[] = { "/bin/true", NULL };
	double t0 = mono_usec();

	for (unsigned i = 0; i < n; i++) {
		pid_t pid;
		int status;

		if (use_spawn) {
			int r = posix_spawn(&pid, argv[0], NULL, NULL, argv, environ);

			if (r != 0) {
				bench_fail(b, "posix_spawn /bin/true: %s", strerror(r));
				return NAN;
			}
		} else {
			pid = fork();
			if (pid < 0) {
				bench_fail(b, "fork: %s", strerror(errno));
				return NAN;
			}
			if (pid == 0) {
				execve(argv[0], argv, environ);
				_exit(127);
			}
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			bench_fail(b, "/bin/true failed");
			return NAN;
		}
	}
	return (mono_usec() - t0) / n;
}

int
case_linear(struct bench *b)
{
	size_t n = bench_size(b, 10, 1000, 1000);
	double min_usec = (double)bench_size(b, 1000, 50000, 200000);
	unsigned procs = (unsigned)bench_size(b, 2, 30, 100);
	struct row *direct, *fork_exec, *spawn, *hist;
	struct history *h = NULL;
	struct compiled c;
	struct env e;
	char what[128];
	int r = -1;

	if (env_init(b, &e) < 0 || compile_shape(&e, LINEAR, n, NULL, NULL, &c) < 0) {
		env_done(&e);
		return -1;
	}
	snprintf(what, sizeof(what), "linear, %zu no-op steps, 1 worker", n);
	direct = bench_row(b, what, "us/step", "direct call of run()");
	row_target(direct, TARGET_GINI_LE, 1.0, "<= 1 us/step");
	fork_exec = bench_row(b, what, "us/step", "fork+exec /bin/true");
	row_target(fork_exec, TARGET_RATIO_LE, 1.0 / 500, ">= 500x faster (<= 1/500)");
	spawn = bench_row(b, what, "us/step", "posix_spawn /bin/true");
	snprintf(what, sizeof(what), "linear, %zu no-op steps, 1 worker, run history on", n);
	hist = bench_row(b, what, "us/step", "run history off");
	row_target(hist, TARGET_RATIO_LE, 1.1, "<= 1.1x");

	for (unsigned rep = 0; rep < b->reps; rep++) {
		struct executor *ex = executor_new(1);
		struct history_limits lim = { .max_runs = HISTORY_DEFAULT_MAX_RUNS,
			                      .max_age_usec = HISTORY_DEFAULT_MAX_AGE,
			                      .output_max = HISTORY_DEFAULT_OUTPUT_MAX };
		char *dir = work_subdir(b, "history-linear");
		double g, gh;

		if (!ex) {
			bench_fail(b, "cannot start the executor");
			goto out;
		}
		/* One warm-up run: first-touch page faults are not dispatch. */
		time_runs(b, ex, c.p, 0, 1, NULL);
		g = time_runs(b, ex, c.p, min_usec, 3, NULL);
		/* The same runs recorded in a history.db, as ginid records them;
		 * the writer thread's commits included until the end. */
		h = dir ? history_new(dir, &lim, NULL) : NULL;
		if (!h || history_disabled(h)) {
			bench_fail(b, "cannot open a history in %s", dir ? dir : "(no memory)");
			free(dir);
			executor_free(ex);
			goto out;
		}
		time_runs_h(b, ex, c.p, 0, 1, NULL, h);
		(void)history_flush(h);
		gh = time_runs_h(b, ex, c.p, min_usec, 3, NULL, h);
		(void)history_flush(h);
		h = history_free(h);
		rmtree(dir);
		free(dir);
		executor_free(ex);
		if (isnan(g) || isnan(gh))
			goto out;
		series_add(&hist->gini, gh);
		series_add(&hist->base, g);
		series_add(&direct->gini, g);
		series_add(&fork_exec->gini, g);
		series_add(&spawn->gini, g);
		series_add(&direct->base, time_direct(c.p, min_usec / 4));
		/* No worker threads while forking: the usual cron-like parent. */
		series_add(&fork_exec->base, time_processes(b, false, procs));
		series_add(&spawn->base, time_processes(b, true, procs));
		if (b->error)
			goto out;
	}
	r = 0;
out:
	compiled_done(&c);
	env_done(&e);
	return r;
}

/* The CPU-bound fan-out without the executor: threads calling run() directly. */
struct raw {
	const struct pipeline *p;
	unsigned k, of;
};

static void *
raw_main(void *arg)
{
	struct raw *w = arg;
	struct gini_handle h;

	handle_init(&h);
	for (size_t i = w->k; i < w->p->n_steps; i += w->of) {
		const struct step *s = &w->p->steps[i];

		s->type->desc->run(&host_services, &h, s->instance);
	}
	handle_done(&h);
	return NULL;
}

static double
time_raw_threads(const struct pipeline *p, unsigned threads)
{
	pthread_t t[16];
	struct raw w[16];
	double t0 = mono_usec();

	threads = MIN(threads, 16);
	for (unsigned k = 0; k < threads; k++) {
		w[k] = (struct raw){ p, k, threads };
		if (pthread_create(&t[k], NULL, raw_main, &w[k]) != 0)
			return NAN;
	}
	for (unsigned k = 0; k < threads; k++)
		pthread_join(t[k], NULL);
	return mono_usec() - t0;
}

int
case_fanout(struct bench *b)
{
	static const unsigned workers[] = { 1, 2, 4 };
	size_t n = bench_size(b, 10, 1000, 1000), width = bench_size(b, 4, 100, 100);
	size_t n_spin = bench_size(b, 4, 100, 200);
	const char *spin = b->smoke ? "spin = \"100us\";" : "spin = \"1ms\";";
	double min_usec = (double)bench_size(b, 1000, 50000, 200000);
	unsigned cpu_workers = MIN(b->cores, 4u);
	struct row *fan[3], *dia[3], *cpu = NULL, *fan21;
	struct compiled cf = { 0 }, cd = { 0 }, cc = { 0 };
	struct env e;
	char what[128];
	int r = -1;

	if (env_init(b, &e) < 0 || compile_shape(&e, FANOUT, n, NULL, NULL, &cf) < 0 ||
	    compile_shape(&e, DIAMOND, width + 2, NULL, NULL, &cd) < 0 ||
	    compile_shape(&e, FANOUT, n_spin, spin, NULL, &cc) < 0)
		goto out;
	for (size_t i = 0; i < 3; i++) {
		snprintf(what, sizeof(what), "fan-out, %zu independent no-op steps, %u worker%s", n,
		         workers[i], workers[i] > 1 ? "s" : "");
		fan[i] = bench_row(b, what, "us/step", "direct call of run()");
		if (workers[i] == 2)
			row_target(fan[i], TARGET_GINI_LE, 2.0, "<= 2 us/step");
	}
	/* Contention: the same steps on two workers against one (issue 15). */
	snprintf(what, sizeof(what), "fan-out, %zu no-op steps, per step: 2 workers", n);
	fan21 = bench_row(b, what, "us/step", "1 worker");
	row_target(fan21, TARGET_RATIO_LE, 1.2, "<= 1.2x");
	for (size_t i = 0; i < 3; i++) {
		snprintf(what, sizeof(what), "diamond 1->%zu->1, %u worker%s", width, workers[i],
		         workers[i] > 1 ? "s" : "");
		dia[i] = bench_row(b, what, "us/step", "direct call of run()");
	}
	if (cpu_workers >= 2) {
		snprintf(what, sizeof(what), "cpu-bound fan-out %zu x %s, speed-up %u vs 1 worker",
		         n_spin, b->smoke ? "100us" : "1ms", cpu_workers);
		cpu = bench_row(b, what, "x", "raw pthreads calling run()");
		row_target(cpu, TARGET_RATIO_GE, 0.9, ">= 0.9 of raw threads' speed-up");
	} else {
		bench_note(b, "cpu-bound fan-out speed-up", "skipped: one core");
	}

	for (unsigned rep = 0; rep < b->reps; rep++) {
		double floor_fan = time_direct(cf.p, min_usec / 4);
		double floor_dia = time_direct(cd.p, min_usec / 4);
		double cpu_wall[2] = { NAN, NAN };

		for (size_t i = 0; i < 3; i++) {
			struct executor *ex = executor_new(workers[i]);
			double t;

			if (!ex) {
				bench_fail(b, "cannot start the executor");
				goto out;
			}
			time_runs(b, ex, cf.p, 0, 1, NULL);
			t = time_runs(b, ex, cf.p, min_usec, 3, NULL);
			series_add(&fan[i]->gini, t);
			series_add(&fan[i]->base, floor_fan);
			if (workers[i] <= 2)
				series_add(workers[i] == 2 ? &fan21->gini : &fan21->base, t);
			series_add(&dia[i]->gini, time_runs(b, ex, cd.p, min_usec, 3, NULL));
			series_add(&dia[i]->base, floor_dia);
			executor_free(ex);
			if (b->error)
				goto out;
		}
		if (cpu) {
			for (size_t i = 0; i < 2; i++) {
				struct executor *ex = executor_new(i == 0 ? 1 : cpu_workers);

				if (!ex) {
					bench_fail(b, "cannot start the executor");
					goto out;
				}
				time_runs(b, ex, cc.p, 0, 1, &cpu_wall[i]);
				executor_free(ex);
			}
			series_add(&cpu->gini, cpu_wall[0] / cpu_wall[1]);
			time_raw_threads(cc.p, cpu_workers); /* warm-up, like the runs' */
			series_add(&cpu->base,
			           time_raw_threads(cc.p, 1) / time_raw_threads(cc.p, cpu_workers));
		}
		if (b->error)
			goto out;
	}
	r = 0;
out:
	compiled_done(&cf);
	compiled_done(&cd);
	compiled_done(&cc);
	env_done(&e);
	return r;
}

/* Case 8, spaced: gini, then the baseline, each ISO_GAP_MS after the last. */
#define ISO_GAP_MS 50

static void
time_spaced(struct bench *b, struct executor *ex, const struct pipeline *p, unsigned n,
            struct row *row)
{
	for (unsigned i = 0; i < n && !b->error; i++) {
		struct timespec gap = { 0, ISO_GAP_MS * 1000000L };

		nanosleep(&gap, NULL);
		series_add(&row->gini, time_runs(b, ex, p, 0, 1, NULL));
		nanosleep(&gap, NULL);
		series_add(&row->base, time_processes(b, true, 1));
	}
}

/*
 * Case 8: steps with isolation = "process", each run in a gini-worker of
 * its own (spawned, plugin loaded and checked, instance created, run,
 * result and context sent back, reaped), through the same executor.
 * Against posix_spawn+waitpid of /bin/true per step, the least a process
 * per step can cost, and against the same steps in-process. Back to back,
 * and one step ISO_GAP_MS after the last, as isolated steps usually come
 * (a cgroup left idle that long makes a move into it wait for an RCU grace
 * period; see bench/RESULTS.md). Then the same steps with worker_pool = 1:
 * after the first, every step is served by the one warm worker of the pool,
 * already spawned and idle (worker_max_runs high enough that none is
 * replaced while measured; a second row keeps the default of 100, one
 * spawn per 100 steps). Issue 15: <= 50 us/step warm; the cold spawn <=
 * 1.3x posix_spawn.
 */
int
case_isolated(struct bench *b)
{
	size_t n = bench_size(b, 2, 30, 100);
	double min_usec = (double)bench_size(b, 1000, 50000, 200000);
	struct compiled ci = { 0 }, cp = { 0 }, cw = { 0 }, cd = { 0 }, c1 = { 0 };
	struct row *spawn, *inproc, *warm, *warm100, *spaced;
	const char *asan = getenv("ASAN_OPTIONS");
	char *saved = asan ? strdup(asan) : NULL, *quiet = NULL;
	struct env e;
	char what[128];
	int r = -1;

	/*
	 * Under ASan, gini-worker's exit-time leak report (it returns from
	 * main without freeing its request) would fail every isolated step:
	 * that is for the isolation tests to catch. The workers started here
	 * inherit detect_leaks=0; this process keeps its own leak check, which
	 * read ASAN_OPTIONS at start-up.
	 */
	if (saved && asprintf(&quiet, "%s:detect_leaks=0", saved) >= 0)
		setenv("ASAN_OPTIONS", quiet, 1);
	if (env_init(b, &e) < 0 ||
	    compile_shape(&e, LINEAR, n, NULL, "isolation = \"process\";", &ci) < 0 ||
	    compile_shape(&e, LINEAR, n, NULL, NULL, &cp) < 0 ||
	    compile_shape(&e, LINEAR, n, NULL,
	                  "isolation = \"process\"; worker_pool = 1; worker_max_runs = 1000000;",
	                  &cw) < 0 ||
	    compile_shape(&e, LINEAR, n, NULL, "isolation = \"process\"; worker_pool = 1;", &cd) <
	            0 ||
	    compile_shape(&e, LINEAR, 1, NULL, "isolation = \"process\";", &c1) < 0)
		goto out;
	snprintf(what, sizeof(what), "linear, %zu isolated no-op steps, 1 worker", n);
	spawn = bench_row(b, what, "us/step", "posix_spawn+waitpid /bin/true");
	row_target(spawn, TARGET_RATIO_LE, 1.3, "<= 1.3x (cold spawn)");
	inproc = bench_row(b, what, "us/step", "the same steps in-process");
	snprintf(what, sizeof(what), "1 isolated no-op step, %d ms after the last", ISO_GAP_MS);
	spaced = bench_row(b, what, "us/step", "posix_spawn+waitpid /bin/true, as spaced");
	row_target(spaced, TARGET_RATIO_LE, 1.3, "<= 1.3x (cold spawn)");
	snprintf(what, sizeof(what), "linear, %zu isolated no-op steps, warm worker_pool = 1", n);
	warm = bench_row(b, what, "us/step", "the same steps in-process");
	row_target(warm, TARGET_GINI_LE, 50.0, "<= 50 us/step (warm)");
	snprintf(what, sizeof(what), "the same, worker_max_runs = 100 (a spawn per 100 steps)");
	warm100 = bench_row(b, what, "us/step", "the same steps in-process");

	for (unsigned rep = 0; rep < b->reps; rep++) {
		struct executor *ex = executor_new(1);
		double g, in;

		if (!ex) {
			bench_fail(b, "cannot start the executor");
			goto out;
		}
		time_runs(b, ex, ci.p, 0, 1, NULL);
		g = time_runs(b, ex, ci.p, min_usec, 1, NULL);
		in = time_runs(b, ex, cp.p, min_usec, 3, NULL);
		time_runs(b, ex, cw.p, 0, 1, NULL); /* spawns the pool's worker */
		series_add(&warm->gini, time_runs(b, ex, cw.p, min_usec, 1, NULL));
		series_add(&warm->base, in);
		isolate_pool_drain();
		series_add(&warm100->gini, time_runs(b, ex, cd.p, min_usec, 1, NULL));
		series_add(&warm100->base, in);
		isolate_pool_drain();
		time_spaced(b, ex, c1.p, (unsigned)bench_size(b, 1, 4, 10), spaced);
		executor_free(ex);
		if (b->error)
			goto out;
		series_add(&spawn->gini, g);
		series_add(&inproc->gini, g);
		series_add(&inproc->base, in);
		series_add(&spawn->base, time_processes(b, true, (unsigned)n));
		if (b->error)
			goto out;
	}
	r = 0;
out:
	compiled_done(&ci);
	compiled_done(&cp);
	compiled_done(&cw);
	compiled_done(&cd);
	compiled_done(&c1);
	env_done(&e);
	if (saved)
		setenv("ASAN_OPTIONS", saved, 1);
	free(saved);
	free(quiet);
	return r;
}
