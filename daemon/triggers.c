/* SPDX-License-Identifier: MIT */
/*
 * The trigger definitions of a pipeline as plain data: copying and freeing
 * them, and the names of their enumerations. The configuration reader fills
 * them (config.c), the compiler copies them into a pipeline (pipeline.c),
 * and the scheduler (scheduler.c) and the reports read them; keeping their
 * ownership rules here means a new trigger touches none of those files'
 * memory management.
 */
#include "triggers.h"

#include "cron_tz.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	uint32_t bit;
} watch_events[] = {
	{ "create", WATCH_CREATE },         { "close_write", WATCH_CLOSE_WRITE },
	{ "moved_to", WATCH_MOVED_TO },     { "delete", WATCH_DELETE },
	{ "moved_from", WATCH_MOVED_FROM }, { "modify", WATCH_MODIFY },
	{ "attrib", WATCH_ATTRIB },
};

int
trigger_def_copy(struct trigger_def *dst, const struct trigger_def *src)
{
	*dst = *src;
	dst->schedule = NULL;
	dst->watch_paths = NULL;
	dst->n_watch_paths = 0;
	dst->after_pipeline = NULL;
	dst->tz = cron_tz_ref(src->tz);
	if (src->schedule && !(dst->schedule = strdup(src->schedule)))
		goto fail;
	if (src->after_pipeline && !(dst->after_pipeline = strdup(src->after_pipeline)))
		goto fail;
	for (size_t i = 0; i < src->n_watch_paths; i++)
		if (strv_push(&dst->watch_paths, &dst->n_watch_paths, src->watch_paths[i]) < 0)
			goto fail;
	return 0;
fail:
	trigger_def_done(dst);
	return -ENOMEM;
}

void
trigger_def_done(struct trigger_def *t)
{
	free(t->schedule);
	t->schedule = NULL;
	t->tz = cron_tz_unref(t->tz);
	strv_free(t->watch_paths);
	t->watch_paths = NULL;
	t->n_watch_paths = 0;
	free(t->after_pipeline);
	t->after_pipeline = NULL;
}

bool
trigger_def_automatic(const struct trigger_def *t)
{
	return t->n_signals || t->every_usec || t->schedule || t->on_start || t->watch_paths ||
	       t->after_pipeline;
}

const char *
after_result_to_string(enum after_result r)
{
	switch (r) {
	case AFTER_SUCCESS:
		return "success";
	case AFTER_FAILURE:
		return "failure";
	case AFTER_ANY:
		return "any";
	}
	return "?";
}

const char *
watch_events_to_string(uint32_t events, char *buf, size_t size)
{
	size_t n = 0;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(watch_events); i++)
		if (events & watch_events[i].bit) {
			int k = snprintf(buf + n, size - n, "%s%s", n ? "," : "",
			                 watch_events[i].name);

			if (k < 0 || (size_t)k >= size - n)
				break;
			n += (size_t)k;
		}
	return buf;
}

uint32_t
watch_event_from_string(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(watch_events); i++)
		if (streq(s, watch_events[i].name))
			return watch_events[i].bit;
	return 0;
}

static json_t *
duration_json(uint64_t usec)
{
	char buf[32];

	return usec ? json_string(format_duration(usec, buf, sizeof(buf))) : json_null();
}

static json_t *
text_json(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *
trigger_def_json(const struct trigger_def *t)
{
	json_t *sigs = json_array(), *watch = json_null(), *after = json_null();
	char buf[32];

	for (size_t i = 0; sigs && i < t->n_signals; i++)
		json_array_append_new(
		        sigs, json_string(signal_to_string(t->signals[i], buf, sizeof(buf))));
	if (t->watch_paths) {
		json_t *paths = json_array(), *events = json_array();

		for (size_t i = 0; paths && i < t->n_watch_paths; i++)
			json_array_append_new(paths, json_string(t->watch_paths[i]));
		for (size_t i = 0; events && i < ARRAY_SIZE(watch_events); i++)
			if (t->watch_events & watch_events[i].bit)
				json_array_append_new(events, json_string(watch_events[i].name));
		watch = json_pack("{s:o?, s:o?, s:o}", "paths", paths, "events", events, "settle",
		                  duration_json(t->watch_settle_usec));
	}
	if (t->after_pipeline)
		after = json_pack("{s:s, s:s}", "pipeline", t->after_pipeline, "result",
		                  after_result_to_string(t->after_result));
	return json_pack("{s:o?, s:o, s:o, s:o, s:b, s:b, s:o, s:b, s:o?, s:o?}", "signals", sigs,
	                 "every", duration_json(t->every_usec), "schedule", text_json(t->schedule),
	                 "timezone", text_json(t->tz ? cron_tz_name(t->tz) : NULL), "on_start",
	                 t->on_start, "persistent", t->persistent, "random_delay",
	                 duration_json(t->random_delay_usec), "fixed_random_delay",
	                 t->fixed_random_delay, "watch", watch, "after_pipeline", after);
}
