/* SPDX-License-Identifier: MIT */
/*
 * Logging. Every line goes to stderr in one write(2), so lines from several
 * threads never interleave, with a local timestamp and the level name.
 * Under systemd (JOURNAL_STREAM names our stderr) each line goes to the
 * journal's native socket instead (log_journal.c), with
 * PRIORITY and the GINI_PIPELINE, GINI_RUN, GINI_STEP, GINI_STAGE and
 * GINI_GENERATION fields of what it is about (`journalctl -u ginid
 * GINI_PIPELINE=backup`); should that fail, the line goes to stderr with a
 * "<N>" priority prefix, which journald turns into the entry's level. The
 * fields come from the caller (log_fields_full()) or from the thread
 * (log_set_fields(): a worker running a step). The level and the journal
 * sender are written once at start-up and read racily afterwards, which is
 * why they are atomics. The journal code, and libsystemd with it, is in a
 * file of its own that only a program calling log_open() links (ginid):
 * gini-worker, started for every isolated step, logs through a sink and
 * would pay for loading libsystemd at each start.
 */
#include "log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int max_level = LOG_INFO;
/* The journal's sender (log_journal.c), set by log_open() when stderr is
 * the journal; NULL: stderr. */
static _Atomic(log_journal_fn) journal;
static log_sink_fn sink;
static _Thread_local const struct log_fields *thread_fields;
static void *sink_userdata;

static const char *const level_names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert",     [LOG_CRIT] = "crit",
	[LOG_ERR] = "error",   [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
};

void
log_set_journal(log_journal_fn fn)
{
	atomic_store(&journal, fn);
}

int
log_to_journal(void)
{
	return atomic_load_explicit(&journal, memory_order_relaxed) != NULL;
}

void
log_set_level(int level)
{
	atomic_store(&max_level, level);
}

int
log_get_level(void)
{
	return atomic_load_explicit(&max_level, memory_order_relaxed);
}

int
log_level_from_string(const char *s)
{
	if (!strcmp(s, "warn"))
		return LOG_WARNING;
	if (!strcmp(s, "err"))
		return LOG_ERR;
	for (int i = LOG_ERR; i <= LOG_DEBUG; i++)
		if (!strcmp(s, level_names[i]))
			return i;
	return -EINVAL;
}

const char *
log_level_to_string(int level)
{
	if (level < 0 || level > LOG_DEBUG)
		return "?";
	return level_names[level];
}

void
log_set_sink(log_sink_fn fn, void *userdata)
{
	sink = fn;
	sink_userdata = userdata;
}

const struct log_fields *
log_set_fields(const struct log_fields *f)
{
	const struct log_fields *old = thread_fields;

	thread_fields = f;
	return old;
}

static void
log_write(int level, const struct log_fields *f, const char *fmt, va_list ap)
{
	char msg[4096], line[4200];
	int saved = errno, n;
	log_journal_fn send;

	if (level > log_get_level())
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* A message must not forge further lines in the journal or a terminal. */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	if (sink) {
		sink(level, msg, sink_userdata);
		errno = saved;
		return;
	}
	if ((send = atomic_load_explicit(&journal, memory_order_relaxed))) {
		char full[4096 + 16];

		/* MESSAGE= and the text, in one buffer for the iovec. */
		snprintf(full, sizeof(full), "MESSAGE=%s", msg);
		if (send(level, f ? f : thread_fields, full) >= 0) {
			errno = saved;
			return;
		}
		n = snprintf(line, sizeof(line), "<%d>%s\n", level, msg);
	} else {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		n = snprintf(line, sizeof(line), "%s.%03ld %s: %s\n", when, ts.tv_nsec / 1000000,
		             log_level_to_string(level), msg);
	}
	if (n >= (int)sizeof(line)) {
		n = sizeof(line);
		line[n - 1] = '\n';
	}
	/* Nothing sensible can be done if stderr is gone. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		(void)0;
	errno = saved;
}

void
log_fullv(int level, const char *fmt, va_list ap)
{
	log_write(level, NULL, fmt, ap);
}

void
log_fields_full(int level, const struct log_fields *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(level, f, fmt, ap);
	va_end(ap);
}

void
log_full(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_fullv(level, fmt, ap);
	va_end(ap);
}

int
log_full_errno(int level, int error, const char *fmt, ...)
{
	va_list ap;

	errno = error < 0 ? -error : error;
	va_start(ap, fmt);
	log_fullv(level, fmt, ap);
	va_end(ap);
	return error;
}
