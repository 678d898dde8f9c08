/* SPDX-License-Identifier: MIT */
/*
 * Processes for the daemon cases: ginid, the floors and the incumbents,
 * started, watched and stopped through the real-daemon harness the bench
 * shares with the tests (tests/daemon_proc.c), with failures recorded by
 * bench_fail(); what the kernel knows about them from /proc; and the rigs
 * that put a ginid and a floor side by side. Waits block in poll() rather
 * than sleeping in steps, so the times taken from them are exact to the
 * wake-up.
 */
#include "proc.h"

#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int
proc_spawn(struct bench *b, struct daemon_proc *p, const char *name, char *const *argv,
           const char *log)
{
	int r = daemon_proc_init(p, name, log);

	if (r >= 0)
		r = daemon_proc_spawn(p, argv, NULL);
	if (r < 0)
		return bench_fail(b, "cannot start %s: %s", argv[0], strerror(-r));
	return 0;
}

int
proc_spawn_notify(struct bench *b, struct daemon_proc *p, const char *name, char *const *argv,
                  const char *log, const char *notify_path)
{
	int r = daemon_proc_init(p, name, log);

	if (r < 0)
		return bench_fail(b, "out of memory");
	r = daemon_proc_notify_bind(p, notify_path);
	if (r == -ENAMETOOLONG)
		return bench_fail(b, "%s: path too long for a socket", notify_path);
	if (r < 0)
		return bench_fail(b, "notify socket %s: %s", notify_path, strerror(-r));
	r = daemon_proc_spawn(p, argv, NULL);
	if (r < 0)
		return bench_fail(b, "cannot start %s: %s", argv[0], strerror(-r));
	return 0;
}

int
proc_ginid(struct bench *b, struct daemon_proc *p, const char *dir, const char *conf,
           const char *const *plugin_dirs, size_t n_plugin_dirs)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *argv[DAEMON_PROC_ARGV_MAX];
	char *ginid = NULL, *log = NULL, *state = NULL, *sock = NULL, *notify = NULL;
	int r = -1;

	if (asprintf(&log, "%s/ginid.log", dir) < 0 ||
	    asprintf(&ginid, "%s/ginid", b->build_dir) < 0 ||
	    asprintf(&state, "%s/state", dir) < 0 || asprintf(&sock, "%s/ctl.sock", dir) < 0 ||
	    asprintf(&notify, "%s/notify.sock", dir) < 0) {
		bench_fail(b, "out of memory");
		goto out;
	}
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		bench_fail(b, "%s: path too long for a socket", sock);
		goto out;
	}
	mkdir(state, 0755);
	if (daemon_proc_ginid_argv(&(const struct daemon_proc_args){ .ginid = ginid,
	                                                             .conf = conf,
	                                                             .plugin_dirs = plugin_dirs,
	                                                             .n_plugin_dirs = n_plugin_dirs,
	                                                             .state_dir = state,
	                                                             .control_socket = sock },
	                           argv) < 0) {
		bench_fail(b, "too many plugin directories (%zu)", n_plugin_dirs);
		goto out;
	}
	r = proc_spawn_notify(b, p, "ginid", (char *const *)argv, log, notify);
out:
	free(log);
	free(ginid);
	free(state);
	free(sock);
	free(notify);
	return r;
}

void
proc_drain(struct daemon_proc *p)
{
	daemon_proc_drain(p);
}

int
proc_wait_notify(struct bench *b, struct daemon_proc *p, const char *text, size_t from,
                 int timeout_ms, uint64_t *ret_ns)
{
	int r = daemon_proc_wait_notify(p, text, from, timeout_ms, ret_ns);
	char tail[1024];

	if (r == -ECHILD)
		return bench_fail(b, "%s exited (status 0x%x) before '%s'; its log ends:\n%s",
		                  p->name, p->status, text,
		                  daemon_proc_log_tail(p, tail, sizeof(tail)));
	if (r < 0)
		return bench_fail(b, "%s: no '%s' within %d ms; its log ends:\n%s", p->name, text,
		                  timeout_ms, daemon_proc_log_tail(p, tail, sizeof(tail)));
	return 0;
}

int
proc_wait_fd(struct daemon_proc *p, int fd, int timeout_ms)
{
	int r = daemon_proc_wait_fd(p, fd, timeout_ms);

	return r < 0 ? -1 : r;
}

void
proc_sleep(struct daemon_proc *p, uint64_t usec)
{
	daemon_proc_sleep(p, usec);
}

int
proc_stop(struct daemon_proc *p, int timeout_ms)
{
	return proc_stop_timed(p, timeout_ms, NULL);
}

int
proc_stop_timed(struct daemon_proc *p, int timeout_ms, double *ret_ms)
{
	int r = daemon_proc_stop(p, timeout_ms, ret_ms);

	daemon_proc_done(p);
	return r < 0 ? -1 : 0;
}

long
proc_status_kib(pid_t pid, const char *field)
{
	char path[64], key[64];

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	snprintf(key, sizeof(key), "\n%s:", field);
	return (long)daemon_proc_status_field(path, key);
}

long
proc_pss_kib(pid_t pid)
{
	char path[64];

	/* smaps_rollup: the sums of smaps, one line per field, Pss among them. */
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	return (long)daemon_proc_status_field(path, "\nPss:");
}

long long
proc_voluntary_switches(pid_t pid)
{
	char path[64];
	struct dirent *de;
	long long sum = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		char st[320];
		long long v;

		if (de->d_name[0] == '.')
			continue;
		snprintf(st, sizeof(st), "/proc/%d/task/%s/status", (int)pid, de->d_name);
		v = daemon_proc_status_field(st, "\nvoluntary_ctxt_switches:");
		if (v > 0)
			sum += v;
	}
	closedir(d);
	return sum;
}

int
proc_timerfd_due_ns(pid_t pid, uint64_t *ret_ns)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int r = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while (r < 0 && (de = readdir(d))) {
		char link[320], target[64], info[512];
		long long sec, nsec;
		uint64_t t0, t1;
		ssize_t k;
		int fd;
		char *at;

		if (de->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "/proc/%d/fd/%s", (int)pid, de->d_name);
		k = readlink(link, target, sizeof(target) - 1);
		if (k <= 0)
			continue;
		target[k] = 0;
		if (strcmp(target, "anon_inode:[timerfd]"))
			continue;
		snprintf(link, sizeof(link), "/proc/%d/fdinfo/%s", (int)pid, de->d_name);
		fd = open(link, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* it_value is the time left when the kernel formats the file. */
		t0 = mono_ns();
		k = read(fd, info, sizeof(info) - 1);
		t1 = mono_ns();
		close(fd);
		if (k <= 0)
			continue;
		info[k] = 0;
		if (!strstr(info, "clockid: 1\n") || !(at = strstr(info, "it_value: (")) ||
		    sscanf(at, "it_value: (%lld, %lld)", &sec, &nsec) != 2 ||
		    (sec == 0 && nsec == 0))
			continue;
		*ret_ns = t0 + (t1 - t0) / 2 + (uint64_t)sec * 1000000000u + (uint64_t)nsec;
		r = 0;
	}
	closedir(d);
	return r;
}

int
fifo_open(const char *path)
{
	unlink(path);
	if (mkfifo(path, 0600) < 0)
		return -1;
	/* Read-write: writers never see ENXIO, and we never see EOF. */
	return open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
}

int
fifo_read(int fd, uint64_t *ret_ns)
{
	ssize_t k = read(fd, ret_ns, sizeof(*ret_ns));

	if (k == (ssize_t)sizeof(*ret_ns))
		return 1;
	if (k < 0 && errno == EAGAIN)
		return 0;
	return -1;
}

/* Rigs: a ginid and a floor side by side, with their FIFOs. */

int
rig_init(struct bench *b, struct rig *g, const char *name)
{
	memset(g, 0, sizeof(*g));
	g->gini_fifo = g->floor_fifo = -1;
	g->gini.pid = g->floor.pid = g->other.pid = -1;
	g->gini.notify_fd = g->floor.notify_fd = g->other.notify_fd = -1;
	g->dir = work_subdir(b, name);
	if (!g->dir || asprintf(&g->gini_fifo_path, "%s/gini.fifo", g->dir) < 0 ||
	    asprintf(&g->floor_fifo_path, "%s/floor.fifo", g->dir) < 0)
		return bench_fail(b, "cannot set up %s: %s", name, strerror(errno));
	g->gini_fifo = fifo_open(g->gini_fifo_path);
	g->floor_fifo = fifo_open(g->floor_fifo_path);
	if (g->gini_fifo < 0 || g->floor_fifo < 0)
		return bench_fail(b, "cannot make FIFOs in %s: %s", g->dir, strerror(errno));
	return 0;
}

void
rig_done(struct rig *g)
{
	if (g->other.name)
		proc_stop(&g->other, 5000);
	if (g->floor.name)
		proc_stop(&g->floor, 5000);
	if (g->gini.name)
		proc_stop(&g->gini, 20000);
	if (g->gini_fifo >= 0)
		close(g->gini_fifo);
	if (g->floor_fifo >= 0)
		close(g->floor_fifo);
	free(g->gini_fifo_path);
	free(g->floor_fifo_path);
	free(g->dir);
}

int
rig_start_gini(struct bench *b, struct rig *g, const char *conf_text,
               const char *const *plugin_dirs, size_t n_dirs)
{
	char *conf = NULL, *incl = NULL;
	int r = -1;

	if (asprintf(&conf, "%s/gini.conf", g->dir) < 0 ||
	    asprintf(&incl, "%s/pipelines.d", g->dir) < 0)
		goto out;
	mkdir(incl, 0755);
	if (write_text(conf, conf_text) < 0) {
		bench_fail(b, "%s: %s", conf, strerror(errno));
		goto out;
	}
	if (proc_ginid(b, &g->gini, g->dir, conf, plugin_dirs, n_dirs) < 0)
		goto out;
	r = proc_wait_notify(b, &g->gini, "READY=1", 0, 60000, NULL);
out:
	free(conf);
	free(incl);
	return r;
}

int
rig_start_floor(struct bench *b, struct rig *g, const char *mode, const char *a1, const char *a2)
{
	char *exe = bench_path(b, "gini-floor"), *log = NULL;
	char *argv[] = { exe, (char *)mode, g->floor_fifo_path, (char *)a1, (char *)a2, NULL };
	uint64_t zero = 1;
	int r = -1;

	if (!exe || asprintf(&log, "%s/floor.log", g->dir) < 0)
		goto out;
	if (proc_spawn(b, &g->floor, "gini-floor", argv, log) < 0)
		goto out;
	if (proc_wait_fd(NULL, g->floor_fifo, 10000) <= 0 || fifo_read(g->floor_fifo, &zero) <= 0 ||
	    zero != 0) {
		bench_fail(b, "gini-floor %s did not start", mode);
		goto out;
	}
	r = 0;
out:
	free(exe);
	free(log);
	return r;
}

int
run_timed(struct bench *b, char *const *argv, double *ret_ms)
{
	return run_timed_to(b, argv, "/dev/null", ret_ms);
}

int
run_timed_to(struct bench *b, char *const *argv, const char *out, double *ret_ms)
{
	posix_spawn_file_actions_t fa;
	uint64_t t0 = mono_ns();
	pid_t pid;
	int st, r;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out, O_WRONLY | O_CREAT | O_TRUNC,
	                                 0644);
	posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
	r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return bench_fail(b, "cannot run %s: %s", argv[0], strerror(r));
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return bench_fail(b, "waitpid %s: %s", argv[0], strerror(errno));
	*ret_ms = (double)(mono_ns() - t0) / 1e6;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return bench_fail(b, "%s %s failed (status 0x%x)", argv[0], argv[1] ? argv[1] : "",
		                  st);
	return 0;
}
