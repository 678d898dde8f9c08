/* SPDX-License-Identifier: MIT */
/*
 * The isolation suite's harness, shared by its files (check_isolation.c:
 * isolated steps and their limits; check_isolation_probe.c: probing at
 * load; check_isolation_inproc.c: in-process plugins; check_isolation_frame.c:
 * the protocol's binary frames, without a daemon): one real ginid per
 * test with the hostile corpus (tests/plugins/hostile.h) in its plugin
 * directory, ginictl, and the /proc checks that nothing is left behind.
 * Each file that includes it has its own copy of the state below (Check
 * runs each test in a process of its own anyway); everything is static
 * inline so a file takes what it uses.
 */
#pragma once

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

static inline void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static inline void
add_option(const char *var, const char *opt)
{
	const char *old = getenv(var);
	char *v;

	ck_assert_int_ne(asprintf(&v, "%s%s%s", old ? old : "", old && *old ? ":" : "", opt), -1);
	setenv(var, v, 1);
	free(v);
}

static inline void
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

static inline void
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
static inline void
add_plugin(const char *name, const char *as)
{
	char from[4096], to[4096];

	snprintf(from, sizeof(from), "%s/tests/plugins/%s.so", test_build_dir(), name);
	if (access(from, F_OK) < 0)
		snprintf(from, sizeof(from), "%s/stages/%s.so", test_build_dir(), name);
	snprintf(to, sizeof(to), "%s/%s.so", plugins, as ? as : name);
	test_copy_file(from, to, 0755);
}

/* Overwrites path in place, as cp does: O_TRUNC, then the bytes of from. */
static inline void
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
 * A daemon directory whose gini.conf holds pipelines (the inside of
 * "pipelines = ( ... );"), with probe_timeout = "1s" to keep the hangs
 * short, and a plugin directory with the NULL-terminated list of plugins.
 */
static inline void
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

static inline char *
read_log(void)
{
	char *text = NULL;

	ck_assert_int_eq(read_file(d.log, 256u << 20, &text, NULL), 0);
	return text;
}

static inline void
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
static inline void
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
static inline int
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
static inline void
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

static inline bool
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
static inline size_t
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

static inline int
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
static inline int
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

static inline bool
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
static inline size_t
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
static inline void
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
static inline long long
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

/* A pipeline of the sane hostile plugin, which must keep working. */
#define SANE_PIPELINE                                                                              \
	"{ name = \"ok\"; steps = ( { id = \"a\"; stage = \"hostile-sane\"; params = { tag = "     \
	"\"A\"; }; }, { id = \"l\"; stage = \"log\"; after = \"a\"; params = { message = "         \
	"\"ok saw ${out}\"; }; } ); }"

/* The TCases of the suite's other files, in the order they run. */
void isolation_probe_add_tcases(Suite *s);
void isolation_inproc_add_tcases(Suite *s);
void isolation_pool_add_tcases(Suite *s);
void isolation_frame_add_tcases(Suite *s);
