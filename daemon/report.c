/* SPDX-License-Identifier: MIT */
/*
 * Human-readable reports for the terminal: the stage types and pipelines of
 * `ginid -t`, the plan of a dry run, and the step summary of `ginid --once`.
 * Pure output: nothing here changes state.
 */
#include "report.h"
#include "cron_tz.h"
#include "executor.h"
#include "generation.h"
#include "pipeline.h"
#include "registry.h"
#include "util.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

void
report_stage_types(FILE *f, struct registry *reg, const struct loader_report *rep)
{
	struct stage_type **list;
	size_t n, w = 2;

	if (registry_list(reg, NULL, 0, 0, &list, &n, NULL) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		w = MAX(w, strlen(list[i]->id));
	fprintf(f, "Stage types (%zu):\n", n);
	if (n)
		fprintf(f, "  %-*s  %-10s  %-8s  %s\n", (int)w, "ID", "VERSION", "CATEGORY",
		        "FILE");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  %-*s  %-10s  %-8s  %s\n", (int)w, list[i]->id, list[i]->version,
		        list[i]->category, list[i]->path);
	registry_list_free(list, n);
	if (rep && rep->n_refusals) {
		fprintf(f, "Refused plugin files (%zu):\n", rep->n_refusals);
		for (size_t i = 0; i < rep->n_refusals; i++)
			fprintf(f, "  %s: %s\n", rep->refusals[i].path, rep->refusals[i].reason);
	}
	for (size_t i = 0; rep && i < rep->n_warnings; i++)
		fprintf(f, "warning: %s\n", rep->warnings[i]);
}

void
report_triggers(FILE *f, const struct trigger_def *t, time_t now)
{
	char buf[128], buf2[32];
	bool any = false;

	fprintf(f, "    triggers:");
	for (size_t i = 0; i < t->n_signals; i++) {
		fprintf(f, "%s signal %s", any ? "," : "",
		        signal_to_string(t->signals[i], buf, sizeof(buf)));
		any = true;
	}
	if (t->every_usec) {
		fprintf(f, "%s every %s", any ? "," : "",
		        format_duration(t->every_usec, buf, sizeof(buf)));
		any = true;
	}
	if (t->schedule) {
		time_t next;

		fprintf(f, "%s schedule \"%s\"", any ? "," : "", t->schedule);
		/* In the schedule's own zone, if it has one. */
		if (cron_next_tz(&t->cron, t->tz, now, &next) == 0)
			fprintf(f, " (next %s%s%s)",
			        t->tz ? cron_tz_format(t->tz, next, buf, sizeof(buf))
			              : format_iso8601(next, buf, sizeof(buf)),
			        t->tz ? " " : "", t->tz ? cron_tz_name(t->tz) : "");
		any = true;
	}
	if (t->persistent && (t->schedule || t->every_usec))
		fprintf(f, " persistent");
	if (t->random_delay_usec)
		fprintf(f, ", random delay up to %s%s",
		        format_duration(t->random_delay_usec, buf, sizeof(buf)),
		        t->fixed_random_delay ? " (fixed)" : "");
	if (t->on_start) {
		fprintf(f, "%s on start", any ? "," : "");
		any = true;
	}
	if (t->watch_paths) {
		fprintf(f, "%s watch", any ? "," : "");
		for (size_t i = 0; i < t->n_watch_paths; i++)
			fprintf(f, "%s%s", i ? " " : " ", t->watch_paths[i]);
		fprintf(f, " (%s, settle %s)",
		        watch_events_to_string(t->watch_events, buf, sizeof(buf)),
		        format_duration(t->watch_settle_usec, buf2, sizeof(buf2)));
		any = true;
	}
	if (t->after_pipeline) {
		fprintf(f, "%s after pipeline '%s' (%s)", any ? "," : "", t->after_pipeline,
		        after_result_to_string(t->after_result));
		any = true;
	}
	fprintf(f, "%s\n", any ? "" : " none (runs only on request)");
}

void
report_pipelines(FILE *f, struct generation *g, time_t now)
{
	fprintf(f, "Pipelines (%zu):\n", g->n_pipelines);
	for (size_t i = 0; i < g->n_pipelines; i++) {
		const struct pipeline *p = g->pipelines[i];

		fprintf(f, "  %s (%s:%d): %zu step%s, overlap %s, on_failure %s\n", p->name,
		        p->file, p->line, p->n_steps, p->n_steps == 1 ? "" : "s",
		        overlap_to_string(p->overlap), on_failure_to_string(p->on_failure));
		if (p->description[0])
			fprintf(f, "    %s\n", p->description);
		report_triggers(f, &p->triggers, now);
		fprintf(f, "    order:");
		for (size_t k = 0; k < p->n_steps; k++) {
			const struct step *s = &p->steps[p->order[k]];

			fprintf(f, "%s %s%s", k ? " ->" : "", s->id,
			        s->enabled ? "" : " (disabled)");
		}
		fprintf(f, "\n");
		for (unsigned level = 0; level < p->n_levels; level++) {
			size_t count = 0;

			for (size_t k = 0; k < p->n_steps; k++)
				count += p->steps[k].level == level;
			if (count < 2)
				continue;
			fprintf(f, "    in parallel:");
			for (size_t k = 0; k < p->n_steps; k++)
				if (p->steps[k].level == level)
					fprintf(f, " %s", p->steps[k].id);
			fprintf(f, "\n");
		}
	}
}

void
report_dry_run(FILE *f, const struct run *r)
{
	const struct pipeline *p = r->pipeline;
	size_t w = 4;

	for (size_t i = 0; i < p->n_steps; i++)
		w = MAX(w, strlen(p->steps[i].id));
	fprintf(f,
	        "Dry run of pipeline '%s': %zu step%s in %u level%s; steps on one level may "
	        "run in parallel. Nothing is executed.\n",
	        p->name, p->n_steps, p->n_steps == 1 ? "" : "s", p->n_levels,
	        p->n_levels == 1 ? "" : "s");
	for (unsigned level = 0; level < p->n_levels; level++) {
		bool first = true;

		for (size_t k = 0; k < p->n_steps; k++) {
			size_t i = p->order[k];
			const struct step *s = &p->steps[i];
			const struct step_result *res = &r->results[i];
			char label[32] = "";

			if (s->level != level)
				continue;
			if (first)
				snprintf(label, sizeof(label), "level %u:", level + 1);
			fprintf(f, "  %-10s %-*s  [%s]  %s%s\n", label, (int)w, s->id,
			        s->stage_id ? s->stage_id : "?",
			        res->status == STEP_SKIPPED ? "skipped: " : "",
			        res->message ? res->message : "");
			first = false;
		}
	}
	if (r->status != RUN_SUCCESS && r->failed_step != SIZE_MAX)
		fprintf(f, "health check of step '%s' failed\n", p->steps[r->failed_step].id);
}

void
report_run(FILE *f, const struct run *r)
{
	const struct pipeline *p = r->pipeline;
	size_t w = 4, ws = 5;
	char d[32];

	for (size_t i = 0; i < p->n_steps; i++) {
		w = MAX(w, strlen(p->steps[i].id));
		ws = MAX(ws, strlen(p->steps[i].stage_id ? p->steps[i].stage_id : "?"));
	}
	fprintf(f, "%-*s  %-*s  %-9s  %8s  %9s  %s\n", (int)w, "STEP", (int)ws, "STAGE", "RESULT",
	        "ATTEMPTS", "DURATION", "MESSAGE");
	for (size_t k = 0; k < p->n_steps; k++) {
		size_t i = p->order[k];
		const struct step_result *res = &r->results[i];

		fprintf(f, "%-*s  %-*s  %-9s  %8u  %9s  %s\n", (int)w, p->steps[i].id, (int)ws,
		        p->steps[i].stage_id ? p->steps[i].stage_id : "?",
		        step_status_to_string(res->status), res->attempts,
		        res->attempts
		                ? format_elapsed(res->end_usec - res->start_usec, d, sizeof(d))
		                : "-",
		        res->message ? res->message : "");
	}
	fprintf(f, "run %llu: pipeline '%s': %s in %s\n", (unsigned long long)r->id, p->name,
	        run_status_to_string(r->status),
	        format_elapsed(r->end_usec - r->start_usec, d, sizeof(d)));
}
