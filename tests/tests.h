/* SPDX-License-Identifier: MIT */
#pragma once

#include <check.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * One Check suite per subsystem. Each check_<subsystem>.c defines its
 * <subsystem>_suite() and lists it in tests/main.c.
 */
Suite *util_suite(void);
Suite *registry_suite(void);
Suite *loader_suite(void);
Suite *plugins_suite(void);
Suite *cron_suite(void);
Suite *cron_next_suite(void);
Suite *state_suite(void);
Suite *executor_suite(void);
Suite *config_suite(void);
Suite *ginid_suite(void);
Suite *control_suite(void);
Suite *ops_suite(void);
Suite *docs_suite(void);
Suite *install_suite(void);
Suite *isolation_suite(void);
Suite *unit_suite(void);
Suite *package_suite(void);
Suite *processes_suite(void);
Suite *cgroups_suite(void);
Suite *linkage_suite(void);
Suite *layout_suite(void);
Suite *abi_suite(void);
Suite *history_suite(void);
Suite *history_metrics_suite(void);
Suite *health_suite(void);
Suite *child_suite(void);
Suite *params_suite(void);
Suite *config_groups_suite(void);
Suite *cleanup_suite(void);
Suite *ginictl_suite(void);
/* The configuration suites beside config_suite (tests/check_config_*.c). */
Suite *config_values_suite(void);
Suite *config_pipeline_suite(void);
Suite *config_invalid_suite(void);
/* The exec stage's half of the operator controls (tests/check_ops_exec.c). */
Suite *ops_exec_suite(void);
Suite *scheduler_suite(void);
Suite *scheduler_triggers_suite(void);
Suite *cron_tz_suite(void);
Suite *triggers_suite(void);
Suite *failure_suite(void);
Suite *lazy_suite(void);
Suite *threads_suite(void);
Suite *startup_suite(void);

/* Absolute path of the build directory (build/, build-thread/, ...). */
const char *test_build_dir(void);
/* Absolute path of the source tree. */
const char *test_source_dir(void);
/* Returns BUILD/rel in a static buffer (one per call site is enough). */
char *test_build_path(const char *rel);
/*
 * Creates a fresh empty directory under BUILD/tmp and returns its path
 * (malloc'ed). Mode 0755, so the plugin loader accepts it.
 */
char *test_tmpdir(const char *tag);
/* rm -rf of a test directory. */
void test_rmtree(const char *path);
/* Copies a file, with the given mode. */
void test_copy_file(const char *from, const char *to, unsigned mode);
/* Writes a string to a file, with the given mode. */
void test_write_file(const char *path, const char *text, unsigned mode);

/*
 * Captures the daemon's log lines while active (log_set_sink). Lines are
 * kept in order; test_log_find returns the first containing needle.
 */
void test_log_capture_start(void);
void test_log_capture_stop(void);
const char *test_log_find(const char *needle);
size_t test_log_count(const char *needle);

/*
 * The bad-plugin corpus, as its fixtures describe themselves: each
 * tests/plugins/NAME.c with a comment line of its own that reads
 * "expect: REASON" (refused, with REASON, by a scan and by `ginictl
 * inspect`) or "expect-load: REASON" (refused by a scan only: its load hook
 * fails, and inspect calls no hook). Adding a broken plugin with its reason
 * is adding such a file.
 */
struct test_bad_plugin {
	char file[256];   /* NAME.so */
	char reason[512]; /* what the refusal must contain */
	bool load_only;   /* expect-load: only a load (which runs the hooks) refuses it */
};
/* The fixtures in name order, *ret_v malloc'ed; returns how many (fails the
 * test if there are none, or a line is malformed). */
size_t test_bad_plugins(struct test_bad_plugin **ret_v);
