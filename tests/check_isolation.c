/* SPDX-License-Identifier: MIT */
/*
 * Isolation (issue 8): the hostile corpus (tests/plugins/hostile.h) against
 * real ginid processes. Plugins that crash or hang while loading are refused
 * by the probe with their reason, remembered by file key, in memory and in
 * state_dir; steps with isolation = "process" that crash, hang, exit, flood
 * their output or eat memory fail alone, with the right reason, while the
 * daemon keeps serving other pipelines and ginictl.
 *
 * Nothing may be left behind, and assert_nothing_left() checks it from
 * /proc: the daemon has no child (running or zombie) once its runs are over;
 * no process remains in the process group of any probe or worker (each is
 * the leader of a group of its own, so its pid is the group id, and the
 * hostile plugins' load hooks write that pid to the hooks file; a stray
 * that outlived its group leader would still carry that group id, whoever
 * its new parent is); and the daemon has exactly as many open descriptors
 * as before the runs. Scoping by those pids, rather than by looking for
 * gini-worker processes, keeps the checks right when other ginid
 * instances run on the same machine.
 *
 * This file holds the isolated steps and their limits; probing at load and
 * in-process plugins have files of their own, and the harness they share
 * is check_isolation.h.
 */
#include "check_isolation.h"

/* --- isolated steps --- */

/* More pipelines, that must keep working whatever the victim does. */
#define BYSTANDERS                                                                                 \
	"{ name = \"tick\"; steps = ( { id = \"t\"; stage = \"log\"; params = { message = "        \
	"\"tick\"; }; } ); },\n"                                                                   \
	"{ name = \"long\"; steps = ( { id = \"nap\"; stage = \"sleep\"; params = { duration = "   \
	"\"600ms\"; }; } ); },\n"                                                                  \
	"{ name = \"warm\"; steps = ( { id = \"w\"; stage = \"hostile-sane\"; isolation = "        \
	"\"process\"; params = { tag = \"W\"; }; } ); }"

static const struct run_case {
	const char *plugin, *stage;
	const char *keys;    /* more keys of the step */
	const char *result;  /* as ginictl shows it */
	const char *message; /* part of the step's message */
	const char *counter; /* counted as a crash or a kill, or NULL */
	int runs;
	const char *params; /* more params of the step */
} run_cases[] = {
	{ "hostile_segv_run", "hostile-segv-run", "", "failed", "crashed with SIGSEGV (", "crashes",
	  3, NULL },
	{ "hostile_abort_run", "hostile-abort-run", "", "failed", "crashed with SIGABRT (",
	  "crashes", 3, NULL },
	{ "hostile_exit_run", "hostile-exit-run", "", "failed",
	  "before the step finished (did the plugin call exit()?)", NULL, 3, NULL },
	{ "hostile_hang_run", "hostile-hang-run", "timeout = \"300ms\";", "timed-out",
	  "timed out after 300ms: killed (did not stop in time)", "kills", 2, NULL },
	/* Their params check at config load passes (not armed yet); the
	 * create() of each run's worker misbehaves. */
	{ "hostile_segv_create", "hostile-segv-create", "", "failed", "crashed with SIGSEGV (",
	  "crashes", 3, NULL },
	{ "hostile_hang_create", "hostile-hang-create", "timeout = \"300ms\";", "timed-out",
	  "timed out after 300ms: killed (did not stop in time)", "kills", 1, NULL },
	/* The plugin leaves a child behind in the worker's group first. */
	{ "hostile_segv_run", "hostile-segv-run", "", "failed", "crashed with SIGSEGV (", "crashes",
	  2, "fork = true;" },
	{ "hostile_hang_run", "hostile-hang-run", "timeout = \"300ms\";", "timed-out",
	  "timed out after 300ms: killed (did not stop in time)", "kills", 1, "fork = true;" },
};

/*
 * Each crash, hang or exit in an isolated step fails that step alone, with
 * its reason; the in-process step before it ran, the daemon keeps running
 * its other pipelines and answering, and nothing is left behind.
 */
START_TEST(isolated_run_failures)
{
	const struct run_case *c = &run_cases[_i];
	_cleanup_free_ char *victim = NULL, *out = NULL;
	char line[1024];
	int fds;

	/* The victim names a file in the daemon's directory: it goes in a file
	 * of pipelines.d once that directory exists. */
	iso_init(BYSTANDERS, c->plugin, "hostile_sane", "log", "sleep", NULL);
	ck_assert_int_ne(
	        asprintf(&victim,
	                 "pipelines = ( { name = \"victim\"; steps = ( { id = \"a\"; stage "
	                 "= \"hostile-sane\"; params = { tag = \"A\"; }; }, { id = \"b\"; "
	                 "stage = \"%s\"; after = \"a\"; isolation = \"process\"; %s "
	                 "params = { arm = \"%s\"; input = \"out\"; tag = \"B\"; %s }; } "
	                 "); } );\n",
	                 c->stage, c->keys, daemon_path(&d, "armed"), c->params ? c->params : ""),
	        -1);
	daemon_write(&d, "pipelines.d/victim.conf", victim);
	iso_start();
	/* Whatever the first isolated run and request open for good is in
	 * the count of descriptors to come back to. */
	ck_assert_int_eq(ctl(NULL, "run", "warm", "--wait", NULL), 0);
	assert_status_answers(NULL);
	fds = settled_fds();
	test_write_file(daemon_path(&d, "armed"), "", 0644);

	for (int run = 1; run <= c->runs; run++) {
		size_t ticks = daemon_log_count(&d, "pipeline 'tick': success");

		ck_assert_int_eq(ctl(NULL, "run", "long", NULL), 0);
		if (run == 1) {
			/* While the victim crashes or hangs, the daemon runs
			 * other pipelines and answers. */
			ck_assert_int_eq(ctl(NULL, "run", "victim", NULL), 0);
			ck_assert_int_eq(ctl(NULL, "run", "tick", "--wait", NULL), 0);
			assert_status_answers("runs in flight:");
		} else {
			free(out);
			out = NULL;
			ck_assert_int_eq(ctl(&out, "run", "victim", "--wait", NULL), 1);
			snprintf(line, sizeof(line), "%s  ", c->result);
			ck_assert_msg(strstr(out, line) && strstr(out, c->message),
			              "ginictl run: %s", out);
			ck_assert_int_eq(ctl(NULL, "run", "tick", "--wait", NULL), 0);
		}
		snprintf(line, sizeof(line), "pipeline 'victim': step 'b': %s: ", c->result);
		ck_assert(daemon_wait_log(&d, line, (size_t)run, 10000));
		ck_assert(daemon_wait_log(&d, c->message, (size_t)run, 1000));
		/* The in-process step before it ran, in the daemon. */
		snprintf(line, sizeof(line),
		         "pipeline 'victim': step 'a': hostile hostile-sane: A: "
		         "input '' pid %d",
		         (int)d.pid);
		ck_assert_uint_eq(daemon_log_count(&d, line), (size_t)run);
		/* The others carried on. */
		ck_assert(daemon_wait_log(&d, "pipeline 'tick': success", ticks + 1, 5000));
		ck_assert(daemon_wait_log(&d, "pipeline 'long': success", (size_t)run, 5000));
		assert_status_answers(NULL);
	}
	/* Its probe, the worker that checked its params at config load, and
	 * one worker per run, each gone with its group. */
	ck_assert_uint_eq(hook_pids("load", c->stage, false, NULL, 0), (size_t)c->runs + 2);
	assert_nothing_left(fds);
	if (c->params) {
		pid_t child[8];
		size_t n = hook_pids("child", c->stage, false, child, ARRAY_SIZE(child));
		struct proc p;

		ck_assert_uint_eq(n, (size_t)c->runs);
		for (size_t i = 0; i < n; i++)
			ck_assert_msg(!proc_read(child[i], &p) || p.state == 'Z',
			              "the plugin's child %d survived its worker (state %c)",
			              (int)child[i], p.state);
	}
	if (c->counter) {
		_cleanup_free_ char *metrics = NULL;
		char sample[256];

		ck_assert_int_eq(stage_counter(c->stage, c->counter), c->runs);
		ck_assert_int_eq(ctl(&metrics, "metrics", NULL), 0);
		snprintf(sample, sizeof(sample), "gini_stage_%s_total{stage=\"%s\"} %d\n",
		         c->counter, c->stage, c->runs);
		ck_assert_msg(strstr(metrics, sample), "no '%s' in the metrics", sample);
	}
	ck_assert_int_eq(stage_counter(c->stage, "failures"), c->runs);
}
END_TEST

/* A daemon log line: no control characters but the newline. */
static void
assert_log_printable(void)
{
	_cleanup_free_ char *log = read_log();

	for (const unsigned char *p = (const unsigned char *)log; *p; p++)
		ck_assert_msg(*p >= 0x20 || *p == '\n' || *p == '\t',
		              "byte 0x%02x at offset %zu of the log", *p,
		              (size_t)(p - (const unsigned char *)log));
}

/*
 * Garbage on stdout and stderr (binary, a forged protocol line, thousands of
 * lines, 70 MB without a newline) is logged as capped and escaped "worker
 * output" warnings, costs the daemon no memory, and the step's own result
 * and context still come through.
 */
START_TEST(isolated_garbage_output)
{
	_cleanup_free_ char *out = NULL;
	long rss;
	int fds;

	iso_init(
	        "{ name = \"g\"; steps = ( { id = \"b\"; stage = \"hostile-garbage-run\"; "
	        "isolation = \"process\"; params = { tag = \"G\"; }; }, { id = \"l\"; stage = "
	        "\"log\"; after = \"b\"; params = { message = \"after garbage: ${out}\"; }; } ); },"
	        "{ name = \"flood\"; steps = ( { id = \"b\"; stage = \"hostile-garbage-run\"; "
	        "isolation = \"process\"; timeout = \"20s\"; params = { tag = \"F\"; bytes = "
	        "70000000; }; } ); },"
	        "{ name = \"orphan\"; steps = ( { id = \"b\"; stage = \"hostile-garbage-run\"; "
	        "isolation = \"process\"; timeout = \"20s\"; params = { tag = \"O\"; bytes = "
	        "1000; fork = true; }; } ); }",
	        "hostile_garbage_run", "log", NULL);
	iso_start();
	assert_status_answers(NULL);
	fds = settled_fds();
	ck_assert_int_eq(ctl(&out, "run", "g", "--wait", NULL), 0);
	ck_assert_msg(strstr(out, "out = 'G'"), "%s", out);
	ck_assert(daemon_wait_log(&d, "step 'l': after garbage: G", 1, 5000));
	ck_assert_uint_eq(daemon_log_count(&d, "step 'b': worker output: "), 101);
	ck_assert_uint_eq(daemon_log_count(&d, "step 'b': worker output: further lines suppressed"),
	                  1);
	/* The forged result line is output like any other. */
	ck_assert_uint_eq(daemon_log_count(&d, "worker output: {\"done\": 0, \"message\": \"forged "
	                                       "by the plugin\"}"),
	                  1);
	ck_assert_uint_eq(daemon_log_count(&d, "worker output: \\x01\\x08\\x0f"), 1);
	assert_log_printable();

	/* 2 x 70 MB without a newline: the step ends, the daemon stays small. */
	rss = proc_rss_kib(d.pid);
	free(out);
	ck_assert_int_eq(ctl(&out, "run", "flood", "--wait", NULL), 0);
	ck_assert_msg(strstr(out, "out = 'F'"), "%s", out);
	/* (ASan's quarantine keeps freed buffers around: not under ASan.) */
	if (!strstr(GINI_TEST_SANITIZE, "address"))
		ck_assert_msg(proc_rss_kib(d.pid) < rss + 32 * 1024,
		              "ginid grew from %ld KiB to %ld KiB", rss, proc_rss_kib(d.pid));
	ck_assert_uint_eq(daemon_log_count(&d, "worker output: further lines suppressed"), 2);
	assert_log_printable();

	/* A child left behind holds the worker's output pipe, and the last
	 * line is unfinished: the step still ends at once, the child killed. */
	free(out);
	ck_assert_int_eq(ctl(&out, "run", "orphan", "--wait", NULL), 0);
	ck_assert_msg(strstr(out, "out = 'O'"), "%s", out);
	ck_assert_uint_eq(hook_pids("child", "hostile-garbage-run", false, NULL, 0), 1);
	assert_status_answers(NULL);
	assert_nothing_left(fds);
}
END_TEST

/*
 * A pipeline mixing in-process and isolated steps passes the context both
 * ways: in-process -> isolated -> in-process, removals included. The
 * isolated step runs in another process, with SIGPIPE ignored as in ginid.
 */
START_TEST(mixed_pipeline_context)
{
	_cleanup_free_ char *out = NULL;
	char line[256];
	pid_t helper[4];

	iso_init(
	        "{ name = \"mix\"; steps = ("
	        "{ id = \"a\"; stage = \"hostile-sane\"; params = { tag = \"A\"; output = \"k1\"; "
	        "epipe = true; }; },"
	        "{ id = \"b\"; stage = \"hostile-sane\"; after = \"a\"; isolation = \"process\"; "
	        "params = { input = \"k1\"; tag = \"B\"; output = \"k2\"; unset = \"pid.A\"; "
	        "epipe = true; }; },"
	        "{ id = \"c\"; stage = \"hostile-sane\"; after = \"b\"; params = { input = \"k2\"; "
	        "tag = \"C\"; output = \"k3\"; }; },"
	        "{ id = \"l\"; stage = \"log\"; after = \"c\"; params = { message = \"k3=${k3} "
	        "pidA=${pid.A} pidB=${pid.B} pidC=${pid.C} epipe=${epipe}\"; }; } ); }",
	        "hostile_sane", "log", NULL);
	iso_start();
	ck_assert_int_eq(ctl(&out, "run", "mix", "--wait", NULL), 0);
	ck_assert_msg(strstr(out, "k3 = 'ABC'"), "%s", out);
	/* Load hooks ran in the probe, in the worker that checked step b's
	 * params, and in the worker that ran it. */
	ck_assert_uint_eq(hook_pids("load", "hostile-sane", false, helper, ARRAY_SIZE(helper)), 3);
	snprintf(line, sizeof(line), "k3=ABC pidA= pidB=%d pidC=%d epipe=EPIPE", (int)helper[2],
	         (int)d.pid);
	ck_assert_msg(daemon_wait_log(&d, line, 1, 5000), "no '%s' in the log", line);
	assert_nothing_left(-1);
}
END_TEST

/* A dry run never runs an isolated step's code in the daemon. */
START_TEST(dry_run_of_isolated_step)
{
	_cleanup_free_ char *out = NULL;

	iso_init("{ name = \"dry\"; steps = ( { id = \"x\"; stage = \"exec\"; isolation = "
	         "\"process\"; params = { argv = [ \"/bin/false\" ]; }; }, { id = \"s\"; stage = "
	         "\"hostile-segv-run\"; isolation = \"process\"; } ); }",
	         "exec", "hostile_segv_run", NULL);
	iso_start();
	ck_assert_int_eq(ctl(&out, "run", "dry", "--dry-run", "--wait", NULL), 0);
	ck_assert_msg(
	        strstr(out, "would run stage 'exec' in an isolated worker") &&
	                strstr(out, "would run stage 'hostile-segv-run' in an isolated worker"),
	        "%s", out);
	assert_status_answers(NULL);
	assert_nothing_left(-1);
}
END_TEST

/*
 * gini-worker starts for every isolated step, so it links only what it
 * uses: not libsystemd (the journal is ginid's, log_journal.c), libconfig
 * (params_setting.c) or SQLite, each of which costs exec time at every
 * start (bench/RESULTS.md, "Isolated steps (this session)").
 */
START_TEST(worker_links_little)
{
	_cleanup_free_ char *prog = strdup(test_build_path("gini-worker")), *out = NULL,
	                    *err = NULL;
	char *argv[] = { "/usr/bin/readelf", "-d", "-W", prog, NULL };
	int st = run_command(argv, &out, &err, 30000);

	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "readelf %s: %s", prog,
	              err ? err : "");
	ck_assert_msg(out && strstr(out, "(NEEDED)") && strstr(out, "libjansson"), "%s", out);
	ck_assert_msg(!strstr(out, "libsystemd"), "gini-worker links libsystemd:\n%s", out);
	ck_assert_msg(!strstr(out, "libconfig"), "gini-worker links libconfig:\n%s", out);
	ck_assert_msg(!strstr(out, "libsqlite3"), "gini-worker links SQLite:\n%s", out);
}
END_TEST

/*
 * Every bundled stage runs isolated in that worker: params of every type
 * arrive, the context goes both ways, the exec stage's child is run and
 * reaped, a failure comes back with its message, and nothing is left.
 */
START_TEST(bundled_stages_isolated)
{
	_cleanup_free_ char *conf = NULL, *out = NULL, *written = NULL;
	char *path;

	iso_init("{ name = \"boom\"; steps = ( { id = \"f\"; stage = \"fail\"; isolation = "
	         "\"process\"; params = { message = \"iso-fail\"; }; } ); }",
	         "log", "sleep", "exec", "write", "check-path", "check-command", "fail", NULL);
	path = strdup(daemon_path(&d, "written"));
	ck_assert_int_ne(
	        asprintf(&conf,
	                 "pipelines = ( { name = \"all\"; isolation = \"process\"; steps = ("
	                 "{ id = \"l\"; stage = \"log\"; params = { message = \"iso-log\"; "
	                 "level = \"notice\"; }; },"
	                 "{ id = \"s\"; stage = \"sleep\"; after = \"l\"; params = { duration "
	                 "= \"1ms\"; }; },"
	                 "{ id = \"e\"; stage = \"exec\"; after = \"s\"; params = { argv = [ "
	                 "\"/bin/echo\", \"from-exec\" ]; capture = \"said\"; }; },"
	                 "{ id = \"w\"; stage = \"write\"; after = \"e\"; params = { path = "
	                 "\"%s\"; template = \"said ${said}\"; mode = \"0640\"; }; },"
	                 "{ id = \"p\"; stage = \"check-path\"; after = \"w\"; params = { "
	                 "path = \"%s\"; type = \"file\"; }; },"
	                 "{ id = \"c\"; stage = \"check-command\"; after = \"p\"; params = "
	                 "{ command = \"true\"; }; } ); } );\n",
	                 path, path),
	        -1);
	daemon_write(&d, "pipelines.d/all.conf", conf);
	iso_start();
	ck_assert_int_eq(ctl(&out, "run", "all", "--wait", NULL), 0);
	ck_assert_int_eq(read_file(path, 4096, &written, NULL), 0);
	ck_assert_msg(strstr(written, "said from-exec"), "%s: %s", path, written);
	ck_assert(daemon_wait_log(&d, "iso-log", 1, 5000));
	free(out);
	out = NULL;
	ck_assert_int_eq(ctl(&out, "run", "boom", "--wait", NULL), 1);
	ck_assert_msg(strstr(out, "iso-fail"), "%s", out);
	assert_nothing_left(-1);
	free(path);
}
END_TEST

/*
 * An isolated step maps the daemon's own sealed copy of its plugin (the
 * worker's descriptor 4), not the file: overwritten in place since ginid
 * loaded it, the file is not what runs until a reload, as for an
 * in-process step, instead of the step failing.
 */
START_TEST(isolated_step_runs_daemons_copy)
{
	_cleanup_free_ char *out = NULL;
	char src[4096];

	iso_init("{ name = \"v\"; steps = ( { id = \"s\"; stage = \"versioned\"; isolation = "
	         "\"process\"; }, { id = \"l\"; stage = \"log\"; after = \"s\"; params = { "
	         "message = \"ran ${version}\"; }; } ); }",
	         "log", NULL);
	add_plugin("versioned_v1", "versioned");
	iso_start();
	snprintf(src, sizeof(src), "%s/tests/plugins/versioned_v2.so", test_build_dir());
	overwrite_in_place(src, daemon_path(&d, "stages/versioned.so"));
	ck_assert_int_eq(ctl(&out, "run", "v", "--wait", NULL), 0);
	ck_assert(daemon_wait_log(&d, "step 'l': ran 1.0.0", 1, 10000));
	ck_assert_uint_eq(file_count(hooks, "start 2.0.0"), 0);
	assert_nothing_left(-1);
}
END_TEST

/*
 * The worker skips the ELF check of the daemon's copy, which passed it in
 * the daemon: it loads no libelf (each load costs a cold step ~270 us).
 * The daemon logs each load of libelf at debug level, and so would the
 * worker, whose lines it forwards: a run adds none.
 */
START_TEST(isolated_step_loads_no_libelf)
{
	_cleanup_free_ char *conf = NULL, *with_debug = NULL;
	size_t loads;

	iso_init("{ name = \"p\"; steps = ( { id = \"s\"; stage = \"hostile-sane\"; "
	         "isolation = \"process\"; params = { tag = \"S\"; }; } ); }",
	         "hostile_sane", NULL);
	ck_assert_int_eq(read_file(daemon_path(&d, "gini.conf"), 1 << 20, &conf, NULL), 0);
	ck_assert_int_ne(asprintf(&with_debug, "log_level = \"debug\";\n%s", conf), -1);
	daemon_write(&d, "gini.conf", with_debug);
	iso_start();
	loads = daemon_log_count(&d, "for the ELF checks");
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(ctl(NULL, "run", "p", "--wait", NULL), 0);
	ck_assert(daemon_wait_log(&d, "pipeline 'p': success", 2, 5000));
	ck_assert_uint_eq(daemon_log_count(&d, "for the ELF checks"), loads);
	assert_nothing_left(-1);
}
END_TEST

/* SIGTERM while an isolated step ignores its cancellation: the daemon stops
 * in time, and the worker's group is killed. */
START_TEST(shutdown_kills_hung_worker)
{
	pid_t helper[3];
	char desc[512];
	int st;

	iso_init("{ name = \"stuck\"; steps = ( { id = \"h\"; stage = \"hostile-hang-run\"; "
	         "isolation = \"process\"; } ); }",
	         "hostile_hang_run", NULL);
	iso_start();
	ck_assert_int_eq(ctl(NULL, "run", "stuck", NULL), 0);
	/* The probe's, the params check's, then the running worker's. */
	for (int i = 0; i < 500 && hook_pids("load", "hostile-hang-run", false, NULL, 0) < 3; i++)
		sleep_ms(10);
	ck_assert_uint_eq(hook_pids("load", "hostile-hang-run", false, helper, 3), 3);
	ck_assert_uint_eq(count_procs(helper[2], true, desc, sizeof(desc)), 1);
	daemon_signal(&d, SIGTERM);
	st = daemon_wait_exit(&d, 15000);
	ck_assert_int_ne(st, -1);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	ck_assert_uint_eq(count_procs(helper[2], true, desc, sizeof(desc)), 0);
	ck_assert(daemon_wait_log(&d, "pipeline 'stuck': cancelled", 1, 100));
}
END_TEST

/*
 * create() crashing or hanging in the worker that checks an isolated step's
 * params at config load is a config error: ginid refuses to start, and a
 * reload keeps the running generation.
 */
START_TEST(create_failures_at_config_load)
{
	static const char bad[] = "pipelines = ( { name = \"c1\"; steps = ( { id = \"b\"; stage = "
	                          "\"hostile-segv-create\"; isolation = \"process\"; } ); }, { "
	                          "name = \"c2\"; steps = ( "
	                          "{ id = \"b\"; stage = \"hostile-hang-create\"; isolation = "
	                          "\"process\"; } ); } );\n";
	static const char segv[] = "pipeline 'c1': step 'b': stage 'hostile-segv-create' could not "
	                           "check its params in an isolated worker: crashed with SIGSEGV (";
	static const char hang[] = "pipeline 'c2': step 'b': stage 'hostile-hang-create' did not "
	                           "finish create() within 1s in an isolated worker";
	int st, fds;

	iso_init(SANE_PIPELINE, "hostile_sane", "log", "hostile_segv_create", "hostile_hang_create",
	         NULL);
	/* At start-up: every error, then no start. */
	daemon_write(&d, "pipelines.d/bad.conf", bad);
	daemon_spawn(&d, plugins, NULL);
	st = daemon_wait_exit(&d, 20000);
	ck_assert_int_ne(st, -1);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 1);
	ck_assert_uint_eq(daemon_log_count(&d, segv), 1);
	ck_assert_uint_eq(daemon_log_count(&d, hang), 1);
	ck_assert_uint_eq(daemon_log_count(&d, "has 2 errors; not starting"), 1);
	daemons[n_daemons++] = d.pid;
	assert_nothing_left(-1);

	/* On reload: the old generation keeps running. */
	ck_assert_int_eq(unlink(daemon_path(&d, "pipelines.d/bad.conf")), 0);
	iso_start();
	assert_status_answers(NULL);
	fds = settled_fds();
	daemon_write(&d, "pipelines.d/bad.conf", bad);
	daemon_signal(&d, SIGHUP);
	ck_assert(daemon_wait_log(&d,
	                          "reload failed with 2 errors; generation 1 keeps running "
	                          "unchanged",
	                          1, 15000));
	ck_assert_uint_eq(daemon_log_count(&d, segv), 2);
	ck_assert_uint_eq(daemon_log_count(&d, hang), 2);
	ck_assert_int_eq(ctl(NULL, "run", "ok", "--wait", NULL), 0);
	assert_status_answers("FAILED");
	assert_nothing_left(fds);
}
END_TEST

/* --- limits --- */

static long
mib_in_log(const char *prefix, size_t nth)
{
	_cleanup_free_ char *log = read_log();
	const char *p = log;

	for (size_t i = 0; i <= nth; i++) {
		p = strstr(p, prefix);
		ck_assert_ptr_nonnull(p);
		p += strlen(prefix);
	}
	return strtol(p, NULL, 10);
}

/*
 * memory_max: a step that allocates without bound fails cleanly at its
 * limit, and a larger limit lets it go further.
 */
START_TEST(memory_max_limits_step)
{
	_cleanup_free_ char *out = NULL;
	long small, large;

	if (*GINI_TEST_SANITIZE) {
		/* The sanitizer runtimes reserve terabytes of address space
		 * at start, so an RLIMIT_AS of 64M stops the worker before
		 * main(): this check is for regular builds only. */
		fprintf(stderr, "isolation: memory_max test skipped under SANITIZE=%s\n",
		        GINI_TEST_SANITIZE);
		return;
	}
	iso_init("{ name = \"m64\"; steps = ( { id = \"eat\"; stage = \"hostile-alloc-run\"; "
	         "isolation = \"process\"; memory_max = \"64M\"; } ); },"
	         "{ name = \"m256\"; steps = ( { id = \"eat\"; stage = \"hostile-alloc-run\"; "
	         "isolation = \"process\"; memory_max = \"256M\"; } ); }",
	         "hostile_alloc_run", NULL);
	iso_start();
	ck_assert_int_eq(ctl(&out, "run", "m64", "--wait", NULL), 1);
	ck_assert_msg(strstr(out, "malloc failed after "), "%s", out);
	ck_assert(daemon_wait_log(&d, "step 'eat': failed: malloc failed after ", 1, 5000));
	small = mib_in_log("step 'eat': failed: malloc failed after ", 0);
	ck_assert_int_lt(small, 64);
	ck_assert_int_ge(small, 1);
	free(out);
	ck_assert_int_eq(ctl(&out, "run", "m256", "--wait", NULL), 1);
	ck_assert(daemon_wait_log(&d, "step 'eat': failed: malloc failed after ", 2, 5000));
	large = mib_in_log("step 'eat': failed: malloc failed after ", 1);
	ck_assert_int_gt(large, 64);
	ck_assert_int_lt(large, 256);
	assert_status_answers(NULL);
	assert_nothing_left(-1);
}
END_TEST

/* cpu_max: a busy loop is stopped by SIGXCPU, long before its timeout. */
START_TEST(cpu_max_limits_step)
{
	_cleanup_free_ char *out = NULL;
	uint64_t t0;

	iso_init("{ name = \"spin\"; steps = ( { id = \"s\"; stage = \"hostile-hang-run\"; "
	         "isolation = \"process\"; cpu_max = \"1s\"; timeout = \"30s\"; } ); }",
	         "hostile_hang_run", NULL);
	iso_start();
	t0 = now_usec(CLOCK_MONOTONIC);
	ck_assert_int_eq(ctl(&out, "run", "spin", "--wait", NULL), 1);
	ck_assert_msg(strstr(out, "failed  ") &&
	                      strstr(out, "exceeded cpu_max (killed by SIGXCPU)"),
	              "%s", out);
	ck_assert_uint_lt(now_usec(CLOCK_MONOTONIC) - t0, 10 * USEC_PER_SEC);
	ck_assert_int_eq(stage_counter("hostile-hang-run", "crashes"), 1);
	assert_nothing_left(-1);
}
END_TEST

/* nofile reaches the worker and what it starts. */
START_TEST(nofile_limits_step)
{
	iso_init("{ name = \"n\"; steps = ( { id = \"u\"; stage = \"exec\"; isolation = "
	         "\"process\"; nofile = 64; params = { shell = \"ulimit -n\"; capture = \"n\"; }; "
	         "}, { id = \"l\"; stage = \"log\"; after = \"u\"; params = { message = "
	         "\"nofile=${n}\"; }; } ); }",
	         "exec", "log", NULL);
	iso_start();
	ck_assert_int_eq(ctl(NULL, "run", "n", "--wait", NULL), 0);
	ck_assert(daemon_wait_log(&d, "step 'l': nofile=64", 1, 5000));
	assert_nothing_left(-1);
}
END_TEST

/* user and group: as root, an isolated step runs as somebody else. */
START_TEST(user_and_group)
{
	struct passwd *pw = getpwnam("nobody");
	char expect[256];

	if (geteuid() != 0 || !pw) {
		fprintf(stderr,
		        "isolation: user/group test skipped (needs root and a 'nobody' user)\n");
		return;
	}
	iso_init("{ name = \"who\"; steps = ("
	         "{ id = \"u\"; stage = \"exec\"; isolation = \"process\"; user = \"nobody\"; "
	         "params = { shell = \"id -u; id -g; id -G\"; capture = \"id\"; }; },"
	         "{ id = \"g\"; stage = \"exec\"; isolation = \"process\"; user = \"nobody\"; "
	         "group = \"0\"; params = { shell = \"id -g\"; capture = \"gid\"; }; },"
	         "{ id = \"l\"; stage = \"log\"; after = [ \"u\", \"g\" ]; params = { message = "
	         "\"id=${id} gid=${gid}\"; }; } ); }",
	         "exec", "log", NULL);
	iso_start();
	ck_assert_int_eq(ctl(NULL, "run", "who", "--wait", NULL), 0);
	/* The user's own group, and no supplementary group of ours. */
	snprintf(expect, sizeof(expect), "step 'l': id=%u %u %u gid=0", (unsigned)pw->pw_uid,
	         (unsigned)pw->pw_gid, (unsigned)pw->pw_gid);
	ck_assert_msg(daemon_wait_log(&d, expect, 1, 5000), "no '%s' in the log", expect);
	assert_nothing_left(-1);
}
END_TEST

Suite *
isolation_suite(void)
{
	Suite *s = suite_create("isolation");
	TCase *tc;

	isolation_probe_add_tcases(s);
	isolation_frame_add_tcases(s);

	tc = tcase_create("steps");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_tags(tc, "daemon");
	tcase_add_loop_test(tc, isolated_run_failures, 0, (int)ARRAY_SIZE(run_cases));
	tcase_add_test(tc, isolated_garbage_output);
	tcase_add_test(tc, mixed_pipeline_context);
	tcase_add_test(tc, dry_run_of_isolated_step);
	tcase_add_test(tc, shutdown_kills_hung_worker);
	tcase_add_test(tc, create_failures_at_config_load);
	tcase_add_test(tc, worker_links_little);
	tcase_add_test(tc, bundled_stages_isolated);
	tcase_add_test(tc, isolated_step_runs_daemons_copy);
	tcase_add_test(tc, isolated_step_loads_no_libelf);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_tags(tc, "daemon");
	tcase_add_test(tc, memory_max_limits_step);
	tcase_add_test(tc, cpu_max_limits_step);
	tcase_add_test(tc, nofile_limits_step);
	tcase_add_test(tc, user_and_group);
	suite_add_tcase(s, tc);

	isolation_inproc_add_tcases(s);
	isolation_pool_add_tcases(s);
	return s;
}
