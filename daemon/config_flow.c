/* SPDX-License-Identifier: MIT */
/*
 * The configuration keys of failure handling and concurrency: a step's
 * `when`, a pipeline's `timeout`, `on_failure_run` and `concurrency_group`,
 * the global `concurrency_groups`, and the checks across pipelines that
 * they need (the target exists, no chain of on_failure_run comes back to
 * where it started, the group is defined). Part of the configuration reader:
 * config_pipeline.c and config.c call in here, and the executor and the
 * dispatch code act on what it reads.
 */
#include "config.h"
#include "config_internal.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const step_whens[] = { "success", "failure", "always" };

const char *
step_when_to_string(enum step_when w)
{
	return step_whens[w];
}

void
config_flow_step(struct reader *rd, const config_setting_t *g, struct step_def *st,
                 const char *prefix)
{
	int e;

	if (reader_enum(rd, g, "when", prefix, step_whens, ARRAY_SIZE(step_whens), &e) <= 0)
		return;
	st->when = (enum step_when)e;
	st->when_line = reader_line(rd, config_setting_get_member(g, "when"));
	/* A failure or always step reacts to the steps it runs after. */
	if (st->when != WHEN_SUCCESS && st->n_after == 0)
		diags_add(rd->diags, reader_file(rd, g), st->when_line,
		          "%s'when = \"%s\"' needs 'after': the step runs when a step it runs "
		          "after fails%s",
		          prefix, step_whens[e], st->when == WHEN_ALWAYS ? " or not" : "");
}

void
config_flow_pipeline(struct reader *rd, const config_setting_t *g, struct pipeline_def *p,
                     const char *prefix)
{
	const char *v;

	reader_duration(rd, g, "timeout", prefix, &p->timeout_usec);
	v = reader_string(rd, g, "on_failure_run", prefix);
	if (v) {
		p->on_failure_run = strdup(v);
		p->on_failure_run_line =
		        reader_line(rd, config_setting_get_member(g, "on_failure_run"));
	}
	v = reader_string(rd, g, "concurrency_group", prefix);
	if (v) {
		p->concurrency_group = strdup(v);
		p->concurrency_group_line =
		        reader_line(rd, config_setting_get_member(g, "concurrency_group"));
	}
}

void
config_flow_globals(struct reader *rd, const config_setting_t *root)
{
	struct gini_config *c = rd->c;
	config_setting_t *g = config_setting_get_member(root, "concurrency_groups");
	int n;

	if (!g)
		return;
	if (!config_setting_is_group(g)) {
		diags_add(rd->diags, reader_file(rd, g), reader_line(rd, g),
		          "'concurrency_groups': expected a group { name = limit; ... }, got %s",
		          reader_type_name(g));
		return;
	}
	n = config_setting_length(g);
	if (n > CONCURRENCY_GROUPS_MAX) {
		diags_add(rd->diags, reader_file(rd, g), reader_line(rd, g),
		          "'concurrency_groups': more than %d groups", CONCURRENCY_GROUPS_MAX);
		return;
	}
	c->concurrency_groups = calloc((size_t)n + 1, sizeof(*c->concurrency_groups));
	if (!c->concurrency_groups)
		return;
	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(s);
		struct concurrency_def *d = &c->concurrency_groups[c->n_concurrency_groups];
		long long v;

		if (reader_int(rd, g, name, "'concurrency_groups': ", 1, CONCURRENCY_LIMIT_MAX,
		               &v) <= 0)
			continue;
		d->name = strdup(name);
		if (!d->name)
			continue;
		d->limit = (unsigned)v;
		d->line = reader_line(rd, s);
		c->n_concurrency_groups++;
	}
}

/* The pipeline named name, or NULL. */
static const struct pipeline_def *
find_pipeline(const struct gini_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_pipelines; i++)
		if (streq(c->pipelines[i].name, name))
			return &c->pipelines[i];
	return NULL;
}

/* Reports the cycle of on_failure_run through p, if there is one. */
static void
check_cycle(const struct gini_config *c, const struct pipeline_def *p, struct diags *diags)
{
	const struct pipeline_def *q = p;
	char path[512];
	size_t off = 0;

	/* Each pipeline names at most one: a cycle shows within n steps. */
	for (size_t k = 0; k <= c->n_pipelines && q && q->on_failure_run; k++) {
		q = find_pipeline(c, q->on_failure_run);
		if (q == p)
			break;
	}
	if (q != p)
		return;
	do {
		off += (size_t)snprintf(path + off, sizeof(path) - MIN(off, sizeof(path)), "%s -> ",
		                        q->name);
		q = find_pipeline(c, q->on_failure_run);
	} while (q != p && off < sizeof(path));
	if (off < sizeof(path))
		snprintf(path + off, sizeof(path) - off, "%s", p->name);
	diags_add(diags, p->file, p->on_failure_run_line,
	          "pipeline '%s': 'on_failure_run': a cycle: %s", p->name, path);
}

void
config_flow_check(struct gini_config *c, struct diags *diags)
{
	for (size_t i = 0; i < c->n_pipelines; i++) {
		const struct pipeline_def *p = &c->pipelines[i];
		bool known = false;

		if (p->concurrency_group) {
			for (size_t k = 0; k < c->n_concurrency_groups && !known; k++)
				known = streq(c->concurrency_groups[k].name, p->concurrency_group);
			if (!known)
				diags_add(diags, p->file, p->concurrency_group_line,
				          "pipeline '%s': 'concurrency_group': unknown group '%s' "
				          "(add it "
				          "to concurrency_groups in %s)",
				          p->name, p->concurrency_group, c->file);
		}
		if (!p->on_failure_run)
			continue;
		if (!find_pipeline(c, p->on_failure_run))
			diags_add(diags, p->file, p->on_failure_run_line,
			          "pipeline '%s': 'on_failure_run': unknown pipeline '%s'", p->name,
			          p->on_failure_run);
		else
			check_cycle(c, p, diags);
	}
}
