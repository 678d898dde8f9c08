/* SPDX-License-Identifier: MIT */
/*
 * The run history (history.h): STATE_DIR/history.db in SQLite. This file
 * opens it and owns struct history: the queue that history_writer.c's
 * thread writes in batched transactions, and the requests that
 * history_reader.c's thread answers on a read-only connection of its own.
 *
 * Schema versions are PRAGMA user_version; migrate() brings an older file up
 * step by step. A file that is not a database, fails quick_check, or carries
 * a newer version is renamed history.db.corrupt-TIMESTAMP (with its -wal and
 * -shm) and a fresh one created. Lock order: h->lock, then the loop's own
 * (loop_post() of the open's message); the reader waits for the writer
 * (history_flush_timeout) without holding it.
 */
#include "history_internal.h"

#include "log.h"
#include "util.h"

#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SCHEMA_VERSION 2

void
history_run_done(struct history_run *r)
{
	for (size_t i = 0; i < r->n_steps; i++) {
		free(r->steps[i].id);
		free(r->steps[i].stage);
		free(r->steps[i].message);
		free(r->steps[i].output);
	}
	free(r->steps);
	free(r->steps_data);
	free(r->output_data);
	free(r->pipeline);
	free(r->trigger);
	free(r->failed_step);
	free(r->message);
}

void
history_run_free(struct history_run *r)
{
	if (!r)
		return;
	history_run_done(r);
	free(r);
}

static const char *const schema_v1[] = {
	"CREATE TABLE runs ("
	" id INTEGER PRIMARY KEY,"
	" pipeline TEXT NOT NULL,"
	" generation INTEGER NOT NULL,"
	" trigger TEXT NOT NULL,"
	" started INTEGER NOT NULL," /* µs since the epoch */
	" ended INTEGER,"            /* NULL: not ended */
	" result TEXT NOT NULL,"
	" failed_step TEXT,"
	" message TEXT)",
	"CREATE INDEX runs_pipeline ON runs (pipeline, id)",
	"CREATE INDEX runs_started ON runs (started)",
	/* The steps of a run, in execution order, in one value
	 * (history_codec.c): one row per run keeps a 1000-step run one insert. */
	"ALTER TABLE runs ADD COLUMN steps BLOB",
	/* Their output, apart, so listing runs never reads it. */
	"CREATE TABLE output (run_id INTEGER PRIMARY KEY, data BLOB NOT NULL)",
};

static int
exec_all(sqlite3 *db, const char *const *sql, size_t n, char **ret_err)
{
	for (size_t i = 0; i < n; i++) {
		int rc = sqlite3_exec(db, sql[i], NULL, NULL, ret_err);

		if (rc != SQLITE_OK)
			return rc;
	}
	return SQLITE_OK;
}

/* Brings the schema from version from to SCHEMA_VERSION in one transaction. */
static int
migrate(sqlite3 *db, int from, char **ret_err)
{
	char sql[64];
	int rc;

	rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, ret_err);
	if (rc != SQLITE_OK)
		return rc;
	if (from < 1)
		rc = exec_all(db, schema_v1, ARRAY_SIZE(schema_v1), ret_err);
	/*
	 * Version 2 changes no table: runs.steps may from now on hold the
	 * compact encoding (history_codec.c), which an older ginid would
	 * misread; the rows written before stay as they are, and are read as
	 * before. Nothing to rewrite, so the migration costs no start-up time.
	 */
	/* Later versions: if (rc == SQLITE_OK && from < 3) rc = ...; */
	if (rc == SQLITE_OK) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
		rc = sqlite3_exec(db, sql, NULL, NULL, ret_err);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, ret_err);
	else
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static int
int_query(sqlite3 *db, const char *sql, long long *ret)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ret = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		*ret = 0;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

enum open_outcome {
	OPEN_OK,
	OPEN_BAD,  /* not a usable database: move it aside */
	OPEN_FAIL, /* cannot be used at all (permissions, read-only, ...) */
};

static enum open_outcome
try_open(struct history *h, char *why, size_t size)
{
	char *err = NULL;
	long long version = 0, n = 0;
	int rc;

	rc = sqlite3_open_v2(h->path, &h->wdb,
	                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                     NULL);
	if (rc != SQLITE_OK) {
		snprintf(why, size, "%s", h->wdb ? sqlite3_errmsg(h->wdb) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(h->wdb, 1);
	sqlite3_busy_handler(h->wdb, history_open_busy, h);
	rc = sqlite3_exec(h->wdb, "PRAGMA journal_mode = WAL", NULL, NULL, &err);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(h->wdb, "PRAGMA synchronous = NORMAL", NULL, NULL, &err);
	if (rc == SQLITE_OK)
		rc = int_query(h->wdb, "PRAGMA user_version", &version);
	if (rc != SQLITE_OK)
		goto sqlfail;
	if (version > SCHEMA_VERSION) {
		snprintf(why, size, "its schema version %lld is newer than this ginid's (%d)",
		         version, SCHEMA_VERSION);
		goto bad;
	}
	{
		sqlite3_stmt *st;

		rc = sqlite3_prepare_v2(h->wdb, "PRAGMA quick_check", -1, &st, NULL);
		if (rc != SQLITE_OK)
			goto sqlfail;
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW &&
		    strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
			snprintf(why, size, "integrity check: %s", sqlite3_column_text(st, 0));
			sqlite3_finalize(st);
			goto bad;
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			goto sqlfail;
	}
	if (version < SCHEMA_VERSION) {
		rc = migrate(h->wdb, (int)version, &err);
		if (rc != SQLITE_OK)
			goto sqlfail;
	}
	rc = sqlite3_exec(h->wdb, "UPDATE runs SET result = 'interrupted' WHERE result = 'running'",
	                  NULL, NULL, &err);
	if (rc == SQLITE_OK && sqlite3_changes(h->wdb) > 0)
		log_warn("history: marked %d run%s interrupted: in flight when ginid last stopped",
		         sqlite3_changes(h->wdb), sqlite3_changes(h->wdb) == 1 ? "" : "s");
	if (rc == SQLITE_OK)
		rc = int_query(h->wdb, "SELECT max(id) FROM runs", &n);
	if (rc != SQLITE_OK)
		goto sqlfail;
	h->next_id = (uint64_t)n + 1;
	/* From here on the writer counts the rows it adds and deletes. */
	rc = int_query(h->wdb, "SELECT count(*) FROM runs", &n);
	if (rc != SQLITE_OK)
		goto sqlfail;
	h->rows = (uint64_t)n;
	/* Open: the writer's transactions wait for another process's lock
	 * for 5 s at most (a batch that fails is counted and logged). */
	sqlite3_busy_timeout(h->wdb, 5000);
	/* Serialised: the reader thread and start-up summaries share it. */
	rc = sqlite3_open_v2(h->path, &h->rdb, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(why, size, "read-only connection: %s",
		         h->rdb ? sqlite3_errmsg(h->rdb) : sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_busy_timeout(h->rdb, 100);
	return OPEN_OK;

sqlfail:
	snprintf(why, size, "%s", err ? err : sqlite3_errmsg(h->wdb));
	sqlite3_free(err);
	switch (rc & 0xff) {
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
	case SQLITE_FORMAT:
	case SQLITE_SCHEMA:
	case SQLITE_ERROR: /* e.g. "no such table" in a foreign file */
		goto bad;
	default:
		goto fail;
	}
bad:
	sqlite3_close(h->wdb);
	h->wdb = NULL;
	return OPEN_BAD;
fail:
	sqlite3_close(h->rdb);
	sqlite3_close(h->wdb);
	h->wdb = h->rdb = NULL;
	return OPEN_FAIL;
}

/* Renames the database and its companions to *.corrupt-TIMESTAMP. */
static int
move_aside(const char *path, char *ret_new, size_t size)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	char stamp[32];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (size_t i = 0; i < ARRAY_SIZE(sfx); i++) {
		char from[4096], to[4096];

		snprintf(from, sizeof(from), "%s%s", path, sfx[i]);
		snprintf(to, sizeof(to), "%s.corrupt-%s%s", path, stamp, sfx[i]);
		if (i == 0)
			snprintf(ret_new, size, "%s", to);
		if (rename(from, to) < 0 && errno != ENOENT)
			return -errno;
	}
	return 0;
}

/*
 * Per pipeline: its last ended run, its last success, and the ended runs
 * after that success that failed or timed out, as live health counts them
 * (health_run_end(): a cancelled run is no failure; a run marked
 * interrupted at start never ended and is in neither), into h->summaries.
 * On the database's opening.
 */
static int
read_summaries(struct history *h)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	int rc;

	rc = sqlite3_prepare_v2(
	        h->wdb,
	        "WITH p AS (SELECT pipeline, max(id) AS last_id, "
	        "  max(CASE WHEN result = 'success' THEN id END) AS ok_id "
	        "  FROM runs WHERE ended IS NOT NULL GROUP BY pipeline) "
	        "SELECT p.pipeline, p.last_id, l.started, l.result, o.ended, "
	        "  (SELECT count(*) FROM runs c WHERE c.pipeline = p.pipeline "
	        "   AND c.ended IS NOT NULL AND c.result IN ('failed', 'timeout') "
	        "   AND c.id > coalesce(p.ok_id, 0)) "
	        "FROM p JOIN runs l ON l.id = p.last_id LEFT JOIN runs o ON o.id = p.ok_id",
	        -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct history_summary *s;
		char *name;

		if (h->n_summaries == cap) {
			size_t c = cap ? cap * 2 : 16;
			struct history_summary *v = realloc(h->summaries, c * sizeof(*v));

			if (!v)
				break;
			h->summaries = v;
			cap = c;
		}
		name = strdup((const char *)sqlite3_column_text(st, 0));
		if (!name)
			break;
		s = &h->summaries[h->n_summaries++];
		*s = (struct history_summary){
			.pipeline = name,
			.last_run_id = (uint64_t)sqlite3_column_int64(st, 1),
			.last_run_usec = sqlite3_column_int64(st, 2),
			.last_result =
			        history_static_result((const char *)sqlite3_column_text(st, 3)),
			.last_success_usec = sqlite3_column_int64(st, 4),
			.consecutive_failures = (uint64_t)sqlite3_column_int64(st, 5),
		};
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/*
 * Opens (or creates, migrates, or replaces) the database and reads what
 * the daemon needs of it at start-up, then says so (h->opened, on_open).
 * On the writer thread when there is a loop, so that start-up does not
 * wait for SQLite; else in history_new(). Until open_done is set under the
 * lock, what it fills (wdb, rdb, disabled, next_id, rows, summaries) is
 * this thread's alone; after, it does not change.
 */
void
history_open(struct history *h)
{
	char why[512] = "", moved[4200], *dir = NULL;
	enum open_outcome o;
	bool quiet;

	h->open_deadline = now_usec(CLOCK_MONOTONIC) + HISTORY_OPEN_WAIT_USEC;
	if (h->path && (dir = strdup(h->path)))
		dirname(dir);
	if (!dir) {
		snprintf(why, sizeof(why), "%s", strerror(ENOMEM));
		o = OPEN_FAIL;
	} else if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		snprintf(why, sizeof(why), "cannot create %s: %s", dir, strerror(errno));
		o = OPEN_FAIL;
	} else {
		o = try_open(h, why, sizeof(why));
	}
	free(dir);
	if (o == OPEN_BAD) {
		int r = move_aside(h->path, moved, sizeof(moved));

		if (r < 0) {
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
			         "; cannot move it aside: %s", strerror(-r));
			o = OPEN_FAIL;
		} else {
			log_err("history: %s is unusable (%s): moved aside to %s; starting a new "
			        "history",
			        h->path, why, moved);
			o = try_open(h, why, sizeof(why));
		}
	}
	if (o == OPEN_OK && read_summaries(h) != SQLITE_OK)
		log_warn("history: cannot read the pipelines' last runs: %s; health starts "
		         "afresh, ignoring",
		         sqlite3_errmsg(h->wdb));
	if (o != OPEN_OK) {
		/* Given up on (the loop said why) or stopping: nothing to add. */
		pthread_mutex_lock(&h->lock);
		quiet = h->gave_up || h->stop;
		pthread_mutex_unlock(&h->lock);
		if (asprintf(&h->disabled, "cannot open %s: %s", h->path ? h->path : "", why) < 0)
			h->disabled = NULL;
		if (!quiet)
			log_err("history: %s; run history is disabled",
			        h->disabled ? h->disabled : "cannot open the database");
		if (!h->disabled)
			h->disabled = strdup("cannot open the database");
	}
	pthread_mutex_lock(&h->lock);
	if (h->gave_up && o == OPEN_OK) {
		/* Too late: the daemon went on without it (history_wait_open). */
		sqlite3_close(h->rdb);
		sqlite3_close(h->wdb);
		h->wdb = h->rdb = NULL;
	}
	h->open_done = true;
	/* The loop hears of it before anyone waiting for it does (under the
	 * lock): an answer the reader posts after this comes after it. */
	if (h->on_open)
		loop_post(h->loop, &h->open_msg, history_report_open, h);
	pthread_cond_broadcast(&h->opened);
	pthread_mutex_unlock(&h->lock);
}

struct history *
history_new(const char *dir, const struct history_limits *lim, struct loop *loop)
{
	struct history *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->names_lock, NULL);
	pthread_cond_init(&h->wake, NULL);
	pthread_cond_init(&h->flushed, NULL);
	pthread_cond_init(&h->rq_wake, NULL);
	pthread_cond_init(&h->opened, NULL);
	h->tail = &h->head;
	h->rq_tail = &h->rq_head;
	h->loop = loop;
	h->lim = *lim;
	h->next_id = 1;
	h->path = path_join(dir, "history.db");
	if (!h->path)
		return history_free(h);
	/* Without a loop (tests, the bench, tools) the caller waits for it. */
	if (!loop) {
		history_open(h);
		if (h->disabled)
			return h;
	}
	if (pthread_create(&h->thread, NULL, history_writer_main, h) != 0) {
		log_err("history: cannot start the writer thread; run history is disabled");
		pthread_mutex_lock(&h->lock);
		if (!h->open_done) {
			h->disabled = strdup("cannot start the writer thread");
			h->open_done = true;
		} else {
			h->gave_up = true;
		}
		pthread_mutex_unlock(&h->lock);
		return h;
	}
	h->have_thread = true;
	if (loop) {
		if (pthread_create(&h->reader, NULL, history_reader_main, h) != 0)
			log_err("history: cannot start the reader thread; queries are refused");
		else
			h->have_reader = true;
	}
	return h;
}

struct history *
history_free(struct history *h)
{
	if (!h)
		return NULL;
	pthread_mutex_lock(&h->lock);
	h->stop = true;
	pthread_cond_signal(&h->wake);
	pthread_cond_signal(&h->rq_wake);
	/* A reader waiting for the open (history_wait_open()) stops too. */
	pthread_cond_broadcast(&h->opened);
	pthread_mutex_unlock(&h->lock);
	h->open_timer = sd_event_source_disable_unref(h->open_timer);
	if (h->have_reader)
		pthread_join(h->reader, NULL);
	if (h->have_thread)
		pthread_join(h->thread, NULL);
	/* Answer the rest here (the loop has stopped): their owners let go. */
	while (h->rq_head) {
		struct history_request *rq = h->rq_head;

		h->rq_head = rq->next;
		rq->r = -ECANCELED;
		rq->done(rq);
	}
	while (h->answered) {
		struct history_request *rq = h->answered;

		h->answered = rq->next;
		rq->done(rq);
	}
	while (h->head) {
		struct history_run *r = h->head;

		h->head = r->queue_next;
		history_run_free(r);
	}
	sqlite3_close(h->rdb);
	sqlite3_close(h->wdb);
	pthread_cond_destroy(&h->wake);
	pthread_cond_destroy(&h->flushed);
	pthread_cond_destroy(&h->rq_wake);
	pthread_cond_destroy(&h->opened);
	pthread_mutex_destroy(&h->lock);
	for (size_t i = 0; i < h->n_summaries; i++)
		free((char *)h->summaries[i].pipeline);
	free(h->summaries);
	history_names_done(h);
	pthread_mutex_destroy(&h->names_lock);
	free(h->disabled);
	free(h->path);
	free(h);
	return NULL;
}

const char *
history_disabled(struct history *h)
{
	const char *why;

	if (!h)
		return "not opened";
	if (history_wait_open(h))
		return NULL;
	pthread_mutex_lock(&h->lock);
	why = h->gave_up ? "the database took too long to open" : h->disabled;
	pthread_mutex_unlock(&h->lock);
	return why;
}

uint64_t
history_next_id(struct history *h)
{
	return history_wait_open(h) ? h->next_id : 1;
}

int
history_pipeline_summaries(struct history *h,
                           void (*fn)(const struct history_summary *s, void *userdata),
                           void *userdata)
{
	if (!history_wait_open(h))
		return -ENODEV;
	for (size_t i = 0; i < h->n_summaries; i++)
		fn(&h->summaries[i], userdata);
	return 0;
}

void
history_set_limits(struct history *h, const struct history_limits *lim)
{
	pthread_mutex_lock(&h->lock);
	h->lim = *lim;
	h->limits_changed = true;
	pthread_cond_signal(&h->wake);
	pthread_mutex_unlock(&h->lock);
}

size_t
history_output_max(const struct history *h)
{
	size_t n;

	if (!h)
		return 0;
	/* Before the database is open, as if it will be. */
	pthread_mutex_lock((pthread_mutex_t *)&h->lock);
	n = h->gave_up || (h->open_done && h->disabled) ? 0 : h->lim.output_max;
	pthread_mutex_unlock((pthread_mutex_t *)&h->lock);
	return n;
}

uint64_t
history_batches(const struct history *h)
{
	uint64_t n;

	pthread_mutex_lock((pthread_mutex_t *)&h->lock);
	n = h->batches;
	pthread_mutex_unlock((pthread_mutex_t *)&h->lock);
	return n;
}

const uint64_t history_write_bucket_usec[HISTORY_WRITE_BUCKETS - 1] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
};

size_t
history_write_bucket(uint64_t usec)
{
	size_t b = 0;

	while (b < HISTORY_WRITE_BUCKETS - 1 && usec > history_write_bucket_usec[b])
		b++;
	return b;
}

/* history.db and its -wal: what the history takes on disk. */
static uint64_t
database_bytes(const char *path)
{
	char wal[4200];
	struct stat st;
	uint64_t n = 0;

	if (stat(path, &st) == 0)
		n += (uint64_t)st.st_size;
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (stat(wal, &st) == 0)
		n += (uint64_t)st.st_size;
	return n;
}

void
history_stats(const struct history *h, struct history_stats *ret)
{
	pthread_mutex_t *lock;

	*ret = (struct history_stats){ 0 };
	if (!h)
		return;
	lock = (pthread_mutex_t *)&h->lock;
	pthread_mutex_lock(lock);
	/* While it opens, as if it will be: the loop must not wait for it. */
	if (h->gave_up || (h->open_done && h->disabled)) {
		pthread_mutex_unlock(lock);
		return;
	}
	ret->enabled = true;
	/* history_open() counts them before it sets open_done. */
	ret->rows = h->open_done ? h->rows : 0;
	ret->writes = h->writes;
	ret->write_errors = h->write_errors;
	ret->queue_depth = h->queued - h->written;
	ret->write_usec_sum = h->write_usec_sum;
	for (size_t b = 0; b < HISTORY_WRITE_BUCKETS; b++) {
		ret->write_buckets[b] = h->write_buckets[b];
		ret->write_count += h->write_buckets[b];
	}
	pthread_mutex_unlock(lock);
	ret->bytes = database_bytes(h->path);
}

void
history_record(struct history *h, struct history_run *r)
{
	bool wake = true;

	if (!r)
		return;
	if (!h) {
		history_run_free(r);
		return;
	}
	r->queue_next = NULL;
	pthread_mutex_lock(&h->lock);
	/* Before the database is open, queued for when it is. */
	if (h->gave_up || (h->open_done && h->disabled)) {
		pthread_mutex_unlock(&h->lock);
		history_run_free(r);
		return;
	}
	*h->tail = r;
	h->tail = &r->queue_next;
	h->queued++;
	/* A start waits for its end, or for the writer's deadline, unless the
	 * writer sleeps without one (history_writer.c). */
	if (r->ended_usec)
		h->ends_queued++;
	else
		wake = h->writer_idle;
	pthread_mutex_unlock(&h->lock);
	/*
	 * After the unlock: a writer woken while the lock is held would only
	 * block on it, and the unlock would have to wake it a second time.
	 * No system call at all while the writer is busy (no waiter).
	 */
	if (wake)
		pthread_cond_signal(&h->wake);
}

int
history_flush(struct history *h)
{
	if (!history_wait_open(h))
		return -ENODEV;
	pthread_mutex_lock(&h->lock);
	{
		uint64_t target = h->queued;

		if (h->written < target) {
			h->flush_asked = true;
			pthread_cond_signal(&h->wake);
		}
		while (h->written < target)
			pthread_cond_wait(&h->flushed, &h->lock);
	}
	pthread_mutex_unlock(&h->lock);
	return 0;
}

int
history_flush_timeout(struct history *h, uint64_t usec)
{
	uint64_t until = now_usec(CLOCK_REALTIME) + usec;
	struct timespec ts = { .tv_sec = (time_t)(until / USEC_PER_SEC),
		               .tv_nsec = (long)(until % USEC_PER_SEC) * 1000 };
	int r = 0;

	if (!history_wait_open(h))
		return -ENODEV;
	pthread_mutex_lock(&h->lock);
	{
		uint64_t target = h->queued;

		if (h->written < target) {
			h->flush_asked = true;
			pthread_cond_signal(&h->wake);
		}
		while (h->written < target && r == 0)
			if (pthread_cond_timedwait(&h->flushed, &h->lock, &ts) == ETIMEDOUT)
				r = -ETIMEDOUT;
	}
	pthread_mutex_unlock(&h->lock);
	return r;
}
