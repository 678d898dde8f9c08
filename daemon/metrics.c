/* SPDX-License-Identifier: MIT */
/*
 * The metrics in the Prometheus text format: per stage type (executions,
 * failures, durations), per pipeline (runs by result, skipped triggers,
 * health) and of the daemon (generation, reloads, runs in flight). Read
 * from the registry's atomic counters and the manager's read API on the
 * loop thread; `ginictl metrics` and the HTTP endpoint serve the same text.
 */
#include "metrics.h"

#include "executor.h"
#include "generation.h"
#include "health.h"
#include "history.h"
#include "manager.h"
#include "pipeline.h"
#include "registry.h"
#include "util.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Label values: backslash, double quote and newline escaped. */
static void
label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void
header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The per-stage-type counters, each a family of its own. */
static const struct {
	const char *name;
	const char *help;
	size_t offset; /* in struct stage_counters */
} stage_metrics[] = {
	{ "gini_stage_executions_total", "Step executions (attempts) by stage type.",
	  offsetof(struct stage_counters, runs) },
	{ "gini_stage_failures_total", "Step executions that failed or timed out, by stage type.",
	  offsetof(struct stage_counters, failures) },
	{ "gini_stage_timeouts_total", "Step executions that timed out, by stage type.",
	  offsetof(struct stage_counters, timeouts) },
	{ "gini_stage_crashes_total", "Isolated step workers that died of a signal, by stage type.",
	  offsetof(struct stage_counters, crashes) },
	{ "gini_stage_kills_total",
	  "Isolated step workers killed for not stopping in time, by stage type.",
	  offsetof(struct stage_counters, kills) },
};

char *
metrics_text(struct manager *m)
{
	struct generation *g = manager_generation(m);
	struct manager_counters c;
	struct stage_type **list;
	size_t n;
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	static const char *const results[] = { "success", "failed", "cancelled", "timeout" };
	static const enum run_status statuses[] = { RUN_SUCCESS, RUN_FAILED, RUN_CANCELLED,
		                                    RUN_TIMEOUT };
	json_t *health;

	if (!f)
		return NULL;
	manager_counters(m, &c);
	if (registry_list(g->registry, NULL, 0, 0, &list, &n, NULL) < 0) {
		fclose(f);
		free(buf);
		return NULL;
	}
	for (size_t k = 0; k < ARRAY_SIZE(stage_metrics); k++) {
		header(f, stage_metrics[k].name, "counter", stage_metrics[k].help);
		for (size_t i = 0; i < n; i++) {
			const atomic_uint_fast64_t *v =
			        (const atomic_uint_fast64_t *)((const char *)&list[i]->counters +
			                                       stage_metrics[k].offset);

			fprintf(f, "%s{stage=\"", stage_metrics[k].name);
			label(f, list[i]->id);
			fprintf(f, "\"} %llu\n", (unsigned long long)atomic_load(v));
		}
	}
	header(f, "gini_stage_duration_seconds", "histogram",
	       "Duration of step executions, by stage type.");
	for (size_t i = 0; i < n; i++) {
		uint64_t cum = 0;

		for (size_t b = 0; b < STAGE_BUCKETS; b++) {
			cum += atomic_load(&list[i]->counters.buckets[b]);
			fputs("gini_stage_duration_seconds_bucket{stage=\"", f);
			label(f, list[i]->id);
			if (b < STAGE_BUCKETS - 1)
				fprintf(f, "\",le=\"%g\"} %llu\n",
				        (double)stage_bucket_bounds[b] / 1e6,
				        (unsigned long long)cum);
			else
				fprintf(f, "\",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
		}
		fputs("gini_stage_duration_seconds_sum{stage=\"", f);
		label(f, list[i]->id);
		fprintf(f, "\"} %.6f\n", (double)atomic_load(&list[i]->counters.total_usec) / 1e6);
		fputs("gini_stage_duration_seconds_count{stage=\"", f);
		label(f, list[i]->id);
		fprintf(f, "\"} %llu\n", (unsigned long long)cum);
	}
	registry_list_free(list, n);
	header(f, "gini_pipeline_runs_total", "counter", "Finished pipeline runs by result.");
	for (size_t i = 0; i < g->n_pipelines; i++) {
		struct pipeline_stats st;

		(void)manager_pipeline_stats(m, g->pipelines[i]->name, &st);
		for (size_t r = 0; r < ARRAY_SIZE(results); r++) {
			fputs("gini_pipeline_runs_total{pipeline=\"", f);
			label(f, g->pipelines[i]->name);
			fprintf(f, "\",result=\"%s\"} %llu\n", results[r],
			        (unsigned long long)st.runs[statuses[r]]);
		}
	}
	header(f, "gini_pipeline_triggers_skipped_total", "counter",
	       "Triggers dropped by the overlap policy, by pipeline.");
	for (size_t i = 0; i < g->n_pipelines; i++) {
		struct pipeline_stats st;

		(void)manager_pipeline_stats(m, g->pipelines[i]->name, &st);
		fputs("gini_pipeline_triggers_skipped_total{pipeline=\"", f);
		label(f, g->pipelines[i]->name);
		fprintf(f, "\"} %llu\n", (unsigned long long)st.skipped);
	}
	header(f, "gini_registry_stage_types", "gauge", "Registered stage types.");
	fprintf(f, "gini_registry_stage_types %zu\n", registry_count(g->registry));
	header(f, "gini_pipelines", "gauge", "Pipelines in the live configuration.");
	fprintf(f, "gini_pipelines %zu\n", g->n_pipelines);
	header(f, "gini_runs_in_flight", "gauge", "Pipeline runs in flight.");
	fprintf(f, "gini_runs_in_flight %zu\n", c.in_flight);
	header(f, "gini_workers_abandoned", "gauge",
	       "Worker threads left behind in a step abandoned for ignoring cancellation.");
	fprintf(f, "gini_workers_abandoned %u\n", c.workers_abandoned);
	header(f, "gini_reloads_total", "counter", "Configuration reloads by result.");
	fprintf(f, "gini_reloads_total{result=\"success\"} %llu\n",
	        (unsigned long long)c.reloads_ok);
	fprintf(f, "gini_reloads_total{result=\"failure\"} %llu\n",
	        (unsigned long long)c.reloads_failed);
	header(f, "gini_generation", "gauge", "Number of the live configuration generation.");
	fprintf(f, "gini_generation %llu\n", (unsigned long long)g->number);
	health = manager_health(m);
	if (health)
		health_metrics(health, manager_health_records(m), f);
	json_decref(health);
	/* The history store's gini_history_* families (history_metrics.c). */
	(void)history_metrics(manager_history(m), f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int
metrics_http_get(const char *path, char **ret_body, const char **ret_type, void *userdata)
{
	struct manager *m = userdata;

	if (streq(path, "/metrics")) {
		*ret_type = "text/plain; version=0.0.4; charset=utf-8";
		*ret_body = metrics_text(m);
		return *ret_body ? 200 : 500;
	}
	if (streq(path, "/health")) {
		json_t *h = manager_health(m);
		int status = json_is_true(json_object_get(h, "healthy")) ? 200 : 503;

		*ret_type = "application/json";
		*ret_body = h ? json_dumps(h, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
		json_decref(h);
		if (*ret_body && strlen(*ret_body) < SIZE_MAX - 1) {
			char *b = realloc(*ret_body, strlen(*ret_body) + 2);

			if (b) {
				strcat(b, "\n");
				*ret_body = b;
			}
		}
		return *ret_body ? status : 500;
	}
	return 404;
}
