/* SPDX-License-Identifier: MIT */
/*
 * The executor runs pipelines on a bounded pool of worker threads, and
 * decides which step of a run runs next.
 *
 * A run starts with its root steps on the shared queue. A worker that
 * finishes a step decrements the pending-predecessor count of each successor;
 * the successors that become ready are its to start: it continues straight
 * into one of them and queues the rest for idle workers, so a linear pipeline
 * never changes thread and a fan-out spreads at once. Per-step state lives in
 * arrays allocated once per run (executor_run.c), so the hot path allocates
 * nothing and takes no lock but the run's own (uncontended) one and, for
 * steps with a timeout, the watcher's.
 *
 * A step that becomes ready runs or not by its `when` and by what happened
 * before it: a "success" step is skipped when a step it depends on
 * (transitively) failed, and cancelled when the run stops after a failure;
 * a "failure" step runs only when one of those failed; an "always" step
 * runs in either case. A cancelled run starts nothing new. The attempts of
 * a step that runs are executor_step.c's.
 *
 * The watcher (executor_watch.c) fires the cancellation of attempts whose
 * deadline passed, and of runs whose pipeline timeout passed. A stage that
 * ignores it is reported as overrunning after a grace period, and a
 * replacement worker is started so the pool keeps its size; the stuck
 * worker retires when the stage finally returns. An in-process step still
 * running then is abandoned: the watcher ends it ("abandoned") and carries
 * its run on, so the run finishes and its pipeline can run again; the stuck
 * worker keeps a reference to the run (and, through the run's release hook,
 * its caller keeps the generation: code, instance and context stay valid)
 * and drops it, touching nothing else, if the stage ever returns.
 * executor_abandoned() counts such workers. A worker that crashes in stage
 * code is reported by executor_crash.c.
 *
 * Locks: the queue lock (ex->lock) and each run's lock are never held
 * together, nor the queue lock and the watcher's; the watcher's lock comes
 * before a run's (executor_watch.c). No plugin code runs under any of them.
 */
#include "executor.h"

#include "context.h"
#include "executor_crash.h"
#include "executor_step.h"
#include "executor_watch.h"
#include "thread_role.h"
#include "log.h"
#include "pipeline.h"
#include "registry.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NONE SIZE_MAX

struct task {
	struct run *run;
	size_t step;
};

struct executor {
	pthread_mutex_t lock; /* guards the queue, the thread list and surplus */
	pthread_cond_t cond;
	struct task *queue; /* ring buffer */
	size_t q_cap, q_head, q_len;
	/* Sum of the step counts of runs in flight: the queue is grown to this
	 * at submission, so pushing a step never allocates or fails. */
	size_t q_reserved;
	pthread_t *threads; /* every thread ever started, for joining */
	size_t n_threads;
	unsigned live;    /* threads not retired */
	unsigned surplus; /* workers to retire: replacements for overrunning ones */
	unsigned idle;
	unsigned want; /* workers to start with the first run */
	bool started;  /* the workers and the watcher run */
	bool stop;

	struct watcher *watcher;
	atomic_uint abandoned; /* workers stuck in an abandoned step */
};

static int spawn_worker_locked(struct executor *ex);
static void queue_push(struct executor *ex, struct run *r, const size_t *steps, size_t n);
static size_t step_finish(struct executor *ex, struct run *r, size_t i);

/*
 * Watcher thread: in-process step i of r still runs after its timeout and
 * the overrun grace; its worker is stuck in the stage. Ends the step
 * "abandoned" and carries the run on as the worker would have. The stuck
 * worker holds a reference to r (taken by the watcher) and touches nothing
 * of the run but that when, if ever, the stage returns.
 */
static void
abandon_step(struct executor *ex, struct run *r, size_t i, uint64_t now)
{
	const struct step *s = &r->pipeline->steps[i];
	struct step_result *res = &r->results[i];
	char d1[32], d2[32];
	char *m = NULL;
	size_t next;

	atomic_fetch_add(&ex->abandoned, 1);
	atomic_fetch_add(&r->abandoned, 1);
	pthread_mutex_lock(&r->lock);
	r->active[i] = NULL; /* the cancel lives on the stuck worker's stack */
	pthread_mutex_unlock(&r->lock);
	res->status = STEP_ABANDONED;
	res->overran = true;
	if (asprintf(&m,
	             "timed out after %s and still running %s later, ignoring cancellation: "
	             "abandoned (its worker thread is left behind until the stage returns)",
	             format_duration(s->timeout_usec, d1, sizeof(d1)),
	             format_duration(watcher_grace(ex->watcher), d2, sizeof(d2))) < 0)
		m = NULL;
	step_set_message(res, m);
	stage_type_account(s->type, now - res->start_usec, true, true);
	next = step_finish(ex, r, i);
	if (next != NONE)
		queue_push(ex, r, &next, 1);
}

static void
finish_run(struct run *r)
{
	const struct pipeline *p = r->pipeline;
	bool ok = true;

	for (size_t i = 0; i < p->n_steps; i++)
		if (!step_status_satisfied(r->results[i].status))
			ok = false;
	/* From here on the watcher does not touch the run. */
	if (r->deadline)
		watch_remove(r->ex->watcher, r->deadline);
	r->end_usec = now_usec(CLOCK_MONOTONIC);
	r->failed_step = atomic_load(&r->first_failure);
	pthread_mutex_lock(&r->ex->lock);
	r->ex->q_reserved -= p->n_steps;
	pthread_mutex_unlock(&r->ex->lock);
	if (atomic_load(&r->timed_out))
		r->status = RUN_TIMEOUT;
	else if (atomic_load(&r->cancelled))
		r->status = RUN_CANCELLED;
	else
		r->status = ok ? RUN_SUCCESS : RUN_FAILED;
	if (r->on_done)
		r->on_done(r, r->userdata);
}

/*
 * Step i failed (or timed out, or was abandoned): the first such step of
 * the run is the run's failed step, and failure and always steps find it
 * in the context. Under the run's lock, so that a step that runs after
 * any failure sees the first one's keys complete (the context's lock, a
 * leaf, nests inside).
 */
static void
note_failure(struct run *r, size_t i)
{
	const struct step_result *res = &r->results[i];

	pthread_mutex_lock(&r->lock);
	if (atomic_load(&r->first_failure) == NONE) {
		atomic_store(&r->first_failure, i);
		/* A context full to its limits goes without them. */
		(void)ctx_set(r->ctx, "gini.failed_step", r->pipeline->steps[i].id);
		(void)ctx_set(r->ctx, "gini.failure_message",
		              res->message ? res->message : step_status_to_string(res->status));
	}
	pthread_mutex_unlock(&r->lock);
}

/*
 * Runs (or skips) step i, then releases its successors. Returns one ready
 * successor for the calling worker to continue with, or NONE.
 */
static size_t
step_run(struct executor *ex, struct run *r, size_t i)
{
	const struct pipeline *p = r->pipeline;
	const struct step *s = &p->steps[i];
	struct step_result *res = &r->results[i];
	size_t cause = atomic_load(&r->cause[i]);

	/* A dry run visits every step: nothing fails in it. */
	enum step_when when = r->dry_run ? WHEN_ALWAYS : s->when;

	res->start_usec = now_usec(CLOCK_MONOTONIC);
	if (when == WHEN_SUCCESS && cause != NONE) {
		res->status = STEP_SKIPPED;
		if (asprintf(&res->message, "step '%s' failed", p->steps[cause].id) < 0)
			res->message = NULL;
	} else if (atomic_load(&r->stopping) &&
	           (when == WHEN_SUCCESS || atomic_load(&r->cancelled))) {
		/* Failure and always steps outlive a stop after a failure,
		 * which is what they are for, but not a cancellation. */
		res->status = STEP_CANCELLED;
		res->message = strdup(atomic_load(&r->timed_out)   ? "run timed out"
		                      : atomic_load(&r->cancelled) ? "run cancelled"
		                                                   : "not started: the run stopped "
		                                                     "after a failure");
	} else if (when == WHEN_FAILURE && cause == NONE) {
		res->status = STEP_SKIPPED;
		res->message = strdup("no step it runs after failed");
	} else if (!s->enabled) {
		res->status = STEP_SKIPPED;
		res->message = strdup("disabled");
	} else if (r->dry_run) {
		step_dry(r, i);
	} else {
		res->status = STEP_RUNNING;
		if (step_execute(ex->watcher, r, i)) {
			/* Abandoned: drop the reference the watcher took for us. */
			run_free(r);
			/* Last: until then this thread may still read the run and
			 * its pipeline, which the count keeps alive. */
			atomic_fetch_sub(&ex->abandoned, 1);
			return NONE;
		}
	}
	return step_finish(ex, r, i);
}

/* step_run(), with what the worker logs meanwhile tagged for the journal. */
static size_t
step_once(struct executor *ex, struct run *r, size_t i)
{
	const struct step *s = &r->pipeline->steps[i];
	const struct log_fields f = { .pipeline = r->pipeline->name,
		                      .run = r->id,
		                      .step = s->id,
		                      .stage = s->type ? s->type->id : s->stage_id,
		                      .generation = r->generation };
	const struct log_fields *old = log_set_fields(&f);
	size_t next = step_run(ex, r, i);

	log_set_fields(old);
	return next;
}

/*
 * The end of step i, on its worker (or on the watcher for an abandoned
 * step): records it and releases its successors. Returns one ready
 * successor for the caller to continue with, or NONE.
 */
static size_t
step_finish(struct executor *ex, struct run *r, size_t i)
{
	const struct pipeline *p = r->pipeline;
	const struct step *s = &p->steps[i];
	struct step_result *res = &r->results[i];
	size_t cause = atomic_load(&r->cause[i]), next = NONE, n_ready = 0;
	/* This step's own slice of the scratch: no allocation, no sharing. */
	size_t *ready = r->ready + s->succ_offset;
	bool failed;

	/* An executed step has its end from its last attempt: one clock
	 * read per step fewer on the dispatch path. */
	if (!res->end_usec)
		res->end_usec = now_usec(CLOCK_MONOTONIC);
	failed = res->status == STEP_FAILED || res->status == STEP_TIMED_OUT ||
	         res->status == STEP_ABANDONED;
	/* A dry run visits every step: a failed check stops nothing. */
	if (failed && r->dry_run) {
		size_t none = NONE;

		atomic_compare_exchange_strong(&r->first_failure, &none, i);
	} else if (failed) {
		note_failure(r, i);
		log_err("run %llu: pipeline '%s': step '%s': %s%s%s", (unsigned long long)r->id,
		        p->name, s->id, step_status_to_string(res->status),
		        res->message ? ": " : "", res->message ? res->message : "");
		if (p->on_failure == ON_FAILURE_STOP)
			atomic_store(&r->stopping, true);
		cause = i;
	}
	if (r->on_step)
		r->on_step(r, i, r->userdata);

	for (size_t k = 0; k < s->n_succ; k++) {
		size_t j = s->succ[k];

		if (cause != NONE) {
			size_t none = NONE;

			atomic_compare_exchange_strong(&r->cause[j], &none, cause);
		}
		if (atomic_fetch_sub_explicit(&r->pending[j], 1, memory_order_acq_rel) == 1)
			ready[n_ready++] = j;
	}
	if (n_ready > 0) {
		next = ready[0];
		if (n_ready > 1)
			queue_push(ex, r, ready + 1, n_ready - 1);
	}
	/* After this, the run may complete and be freed by another thread
	 * unless next (still counted in remaining) keeps it alive. */
	if (atomic_fetch_sub_explicit(&r->remaining, 1, memory_order_acq_rel) == 1)
		finish_run(r);
	return next;
}

/* Queue. */

static int
queue_grow_locked(struct executor *ex, size_t need)
{
	size_t cap = ex->q_cap ? ex->q_cap : 64;
	struct task *q;

	while (cap < need)
		cap *= 2;
	if (cap == ex->q_cap)
		return 0;
	q = malloc(cap * sizeof(*q));
	if (!q)
		return -ENOMEM;
	for (size_t k = 0; ex->q_cap && k < ex->q_len; k++)
		q[k] = ex->queue[(ex->q_head + k) % ex->q_cap];
	free(ex->queue);
	ex->queue = q;
	ex->q_cap = cap;
	ex->q_head = 0;
	return 0;
}

static void
queue_push(struct executor *ex, struct run *r, const size_t *steps, size_t n)
{
	bool wake;

	pthread_mutex_lock(&ex->lock);
	for (size_t k = 0; k < n; k++)
		ex->queue[(ex->q_head + ex->q_len++) % ex->q_cap] = (struct task){ r, steps[k] };
	wake = ex->idle > 0;
	pthread_mutex_unlock(&ex->lock);
	/* After unlocking, so the woken worker does not block on the lock
	 * we hold; an idle worker re-checks the queue under it anyway. */
	if (wake) {
		if (n == 1)
			pthread_cond_signal(&ex->cond);
		else
			pthread_cond_broadcast(&ex->cond);
	}
}

static void *
worker_main(void *arg)
{
	struct executor *ex = arg;
	struct crash_stack cs;

	thread_role("ginid-worker", false);
	crash_thread_init(&cs);
	pthread_mutex_lock(&ex->lock);
	for (;;) {
		struct task t;

		while (ex->q_len == 0 && !ex->stop) {
			ex->idle++;
			pthread_cond_wait(&ex->cond, &ex->lock);
			ex->idle--;
		}
		if (ex->q_len == 0)
			break;
		t = ex->queue[ex->q_head];
		ex->q_head = (ex->q_head + 1) % ex->q_cap;
		ex->q_len--;
		pthread_mutex_unlock(&ex->lock);
		for (size_t i = t.step; i != NONE;)
			i = step_once(ex, t.run, i);
		pthread_mutex_lock(&ex->lock);
		if (ex->surplus > 0) {
			/* A replacement took over while this one was stuck: retire. */
			ex->surplus--;
			ex->live--;
			break;
		}
	}
	pthread_mutex_unlock(&ex->lock);
	crash_thread_done(&cs);
	return NULL;
}

static int
spawn_worker_locked(struct executor *ex)
{
	pthread_t *v = realloc(ex->threads, (ex->n_threads + 1) * sizeof(*v));
	sigset_t all, old;
	int k;

	if (!v)
		return -ENOMEM;
	ex->threads = v;
	/* Workers never take signals: the main loop reads them. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	k = pthread_create(&v[ex->n_threads], NULL, worker_main, ex);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (k != 0)
		return -k;
	ex->n_threads++;
	ex->live++;
	return 0;
}

/* Watcher thread: a stage ignores its cancellation (executor_watch.h). */
static void
on_overrun(void *data, struct run *r, size_t step, bool abandon, uint64_t now)
{
	struct executor *ex = data;

	pthread_mutex_lock(&ex->lock);
	if (spawn_worker_locked(ex) >= 0)
		ex->surplus++;
	pthread_mutex_unlock(&ex->lock);
	if (abandon)
		abandon_step(ex, r, step, now);
}

struct executor *
executor_new(unsigned workers)
{
	struct executor *ex = calloc(1, sizeof(*ex));

	if (!ex)
		return NULL;
	pthread_mutex_init(&ex->lock, NULL);
	pthread_cond_init(&ex->cond, NULL);
	crash_handler_setup();
	ex->watcher = watcher_new(on_overrun, ex);
	if (!ex->watcher) {
		pthread_cond_destroy(&ex->cond);
		pthread_mutex_destroy(&ex->lock);
		free(ex);
		return NULL;
	}
	ex->want = MAX(workers, 1);
	return ex;
}

/*
 * The workers and the deadline watcher start with the first run, not with
 * the executor: no thread is created before READY=1, and a daemon that has
 * run nothing yet has none of them. Called under ex->lock. At least one
 * worker must start (a shortfall is logged); the watcher too.
 */
static int
start_threads_locked(struct executor *ex)
{
	int r = 0;

	if (ex->started)
		return 0;
	for (unsigned i = 0; i < ex->want; i++) {
		r = spawn_worker_locked(ex);
		if (r < 0)
			break;
	}
	if (ex->live == 0)
		return r < 0 ? r : -EAGAIN;
	if (ex->live < ex->want)
		log_warn_errno(r, "started %u of %u workers: %m", ex->live, ex->want);
	r = watcher_start(ex->watcher);
	if (r < 0)
		return r;
	ex->started = true;
	return 0;
}

struct executor *
executor_free(struct executor *ex)
{
	if (!ex)
		return NULL;
	pthread_mutex_lock(&ex->lock);
	ex->stop = true;
	pthread_cond_broadcast(&ex->cond);
	pthread_mutex_unlock(&ex->lock);
	/* New threads may still appear (replacements) until the watcher stops. */
	ex->watcher = watcher_free(ex->watcher);
	for (size_t i = 0; i < ex->n_threads; i++)
		pthread_join(ex->threads[i], NULL);
	free(ex->threads);
	free(ex->queue);
	pthread_cond_destroy(&ex->cond);
	pthread_mutex_destroy(&ex->lock);
	free(ex);
	return NULL;
}

void
executor_set_overrun_grace(struct executor *ex, uint64_t usec)
{
	watcher_set_grace(ex->watcher, usec);
}

unsigned
executor_abandoned(struct executor *ex)
{
	return atomic_load(&ex->abandoned);
}

unsigned
executor_threads(struct executor *ex)
{
	unsigned n;

	pthread_mutex_lock(&ex->lock);
	n = ex->started ? ex->live - ex->surplus : ex->want;
	pthread_mutex_unlock(&ex->lock);
	return n;
}

int
executor_submit(struct executor *ex, struct run *r)
{
	const struct pipeline *p = r->pipeline;
	size_t *roots, n = 0;
	int k;

	r->ex = ex;
	r->status = RUN_RUNNING;
	r->start_usec = now_usec(CLOCK_MONOTONIC);
	r->start_realtime_usec = (int64_t)now_usec(CLOCK_REALTIME);
	/* Before any worker sees the run: the queue's lock publishes it. */
	for (size_t i = 0; i < p->n_steps; i++)
		r->results[i].output.max = r->dry_run ? 0 : r->output_max;
	roots = malloc((p->n_steps + 1) * sizeof(*roots));
	if (!roots)
		return -ENOMEM;
	if (p->timeout_usec && p->n_steps > 0 && !r->deadline) {
		r->deadline = calloc(1, sizeof(*r->deadline));
		if (!r->deadline) {
			free(roots);
			return -ENOMEM;
		}
		r->deadline->run = r;
		r->deadline->due = r->start_usec + p->timeout_usec;
	}
	pthread_mutex_lock(&ex->lock);
	k = start_threads_locked(ex);
	if (k == 0 && queue_grow_locked(ex, ex->q_reserved + p->n_steps) < 0)
		k = -ENOMEM;
	if (k < 0) {
		pthread_mutex_unlock(&ex->lock);
		free(roots);
		return k;
	}
	ex->q_reserved += p->n_steps;
	pthread_mutex_unlock(&ex->lock);
	if (p->n_steps == 0) {
		free(roots);
		finish_run(r);
		return 0;
	}
	for (size_t i = 0; i < p->n_steps; i++)
		if (p->steps[i].n_pred == 0)
			roots[n++] = i;
	/* The pipeline's timeout cancels the run as `ginictl cancel` does. */
	if (r->deadline)
		watch_add(ex->watcher, r->deadline);
	queue_push(ex, r, roots, n);
	free(roots);
	return 0;
}
