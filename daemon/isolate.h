/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct cancel;
struct file_key;
struct gini_params;
struct isolation;
struct plugin;
struct run_ctx;

/* What an isolated call needs; everything is borrowed. */
struct isolate_call {
	const char *plugin;         /* the plugin file, loaded anew by the worker */
	const struct file_key *key; /* the version the daemon loaded */
	/* The daemon's copy of it, whose sealed memfd the worker maps instead
	 * of reading the file again; NULL (or not loaded): it reads plugin. */
	const struct plugin *loaded;
	const char *stage;
	const struct gini_params *params;
	const struct isolation *iso; /* limits; NULL: none */
	bool set_uid, set_gid;
	uid_t uid;
	gid_t gid;
	const char *pipeline, *step; /* for log tags */
	uint64_t run_id;
	struct run_ctx *ctx;      /* sent to the worker; its changes come back on success */
	struct cancel *cancel;    /* NULL: not cancellable (create) */
	uint64_t timeout_usec;    /* a hard limit (create), 0: none */
	uint64_t kill_grace_usec; /* from cancellation to SIGKILL */
	struct output *output;    /* borrowed; NULL: lines are only logged */
};

enum isolate_end {
	ISOLATE_FINISHED, /* the worker reported a result */
	ISOLATE_CRASHED,  /* killed by a signal we did not send */
	ISOLATE_KILLED,   /* we killed it: cancelled or out of time */
	ISOLATE_EXITED,   /* exited without a result (the plugin called exit()) */
	ISOLATE_FAILED,   /* could not be started */
};

struct isolate_result {
	enum isolate_end end;
	int rc;        /* with ISOLATE_FINISHED: GINI_* from run(), or create()'s return */
	int signal;    /* with ISOLATE_CRASHED */
	bool core;     /* with ISOLATE_CRASHED: a core was dumped */
	int status;    /* with ISOLATE_EXITED */
	char *message; /* owned; the plugin's, or ours explaining the end */
	/* With create_only and ISOLATE_FINISHED: params create() never read and
	 * the names it asked for (NULL-terminated, owned). */
	char **unused;
	char **asked;
};

/*
 * Runs one call in a fresh gini-worker process (posix_spawn, its own process
 * group, fd 3 a socketpair): it applies the limits and identity, loads the
 * plugin, creates the instance, and, unless create_only, runs it. Log lines
 * come back tagged and are logged here; cancellation is passed on, and the
 * process group is killed kill_grace_usec later if it has not ended. Any
 * thread; blocks until the worker is gone and reaped. 0, or -errno when the
 * worker could not even be started (then also in ret->end).
 *
 * With call->iso->pool_max_idle (and not create_only), a worker of the pool
 * (isolate_pool.h) serves it instead, and the call returns at its result:
 * the worker goes back to the pool, or, after a crash, an exit, a
 * cancellation or the deadline, is killed and reaped first.
 */
/* worker_max_runs when not set. */
#define ISOLATE_POOL_MAX_RUNS 100

int isolate_run(const struct isolate_call *call, bool create_only, struct isolate_result *ret);
void isolate_result_done(struct isolate_result *r);
/* "crashed with SIGSEGV (core dumped; see coredumpctl)" and the like. */
char *isolate_describe_end(const struct isolate_result *r);
