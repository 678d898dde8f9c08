/* SPDX-License-Identifier: MIT */
/*
 * The commands that start and change runs: run (with --wait and --dry-run,
 * following the run step by step through a manager listener), cancel,
 * enable, disable and reload.
 */
#include "control_conn.h"

#include "diag.h"
#include "executor.h"
#include "generation.h"
#include "pipeline.h"
#include "proto.h"
#include "registry.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
static json_t *
step_json(const struct run *r, size_t i)
{
	const struct step *s = &r->pipeline->steps[i];
	const struct step_result *res = &r->results[i];

	return json_pack("{s:o, s:o, s:s, s:I, s:I, s:o}", "id", jtext(s->id), "stage",
	                 jtext(s->stage_id ? s->stage_id : ""), "result",
	                 step_status_to_string(res->status), "attempts", (json_int_t)res->attempts,
	                 "duration_usec",
	                 (json_int_t)(res->attempts ? res->end_usec - res->start_usec : 0),
	                 "message", jtext(res->message));
}

static void
wait_on_step(struct run_listener *l, const struct run *r, size_t step)
{
	struct waiting *w = (struct waiting *)l;
	json_t *o = control_envelope(w->id);

	w->run_id = r->id;
	json_object_set_new(o, "event", json_string("step"));
	json_object_set_new(o, "run_id", json_integer((json_int_t)r->id));
	json_object_set_new(o, "step", step_json(r, step));
	control_conn_send(w->conn, o);
	control_conn_kick(w->conn);
}

/* The reply to a dry run: the steps level by level, as they would run. */
static json_t *
dry_run_json(const struct run *r)
{
	const struct pipeline *p = r->pipeline;
	json_t *levels = json_array();

	for (unsigned level = 0; level < p->n_levels; level++) {
		json_t *steps = json_array();

		for (size_t kk = 0; kk < p->n_steps; kk++) {
			size_t i = p->order[kk];

			if (p->steps[i].level != level)
				continue;
			json_array_append_new(
			        steps,
			        json_pack(
			                "{s:o, s:o, s:s, s:o}", "step", jtext(p->steps[i].id),
			                "stage",
			                jtext(p->steps[i].stage_id ? p->steps[i].stage_id : ""),
			                "result", step_status_to_string(r->results[i].status),
			                "description",
			                jtext(r->results[i].message ? r->results[i].message : "")));
		}
		json_array_append_new(levels, steps);
	}
	return json_pack("{s:o, s:b, s:s, s:o}", "pipeline", jtext(p->name), "dry_run", 1, "result",
	                 run_status_to_string(r->status), "levels", levels);
}

/* The reply is sent: requests that queued up behind it go on. */
static void
wait_end(struct conn *k, struct waiting *w)
{
	json_decref(w->id);
	free(w);
	k->wait = NULL;
	if (k->idle)
		sd_event_source_set_enabled(k->idle, SD_EVENT_ONESHOT);
	control_conn_process(k);
	control_conn_kick(k);
}

/*
 * A run without --wait that waited for the history started: the reply is
 * the one it would have had at once, with its id. The run goes on alone.
 */
static void
wait_on_start(struct run_listener *l, const struct run *r)
{
	struct waiting *w = (struct waiting *)l;
	struct conn *k = w->conn;

	manager_detach(k->c->m, l);
	w->run_id = r->id;
	/* Started at once after all: control_cmd_run() replies. */
	if (w->in_request)
		return;
	control_reply_ok(
	        k, w->id,
	        json_pack("{s:I, s:s}", "run_id", (json_int_t)r->id, "outcome", "started"));
	wait_end(k, w);
}

static void
wait_on_done(struct run_listener *l, const struct run *r)
{
	struct waiting *w = (struct waiting *)l;
	struct conn *k = w->conn;
	json_t *steps = json_array();

	if (r->pipeline && w->dry) {
		json_decref(steps);
		control_reply_ok(k, w->id, dry_run_json(r));
	} else if (r->pipeline) {
		for (size_t i = 0; i < r->pipeline->n_steps; i++)
			json_array_append_new(steps, step_json(r, r->pipeline->order[i]));
		control_reply_ok(k, w->id,
		                 json_pack("{s:I, s:s, s:s, s:I, s:o, s:o}", "run_id",
		                           (json_int_t)r->id, "outcome", "finished", "result",
		                           run_status_to_string(r->status), "duration_usec",
		                           (json_int_t)(r->end_usec - r->start_usec), "failed_step",
		                           r->failed_step != SIZE_MAX
		                                   ? jtext(r->pipeline->steps[r->failed_step].id)
		                                   : json_null(),
		                           "steps", steps));
	} else {
		json_decref(steps);
		control_reply_error(
		        k, w->id, PROTO_E_BUSY, NULL,
		        "the queued run was dropped (the daemon is stopping or the pipeline was "
		        "removed)");
	}
	wait_end(k, w);
}

/*
 * The "params" argument of run: an object of string values, at most
 * PARAMS_MAX of them, into kv as key, value pairs (borrowed from args).
 * Whether the pipeline declares them is the manager's to say.
 */
static int
arg_params(struct conn *k, json_t *id, json_t *args, const char **kv, size_t *ret_n)
{
	json_t *o = json_object_get(args, "params"), *v;
	const char *key;
	size_t n = 0;

	*ret_n = 0;
	if (!o || json_is_null(o))
		return 0;
	if (!json_is_object(o)) {
		control_reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL,
		                    "argument 'params' must be an object of strings");
		return -EINVAL;
	}
	if (json_object_size(o) > PARAMS_MAX) {
		control_reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL, "more than %d params",
		                    PARAMS_MAX);
		return -EINVAL;
	}
	json_object_foreach(o, key, v)
	{
		if (!json_is_string(v)) {
			control_reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL,
			                    "param '%.64s': the value must be a string", key);
			return -EINVAL;
		}
		kv[2 * n] = key;
		kv[2 * n + 1] = json_string_value(v);
		n++;
	}
	*ret_n = n;
	return 0;
}

void
control_cmd_cancel(struct conn *k, json_t *id, json_t *args)
{
	static const char *const allowed[] = { "run_id" };
	long long run_id = -1;

	if (!control_args_known(k, id, args, allowed, ARRAY_SIZE(allowed)) ||
	    control_arg_int(k, id, args, "run_id", 1, LLONG_MAX, &run_id) < 0)
		return;
	if (run_id < 0) {
		control_reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL,
		                    "argument 'run_id' is required");
		return;
	}
	if (manager_cancel(k->c->m, (uint64_t)run_id) < 0) {
		control_reply_error(k, id, PROTO_E_NOT_FOUND, NULL, "no run %lld in flight",
		                    run_id);
		return;
	}
	control_reply_ok(
	        k, id,
	        json_pack("{s:I, s:s}", "run_id", (json_int_t)run_id, "outcome", "cancelling"));
}

static void
set_enabled(struct conn *k, json_t *id, json_t *args, bool enabled)
{
	static const char *const allowed[] = { "pipeline" };
	const char *name = NULL;
	bool was;
	int r;

	if (!control_args_known(k, id, args, allowed, ARRAY_SIZE(allowed)) ||
	    control_arg_string(k, id, args, "pipeline", &name) < 0)
		return;
	if (!name) {
		control_reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL,
		                    "argument 'pipeline' is required");
		return;
	}
	was = !manager_disabled(k->c->m, name);
	r = manager_set_enabled(k->c->m, name, enabled);
	if (r == -ENOENT) {
		control_reply_error(k, id, PROTO_E_NOT_FOUND, NULL, "no pipeline '%s'", name);
		return;
	}
	if (r < 0) {
		control_reply_error(k, id, PROTO_E_FAILED, NULL, "out of memory");
		return;
	}
	control_reply_ok(k, id,
	                 json_pack("{s:o, s:b, s:b}", "pipeline", jtext(name), "enabled", enabled,
	                           "changed", was != enabled));
}

void
control_cmd_enable(struct conn *k, json_t *id, json_t *args)
{
	set_enabled(k, id, args, true);
}

void
control_cmd_disable(struct conn *k, json_t *id, json_t *args)
{
	set_enabled(k, id, args, false);
}

void
control_cmd_run(struct conn *k, json_t *id, json_t *args)
{
	static const char *const allowed[] = { "pipeline", "dry_run", "wait", "params", "force" };
	struct manager *m = k->c->m;
	const char *name = NULL;
	bool dry = false, wait = false;
	struct waiting *w = NULL;
	struct pipeline *p;
	enum trigger_outcome o;
	uint64_t run_id = 0;
	char trigger[64], err[512] = "";
	const char *kv[2 * PARAMS_MAX];
	struct run_request req = { .params = kv, .err = err, .err_size = sizeof(err) };

	if (!control_args_known(k, id, args, allowed, ARRAY_SIZE(allowed)) ||
	    control_arg_string(k, id, args, "pipeline", &name) < 0 ||
	    control_arg_bool(k, id, args, "dry_run", &dry) < 0 ||
	    control_arg_bool(k, id, args, "wait", &wait) < 0 ||
	    control_arg_bool(k, id, args, "force", &req.force) < 0 ||
	    arg_params(k, id, args, kv, &req.n_params) < 0)
		return;
	if (!name) {
		control_reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL,
		                    "argument 'pipeline' is required");
		return;
	}
	p = generation_find(manager_generation(m), name);
	if (!p) {
		struct generation *g = manager_generation(m);
		const char **names = calloc(g->n_pipelines + 1, sizeof(char *));
		const char *hint = NULL;

		for (size_t i = 0; names && i < g->n_pipelines; i++)
			names[i] = g->pipelines[i]->name;
		if (names)
			hint = closest_match(name, names, g->n_pipelines);
		control_reply_error(k, id, PROTO_E_NOT_FOUND, NULL, "no pipeline '%s'%s%s%s", name,
		                    hint ? "; did you mean '" : "", hint ? hint : "",
		                    hint ? "'?" : "");
		free(names);
		return;
	}
	snprintf(trigger, sizeof(trigger), "ginictl (uid %u)", (unsigned)k->cred.uid);
	/* A dry run is answered when its steps were described and checked; a
	 * run while the history is being read, once it starts (with its id). */
	if (wait || dry || !manager_history_ready(m)) {
		w = calloc(1, sizeof(*w));
		if (!w) {
			control_reply_error(k, id, PROTO_E_FAILED, NULL, "out of memory");
			return;
		}
		w->conn = k;
		w->id = id ? json_incref(id) : NULL;
		w->dry = dry;
		w->start_only = !wait && !dry;
		w->l.on_step = wait ? wait_on_step : NULL;
		w->l.on_done = wait_on_done;
		w->l.on_start = w->start_only ? wait_on_start : NULL;
	}
	if (dry) {
		int r = manager_dry_run(m, name, trigger, &req, &w->l, &run_id);

		if (r >= 0) {
			k->wait = w;
			if (k->idle)
				sd_event_source_set_enabled(k->idle, SD_EVENT_OFF);
			return;
		}
		if (r == -EINVAL)
			control_reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL, "%s", err);
		else
			control_reply_error(k, id, PROTO_E_BUSY, NULL, "cannot start a dry run: %s",
			                    r == -ESHUTDOWN ? "the daemon is stopping"
			                                    : strerror(-r));
		json_decref(w->id);
		free(w);
		return;
	}
	if (w)
		w->in_request = true;
	o = manager_trigger_listen(m, name, trigger, &req, w ? &w->l : NULL, &run_id);
	if (w)
		w->in_request = false;
	/* Not parked after all (started, queued behind a run, or refused):
	 * replied now, as without a history to wait for. */
	if (w && w->start_only && o != TRIGGER_PARKED) {
		manager_detach(m, &w->l);
		json_decref(w->id);
		free(w);
		w = NULL;
	}
	switch (o) {
	case TRIGGER_STARTED:
	case TRIGGER_QUEUED:
	case TRIGGER_PARKED:
		if (w) {
			w->run_id = run_id;
			k->wait = w;
			/* A waiting client is not idle. */
			if (k->idle)
				sd_event_source_set_enabled(k->idle, SD_EVENT_OFF);
			return;
		}
		control_reply_ok(k, id,
		                 json_pack("{s:o, s:s}", "run_id",
		                           o == TRIGGER_STARTED ? json_integer((json_int_t)run_id)
		                                                : json_null(),
		                           "outcome", o == TRIGGER_STARTED ? "started" : "queued"));
		return;
	case TRIGGER_SKIPPED:
		control_reply_error(k, id, PROTO_E_BUSY, NULL,
		                    "pipeline '%s' is already running (overlap = %s); not started",
		                    name, overlap_to_string(p->overlap));
		break;
	case TRIGGER_STOPPING:
		control_reply_error(k, id, PROTO_E_BUSY, NULL, "the daemon is stopping");
		break;
	case TRIGGER_DISABLED:
		control_reply_error(k, id, PROTO_E_DISABLED, NULL,
		                    "pipeline '%s' is disabled; enable it, or run it with force",
		                    name);
		break;
	case TRIGGER_REFUSED:
		control_reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL, "%s", err);
		break;
	default:
		control_reply_error(k, id, PROTO_E_FAILED, NULL,
		                    "cannot start the run: out of memory");
		break;
	}
	if (w) {
		json_decref(w->id);
		free(w);
	}
}

void
control_cmd_reload(struct conn *k, json_t *id, json_t *args)
{
	struct manager *m = k->c->m;
	struct diags d = { 0 };
	char buf[4096];

	if (!control_args_known(k, id, args, NULL, 0))
		return;
	if (manager_stopping(m)) {
		control_reply_error(k, id, PROTO_E_BUSY, NULL, "the daemon is stopping");
		return;
	}
	if (manager_reload(m, &d) < 0) {
		json_t *errors = json_array();

		for (size_t i = 0; i < d.n; i++)
			json_array_append_new(errors,
			                      jtext(diag_format(&d.v[i], buf, sizeof(buf))));
		control_reply_error(k, id, PROTO_E_FAILED, json_pack("{s:o}", "errors", errors),
		                    "reload failed with %zu error%s; generation %llu keeps running",
		                    d.n, d.n == 1 ? "" : "s",
		                    (unsigned long long)manager_generation(m)->number);
	} else {
		struct generation *g = manager_generation(m);

		control_reply_ok(k, id,
		                 json_pack("{s:I, s:I, s:I, s:I}", "generation",
		                           (json_int_t)g->number, "stage_types",
		                           (json_int_t)registry_count(g->registry),
		                           "plugins_loaded", (json_int_t)g->report.loaded,
		                           "pipelines", (json_int_t)g->n_pipelines));
	}
	diags_done(&d);
}

void
control_cmd_run_abandon(struct conn *k)
{
	if (!k->wait)
		return;
	manager_detach(k->c->m, &k->wait->l);
	json_decref(k->wait->id);
	free(k->wait);
	k->wait = NULL;
}
