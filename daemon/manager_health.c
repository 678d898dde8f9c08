/* SPDX-License-Identifier: MIT */
/*
 * What the manager reports of itself: the STATUS= line sent to systemd
 * (with the health summary, recomputed only when it may have changed, and
 * a timer for when a max_age runs out), the health report, the history
 * record of a run, the history's limits and its seed of health at start-up,
 * and the GET handler of the HTTP endpoint. Loop thread.
 */
#include "manager_impl.h"

#include "generation.h"
#include "health.h"
#include "history.h"
#include "log.h"
#include "notify.h"
#include "pipeline.h"
#include "registry.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct history_limits
manager_history_limits(const struct gini_config *c)
{
	return (struct history_limits){ .max_runs = c->history_max_runs,
		                        .max_age_usec = c->history_max_age_usec,
		                        .output_max = c->history_output_max };
}

/* Step k of p in execution order: its id and stage (history_encoder). */
static void
step_name(void *userdata, size_t k, const char **ret_id, const char **ret_stage)
{
	const struct pipeline *p = userdata;

	*ret_id = p->steps[p->order[k]].id;
	*ret_stage = p->steps[p->order[k]].stage_id;
}

struct history_run *
manager_run_record(struct history *hist, const struct run *r, uint64_t generation, bool ended)
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
	} else if (r->status == RUN_TIMEOUT) {
		h->message = run_failure_message(r);
	}
	/*
	 * This runs on the loop for every run, and a run may have a thousand
	 * steps: the steps' names come encoded from the history's cache, and
	 * a step that succeeded at once and said nothing (most) costs its
	 * duration's digits. No string is copied, no output serialised where
	 * there is none, and the record stays small (a few bytes a step): the
	 * writer stores it as is.
	 */
	{
		struct history_encoder e;

		history_encoder_init(&e, hist, p, generation, p->n_steps, step_name, (void *)p);
		for (size_t k = 0; k < p->n_steps; k++) {
			struct step_result *res = &r->results[p->order[k]];
			uint64_t dur = res->attempts ? res->end_usec - res->start_usec : 0;
			struct history_step s;

			if (res->status == STEP_SUCCESS && res->attempts == 1 && !res->message &&
			    !atomic_load_explicit(&res->output.any, memory_order_acquire)) {
				history_encoder_add_ok(&e, dur);
				continue;
			}
			/* Borrowed strings, for the call only. */
			s = (struct history_step){
				.result = step_status_to_string(res->status),
				.attempts = res->attempts,
				.duration_usec = dur,
				.message = res->message,
			};
			s.output = output_serialize(&res->output, &s.output_len,
			                            &s.output_first_seq, &s.output_truncated);
			history_encoder_add(&e, &s);
			free(s.output);
		}
		if (history_encoder_finish(&e, h) < 0)
			goto fail;
	}
	return h;
fail:
	history_run_free(h);
	return NULL;
}

/* "open", "disabled" or "opening": what health knows of the runs before. */
static const char *
history_state(struct manager *m)
{
	if (!m->history_synced)
		return "opening";
	return history_disabled(m->history) ? "disabled" : "open";
}

/* What health needs to know of the daemon itself. */
static struct health_daemon
health_daemon_of(const struct manager *m)
{
	return (struct health_daemon){
		.started_usec = m->started_realtime_usec,
		.reload_failed = m->last_reload_usec && !m->last_reload_ok,
		.reload_errors = m->last_reload_errors,
		.n_reload_errors = m->n_last_reload_errors,
	};
}

static json_t *
health_now(struct manager *m, int64_t *ret_next_usec)
{
	struct health_daemon dm = health_daemon_of(m);

	return health_report(m->health, m->current, &dm, (int64_t)now_usec(CLOCK_REALTIME),
	                     ret_next_usec);
}

/*
 * Once the history is open (or known unusable, or given up on): run ids go
 * on from its last run, health from its summaries, and the parked runs
 * start. Never waits: false while the history is still opening. From
 * manager_history_opened() only: starting runs calls back listeners, which
 * must not happen inside another manager call.
 */
static bool
manager_history_sync(struct manager *m)
{
	if (m->history_synced)
		return true;
	/* The loop never waits for the database (a lock held by another
	 * process, a long recovery): it is told when it is open. */
	if (history_opening(m->history))
		return false;
	m->history_synced = true;
	/* Ids go on from the last recorded run, across restarts. */
	executor_set_next_run_id(history_next_id(m->history));
	/* So does what health knows: no pipeline looks new after a restart. */
	(void)history_pipeline_summaries(m->history, manager_seed_health, m->health);
	m->health_stale = true;
	/* Then the runs that waited for it, in the order they came. */
	dispatch_unpark(m);
	return true;
}

void
manager_history_opened(void *userdata)
{
	struct manager *m = userdata;

	(void)manager_history_sync(m);
	manager_update_status(m);
}

bool
manager_history_ready(struct manager *m)
{
	return m->history_synced;
}

json_t *
manager_health(struct manager *m)
{
	json_t *h;

	/* Until the history is read, from what is known, and says so. */
	h = health_now(m, NULL);
	if (h)
		json_object_set_new(h, "history", json_string(history_state(m)));
	return h;
}

static int
on_health_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct manager *m = userdata;

	(void)s;
	(void)usec;
	m->health_stale = true;
	manager_update_status(m);
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
	struct health_daemon dm = health_daemon_of(m);
	int64_t next = 0;
	char line[512];

	/* Not before the history is read (manager_history_opened() comes). */
	if (!m->history_synced)
		return m->n_parked ? "health: reading the run history; runs wait for it"
		                   : "health: reading the run history";
	if (m->health_status && !m->health_stale)
		return m->health_status;
	(void)health_summary_line(m->health, m->current, &dm, (int64_t)now_usec(CLOCK_REALTIME),
	                          &next, line, sizeof(line));
	free(m->health_status);
	m->health_status = strdup(line);
	m->health_stale = !m->health_status;
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
void
manager_update_status(struct manager *m)
{
	char status[512];

	/* Without a service manager to tell, there is nothing to build. */
	if (!notify_wanted())
		return;
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

/*
 * One pipeline's record from the history, handed to health at start-up: its
 * last ended run (a run that was still going when the daemon died is marked
 * "interrupted", never ended, and is not in the record) and its failures in
 * a row, counted as health_run_end() counts them.
 */
void
manager_seed_health(const struct history_summary *s, void *userdata)
{
	enum run_status last = RUN_FAILED;

	if (!s->last_result)
		last = RUN_RUNNING;
	else if (streq(s->last_result, run_status_to_string(RUN_SUCCESS)))
		last = RUN_SUCCESS;
	else if (streq(s->last_result, run_status_to_string(RUN_CANCELLED)))
		last = RUN_CANCELLED;
	else if (streq(s->last_result, run_status_to_string(RUN_TIMEOUT)))
		last = RUN_TIMEOUT;
	(void)health_seed(userdata, s->pipeline, s->last_run_usec, last, s->last_success_usec,
	                  s->consecutive_failures > UINT_MAX ? UINT_MAX
	                                                     : (unsigned)s->consecutive_failures);
}
