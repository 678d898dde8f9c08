/* SPDX-License-Identifier: MIT */
#pragma once

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "diag.h"
#include "triggers.h"

struct gini_params;

enum overlap {
	OVERLAP_SKIP,
	OVERLAP_QUEUE,
	OVERLAP_PARALLEL,
};

enum on_failure {
	ON_FAILURE_STOP,
	ON_FAILURE_CONTINUE,
};

/* When a step runs, given how the steps it comes after ended (executor.c). */
enum step_when {
	WHEN_SUCCESS, /* none of them failed: the default */
	WHEN_FAILURE, /* one of them failed or timed out */
	WHEN_ALWAYS,  /* in either case */
};

enum isolation_mode {
	ISOLATION_NONE,
	ISOLATION_PROCESS,
};

/*
 * How a step runs: in the daemon, or in a worker process of its own with
 * optional limits and identity (see isolate.h).
 */
struct isolation {
	enum isolation_mode mode;
	bool mode_set;        /* said explicitly for this step */
	uint64_t memory_max;  /* bytes of address space, 0: no limit */
	uint64_t cpu_max_sec; /* CPU seconds, 0: no limit */
	uint64_t nofile;      /* open files, 0: no limit */
	char *user;           /* NULL: the daemon's */
	char *group;
	unsigned pool_max_idle; /* worker_pool: idle workers kept, 0: no pool */
	unsigned pool_max_runs; /* worker_max_runs, 0: the default */
	int line;               /* of the first of these keys, for messages */
};

struct step_def {
	char *id;
	char *stage;
	struct gini_params *params; /* owned */
	char **after;               /* NULL-terminated, never NULL */
	size_t n_after;
	uint64_t timeout_usec; /* 0: none */
	unsigned retries;
	uint64_t retry_backoff_usec;
	bool enabled;
	const char *file; /* borrowed from the pipeline */
	int line;
	int params_line;
	struct isolation iso;
	enum step_when when;
	int when_line; /* 0: not set */
};

/*
 * A parameter a pipeline declares: a context key that `ginictl run P
 * key=value` may set, with a default for runs that do not (and for every
 * automatic trigger) and a pattern every value must match whole. Owned by
 * its pipeline_def, then by the compiled pipeline.
 */
struct param_decl {
	char *name;    /* a context key */
	char *def;     /* NULL: none; a run must then give it */
	char *pattern; /* POSIX extended regex, NULL: any value */
	regex_t re;    /* compiled pattern, when pattern is set */
	int line;
};

/* A value's cap: one argv element or environment entry, with room to spare. */
#define PARAM_VALUE_MAX (32u * 1024)
#define PARAMS_MAX      64

/*
 * When a pipeline counts as unhealthy besides a failed last run (health.c):
 * no success for max_age, or max_failures failures in a row. 0: not set.
 */
struct health_def {
	uint64_t max_age_usec;
	unsigned max_failures;
};

#define HEALTH_FAILURES_MAX 1000000

struct pipeline_def {
	char *name;
	char *description;
	char *file;
	int line;
	struct trigger_def triggers;
	enum overlap overlap;
	unsigned max_parallel;
	enum on_failure on_failure;
	enum isolation_mode isolation;
	bool isolation_set;
	struct health_def health;
	struct step_def *steps;
	size_t n_steps;
	struct param_decl *params;
	size_t n_params;
	uint64_t timeout_usec; /* the whole run's; 0: none */
	char *on_failure_run;  /* pipeline to trigger when a run fails; owned, or NULL */
	int on_failure_run_line;
	char *concurrency_group; /* a key of concurrency_groups; owned, or NULL */
	int concurrency_group_line;
	/* Problems config.c found in it: the pipeline is compiled for the
	 * compiler's own checks, but never loaded. */
	size_t errors;
};

/* A concurrency group: at most limit runs of its pipelines at once. */
struct concurrency_def {
	char *name; /* owned */
	unsigned limit;
	int line;
};

#define CONCURRENCY_GROUPS_MAX 1024
#define CONCURRENCY_LIMIT_MAX  10000

/* Plain settings: what the files said, with defaults and overrides applied. */
struct gini_config {
	char *file;         /* the main file, as given */
	char **plugin_dirs; /* NULL-terminated, absolute or relative to cwd */
	size_t n_plugin_dirs;
	int plugin_dirs_line;          /* of plugin_dirs in file; 0: the default */
	bool plugin_dirs_from_cmdline; /* --plugin-dir replaced them */
	char **include_dirs;
	size_t n_include_dirs;
	int include_dirs_line; /* 0: the default */
	char **files;          /* every file read, main first */
	size_t n_files;
	char *control_socket;
	char *control_group;                      /* NULL: root's group */
	char *control_readonly_group;             /* NULL: none */
	gid_t control_gid;                        /* control_group resolved, when that is set */
	gid_t control_readonly_gid;               /* control_readonly_group resolved, likewise */
	unsigned control_max_connections_per_uid; /* for uids other than root and ours */
	char *state_dir;
	char *metrics_listen; /* "ADDR:PORT", "[ADDR6]:PORT" or an absolute path; NULL: off */
	unsigned workers;
	int log_level;
	uint64_t shutdown_timeout_usec;
	uint64_t history_max_runs;     /* runs kept in history.db */
	uint64_t history_max_age_usec; /* older runs are deleted */
	size_t history_output_max;     /* bytes of output kept per step, 0: none */
	bool probe_plugins;
	uint64_t probe_timeout_usec;
	char **isolate_stages; /* stage ids whose steps run isolated by default */
	size_t n_isolate_stages;
	struct pipeline_def *pipelines;
	size_t n_pipelines;
	struct concurrency_def *concurrency_groups; /* owned */
	size_t n_concurrency_groups;
};

/* Command-line settings that win over the files. NULL: not given. */
struct config_overrides {
	char *const *plugin_dirs;
	size_t n_plugin_dirs;
	const char *control_socket;
	const char *state_dir;
};

#define CONFIG_WORKERS_MAX           256
#define CONFIG_HISTORY_RUNS_MAX      10000000
#define CONFIG_HISTORY_OUTPUT_MAX    ((size_t)64 << 20)
#define CONFIG_CONNS_PER_UID_DEFAULT 32
#define CONFIG_CONNS_PER_UID_MAX     1024
#define CONFIG_PIPELINES_MAX         100000
#define CONFIG_STEPS_MAX             100000
#define CONFIG_FILE_MAX              (16u << 20)

/*
 * Reads the main file and every *.conf of its include_dirs. Never fails
 * half-way: all problems go to diags, and *ret holds whatever parsed, so
 * `ginid -t` can print both. The caller treats diags->n > 0 as invalid.
 * Returns 0, or -ENOMEM.
 */
int config_load(const char *file, const struct config_overrides *ov, struct gini_config **ret,
                struct diags *diags);
/*
 * The same for a main file given as text (for the fuzzer and tests). name
 * stands for the file in messages, and relative paths resolve against its
 * directory, except the default include directory: dir/pipelines.d.
 */
int config_load_string(const char *text, const char *name, const char *dir,
                       const struct config_overrides *ov, struct gini_config **ret,
                       struct diags *diags);
/* A configuration file given as text, for config_load_texts(). */
struct config_text {
	const char *name; /* stands for the file's path in messages */
	const char *text;
};
/*
 * The same from texts alone, reading no file and no directory (for the
 * fuzzer): includes stand for the *.conf files of the include directories,
 * in that order, whatever include_dirs says. libconfig's own @include still
 * reads the file it names.
 */
int config_load_texts(const struct config_text *main_file, const struct config_text *includes,
                      size_t n_includes, const struct config_overrides *ov,
                      struct gini_config **ret, struct diags *diags);
struct gini_config *config_free(struct gini_config *c);

const char *overlap_to_string(enum overlap o);
const char *isolation_to_string(enum isolation_mode m);
const char *on_failure_to_string(enum on_failure f);
const char *step_when_to_string(enum step_when w);
/* Pipeline and step names: [A-Za-z0-9_.-]{1,64}. */
bool config_name_valid(const char *s);

/*
 * Checks value against d: length and pattern. 0, or -EINVAL with the reason
 * (naming neither the key nor the value) in err.
 */
int param_decl_check(const struct param_decl *d, const char *value, char *err, size_t err_size);
/* Frees n declarations and the array. Returns NULL. */
struct param_decl *param_decls_free(struct param_decl *v, size_t n);
