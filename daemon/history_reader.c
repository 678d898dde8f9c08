/* SPDX-License-Identifier: MIT */
/*
 * The run history's readers (history.h, history.c): a reader thread with a
 * read-only connection of its own answers requests from the loop
 * (history_submit) and posts each answer back, so the loop never waits on
 * the disk. WAL readers see the last commit and never wait for the writer;
 * a progress handler cuts a query off after READ_BUDGET_USEC so one query
 * cannot hold up those behind it (history_codec.c decodes what it reads).
 */
#include "history_internal.h"

#include "loop.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A query is cut off after this long: it holds up the queries behind it. */
#define READ_BUDGET_USEC (2 * USEC_PER_SEC)

static int
on_progress(void *data)
{
	struct history *h = data;

	return now_usec(CLOCK_MONOTONIC) > h->read_deadline;
}

static void
read_begin(struct history *h)
{
	h->read_deadline = now_usec(CLOCK_MONOTONIC) + READ_BUDGET_USEC;
	sqlite3_progress_handler(h->rdb, 1000, on_progress, h);
}

static char *
col_strdup(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	return s ? strdup((const char *)s) : NULL;
}

static void
read_run_row(sqlite3_stmt *st, struct history_run *r)
{
	r->id = (uint64_t)sqlite3_column_int64(st, 0);
	r->pipeline = col_strdup(st, 1);
	r->generation = (uint64_t)sqlite3_column_int64(st, 2);
	r->trigger = col_strdup(st, 3);
	r->started_usec = sqlite3_column_int64(st, 4);
	r->ended_usec = sqlite3_column_int64(st, 5);
	r->result = history_static_result((const char *)sqlite3_column_text(st, 6));
	r->failed_step = col_strdup(st, 7);
	r->message = col_strdup(st, 8);
}

static int
read_run_steps(sqlite3_stmt *st, struct history_run *r)
{
	if (sqlite3_column_type(st, 9) == SQLITE_NULL)
		return SQLITE_OK;
	return history_decode_steps(r, sqlite3_column_blob(st, 9),
	                            (size_t)sqlite3_column_bytes(st, 9)) < 0
	               ? SQLITE_NOMEM
	               : SQLITE_OK;
}

static void
run_clear(struct history_run *r)
{
	history_run_done(r);
	*r = (struct history_run){ 0 };
}

static int
read_error(struct history *h, int rc, char *err, size_t err_size)
{
	sqlite3_progress_handler(h->rdb, 0, NULL, NULL);
	if (rc == SQLITE_OK)
		return 0;
	if (rc == SQLITE_INTERRUPT)
		return -ETIMEDOUT;
	snprintf(err, err_size, "%s", sqlite3_errmsg(h->rdb));
	return -EIO;
}

int
history_query(struct history *h, const struct history_filter *f,
              void (*fn)(struct history_run *r, void *userdata), void *userdata, char *err,
              size_t err_size)
{
	sqlite3_stmt *st;
	int rc;

	if (!history_wait_open(h))
		return -ENODEV;
	read_begin(h);
	/* The pipeline index serves the most common filter; ids order the rest. */
	rc = sqlite3_prepare_v2(
	        h->rdb,
	        "SELECT id, pipeline, generation, trigger, started, ended, result, "
	        "failed_step, message, CASE WHEN ?6 THEN steps END FROM runs "
	        "WHERE (?1 IS NULL OR pipeline = ?1) AND (?2 IS NULL OR result = ?2) "
	        "AND (?3 = 0 OR started >= ?3) AND (?4 = 0 OR started < ?4) "
	        "ORDER BY id DESC LIMIT ?5",
	        -1, &st, NULL);
	if (rc != SQLITE_OK)
		return read_error(h, rc, err, err_size);
	history_bind_text(st, 1, f->pipeline);
	history_bind_text(st, 2, f->result);
	sqlite3_bind_int64(st, 3, f->since_usec);
	sqlite3_bind_int64(st, 4, f->until_usec);
	sqlite3_bind_int(st, 5, (int)f->limit);
	sqlite3_bind_int(st, 6, f->with_steps);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct history_run r = { 0 };

		int k;

		read_run_row(st, &r);
		k = read_run_steps(st, &r);
		if (k == SQLITE_OK)
			fn(&r, userdata);
		run_clear(&r);
		if (k != SQLITE_OK) {
			rc = k;
			break;
		}
	}
	sqlite3_finalize(st);
	return read_error(h, rc == SQLITE_DONE ? SQLITE_OK : rc, err, err_size);
}

int
history_get(struct history *h, uint64_t id, struct history_run **ret, char *err, size_t err_size)
{
	struct history_run *r;
	sqlite3_stmt *st;
	int rc;

	*ret = NULL;
	if (!history_wait_open(h))
		return -ENODEV;
	read_begin(h);
	rc = sqlite3_prepare_v2(
	        h->rdb,
	        "SELECT r.id, r.pipeline, r.generation, r.trigger, r.started, r.ended, "
	        "r.result, r.failed_step, r.message, r.steps, o.data FROM runs r "
	        "LEFT JOIN output o ON o.run_id = r.id WHERE r.id = ?1",
	        -1, &st, NULL);
	if (rc != SQLITE_OK)
		return read_error(h, rc, err, err_size);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return read_error(h, rc == SQLITE_DONE ? SQLITE_OK : rc, err, err_size);
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		sqlite3_finalize(st);
		read_error(h, SQLITE_OK, err, err_size);
		return -ENOMEM;
	}
	read_run_row(st, r);
	rc = read_run_steps(st, r);
	if (rc == SQLITE_OK && sqlite3_column_type(st, 10) != SQLITE_NULL)
		history_decode_output(r, sqlite3_column_blob(st, 10),
		                      (size_t)sqlite3_column_bytes(st, 10));
	sqlite3_finalize(st);
	if (rc != SQLITE_OK) {
		history_run_free(r);
		return read_error(h, rc, err, err_size);
	}
	*ret = r;
	return read_error(h, SQLITE_OK, err, err_size);
}

/* The reader thread and its requests. */

/* How long a request waits for the runs queued before it to be written. */
#define READER_FLUSH_WAIT_USEC (500 * USEC_PER_MSEC)

void
history_request_free(struct history_request *rq)
{
	if (!rq)
		return;
	for (size_t i = 0; i < rq->n_runs; i++)
		history_run_free(rq->runs[i]);
	free(rq->runs);
	history_run_free(rq->run);
	free((char *)rq->filter.pipeline);
	free((char *)rq->filter.result);
	free(rq);
}

/* Loop thread: hands the answers to their owners, oldest first. */
static void
deliver(void *data)
{
	struct history *h = data;
	struct history_request *list, *rev = NULL;

	pthread_mutex_lock(&h->lock);
	list = h->answered;
	h->answered = NULL;
	h->answer_posted = false;
	pthread_mutex_unlock(&h->lock);
	while (list) {
		struct history_request *rq = list;

		list = rq->next;
		rq->next = rev;
		rev = rq;
	}
	while (rev) {
		struct history_request *rq = rev;

		rev = rq->next;
		rq->done(rq);
	}
}

static void
post_answer(struct history *h, struct history_request *rq)
{
	bool post;

	pthread_mutex_lock(&h->lock);
	rq->next = h->answered;
	h->answered = rq;
	post = !h->answer_posted;
	h->answer_posted = true;
	pthread_mutex_unlock(&h->lock);
	if (post)
		loop_post(h->loop, &h->answer_msg, deliver, h);
}

static void
collect_run(struct history_run *r, void *userdata)
{
	struct history_request *rq = userdata;
	struct history_run *copy, **v;

	/* Handed over whole: the query clears its own copy after this. */
	copy = malloc(sizeof(*copy));
	v = realloc(rq->runs, (rq->n_runs + 1) * sizeof(*v));
	if (!copy || !v) {
		free(copy);
		if (v)
			rq->runs = v;
		rq->r = -ENOMEM;
		return;
	}
	rq->runs = v;
	*copy = *r;
	*r = (struct history_run){ 0 };
	rq->runs[rq->n_runs++] = copy;
}

static void
answer(struct history *h, struct history_request *rq)
{
	int r;

	/* The database may still be opening: the first query waits for it. */
	if (!history_wait_open(h)) {
		rq->r = -ENODEV;
		return;
	}
	if (rq->open_only)
		return;
	(void)history_flush_timeout(h, READER_FLUSH_WAIT_USEC);
	if (rq->get)
		r = history_get(h, rq->id, &rq->run, rq->err, sizeof(rq->err));
	else
		r = history_query(h, &rq->filter, collect_run, rq, rq->err, sizeof(rq->err));
	if (rq->r == 0)
		rq->r = r;
}

void *
history_reader_main(void *data)
{
	struct history *h = data;

	for (;;) {
		struct history_request *rq;

		pthread_mutex_lock(&h->lock);
		while (!h->rq_head && !h->stop)
			pthread_cond_wait(&h->rq_wake, &h->lock);
		if (h->stop) {
			pthread_mutex_unlock(&h->lock);
			break;
		}
		rq = h->rq_head;
		h->rq_head = rq->next;
		if (!h->rq_head)
			h->rq_tail = &h->rq_head;
		pthread_mutex_unlock(&h->lock);
		answer(h, rq);
		post_answer(h, rq);
	}
	return NULL;
}

void
history_submit(struct history *h, struct history_request *rq)
{
	rq->next = NULL;
	rq->r = 0;
	if (!h || !h->have_reader) {
		rq->r = -ENODEV;
		/* Still later, on the loop, as promised. */
		if (h && h->loop) {
			post_answer(h, rq);
			return;
		}
		rq->done(rq);
		return;
	}
	pthread_mutex_lock(&h->lock);
	*h->rq_tail = rq;
	h->rq_tail = &rq->next;
	pthread_cond_signal(&h->rq_wake);
	pthread_mutex_unlock(&h->lock);
}
