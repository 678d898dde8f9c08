/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cancel;
struct run;
struct watcher;

/*
 * A deadline being watched: an attempt's (cancel set; lives on the stack
 * of the worker running it) or a whole run's (cancel NULL: the pipeline's
 * timeout, see run_expire()). Fields other than next and state are set
 * before watch_add() and read by the watcher under its lock.
 */
struct watch {
	struct watch *next;
	uint64_t due; /* the deadline, then the end of the overrun grace */
	struct cancel *cancel;
	const struct run *run;
	size_t step;
	bool fired;   /* the deadline passed: the attempt timed out */
	bool overran; /* still running after the grace period */
	bool inproc;  /* stage code on this worker: abandoned when it overruns */
	/* WATCH_RUNNING, then whoever gets there first: the worker (the stage
	 * returned) or the watcher (it abandoned the step). */
	atomic_int state;
};

enum { WATCH_RUNNING, WATCH_RETURNED, WATCH_ABANDONED };

/*
 * Watcher thread, no lock held: step of r ignored its cancellation past
 * the overrun grace. A replacement worker is due; with abandon, the step
 * is to be ended "abandoned" (the watcher took a reference to r for the
 * stuck worker, which drops it when the stage returns).
 */
typedef void (*watcher_overrun_fn)(void *data, struct run *r, size_t step, bool abandon,
                                   uint64_t now);

/* A watcher, its thread not started yet (watcher_start()). NULL on failure. */
struct watcher *watcher_new(watcher_overrun_fn on_overrun, void *data);
/* Starts its thread (every signal blocked), once: the executor does at its
 * first run, so an idle daemon has none. 0 or a negative errno. */
int watcher_start(struct watcher *wt);
/* Stops and joins the thread, if started; no callback runs afterwards. */
struct watcher *watcher_free(struct watcher *wt);
void watcher_set_grace(struct watcher *wt, uint64_t usec);
uint64_t watcher_grace(struct watcher *wt);
void watch_add(struct watcher *wt, struct watch *w);
/* Unlinks w; afterwards the watcher no longer touches it, its cancel or its run. */
void watch_remove(struct watcher *wt, struct watch *w);
