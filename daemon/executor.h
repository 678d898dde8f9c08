/* SPDX-License-Identifier: MIT */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "executor_run.h"

/*
 * Workers and the timeout watcher. Signals stay blocked in all of them.
 * Their threads start with the first executor_submit(), not here.
 */
struct executor *executor_new(unsigned workers);
/*
 * Stops and joins every thread. All submitted runs must have completed
 * (cancel them and wait for on_done first).
 */
struct executor *executor_free(struct executor *ex);
/* How long a stage may ignore cancellation before it is reported as
 * overrunning and its worker replaced (default 5 s). */
void executor_set_overrun_grace(struct executor *ex, uint64_t usec);
/* Queues r; starts the threads first if none runs yet. 0 or a negative
 * errno (-EAGAIN: not one worker could be started). */
int executor_submit(struct executor *ex, struct run *r);
/* The workers: those running, or before the first run those to start. */
unsigned executor_threads(struct executor *ex);
/*
 * Worker threads stuck in an abandoned step (their stage ignored its
 * cancellation past the overrun grace). They cannot be joined:
 * executor_free() must not be called while this is not 0.
 */
unsigned executor_abandoned(struct executor *ex);
