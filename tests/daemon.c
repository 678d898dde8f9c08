/* SPDX-License-Identifier: MIT */
/*
 * Integration-test plumbing: start the real ginid binary on a temporary
 * configuration, collect its sd_notify messages on a socket the test owns,
 * read its log, signal it, and reap it, failing the test on a set-up error.
 * The process handling itself is daemon_proc.c, shared with bench/. Waits
 * have generous limits: they guard against hangs, they do not measure
 * anything. Also: running a command with its output captured, and ginictl.
 */
#include "daemon.h"

#include "tests.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <grp.h>
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

/* Sleeps, reading d's notifications meanwhile. */
static void
sleep_ms(struct daemon *d, int ms)
{
	daemon_proc_sleep(d->notify_fd >= 0 ? &d->proc : NULL, (uint64_t)ms * 1000);
}

void
daemon_init(struct daemon *d, const char *tag, const char *conf_text)
{
	memset(d, 0, sizeof(*d));
	d->dir = test_tmpdir(tag);
	ck_assert_int_eq(daemon_proc_init(&d->proc, "ginid", daemon_path(d, "ginid.log")), 0);
	d->conf = path_join(d->dir, "gini.conf");
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

void
daemon_forget_notified(struct daemon *d)
{
	free(d->notified);
	d->notified = NULL;
	d->notified_len = 0;
}

void
daemon_restart(struct daemon *d)
{
	daemon_forget_notified(d);
	d->exited = false;
	daemon_spawn(d, NULL, NULL);
	ck_assert(daemon_wait_notify(d, "READY=1", 30000));
}

void
daemon_spawn(struct daemon *d, const char *plugin_dir, const char *const *extra)
{
	const char *plugin_dirs[] = { plugin_dir ? plugin_dir : test_build_path("stages") };
	const struct daemon_proc_args a = {
		.ginid = test_build_path("ginid"),
		.wrap = d->wrap,
		.conf = d->conf,
		.plugin_dirs = plugin_dirs,
		.n_plugin_dirs = 1,
		.state_dir = daemon_path(d, "state"),
		.control_socket = d->socket,
		.extra = extra,
	};
	const char *argv[DAEMON_PROC_ARGV_MAX];
	char watchdog_env[64];
	const char *env[2] = { NULL, NULL };
	int r;

	if (d->notify_fd < 0) {
		r = daemon_proc_notify_bind(&d->proc, d->notify_path);
		ck_assert_msg(r == 0, "notify socket %s: %s", d->notify_path, strerror(-r));
	}
	ck_assert_int_eq(daemon_proc_ginid_argv(&a, argv), 0);
	if (d->watchdog_usec) {
		snprintf(watchdog_env, sizeof(watchdog_env), "WATCHDOG_USEC=%s", d->watchdog_usec);
		env[0] = watchdog_env;
	}
	r = daemon_proc_spawn(&d->proc, (char *const *)argv, env);
	ck_assert_msg(r == 0, "cannot start %s: %s", argv[0], strerror(-r));
}

bool
daemon_wait_notify(struct daemon *d, const char *text, int ms)
{
	int r = daemon_proc_wait_notify(&d->proc, text, 0, ms, NULL);

	/* A daemon that exited cannot send it any more: say so now. */
	if (r == -ECHILD)
		fprintf(stderr, "daemon: ginid %d exited (wait status 0x%x) before '%s'\n",
		        (int)d->pid, d->status, text);
	return r == 0;
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
		if (daemon_log_count(d, text) >= count)
			return true;
		if (waited >= ms)
			return false;
		sleep_ms(d, 10);
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
	return daemon_proc_wait_exit(&d->proc, ms) ? d->status : -1;
}

void
daemon_done(struct daemon *d)
{
	(void)daemon_proc_stop(&d->proc, 10000, NULL);
	daemon_proc_done(&d->proc);
	test_rmtree(d->dir);
	free(d->dir);
	free(d->conf);
	free(d->socket);
	memset(d, 0, sizeof(*d));
	d->pid = -1;
	d->notify_fd = -1;
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
		daemon_proc_sleep(NULL, 10000);
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

int
daemon_check(const struct daemon *d, char **ret_out, char **ret_err)
{
	char *argv[] = { test_build_path("ginid"),
		         "-t",
		         "-c",
		         d->conf,
		         "--plugin-dir",
		         test_build_path("stages"),
		         "--state-dir",
		         (char *)daemon_path(d, "state"),
		         NULL };
	int st = run_command(argv, ret_out, ret_err, 60000);

	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

int
run_as_user(uid_t uid, gid_t gid, const gid_t *groups, size_t n, int (*fn)(void))
{
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (setgroups(n, groups) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
			_exit(99);
		_exit(fn());
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

int
daemon_connect(const struct daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_uint_lt(strlen(d->socket), sizeof(sa.sun_path));
	strcpy(sa.sun_path, d->socket);
	ck_assert_int_ge(fd, 0);
	ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect %s: %s",
	              d->socket, strerror(errno));
	return fd;
}

bool
daemon_send_all(int fd, const char *text, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(fd, text + off, len - off, MSG_NOSIGNAL);

		if (n <= 0)
			return false;
		off += (size_t)n;
	}
	return true;
}

json_t *
daemon_read_reply(int fd, int ms)
{
	static char buf[1 << 16];
	size_t len = 0;

	while (len < sizeof(buf) - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, ms) <= 0 || recv(fd, buf + len, 1, 0) <= 0)
			return NULL;
		if (buf[len] == '\n')
			return json_loadb(buf, len, 0, NULL);
		len++;
	}
	return NULL;
}

json_t *
daemon_call(int fd, const char *cmd, const char *args)
{
	char *line;
	json_t *r;

	ck_assert_int_ne(asprintf(&line, "{\"v\": 1, \"id\": 7, \"cmd\": \"%s\", \"args\": %s}\n",
	                          cmd, args ? args : "{}"),
	                 -1);
	ck_assert(daemon_send_all(fd, line, strlen(line)));
	free(line);
	r = daemon_read_reply(fd, 10000);
	ck_assert_msg(r != NULL, "no reply to '%s'", cmd);
	return r;
}

const char *
reply_error_code(json_t *r)
{
	const char *code = json_string_value(json_object_get(json_object_get(r, "error"), "code"));

	return code ? code : "";
}
