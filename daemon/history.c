/* SPDX-License-Identifier: MIT */
/*
 * The run history (history.h): STATE_DIR/history.db in SQLite.
 *
 * Writing: the loop (or anyone) queues whole run records under a mutex and
 * signals the writer thread, which owns the read-write connection. It takes
 * everything queued and writes it in one transaction; now and then (see
 * RETENTION_EVERY_RUNS), when the oldest run expires, and at the end, that
 * transaction also deletes at most RETENTION_BATCH of the oldest runs beyond
 * history_max_runs or older than history_max_age, so retention is
 * incremental and never turns into a long delete. The WAL with synchronous=NORMAL makes each
 * commit survive the death of the process: kill -9 loses at most what was still queued, which is
 * the runs that had not ended (their "running" rows, if already written, become "interrupted" at
 * the next start).
 *
 * Reading: a reader thread with a read-only connection of its own answers
 * requests from the loop (history_submit) and posts each answer back, so the
 * loop never waits on the disk. WAL readers see the last commit and never
 * wait for the writer; a progress handler cuts a query off after
 * READ_BUDGET_USEC so one query cannot hold up those behind it.
 *
 * Schema versions are PRAGMA user_version; migrate() brings an older file up
 * step by step. A file that is not a database, fails quick_check, or carries
 * a newer version is renamed history.db.corrupt-TIMESTAMP (with its -wal and
 * -shm) and a fresh one created. Lock order: h->lock only (a leaf); the
 * reader waits for the writer (history_flush_timeout) without holding it.
 */
#include "history.h"

#include "log.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SCHEMA_VERSION 1
/* Runs deleted per pass at most. */
#define RETENTION_BATCH 500
/*
 * A pass finds the count limit with a walk over max_runs ids, so it runs
 * once every max_runs / RETENTION_WALK_PER_RUN runs written (at most every
 * RETENTION_EVERY_RUNS), not after every batch; for the age limit the writer
 * wakes when the oldest run expires, and not otherwise (no idle wake-ups).
 */
#define RETENTION_EVERY_RUNS   200
#define RETENTION_WALK_PER_RUN 50
/* A query is cut off after this long: it holds up the queries behind it. */
#define READ_BUDGET_USEC (2 * USEC_PER_SEC)

struct item {
	struct item *next;
	struct history_run *run;
};

struct history {
	struct loop *loop; /* NULL: no reader thread */
	pthread_t reader;
	bool have_reader;
	char *path;
	char *disabled; /* reason, or NULL */
	uint64_t next_id;
	sqlite3 *wdb; /* writer thread's */
	sqlite3 *rdb; /* loop's */
	pthread_t thread;
	bool have_thread;

	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t wake, flushed;
	struct item *head, **tail;
	uint64_t queued, written; /* items */
	bool stop;
	bool limits_changed; /* the writer passes again at once */
	struct history_limits lim;
	struct history_request *rq_head, **rq_tail; /* for the reader */
	pthread_cond_t rq_wake;
	/* Answered, for the loop: one message drains them all, so that
	 * history_free() can answer what the loop never picked up. */
	struct history_request *answered;
	bool answer_posted;
	struct loop_msg answer_msg;
	uint64_t batches;
	uint64_t read_deadline; /* loop thread only */
};

void
history_run_free(struct history_run *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_steps; i++) {
		if (!r->steps_packed) {
			free(r->steps[i].id);
			free(r->steps[i].stage);
			free(r->steps[i].message);
		}
		free(r->steps[i].output);
	}
	free(r->steps);
	free(r->pipeline);
	free(r->trigger);
	free(r->failed_step);
	free(r->message);
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
	/* The steps of a run, in execution order, in one value (encode_steps):
	 * one row per run keeps a 1000-step run one insert. */
	"ALTER TABLE runs ADD COLUMN steps BLOB",
	/* Their output, apart, so listing runs never reads it (encode_output). */
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
	/* Later versions: if (rc == SQLITE_OK && from < 2) rc = ...; */
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
	sqlite3_busy_timeout(h->wdb, 5000);
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

static void *writer_main(void *data);
static void *reader_main(void *data);

struct history *
history_new(const char *dir, const struct history_limits *lim, struct loop *loop)
{
	struct history *h = calloc(1, sizeof(*h));
	char why[512] = "", moved[4200];
	enum open_outcome o;

	if (!h)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->wake, NULL);
	pthread_cond_init(&h->flushed, NULL);
	pthread_cond_init(&h->rq_wake, NULL);
	h->tail = &h->head;
	h->rq_tail = &h->rq_head;
	h->loop = loop;
	h->lim = *lim;
	h->next_id = 1;
	h->path = path_join(dir, "history.db");
	if (!h->path)
		return history_free(h);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		snprintf(why, sizeof(why), "cannot create %s: %s", dir, strerror(errno));
		o = OPEN_FAIL;
	} else {
		o = try_open(h, why, sizeof(why));
	}
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
	if (o != OPEN_OK) {
		if (asprintf(&h->disabled, "cannot open %s: %s", h->path, why) < 0)
			h->disabled = NULL;
		log_err("history: %s; run history is disabled",
		        h->disabled ? h->disabled : "cannot open the database");
		if (!h->disabled)
			h->disabled = strdup("cannot open the database");
		return h;
	}
	if (pthread_create(&h->thread, NULL, writer_main, h) != 0) {
		log_err("history: cannot start the writer thread; run history is disabled");
		h->disabled = strdup("cannot start the writer thread");
		sqlite3_close(h->wdb);
		sqlite3_close(h->rdb);
		h->wdb = h->rdb = NULL;
		return h;
	}
	h->have_thread = true;
	if (loop) {
		if (pthread_create(&h->reader, NULL, reader_main, h) != 0) {
			log_err("history: cannot start the reader thread; run history is disabled");
			h->disabled = strdup("cannot start the reader thread");
			return h;
		}
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
	pthread_mutex_unlock(&h->lock);
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
		struct item *it = h->head;

		h->head = it->next;
		history_run_free(it->run);
		free(it);
	}
	sqlite3_close(h->rdb);
	sqlite3_close(h->wdb);
	pthread_cond_destroy(&h->wake);
	pthread_cond_destroy(&h->flushed);
	pthread_cond_destroy(&h->rq_wake);
	pthread_mutex_destroy(&h->lock);
	free(h->disabled);
	free(h->path);
	free(h);
	return NULL;
}

const char *
history_disabled(const struct history *h)
{
	return h ? h->disabled : "not opened";
}

uint64_t
history_next_id(const struct history *h)
{
	return h ? h->next_id : 1;
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

	if (!h || h->disabled)
		return 0;
	pthread_mutex_lock((pthread_mutex_t *)&h->lock);
	n = h->lim.output_max;
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

void
history_record(struct history *h, struct history_run *r)
{
	struct item *it;

	if (!h || h->disabled || !(it = calloc(1, sizeof(*it)))) {
		history_run_free(r);
		return;
	}
	it->run = r;
	pthread_mutex_lock(&h->lock);
	*h->tail = it;
	h->tail = &it->next;
	h->queued++;
	pthread_cond_signal(&h->wake);
	pthread_mutex_unlock(&h->lock);
}

int
history_flush(struct history *h)
{
	if (!h || h->disabled)
		return -ENODEV;
	pthread_mutex_lock(&h->lock);
	{
		uint64_t target = h->queued;

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

	if (!h || h->disabled)
		return -ENODEV;
	pthread_mutex_lock(&h->lock);
	{
		uint64_t target = h->queued;

		while (h->written < target && r == 0)
			if (pthread_cond_timedwait(&h->flushed, &h->lock, &ts) == ETIMEDOUT)
				r = -ETIMEDOUT;
	}
	pthread_mutex_unlock(&h->lock);
	return r;
}

/* Writer thread. */

struct wstmts {
	sqlite3_stmt *run, *del_output, *output, *old, *cut, *del_run, *oldest;
};

/*
 * A run's steps as one value: per step a line
 * "ID\tSTAGE\tRESULT\tATTEMPTS\tDURATION_US\tFIRST_SEQ\tTRUNCATED\tMSGLEN\n" and
 * MSGLEN bytes of message. Ids are identifiers (config.c), never holding a
 * tab or newline.
 */
/* Appends the decimal digits of v at q; returns the end. */
static char *
put_u64(char *q, unsigned long long v)
{
	char tmp[24];
	size_t n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	while (n > 0)
		*q++ = tmp[--n];
	return q;
}

static char *
encode_steps(const struct history_run *r, size_t *ret_len)
{
	size_t size = 1;
	char *buf, *q;

	/* Formatted by hand: the writer does this for every step of every run. */
	for (size_t i = 0; i < r->n_steps; i++) {
		const struct history_step *s = &r->steps[i];

		size += strlen(s->id) + (s->stage ? strlen(s->stage) : 0) + strlen(s->result) +
		        (s->message ? strlen(s->message) : 0) + 5 * 21 + 8;
	}
	buf = q = malloc(size);
	if (!buf)
		return NULL;
	for (size_t i = 0; i < r->n_steps; i++) {
		const struct history_step *s = &r->steps[i];
		size_t ml = s->message ? strlen(s->message) : 0;

		q = stpcpy(q, s->id);
		*q++ = '\t';
		q = stpcpy(q, s->stage ? s->stage : "");
		*q++ = '\t';
		q = stpcpy(q, s->result);
		*q++ = '\t';
		q = put_u64(q, s->attempts);
		*q++ = '\t';
		q = put_u64(q, s->duration_usec);
		*q++ = '\t';
		q = put_u64(q, s->output_first_seq);
		*q++ = '\t';
		*q++ = s->output_truncated ? '1' : '0';
		*q++ = '\t';
		q = put_u64(q, ml);
		*q++ = '\n';
		if (ml) {
			memcpy(q, s->message, ml);
			q += ml;
		}
	}
	*ret_len = (size_t)(q - buf);
	return buf;
}

/* The steps' output: per step that has some, "#INDEX LEN\n" and LEN bytes. */
static char *
encode_output(const struct history_run *r, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0;
	bool any = false;
	FILE *f;

	for (size_t i = 0; i < r->n_steps && !any; i++)
		any = r->steps[i].output_len > 0;
	if (!any || !(f = open_memstream(&buf, &len)))
		return NULL;
	for (size_t i = 0; i < r->n_steps; i++)
		if (r->steps[i].output_len) {
			fprintf(f, "#%zu %zu\n", i, r->steps[i].output_len);
			fwrite(r->steps[i].output, 1, r->steps[i].output_len, f);
		}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	*ret_len = len;
	return buf;
}

static void
bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static int
write_run(struct wstmts *w, const struct history_run *r)
{
	_cleanup_free_ char *steps = NULL, *output = NULL;
	size_t steps_len = 0, output_len = 0;
	int rc;

	if (r->n_steps) {
		steps = encode_steps(r, &steps_len);
		output = encode_output(r, &output_len);
		if (!steps)
			return SQLITE_NOMEM;
	}
	sqlite3_reset(w->run);
	sqlite3_bind_int64(w->run, 1, (sqlite3_int64)r->id);
	bind_text(w->run, 2, r->pipeline);
	sqlite3_bind_int64(w->run, 3, (sqlite3_int64)r->generation);
	bind_text(w->run, 4, r->trigger);
	sqlite3_bind_int64(w->run, 5, r->started_usec);
	if (r->ended_usec)
		sqlite3_bind_int64(w->run, 6, r->ended_usec);
	else
		sqlite3_bind_null(w->run, 6);
	bind_text(w->run, 7, r->result);
	bind_text(w->run, 8, r->failed_step);
	bind_text(w->run, 9, r->message);
	if (steps)
		sqlite3_bind_blob(w->run, 10, steps, (int)steps_len, SQLITE_STATIC);
	else
		sqlite3_bind_null(w->run, 10);
	rc = sqlite3_step(w->run);
	sqlite3_reset(w->run);
	if (rc != SQLITE_DONE)
		return rc;
	if (!output)
		return SQLITE_OK;
	sqlite3_reset(w->output);
	sqlite3_bind_int64(w->output, 1, (sqlite3_int64)r->id);
	sqlite3_bind_blob(w->output, 2, output, (int)output_len, SQLITE_STATIC);
	rc = sqlite3_step(w->output);
	sqlite3_reset(w->output);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Deletes at most budget of the oldest runs beyond the limits. */
static int
retention(struct wstmts *w, const struct history_limits *lim, unsigned budget, size_t *ret_deleted)
{
	sqlite3_int64 cut = 0, ids[RETENTION_BATCH];
	size_t n = 0;
	int rc;

	sqlite3_reset(w->cut);
	sqlite3_bind_int64(w->cut, 1, (sqlite3_int64)lim->max_runs);
	rc = sqlite3_step(w->cut);
	if (rc == SQLITE_ROW)
		cut = sqlite3_column_int64(w->cut, 0);
	else if (rc != SQLITE_DONE)
		return rc;
	if (budget > RETENTION_BATCH)
		budget = RETENTION_BATCH;
	sqlite3_reset(w->old);
	sqlite3_bind_int64(w->old, 1, cut);
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
		rc = sqlite3_prepare_v3(db,
		                        "SELECT id FROM runs ORDER BY id DESC LIMIT 1 OFFSET ?1",
		                        -1, SQLITE_PREPARE_PERSISTENT, &w->cut, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v3(
		        db,
		        "SELECT id FROM runs WHERE id <= ?1 UNION "
		        "SELECT id FROM runs WHERE started < ?2 ORDER BY 1 LIMIT ?3",
		        -1, SQLITE_PREPARE_PERSISTENT, &w->old, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v3(db, "DELETE FROM runs WHERE id = ?1", -1,
		                        SQLITE_PREPARE_PERSISTENT, &w->del_run, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v3(db, "SELECT min(started) FROM runs", -1,
		                        SQLITE_PREPARE_PERSISTENT, &w->oldest, NULL);
	return rc;
}

static void
finalize_writer(struct wstmts *w)
{
	sqlite3_finalize(w->run);
	sqlite3_finalize(w->del_output);
	sqlite3_finalize(w->output);
	sqlite3_finalize(w->cut);
	sqlite3_finalize(w->old);
	sqlite3_finalize(w->del_run);
	sqlite3_finalize(w->oldest);
}

/*
 * A "running" row whose run's end is queued right behind it need not be
 * written: short runs would otherwise cost two rows each. Looks a few items
 * ahead only; a miss just writes the row.
 */
static bool
ended_in_batch(const struct item *it)
{
	unsigned k = 0;

	if (it->run->ended_usec)
		return false;
	for (const struct item *j = it->next; j && k < 64; j = j->next, k++)
		if (j->run->id == it->run->id)
			return true;
	return false;
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

static void *
writer_main(void *data)
{
	struct history *h = data;
	struct wstmts w = { 0 };
	uint64_t last_err_usec = 0, since_pass = 0;
	int64_t due = 0;
	bool more = true; /* a pass at start: the limits may have changed */
	int rc;

	rc = prepare_writer(h->wdb, &w);
	if (rc != SQLITE_OK)
		log_err("history: cannot prepare statements: %s; runs will not be recorded",
		        sqlite3_errmsg(h->wdb));
	for (;;) {
		struct item *batch;
		struct history_limits lim;
		uint64_t n = 0, now;
		bool stop, pass;

		pthread_mutex_lock(&h->lock);
		while (!h->head && !h->stop && !h->limits_changed && !more) {
			struct timespec ts = { .tv_sec = (time_t)(due / (int64_t)USEC_PER_SEC),
				               .tv_nsec =
				                       (long)(due % (int64_t)USEC_PER_SEC) * 1000 };

			if (!due)
				pthread_cond_wait(&h->wake, &h->lock);
			else if (pthread_cond_timedwait(&h->wake, &h->lock, &ts) == ETIMEDOUT)
				break;
		}
		batch = h->head;
		h->head = NULL;
		h->tail = &h->head;
		stop = h->stop;
		lim = h->lim;
		more = more || h->limits_changed;
		h->limits_changed = false;
		pthread_mutex_unlock(&h->lock);

		for (struct item *it = batch; it; it = it->next)
			since_pass++;
		now = now_usec(CLOCK_MONOTONIC);
		pass = more || stop ||
		       since_pass >= MIN(RETENTION_EVERY_RUNS,
		                         lim.max_runs / RETENTION_WALK_PER_RUN + 1) ||
		       (due && (int64_t)now_usec(CLOCK_REALTIME) >= due);
		more = false;
		if ((batch || pass) && w.run) {
			size_t deleted = 0;

			rc = sqlite3_exec(h->wdb, "BEGIN", NULL, NULL, NULL);
			for (struct item *it = batch; rc == SQLITE_OK && it; it = it->next, n++)
				if (!ended_in_batch(it))
					rc = write_run(&w, it->run);
			if (rc == SQLITE_OK && pass) {
				rc = retention(&w, &lim, RETENTION_BATCH, &deleted);
				since_pass = 0;
				/* A full pass may have left more: go on at once. */
				more = deleted == RETENTION_BATCH;
			}
			if (rc == SQLITE_OK)
				rc = sqlite3_exec(h->wdb, "COMMIT", NULL, NULL, NULL);
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
			due = age_due(&w, &lim);
		}
		n = 0;
		while (batch) {
			struct item *it = batch;

			batch = it->next;
			history_run_free(it->run);
			free(it);
			n++;
		}
		pthread_mutex_lock(&h->lock);
		h->written += n;
		if (n)
			h->batches++;
		pthread_cond_broadcast(&h->flushed);
		if (stop && !h->head) {
			pthread_mutex_unlock(&h->lock);
			break;
		}
		pthread_mutex_unlock(&h->lock);
	}
	finalize_writer(&w);
	return NULL;
}

/* Readers (loop thread). */

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

static const char *
static_result(const unsigned char *s)
{
	static const char *const known[] = { "running",   "success",     "failed",
		                             "cancelled", "interrupted", "pending",
		                             "skipped",   "timed-out",   "abandoned" };

	for (size_t i = 0; s && i < ARRAY_SIZE(known); i++)
		if (strcmp((const char *)s, known[i]) == 0)
			return known[i];
	return "unknown";
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
	r->result = static_result(sqlite3_column_text(st, 6));
	r->failed_step = col_strdup(st, 7);
	r->message = col_strdup(st, 8);
}

static int decode_steps(struct history_run *r, const char *p, size_t len);

static int
read_run_steps(sqlite3_stmt *st, struct history_run *r)
{
	if (sqlite3_column_type(st, 9) == SQLITE_NULL)
		return SQLITE_OK;
	return decode_steps(r, sqlite3_column_blob(st, 9), (size_t)sqlite3_column_bytes(st, 9));
}

static void
run_clear(struct history_run *r)
{
	struct history_run *copy = malloc(sizeof(*copy));

	if (copy) {
		*copy = *r;
		history_run_free(copy);
	}
	*r = (struct history_run){ 0 };
}

/* Fills r->steps from an encode_steps() value; stops at a malformed record. */
static int
decode_steps(struct history_run *r, const char *p, size_t len)
{
	const char *end = p + len;
	size_t cap = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		char line[1024], *f[8], *q = line;
		unsigned long long attempts, dur, first, trunc, ml;
		struct history_step *s;
		size_t k;

		if (!nl || (size_t)(nl - p) >= sizeof(line))
			break;
		memcpy(line, p, (size_t)(nl - p));
		line[nl - p] = 0;
		for (k = 0; k < 8 && q; k++)
			f[k] = strsep(&q, "\t");
		if (k < 8 || q || sscanf(f[3], "%llu", &attempts) != 1 ||
		    sscanf(f[4], "%llu", &dur) != 1 || sscanf(f[5], "%llu", &first) != 1 ||
		    sscanf(f[6], "%llu", &trunc) != 1 || sscanf(f[7], "%llu", &ml) != 1)
			break;
		p = nl + 1;
		if (ml > (size_t)(end - p))
			break;
		if (r->n_steps == cap) {
			size_t c = cap ? cap * 2 : 8;
			struct history_step *v = realloc(r->steps, c * sizeof(*v));

			if (!v)
				return SQLITE_NOMEM;
			r->steps = v;
			cap = c;
		}
		s = &r->steps[r->n_steps++];
		*s = (struct history_step){ .id = strdup(f[0]),
			                    .stage = strdup(f[1]),
			                    .result = static_result((const unsigned char *)f[2]),
			                    .attempts = (unsigned)attempts,
			                    .duration_usec = dur,
			                    .output_first_seq = first,
			                    .output_truncated = trunc != 0,
			                    .message = ml ? strndup(p, ml) : NULL };
		p += ml;
	}
	return SQLITE_OK;
}

/* Hands each step its part of an encode_output() value. */
static void
decode_output(struct history_run *r, const char *p, size_t len)
{
	const char *end = p + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t idx, n;

		if (!nl || sscanf(p, "#%zu %zu", &idx, &n) != 2)
			break;
		p = nl + 1;
		if (n > (size_t)(end - p))
			break;
		if (idx < r->n_steps && !r->steps[idx].output) {
			r->steps[idx].output = malloc(n + 1);
			if (r->steps[idx].output) {
				memcpy(r->steps[idx].output, p, n);
				r->steps[idx].output[n] = 0;
				r->steps[idx].output_len = n;
			}
		}
		p += n;
	}
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

	if (!h || h->disabled)
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
	bind_text(st, 1, f->pipeline);
	bind_text(st, 2, f->result);
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
	if (!h || h->disabled)
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
		decode_output(r, sqlite3_column_blob(st, 10), (size_t)sqlite3_column_bytes(st, 10));
	sqlite3_finalize(st);
	if (rc != SQLITE_OK) {
		history_run_free(r);
		return read_error(h, rc, err, err_size);
	}
	*ret = r;
	return read_error(h, SQLITE_OK, err, err_size);
}

int
history_pipeline_summaries(struct history *h,
                           void (*fn)(const struct history_summary *s, void *userdata),
                           void *userdata)
{
	sqlite3_stmt *st;
	int rc;

	if (!h || h->disabled)
		return -ENODEV;
	/* Per pipeline: its last ended run, its last success, and the ended
	 * runs after that success. */
	rc = sqlite3_prepare_v2(
	        h->rdb,
	        "WITH p AS (SELECT pipeline, max(id) AS last_id, "
	        "  max(CASE WHEN result = 'success' THEN id END) AS ok_id "
	        "  FROM runs WHERE ended IS NOT NULL GROUP BY pipeline) "
	        "SELECT p.pipeline, p.last_id, l.started, l.result, o.ended, "
	        "  (SELECT count(*) FROM runs c WHERE c.pipeline = p.pipeline AND c.ended IS NOT "
	        "NULL "
	        "   AND c.id > coalesce(p.ok_id, 0)) "
	        "FROM p JOIN runs l ON l.id = p.last_id LEFT JOIN runs o ON o.id = p.ok_id",
	        -1, &st, NULL);
	if (rc != SQLITE_OK)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct history_summary s = {
			.pipeline = (const char *)sqlite3_column_text(st, 0),
			.last_run_id = (uint64_t)sqlite3_column_int64(st, 1),
			.last_run_usec = sqlite3_column_int64(st, 2),
			.last_result = static_result(sqlite3_column_text(st, 3)),
			.last_success_usec = sqlite3_column_int64(st, 4),
			.consecutive_failures = (uint64_t)sqlite3_column_int64(st, 5),
		};

		fn(&s, userdata);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
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

	(void)history_flush_timeout(h, READER_FLUSH_WAIT_USEC);
	if (rq->get)
		r = history_get(h, rq->id, &rq->run, rq->err, sizeof(rq->err));
	else
		r = history_query(h, &rq->filter, collect_run, rq, rq->err, sizeof(rq->err));
	if (rq->r == 0)
		rq->r = r;
}

static void *
reader_main(void *data)
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
	if (!h || h->disabled || !h->have_reader) {
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
