/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "executor.h"
#include "hashmap.h"
#include "loop.h"

struct generation;
struct scheduler;
struct control;
struct diags;
struct state_store;
struct active_run;
struct history;
struct health;
struct http;

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
	/* Manager-owned: where the listener is attached. */
	struct active_run *ar;
	struct pstate *queued_on;
};

/*
 * What the daemon remembers of a pipeline by name, across reloads: its runs
 * in flight (for the overlap policy), a queued trigger, the last fire and
 * result, and counters. Owned by the manager; loop thread only.
 */
struct pstate {
	char *name;
	unsigned running;
	char *queued; /* trigger of the one pending run (overlap = queue), or NULL */
	struct run_listener *queued_listeners;
	int64_t last_fire_usec; /* CLOCK_REALTIME of the last start, 0: never */
	uint64_t last_run_id;
	enum run_status last_status; /* RUN_RUNNING: no run finished yet */
	uint64_t runs[4];            /* finished runs by enum run_status */
	char **queued_params;        /* of the pending run: key, value, ...; NULL-terminated */
	bool disabled;               /* `ginictl disable`: triggers are ignored */
	uint64_t switches;           /* enable/disable count kept in STATE_DIR; odd: disabled */
	uint64_t skipped;            /* triggers dropped by the overlap policy */
	uint64_t skipped_unlogged;
	uint64_t skip_logged_usec;
};

struct manager {
	struct loop *loop;
	struct executor *ex;
	struct scheduler *sched;
	struct control *ctl;
	struct health *health;
	struct http *http; /* metrics_listen, or NULL */
	struct generation *current;
	uint64_t generations; /* number of the last generation built */
	char *config_file;
	struct config_overrides ov;
	char **ov_plugin_dirs;
	char *ov_control_socket;
	char *ov_state_dir;

	struct hashmap pstates; /* name -> struct pstate */
	struct active_run *runs;
	size_t in_flight;

	struct history *history; /* history.db; never NULL once started */

	int64_t started_realtime_usec;
	int64_t last_reload_usec; /* 0: never reloaded */
	bool last_reload_ok;
	char **last_reload_errors;
	size_t n_last_reload_errors;
	uint64_t reloads_ok, reloads_failed;

	struct state_store *switches; /* STATE_DIR/enabled; NULL: not kept (logged) */

	bool stopping;
	bool abandon; /* exit without unloading: stage code still running */
	bool killed;  /* shutdown_timeout passed: every step process was killed */
	int exit_code;
	sd_event_source *sig_hup, *sig_term, *sig_int, *sig_chld, *shutdown_timer;
	sd_event_source *health_timer; /* refreshes STATUS= when max_age expires */
	char *health_status;           /* the health summary in STATUS=, or NULL */
	bool health_stale;             /* recompute it: a run ended, a reload, a max_age */
};

/*
 * Builds the first generation; every configuration problem goes to diags
 * and makes this fail with -EINVAL.
 */
int manager_new(const char *config_file, const struct config_overrides *ov, struct manager **ret,
                struct diags *diags);
/* Starts workers, triggers and signal handling, and tells systemd READY=1. */
int manager_start(struct manager *m);
/* Runs the loop until shutdown; returns the exit code. */
int manager_run(struct manager *m);
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
 * queued) run; on TRIGGER_SKIPPED and worse it is not attached. A run that
 * finds one queued joins it only if their params are the same. req may be
 * NULL (no params, not forced).
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
struct pstate *manager_pstate(struct manager *m, const char *name);
/*
 * The history record of r (history.h): at its start (no steps, "running")
 * or once it ended (steps in execution order, with their output). For
 * history_record(); NULL without memory. The thread that owns r.
 */
struct history_run *manager_run_record(const struct run *r, uint64_t generation, bool ended);
/* The run in flight with this id (not a dry run), or NULL. Loop thread. */
const struct run *manager_find_run(struct manager *m, uint64_t id);
/* The health report of health.h, now (a new reference), or NULL. */
json_t *manager_health(struct manager *m);
