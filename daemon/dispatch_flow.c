/* SPDX-License-Identifier: MIT */
/*
 * What dispatch does for failure handling and concurrency groups, beside
 * the overlap policy of dispatch.c: a run that failed starts the pipeline
 * its on_failure_run names, and a run of a pipeline in a concurrency group
 * needs one of the group's slots (the accounting is concurrency.c's), the
 * pipelines that waited longest getting the slots that come free. Loop
 * thread only.
 */
#include "manager_impl.h"

#include "concurrency.h"
#include "generation.h"
#include "log.h"
#include "pipeline.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The limit of group in the live configuration (0: no such group). */
static unsigned
group_limit(struct manager *m, const char *group)
{
	const struct gini_config *c = m->current->config;

	for (size_t i = 0; i < c->n_concurrency_groups; i++)
		if (streq(c->concurrency_groups[i].name, group))
			return c->concurrency_groups[i].limit;
	return 0;
}

bool
dispatch_group_take(struct manager *m, const struct pipeline *p)
{
	return !p->concurrency_group || concurrency_take(m->groups, p->concurrency_group,
	                                                 group_limit(m, p->concurrency_group));
}

void
dispatch_group_waiters(struct manager *m, const char *group)
{
	char *name;

	while (concurrency_running(m->groups, group) < group_limit(m, group) &&
	       (name = concurrency_next(m->groups, group))) {
		struct pstate *ps = hashmap_get(&m->pstates, name);
		struct pipeline *p = generation_find(m->current, name);

		free(name);
		/* A pipeline whose own run still goes starts its queued run
		 * when that one ends. */
		if (ps && ps->queued && p &&
		    ps->running < (p->overlap == OVERLAP_PARALLEL ? p->max_parallel : 1))
			manager_start_queued(m, ps);
	}
}

void
dispatch_start_waiting(struct manager *m)
{
	struct pstate *ps;

	for (size_t i = 0; hashmap_next(&m->pstates, &i, NULL, (void **)&ps);) {
		struct pipeline *p = generation_find(m->current, ps->name);

		if (ps->queued && p &&
		    ps->running < (p->overlap == OVERLAP_PARALLEL ? p->max_parallel : 1))
			manager_start_queued(m, ps);
	}
}

void
dispatch_failure_run(struct manager *m, char **v)
{
	struct pipeline *p = generation_find(m->current, v[0]);
	_cleanup_free_ char *why = NULL;
	char **params = NULL, err[512];
	struct pstate *ps;
	const char *given[6];
	size_t n = 0, k = 0;

	if (!p) {
		log_notice("run %s: on_failure_run: pipeline '%s' no longer exists, ignoring", v[2],
		           v[0]);
		strv_free(v);
		return;
	}
	/* Those the target declares are checked as any param. */
	for (size_t i = 1; v[i] && v[i + 1]; i += 2)
		for (size_t j = 0; j < p->n_params; j++)
			if (streq(p->params[j].name, v[i])) {
				given[2 * n] = v[i];
				given[2 * n + 1] = v[i + 1];
				n++;
			}
	if (pipeline_run_params(p, given, n, &params, err, sizeof(err)) < 0) {
		log_err("run %s: on_failure_run: cannot run pipeline '%s': %s", v[2], v[0], err);
		strv_free(v);
		return;
	}
	/* The others are accepted as they are, for a run started so. */
	while (params && params[k])
		k++;
	for (size_t i = 1; v[i] && v[i + 1]; i += 2) {
		bool declared = false;

		for (size_t j = 0; j < p->n_params; j++)
			declared = declared || streq(p->params[j].name, v[i]);
		if (!declared &&
		    (strv_push(&params, &k, v[i]) < 0 || strv_push(&params, &k, v[i + 1]) < 0))
			break;
	}
	if (asprintf(&why, "on_failure_run of run %s", v[2]) < 0)
		why = NULL;
	ps = manager_pstate(m, p->name);
	if (!why || !ps || ps->disabled) {
		if (ps && ps->disabled)
			log_debug("pipeline '%s': disabled, ignoring its trigger (%s)", p->name,
			          why);
		strv_free(params);
	} else {
		(void)manager_fire(m, p, why, params, NULL, NULL);
	}
	strv_free(v);
}
