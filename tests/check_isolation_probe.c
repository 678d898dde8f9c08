/* SPDX-License-Identifier: MIT */
/*
 * Probing at load (issue 8), part of the isolation suite: plugins that
 * crash or hang in their constructor, descriptor or load hook are refused
 * by the gini-probe process with their reason, remembered by file key in
 * memory and in state_dir (across a restart), never remembered when the
 * probe could not even start, and `ginictl inspect` survives them too.
 * The harness is check_isolation.h.
 */
#include "check_isolation.h"

/* --- probing --- */

static const struct {
	const char *file, *reason;
} load_refusals[] = {
	{ "hostile_segv_ctor", "crashed with SIGSEGV during load" },
	{ "hostile_segv_descriptor", "crashed with SIGSEGV during load" },
	{ "hostile_segv_load", "crashed with SIGSEGV during load" },
	{ "hostile_hang_ctor", "timed out after 1s during load (probe killed)" },
	{ "hostile_hang_descriptor", "timed out after 1s during load (probe killed)" },
	{ "hostile_hang_load", "timed out after 1s during load (probe killed)" },
};

/* "plugin DIR/FILE.so: refused: REASON" */
static const char *
refusal(const char *file, const char *reason)
{
	static char buf[4][8192];
	static unsigned k;
	char *b = buf[k++ % 4];

	snprintf(b, sizeof(buf[0]), "plugin %s/%s.so: refused: %s", plugins, file, reason);
	return b;
}

/*
 * Each crash or hang at load is refused with its reason, and the daemon
 * starts, runs the good plugins and answers. A reload takes the refusals
 * from the cache without probing again; a changed file is probed again.
 */
START_TEST(probe_refuses_hostile_loads)
{
	_cleanup_free_ char *cache = NULL, *out = NULL;
	char path[4096];
	int fds;

	/* Noise on stdout while loading is no reason to refuse a plugin. */
	iso_init(SANE_PIPELINE, "hostile_sane", "log", "hostile_noisy_load", NULL);
	for (size_t i = 0; i < ARRAY_SIZE(load_refusals); i++)
		add_plugin(load_refusals[i].file, NULL);
	iso_start();
	for (size_t i = 0; i < ARRAY_SIZE(load_refusals); i++)
		ck_assert_msg(daemon_log_count(&d, refusal(load_refusals[i].file,
		                                           load_refusals[i].reason)) == 1,
		              "no '%s'", refusal(load_refusals[i].file, load_refusals[i].reason));
	ck_assert(daemon_wait_log(&d, "ready: generation 1 with 3 stage types", 1, 1000));
	assert_status_answers(NULL);
	fds = settled_fds();

	/* The good plugins work, and the daemon answers. */
	ck_assert_int_eq(ctl(&out, "run", "ok", "--wait", NULL), 0);
	ck_assert(daemon_wait_log(&d, "step 'l': ok saw A", 1, 5000));
	assert_status_answers("refused plugin files (6):");
	snprintf(path, sizeof(path),
	         "  %s/hostile_hang_ctor.so: timed out after 1s during load "
	         "(probe killed)\n",
	         plugins);
	assert_status_answers(path);

	/* The sane plugin was probed in a process of its own, then loaded
	 * here; the load hooks of the hostile ones ran in their probes only. */
	ck_assert_uint_eq(hook_pids("load", "hostile-sane", true, NULL, 0), 1);
	ck_assert_uint_eq(hook_pids("load", "hostile-sane", false, NULL, 0), 1);
	ck_assert_uint_eq(hook_pids("load", "hostile-segv-load", false, NULL, 0), 1);
	ck_assert_uint_eq(hook_pids("load", "hostile-hang-load", false, NULL, 0), 1);
	ck_assert_uint_eq(hook_pids("load", "hostile-noisy-load", true, NULL, 0), 1);
	ck_assert_uint_eq(hook_pids("load", NULL, true, NULL, 0), 2);

	/* Every verdict is in the cache file. */
	ck_assert_int_eq(read_file(daemon_path(&d, "state/probe-cache"), 1 << 20, &cache, NULL), 0);
	ck_assert_uint_eq(file_count(daemon_path(&d, "state/probe-cache"), " refused "), 6);
	ck_assert_uint_eq(file_count(daemon_path(&d, "state/probe-cache"), " ok"), 3);
	ck_assert_uint_eq(file_count(daemon_path(&d, "state/probe-cache"),
	                             " refused timed out after 1s during load (probe killed)"),
	                  3);
	assert_nothing_left(fds);

	/* A reload remembers every refusal, and probes nothing again. */
	daemon_signal(&d, SIGHUP);
	ck_assert(daemon_wait_log(&d, "reloaded: generation 2", 1, 10000));
	for (size_t i = 0; i < ARRAY_SIZE(load_refusals); i++) {
		char remembered[1024];

		snprintf(remembered, sizeof(remembered),
		         "%s (remembered from an earlier probe; retried when the file changes)",
		         load_refusals[i].reason);
		ck_assert_msg(daemon_log_count(&d, refusal(load_refusals[i].file, remembered)) == 1,
		              "no '%s'", refusal(load_refusals[i].file, remembered));
	}
	ck_assert_uint_eq(hook_pids("load", "hostile-hang-load", false, NULL, 0), 1);
	ck_assert_uint_eq(hook_pids("load", "hostile-segv-load", false, NULL, 0), 1);
	ck_assert_uint_eq(hook_pids("load", "hostile-sane", false, NULL, 0), 1);

	/* A touched file is probed again; a replaced one too, and now loads. */
	snprintf(path, sizeof(path), "%s/hostile_hang_load.so", plugins);
	{
		struct timespec t[2] = { { 0, UTIME_OMIT }, { time(NULL) + 10, 0 } };

		ck_assert_int_eq(utimensat(AT_FDCWD, path, t, 0), 0);
	}
	add_plugin("good_a", "hostile_segv_ctor");
	daemon_signal(&d, SIGHUP);
	ck_assert(daemon_wait_log(&d, "reloaded: generation 3", 1, 10000));
	ck_assert_uint_eq(hook_pids("load", "hostile-hang-load", false, NULL, 0), 2);
	ck_assert_uint_eq(daemon_log_count(&d, refusal("hostile_hang_load", "timed out after 1s "
	                                                                    "during load (probe "
	                                                                    "killed)")),
	                  3);
	ck_assert_uint_eq(daemon_log_count(&d, refusal("hostile_hang_load", "timed out after 1s "
	                                                                    "during load (probe "
	                                                                    "killed) (remembered")),
	                  1);
	ck_assert_uint_eq(daemon_log_count(&d, refusal("hostile_segv_ctor", "")), 2);
	free(out);
	ck_assert_int_eq(ctl(&out, "stages", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "good-a"));
	assert_status_answers("refused plugin files (5):");
	assert_nothing_left(-1);
}
END_TEST

/*
 * A restart with unchanged plugins takes every verdict from the cache file
 * in state_dir: nothing is probed, the good plugin is loaded by the daemon
 * alone. Without the cache file, everything is probed again.
 */
START_TEST(probe_cache_survives_restart)
{
	iso_init(SANE_PIPELINE, "hostile_sane", "log", "hostile_hang_load", "hostile_segv_ctor",
	         NULL);
	iso_start();
	ck_assert_uint_eq(daemon_log_count(&d, refusal("hostile_hang_load", "timed out after 1s")),
	                  1);
	ck_assert_uint_eq(hook_pids("load", "hostile-sane", false, NULL, 0), 1);
	ck_assert_uint_eq(hook_pids("load", "hostile-hang-load", false, NULL, 0), 1);
	iso_stop();

	iso_start();
	ck_assert_uint_eq(
	        daemon_log_count(&d, refusal("hostile_hang_load",
	                                     "timed out after 1s during load (probe "
	                                     "killed) (remembered from an earlier probe")),
	        1);
	ck_assert_uint_eq(daemon_log_count(&d, refusal("hostile_segv_ctor",
	                                               "crashed with SIGSEGV during load "
	                                               "(remembered from an earlier probe")),
	                  1);
	/* No probe ran: no new hook lines but the daemon's own. */
	ck_assert_uint_eq(hook_pids("load", "hostile-sane", false, NULL, 0), 1);
	ck_assert_uint_eq(hook_pids("load", "hostile-hang-load", false, NULL, 0), 1);
	ck_assert_uint_eq(hook_pids("load", "hostile-sane", true, NULL, 0), 2);
	ck_assert_int_eq(ctl(NULL, "run", "ok", "--wait", NULL), 0);
	assert_status_answers("refused plugin files (2):");
	iso_stop();

	/* The cache file is what spared the probes. */
	ck_assert_int_eq(unlink(daemon_path(&d, "state/probe-cache")), 0);
	iso_start();
	ck_assert_uint_eq(hook_pids("load", "hostile-sane", false, NULL, 0), 2);
	ck_assert_uint_eq(hook_pids("load", "hostile-hang-load", false, NULL, 0), 2);
	ck_assert_uint_eq(daemon_log_count(&d, refusal("hostile_hang_load", "timed out after 1s")),
	                  3);
	assert_nothing_left(-1);
}
END_TEST

/*
 * A probe that cannot even be started says nothing about the plugin: the
 * file is refused for now, but not remembered as bad.
 */
START_TEST(probe_not_started_is_not_remembered)
{
	const char *env = getenv("GINI_HELPER_DIR");
	char helpers[4096], saved[4096];

	iso_init("", "hostile_sane", "log", NULL);
	snprintf(helpers, sizeof(helpers), "%s", daemon_path(&d, "no-helpers"));
	snprintf(saved, sizeof(saved), "%s", env ? env : "");
	ck_assert_int_eq(mkdir(helpers, 0755), 0);
	setenv("GINI_HELPER_DIR", helpers, 1);
	iso_start();
	if (*saved)
		setenv("GINI_HELPER_DIR", saved, 1);
	else
		unsetenv("GINI_HELPER_DIR");
	ck_assert_uint_eq(daemon_log_count(&d, refusal("hostile_sane", "cannot run the probe ")),
	                  1);
	ck_assert_uint_eq(file_count(daemon_path(&d, "state/probe-cache"), " refused "), 0);
	iso_stop();

	daemon_write(&d, "gini.conf",
	             "probe_timeout = \"1s\";\npipelines = ( " SANE_PIPELINE " );\n");
	iso_start();
	ck_assert_uint_eq(daemon_log_count(&d, "(remembered from an earlier probe"), 0);
	ck_assert_int_eq(ctl(NULL, "run", "ok", "--wait", NULL), 0);
	assert_nothing_left(-1);
}
END_TEST

/* `ginictl inspect` loads a file through the same probe, and survives it. */
START_TEST(inspect_survives_hostile_files)
{
	static const char *const crashing[] = { "hostile_segv_ctor", "hostile_segv_descriptor" };
	_cleanup_free_ char *prog = strdup(test_build_path("ginictl"));

	for (size_t i = 0; i < ARRAY_SIZE(crashing); i++) {
		char path[4096], *out = NULL, *err = NULL;
		char *argv[] = { prog, "inspect", path, NULL };
		int st;

		snprintf(path, sizeof(path), "%s/tests/plugins/%s.so", test_build_dir(),
		         crashing[i]);
		st = run_command(argv, &out, &err, 30000);
		ck_assert(WIFEXITED(st));
		ck_assert_int_eq(WEXITSTATUS(st), 1);
		ck_assert_msg(strstr(err, ": refused: crashed with SIGSEGV during load"),
		              "ginictl inspect %s: %s", crashing[i], err);
		free(out);
		free(err);
	}
	{
		char path[4096], *out = NULL;
		char *argv[] = { prog, "inspect", path, NULL };

		snprintf(path, sizeof(path), "%s/tests/plugins/hostile_sane.so", test_build_dir());
		ck_assert_int_eq(run_command(argv, &out, NULL, 30000), 0);
		ck_assert_ptr_nonnull(strstr(out, "hostile-sane"));
		free(out);
	}
}
END_TEST

void
isolation_probe_add_tcases(Suite *s)
{
	TCase *tc;

	tc = tcase_create("probe");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_tags(tc, "daemon");
	tcase_add_test(tc, probe_refuses_hostile_loads);
	tcase_add_test(tc, probe_cache_survives_restart);
	tcase_add_test(tc, probe_not_started_is_not_remembered);
	tcase_add_test(tc, inspect_survives_hostile_files);
	suite_add_tcase(s, tc);
}
