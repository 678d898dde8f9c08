/* SPDX-License-Identifier: MIT */
#pragma once

#include <gini/stage.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct run_ctx;
struct output;

/*
 * Cancellation of one step attempt. Fired at most once, from any thread (the
 * timeout watcher, a stopping run, shutdown); read by the stage through the
 * host table. The eventfd behind cancel_fd() is made only when a stage asks.
 */
struct cancel {
	atomic_bool fired;
	uint64_t deadline;    /* CLOCK_MONOTONIC µs, 0: none; immutable */
	pthread_mutex_t lock; /* guards efd and the sleepers' wait */
	pthread_cond_t cond;
	int efd;
	bool efd_lent; /* efd is cancel_lend_fd()'s, not ours to close */
};

void cancel_init(struct cancel *c, uint64_t deadline);
void cancel_done(struct cancel *c);
void cancel_fire(struct cancel *c);
/* An eventfd that becomes readable when c fires (made on first use), or -errno. */
int cancel_get_fd(struct cancel *c);
/*
 * Lends c the eventfd fd (borrowed, non-blocking, unread) to be the one
 * cancel_get_fd() returns, unless c has one already: a waiter on many
 * cancels in turn keeps one descriptor instead of making one per cancel.
 * Written at once if c fired. Returns c's eventfd now. Before cancel_done(),
 * cancel_return_fd() takes it back; after it, fd holds a count to read if
 * and only if c fired (and may hold one even then).
 */
int cancel_lend_fd(struct cancel *c, int fd);
void cancel_return_fd(struct cancel *c);
static inline bool
cancel_fired(struct cancel *c)
{
	return c && atomic_load_explicit(&c->fired, memory_order_acquire);
}

/*
 * What the host knows about the call in progress. Owned by the caller of the
 * plugin callback (usually on its stack) and handed to the plugin as the
 * opaque struct gini_handle. Fields other than message and the log counter
 * are set before the call and not changed during it.
 */
struct gini_handle {
	const char *plugin;   /* plugin file, for load/unload */
	const char *stage;    /* stage id */
	const char *pipeline; /* NULL outside a pipeline */
	const char *step;
	uint64_t run_id;       /* 0: not in a run */
	struct run_ctx *ctx;   /* borrowed; NULL outside run()/describe() */
	struct cancel *cancel; /* borrowed; NULL: never cancelled */
	char *message;         /* owned; set_message() */
	struct output *output; /* borrowed; NULL: log lines are not kept */
	unsigned log_lines;    /* for the flood limit */
};

#define HOST_LOG_LINES_MAX 1000

void handle_init(struct gini_handle *h);
void handle_done(struct gini_handle *h);
/* Takes the message out of the handle (caller frees). */
char *handle_steal_message(struct gini_handle *h);
/* "pipeline 'p': step 's': " or "plugin PATH: " into buf. */
const char *handle_tag(const struct gini_handle *h, char *buf, size_t size);

/* The table handed to every plugin callback. */
extern const struct gini_host host_services;
