/* SPDX-License-Identifier: MIT */
/*
 * One step of one run on the worker that runs it: its attempts (in the
 * daemon or in an isolated worker process), each under its deadline, with
 * retries and their back-off, and the result the attempts come to; or, for
 * a dry run, what the step would do and its health check. The executor
 * (executor.c) decides whether the step runs and what happens after it.
 */
#include "executor_step.h"

#include "executor_crash.h"
#include "executor_run.h"
#include "executor_watch.h"
#include "isolate.h"
#include "loader.h"
#include "log.h"
#include "params.h"
#include "pipeline.h"
#include "registry.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKOFF_MAX USEC_PER_HOUR

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

void
step_set_message(struct step_result *res, char *msg)
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

/* See executor_step.h; abandoning is explained in executor.c. */
bool
step_execute(struct watcher *wt, struct run *r, size_t i)
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
		/* The first attempt starts when the step does (step_run()). */
		uint64_t t0 = attempt == 1 ? res->start_usec : now_usec(CLOCK_MONOTONIC), t1;
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
			watch_add(wt, &w);
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
			return true;
		}
		t1 = now_usec(CLOCK_MONOTONIC);
		/* The step ends with its last attempt, unless a backoff follows. */
		res->end_usec = t1;
		if (s->timeout_usec)
			watch_remove(wt, &w);
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
		step_set_message(res, msg);
		stage_type_account(s->type, t1 - t0, !step_status_satisfied(res->status),
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
			res->end_usec = 0; /* it ends now, after the backoff */
		}
		break;
	}
	return false;
}

void
step_dry(struct run *r, size_t i)
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
