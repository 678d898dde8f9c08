/* SPDX-License-Identifier: MIT */
/*
 * The executor runs pipelines on a bounded pool of worker threads.
 *
 * A run starts with its root steps on the shared queue. A worker that
 * finishes a step decrements the pending-predecessor count of each successor;
 * the successors that become ready are its to start: it continues straight
 * into one of them and queues the rest for idle workers, so a linear pipeline
 * never changes thread and a fan-out spreads at once. Per-step state lives in
 * arrays allocated once per run, so the hot path allocates nothing and takes
 * no lock but the run's own (uncontended) one and, for steps with a timeout,
 * the watcher's.
 *
 * The watcher thread fires the cancellation of attempts whose deadline
 * passed. A stage that ignores it is reported as overrunning after a grace
 * period, and a replacement worker is started so the pool keeps its size;
 * the stuck worker retires when the stage finally returns. An in-process
 * step still running then is abandoned: the watcher ends it ("abandoned")
 * and carries its run on, so the run finishes and its pipeline can run
 * again; the stuck worker keeps a reference to the run (and, through the
 * run's release hook, its caller keeps the generation: code, instance and
 * context stay valid) and drops it, touching nothing else, if the stage
 * ever returns. executor_abandoned() counts such workers.
 *
 * A worker that crashes in stage code takes the daemon down (a plugin may
 * have corrupted anything), but first says which step did it: each worker
 * keeps what it is running in thread-local crash_ctx, and a fault handler
 * on its own alternate stack writes one line from it with write(2) alone,
 * then re-raises the signal with the default action, so the exit status
 * and a core dump show the real signal. Under ASan and TSan, which install
 * their own fault handlers and report with a stack trace, it is not
 * installed.
 *
 * Locks: the queue lock (ex->lock), the watcher lock (ex->watch_lock) and
 * each run's lock are never held together, and no plugin code runs under any
 * of them.
 */
#include "executor.h"

#include "context.h"
#include "isolate.h"
#include "loader.h"
#include "log.h"
#include "params.h"
#include "pipeline.h"
#include "registry.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NONE        SIZE_MAX
#define BACKOFF_MAX USEC_PER_HOUR

struct task {
	struct run *run;
	size_t step;
};

/* A deadline being watched: lives on the stack of the worker running it. */
struct watch {
	struct watch *next;
	uint64_t due; /* the deadline, then the end of the overrun grace */
	struct cancel *cancel;
	const struct run *run;
	size_t step;
	bool fired;   /* the deadline passed: the attempt timed out */
	bool overran; /* still running after the grace period */
	bool inproc;  /* stage code on this worker: abandoned when it overruns */
	/* WATCH_RUNNING, then whoever gets there first: the worker (the stage
	 * returned) or the watcher (it abandoned the step). */
	atomic_int state;
};

enum { WATCH_RUNNING, WATCH_RETURNED, WATCH_ABANDONED };

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
	bool stop;

	pthread_mutex_t watch_lock; /* guards watches and watch_stop */
	pthread_cond_t watch_cond;
	struct watch *watches; /* sorted by due */
	pthread_t watcher;
	bool watch_stop;
	uint64_t overrun_grace;
	atomic_uint abandoned; /* workers stuck in an abandoned step */
};

/*
 * Crash context: what this worker thread is running, for the fault handler.
 * Borrowed strings of the run's generation, valid while the step runs;
 * stage NULL while no stage code runs here.
 */
struct crash_ctx {
	const char *callback, *stage, *plugin, *pipeline, *step;
	uint64_t run_id;
};

static __thread struct crash_ctx crash_ctx;

static void
crash_ctx_enter(const char *callback, const struct run *r, const struct step *s)
{
	crash_ctx.callback = callback;
	crash_ctx.plugin = s->type->path;
	crash_ctx.pipeline = r->pipeline->name;
	crash_ctx.step = s->id;
	crash_ctx.run_id = r->id;
	crash_ctx.stage = s->type->id;
	/* The handler runs on this thread: a compiler barrier is enough. */
	atomic_signal_fence(memory_order_seq_cst);
}

static void
crash_ctx_leave(void)
{
	atomic_signal_fence(memory_order_seq_cst);
	crash_ctx.stage = NULL;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CRASH_HANDLER 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CRASH_HANDLER 0
#endif
#endif
#ifndef CRASH_HANDLER
#define CRASH_HANDLER 1
#endif

static const int crash_signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };

/* Async-signal-safe appending: no stdio, no allocation. */
static size_t
crash_put(char *buf, size_t n, size_t size, const char *s)
{
	for (; s && *s && n + 1 < size; s++)
		buf[n++] = *s == '\n' ? ' ' : *s;
	return n;
}

static size_t
crash_put_u64(char *buf, size_t n, size_t size, uint64_t v)
{
	char d[24];
	size_t k = sizeof(d) - 1;

	d[k] = 0;
	do
		d[--k] = (char)('0' + v % 10);
	while ((v /= 10) && k > 0);
	return crash_put(buf, n, size, d + k);
}

static void
crash_handler(int sig, siginfo_t *si, void *uc)
{
	static const char *const names[] = {
		[SIGSEGV] = "SIGSEGV", [SIGBUS] = "SIGBUS",   [SIGILL] = "SIGILL",
		[SIGFPE] = "SIGFPE",   [SIGABRT] = "SIGABRT",
	};
	const struct crash_ctx *c = &crash_ctx;
	int saved = errno;

	(void)si;
	(void)uc;
	if (c->stage) {
		char buf[2048];
		size_t n = 0, size = sizeof(buf);

		/* Critical, for the journal; a terminal gets the bare line. */
		if (log_to_journal())
			n = crash_put(buf, n, size, "<2>");
		n = crash_put(buf, n, size, "run ");
		n = crash_put_u64(buf, n, size, c->run_id);
		n = crash_put(buf, n, size, ": pipeline '");
		n = crash_put(buf, n, size, c->pipeline);
		n = crash_put(buf, n, size, "': step '");
		n = crash_put(buf, n, size, c->step);
		n = crash_put(buf, n, size, "': stage '");
		n = crash_put(buf, n, size, c->stage);
		n = crash_put(buf, n, size, "' (plugin ");
		n = crash_put(buf, n, size, c->plugin);
		n = crash_put(buf, n, size, ") crashed the daemon with ");
		n = crash_put(buf, n, size,
		              sig < (int)(sizeof(names) / sizeof(names[0])) && names[sig]
		                      ? names[sig]
		                      : "a fatal signal");
		n = crash_put(buf, n, size, " in ");
		n = crash_put(buf, n, size, c->callback);
		n = crash_put(buf, n, size, "()");
		buf[n++] = '\n';
		(void)!write(STDERR_FILENO, buf, n);
	}
	/* SA_RESETHAND restored the default action: the signal, pending
	 * until we return (or the fault, repeated), ends the process. */
	(void)raise(sig);
	errno = saved;
}

static pthread_once_t crash_once = PTHREAD_ONCE_INIT;

static void
crash_handler_install(void)
{
	struct sigaction sa = { .sa_sigaction = crash_handler,
		                .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++)
		(void)sigaction(crash_signals[i], &sa, NULL);
}

static atomic_uint_fast64_t next_run_id = 1;

const char *
step_status_to_string(enum step_status s)
{
	static const char *const names[] = {
		[STEP_PENDING] = "pending",     [STEP_RUNNING] = "running",
		[STEP_SUCCESS] = "success",     [STEP_FAILED] = "failed",
		[STEP_SKIPPED] = "skipped",     [STEP_TIMED_OUT] = "timed-out",
		[STEP_CANCELLED] = "cancelled", [STEP_ABANDONED] = "abandoned",
	};

	return names[s];
}

const char *
run_status_to_string(enum run_status s)
{
	static const char *const names[] = {
		[RUN_RUNNING] = "running",
		[RUN_SUCCESS] = "success",
		[RUN_FAILED] = "failed",
		[RUN_CANCELLED] = "cancelled",
	};

	return names[s];
}

void
executor_set_next_run_id(uint64_t id)
{
	uint_fast64_t cur = atomic_load(&next_run_id);

	while (cur < id && !atomic_compare_exchange_weak(&next_run_id, &cur, id))
		;
}

struct run *
run_new(const struct pipeline *p, const char *trigger)
{
	struct run *r = calloc(1, sizeof(*r));
	size_t n = p->n_steps;

	if (!r)
		return NULL;
	r->id = atomic_fetch_add(&next_run_id, 1);
	r->pipeline = p;
	r->failed_step = NONE;
	r->trigger = strdup(trigger ? trigger : "manual");
	r->ctx = ctx_new();
	r->results = calloc(n + 1, sizeof(*r->results));
	/* Sized by executor_submit(), from r->output_max. */
	for (size_t i = 0; r->results && i < n; i++)
		output_init(&r->results[i].output, 0);
	r->pending = calloc(n + 1, sizeof(*r->pending));
	r->cause = calloc(n + 1, sizeof(*r->cause));
	r->active = calloc(n + 1, sizeof(*r->active));
	r->ready = calloc(p->n_edges + 1, sizeof(*r->ready));
	pthread_mutex_init(&r->lock, NULL);
	{
		pthread_condattr_t attr;

		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_init(&r->cond, &attr);
		pthread_condattr_destroy(&attr);
	}
	if (!r->trigger || !r->ctx || !r->results || !r->pending || !r->cause || !r->active ||
	    !r->ready)
		return run_free(r);
	for (size_t i = 0; i < n; i++) {
		atomic_init(&r->pending[i], p->steps[i].n_pred);
		atomic_init(&r->cause[i], NONE);
	}
	atomic_init(&r->remaining, n);
	atomic_init(&r->first_failure, NONE);
	atomic_init(&r->refs, 1);
	return r;
}

struct run *
run_free(struct run *r)
{
	void (*release)(void *);
	void *data;

	if (!r || atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) != 1)
		return NULL;
	release = r->on_release;
	data = r->release_data;
	for (size_t i = 0; r->results && i < r->pipeline->n_steps; i++) {
		free(r->results[i].message);
		output_done(&r->results[i].output);
	}
	free(r->results);
	free(r->pending);
	free(r->cause);
	free(r->active);
	free(r->ready);
	free(r->trigger);
	ctx_free(r->ctx);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
	/* Last: what it releases may own r->pipeline. */
	if (release)
		release(data);
	return NULL;
}

void
run_cancel(struct run *r)
{
	atomic_store(&r->cancelled, true);
	atomic_store(&r->stopping, true);
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->pipeline->n_steps; i++)
		if (r->active[i])
			cancel_fire(r->active[i]);
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* Watcher. */

static void
watch_add(struct executor *ex, struct watch *w)
{
	struct watch **pp;

	pthread_mutex_lock(&ex->watch_lock);
	for (pp = &ex->watches; *pp && (*pp)->due <= w->due; pp = &(*pp)->next)
		;
	w->next = *pp;
	*pp = w;
	if (ex->watches == w)
		pthread_cond_signal(&ex->watch_cond);
	pthread_mutex_unlock(&ex->watch_lock);
}

/* Unlinks w; afterwards the watcher no longer touches it or its cancel. */
static void
watch_remove(struct executor *ex, struct watch *w)
{
	pthread_mutex_lock(&ex->watch_lock);
	for (struct watch **pp = &ex->watches; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	pthread_mutex_unlock(&ex->watch_lock);
}

static int spawn_worker_locked(struct executor *ex);
static void abandon_step(struct executor *ex, struct run *r, size_t i, uint64_t now);
static void queue_push(struct executor *ex, struct run *r, const size_t *steps, size_t n);
static size_t step_finish(struct executor *ex, struct run *r, size_t i);

static void *
watcher_main(void *arg)
{
	struct executor *ex = arg;

	pthread_mutex_lock(&ex->watch_lock);
	while (!ex->watch_stop) {
		uint64_t now = now_usec(CLOCK_MONOTONIC);
		struct watch *w = ex->watches;

		if (!w) {
			pthread_cond_wait(&ex->watch_cond, &ex->watch_lock);
			continue;
		}
		if (w->due > now) {
			struct timespec ts = { .tv_sec = (time_t)(w->due / USEC_PER_SEC),
				               .tv_nsec = (long)(w->due % USEC_PER_SEC) * 1000 };

			pthread_cond_timedwait(&ex->watch_cond, &ex->watch_lock, &ts);
			continue;
		}
		ex->watches = w->next;
		if (!w->fired) {
			/* Deadline: cancel, and give the stage a grace period. */
			w->fired = true;
			cancel_fire(w->cancel);
			w->due = now + ex->overrun_grace;
			struct watch **pp;
			for (pp = &ex->watches; *pp && (*pp)->due <= w->due; pp = &(*pp)->next)
				;
			w->next = *pp;
			*pp = w;
		} else {
			/* Ignored the cancellation: say so, and keep the pool whole. */
			struct run *r = (struct run *)w->run;
			size_t step = w->step;
			bool abandon = false;

			w->overran = true;
			if (w->inproc) {
				int st = WATCH_RUNNING;

				/* The stuck worker's reference, dropped when it returns. */
				atomic_fetch_add(&r->refs, 1);
				abandon = atomic_compare_exchange_strong(&w->state, &st,
				                                         WATCH_ABANDONED);
				if (!abandon)
					atomic_fetch_sub(&r->refs, 1);
			}
			/* From here on w may be gone (its worker returned). */
			log_warn("run %llu: pipeline '%s': step '%s': still running %llums after "
			         "its timeout; the stage ignores cancellation (overrunning), "
			         "%sstarting a replacement worker",
			         (unsigned long long)r->id, r->pipeline->name,
			         r->pipeline->steps[step].id,
			         (unsigned long long)(ex->overrun_grace / USEC_PER_MSEC),
			         abandon ? "abandoning the step and its worker thread, " : "");
			pthread_mutex_unlock(&ex->watch_lock);
			pthread_mutex_lock(&ex->lock);
			if (spawn_worker_locked(ex) >= 0)
				ex->surplus++;
			pthread_mutex_unlock(&ex->lock);
			if (abandon)
				abandon_step(ex, r, step, now);
			pthread_mutex_lock(&ex->watch_lock);
		}
	}
	pthread_mutex_unlock(&ex->watch_lock);
	return NULL;
}

/* Steps. */

static bool
satisfied(enum step_status s)
{
	return s == STEP_SUCCESS || s == STEP_SKIPPED;
}

/* Waits out a retry back-off; false if the run was cancelled meanwhile. */
static bool
backoff(struct run *r, uint64_t usec)
{
	uint64_t until = now_usec(CLOCK_MONOTONIC) + usec;
	struct timespec ts = { .tv_sec = (time_t)(until / USEC_PER_SEC),
		               .tv_nsec = (long)(until % USEC_PER_SEC) * 1000 };
	bool ok;

	pthread_mutex_lock(&r->lock);
	while (!atomic_load(&r->cancelled) &&
	       pthread_cond_timedwait(&r->cond, &r->lock, &ts) != ETIMEDOUT)
		;
	ok = !atomic_load(&r->cancelled);
	pthread_mutex_unlock(&r->lock);
	return ok;
}

static void
set_message(struct step_result *res, char *msg)
{
	free(res->message);
	res->message = msg;
}

/*
 * How long an isolated step has between its cancellation and SIGKILL: 2 s,
 * or, for a step with a kill_grace param (exec's), that grace and 1 s more,
 * so the stage inside the worker can give its own children all of it.
 */
#define ISOLATE_KILL_GRACE  (2 * USEC_PER_SEC)
#define ISOLATE_KILL_MARGIN (1 * USEC_PER_SEC)

/*
 * One attempt of an isolated step, in a worker process. Returns a GINI_*
 * result with the message in h, as run() would; a worker that crashed or was
 * killed is a failure whose message says so.
 */
static int
run_isolated(struct run *r, const struct step *s, struct cancel *c, struct gini_handle *h)
{
	struct isolate_call call;
	struct isolate_result res;
	int rc;

	pipeline_isolate_call(r->pipeline, s, &call);
	call.run_id = r->id;
	call.ctx = r->ctx;
	call.cancel = c;
	call.kill_grace_usec = ISOLATE_KILL_GRACE;
	{
		uint64_t grace;

		/* The params are frozen: reading them changes nothing. */
		if (params_get_duration(call.params, "kill_grace", &grace) == 0 &&
		    grace + ISOLATE_KILL_MARGIN > call.kill_grace_usec)
			call.kill_grace_usec = grace + ISOLATE_KILL_MARGIN;
	}
	call.output = h->output;

	(void)isolate_run(&call, false, &res);
	free(h->message);
	if (res.end == ISOLATE_FINISHED) {
		rc = res.rc;
		h->message = steal_ptr(res.message);
	} else {
		rc = GINI_FAILURE;
		h->message = isolate_describe_end(&res);
		stage_type_account_isolation(s->type, res.end == ISOLATE_CRASHED,
		                             res.end == ISOLATE_KILLED);
	}
	isolate_result_done(&res);
	return rc;
}

/*
 * The message of a failed run() that returned rc, taking over msg (the one
 * the stage set, or NULL). A negative rc is an errno value, shown with
 * strerror() after the stage's own message; GINI_FAILURE keeps the message
 * as it is; any other value is shown as a number.
 */
static char *
failure_message(char *msg, int rc)
{
	char *m = NULL, buf[128];
	int k = -1;

	if (rc == GINI_FAILURE)
		return msg;
	/* -4095 is the largest errno value a Linux system call returns. */
	if (rc < 0 && rc >= -4095)
		k = asprintf(&m, "%s%s%s", msg ? msg : "", msg ? ": " : "",
		             strerror_r(-rc, buf, sizeof(buf)));
	else if (!msg)
		k = asprintf(&m, "stage returned %d", rc);
	if (k < 0)
		return msg;
	free(msg);
	return m;
}

/*
 * Runs the attempts of step i and fills its result. Returns true if the
 * step was abandoned meanwhile (see abandon_step()): then the watcher
 * finished it, and r, whose reference this thread held, may be gone.
 */
static bool
execute_step(struct executor *ex, struct run *r, size_t i)
{
	const struct step *s = &r->pipeline->steps[i];
	struct step_result *res = &r->results[i];
	const struct gini_stage_descriptor *d = s->type->desc;

	for (unsigned attempt = 1;; attempt++) {
		struct watch w = { .run = r,
			           .step = i,
			           .inproc = s->iso.mode != ISOLATION_PROCESS };
		struct gini_handle h;
		int st = WATCH_RUNNING;
		struct cancel c;
		uint64_t t0 = now_usec(CLOCK_MONOTONIC), t1;
		char *msg;
		int rc;

		res->attempts = attempt;
		cancel_init(&c, s->timeout_usec ? t0 + s->timeout_usec : 0);
		pthread_mutex_lock(&r->lock);
		r->active[i] = &c;
		if (atomic_load(&r->cancelled))
			cancel_fire(&c);
		pthread_mutex_unlock(&r->lock);
		if (s->timeout_usec) {
			w.due = c.deadline;
			w.cancel = &c;
			watch_add(ex, &w);
		}
		handle_init(&h);
		h.stage = s->type->id;
		h.pipeline = r->pipeline->name;
		h.step = s->id;
		h.run_id = r->id;
		h.ctx = r->ctx;
		h.cancel = &c;
		h.output = &res->output;
		if (s->iso.mode == ISOLATION_PROCESS) {
			rc = run_isolated(r, s, &c, &h);
		} else {
			if (s->serialise)
				pthread_mutex_lock((pthread_mutex_t *)&s->serial);
			crash_ctx_enter("run", r, s);
			rc = d->run(&host_services, &h, s->instance);
			crash_ctx_leave();
			if (s->serialise)
				pthread_mutex_unlock((pthread_mutex_t *)&s->serial);
		}
		/* Only a watched step can be abandoned: the others skip the CAS. */
		if (s->timeout_usec &&
		    !atomic_compare_exchange_strong(&w.state, &st, WATCH_RETURNED)) {
			/* Abandoned: the step is over, the run went on without us.
			 * Only our own things and our reference are left. */
			free(handle_steal_message(&h));
			handle_done(&h);
			cancel_done(&c);
			log_warn("run %llu: pipeline '%s': step '%s': the abandoned stage returned "
			         "at last; its worker retires",
			         (unsigned long long)r->id, r->pipeline->name, s->id);
			run_free(r);
			/* Last: until then this thread may still read the run and
			 * its pipeline, which the count keeps alive. */
			atomic_fetch_sub(&ex->abandoned, 1);
			return true;
		}
		t1 = now_usec(CLOCK_MONOTONIC);
		if (s->timeout_usec)
			watch_remove(ex, &w);
		pthread_mutex_lock(&r->lock);
		r->active[i] = NULL;
		pthread_mutex_unlock(&r->lock);
		msg = handle_steal_message(&h);
		handle_done(&h);
		if (w.overran) {
			res->overran = true;
			log_warn("run %llu: pipeline '%s': step '%s': returned %llums after its "
			         "timeout",
			         (unsigned long long)r->id, r->pipeline->name, s->id,
			         (unsigned long long)((t1 - c.deadline) / USEC_PER_MSEC));
		}
		if (w.fired) {
			char d1[32];
			char *m = NULL;

			res->status = STEP_TIMED_OUT;
			if (asprintf(&m, "timed out after %s%s%s",
			             format_duration(s->timeout_usec, d1, sizeof(d1)),
			             msg ? ": " : "", msg ? msg : "") < 0)
				m = NULL;
			free(msg);
			msg = m;
		} else if (cancel_fired(&c)) {
			res->status = STEP_CANCELLED;
		} else if (rc == GINI_SUCCESS) {
			res->status = STEP_SUCCESS;
		} else if (rc == GINI_SKIPPED) {
			res->status = STEP_SKIPPED;
		} else {
			res->status = STEP_FAILED;
			msg = failure_message(msg, rc);
		}
		cancel_done(&c);
		set_message(res, msg);
		stage_type_account(s->type, t1 - t0, !satisfied(res->status),
		                   res->status == STEP_TIMED_OUT);
		if ((res->status == STEP_FAILED || res->status == STEP_TIMED_OUT) &&
		    attempt <= s->retries && !atomic_load(&r->cancelled)) {
			uint64_t wait = s->retry_backoff_usec;
			char d1[32];

			for (unsigned k = 1; k < attempt && wait < BACKOFF_MAX; k++)
				wait *= 2;
			wait = MIN(wait, BACKOFF_MAX);
			log_info("run %llu: pipeline '%s': step '%s': attempt %u %s%s%s; retrying "
			         "in "
			         "%s",
			         (unsigned long long)r->id, r->pipeline->name, s->id, attempt,
			         step_status_to_string(res->status), res->message ? ": " : "",
			         res->message ? res->message : "",
			         format_duration(wait, d1, sizeof(d1)));
			if (backoff(r, wait))
				continue;
			res->status = STEP_CANCELLED;
		}
		break;
	}
	return false;
}

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
	             format_duration(ex->overrun_grace, d2, sizeof(d2))) < 0)
		m = NULL;
	set_message(res, m);
	stage_type_account(s->type, now - res->start_usec, true, true);
	next = step_finish(ex, r, i);
	if (next != NONE)
		queue_push(ex, r, &next, 1);
}

/* A dry run of step i: what it would do, and its health check. */
static void
dry_step(struct run *r, size_t i)
{
	const struct step *s = &r->pipeline->steps[i];
	const struct gini_stage_descriptor *d = s->type->desc;
	struct step_result *res = &r->results[i];
	_cleanup_free_ char *what = NULL, *health = NULL;
	/* An isolated step has no instance here, and its code never runs in
	 * the daemon, not even to describe or check it. */
	bool isolated = s->iso.mode == ISOLATION_PROCESS;
	int (*check)(const struct gini_host *, struct gini_handle *, void *) =
	        isolated ? NULL : d->check;
	struct gini_handle h;
	int rc = GINI_SUCCESS;

	handle_init(&h);
	h.stage = s->type->id;
	h.pipeline = r->pipeline->name;
	h.step = s->id;
	h.run_id = r->id;
	h.ctx = r->ctx;
	if (!isolated && (s->type->flags & GINI_STAGE_DRY_RUN) && d->describe) {
		crash_ctx_enter("describe", r, s);
		rc = d->describe(&host_services, &h, s->instance);
		crash_ctx_leave();
		if (rc >= 0)
			what = handle_steal_message(&h);
		rc = GINI_SUCCESS;
	}
	if (!what && asprintf(&what,
	                      isolated ? "would run stage '%s' in an isolated worker"
	                               : "would run stage '%s' (it cannot describe itself)",
	                      s->type->id) < 0)
		what = NULL;
	if (check) {
		free(handle_steal_message(&h));
		crash_ctx_enter("check", r, s);
		rc = check(&host_services, &h, s->instance);
		crash_ctx_leave();
		health = handle_steal_message(&h);
	}
	handle_done(&h);
	res->attempts = 1;
	res->status = check && rc != GINI_SUCCESS ? STEP_FAILED : STEP_SUCCESS;
	if (check) {
		if (asprintf(&res->message, "%s; check %s%s%s", what ? what : "",
		             rc == GINI_SUCCESS ? "ok" : "FAILED", health ? ": " : "",
		             health ? health : "") < 0)
			res->message = NULL;
	} else {
		res->message = steal_ptr(what);
	}
}

static void
finish_run(struct run *r)
{
	const struct pipeline *p = r->pipeline;
	bool ok = true;

	for (size_t i = 0; i < p->n_steps; i++)
		if (!satisfied(r->results[i].status))
			ok = false;
	r->end_usec = now_usec(CLOCK_MONOTONIC);
	r->failed_step = atomic_load(&r->first_failure);
	pthread_mutex_lock(&r->ex->lock);
	r->ex->q_reserved -= p->n_steps;
	pthread_mutex_unlock(&r->ex->lock);
	r->status = atomic_load(&r->cancelled) ? RUN_CANCELLED : ok ? RUN_SUCCESS : RUN_FAILED;
	if (r->on_done)
		r->on_done(r, r->userdata);
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

	res->start_usec = now_usec(CLOCK_MONOTONIC);
	if (cause != NONE) {
		res->status = STEP_SKIPPED;
		if (asprintf(&res->message, "step '%s' failed", p->steps[cause].id) < 0)
			res->message = NULL;
	} else if (atomic_load(&r->stopping)) {
		res->status = STEP_CANCELLED;
		res->message = strdup(atomic_load(&r->cancelled) ? "run cancelled"
		                                                 : "not started: the run stopped "
		                                                   "after a failure");
	} else if (!s->enabled) {
		res->status = STEP_SKIPPED;
		res->message = strdup("disabled");
	} else if (r->dry_run) {
		dry_step(r, i);
	} else {
		res->status = STEP_RUNNING;
		if (execute_step(ex, r, i))
			return NONE;
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

	res->end_usec = now_usec(CLOCK_MONOTONIC);
	failed = res->status == STEP_FAILED || res->status == STEP_TIMED_OUT ||
	         res->status == STEP_ABANDONED;
	/* A dry run visits every step: a failed check stops nothing. */
	if (failed && r->dry_run) {
		size_t none = NONE;

		atomic_compare_exchange_strong(&r->first_failure, &none, i);
	} else if (failed) {
		size_t none = NONE;

		atomic_compare_exchange_strong(&r->first_failure, &none, i);
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
	stack_t ss = { .ss_size = MAX((size_t)SIGSTKSZ, (size_t)65536) };
	sigset_t faults;

	/*
	 * The kernel delivers a fault that is blocked with the default action,
	 * bypassing the crash handler: unblock them here (they are
	 * synchronous, never the loop's). The handler runs on its own stack,
	 * so a stack overflow in a stage is reported too.
	 */
	if (CRASH_HANDLER) {
		ss.ss_sp = malloc(ss.ss_size);
		if (ss.ss_sp && sigaltstack(&ss, NULL) < 0) {
			free(ss.ss_sp);
			ss.ss_sp = NULL;
		}
		sigemptyset(&faults);
		for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++)
			sigaddset(&faults, crash_signals[i]);
		pthread_sigmask(SIG_UNBLOCK, &faults, NULL);
	}
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
	if (ss.ss_sp) {
		stack_t off = { .ss_flags = SS_DISABLE };

		(void)sigaltstack(&off, NULL);
		free(ss.ss_sp);
	}
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

struct executor *
executor_new(unsigned workers)
{
	struct executor *ex = calloc(1, sizeof(*ex));
	pthread_condattr_t attr;
	sigset_t all, old;
	int k;

	if (!ex)
		return NULL;
	pthread_mutex_init(&ex->lock, NULL);
	pthread_cond_init(&ex->cond, NULL);
	pthread_mutex_init(&ex->watch_lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&ex->watch_cond, &attr);
	pthread_condattr_destroy(&attr);
	ex->overrun_grace = 5 * USEC_PER_SEC;
	if (CRASH_HANDLER)
		pthread_once(&crash_once, crash_handler_install);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	k = pthread_create(&ex->watcher, NULL, watcher_main, ex);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (k != 0) {
		free(ex);
		return NULL;
	}
	pthread_mutex_lock(&ex->lock);
	for (unsigned i = 0; i < MAX(workers, 1); i++)
		if (spawn_worker_locked(ex) < 0)
			break;
	pthread_mutex_unlock(&ex->lock);
	if (ex->n_threads == 0)
		return executor_free(ex);
	return ex;
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
	pthread_mutex_lock(&ex->watch_lock);
	ex->watch_stop = true;
	pthread_cond_signal(&ex->watch_cond);
	pthread_mutex_unlock(&ex->watch_lock);
	pthread_join(ex->watcher, NULL);
	for (size_t i = 0; i < ex->n_threads; i++)
		pthread_join(ex->threads[i], NULL);
	free(ex->threads);
	free(ex->queue);
	pthread_cond_destroy(&ex->cond);
	pthread_mutex_destroy(&ex->lock);
	pthread_cond_destroy(&ex->watch_cond);
	pthread_mutex_destroy(&ex->watch_lock);
	free(ex);
	return NULL;
}

void
executor_set_overrun_grace(struct executor *ex, uint64_t usec)
{
	pthread_mutex_lock(&ex->watch_lock);
	ex->overrun_grace = usec;
	pthread_mutex_unlock(&ex->watch_lock);
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
	n = ex->live - ex->surplus;
	pthread_mutex_unlock(&ex->lock);
	return n;
}

int
executor_submit(struct executor *ex, struct run *r)
{
	const struct pipeline *p = r->pipeline;
	size_t *roots, n = 0;

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
	pthread_mutex_lock(&ex->lock);
	if (queue_grow_locked(ex, ex->q_reserved + p->n_steps) < 0) {
		pthread_mutex_unlock(&ex->lock);
		free(roots);
		return -ENOMEM;
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
	queue_push(ex, r, roots, n);
	free(roots);
	return 0;
}
