/* SPDX-License-Identifier: MIT */
/*
 * Start-up (bench/RESULTS.md, "Start-up and memory"): GINI_DEBUG_STARTUP=1
 * prints each phase once, up to READY=1.
 */
#include "tests.h"

#include "daemon.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct daemon d;

static void
daemon_teardown(void)
{
	daemon_done(&d);
	unsetenv("GINI_DEBUG_STARTUP");
}

static void
start(size_t nth)
{
	daemon_spawn(&d, NULL, NULL);
	ck_assert(daemon_wait_log(&d, "ready: generation 1", nth, 10000));
}

/* GINI_DEBUG_STARTUP=1: each phase once, in order, up to READY=1; a reload
 * prints none. */
START_TEST(debug_startup_prints_phases)
{
	static const char *const phases[] = {
		"+0.000 main",
		"configuration read",
		"plugin scan",
		"first generation built",
		"worker threads started",
		"control socket listening",
		"READY=1 sent",
	};

	setenv("GINI_DEBUG_STARTUP", "1", 1);
	daemon_init(&d, "startup", "pipelines = ();\n");
	start(1);
	ck_assert(daemon_wait_notify(&d, "READY=1", 5000));
	for (size_t i = 0; i < ARRAY_SIZE(phases); i++)
		ck_assert_msg(daemon_log_count(&d, phases[i]) == 1, "phase \"%s\" not printed once",
		              phases[i]);
	{
		_cleanup_free_ char *log = NULL;
		const char *at = NULL;

		ck_assert_int_eq(read_file(d.log, 1u << 20, &log, NULL), 0);
		for (size_t i = 0; i < ARRAY_SIZE(phases); i++) {
			const char *p = strstr(log, phases[i]);

			ck_assert_msg(p > at, "phase \"%s\" out of order", phases[i]);
			at = p;
		}
	}
	daemon_signal(&d, SIGHUP);
	ck_assert(daemon_wait_log(&d, "reloaded: generation 2", 1, 5000));
	ck_assert_uint_eq(daemon_log_count(&d, "plugin scan"), 1);
}
END_TEST

Suite *
startup_suite(void)
{
	Suite *s = suite_create("startup");
	TCase *td = tcase_create("daemon");

	tcase_set_timeout(td, 60);
	tcase_add_checked_fixture(td, NULL, daemon_teardown);
	tcase_add_test(td, debug_startup_prints_phases);
	suite_add_tcase(s, td);
	return s;
}
