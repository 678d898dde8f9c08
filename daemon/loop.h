/* SPDX-License-Identifier: MIT */
#pragma once

#include <pthread.h>
#include <signal.h>
#include <systemd/sd-event.h>

/*
 * A message posted to the main loop from any thread. Intrusive: it lives in
 * the object it concerns (a run), so posting never allocates and cannot
 * fail. fn runs on the loop thread.
 */
struct loop_msg {
	struct loop_msg *next;
	void (*fn)(void *data);
	void *data;
};

/*
 * The main thread's event loop: sd-event for signals, timers, sockets and
 * the watchdog, plus a queue that worker threads post to (an eventfd wakes
 * the loop). Only the loop thread touches e.
 */
struct loop {
	sd_event *e;
	int efd;
	sd_event_source *efd_src;
	pthread_mutex_t lock; /* guards head and tail */
	struct loop_msg *head;
	struct loop_msg **tail;
};

int loop_new(struct loop **ret);
struct loop *loop_free(struct loop *l);
/* Thread-safe. The message must stay valid until fn has run. */
void loop_post(struct loop *l, struct loop_msg *msg, void (*fn)(void *data), void *data);

/*
 * Watches the signals of mask (blocked in every thread, as all are in
 * ginid) through one signalfd of their own, calling fn for each one
 * received; *ret is the source, freed with sd_event_source_disable_unref(),
 * which closes the signalfd. One system call for any number of signals,
 * where sd_event_add_signal() rewrites sd-event's signalfd mask once for
 * each (34 calls for the scheduler's signals, 0.15-0.29 ms of start-up).
 */
int loop_add_signals(sd_event *e, sd_event_source **ret, const sigset_t *mask,
                     void (*fn)(int sig, void *userdata), void *userdata);
