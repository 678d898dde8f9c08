/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A file of "NAME VALUE" records (NAME a pipeline name, VALUE an integer)
 * kept in memory by its owner's thread and written by a writer thread of its
 * own: set() is O(1) and does no I/O; the writer coalesces what changed and
 * rewrites the file atomically at most once per interval.
 */
struct state_store;

/*
 * Loads path (absent or unreadable: empty, with a log line) and starts the
 * writer. header is the comment line the file starts with. Owner's thread.
 */
int state_store_new(const char *path, const char *header, uint64_t interval_usec,
                    struct state_store **ret);
/* Writes what is pending, stops the writer, frees. Accepts NULL. */
struct state_store *state_store_free(struct state_store *st);
/* The value of name; false if none. Owner's thread. */
bool state_store_get(struct state_store *st, const char *name, int64_t *ret_value);
/*
 * Sets name to value, unless it holds a larger one already: values never go
 * backwards. Owner's thread; never blocks on I/O.
 */
void state_store_set(struct state_store *st, const char *name, int64_t value);
/* Asks the writer to write what is pending now, without waiting for it. */
void state_store_kick(struct state_store *st);
/* Writes what is pending now and waits until it is on disk. 0 or -errno. */
int state_store_flush(struct state_store *st);
/* How many times the file was written (for tests and metrics). */
uint64_t state_store_writes(struct state_store *st);

/*
 * Removes the temporaries that write_file_atomic() leaves behind when the
 * process dies mid-write ("NAME.tmp.PID" in dir, for each of names), unless
 * PID is another live process. Logs one line per file removed. Start-up.
 */
void state_clean_temporaries(const char *dir, const char *const *names, size_t n);
