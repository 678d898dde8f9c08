/* SPDX-License-Identifier: MIT */
/*
 * Small state files of STATE_DIR that change while the daemon runs, and the
 * start-up cleanup of what an interrupted write left there.
 *
 * A state store keeps "NAME VALUE" records (the last fire time of each
 * persistent schedule) for the loop thread, which reads and sets them in
 * memory only. Every set also lands, coalesced by name, in a pending map
 * under a mutex; a writer thread of the store's own (started by the first
 * change, see writer_start_locked()) takes the whole pending
 * map at once, merges it into its copy of the file and rewrites the file
 * with write_file_atomic() (temporary, fsync, rename, fsync of the
 * directory), at most once per interval, and after a short settling delay so
 * that a burst of fires (every schedule due on the same minute) is one
 * write. So the loop's cost is O(changed records) and it never writes or
 * fsyncs; a kill -9 at any moment leaves the previous or the next complete
 * file; values never go backwards. The price: updates of the last interval
 * before a crash may be lost (a schedule then counts as missed once more).
 *
 * Locking: one mutex per store, held only to move records into the pending
 * map, to swap it out, and for the counters; never during I/O.
 */
#include "state.h"

#include "cleanup.h"
#include "config.h"
#include "hashmap.h"
#include "thread_role.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STATE_FILE_MAX (16u << 20)

struct record {
	char *name; /* owned; the map's key */
	int64_t value;
};

struct state_store {
	char *path;
	char *header;
	uint64_t interval_usec;
	uint64_t settle_usec;

	struct hashmap values; /* owner's thread only: name -> struct record */

	pthread_mutex_t lock;
	pthread_cond_t wake;         /* to the writer: pending, kick or stop */
	pthread_cond_t written;      /* to flushers: seq_written moved */
	struct hashmap pending;      /* lock: name -> struct record, coalesced */
	uint64_t first_pending_usec; /* lock: when pending became non-empty */
	uint64_t seq_set;            /* lock: sets so far */
	uint64_t seq_written;        /* lock: sets that a write has dealt with */
	int last_error;              /* lock: of the last write */
	uint64_t writes;             /* lock */
	bool kick, stop;             /* lock */

	struct hashmap file;      /* writer thread only: what the file holds */
	uint64_t last_write_usec; /* writer thread only */
	bool warned;              /* writer thread only */
	pthread_t thread;
	bool thread_started; /* lock */
	bool start_failed;   /* lock */
};

static struct record *
record_new(const char *name, int64_t value)
{
	struct record *r = calloc(1, sizeof(*r));

	if (!r || !(r->name = strdup(name))) {
		free(r);
		return NULL;
	}
	r->value = value;
	return r;
}

static void
records_free(struct hashmap *m)
{
	struct record *r;

	for (size_t i = 0; hashmap_next(m, &i, NULL, (void **)&r);) {
		free(r->name);
		free(r);
	}
	hashmap_done(m);
}

/* Sets name in m to value unless it holds more. -ENOMEM. */
static int
records_raise(struct hashmap *m, const char *name, int64_t value)
{
	struct record *r = hashmap_get(m, name);

	if (r) {
		r->value = MAX(r->value, value);
		return 0;
	}
	r = record_new(name, value);
	if (!r || hashmap_put(m, r->name, r) < 0) {
		if (r)
			free(r->name);
		free(r);
		return -ENOMEM;
	}
	return 0;
}

/*
 * A damaged file is kept for a post-mortem as PATH.corrupt (replacing an
 * older one), and what could be read of it is written out again soon.
 * Before the writer starts.
 */
static void
move_aside(struct state_store *st, size_t skipped)
{
	_cleanup_free_ char *aside = NULL;
	struct record *rec;

	if (asprintf(&aside, "%s.corrupt", st->path) < 0) {
		aside = NULL;
		log_warn("%s: %zu lines that are not \"NAME VALUE\", ignoring", st->path, skipped);
		return;
	}
	if (rename(st->path, aside) < 0) {
		log_warn("%s: %zu lines that are not \"NAME VALUE\", ignoring; cannot move it "
		         "aside: %s",
		         st->path, skipped, strerror(errno));
		return;
	}
	log_warn("%s: %zu lines that are not \"NAME VALUE\": moved aside to %s, keeping the "
	         "rest",
	         st->path, skipped, aside);
	for (size_t i = 0; hashmap_next(&st->file, &i, NULL, (void **)&rec);)
		if (records_raise(&st->pending, rec->name, rec->value) < 0)
			break;
	st->first_pending_usec = now_usec(CLOCK_MONOTONIC);
	st->seq_set++;
}

/* "NAME VALUE" lines; anything else is skipped, not trusted. */
static void
load(struct state_store *st)
{
	_cleanup_free_ char *text = NULL;
	char *line, *save = NULL;
	size_t skipped = 0;
	int r = read_file(st->path, STATE_FILE_MAX, &text, NULL);

	if (r == -ENOENT)
		return;
	if (r < 0) {
		log_warn("%s: cannot read: %s, ignoring", st->path,
		         r == -EBADFD ? "not a regular file" : strerror(-r));
		return;
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' '), *end;
		long long v;

		if (line[0] == '#')
			continue;
		if (!sp) {
			skipped++;
			continue;
		}
		*sp = 0;
		errno = 0;
		v = strtoll(sp + 1, &end, 10);
		if (errno || end == sp + 1 || *end || v < 0 || !config_name_valid(line)) {
			skipped++;
			continue;
		}
		if (records_raise(&st->values, line, v) < 0 ||
		    records_raise(&st->file, line, v) < 0)
			break;
	}
	if (skipped)
		move_aside(st, skipped);
}

/* Writer thread. */
static int
write_out(struct state_store *st)
{
	struct record *rec;
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	int r;

	if (!f)
		return -ENOMEM;
	fprintf(f, "%s\n", st->header);
	for (size_t i = 0; hashmap_next(&st->file, &i, NULL, (void **)&rec);)
		fprintf(f, "%s %lld\n", rec->name, (long long)rec->value);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	r = write_file_atomic(st->path, buf, size, 0644);
	free(buf);
	if (r < 0 && !st->warned) {
		log_warn_errno(r,
		               "%s: cannot write: %m; persistent schedules will not catch up after "
		               "a restart",
		               st->path);
		st->warned = true;
	} else if (r >= 0 && st->warned) {
		log_notice("%s: written again", st->path);
		st->warned = false;
	}
	return r;
}

static void
wait_until(struct state_store *st, uint64_t due_usec)
{
	struct timespec ts = { .tv_sec = (time_t)(due_usec / USEC_PER_SEC),
		               .tv_nsec = (long)(due_usec % USEC_PER_SEC) * 1000 };

	(void)pthread_cond_timedwait(&st->wake, &st->lock, &ts);
}

static void *
writer_main(void *userdata)
{
	struct state_store *st = userdata;

	thread_role("ginid-state", true);
	pthread_mutex_lock(&st->lock);
	for (;;) {
		struct hashmap batch;
		struct record *rec;
		uint64_t seq;
		int r = 0;

		while (!st->stop && !st->kick && st->pending.n == 0)
			pthread_cond_wait(&st->wake, &st->lock);
		if (st->pending.n == 0) {
			if (st->stop)
				break;
			st->kick = false;
			continue;
		}
		if (!st->stop && !st->kick) {
			uint64_t due = MAX(st->last_write_usec + st->interval_usec,
			                   st->first_pending_usec + st->settle_usec);

			if (now_usec(CLOCK_MONOTONIC) < due) {
				wait_until(st, due);
				continue;
			}
		}
		st->kick = false;
		batch = st->pending;
		hashmap_init(&st->pending);
		seq = st->seq_set;
		pthread_mutex_unlock(&st->lock);

		for (size_t i = 0; hashmap_next(&batch, &i, NULL, (void **)&rec);)
			if (records_raise(&st->file, rec->name, rec->value) < 0)
				r = -ENOMEM;
		records_free(&batch);
		if (r == 0)
			r = write_out(st);
		st->last_write_usec = now_usec(CLOCK_MONOTONIC);

		pthread_mutex_lock(&st->lock);
		st->seq_written = seq;
		st->last_error = r;
		st->writes++;
		pthread_cond_broadcast(&st->written);
	}
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

/*
 * The writer thread is started the first time there is something to write,
 * not with the store: a daemon has three stores, and most of them are never
 * written in a run (no persistent schedule fired, no `ginictl disable`), so
 * three threads made at every start, before READY=1, mostly slept until the
 * exit. 0, or -errno when the thread cannot be made (logged once). Locked.
 */
static int
writer_start_locked(struct state_store *st)
{
	sigset_t all, old;
	int r;

	if (st->thread_started)
		return 0;
	/* Signals are for the loop thread; the writer takes none. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&st->thread, NULL, writer_main, st);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		if (!st->start_failed)
			log_err("%s: cannot start its writer thread: %s; changes are kept in "
			        "memory only",
			        st->path, strerror(r));
		st->start_failed = true;
		return -r;
	}
	st->thread_started = true;
	return 0;
}

int
state_store_new(const char *path, const char *header, uint64_t interval_usec,
                struct state_store **ret)
{
	struct state_store *st = calloc(1, sizeof(*st));
	pthread_condattr_t ca;
	int r = 0;

	if (!st)
		return -ENOMEM;
	hashmap_init(&st->values);
	hashmap_init(&st->pending);
	hashmap_init(&st->file);
	pthread_mutex_init(&st->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&st->written, NULL);
	st->interval_usec = interval_usec;
	st->settle_usec = interval_usec / 5;
	/* The interval counts from the start, too. */
	st->last_write_usec = now_usec(CLOCK_MONOTONIC);
	st->path = strdup(path);
	st->header = strdup(header);
	if (!st->path || !st->header) {
		state_store_free(st);
		return -ENOMEM;
	}
	load(st);
	/* A damaged file's rest is written out again soon (move_aside()). */
	pthread_mutex_lock(&st->lock);
	if (st->pending.n > 0)
		r = writer_start_locked(st);
	pthread_mutex_unlock(&st->lock);
	if (r < 0) {
		state_store_free(st);
		return r;
	}
	*ret = st;
	return 0;
}

struct state_store *
state_store_free(struct state_store *st)
{
	if (!st)
		return NULL;
	if (st->thread_started) {
		pthread_mutex_lock(&st->lock);
		st->stop = true;
		pthread_cond_signal(&st->wake);
		pthread_mutex_unlock(&st->lock);
		pthread_join(st->thread, NULL);
	}
	records_free(&st->values);
	records_free(&st->pending);
	records_free(&st->file);
	pthread_cond_destroy(&st->wake);
	pthread_cond_destroy(&st->written);
	pthread_mutex_destroy(&st->lock);
	free(st->path);
	free(st->header);
	free(st);
	return NULL;
}

bool
state_store_get(struct state_store *st, const char *name, int64_t *ret_value)
{
	struct record *r = st ? hashmap_get(&st->values, name) : NULL;

	if (!r)
		return false;
	*ret_value = r->value;
	return true;
}

void
state_store_set(struct state_store *st, const char *name, int64_t value)
{
	struct record *r;

	if (!st)
		return;
	r = hashmap_get(&st->values, name);
	if (r && r->value >= value)
		return;
	if (records_raise(&st->values, name, value) < 0) {
		log_err("%s: out of memory recording '%s'", st->path, name);
		return;
	}
	pthread_mutex_lock(&st->lock);
	if (st->pending.n == 0) {
		st->first_pending_usec = now_usec(CLOCK_MONOTONIC);
		pthread_cond_signal(&st->wake);
	}
	if (records_raise(&st->pending, name, value) < 0)
		log_err("%s: out of memory recording '%s'", st->path, name);
	st->seq_set++;
	(void)writer_start_locked(st);
	pthread_mutex_unlock(&st->lock);
}

void
state_store_kick(struct state_store *st)
{
	if (!st)
		return;
	pthread_mutex_lock(&st->lock);
	st->kick = true;
	pthread_cond_signal(&st->wake);
	/* Nothing pending and no writer: nothing to write now. */
	if (st->pending.n > 0)
		(void)writer_start_locked(st);
	pthread_mutex_unlock(&st->lock);
}

int
state_store_flush(struct state_store *st)
{
	uint64_t target;
	int r;

	if (!st)
		return 0;
	pthread_mutex_lock(&st->lock);
	target = st->seq_set;
	st->kick = true;
	pthread_cond_signal(&st->wake);
	r = st->seq_written < target ? writer_start_locked(st) : 0;
	while (r >= 0 && st->seq_written < target)
		pthread_cond_wait(&st->written, &st->lock);
	if (r >= 0)
		r = st->last_error;
	pthread_mutex_unlock(&st->lock);
	return r;
}

uint64_t
state_store_writes(struct state_store *st)
{
	uint64_t n;

	if (!st)
		return 0;
	pthread_mutex_lock(&st->lock);
	n = st->writes;
	pthread_mutex_unlock(&st->lock);
	return n;
}

/* Start-up cleanup. */

/* The PID of "NAME.tmp.PID" if entry is one for one of names; else 0. */
static pid_t
temporary_pid(const char *entry, const char *const *names, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		size_t l = strlen(names[k]);
		const char *p = entry + l + 5;
		long long pid = 0;

		if (strncmp(entry, names[k], l) != 0 || strncmp(entry + l, ".tmp.", 5) != 0 || !*p)
			continue;
		for (; *p >= '0' && *p <= '9' && pid <= INT32_MAX; p++)
			pid = pid * 10 + (*p - '0');
		if (!*p && pid > 0 && pid <= INT32_MAX)
			return (pid_t)pid;
	}
	return 0;
}

void
state_clean_temporaries(const char *dir, const char *const *names, size_t n)
{
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		pid_t pid = temporary_pid(de->d_name, names, n);

		if (!pid)
			continue;
		/* Another process's write in progress is left alone. */
		if (pid != getpid() && (kill(pid, 0) == 0 || errno == EPERM))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) < 0)
			log_warn("%s/%s: cannot remove a stale temporary file: %s, ignoring", dir,
			         de->d_name, strerror(errno));
		else
			log_notice("%s/%s: removed a temporary file left by an interrupted write",
			           dir, de->d_name);
	}
}
