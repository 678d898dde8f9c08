/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the files of the manager share among themselves, and nothing else
 * includes: the manager is one object on the loop thread, split by concern
 * into lifecycle (manager.c: start, signals, reload, shutdown), dispatch
 * (dispatch.c: runs, overlap policy, listeners) and what it reports
 * (manager_health.c: STATUS=, health, the history record of a run).
 */

#include "hashmap.h"
#include "history.h"
#include "loop.h"
#include "manager.h"

struct scheduler;
struct state_store;

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
	uint64_t runs[5];            /* finished runs by enum run_status (RUN_STATUS_COUNT) */
	char **queued_params;        /* of the pending run: key, value, ...; NULL-terminated */
	bool disabled;               /* `ginictl disable`: triggers are ignored */
	unsigned parked;             /* of running: waiting for the history (dispatch_park.c) */
	uint64_t switches;           /* enable/disable count kept in STATE_DIR; odd: disabled */
	uint64_t skipped;            /* triggers dropped by the overlap policy */
	uint64_t skipped_unlogged;
	uint64_t skip_logged_usec;
};

struct concurrency;

/* The manager: owned by its creator (ginid.c); loop thread only. */
struct manager {
	struct loop *loop;
	struct executor *ex;
	struct scheduler *sched;
	struct health *health;
	/* concurrency_groups: runs in flight, pipelines waiting for a slot. */
	struct concurrency *groups;
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
	/* Runs triggered before the history was read, in the order they came
	 * (dispatch_park.c); not in flight yet. */
	struct parked_run *parked, **parked_tail;
	size_t n_parked;

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
	bool history_synced;           /* the history is read (manager_health.c) */
};

/*
 * A run triggered while the history is still opening: its id must follow
 * the last recorded one, which is not known yet. It has been through its
 * overlap policy and holds its concurrency slot, and counts as running for
 * its pipeline (ps->running and ps->parked); it starts with the generation
 * it was triggered in. Owned by the manager's list; loop thread.
 */
struct parked_run {
	struct parked_run *next;
	struct generation *gen; /* reference */
	struct pipeline *p;     /* gen's */
	struct pstate *ps;      /* NULL: a dry run */
	char *trigger;
	char **params; /* key, value, ..., NULL; or NULL */
	bool dry;
	struct run_listener *listeners;
};

/* The state of pipeline name, made if new (NULL without memory). */
struct pstate *manager_pstate(struct manager *m, const char *name);

/* A step event on its way from a worker to the loop, for listeners. */
struct step_msg {
	struct loop_msg msg;
	struct active_run *ar;
	size_t step;
};

/* A run in flight (or a dry run). Owned by the manager's list, loop thread. */
struct active_run {
	struct active_run *next, *prev;
	struct manager *m;
	struct run *run;
	struct generation *gen; /* reference */
	struct pstate *ps;
	/* The concurrency group whose slot the run holds (its pipeline's,
	 * borrowed from gen), or NULL. */
	const char *group;
	struct loop_msg done_msg;
	struct run_listener *listeners;
	/* One per step, allocated when the run starts with listeners. A
	 * worker posts a step's message before it counts the step as done,
	 * so every step message reaches the loop before done_msg. */
	struct step_msg *step_msgs;
};

/* dispatch.c */

/* Ends the loop once stopping and no run is left in flight. */
void manager_maybe_exit(struct manager *m);
/* Tells listeners of a queued run that will never start. */
void manager_drop_queued_listeners(struct pstate *ps);
/* The same for a list of listeners (detached and emptied). */
void manager_drop_listeners(struct run_listener **list);
/*
 * Starts a run of p (of gen) now: what start_run() does once the history
 * is read. ps NULL for a dry run. On failure the listeners come back,
 * detached, in *ret_unstarted.
 */
int dispatch_launch(struct manager *m, struct generation *gen, struct pipeline *p,
                    struct pstate *ps, const char *trigger, bool dry, char *const *params,
                    struct run_listener *listeners, uint64_t *ret_run_id,
                    struct run_listener **ret_unstarted);
/* Fires p through its overlap policy (and concurrency group), with params
 * (owned: taken) and a listener l (may be NULL). */
enum trigger_outcome manager_fire(struct manager *m, struct pipeline *p, const char *trigger,
                                  char **params, struct run_listener *l, uint64_t *ret_run_id);
/* Starts the queued run of ps, or leaves it waiting for its group. */
void manager_start_queued(struct manager *m, struct pstate *ps);

/* dispatch_park.c */

/*
 * Parks a run until the history is read (struct parked_run): 1, or
 * -ENOMEM with the listeners back, detached, in *ret_unstarted. Takes a
 * copy of trigger and params.
 */
int dispatch_park(struct manager *m, struct pipeline *p, struct pstate *ps, const char *trigger,
                  bool dry, char *const *params, struct run_listener *listeners,
                  struct run_listener **ret_unstarted);
/* The history is read: starts the parked runs in the order they came. */
void dispatch_unpark(struct manager *m);
/* Stopping: drops the parked runs, telling their listeners, as queued ones. */
void dispatch_drop_parked(struct manager *m);

/* dispatch_flow.c */

/* Takes a slot of p's concurrency group, if it has one: false when full. */
bool dispatch_group_take(struct manager *m, const struct pipeline *p);
/* A slot of group came free: starts the queued runs that waited longest. */
void dispatch_group_waiters(struct manager *m, const char *group);
/*
 * on_failure_run: v (taken) is run_failure_params() of a run that failed:
 * fires the target with the failed run's id, pipeline and message.
 */
void dispatch_failure_run(struct manager *m, char **v);
/*
 * After a reload: a queued run that waited for a concurrency group may now
 * be in another group, in none, or under a higher limit; each one that its
 * own overlap lets start is tried again.
 */
void dispatch_start_waiting(struct manager *m);

/* manager_health.c */

/* The history store's limits in configuration c. */
struct history_limits manager_history_limits(const struct gini_config *c);
/* Sends STATUS=: the generation, counts and the health summary. */
void manager_update_status(struct manager *m);
/* history_pipeline_summaries() callback: seeds health (userdata) at start-up. */
void manager_seed_health(const struct history_summary *s, void *userdata);
/*
 * history_when_open() callback (userdata: m): run ids go on from the last
 * recorded one, health from the summaries, the parked runs start, and
 * STATUS= is updated.
 */
void manager_history_opened(void *userdata);

/*
 * manager_trigger(), with context (NULL, or key, value, ..., NULL) added to
 * the values the run's context starts with: how the scheduler's watch
 * trigger hands over gini.changed_paths. dispatch.c; loop thread.
 */
enum trigger_outcome manager_trigger_context(struct manager *m, const char *name, const char *why,
                                             const char *const *context, uint64_t *ret_run_id);
