/* SPDX-License-Identifier: MIT */
/*
 * The daemon's processes as a whole: being a good PID 1, being a child
 * subreaper, the daemon's own cgroup, and making sure nothing a step started
 * outlives the daemon.
 *
 * Who waits for whom. Every child the daemon starts on purpose has exactly
 * one waiter, the code that started it: exec (a worker thread), isolate.c
 * (a worker thread, or the main thread while it checks a configuration),
 * the probe in loader.c (the main thread). Each of them reaps its child
 * before it returns. Everything else that becomes our child is an orphan,
 * re-parented to us because we are a subreaper, and the kernel hands
 * orphans to the main thread (the thread group leader). So the main thread,
 * between two loop iterations, has orphans as its only children: it finds
 * them in /proc/self/task/PID/children and reaps each by pid. No
 * waitpid(-1), which could steal the exit status another thread waits for.
 *
 * As PID 1 the daemon does not rely even on that: reaper_init_pid1() forks
 * before any thread exists, and the parent stays PID 1 as a minimal init
 * (forward signals, reap everything, exit with the daemon's status), the
 * way tini or dumb-init do.
 *
 * Cgroups. Where cgroup v2 is writable (systemd Delegate=yes, or a
 * container's or host's /sys/fs/cgroup), each exec child and isolated worker
 * gets a cgroup of its own (plugins/lib/proc.h), which is what lets shutdown
 * find and kill every process of every step at once. Where those go:
 *
 * - In the initial pid namespace (a systemd service, a host), the daemon
 *   stays in the cgroup it was started in and the step cgroups, WHAT-PID-N
 *   with PID the daemon's, are made directly below it; the pid in the name
 *   tells ours from another daemon's, since pids are unique there. Moving a
 *   process between cgroups waits for an RCU grace period: 13-19 ms on the
 *   write to cgroup.procs (strace -T), at start and again at exit, which
 *   was the largest single cost of start-up. Staying is allowed because the
 *   daemon enables no controller in its cgroup's subtree_control (cgroup
 *   v2's "no internal processes" rule applies only to cgroups that do).
 * - In a pid namespace of its own (a container), where another daemon in
 *   another namespace may share the cgroup and have the same pid, the
 *   daemon moves into a cgroup of its own, ginid-PID-N, and the step
 *   cgroups are made below that; at exit it moves back and removes it.
 */
#include "reaper.h"

#include "log.h"
#include "util.h"

#include "../plugins/lib/proc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * The cgroup we started in; ours below it when we moved (own_path[0] != 0);
 * base_fd: where the step cgroups are (-1: no cgroups). Main thread.
 */
static char orig_path[PATH_MAX];
static char own_path[PATH_MAX];
static int base_fd = -1;

__attribute__((noreturn)) static void
init_loop(pid_t daemon)
{
	sigset_t all;
	siginfo_t si;
	int st, sig;
	pid_t p;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	for (;;) {
		while ((p = waitpid(-1, &st, WNOHANG)) > 0)
			if (p == daemon)
				/* The kernel kills what is left in the namespace. */
				_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		sig = sigwaitinfo(&all, &si);
		if (sig > 0 && sig != SIGCHLD)
			(void)kill(daemon, sig);
	}
}

void
reaper_init_pid1(void)
{
	pid_t child;

	if (getpid() != 1)
		return;
	fflush(NULL);
	child = fork();
	if (child < 0) {
		log_warn("cannot start a separate init process: %m; running as PID 1, "
		         "orphans are reaped by the subreaper");
		return;
	}
	if (child == 0)
		return;
	init_loop(child);
}

/*
 * The pid in a cgroup name made by proc_cgroup_new() (WHAT-PID-N), or 0 when
 * name is not one.
 */
static pid_t
cgroup_name_pid(const char *name)
{
	const char *dash = strchr(name, '-');
	char *end;
	long pid;

	if (!dash || dash == name || !isdigit((unsigned char)dash[1]))
		return 0;
	pid = strtol(dash + 1, &end, 10);
	if (*end != '-' || pid <= 0 || pid > INT32_MAX || !isdigit((unsigned char)end[1]))
		return 0;
	(void)strtoul(end + 1, &end, 10);
	return *end ? 0 : (pid_t)pid;
}

/* True for the cgroups of this daemon's steps among those below base_fd. */
static bool
ours(const char *name)
{
	return name[0] != '.' && (own_path[0] || cgroup_name_pid(name) == getpid());
}

/* True in a pid namespace other than the initial one (NSpid has two pids). */
static bool
in_pid_namespace(void)
{
	char buf[4096], *p;

	if (proc_read_at(AT_FDCWD, "/proc/self/status", buf, sizeof(buf)) < 0)
		return false;
	p = strstr(buf, "\nNSpid:");
	if (!p)
		return false;
	p += strlen("\nNSpid:");
	p += strspn(p, " \t");
	p += strspn(p, "0123456789");
	return *p == ' ' || *p == '\t';
}

/*
 * Removes cgroups left by daemons that died without cleaning up (killed):
 * the empty ginid-PID-N a daemon moved into, and the empty step cgroups of
 * a daemon of the initial pid namespace that no longer runs.
 */
static void
remove_stale(int dirfd_)
{
	struct dirent *de;
	DIR *d;
	int fd = openat(dirfd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		pid_t pid = de->d_type == DT_DIR ? cgroup_name_pid(de->d_name) : 0;
		bool moved = strncmp(de->d_name, "ginid-", 6) == 0;
		int sub;

		/* A moved daemon's is never empty while it runs (it is in it). */
		if (pid <= 0 || pid == getpid() ||
		    (!moved && (own_path[0] || kill(pid, 0) == 0 || errno != ESRCH)))
			continue;
		sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sub >= 0 && proc_cgroup_populated(sub) == 0)
			(void)unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
		if (sub >= 0)
			close(sub);
	}
	closedir(d);
}

/* Moves into ginid-PID-N below orig_path (retrying when another takes it). */
static int
move_to_own(void)
{
	int r = 0, fd = -1;

	/* Another daemon's remove_stale() may take our cgroup before we are in it. */
	for (int tries = 0; tries < 3; tries++) {
		r = proc_cgroup_new("ginid", own_path, sizeof(own_path), &fd);
		if (r < 0)
			break;
		r = proc_cgroup_attach(fd, getpid());
		if (r >= 0) {
			base_fd = fd;
			return 0;
		}
		close(fd);
		(void)rmdir(own_path);
		if (r != -ENOENT)
			break;
	}
	own_path[0] = 0;
	return r < 0 ? r : -ENOENT;
}

/*
 * Whether step cgroups can be made below orig_path: makes one and removes
 * it. Named ginid-PID-0, which proc_cgroup_new() never uses (it counts from
 * 1), and made here rather than with proc_cgroup_new(), which would read
 * /proc/self/mountinfo and /proc/self/cgroup again to find orig_path: the
 * kernel formats every mount for each read, the largest cost of this
 * function on a host with many mounts.
 */
static int
stay(void)
{
	char probe[PATH_MAX];

	if ((size_t)snprintf(probe, sizeof(probe), "%s/ginid-%d-0", orig_path, (int)getpid()) >=
	    sizeof(probe))
		return -ENAMETOOLONG;
	/* Left by an earlier process with our pid: ours by name, empty. */
	if (mkdir(probe, 0755) < 0 &&
	    (errno != EEXIST || rmdir(probe) < 0 || mkdir(probe, 0755) < 0))
		return -errno;
	(void)rmdir(probe);
	base_fd = open(orig_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return base_fd < 0 ? -errno : 0;
}

void
reaper_setup(void)
{
	const char *what = "/proc/self/cgroup";
	int r;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		log_warn("cannot become a child subreaper: %m; orphaned step processes go to init, "
		         "ignoring");
	r = proc_cgroup_self(orig_path, sizeof(orig_path));
	if (r >= 0) {
		int fd = open(orig_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		what = orig_path;
		if (fd >= 0) {
			remove_stale(fd);
			close(fd);
		}
		r = in_pid_namespace() ? move_to_own() : stay();
	}
	if (r < 0)
		log_notice("no cgroup for steps (%s: %s): step processes are tracked by process "
		           "group and process tree only, which misses those whose parent died "
		           "before they are found",
		           what, r == -ENOENT && what != orig_path ? "no cgroup v2" : strerror(-r));
	else
		log_info("steps run in cgroups of their own below %s",
		         own_path[0] ? own_path : orig_path);
}

/* The main thread's children: orphans only (see the top of the file). */
static size_t
orphans(pid_t *v, size_t max)
{
	char path[64], buf[16384], *p, *end;
	size_t n = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	if (proc_read_at(AT_FDCWD, path, buf, sizeof(buf)) < 0)
		return 0;
	for (p = buf; *p && n < max; p = end) {
		long pid = strtol(p, &end, 10);

		if (end == p)
			break;
		if (pid > 0)
			v[n++] = (pid_t)pid;
	}
	return n;
}

size_t
reaper_reap_orphans(void)
{
	pid_t v[1024];
	size_t n = orphans(v, ARRAY_SIZE(v)), reaped = 0;

	for (size_t i = 0; i < n; i++) {
		siginfo_t si = { 0 };

		/* By pid: only this orphan, never a child someone waits for. */
		if (waitid(P_PID, (id_t)v[i], &si, WEXITED | WNOHANG) == 0 && si.si_pid == v[i])
			reaped++;
	}
	if (reaped)
		log_debug("reaped %zu orphaned process%s", reaped, reaped == 1 ? "" : "es");
	return reaped;
}

/* Calls fn on every cgroup directly below ours. */
static size_t
for_each_step_cgroup(int (*fn)(int fd))
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;
	int fd;

	if (base_fd < 0)
		return 0;
	fd = openat(base_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((de = readdir(d))) {
		int sub;

		if (de->d_type != DT_DIR || !ours(de->d_name))
			continue;
		sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sub < 0)
			continue;
		if (proc_cgroup_populated(sub) > 0) {
			(void)fn(sub);
			n++;
		}
		close(sub);
	}
	closedir(d);
	return n;
}

size_t
reaper_kill_all(void)
{
	size_t n = for_each_step_cgroup(proc_cgroup_kill);

	return n + proc_tree_signal(getpid(), SIGKILL);
}

/* Removes the step cgroups still there, once empty (steps remove their own). */
static void
remove_ours(void)
{
	struct dirent *de;
	DIR *d;
	int fd = base_fd >= 0 ? openat(base_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;

	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d))) {
		int sub;

		if (de->d_type != DT_DIR || !ours(de->d_name))
			continue;
		sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (sub >= 0)
			(void)proc_cgroup_wait_empty(sub, PROC_CGROUP_EMPTY_WAIT_MS);
		if (sub >= 0)
			close(sub);
		if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0)
			log_warn("cannot remove cgroup %s/%s: %m, ignoring",
			         own_path[0] ? own_path : orig_path, de->d_name);
	}
	closedir(d);
}

/* True while the main thread has children (orphans), reaping the dead. */
static bool
orphans_left(void)
{
	pid_t v[1];

	(void)reaper_reap_orphans();
	return orphans(v, 1) > 0;
}

static int
sigterm_cgroup(int fd)
{
	return proc_cgroup_signal(fd, SIGTERM);
}

void
reaper_done(uint64_t grace_usec)
{
	uint64_t until = now_usec(CLOCK_MONOTONIC) + grace_usec;
	size_t n;

	/* No stage runs: whatever is left was left behind. */
	(void)reaper_reap_orphans();
	n = for_each_step_cgroup(sigterm_cgroup) + proc_tree_signal(getpid(), SIGTERM);
	if (n)
		log_info("stopping %zu process%s left behind by steps", n, n == 1 ? "" : "es");
	while (orphans_left() && now_usec(CLOCK_MONOTONIC) < until)
		(void)usleep(10000);
	if (orphans_left() || for_each_step_cgroup(proc_cgroup_kill) > 0) {
		log_warn("processes left behind by steps did not stop on SIGTERM: killing them");
		(void)reaper_kill_all();
		for (int i = 0; i < 500 && orphans_left(); i++)
			(void)usleep(10000);
	}
	remove_ours();
	if (own_path[0]) {
		int fd = open(orig_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		/* Back where we started, so that ours can go. */
		if (fd >= 0 && proc_cgroup_attach(fd, getpid()) == 0) {
			(void)proc_cgroup_wait_empty(base_fd, PROC_CGROUP_EMPTY_WAIT_MS);
			if (proc_cgroup_rmdir(own_path) < 0)
				log_warn("cannot remove cgroup %s: %m, ignoring", own_path);
		}
		if (fd >= 0)
			close(fd);
		own_path[0] = 0;
	}
	if (base_fd >= 0)
		close(base_fd);
	base_fd = -1;
}
