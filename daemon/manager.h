/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "executor.h"

#include <systemd/sd-event.h>

struct generation;
struct manager;
struct diags;
struct active_run;
struct history;
struct health;
struct pstate;
struct parked_run;

/*
 * Follows one run for someone on the loop thread (a `ginictl run --wait`
 * client). Owned by that someone, who fills the callbacks and must call
 * manager_detach() if it goes away before on_done.
 */
struct run_listener {
	struct run_listener *next;
	/* A step finished (or was skipped). */
	void (*on_step)(struct run_listener *l, const struct run *r, size_t step);
	/* The run finished; the listener is detached before this is called. */
	void (*on_done)(struct run_listener *l, const struct run *r);
	/* The run started (may be NULL): it has its id now. Called when the
	 * run is on its way; the listener may detach itself. */
	void (*on_start)(struct run_listener *l, const struct run *r);
	/* Manager-owned: where the listener is attached. */
	struct active_run *ar;
	struct pstate *queued_on;
	struct parked_run *parked_on;
};

/* What the manager counts of the daemon (manager_counters()). */
struct manager_counters {
	int64_t started_usec; /* CLOCK_REALTIME of the start */
	size_t in_flight;     /* runs in flight, dry runs included */
	uint64_t reloads_ok, reloads_failed;
	unsigned workers, workers_abandoned;
};

/* The outcome of the last reload (manager_reload_status()). */
struct manager_reload_status {
	int64_t usec; /* CLOCK_REALTIME; 0: never reloaded */
	bool ok;
	char *const *errors; /* of a refused one (borrowed, until the next reload) */
	size_t n_errors;
};

/*
 * What the manager keeps of a pipeline by name, across reloads (a copy):
 * its runs in flight, a queued run, the last start and result, counters.
 */
struct pipeline_stats {
	unsigned running;
	bool queued;
	bool disabled;
	int64_t last_fire_usec; /* CLOCK_REALTIME of the last start, 0: never */
	uint64_t last_run_id;
	enum run_status last_status; /* RUN_RUNNING: no run finished yet */
	uint64_t runs[5];            /* finished runs by enum run_status (RUN_STATUS_COUNT) */
	uint64_t skipped;            /* triggers dropped by the overlap policy */
};

/*
 * Builds the first generation; every configuration problem goes to diags
 * and makes this fail with -EINVAL.
 */
int manager_new(const char *config_file, const struct config_overrides *ov, struct manager **ret,
                struct diags *diags);
/*
 * Starts the loop, the workers, the history and signal handling; then the
 * caller opens what serves the manager (the control socket, the HTTP
 * endpoint) on manager_event(), and calls manager_ready().
 */
int manager_start(struct manager *m);
/* Starts the triggers and tells systemd READY=1. */
int manager_ready(struct manager *m);
/* Runs the loop until shutdown; returns the exit code. */
int manager_run(struct manager *m);
/*
 * True when the daemon exits without unloading (stage code is still
 * running on a worker): then nothing that the runs may use is freed.
 */
bool manager_abandoned(struct manager *m);
struct manager *manager_free(struct manager *m);

/* Outcome of manager_trigger(). */
enum trigger_outcome {
	TRIGGER_STARTED,
	TRIGGER_QUEUED,
	TRIGGER_SKIPPED, /* overlap policy */
	TRIGGER_UNKNOWN, /* no such pipeline */
	TRIGGER_STOPPING,
	TRIGGER_FAILED,   /* out of memory */
	TRIGGER_DISABLED, /* `ginictl disable`d, and not forced */
	TRIGGER_REFUSED,  /* bad params: the reason is in err */
	TRIGGER_PARKED,   /* starts once the run history is read (no id yet): on_start */
};

/* What a manual run asks for besides its pipeline. */
struct run_request {
	const char *const *params; /* n_params pairs: key, value, key, value, ... */
	size_t n_params;
	bool force; /* run a disabled pipeline */
	char *err;  /* the reason of TRIGGER_REFUSED goes here */
	size_t err_size;
};

/*
 * Fires pipeline name through its overlap policy, with its params' defaults,
 * unless it is disabled. trigger describes the cause for logs and history
 * ("signal SIGUSR1", "schedule", "ginictl"). *ret_run_id (may be NULL)
 * gets the id of a started run. Loop thread.
 */
enum trigger_outcome manager_trigger(struct manager *m, const char *name, const char *trigger,
                                     uint64_t *ret_run_id);
/*
 * A manual run: the same with req's params (checked before anything
 * starts: TRIGGER_REFUSED) and a listener attached to the started (or
 * queued, or parked) run; on TRIGGER_SKIPPED and worse it is not attached.
 * A run that finds one queued joins it only if their params are the same.
 * req may be NULL (no params, not forced). Until manager_history_ready(),
 * a run that gets through its policy is parked (TRIGGER_PARKED): it starts
 * once the history is read, and l->on_start tells when.
 */
enum trigger_outcome manager_trigger_listen(struct manager *m, const char *name,
                                            const char *trigger, const struct run_request *req,
                                            struct run_listener *l, uint64_t *ret_run_id);
/*
 * Cancels run run_id (the executor's run_cancel()): 0, or -ENOENT when no
 * such run is in flight. Loop thread.
 */
int manager_cancel(struct manager *m, uint64_t run_id);
/*
 * Enables or disables pipeline name, kept across restarts and reloads in
 * STATE_DIR. 0 (also when nothing changed), -ENOENT (no such pipeline in
 * the current generation), -ENOMEM. Loop thread.
 */
int manager_set_enabled(struct manager *m, const char *name, bool enabled);
bool manager_disabled(struct manager *m, const char *name);
void manager_detach(struct manager *m, struct run_listener *l);
/*
 * Starts a dry run of pipeline name (executor.h): outside the overlap
 * policy, history and counters, since it executes nothing, and whether
 * the pipeline is disabled or not. -ENOENT, -ESHUTDOWN, -EINVAL (bad
 * params, the reason in req->err), -ENOMEM (the listener is then not
 * attached).
 */
int manager_dry_run(struct manager *m, const char *name, const char *trigger,
                    const struct run_request *req, struct run_listener *l, uint64_t *ret_run_id);
/* Re-reads everything and swaps the new generation in if it is valid;
 * errors go to diags and leave the running one untouched. */
int manager_reload(struct manager *m, struct diags *diags);
/*
 * The history record of r (history.h): at its start (no steps, "running")
 * or once it ended (steps in execution order, with their output), encoded
 * with the names of its steps from h's cache (h may be NULL). For
 * history_record(); NULL without memory. The thread that owns r.
 */
struct history_run *manager_run_record(struct history *h, const struct run *r, uint64_t generation,
                                       bool ended);
/* The run in flight with this id (not a dry run), or NULL. Loop thread. */
const struct run *manager_find_run(struct manager *m, uint64_t id);
/*
 * The health report of health.h, now (a new reference), or NULL. Its
 * "history" says whether the run history is "open", "disabled" or still
 * "opening": then the report knows nothing of the runs before this start.
 */
json_t *manager_health(struct manager *m);
/*
 * True once the run history is read (or known unusable): run ids follow
 * the last recorded one and health knows the runs before this start. Until
 * then runs wait (TRIGGER_PARKED). Loop thread; never waits. It turns true
 * in a loop callback of its own, before any history_submit() answer that
 * waited for the open.
 */
bool manager_history_ready(struct manager *m);

/* The read API. Loop thread; what is returned is borrowed, valid until the
 * next reload (generation) or for the manager's life (the rest). */
struct generation *manager_generation(struct manager *m);
sd_event *manager_event(struct manager *m);
struct history *manager_history(struct manager *m);
struct health *manager_health_records(struct manager *m);
bool manager_stopping(struct manager *m);
void manager_counters(struct manager *m, struct manager_counters *ret);
void manager_reload_status(struct manager *m, struct manager_reload_status *ret);
/*
 * What the manager keeps of pipeline name; false (and *ret zeroed, its
 * last_status RUN_RUNNING) when it has nothing yet.
 */
bool manager_pipeline_stats(struct manager *m, const char *name, struct pipeline_stats *ret);
/* The next time a schedule or every fires pipeline name (CLOCK_REALTIME), 0: none. */
int64_t manager_next_fire_usec(struct manager *m, const char *name);
