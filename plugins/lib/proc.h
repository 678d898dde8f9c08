/* SPDX-License-Identifier: MIT */
/*
 * Keeping track of everything a child starts, shared by the exec stage and
 * the daemon (isolate.c, reaper.c) so that the mechanism exists once.
 *
 * A process group is not enough: a grandchild that calls setsid() leaves it,
 * and one whose parent died is re-parented and no longer found below the
 * child. Two tools close that gap:
 *
 * - cgroup v2, where the daemon may write to its own cgroup (systemd
 *   Delegate=yes, or a writable /sys/fs/cgroup). A child is put into a
 *   cgroup of its own below the caller's; whatever it starts stays in it,
 *   setsid() or not, and cgroup.kill ends all of it at once.
 * - the process tree (/proc/PID/task/TID/children), for when no cgroup can
 *   be had: a walk finds every descendant whose chain of parents is intact,
 *   and the daemon, a child subreaper, inherits those whose parent died.
 *
 * Everything here is static inline and uses only libc and raw syscalls, as
 * plugins/lib/ must (see buf.h). Functions return 0 or a negative errno.
 */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* How deep the process-tree walk goes, and how many processes it handles. */
#define PROC_TREE_DEPTH_MAX 64
#define PROC_TREE_MAX       4096
/* Where a cgroup wait gives up on processes that do not die (D state). */
#define PROC_CGROUP_EMPTY_WAIT_MS 5000

/* Reads a small file at dirfd/name into buf (NUL-terminated); bytes or -errno. */
static inline ssize_t
proc_read_at(int dirfd, const char *name, char *buf, size_t size)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	size_t off = 0;
	ssize_t n;

	if (size)
		buf[0] = 0;
	if (fd < 0)
		return -errno;
	while (off + 1 < size && (n = read(fd, buf + off, size - 1 - off)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			return n;
		}
		off += (size_t)n;
	}
	buf[off] = 0;
	close(fd);
	return (ssize_t)off;
}

static inline int
proc_write_at(int dirfd, const char *name, const char *s)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		r = -errno;
	close(fd);
	return r;
}

/*
 * Where the cgroup2 hierarchy is mounted (ret_mnt) and the part of it the
 * mount shows (ret_root, "/" unless a container sees a subtree), from
 * /proc/self/mountinfo. -ENOENT without a cgroup2 mount (cgroup v1 only).
 * Reading mountinfo is the dear part of finding our cgroup (70 us with 22
 * mounts, more with many): a caller that spawns often keeps the result.
 */
static inline int
proc_cgroup2_mount(char *ret_mnt, size_t mnt_size, char *ret_root, size_t root_size)
{
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS... - FSTYPE SOURCE SUPER */
		char *sep = strstr(line, " - cgroup2 ");
		char rt[PATH_MAX], m[PATH_MAX];

		if (!sep || sscanf(line, "%*s %*s %*s %4095s %4095s", rt, m) != 2)
			continue;
		snprintf(ret_root, root_size, "%s", rt);
		snprintf(ret_mnt, mnt_size, "%s", m);
		r = 0;
		break;
	}
	fclose(f);
	return r;
}

/*
 * The directory of this process's cgroup v2 below the cgroup2 mount mnt
 * showing root (proc_cgroup2_mount()): mnt joined with the "0::" line of
 * /proc/self/cgroup. -ENOENT without that line, -EMEDIUMTYPE when this
 * process's cgroup is outside the mount (a container seeing part of it).
 */
static inline int
proc_cgroup_self_in(const char *mnt, const char *root, char *buf, size_t size)
{
	char line[4096], *path = NULL;
	FILE *f = fopen("/proc/self/cgroup", "re");
	size_t rl;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = 0;
			path = line + 3;
			break;
		}
	fclose(f);
	if (!path)
		return -ENOENT;
	/* The mount may show a subtree only (ROOT); our path must be inside it. */
	rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
	if (rl && (strncmp(path, root, rl) != 0 || (path[rl] && path[rl] != '/')))
		return -EMEDIUMTYPE;
	if ((size_t)snprintf(buf, size, "%s%s", mnt,
	                     strcmp(path + rl, "/") == 0 ? "" : path + rl) >= size)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * The directory of this process's cgroup v2, e.g.
 * /sys/fs/cgroup/system.slice/ginid.service: the cgroup2 mount from
 * /proc/self/mountinfo joined with the "0::" line of /proc/self/cgroup.
 * -ENOENT without a cgroup2 mount (cgroup v1 only), -EMEDIUMTYPE when this
 * process's cgroup is outside the mount (a container seeing part of it).
 */
static inline int
proc_cgroup_self(char *buf, size_t size)
{
	char mnt[PATH_MAX], root[PATH_MAX];
	int r = proc_cgroup2_mount(mnt, sizeof(mnt), root, sizeof(root));

	return r < 0 ? r : proc_cgroup_self_in(mnt, root, buf, size);
}

/*
 * Creates a new cgroup SELF/PREFIX-PID-N below self, this process's own
 * cgroup (PID ours, N counting up until the name is free) and returns an
 * O_DIRECTORY descriptor of it, and its path in ret_path. -errno when
 * cgroups are not usable here: the caller then falls back to the process
 * tree.
 */
static inline int
proc_cgroup_new_below(const char *self, const char *prefix, char *ret_path, size_t size,
                      int *ret_fd)
{
	static unsigned counter;
	int r, fd;

	for (int tries = 0; tries < 1000; tries++) {
		unsigned n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);

		if ((size_t)snprintf(ret_path, size, "%s/%s-%d-%u", self, prefix, (int)getpid(),
		                     n) >= size)
			return -ENAMETOOLONG;
		if (mkdir(ret_path, 0755) == 0)
			break;
		if (errno != EEXIST)
			return -errno;
	}
	fd = open(ret_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		(void)rmdir(ret_path);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

/* proc_cgroup_new_below() this process's own cgroup (proc_cgroup_self()). */
static inline int
proc_cgroup_new(const char *prefix, char *ret_path, size_t size, int *ret_fd)
{
	char self[PATH_MAX];
	int r = proc_cgroup_self(self, sizeof(self));

	return r < 0 ? r : proc_cgroup_new_below(self, prefix, ret_path, size, ret_fd);
}

/* Moves pid (all its threads) into the cgroup. */
static inline int
proc_cgroup_attach(int cgfd, pid_t pid)
{
	char s[32];

	snprintf(s, sizeof(s), "%d", (int)pid);
	return proc_write_at(cgfd, "cgroup.procs", s);
}

/*
 * From an open cgroup.events: 1 while any process is in the cgroup or below,
 * 0 when empty, -errno. Reading through the descriptor that is polled is
 * what re-arms its POLLPRI.
 */
static inline int
proc_cgroup_events_populated(int efd)
{
	char buf[512], *p;
	ssize_t n = pread(efd, buf, sizeof(buf) - 1, 0);

	if (n < 0)
		return -errno;
	buf[n] = 0;
	p = strstr(buf, "populated ");
	return p && p[10] == '1';
}

static inline int
proc_cgroup_populated(int cgfd)
{
	int efd = openat(cgfd, "cgroup.events", O_RDONLY | O_CLOEXEC), r;

	if (efd < 0)
		return -errno;
	r = proc_cgroup_events_populated(efd);
	close(efd);
	return r;
}

/* Sends sig to every process in the cgroup and the cgroups below it. */
static inline int
proc_cgroup_signal(int cgfd, int sig)
{
	char buf[16384], *p, *end;
	struct dirent *de;
	DIR *d;
	int sub;

	if (proc_read_at(cgfd, "cgroup.procs", buf, sizeof(buf)) >= 0)
		for (p = buf; *p; p = end) {
			long pid = strtol(p, &end, 10);

			if (end == p)
				break;
			if (pid > 0)
				(void)kill((pid_t)pid, sig);
		}
	sub = openat(cgfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sub < 0)
		return -errno;
	d = fdopendir(sub);
	if (!d) {
		close(sub);
		return -errno;
	}
	while ((de = readdir(d))) {
		int child;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		child = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (child >= 0) {
			(void)proc_cgroup_signal(child, sig);
			close(child);
		}
	}
	closedir(d);
	return 0;
}

/*
 * Waits until the cgroup is empty or timeout_ms passed (-1: for ever);
 * 1 if empty. cgroup.events signals POLLPRI on every change.
 */
static inline int
proc_cgroup_wait_empty(int cgfd, int timeout_ms)
{
	struct timespec ts;
	int64_t end;
	int fd, r;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	end = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + timeout_ms;
	fd = openat(cgfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((r = proc_cgroup_events_populated(fd)) > 0) {
		struct pollfd p = { .fd = fd, .events = POLLPRI };
		int64_t now, left;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		left = timeout_ms < 0 ? 1000 : end - now;
		if (left <= 0)
			break;
		/* Bounded, so a missed event costs a second, not a hang. */
		(void)poll(&p, 1, (int)(left > 1000 ? 1000 : left));
	}
	close(fd);
	return r < 0 ? r : r == 0;
}

/*
 * Kills everything in the cgroup and below: cgroup.kill (Linux 5.14), or
 * SIGKILL to each process until none is left. Does not wait.
 */
static inline int
proc_cgroup_kill(int cgfd)
{
	if (proc_write_at(cgfd, "cgroup.kill", "1") == 0)
		return 0;
	for (int i = 0; i < 100 && proc_cgroup_populated(cgfd) > 0; i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		(void)proc_cgroup_signal(cgfd, SIGKILL);
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* Removes the cgroup at path and the ones below it, deepest first. */
static inline int
proc_cgroup_rmdir(const char *path)
{
	char sub[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(path);

	if (d) {
		while ((de = readdir(d)))
			if (de->d_type == DT_DIR && de->d_name[0] != '.' &&
			    (size_t)snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) <
			            sizeof(sub))
				(void)proc_cgroup_rmdir(sub);
		closedir(d);
	}
	return rmdir(path) < 0 ? -errno : 0;
}

/*
 * Ends a cgroup made by proc_cgroup_new(): kills what is left in it, waits
 * for it to be empty (bounded), removes it, closes cgfd. -EBUSY if something
 * would not die (the directory then stays).
 */
static inline int
proc_cgroup_free(int cgfd, const char *path)
{
	int r;

	if (cgfd < 0)
		return 0;
	/* Usually it is empty, without cgroups below: one rmdir() does it
	 * (EBUSY otherwise), not eight system calls to find out first. */
	if (rmdir(path) == 0) {
		close(cgfd);
		return 0;
	}
	if (proc_cgroup_populated(cgfd) > 0) {
		(void)proc_cgroup_kill(cgfd);
		(void)proc_cgroup_wait_empty(cgfd, PROC_CGROUP_EMPTY_WAIT_MS);
	}
	close(cgfd);
	r = proc_cgroup_rmdir(path);
	return r;
}

/*
 * Collects pid's descendants (not pid) into v, parents before children, by
 * walking /proc/PID/task/TID/children. A snapshot: what forks meanwhile may
 * be missed, so callers signal and walk again.
 */
static inline size_t
proc_tree_collect(pid_t pid, pid_t *v, size_t n, size_t max, int depth)
{
	char path[64], buf[8192], *p, *end;
	struct dirent *de;
	DIR *d;

	if (depth > PROC_TREE_DEPTH_MAX)
		return n;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return n;
	while ((de = readdir(d)) && n < max) {
		size_t first = n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%.20s/children", de->d_name);
		if (proc_read_at(dirfd(d), path, buf, sizeof(buf)) < 0)
			continue;
		for (p = buf; *p && n < max; p = end) {
			long c = strtol(p, &end, 10);

			if (end == p)
				break;
			if (c > 0)
				v[n++] = (pid_t)c;
		}
		for (size_t i = first, last = n; i < last && n < max; i++)
			n = proc_tree_collect(v[i], v, n, max, depth + 1);
	}
	closedir(d);
	return n;
}

/*
 * Sends sig to every descendant of pid (not to pid), and first, when group is
 * true, to pid's process group, pid included, in one kill(). The
 * descendants are collected before anything is signalled: once pid dies
 * they are orphans, out of the walk's reach. A stopped process gets SIGCONT
 * after SIGTERM, so it can act on it. Returns how many descendants it found.
 */
static inline size_t
proc_tree_signal_from(pid_t pid, bool group, int sig)
{
	pid_t *v = malloc(PROC_TREE_MAX * sizeof(*v));
	size_t n;

	if (!v)
		return 0;
	n = proc_tree_collect(pid, v, 0, PROC_TREE_MAX, 0);
	if (group)
		(void)kill(-pid, sig);
	for (size_t i = 0; i < n; i++) {
		(void)kill(v[i], sig);
		if (sig == SIGTERM)
			(void)kill(v[i], SIGCONT);
	}
	free(v);
	return n;
}

/* Sends sig to every descendant of pid (not to pid); see above. */
static inline size_t
proc_tree_signal(pid_t pid, int sig)
{
	return proc_tree_signal_from(pid, false, sig);
}
