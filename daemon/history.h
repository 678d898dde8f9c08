/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "loop.h"

/*
 * The run history: STATE_DIR/history.db, an SQLite database in WAL mode.
 * One writer thread owns the write connection and turns what the loop
 * enqueues into batched transactions, so recording never waits on the disk;
 * queries use a read-only connection of their own, on a reader thread that
 * answers on the loop (history_submit), or on the caller's thread, bounded
 * in time (WAL readers never wait for the writer).
 *
 * The history never stops the daemon: a database that is corrupt or from a
 * newer schema is moved aside and a fresh one started; one that cannot be
 * opened at all (a read-only state directory) disables the history, with
 * one error, and history_disabled() says why.
 */
struct history;

struct history_limits {
	uint64_t max_runs;     /* runs kept */
	uint64_t max_age_usec; /* runs older than this are deleted */
	size_t output_max;     /* bytes of output kept per step */
};

#define HISTORY_DEFAULT_MAX_RUNS   10000
#define HISTORY_DEFAULT_MAX_AGE    (30ULL * 24 * 3600 * 1000000)
#define HISTORY_DEFAULT_OUTPUT_MAX ((size_t)64 * 1024)

/* One step of a recorded run; every pointer owned by the record. */
struct history_step {
	char *id;
	char *stage;
	const char *result; /* static: step_status_to_string() */
	unsigned attempts;
	uint64_t duration_usec;
	char *message;
	char *output; /* output_serialize() records, or NULL */
	size_t output_len;
	uint64_t output_first_seq;
	bool output_truncated;
};

/* One run, as recorded and as read back. */
struct history_run {
	uint64_t id;
	char *pipeline;
	uint64_t generation;
	char *trigger;
	int64_t started_usec; /* CLOCK_REALTIME */
	int64_t ended_usec;   /* 0: not ended */
	const char *result;   /* "running", "success", "failed", "cancelled", "interrupted" */
	char *failed_step;    /* NULL: none */
	char *message;        /* the failed step's message, or NULL */
	/* In execution order; the writer encodes them. */
	struct history_step *steps;
	size_t n_steps;
	/* Or the steps encoded already (struct history_encoder), as the
	 * database keeps them, with steps NULL: the writer stores them as is.
	 * Owned. */
	char *steps_data;
	size_t steps_data_len;
	size_t steps_data_cap; /* its allocation; 0: unknown (at least len) */
	char *output_data;
	size_t output_data_len;
	/* The history's queue (history_record()): no allocation a record. */
	struct history_run *queue_next;
};

void history_run_free(struct history_run *r);

/* A growing buffer of the encoder's. */
struct history_buf {
	char *data;
	size_t len, cap;
};

/*
 * Encodes a run's steps into the form the database keeps (history_codec.c),
 * for the writer to store as is: whoever records a run feeds it the steps
 * one at a time, in execution order, with borrowed strings, so no copy of
 * them is made. The steps' ids and stages are the same for every run of a
 * pipeline in one generation: history_encoder_init() takes them from h's
 * cache when key (the pipeline) and generation were seen before, and
 * otherwise asks name() for each (k in execution order) and keeps the
 * result. Runs of one (key, generation) must have the same steps; h NULL:
 * no cache. history_encoder_finish() hands the buffers to r (steps_data,
 * output_data): 0, or -ENOMEM (and the encoder is emptied). Any one thread
 * per encoder; the cache has a lock of its own.
 */
struct history_encoder {
	struct history_buf steps, output;
	size_t n;
	bool nomem;
};

typedef void (*history_step_name_fn)(void *userdata, size_t k, const char **ret_id,
                                     const char **ret_stage);

void history_encoder_init(struct history_encoder *e, struct history *h, const void *key,
                          uint64_t generation, size_t n_steps, history_step_name_fn name,
                          void *userdata);
/* The next step, one that succeeded at its first attempt and said
 * nothing (most of them): its duration is all there is to encode. */
void history_encoder_add_ok(struct history_encoder *e, uint64_t duration_usec);
/* The values of the next step (its id and stage are not read). s and what
 * it points to are borrowed, for the call only. */
void history_encoder_add(struct history_encoder *e, const struct history_step *s);
int history_encoder_finish(struct history_encoder *e, struct history_run *r);
void history_encoder_done(struct history_encoder *e);

/*
 * Opens (or creates, migrates, or replaces) dir/history.db and starts the
 * writer, and with a loop the reader for history_submit(). Never fails but
 * for memory: a history that cannot be kept is returned disabled. Runs left
 * "running" by a killed daemon become "interrupted". At start-up.
 *
 * With a loop, the database is opened on the writer thread after this
 * returns, so that start-up never waits for SQLite: runs recorded before
 * are queued, and what needs the database open waits for it (bounded by
 * HISTORY_OPEN_WAIT_USEC, after which the history is disabled for good):
 * history_disabled(), history_next_id(), history_pipeline_summaries() and
 * history_flush*(). The loop thread never calls them before
 * history_opening() is false: it learns the end of the open from
 * history_when_open(). Without a loop it is open (or disabled) on return;
 * an open that finds the database locked by another process waits for it,
 * up to HISTORY_OPEN_WAIT_USEC (with a loop, until history_when_open()'s
 * timer gives up or the history is freed).
 */
struct history *history_new(const char *dir, const struct history_limits *lim, struct loop *loop);
/*
 * Waits until the database is open or known unusable; true when runs are
 * recorded. Bounded: with a loop, by history_when_open()'s timer, else by
 * HISTORY_OPEN_WAIT_USEC. Any thread but the loop's (unless
 * history_opening() is false); at once after the first time.
 */
bool history_wait_open(struct history *h);
/*
 * Calls fn(userdata) on the loop, once, when the database is open or known
 * unusable (posted at once if it is already), or when it has taken
 * HISTORY_OPEN_WAIT_USEC: then the history is given up on (disabled, with
 * one error) without anyone having waited for it. fn runs before any
 * history_submit() answer that waited for the open. Loop thread; once.
 */
void history_when_open(struct history *h, void (*fn)(void *userdata), void *userdata);
/*
 * True while the database is still opening (neither open nor known
 * unusable nor given up on): what needs it would wait. Any thread; never
 * waits. False for NULL.
 */
bool history_opening(struct history *h);
/*
 * Writes what is queued, stops the threads, closes. Requests the loop has
 * not seen answered are answered here (-ECANCELED if never read): call it
 * on the loop thread once the loop has stopped. Accepts NULL.
 */
struct history *history_free(struct history *h);
/* Why the history is off ("cannot open ...: ..."), or NULL when it is on. */
const char *history_disabled(struct history *h);
/* The first run id this daemon may use: one past every id recorded (1 if
 * the history is off). */
uint64_t history_next_id(struct history *h);
void history_set_limits(struct history *h, const struct history_limits *lim);
size_t history_output_max(const struct history *h);
/*
 * Queues a run to be written (inserted, or replaced by its id): at its start
 * (result "running", no steps) and at its end. Takes ownership of r (NULL,
 * as a record that could not be built: nothing). Any thread; never blocks
 * on I/O.
 */
void history_record(struct history *h, struct history_run *r);
/* Waits until everything queued so far is committed. 0 or -errno. */
int history_flush(struct history *h);
/*
 * The same, giving up after usec (-ETIMEDOUT): lets a query see the runs
 * that just ended without holding the loop for long. Returns at once when
 * nothing is queued.
 */
int history_flush_timeout(struct history *h, uint64_t usec);

struct history_filter {
	const char *pipeline; /* NULL: any */
	const char *result;   /* NULL: any */
	int64_t since_usec;   /* 0: no bound; started at or after */
	int64_t until_usec;   /* 0: no bound; started before */
	unsigned limit;
	bool with_steps; /* fill steps (without output) */
};

/*
 * Calls fn with each matching run, newest first; fn may take what r holds
 * (leaving r zeroed), or else it is freed after the call. One thread at a
 * time (the reader's, or the loop's at start-up). 0, -ETIMEDOUT when the
 * query ran past its time bound, -EIO with err filled, -ENODEV if disabled.
 */
int history_query(struct history *h, const struct history_filter *f,
                  void (*fn)(struct history_run *r, void *userdata), void *userdata, char *err,
                  size_t err_size);
/* Run id with its steps and their output; *ret NULL and 0 if there is none. */
int history_get(struct history *h, uint64_t id, struct history_run **ret, char *err,
                size_t err_size);

/*
 * A query answered on the reader thread: it first waits (briefly) until the
 * runs queued before it are written, so a run that just ended is seen.
 * Filled by the caller; done() runs on the loop thread with r (0, or -errno
 * as history_query()), err, and runs (a list) or run (get), and must call
 * history_request_free() once it is done with rq.
 */
struct history_request {
	bool get;       /* one run by id, with its output; else a list */
	bool open_only; /* no query: answered once the database is open or known unusable */
	uint64_t id;
	struct history_filter filter; /* its strings owned by the request */
	void (*done)(struct history_request *rq);
	void *userdata;
	int r;
	char err[256];
	struct history_run **runs;
	size_t n_runs;
	struct history_run *run;
	/* The history's. */
	struct history_request *next;
};

void history_request_free(struct history_request *rq);
/* Queues rq for the reader. Loop thread; done() is always called, later. */
void history_submit(struct history *h, struct history_request *rq);

/* What the health counters need of a pipeline at start-up. */
struct history_summary {
	const char *pipeline;
	uint64_t last_run_id;
	int64_t last_run_usec;         /* start of the last ended run */
	const char *last_result;       /* its result */
	int64_t last_success_usec;     /* end of the last successful run, 0: none */
	uint64_t consecutive_failures; /* ended runs since the last success that did not succeed */
};

/*
 * Calls fn once per pipeline that had ended runs when the database was
 * opened, with what they were then (read by history_open(), so the start
 * path does not wait for the query). Loop thread. 0 or -ENODEV.
 */
int history_pipeline_summaries(struct history *h,
                               void (*fn)(const struct history_summary *s, void *userdata),
                               void *userdata);
/* Counters for tests and metrics. */
uint64_t history_batches(const struct history *h);

/* Upper bounds (µs) of the write duration histogram; the last is +Inf. */
#define HISTORY_WRITE_BUCKETS 12
extern const uint64_t history_write_bucket_usec[HISTORY_WRITE_BUCKETS - 1];

/* What the history's metrics show (history_stats()). */
struct history_stats {
	bool enabled;            /* false: history_disabled(), and all below 0 */
	uint64_t rows;           /* runs in the database */
	uint64_t bytes;          /* history.db and its write-ahead log on disk */
	uint64_t writes;         /* run records committed */
	uint64_t write_errors;   /* write transactions that failed: runs lost */
	uint64_t queue_depth;    /* run records queued, not yet written */
	uint64_t write_usec_sum; /* time spent in write transactions */
	uint64_t write_count;    /* write transactions, failed ones included */
	uint64_t write_buckets[HISTORY_WRITE_BUCKETS]; /* per bucket, not cumulative */
};

/*
 * Fills *ret. Any thread; takes the history's lock briefly and stat()s the
 * database files (never waits on the writer, nor for the open: while the
 * database opens it is enabled, with no rows yet). Accepts NULL (disabled).
 */
void history_stats(const struct history *h, struct history_stats *ret);
/*
 * Appends the gini_history_* metric families (Prometheus text format, with
 * HELP and TYPE lines) to f: the metrics code calls it with one line.
 * 0, or -EIO when writing to f failed. Accepts NULL (disabled).
 */
int history_metrics(const struct history *h, FILE *f);
