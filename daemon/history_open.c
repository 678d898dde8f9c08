/* SPDX-License-Identifier: MIT */
/*
 * Waiting for the run history's database to open (history.h). history.c
 * opens it on the writer thread after READY=1; the loop thread never waits
 * for that: it is told when the open ended (history_when_open(), which also
 * arms the timer that gives up on an open that takes too long), and asks in
 * passing whether it still goes on (history_opening()). Other threads (the
 * reader, tests, tools without a loop) wait, bounded (history_wait_open()).
 * An open that finds the database locked by another process waits here
 * for the lock (history_open_busy()), as long as nobody gave up on it.
 * Lock order: h->lock, then the loop's (loop_post()), as in history.c.
 */
#include "history_internal.h"

#include "log.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/*
 * While the database opens, another process may hold a lock on it (an
 * sqlite3 shell, a backup, a copy of ginid on the same directory): the open
 * waits for it, trying again every HISTORY_OPEN_RETRY_USEC, until it stops
 * (history_free()), the loop gives up on it (history_when_open()'s timer,
 * which wakes it) or open_deadline passes. SQLite's busy handler of the
 * write connection during the open; history_open()'s thread.
 */
int
history_open_busy(void *data, int count)
{
	struct history *h = data;
	uint64_t until = now_usec(CLOCK_REALTIME) + HISTORY_OPEN_RETRY_USEC;
	struct timespec ts = { .tv_sec = (time_t)(until / USEC_PER_SEC),
		               .tv_nsec = (long)(until % USEC_PER_SEC) * 1000 };
	bool again;

	(void)count;
	if (now_usec(CLOCK_MONOTONIC) >= h->open_deadline)
		return 0;
	pthread_mutex_lock(&h->lock);
	if (!h->stop && !h->gave_up)
		(void)pthread_cond_timedwait(&h->wake, &h->lock, &ts);
	again = !h->stop && !h->gave_up;
	pthread_mutex_unlock(&h->lock);
	return again;
}

/*
 * Loop thread: the open ended, or took too long (on_open_timeout()). Calls
 * on_open once, whichever came first.
 */
void
history_report_open(void *data)
{
	struct history *h = data;

	if (h->open_reported)
		return;
	h->open_reported = true;
	h->open_timer = sd_event_source_disable_unref(h->open_timer);
	h->on_open(h->on_open_data);
}

/* The open took too long: the history is off for good. h->lock held. */
static void
give_up_locked(struct history *h)
{
	if (h->open_done || h->gave_up)
		return;
	h->gave_up = true;
	log_err("history: %s took more than %llu s to open; run history is disabled", h->path,
	        (unsigned long long)(HISTORY_OPEN_WAIT_USEC / USEC_PER_SEC));
	pthread_cond_broadcast(&h->opened);
	/* An open waiting for a lock (history_open_busy()) stops waiting. */
	pthread_cond_signal(&h->wake);
}

/* Usable: open, and neither disabled nor given up on. h->lock held. */
static bool
usable_locked(const struct history *h)
{
	return h->open_done && !h->gave_up && !h->disabled;
}

bool
history_wait_open(struct history *h)
{
	uint64_t until = now_usec(CLOCK_REALTIME) + HISTORY_OPEN_WAIT_USEC;
	struct timespec ts = { .tv_sec = (time_t)(until / USEC_PER_SEC),
		               .tv_nsec = (long)(until % USEC_PER_SEC) * 1000 };
	bool ok;

	if (!h)
		return false;
	pthread_mutex_lock(&h->lock);
	/* With a loop, its timer gives up (history_when_open()), and the
	 * manager hears of it before a waiting reader answers. */
	while (!h->open_done && !h->gave_up && !h->stop)
		if (pthread_cond_timedwait(&h->opened, &h->lock, &ts) == ETIMEDOUT && !h->loop)
			give_up_locked(h);
	ok = usable_locked(h);
	pthread_mutex_unlock(&h->lock);
	return ok;
}

/* Loop thread: HISTORY_OPEN_WAIT_USEC passed and the open goes on. */
static int
on_open_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct history *h = userdata;

	(void)s;
	(void)usec;
	pthread_mutex_lock(&h->lock);
	give_up_locked(h);
	pthread_mutex_unlock(&h->lock);
	history_report_open(h);
	return 0;
}

void
history_when_open(struct history *h, void (*fn)(void *userdata), void *userdata)
{
	bool now;
	int r;

	pthread_mutex_lock(&h->lock);
	h->on_open = fn;
	h->on_open_data = userdata;
	now = h->open_done || h->gave_up;
	pthread_mutex_unlock(&h->lock);
	if (now) {
		loop_post(h->loop, &h->open_msg, history_report_open, h);
		return;
	}
	/* Nobody waits for the open: this timer is what gives up on it. An
	 * open that waits for a lock gives up by itself a little before. */
	r = sd_event_add_time_relative(h->loop->e, &h->open_timer, CLOCK_MONOTONIC,
	                               HISTORY_OPEN_WAIT_USEC + USEC_PER_SEC, USEC_PER_SEC / 10,
	                               on_open_timeout, h);
	if (r < 0)
		log_warn("history: cannot arm a timer for its opening: %s; runs wait until it "
		         "ends, ignoring",
		         strerror(-r));
}

bool
history_opening(struct history *h)
{
	bool r;

	if (!h)
		return false;
	pthread_mutex_lock(&h->lock);
	r = !h->open_done && !h->gave_up;
	pthread_mutex_unlock(&h->lock);
	return r;
}
