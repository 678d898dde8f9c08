/* SPDX-License-Identifier: MIT */
/*
 * The `triggers` group of a pipeline: signals, every, schedule (with its
 * time zone), on_start, persistent, random delays, watch and
 * after_pipeline, read into a struct trigger_def (triggers.h) with a
 * FILE:LINE diagnostic for every problem. Also the one check that needs
 * every pipeline at once: after_pipeline names a pipeline that exists, and
 * no chain of them comes back to where it started. Part of the
 * configuration reader (config_internal.h); runs on the thread that loads
 * the configuration, like the rest of it.
 */
#include "config.h"
#include "config_internal.h"
#include "cron_tz.h"
#include "diag.h"
#include "hashmap.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVERY_MIN            (10 * USEC_PER_MSEC)
#define RANDOM_DELAY_MAX     (7 * 24 * 3600 * USEC_PER_SEC)
#define SETTLE_DEFAULT       USEC_PER_SEC
#define SETTLE_MIN           (10 * USEC_PER_MSEC)
#define SETTLE_MAX           (3600 * USEC_PER_SEC)
#define DEFAULT_WATCH_EVENTS (WATCH_CREATE | WATCH_CLOSE_WRITE | WATCH_MOVED_TO | WATCH_DELETE)
#define CRON_TZ_PREFIX       "CRON_TZ="
/* A reported cycle names at most this many bytes of pipelines. */
#define CYCLE_TEXT_MAX 1024

static const char *const trigger_keys[] = {
	"signal",     "every",        "schedule",           "timezone", "on_start",
	"persistent", "random_delay", "fixed_random_delay", "watch",    "after_pipeline",
};
static const char *const watch_keys[] = { "paths", "events", "settle" };
static const char *const after_keys[] = { "pipeline", "result" };
static const char *const after_results[] = { "success", "failure", "any" };
static const char *const event_names[] = { "create",     "close_write", "moved_to", "delete",
	                                   "moved_from", "modify",      "attrib" };

static const config_setting_t *
member(const config_setting_t *g, const char *key)
{
	return config_setting_get_member(g, key);
}

static void
read_signals(struct reader *rd, const config_setting_t *g, struct trigger_def *t,
             const char *prefix)
{
	config_setting_t *s = config_setting_get_member(g, "signal");
	char **sigs = NULL;
	size_t nsigs = 0;

	if (!s || reader_strings(rd, s, "signal", prefix, &sigs, &nsigs) < 0) {
		strv_free(sigs);
		return;
	}
	for (size_t i = 0; i < nsigs; i++) {
		int sig = signal_from_string(sigs[i]);

		if (sig == SIGHUP || sig == SIGTERM || sig == SIGINT) {
			diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s),
			          "%s'signal': %s is reserved (SIGHUP reloads, SIGTERM and "
			          "SIGINT stop); use SIGUSR1, SIGUSR2 or SIGRTMIN+N",
			          prefix, sigs[i]);
		} else if (sig < 0) {
			diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s),
			          "%s'signal': unknown signal '%s' (use SIGUSR1, SIGUSR2 or "
			          "SIGRTMIN+N, N from 0 to %d)",
			          prefix, sigs[i], SIGRTMAX - SIGRTMIN);
		} else if (sig != SIGUSR1 && sig != SIGUSR2 && (sig < SIGRTMIN || sig > SIGRTMAX)) {
			diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s),
			          "%s'signal': %s cannot trigger a pipeline (use SIGUSR1, "
			          "SIGUSR2 "
			          "or SIGRTMIN+N, N from 0 to %d)",
			          prefix, sigs[i], SIGRTMAX - SIGRTMIN);
		} else if (t->n_signals >= TRIGGER_SIGNALS_MAX) {
			diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s),
			          "%s'signal': more than %d signals", prefix, TRIGGER_SIGNALS_MAX);
			break;
		} else {
			t->signals[t->n_signals++] = sig;
		}
	}
	strv_free(sigs);
}

/*
 * schedule, and its zone: `timezone`, or a CRON_TZ= prefix in the
 * expression as cronie takes it ("CRON_TZ=Europe/Berlin 0 2 * * *").
 */
static void
read_schedule(struct reader *rd, const config_setting_t *g, struct trigger_def *t,
              const char *prefix)
{
	const config_setting_t *ss = member(g, "schedule"), *zs = member(g, "timezone");
	const char *sched = reader_string(rd, g, "schedule", prefix);
	const char *zone = reader_string(rd, g, "timezone", prefix);
	const char *expr = sched, *zone_key = "timezone";
	char name[CRON_TZ_NAME_MAX + 1], err[512];

	if (sched && strncmp(sched, CRON_TZ_PREFIX, strlen(CRON_TZ_PREFIX)) == 0) {
		const char *z = sched + strlen(CRON_TZ_PREFIX);
		size_t n = strcspn(z, " \t");

		if (n == 0 || n > CRON_TZ_NAME_MAX) {
			diags_add(rd->diags, reader_file(rd, ss), reader_line(rd, ss),
			          "%s'schedule': CRON_TZ= needs a zone name before the expression, "
			          "as "
			          "in \"CRON_TZ=Europe/Berlin 0 2 * * *\"",
			          prefix);
			return;
		}
		if (zone) {
			diags_add(rd->diags, reader_file(rd, ss), reader_line(rd, ss),
			          "%s'schedule': CRON_TZ= and 'timezone' both give a time zone; "
			          "keep one",
			          prefix);
			return;
		}
		memcpy(name, z, n);
		name[n] = '\0';
		zone = name;
		zs = ss;
		zone_key = "schedule";
		expr = z + n;
	}
	if (zone && !ss) {
		diags_add(rd->diags, reader_file(rd, zs), reader_line(rd, zs),
		          "%s'timezone' needs a 'schedule'", prefix);
		return;
	}
	if (!sched)
		return;
	if (cron_parse(expr, &t->cron, err, sizeof(err)) < 0) {
		diags_add(rd->diags, reader_file(rd, ss), reader_line(rd, ss),
		          "%s'schedule': invalid cron expression '%s': %s", prefix, sched, err);
		return;
	}
	if (zone && cron_tz_load(zone, &t->tz, err, sizeof(err)) < 0) {
		diags_add(rd->diags, reader_file(rd, zs), reader_line(rd, zs), "%s'%s': %s", prefix,
		          zone_key, err);
		return;
	}
	t->schedule = strdup(sched);
}

static void
read_watch(struct reader *rd, const config_setting_t *g, struct trigger_def *t, const char *prefix)
{
	const config_setting_t *w = member(g, "watch"), *ps, *es;
	char wprefix[256], **raw = NULL, **events = NULL;
	size_t n_raw = 0, n_events = 0;

	if (!w)
		return;
	if (!config_setting_is_group(w)) {
		diags_add(rd->diags, reader_file(rd, w), reader_line(rd, w),
		          "%s'watch': expected a group { paths = [ ... ]; ... }, got %s", prefix,
		          reader_type_name(w));
		return;
	}
	snprintf(wprefix, sizeof(wprefix), "%swatch: ", prefix);
	reader_check_keys(rd, w, watch_keys, ARRAY_SIZE(watch_keys), wprefix, NULL, 0);
	ps = member(w, "paths");
	if (!ps) {
		diags_add(rd->diags, reader_file(rd, w), reader_line(rd, w),
		          "%s'paths' is missing: name the files or directories to watch", wprefix);
		return;
	}
	if (reader_strings(rd, ps, "paths", wprefix, &raw, &n_raw) < 0)
		goto out;
	if (n_raw == 0 || n_raw > TRIGGER_WATCH_PATHS_MAX) {
		diags_add(rd->diags, reader_file(rd, ps), reader_line(rd, ps),
		          "%s'paths': expected 1 to %d paths, got %zu", wprefix,
		          TRIGGER_WATCH_PATHS_MAX, n_raw);
		goto out;
	}
	t->watch_events = DEFAULT_WATCH_EVENTS;
	es = member(w, "events");
	if (es) {
		if (reader_strings(rd, es, "events", wprefix, &events, &n_events) < 0)
			goto out;
		t->watch_events = 0;
		for (size_t i = 0; i < n_events; i++) {
			uint32_t bit = watch_event_from_string(events[i]);
			const char *hint;

			if (bit) {
				t->watch_events |= bit;
				continue;
			}
			hint = closest_match(events[i], event_names, ARRAY_SIZE(event_names));
			diags_add(
			        rd->diags, reader_file(rd, es), reader_line(rd, es),
			        "%s'events': unknown event '%s'%s%s%s (known: create, close_write, "
			        "moved_to, delete, moved_from, modify, attrib)",
			        wprefix, events[i], hint ? "; did you mean '" : "",
			        hint ? hint : "", hint ? "'?" : "");
		}
		if (!t->watch_events) {
			diags_add(rd->diags, reader_file(rd, es), reader_line(rd, es),
			          "%s'events': no event to watch for", wprefix);
			goto out;
		}
	}
	t->watch_settle_usec = SETTLE_DEFAULT;
	if (reader_duration(rd, w, "settle", wprefix, &t->watch_settle_usec) > 0 &&
	    (t->watch_settle_usec < SETTLE_MIN || t->watch_settle_usec > SETTLE_MAX))
		diags_add(rd->diags, reader_file(rd, member(w, "settle")),
		          reader_line(rd, member(w, "settle")),
		          "%s'settle': must be from 10ms to 1h", wprefix);
	for (size_t i = 0; i < n_raw; i++) {
		char *p;
		int r;

		if (!raw[i][0]) {
			diags_add(rd->diags, reader_file(rd, ps), reader_line(rd, ps),
			          "%s'paths': empty path", wprefix);
			continue;
		}
		/* Relative paths resolve against the file that names them. */
		p = raw[i][0] == '/' ? strdup(raw[i]) : path_join(rd->dir, raw[i]);
		r = p ? strv_push(&t->watch_paths, &t->n_watch_paths, p) : -ENOMEM;
		free(p);
		if (r < 0)
			break;
	}
out:
	strv_free(raw);
	strv_free(events);
}

static void
read_after(struct reader *rd, const config_setting_t *g, struct trigger_def *t, const char *prefix)
{
	const config_setting_t *a = member(g, "after_pipeline");
	char aprefix[256];
	const char *name;
	int res;

	if (!a)
		return;
	if (!config_setting_is_group(a)) {
		diags_add(rd->diags, reader_file(rd, a), reader_line(rd, a),
		          "%s'after_pipeline': expected a group { pipeline = \"...\"; result = "
		          "\"success\"; }, got %s",
		          prefix, reader_type_name(a));
		return;
	}
	snprintf(aprefix, sizeof(aprefix), "%safter_pipeline: ", prefix);
	reader_check_keys(rd, a, after_keys, ARRAY_SIZE(after_keys), aprefix, NULL, 0);
	t->after_result = AFTER_SUCCESS;
	if (reader_enum(rd, a, "result", aprefix, after_results, ARRAY_SIZE(after_results), &res) >
	    0)
		t->after_result = (enum after_result)res;
	name = reader_string(rd, a, "pipeline", aprefix);
	if (!name) {
		if (!member(a, "pipeline"))
			diags_add(rd->diags, reader_file(rd, a), reader_line(rd, a),
			          "%s'pipeline' is missing: name the pipeline whose runs this one "
			          "follows",
			          aprefix);
		return;
	}
	if (!config_name_valid(name)) {
		diags_add(rd->diags, reader_file(rd, member(a, "pipeline")),
		          reader_line(rd, member(a, "pipeline")),
		          "%s'pipeline': invalid pipeline name '%s'", aprefix, name);
		return;
	}
	t->after_pipeline = strdup(name);
	t->after_line = reader_line(rd, a);
}

void
config_triggers_read(struct reader *rd, const config_setting_t *g, struct pipeline_def *p,
                     const char *prefix)
{
	struct trigger_def *t = &p->triggers;
	char tprefix[192];
	bool persistent = false, fixed = false;

	t->line = reader_line(rd, g);
	if (!config_setting_is_group(g)) {
		diags_add(rd->diags, reader_file(rd, g), reader_line(rd, g),
		          "%s'triggers': expected a group { ... }, got %s", prefix,
		          reader_type_name(g));
		return;
	}
	snprintf(tprefix, sizeof(tprefix), "%striggers: ", prefix);
	prefix = tprefix;
	reader_check_keys(rd, g, trigger_keys, ARRAY_SIZE(trigger_keys), prefix, NULL, 0);
	read_signals(rd, g, t, prefix);
	if (reader_duration(rd, g, "every", prefix, &t->every_usec) > 0 &&
	    t->every_usec < EVERY_MIN) {
		diags_add(rd->diags, reader_file(rd, member(g, "every")),
		          reader_line(rd, member(g, "every")),
		          "%s'every': interval must be at least 10ms", prefix);
		t->every_usec = 0;
	}
	read_schedule(rd, g, t, prefix);
	reader_bool(rd, g, "on_start", prefix, &t->on_start);
	if (reader_bool(rd, g, "persistent", prefix, &persistent) > 0 && persistent &&
	    !member(g, "schedule") && !member(g, "every"))
		diags_add(rd->diags, reader_file(rd, member(g, "persistent")),
		          reader_line(rd, member(g, "persistent")),
		          "%s'persistent' needs a 'schedule' or an 'every'", prefix);
	t->persistent = persistent;
	if (reader_duration(rd, g, "random_delay", prefix, &t->random_delay_usec) > 0) {
		const config_setting_t *s = member(g, "random_delay");

		if (t->random_delay_usec > RANDOM_DELAY_MAX)
			diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s),
			          "%s'random_delay': at most 7d", prefix);
		else if (!member(g, "schedule") && !member(g, "every"))
			diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s),
			          "%s'random_delay' needs a 'schedule' or an 'every'", prefix);
	}
	if (reader_bool(rd, g, "fixed_random_delay", prefix, &fixed) > 0 && fixed &&
	    !member(g, "random_delay"))
		diags_add(rd->diags, reader_file(rd, member(g, "fixed_random_delay")),
		          reader_line(rd, member(g, "fixed_random_delay")),
		          "%s'fixed_random_delay' needs a 'random_delay'", prefix);
	t->fixed_random_delay = fixed;
	read_watch(rd, g, t, prefix);
	read_after(rd, g, t, prefix);
}

/* "a -> b -> a", from pipeline start along after_pipeline, bounded. */
static void
cycle_text(const struct gini_config *c, const struct hashmap *index, size_t start, char *buf,
           size_t size)
{
	size_t n = 0, i = start;

	buf[0] = '\0';
	for (;;) {
		const char *name = c->pipelines[i].name;
		int k = snprintf(buf + n, size - n, "%s%s", n ? " -> " : "", name);
		void *v;

		if (k < 0 || (size_t)k >= size - n) {
			snprintf(buf + (size > 4 ? size - 4 : 0), 4, "...");
			return;
		}
		n += (size_t)k;
		if (n && i == start && n > strlen(name))
			return;
		v = hashmap_get(index, c->pipelines[i].triggers.after_pipeline);
		i = (size_t)(uintptr_t)v - 1;
	}
}

void
config_triggers_check(struct gini_config *c, struct diags *diags)
{
	struct hashmap index; /* name -> index + 1 */
	/* Freed by hand: clang-tidy 14's analyzer misreads cleanup attributes here. */
	unsigned char *state = calloc(c->n_pipelines + 1, 1);
	const char **names = calloc(c->n_pipelines + 1, sizeof(*names));
	size_t n_names = 0;

	if (!state || !names) {
		free(state);
		free(names);
		return;
	}
	hashmap_init(&index);
	for (size_t i = 0; i < c->n_pipelines; i++) {
		/* A pipeline without a valid name (reported) takes no part. */
		if (!c->pipelines[i].name) {
			state[i] = 2;
			continue;
		}
		names[n_names++] = c->pipelines[i].name;
		(void)hashmap_put(&index, c->pipelines[i].name, (void *)(uintptr_t)(i + 1));
	}
	/* Unknown targets. */
	for (size_t i = 0; i < c->n_pipelines; i++) {
		const struct pipeline_def *p = &c->pipelines[i];
		const char *hint;

		if (state[i] || !p->triggers.after_pipeline ||
		    hashmap_get(&index, p->triggers.after_pipeline))
			continue;
		state[i] = 2; /* no cycle through it */
		hint = closest_match(p->triggers.after_pipeline, names, n_names);
		diags_add(diags, p->file, p->triggers.after_line,
		          "pipeline '%s': triggers: after_pipeline: unknown pipeline '%s'%s%s%s",
		          p->name, p->triggers.after_pipeline, hint ? "; did you mean '" : "",
		          hint ? hint : "", hint ? "'?" : "");
	}
	/*
	 * Cycles. Each pipeline follows at most one other, so the chains are
	 * paths that may end in one loop: walk each, marking it (1: on this
	 * walk, 2: done), and report a loop where a walk first meets itself.
	 */
	for (size_t i = 0; i < c->n_pipelines; i++) {
		size_t k = i;

		while (state[k] == 0 && c->pipelines[k].triggers.after_pipeline) {
			state[k] = 1;
			k = (size_t)(uintptr_t)hashmap_get(
			            &index, c->pipelines[k].triggers.after_pipeline) -
			    1;
		}
		if (state[k] == 1) {
			char text[CYCLE_TEXT_MAX];
			const struct pipeline_def *p = &c->pipelines[k];

			cycle_text(c, &index, k, text, sizeof(text));
			diags_add(diags, p->file, p->triggers.after_line,
			          "pipeline '%s': triggers: after_pipeline: cycle %s", p->name,
			          text);
		}
		for (k = i; state[k] == 1;) {
			state[k] = 2;
			k = (size_t)(uintptr_t)hashmap_get(
			            &index, c->pipelines[k].triggers.after_pipeline) -
			    1;
		}
	}
	hashmap_done(&index);
	free(names);
	free(state);
}
