/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define USEC_PER_MSEC   UINT64_C(1000)
#define USEC_PER_SEC    UINT64_C(1000000)
#define USEC_PER_MINUTE (60 * USEC_PER_SEC)
#define USEC_PER_HOUR   (60 * USEC_PER_MINUTE)
#define USEC_PER_DAY    (24 * USEC_PER_HOUR)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)     ((a) < (b) ? (a) : (b))
#define MAX(a, b)     ((a) > (b) ? (a) : (b))

static inline void
freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)

/* Hands a cleanup-owned pointer over: returns it and clears the variable. */
#define steal_ptr(p)                                                                               \
	({                                                                                         \
		__typeof__(p) _stolen = (p);                                                       \
		(p) = NULL;                                                                        \
		_stolen;                                                                           \
	})

static inline bool
streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static inline bool
streq_ptr(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

uint64_t now_usec(clockid_t clock);

/*
 * Durations: one or more NUMBER UNIT groups ("500ms", "30s", "1h30m"; units
 * us, ms, s, m, h, d), or a bare integer meaning seconds. Capped at 100 years.
 */
int parse_duration(const char *s, uint64_t *ret_usec);
/*
 * Sizes: a number of bytes, or a number with K, M, G or T (powers of 1024;
 * "512K", "64M", "1G"). Capped at 1 PiB.
 */
int parse_size(const char *s, uint64_t *ret);
/*
 * Where the helper executables (gini-probe, gini-worker) are:
 * $GINI_HELPER_DIR, else beside the running executable (a build tree), else
 * the installed libexec directory. Returns a malloc'ed path.
 */
char *helper_path(const char *name);

/* Shortest exact rendering ("1h30m", "250ms", "0s"); returns buf. */
char *format_duration(uint64_t usec, char *buf, size_t size);

/* For people: "850us", "12ms", "4.20s", "3m05s", "2h07m". Returns buf. */
char *format_elapsed(uint64_t usec, char *buf, size_t size);
/* ISO 8601 local time with the UTC offset: "2026-11-26T02:00:00+01:00". */
char *format_iso8601(time_t t, char *buf, size_t size);

/* "SIGUSR1", "USR1", "SIGRTMIN+3", "RTMIN+3". Returns a signal number or -EINVAL. */
int signal_from_string(const char *s);
/* "SIGUSR1", "SIGRTMIN+3"; buf needs 16 bytes. */
const char *signal_to_string(int sig, char *buf, size_t size);

/*
 * Copies s into buf for a log line or message, writing each control
 * character (and DEL) as an escape (\n, \t, \r, \xNN), so text from a
 * plugin or a config file cannot break a line or forge another one. Cut
 * with "..." if it does not fit. Returns buf.
 */
char *str_escape(const char *s, char *buf, size_t size);

/* Levenshtein distance of two strings (capped at 255). */
unsigned edit_distance(const char *a, const char *b);
/*
 * The candidate closest to word, if it is close enough to be a plausible
 * misspelling (distance at most a third of its length, and at least 1);
 * NULL otherwise.
 */
const char *closest_match(const char *word, const char *const *candidates, size_t n);

/* Returns dir/name (name unchanged if absolute), or NULL on ENOMEM. */
char *path_join(const char *dir, const char *name);
/* Returns a copy of the directory part of path ("." if none). */
char *path_dirname(const char *path);

/*
 * Writes data to path atomically: a temporary file in the same directory,
 * fsync, rename, fsync of the directory.
 */
int write_file_atomic(const char *path, const void *data, size_t size, unsigned mode);
/*
 * Reads a whole regular file (at most max bytes) into a NUL-terminated
 * buffer. Never blocks on a FIFO or a device: a directory is -EISDIR, any
 * other file that is not regular -EBADFD (path_type_name() says what it is).
 */
int read_file(const char *path, size_t max, char **ret, size_t *ret_size);
/* "a FIFO", "a character device", ... for messages; path is only stat()ed. */
const char *path_type_name(const char *path);

void strv_free(char **v);
size_t strv_length(char *const *v);
int strv_push(char ***v, size_t *n, const char *s);
