/* SPDX-License-Identifier: MIT */
/*
 * The read-only commands that answer from the daemon's state at once:
 * status, stages, pipelines, metrics and health.
 */
#include "control_conn.h"

#include "executor.h"
#include "generation.h"
#include "metrics.h"
#include "pipeline.h"
#include "proto.h"
#include "registry.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/*
 * The status reply, kept serialised between requests. Under a hundred
 * clients in a closed loop, building and dumping it was a third of the
 * loop's time (bench case 9, bench/RESULTS.md). Everything in it but the
 * uptime comes from what the key below holds, which is read afresh for
 * every request (a few loads and one lookup per pipeline): a reply is never
 * older than the state it describes, and nothing has to remember to
 * invalidate it.
 */
struct status_cache {
	const struct generation *g; /* borrowed: compared, never followed */
	uint64_t number;            /* with g: a new generation at an old address */
	struct manager_counters n;
	int64_t reload_usec;
	bool reload_ok;
	size_t n_errors;
	size_t n_pipelines;
	bool *disabled; /* n_pipelines */
	char *body;     /* the result's members but the uptime, and its '}' */
	size_t body_len;
};

void
control_status_cache_free(struct status_cache *sc)
{
	if (!sc)
		return;
	free(sc->disabled);
	free(sc->body);
	free(sc);
}

static bool
status_fresh(const struct status_cache *sc, struct manager *m, const struct generation *g,
             const struct manager_counters *n, const struct manager_reload_status *rs)
{
	if (!sc || !sc->body || sc->g != g || sc->number != g->number ||
	    sc->n_pipelines != g->n_pipelines || sc->n.started_usec != n->started_usec ||
	    sc->n.in_flight != n->in_flight || sc->n.reloads_ok != n->reloads_ok ||
	    sc->n.reloads_failed != n->reloads_failed || sc->n.workers != n->workers ||
	    sc->n.workers_abandoned != n->workers_abandoned || sc->reload_usec != rs->usec ||
	    sc->reload_ok != rs->ok || sc->n_errors != rs->n_errors)
		return false;
	for (size_t i = 0; i < g->n_pipelines; i++)
		if (sc->disabled[i] != manager_disabled(m, g->pipelines[i]->name))
			return false;
	return true;
}

/* The result object of status, without "uptime_sec". */
static json_t *
status_json(struct manager *m, const struct generation *g, const struct manager_counters *n,
            const struct manager_reload_status *rs, bool *disabled_out)
{
	json_t *r, *reload = json_null(), *refused, *disabled;

	if (rs->usec) {
		json_t *errors = json_array();

		for (size_t i = 0; i < rs->n_errors; i++)
			json_array_append_new(errors, jtext(rs->errors[i]));
		reload = json_pack("{s:o, s:b, s:o}", "time", control_iso_or_null(rs->usec), "ok",
		                   rs->ok, "errors", errors);
	}
	refused = json_array();
	for (size_t i = 0; i < g->report.n_refusals; i++)
		json_array_append_new(refused,
		                      json_pack("{s:o, s:o, s:b}", "path",
		                                jtext(g->report.refusals[i].path), "reason",
		                                jtext(g->report.refusals[i].reason), "probed",
		                                g->report.refusals[i].probed));
	r = json_pack("{s:s, s:i, s:I, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:{s:I, s:I}, "
	              "s:o}",
	              "version", GINI_VERSION, "protocol", PROTO_VERSION, "pid",
	              (json_int_t)getpid(), "started", control_iso_or_null(n->started_usec),
	              "generation", (json_int_t)g->number, "stage_types",
	              (json_int_t)registry_count(g->registry), "pipelines",
	              (json_int_t)g->n_pipelines, "runs_in_flight", (json_int_t)n->in_flight,
	              "workers", (json_int_t)n->workers, "workers_abandoned",
	              (json_int_t)n->workers_abandoned, "last_reload", reload, "reloads", "ok",
	              (json_int_t)n->reloads_ok, "failed", (json_int_t)n->reloads_failed,
	              "refused_plugins", refused);
	disabled = json_array();
	for (size_t i = 0; i < g->n_pipelines; i++) {
		disabled_out[i] = manager_disabled(m, g->pipelines[i]->name);
		if (disabled_out[i])
			json_array_append_new(disabled, jtext(g->pipelines[i]->name));
	}
	json_object_set_new(r, "disabled", disabled);
	return r;
}

/* Builds the cache anew for the state read; false without memory. */
static bool
status_rebuild(struct control *c, struct manager *m, const struct generation *g,
               const struct manager_counters *n, const struct manager_reload_status *rs)
{
	struct status_cache *sc = c->status;
	bool *disabled = calloc(g->n_pipelines ? g->n_pipelines : 1, sizeof(bool));
	json_t *r;
	char *text;

	if (!sc) {
		sc = c->status = calloc(1, sizeof(*sc));
		if (!sc) {
			free(disabled);
			return false;
		}
	}
	r = disabled ? status_json(m, g, n, rs, disabled) : NULL;
	text = r ? json_dumps(r, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	json_decref(r);
	free(sc->disabled);
	free(sc->body);
	sc->disabled = NULL;
	sc->body = NULL;
	if (!text || text[0] != '{') {
		free(disabled);
		free(text);
		return false;
	}
	*sc = (struct status_cache){ .g = g,
		                     .number = g->number,
		                     .n = *n,
		                     .reload_usec = rs->usec,
		                     .reload_ok = rs->ok,
		                     .n_errors = rs->n_errors,
		                     .n_pipelines = g->n_pipelines,
		                     .disabled = disabled,
		                     .body = text,
		                     .body_len = strlen(text) };
	return true;
}

/* Commands. */

void
control_cmd_status(struct conn *k, json_t *id, json_t *args)
{
	struct manager *m = k->c->m;
	struct generation *g = manager_generation(m);
	struct manager_counters n;
	struct manager_reload_status rs;
	struct status_cache *sc;
	char head[64], uptime[64];
	char *id_text = NULL;
	int64_t up;

	if (!control_args_known(k, id, args, NULL, 0))
		return;
	manager_counters(m, &n);
	manager_reload_status(m, &rs);
	if (!status_fresh(k->c->status, m, g, &n, &rs) && !status_rebuild(k->c, m, g, &n, &rs)) {
		control_reply_error(k, id, PROTO_E_FAILED, NULL, "out of memory");
		return;
	}
	sc = k->c->status;
	if (id) {
		id_text = json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII);
		if (!id_text) {
			control_reply_error(k, NULL, PROTO_E_FAILED, NULL, "out of memory");
			return;
		}
	}
	/* Seconds with six decimals, in integers: cheaper than %f. */
	up = (int64_t)now_usec(CLOCK_REALTIME) - n.started_usec;
	snprintf(uptime, sizeof(uptime), "\"ok\":true,\"result\":{\"uptime_sec\":%s%lld.%06lld,",
	         up < 0 ? "-" : "", (long long)(llabs(up) / 1000000),
	         (long long)(llabs(up) % 1000000));
	/* The envelope of control_reply_ok() around the cached members. */
	snprintf(head, sizeof(head), "{\"v\":%d,%s", PROTO_VERSION, id_text ? "\"id\":" : "");
	control_conn_send_text(
	        k,
	        (const struct iovec[]){ { .iov_base = head, .iov_len = strlen(head) },
	                                { .iov_base = id_text ? id_text : (char *)"",
	                                  .iov_len = id_text ? strlen(id_text) : 0 },
	                                { .iov_base = (char *)",", .iov_len = id_text ? 1 : 0 },
	                                { .iov_base = uptime, .iov_len = strlen(uptime) },
	                                { .iov_base = sc->body + 1, .iov_len = sc->body_len - 1 },
	                                { .iov_base = (char *)"}", .iov_len = 1 } },
	        6);
	free(id_text);
}

static json_t *
stage_json(const struct stage_type *t)
{
	json_t *flags = json_array(), *req = json_array();
	uint64_t runs = atomic_load(&t->counters.runs);

	if (t->flags & GINI_STAGE_DRY_RUN)
		json_array_append_new(flags, json_string("dry-run"));
	if (t->flags & GINI_STAGE_CONCURRENT)
		json_array_append_new(flags, json_string("concurrent"));
	for (char **q = t->requires_ids; *q; q++)
		json_array_append_new(req, jtext(*q));
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	                 "id", jtext(t->id), "version", jtext(t->version), "category",
	                 jtext(t->category), "summary", jtext(t->summary), "file", jtext(t->path),
	                 "flags", flags, "requires", req, "runs", (json_int_t)runs, "failures",
	                 (json_int_t)atomic_load(&t->counters.failures), "timeouts",
	                 (json_int_t)atomic_load(&t->counters.timeouts), "crashes",
	                 (json_int_t)atomic_load(&t->counters.crashes), "kills",
	                 (json_int_t)atomic_load(&t->counters.kills), "mean_usec",
	                 (json_int_t)(runs ? atomic_load(&t->counters.total_usec) / runs : 0),
	                 "max_usec", (json_int_t)atomic_load(&t->counters.max_usec));
}

void
control_cmd_stages(struct conn *k, json_t *id, json_t *args)
{
	static const char *const allowed[] = { "category", "filter", "offset", "limit" };
	struct registry_filter f = { 0 };
	struct stage_type **list;
	long long offset = 0, limit = 1000;
	size_t n, total;
	json_t *items;

	if (!control_args_known(k, id, args, allowed, ARRAY_SIZE(allowed)) ||
	    control_arg_string(k, id, args, "category", &f.category) < 0 ||
	    control_arg_string(k, id, args, "filter", &f.text) < 0 ||
	    control_arg_int(k, id, args, "offset", 0, LLONG_MAX / 2, &offset) < 0 ||
	    control_arg_int(k, id, args, "limit", 1, 10000, &limit) < 0)
		return;
	if (registry_list(manager_generation(k->c->m)->registry, &f, (size_t)offset, (size_t)limit,
	                  &list, &n, &total) < 0) {
		control_reply_error(k, id, PROTO_E_FAILED, NULL, "out of memory");
		return;
	}
	items = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, stage_json(list[i]));
	registry_list_free(list, n);
	control_reply_ok(k, id,
	                 json_pack("{s:I, s:I, s:o}", "total", (json_int_t)total, "offset",
	                           (json_int_t)offset, "items", items));
}

/* The params a pipeline declares: name, default and pattern (or null). */
static json_t *
params_json(const struct pipeline *p)
{
	json_t *a = json_array();

	for (size_t i = 0; i < p->n_params; i++)
		json_array_append_new(a,
		                      json_pack("{s:o, s:o, s:o}", "name", jtext(p->params[i].name),
		                                "default", jtext(p->params[i].def), "pattern",
		                                jtext(p->params[i].pattern)));
	return a;
}

void
control_cmd_pipelines(struct conn *k, json_t *id, json_t *args)
{
	struct manager *m = k->c->m;
	struct generation *g = manager_generation(m);
	json_t *items = json_array();

	if (!control_args_known(k, id, args, NULL, 0)) {
		json_decref(items);
		return;
	}
	for (size_t i = 0; i < g->n_pipelines; i++) {
		const struct pipeline *p = g->pipelines[i];
		struct pipeline_stats st;
		bool finished;

		(void)manager_pipeline_stats(m, p->name, &st);
		finished = st.last_status != RUN_RUNNING;

		json_array_append_new(
		        items,
		        json_pack(
		                "{s:o, s:o, s:o, s:i, s:I, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:I, "
		                "s:b, s:{s:I, s:I, s:I, s:I}, s:I, s:b}",
		                "name", jtext(p->name), "description", jtext(p->description),
		                "file", jtext(p->file), "line", p->line, "steps",
		                (json_int_t)p->n_steps, "overlap", overlap_to_string(p->overlap),
		                "on_failure", on_failure_to_string(p->on_failure), "triggers",
		                trigger_def_json(&p->triggers), "next",
		                control_iso_or_null(manager_next_fire_usec(m, p->name)), "last",
		                control_iso_or_null(st.last_fire_usec), "last_result",
		                finished ? json_string(run_status_to_string(st.last_status))
		                         : json_null(),
		                "last_run_id",
		                finished ? json_integer((json_int_t)st.last_run_id) : json_null(),
		                "running", (json_int_t)st.running, "queued", st.queued, "runs",
		                "success", (json_int_t)st.runs[RUN_SUCCESS], "failed",
		                (json_int_t)st.runs[RUN_FAILED], "cancelled",
		                (json_int_t)st.runs[RUN_CANCELLED], "timeout",
		                (json_int_t)st.runs[RUN_TIMEOUT], "skipped", (json_int_t)st.skipped,
		                "enabled", !manager_disabled(m, p->name)));
		json_object_set_new(json_array_get(items, json_array_size(items) - 1), "params",
		                    params_json(p));
	}
	control_reply_ok(k, id, json_pack("{s:o}", "items", items));
}

void
control_cmd_metrics(struct conn *k, json_t *id, json_t *args)
{
	char *text;

	if (!control_args_known(k, id, args, NULL, 0))
		return;
	text = metrics_text(k->c->m);
	if (!text) {
		control_reply_error(k, id, PROTO_E_FAILED, NULL, "out of memory");
		return;
	}
	control_reply_ok(k, id,
	                 json_pack("{s:s, s:o}", "content_type", "text/plain; version=0.0.4",
	                           "text", jtext(text)));
	free(text);
}

void
control_cmd_health(struct conn *k, json_t *id, json_t *args)
{
	json_t *h;

	if (!control_args_known(k, id, args, NULL, 0))
		return;
	if (!manager_history_ready(k->c->m)) {
		control_health_when_read(k, id);
		return;
	}
	h = manager_health(k->c->m);
	if (!h) {
		control_reply_error(k, id, PROTO_E_FAILED, NULL, "out of memory");
		return;
	}
	control_reply_ok(k, id, h);
}
