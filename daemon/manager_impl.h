/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the files of the manager share among themselves, and nothing else
 * includes: the manager is one object on the loop thread, split by concern
 * into lifecycle (manager.c: start, signals, reload, shutdown), dispatch
 * (dispatch.c: runs, overlap policy, listeners) and what it reports
 * (manager_health.c: STATUS=, health, the history record of a run).
 */

#include "history.h"
#include "manager.h"

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

/* manager_health.c */

/* The history store's limits in configuration c. */
struct history_limits manager_history_limits(const struct gini_config *c);
/* Sends STATUS=: the generation, counts and the health summary. */
void manager_update_status(struct manager *m);
/* history_pipeline_summaries() callback: seeds health (userdata) at start-up. */
void manager_seed_health(const struct history_summary *s, void *userdata);
/* GET on the metrics endpoint (http.c), on the loop thread. */
int manager_http_get(const char *path, char **ret_body, const char **ret_type, void *userdata);
