/* SPDX-License-Identifier: MIT */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host.h"
#include "output.h"

struct pipeline;
struct run_ctx;
struct executor;
struct watch;

enum step_status {
	STEP_PENDING,
	STEP_RUNNING,
	STEP_SUCCESS,
	STEP_FAILED,
	STEP_SKIPPED,
	STEP_TIMED_OUT,
	STEP_CANCELLED,
	/* Ran in-process past its timeout and the overrun grace, ignoring
	 * cancellation: ended without it, its worker thread left behind. */
	STEP_ABANDONED,
};

enum run_status {
	RUN_RUNNING,
	RUN_SUCCESS,
	RUN_FAILED,
	RUN_CANCELLED,
	/* Cancelled by its pipeline's timeout: counts as a failure. */
	RUN_TIMEOUT,
};

#define RUN_STATUS_COUNT (RUN_TIMEOUT + 1)

const char *step_status_to_string(enum step_status s);
const char *run_status_to_string(enum run_status s);
/* Whether a step that ended so lets its dependents run: success or skipped. */
bool step_status_satisfied(enum step_status s);

/*
 * The outcome of one step in one run. Written only by the worker that runs
 * (or skips) the step; readable by anyone once the run is done, and by the
 * on_step callback for the step it reports.
 */
struct step_result {
	enum step_status status;
	char *message;       /* owned, may be NULL */
	unsigned attempts;   /* 0: never started */
	uint64_t start_usec; /* CLOCK_MONOTONIC, 0: never started */
	uint64_t end_usec;
	bool overran; /* kept running past its timeout */
	/* What the step logged (output.h); capture is off when run->output_max
	 * is 0. Initialised by run_new(), locked on its own. */
	struct output output;
};

struct run;
/* Called on a worker thread right after a step finished (or was skipped). */
typedef void (*run_step_fn)(struct run *r, size_t step, void *userdata);
/* Called on a worker thread once every step finished; the run may be freed
 * from here on (typically by the thread this callback wakes). */
typedef void (*run_done_fn)(struct run *r, void *userdata);

/*
 * One execution of a pipeline. Created by the caller, handed to the executor
 * with executor_submit(), and freed by the caller after on_done. The pipeline
 * is borrowed: the caller keeps it (its generation) alive until then.
 */
struct run {
	uint64_t id;
	const struct pipeline *pipeline;
	struct run_ctx *ctx;         /* owned */
	char *trigger;               /* owned: "signal SIGUSR1", "schedule", "manual", ... */
	struct step_result *results; /* one per step */
	enum run_status status;      /* set before on_done */
	uint64_t start_usec;         /* CLOCK_MONOTONIC */
	uint64_t end_usec;
	int64_t start_realtime_usec;
	uint64_t generation; /* of the pipeline, for the journal's fields; 0: unknown */
	size_t failed_step;  /* the first step that failed, or SIZE_MAX */
	/*
	 * A dry run: each step's describe() (when its stage has
	 * GINI_STAGE_DRY_RUN) and check() run on the workers instead of run();
	 * nothing is executed, every step is visited, and a step "fails" only
	 * when its health check does. Set before executor_submit().
	 */
	bool dry_run;
	/* Bytes of output kept per step (output.h), 0: none. Set before
	 * executor_submit(). */
	size_t output_max;

	run_step_fn on_step;
	run_done_fn on_done;
	void *userdata;
	/*
	 * Called by whoever frees the run (the last run_free()), after it is
	 * freed: normally the caller's own run_free(), but a worker stuck in
	 * an abandoned step holds a reference of its own, and may drop it
	 * much later, on its thread. What the stage code needs (the pipeline,
	 * its generation) must live until then: release it here. May be NULL.
	 */
	void (*on_release)(void *data);
	void *release_data;
	atomic_uint abandoned; /* steps abandoned (see STEP_ABANDONED) */
	atomic_uint refs;      /* run_new() gives one; see on_release */

	/* Executor state. */
	struct executor *ex;
	atomic_size_t *pending;  /* per step: predecessors not yet finished */
	atomic_size_t *cause;    /* per step: failed predecessor, or SIZE_MAX */
	size_t *ready;           /* per edge: scratch for releasing successors */
	atomic_size_t remaining; /* steps not yet finished */
	atomic_size_t first_failure;
	atomic_bool stopping;   /* start no new step */
	atomic_bool cancelled;  /* run_cancel() was called */
	atomic_bool timed_out;  /* by run_expire(): its pipeline's timeout */
	struct watch *deadline; /* the pipeline's timeout, watched; owned; or NULL */
	/* Guards active[] and the retry back-off wait. Leaf lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct cancel **active; /* per step: the attempt in flight, or NULL */
};

/*
 * Run ids continue from id (the history's next one), unless that would
 * reuse one given out already. Before the first run_new().
 */
void executor_set_next_run_id(uint64_t id);
/* A run of p, not yet submitted; NULL on ENOMEM. */
struct run *run_new(const struct pipeline *p, const char *trigger);
/* Drops a reference: the caller's, or an abandoned worker's (see on_release). */
struct run *run_free(struct run *r);
/*
 * Cancels a submitted run: running steps are told to stop (and end
 * "cancelled"), nothing new starts. Any thread; idempotent.
 */
void run_cancel(struct run *r);
/* The run's pipeline timeout passed: run_cancel(), and the run ends
 * RUN_TIMEOUT. Any thread. */
void run_expire(struct run *r);
/*
 * What went wrong in a run that ended failed or timeout: "step 'x' failed:
 * MESSAGE", "the pipeline's timeout (1h) passed". Allocated; NULL without
 * memory.
 */
char *run_failure_message(const struct run *r);
/*
 * For on_failure_run: when r failed or timed out and its pipeline names
 * one, a NULL-terminated list: the pipeline to run, then its params
 * "failed_run", the run id, "failed_pipeline", r's pipeline,
 * "failure_message", what went wrong. Else (or without memory) NULL.
 */
char **run_failure_params(const struct run *r);
