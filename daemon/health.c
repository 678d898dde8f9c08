/* SPDX-License-Identifier: MIT */
/*
 * Health: whether each pipeline, and the daemon, is doing its job. The
 * manager tells this file when a run ends; the history store (history.c)
 * seeds it at start-up with what it remembers from before, through
 * health_seed(). The records are kept by pipeline name, like the manager's
 * pstate, so they outlive reloads; only the pipelines of the live
 * generation are reported.
 *
 * A pipeline is unhealthy when its last run failed, or, if it declares
 * health = { max_age; max_failures; }, when it has had no success for
 * max_age (counted from the daemon's start when it never succeeded) or has
 * failed max_failures times in a row. A cancelled run changes neither the
 * success time nor the failure count. The daemon is unhealthy when its last
 * reload was refused, or when a plugin file that a configured step names
 * (by the file stem, which is the stage id by convention) was refused.
 *
 * Everything here runs on the loop thread; the report is built afresh for
 * each question, so the time-based rules need no timer of their own (the
 * caller gets the next time one changes, to refresh STATUS=). The STATUS=
 * line needs only the summary, which health_summary_line() writes without
 * building the report: it is redone after every run that ends.
 */
#include "health.h"

#include "generation.h"
#include "hashmap.h"
#include "jtext.h"
#include "pipeline.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct phealth {
	char *name;
	int64_t last_run_usec;       /* 0: never */
	enum run_status last_result; /* RUN_RUNNING: no run */
	int64_t last_success_usec;   /* 0: never */
	unsigned failures;           /* in a row */
};

struct health {
	struct hashmap by_name; /* name -> struct phealth */
};

struct health *
health_new(void)
{
	struct health *h = calloc(1, sizeof(*h));

	if (h)
		hashmap_init(&h->by_name);
	return h;
}

struct health *
health_free(struct health *h)
{
	struct phealth *ph;

	if (!h)
		return NULL;
	for (size_t i = 0; hashmap_next(&h->by_name, &i, NULL, (void **)&ph);) {
		free(ph->name);
		free(ph);
	}
	hashmap_done(&h->by_name);
	free(h);
	return NULL;
}

static struct phealth *
get(struct health *h, const char *name)
{
	struct phealth *ph = hashmap_get(&h->by_name, name);

	if (ph)
		return ph;
	ph = calloc(1, sizeof(*ph));
	if (!ph)
		return NULL;
	ph->name = strdup(name);
	ph->last_result = RUN_RUNNING;
	if (!ph->name || hashmap_put(&h->by_name, ph->name, ph) < 0) {
		free(ph->name);
		free(ph);
		return NULL;
	}
	return ph;
}

int
health_seed(struct health *h, const char *pipeline, int64_t last_run_usec,
            enum run_status last_result, int64_t last_success_usec, unsigned consecutive_failures)
{
	struct phealth *ph = get(h, pipeline);

	if (!ph)
		return -ENOMEM;
	ph->last_run_usec = last_run_usec;
	ph->last_result = last_result;
	ph->last_success_usec = last_success_usec;
	ph->failures = consecutive_failures;
	return 0;
}

void
health_run_end(struct health *h, const char *pipeline, int64_t end_usec, enum run_status status)
{
	struct phealth *ph = get(h, pipeline);

	if (!ph)
		return;
	ph->last_run_usec = end_usec;
	ph->last_result = status;
	if (status == RUN_SUCCESS) {
		ph->last_success_usec = end_usec;
		ph->failures = 0;
	} else if (status == RUN_FAILED || status == RUN_TIMEOUT) {
		ph->failures++;
	}
}

static json_t *
iso_or_null(int64_t usec)
{
	char buf[64];

	if (usec <= 0)
		return json_null();
	return json_string(
	        format_iso8601((time_t)(usec / (int64_t)USEC_PER_SEC), buf, sizeof(buf)));
}

/*
 * Where reasons go: into a JSON array for the report, or, for the summary
 * line alone, only counted, the first one kept in first.
 */
struct reasons {
	json_t *all; /* NULL: count only */
	char *first;
	size_t size;
	size_t n;
};

static void
reason_add(struct reasons *rs, const char *text)
{
	if (rs->all)
		json_array_append_new(rs->all, jtext(text));
	else if (rs->n == 0 && rs->size)
		snprintf(rs->first, rs->size, "%s", text);
	rs->n++;
}

/*
 * The reasons why pipeline p is unhealthy at now (none if it is healthy);
 * *next is lowered to when max_age will make it so.
 */
static void
pipeline_reasons(const struct phealth *ph, const struct health_def *def, int64_t started,
                 int64_t now, int64_t *next, struct reasons *rs)
{
	char buf[256], d1[32], d2[32];

	if (ph && ph->last_result == RUN_FAILED)
		reason_add(rs, "last run failed");
	if (ph && ph->last_result == RUN_TIMEOUT)
		reason_add(rs, "last run timed out");
	if (def->max_failures && ph && ph->failures >= def->max_failures) {
		snprintf(buf, sizeof(buf), "%u failures in a row (max_failures %u)", ph->failures,
		         def->max_failures);
		reason_add(rs, buf);
	}
	if (def->max_age_usec) {
		int64_t since = ph && ph->last_success_usec ? ph->last_success_usec : started;
		int64_t due = since + (int64_t)def->max_age_usec;

		if (now >= due) {
			format_elapsed((uint64_t)(now - since), d1, sizeof(d1));
			format_elapsed(def->max_age_usec, d2, sizeof(d2));
			snprintf(buf, sizeof(buf), "no success %s %s (max_age %s)",
			         ph && ph->last_success_usec ? "for" : "since start-up,", d1, d2);
			reason_add(rs, buf);
		} else if (next && (*next == 0 || due < *next)) {
			*next = due;
		}
	}
}

/* Whether a step of the configuration names stage id (stem, stem_len). */
static bool
stage_named(const struct gini_config *c, const char *stem, size_t stem_len)
{
	for (size_t i = 0; c && i < c->n_pipelines; i++)
		for (size_t j = 0; j < c->pipelines[i].n_steps; j++) {
			const char *s = c->pipelines[i].steps[j].stage;

			if (s && strlen(s) == stem_len && !strncmp(s, stem, stem_len))
				return true;
		}
	return false;
}

static void
daemon_reasons(const struct generation *g, const struct health_daemon *dm, struct reasons *rs)
{
	char buf[1024];

	if (dm->reload_failed) {
		snprintf(buf, sizeof(buf), "last reload failed%s%s%s",
		         dm->n_reload_errors ? ": " : "",
		         dm->n_reload_errors ? dm->reload_errors[0] : "",
		         dm->n_reload_errors > 1 ? " (and more, see ginictl status)" : "");
		reason_add(rs, buf);
	}
	for (size_t i = 0; i < g->report.n_refusals; i++) {
		const char *path = g->report.refusals[i].path;
		const char *base = strrchr(path, '/');
		size_t len;

		base = base ? base + 1 : path;
		len = strlen(base);
		if (len > 3 && !strcmp(base + len - 3, ".so") &&
		    stage_named(g->config, base, len - 3)) {
			snprintf(buf, sizeof(buf), "plugin %s, which a step needs, was refused: %s",
			         path, g->report.refusals[i].reason);
			reason_add(rs, buf);
		}
	}
}

bool
health_summary_line(struct health *h, const struct generation *g, const struct health_daemon *dm,
                    int64_t now_usec, int64_t *ret_next_usec, char *buf, size_t size)
{
	/* The first three unhealthy pipelines are named, with their first reason. */
	char why[3][256], daemon_why[1024];
	const char *names[3];
	struct reasons drs = { .first = daemon_why, .size = sizeof(daemon_why) };
	size_t unhealthy = 0, off;
	int64_t next = 0;

	for (size_t i = 0; i < g->n_pipelines; i++) {
		const struct pipeline *p = g->pipelines[i];
		struct reasons rs = { .first = unhealthy < 3 ? why[unhealthy] : NULL,
			              .size = unhealthy < 3 ? sizeof(why[0]) : 0 };

		pipeline_reasons(hashmap_get(&h->by_name, p->name), &p->health, dm->started_usec,
		                 now_usec, &next, &rs);
		if (rs.n == 0)
			continue;
		if (unhealthy < 3)
			names[unhealthy] = p->name;
		unhealthy++;
	}
	daemon_reasons(g, dm, &drs);
	off = (size_t)snprintf(buf, size, "%zu pipeline%s", g->n_pipelines,
	                       g->n_pipelines == 1 ? "" : "s");
	if (unhealthy == 0 && off < size)
		off += (size_t)snprintf(buf + off, size - off, ", all healthy");
	else if (off < size)
		off += (size_t)snprintf(buf + off, size - off, ", %zu unhealthy: ", unhealthy);
	for (size_t i = 0; i < unhealthy && i < 3 && off < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%s (%s)", i ? ", " : "", names[i],
		                        why[i]);
	if (unhealthy > 3 && off < size)
		off += (size_t)snprintf(buf + off, size - off, ", ...");
	if (drs.n && off < size)
		snprintf(buf + off, size - off, "; daemon unhealthy: %s", daemon_why);
	if (ret_next_usec)
		*ret_next_usec = next;
	return unhealthy == 0 && drs.n == 0;
}

json_t *
health_report(struct health *h, const struct generation *g, const struct health_daemon *dm,
              int64_t now_usec, int64_t *ret_next_usec)
{
	struct reasons drs = { .all = json_array() };
	json_t *report, *pipelines = json_array();
	char summary[512];
	bool healthy;

	for (size_t i = 0; i < g->n_pipelines; i++) {
		const struct pipeline *p = g->pipelines[i];
		const struct phealth *ph = hashmap_get(&h->by_name, p->name);
		struct reasons rs = { .all = json_array() };

		pipeline_reasons(ph, &p->health, dm->started_usec, now_usec, NULL, &rs);
		json_array_append_new(
		        pipelines,
		        json_pack("{s:s, s:b, s:o, s:o, s:o, s:o, s:I, s:o, s:o}", "name", p->name,
		                  "healthy", rs.n == 0, "reasons", rs.all, "last_run",
		                  iso_or_null(ph ? ph->last_run_usec : 0), "last_result",
		                  ph && ph->last_result != RUN_RUNNING
		                          ? json_string(run_status_to_string(ph->last_result))
		                          : json_null(),
		                  "last_success", iso_or_null(ph ? ph->last_success_usec : 0),
		                  "consecutive_failures", (json_int_t)(ph ? ph->failures : 0),
		                  "max_age_sec",
		                  p->health.max_age_usec
		                          ? json_integer((json_int_t)(p->health.max_age_usec /
		                                                      USEC_PER_SEC))
		                          : json_null(),
		                  "max_failures",
		                  p->health.max_failures
		                          ? json_integer((json_int_t)p->health.max_failures)
		                          : json_null()));
	}
	daemon_reasons(g, dm, &drs);
	healthy = health_summary_line(h, g, dm, now_usec, ret_next_usec, summary, sizeof(summary));
	report = json_pack("{s:b, s:o, s:o, s:o}", "healthy", healthy, "summary", jtext(summary),
	                   "reasons", drs.all, "pipelines", pipelines);
	return report;
}

const char *
health_summary(const json_t *report)
{
	const char *s = json_string_value(json_object_get(report, "summary"));

	return s ? s : "health unknown";
}

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

void
health_metrics(const json_t *report, struct health *h, FILE *f)
{
	json_t *pipelines = json_object_get(report, "pipelines");
	static const struct {
		const char *name, *help;
		size_t offset;
	} times[] = {
		{ "gini_pipeline_last_run_timestamp_seconds",
		  "When the last run of a pipeline ended (Unix time), 0 if never.",
		  offsetof(struct phealth, last_run_usec) },
		{ "gini_pipeline_last_success_timestamp_seconds",
		  "When the last successful run of a pipeline ended (Unix time), 0 if never.",
		  offsetof(struct phealth, last_success_usec) },
	};

	for (size_t k = 0; k < ARRAY_SIZE(times); k++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", times[k].name, times[k].help,
		        times[k].name);
		for (size_t i = 0; i < json_array_size(pipelines); i++) {
			const char *name = json_string_value(
			        json_object_get(json_array_get(pipelines, i), "name"));
			const struct phealth *ph = hashmap_get(&h->by_name, name);
			int64_t usec =
			        ph ? *(const int64_t *)((const char *)ph + times[k].offset) : 0;

			fprintf(f, "%s{pipeline=\"", times[k].name);
			label(f, name);
			fprintf(f, "\"} %lld.%06lld\n", (long long)(usec / (int64_t)USEC_PER_SEC),
			        (long long)(usec % (int64_t)USEC_PER_SEC));
		}
	}
	fputs("# HELP gini_pipeline_healthy Whether a pipeline is healthy (1) or not (0), as "
	      "ginictl health says.\n# TYPE gini_pipeline_healthy gauge\n",
	      f);
	for (size_t i = 0; i < json_array_size(pipelines); i++) {
		json_t *e = json_array_get(pipelines, i);

		fputs("gini_pipeline_healthy{pipeline=\"", f);
		label(f, json_string_value(json_object_get(e, "name")));
		fprintf(f, "\"} %d\n", json_is_true(json_object_get(e, "healthy")) ? 1 : 0);
	}
	fputs("# HELP gini_healthy Whether the daemon and all its pipelines are healthy (1) or "
	      "not (0).\n# TYPE gini_healthy gauge\n",
	      f);
	fprintf(f, "gini_healthy %d\n", json_is_true(json_object_get(report, "healthy")) ? 1 : 0);
}
