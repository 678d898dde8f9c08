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
 *  - schedule: a CLOCK_REALTIME timer at cron_next() of the last due time,
 *    in the schedule's own time zone if it has one; the clock notices when
 *    the wall clock is set, and they are all re-armed;
 *  - random_delay: each timer above fires that much later, a fresh random
 *    amount each time, or a fixed one per host and pipeline;
 *  - watch: inotify (watch.c), a burst of changes making one run;
 *  - after_pipeline: the owner reports every run's end (scheduler_run_ended);
 *  - on_start and persistent: fired once by scheduler_start(). The last fire
 *    time of each persistent schedule is kept in STATE_DIR/schedules (of
 *    each persistent interval, STATE_DIR/intervals), so a schedule missed
 *    while the daemon was down fires once, and an interval goes on counting
 *    across restarts. The loop only records fire times in memory; a state
 *    store (state.c) writes the file from a thread of its own, batched and
 *    atomically, so thousands of persistent schedules due on one minute do
 *    not stall the loop.
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

#include "cron_tz.h"
#include "hashmap.h"
#include "log.h"
#include "loop.h"
#include "pipeline.h"
#include "sched_clock.h"
#include "state.h"
#include "util.h"
#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#define NSIG_MAX             65
#define UNBOUND_LOG_INTERVAL (10 * USEC_PER_SEC)
#define STATE_FILE           "schedules"
#define STATE_HEADER         "# last fire times of persistent schedules (ginid); do not edit"
#define EVERY_FILE           "intervals"
#define EVERY_HEADER         "# last fire times of persistent intervals (ginid); do not edit"
#define MACHINE_ID_FILE      "/etc/machine-id"
/* The schedules file is written at most this often. */
#define STATE_WRITE_INTERVAL USEC_PER_SEC

struct entry {
	struct scheduler *s;
	char *name;
	bool seen;
	uint64_t every_usec;
	char every_trigger[48]; /* "every 5m": made once, not on the timer's path */
	uint64_t every_due;     /* CLOCK_MONOTONIC, without the random delay */
	uint64_t every_delay;
	struct sched_timer *every_src;
	int64_t every_missed; /* a persistent interval that fell due while down: when */
	char *schedule;       /* as written, to notice a change */
	struct cron cron;
	struct cron_tz *tz; /* a reference; NULL: local time */
	bool persistent;
	bool on_start;
	time_t cron_due; /* without the random delay */
	uint64_t cron_delay;
	struct sched_timer *cron_src;
	uint64_t delay_max;   /* random_delay */
	uint64_t delay_fixed; /* fixed_random_delay: the delay; UINT64_MAX: random */
	struct watch *watch;
	char **watch_paths; /* as configured, to notice a change */
	uint32_t watch_events;
	uint64_t watch_settle;
	char *after;
	enum after_result after_result;
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
	sd_event_source *sig_src; /* one signalfd for all the signals watched */
	/* "signal SIGUSR1": made once, not on the signal's path to its run. */
	char sig_trigger[NSIG_MAX][32];
	uint64_t unbound_logged[NSIG_MAX];
	struct state_store *persist; /* NULL: persistence is off (logged) */
	struct state_store *persist_every;
	char machine_id[64]; /* for fixed_random_delay; "" if unknown */
	bool stopped;
};

static void
entry_free(struct entry *e)
{
	if (!e)
		return;
	e->s->clock.timer_free(e->every_src);
	e->s->clock.timer_free(e->cron_src);
	cron_tz_unref(e->tz);
	watch_free(e->watch);
	strv_free(e->watch_paths);
	free(e->after);
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
fire_ctx(struct scheduler *s, const char *name, const char *trigger, const char *const *context)
{
	if (s->stopped)
		return;
	s->cfg.fire(s->cfg.userdata, name, trigger, context);
}

static void
fire(struct scheduler *s, const char *name, const char *trigger)
{
	fire_ctx(s, name, trigger, NULL);
}

/* Random delays. */

static uint64_t
mix64(uint64_t x)
{
	/* The finaliser of splitmix64: every input bit reaches every output bit. */
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/*
 * A delay in [0, max] that stays the same for this host and pipeline
 * (systemd's FixedRandomDelay): a hash of the machine id and the name.
 */
static uint64_t
fixed_delay(const struct scheduler *s, const char *name, uint64_t max)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a */

	for (const char *p = s->machine_id; *p; p++)
		h = (h ^ (unsigned char)*p) * UINT64_C(0x100000001b3);
	h = (h ^ 0xff) * UINT64_C(0x100000001b3);
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * UINT64_C(0x100000001b3);
	return max == UINT64_MAX ? mix64(h) : mix64(h) % (max + 1);
}

/* The delay of one firing of e. */
static uint64_t
draw_delay(const struct entry *e)
{
	uint64_t v;

	if (!e->delay_max)
		return 0;
	if (e->delay_fixed != UINT64_MAX)
		return e->delay_fixed;
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = mix64(now_mono(e->s) ^ (uintptr_t)e);
	return v % (e->delay_max + 1);
}

static void
read_machine_id(struct scheduler *s, const char *given)
{
	_cleanup_free_ char *text = NULL;
	size_t size;

	if (given) {
		snprintf(s->machine_id, sizeof(s->machine_id), "%s", given);
		return;
	}
	if (read_file(MACHINE_ID_FILE, 4096, &text, &size) < 0)
		return; /* only fixed_random_delay needs it: then per pipeline only */
	text[strcspn(text, "\n")] = '\0';
	snprintf(s->machine_id, sizeof(s->machine_id), "%s", text);
}

static void
arm_cron(struct entry *e, time_t after)
{
	time_t next;
	int r = cron_next_tz(&e->cron, e->tz, after, &next);

	if (r < 0) {
		log_warn("pipeline '%s': schedule '%s' has no next fire time; disabled", e->name,
		         e->schedule);
		e->s->clock.timer_set(e->cron_src, UINT64_MAX);
		return;
	}
	e->cron_due = next;
	e->cron_delay = draw_delay(e);
	timer_arm(e->s, e->cron_src, (uint64_t)next * USEC_PER_SEC + e->cron_delay);
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

	fire(e->s, e->name, e->every_trigger);
	if (e->persistent)
		state_store_set(e->s->persist_every, e->name, (int64_t)now_sec(e->s));
	e->every_due += e->every_usec;
	if (e->every_due <= now)
		e->every_due = now + e->every_usec; /* late: skip, do not catch up */
	e->every_delay = draw_delay(e);
	timer_arm(e->s, e->every_src, e->every_due + e->every_delay);
}

/* A burst of file changes settled: one run, with the changed paths. */
static void
on_watch_burst(void *data, const char *changed, size_t dropped)
{
	struct entry *e = data;
	char n[32];
	const char *ctx[] = { "gini.changed_paths", changed,
		              dropped ? "gini.changed_paths_dropped" : NULL, n, NULL };

	snprintf(n, sizeof(n), "%zu", dropped);
	fire_ctx(e->s, e->name, "watch", ctx);
}

static void
on_signal(int sig, void *userdata)
{
	struct scheduler *s = userdata;

	if (sig <= 0 || sig >= NSIG_MAX)
		return;
	if (s->n_bound[sig] == 0) {
		uint64_t now = now_mono(s);

		if (s->unbound_logged[sig] == 0 ||
		    now - s->unbound_logged[sig] >= UNBOUND_LOG_INTERVAL) {
			char name[16];

			log_notice("received %s, which no pipeline is bound to; ignoring",
			           signal_to_string(sig, name, sizeof(name)));
			s->unbound_logged[sig] = now;
		}
		return;
	}
	for (size_t i = 0; i < s->n_bound[sig]; i++)
		fire(s, s->bound[sig][i], s->sig_trigger[sig]);
}

/* SIGUSR1, SIGUSR2 and the real-time signals, watched all the time. */
static int
watch_signals(struct scheduler *s)
{
	sigset_t mask;

	sigemptyset(&mask);
	for (int sig = 1; sig < NSIG_MAX; sig++) {
		char name[16];

		if (sig != SIGUSR1 && sig != SIGUSR2 && (sig < SIGRTMIN || sig > SIGRTMAX))
			continue;
		snprintf(s->sig_trigger[sig], sizeof(s->sig_trigger[sig]), "signal %s",
		         signal_to_string(sig, name, sizeof(name)));
		sigaddset(&mask, sig);
	}
	return loop_add_signals(s->cfg.e, &s->sig_src, &mask, on_signal, s);
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
	static const char *const state_files[] = { STATE_FILE, EVERY_FILE, "probe-cache" };
	struct scheduler *s = calloc(1, sizeof(*s));
	const char *state_dir = cfg->state_dir;
	_cleanup_free_ char *state_path = NULL, *every_path = NULL;
	int r;

	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	s->cfg.state_dir = NULL; /* borrowed for this call only */
	s->cfg.machine_id = NULL;
	read_machine_id(s, cfg->machine_id);
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
	r = watch_signals(s);
	if (r < 0) {
		scheduler_free(s);
		return r;
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
	every_path = path_join(state_dir, EVERY_FILE);
	if (!state_path || !every_path) {
		scheduler_free(s);
		return -ENOMEM;
	}
	r = state_store_new(state_path, STATE_HEADER, STATE_WRITE_INTERVAL, &s->persist);
	if (r < 0)
		log_warn_errno(r, "%s: %m; persistent schedules will not catch up", state_path);
	r = state_store_new(every_path, EVERY_HEADER, STATE_WRITE_INTERVAL, &s->persist_every);
	if (r < 0)
		log_warn_errno(r, "%s: %m; persistent intervals will not catch up", every_path);
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
	s->persist_every = state_store_free(s->persist_every);
	sd_event_source_disable_unref(s->sig_src);
	for (int sig = 0; sig < NSIG_MAX; sig++)
		strv_free(s->bound[sig]);
	if (s->clock.unwatch_set)
		s->clock.unwatch_set(s->clock.userdata);
	if (s->own_clock)
		sched_clock_event_free(&s->clock);
	free(s);
	return NULL;
}

/* Random delay settings; true if they changed. */
static bool
apply_delay(struct entry *e, const struct pipeline *p)
{
	uint64_t max = p->triggers.random_delay_usec;
	uint64_t fixed = p->triggers.fixed_random_delay && max ? fixed_delay(e->s, e->name, max)
	                                                       : UINT64_MAX;

	if (max == e->delay_max && fixed == e->delay_fixed)
		return false;
	e->delay_max = max;
	e->delay_fixed = fixed;
	return true;
}

static void
apply_every(struct entry *e, const struct pipeline *p, bool starting, bool delay_changed)
{
	struct scheduler *s = e->s;
	uint64_t every = p->triggers.every_usec;
	bool persistent = every && p->triggers.persistent;
	int64_t last, now = (int64_t)now_sec(s);

	/* Made persistent by this reload: its record starts now. */
	if (persistent && !starting && !state_store_get(s->persist_every, e->name, &last))
		state_store_set(s->persist_every, e->name, now);
	if (every == e->every_usec) {
		/* Unchanged: keep the phase, with the new delay if it changed. */
		if (every && delay_changed) {
			e->every_delay = draw_delay(e);
			timer_arm(s, e->every_src, e->every_due + e->every_delay);
		}
		return;
	}
	e->every_src = s->clock.timer_free(e->every_src);
	e->every_usec = every;
	e->every_missed = 0;
	if (!every)
		return;
	{
		char d[32];

		snprintf(e->every_trigger, sizeof(e->every_trigger), "every %s",
		         format_duration(every, d, sizeof(d)));
	}
	e->every_due = now_mono(s) + every;
	if (persistent && starting) {
		if (!state_store_get(s->persist_every, e->name, &last))
			state_store_set(s->persist_every, e->name, now);
		else if (last + (int64_t)(every / USEC_PER_SEC) <= now)
			e->every_missed = last + (int64_t)(every / USEC_PER_SEC);
		else
			/* Go on counting from the last fire before the restart. */
			e->every_due = now_mono(s) + every -
			               (uint64_t)MAX(now - last, (int64_t)0) * USEC_PER_SEC;
	}
	e->every_delay = draw_delay(e);
	if (s->clock.timer_new(s->clock.userdata, CLOCK_MONOTONIC, on_every, e, &e->every_src) < 0)
		log_warn("pipeline '%s': cannot arm its 'every' timer, ignoring", e->name);
	else
		timer_arm(s, e->every_src, e->every_due + e->every_delay);
}

static void
apply_schedule(struct entry *e, const struct pipeline *p, bool starting, bool delay_changed)
{
	const char *sched = p->triggers.schedule;
	int64_t last;

	e->persistent = p->triggers.persistent;
	/* Each reload loads zones anew: the same zone is the same name. */
	if (streq_ptr(sched, e->schedule) &&
	    streq_ptr(p->triggers.tz ? cron_tz_name(p->triggers.tz) : NULL,
	              e->tz ? cron_tz_name(e->tz) : NULL)) {
		/* Made persistent by this reload: its record starts now. */
		if (e->persistent && !starting && !persist_get(e->s, e->name, &last))
			persist_set(e->s, e->name, (int64_t)now_sec(e->s));
		if (sched && delay_changed && e->cron_due) {
			e->cron_delay = draw_delay(e);
			timer_arm(e->s, e->cron_src,
			          (uint64_t)e->cron_due * USEC_PER_SEC + e->cron_delay);
		}
		return;
	}
	e->cron_src = e->s->clock.timer_free(e->cron_src);
	free(e->schedule);
	e->schedule = NULL;
	e->tz = cron_tz_unref(e->tz);
	e->cron_due = 0;
	if (!sched)
		return;
	e->schedule = strdup(sched);
	e->cron = p->triggers.cron;
	e->tz = cron_tz_ref(p->triggers.tz);
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

static bool
strv_same(char *const *a, char *const *b)
{
	for (; a && b && *a && *b; a++, b++)
		if (!streq(*a, *b))
			return false;
	return (!a || !*a) && (!b || !*b);
}

static void
apply_watch(struct entry *e, const struct pipeline *p)
{
	const struct trigger_def *t = &p->triggers;
	struct watch_config wc = {
		.e = e->s->cfg.e,
		.clock = &e->s->clock,
		.paths = t->watch_paths,
		.n_paths = t->n_watch_paths,
		.events = t->watch_events,
		.settle_usec = t->watch_settle_usec,
		.on_burst = on_watch_burst,
		.data = e,
	};
	int r;

	if (strv_same(t->watch_paths, e->watch_paths) && t->watch_events == e->watch_events &&
	    t->watch_settle_usec == e->watch_settle)
		return; /* unchanged: a burst in progress goes on */
	e->watch = watch_free(e->watch);
	strv_free(e->watch_paths);
	e->watch_paths = NULL;
	e->watch_events = t->watch_events;
	e->watch_settle = t->watch_settle_usec;
	if (!t->watch_paths)
		return;
	for (size_t i = 0; i < t->n_watch_paths; i++) {
		size_t n = i;

		if (strv_push(&e->watch_paths, &n, t->watch_paths[i]) < 0) {
			log_err("pipeline '%s': out of memory arming its watch", e->name);
			return;
		}
	}
	r = watch_new(&wc, &e->watch);
	if (r < 0)
		log_err_errno(r, "pipeline '%s': cannot watch its paths: %m, ignoring", e->name);
}

static void
apply_after(struct entry *e, const struct pipeline *p)
{
	if (streq_ptr(e->after, p->triggers.after_pipeline)) {
		e->after_result = p->triggers.after_result;
		return;
	}
	free(e->after);
	e->after = p->triggers.after_pipeline ? strdup(p->triggers.after_pipeline) : NULL;
	if (p->triggers.after_pipeline && !e->after)
		log_err("pipeline '%s': out of memory arming its after_pipeline trigger", e->name);
	e->after_result = p->triggers.after_result;
}

void
scheduler_apply(struct scheduler *s, struct pipeline *const *pipelines, size_t n_pipelines,
                bool starting)
{
	struct entry *e;
	char **names = NULL;
	size_t n = 0;
	const char *key;
	bool delay_changed;

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
			e->delay_fixed = UINT64_MAX;
		}
		e->seen = true;
		e->on_start = p->triggers.on_start;
		if (s->order)
			s->order[s->n_order++] = e;
		delay_changed = apply_delay(e, p);
		apply_every(e, p, starting, delay_changed);
		apply_schedule(e, p, starting, delay_changed);
		apply_watch(e, p);
		apply_after(e, p);
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
		if (e->every_missed) {
			char when[64], trigger[128], d[32];

			snprintf(trigger, sizeof(trigger), "every %s (missed at %s)",
			         format_duration(e->every_usec, d, sizeof(d)),
			         format_iso8601((time_t)e->every_missed, when, sizeof(when)));
			e->every_missed = 0;
			fire(s, e->name, trigger);
			state_store_set(s->persist_every, e->name, (int64_t)now);
		}
		if (e->on_start)
			fire(s, e->name, "start");
	}
}

void
scheduler_run_ended(struct scheduler *s, const char *name, enum after_result result)
{
	char trigger[128];

	if (s->stopped)
		return;
	snprintf(trigger, sizeof(trigger), "after pipeline '%s' (%s)", name,
	         result == AFTER_ANY ? "cancelled" : after_result_to_string(result));
	for (size_t i = 0; i < s->n_order; i++) {
		struct entry *e = s->order[i];

		if (e->after && streq(e->after, name) &&
		    (e->after_result == AFTER_ANY || e->after_result == result))
			fire(s, e->name, trigger);
	}
}

void
scheduler_stop(struct scheduler *s)
{
	struct entry *e;

	s->stopped = true;
	/* Starts writing the last fire times now, in case the exit is abrupt. */
	state_store_kick(s->persist);
	state_store_kick(s->persist_every);
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

		best = (int64_t)now_real(s) + ((int64_t)(e->every_due + e->every_delay) - mono_now);
	}
	if (e->cron_src && e->cron_due) {
		int64_t c = (int64_t)e->cron_due * (int64_t)USEC_PER_SEC + (int64_t)e->cron_delay;

		if (!best || c < best)
			best = c;
	}
	return best;
}
