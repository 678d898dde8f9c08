/* SPDX-License-Identifier: MIT */
/*
 * Runs that wait for the run history. The history's database is opened on
 * its writer thread after READY=1, and a run's id must follow the last one
 * it recorded, so a run triggered before the history is read (an on_start
 * pipeline, an early signal, schedule or `ginictl run`) cannot take its id
 * yet. The loop thread never waits for the database (another process may
 * hold a lock on it, or a crash left a long recovery): such a run is
 * parked here, after its overlap policy and with its concurrency slot,
 * and starts when the manager hears that the history is read (or given up
 * on: manager_history_opened()), in the order the runs came. Stopping
 * drops them as it drops queued runs. Loop thread only.
 */
#include "manager_impl.h"

#include "concurrency.h"
#include "generation.h"
#include "log.h"
#include "pipeline.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct parked_run *
parked_free(struct parked_run *pr)
{
	if (!pr)
		return NULL;
	generation_unref(pr->gen);
	free(pr->trigger);
	strv_free(pr->params);
	free(pr);
	return NULL;
}

static char **
params_copy(char *const *params)
{
	char **v = NULL;
	size_t n = 0;

	for (size_t i = 0; params && params[i]; i++)
		if (strv_push(&v, &n, params[i]) < 0) {
			strv_free(v);
			return NULL;
		}
	/* No params: an empty list, so that NULL means no memory. */
	if (!v)
		v = calloc(1, sizeof(*v));
	return v;
}

int
dispatch_park(struct manager *m, struct pipeline *p, struct pstate *ps, const char *trigger,
              bool dry, char *const *params, struct run_listener *listeners,
              struct run_listener **ret_unstarted)
{
	struct parked_run *pr = calloc(1, sizeof(*pr));

	*ret_unstarted = NULL;
	if (pr) {
		pr->trigger = strdup(trigger);
		pr->params = params_copy(params);
	}
	if (!pr || !pr->trigger || !pr->params) {
		parked_free(pr);
		*ret_unstarted = listeners;
		return -ENOMEM;
	}
	pr->gen = generation_ref(m->current);
	pr->p = p;
	pr->ps = ps;
	pr->dry = dry;
	while (listeners) {
		struct run_listener *l = listeners;

		listeners = l->next;
		l->next = pr->listeners;
		l->ar = NULL;
		l->queued_on = NULL;
		l->parked_on = pr;
		pr->listeners = l;
	}
	if (!m->parked_tail)
		m->parked_tail = &m->parked;
	*m->parked_tail = pr;
	m->parked_tail = &pr->next;
	m->n_parked++;
	/* To the overlap policy it is running already. */
	if (ps) {
		ps->running++;
		ps->parked++;
	}
	log_info("pipeline '%s': %s waits for the run history to be read (trigger: %s)", p->name,
	         dry ? "dry run" : "run", trigger);
	manager_update_status(m);
	return 1;
}

/* Takes pr off the pipeline's count; the caller frees it. */
static void
unpark(struct parked_run *pr)
{
	if (pr->ps) {
		pr->ps->running--;
		pr->ps->parked--;
	}
}

void
dispatch_unpark(struct manager *m)
{
	/* One at a time: a run triggered while these start (a listener's
	 * callback may take a request) is parked behind them. */
	while (m->parked) {
		struct parked_run *pr = m->parked;
		struct run_listener *unstarted = NULL;
		int r;

		m->parked = pr->next;
		if (!m->parked)
			m->parked_tail = &m->parked;
		m->n_parked--;
		unpark(pr);
		r = dispatch_launch(m, pr->gen, pr->p, pr->ps, pr->trigger, pr->dry, pr->params,
		                    steal_ptr(pr->listeners), NULL, &unstarted);
		if (r < 0) {
			/* Logged by dispatch_launch(); the slot goes back as
			 * manager_fire() gives it back. */
			if (!pr->dry && pr->p->concurrency_group)
				concurrency_release(m->groups, pr->p->concurrency_group);
			manager_drop_listeners(&unstarted);
		}
		parked_free(pr);
	}
}

void
dispatch_drop_parked(struct manager *m)
{
	struct parked_run *list = steal_ptr(m->parked);

	if (m->n_parked)
		log_info("dropping %zu run%s that waited for the run history to be read",
		         m->n_parked, m->n_parked == 1 ? "" : "s");
	m->parked_tail = &m->parked;
	m->n_parked = 0;
	while (list) {
		struct parked_run *pr = list;

		list = pr->next;
		unpark(pr);
		if (!pr->dry && pr->p->concurrency_group)
			concurrency_release(m->groups, pr->p->concurrency_group);
		manager_drop_listeners(&pr->listeners);
		parked_free(pr);
	}
}
