/* SPDX-License-Identifier: MIT */
/*
 * One run of a pipeline as an object: its ids, its per-step results and the
 * per-step state the executor schedules it with, allocated once when the
 * run is made so that the hot path allocates nothing; its reference count
 * (a worker stuck in an abandoned step holds one); and its cancellation,
 * which any thread may ask for. The executor (executor.c) moves a run
 * through its steps; this file knows nothing of threads or queues.
 */
#include "executor_run.h"

#include "context.h"
#include "pipeline.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE SIZE_MAX

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
		[RUN_RUNNING] = "running",     [RUN_SUCCESS] = "success", [RUN_FAILED] = "failed",
		[RUN_CANCELLED] = "cancelled", [RUN_TIMEOUT] = "timeout",
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
	free(r->deadline);
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

void
run_expire(struct run *r)
{
	/* A run the operator cancelled first stays "cancelled". */
	if (!atomic_load(&r->cancelled))
		atomic_store(&r->timed_out, true);
	run_cancel(r);
}

bool
step_status_satisfied(enum step_status s)
{
	return s == STEP_SUCCESS || s == STEP_SKIPPED;
}

char *
run_failure_message(const struct run *r)
{
	const struct pipeline *p = r->pipeline;
	char *msg = NULL, d[32];

	if (r->status == RUN_TIMEOUT) {
		if (asprintf(&msg, "the pipeline's timeout (%s) passed",
		             format_duration(p->timeout_usec, d, sizeof(d))) < 0)
			msg = NULL;
	} else if (r->failed_step != NONE) {
		const struct step_result *res = &r->results[r->failed_step];

		if (asprintf(&msg, "step '%s' %s%s%s", p->steps[r->failed_step].id,
		             step_status_to_string(res->status), res->message ? ": " : "",
		             res->message ? res->message : "") < 0)
			msg = NULL;
	} else {
		msg = strdup("failed");
	}
	return msg;
}

char **
run_failure_params(const struct run *r)
{
	const struct pipeline *p = r->pipeline;
	_cleanup_free_ char *msg = NULL;
	char id[32];
	char **v = NULL;
	size_t n = 0;

	if (!p->on_failure_run || (r->status != RUN_FAILED && r->status != RUN_TIMEOUT))
		return NULL;
	msg = run_failure_message(r);
	snprintf(id, sizeof(id), "%llu", (unsigned long long)r->id);
	if (!msg || strv_push(&v, &n, p->on_failure_run) < 0 ||
	    strv_push(&v, &n, "failed_run") < 0 || strv_push(&v, &n, id) < 0 ||
	    strv_push(&v, &n, "failed_pipeline") < 0 || strv_push(&v, &n, p->name) < 0 ||
	    strv_push(&v, &n, "failure_message") < 0 || strv_push(&v, &n, msg) < 0) {
		strv_free(v); /* NOLINT(clang-analyzer-unix.Malloc): _cleanup_free_ frees it */
		return NULL;
	}
	return v;
}
