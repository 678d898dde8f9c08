/* SPDX-License-Identifier: MIT */
/*
 * The manager is the daemon at runtime, on the loop thread: it owns the live
 * generation and its runs' lifetimes, the signals, reloads and shutdown.
 * This file is its lifecycle: the first generation, start-up (loop,
 * workers, history, signals, control socket, triggers, READY=1), the swap
 * of a new generation on reload, and the orderly stop on SIGTERM with its
 * shutdown_timeout. Runs are dispatch.c's; what the manager reports
 * (STATUS=, health, history records) is manager_health.c's.
 *
 * Lifetimes: every run holds a reference to the generation it started with,
 * dropped on the loop thread when the run is done (dispatch.c), so a
 * replaced generation (its pipelines' instances and its plugins) is freed
 * when its last run ends, never under one.
 */
#include "manager.h"
#include "manager_impl.h"

#include "concurrency.h"
#include "diag.h"
#include "generation.h"
#include "health.h"
#include "history.h"
#include "isolate_pool.h"
#include "log.h"
#include "notify.h"
#include "pipeline.h"
#include "reaper.h"
#include "registry.h"
#include "scheduler.h"
#include "startup_trace.h"
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
/*
 * After shutdown_timeout every step process is killed; this is how long the
 * stages then have to notice and return before the daemon exits without
 * them. Processes left behind get as long between SIGTERM and SIGKILL.
 */
#define SHUTDOWN_KILL_WAIT (5 * USEC_PER_SEC)

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
		manager_update_status(m);
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
		struct history_limits lim = manager_history_limits(g->config);

		history_set_limits(m->history, &lim);
	}
	scheduler_apply(m->sched, g->pipelines, g->n_pipelines, false);
	log_info("reloaded: generation %llu with %zu stage types (%zu loaded, %zu unchanged) and "
	         "%zu "
	         "pipelines",
	         (unsigned long long)g->number, registry_count(g->registry), g->report.loaded,
	         g->report.reused, g->n_pipelines);
	/* Runs in flight keep the old generation alive until they end. Pooled
	 * isolation workers serve the old files: none is reused. */
	isolate_pool_drain();
	generation_unref(old);
	dispatch_start_waiting(m);
	record_reload(m, true, NULL);
	notify_ready("reloaded");
	manager_update_status(m);
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
			manager_drop_queued_listeners(ps);
		}
	}
	dispatch_drop_parked(m);
	if (m->in_flight > 0) {
		r = sd_event_add_time_relative(m->loop->e, &m->shutdown_timer, CLOCK_MONOTONIC,
		                               m->current->config->shutdown_timeout_usec, 0,
		                               on_shutdown_timeout, m);
		if (r < 0)
			log_warn_errno(r, "cannot arm the shutdown timeout: %m, ignoring");
	}
	manager_maybe_exit(m);
	return 0;
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
	m->groups = concurrency_new();
	if (!m->health || !m->groups) {
		health_free(m->health);
		concurrency_free(m->groups);
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

/* The scheduler's way in: a timer, a signal or start-up fires a pipeline. */
static void
scheduler_fire(void *userdata, const char *name, const char *trigger, const char *const *context)
{
	(void)manager_trigger_context(userdata, name, trigger, context, NULL);
}

int
manager_start(struct manager *m)
{
	int r;

	r = loop_new(&m->loop);
	if (r < 0)
		return log_err_errno(r, "cannot create the event loop: %m");
	startup_trace("event loop");
	m->ex = executor_new(m->current->config->workers);
	if (!m->ex)
		return log_err_errno(-ENOMEM, "cannot start %u worker threads",
		                     m->current->config->workers);
	startup_trace("executor made (its threads start with the first run)");
	{
		struct history_limits lim = manager_history_limits(m->current->config);

		/* Opened on its writer thread: READY=1 does not wait for SQLite,
		 * nor does the loop: runs wait for it (dispatch_park.c) until
		 * manager_history_opened(). */
		m->history = history_new(m->current->config->state_dir, &lim, m->loop);
		if (!m->history)
			return log_err_errno(-ENOMEM, "cannot set up the run history: %m");
		history_when_open(m->history, manager_history_opened, m);
	}
	startup_trace("run history opened");
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
	startup_trace("signals, state files");
	return 0;
}

int
manager_ready(struct manager *m)
{
	int r;

	r = scheduler_new(&(struct scheduler_config){ .e = m->loop->e,
	                                              .state_dir = m->current->config->state_dir,
	                                              .fire = scheduler_fire,
	                                              .userdata = m },
	                  &m->sched);
	if (r < 0)
		return log_err_errno(r, "cannot set up the triggers: %m");
	scheduler_apply(m->sched, m->current->pipelines, m->current->n_pipelines, true);
	startup_trace("triggers set up");
	log_info("ginid %s ready: generation 1 with %zu stage types and %zu pipelines, %u workers",
	         GINI_VERSION, registry_count(m->current->registry), m->current->n_pipelines,
	         executor_threads(m->ex));
	log_stage_types(m->current->registry);
	notify_ready("ready");
	manager_update_status(m);
	scheduler_start(m->sched);
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

bool
manager_abandoned(struct manager *m)
{
	return m->abandon || (m->ex && executor_abandoned(m->ex) > 0);
}

struct generation *
manager_generation(struct manager *m)
{
	return m->current;
}

sd_event *
manager_event(struct manager *m)
{
	return m->loop->e;
}

struct history *
manager_history(struct manager *m)
{
	return m->history;
}

struct health *
manager_health_records(struct manager *m)
{
	return m->health;
}

bool
manager_stopping(struct manager *m)
{
	return m->stopping;
}

void
manager_counters(struct manager *m, struct manager_counters *ret)
{
	*ret = (struct manager_counters){
		.started_usec = m->started_realtime_usec,
		.in_flight = m->in_flight,
		.reloads_ok = m->reloads_ok,
		.reloads_failed = m->reloads_failed,
		.workers = executor_threads(m->ex),
		.workers_abandoned = executor_abandoned(m->ex),
	};
}

void
manager_reload_status(struct manager *m, struct manager_reload_status *ret)
{
	*ret = (struct manager_reload_status){
		.usec = m->last_reload_usec,
		.ok = m->last_reload_ok,
		.errors = m->last_reload_errors,
		.n_errors = m->n_last_reload_errors,
	};
}

int64_t
manager_next_fire_usec(struct manager *m, const char *name)
{
	return scheduler_next_fire_usec(m->sched, name);
}

struct manager *
manager_free(struct manager *m)
{
	struct pstate *ps;

	if (!m)
		return NULL;
	if (manager_abandoned(m)) {
		/* What ended is written, whatever happens to the rest. */
		m->history = history_free(m->history);
		/* Stage code is still running on some worker: unloading it would
		 * pull the code from under it. The process is exiting anyway. */
		return NULL;
	}
	/* Runs that never got to start (the loop ended without a stop). */
	dispatch_drop_parked(m);
	/* After the control socket (its owner frees it first): it answers the
	 * queries its clients left. */
	m->history = history_free(m->history);
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
	isolate_pool_drain();
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
	concurrency_free(m->groups);
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
