/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cron.h"

#include <jansson.h>

struct cron_tz;

/* At most this many signals may be bound by one pipeline. */
#define TRIGGER_SIGNALS_MAX 8
/* At most this many paths in one watch trigger. */
#define TRIGGER_WATCH_PATHS_MAX 64

/* inotify events a watch trigger may name (bits of trigger_def.watch_events). */
enum {
	WATCH_CREATE = 1u << 0,
	WATCH_CLOSE_WRITE = 1u << 1,
	WATCH_MOVED_TO = 1u << 2,
	WATCH_DELETE = 1u << 3,
	WATCH_MOVED_FROM = 1u << 4,
	WATCH_MODIFY = 1u << 5,
	WATCH_ATTRIB = 1u << 6,
};

/* The result of another pipeline's run that an after_pipeline trigger wants. */
enum after_result {
	AFTER_SUCCESS,
	AFTER_FAILURE,
	AFTER_ANY,
};

/*
 * What makes a pipeline run by itself, as the configuration says it. Owned
 * by its pipeline_def, then by the compiled pipeline (trigger_def_copy);
 * trigger_def_done() frees what it holds.
 */
struct trigger_def {
	int signals[TRIGGER_SIGNALS_MAX];
	size_t n_signals;
	uint64_t every_usec; /* 0: none */
	char *schedule;      /* as written, NULL: none */
	struct cron cron;
	/* The schedule's zone (timezone, or CRON_TZ= in the schedule); a
	 * reference; NULL: local time. */
	struct cron_tz *tz;
	bool on_start;
	bool persistent;
	/* Each firing of schedule and every is delayed by up to this. */
	uint64_t random_delay_usec;
	bool fixed_random_delay; /* the same delay every time, per host and pipeline */
	/* watch: NULL-terminated absolute paths; NULL: no watch trigger. */
	char **watch_paths;
	size_t n_watch_paths;
	uint32_t watch_events; /* WATCH_* */
	uint64_t watch_settle_usec;
	/* after_pipeline: the pipeline whose runs end this one's wait; NULL: none. */
	char *after_pipeline;
	enum after_result after_result;
	int after_line;
	int line;
};

/* Copies src into dst (a deep copy; zone referenced). 0 or -ENOMEM (dst then empty). */
int trigger_def_copy(struct trigger_def *dst, const struct trigger_def *src);
/* Frees what t holds, leaving it empty. */
void trigger_def_done(struct trigger_def *t);
/* Whether t makes its pipeline run without anyone asking. */
bool trigger_def_automatic(const struct trigger_def *t);
const char *after_result_to_string(enum after_result r);
/* "create,close_write" for events, in buf. */
const char *watch_events_to_string(uint32_t events, char *buf, size_t size);
/* The WATCH_* bit of an event name, or 0. */
uint32_t watch_event_from_string(const char *s);
/*
 * t for the control protocol: signals, every, schedule, timezone,
 * on_start, persistent, random_delay, fixed_random_delay, watch (paths,
 * events, settle) and after_pipeline (pipeline, result); absent ones null.
 * A new reference, or NULL without memory.
 */
json_t *trigger_def_json(const struct trigger_def *t);
