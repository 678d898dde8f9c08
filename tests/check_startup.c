/* SPDX-License-Identifier: MIT */
/*
 * Start-up costs that must stay cut (bench/RESULTS.md, "Start-up and
 * memory"): libelf is loaded for the ELF checks of a scan and unloaded after
 * it, and a start whose registry cache knows every file never loads it at
 * all, while a cache miss still refuses every bad plugin with its reason;
 * GINI_DEBUG_STARTUP=1 prints each phase once, up to READY=1; a state
 * store makes its writer thread when it first has something to write.
 */
#include "tests.h"

#include "daemon.h"
#include "elfcheck.h"
#include "loader.h"
#include "registry.h"
#include "state.h"
#include "util.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct daemon d;

static bool
maps_contain(pid_t pid, const char *what)
{
	_cleanup_free_ char *maps = NULL;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	ck_assert_int_eq(read_file(path, 64u << 20, &maps, NULL), 0);
	return strstr(maps, what) != NULL;
}

/*
 * A scan without any cache checks every file: each bad fixture is refused
 * with the reason it states (the ELF ones by libelf, loaded for the scan),
 * and libelf is gone from the process once the scan is over.
 */
START_TEST(cold_scan_refuses_then_unloads_libelf)
{
	_cleanup_free_ char *dir = test_tmpdir("startup-scan");
	struct test_bad_plugin *cases = NULL;
	size_t n = test_bad_plugins(&cases);
	struct registry *reg = registry_new();
	struct loader_report rep = { 0 };
	char *dirs[] = { dir };
	char src[4096], dst[4096 + 256];

	ck_assert(!elf_check_loaded());
	for (size_t i = 0; i < n; i++) {
		snprintf(src, sizeof(src), "%s/tests/plugins/%s", test_build_dir(), cases[i].file);
		snprintf(dst, sizeof(dst), "%s/%s", dir, cases[i].file);
		test_copy_file(src, dst, 0755);
	}
	snprintf(src, sizeof(src), "%s/tests/plugins/good_a.so", test_build_dir());
	snprintf(dst, sizeof(dst), "%s/good_a.so", dir);
	test_copy_file(src, dst, 0755);
	ck_assert_int_eq(loader_scan(dirs, 1, reg, NULL, &rep), 0);
	ck_assert_uint_eq(registry_count(reg), 1);
	ck_assert_uint_eq(rep.n_refusals, n);
	for (size_t i = 0; i < n; i++) {
		bool found = false;

		for (size_t k = 0; k < rep.n_refusals && !found; k++)
			found = strstr(rep.refusals[k].path, cases[i].file) &&
			        strstr(rep.refusals[k].reason, cases[i].reason);
		ck_assert_msg(found, "%s: not refused with \"%s\"", cases[i].file, cases[i].reason);
	}
	ck_assert(!elf_check_loaded());
	ck_assert_msg(!maps_contain(getpid(), "/libelf"), "libelf still mapped after the scan");
	loader_report_done(&rep);
	registry_free(reg);
	test_rmtree(dir);
	free(cases);
}
END_TEST

/* The threads of this process. */
static size_t
threads(void)
{
	DIR *task = opendir("/proc/self/task");
	struct dirent *de;
	size_t n = 0;

	ck_assert_ptr_nonnull(task);
	while ((de = readdir(task)))
		n += de->d_name[0] != '.';
	closedir(task);
	return n;
}

/*
 * A store that nothing is written to costs no thread (the daemon opens
 * three at start); the first change starts the writer, which writes it, and
 * a flush with nothing to write returns at once.
 */
START_TEST(state_store_starts_its_writer_on_first_change)
{
	_cleanup_free_ char *dir = test_tmpdir("startup-state"), *path = NULL;
	_cleanup_free_ char *text = NULL;
	struct state_store *st = NULL;
	size_t before = threads(), with_writer;
	int64_t v;

	ck_assert_int_ne(asprintf(&path, "%s/s", dir), -1);
	ck_assert_int_eq(state_store_new(path, "# test", 0, &st), 0);
	ck_assert_uint_eq(threads(), before);
	ck_assert_int_eq(state_store_flush(st), 0);
	state_store_kick(st);
	ck_assert_uint_eq(threads(), before);
	ck_assert_uint_eq(state_store_writes(st), 0);

	state_store_set(st, "p", 42);
	/* One more at least: ThreadSanitizer's runtime adds one of its own. */
	with_writer = threads();
	ck_assert_uint_gt(with_writer, before);
	ck_assert_int_eq(state_store_flush(st), 0);
	ck_assert_int_eq(read_file(path, 1 << 16, &text, NULL), 0);
	ck_assert_ptr_nonnull(strstr(text, "p 42\n"));
	st = state_store_free(st);
	before = with_writer - 1;
	ck_assert_uint_eq(threads(), before);

	/* What was written is read back, again without a thread. */
	ck_assert_int_eq(state_store_new(path, "# test", 0, &st), 0);
	ck_assert(state_store_get(st, "p", &v));
	ck_assert_int_eq(v, 42);
	ck_assert_uint_eq(threads(), before);
	state_store_free(st);
	test_rmtree(dir);
}
END_TEST

static void
daemon_teardown(void)
{
	daemon_done(&d);
	unsetenv("GINI_DEBUG_STARTUP");
	unsetenv("LD_DEBUG");
}

static void
start(size_t nth)
{
	daemon_spawn(&d, NULL, NULL);
	ck_assert(daemon_wait_log(&d, "ready: generation 1", nth, 10000));
}

static void
stop(void)
{
	daemon_signal(&d, SIGTERM);
	ck_assert_int_eq(daemon_wait_exit(&d, 10000), 0);
}

/*
 * The first start checks every bundled stage (libelf loaded, then unloaded
 * before READY=1); the second registers them from the cache and loads the
 * one a step uses without libelf. Neither maps it once ready, and the
 * pipeline still runs. The dynamic loader says what it loads (LD_DEBUG=files,
 * on the daemon's standard error): the second start says nothing of libelf.
 */
START_TEST(warm_daemon_never_loads_libelf)
{
	size_t cold;

	setenv("LD_DEBUG", "files", 1);
	daemon_init(&d, "startup",
	            "pipelines = ( { name = \"a\"; triggers = { signal = \"SIGUSR1\"; }; "
	            "steps = ( { id = \"l\"; stage = \"log\"; params = { message = \"warm "
	            "hello\"; }; } ); } );\n");
	start(1);
	cold = daemon_log_count(&d, "file=libelf.so");
	ck_assert_uint_ge(cold, 1);
	ck_assert(!maps_contain(d.pid, "/libelf"));
	ck_assert(!maps_contain(d.pid, "/libz.so"));
	stop();

	start(2);
	ck_assert_uint_eq(daemon_log_count(&d, "file=libelf.so"), cold);
	ck_assert(!maps_contain(d.pid, "/libelf"));
	ck_assert(maps_contain(d.pid, "/memfd:gini:log.so"));
	ck_assert(!maps_contain(d.pid, "/memfd:gini:exec.so"));
	daemon_signal(&d, SIGUSR1);
	ck_assert(daemon_wait_log(&d, "warm hello", 1, 5000));
}
END_TEST

/* GINI_DEBUG_STARTUP=1: each phase once, in order, up to READY=1; a reload
 * prints none. */
START_TEST(debug_startup_prints_phases)
{
	static const char *const phases[] = {
		"+0.000 main",
		"configuration read",
		"plugin scan",
		"first generation built",
		"executor made (its threads start with the first run)",
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
	TCase *tc = tcase_create("in-process");
	TCase *td = tcase_create("daemon");

	tcase_add_test(tc, cold_scan_refuses_then_unloads_libelf);
	tcase_add_test(tc, state_store_starts_its_writer_on_first_change);
	suite_add_tcase(s, tc);
	tcase_set_timeout(td, 60);
	tcase_add_checked_fixture(td, NULL, daemon_teardown);
	tcase_add_test(td, warm_daemon_never_loads_libelf);
	tcase_add_test(td, debug_startup_prints_phases);
	suite_add_tcase(s, td);
	return s;
}
