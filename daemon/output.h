/* SPDX-License-Identifier: MIT */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * What one step said while it ran: its plugin's log lines through the host
 * table (the exec stage's stdout and stderr among them) and those an
 * isolated worker sent back, each with its time and level. Bounded by bytes:
 * when full, the oldest lines go (the tail is kept) and the loss is counted.
 * Embedded in the step's result; written by the worker running the step (and
 * a stuck, abandoned one), read by the loop for `ginictl logs --follow` and
 * when the run is recorded: every access takes the lock (a leaf lock).
 */
struct output_line {
	int64_t ts_usec; /* CLOCK_REALTIME */
	int level;       /* syslog level */
	size_t len;
	char text[];
};

struct output {
	pthread_mutex_t lock;
	size_t max;             /* bytes of text kept; 0: capture off */
	struct output_line **v; /* lines v[head..n) are kept */
	size_t head, n, cap;
	size_t bytes;    /* text bytes kept */
	uint64_t total;  /* lines ever added: seq of the next line */
	bool truncated;  /* lines or bytes were dropped */
	atomic_bool any; /* a line was ever added: lets readers skip the lock */
};

void output_init(struct output *o, size_t max);
void output_done(struct output *o);
/* Adds a line (newlines in it become spaces). Any thread. */
void output_add(struct output *o, int level, const char *text);
/*
 * The kept lines as records "TS LEVEL TEXT\n" (TS in µs) in a malloc'd
 * buffer, with the seq of its first line; NULL (and *ret_len 0) if none.
 */
char *output_serialize(struct output *o, size_t *ret_len, uint64_t *ret_first_seq,
                       bool *ret_truncated);
/*
 * Calls fn for each kept line whose seq is at least from, holding the lock
 * (fn must not block). Returns the seq after the last line.
 */
uint64_t output_foreach(struct output *o, uint64_t from,
                        void (*fn)(uint64_t seq, int64_t ts_usec, int level, const char *text,
                                   void *userdata),
                        void *userdata, bool *ret_truncated);
/*
 * Walks a buffer from output_serialize(); fn gets each line (text is
 * NUL-terminated in a scratch copy). Stops at the first malformed record.
 */
void output_parse(const char *buf, size_t len,
                  void (*fn)(int64_t ts_usec, int level, const char *text, void *userdata),
                  void *userdata);
