/* SPDX-License-Identifier: MIT */
/*
 * Integration-test plumbing: start the real ginid binary on a temporary
 * configuration, collect its sd_notify messages on a socket the test owns,
 * read its log, signal it, and reap it. Waits poll with short sleeps and
 * generous limits: they guard against hangs, they do not measure anything.
 */
#include "daemon.h"

#include "tests.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void
daemon_init(struct daemon *d, const char *tag, const char *conf_text)
{
	memset(d, 0, sizeof(*d));
	d->pid = -1;
	d->notify_fd = -1;
	d->dir = test_tmpdir(tag);
	d->conf = path_join(d->dir, "gini.conf");
	d->log = path_join(d->dir, "ginid.log");
	d->socket = path_join(d->dir, "ctl.sock");
	d->notify_path = path_join(d->dir, "notify.sock");
	ck_assert_int_eq(mkdir(daemon_path(d, "pipelines.d"), 0755), 0);
	ck_assert_int_eq(mkdir(daemon_path(d, "state"), 0755), 0);
	test_write_file(d->conf, conf_text, 0644);
}

const char *
daemon_path(const struct daemon *d, const char *name)
{
	static char buf[8][4096];
	static unsigned n;
	char *b = buf[n++ % 8];

	snprintf(b, sizeof(buf[0]), "%s/%s", d->dir, name);
	return b;
}

void
daemon_write(const struct daemon *d, const char *name, const char *text)
{
	test_write_file(daemon_path(d, name), text, 0644);
}

static void
open_notify_socket(struct daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	ck_assert_uint_lt(strlen(d->notify_path), sizeof(sa.sun_path));
	strcpy(sa.sun_path, d->notify_path);
	unlink(d->notify_path);
	d->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(d->notify_fd, 0);
	ck_assert_int_eq(bind(d->notify_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
}

void
daemon_spawn(struct daemon *d, const char *plugin_dir, const char *const *extra)
{
	const char *argv[32];
	size_t n = 0;
	posix_spawn_file_actions_t fa;
	char notify_env[4200], watchdog_env[64];
	char **env;
	size_t n_env = 0;

	if (d->notify_fd < 0)
		open_notify_socket(d);
	for (size_t i = 0; d->wrap && d->wrap[i] && n < 8; i++)
		argv[n++] = d->wrap[i];
	argv[n++] = test_build_path("ginid");
	argv[n++] = "-c";
	argv[n++] = d->conf;
	argv[n++] = "--plugin-dir";
	argv[n++] = plugin_dir ? plugin_dir : test_build_path("stages");
	argv[n++] = "--state-dir";
	argv[n++] = daemon_path(d, "state");
	argv[n++] = "--control-socket";
	argv[n++] = d->socket;
	for (size_t i = 0; extra && extra[i] && n < 31; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;

	/* The environment, with our NOTIFY_SOCKET and without a journal. */
	while (environ[n_env])
		n_env++;
	env = calloc(n_env + 3, sizeof(char *));
	n_env = 0;
	for (char **e = environ; *e; e++)
		if (strncmp(*e, "NOTIFY_SOCKET=", 14) != 0 &&
		    strncmp(*e, "JOURNAL_STREAM=", 15) != 0 && strncmp(*e, "WATCHDOG_", 9) != 0)
			env[n_env++] = *e;
	snprintf(notify_env, sizeof(notify_env), "NOTIFY_SOCKET=%s", d->notify_path);
	env[n_env++] = notify_env;
	if (d->watchdog_usec) {
		snprintf(watchdog_env, sizeof(watchdog_env), "WATCHDOG_USEC=%s", d->watchdog_usec);
		env[n_env++] = watchdog_env;
	}

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, d->log, O_WRONLY | O_CREAT | O_APPEND,
	                                 0644);
	posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
	ck_assert_int_eq(posix_spawn(&d->pid, argv[0], &fa, NULL, (char *const *)argv, env), 0);
	posix_spawn_file_actions_destroy(&fa);
	free(env);
	d->exited = false;
}

static void
drain_notify(struct daemon *d)
{
	char buf[4096];
	ssize_t n;

	while ((n = recv(d->notify_fd, buf, sizeof(buf) - 1, 0)) > 0) {
		char *nb = realloc(d->notified, d->notified_len + (size_t)n + 2);

		ck_assert_ptr_nonnull(nb);
		d->notified = nb;
		memcpy(d->notified + d->notified_len, buf, (size_t)n);
		d->notified_len += (size_t)n;
		d->notified[d->notified_len++] = '\n';
		d->notified[d->notified_len] = 0;
	}
}

bool
daemon_wait_notify(struct daemon *d, const char *text, int ms)
{
	for (int waited = 0;; waited += 10) {
		drain_notify(d);
		if (d->notified && strstr(d->notified, text))
			return true;
		if (waited >= ms)
			return false;
		sleep_ms(10);
	}
}

void
daemon_start(struct daemon *d)
{
	daemon_spawn(d, NULL, NULL);
	if (!daemon_wait_notify(d, "READY=1", 20000)) {
		_cleanup_free_ char *log = NULL;

		read_file(d->log, 1 << 20, &log, NULL);
		ck_abort_msg("ginid did not become ready; its log:\n%s", log ? log : "(none)");
	}
}

size_t
daemon_log_count(struct daemon *d, const char *text)
{
	return file_count(d->log, text);
}

bool
daemon_wait_log(struct daemon *d, const char *text, size_t count, int ms)
{
	for (int waited = 0;; waited += 10) {
		/* A unix datagram socket queues only a few messages
		 * (net.unix.max_dgram_qlen, 10 by default): left unread,
		 * the daemon's next sd_notify() would block its loop. */
		if (d->notify_fd >= 0)
			drain_notify(d);
		if (daemon_log_count(d, text) >= count)
			return true;
		if (waited >= ms)
			return false;
		sleep_ms(10);
	}
}

void
daemon_signal(struct daemon *d, int sig)
{
	ck_assert_int_eq(kill(d->pid, sig), 0);
}

int
daemon_wait_exit(struct daemon *d, int ms)
{
	for (int waited = 0;; waited += 10) {
		pid_t p = waitpid(d->pid, &d->status, WNOHANG);

		if (p == d->pid) {
			d->exited = true;
			return d->status;
		}
		if (waited >= ms)
			return -1;
		sleep_ms(10);
	}
}

void
daemon_done(struct daemon *d)
{
	if (d->pid > 0 && !d->exited) {
		kill(d->pid, SIGTERM);
		if (daemon_wait_exit(d, 10000) < 0) {
			kill(d->pid, SIGKILL);
			waitpid(d->pid, &d->status, 0);
		}
	}
	if (d->notify_fd >= 0)
		close(d->notify_fd);
	test_rmtree(d->dir);
	free(d->dir);
	free(d->conf);
	free(d->log);
	free(d->socket);
	free(d->notify_path);
	free(d->notified);
	memset(d, 0, sizeof(*d));
}

bool
wait_file(const char *path, const char *text, int ms)
{
	for (int waited = 0;; waited += 10) {
		_cleanup_free_ char *content = NULL;

		if (read_file(path, 1 << 20, &content, NULL) == 0 &&
		    (!text || strstr(content, text)))
			return true;
		if (waited >= ms)
			return false;
		sleep_ms(10);
	}
}

size_t
file_count(const char *path, const char *text)
{
	_cleanup_free_ char *content = NULL;
	size_t n = 0;

	if (read_file(path, 64 << 20, &content, NULL) < 0)
		return 0;
	for (char *line = content, *end; line && *line; line = end ? end + 1 : NULL) {
		end = strchr(line, '\n');
		if (end)
			*end = 0;
		if (strstr(line, text))
			n++;
	}
	return n;
}

long
proc_rss_kib(pid_t pid)
{
	char path[64];
	_cleanup_free_ char *status = NULL;
	const char *p;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (read_file(path, 1 << 16, &status, NULL) < 0)
		return -1;
	p = strstr(status, "VmRSS:");
	return p ? strtol(p + 6, NULL, 10) : -1;
}

/* Appends what can be read now; false at end of file. */
static bool
slurp(int fd, char **buf, size_t *len)
{
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof(tmp));

	if (n == 0)
		return false;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	*buf = realloc(*buf, *len + (size_t)n + 1);
	memcpy(*buf + *len, tmp, (size_t)n);
	*len += (size_t)n;
	(*buf)[*len] = 0;
	return true;
}

int
run_command(char *const *argv, char **ret_out, char **ret_err, int timeout_ms)
{
	int out[2], err[2], status = -1;
	posix_spawn_file_actions_t fa;
	char *obuf = calloc(1, 1), *ebuf = calloc(1, 1);
	size_t olen = 0, elen = 0;
	bool out_eof = false, err_eof = false;
	uint64_t start;
	pid_t pid;

	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
	/* Only our ends: a grandchild holding the pipe must not block us. */
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, err[1], STDERR_FILENO);
	ck_assert_int_eq(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	close(err[1]);
	start = now_usec(CLOCK_MONOTONIC);
	for (;;) {
		/* A negative fd is ignored by poll: those reached end of file. */
		struct pollfd fds[2] = { { out_eof ? -1 : out[0], POLLIN, 0 },
			                 { err_eof ? -1 : err[0], POLLIN, 0 } };

		if (poll(fds, 2, 20) > 0) {
			if (fds[0].revents)
				out_eof = !slurp(out[0], &obuf, &olen);
			if (fds[1].revents)
				err_eof = !slurp(err[0], &ebuf, &elen);
		}
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		if (now_usec(CLOCK_MONOTONIC) - start > (uint64_t)timeout_ms * 1000) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			ck_abort_msg("%s did not finish within %d ms", argv[0], timeout_ms);
		}
	}
	/* What is left in the pipes after exit. */
	for (;;) {
		size_t before = olen + elen;

		(void)slurp(out[0], &obuf, &olen);
		(void)slurp(err[0], &ebuf, &elen);
		if (olen + elen == before)
			break;
	}
	close(out[0]);
	close(err[0]);
	if (ret_out)
		*ret_out = obuf;
	else
		free(obuf);
	if (ret_err)
		*ret_err = ebuf;
	else
		free(ebuf);
	return status;
}

int
daemon_ginictl(const struct daemon *d, char **ret_out, char **ret_err, ...)
{
	char *argv[24];
	size_t n = 0;
	va_list ap;
	int st;

	argv[n++] = test_build_path("ginictl");
	argv[n++] = "-s";
	argv[n++] = d->socket;
	va_start(ap, ret_err);
	while (n < 23 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	st = run_command(argv, ret_out, ret_err, 60000);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}
