/* SPDX-License-Identifier: MIT */
/*
 * The pool of isolation workers (worker_pool, daemon/isolate_pool.c)
 * against real ginid processes and the hostile corpus: a worker serves
 * several runs of its step's stage type (its plugin's load hook, which
 * notes the worker's pid in the hooks file, runs once per worker); one that
 * crashed or timed out is replaced, never reused; stage types, users and
 * limits never share one; worker_max_runs caps the reuse; a reload and a
 * shut-down leave no worker behind.
 *
 * Worker pids come from the hooks file ("load ID PID": the probe's first,
 * then the params check's, then each worker's) and from the step itself,
 * which sets pid.TAG in the run context for a log step to print.
 */
#include "check_isolation.h"

#include "host.h"

#include <sys/eventfd.h>

/* A pooled step of stage STAGE tagged A with KEYS, then a log step that
 * prints the pid that ran it. */
#define POOLED(stage, keys, params)                                                                \
	"{ name = \"p\"; steps = ( { id = \"a\"; stage = \"" stage                                 \
	"\"; isolation = \"process\"; " keys " params = { tag = \"A\"; " params                    \
	" }; }, { id = \"l\"; stage = \"log\"; after = "                                           \
	"\"a\"; params = { message = \"ran in ${pid.A}\"; }; } ); }"

/* The hooks file's worker pids of stage id: those after the probe's and the
 * params check's. */
static size_t
worker_pids(const char *id, pid_t *ret, size_t max)
{
	pid_t all[32];
	size_t n = hook_pids("load", id, false, all, ARRAY_SIZE(all));

	ck_assert_uint_ge(n, 2);
	for (size_t i = 2; i < n && i - 2 < max; i++)
		ret[i - 2] = all[i];
	return n - 2;
}

static size_t
ran_in(pid_t pid)
{
	char line[64];

	snprintf(line, sizeof(line), "step 'l': ran in %d", (int)pid);
	return daemon_log_count(&d, line);
}

static bool
alive(pid_t pid)
{
	struct proc p;

	return proc_read(pid, &p) && p.state != 'Z';
}

/* Waits until pid's process group is empty; false if it never is. */
static bool
group_gone(pid_t pid)
{
	char desc[256];

	for (int i = 0; i < 500; i++) {
		if (count_procs(pid, true, desc, sizeof(desc)) == 0)
			return true;
		sleep_ms(10);
	}
	return false;
}

/* Three runs, one worker: the same pid ran the step each time, and it is
 * idle (alive) between runs; SIGTERM ends it. */
START_TEST(pool_reuses_worker)
{
	pid_t w[4];

	iso_init(POOLED("hostile-sane", "worker_pool = 1;", ""), "hostile_sane", "log", NULL);
	iso_start();
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(ctl(NULL, "run", "p", "--wait", NULL), 0);
	ck_assert_uint_eq(worker_pids("hostile-sane", w, ARRAY_SIZE(w)), 1);
	ck_assert(daemon_wait_log(&d, "step 'l': ran in", 3, 5000));
	ck_assert_uint_eq(ran_in(w[0]), 3);
	ck_assert(alive(w[0]));
	iso_stop();
	ck_assert(group_gone(w[0]));
	assert_nothing_left(-1);
}
END_TEST

/* Without worker_pool, each run has a worker of its own, as before. */
START_TEST(no_pool_one_worker_per_run)
{
	pid_t w[4];

	iso_init(POOLED("hostile-sane", "", ""), "hostile_sane", "log", NULL);
	iso_start();
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(ctl(NULL, "run", "p", "--wait", NULL), 0);
	ck_assert_uint_eq(worker_pids("hostile-sane", w, ARRAY_SIZE(w)), 2);
	ck_assert_int_ne(w[0], w[1]);
	assert_nothing_left(-1);
}
END_TEST

/*
 * A worker whose step crashed (or timed out: the hang ignores its
 * cancellation) is gone with everything in its group, and the next run gets
 * a new worker and succeeds.
 */
static const struct {
	const char *plugin, *stage, *keys, *result;
} replaced[] = {
	{ "hostile_segv_run", "hostile-segv-run", "worker_pool = 2;", "crashed with SIGSEGV" },
	{ "hostile_hang_run", "hostile-hang-run", "worker_pool = 2; timeout = \"300ms\";",
	  "timed out after 300ms" },
	{ "hostile_exit_run", "hostile-exit-run", "worker_pool = 2;",
	  "did the plugin call exit()" },
};

START_TEST(pool_replaces_failed_worker)
{
	char *arm = NULL, *conf = NULL, *out = NULL;
	pid_t w[4];
	int fd;

	iso_init("", replaced[_i].plugin, "log", NULL);
	arm = strdup(daemon_path(&d, "arm"));
	ck_assert_int_ne(asprintf(&conf,
	                          "workers = 4;\nprobe_timeout = \"1s\";\npipelines = ( { name = "
	                          "\"p\"; steps = ( { id = \"a\"; stage = \"%s\"; isolation = "
	                          "\"process\"; %s params = { tag = \"A\"; arm = \"%s\"; }; }, { "
	                          "id = \"l\"; stage = \"log\"; after = \"a\"; params "
	                          "= { message = \"ran in ${pid.A}\"; }; } ); } );\n",
	                          replaced[_i].stage, replaced[_i].keys, arm),
	                 -1);
	daemon_write(&d, "gini.conf", conf);
	iso_start();
	ck_assert_int_eq(ctl(NULL, "run", "p", "--wait", NULL), 0);
	ck_assert_uint_eq(worker_pids(replaced[_i].stage, w, ARRAY_SIZE(w)), 1);
	ck_assert_uint_eq(ran_in(w[0]), 1);
	fd = open(arm, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(ctl(&out, "run", "p", "--wait", NULL), 1);
	ck_assert_msg(strstr(out, replaced[_i].result), "%s", out);
	ck_assert(group_gone(w[0]));
	ck_assert_int_eq(unlink(arm), 0);
	ck_assert_int_eq(ctl(NULL, "run", "p", "--wait", NULL), 0);
	ck_assert_uint_ge(worker_pids(replaced[_i].stage, w, ARRAY_SIZE(w)), 2);
	ck_assert(daemon_wait_log(&d, "step 'l': ran in", 2, 5000));
	ck_assert_int_ne(w[0], w[1]);
	iso_stop();
	assert_nothing_left(-1);
	free(out);
	free(conf);
	free(arm);
}
END_TEST

/* The four pids of the "step 'l': pids A B C D" line at p. */
static void
logged_pids(const char *p, long *ret_a, long *ret_b, long *ret_c, long *ret_d)
{
	const char *prefix = "step 'l': pids ";
	long *ret[] = { ret_a, ret_b, ret_c, ret_d };

	ck_assert_int_eq(strncmp(p, prefix, strlen(prefix)), 0);
	p += strlen(prefix);
	for (size_t i = 0; i < ARRAY_SIZE(ret); i++) {
		char *end;

		errno = 0;
		*ret[i] = strtol(p, &end, 10);
		ck_assert_msg(errno == 0 && end != p, "no pid %zu in '%.80s'", i + 1, p);
		p = end;
	}
}

/*
 * Two stage types, two limits and (as root) two users: each step keeps its
 * own worker over two runs, none shared.
 */
START_TEST(pool_not_shared)
{
	bool root = geteuid() == 0 && getpwnam("nobody");
	const char *user = root ? "user = \"nobody\";" : "nofile = 200;";
	_cleanup_free_ char *conf = NULL;
	pid_t sane[8], other[4], c_worker;

	ck_assert_int_ne(
	        asprintf(&conf,
	                 "{ name = \"p\"; steps = ("
	                 "{ id = \"a\"; stage = \"hostile-sane\"; isolation = \"process\"; "
	                 "worker_pool = 1; params = { tag = \"A\"; }; },"
	                 "{ id = \"b\"; stage = \"hostile-sane\"; isolation = \"process\"; "
	                 "worker_pool = 1; nofile = 100; params = { tag = \"B\"; }; },"
	                 "{ id = \"c\"; stage = \"hostile-sane\"; isolation = \"process\"; "
	                 "worker_pool = 1; %s params = { tag = \"C\"; }; },"
	                 "{ id = \"d\"; stage = \"hostile-abort-run\"; isolation = \"process\"; "
	                 "worker_pool = 1; params = { tag = \"D\"; arm = \"/nonexistent\"; }; },"
	                 "{ id = \"l\"; stage = \"log\"; after = [ \"a\", \"b\", \"c\", \"d\" ]; "
	                 "params = { message = \"pids ${pid.A} ${pid.B} ${pid.C} ${pid.D}\"; }; }"
	                 " ); }",
	                 user),
	        -1);
	iso_init(conf, "hostile_sane", "hostile_abort_run", "log", NULL);
	iso_start();
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(ctl(NULL, "run", "p", "--wait", NULL), 0);
	/* The probe, the params checks and workers of a and b, once each (c's,
	 * as nobody, cannot write the hooks file: its pid is in the log). */
	ck_assert_uint_eq(hook_pids("load", "hostile-sane", false, sane, ARRAY_SIZE(sane)), 5);
	ck_assert_uint_eq(worker_pids("hostile-abort-run", other, ARRAY_SIZE(other)), 1);
	ck_assert(daemon_wait_log(&d, "step 'l': pids", 2, 5000));
	{
		char *log = NULL;
		const char *p;

		ck_assert_int_eq(read_file(d.log, 256u << 20, &log, NULL), 0);
		p = strstr(log, "step 'l': pids ");
		long a, b, c, dd, a2, b2, c2, d2;

		ck_assert_ptr_nonnull(p);
		logged_pids(p, &a, &b, &c, &dd);
		p = strstr(p + 1, "step 'l': pids ");
		ck_assert_ptr_nonnull(p);
		logged_pids(p, &a2, &b2, &c2, &d2);
		/* Reused, each by its own step... */
		ck_assert_int_eq(a, a2);
		ck_assert_int_eq(b, b2);
		ck_assert_int_eq(c, c2);
		ck_assert_int_eq(dd, d2);
		ck_assert_int_eq(dd, (int)other[0]);
		/* ...and no two the same. */
		ck_assert_int_ne(a, b);
		ck_assert_int_ne(a, c);
		ck_assert_int_ne(b, c);
		ck_assert_int_ne(a, dd);
		c_worker = (pid_t)c;
		free(log);
	}
	iso_stop();
	ck_assert(group_gone(c_worker));
	assert_nothing_left(-1);
}
END_TEST

/* worker_max_runs = 2: three runs take two workers; the first is gone. */
START_TEST(pool_max_runs)
{
	pid_t w[4];

	iso_init(POOLED("hostile-sane", "worker_pool = 1; worker_max_runs = 2;", ""),
	         "hostile_sane", "log", NULL);
	iso_start();
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(ctl(NULL, "run", "p", "--wait", NULL), 0);
	ck_assert_uint_eq(worker_pids("hostile-sane", w, ARRAY_SIZE(w)), 2);
	ck_assert(daemon_wait_log(&d, "step 'l': ran in", 3, 5000));
	ck_assert_uint_eq(ran_in(w[0]), 2);
	ck_assert_uint_eq(ran_in(w[1]), 1);
	ck_assert(group_gone(w[0]));
	ck_assert(alive(w[1]));
	iso_stop();
	assert_nothing_left(-1);
}
END_TEST

/* A reload ends the idle workers: the next run gets a new one. */
START_TEST(pool_drained_at_reload)
{
	pid_t w[4];

	iso_init(POOLED("hostile-sane", "worker_pool = 1;", ""), "hostile_sane", "log", NULL);
	iso_start();
	ck_assert_int_eq(ctl(NULL, "run", "p", "--wait", NULL), 0);
	ck_assert_uint_eq(worker_pids("hostile-sane", w, ARRAY_SIZE(w)), 1);
	ck_assert(alive(w[0]));
	ck_assert_int_eq(ctl(NULL, "reload", NULL), 0);
	ck_assert(group_gone(w[0]));
	ck_assert_int_eq(ctl(NULL, "run", "p", "--wait", NULL), 0);
	/* The reload checked the params again in a worker of its own. */
	ck_assert_uint_eq(worker_pids("hostile-sane", w, ARRAY_SIZE(w)), 3);
	ck_assert(daemon_wait_log(&d, "step 'l': ran in", 2, 5000));
	ck_assert_uint_eq(ran_in(w[0]), 1);
	ck_assert_uint_eq(ran_in(w[2]), 1);
	iso_stop();
	assert_nothing_left(-1);
}
END_TEST

/*
 * A run that leaves a process in its worker's cgroup (a child of the
 * plugin's that sleeps for ever) costs that worker: the next run gets a new
 * one, and the leftover goes with the old worker.
 */
START_TEST(pool_not_reused_with_leftover)
{
	pid_t w[4];

	iso_init(POOLED("hostile-sane", "worker_pool = 1;", "fork = true;"), "hostile_sane", "log",
	         NULL);
	iso_start();
	/* Without a cgroup, leftovers are found only when the worker ends. */
	if (daemon_log_count(&d, "no cgroup for steps")) {
		printf("skipped: pool_not_reused_with_leftover needs a writable cgroup v2\n");
		return;
	}
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(ctl(NULL, "run", "p", "--wait", NULL), 0);
	ck_assert_uint_eq(worker_pids("hostile-sane", w, ARRAY_SIZE(w)), 2);
	ck_assert_int_ne(w[0], w[1]);
	ck_assert(group_gone(w[0]));
	iso_stop();
	assert_nothing_left(-1);
}
END_TEST

/*
 * A step that honours its cancellation at its timeout still answers, but
 * its worker is killed, never given back: the daemon has no child left.
 */
START_TEST(pool_not_reused_after_cancel)
{
	_cleanup_free_ char *out = NULL;
	char desc[256];
	size_t n = 0;

	iso_init("{ name = \"p\"; steps = ( { id = \"s\"; stage = \"sleep\"; isolation = "
	         "\"process\"; worker_pool = 1; timeout = \"200ms\"; params = { duration = "
	         "\"60s\"; }; } ); }, { name = \"q\"; steps = ( { id = \"s\"; stage = "
	         "\"sleep\"; isolation = \"process\"; worker_pool = 1; params = { duration = "
	         "\"1ms\"; }; } ); }",
	         "sleep", NULL);
	iso_start();
	ck_assert_int_eq(ctl(&out, "run", "p", "--wait", NULL), 1);
	ck_assert_msg(strstr(out, "timed-out"), "%s", out);
	for (int i = 0; i < 300 && (n = count_procs(d.pid, false, desc, sizeof(desc))); i++)
		sleep_ms(10);
	ck_assert_msg(n == 0, "ginid kept a worker:%s", desc);
	/* The same identity's pool still serves a quick step, and keeps it. */
	ck_assert_int_eq(ctl(NULL, "run", "q", "--wait", NULL), 0);
	ck_assert_uint_eq(count_procs(d.pid, false, desc, sizeof(desc)), 1);
	iso_stop();
	assert_nothing_left(-1);
}
END_TEST

/*
 * The cancellation reaches a step in a worker that served a run before
 * (its watch is armed per run): the step stops at its timeout and answers,
 * it is not killed after the grace.
 */
START_TEST(pool_cancel_reaches_reused_worker)
{
	_cleanup_free_ char *out = NULL;
	char desc[256];

	iso_init("{ name = \"q\"; steps = ( { id = \"s\"; stage = \"sleep\"; isolation = "
	         "\"process\"; worker_pool = 1; params = { duration = \"1ms\"; }; } ); }, "
	         "{ name = \"p\"; steps = ( { id = \"s\"; stage = \"sleep\"; isolation = "
	         "\"process\"; worker_pool = 1; timeout = \"200ms\"; "
	         "params = { duration = \"60s\"; }; } ); }",
	         "sleep", NULL);
	iso_start();
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(ctl(NULL, "run", "q", "--wait", NULL), 0);
	ck_assert_uint_eq(count_procs(d.pid, false, desc, sizeof(desc)), 1);
	ck_assert_int_eq(ctl(&out, "run", "p", "--wait", NULL), 1);
	ck_assert_msg(strstr(out, "timed-out") && !strstr(out, "killed"), "%s", out);
	iso_stop();
	assert_nothing_left(-1);
}
END_TEST

/* A worker killed from outside while idle is replaced, not blamed. */
START_TEST(pool_replaces_dead_idle_worker)
{
	_cleanup_free_ char *out = NULL;
	pid_t w[4];

	iso_init(POOLED("hostile-sane", "worker_pool = 1;", ""), "hostile_sane", "log", NULL);
	iso_start();
	ck_assert_int_eq(ctl(NULL, "run", "p", "--wait", NULL), 0);
	ck_assert_uint_eq(worker_pids("hostile-sane", w, ARRAY_SIZE(w)), 1);
	ck_assert_int_eq(kill(w[0], SIGKILL), 0);
	for (int i = 0; i < 500; i++) {
		struct proc p;

		if (!proc_read(w[0], &p) || p.state == 'Z')
			break;
		sleep_ms(10);
	}
	ck_assert_int_eq(ctl(&out, "run", "p", "--wait", NULL), 0);
	ck_assert_uint_eq(worker_pids("hostile-sane", w, ARRAY_SIZE(w)), 2);
	ck_assert(daemon_wait_log(&d, "step 'l': ran in", 2, 5000));
	ck_assert_uint_eq(ran_in(w[1]), 1);
	iso_stop();
	assert_nothing_left(-1);
}
END_TEST

/*
 * The context both ways through a warm worker, run after run (the runs
 * after the first go in binary frames): in-process -> pooled -> in-process,
 * a removal included, and params of several types.
 */
START_TEST(pool_passes_context)
{
	char line[256];
	pid_t w[4];

	iso_init("{ name = \"mix\"; steps = ("
	         "{ id = \"a\"; stage = \"hostile-sane\"; params = { tag = \"A\"; output = "
	         "\"k1\"; }; },"
	         "{ id = \"b\"; stage = \"hostile-sane\"; after = \"a\"; isolation = \"process\"; "
	         "worker_pool = 1; params = { input = \"k1\"; tag = \"B\"; output = \"k2\"; "
	         "unset = \"pid.A\"; epipe = true; bytes = 12; }; },"
	         "{ id = \"c\"; stage = \"hostile-sane\"; after = \"b\"; params = { input = "
	         "\"k2\"; tag = \"C\"; output = \"k3\"; }; },"
	         "{ id = \"l\"; stage = \"log\"; after = \"c\"; params = { message = \"k3=${k3} "
	         "pidA=${pid.A} pidB=${pid.B} epipe=${epipe}\"; }; } ); }",
	         "hostile_sane", "log", NULL);
	iso_start();
	for (int i = 0; i < 3; i++) {
		_cleanup_free_ char *out = NULL;

		ck_assert_int_eq(ctl(&out, "run", "mix", "--wait", NULL), 0);
		ck_assert_msg(strstr(out, "k3 = 'ABC'"), "%s", out);
	}
	ck_assert_uint_eq(worker_pids("hostile-sane", w, ARRAY_SIZE(w)), 1);
	snprintf(line, sizeof(line), "k3=ABC pidA= pidB=%d epipe=EPIPE", (int)w[0]);
	ck_assert_msg(daemon_wait_log(&d, line, 3, 5000), "no 3 x '%s' in the log", line);
	iso_stop();
	assert_nothing_left(-1);
}
END_TEST

/* Whether the eventfd fd has a count to read; reads it. */
static bool
efd_readable(int fd)
{
	eventfd_t v;

	return eventfd_read(fd, &v) == 0 && v > 0;
}

/*
 * A pooled worker's eventfd, lent to each run's cancel in turn: it is what
 * cancel_get_fd() returns, it is written when the cancel fires (at once if
 * it had), it is not the cancel's to close, and once taken back a cancel
 * firing later leaves it alone.
 */
START_TEST(cancel_fd_lent)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct cancel c;

	ck_assert_int_ge(fd, 0);
	cancel_init(&c, 0);
	ck_assert_int_eq(cancel_lend_fd(&c, fd), fd);
	ck_assert_int_eq(cancel_get_fd(&c), fd);
	ck_assert(!efd_readable(fd));
	cancel_fire(&c);
	ck_assert(efd_readable(fd));
	cancel_return_fd(&c);
	cancel_done(&c);
	ck_assert_int_eq(fcntl(fd, F_GETFD), FD_CLOEXEC); /* still open */

	/* Fired before the loan: written at once. */
	cancel_init(&c, 0);
	cancel_fire(&c);
	ck_assert_int_eq(cancel_lend_fd(&c, fd), fd);
	ck_assert(efd_readable(fd));
	cancel_return_fd(&c);
	cancel_done(&c);

	/* Taken back, then fired: not written; the cancel's own fd is
	 * another. */
	cancel_init(&c, 0);
	(void)cancel_lend_fd(&c, fd);
	cancel_return_fd(&c);
	cancel_fire(&c);
	ck_assert(!efd_readable(fd));
	ck_assert_int_ne(cancel_get_fd(&c), fd);
	cancel_done(&c);

	/* A cancel with an fd of its own keeps it. */
	cancel_init(&c, 0);
	ck_assert_int_ge(cancel_get_fd(&c), 0);
	ck_assert_int_ne(cancel_lend_fd(&c, fd), fd);
	cancel_return_fd(&c);
	cancel_done(&c);
	ck_assert_int_eq(close(fd), 0);
}
END_TEST

/* How many times the thread tid of pid went to sleep of its own accord. */
static long
voluntary_switches(pid_t pid, pid_t tid)
{
	_cleanup_free_ char *text = NULL;
	char path[96];
	const char *p;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	ck_assert_int_eq(read_file(path, 1 << 16, &text, NULL), 0);
	p = strstr(text, "\nvoluntary_ctxt_switches:");
	ck_assert_ptr_nonnull(p);
	return strtol(p + strlen("\nvoluntary_ctxt_switches:"), NULL, 10);
}

/*
 * A warm worker's main thread sleeps once per run, waiting for the
 * request, and is not woken again when the daemon reads its answer (a
 * sleeper in recv() on a unix socket is, each time the peer reads: that was
 * a second wake-up per step, on the other CPU). Counted, not timed; a
 * request that arrives before it sleeps costs none.
 */
START_TEST(pool_worker_wakes_once_per_run)
{
	enum { RUNS = 20 };
	pid_t w[4];
	long before, after;

	iso_init(POOLED("hostile-sane", "worker_pool = 1;", ""), "hostile_sane", "log", NULL);
	iso_start();
	ck_assert_int_eq(ctl(NULL, "run", "p", "--wait", NULL), 0);
	ck_assert_uint_eq(worker_pids("hostile-sane", w, ARRAY_SIZE(w)), 1);
	before = voluntary_switches(w[0], w[0]);
	for (int i = 0; i < RUNS; i++)
		ck_assert_int_eq(ctl(NULL, "run", "p", "--wait", NULL), 0);
	after = voluntary_switches(w[0], w[0]);
	ck_assert_uint_eq(worker_pids("hostile-sane", w, ARRAY_SIZE(w)), 1);
	ck_assert_msg(after - before <= RUNS + RUNS / 4,
	              "the worker slept %ld times in %d runs (once each expected)", after - before,
	              RUNS);
	iso_stop();
	assert_nothing_left(-1);
}
END_TEST

/* Bad values name the file and line. */
START_TEST(pool_keys_checked)
{
	iso_init(POOLED("hostile-sane", "worker_pool = 65;", ""), "hostile_sane", "log", NULL);
	daemon_spawn(&d, plugins, NULL);
	ck_assert_int_ne(daemon_wait_exit(&d, 20000), 0);
	ck_assert(daemon_wait_log(&d, "worker_pool", 1, 100));
}
END_TEST

void
isolation_pool_add_tcases(Suite *s)
{
	TCase *tc = tcase_create("pool");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_tags(tc, "daemon");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, pool_reuses_worker);
	tcase_add_test(tc, no_pool_one_worker_per_run);
	tcase_add_loop_test(tc, pool_replaces_failed_worker, 0, (int)ARRAY_SIZE(replaced));
	tcase_add_test(tc, pool_not_shared);
	tcase_add_test(tc, pool_max_runs);
	tcase_add_test(tc, pool_not_reused_with_leftover);
	tcase_add_test(tc, pool_not_reused_after_cancel);
	tcase_add_test(tc, pool_cancel_reaches_reused_worker);
	tcase_add_test(tc, pool_replaces_dead_idle_worker);
	tcase_add_test(tc, pool_worker_wakes_once_per_run);
	tcase_add_test(tc, pool_passes_context);
	tcase_add_test(tc, pool_drained_at_reload);
	tcase_add_test(tc, pool_keys_checked);
	suite_add_tcase(s, tc);

	tc = tcase_create("cancel_fd");
	tcase_add_test(tc, cancel_fd_lent);
	suite_add_tcase(s, tc);
}
