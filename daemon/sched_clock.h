/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>
#include <time.h>

/* A one-shot timer of a sched_clock; opaque, owned by whoever created it. */
struct sched_timer;

/*
 * The time source of the scheduler: "now" on the wall clock and on the
 * monotonic clock, one-shot timers on either, and a notice when the wall
 * clock is set. The daemon uses sched_clock_event() (sd-event); the tests
 * replace it with a clock they move by hand, so nothing sleeps. Every call
 * happens on the loop thread.
 */
struct sched_clock {
	/* Now on clock (CLOCK_REALTIME or CLOCK_MONOTONIC), in microseconds. */
	uint64_t (*now)(void *userdata, clockid_t clock);
	/* A disarmed timer on clock that calls cb(data) once each time it is due. */
	int (*timer_new)(void *userdata, clockid_t clock, void (*cb)(void *data), void *data,
	                 struct sched_timer **ret);
	/* Arms t at usec (absolute, on t's clock); UINT64_MAX disarms it. */
	void (*timer_set)(struct sched_timer *t, uint64_t usec);
	/* Disarms and frees t. Accepts NULL; returns NULL. */
	struct sched_timer *(*timer_free)(struct sched_timer *t);
	/*
	 * Calls cb(data) whenever the wall clock is set (not when it merely
	 * advances). Optional (NULL: never). 0 or -errno.
	 */
	int (*watch_set)(void *userdata, void (*cb)(void *data), void *data);
	/* Undoes watch_set. Optional. */
	void (*unwatch_set)(void *userdata);
	void *userdata;
};

/*
 * The clock of the daemon: timers are sd-event time sources of e, and the
 * wall clock is watched with a timerfd (TFD_TIMER_CANCEL_ON_SET). The state
 * behind it is allocated; free it with sched_clock_event_free().
 */
int sched_clock_event_new(sd_event *e, struct sched_clock *ret);
void sched_clock_event_free(struct sched_clock *c);
