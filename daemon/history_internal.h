/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Private to the run history (history.c, history_writer.c,
 * history_reader.c, history_codec.c): the state they share. history.c opens the
 * database and owns the struct; the writer thread (history_writer.c) and
 * the reader thread (history_reader.c) run on it.
 */

#include "history.h"
#include "util.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

/* A names section of history_codec.c's encoding, kept for its pipeline. */
struct history_names {
	const void *key; /* the pipeline; compared, never dereferenced */
	uint64_t generation;
	size_t n;
	char *data; /* NULL: a free slot */
	size_t len;
};

#define HISTORY_NAMES_CACHED 16

/* Steps buffers kept for the next records, and the largest kept (16 bytes
 * a step: 16,000 steps), so that they hold 2 MiB at most. */
#define HISTORY_SPARES        8
#define HISTORY_SPARE_MAX_CAP ((size_t)256 << 10)

/* A steps buffer of a run already written (history_run_recycle()). */
struct history_spare {
	char *data; /* NULL: a free slot */
	size_t cap;
};

/*
 * How long a run's start record may wait for its end before the writer
 * writes its "running" row (kill -9 then leaves it "interrupted"): runs
 * shorter than this are written once, at their end, and their start costs
 * the loop no wake-up of the writer.
 */
#define HISTORY_START_DELAY_USEC ((int64_t)USEC_PER_SEC)

/* How long the first one to need the database waits for it to open. */
#define HISTORY_OPEN_WAIT_USEC (15 * USEC_PER_SEC)
/* How often an open that finds the database locked tries again. */
#define HISTORY_OPEN_RETRY_USEC (20 * USEC_PER_MSEC)

struct history {
	struct loop *loop; /* NULL: no reader thread, and opened in history_new() */
	pthread_t reader;
	bool have_reader;
	char *path;
	/* Filled by history_open(), fixed once open_done is set (below). */
	char *disabled; /* reason, or NULL */
	uint64_t next_id;
	sqlite3 *wdb;                      /* writer thread's */
	sqlite3 *rdb;                      /* the reader's */
	struct history_summary *summaries; /* their pipeline strings owned */
	size_t n_summaries;
	pthread_t thread;
	bool have_thread;
	/* history_open()'s thread: without a loop, when a locked database is
	 * given up on (CLOCK_MONOTONIC). */
	uint64_t open_deadline;
	/* Loop thread only: history_when_open()'s timer, and whether on_open
	 * was called (by the open's message or by the timer, whichever came
	 * first). */
	sd_event_source *open_timer;
	bool open_reported;

	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t opened;
	void (*on_open)(void *userdata); /* history_when_open() */
	void *on_open_data;
	struct loop_msg open_msg;
	pthread_cond_t wake, flushed;
	struct history_run *head, **tail; /* linked by queue_next */
	uint64_t queued, written;         /* items */
	uint64_t ends_queued;             /* records of ended runs in head: wake the writer */
	bool flush_asked;                 /* history_flush*(): write the held starts too */
	bool writer_idle;                 /* the writer sleeps with no start record held */
	bool stop;
	bool limits_changed; /* the writer passes again at once */
	bool open_done;      /* history_open() finished: the fields above are set */
	bool gave_up;        /* the open took too long (history_wait_open(), the
	                      * timer of history_when_open()): never used */
	struct history_limits lim;
	struct history_request *rq_head, **rq_tail; /* for the reader */
	pthread_cond_t rq_wake;
	/* Answered, for the loop: one message drains them all, so that
	 * history_free() can answer what the loop never picked up. */
	struct history_request *answered;
	bool answer_posted;
	struct loop_msg answer_msg;
	uint64_t batches;
	/* For history_stats(): the writer's counters, updated with written. */
	uint64_t rows;         /* runs in the database */
	uint64_t writes;       /* run records committed */
	uint64_t write_errors; /* transactions rolled back */
	uint64_t write_usec_sum;
	uint64_t write_buckets[HISTORY_WRITE_BUCKETS]; /* not cumulative */
	uint64_t read_deadline;                        /* loop thread only */
	/* The encoders' cache of names sections (history_codec.c); a leaf
	 * lock of its own, never held with lock. */
	pthread_mutex_t names_lock;
	struct history_names names[HISTORY_NAMES_CACHED];
	size_t names_next; /* the slot replaced next */
	/* Under names_lock too: the steps buffers of runs just written, for
	 * the next records (history_run_recycle()): freed, a large one goes
	 * back to the kernel, and the next record pays the page faults again.
	 * Several, as the loop records a run or two while the writer still
	 * holds the last one's buffer. */
	struct history_spare spares[HISTORY_SPARES];
};

/* Frees what r holds, not r itself (history_run_free() does both). */
void history_run_done(struct history_run *r);

/* history_codec.c: r->steps into r->steps_data and r->output_data. */
int history_encode_run(struct history_run *r);
/* Fills r->steps from a steps blob (either version); stops at a malformed
 * record. 0 or -ENOMEM. */
int history_decode_steps(struct history_run *r, const char *p, size_t len);
/* Frees the encoders' cache of names, and the spare buffers. */
void history_names_done(struct history *h);
/* Frees r, keeping its buffers for the next record. Writer thread. */
void history_run_recycle(struct history *h, struct history_run *r);
/* Hands each of r's steps its part of an output blob. */
void history_decode_output(struct history_run *r, const char *p, size_t len);
/* A result as one of the static strings it may be, or "unknown". */
const char *history_static_result(const char *s);

/* The bucket of history_write_bucket_usec a transaction of usec falls in. */
size_t history_write_bucket(uint64_t usec);

/* history.c: opens the database, on the writer thread when there is a loop. */
void history_open(struct history *h);
/* history_open.c: SQLite's busy handler (data: h) while the database opens. */
int history_open_busy(void *data, int count);
/* history_open.c: the open ended; calls on_open once (data: h). Loop thread. */
void history_report_open(void *data);
/* The writer thread (history_writer.c): owns h->wdb. */
void *history_writer_main(void *data);
/* The reader thread (history_reader.c): answers history_submit(). */
void *history_reader_main(void *data);

/* Binds s, or NULL, as text that outlives the statement's next step. */
static inline void
history_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}
