/* SPDX-License-Identifier: MIT */
/*
 * The pipelines of the configuration reader (config.c): each pipeline
 * group with its params, health, isolation and steps (its triggers are
 * config_triggers.c's), read into
 * struct pipeline_def with a diagnostic for each problem. What needs the
 * registry (stage ids, step params, the DAG) is checked by pipeline.c.
 */
#include "config_internal.h"

#include "config.h"
#include "context.h"
#include "params.h"
#include "util.h"

#include <errno.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_RETRY_BACKOFF USEC_PER_SEC
#define RETRIES_MAX           100

/* clang-format off */
static const char *const pipeline_keys[] = {
	"name",         "description", "triggers", "overlap", "on_failure",
	"max_parallel", "isolation",   "steps",    "params",  "health",
	"timeout", "on_failure_run",
	"concurrency_group",
};
/* clang-format on */
static const char *const param_keys[] = { "default", "pattern" };
static const char *const health_keys[] = { "max_age", "max_failures" };
/* clang-format off */
static const char *const step_keys[] = {
	"id",      "stage",     "params",     "after",   "timeout", "retries", "retry_backoff",
	"enabled", "isolation", "memory_max", "cpu_max", "nofile",  "user",    "group",
	"when",
	"worker_pool", "worker_max_runs",
};
/* clang-format on */
static const char *const isolations[] = { "none", "process" };

bool
config_name_valid(const char *s)
{
	size_t n = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++, n++)
		if (n >= 64 || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		                 (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
			return false;
	return true;
}

const char *
overlap_to_string(enum overlap o)
{
	static const char *const names[] = { "skip", "queue", "parallel" };

	return names[o];
}

const char *
isolation_to_string(enum isolation_mode m)
{
	return isolations[m];
}

const char *
on_failure_to_string(enum on_failure f)
{
	return f == ON_FAILURE_STOP ? "stop" : "continue";
}

/* isolation and the limits of an isolated step. */
static void
read_isolation(struct reader *rd, const config_setting_t *g, struct isolation *iso,
               const char *prefix)
{
	static const char *const limit_keys[] = { "memory_max", "cpu_max", "nofile", "user",
		                                  "group" };
	uint64_t cpu = 0;
	long long n;
	const char *s;
	int e;

	if (reader_enum(rd, g, "isolation", prefix, isolations, ARRAY_SIZE(isolations), &e) > 0) {
		iso->mode = (enum isolation_mode)e;
		iso->mode_set = true;
	}
	for (size_t i = 0; i < ARRAY_SIZE(limit_keys) && !iso->line; i++)
		iso->line = reader_line(rd, config_setting_get_member(g, limit_keys[i]));
	reader_size(rd, g, "memory_max", prefix, &iso->memory_max);
	if (reader_duration(rd, g, "cpu_max", prefix, &cpu) > 0) {
		/* RLIMIT_CPU counts whole seconds; round up. */
		iso->cpu_max_sec = (cpu + USEC_PER_SEC - 1) / USEC_PER_SEC;
		if (!iso->cpu_max_sec) {
			diags_add(rd->diags,
			          reader_file(rd, config_setting_get_member(g, "cpu_max")),
			          reader_line(rd, config_setting_get_member(g, "cpu_max")),
			          "%s'cpu_max' must be at least 1s", prefix);
		}
	}
	if (reader_int(rd, g, "nofile", prefix, 3, 1 << 20, &n) > 0)
		iso->nofile = (uint64_t)n;
	if (reader_int(rd, g, "worker_pool", prefix, 0, 64, &n) > 0)
		iso->pool_max_idle = (unsigned)n;
	if (reader_int(rd, g, "worker_max_runs", prefix, 1, 1000000, &n) > 0)
		iso->pool_max_runs = (unsigned)n;
	s = reader_string(rd, g, "user", prefix);
	if (s)
		iso->user = strdup(s);
	s = reader_string(rd, g, "group", prefix);
	if (s)
		iso->group = strdup(s);
}

/* health = { max_age = "26h"; max_failures = 3; } */
static void
read_health(struct reader *rd, const config_setting_t *g, struct pipeline_def *p,
            const char *prefix)
{
	char hprefix[192];
	long long v;

	if (!config_setting_is_group(g)) {
		diags_add(rd->diags, reader_file(rd, g), reader_line(rd, g),
		          "%s'health': expected a group { max_age = \"26h\"; max_failures = 3; }, "
		          "got %s",
		          prefix, reader_type_name(g));
		return;
	}
	snprintf(hprefix, sizeof(hprefix), "%shealth: ", prefix);
	reader_check_keys(rd, g, health_keys, ARRAY_SIZE(health_keys), hprefix, NULL, 0);
	if (reader_duration(rd, g, "max_age", hprefix, &p->health.max_age_usec) > 0 &&
	    p->health.max_age_usec < USEC_PER_SEC) {
		diags_add(rd->diags, reader_file(rd, config_setting_get_member(g, "max_age")),
		          reader_line(rd, config_setting_get_member(g, "max_age")),
		          "%s'max_age': must be at least 1s", hprefix);
		p->health.max_age_usec = 0;
	}
	if (reader_int(rd, g, "max_failures", hprefix, 1, HEALTH_FAILURES_MAX, &v) > 0)
		p->health.max_failures = (unsigned)v;
}

static void
read_step(struct reader *rd, const config_setting_t *g, struct pipeline_def *p, size_t index)
{
	struct step_def *st = &p->steps[p->n_steps];
	char prefix[256], err[512];
	config_setting_t *s;
	const char *id, *stage;
	long long v;
	int line;

	st->line = reader_line(rd, g);
	st->file = p->file;
	st->enabled = true;
	st->retry_backoff_usec = DEFAULT_RETRY_BACKOFF;
	st->after = calloc(1, sizeof(char *));
	/* A placeholder id until the real one is known: never NULL. */
	if (!st->after || asprintf(&st->id, "#%zu", index + 1) < 0) {
		st->id = NULL;
		free(st->after);
		st->after = NULL;
		return;
	}
	p->n_steps++;
	if (!config_setting_is_group(g)) {
		reader_where(prefix, sizeof(prefix), p->name, NULL);
		diags_add(rd->diags, reader_file(rd, g), reader_line(rd, g),
		          "%sstep %zu: expected a group { ... }, got %s", prefix, index + 1,
		          reader_type_name(g));
		return;
	}
	snprintf(prefix, sizeof(prefix), "pipeline '%s': step %zu: ", p->name, index + 1);
	id = reader_string(rd, g, "id", prefix);
	reader_where(prefix, sizeof(prefix), p->name, NULL);
	if (!id) {
		if (!config_setting_get_member(g, "id"))
			diags_add(rd->diags, st->file, st->line, "%sstep %zu has no 'id'", prefix,
			          index + 1);
	} else {
		free(st->id);
		if (!config_name_valid(id))
			diags_add(
			        rd->diags, reader_file(rd, config_setting_get_member(g, "id")),
			        reader_line(rd, config_setting_get_member(g, "id")),
			        "%sinvalid step id '%s': use letters, digits, '_', '.' and '-', at "
			        "most 64 characters",
			        prefix, id);
		st->id = strdup(id);
	}
	if (!st->id)
		return;
	reader_where(prefix, sizeof(prefix), p->name, st->id);
	reader_check_keys(rd, g, step_keys, ARRAY_SIZE(step_keys), prefix, NULL, 0);
	stage = reader_string(rd, g, "stage", prefix);
	if (stage)
		st->stage = strdup(stage);
	else if (!config_setting_get_member(g, "stage"))
		diags_add(rd->diags, st->file, st->line, "%sno 'stage'", prefix);
	s = config_setting_get_member(g, "params");
	st->params_line = s ? reader_line(rd, s) : st->line;
	if (s && !config_setting_is_group(s)) {
		diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s),
		          "%s'params': expected a group { ... }, got %s", prefix,
		          reader_type_name(s));
		s = NULL;
	}
	line = 0;
	if (params_from_setting(s, &st->params, err, sizeof(err), &line) < 0) {
		diags_add(rd->diags, st->file, line ? reader_map_line(rd, line) : st->line, "%s%s",
		          prefix, err);
		st->params = params_new_empty();
	}
	/* params.c took libconfig's lines, which count @include'd lines too. */
	for (size_t i = 0; st->params && i < st->params->n; i++)
		st->params->v[i].line = reader_map_line(rd, st->params->v[i].line);
	s = config_setting_get_member(g, "after");
	if (s)
		(void)reader_strings(rd, s, "after", prefix, &st->after, &st->n_after);
	reader_duration(rd, g, "timeout", prefix, &st->timeout_usec);
	if (reader_int(rd, g, "retries", prefix, 0, RETRIES_MAX, &v) > 0)
		st->retries = (unsigned)v;
	reader_duration(rd, g, "retry_backoff", prefix, &st->retry_backoff_usec);
	reader_bool(rd, g, "enabled", prefix, &st->enabled);
	read_isolation(rd, g, &st->iso, prefix);
	config_flow_step(rd, g, st, prefix);
}

int
param_decl_check(const struct param_decl *d, const char *value, char *err, size_t err_size)
{
	regmatch_t m;
	size_t len = strlen(value);

	if (len > PARAM_VALUE_MAX) {
		snprintf(err, err_size, "the value is %zu bytes long, more than %u", len,
		         PARAM_VALUE_MAX);
		return -EINVAL;
	}
	/* The whole value must match, as if the pattern were anchored: a
	 * pattern that forgot ^ and $ must not let "/srv; rm -rf /" in. */
	if (d->pattern &&
	    (regexec(&d->re, value, 1, &m, 0) != 0 || m.rm_so != 0 || (size_t)m.rm_eo != len)) {
		snprintf(err, err_size, "the value does not match the pattern '%s'", d->pattern);
		return -EINVAL;
	}
	return 0;
}

struct param_decl *
param_decls_free(struct param_decl *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].name);
		free(v[i].def);
		if (v[i].pattern)
			regfree(&v[i].re);
		free(v[i].pattern);
	}
	free(v);
	return NULL;
}

/* True if something other than a manual `run` starts the pipeline. */
/* params = { KEY = { default = "..."; pattern = "..."; }; ... } */
static void
read_params(struct reader *rd, const config_setting_t *g, struct pipeline_def *p,
            const char *prefix)
{
	int n = config_setting_length(g);

	if (!config_setting_is_group(g)) {
		diags_add(rd->diags, reader_file(rd, g), reader_line(rd, g),
		          "%s'params': expected a group { KEY = { default = \"...\"; pattern = "
		          "\"...\"; }; ... }, got %s",
		          prefix, reader_type_name(g));
		return;
	}
	if (n > PARAMS_MAX) {
		diags_add(rd->diags, reader_file(rd, g), reader_line(rd, g),
		          "%smore than %d params", prefix, PARAMS_MAX);
		return;
	}
	p->params = calloc((size_t)n + 1, sizeof(*p->params));
	if (!p->params)
		return;
	for (int i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(g, (unsigned)i);
		struct param_decl *d = &p->params[p->n_params];
		const char *name = config_setting_name(e), *def, *pattern;
		char pprefix[256], err[256];
		int r;

		if (!ctx_key_valid(name) || strncmp(name, "gini.", 5) == 0) {
			diags_add(
			        rd->diags, reader_file(rd, e), reader_line(rd, e),
			        "%sparam '%s': not a valid name (1 to 64 of A-Z a-z 0-9 _ . -, not "
			        "starting with 'gini.')",
			        prefix, name);
			continue;
		}
		snprintf(pprefix, sizeof(pprefix), "%sparam '%s': ", prefix, name);
		if (!config_setting_is_group(e)) {
			diags_add(rd->diags, reader_file(rd, e), reader_line(rd, e),
			          "%sexpected a group { default = \"...\"; pattern = \"...\"; }, "
			          "got %s",
			          pprefix, reader_type_name(e));
			continue;
		}
		reader_check_keys(rd, e, param_keys, ARRAY_SIZE(param_keys), pprefix, NULL, 0);
		def = reader_string(rd, e, "default", pprefix);
		pattern = reader_string(rd, e, "pattern", pprefix);
		d->line = reader_line(rd, e);
		d->name = strdup(name);
		if (!d->name)
			return;
		p->n_params++;
		if (pattern) {
			r = regcomp(&d->re, pattern, REG_EXTENDED);
			if (r != 0) {
				regerror(r, NULL, err, sizeof(err));
				diags_add(rd->diags, reader_file(rd, e),
				          reader_line(rd, config_setting_get_member(e, "pattern")),
				          "%sinvalid pattern '%s': %s", pprefix, pattern, err);
				continue;
			}
			d->pattern = strdup(pattern);
			if (!d->pattern) {
				regfree(&d->re);
				return;
			}
		}
		if (def) {
			if (param_decl_check(d, def, err, sizeof(err)) < 0)
				diags_add(rd->diags, reader_file(rd, e),
				          reader_line(rd, config_setting_get_member(e, "default")),
				          "%sdefault '%.80s': %s", pprefix, def, err);
			d->def = strdup(def);
		} else if (!config_setting_get_member(e, "default") &&
		           trigger_def_automatic(&p->triggers)) {
			diags_add(
			        rd->diags, reader_file(rd, e), reader_line(rd, e),
			        "%sno 'default', but the pipeline has triggers, which run it with "
			        "the defaults",
			        pprefix);
		}
	}
}

static void
read_pipeline(struct reader *rd, const config_setting_t *g, size_t index)
{
	struct gini_config *c = rd->c;
	struct pipeline_def *p;
	static const char *const overlaps[] = { "skip", "queue", "parallel" };
	static const char *const failures[] = { "stop", "continue" };
	char prefix[160];
	const char *name, *desc;
	config_setting_t *s;
	long long v;
	int e;

	p = &c->pipelines[c->n_pipelines];
	memset(p, 0, sizeof(*p));
	p->file = strdup(reader_file(rd, g));
	p->line = reader_line(rd, g);
	p->max_parallel = 4;
	if (!p->file)
		return;
	c->n_pipelines++;
	if (asprintf(&p->name, "#%zu", index + 1) < 0) {
		p->name = NULL;
		return;
	}
	if (!config_setting_is_group(g)) {
		diags_add(rd->diags, reader_file(rd, g), reader_line(rd, g),
		          "pipeline %zu: expected a group { ... }, got %s", index + 1,
		          reader_type_name(g));
		return;
	}
	snprintf(prefix, sizeof(prefix), "pipeline %zu: ", index + 1);
	name = reader_string(rd, g, "name", prefix);
	if (!name) {
		if (!config_setting_get_member(g, "name"))
			diags_add(rd->diags, p->file, p->line, "pipeline %zu has no 'name'",
			          index + 1);
	} else {
		free(p->name);
		if (!config_name_valid(name))
			diags_add(rd->diags, reader_file(rd, config_setting_get_member(g, "name")),
			          reader_line(rd, config_setting_get_member(g, "name")),
			          "invalid pipeline name '%s': use letters, digits, '_', '.' and "
			          "'-', "
			          "at most 64 characters",
			          name);
		p->name = strdup(name);
	}
	if (!p->name)
		return;
	reader_where(prefix, sizeof(prefix), p->name, NULL);
	reader_check_keys(rd, g, pipeline_keys, ARRAY_SIZE(pipeline_keys), prefix, NULL, 0);
	desc = reader_string(rd, g, "description", prefix);
	p->description = strdup(desc ? desc : "");
	s = config_setting_get_member(g, "triggers");
	if (s)
		config_triggers_read(rd, s, p, prefix);
	s = config_setting_get_member(g, "params");
	if (s)
		read_params(rd, s, p, prefix);
	if (reader_enum(rd, g, "overlap", prefix, overlaps, ARRAY_SIZE(overlaps), &e) > 0)
		p->overlap = (enum overlap)e;
	if (reader_int(rd, g, "max_parallel", prefix, 1, 1024, &v) > 0)
		p->max_parallel = (unsigned)v;
	if (reader_enum(rd, g, "on_failure", prefix, failures, ARRAY_SIZE(failures), &e) > 0)
		p->on_failure = (enum on_failure)e;
	if (reader_enum(rd, g, "isolation", prefix, isolations, ARRAY_SIZE(isolations), &e) > 0) {
		p->isolation = (enum isolation_mode)e;
		p->isolation_set = true;
	}
	s = config_setting_get_member(g, "health");
	if (s)
		read_health(rd, s, p, prefix);
	config_flow_pipeline(rd, g, p, prefix);
	s = config_setting_get_member(g, "steps");
	if (!s) {
		diags_add(rd->diags, p->file, p->line, "%sno 'steps'", prefix);
		return;
	}
	if (config_setting_type(s) != CONFIG_TYPE_LIST) {
		diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s),
		          "%s'steps': expected a list ( ... ), got %s", prefix,
		          reader_type_name(s));
		return;
	}
	int n = config_setting_length(s);
	if (n == 0) {
		diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s), "%s'steps' is empty",
		          prefix);
		return;
	}
	if (n > CONFIG_STEPS_MAX) {
		diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s), "%smore than %d steps",
		          prefix, CONFIG_STEPS_MAX);
		return;
	}
	p->steps = calloc((size_t)n, sizeof(*p->steps));
	if (!p->steps)
		return;
	for (int i = 0; i < n; i++)
		read_step(rd, config_setting_get_elem(s, (unsigned)i), p, (size_t)i);
}

/* Reads one pipeline and remembers whether reading it found problems. */
static void
read_pipeline_counted(struct reader *rd, const config_setting_t *g, size_t index)
{
	size_t before = rd->diags->n, at = rd->c->n_pipelines;

	read_pipeline(rd, g, index);
	if (rd->c->n_pipelines > at)
		rd->c->pipelines[at].errors = rd->diags->n - before;
}

void
config_pipelines_read(struct reader *rd, const config_setting_t *root)
{
	config_setting_t *s = config_setting_get_member(root, "pipelines");
	struct pipeline_def *v;
	int n;

	if (!s)
		return;
	if (config_setting_type(s) != CONFIG_TYPE_LIST) {
		diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s),
		          "'pipelines': expected a list ( { ... }, ... ), got %s",
		          reader_type_name(s));
		return;
	}
	n = config_setting_length(s);
	/* Nothing to add; and realloc(v, 0) would free v (found by fuzz_config). */
	if (n <= 0)
		return;
	if (rd->c->n_pipelines + (size_t)n > CONFIG_PIPELINES_MAX) {
		diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s),
		          "more than %d pipelines in all", CONFIG_PIPELINES_MAX);
		return;
	}
	v = realloc(rd->c->pipelines, (rd->c->n_pipelines + (size_t)n) * sizeof(*v));
	if (!v)
		return;
	rd->c->pipelines = v;
	for (int i = 0; i < n; i++)
		read_pipeline_counted(rd, config_setting_get_elem(s, (unsigned)i), (size_t)i);
}
