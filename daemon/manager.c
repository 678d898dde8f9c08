/* SPDX-License-Identifier: MIT */
/*
 * The manager is the daemon at runtime, on the loop thread: it owns the live
 * generation, starts runs through each pipeline's overlap policy, takes
 * their completions from the workers (posted to the loop), keeps history and
 * per-pipeline state, reloads, and shuts down.
 *
 * Lifetimes: every run holds a reference to the generation it started with,
 * dropped here on the loop thread when the run is done, so a replaced
 * generation (its pipelines' instances and its plugins) is freed when its
 * last run ends, never under one. Per-pipeline state is keyed by name and
 * outlives generations, so overlap counts runs of the old and the new
 * definition alike.
 */
#include "manager.h"

#include "context.h"
#include "control.h"
#include "diag.h"
#include "generation.h"
#include "health.h"
#include "history.h"
#include "http.h"
#include "log.h"
#include "notify.h"
#include "pipeline.h"
#include "reaper.h"
#include "registry.h"
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

/* Pipelines switched off with `ginictl disable`, in STATE_DIR. */
#define SWITCHES_FILE "enabled"
#define SWITCHES_HEADER                                                                            \
	"# ginid: `ginictl enable`/`disable` switches of each pipeline, NAME COUNT; an odd COUNT " \
	"means disabled"
#define SWITCHES_WRITE_INTERVAL (1 * USEC_PER_SEC)

/* How often "skipped" is logged for one pipeline during a trigger storm. */
#define SKIP_LOG_INTERVAL (10 * USEC_PER_SEC)
/*
 * After shutdown_timeout every step process is killed; this is how long the
 * stages then have to notice and return before the daemon exits without
 * them. Processes left behind get as long between SIGTERM and SIGKILL.
 */
#define SHUTDOWN_KILL_WAIT (5 * USEC_PER_SEC)

/* A step event on its way from a worker to the loop, for listeners. */
struct step_msg {
	struct loop_msg msg;
	struct active_run *ar;
	size_t step;
};

struct active_run {
	struct active_run *next, *prev;
	struct manager *m;
	struct run *run;
	struct generation *gen; /* reference */
	struct pstate *ps;
	struct loop_msg done_msg;
	struct run_listener *listeners;
	/* One per step, allocated when the run starts with listeners. A
	 * worker posts a step's message before it counts the step as done,
	 * so every step message reaches the loop before done_msg. */
	struct step_msg *step_msgs;
};

static void update_status(struct manager *m);

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

const struct run *
manager_find_run(struct manager *m, uint64_t id)
{
	for (struct active_run *ar = m->runs; ar; ar = ar->next)
		if (ar->run->id == id && !ar->run->dry_run)
			return ar->run;
	return NULL;
}

static struct history_limits
history_limits(const struct gini_config *c)
{
	return (struct history_limits){ .max_runs = c->history_max_runs,
		                        .max_age_usec = c->history_max_age_usec,
		                        .output_max = c->history_output_max };
}

struct history_run *
manager_run_record(const struct run *r, uint64_t generation, bool ended)
{
	const struct pipeline *p = r->pipeline;
	struct history_run *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->id = r->id;
	h->pipeline = strdup(p->name);
	h->generation = generation;
	h->trigger = strdup(r->trigger);
	h->started_usec = r->start_realtime_usec;
	h->result = "running";
	if (!h->pipeline || !h->trigger)
		goto fail;
	if (!ended)
		return h;
	h->ended_usec = r->start_realtime_usec + (int64_t)(r->end_usec - r->start_usec);
	h->result = run_status_to_string(r->status);
	if (r->failed_step != SIZE_MAX) {
		h->failed_step = strdup(p->steps[r->failed_step].id);
		if (r->results[r->failed_step].message)
			h->message = strdup(r->results[r->failed_step].message);
	}
	/* One allocation for the steps and their strings: this runs on the
	 * loop for every run, and a run may have a thousand steps. */
	{
		size_t size = (p->n_steps + 1) * sizeof(*h->steps);
		char *q;

		for (size_t i = 0; i < p->n_steps; i++)
			size += strlen(p->steps[i].id) + 1 +
			        (p->steps[i].stage_id ? strlen(p->steps[i].stage_id) : 0) + 1 +
			        (r->results[i].message ? strlen(r->results[i].message) + 1 : 0);
		h->steps = calloc(1, size);
		if (!h->steps)
			goto fail;
		h->steps_packed = true;
		h->n_steps = p->n_steps;
		q = (char *)(h->steps + p->n_steps + 1);
		for (size_t k = 0; k < p->n_steps; k++) {
			size_t i = p->order[k];
			struct step_result *res = &r->results[i];
			struct history_step *s = &h->steps[k];

			s->id = q;
			q = stpcpy(q, p->steps[i].id) + 1;
			s->stage = q;
			q = stpcpy(q, p->steps[i].stage_id ? p->steps[i].stage_id : "") + 1;
			if (res->message) {
				s->message = q;
				q = stpcpy(q, res->message) + 1;
			}
			s->result = step_status_to_string(res->status);
			s->attempts = res->attempts;
			s->duration_usec = res->attempts ? res->end_usec - res->start_usec : 0;
			s->output = output_serialize(&res->output, &s->output_len,
			                             &s->output_first_seq, &s->output_truncated);
		}
	}
	return h;
fail:
	history_run_free(h);
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
		log_fields_full(r->status == RUN_SUCCESS ? LOG_INFO : LOG_WARNING, &f,
		                "run %llu: pipeline '%s': %s in %s (trigger: %s)",
		                (unsigned long long)r->id, p->name, run_status_to_string(r->status),
		                d, r->trigger);
	}
}

static void
maybe_exit(struct manager *m)
{
	if (m->stopping && m->in_flight == 0)
		sd_event_exit(m->loop->e, m->exit_code);
}

static void start_queued(struct manager *m, struct pstate *ps);

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

/* Loop thread: a run's last step finished on some worker. */
static void
run_done_on_loop(void *data)
{
	struct active_run *ar = data;
	struct manager *m = ar->m;
	struct pstate *ps = ar->ps;
	struct run *r = ar->run;

	if (!r->dry_run)
		log_run_end(r);
	while (ar->listeners) {
		struct run_listener *l = ar->listeners;

		ar->listeners = l->next;
		l->next = NULL;
		l->ar = NULL;
		if (l->on_done)
			l->on_done(l, r);
	}
	if (ps) {
		history_record(m->history, manager_run_record(r, ar->gen->number, true));
		health_run_end(m->health, r->pipeline->name,
		               r->start_realtime_usec + (int64_t)(r->end_usec - r->start_usec),
		               r->status);
		m->health_stale = true;
		ps->running--;
		ps->last_run_id = r->id;
		ps->last_status = r->status;
		ps->runs[r->status]++;
	}
	if (ar->prev)
		ar->prev->next = ar->next;
	else
		m->runs = ar->next;
	if (ar->next)
		ar->next->prev = ar->prev;
	m->in_flight--;
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
		start_queued(m, ps);
	update_status(m);
	maybe_exit(m);
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
		ar->listeners = l;
	}
}

/*
 * Starts a run with listeners (a list). On failure the listeners come back,
 * detached, in *ret_unstarted.
 */
static int
start_run(struct manager *m, struct pipeline *p, struct pstate *ps, const char *trigger, bool dry,
          char *const *params, struct run_listener *listeners, uint64_t *ret_run_id,
          struct run_listener **ret_unstarted)
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
	ar->gen = generation_ref(m->current);
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
		history_record(m->history, manager_run_record(ar->run, ar->gen->number, false));
	/* Logged once it is on its way: the log line is not on the trigger's path. */
	log_fields_full(dry ? LOG_DEBUG : LOG_INFO,
	                &(struct log_fields){ .pipeline = p->name,
	                                      .run = ar->run->id,
	                                      .generation = ar->run->generation },
	                "run %llu: pipeline '%s': %s (trigger: %s)",
	                (unsigned long long)ar->run->id, p->name,
	                dry ? "dry run started" : "started", trigger);
	update_status(m);
	return 0;
}

/* Tells listeners of a queued run that will never start. */
static void
drop_queued_listeners(struct pstate *ps)
{
	while (ps->queued_listeners) {
		struct run_listener *l = ps->queued_listeners;
		struct run none = { .status = RUN_CANCELLED };

		ps->queued_listeners = l->next;
		l->next = NULL;
		l->queued_on = NULL;
		if (l->on_done)
			l->on_done(l, &none);
	}
}

static void
start_queued(struct manager *m, struct pstate *ps)
{
	_cleanup_free_ char *trigger = steal_ptr(ps->queued);
	char **params = steal_ptr(ps->queued_params);
	struct pipeline *p = generation_find(m->current, ps->name);
	struct run_listener *listeners = steal_ptr(ps->queued_listeners);
	char err[512];

	if (!p) {
		log_info("pipeline '%s': dropping its queued run: the pipeline was removed",
		         ps->name);
		ps->queued_listeners = listeners;
		drop_queued_listeners(ps);
		strv_free(params);
		return;
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
			drop_queued_listeners(ps);
			strv_free(params);
			return;
		}
		strv_free(params);
		params = checked;
	}
	if (start_run(m, p, ps, trigger, false, params, listeners, NULL, &ps->queued_listeners) < 0)
		drop_queued_listeners(ps);
	strv_free(params);
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
	for (; pp && *pp; pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	l->next = NULL;
	l->ar = NULL;
	l->queued_on = NULL;
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
static enum trigger_outcome
fire(struct manager *m, struct pipeline *p, const char *trigger, char **params,
     struct run_listener *l, uint64_t *ret_run_id)
{
	const char *name = p->name;
	struct run_listener *unstarted;
	struct pstate *ps;
	unsigned limit;
	enum trigger_outcome o;

	ps = manager_pstate(m, name);
	if (!ps) {
		strv_free(params);
		return TRIGGER_FAILED;
	}
	limit = p->overlap == OVERLAP_PARALLEL ? p->max_parallel : 1;
	if (ps->running >= limit) {
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
				log_info("pipeline '%s': still running; queued one run (trigger: "
				         "%s)",
				         name, trigger);
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
			           "running%s); "
			           "last trigger: %s",
			           name, (unsigned long long)ps->skipped_unlogged,
			           ps->skipped_unlogged == 1 ? "" : "s",
			           overlap_to_string(p->overlap), ps->running,
			           ps->queued ? ", one queued" : "", trigger);
			ps->skipped_unlogged = 0;
			ps->skip_logged_usec = now;
		}
		return TRIGGER_SKIPPED;
	}
	if (l)
		l->next = NULL;
	/* On failure the caller still owns its listener (left detached). */
	o = start_run(m, p, ps, trigger, false, params, l, ret_run_id, &unstarted) < 0
	            ? TRIGGER_FAILED
	            : TRIGGER_STARTED;
	strv_free(params);
	return o;
}

enum trigger_outcome
manager_trigger(struct manager *m, const char *name, const char *why, uint64_t *ret_run_id)
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
	return fire(m, p, why, params, NULL, ret_run_id);
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
	return fire(m, p, why, params, l, ret_run_id);
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
	update_status(m);
	return 0;
}

static json_t *
health_now(struct manager *m, int64_t *ret_next_usec)
{
	struct health_daemon dm = {
		.started_usec = m->started_realtime_usec,
		.reload_failed = m->last_reload_usec && !m->last_reload_ok,
		.reload_errors = m->last_reload_errors,
		.n_reload_errors = m->n_last_reload_errors,
	};

	return health_report(m->health, m->current, &dm, (int64_t)now_usec(CLOCK_REALTIME),
	                     ret_next_usec);
}

json_t *
manager_health(struct manager *m)
{
	return health_now(m, NULL);
}

/* GET on the metrics endpoint (http.c), on the loop thread. */
static int
manager_http_get(const char *path, char **ret_body, const char **ret_type, void *userdata)
{
	struct manager *m = userdata;

	if (streq(path, "/metrics")) {
		*ret_type = "text/plain; version=0.0.4; charset=utf-8";
		*ret_body = control_metrics_text(m);
		return *ret_body ? 200 : 500;
	}
	if (streq(path, "/health")) {
		json_t *h = manager_health(m);
		int status = json_is_true(json_object_get(h, "healthy")) ? 200 : 503;

		*ret_type = "application/json";
		*ret_body = h ? json_dumps(h, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
		json_decref(h);
		if (*ret_body && strlen(*ret_body) < SIZE_MAX - 1) {
			char *b = realloc(*ret_body, strlen(*ret_body) + 2);

			if (b) {
				strcat(b, "\n");
				*ret_body = b;
			}
		}
		return *ret_body ? status : 500;
	}
	return 404;
}

static int
on_health_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct manager *m = userdata;

	(void)s;
	(void)usec;
	m->health_stale = true;
	update_status(m);
	return 0;
}

/*
 * The health summary for STATUS=, recomputed only when it may have changed
 * (health_stale), since STATUS= also changes at every run start; and the
 * timer for the next time a max_age runs out.
 */
static const char *
health_status(struct manager *m)
{
	int64_t next = 0;
	json_t *h;

	if (m->health_status && !m->health_stale)
		return m->health_status;
	h = health_now(m, &next);
	free(m->health_status);
	m->health_status = h ? strdup(health_summary(h)) : NULL;
	m->health_stale = !m->health_status;
	json_decref(h);
	/* A pipeline turns unhealthy by age alone at next (CLOCK_REALTIME):
	 * say so then, a little after, so the check sees it due. */
	if (m->loop && next > 0) {
		uint64_t wait = (uint64_t)(next - (int64_t)now_usec(CLOCK_REALTIME)) + USEC_PER_SEC;

		if (m->health_timer) {
			(void)sd_event_source_set_time_relative(m->health_timer, wait);
			(void)sd_event_source_set_enabled(m->health_timer, SD_EVENT_ONESHOT);
		} else {
			(void)sd_event_add_time_relative(m->loop->e, &m->health_timer,
			                                 CLOCK_MONOTONIC, wait, USEC_PER_SEC,
			                                 on_health_timer, m);
		}
	} else if (m->health_timer) {
		(void)sd_event_source_set_enabled(m->health_timer, SD_EVENT_OFF);
	}
	return m->health_status ? m->health_status : "health unknown";
}

/* STATUS=: the generation, counts and the health summary. */
static void
update_status(struct manager *m)
{
	char status[512];

	snprintf(status, sizeof(status),
	         "generation %llu: %zu pipelines, %zu stage types, %zu runs in flight%s; %s",
	         (unsigned long long)m->current->number, m->current->n_pipelines,
	         registry_count(m->current->registry), m->in_flight,
	         m->last_reload_usec == 0 ? ""
	         : m->last_reload_ok      ? "; last reload ok"
	                                  : "; last reload FAILED, see the log",
	         health_status(m));
	notify_status(status);
}

static void
record_reload(struct manager *m, bool ok, const struct diags *d)
{
	char buf[4096];

	strv_free(m->last_reload_errors);
	m->last_reload_errors = NULL;
	m->n_last_reload_errors = 0;
	m->last_reload_usec = (int64_t)now_usec(CLOCK_REALTIME);
	m->last_reload_ok = ok;
	m->health_stale = true;
	if (ok)
		m->reloads_ok++;
	else
		m->reloads_failed++;
	for (size_t i = 0; d && i < d->n; i++)
		(void)strv_push(&m->last_reload_errors, &m->n_last_reload_errors,
		                diag_format(&d->v[i], buf, sizeof(buf)));
}

int
manager_reload(struct manager *m, struct diags *diags)
{
	struct generation *g = NULL, *old;
	char buf[4096];
	int r;

	notify_reloading();
	log_info("reloading configuration %s", m->config_file);
	r = generation_build(m->config_file, &m->ov, m->current, m->generations + 1, &g, diags);
	if (r < 0)
		diags_add(diags, NULL, 0, "cannot build a new generation: %s", strerror(-r));
	if (r < 0 || diags->n > 0) {
		for (size_t i = 0; i < diags->n; i++)
			log_err("%s", diag_format(&diags->v[i], buf, sizeof(buf)));
		log_err("reload failed with %zu error%s; generation %llu keeps running unchanged",
		        diags->n, diags->n == 1 ? "" : "s", (unsigned long long)m->current->number);
		/* Freeing it unloads only what it loaded anew. */
		generation_unref(g);
		record_reload(m, false, diags);
		notify_ready("reload failed");
		update_status(m);
		return -EINVAL;
	}
	m->generations++;
	old = m->current;
	m->current = g;
	if (g->config->workers != old->config->workers)
		log_notice("workers = %u takes effect at the next restart (running %u)",
		           g->config->workers, old->config->workers);
	if (!streq_ptr(g->config->control_socket, old->config->control_socket))
		log_notice("control_socket takes effect at the next restart");
	if (!streq_ptr(g->config->control_group, old->config->control_group) ||
	    !streq_ptr(g->config->control_readonly_group, old->config->control_readonly_group))
		log_notice(
		        "control_group and control_readonly_group take effect at the next restart");
	if (!streq_ptr(g->config->state_dir, old->config->state_dir))
		log_notice("state_dir takes effect at the next restart");
	if (!streq_ptr(g->config->metrics_listen, old->config->metrics_listen))
		log_notice("metrics_listen takes effect at the next restart");
	log_set_level(g->config->log_level);
	{
		struct history_limits lim = history_limits(g->config);

		history_set_limits(m->history, &lim);
	}
	scheduler_apply(m->sched, g, false);
	log_info("reloaded: generation %llu with %zu stage types (%zu loaded, %zu unchanged) and "
	         "%zu "
	         "pipelines",
	         (unsigned long long)g->number, registry_count(g->registry), g->report.loaded,
	         g->report.reused, g->n_pipelines);
	/* Runs in flight keep the old generation alive until they end. */
	generation_unref(old);
	record_reload(m, true, NULL);
	notify_ready("reloaded");
	update_status(m);
	return 0;
}

static int
on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct manager *m = userdata;
	struct diags d = { 0 };

	(void)s;
	(void)si;
	if (!m->stopping)
		(void)manager_reload(m, &d);
	diags_done(&d);
	return 0;
}

/* A child ended: steps reap their own; orphans are ours. */
static int
on_sigchld(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	(void)s;
	(void)si;
	(void)userdata;
	(void)reaper_reap_orphans();
	return 0;
}

static int
on_shutdown_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct manager *m = userdata;

	(void)s;
	m->exit_code = EXIT_FAILURE;
	if (!m->killed) {
		/* A grace longer than the timeout must not leave orphans behind. */
		size_t n = reaper_kill_all();
		int r;

		m->killed = true;
		log_err("%zu run%s still running after shutdown_timeout: killed %zu of their "
		        "processes (SIGKILL); waiting for the steps to return",
		        m->in_flight, m->in_flight == 1 ? "" : "s", n);
		r = sd_event_source_set_time(s, usec + SHUTDOWN_KILL_WAIT);
		if (r >= 0)
			r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
		if (r >= 0)
			return 0;
	}
	log_err("%zu run%s still running after shutdown_timeout; exiting without unloading "
	        "their plugins",
	        m->in_flight, m->in_flight == 1 ? "" : "s");
	m->abandon = true;
	m->exit_code = EXIT_FAILURE;
	sd_event_exit(m->loop->e, m->exit_code);
	return 0;
}

static int
on_stop_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct manager *m = userdata;
	char name[16];
	int r;

	(void)s;
	signal_to_string((int)si->ssi_signo, name, sizeof(name));
	if (m->stopping) {
		log_warn("second %s while stopping: exiting now", name);
		m->abandon = m->in_flight > 0;
		m->exit_code = EXIT_FAILURE;
		sd_event_exit(m->loop->e, m->exit_code);
		return 0;
	}
	log_info("stopping on %s: %zu run%s in flight", name, m->in_flight,
	         m->in_flight == 1 ? "" : "s");
	m->stopping = true;
	notify_stopping();
	scheduler_stop(m->sched);
	for (struct active_run *ar = m->runs; ar; ar = ar->next)
		run_cancel(ar->run);
	{
		struct pstate *ps;

		for (size_t i = 0; hashmap_next(&m->pstates, &i, NULL, (void **)&ps);) {
			free(ps->queued);
			ps->queued = NULL;
			drop_queued_listeners(ps);
		}
	}
	if (m->in_flight > 0) {
		r = sd_event_add_time_relative(m->loop->e, &m->shutdown_timer, CLOCK_MONOTONIC,
		                               m->current->config->shutdown_timeout_usec, 0,
		                               on_shutdown_timeout, m);
		if (r < 0)
			log_warn_errno(r, "cannot arm the shutdown timeout: %m, ignoring");
	}
	maybe_exit(m);
	return 0;
}

/*
 * One pipeline's record from the history, handed to health at start-up. A
 * run that was still going when the daemon died ("interrupted") counts as a
 * failure, as it did not succeed.
 */
static void
seed_health(const struct history_summary *s, void *userdata)
{
	enum run_status last = RUN_FAILED;

	if (!s->last_result)
		last = RUN_RUNNING;
	else if (streq(s->last_result, run_status_to_string(RUN_SUCCESS)))
		last = RUN_SUCCESS;
	else if (streq(s->last_result, run_status_to_string(RUN_CANCELLED)))
		last = RUN_CANCELLED;
	(void)health_seed(userdata, s->pipeline, s->last_run_usec, last, s->last_success_usec,
	                  s->consecutive_failures > UINT_MAX ? UINT_MAX
	                                                     : (unsigned)s->consecutive_failures);
}

int
manager_new(const char *config_file, const struct config_overrides *ov, struct manager **ret,
            struct diags *diags)
{
	struct manager *m = calloc(1, sizeof(*m));
	int r;

	if (!m)
		return -ENOMEM;
	hashmap_init(&m->pstates);
	m->health = health_new();
	if (!m->health) {
		free(m);
		return -ENOMEM;
	}
	m->config_file = strdup(config_file);
	for (size_t i = 0; ov && i < ov->n_plugin_dirs; i++)
		strv_push(&m->ov_plugin_dirs, &m->ov.n_plugin_dirs, ov->plugin_dirs[i]);
	m->ov.plugin_dirs = m->ov_plugin_dirs;
	if (ov && ov->control_socket)
		m->ov.control_socket = m->ov_control_socket = strdup(ov->control_socket);
	if (ov && ov->state_dir)
		m->ov.state_dir = m->ov_state_dir = strdup(ov->state_dir);
	m->started_realtime_usec = (int64_t)now_usec(CLOCK_REALTIME);
	r = generation_build(config_file, &m->ov, NULL, 1, &m->current, diags);
	if (r >= 0 && diags->n > 0)
		r = -EINVAL;
	if (r < 0) {
		manager_free(m);
		return r;
	}
	m->generations = 1;
	log_set_level(m->current->config->log_level);
	*ret = m;
	return 0;
}

/* One line naming the stage types (the first 50; `ginictl stages` has all). */
static void
log_stage_types(struct registry *reg)
{
	struct stage_type **list;
	size_t n, total, off = 0;
	char buf[2048];

	if (registry_list(reg, NULL, 0, 50, &list, &n, &total) < 0)
		return;
	buf[0] = 0;
	for (size_t i = 0; i < n && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s %s", i ? ", " : "",
		                        list[i]->id, list[i]->version);
	if (n)
		log_info("stage types: %s%s", buf, total > n ? ", ..." : "");
	registry_list_free(list, n);
}

/* Which pipelines are disabled, kept in STATE_DIR; without it, in memory only. */
static void
open_switches(struct manager *m)
{
	static const char *const names[] = { SWITCHES_FILE };
	const char *dir = m->current->config->state_dir;
	_cleanup_free_ char *path = path_join(dir, SWITCHES_FILE);
	int r;

	if (!path)
		return;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		log_warn("state directory %s: %s; enable and disable will not outlast a restart",
		         dir, strerror(errno));
	state_clean_temporaries(dir, names, ARRAY_SIZE(names));
	r = state_store_new(path, SWITCHES_HEADER, SWITCHES_WRITE_INTERVAL, &m->switches);
	if (r < 0)
		log_warn_errno(r, "%s: %m; enable and disable will not outlast a restart", path);
}

int
manager_start(struct manager *m)
{
	int r;

	r = loop_new(&m->loop);
	if (r < 0)
		return log_err_errno(r, "cannot create the event loop: %m");
	m->ex = executor_new(m->current->config->workers);
	if (!m->ex)
		return log_err_errno(-ENOMEM, "cannot start %u worker threads",
		                     m->current->config->workers);
	{
		struct history_limits lim = history_limits(m->current->config);

		m->history = history_new(m->current->config->state_dir, &lim, m->loop);
		if (!m->history)
			return log_err_errno(-ENOMEM, "cannot set up the run history: %m");
		/* Ids go on from the last recorded run, across restarts. */
		executor_set_next_run_id(history_next_id(m->history));
		/* So does what health knows: no pipeline looks new after a restart. */
		(void)history_pipeline_summaries(m->history, seed_health, m->health);
	}
	r = sd_event_add_signal(m->loop->e, &m->sig_hup, SIGHUP, on_sighup, m);
	if (r >= 0)
		r = sd_event_add_signal(m->loop->e, &m->sig_term, SIGTERM, on_stop_signal, m);
	if (r >= 0)
		r = sd_event_add_signal(m->loop->e, &m->sig_int, SIGINT, on_stop_signal, m);
	if (r < 0)
		return log_err_errno(r, "cannot watch signals: %m");
	/* Only orphans' zombies depend on it; ginid blocks SIGCHLD, embedders may not. */
	r = sd_event_add_signal(m->loop->e, &m->sig_chld, SIGCHLD, on_sigchld, m);
	if (r < 0)
		log_warn_errno(r, "cannot watch SIGCHLD: %m; orphans are reaped at exit only, "
		                  "ignoring");
	/* Pings WATCHDOG=1 from the loop when WatchdogSec= is set. */
	r = sd_event_set_watchdog(m->loop->e, true);
	if (r < 0)
		log_warn_errno(r, "cannot set up the watchdog: %m, ignoring");
	open_switches(m);
	r = control_new(m, m->loop->e, &m->ctl);
	if (r < 0)
		return log_err_errno(r, "cannot open the control socket: %m");
	if (m->current->config->metrics_listen) {
		r = http_new(m->loop->e, m->current->config->metrics_listen, manager_http_get, m,
		             &m->http);
		if (r < 0)
			return r; /* logged */
	}
	r = scheduler_new(m, m->loop->e, &m->sched);
	if (r < 0)
		return log_err_errno(r, "cannot set up the triggers: %m");
	scheduler_apply(m->sched, m->current, true);
	log_info("ginid %s ready: generation 1 with %zu stage types and %zu pipelines, %u workers",
	         GINI_VERSION, registry_count(m->current->registry), m->current->n_pipelines,
	         executor_threads(m->ex));
	log_stage_types(m->current->registry);
	notify_ready("ready");
	update_status(m);
	scheduler_start(m->sched, m->current);
	return 0;
}

int
manager_run(struct manager *m)
{
	int r = sd_event_loop(m->loop->e);

	/* Whatever the steps left behind goes now, even when abandoning them. */
	if (m->abandon || r < 0)
		(void)reaper_kill_all();
	reaper_done(MIN(m->current->config->shutdown_timeout_usec, SHUTDOWN_KILL_WAIT));
	if (r < 0) {
		log_err_errno(r, "event loop failed: %m");
		return EXIT_FAILURE;
	}
	if (m->killed && !m->abandon)
		log_warn("stopped, after killing the processes of steps that overran "
		         "shutdown_timeout");
	else if (!m->abandon)
		log_info("stopped");
	return r;
}

struct manager *
manager_free(struct manager *m)
{
	struct pstate *ps;

	if (!m)
		return NULL;
	if (m->abandon || (m->ex && executor_abandoned(m->ex) > 0)) {
		/* What ended is written, whatever happens to the rest. */
		m->history = history_free(m->history);
		/* Stage code is still running on some worker: unloading it would
		 * pull the code from under it. The process is exiting anyway. */
		return NULL;
	}
	control_free(m->ctl);
	m->ctl = NULL;
	/* After the control socket: it answers the queries its clients left. */
	m->history = history_free(m->history);
	m->http = http_free(m->http);
	sd_event_source_disable_unref(m->health_timer);
	m->health_timer = NULL;
	scheduler_free(m->sched);
	m->sched = NULL;
	sd_event_source_disable_unref(m->sig_hup);
	sd_event_source_disable_unref(m->sig_term);
	sd_event_source_disable_unref(m->sig_int);
	sd_event_source_disable_unref(m->sig_chld);
	sd_event_source_disable_unref(m->shutdown_timer);
	/* All runs are done (the loop only exits then), so workers are idle. */
	executor_free(m->ex);
	m->ex = NULL;
	loop_free(m->loop);
	generation_unref(m->current);
	for (size_t i = 0; hashmap_next(&m->pstates, &i, NULL, (void **)&ps);) {
		free(ps->name);
		free(ps->queued);
		strv_free(ps->queued_params);
		free(ps);
	}
	m->switches = state_store_free(m->switches);
	hashmap_done(&m->pstates);
	health_free(m->health);
	free(m->health_status);
	strv_free(m->last_reload_errors);
	notify_done();
	strv_free(m->ov_plugin_dirs);
	free(m->ov_control_socket);
	free(m->ov_state_dir);
	free(m->config_file);
	free(m);
	return NULL;
}
