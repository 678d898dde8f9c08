/* SPDX-License-Identifier: MIT */
/*
 * Triggers: what makes pipelines run by themselves. Every source lives on
 * the sd-event loop, so an idle daemon sleeps until the next due timer:
 *
 *  - signals: SIGUSR1, SIGUSR2 and SIGRTMIN..SIGRTMAX are watched all the
 *    time (they are blocked in every thread) and dispatched to the pipelines
 *    the live generation binds to them; several may share one signal;
 *  - every: a CLOCK_MONOTONIC timer per pipeline, due times advancing by the
 *    interval so runs do not drift; missed intervals are not made up;
 *  - schedule: a CLOCK_REALTIME timer at cron_next() of the last due time; a
 *    timerfd with TFD_TIMER_CANCEL_ON_SET notices when the wall clock is set
 *    and re-arms them all;
 *  - on_start and persistent: fired once by scheduler_start(). The last fire
 *    time of each persistent schedule is kept in STATE_DIR/schedules, so a
 *    schedule missed while the daemon was down fires once. The loop only
 *    records fire times in memory; a state store (state.c) writes the file
 *    from a thread of its own, batched and atomically, so thousands of
 *    persistent schedules due on one minute do not stall the loop.
 *
 * Entries are keyed by pipeline name and survive reloads, so an unchanged
 * interval keeps its phase across `systemctl reload`.
 *
 * The scheduler knows neither the manager nor generations: its owner pushes
 * the pipelines in (scheduler_apply) and receives firings through a
 * callback. All it knows of time comes through a struct sched_clock, which
 * the tests replace with one they move by hand.
 */
#include "scheduler.h"

#include "hashmap.h"
#include "log.h"
#include "pipeline.h"
#include "sched_clock.h"
#include "state.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NSIG_MAX             65
#define UNBOUND_LOG_INTERVAL (10 * USEC_PER_SEC)
#define STATE_FILE           "schedules"
#define STATE_HEADER         "# last fire times of persistent schedules (ginid); do not edit"
/* The schedules file is written at most this often. */
#define STATE_WRITE_INTERVAL USEC_PER_SEC

struct entry {
	struct scheduler *s;
	char *name;
	bool seen;
	uint64_t every_usec;
	uint64_t every_due; /* CLOCK_MONOTONIC */
	struct sched_timer *every_src;
	char *schedule; /* as written, to notice a change */
	struct cron cron;
	bool persistent;
	bool on_start;
	time_t cron_due;
	struct sched_timer *cron_src;
};

struct scheduler {
	struct scheduler_config cfg;
	struct sched_clock clock;
	bool own_clock;         /* clock is sched_clock_event_new()'s */
	struct hashmap entries; /* name -> struct entry */
	struct entry **order;   /* the entries in the order of the last apply */
	size_t n_order;
	char **bound[NSIG_MAX]; /* signal -> pipeline names */
	size_t n_bound[NSIG_MAX];
	sd_event_source *sig_src[NSIG_MAX];
	uint64_t unbound_logged[NSIG_MAX];
	struct state_store *persist; /* NULL: persistence is off (logged) */
	bool stopped;
};

static void
entry_free(struct entry *e)
{
	if (!e)
		return;
	e->s->clock.timer_free(e->every_src);
	e->s->clock.timer_free(e->cron_src);
	free(e->name);
	free(e->schedule);
	free(e);
}

/* Persistent schedule state: seconds since the epoch, by pipeline name. */
static void
persist_set(struct scheduler *s, const char *name, int64_t when)
{
	state_store_set(s->persist, name, when);
}

static bool
persist_get(struct scheduler *s, const char *name, int64_t *ret)
{
	return state_store_get(s->persist, name, ret);
}

/* Time. */

static uint64_t
now_mono(struct scheduler *s)
{
	return s->clock.now(s->clock.userdata, CLOCK_MONOTONIC);
}

static uint64_t
now_real(struct scheduler *s)
{
	return s->clock.now(s->clock.userdata, CLOCK_REALTIME);
}

static time_t
now_sec(struct scheduler *s)
{
	return (time_t)(now_real(s) / USEC_PER_SEC);
}

/* Arms t at usec, unless the scheduler is stopped. */
static void
timer_arm(struct scheduler *s, struct sched_timer *t, uint64_t usec)
{
	s->clock.timer_set(t, s->stopped ? UINT64_MAX : usec);
}

/* Firing. */

static void
fire(struct scheduler *s, const char *name, const char *trigger)
{
	if (s->stopped)
		return;
	s->cfg.fire(s->cfg.userdata, name, trigger);
}

static void
arm_cron(struct entry *e, time_t after)
{
	time_t next;
	int r = cron_next(&e->cron, after, &next);

	if (r < 0) {
		log_warn("pipeline '%s': schedule '%s' has no next fire time; disabled", e->name,
		         e->schedule);
		e->s->clock.timer_set(e->cron_src, UINT64_MAX);
		return;
	}
	e->cron_due = next;
	timer_arm(e->s, e->cron_src, (uint64_t)next * USEC_PER_SEC);
}

static void
on_cron(void *userdata)
{
	struct entry *e = userdata;
	time_t now = now_sec(e->s), due = e->cron_due;

	fire(e->s, e->name, "schedule");
	if (e->persistent)
		persist_set(e->s, e->name, (int64_t)due);
	/* Strictly after the due time, and never into the past (a suspend or
	 * a stalled loop does not make up every missed fire). */
	arm_cron(e, MAX(due, now));
}

static void
on_every(void *userdata)
{
	struct entry *e = userdata;
	uint64_t now = now_mono(e->s);
	char trigger[64], d[32];

	snprintf(trigger, sizeof(trigger), "every %s",
	         format_duration(e->every_usec, d, sizeof(d)));
	fire(e->s, e->name, trigger);
	e->every_due += e->every_usec;
	if (e->every_due <= now)
		e->every_due = now + e->every_usec; /* late: skip, do not catch up */
	timer_arm(e->s, e->every_src, e->every_due);
}

static int
on_signal(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata)
{
	struct scheduler *s = userdata;
	int sig = (int)si->ssi_signo;
	char name[16], trigger[32];

	(void)src;
	if (sig <= 0 || sig >= NSIG_MAX)
		return 0;
	signal_to_string(sig, name, sizeof(name));
	if (s->n_bound[sig] == 0) {
		uint64_t now = now_mono(s);

		if (s->unbound_logged[sig] == 0 ||
		    now - s->unbound_logged[sig] >= UNBOUND_LOG_INTERVAL) {
			log_notice("received %s, which no pipeline is bound to; ignoring", name);
			s->unbound_logged[sig] = now;
		}
		return 0;
	}
	snprintf(trigger, sizeof(trigger), "signal %s", name);
	for (size_t i = 0; i < s->n_bound[sig]; i++)
		fire(s, s->bound[sig][i], trigger);
	return 0;
}

/* The wall clock was set: every cron timer is recomputed from now. */
static void
on_clock_set(void *userdata)
{
	struct scheduler *s = userdata;
	struct entry *e;
	time_t now = now_sec(s);

	log_info("the system clock was set; recomputing schedules");
	for (size_t i = 0; hashmap_next(&s->entries, &i, NULL, (void **)&e);)
		if (e->cron_src)
			arm_cron(e, now);
}

int
scheduler_new(const struct scheduler_config *cfg, struct scheduler **ret)
{
	static const char *const state_files[] = { STATE_FILE, "probe-cache" };
	struct scheduler *s = calloc(1, sizeof(*s));
	const char *state_dir = cfg->state_dir;
	_cleanup_free_ char *state_path = NULL;
	int r;

	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	s->cfg.state_dir = NULL; /* borrowed for this call only */
	hashmap_init(&s->entries);
	if (cfg->clock)
		s->clock = *cfg->clock;
	else {
		r = sched_clock_event_new(cfg->e, &s->clock);
		if (r < 0) {
			free(s);
			return r;
		}
		s->own_clock = true;
	}
	for (int sig = 1; sig < NSIG_MAX; sig++) {
		if (sig != SIGUSR1 && sig != SIGUSR2 && (sig < SIGRTMIN || sig > SIGRTMAX))
			continue;
		r = sd_event_add_signal(cfg->e, &s->sig_src[sig], sig, on_signal, s);
		if (r < 0) {
			scheduler_free(s);
			return r;
		}
	}
	r = s->clock.watch_set ? s->clock.watch_set(s->clock.userdata, on_clock_set, s) : 0;
	if (r < 0)
		log_warn_errno(r, "cannot watch for clock changes: %m, ignoring");
	if (mkdir(state_dir, 0755) < 0 && errno != EEXIST)
		log_warn("state directory %s: %s; persistent schedules will not catch up",
		         state_dir, strerror(errno));
	/* What a kill -9 in the middle of a write of ours left behind: this
	 * file, and generation.c's probe cache. */
	state_clean_temporaries(state_dir, state_files, ARRAY_SIZE(state_files));
	state_path = path_join(state_dir, STATE_FILE);
	if (!state_path) {
		scheduler_free(s);
		return -ENOMEM;
	}
	r = state_store_new(state_path, STATE_HEADER, STATE_WRITE_INTERVAL, &s->persist);
	if (r < 0)
		log_warn_errno(r, "%s: %m; persistent schedules will not catch up", state_path);
	*ret = s;
	return 0;
}

struct scheduler *
scheduler_free(struct scheduler *s)
{
	struct entry *e;

	if (!s)
		return NULL;
	for (size_t i = 0; hashmap_next(&s->entries, &i, NULL, (void **)&e);)
		entry_free(e);
	hashmap_done(&s->entries);
	free(s->order);
	/* Writes what is still pending. */
	s->persist = state_store_free(s->persist);
	for (int sig = 0; sig < NSIG_MAX; sig++) {
		sd_event_source_disable_unref(s->sig_src[sig]);
		strv_free(s->bound[sig]);
	}
	if (s->clock.unwatch_set)
		s->clock.unwatch_set(s->clock.userdata);
	if (s->own_clock)
		sched_clock_event_free(&s->clock);
	free(s);
	return NULL;
}

static void
apply_every(struct entry *e, const struct pipeline *p)
{
	uint64_t every = p->triggers.every_usec;

	if (every == e->every_usec)
		return; /* unchanged: keep the phase */
	e->every_src = e->s->clock.timer_free(e->every_src);
	e->every_usec = every;
	if (!every)
		return;
	e->every_due = now_mono(e->s) + every;
	if (e->s->clock.timer_new(e->s->clock.userdata, CLOCK_MONOTONIC, on_every, e,
	                          &e->every_src) < 0)
		log_warn("pipeline '%s': cannot arm its 'every' timer, ignoring", e->name);
	else
		timer_arm(e->s, e->every_src, e->every_due);
}

static void
apply_schedule(struct entry *e, const struct pipeline *p, bool starting)
{
	const char *sched = p->triggers.schedule;
	int64_t last;

	e->persistent = p->triggers.persistent;
	if (streq_ptr(sched, e->schedule)) {
		/* Made persistent by this reload: its record starts now. */
		if (e->persistent && !starting && !persist_get(e->s, e->name, &last))
			persist_set(e->s, e->name, (int64_t)now_sec(e->s));
		return;
	}
	e->cron_src = e->s->clock.timer_free(e->cron_src);
	free(e->schedule);
	e->schedule = NULL;
	if (!sched)
		return;
	e->schedule = strdup(sched);
	e->cron = p->triggers.cron;
	if (e->s->clock.timer_new(e->s->clock.userdata, CLOCK_REALTIME, on_cron, e, &e->cron_src) <
	    0) {
		log_warn("pipeline '%s': cannot arm its schedule timer, ignoring", e->name);
		return;
	}
	arm_cron(e, now_sec(e->s));
	/* A pipeline that becomes persistent later starts its record now. */
	if (e->persistent && !starting && !persist_get(e->s, e->name, &last))
		persist_set(e->s, e->name, (int64_t)now_sec(e->s));
}

void
scheduler_apply(struct scheduler *s, struct pipeline *const *pipelines, size_t n_pipelines,
                bool starting)
{
	struct entry *e;
	char **names = NULL;
	size_t n = 0;
	const char *key;

	for (int sig = 0; sig < NSIG_MAX; sig++) {
		strv_free(s->bound[sig]);
		s->bound[sig] = NULL;
		s->n_bound[sig] = 0;
	}
	for (size_t i = 0; hashmap_next(&s->entries, &i, NULL, (void **)&e);)
		e->seen = false;
	free(s->order);
	s->n_order = 0;
	s->order = calloc(n_pipelines ? n_pipelines : 1, sizeof(*s->order));
	if (!s->order)
		log_err("out of memory arming the start-up triggers");
	for (size_t i = 0; i < n_pipelines; i++) {
		const struct pipeline *p = pipelines[i];

		for (size_t k = 0; k < p->triggers.n_signals; k++) {
			int sig = p->triggers.signals[k];

			if (sig > 0 && sig < NSIG_MAX)
				(void)strv_push(&s->bound[sig], &s->n_bound[sig], p->name);
		}
		e = hashmap_get(&s->entries, p->name);
		if (!e) {
			e = calloc(1, sizeof(*e));
			if (!e || !(e->name = strdup(p->name)) ||
			    hashmap_put(&s->entries, e->name, e) < 0) {
				free(e ? e->name : NULL);
				free(e);
				log_err("pipeline '%s': out of memory arming its triggers",
				        p->name);
				continue;
			}
			e->s = s;
		}
		e->seen = true;
		e->on_start = p->triggers.on_start;
		if (s->order)
			s->order[s->n_order++] = e;
		apply_every(e, p);
		apply_schedule(e, p, starting);
	}
	/* Pipelines that are gone stop firing. */
	for (size_t i = 0; hashmap_next(&s->entries, &i, &key, (void **)&e);)
		if (!e->seen)
			(void)strv_push(&names, &n, key);
	for (size_t i = 0; i < n; i++)
		entry_free(hashmap_remove(&s->entries, names[i]));
	strv_free(names);
}

void
scheduler_start(struct scheduler *s)
{
	time_t now = now_sec(s);

	for (size_t i = 0; i < s->n_order; i++) {
		struct entry *e = s->order[i];

		if (e->schedule && e->persistent) {
			int64_t last;
			bool rec = persist_get(s, e->name, &last);
			time_t next;

			if (rec && cron_next(&e->cron, (time_t)last, &next) == 0 && next <= now) {
				char when[64], trigger[96];

				snprintf(trigger, sizeof(trigger), "schedule (missed at %s)",
				         format_iso8601(next, when, sizeof(when)));
				fire(s, e->name, trigger);
				persist_set(s, e->name, (int64_t)now);
			} else if (!rec) {
				persist_set(s, e->name, (int64_t)now);
			}
		}
		if (e->on_start)
			fire(s, e->name, "start");
	}
}

void
scheduler_stop(struct scheduler *s)
{
	struct entry *e;

	s->stopped = true;
	/* Starts writing the last fire times now, in case the exit is abrupt. */
	state_store_kick(s->persist);
	for (size_t i = 0; hashmap_next(&s->entries, &i, NULL, (void **)&e);) {
		if (e->every_src)
			s->clock.timer_set(e->every_src, UINT64_MAX);
		if (e->cron_src)
			s->clock.timer_set(e->cron_src, UINT64_MAX);
	}
}

int64_t
scheduler_next_fire_usec(struct scheduler *s, const char *name)
{
	struct entry *e = hashmap_get(&s->entries, name);
	int64_t best = 0;

	if (!e || s->stopped)
		return 0;
	if (e->every_src) {
		int64_t mono_now = (int64_t)now_mono(s);

		best = (int64_t)now_real(s) + ((int64_t)e->every_due - mono_now);
	}
	if (e->cron_src && e->cron_due) {
		int64_t c = (int64_t)e->cron_due * (int64_t)USEC_PER_SEC;

		if (!best || c < best)
			best = c;
	}
	return best;
}
