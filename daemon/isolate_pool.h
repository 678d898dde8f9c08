/* SPDX-License-Identifier: MIT */
#pragma once

#include "../plugins/lib/child.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct pollfd;

/*
 * What a pooled worker serves: everything it applies once, at its first
 * request. Steps that differ in any of it never share a worker. Compared
 * field by field (formatting it into a string cost about 6,000
 * instructions per warm step); isolate.c fills it in this order.
 */
struct pool_key {
	const char *plugin, *stage; /* borrowed in a lookup; the pool's own in a worker */
	uint64_t dev, ino;          /* the plugin file's version */
	int64_t size, mtime_ns;
	bool set_uid, set_gid;
	uid_t uid;
	gid_t gid;
	uint64_t memory_max, cpu_max_sec, nofile;
};

/*
 * One pre-spawned gini-worker (--pool) and what it has served. Owned by the
 * pool while idle, by the one run that took it otherwise.
 */
struct pool_worker {
	struct child c;
	int sock;            /* our end of its fd 3, non-blocking */
	int out;             /* its stdout and stderr, non-blocking */
	int procs;           /* its cgroup's cgroup.procs, read after each run; -1: none */
	int efd;             /* lent to each run's cancel (cancel_lend_fd()); -1: none */
	struct pool_key key; /* what it serves; its strings point into strings */
	char *strings;
	unsigned runs; /* requests it finished */
	uint64_t epoch;
	struct pool_worker *next;
};

/* An idle worker for key (the most recently used), or NULL. Any thread. */
struct pool_worker *isolate_pool_take(const struct pool_key *key);
/*
 * A new worker for key, not yet sent anything; plugin_fd (borrowed; -1:
 * none) is its descriptor 4, the daemon's sealed copy of the plugin. 0, or
 * -errno. Any thread.
 */
int isolate_pool_spawn(const struct pool_key *key, int plugin_fd, struct pool_worker **ret);
/*
 * Gives w back after a run that ended cleanly: it is kept idle unless it has
 * served max_runs, max_idle workers of its key are idle already, the pool
 * was drained since it was spawned, or its cgroup holds any other process;
 * otherwise it is ended as by isolate_pool_kill(). Any thread.
 */
void isolate_pool_give(struct pool_worker *w, unsigned max_idle, unsigned max_runs);
/* Whether w exited (it is not reaped): its pidfd as polled (pidfd_poll),
 * or waitid() (pidfd_poll NULL, or without a pidfd). Any thread. */
bool isolate_pool_exited(struct pool_worker *w, const struct pollfd *pidfd_poll);
/* Kills everything in w, reaps it, removes its cgroup, frees it. NULL-safe. */
void isolate_pool_kill(struct pool_worker *w);
/*
 * Ends every idle worker; workers in use are ended when given back. At a
 * reload and at shut-down. Any thread.
 */
void isolate_pool_drain(void);
/* Idle workers now (tests, metrics). */
unsigned isolate_pool_idle(void);
