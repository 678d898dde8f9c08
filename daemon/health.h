/* SPDX-License-Identifier: MIT */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "executor.h"

struct health;
struct generation;

/*
 * Per-pipeline health, by pipeline name, outliving generations: the last
 * run (time and result), the last success and the failures in a row. Owned
 * by the manager. Loop thread only.
 */
struct health *health_new(void);
struct health *health_free(struct health *h);

/*
 * What the history store remembers of pipeline from before this start
 * (times in CLOCK_REALTIME microseconds, 0: never; last_result RUN_RUNNING:
 * no run). Call before the first run ends; a later run end overrides it.
 * 0, or -ENOMEM.
 */
int health_seed(struct health *h, const char *pipeline, int64_t last_run_usec,
                enum run_status last_result, int64_t last_success_usec,
                unsigned consecutive_failures);

/* A (real, not dry) run of pipeline ended at end_usec (CLOCK_REALTIME). */
void health_run_end(struct health *h, const char *pipeline, int64_t end_usec,
                    enum run_status status);

/* What makes the daemon itself unhealthy, besides its pipelines. */
struct health_daemon {
	int64_t started_usec;       /* CLOCK_REALTIME; the age of a pipeline never run */
	bool reload_failed;         /* the last reload was refused */
	char *const *reload_errors; /* its errors (borrowed) */
	size_t n_reload_errors;
};

/*
 * The health of the daemon and of every pipeline of g at now_usec, as the
 * JSON that `ginictl health` and GET /health show:
 *
 *   {"healthy": bool, "summary": "...", "reasons": [...],
 *    "pipelines": [{"name", "healthy", "reasons", "last_run", "last_result",
 *                   "last_success", "consecutive_failures", "max_age_sec",
 *                   "max_failures"}, ...]}
 *
 * *ret_next_usec (may be NULL) gets the next time a pipeline turns
 * unhealthy by age alone (0: none), for refreshing the STATUS= line. NULL
 * when out of memory.
 */
json_t *health_report(struct health *h, const struct generation *g, const struct health_daemon *dm,
                      int64_t now_usec, int64_t *ret_next_usec);

/*
 * The report's summary alone, e.g. "3 pipelines, 1 unhealthy: backup (last
 * run failed)", written to buf without building the report (for STATUS=,
 * after every run); *ret_next_usec as for health_report(). Returns whether
 * the daemon and its pipelines are healthy.
 */
bool health_summary_line(struct health *h, const struct generation *g,
                         const struct health_daemon *dm, int64_t now_usec, int64_t *ret_next_usec,
                         char *buf, size_t size);

/* The report's summary, e.g. "1 unhealthy: backup (last run failed)". */
const char *health_summary(const json_t *report);

/* The gini_pipeline_{last_run,last_success}_timestamp_seconds and
 * gini_pipeline_healthy families of report, in the Prometheus text format. */
void health_metrics(const json_t *report, struct health *h, FILE *f);
