/* SPDX-License-Identifier: MIT */
/*
 * The deadline watcher: one thread that fires the cancellation of attempts
 * whose timeout passed, and of whole runs whose pipeline timeout passed.
 * A stage that ignores its cancellation is reported as overrunning after a
 * grace period, and the executor is told (a replacement worker, and for an
 * in-process step, abandoning it: see executor.c).
 *
 * Locks: wt->lock guards the list. A run's deadline is fired under it, so
 * that the run cannot end (its watch_remove() waits for the lock) while it
 * is being cancelled: the order is wt->lock, then the run's lock, then the
 * cancel's. No plugin code runs under any of them.
 */
#include "executor_watch.h"

#include "executor_run.h"
#include "log.h"
#include "pipeline.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

struct watcher {
	pthread_mutex_t lock; /* guards watches, stop and grace */
	pthread_cond_t cond;
	struct watch *watches; /* sorted by due */
	pthread_t thread;
	bool started; /* the thread runs: watcher_start() */
	bool stop;
	uint64_t grace;
	watcher_overrun_fn on_overrun;
	void *data;
};

static void
insert_locked(struct watcher *wt, struct watch *w)
{
	struct watch **pp;

	for (pp = &wt->watches; *pp && (*pp)->due <= w->due; pp = &(*pp)->next)
		;
	w->next = *pp;
	*pp = w;
}

void
watch_add(struct watcher *wt, struct watch *w)
{
	pthread_mutex_lock(&wt->lock);
	insert_locked(wt, w);
	if (wt->watches == w)
		pthread_cond_signal(&wt->cond);
	pthread_mutex_unlock(&wt->lock);
}

void
watch_remove(struct watcher *wt, struct watch *w)
{
	pthread_mutex_lock(&wt->lock);
	for (struct watch **pp = &wt->watches; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	pthread_mutex_unlock(&wt->lock);
}

static void *
watcher_main(void *arg)
{
	struct watcher *wt = arg;

	pthread_mutex_lock(&wt->lock);
	while (!wt->stop) {
		uint64_t now = now_usec(CLOCK_MONOTONIC);
		struct watch *w = wt->watches;

		if (!w) {
			pthread_cond_wait(&wt->cond, &wt->lock);
			continue;
		}
		if (w->due > now) {
			struct timespec ts = { .tv_sec = (time_t)(w->due / USEC_PER_SEC),
				               .tv_nsec = (long)(w->due % USEC_PER_SEC) * 1000 };

			pthread_cond_timedwait(&wt->cond, &wt->lock, &ts);
			continue;
		}
		wt->watches = w->next;
		if (!w->cancel) {
			/* A whole run's deadline: it is cancelled, once. */
			w->fired = true;
			run_expire((struct run *)w->run);
		} else if (!w->fired) {
			/* Deadline: cancel, and give the stage a grace period. */
			w->fired = true;
			cancel_fire(w->cancel);
			w->due = now + wt->grace;
			insert_locked(wt, w);
		} else {
			/* Ignored the cancellation: say so, and keep the pool whole. */
			struct run *r = (struct run *)w->run;
			size_t step = w->step;
			bool abandon = false;

			w->overran = true;
			if (w->inproc) {
				int st = WATCH_RUNNING;

				/* The stuck worker's reference, dropped when it returns. */
				atomic_fetch_add(&r->refs, 1);
				abandon = atomic_compare_exchange_strong(&w->state, &st,
				                                         WATCH_ABANDONED);
				if (!abandon)
					atomic_fetch_sub(&r->refs, 1);
			}
			/* From here on w may be gone (its worker returned). */
			log_warn("run %llu: pipeline '%s': step '%s': still running %llums after "
			         "its timeout; the stage ignores cancellation (overrunning), "
			         "%sstarting a replacement worker",
			         (unsigned long long)r->id, r->pipeline->name,
			         r->pipeline->steps[step].id,
			         (unsigned long long)(wt->grace / USEC_PER_MSEC),
			         abandon ? "abandoning the step and its worker thread, " : "");
			pthread_mutex_unlock(&wt->lock);
			wt->on_overrun(wt->data, r, step, abandon, now);
			pthread_mutex_lock(&wt->lock);
		}
	}
	pthread_mutex_unlock(&wt->lock);
	return NULL;
}

struct watcher *
watcher_new(watcher_overrun_fn on_overrun, void *data)
{
	struct watcher *wt = calloc(1, sizeof(*wt));
	pthread_condattr_t attr;

	if (!wt)
		return NULL;
	pthread_mutex_init(&wt->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&wt->cond, &attr);
	pthread_condattr_destroy(&attr);
	wt->grace = 5 * USEC_PER_SEC;
	wt->on_overrun = on_overrun;
	wt->data = data;
	return wt;
}

int
watcher_start(struct watcher *wt)
{
	sigset_t all, old;
	int k;

	if (wt->started)
		return 0;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	k = pthread_create(&wt->thread, NULL, watcher_main, wt);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (k != 0)
		return -k;
	wt->started = true;
	return 0;
}

struct watcher *
watcher_free(struct watcher *wt)
{
	if (!wt)
		return NULL;
	pthread_mutex_lock(&wt->lock);
	wt->stop = true;
	pthread_cond_signal(&wt->cond);
	pthread_mutex_unlock(&wt->lock);
	if (wt->started)
		pthread_join(wt->thread, NULL);
	pthread_cond_destroy(&wt->cond);
	pthread_mutex_destroy(&wt->lock);
	free(wt);
	return NULL;
}

void
watcher_set_grace(struct watcher *wt, uint64_t usec)
{
	pthread_mutex_lock(&wt->lock);
	wt->grace = usec;
	pthread_mutex_unlock(&wt->lock);
}

uint64_t
watcher_grace(struct watcher *wt)
{
	uint64_t g;

	pthread_mutex_lock(&wt->lock);
	g = wt->grace;
	pthread_mutex_unlock(&wt->lock);
	return g;
}
