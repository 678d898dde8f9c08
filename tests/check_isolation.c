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
 */
#include "tests.h"

#include "daemon.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef GINI_TEST_SANITIZE
#define GINI_TEST_SANITIZE ""
#endif

static struct daemon d;
static char *plugins; /* d.dir/stages, the only plugin directory */
static char *hooks;   /* d.dir/hooks.log, $GINI_TEST_HOOKS */
/* Every ginid this test started, so their own hook lines can be told apart. */
static pid_t daemons[8];
static size_t n_daemons;

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void
add_option(const char *var, const char *opt)
{
	const char *old = getenv(var);
	char *v;

	ck_assert_int_ne(asprintf(&v, "%s%s%s", old ? old : "", old && *old ? ":" : "", opt), -1);
	setenv(var, v, 1);
	free(v);
}

static void
setup(void)
{
	/*
	 * Under the sanitizers, a SIGSEGV in a probe or a worker must stay a
	 * SIGSEGV, as in a production build, instead of becoming a sanitizer
	 * report that ends in abort().
	 */
	if (*GINI_TEST_SANITIZE) {
		add_option("ASAN_OPTIONS", "handle_segv=0");
		add_option("TSAN_OPTIONS", "handle_segv=0");
	}
	n_daemons = 0;
}

static void
teardown(void)
{
	daemon_done(&d);
	free(plugins);
	free(hooks);
	plugins = hooks = NULL;
	unsetenv("GINI_TEST_HOOKS");
}

/* Copies a plugin into the test's plugin directory: hostile_* and the other
 * test plugins from the build's tests/plugins, the rest from its stages. */
static void
add_plugin(const char *name, const char *as)
{
	char from[4096], to[4096];

	snprintf(from, sizeof(from), "%s/tests/plugins/%s.so", test_build_dir(), name);
	if (access(from, F_OK) < 0)
		snprintf(from, sizeof(from), "%s/stages/%s.so", test_build_dir(), name);
	snprintf(to, sizeof(to), "%s/%s.so", plugins, as ? as : name);
	test_copy_file(from, to, 0755);
}

/*
 * A daemon directory whose gini.conf holds pipelines (the inside of
 * "pipelines = ( ... );"), with probe_timeout = "1s" to keep the hangs
 * short, and a plugin directory with the NULL-terminated list of plugins.
 */
static void
iso_init(const char *pipelines, ...)
{
	char *conf;
	va_list ap;

	ck_assert_int_ne(asprintf(&conf,
	                          "workers = 4;\nprobe_timeout = \"1s\";\npipelines = (\n%s\n);\n",
	                          pipelines),
	                 -1);
	daemon_init(&d, "isolation", conf);
	free(conf);
	plugins = strdup(daemon_path(&d, "stages"));
	hooks = strdup(daemon_path(&d, "hooks.log"));
	ck_assert_int_eq(mkdir(plugins, 0755), 0);
	setenv("GINI_TEST_HOOKS", hooks, 1);
	va_start(ap, pipelines);
	for (const char *p; (p = va_arg(ap, const char *));)
		add_plugin(p, NULL);
	va_end(ap);
}

static char *
read_log(void)
{
	char *text = NULL;

	ck_assert_int_eq(read_file(d.log, 256u << 20, &text, NULL), 0);
	return text;
}

static void
iso_start(void)
{
	daemon_spawn(&d, plugins, NULL);
	if (!daemon_wait_notify(&d, "READY=1", 30000)) {
		_cleanup_free_ char *log = read_log();
		size_t len = strlen(log);

		/* The end of it: Check's messages are short. */
		fprintf(stderr, "%s\n", log + (len > 8000 ? len - 8000 : 0));
		ck_abort_msg("ginid did not become ready; the end of its log is above");
	}
	ck_assert_uint_lt(n_daemons, ARRAY_SIZE(daemons));
	daemons[n_daemons++] = d.pid;
}

/* Stops the daemon (it must exit 0) and forgets its notifications. */
static void
iso_stop(void)
{
	int st;

	daemon_signal(&d, SIGTERM);
	st = daemon_wait_exit(&d, 20000);
	ck_assert_int_ne(st, -1);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	free(d.notified);
	d.notified = NULL;
	d.notified_len = 0;
}

/* Runs ginictl against the daemon (NULL-terminated arguments); returns its
 * exit status, and its stdout and stderr in *ret_out (if not NULL). */
static int
ctl(char **ret_out, const char *arg, ...)
{
	_cleanup_free_ char *prog = strdup(test_build_path("ginictl"));
	char *argv[16], *out = NULL, *err = NULL;
	size_t n = 0;
	va_list ap;
	int st;

	argv[n++] = prog;
	argv[n++] = "-s";
	argv[n++] = d.socket;
	va_start(ap, arg);
	for (const char *a = arg; a && n < ARRAY_SIZE(argv) - 1; a = va_arg(ap, const char *))
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	st = run_command(argv, &out, &err, 60000);
	if (ret_out) {
		ck_assert_int_ne(asprintf(ret_out, "%s%s", out, err), -1);
	}
	free(out);
	free(err);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* `ginictl status` answers, and its output contains text (if not NULL). */
static void
assert_status_answers(const char *text)
{
	_cleanup_free_ char *out = NULL;

	ck_assert_int_eq(ctl(&out, "status", NULL), 0);
	if (text)
		ck_assert_msg(strstr(out, text), "'%s' not in ginictl status:\n%s", text, out);
}

/* --- processes and descriptors, from /proc --- */

struct proc {
	pid_t pid, ppid, pgrp;
	char state;
};

static bool
proc_read(pid_t pid, struct proc *ret)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	/* "PID (COMM) STATE PPID PGRP ...", and COMM may hold anything. */
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ' || !p[2] || p[3] != ' ')
		return false;
	ret->state = p[2];
	ret->ppid = (pid_t)strtol(p + 4, &p, 10);
	if (*p != ' ')
		return false;
	ret->pgrp = (pid_t)strtol(p + 1, &p, 10);
	ret->pid = pid;
	return *p == ' ';
}

/*
 * Counts the processes whose parent (by_group false) or process group (true)
 * is id, describing the first few in desc.
 */
static size_t
count_procs(pid_t id, bool by_group, char *desc, size_t size)
{
	DIR *dir = opendir("/proc");
	struct dirent *e;
	size_t n = 0, off = 0;

	ck_assert_ptr_nonnull(dir);
	desc[0] = 0;
	while ((e = readdir(dir))) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		struct proc p;

		if (*end || pid <= 0 || !proc_read((pid_t)pid, &p))
			continue;
		if ((by_group ? p.pgrp : p.ppid) != id)
			continue;
		/* In a group, only the living count: a dead process is its
		 * parent's to reap (and a container's init may never do it). */
		if (by_group && p.state == 'Z')
			continue;
		n++;
		if (off < size)
			off += (size_t)snprintf(desc + off, size - off,
			                        " pid %d (state %c, ppid %d, pgrp %d)", (int)p.pid,
			                        p.state, (int)p.ppid, (int)p.pgrp);
	}
	closedir(dir);
	return n;
}

static int
count_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	ck_assert_ptr_nonnull(dir);
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/* The daemon's descriptors once nothing is in flight: waits for the count to
 * settle (a ginictl connection may be closing just now). */
static int
settled_fds(void)
{
	int n = count_fds(d.pid);

	for (int i = 0; i < 20; i++) {
		int m;

		sleep_ms(50);
		m = count_fds(d.pid);
		if (m == n && i >= 2)
			break;
		n = m;
	}
	return n;
}

static bool
is_daemon(pid_t pid)
{
	for (size_t i = 0; i < n_daemons; i++)
		if (daemons[i] == pid)
			return true;
	return false;
}

/*
 * Pids from the hooks file's "VERB ID PID" lines: with mine, those of the
 * daemons; else those of probes and workers. id NULL: any.
 */
static size_t
hook_pids(const char *verb, const char *id, bool mine, pid_t *ret, size_t max)
{
	_cleanup_free_ char *text = NULL;
	size_t n = 0;

	if (read_file(hooks, 1 << 20, &text, NULL) < 0)
		return 0;
	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		/* "VERB ID PID" */
		char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL, *end;
		long pid;

		if (!sp2)
			continue;
		*sp1 = *sp2 = 0;
		pid = strtol(sp2 + 1, &end, 10);
		if (*end || pid <= 0 || strcmp(line, verb) != 0 ||
		    (id && strcmp(sp1 + 1, id) != 0) || is_daemon((pid_t)pid) != mine)
			continue;
		if (ret && n < max)
			ret[n] = pid;
		n++;
	}
	return n;
}

/*
 * No child of the daemon, no process left in the group of any probe or
 * worker the hooks file names, and (fds_before >= 0) the daemon's
 * descriptors back to fds_before.
 */
static void
assert_nothing_left(int fds_before)
{
	pid_t helpers[256];
	size_t n_helpers = hook_pids("load", NULL, false, helpers, ARRAY_SIZE(helpers));
	char desc[1024];
	size_t n = 0;

	for (int i = 0; i < 300 && (n = count_procs(d.pid, false, desc, sizeof(desc))); i++)
		sleep_ms(10);
	ck_assert_msg(n == 0, "ginid (pid %d) has %zu children left:%s", (int)d.pid, n, desc);
	for (size_t i = 0; i < MIN(n_helpers, ARRAY_SIZE(helpers)); i++) {
		n = count_procs(helpers[i], true, desc, sizeof(desc));
		ck_assert_msg(n == 0, "process group %d (a probe or worker) is not empty:%s",
		              (int)helpers[i], desc);
	}
	if (fds_before >= 0) {
		int fds = settled_fds();

		ck_assert_msg(fds == fds_before, "ginid has %d descriptors open, %d before", fds,
		              fds_before);
	}
}

/* The value of a stage's counter in `ginictl --json stages`, -1 if absent. */
static long long
stage_counter(const char *id, const char *counter)
{
	_cleanup_free_ char *out = NULL;
	long long v = -1;
	json_t *r, *items;

	ck_assert_int_eq(ctl(&out, "--json", "stages", NULL), 0);
	r = json_loads(out, 0, NULL);
	ck_assert_ptr_nonnull(r);
	items = json_object_get(r, "items");
	for (size_t i = 0; i < json_array_size(items); i++) {
		json_t *s = json_array_get(items, i), *c = json_object_get(s, counter);

		if (json_is_string(json_object_get(s, "id")) &&
		    streq(json_string_value(json_object_get(s, "id")), id) && json_is_integer(c))
			v = (long long)json_integer_value(c);
	}
	json_decref(r);
	return v;
}

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

#define SANE_PIPELINE                                                                              \
	"{ name = \"ok\"; steps = ( { id = \"a\"; stage = \"hostile-sane\"; params = { tag = "     \
	"\"A\"; }; }, { id = \"l\"; stage = \"log\"; after = \"a\"; params = { message = "         \
	"\"ok saw ${out}\"; }; } ); }"

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

/* --- in-process steps: plugin files, crashes, abandoned workers --- */

/* Overwrites path in place, as cp does: O_TRUNC, then the bytes of from. */
static void
overwrite_in_place(const char *from, const char *path)
{
	_cleanup_free_ char *data = NULL;
	size_t size = 0, off = 0;
	int fd;

	ck_assert_int_eq(read_file(from, 64u << 20, &data, &size), 0);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);

		ck_assert_int_gt(n, 0);
		off += (size_t)n;
	}
	ck_assert_int_eq(close(fd), 0);
}

/*
 * Issue 16 item 3: a plugin overwritten in place (cp, not mv) while a step
 * of it runs, then SIGHUP, crashed the daemon, and the run in flight ran
 * the new file's code. Now the running step ends with the old code's
 * result, the daemon survives, and the reload loads the new version.
 */
START_TEST(plugin_overwritten_in_place)
{
	char src[4096], line[128];
	int st;

	iso_init("{ name = \"v\"; overlap = \"parallel\"; steps = ( { id = \"s\"; stage = "
	         "\"versioned\"; params = { sleep = \"1500ms\"; }; }, { id = \"l\"; stage = "
	         "\"log\"; after = \"s\"; params = { message = \"ran ${version}\"; }; } ); }",
	         "log", NULL);
	add_plugin("versioned_v1", "versioned");
	iso_start();
#define MINE(what) (snprintf(line, sizeof(line), "%s %d\n", what, (int)d.pid), line)
	ck_assert_int_eq(ctl(NULL, "run", "v", NULL), 0);
	ck_assert(wait_file(hooks, MINE("start 1.0.0"), 10000));
	snprintf(src, sizeof(src), "%s/tests/plugins/versioned_v2.so", test_build_dir());
	overwrite_in_place(src, daemon_path(&d, "stages/versioned.so"));
	daemon_signal(&d, SIGHUP);
	ck_assert(daemon_wait_log(&d,
	                          "reloaded: generation 2 with 2 stage types (1 loaded, 1 "
	                          "unchanged)",
	                          1, 10000));
	/* The step in flight finished with the code it started with. */
	ck_assert(wait_file(hooks, MINE("end 1.0.0"), 10000));
	ck_assert(daemon_wait_log(&d, "step 'l': ran 1.0.0", 1, 10000));
	ck_assert(daemon_wait_log(&d, "pipeline 'v': success", 1, 10000));
	ck_assert_uint_eq(file_count(hooks, "end 2.0.0"), 0);
	/* And the reload took the new file. */
	ck_assert_int_eq(ctl(NULL, "run", "v", "--wait", NULL), 0);
	ck_assert(daemon_wait_log(&d, "step 'l': ran 2.0.0", 1, 10000));
	ck_assert_uint_eq(daemon_log_count(&d, "step 'l': ran 1.0.0"), 1);
	ck_assert(wait_file(hooks, MINE("unload 1.0.0"), 10000));
#undef MINE
	ck_assert_int_eq(kill(d.pid, 0), 0);
	iso_stop();
	(void)st;
}
END_TEST

/*
 * Issue 16 item 12: an in-process step that crashes the daemon leaves one
 * line naming its stage, plugin file, pipeline and run, and the daemon
 * dies of the real signal.
 */
START_TEST(crash_names_the_step)
{
	_cleanup_free_ char *log = NULL;
	char expect[4096];
	int st;

	if (*GINI_TEST_SANITIZE) {
		fprintf(stderr, "isolation: crash line test skipped (the sanitizers own SIGSEGV; "
		                "ginid installs no crash handler under them)\n");
		return;
	}
	iso_init("{ name = \"boom\"; steps = ( { id = \"bang\"; stage = \"hostile-segv-run\"; "
	         "} ); }",
	         "hostile_segv_run", NULL);
	iso_start();
	ck_assert_int_ne(ctl(NULL, "run", "boom", "--wait", NULL), 0);
	st = daemon_wait_exit(&d, 20000);
	ck_assert_int_ne(st, -1);
	ck_assert(WIFSIGNALED(st));
	ck_assert_int_eq(WTERMSIG(st), SIGSEGV);
	snprintf(expect, sizeof(expect),
	         ": pipeline 'boom': step 'bang': stage 'hostile-segv-run' (plugin "
	         "%s/hostile_segv_run.so) crashed the daemon with SIGSEGV in run()\n",
	         plugins);
	log = read_log();
	ck_assert_msg(strstr(log, expect), "no '%s' in:\n%s", expect, log);
	ck_assert_uint_eq(daemon_log_count(&d, "crashed the daemon"), 1);
	ck_assert_ptr_nonnull(strstr(log, "\nrun 1: pipeline 'boom'"));
}
END_TEST

/*
 * Issue 16 item 12: an in-process step that ignores its cancellation is
 * abandoned after its timeout and the overrun grace: its run ends, its
 * pipeline can run again, and status and metrics count the stuck worker
 * until its stage returns.
 */
START_TEST(ignored_cancellation_is_abandoned)
{
	_cleanup_free_ char *out = NULL, *json = NULL;
	char line[64];

	iso_init("{ name = \"stuck\"; steps = ( { id = \"nap\"; stage = \"stubborn\"; timeout = "
	         "\"200ms\"; params = { sleep = \"9s\"; }; } ); }",
	         "stubborn", NULL);
	iso_start();
	/* Timeout, then 5 s of grace: the run ends (failed) while run() sleeps. */
	ck_assert_int_eq(ctl(&out, "run", "stuck", "--wait", NULL), 1);
	ck_assert(daemon_wait_log(&d, "step 'nap': abandoned: timed out after 200ms", 1, 1000));
	ck_assert(daemon_wait_log(&d, "pipeline 'stuck': failed", 1, 1000));
	ck_assert_uint_eq(file_count(hooks, "returned"), 0);
	assert_status_answers("abandoned:      1 worker stuck");
	ck_assert_int_eq(ctl(&json, "metrics", NULL), 0);
	ck_assert_ptr_nonnull(strstr(json, "\ngini_workers_abandoned 1\n"));
	free(json);
	json = NULL;
	/* The pipeline is not "running" any more: it starts again. */
	ck_assert_int_eq(ctl(NULL, "run", "stuck", NULL), 0);
	ck_assert(daemon_wait_log(&d, "pipeline 'stuck': started", 2, 5000));
	/* The first stage returns at last: its worker leaves, nothing breaks. */
	snprintf(line, sizeof(line), "returned %d", (int)d.pid);
	ck_assert(wait_file(hooks, line, 15000));
	ck_assert(daemon_wait_log(&d, "the abandoned stage returned at last", 1, 5000));
	ck_assert(daemon_wait_log(&d, "the abandoned stage returned at last", 2, 15000));
	ck_assert_int_eq(ctl(&json, "metrics", NULL), 0);
	ck_assert_ptr_nonnull(strstr(json, "\ngini_workers_abandoned 0\n"));
	iso_stop();
}
END_TEST

/*
 * Issue 11 item 7: each callback runs where gini-stage(3) says, in which
 * process and on which thread ("main" is the process's main thread, ginid's
 * loop thread; "other" a worker thread).
 */
START_TEST(callbacks_run_where_documented)
{
	static const struct {
		const char *callback, *where[3];
	} allowed[] = {
		{ "load", { "ginid main", "gini-probe main", "gini-worker main" } },
		{ "unload", { "ginid main", "gini-probe main", "gini-worker main" } },
		{ "create", { "ginid main", "gini-worker main" } },
		{ "destroy", { "ginid main", "gini-worker main" } },
		{ "run", { "ginid other", "gini-worker main" } },
		{ "describe", { "ginid other" } },
		{ "check", { "ginid other" } },
	};
	/* And each of these happened. */
	static const char *const seen[] = {
		"load gini-probe main",     "unload gini-probe main",  "load ginid main",
		"create ginid main",        "run ginid other",         "describe ginid other",
		"check ginid other",        "destroy ginid main",      "unload ginid main",
		"load gini-worker main",    "create gini-worker main", "run gini-worker main",
		"destroy gini-worker main", "unload gini-worker main",
	};
	_cleanup_free_ char *sites = NULL, *text = NULL;
	char *save = NULL;

	iso_init("{ name = \"here\"; steps = ( { id = \"a\"; stage = \"callsites\"; } ); },\n"
	         "{ name = \"there\"; steps = ( { id = \"b\"; stage = \"callsites\"; isolation = "
	         "\"process\"; } ); }",
	         "callsites", NULL);
	sites = strdup(daemon_path(&d, "callsites.log"));
	setenv("GINI_TEST_CALLSITES", sites, 1);
	iso_start();
	ck_assert_int_eq(ctl(NULL, "run", "here", "--wait", NULL), 0);
	ck_assert_int_eq(ctl(NULL, "run", "here", "--dry-run", "--wait", NULL), 0);
	ck_assert_int_eq(ctl(NULL, "run", "there", "--wait", NULL), 0);
	ck_assert_int_eq(ctl(NULL, "run", "there", "--dry-run", "--wait", NULL), 0);
	/* A reload compiles the steps again; the old instances go. */
	test_write_file(d.conf,
	                "pipelines = ( { name = \"more\"; steps = ( { id = \"c\"; stage = "
	                "\"callsites\"; } ); } );\n",
	                0644);
	daemon_signal(&d, SIGHUP);
	ck_assert(daemon_wait_log(&d, "reloaded: generation 2", 1, 10000));
	iso_stop();
	unsetenv("GINI_TEST_CALLSITES");
	ck_assert_int_eq(read_file(sites, 1 << 20, &text, NULL), 0);
	for (size_t i = 0; i < ARRAY_SIZE(seen); i++)
		ck_assert_msg(strstr(text, seen[i]), "never saw '%s' in:\n%s", seen[i], text);
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		const char *where = strchr(l, ' ');
		bool ok = false;

		ck_assert_ptr_nonnull(where);
		for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
			if (!strncmp(l, allowed[i].callback, (size_t)(where - l)) &&
			    !allowed[i].callback[where - l])
				for (size_t k = 0; k < 3 && allowed[i].where[k]; k++)
					ok = ok || !strcmp(where + 1, allowed[i].where[k]);
		ck_assert_msg(ok, "'%s' is not where gini-stage(3) says", l);
	}
}
END_TEST

Suite *
isolation_suite(void)
{
	Suite *s = suite_create("isolation");
	TCase *tc;

	tc = tcase_create("probe");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_tags(tc, "daemon");
	tcase_add_test(tc, probe_refuses_hostile_loads);
	tcase_add_test(tc, probe_cache_survives_restart);
	tcase_add_test(tc, probe_not_started_is_not_remembered);
	tcase_add_test(tc, inspect_survives_hostile_files);
	suite_add_tcase(s, tc);

	tc = tcase_create("steps");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_tags(tc, "daemon");
	tcase_add_loop_test(tc, isolated_run_failures, 0, (int)ARRAY_SIZE(run_cases));
	tcase_add_test(tc, isolated_garbage_output);
	tcase_add_test(tc, mixed_pipeline_context);
	tcase_add_test(tc, dry_run_of_isolated_step);
	tcase_add_test(tc, shutdown_kills_hung_worker);
	tcase_add_test(tc, create_failures_at_config_load);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_tags(tc, "daemon");
	tcase_add_test(tc, memory_max_limits_step);
	tcase_add_test(tc, cpu_max_limits_step);
	tcase_add_test(tc, nofile_limits_step);
	tcase_add_test(tc, user_and_group);
	suite_add_tcase(s, tc);

	tc = tcase_create("in-process");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_tags(tc, "daemon");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, plugin_overwritten_in_place);
	tcase_add_test(tc, crash_names_the_step);
	tcase_add_test(tc, ignored_cancellation_is_abandoned);
	tcase_add_test(tc, callbacks_run_where_documented);
	suite_add_tcase(s, tc);
	return s;
}
