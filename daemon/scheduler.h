/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "triggers.h"

struct pipeline;
struct sched_clock;
struct scheduler;

/* What the scheduler needs from its owner; it knows nothing else of it. */
struct scheduler_config {
	sd_event *e; /* the loop: signal sources, and the timers unless clock is set */
	/* NULL: the event loop's clock (sched_clock.h); tests bring their own. Borrowed. */
	const struct sched_clock *clock;
	const char *state_dir; /* where persistent schedules keep their last fire */
	/* For fixed_random_delay; NULL: /etc/machine-id. */
	const char *machine_id;
	/*
	 * Fires pipeline name; trigger says why ("signal SIGUSR1", "schedule",
	 * "every 5m", "start", "watch"). context is NULL, or key, value, ...,
	 * NULL: values the run's context starts with ("gini.changed_paths").
	 * Loop thread.
	 */
	void (*fire)(void *userdata, const char *name, const char *trigger,
	             const char *const *context);
	void *userdata;
};

/* Trigger sources on the loop: signals, intervals, cron schedules. */
int scheduler_new(const struct scheduler_config *cfg, struct scheduler **ret);
struct scheduler *scheduler_free(struct scheduler *s);
/*
 * Makes the triggers match the n pipelines of a generation, which the
 * caller keeps alive until the next call: new pipelines get theirs, removed
 * ones lose theirs, unchanged intervals keep their phase. Loop thread.
 */
void scheduler_apply(struct scheduler *s, struct pipeline *const *pipelines, size_t n,
                     bool starting);
/* Fires the start-up triggers: on_start, and persistent schedules missed
 * while the daemon was down. Once, after READY, with what was applied last. */
void scheduler_start(struct scheduler *s);
/*
 * A run of pipeline name ended (AFTER_SUCCESS, AFTER_FAILURE, or AFTER_ANY
 * for a cancelled run): fires the pipelines waiting for that. Loop thread.
 */
void scheduler_run_ended(struct scheduler *s, const char *name, enum after_result result);
/* Disables every trigger (shutdown). */
void scheduler_stop(struct scheduler *s);
/* Next fire of a pipeline's timers (CLOCK_REALTIME usec), for status; 0 if none. */
int64_t scheduler_next_fire_usec(struct scheduler *s, const char *name);
