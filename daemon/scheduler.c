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
 */
#include "scheduler.h"

#include "generation.h"
#include "log.h"
#include "manager.h"
#include "pipeline.h"
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
#include <sys/timerfd.h>
#include <unistd.h>

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
	sd_event_source *every_src;
	char *schedule; /* as written, to notice a change */
	struct cron cron;
	bool persistent;
	time_t cron_due;
	sd_event_source *cron_src;
};

struct scheduler {
	struct manager *m;
	sd_event *e;
	struct hashmap entries; /* name -> struct entry */
	char **bound[NSIG_MAX]; /* signal -> pipeline names */
	size_t n_bound[NSIG_MAX];
	sd_event_source *sig_src[NSIG_MAX];
	uint64_t unbound_logged[NSIG_MAX];
	struct state_store *persist; /* NULL: persistence is off (logged) */
	int clock_fd;
	sd_event_source *clock_src;
	bool stopped;
};

static void
entry_free(struct entry *e)
{
	if (!e)
		return;
	sd_event_source_disable_unref(e->every_src);
	sd_event_source_disable_unref(e->cron_src);
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

/* Firing. */

static void
fire(struct scheduler *s, const char *name, const char *trigger)
{
	if (s->stopped)
		return;
	(void)manager_trigger(s->m, name, trigger, NULL);
}

static int
s_stopped_enabled(const struct entry *e)
{
	return e->s->stopped ? SD_EVENT_OFF : SD_EVENT_ONESHOT;
}

static void
arm_cron(struct entry *e, time_t after)
{
	time_t next;
	int r = cron_next(&e->cron, after, &next);

	if (r < 0) {
		log_warn("pipeline '%s': schedule '%s' has no next fire time; disabled", e->name,
		         e->schedule);
		sd_event_source_set_enabled(e->cron_src, SD_EVENT_OFF);
		return;
	}
	e->cron_due = next;
	sd_event_source_set_time(e->cron_src, (uint64_t)next * USEC_PER_SEC);
	sd_event_source_set_enabled(e->cron_src, s_stopped_enabled(e));
}

static int
on_cron(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct entry *e = userdata;
	time_t now = time(NULL), due = e->cron_due;

	(void)src;
	(void)usec;
	fire(e->s, e->name, "schedule");
	if (e->persistent)
		persist_set(e->s, e->name, (int64_t)due);
	/* Strictly after the due time, and never into the past (a suspend or
	 * a stalled loop does not make up every missed fire). */
	arm_cron(e, MAX(due, now));
	return 0;
}

static int
on_every(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct entry *e = userdata;
	uint64_t now = now_usec(CLOCK_MONOTONIC);
	char trigger[64], d[32];

	(void)usec;
	snprintf(trigger, sizeof(trigger), "every %s",
	         format_duration(e->every_usec, d, sizeof(d)));
	fire(e->s, e->name, trigger);
	e->every_due += e->every_usec;
	if (e->every_due <= now)
		e->every_due = now + e->every_usec; /* late: skip, do not catch up */
	sd_event_source_set_time(src, e->every_due);
	sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
	return 0;
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
		uint64_t now = now_usec(CLOCK_MONOTONIC);

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
static int
arm_clock_watch(struct scheduler *s)
{
	struct itimerspec its = { .it_value = { .tv_sec = INT32_MAX } };

	if (timerfd_settime(s->clock_fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) <
	    0)
		return -errno;
	return 0;
}

static int
on_clock_change(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct scheduler *s = userdata;
	struct entry *e;
	uint64_t v;
	time_t now = time(NULL);

	(void)src;
	(void)revents;
	if (read(fd, &v, sizeof(v)) < 0 && errno != ECANCELED && errno != EAGAIN)
		log_warn("clock watch: %s, ignoring", strerror(errno));
	(void)arm_clock_watch(s);
	log_info("the system clock was set; recomputing schedules");
	for (size_t i = 0; hashmap_next(&s->entries, &i, NULL, (void **)&e);)
		if (e->cron_src)
			arm_cron(e, now);
	return 0;
}

int
scheduler_new(struct manager *m, sd_event *ev, struct scheduler **ret)
{
	static const char *const state_files[] = { STATE_FILE, "probe-cache" };
	struct scheduler *s = calloc(1, sizeof(*s));
	const char *state_dir = manager_generation(m)->config->state_dir;
	_cleanup_free_ char *state_path = NULL;
	int r;

	if (!s)
		return -ENOMEM;
	s->m = m;
	s->e = ev;
	s->clock_fd = -1;
	hashmap_init(&s->entries);
	for (int sig = 1; sig < NSIG_MAX; sig++) {
		if (sig != SIGUSR1 && sig != SIGUSR2 && (sig < SIGRTMIN || sig > SIGRTMAX))
			continue;
		r = sd_event_add_signal(ev, &s->sig_src[sig], sig, on_signal, s);
		if (r < 0) {
			scheduler_free(s);
			return r;
		}
	}
	s->clock_fd = timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	if (s->clock_fd >= 0 && arm_clock_watch(s) >= 0)
		r = sd_event_add_io(ev, &s->clock_src, s->clock_fd, EPOLLIN, on_clock_change, s);
	else
		r = -errno;
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
	/* Writes what is still pending. */
	s->persist = state_store_free(s->persist);
	for (int sig = 0; sig < NSIG_MAX; sig++) {
		sd_event_source_disable_unref(s->sig_src[sig]);
		strv_free(s->bound[sig]);
	}
	sd_event_source_disable_unref(s->clock_src);
	if (s->clock_fd >= 0)
		close(s->clock_fd);
	free(s);
	return NULL;
}

static void
apply_every(struct entry *e, const struct pipeline *p)
{
	uint64_t every = p->triggers.every_usec;

	if (every == e->every_usec)
		return; /* unchanged: keep the phase */
	e->every_src = sd_event_source_disable_unref(e->every_src);
	e->every_usec = every;
	if (!every)
		return;
	e->every_due = now_usec(CLOCK_MONOTONIC) + every;
	if (sd_event_add_time(e->s->e, &e->every_src, CLOCK_MONOTONIC, e->every_due, 1, on_every,
	                      e) < 0)
		log_warn("pipeline '%s': cannot arm its 'every' timer, ignoring", e->name);
	else
		sd_event_source_set_enabled(e->every_src, s_stopped_enabled(e));
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
			persist_set(e->s, e->name, (int64_t)time(NULL));
		return;
	}
	e->cron_src = sd_event_source_disable_unref(e->cron_src);
	free(e->schedule);
	e->schedule = NULL;
	if (!sched)
		return;
	e->schedule = strdup(sched);
	e->cron = p->triggers.cron;
	if (sd_event_add_time(e->s->e, &e->cron_src, CLOCK_REALTIME, UINT64_MAX, 1, on_cron, e) <
	    0) {
		log_warn("pipeline '%s': cannot arm its schedule timer, ignoring", e->name);
		return;
	}
	arm_cron(e, time(NULL));
	/* A pipeline that becomes persistent later starts its record now. */
	if (e->persistent && !starting && !persist_get(e->s, e->name, &last))
		persist_set(e->s, e->name, (int64_t)time(NULL));
}

void
scheduler_apply(struct scheduler *s, struct generation *g, bool starting)
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
	for (size_t i = 0; i < g->n_pipelines; i++) {
		const struct pipeline *p = g->pipelines[i];

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
				entry_free(e);
				log_err("pipeline '%s': out of memory arming its triggers",
				        p->name);
				continue;
			}
			e->s = s;
		}
		e->seen = true;
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
scheduler_start(struct scheduler *s, struct generation *g)
{
	time_t now = time(NULL);

	for (size_t i = 0; i < g->n_pipelines; i++) {
		const struct pipeline *p = g->pipelines[i];
		struct entry *e = hashmap_get(&s->entries, p->name);

		if (e && e->schedule && e->persistent) {
			int64_t last;
			bool rec = persist_get(s, p->name, &last);
			time_t next;

			if (rec && cron_next(&e->cron, (time_t)last, &next) == 0 && next <= now) {
				char when[64], trigger[96];

				snprintf(trigger, sizeof(trigger), "schedule (missed at %s)",
				         format_iso8601(next, when, sizeof(when)));
				fire(s, p->name, trigger);
				persist_set(s, p->name, (int64_t)now);
			} else if (!rec) {
				persist_set(s, p->name, (int64_t)now);
			}
		}
		if (p->triggers.on_start)
			fire(s, p->name, "start");
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
		sd_event_source_set_enabled(e->every_src, SD_EVENT_OFF);
		sd_event_source_set_enabled(e->cron_src, SD_EVENT_OFF);
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
		int64_t mono_now = (int64_t)now_usec(CLOCK_MONOTONIC);

		best = (int64_t)now_usec(CLOCK_REALTIME) + ((int64_t)e->every_due - mono_now);
	}
	if (e->cron_src && e->cron_due) {
		int64_t c = (int64_t)e->cron_due * (int64_t)USEC_PER_SEC;

		if (!best || c < best)
			best = c;
	}
	return best;
}
