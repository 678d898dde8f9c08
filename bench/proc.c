/* SPDX-License-Identifier: MIT */
/*
 * Processes for the daemon cases: spawning ginid the way systemd would
 * (NOTIFY_SOCKET, stdin from /dev/null, output to a log), the floors, and
 * reading what the kernel knows about them from /proc. Waits block in
 * poll() rather than sleeping in steps, so the times taken from them are
 * exact to the wake-up.
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

static void
proc_init(struct proc *p, const char *name, const char *log)
{
	memset(p, 0, sizeof(*p));
	p->pid = -1;
	p->notify_fd = -1;
	p->name = strdup(name);
	p->log = strdup(log);
}

/* The environment minus what systemd would set for another service. */
static char **
child_env(const char *notify)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "NOTIFY_SOCKET=", 14) && strncmp(*e, "JOURNAL_STREAM=", 15) &&
		    strncmp(*e, "WATCHDOG_", 9) && strncmp(*e, "LISTEN_", 7))
			env[k++] = *e;
	if (notify)
		env[k++] = (char *)notify;
	return env;
}

static int
spawn(struct bench *b, struct proc *p, char *const *argv, const char *notify)
{
	posix_spawn_file_actions_t fa;
	char **env = child_env(notify);
	int r;

	if (!env)
		return bench_fail(b, "out of memory");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, p->log, O_WRONLY | O_CREAT | O_APPEND,
	                                 0644);
	posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
	r = posix_spawn(&p->pid, argv[0], &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	if (r != 0) {
		p->pid = -1;
		return bench_fail(b, "cannot start %s: %s", argv[0], strerror(r));
	}
	return 0;
}

int
proc_spawn(struct bench *b, struct proc *p, const char *name, char *const *argv, const char *log)
{
	proc_init(p, name, log);
	return spawn(b, p, argv, NULL);
}

/* Binds p's notify socket at path; sets *ret_env to NOTIFY_SOCKET=path. */
static int
notify_bind(struct bench *b, struct proc *p, const char *path, char **ret_env)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path))
		return bench_fail(b, "%s: path too long for a socket", path);
	p->notify_path = strdup(path);
	if (!p->notify_path || asprintf(ret_env, "NOTIFY_SOCKET=%s", path) < 0)
		return bench_fail(b, "out of memory");
	strcpy(sa.sun_path, path);
	unlink(path);
	p->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (p->notify_fd < 0 || bind(p->notify_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return bench_fail(b, "notify socket %s: %s", path, strerror(errno));
	return 0;
}

int
proc_spawn_notify(struct bench *b, struct proc *p, const char *name, char *const *argv,
                  const char *log, const char *notify_path)
{
	char *env = NULL;
	int r;

	proc_init(p, name, log);
	r = notify_bind(b, p, notify_path, &env);
	if (r >= 0)
		r = spawn(b, p, argv, env);
	free(env);
	return r;
}

int
proc_ginid(struct bench *b, struct proc *p, const char *dir, const char *conf,
           const char *const *plugin_dirs, size_t n_plugin_dirs)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *argv[40];
	char *ginid = NULL, *log = NULL, *state = NULL, *sock = NULL, *notify = NULL;
	size_t n = 0;
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
	argv[n++] = ginid;
	argv[n++] = "-c";
	argv[n++] = conf;
	for (size_t i = 0; i < n_plugin_dirs && n < 30; i++) {
		argv[n++] = "--plugin-dir";
		argv[n++] = plugin_dirs[i];
	}
	argv[n++] = "--state-dir";
	argv[n++] = state;
	argv[n++] = "--control-socket";
	argv[n++] = sock;
	argv[n] = NULL;
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
proc_drain(struct proc *p)
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

static bool
reap(struct proc *p)
{
	if (!p->exited && p->pid > 0 && waitpid(p->pid, &p->status, WNOHANG) == p->pid)
		p->exited = true;
	return p->exited;
}

/* The last lines of the process's log, for a failure message. */
static const char *
log_tail(const struct proc *p, char *buf, size_t size)
{
	int fd = open(p->log, O_RDONLY | O_CLOEXEC);
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
proc_wait_notify(struct bench *b, struct proc *p, const char *text, size_t from, int timeout_ms,
                 uint64_t *ret_ns)
{
	uint64_t deadline = mono_ns() + (uint64_t)timeout_ms * 1000000u;
	char tail[1024];

	for (;;) {
		struct pollfd pfd = { .fd = p->notify_fd, .events = POLLIN };
		uint64_t now;

		proc_drain(p);
		if (p->notified && from <= p->notified_len && strstr(p->notified + from, text)) {
			if (ret_ns)
				*ret_ns = mono_ns();
			return 0;
		}
		if (reap(p))
			return bench_fail(
			        b, "%s exited (status 0x%x) before '%s'; its log ends:\n%s",
			        p->name, p->status, text, log_tail(p, tail, sizeof(tail)));
		now = mono_ns();
		if (now >= deadline)
			return bench_fail(b, "%s: no '%s' within %d ms; its log ends:\n%s", p->name,
			                  text, timeout_ms, log_tail(p, tail, sizeof(tail)));
		/* Wake at least every 100 ms to notice a death. */
		poll(&pfd, 1,
		     (int)((deadline - now) / 1000000u > 100 ? 100
		                                             : (deadline - now) / 1000000u + 1));
	}
}

int
proc_wait_fd(struct proc *p, int fd, int timeout_ms)
{
	uint64_t deadline = mono_ns() + (uint64_t)timeout_ms * 1000000u;

	for (;;) {
		struct pollfd pfd[2] = { { .fd = fd, .events = POLLIN },
			                 { .fd = p ? p->notify_fd : -1, .events = POLLIN } };
		uint64_t now = mono_ns();
		int k;

		if (now >= deadline)
			return 0;
		k = poll(pfd, 2, (int)((deadline - now) / 1000000u) + 1);
		if (k < 0 && errno != EINTR)
			return -1;
		if (pfd[1].revents)
			proc_drain(p);
		if (pfd[0].revents & POLLIN)
			return 1;
	}
}

void
proc_sleep(struct proc *p, uint64_t usec)
{
	uint64_t deadline = mono_ns() + usec * 1000u;

	if (!p || p->notify_fd < 0) {
		sleep_usec(usec);
		return;
	}
	for (;;) {
		struct pollfd pfd = { .fd = p->notify_fd, .events = POLLIN };
		struct timespec ts;
		uint64_t now = mono_ns();

		if (now >= deadline)
			return;
		ts.tv_sec = (time_t)((deadline - now) / 1000000000u);
		ts.tv_nsec = (long)((deadline - now) % 1000000000u);
		if (ppoll(&pfd, 1, &ts, NULL) > 0)
			proc_drain(p);
	}
}

int
proc_stop(struct proc *p, int timeout_ms)
{
	return proc_stop_timed(p, timeout_ms, NULL);
}

int
proc_stop_timed(struct proc *p, int timeout_ms, double *ret_ms)
{
	int pidfd = -1, r = 0;
	uint64_t t0 = mono_ns(), t_exit = 0;

	if (p->pid > 0 && !reap(p)) {
		/* A pidfd turns readable at the exit itself: an exact time. */
		pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
		kill(p->pid, SIGTERM);
		for (int waited = 0; !reap(p); waited += 5) {
			if (waited >= timeout_ms) {
				kill(p->pid, SIGKILL);
				waitpid(p->pid, &p->status, 0);
				p->exited = true;
				r = -1;
				break;
			}
			if (pidfd >= 0) {
				struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

				proc_drain(p);
				if (poll(&pfd, 1, 5) > 0 && !t_exit)
					t_exit = mono_ns();
			} else {
				proc_sleep(p, 5000);
			}
		}
		if (pidfd >= 0)
			close(pidfd);
		if (ret_ms)
			*ret_ms = (double)((t_exit ? t_exit : mono_ns()) - t0) / 1e6;
	}
	if (p->notify_fd >= 0)
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
	return r;
}

static long long
status_field(const char *path, const char *field)
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
	return (long)status_field(path, "\nVmRSS:");
}

long
proc_status_kib(pid_t pid, const char *field)
{
	char path[64], key[64];

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	snprintf(key, sizeof(key), "\n%s:", field);
	return (long)status_field(path, key);
}

long
proc_pss_kib(pid_t pid)
{
	char path[64];

	/* smaps_rollup: the sums of smaps, one line per field, Pss among them. */
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	return (long)status_field(path, "\nPss:");
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
		v = status_field(st, "\nvoluntary_ctxt_switches:");
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
