/* SPDX-License-Identifier: MIT */
/*
 * The process side of the real-daemon harness (daemon_proc.h), shared by
 * the tests and the benchmarks: spawning as systemd would, the notify
 * socket, waits that block in poll() while draining it, stopping with a
 * grace period, reaping, and /proc. Linked into check_gini and gini-bench
 * alike, so it uses libc alone and reports failures as negative errnos.
 */
#include "daemon_proc.h"

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
#include <time.h>
#include <unistd.h>

extern char **environ;

uint64_t
daemon_proc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Milliseconds left until deadline (ns), at most cap, at least 1. */
static int
ms_left(uint64_t deadline, uint64_t now, int cap)
{
	uint64_t ms = (deadline - now) / 1000000u + 1;

	return ms > (uint64_t)cap ? cap : (int)ms;
}

int
daemon_proc_init(struct daemon_proc *p, const char *name, const char *log)
{
	memset(p, 0, sizeof(*p));
	p->pid = -1;
	p->notify_fd = -1;
	p->name = name ? strdup(name) : NULL;
	p->log = log ? strdup(log) : NULL;
	if ((name && !p->name) || (log && !p->log))
		return -ENOMEM;
	return 0;
}

int
daemon_proc_notify_bind(struct daemon_proc *p, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *copy;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	/* path may be p->notify_path itself. */
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	free(p->notify_path);
	p->notify_path = copy;
	strcpy(sa.sun_path, copy);
	unlink(copy);
	p->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (p->notify_fd < 0)
		return -errno;
	if (bind(p->notify_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return 0;
}

int
daemon_proc_ginid_argv(const struct daemon_proc_args *a, const char **argv)
{
	size_t n = 0;

	/* The fixed part takes at most 9 entries, the NULL one more. */
	for (size_t i = 0; a->wrap && a->wrap[i]; i++) {
		if (n >= 8)
			return -E2BIG;
		argv[n++] = a->wrap[i];
	}
	argv[n++] = a->ginid;
	argv[n++] = "-c";
	argv[n++] = a->conf;
	for (size_t i = 0; i < a->n_plugin_dirs; i++) {
		if (n + 2 > DAEMON_PROC_ARGV_MAX - 10)
			return -E2BIG;
		argv[n++] = "--plugin-dir";
		argv[n++] = a->plugin_dirs[i];
	}
	if (a->state_dir) {
		argv[n++] = "--state-dir";
		argv[n++] = a->state_dir;
	}
	if (a->control_socket) {
		argv[n++] = "--control-socket";
		argv[n++] = a->control_socket;
	}
	for (size_t i = 0; a->extra && a->extra[i]; i++) {
		if (n >= DAEMON_PROC_ARGV_MAX - 1)
			return -E2BIG;
		argv[n++] = a->extra[i];
	}
	argv[n] = NULL;
	return 0;
}

/*
 * The environment minus what systemd would set for another service, plus
 * NOTIFY_SOCKET (if given) and extra. The strings are borrowed.
 */
static char **
child_env(const char *notify, const char *const *extra)
{
	size_t n = 0, n_extra = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	while (extra && extra[n_extra])
		n_extra++;
	env = calloc(n + n_extra + 2, sizeof(*env));
	if (!env)
		return NULL;
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "NOTIFY_SOCKET=", 14) != 0 &&
		    strncmp(*e, "JOURNAL_STREAM=", 15) != 0 && strncmp(*e, "WATCHDOG_", 9) != 0 &&
		    strncmp(*e, "LISTEN_", 7) != 0)
			env[k++] = *e;
	if (notify)
		env[k++] = (char *)notify;
	for (size_t i = 0; i < n_extra; i++)
		env[k++] = (char *)extra[i];
	return env;
}

int
daemon_proc_spawn(struct daemon_proc *p, char *const *argv, const char *const *extra_env)
{
	posix_spawn_file_actions_t fa;
	char *notify = NULL;
	char **env;
	int r;

	if (p->notify_path && asprintf(&notify, "NOTIFY_SOCKET=%s", p->notify_path) < 0)
		return -ENOMEM;
	env = child_env(notify, extra_env);
	if (!env) {
		free(notify);
		return -ENOMEM;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, p->log ? p->log : "/dev/null",
	                                 O_WRONLY | O_CREAT | O_APPEND, 0644);
	posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
	r = posix_spawn(&p->pid, argv[0], &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	free(notify);
	if (r != 0) {
		p->pid = -1;
		return -r;
	}
	p->exited = false;
	return 0;
}

void
daemon_proc_drain(struct daemon_proc *p)
{
	char buf[4096];
	ssize_t n;

	if (!p || p->notify_fd < 0)
		return;
	while ((n = recv(p->notify_fd, buf, sizeof(buf), 0)) > 0) {
		char *nb = realloc(p->notified, p->notified_len + (size_t)n + 2);

		if (!nb)
			return;
		p->notified = nb;
		memcpy(p->notified + p->notified_len, buf, (size_t)n);
		p->notified_len += (size_t)n;
		p->notified[p->notified_len++] = '\n';
		p->notified[p->notified_len] = 0;
	}
}

bool
daemon_proc_reap(struct daemon_proc *p)
{
	if (!p->exited && p->pid > 0 && waitpid(p->pid, &p->status, WNOHANG) == p->pid)
		p->exited = true;
	return p->exited;
}

const char *
daemon_proc_log_tail(const struct daemon_proc *p, char *buf, size_t size)
{
	int fd = p->log ? open(p->log, O_RDONLY | O_CLOEXEC) : -1;
	off_t end;
	ssize_t k;

	buf[0] = 0;
	if (fd < 0)
		return buf;
	end = lseek(fd, 0, SEEK_END);
	if (end > (off_t)size - 1)
		lseek(fd, end - (off_t)size + 1, SEEK_SET);
	else
		lseek(fd, 0, SEEK_SET);
	k = read(fd, buf, size - 1);
	buf[k > 0 ? k : 0] = 0;
	close(fd);
	return buf;
}

int
daemon_proc_wait_notify(struct daemon_proc *p, const char *text, size_t from, int timeout_ms,
                        uint64_t *ret_ns)
{
	uint64_t deadline = daemon_proc_now_ns() + (uint64_t)timeout_ms * 1000000u;

	for (;;) {
		struct pollfd pfd = { .fd = p->notify_fd, .events = POLLIN };
		uint64_t now;

		daemon_proc_drain(p);
		if (p->notified && from <= p->notified_len && strstr(p->notified + from, text)) {
			if (ret_ns)
				*ret_ns = daemon_proc_now_ns();
			return 0;
		}
		if (daemon_proc_reap(p)) {
			/* What it sent just before it exited is still queued. */
			daemon_proc_drain(p);
			if (p->notified && from <= p->notified_len &&
			    strstr(p->notified + from, text)) {
				if (ret_ns)
					*ret_ns = daemon_proc_now_ns();
				return 0;
			}
			return -ECHILD;
		}
		now = daemon_proc_now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		/* Wake at least every 100 ms to notice a death. */
		poll(&pfd, 1, ms_left(deadline, now, 100));
	}
}

int
daemon_proc_wait_fd(struct daemon_proc *p, int fd, int timeout_ms)
{
	uint64_t deadline = daemon_proc_now_ns() + (uint64_t)timeout_ms * 1000000u;

	for (;;) {
		struct pollfd pfd[2] = { { .fd = fd, .events = POLLIN },
			                 { .fd = p ? p->notify_fd : -1, .events = POLLIN } };
		uint64_t now = daemon_proc_now_ns();
		int k;

		if (now >= deadline)
			return 0;
		k = poll(pfd, 2, ms_left(deadline, now, 1 << 30));
		if (k < 0 && errno != EINTR)
			return -errno;
		if (pfd[1].revents)
			daemon_proc_drain(p);
		if (pfd[0].revents & POLLIN)
			return 1;
	}
}

void
daemon_proc_sleep(struct daemon_proc *p, uint64_t usec)
{
	uint64_t deadline = daemon_proc_now_ns() + usec * 1000u;

	for (;;) {
		struct pollfd pfd = { .fd = p ? p->notify_fd : -1, .events = POLLIN };
		struct timespec ts;
		uint64_t now = daemon_proc_now_ns();

		if (now >= deadline)
			return;
		ts.tv_sec = (time_t)((deadline - now) / 1000000000u);
		ts.tv_nsec = (long)((deadline - now) % 1000000000u);
		/* With no socket (fd -1), ppoll() is a sleep that EINTR ends early,
		 * and the loop goes on sleeping. */
		if (ppoll(&pfd, 1, &ts, NULL) > 0)
			daemon_proc_drain(p);
	}
}

bool
daemon_proc_wait_exit(struct daemon_proc *p, int timeout_ms)
{
	int pidfd;
	bool done;

	if (daemon_proc_reap(p) || p->pid <= 0 || timeout_ms <= 0)
		return p->exited;
	/* A pidfd turns readable at the exit itself. */
	pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
	if (pidfd >= 0) {
		uint64_t deadline = daemon_proc_now_ns() + (uint64_t)timeout_ms * 1000000u;

		while (!(done = daemon_proc_reap(p))) {
			uint64_t now = daemon_proc_now_ns();

			if (now >= deadline)
				break;
			daemon_proc_wait_fd(p, pidfd, ms_left(deadline, now, 100));
		}
		close(pidfd);
		return done;
	}
	for (int waited = 0; !(done = daemon_proc_reap(p)) && waited < timeout_ms; waited += 5)
		daemon_proc_sleep(p, 5000);
	return done;
}

int
daemon_proc_stop(struct daemon_proc *p, int timeout_ms, double *ret_ms)
{
	uint64_t t0 = daemon_proc_now_ns();
	int r = 0;

	if (p->pid <= 0 || daemon_proc_reap(p))
		return 0;
	kill(p->pid, SIGTERM);
	if (!daemon_proc_wait_exit(p, timeout_ms)) {
		kill(p->pid, SIGKILL);
		while (waitpid(p->pid, &p->status, 0) < 0 && errno == EINTR)
			;
		p->exited = true;
		r = -ETIMEDOUT;
	}
	if (ret_ms)
		*ret_ms = (double)(daemon_proc_now_ns() - t0) / 1e6;
	return r;
}

void
daemon_proc_done(struct daemon_proc *p)
{
	if (p->pid > 0 && !daemon_proc_reap(p)) {
		kill(p->pid, SIGKILL);
		while (waitpid(p->pid, &p->status, 0) < 0 && errno == EINTR)
			;
	}
	/* A notify_fd without a notify_path is not ours (an all-zero struct). */
	if (p->notify_path && p->notify_fd >= 0)
		close(p->notify_fd);
	if (p->notify_path)
		unlink(p->notify_path);
	free(p->name);
	free(p->log);
	free(p->notify_path);
	free(p->notified);
	memset(p, 0, sizeof(*p));
	p->pid = -1;
	p->notify_fd = -1;
}

long long
daemon_proc_status_field(const char *path, const char *field)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t k;
	char *at;

	if (fd < 0)
		return -1;
	k = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (k <= 0)
		return -1;
	buf[k] = 0;
	at = strstr(buf, field);
	return at ? strtoll(at + strlen(field), NULL, 10) : -1;
}

long
proc_rss_kib(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	return (long)daemon_proc_status_field(path, "\nVmRSS:");
}
