/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>
#include <time.h>

struct manager;
struct generation;
struct scheduler;

/* Trigger sources on the loop: signals, intervals, cron schedules. */
int scheduler_new(struct manager *m, sd_event *e, struct scheduler **ret);
struct scheduler *scheduler_free(struct scheduler *s);
/*
 * Makes the triggers match generation g: new pipelines get theirs, removed
 * ones lose theirs, unchanged intervals keep their phase. Loop thread.
 */
void scheduler_apply(struct scheduler *s, struct generation *g, bool starting);
/* Fires the start-up triggers: on_start, and persistent schedules missed
 * while the daemon was down. Once, after READY. */
void scheduler_start(struct scheduler *s, struct generation *g);
/* Disables every trigger (shutdown). */
void scheduler_stop(struct scheduler *s);
/* Next and last fire of a pipeline's timers, for status; 0 if none. */
int64_t scheduler_next_fire_usec(struct scheduler *s, const char *name);
