/* SPDX-License-Identifier: MIT */
#pragma once

#include <pthread.h>
#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct diags;
struct registry;
struct stage_type;
struct gini_params;

/*
 * A compiled step. Immutable once its pipeline is compiled, except for the
 * serial lock. Owned by its pipeline.
 */
struct step {
	char *id;
	char *stage_id;
	struct stage_type *type;    /* reference; NULL if disabled */
	void *instance;             /* from create(), handed back to run() */
	bool created;               /* create() succeeded: destroy() is owed */
	struct gini_params *params; /* owned, frozen after create() */
	size_t *pred;               /* indices of the steps this one runs after */
	size_t n_pred;
	size_t *succ; /* indices of the steps that run after this one */
	size_t n_succ;
	size_t succ_offset; /* sum of n_succ of the steps before this one */
	unsigned level;     /* 0 for roots, else 1 + the highest level of pred */
	uint64_t timeout_usec;
	unsigned retries;
	uint64_t retry_backoff_usec;
	bool enabled;
	/* Serialises run() when the stage lacks GINI_STAGE_CONCURRENT and
	 * runs of the pipeline may overlap. */
	pthread_mutex_t serial;
	bool serialise;
	int line;
	/* isolation = "process": run in a gini-worker (isolate.h); the daemon
	 * then holds no instance. user and group are owned copies. */
	struct isolation iso;
	bool set_uid, set_gid;
	uid_t uid;
	gid_t gid;
	enum step_when when;
};

/*
 * A compiled pipeline: an immutable DAG of steps bound to stage types, with
 * their instances. Owned by a generation; freed (instances destroyed, type
 * references dropped) on the main thread when that generation is freed.
 */
struct pipeline {
	char *name;
	char *description;
	char *file;
	int line;
	struct trigger_def triggers; /* schedule string owned */
	enum overlap overlap;
	unsigned max_parallel;
	enum on_failure on_failure;
	struct health_def health;
	struct step *steps;
	size_t n_steps;
	size_t *order; /* a topological order of all steps */
	size_t n_edges;
	unsigned n_levels;
	struct param_decl *params; /* owned, taken from the pipeline_def */
	size_t n_params;
	uint64_t timeout_usec;   /* the whole run's; 0: none */
	char *on_failure_run;    /* owned, or NULL */
	char *concurrency_group; /* owned, or NULL */
};

/*
 * The params of one run of p: every declared param, in declaration order,
 * as a NULL-terminated list "key", "value", "key", "value", ...; given holds
 * n_given such pairs (from `ginictl run`, else none) that override the
 * defaults. An undeclared key, a key given twice, a value that does not
 * match its pattern, and a param without default not given are -EINVAL
 * with the reason in err; -ENOMEM. The caller frees *ret with strv_free().
 */
int pipeline_run_params(const struct pipeline *p, const char *const *given, size_t n_given,
                        char ***ret, char *err, size_t err_size);

/* What compilation takes from the global settings. */
struct compile_options {
	char *const *isolate_stages; /* stage ids isolated by default */
	size_t n_isolate_stages;
	/* How long an isolated step's create() may take in its check worker. */
	uint64_t isolated_create_timeout_usec;
};

/*
 * Compiles def against reg: binds stage types, checks the DAG, creates the
 * instances (or, for isolated steps, checks their params in a worker
 * process). Takes the params out of def. On any problem, every one of them
 * goes to diags, nothing is left created, and *ret is untouched. Main
 * thread (create() runs here). opts may be NULL: defaults.
 */
int pipeline_compile_with(struct pipeline_def *def, struct registry *reg,
                          const struct compile_options *opts, struct pipeline **ret,
                          struct diags *diags);
int pipeline_compile(struct pipeline_def *def, struct registry *reg, struct pipeline **ret,
                     struct diags *diags);
struct pipeline *pipeline_free(struct pipeline *p);
struct isolate_call;
/* Fills call with what step s of p needs to run isolated (the rest zero). */
void pipeline_isolate_call(const struct pipeline *p, const struct step *s,
                           struct isolate_call *call);
/* Index of the step with this id, or -1. */
long pipeline_find_step(const struct pipeline *p, const char *id);
