/* SPDX-License-Identifier: MIT */
/*
 * The commands that read the run history: history, answered by the history
 * store's reader thread while the connection waits, and logs, answered from
 * memory for a run in flight and from the store for one that ended.
 */
#include "control_conn.h"

#include "executor.h"
#include "history.h"
#include "output.h"
#include "pipeline.h"
#include "proto.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#define HISTORY_LIMIT_MAX 10000

enum query_kind {
	QUERY_HISTORY,
	QUERY_LOGS,
	QUERY_HEALTH, /* no query: answered once the database is open */
};

/*
 * A history or logs request answered by the history's reader thread, or a
 * health request waiting for the history to be read. The connection waits
 * for it, as for a `run --wait`, so replies keep their order; a connection
 * that closes first leaves it orphaned (conn NULL) and the answer is
 * dropped.
 */
struct query {
	struct conn *conn; /* NULL: the client went away */
	json_t *id;
	json_t *args; /* logs: step and from */
	enum query_kind kind;
};

/* ISO 8601 with milliseconds, UTC: "2026-12-03T10:15:00.123Z". */
static json_t *
iso_ms_or_null(int64_t usec)
{
	char buf[64], d[32];
	time_t t;
	struct tm tm;

	if (usec <= 0)
		return json_null();
	t = (time_t)(usec / (int64_t)USEC_PER_SEC);
	gmtime_r(&t, &tm);
	strftime(d, sizeof(d), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, sizeof(buf), "%s.%03dZ", d, (int)(usec % (int64_t)USEC_PER_SEC / 1000));
	return json_string(buf);
}

static const char *
level_name(int level)
{
	static const char *const names[] = { "emerg",   "alert",  "crit", "err",
		                             "warning", "notice", "info", "debug" };

	return level >= 0 && level < (int)ARRAY_SIZE(names) ? names[level] : "info";
}

/* Replies "history is disabled" when it is; true if so. Never waits: while
 * the database opens, the reader finds out (-ENODEV) and this says why. */
static bool
history_off(struct conn *k, json_t *id)
{
	struct history *h = manager_history(k->c->m);
	const char *why = history_opening(h) ? NULL : history_disabled(h);

	if (why)
		control_reply_error(k, id, PROTO_E_FAILED, NULL, "run history is disabled: %s",
		                    why);
	return why != NULL;
}

static void
query_error(struct conn *k, json_t *id, int r, const char *err)
{
	if (r == -ETIMEDOUT)
		control_reply_error(
		        k, id, PROTO_E_BUSY, NULL,
		        "the history query took too long; narrow it (--pipeline, --since, "
		        "--limit)");
	else
		control_reply_error(k, id, PROTO_E_FAILED, NULL, "cannot read the run history: %s",
		                    err[0] ? err : strerror(-r));
}

static json_t *
history_step_json(const struct history_step *s)
{
	return json_pack("{s:o, s:o, s:s, s:I, s:I, s:o, s:b}", "id", jtext(s->id), "stage",
	                 jtext(s->stage), "result", s->result, "attempts", (json_int_t)s->attempts,
	                 "duration_ms", (json_int_t)(s->duration_usec / USEC_PER_MSEC), "message",
	                 jtext(s->message), "output_truncated", s->output_truncated);
}

static json_t *
history_item(const struct history_run *h)
{
	json_t *steps = json_array();
	bool ended = h->ended_usec != 0;
	int64_t dur = h->ended_usec - h->started_usec;

	for (size_t i = 0; i < h->n_steps; i++)
		json_array_append_new(steps, history_step_json(&h->steps[i]));
	return json_pack(
	        "{s:I, s:I, s:o, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:o}", "id",
	        (json_int_t)h->id, "run_id", (json_int_t)h->id, "pipeline", jtext(h->pipeline),
	        "generation", (json_int_t)h->generation, "trigger", jtext(h->trigger), "started",
	        iso_ms_or_null(h->started_usec), "start", control_iso_or_null(h->started_usec),
	        "ended", iso_ms_or_null(h->ended_usec), "duration_ms",
	        ended ? json_integer((json_int_t)(dur / 1000)) : json_null(), "duration_usec",
	        ended ? json_integer((json_int_t)dur) : json_null(), "steps", steps, "result",
	        h->result, "failed_step", jtext(h->failed_step), "message", jtext(h->message));
}

/* Collects output lines into a JSON array. */
struct lines {
	json_t *a;
	uint64_t from, seq;
};

static void
live_line(uint64_t seq, int64_t ts, int level, const char *text, void *userdata)
{
	struct lines *l = userdata;

	(void)seq;
	json_array_append_new(l->a, json_pack("{s:o, s:s, s:o}", "ts", iso_ms_or_null(ts), "level",
	                                      level_name(level), "text", jtext(text)));
}

static void
stored_line(int64_t ts, int level, const char *text, void *userdata)
{
	struct lines *l = userdata;

	if (l->seq++ >= l->from)
		live_line(0, ts, level, text, l);
}

static uint64_t
from_of(json_t *from, size_t i)
{
	json_t *v = json_array_get(from, i);

	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v)
	                                                       : 0;
}

/* The logs reply for a run read back from the history. */
static void
reply_stored_logs(struct conn *k, json_t *id, json_t *args, const struct history_run *h)
{
	const char *step = json_string_value(json_object_get(args, "step"));
	json_t *from = json_object_get(args, "from"), *steps = json_array();
	bool found_step = false;

	for (size_t i = 0; i < h->n_steps; i++) {
		const struct history_step *s = &h->steps[i];
		uint64_t want = from_of(from, i);
		struct lines l = { .a = json_array(),
			           .seq = s->output_first_seq,
			           .from = want > s->output_first_seq ? want : 0 };
		json_t *o;

		if (step && !streq(step, s->id)) {
			json_decref(l.a);
			continue;
		}
		found_step = true;
		if (s->output)
			output_parse(s->output, s->output_len, stored_line, &l);
		o = history_step_json(s);
		json_object_set_new(o, "next", json_integer((json_int_t)l.seq));
		json_object_set_new(o, "lines", l.a);
		json_array_append_new(steps, o);
	}
	if (step && !found_step && h->n_steps > 0) {
		json_decref(steps);
		control_reply_error(k, id, PROTO_E_NOT_FOUND, NULL, "run %llu has no step '%s'",
		                    (unsigned long long)h->id, step);
		return;
	}
	/* "running" in the database: ended a moment ago, or the writer is behind. */
	control_reply_ok(k, id,
	                 json_pack("{s:I, s:o, s:s, s:b, s:o, s:o, s:o}", "run_id",
	                           (json_int_t)h->id, "pipeline", jtext(h->pipeline), "result",
	                           h->result, "running", streq(h->result, "running"), "started",
	                           iso_ms_or_null(h->started_usec), "ended",
	                           iso_ms_or_null(h->ended_usec), "steps", steps));
}

/* Loop thread: the reader answered. */
static void
query_done(struct history_request *rq)
{
	struct query *q = rq->userdata;
	struct conn *k = q->conn;

	if (k && q->kind == QUERY_HEALTH) {
		json_t *h = manager_health(k->c->m);

		if (h)
			control_reply_ok(k, q->id, h);
		else
			control_reply_error(k, q->id, PROTO_E_FAILED, NULL, "out of memory");
	} else if (k && !(rq->r == -ENODEV && history_off(k, q->id))) {
		/* (history_off() replied if the open failed or was given up on.) */
		if (rq->r < 0) {
			query_error(k, q->id, rq->r, rq->err);
		} else if (q->kind == QUERY_LOGS && !rq->run) {
			control_reply_error(k, q->id, PROTO_E_NOT_FOUND, NULL,
			                    "no run %llu in the history",
			                    (unsigned long long)rq->id);
		} else if (q->kind == QUERY_LOGS) {
			reply_stored_logs(k, q->id, q->args, rq->run);
		} else {
			json_t *items = json_array();

			for (size_t i = 0; i < rq->n_runs; i++)
				json_array_append_new(items, history_item(rq->runs[i]));
			control_reply_ok(k, q->id, json_pack("{s:o}", "items", items));
		}
	}
	if (k) {
		k->query = NULL;
		if (k->idle)
			sd_event_source_set_enabled(k->idle, SD_EVENT_ONESHOT);
		/* Requests that queued up behind the query. */
		control_conn_process(k);
		control_conn_kick(k);
	}
	json_decref(q->id);
	json_decref(q->args);
	free(q);
	history_request_free(rq);
}

/* Hands rq to the reader; the connection waits for the answer. */
static void
query_submit(struct conn *k, json_t *id, json_t *args, enum query_kind kind,
             struct history_request *rq)
{
	struct query *q = calloc(1, sizeof(*q));

	if (!q) {
		history_request_free(rq);
		control_reply_error(k, id, PROTO_E_FAILED, NULL, "out of memory");
		return;
	}
	q->conn = k;
	q->id = id ? json_incref(id) : NULL;
	q->args = json_incref(args);
	q->kind = kind;
	rq->done = query_done;
	rq->userdata = q;
	k->query = q;
	if (k->idle)
		sd_event_source_set_enabled(k->idle, SD_EVENT_OFF);
	history_submit(manager_history(k->c->m), rq);
}

void
control_cmd_history(struct conn *k, json_t *id, json_t *args)
{
	static const char *const allowed[] = { "pipeline", "n",     "limit", "result",
		                               "since",    "until", "steps" };
	const char *pipeline = NULL, *result = NULL;
	long long n = 0, since = 0, until = 0;
	bool steps = true;
	struct history_request *rq;

	if (!control_args_known(k, id, args, allowed, ARRAY_SIZE(allowed)) ||
	    control_arg_string(k, id, args, "pipeline", &pipeline) < 0 ||
	    control_arg_string(k, id, args, "result", &result) < 0 ||
	    control_arg_int(k, id, args, "n", 1, HISTORY_LIMIT_MAX, &n) < 0 ||
	    control_arg_int(k, id, args, "limit", 1, HISTORY_LIMIT_MAX, &n) < 0 ||
	    control_arg_int(k, id, args, "since", 0, INT64_MAX / (long long)USEC_PER_SEC, &since) <
	            0 ||
	    control_arg_int(k, id, args, "until", 0, INT64_MAX / (long long)USEC_PER_SEC, &until) <
	            0 ||
	    control_arg_bool(k, id, args, "steps", &steps) < 0)
		return;
	if (result) {
		static const char *const results[] = { "success",     "failed",  "cancelled",
			                               "interrupted", "running", "timeout" };
		bool known = false;

		for (size_t i = 0; i < ARRAY_SIZE(results) && !known; i++)
			known = streq(result, results[i]);
		if (!known) {
			const char *hint = closest_match(result, results, ARRAY_SIZE(results));

			control_reply_error(
			        k, id, PROTO_E_BAD_ARGUMENT, NULL,
			        "unknown result '%.64s'%s%s%s (expected success, failed, "
			        "cancelled, timeout, interrupted or running)",
			        result, hint ? "; did you mean '" : "", hint ? hint : "",
			        hint ? "'?" : "");
			return;
		}
	}
	if (history_off(k, id))
		return;
	rq = calloc(1, sizeof(*rq));
	if (!rq || (pipeline && !(rq->filter.pipeline = strdup(pipeline))) ||
	    (result && !(rq->filter.result = strdup(result)))) {
		history_request_free(rq);
		control_reply_error(k, id, PROTO_E_FAILED, NULL, "out of memory");
		return;
	}
	rq->filter.limit = n ? (unsigned)n : 20;
	rq->filter.since_usec = since * (int64_t)USEC_PER_SEC;
	rq->filter.until_usec = until * (int64_t)USEC_PER_SEC;
	rq->filter.with_steps = steps;
	query_submit(k, id, args, QUERY_HISTORY, rq);
}

/*
 * A run's output step by step. "from" (per step, in the reply's order)
 * asks only for lines after those already seen, so `ginictl logs --follow`
 * polls a run in progress with it until "running" is false. A run in
 * flight is answered from memory, an ended one from the history.
 */
void
control_cmd_logs(struct conn *k, json_t *id, json_t *args)
{
	static const char *const allowed[] = { "run_id", "step", "from" };
	struct manager *m = k->c->m;
	const char *step = NULL;
	long long run_id = 0;
	json_t *from = json_object_get(args, "from"), *steps;
	const struct run *live;
	struct history_request *rq;
	bool found_step = false;

	if (!control_args_known(k, id, args, allowed, ARRAY_SIZE(allowed)) ||
	    control_arg_int(k, id, args, "run_id", 1, INT64_MAX, &run_id) < 0 ||
	    control_arg_string(k, id, args, "step", &step) < 0)
		return;
	if (!run_id) {
		control_reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL,
		                    "argument 'run_id' is required");
		return;
	}
	if (from && !json_is_array(from)) {
		control_reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL,
		                    "argument 'from' must be an array");
		return;
	}
	if (history_off(k, id))
		return;
	live = manager_find_run(m, (uint64_t)run_id);
	if (!live) {
		rq = calloc(1, sizeof(*rq));
		if (!rq) {
			control_reply_error(k, id, PROTO_E_FAILED, NULL, "out of memory");
			return;
		}
		rq->get = true;
		rq->id = (uint64_t)run_id;
		query_submit(k, id, args, QUERY_LOGS, rq);
		return;
	}
	steps = json_array();
	/* Step results are the workers' until the run ends: only the output,
	 * which has its own lock, is read here. */
	for (size_t kk = 0; kk < live->pipeline->n_steps; kk++) {
		const struct pipeline *p = live->pipeline;
		size_t i = p->order[kk];
		struct lines l = { .a = json_array() };
		uint64_t next;
		bool trunc;

		if (step && !streq(step, p->steps[i].id)) {
			json_decref(l.a);
			continue;
		}
		found_step = true;
		next = output_foreach(&live->results[i].output, from_of(from, kk), live_line, &l,
		                      &trunc);
		json_array_append_new(steps, json_pack("{s:o, s:s, s:b, s:I, s:o}", "id",
		                                       jtext(p->steps[i].id), "result", "running",
		                                       "output_truncated", trunc, "next",
		                                       (json_int_t)next, "lines", l.a));
	}
	if (step && !found_step) {
		json_decref(steps);
		control_reply_error(k, id, PROTO_E_NOT_FOUND, NULL, "run %lld has no step '%s'",
		                    run_id, step);
		return;
	}
	control_reply_ok(k, id,
	                 json_pack("{s:I, s:o, s:s, s:b, s:o, s:o, s:o}", "run_id",
	                           (json_int_t)run_id, "pipeline", jtext(live->pipeline->name),
	                           "result", "running", "running", 1, "started",
	                           iso_ms_or_null(live->start_realtime_usec), "ended", json_null(),
	                           "steps", steps));
}

void
control_health_when_read(struct conn *k, json_t *id)
{
	struct history_request *rq = calloc(1, sizeof(*rq));

	if (!rq) {
		control_reply_error(k, id, PROTO_E_FAILED, NULL, "out of memory");
		return;
	}
	/* The reader answers it once the database is open (or given up on):
	 * it waits for that, so the loop does not have to. */
	rq->open_only = true;
	query_submit(k, id, NULL, QUERY_HEALTH, rq);
}

void
control_cmd_history_abandon(struct conn *k)
{
	/* The reader's answer comes later; it is dropped then. */
	if (k->query)
		k->query->conn = NULL;
	k->query = NULL;
}
