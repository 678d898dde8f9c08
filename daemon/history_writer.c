/* SPDX-License-Identifier: MIT */
/*
 * The run history's writer thread (history.h, history.c): it opens the
 * database first when the daemon has a loop (history_open(), off the start
 * path); then the loop (or anyone) queues whole run records under a mutex
 * and signals this thread, which owns the read-write connection. It takes everything queued and
 * writes it in one transaction; now and then (see RETENTION_EVERY_RUNS),
 * when the oldest run expires, and at the end, that transaction also deletes
 * at most RETENTION_BATCH of the oldest runs beyond history_max_runs or older
 * than history_max_age, so retention is incremental and never turns into a
 * long delete. The WAL with synchronous=NORMAL makes each commit survive the
 * death of the process: kill -9 loses at most what was still queued, which
 * is the runs that had not ended (their "running" rows, if already written,
 * become "interrupted" at the next start). A run's end wakes this thread at
 * once; its start does not: it is held until its end comes (most runs are
 * short, and their "running" row would be replaced at once) or until
 * HISTORY_START_DELAY_USEC after the run started, or a flush, whichever is
 * first (hold_starts()).
 */
#include "history_internal.h"

#include "thread_role.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Runs deleted per pass at most. */
#define RETENTION_BATCH 500
/*
 * A pass counts the runs, a walk over the narrow started index (a page
 * holds some 200 of its entries), so it runs once every
 * max_runs / RETENTION_WALK_PER_RUN runs written (at most every
 * RETENTION_EVERY_RUNS), not after every batch; for the age limit the writer
 * wakes when the oldest run expires, and not otherwise (no idle wake-ups).
 */
#define RETENTION_EVERY_RUNS   200
#define RETENTION_WALK_PER_RUN 50

struct wstmts {
	sqlite3_stmt *run, *del_output, *output, *old, *count, *del_run, *oldest, *exists;
};

/*
 * Writes r: inserts its row, or replaces the one its start wrote. Sets
 * *ret_added when the row is new (for the row count of history_stats()).
 */
static int
write_run(struct wstmts *w, struct history_run *r, bool *ret_added)
{
	int rc;

	/* A run recorded by the manager comes encoded (manager_run_record());
	 * one from elsewhere (tests, the bench) with its steps. */
	if (r->n_steps && !r->steps_data && history_encode_run(r) < 0)
		return SQLITE_NOMEM;
	/* A primary key lookup, cheap next to the insert it precedes. */
	sqlite3_reset(w->exists);
	sqlite3_bind_int64(w->exists, 1, (sqlite3_int64)r->id);
	rc = sqlite3_step(w->exists);
	sqlite3_reset(w->exists);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return rc;
	*ret_added = rc == SQLITE_DONE;
	sqlite3_reset(w->run);
	sqlite3_bind_int64(w->run, 1, (sqlite3_int64)r->id);
	history_bind_text(w->run, 2, r->pipeline);
	sqlite3_bind_int64(w->run, 3, (sqlite3_int64)r->generation);
	history_bind_text(w->run, 4, r->trigger);
	sqlite3_bind_int64(w->run, 5, r->started_usec);
	if (r->ended_usec)
		sqlite3_bind_int64(w->run, 6, r->ended_usec);
	else
		sqlite3_bind_null(w->run, 6);
	history_bind_text(w->run, 7, r->result);
	history_bind_text(w->run, 8, r->failed_step);
	history_bind_text(w->run, 9, r->message);
	if (r->steps_data)
		sqlite3_bind_blob(w->run, 10, r->steps_data, (int)r->steps_data_len, SQLITE_STATIC);
	else
		sqlite3_bind_null(w->run, 10);
	rc = sqlite3_step(w->run);
	sqlite3_reset(w->run);
	if (rc != SQLITE_DONE || !r->output_data_len)
		return rc == SQLITE_DONE ? SQLITE_OK : rc;
	sqlite3_reset(w->output);
	sqlite3_bind_int64(w->output, 1, (sqlite3_int64)r->id);
	sqlite3_bind_blob(w->output, 2, r->output_data, (int)r->output_data_len, SQLITE_STATIC);
	rc = sqlite3_step(w->output);
	sqlite3_reset(w->output);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/*
 * Deletes at most budget of the oldest runs beyond the limits. Neither limit
 * walks the runs table, whose rows are wide (a run's steps): the count comes
 * from the narrow started index, the runs beyond max_runs are the oldest ids
 * (a range from the table's start), and the expired ones come from that index
 * too. Runs as often as RETENTION_EVERY_RUNS, so this is what the writer pays
 * a run for the limits.
 */
static int
retention(struct wstmts *w, const struct history_limits *lim, unsigned budget, size_t *ret_deleted)
{
	sqlite3_int64 count = 0, excess = 0, ids[RETENTION_BATCH];
	size_t n = 0;
	int rc;

	sqlite3_reset(w->count);
	rc = sqlite3_step(w->count);
	if (rc == SQLITE_ROW)
		count = sqlite3_column_int64(w->count, 0);
	sqlite3_reset(w->count);
	if (rc != SQLITE_ROW)
		return rc;
	if (budget > RETENTION_BATCH)
		budget = RETENTION_BATCH;
	if ((uint64_t)count > lim->max_runs)
		excess = MIN(count - (sqlite3_int64)lim->max_runs, (sqlite3_int64)budget);
	sqlite3_reset(w->old);
	sqlite3_bind_int64(w->old, 1, excess);
	sqlite3_bind_int64(w->old, 2,
	                   (sqlite3_int64)now_usec(CLOCK_REALTIME) -
	                           (sqlite3_int64)lim->max_age_usec);
	sqlite3_bind_int(w->old, 3, (int)budget);
	while ((rc = sqlite3_step(w->old)) == SQLITE_ROW && n < budget)
		ids[n++] = sqlite3_column_int64(w->old, 0);
	sqlite3_reset(w->old);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return rc;
	*ret_deleted = n;
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(w->del_output);
		sqlite3_bind_int64(w->del_output, 1, ids[i]);
		rc = sqlite3_step(w->del_output);
		if (rc != SQLITE_DONE)
			return rc;
		sqlite3_reset(w->del_run);
		sqlite3_bind_int64(w->del_run, 1, ids[i]);
		rc = sqlite3_step(w->del_run);
		if (rc != SQLITE_DONE)
			return rc;
	}
	return SQLITE_OK;
}

static int
prepare_writer(sqlite3 *db, struct wstmts *w)
{
	int rc;

	rc = sqlite3_prepare_v3(db,
	                        "INSERT OR REPLACE INTO runs (id, pipeline, generation, trigger, "
	                        "started, ended, result, failed_step, message, steps) "
	                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	                        -1, SQLITE_PREPARE_PERSISTENT, &w->run, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v3(db, "DELETE FROM output WHERE run_id = ?1", -1,
		                        SQLITE_PREPARE_PERSISTENT, &w->del_output, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v3(
		        db, "INSERT OR REPLACE INTO output (run_id, data) VALUES (?1, ?2)", -1,
		        SQLITE_PREPARE_PERSISTENT, &w->output, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v3(db, "SELECT count(*) FROM runs", -1,
		                        SQLITE_PREPARE_PERSISTENT, &w->count, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v3(
		        db,
		        "SELECT id FROM (SELECT id FROM runs ORDER BY id LIMIT ?1) UNION "
		        "SELECT id FROM (SELECT id FROM runs WHERE started < ?2 "
		        "ORDER BY started LIMIT ?3) ORDER BY 1 LIMIT ?3",
		        -1, SQLITE_PREPARE_PERSISTENT, &w->old, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v3(db, "DELETE FROM runs WHERE id = ?1", -1,
		                        SQLITE_PREPARE_PERSISTENT, &w->del_run, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v3(db, "SELECT min(started) FROM runs", -1,
		                        SQLITE_PREPARE_PERSISTENT, &w->oldest, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v3(db, "SELECT 1 FROM runs WHERE id = ?1", -1,
		                        SQLITE_PREPARE_PERSISTENT, &w->exists, NULL);
	return rc;
}

static void
finalize_writer(struct wstmts *w)
{
	sqlite3_finalize(w->run);
	sqlite3_finalize(w->del_output);
	sqlite3_finalize(w->output);
	sqlite3_finalize(w->count);
	sqlite3_finalize(w->old);
	sqlite3_finalize(w->del_run);
	sqlite3_finalize(w->oldest);
	sqlite3_finalize(w->exists);
}

/*
 * A "running" row whose run's end is queued right behind it need not be
 * written: short runs would otherwise cost two rows each. Looks a few items
 * ahead only; a miss just writes the row.
 */
static bool
ended_in_batch(const struct history_run *it)
{
	unsigned k = 0;

	if (it->ended_usec)
		return false;
	for (const struct history_run *j = it->queue_next; j && k < 64; j = j->queue_next, k++)
		if (j->id == it->id)
			return true;
	return false;
}

/* When the oldest start record held or queued is due (CLOCK_REALTIME µs),
 * 0: none. Records are queued in the order the runs started. */
static int64_t
start_due(const struct history_run *held, const struct history_run *queued)
{
	const struct history_run *r = held ? held : queued;

	return r && !r->ended_usec ? r->started_usec + HISTORY_START_DELAY_USEC : 0;
}

/* The end of start record it comes after it in its batch; the whole batch
 * is searched (unlike ended_in_batch()), as only the runs in flight miss. */
static bool
ends_later(const struct history_run *it)
{
	for (const struct history_run *j = it->queue_next; j; j = j->queue_next)
		if (j->id == it->id)
			return true;
	return false;
}

/*
 * Moves the start records of *batch whose run has not ended in it and that
 * are younger than HISTORY_START_DELAY_USEC to the end of the held list:
 * most runs end sooner, and their end replaces the "running" row anyway.
 * A start whose end is in the batch stays, so it is never written after
 * its end (which it would replace).
 */
static void
hold_starts(struct history_run **batch, struct history_run ***held_tail, int64_t now)
{
	struct history_run **p = batch;

	while (*p) {
		struct history_run *it = *p;

		if (!it->ended_usec && now < it->started_usec + HISTORY_START_DELAY_USEC &&
		    !ends_later(it)) {
			*p = it->queue_next;
			it->queue_next = NULL;
			**held_tail = it;
			*held_tail = &it->queue_next;
		} else {
			p = &it->queue_next;
		}
	}
}

/* When the oldest run passes max_age (CLOCK_REALTIME µs), 0: no run. */
static int64_t
age_due(struct wstmts *w, const struct history_limits *lim)
{
	int64_t due = 0;

	sqlite3_reset(w->oldest);
	if (sqlite3_step(w->oldest) == SQLITE_ROW &&
	    sqlite3_column_type(w->oldest, 0) != SQLITE_NULL)
		due = sqlite3_column_int64(w->oldest, 0) + (int64_t)lim->max_age_usec;
	sqlite3_reset(w->oldest);
	return due;
}

void *
history_writer_main(void *data)
{
	struct history *h = data;
	struct wstmts w = { 0 };
	uint64_t last_err_usec = 0, since_pass = 0;
	int64_t due = 0;
	/* Start records not written yet (hold_starts()), oldest first. */
	struct history_run *held = NULL, **held_tail = &held;
	bool more = true; /* a pass at start: the limits may have changed */
	bool usable;
	int rc;

	thread_role("ginid-history", true);
	pthread_mutex_lock(&h->lock);
	usable = h->open_done;
	pthread_mutex_unlock(&h->lock);
	/* Opened here when there is a loop: start-up does not wait for it. */
	if (!usable)
		history_open(h);
	pthread_mutex_lock(&h->lock);
	usable = h->open_done && !h->gave_up && !h->disabled;
	if (!usable) {
		/* What was queued before it failed goes, unwritten. */
		while (h->head) {
			struct history_run *it = h->head;

			h->head = it->queue_next;
			history_run_free(it);
			h->written++;
		}
		h->tail = &h->head;
		pthread_cond_broadcast(&h->flushed);
	}
	pthread_mutex_unlock(&h->lock);
	if (!usable)
		return NULL;
	rc = prepare_writer(h->wdb, &w);
	if (rc != SQLITE_OK)
		log_err("history: cannot prepare statements: %s; runs will not be recorded",
		        sqlite3_errmsg(h->wdb));
	for (;;) {
		struct history_run *batch;
		struct history_limits lim;
		uint64_t n = 0, now, added = 0, wrote = 0, deleted = 0;
		uint64_t tx_usec = 0;
		bool stop, pass, force, tx = false, tx_ok = false;

		pthread_mutex_lock(&h->lock);
		/*
		 * Woken for a run's end (at once, as before), a flush, a change
		 * or stop; and by itself when the oldest run expires or the
		 * oldest start record held is due. A start record alone wakes
		 * it only when it sleeps without such a deadline (writer_idle).
		 */
		while (!h->ends_queued && !h->flush_asked && !h->stop && !h->limits_changed &&
		       !more) {
			int64_t sd = start_due(held, h->head), at = due;
			int64_t now_rt = (int64_t)now_usec(CLOCK_REALTIME);
			struct timespec ts;

			if ((due && now_rt >= due) || (sd && now_rt >= sd))
				break;
			if (sd && (!at || sd < at))
				at = sd;
			ts = (struct timespec){ .tv_sec = (time_t)(at / (int64_t)USEC_PER_SEC),
				                .tv_nsec =
				                        (long)(at % (int64_t)USEC_PER_SEC) * 1000 };
			h->writer_idle = !sd;
			if (!at)
				pthread_cond_wait(&h->wake, &h->lock);
			else if (pthread_cond_timedwait(&h->wake, &h->lock, &ts) == ETIMEDOUT)
				at = -1;
			h->writer_idle = false;
			if (at < 0)
				break;
		}
		/* The held start records first: they were queued before. */
		*held_tail = h->head;
		batch = held;
		held = NULL;
		held_tail = &held;
		h->head = NULL;
		h->tail = &h->head;
		h->ends_queued = 0;
		force = h->flush_asked || h->stop || !w.run;
		h->flush_asked = false;
		stop = h->stop;
		lim = h->lim;
		more = more || h->limits_changed;
		h->limits_changed = false;
		pthread_mutex_unlock(&h->lock);

		if (!force)
			hold_starts(&batch, &held_tail, (int64_t)now_usec(CLOCK_REALTIME));
		for (struct history_run *it = batch; it; it = it->queue_next)
			since_pass++;
		now = now_usec(CLOCK_MONOTONIC);
		pass = more || stop ||
		       since_pass >= MIN(RETENTION_EVERY_RUNS,
		                         lim.max_runs / RETENTION_WALK_PER_RUN + 1) ||
		       (due && (int64_t)now_usec(CLOCK_REALTIME) >= due);
		more = false;
		if ((batch || pass) && w.run) {
			size_t del = 0;

			tx = true;
			rc = sqlite3_exec(h->wdb, "BEGIN", NULL, NULL, NULL);
			for (struct history_run *it = batch; rc == SQLITE_OK && it;
			     it = it->queue_next, n++)
				if (!ended_in_batch(it)) {
					bool add = false;

					rc = write_run(&w, it, &add);
					added += add;
					wrote++;
				}
			if (rc == SQLITE_OK && pass) {
				rc = retention(&w, &lim, RETENTION_BATCH, &del);
				deleted = del;
				since_pass = 0;
				/* A full pass may have left more: go on at once. */
				more = del == RETENTION_BATCH;
			}
			if (rc == SQLITE_OK)
				rc = sqlite3_exec(h->wdb, "COMMIT", NULL, NULL, NULL);
			tx_ok = rc == SQLITE_OK;
			if (rc != SQLITE_OK) {
				/* A full disk must not become a flood of lines. */
				if (last_err_usec == 0 || now - last_err_usec > 60 * USEC_PER_SEC) {
					log_err("history: cannot write %s: %s; these runs are not "
					        "recorded",
					        h->path, sqlite3_errmsg(h->wdb));
					last_err_usec = now;
				}
				sqlite3_exec(h->wdb, "ROLLBACK", NULL, NULL, NULL);
				more = false;
			}
			tx_usec = now_usec(CLOCK_MONOTONIC) - now;
			due = age_due(&w, &lim);
		}
		n = 0;
		while (batch) {
			struct history_run *it = batch;

			batch = it->queue_next;
			history_run_recycle(h, it);
			n++;
		}
		pthread_mutex_lock(&h->lock);
		h->written += n;
		if (n)
			h->batches++;
		if (tx && tx_ok) {
			h->rows = h->rows + added - MIN(deleted, h->rows + added);
			h->writes += wrote;
		} else if (tx) {
			h->write_errors++;
		}
		if (tx) {
			h->write_usec_sum += tx_usec;
			h->write_buckets[history_write_bucket(tx_usec)]++;
		}
		pthread_cond_broadcast(&h->flushed);
		if (stop && !h->head && !held) {
			pthread_mutex_unlock(&h->lock);
			break;
		}
		pthread_mutex_unlock(&h->lock);
	}
	finalize_writer(&w);
	return NULL;
}
