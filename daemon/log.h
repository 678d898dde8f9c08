/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdarg.h>
#include <stdint.h>
#include <syslog.h>

/*
 * Levels are syslog priorities (LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO,
 * LOG_DEBUG) so journald keeps them.
 */
/* Sends lines to the journal when stderr is the journal (log_journal.c). */
void log_open(void);
/* Whether lines go to the journal (native protocol, or a "<N>" prefix on
 * stderr if that fails). Async-signal-safe. */
int log_to_journal(void);
void log_set_level(int level);
int log_get_level(void);
int log_level_from_string(const char *s);
const char *log_level_to_string(int level);

struct log_fields;
/* How log_open() hands log.c the journal's sender: 0, or negative errno
 * (the line then goes to stderr). */
typedef int (*log_journal_fn)(int level, const struct log_fields *f, const char *msg);
void log_set_journal(log_journal_fn fn);

/*
 * Replace the output (stderr) by fn, for tests; NULL restores stderr. The
 * message passed to fn has no prefix and no newline.
 */
typedef void (*log_sink_fn)(int level, const char *msg, void *userdata);
void log_set_sink(log_sink_fn fn, void *userdata);

/*
 * What a line is about, for the journal's GINI_PIPELINE, GINI_RUN,
 * GINI_STEP, GINI_STAGE and GINI_GENERATION fields (NULL and 0: absent).
 * Borrowed for the duration of the call (or of log_set_fields()).
 */
struct log_fields {
	const char *pipeline;
	uint64_t run;
	const char *step;
	const char *stage;
	uint64_t generation;
};

/*
 * Sets the fields of every line the calling thread logs from now on (NULL:
 * none), e.g. a worker while it runs a step; returns the previous ones, to
 * restore. Lines on stderr are unchanged: their text names the same things.
 */
const struct log_fields *log_set_fields(const struct log_fields *f);
/* A line with explicit fields (f may be NULL: the thread's). */
void log_fields_full(int level, const struct log_fields *f, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

void log_fullv(int level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void log_full(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Logs with errno set to -error (for %m), and returns error. */
int log_full_errno(int level, int error, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#define log_err(...)    log_full(LOG_ERR, __VA_ARGS__)
#define log_warn(...)   log_full(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)   log_full(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                                             \
	do {                                                                                       \
		if (log_get_level() >= LOG_DEBUG)                                                  \
			log_full(LOG_DEBUG, __VA_ARGS__);                                          \
	} while (0)
#define log_err_errno(r, ...)  log_full_errno(LOG_ERR, (r), __VA_ARGS__)
#define log_warn_errno(r, ...) log_full_errno(LOG_WARNING, (r), __VA_ARGS__)
