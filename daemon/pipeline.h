/* SPDX-License-Identifier: MIT */
#pragma once

#include <pthread.h>
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
	unsigned level; /* 0 for roots, else 1 + the highest level of pred */
	uint64_t timeout_usec;
	unsigned retries;
	uint64_t retry_backoff_usec;
	bool enabled;
	/* Serialises run() when the stage lacks GINI_STAGE_CONCURRENT and
	 * runs of the pipeline may overlap. */
	pthread_mutex_t serial;
	bool serialise;
	int line;
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
	struct step *steps;
	size_t n_steps;
	size_t *order; /* a topological order of all steps */
	size_t n_edges;
	unsigned n_levels;
};

/*
 * Compiles def against reg: binds stage types, checks the DAG, creates the
 * instances. Takes the params out of def. On any problem, every one of them
 * goes to diags, nothing is left created, and *ret is untouched. Main
 * thread (create() runs here).
 */
int pipeline_compile(struct pipeline_def *def, struct registry *reg, struct pipeline **ret,
                     struct diags *diags);
struct pipeline *pipeline_free(struct pipeline *p);
/* Index of the step with this id, or -1. */
long pipeline_find_step(const struct pipeline *p, const char *id);
