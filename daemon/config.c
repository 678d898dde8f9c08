/* SPDX-License-Identifier: MIT */
/*
 * The configuration reader: libconfig files in, plain structs out, and no
 * side effects. The main file holds the global settings and may hold
 * pipelines; every *.conf file of the include directories (sorted) holds
 * pipelines only. Each problem becomes a "FILE:LINE: message" diagnostic and
 * reading goes on, so one pass reports everything: unknown keys (with a
 * suggestion), wrong types, bad values, duplicate names across files. What
 * needs the registry (stage ids, params, the DAG) is checked by pipeline.c.
 * Files are read here, never by libconfig: only regular files, without ever
 * blocking (a reload runs on the event loop), and @include is expanded here
 * too, each line keeping its own file and line for the messages.
 */
#include "config.h"

#include "context.h"
#include "history.h"
#include "http.h"
#include "log.h"
#include "params.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef GINI_STAGE_DIR
#define GINI_STAGE_DIR "/usr/lib/gini/stages"
#endif

#ifndef GINI_CONTROL_SOCKET
#define GINI_CONTROL_SOCKET "/run/gini/ginid.sock"
#endif
#define DEFAULT_CONTROL_SOCKET GINI_CONTROL_SOCKET
#ifndef GINI_STATE_DIR
#define GINI_STATE_DIR "/var/lib/gini"
#endif
#define DEFAULT_STATE_DIR        GINI_STATE_DIR
#define DEFAULT_SHUTDOWN_TIMEOUT (30 * USEC_PER_SEC)
#define DEFAULT_RETRY_BACKOFF    USEC_PER_SEC
#define DEFAULT_PROBE_TIMEOUT    (5 * USEC_PER_SEC)
#define RETRIES_MAX              100
#define EVERY_MIN                (10 * USEC_PER_MSEC)

static const char *const main_keys[] = {
	"plugin_dirs",
	"include_dirs",
	"control_socket",
	"control_group",
	"state_dir",
	"control_readonly_group",
	"workers",
	"log_level",
	"shutdown_timeout",
	"probe_plugins",
	"probe_timeout",
	"isolate_stages",
	"pipelines",
	"control_max_connections_per_uid",
	"history_max_runs",
	"history_max_age",
	"history_output_max",
	"metrics_listen",
};
static const char *const include_keys[] = { "pipelines" };
static const char *const pipeline_keys[] = {
	"name",         "description", "triggers", "overlap", "on_failure",
	"max_parallel", "isolation",   "steps",    "params",  "health",
};
static const char *const param_keys[] = { "default", "pattern" };
static const char *const health_keys[] = { "max_age", "max_failures" };
static const char *const trigger_keys[] = {
	"signal", "every", "schedule", "on_start", "persistent",
};
static const char *const step_keys[] = {
	"id",      "stage",     "params",     "after",   "timeout", "retries", "retry_backoff",
	"enabled", "isolation", "memory_max", "cpu_max", "nofile",  "user",    "group",
};
static const char *const isolations[] = { "none", "process" };

/*
 * @include, done here rather than by libconfig: libconfig 1.5 (Debian 12)
 * opens included files itself with a blocking fopen() and has no hook to
 * replace it, so a FIFO named by an @include would freeze `ginid -t` and a
 * reload on the event loop. Instead every file is read by read_file() (a
 * regular file, non-blocking open, size cap) and its @include directives
 * are replaced by the included text; libconfig parses the result and is
 * given an include directory under which nothing can ever be opened.
 * INCLUDE_DEPTH_MAX is libconfig's own nesting limit.
 */
#define INCLUDE_DEPTH_MAX 10
#define INCLUDE_GUARD_DIR "/dev/null" /* "/dev/null/x" is always ENOTDIR */

/* A run of lines of the expanded text that came from one file. */
struct origin {
	int first;        /* its first line in the expanded text */
	const char *file; /* borrowed from struct source.files, or the file read */
	int line;         /* the line of that file it starts at */
};

/* One file with its @include directives expanded: what libconfig parses. */
struct source {
	char *text; /* owned, NUL-terminated */
	size_t len, cap;
	int line; /* line of the expanded text being written, from 1 */
	struct origin *v;
	size_t n;
	char **files; /* the included files' paths, owned */
	size_t n_files;
};

/* State of reading one file. */
struct reader {
	struct gini_config *c;
	struct diags *diags;
	const char *file; /* as reported in diagnostics */
	char *dir;        /* for relative paths */
	bool is_main;
	const struct source *src; /* where each line came from */
};

/* The origin of line (of the expanded text); NULL if unknown. */
static const struct origin *
origin_of(const struct source *src, int line)
{
	size_t lo = 0, hi = src ? src->n : 0;

	/* The last run that starts at or before line. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (src->v[mid].first <= line)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &src->v[lo - 1] : NULL;
}

static int
map_line(const struct reader *rd, int line)
{
	const struct origin *o = line > 0 ? origin_of(rd->src, line) : NULL;

	return o ? o->line + (line - o->first) : line;
}

static int
line_of(const struct reader *rd, const config_setting_t *s)
{
	return s ? map_line(rd, (int)config_setting_source_line(s)) : 0;
}

/* The file a setting came from: the one read, or one it @include'd. */
#define file_of(rd, s) src_file((rd), (s))
static const char *
src_file(const struct reader *rd, const config_setting_t *s)
{
	const struct origin *o = s ? origin_of(rd->src, (int)config_setting_source_line(s)) : NULL;

	return o ? o->file : rd->file;
}

static const char *
type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
		return "a group { ... }";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a number with a fraction";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array [ ... ]";
	case CONFIG_TYPE_LIST:
		return "a list ( ... )";
	default:
		return "something else";
	}
}

/* "pipeline 'p': step 's': " prefixes, in a caller's buffer. */
static const char *
where(char *buf, size_t size, const char *pipeline, const char *step)
{
	if (pipeline && step)
		snprintf(buf, size, "pipeline '%s': step '%s': ", pipeline, step);
	else if (pipeline)
		snprintf(buf, size, "pipeline '%s': ", pipeline);
	else
		buf[0] = 0;
	return buf;
}

/* Reports every member of group that is not in keys. */
static void
check_keys(struct reader *rd, const config_setting_t *group, const char *const *keys, size_t n,
           const char *prefix, const char *const *elsewhere, size_t n_elsewhere)
{
	int len = config_setting_length(group);

	for (int i = 0; i < len; i++) {
		config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		const char *hint;
		bool known = false;

		if (!name)
			continue;
		for (size_t k = 0; k < n && !known; k++)
			known = streq(name, keys[k]);
		if (known)
			continue;
		for (size_t k = 0; k < n_elsewhere && !known; k++)
			known = streq(name, elsewhere[k]);
		if (known) {
			diags_add(rd->diags, file_of(rd, s), line_of(rd, s),
			          "%skey '%s' is only allowed in the main configuration file",
			          prefix, name);
			continue;
		}
		hint = closest_match(name, keys, n);
		if (hint)
			diags_add(rd->diags, file_of(rd, s), line_of(rd, s),
			          "%sunknown key '%s'; did you mean '%s'?", prefix, name, hint);
		else
			diags_add(rd->diags, file_of(rd, s), line_of(rd, s), "%sunknown key '%s'",
			          prefix, name);
	}
}

static const char *
get_string(struct reader *rd, const config_setting_t *group, const char *key, const char *prefix)
{
	config_setting_t *s = config_setting_get_member(group, key);

	if (!s)
		return NULL;
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		diags_add(rd->diags, file_of(rd, s), line_of(rd, s),
		          "%s'%s': expected a string, got %s", prefix, key, type_name(s));
		return NULL;
	}
	return config_setting_get_string(s);
}

/* 1 and *ret if present and valid, 0 if absent, -1 if invalid (reported). */
static int
get_int(struct reader *rd, const config_setting_t *group, const char *key, const char *prefix,
        long long lo, long long hi, long long *ret)
{
	config_setting_t *s = config_setting_get_member(group, key);
	long long v;

	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		diags_add(rd->diags, file_of(rd, s), line_of(rd, s),
		          "%s'%s': expected an integer, got %s", prefix, key, type_name(s));
		return -1;
	}
	v = config_setting_get_int64(s);
	if (v < lo || v > hi) {
		diags_add(rd->diags, file_of(rd, s), line_of(rd, s),
		          "%s'%s': %lld is out of range %lld-%lld", prefix, key, v, lo, hi);
		return -1;
	}
	*ret = v;
	return 1;
}

static int
get_bool(struct reader *rd, const config_setting_t *group, const char *key, const char *prefix,
         bool *ret)
{
	config_setting_t *s = config_setting_get_member(group, key);

	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		diags_add(rd->diags, file_of(rd, s), line_of(rd, s),
		          "%s'%s': expected a boolean (true or false), got %s", prefix, key,
		          type_name(s));
		return -1;
	}
	*ret = config_setting_get_bool(s);
	return 1;
}

/* Durations: a string such as "30s", or an integer number of seconds. */
static int
get_duration(struct reader *rd, const config_setting_t *group, const char *key, const char *prefix,
             uint64_t *ret)
{
	config_setting_t *s = config_setting_get_member(group, key);
	long long i;

	if (!s)
		return 0;
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_STRING:
		switch (parse_duration(config_setting_get_string(s), ret)) {
		case 0:
			return 1;
		case -ERANGE:
			diags_add(rd->diags, file_of(rd, s), line_of(rd, s),
			          "%s'%s': duration '%s' is too long (at most 100 years)", prefix,
			          key, config_setting_get_string(s));
			return -1;
		default:
			diags_add(rd->diags, file_of(rd, s), line_of(rd, s),
			          "%s'%s': invalid duration '%s' (use e.g. 500ms, 30s, 5min, 1h "
			          "30m, 2 days)",
			          prefix, key, config_setting_get_string(s));
			return -1;
		}
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		i = config_setting_get_int64(s);
		if (i < 0 || i > 100LL * 366 * 86400) {
			diags_add(rd->diags, file_of(rd, s), line_of(rd, s),
			          "%s'%s': invalid duration %lld: %s", prefix, key, i,
			          i < 0 ? "must not be negative" : "too long (at most 100 years)");
			return -1;
		}
		*ret = (uint64_t)i * USEC_PER_SEC;
		return 1;
	default:
		diags_add(rd->diags, file_of(rd, s), line_of(rd, s),
		          "%s'%s': expected a duration such as \"30s\", got %s", prefix, key,
		          type_name(s));
		return -1;
	}
}

/*
 * A string, or a list/array of strings, appended to *v. Returns the number
 * of strings, or -1 if invalid (reported).
 */
static int
get_strings(struct reader *rd, const config_setting_t *s, const char *key, const char *prefix,
            char ***v, size_t *n)
{
	int len;

	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		return strv_push(v, n, config_setting_get_string(s)) < 0 ? -1 : 1;
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST) {
		diags_add(rd->diags, file_of(rd, s), line_of(rd, s),
		          "%s'%s': expected a string or a list of strings, got %s", prefix, key,
		          type_name(s));
		return -1;
	}
	len = config_setting_length(s);
	for (int i = 0; i < len; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			diags_add(rd->diags, file_of(rd, e), line_of(rd, e),
			          "%s'%s': element %d: expected a string, got %s", prefix, key,
			          i + 1, type_name(e));
			return -1;
		}
		if (strv_push(v, n, config_setting_get_string(e)) < 0)
			return -1;
	}
	return len;
}

/* Relative paths resolve against the directory of the file that names them. */
static char *
resolve(struct reader *rd, const char *path)
{
	return path_join(rd->dir, path);
}

static int
get_path_list(struct reader *rd, const config_setting_t *root, const char *key, char ***v,
              size_t *n)
{
	config_setting_t *s = config_setting_get_member(root, key);
	char **raw = NULL;
	size_t nraw = 0;
	int r;

	if (!s)
		return 0;
	r = get_strings(rd, s, key, "", &raw, &nraw);
	if (r >= 0) {
		strv_free(*v);
		*v = calloc(1, sizeof(char *));
		*n = 0;
		for (size_t i = 0; i < nraw && *v; i++) {
			_cleanup_free_ char *p = NULL;

			if (!raw[i][0]) {
				diags_add(rd->diags, file_of(rd, s), line_of(rd, s),
				          "'%s': empty path", key);
				continue;
			}
			p = resolve(rd, raw[i]);
			if (!p || strv_push(v, n, p) < 0)
				r = -1;
		}
	}
	strv_free(raw);
	return r;
}

static int
get_path(struct reader *rd, const config_setting_t *root, const char *key, char **ret)
{
	const char *s = get_string(rd, root, key, "");

	if (!s)
		return 0;
	if (!*s) {
		diags_add(rd->diags, file_of(rd, config_setting_get_member(root, key)),
		          line_of(rd, config_setting_get_member(root, key)), "'%s': empty path",
		          key);
		return -1;
	}
	free(*ret);
	*ret = resolve(rd, s);
	return 1;
}

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

/* An enum value from a string, with a suggestion on a miss. -1: invalid. */
static int
get_enum(struct reader *rd, const config_setting_t *group, const char *key, const char *prefix,
         const char *const *names, size_t n, int *ret)
{
	const char *v = get_string(rd, group, key, prefix);
	const char *hint;

	if (!v)
		return config_setting_get_member(group, key) ? -1 : 0;
	for (size_t i = 0; i < n; i++)
		if (streq(v, names[i])) {
			*ret = (int)i;
			return 1;
		}
	hint = closest_match(v, names, n);
	/* "a or b", "a, b or c" */
	{
		char list[128];
		size_t off = 0;

		list[0] = 0;
		for (size_t i = 0; i < n && off < sizeof(list); i++)
			off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
			                        i == 0       ? ""
			                        : i == n - 1 ? " or "
			                                     : ", ",
			                        names[i]);
		diags_add(rd->diags, file_of(rd, config_setting_get_member(group, key)),
		          line_of(rd, config_setting_get_member(group, key)),
		          "%s'%s': invalid value '%s'%s%s%s (expected %s)", prefix, key, v,
		          hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "", list);
	}
	return -1;
}

static void
read_triggers(struct reader *rd, const config_setting_t *g, struct pipeline_def *p,
              const char *prefix)
{
	struct trigger_def *t = &p->triggers;
	config_setting_t *s;
	char **sigs = NULL;
	size_t nsigs = 0;
	const char *sched;
	char err[256];

	char tprefix[192];

	t->line = line_of(rd, g);
	if (!config_setting_is_group(g)) {
		diags_add(rd->diags, file_of(rd, g), line_of(rd, g),
		          "%s'triggers': expected a group { ... }, got %s", prefix, type_name(g));
		return;
	}
	snprintf(tprefix, sizeof(tprefix), "%striggers: ", prefix);
	prefix = tprefix;
	check_keys(rd, g, trigger_keys, ARRAY_SIZE(trigger_keys), prefix, NULL, 0);
	s = config_setting_get_member(g, "signal");
	if (s && get_strings(rd, s, "signal", prefix, &sigs, &nsigs) >= 0) {
		for (size_t i = 0; i < nsigs; i++) {
			int sig = signal_from_string(sigs[i]);

			if (sig == SIGHUP || sig == SIGTERM || sig == SIGINT) {
				diags_add(rd->diags, file_of(rd, s), line_of(rd, s),
				          "%s'signal': %s is reserved (SIGHUP reloads, SIGTERM and "
				          "SIGINT stop); use SIGUSR1, SIGUSR2 or SIGRTMIN+N",
				          prefix, sigs[i]);
			} else if (sig < 0) {
				diags_add(
				        rd->diags, file_of(rd, s), line_of(rd, s),
				        "%s'signal': unknown signal '%s' (use SIGUSR1, SIGUSR2 or "
				        "SIGRTMIN+N, N from 0 to %d)",
				        prefix, sigs[i], SIGRTMAX - SIGRTMIN);
			} else if (sig != SIGUSR1 && sig != SIGUSR2 &&
			           (sig < SIGRTMIN || sig > SIGRTMAX)) {
				diags_add(rd->diags, file_of(rd, s), line_of(rd, s),
				          "%s'signal': %s cannot trigger a pipeline (use SIGUSR1, "
				          "SIGUSR2 "
				          "or SIGRTMIN+N, N from 0 to %d)",
				          prefix, sigs[i], SIGRTMAX - SIGRTMIN);
			} else if (t->n_signals >= TRIGGER_SIGNALS_MAX) {
				diags_add(rd->diags, file_of(rd, s), line_of(rd, s),
				          "%s'signal': more than %d signals", prefix,
				          TRIGGER_SIGNALS_MAX);
				break;
			} else {
				t->signals[t->n_signals++] = sig;
			}
		}
	}
	strv_free(sigs);
	if (get_duration(rd, g, "every", prefix, &t->every_usec) > 0 && t->every_usec < EVERY_MIN) {
		diags_add(rd->diags, file_of(rd, config_setting_get_member(g, "every")),
		          line_of(rd, config_setting_get_member(g, "every")),
		          "%s'every': interval must be at least 10ms", prefix);
		t->every_usec = 0;
	}
	sched = get_string(rd, g, "schedule", prefix);
	if (sched) {
		if (cron_parse(sched, &t->cron, err, sizeof(err)) < 0)
			diags_add(rd->diags, file_of(rd, config_setting_get_member(g, "schedule")),
			          line_of(rd, config_setting_get_member(g, "schedule")),
			          "%s'schedule': invalid cron expression '%s': %s", prefix, sched,
			          err);
		else
			t->schedule = strdup(sched);
	}
	get_bool(rd, g, "on_start", prefix, &t->on_start);
	if (get_bool(rd, g, "persistent", prefix, &t->persistent) > 0 && t->persistent &&
	    !config_setting_get_member(g, "schedule"))
		diags_add(rd->diags, file_of(rd, config_setting_get_member(g, "persistent")),
		          line_of(rd, config_setting_get_member(g, "persistent")),
		          "%s'persistent' needs a 'schedule'", prefix);
}

/* A size: a string such as "64M", or an integer number of bytes. */
static int
get_size(struct reader *rd, const config_setting_t *group, const char *key, const char *prefix,
         uint64_t *ret)
{
	config_setting_t *s = config_setting_get_member(group, key);

	if (!s)
		return 0;
	if (config_setting_type(s) == CONFIG_TYPE_INT ||
	    config_setting_type(s) == CONFIG_TYPE_INT64) {
		long long v = config_setting_get_int64(s);

		if (v <= 0) {
			diags_add(rd->diags, file_of(rd, s), line_of(rd, s),
			          "%s'%s': %lld is not a size; it must be positive", prefix, key,
			          v);
			return -1;
		}
		*ret = (uint64_t)v;
		return 1;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING ||
	    parse_size(config_setting_get_string(s), ret) < 0 || *ret == 0) {
		diags_add(rd->diags, file_of(rd, s), line_of(rd, s),
		          "%s'%s': expected a size such as \"512M\" (K, M, G, T) or a number of "
		          "bytes",
		          prefix, key);
		return -1;
	}
	return 1;
}

/* The run history's bounds (history.h). */
static void
get_history(struct reader *rd, const config_setting_t *root, struct gini_config *c)
{
	long long v;
	uint64_t age, size;

	if (get_int(rd, root, "history_max_runs", "", 1, CONFIG_HISTORY_RUNS_MAX, &v) > 0)
		c->history_max_runs = (uint64_t)v;
	if (get_duration(rd, root, "history_max_age", "", &age) > 0) {
		if (age < USEC_PER_MINUTE)
			diags_add(rd->diags,
			          file_of(rd, config_setting_get_member(root, "history_max_age")),
			          line_of(rd, config_setting_get_member(root, "history_max_age")),
			          "'history_max_age': must be at least 1m");
		else
			c->history_max_age_usec = age;
	}
	if (get_size(rd, root, "history_output_max", "", &size) > 0) {
		if (size > CONFIG_HISTORY_OUTPUT_MAX)
			diags_add(
			        rd->diags,
			        file_of(rd, config_setting_get_member(root, "history_output_max")),
			        line_of(rd, config_setting_get_member(root, "history_output_max")),
			        "'history_output_max': at most 64M");
		else
			c->history_output_max = (size_t)size;
	}
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

	if (get_enum(rd, g, "isolation", prefix, isolations, ARRAY_SIZE(isolations), &e) > 0) {
		iso->mode = (enum isolation_mode)e;
		iso->mode_set = true;
	}
	for (size_t i = 0; i < ARRAY_SIZE(limit_keys) && !iso->line; i++)
		iso->line = line_of(rd, config_setting_get_member(g, limit_keys[i]));
	get_size(rd, g, "memory_max", prefix, &iso->memory_max);
	if (get_duration(rd, g, "cpu_max", prefix, &cpu) > 0) {
		/* RLIMIT_CPU counts whole seconds; round up. */
		iso->cpu_max_sec = (cpu + USEC_PER_SEC - 1) / USEC_PER_SEC;
		if (!iso->cpu_max_sec) {
			diags_add(rd->diags, file_of(rd, config_setting_get_member(g, "cpu_max")),
			          line_of(rd, config_setting_get_member(g, "cpu_max")),
			          "%s'cpu_max' must be at least 1s", prefix);
		}
	}
	if (get_int(rd, g, "nofile", prefix, 3, 1 << 20, &n) > 0)
		iso->nofile = (uint64_t)n;
	s = get_string(rd, g, "user", prefix);
	if (s)
		iso->user = strdup(s);
	s = get_string(rd, g, "group", prefix);
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
		diags_add(rd->diags, file_of(rd, g), line_of(rd, g),
		          "%s'health': expected a group { max_age = \"26h\"; max_failures = 3; }, "
		          "got %s",
		          prefix, type_name(g));
		return;
	}
	snprintf(hprefix, sizeof(hprefix), "%shealth: ", prefix);
	check_keys(rd, g, health_keys, ARRAY_SIZE(health_keys), hprefix, NULL, 0);
	if (get_duration(rd, g, "max_age", hprefix, &p->health.max_age_usec) > 0 &&
	    p->health.max_age_usec < USEC_PER_SEC) {
		diags_add(rd->diags, file_of(rd, config_setting_get_member(g, "max_age")),
		          line_of(rd, config_setting_get_member(g, "max_age")),
		          "%s'max_age': must be at least 1s", hprefix);
		p->health.max_age_usec = 0;
	}
	if (get_int(rd, g, "max_failures", hprefix, 1, HEALTH_FAILURES_MAX, &v) > 0)
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

	st->line = line_of(rd, g);
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
		where(prefix, sizeof(prefix), p->name, NULL);
		diags_add(rd->diags, file_of(rd, g), line_of(rd, g),
		          "%sstep %zu: expected a group { ... }, got %s", prefix, index + 1,
		          type_name(g));
		return;
	}
	snprintf(prefix, sizeof(prefix), "pipeline '%s': step %zu: ", p->name, index + 1);
	id = get_string(rd, g, "id", prefix);
	where(prefix, sizeof(prefix), p->name, NULL);
	if (!id) {
		if (!config_setting_get_member(g, "id"))
			diags_add(rd->diags, st->file, st->line, "%sstep %zu has no 'id'", prefix,
			          index + 1);
	} else {
		free(st->id);
		if (!config_name_valid(id))
			diags_add(
			        rd->diags, file_of(rd, config_setting_get_member(g, "id")),
			        line_of(rd, config_setting_get_member(g, "id")),
			        "%sinvalid step id '%s': use letters, digits, '_', '.' and '-', at "
			        "most 64 characters",
			        prefix, id);
		st->id = strdup(id);
	}
	if (!st->id)
		return;
	where(prefix, sizeof(prefix), p->name, st->id);
	check_keys(rd, g, step_keys, ARRAY_SIZE(step_keys), prefix, NULL, 0);
	stage = get_string(rd, g, "stage", prefix);
	if (stage)
		st->stage = strdup(stage);
	else if (!config_setting_get_member(g, "stage"))
		diags_add(rd->diags, st->file, st->line, "%sno 'stage'", prefix);
	s = config_setting_get_member(g, "params");
	st->params_line = s ? line_of(rd, s) : st->line;
	if (s && !config_setting_is_group(s)) {
		diags_add(rd->diags, file_of(rd, s), line_of(rd, s),
		          "%s'params': expected a group { ... }, got %s", prefix, type_name(s));
		s = NULL;
	}
	line = 0;
	if (params_from_setting(s, &st->params, err, sizeof(err), &line) < 0) {
		diags_add(rd->diags, st->file, line ? map_line(rd, line) : st->line, "%s%s", prefix,
		          err);
		st->params = params_new_empty();
	}
	/* params.c took libconfig's lines, which count @include'd lines too. */
	for (size_t i = 0; st->params && i < st->params->n; i++)
		st->params->v[i].line = map_line(rd, st->params->v[i].line);
	s = config_setting_get_member(g, "after");
	if (s)
		(void)get_strings(rd, s, "after", prefix, &st->after, &st->n_after);
	get_duration(rd, g, "timeout", prefix, &st->timeout_usec);
	if (get_int(rd, g, "retries", prefix, 0, RETRIES_MAX, &v) > 0)
		st->retries = (unsigned)v;
	get_duration(rd, g, "retry_backoff", prefix, &st->retry_backoff_usec);
	get_bool(rd, g, "enabled", prefix, &st->enabled);
	read_isolation(rd, g, &st->iso, prefix);
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
static bool
triggers_automatic(const struct trigger_def *t)
{
	return t->n_signals || t->every_usec || t->schedule || t->on_start;
}

/* params = { KEY = { default = "..."; pattern = "..."; }; ... } */
static void
read_params(struct reader *rd, const config_setting_t *g, struct pipeline_def *p,
            const char *prefix)
{
	int n = config_setting_length(g);

	if (!config_setting_is_group(g)) {
		diags_add(rd->diags, file_of(rd, g), line_of(rd, g),
		          "%s'params': expected a group { KEY = { default = \"...\"; pattern = "
		          "\"...\"; }; ... }, got %s",
		          prefix, type_name(g));
		return;
	}
	if (n > PARAMS_MAX) {
		diags_add(rd->diags, file_of(rd, g), line_of(rd, g), "%smore than %d params",
		          prefix, PARAMS_MAX);
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
			        rd->diags, file_of(rd, e), line_of(rd, e),
			        "%sparam '%s': not a valid name (1 to 64 of A-Z a-z 0-9 _ . -, not "
			        "starting with 'gini.')",
			        prefix, name);
			continue;
		}
		snprintf(pprefix, sizeof(pprefix), "%sparam '%s': ", prefix, name);
		if (!config_setting_is_group(e)) {
			diags_add(rd->diags, file_of(rd, e), line_of(rd, e),
			          "%sexpected a group { default = \"...\"; pattern = \"...\"; }, "
			          "got %s",
			          pprefix, type_name(e));
			continue;
		}
		check_keys(rd, e, param_keys, ARRAY_SIZE(param_keys), pprefix, NULL, 0);
		def = get_string(rd, e, "default", pprefix);
		pattern = get_string(rd, e, "pattern", pprefix);
		d->line = line_of(rd, e);
		d->name = strdup(name);
		if (!d->name)
			return;
		p->n_params++;
		if (pattern) {
			r = regcomp(&d->re, pattern, REG_EXTENDED);
			if (r != 0) {
				regerror(r, NULL, err, sizeof(err));
				diags_add(rd->diags, file_of(rd, e),
				          line_of(rd, config_setting_get_member(e, "pattern")),
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
				diags_add(rd->diags, file_of(rd, e),
				          line_of(rd, config_setting_get_member(e, "default")),
				          "%sdefault '%.80s': %s", pprefix, def, err);
			d->def = strdup(def);
		} else if (!config_setting_get_member(e, "default") &&
		           triggers_automatic(&p->triggers)) {
			diags_add(
			        rd->diags, file_of(rd, e), line_of(rd, e),
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
	p->file = strdup(file_of(rd, g));
	p->line = line_of(rd, g);
	p->max_parallel = 4;
	if (!p->file)
		return;
	c->n_pipelines++;
	if (asprintf(&p->name, "#%zu", index + 1) < 0) {
		p->name = NULL;
		return;
	}
	if (!config_setting_is_group(g)) {
		diags_add(rd->diags, file_of(rd, g), line_of(rd, g),
		          "pipeline %zu: expected a group { ... }, got %s", index + 1,
		          type_name(g));
		return;
	}
	snprintf(prefix, sizeof(prefix), "pipeline %zu: ", index + 1);
	name = get_string(rd, g, "name", prefix);
	if (!name) {
		if (!config_setting_get_member(g, "name"))
			diags_add(rd->diags, p->file, p->line, "pipeline %zu has no 'name'",
			          index + 1);
	} else {
		free(p->name);
		if (!config_name_valid(name))
			diags_add(rd->diags, file_of(rd, config_setting_get_member(g, "name")),
			          line_of(rd, config_setting_get_member(g, "name")),
			          "invalid pipeline name '%s': use letters, digits, '_', '.' and "
			          "'-', "
			          "at most 64 characters",
			          name);
		p->name = strdup(name);
	}
	if (!p->name)
		return;
	where(prefix, sizeof(prefix), p->name, NULL);
	check_keys(rd, g, pipeline_keys, ARRAY_SIZE(pipeline_keys), prefix, NULL, 0);
	desc = get_string(rd, g, "description", prefix);
	p->description = strdup(desc ? desc : "");
	s = config_setting_get_member(g, "triggers");
	if (s)
		read_triggers(rd, s, p, prefix);
	s = config_setting_get_member(g, "params");
	if (s)
		read_params(rd, s, p, prefix);
	if (get_enum(rd, g, "overlap", prefix, overlaps, ARRAY_SIZE(overlaps), &e) > 0)
		p->overlap = (enum overlap)e;
	if (get_int(rd, g, "max_parallel", prefix, 1, 1024, &v) > 0)
		p->max_parallel = (unsigned)v;
	if (get_enum(rd, g, "on_failure", prefix, failures, ARRAY_SIZE(failures), &e) > 0)
		p->on_failure = (enum on_failure)e;
	if (get_enum(rd, g, "isolation", prefix, isolations, ARRAY_SIZE(isolations), &e) > 0) {
		p->isolation = (enum isolation_mode)e;
		p->isolation_set = true;
	}
	s = config_setting_get_member(g, "health");
	if (s)
		read_health(rd, s, p, prefix);
	s = config_setting_get_member(g, "steps");
	if (!s) {
		diags_add(rd->diags, p->file, p->line, "%sno 'steps'", prefix);
		return;
	}
	if (config_setting_type(s) != CONFIG_TYPE_LIST) {
		diags_add(rd->diags, file_of(rd, s), line_of(rd, s),
		          "%s'steps': expected a list ( ... ), got %s", prefix, type_name(s));
		return;
	}
	int n = config_setting_length(s);
	if (n == 0) {
		diags_add(rd->diags, file_of(rd, s), line_of(rd, s), "%s'steps' is empty", prefix);
		return;
	}
	if (n > CONFIG_STEPS_MAX) {
		diags_add(rd->diags, file_of(rd, s), line_of(rd, s), "%smore than %d steps", prefix,
		          CONFIG_STEPS_MAX);
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

static void
read_pipelines(struct reader *rd, const config_setting_t *root)
{
	config_setting_t *s = config_setting_get_member(root, "pipelines");
	struct pipeline_def *v;
	int n;

	if (!s)
		return;
	if (config_setting_type(s) != CONFIG_TYPE_LIST) {
		diags_add(rd->diags, file_of(rd, s), line_of(rd, s),
		          "'pipelines': expected a list ( { ... }, ... ), got %s", type_name(s));
		return;
	}
	n = config_setting_length(s);
	/* Nothing to add; and realloc(v, 0) would free v (found by fuzz_config). */
	if (n <= 0)
		return;
	if (rd->c->n_pipelines + (size_t)n > CONFIG_PIPELINES_MAX) {
		diags_add(rd->diags, file_of(rd, s), line_of(rd, s),
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

/*
 * metrics_listen: "127.0.0.1:9464", "[::1]:9464" or an absolute path of a
 * unix socket. Only the form is checked here; http.c binds it.
 */
static void
read_metrics_listen(struct reader *rd, const config_setting_t *root)
{
	config_setting_t *s = config_setting_get_member(root, "metrics_listen");
	const char *v = get_string(rd, root, "metrics_listen", "");
	char err[256];

	if (!v)
		return;
	if (http_parse_listen(v, NULL, err, sizeof(err)) < 0) {
		diags_add(rd->diags, file_of(rd, s), line_of(rd, s), "'metrics_listen': %s", err);
		return;
	}
	free(rd->c->metrics_listen);
	rd->c->metrics_listen = strdup(v);
}

static void
read_globals(struct reader *rd, const config_setting_t *root)
{
	struct gini_config *c = rd->c;
	const char *s;
	long long v;

	get_path_list(rd, root, "plugin_dirs", &c->plugin_dirs, &c->n_plugin_dirs);
	c->plugin_dirs_line = line_of(rd, config_setting_get_member(root, "plugin_dirs"));
	get_path_list(rd, root, "include_dirs", &c->include_dirs, &c->n_include_dirs);
	c->include_dirs_line = line_of(rd, config_setting_get_member(root, "include_dirs"));
	get_path(rd, root, "control_socket", &c->control_socket);
	get_path(rd, root, "state_dir", &c->state_dir);
	read_metrics_listen(rd, root);
	s = get_string(rd, root, "control_group", "");
	if (s)
		c->control_group = strdup(s);
	s = get_string(rd, root, "control_readonly_group", "");
	if (s)
		c->control_readonly_group = strdup(s);
	if (get_int(rd, root, "control_max_connections_per_uid", "", 1, CONFIG_CONNS_PER_UID_MAX,
	            &v) > 0)
		c->control_max_connections_per_uid = (unsigned)v;
	if (get_int(rd, root, "workers", "", 1, CONFIG_WORKERS_MAX, &v) > 0)
		c->workers = (unsigned)v;
	s = get_string(rd, root, "log_level", "");
	if (s) {
		int l = log_level_from_string(s);
		static const char *const levels[] = { "error", "warning", "notice", "info",
			                              "debug" };

		if (l < 0) {
			const char *hint = closest_match(s, levels, ARRAY_SIZE(levels));

			diags_add(rd->diags, rd->file,
			          line_of(rd, config_setting_get_member(root, "log_level")),
			          "'log_level': invalid value '%s'%s%s%s (expected error, warning, "
			          "notice, info or debug)",
			          s, hint ? "; did you mean '" : "", hint ? hint : "",
			          hint ? "'?" : "");
		} else {
			c->log_level = l;
		}
	}
	get_duration(rd, root, "shutdown_timeout", "", &c->shutdown_timeout_usec);
	get_history(rd, root, c);
	get_bool(rd, root, "probe_plugins", "", &c->probe_plugins);
	if (get_duration(rd, root, "probe_timeout", "", &c->probe_timeout_usec) > 0 &&
	    c->probe_timeout_usec < 100 * USEC_PER_MSEC) {
		diags_add(rd->diags, file_of(rd, config_setting_get_member(root, "probe_timeout")),
		          line_of(rd, config_setting_get_member(root, "probe_timeout")),
		          "'probe_timeout': must be at least 100ms");
		c->probe_timeout_usec = DEFAULT_PROBE_TIMEOUT;
	}
	{
		config_setting_t *iso = config_setting_get_member(root, "isolate_stages");

		if (iso) {
			strv_free(c->isolate_stages);
			c->isolate_stages = NULL;
			c->n_isolate_stages = 0;
			(void)get_strings(rd, iso, "isolate_stages", "", &c->isolate_stages,
			                  &c->n_isolate_stages);
		}
	}
}

static int
source_grow(struct source *src, size_t more)
{
	char *t;
	size_t cap;

	if (src->len + more + 1 <= src->cap)
		return 0;
	cap = MAX(src->cap * 2, src->len + more + 1);
	t = realloc(src->text, cap);
	if (!t)
		return -ENOMEM;
	src->text = t;
	src->cap = cap;
	return 0;
}

static int
source_append(struct source *src, const char *p, size_t n)
{
	if (source_grow(src, n) < 0)
		return -ENOMEM;
	memcpy(src->text + src->len, p, n);
	src->len += n;
	src->text[src->len] = 0;
	for (size_t i = 0; i < n; i++)
		src->line += p[i] == '\n';
	return 0;
}

/* From the current line on, the lines come from file, starting at line. */
static int
source_mark(struct source *src, const char *file, int line)
{
	struct origin *v;

	if (src->n && src->v[src->n - 1].first == src->line)
		src->n--; /* the previous run is empty */
	v = realloc(src->v, (src->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	src->v = v;
	v[src->n++] = (struct origin){ .first = src->line, .file = file, .line = line };
	return 0;
}

static void
source_done(struct source *src)
{
	free(src->text);
	free(src->v);
	strv_free(src->files);
}

/* Why read_file() failed; -EBADFD wants path_type_name() and ")" after it. */
static const char *
read_error(int r)
{
	if (r == -EBADFD)
		return "not a regular file (";
	if (r == -EFBIG)
		return "file larger than 16 MiB";
	return strerror(-r);
}

static int
line_at(const char *text, size_t off)
{
	int line = 1;

	for (size_t i = 0; i < off; i++)
		line += text[i] == '\n';
	return line;
}

/*
 * Whether text (at the start of a line, after blanks) is an @include
 * directive as libconfig 1.5 sees one: "@include", blanks, a quoted path.
 * Sets *ret_name (start and length of the path) and *ret_end (past the
 * closing quote). 1: a directive, 0: not one, -1: one whose path this
 * reader does not take (reported by the caller with *ret_end at the fault).
 */
static int
include_directive(const char *text, size_t len, const char **ret_name, size_t *ret_n,
                  size_t *ret_end)
{
	static const char kw[] = "@include";
	size_t i = sizeof(kw) - 1, start;

	if (len < i || memcmp(text, kw, i) != 0)
		return 0;
	if (i >= len || (text[i] != ' ' && text[i] != '\t'))
		return 0;
	while (i < len && (text[i] == ' ' || text[i] == '\t'))
		i++;
	if (i >= len || text[i] != '"')
		return 0;
	start = ++i;
	while (i < len && text[i] != '"' && text[i] != '\\' && text[i] != '\n')
		i++;
	if (i >= len || text[i] != '"' || i == start) {
		*ret_end = i;
		return -1;
	}
	*ret_name = text + start;
	*ret_n = i - start;
	*ret_end = i + 1;
	return 1;
}

static int expand(struct source *src, struct diags *diags, const char *file, const char *text,
                  size_t len, int depth);

/*
 * Appends the file that file's line `line` @includes (name, n: the path as
 * written) to src, expanded, then marks the rest of that line as file's
 * again. -1: a problem, reported.
 */
static int
expand_include(struct source *src, struct diags *diags, const char *file, int line,
               const char *name, size_t n, int depth)
{
	char *rel = NULL, *dir = NULL, *path = NULL, *inc = NULL;
	size_t inc_len = 0;
	int r = -1;

	if (depth + 1 >= INCLUDE_DEPTH_MAX) {
		diags_add(diags, file, line,
		          "@include: nested more than %d deep (does a file include itself?)",
		          INCLUDE_DEPTH_MAX);
		goto out;
	}
	rel = strndup(name, n);
	dir = path_dirname(file);
	path = rel && dir ? path_join(dir, rel) : NULL;
	if (!path || strv_push(&src->files, &src->n_files, path) < 0)
		goto out;
	r = read_file(path, CONFIG_FILE_MAX, &inc, &inc_len);
	if (r < 0) {
		diags_add(diags, file, line, "@include \"%s\": cannot read %s: %s%s%s", rel, path,
		          read_error(r), r == -EBADFD ? path_type_name(path) : "",
		          r == -EBADFD ? ")" : "");
		r = -1;
		goto out;
	}
	r = -1;
	if (src->len + inc_len > CONFIG_FILE_MAX) {
		diags_add(diags, file, line,
		          "@include \"%s\": the configuration with its included files is larger "
		          "than 16 MiB",
		          rel);
		goto out;
	}
	/* The name in src->files lives as long as src: the origins borrow it. */
	if (expand(src, diags, src->files[src->n_files - 1], inc, inc_len, depth + 1) < 0)
		goto out;
	if (src->len && src->text[src->len - 1] != '\n' && source_append(src, "\n", 1) < 0)
		goto out;
	r = source_mark(src, file, line) < 0 ? -1 : 0;
out:
	free(rel);
	free(dir);
	free(path);
	free(inc);
	return r;
}

/*
 * Checks a file's text and appends it to src with its @include directives
 * replaced by the files they name (relative paths against file's directory).
 * Scans as libconfig's lexer does, so a directive inside a string or a
 * comment is left alone. -1: a problem, reported; the file is not parsed.
 */
static int
expand(struct source *src, struct diags *diags, const char *file, const char *text, size_t len,
       int depth)
{
	enum { NORMAL, STRING, COMMENT } state = NORMAL;
	const char *nul = memchr(text, 0, len);
	bool bol = true; /* only blanks since the start of the line */
	size_t copied = 0;
	int line = 1;

	if (nul) {
		diags_add(diags, file, line_at(text, (size_t)(nul - text)),
		          "NUL byte: a configuration file is text (the rest of the file would be "
		          "ignored)");
		return -1;
	}
	if (source_mark(src, file, 1) < 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = text[i], next = i + 1 < len ? text[i + 1] : 0;

		if (c == '\n') {
			line++;
			bol = state == NORMAL;
			continue;
		}
		if (state == STRING) {
			if (c == '\\' && next) {
				line += next == '\n';
				i++;
			} else if (c == '"') {
				state = NORMAL;
			}
			continue;
		}
		if (state == COMMENT) {
			if (c == '*' && next == '/') {
				state = NORMAL;
				i++;
			}
			continue;
		}
		if (bol && (c == ' ' || c == '\t'))
			continue;
		if (bol && c == '@') {
			const char *name = NULL;
			size_t n = 0, end = 0;
			int r = include_directive(text + i, len - i, &name, &n, &end);

			if (r < 0) {
				diags_add(diags, file, line,
				          "@include: expected a non-empty path in double quotes, "
				          "without backslashes or line breaks");
				return -1;
			}
			if (r > 0) {
				/* Blanks before the directive stay on the line the
				 * included text starts on; the rest of the directive's
				 * line follows that text on a line of its own. */
				if (source_append(src, text + copied, i - copied) < 0 ||
				    expand_include(src, diags, file, line, name, n, depth) < 0)
					return -1;
				copied = i + end;
				i = copied - 1;
				bol = false;
				continue;
			}
		}
		bol = false;
		if (c == '"') {
			state = STRING;
		} else if (c == '#' || (c == '/' && next == '/')) {
			while (i + 1 < len && text[i + 1] != '\n')
				i++;
		} else if (c == '/' && next == '*') {
			state = COMMENT;
			i++;
		}
	}
	if (depth > 0 && state != NORMAL) {
		/* libconfig would carry the open string or comment on into the
		 * including file; say so here instead. */
		diags_add(diags, file, line, "%s not closed at the end of the file",
		          state == STRING ? "string" : "comment");
		return -1;
	}
	return source_append(src, text + copied, len - copied) < 0 ? -1 : 0;
}

/* Parses one file (or text) and reads what it may hold. */
static void
read_one(struct gini_config *c, struct diags *diags, const char *file, const char *text,
         bool is_main)
{
	struct reader rd = { .c = c, .diags = diags, .file = file, .is_main = is_main };
	struct source src = { .line = 1 };
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	config_t cfg;
	int ok;

	rd.dir = path_dirname(file);
	if (!rd.dir)
		return;
	if (text) {
		len = strlen(text);
	} else {
		int r = read_file(file, CONFIG_FILE_MAX, &buf, &len);

		if (r < 0) {
			diags_add(diags, file, 0, "cannot read: %s%s%s", read_error(r),
			          r == -EBADFD ? path_type_name(file) : "",
			          r == -EBADFD ? ")" : "");
			free(rd.dir);
			return;
		}
		text = buf;
	}
	if (expand(&src, diags, file, text, len, 0) < 0) {
		source_done(&src);
		free(rd.dir);
		return;
	}
	rd.src = &src;
	config_init(&cfg);
	/* Nothing is left for libconfig to include, and should its idea of a
	 * directive ever differ from expand()'s, it can open nothing. */
	config_set_include_dir(&cfg, INCLUDE_GUARD_DIR);
	ok = config_read_string(&cfg, src.text);
	if (!ok) {
		int line = config_error_line(&cfg);
		const struct origin *o = origin_of(&src, line);
		const char *et = config_error_text(&cfg);
		const char *ef = o ? o->file : file;

		line = map_line(&rd, line);
		/* libconfig's most common text is just "syntax error". */
		if (!et || streq(et, "syntax error"))
			diags_add(diags, ef, line, "syntax error");
		else
			diags_add(diags, ef, line, "syntax error: %s", et);
	} else {
		config_setting_t *root = config_root_setting(&cfg);

		if (is_main) {
			check_keys(&rd, root, main_keys, ARRAY_SIZE(main_keys), "", NULL, 0);
			read_globals(&rd, root);
		} else {
			check_keys(&rd, root, include_keys, ARRAY_SIZE(include_keys), "", main_keys,
			           ARRAY_SIZE(main_keys));
		}
		read_pipelines(&rd, root);
	}
	config_destroy(&cfg);
	source_done(&src);
	free(rd.dir);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
read_include_dir(struct gini_config *c, struct diags *diags, const char *dir, bool defaulted)
{
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d) {
		/* The default pipelines.d is optional; a configured one is not. */
		if (!(defaulted && errno == ENOENT))
			diags_add(diags, c->file, c->include_dirs_line, "include directory %s: %s",
			          dir, strerror(errno));
		return;
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (de->d_name[0] != '.' && l > 5 && streq(de->d_name + l - 5, ".conf"))
			strv_push(&names, &n, de->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *path = path_join(dir, names[i]);

		if (path && strv_push(&c->files, &c->n_files, path) >= 0)
			read_one(c, diags, path, NULL, false);
	}
	strv_free(names);
}

static void
check_duplicates(struct gini_config *c, struct diags *diags)
{
	for (size_t i = 0; i < c->n_pipelines; i++) {
		struct pipeline_def *p = &c->pipelines[i];

		for (size_t j = 0; j < i; j++)
			if (p->name[0] != '#' && streq(p->name, c->pipelines[j].name)) {
				diags_add(diags, p->file, p->line,
				          "pipeline '%s': duplicate name; first defined at %s:%d",
				          p->name, c->pipelines[j].file, c->pipelines[j].line);
				break;
			}
	}
}

/*
 * text: the main file's contents, NULL to read file. includes: NULL to read
 * the include directories, else the texts that stand for their files.
 */
static int
load(const char *file, const char *text, const char *dir, const struct config_text *includes,
     size_t n_includes, const struct config_overrides *ov, struct gini_config **ret,
     struct diags *diags)
{
	struct gini_config *c = calloc(1, sizeof(*c));
	bool default_include = false;
	_cleanup_free_ char *main_dir = NULL;

	if (!c)
		return -ENOMEM;
	c->file = strdup(file);
	c->workers = (unsigned)MAX(sysconf(_SC_NPROCESSORS_ONLN), 1);
	c->log_level = LOG_INFO;
	c->control_max_connections_per_uid = CONFIG_CONNS_PER_UID_DEFAULT;
	c->shutdown_timeout_usec = DEFAULT_SHUTDOWN_TIMEOUT;
	c->history_max_runs = HISTORY_DEFAULT_MAX_RUNS;
	c->history_max_age_usec = HISTORY_DEFAULT_MAX_AGE;
	c->history_output_max = HISTORY_DEFAULT_OUTPUT_MAX;
	c->probe_plugins = true;
	c->probe_timeout_usec = DEFAULT_PROBE_TIMEOUT;
	c->control_socket = strdup(DEFAULT_CONTROL_SOCKET);
	c->state_dir = strdup(DEFAULT_STATE_DIR);
	if (!c->file || !c->control_socket || !c->state_dir ||
	    strv_push(&c->plugin_dirs, &c->n_plugin_dirs, GINI_STAGE_DIR) < 0 ||
	    strv_push(&c->files, &c->n_files, file) < 0) {
		config_free(c);
		return -ENOMEM;
	}
	read_one(c, diags, file, text, true);
	if (!c->include_dirs) {
		main_dir = dir ? strdup(dir) : path_dirname(file);
		_cleanup_free_ char *d = main_dir ? path_join(main_dir, "pipelines.d") : NULL;

		if (d)
			strv_push(&c->include_dirs, &c->n_include_dirs, d);
		default_include = true;
	}
	if (includes) {
		for (size_t i = 0; i < n_includes; i++)
			if (strv_push(&c->files, &c->n_files, includes[i].name) >= 0)
				read_one(c, diags, includes[i].name, includes[i].text, false);
	} else {
		for (size_t i = 0; i < c->n_include_dirs; i++)
			read_include_dir(c, diags, c->include_dirs[i], default_include);
	}
	check_duplicates(c, diags);
	if (ov && ov->n_plugin_dirs) {
		strv_free(c->plugin_dirs);
		c->plugin_dirs = NULL;
		c->n_plugin_dirs = 0;
		c->plugin_dirs_from_cmdline = true;
		for (size_t i = 0; i < ov->n_plugin_dirs; i++)
			strv_push(&c->plugin_dirs, &c->n_plugin_dirs, ov->plugin_dirs[i]);
	}
	if (ov && ov->control_socket) {
		free(c->control_socket);
		c->control_socket = strdup(ov->control_socket);
	}
	if (ov && ov->state_dir) {
		free(c->state_dir);
		c->state_dir = strdup(ov->state_dir);
	}
	*ret = c;
	return 0;
}

int
config_load(const char *file, const struct config_overrides *ov, struct gini_config **ret,
            struct diags *diags)
{
	return load(file, NULL, NULL, NULL, 0, ov, ret, diags);
}

int
config_load_string(const char *text, const char *name, const char *dir,
                   const struct config_overrides *ov, struct gini_config **ret, struct diags *diags)
{
	return load(name, text, dir, NULL, 0, ov, ret, diags);
}

int
config_load_texts(const struct config_text *main_file, const struct config_text *includes,
                  size_t n_includes, const struct config_overrides *ov, struct gini_config **ret,
                  struct diags *diags)
{
	static const struct config_text none;

	return load(main_file->name, main_file->text, NULL, includes ? includes : &none, n_includes,
	            ov, ret, diags);
}

static void
step_def_done(struct step_def *s)
{
	free(s->iso.user);
	free(s->iso.group);
	free(s->id);
	free(s->stage);
	params_free(s->params);
	strv_free(s->after);
}

struct gini_config *
config_free(struct gini_config *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < c->n_pipelines; i++) {
		struct pipeline_def *p = &c->pipelines[i];

		for (size_t j = 0; j < p->n_steps; j++)
			step_def_done(&p->steps[j]);
		free(p->steps);
		free(p->name);
		free(p->description);
		free(p->file);
		free(p->triggers.schedule);
		param_decls_free(p->params, p->n_params);
	}
	free(c->pipelines);
	free(c->file);
	strv_free(c->plugin_dirs);
	strv_free(c->include_dirs);
	strv_free(c->files);
	strv_free(c->isolate_stages);
	free(c->control_socket);
	free(c->control_group);
	free(c->control_readonly_group);
	free(c->state_dir);
	free(c->metrics_listen);
	free(c);
	return NULL;
}
