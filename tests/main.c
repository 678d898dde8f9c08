/* SPDX-License-Identifier: MIT */
/*
 * The one Check runner: every suite in one process tree, so `make check`
 * ends with a single summary line. CK_RUN_SUITE / CK_RUN_CASE select a part,
 * as usual with Check.
 */
#include "tests.h"

#include <stdlib.h>

/* One per line, so that suites added in parallel merge cleanly. */
/* clang-format off */
static Suite *(*const suites[])(void) = {
	util_suite,
	registry_suite,
	loader_suite,
	plugins_suite,
	cron_suite,
	cron_next_suite,
	state_suite,
	executor_suite,
	config_suite,
	ginid_suite,
	control_suite,
	ops_suite,
	docs_suite,
	install_suite,
	isolation_suite,
	unit_suite,
	package_suite,
	processes_suite,
	abi_suite,
	history_suite,
	history_metrics_suite,
	health_suite,
	cgroups_suite,
	linkage_suite,
	child_suite,
	params_suite,
	config_groups_suite,
	cleanup_suite,
	layout_suite,
	ginictl_suite,
	config_values_suite,
	config_pipeline_suite,
	config_invalid_suite,
	ops_exec_suite,
	scheduler_suite,
	scheduler_triggers_suite,
	cron_tz_suite,
	triggers_suite,
	failure_suite,
	lazy_suite,
	threads_suite,
	startup_suite,
};
/* clang-format on */

int
main(void)
{
	SRunner *sr;
	int failed;

	/* Sanitizers and valgrind slow things down; the limits are for hangs. */
	setenv("CK_DEFAULT_TIMEOUT", "60", 0);
	/* The probe and worker helpers of this build, for in-process tests. */
	setenv("GINI_HELPER_DIR", test_build_dir(), 0);
	sr = srunner_create(NULL);
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		srunner_add_suite(sr, suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
