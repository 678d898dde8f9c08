/* SPDX-License-Identifier: MIT */
/*
 * Dispatch: everything after a trigger fires, on the loop thread. A trigger
 * goes through its pipeline's overlap policy (start, queue one, or skip and
 * count), a started run goes to the executor, and its completion comes
 * back from the worker to the loop (run_done_on_loop), where it is logged,
 * recorded, counted in the pipeline's state, and handed to its listeners
 * (a `ginictl run --wait`); then a queued run may start. Also cancel,
 * enable/disable and dry runs.
 *
 * Per-pipeline state is keyed by name and outlives generations, so overlap
 * counts runs of the old and the new definition alike.
 */
#include "manager_impl.h"

#include "concurrency.h"
#include "context.h"
#include "generation.h"
#include "health.h"
#include "history.h"
#include "log.h"
#include "pipeline.h"
#include "scheduler.h"
#include "state.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* How often "skipped" is logged for one pipeline during a trigger storm. */
#define SKIP_LOG_INTERVAL (10 * USEC_PER_SEC)

struct pstate *
manager_pstate(struct manager *m, const char *name)
{
	struct pstate *ps = hashmap_get(&m->pstates, name);

	if (ps)
		return ps;
	ps = calloc(1, sizeof(*ps));
	if (!ps)
		return NULL;
	ps->name = strdup(name);
	ps->last_status = RUN_RUNNING;
	if (!ps->name || hashmap_put(&m->pstates, ps->name, ps) < 0) {
		free(ps->name);
		free(ps);
		return NULL;
	}
	{
		int64_t v;

		if (state_store_get(m->switches, name, &v)) {
			ps->switches = (uint64_t)v;
			ps->disabled = v % 2 == 1;
		}
	}
	return ps;
}

bool
manager_pipeline_stats(struct manager *m, const char *name, struct pipeline_stats *ret)
{
	struct pstate *ps = hashmap_get(&m->pstates, name);

	*ret = (struct pipeline_stats){ .last_status = RUN_RUNNING };
	if (!ps) {
		ret->disabled = manager_disabled(m, name);
		return false;
	}
	/* A run waiting for the history has no id yet: queued, not running. */
	ret->running = ps->running - ps->parked;
	ret->queued = ps->queued != NULL || ps->parked > 0;
	ret->disabled = ps->disabled;
	ret->last_fire_usec = ps->last_fire_usec;
	ret->last_run_id = ps->last_run_id;
	ret->last_status = ps->last_status;
	memcpy(ret->runs, ps->runs, sizeof(ret->runs));
	ret->skipped = ps->skipped;
	return true;
}

const struct run *
manager_find_run(struct manager *m, uint64_t id)
{
	for (struct active_run *ar = m->runs; ar; ar = ar->next)
		if (ar->run->id == id && !ar->run->dry_run)
			return ar->run;
	return NULL;
}

static void
log_run_end(const struct run *r)
{
	const struct pipeline *p = r->pipeline;
	const struct log_fields f = { .pipeline = p->name,
		                      .run = r->id,
		                      .generation = r->generation };
	char d[32];

	format_elapsed(r->end_usec - r->start_usec, d, sizeof(d));
	if (r->failed_step != SIZE_MAX) {
		const struct step_result *res = &r->results[r->failed_step];

		log_fields_full(r->status == RUN_SUCCESS ? LOG_INFO : LOG_WARNING, &f,
		                "run %llu: pipeline '%s': %s in %s (trigger: %s): step '%s' %s%s%s",
		                (unsigned long long)r->id, p->name, run_status_to_string(r->status),
		                d, r->trigger, p->steps[r->failed_step].id,
		                step_status_to_string(res->status), res->message ? ": " : "",
		                res->message ? res->message : "");
	} else {
		_cleanup_free_ char *why = r->status == RUN_TIMEOUT ? run_failure_message(r) : NULL;

		log_fields_full(r->status == RUN_SUCCESS ? LOG_INFO : LOG_WARNING, &f,
		                "run %llu: pipeline '%s': %s in %s (trigger: %s)%s%s",
		                (unsigned long long)r->id, p->name, run_status_to_string(r->status),
		                d, r->trigger, why ? ": " : "", why ? why : "");
	}
}

void
manager_maybe_exit(struct manager *m)
{
	if (m->stopping && m->in_flight == 0)
		sd_event_exit(m->loop->e, m->exit_code);
}

static void
step_on_loop(void *data)
{
	struct step_msg *sm = data;

	for (struct run_listener *l = sm->ar->listeners; l; l = l->next)
		if (l->on_step)
			l->on_step(l, sm->ar->run, sm->step);
}

/* Worker thread: a step finished. Only set as on_step when listened to. */
static void
run_step(struct run *r, size_t step, void *userdata)
{
	struct active_run *ar = userdata;

	(void)r;
	loop_post(ar->m->loop, &ar->step_msgs[step].msg, step_on_loop, &ar->step_msgs[step]);
}

/*
 * A worker stuck in an abandoned step of a finished run still runs stage
 * code of its generation (and its instance): the generation is released on
 * the loop only when that worker drops the run (executor.h, on_release).
 * Without memory it is never released, which is safe.
 */
struct generation_hold {
	struct loop_msg msg;
	struct loop *loop;
	struct generation *gen;
};

static void
generation_hold_free(void *data)
{
	struct generation_hold *g = data;

	generation_unref(g->gen);
	free(g);
}

static void
generation_hold_release(void *data)
{
	struct generation_hold *g = data;

	loop_post(g->loop, &g->msg, generation_hold_free, g);
}

static void
hold_generation(struct manager *m, struct run *r, struct generation *gen)
{
	struct generation_hold *g = calloc(1, sizeof(*g));

	if (!g)
		return;
	g->loop = m->loop;
	g->gen = gen;
	r->release_data = g;
	r->on_release = generation_hold_release;
}

/*
 * Loop thread: a run's last step finished on some worker. This is where a
 * run ends, once, for every consumer: the log line, the listeners, the
 * history record, health and the pipeline's counters; what else reacts to
 * a run's end (triggering another pipeline) belongs here too, after the
 * record and before a queued run starts.
 */
static void
run_done_on_loop(void *data)
{
	struct active_run *ar = data;
	struct manager *m = ar->m;
	struct pstate *ps = ar->ps;
	struct run *r = ar->run;
	char **failure_run = NULL;
	_cleanup_free_ char *group = NULL;

	if (!r->dry_run)
		log_run_end(r);
	/* Built now: the run is freed below. */
	if (ps && !m->stopping)
		failure_run = run_failure_params(r);
	while (ar->listeners) {
		struct run_listener *l = ar->listeners;

		ar->listeners = l->next;
		l->next = NULL;
		l->ar = NULL;
		if (l->on_done)
			l->on_done(l, r);
	}
	if (ps) {
		history_record(m->history,
		               manager_run_record(m->history, r, ar->gen->number, true));
		health_run_end(m->health, r->pipeline->name,
		               r->start_realtime_usec + (int64_t)(r->end_usec - r->start_usec),
		               r->status);
		m->health_stale = true;
		ps->running--;
		ps->last_run_id = r->id;
		ps->last_status = r->status;
		_Static_assert(ARRAY_SIZE(ps->runs) >= RUN_STATUS_COUNT, "pstate.runs too small");
		ps->runs[r->status]++;
		/* after_pipeline triggers (no scheduler for --once). */
		if (m->sched)
			scheduler_run_ended(m->sched, r->pipeline->name,
			                    r->status == RUN_SUCCESS  ? AFTER_SUCCESS
			                    : r->status == RUN_FAILED ? AFTER_FAILURE
			                                              : AFTER_ANY);
	}
	if (ar->prev)
		ar->prev->next = ar->next;
	else
		m->runs = ar->next;
	if (ar->next)
		ar->next->prev = ar->prev;
	m->in_flight--;
	if (ar->group) {
		concurrency_release(m->groups, ar->group);
		/* ar->group goes with the generation. */
		group = strdup(ar->group);
	}
	if (atomic_load(&r->abandoned)) {
		hold_generation(m, r, ar->gen);
		run_free(r);
	} else {
		run_free(r);
		/* May free a replaced generation: its instances and plugins. */
		generation_unref(ar->gen);
	}
	free(ar->step_msgs);
	free(ar);
	if (ps && ps->queued && !m->stopping)
		manager_start_queued(m, ps);
	if (group && !m->stopping)
		dispatch_group_waiters(m, group);
	if (failure_run) /* NOLINT(clang-analyzer-unix.Malloc): _cleanup_free_ frees it */
		dispatch_failure_run(m, failure_run);
	manager_update_status(m);
	manager_maybe_exit(m);
}

/* Worker thread: hand the completion to the loop. */
static void
run_done(struct run *r, void *userdata)
{
	struct active_run *ar = userdata;

	(void)r;
	loop_post(ar->m->loop, &ar->done_msg, run_done_on_loop, ar);
}

static void
attach(struct active_run *ar, struct run_listener *listeners)
{
	while (listeners) {
		struct run_listener *l = listeners;

		listeners = l->next;
		l->next = ar->listeners;
		l->ar = ar;
		l->queued_on = NULL;
		l->parked_on = NULL;
		ar->listeners = l;
	}
}

int
dispatch_launch(struct manager *m, struct generation *gen, struct pipeline *p, struct pstate *ps,
                const char *trigger, bool dry, char *const *params, struct run_listener *listeners,
                uint64_t *ret_run_id, struct run_listener **ret_unstarted)
{
	struct active_run *ar = calloc(1, sizeof(*ar));
	int r = 0;

	*ret_unstarted = NULL;
	if (!ar) {
		*ret_unstarted = listeners;
		return -ENOMEM;
	}
	ar->m = m;
	ar->ps = ps;
	/* The caller took the slot of a real run (fire(), start_queued()). */
	ar->group = dry ? NULL : p->concurrency_group;
	ar->run = run_new(p, trigger);
	if (listeners)
		ar->step_msgs = calloc(p->n_steps + 1, sizeof(*ar->step_msgs));
	/* The params seed the context: steps see them as any context value. */
	for (size_t i = 0; ar->run && params && params[i] && r >= 0; i += 2)
		r = ctx_set(ar->run->ctx, params[i], params[i + 1]);
	if (!ar->run || (listeners && !ar->step_msgs) || r < 0) {
		run_free(ar->run);
		free(ar->step_msgs);
		free(ar);
		*ret_unstarted = listeners;
		return -ENOMEM;
	}
	for (size_t i = 0; ar->step_msgs && i < p->n_steps; i++) {
		ar->step_msgs[i].ar = ar;
		ar->step_msgs[i].step = i;
	}
	attach(ar, listeners);
	ar->gen = generation_ref(gen);
	ar->run->generation = ar->gen->number;
	ar->run->dry_run = dry;
	ar->run->on_done = run_done;
	if (ar->step_msgs)
		ar->run->on_step = run_step;
	ar->run->userdata = ar;
	ar->next = m->runs;
	if (m->runs)
		m->runs->prev = ar;
	m->runs = ar;
	m->in_flight++;
	/* A dry run executes nothing: it leaves no trace in the pipeline's state. */
	if (ps) {
		ps->running++;
		ps->last_fire_usec = (int64_t)now_usec(CLOCK_REALTIME);
	}
	if (ret_run_id)
		*ret_run_id = ar->run->id;
	if (!dry)
		ar->run->output_max = history_output_max(m->history);
	r = executor_submit(m->ex, ar->run);
	if (r < 0) {
		/* Never reached the workers: undo by hand. */
		log_err_errno(r, "run %llu: pipeline '%s': cannot start: %m",
		              (unsigned long long)ar->run->id, p->name);
		m->runs = ar->next;
		if (ar->next)
			ar->next->prev = NULL;
		m->in_flight--;
		if (ps)
			ps->running--;
		/* Hand the listeners back to the caller, detached. */
		while (ar->listeners) {
			struct run_listener *l = ar->listeners;

			ar->listeners = l->next;
			l->ar = NULL;
			l->next = *ret_unstarted;
			*ret_unstarted = l;
		}
		run_free(ar->run);
		generation_unref(ar->gen);
		free(ar->step_msgs);
		free(ar);
		return r;
	}
	/* A "running" row, so that a run cut short by kill -9 is not forgotten. */
	if (!dry)
		history_record(m->history,
		               manager_run_record(m->history, ar->run, ar->gen->number, false));
	/* Logged once it is on its way: the log line is not on the trigger's path. */
	log_fields_full(dry ? LOG_DEBUG : LOG_INFO,
	                &(struct log_fields){ .pipeline = p->name,
	                                      .run = ar->run->id,
	                                      .generation = ar->run->generation },
	                "run %llu: pipeline '%s': %s (trigger: %s)",
	                (unsigned long long)ar->run->id, p->name,
	                dry ? "dry run started" : "started", trigger);
	/* Those waiting for the start only (a `ginictl run` that came while
	 * the history was being read) may let go of the run here. */
	for (struct run_listener *l = ar->listeners, *next; l; l = next) {
		next = l->next;
		if (l->on_start)
			l->on_start(l, ar->run);
	}
	manager_update_status(m);
	return 0;
}

/*
 * Starts a run with listeners (a list): 0, or 1 when it waits for the
 * history to be read (parked: no id yet). On failure the listeners come
 * back, detached, in *ret_unstarted.
 */
static int
start_run(struct manager *m, struct pipeline *p, struct pstate *ps, const char *trigger, bool dry,
          char *const *params, struct run_listener *listeners, uint64_t *ret_run_id,
          struct run_listener **ret_unstarted)
{
	/* Its id follows the last recorded one: until the history is read,
	 * it waits, and the loop goes on (dispatch_park.c); behind the runs
	 * that waited before it. */
	if (!m->history_synced || m->parked)
		return dispatch_park(m, p, ps, trigger, dry, params, listeners, ret_unstarted);
	return dispatch_launch(m, m->current, p, ps, trigger, dry, params, listeners, ret_run_id,
	                       ret_unstarted);
}

void
manager_drop_listeners(struct run_listener **list)
{
	while (*list) {
		struct run_listener *l = *list;
		struct run none = { .status = RUN_CANCELLED };

		*list = l->next;
		l->next = NULL;
		l->queued_on = NULL;
		l->parked_on = NULL;
		if (l->on_done)
			l->on_done(l, &none);
	}
}

/* Tells listeners of a queued run that will never start. */
void
manager_drop_queued_listeners(struct pstate *ps)
{
	manager_drop_listeners(&ps->queued_listeners);
}

static bool start_queued_run(struct manager *m, struct pstate *ps);

/*
 * Starts the queued run of ps, unless its concurrency group is full: then
 * it stays queued and waits for a slot (dispatch_group_waiters()).
 */
void
manager_start_queued(struct manager *m, struct pstate *ps)
{
	struct pipeline *p = generation_find(m->current, ps->name);

	if (p && !dispatch_group_take(m, p)) {
		(void)concurrency_wait(m->groups, p->concurrency_group, ps->name);
		return;
	}
	if (!start_queued_run(m, ps) && p && p->concurrency_group)
		concurrency_release(m->groups, p->concurrency_group);
}

/* True if the queued run of ps started. */
static bool
start_queued_run(struct manager *m, struct pstate *ps)
{
	_cleanup_free_ char *trigger = steal_ptr(ps->queued);
	char **params = steal_ptr(ps->queued_params);
	struct pipeline *p = generation_find(m->current, ps->name);
	struct run_listener *listeners = steal_ptr(ps->queued_listeners);
	char err[512];
	int r;

	if (!p) {
		log_info("pipeline '%s': dropping its queued run: the pipeline was removed",
		         ps->name);
		ps->queued_listeners = listeners;
		manager_drop_queued_listeners(ps);
		strv_free(params);
		return false;
	}
	/* A reload may have changed the params it declares: check again. */
	if (params) {
		char **checked = NULL;
		size_t n = 0;

		while (params[n])
			n++;
		if (pipeline_run_params(p, (const char *const *)params, n / 2, &checked, err,
		                        sizeof(err)) < 0) {
			log_notice("pipeline '%s': dropping its queued run: %s", ps->name, err);
			ps->queued_listeners = listeners;
			manager_drop_queued_listeners(ps);
			strv_free(params);
			return false;
		}
		strv_free(params);
		params = checked;
	}
	r = start_run(m, p, ps, trigger, false, params, listeners, NULL, &ps->queued_listeners);
	if (r < 0)
		manager_drop_queued_listeners(ps);
	strv_free(params);
	return r >= 0;
}

void
manager_detach(struct manager *m, struct run_listener *l)
{
	struct run_listener **pp = NULL;

	(void)m;
	if (l->ar)
		pp = &l->ar->listeners;
	else if (l->queued_on)
		pp = &l->queued_on->queued_listeners;
	else if (l->parked_on)
		pp = &l->parked_on->listeners;
	for (; pp && *pp; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	l->next = NULL;
	l->ar = NULL;
	l->queued_on = NULL;
	l->parked_on = NULL;
}

static bool
strv_equal(char *const *a, char *const *b)
{
	for (; a && b && *a && *b; a++, b++)
		if (!streq(*a, *b))
			return false;
	return (!a || !*a) && (!b || !*b);
}

/* Through the overlap policy, with params (owned: taken). */
enum trigger_outcome
manager_fire(struct manager *m, struct pipeline *p, const char *trigger, char **params,
             struct run_listener *l, uint64_t *ret_run_id)
{
	const char *name = p->name;
	struct run_listener *unstarted;
	struct pstate *ps;
	unsigned limit;
	enum trigger_outcome o;
	bool full, group_full;
	int r;

	ps = manager_pstate(m, name);
	if (!ps) {
		strv_free(params);
		return TRIGGER_FAILED;
	}
	limit = p->overlap == OVERLAP_PARALLEL ? p->max_parallel : 1;
	full = ps->running >= limit;
	/* A full concurrency group is met with the same overlap policy. */
	group_full = !full && !dispatch_group_take(m, p);
	if (full || group_full) {
		uint64_t now = now_usec(CLOCK_MONOTONIC);

		/* A run joins the queued one only with the same params. */
		if (p->overlap == OVERLAP_QUEUE &&
		    (!ps->queued || (l && strv_equal(ps->queued_params, params)))) {
			if (!ps->queued) {
				ps->queued = strdup(trigger);
				if (!ps->queued) {
					strv_free(params);
					return TRIGGER_FAILED;
				}
				ps->queued_params = steal_ptr(params);
				if (group_full)
					(void)concurrency_wait(m->groups, p->concurrency_group,
					                       name);
				log_info("pipeline '%s': %s%s%s; queued one run (trigger: %s)",
				         name, group_full ? "concurrency group '" : "still running",
				         group_full ? p->concurrency_group : "",
				         group_full ? "' is full" : "", trigger);
			}
			strv_free(params);
			/* A listener may join the run that is already pending. */
			if (l) {
				l->next = ps->queued_listeners;
				l->queued_on = ps;
				ps->queued_listeners = l;
			}
			return TRIGGER_QUEUED;
		}
		strv_free(params);
		/* A storm of triggers must not become a storm of log lines. */
		ps->skipped++;
		ps->skipped_unlogged++;
		if (ps->skip_logged_usec == 0 || now - ps->skip_logged_usec >= SKIP_LOG_INTERVAL) {
			log_notice("pipeline '%s': %llu trigger%s skipped (overlap = %s, %u "
			           "running%s%s%s%s); "
			           "last trigger: %s",
			           name, (unsigned long long)ps->skipped_unlogged,
			           ps->skipped_unlogged == 1 ? "" : "s",
			           overlap_to_string(p->overlap), ps->running,
			           ps->queued ? ", one queued" : "",
			           group_full ? ", concurrency group '" : "",
			           group_full ? p->concurrency_group : "",
			           group_full ? "' full" : "", trigger);
			ps->skipped_unlogged = 0;
			ps->skip_logged_usec = now;
		}
		return TRIGGER_SKIPPED;
	}
	if (l)
		l->next = NULL;
	/* On failure the caller still owns its listener (left detached). */
	r = start_run(m, p, ps, trigger, false, params, l, ret_run_id, &unstarted);
	o = r < 0 ? TRIGGER_FAILED : r > 0 ? TRIGGER_PARKED : TRIGGER_STARTED;
	if (o == TRIGGER_FAILED && p->concurrency_group)
		concurrency_release(m->groups, p->concurrency_group);
	strv_free(params);
	return o;
}

enum trigger_outcome
manager_trigger_context(struct manager *m, const char *name, const char *why,
                        const char *const *context, uint64_t *ret_run_id)
{
	struct pipeline *p = generation_find(m->current, name);
	struct pstate *ps;
	char **params = NULL;
	char err[512];

	if (!p)
		return TRIGGER_UNKNOWN;
	if (m->stopping)
		return TRIGGER_STOPPING;
	ps = manager_pstate(m, name);
	if (!ps)
		return TRIGGER_FAILED;
	if (ps->disabled) {
		log_debug("pipeline '%s': disabled, ignoring its trigger (%s)", name, why);
		return TRIGGER_DISABLED;
	}
	/* The config made sure every param has a default when triggers exist. */
	if (pipeline_run_params(p, NULL, 0, &params, err, sizeof(err)) < 0) {
		log_err("pipeline '%s': cannot run (trigger: %s): %s", name, why, err);
		return TRIGGER_FAILED;
	}
	for (size_t n = strv_length(params), i = 0; context && context[i] && context[i + 1]; i += 2)
		if (strv_push(&params, &n, context[i]) < 0 ||
		    strv_push(&params, &n, context[i + 1]) < 0) {
			strv_free(params);
			return TRIGGER_FAILED;
		}
	return manager_fire(m, p, why, params, NULL, ret_run_id);
}

enum trigger_outcome
manager_trigger(struct manager *m, const char *name, const char *why, uint64_t *ret_run_id)
{
	return manager_trigger_context(m, name, why, NULL, ret_run_id);
}

/* Checks req's params against p; *ret the run's params. */
static int
request_params(struct pipeline *p, const struct run_request *req, char ***ret)
{
	char err[512];
	int r = pipeline_run_params(p, req ? req->params : NULL, req ? req->n_params : 0, ret, err,
	                            sizeof(err));

	if (r == -EINVAL && req && req->err)
		snprintf(req->err, req->err_size, "%s", err);
	return r;
}

enum trigger_outcome
manager_trigger_listen(struct manager *m, const char *name, const char *why,
                       const struct run_request *req, struct run_listener *l, uint64_t *ret_run_id)
{
	struct pipeline *p = generation_find(m->current, name);
	struct pstate *ps;
	char **params = NULL;
	int r;

	if (!p)
		return TRIGGER_UNKNOWN;
	if (m->stopping)
		return TRIGGER_STOPPING;
	ps = manager_pstate(m, name);
	if (!ps)
		return TRIGGER_FAILED;
	if (ps->disabled && !(req && req->force))
		return TRIGGER_DISABLED;
	r = request_params(p, req, &params);
	if (r < 0)
		return r == -EINVAL ? TRIGGER_REFUSED : TRIGGER_FAILED;
	return manager_fire(m, p, why, params, l, ret_run_id);
}

int
manager_dry_run(struct manager *m, const char *name, const char *why, const struct run_request *req,
                struct run_listener *l, uint64_t *ret_run_id)
{
	struct pipeline *p = generation_find(m->current, name);
	struct run_listener *unstarted;
	char **params = NULL;
	int r;

	if (!p)
		return -ENOENT;
	if (m->stopping)
		return -ESHUTDOWN;
	r = request_params(p, req, &params);
	if (r < 0)
		return r;
	if (l)
		l->next = NULL;
	r = start_run(m, p, NULL, why, true, params, l, ret_run_id, &unstarted);
	strv_free(params);
	return r;
}

int
manager_cancel(struct manager *m, uint64_t run_id)
{
	for (struct active_run *ar = m->runs; ar; ar = ar->next)
		if (ar->run->id == run_id) {
			if (!atomic_load(&ar->run->cancelled))
				log_info("run %llu: pipeline '%s': cancelling",
				         (unsigned long long)run_id, ar->run->pipeline->name);
			run_cancel(ar->run);
			return 0;
		}
	return -ENOENT;
}

bool
manager_disabled(struct manager *m, const char *name)
{
	struct pstate *ps = hashmap_get(&m->pstates, name);
	int64_t v;

	if (ps)
		return ps->disabled;
	return state_store_get(m->switches, name, &v) && v % 2 == 1;
}

int
manager_set_enabled(struct manager *m, const char *name, bool enabled)
{
	struct pstate *ps;

	if (!generation_find(m->current, name))
		return -ENOENT;
	ps = manager_pstate(m, name);
	if (!ps)
		return -ENOMEM;
	if (ps->disabled == !enabled)
		return 0;
	ps->disabled = !enabled;
	/* The file keeps a count of switches, odd when disabled: a store's
	 * values only ever grow, so every switch is a new, larger value. */
	ps->switches++;
	state_store_set(m->switches, name, (int64_t)ps->switches);
	state_store_kick(m->switches);
	log_notice("pipeline '%s': %s", name,
	           enabled ? "enabled" : "disabled: its triggers are ignored until it is enabled");
	manager_update_status(m);
	return 0;
}
