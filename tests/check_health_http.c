/* SPDX-License-Identifier: MIT */
/*
 * The health suite, continued: GET /metrics and /health over TCP (IPv4,
 * IPv6) and a unix socket with well-behaved clients (curl, promtool) and
 * badly-behaved raw ones, and the journald fields when stderr is the
 * journal.
 */
#include "check_health.h"

#include "config.h"
#include "generation.h"
#include "health.h"
#include "http.h"
#include "pipeline.h"
#include "proto.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- HTTP ---- */

/* The address the daemon logged, for connect(). */
static void
logged_address(struct sockaddr_storage *ss, socklen_t *len)
{
	char *log = NULL, *p, *end;

	ck_assert(daemon_wait_log(&hl_d, "metrics: serving /metrics and /health on ", 1, 5000));
	ck_assert_int_eq(read_file(hl_d.log, 1 << 20, &log, NULL), 0);
	p = strstr(log, "metrics: serving /metrics and /health on ") + 41;
	end = strchr(p, '\n');
	*end = 0;
	memset(ss, 0, sizeof(*ss));
	if (strncmp(p, "http://", 7) == 0) {
		struct http_listen l;
		char err[256];

		ck_assert_int_eq(http_parse_listen(p + 7, &l, err, sizeof(err)), 0);
		*ss = l.addr;
		*len = l.len;
	} else {
		struct http_listen l;
		char err[256];

		ck_assert(strncmp(p, "unix socket ", 12) == 0);
		ck_assert_int_eq(http_parse_listen(p + 12, &l, err, sizeof(err)), 0);
		*ss = l.addr;
		*len = l.len;
	}
	free(log);
}

static struct sockaddr_storage addr;
static socklen_t addr_len;

static int
connect_to(void)
{
	int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_msg(connect(fd, (struct sockaddr *)&addr, addr_len) == 0, "connect: %m");
	return fd;
}

/* Reads until the server closes (or 20 s pass: a hang, not a measurement). */
static char *
read_all(int fd)
{
	char *buf = calloc(1, 1);
	size_t len = 0;

	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		char tmp[4096], *grown;
		ssize_t n;

		ck_assert_msg(poll(&pfd, 1, 20000) == 1, "the server neither answered nor closed");
		n = read(fd, tmp, sizeof(tmp));
		if (n <= 0)
			break;
		grown = realloc(buf, len + (size_t)n + 1);

		ck_assert_ptr_nonnull(grown);
		buf = grown;
		memcpy(buf + len, tmp, (size_t)n);
		len += (size_t)n;
		buf[len] = 0;
	}
	return buf;
}

/* Sends raw bytes, returns the whole response. */
static char *
raw(const char *req, size_t len)
{
	int fd = connect_to();
	char *resp;

	ck_assert_int_eq(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
	resp = read_all(fd);
	close(fd);
	return resp;
}

static int
status_of(const char *resp)
{
	char *end;
	long st;

	ck_assert_msg(strncmp(resp, "HTTP/1.", 7) == 0 && resp[7] && resp[8] == ' ',
	              "not an HTTP response: '%.200s'", resp);
	st = strtol(resp + 9, &end, 10);
	ck_assert_msg(end == resp + 12 && *end == ' ', "not an HTTP response: '%.200s'", resp);
	return (int)st;
}

static int
get_status(const char *method, const char *path, char **ret_body)
{
	char req[512], *resp, *body;
	int st;

	snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", method,
	         path);
	resp = raw(req, strlen(req));
	st = status_of(resp);
	body = strstr(resp, "\r\n\r\n");
	if (ret_body)
		*ret_body = strdup(body ? body + 4 : "");
	free(resp);
	return st;
}

static void
start_http(const char *listen)
{
	char *extra;

	ck_assert_int_ne(asprintf(&extra, "metrics_listen = \"%s\";\n", listen), -1);
	hl_start(extra);
	free(extra);
	logged_address(&addr, &addr_len);
}

static bool
have(const char *prog)
{
	char path[256];

	snprintf(path, sizeof(path), "/usr/bin/%s", prog);
	return access(path, X_OK) == 0;
}

START_TEST(http_health_and_metrics)
{
	char *body, *out, *err, url[128], *argv[8];
	int st;

	start_http("127.0.0.1:0");
	ck_assert_int_eq(get_status("GET", "/health", &body), 200);
	ck_assert_ptr_nonnull(strstr(body, "\"healthy\": true"));
	free(body);
	ck_assert_int_eq(ginictl(&out, &err, "run", "backup", "--wait", NULL), CTL_EXIT_FAILED);
	free(out);
	free(err);
	ck_assert_int_eq(get_status("GET", "/health", &body), 503);
	ck_assert_ptr_nonnull(strstr(body, "\"summary\": \"2 pipelines, 1 unhealthy: backup (last "
	                                   "run failed)\""));
	free(body);
	ck_assert_int_eq(get_status("GET", "/metrics", &body), 200);
	ck_assert_ptr_nonnull(strstr(body, "gini_pipeline_healthy{pipeline=\"backup\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(body, "gini_pipeline_runs_total{pipeline=\"backup\",result="
	                                   "\"failed\"} 1\n"));
	/* The history store's families, through the same text. */
	ck_assert_ptr_nonnull(strstr(body, "# TYPE gini_history_rows gauge\n"));
	ck_assert_ptr_nonnull(
	        strstr(body, "# TYPE gini_history_write_duration_seconds histogram\n"));
	ck_assert_ptr_nonnull(strstr(body, "gini_history_enabled 1\n"));
	free(body);
	/* HEAD: the headers of GET, no body. */
	ck_assert_int_eq(get_status("HEAD", "/metrics", &body), 200);
	ck_assert_str_eq(body, "");
	free(body);

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/health",
	         ntohs(((struct sockaddr_in *)&addr)->sin_port));
	if (!have("curl")) {
		printf("http_health_and_metrics: curl part skipped: install it with "
		       "apt-get install curl\n");
	} else {
		/* curl -f fails on 4xx/5xx: 22. */
		argv[0] = "/usr/bin/curl";
		argv[1] = "-sf";
		argv[2] = url;
		argv[3] = NULL;
		st = run_command(argv, &out, &err, 20000);
		ck_assert_int_eq(WEXITSTATUS(st), 22);
		free(out);
		free(err);
		argv[1] = "-s";
		st = run_command(argv, &out, &err, 20000);
		ck_assert_int_eq(WEXITSTATUS(st), 0);
		ck_assert_ptr_nonnull(strstr(out, "\"last run failed\""));
		free(out);
		free(err);
	}
	if (!have("promtool")) {
		printf("http_health_and_metrics: promtool check skipped: install it with "
		       "apt-get install prometheus\n");
	} else {
		char *metrics = NULL, *file = path_join(hl_d.dir, "metrics.txt");
		char cmd[1024];

		ck_assert_int_eq(get_status("GET", "/metrics", &metrics), 200);
		test_write_file(file, metrics, 0644);
		snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", file);
		argv[0] = "/bin/sh";
		argv[1] = "-c";
		argv[2] = cmd;
		argv[3] = NULL;
		st = run_command(argv, &out, &err, 20000);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "promtool: %s%s", out, err);
		free(out);
		free(err);
		free(metrics);
		free(file);
	}
}
END_TEST

START_TEST(http_bad_requests)
{
	static const char post[] =
	        "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
	static const char get_body[] =
	        "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
	static const char chunked[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
	                              "chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
	static const char garbage[] = "\x16\x03\x01 this is not HTTP at all\r\n\r\n";
	char *resp, *big;
	size_t n = 64 * 1024;

	start_http("127.0.0.1:0");
	ck_assert_int_eq(get_status("GET", "/nope", NULL), 404);
	ck_assert_int_eq(get_status("GET", "/metrics/../health", NULL), 404);
	ck_assert_int_eq(get_status("DELETE", "/metrics", NULL), 405);
	resp = raw(post, sizeof(post) - 1);
	ck_assert_int_eq(status_of(resp), 405);
	ck_assert_ptr_nonnull(strstr(resp, "Allow: GET, HEAD\r\n"));
	free(resp);
	resp = raw(get_body, sizeof(get_body) - 1);
	ck_assert_int_eq(status_of(resp), 413);
	free(resp);
	resp = raw(chunked, sizeof(chunked) - 1);
	ck_assert_int_eq(status_of(resp), 400);
	free(resp);
	resp = raw(garbage, sizeof(garbage) - 1);
	ck_assert_int_eq(status_of(resp), 400);
	free(resp);
	/* Headers beyond the connection's memory. */
	big = malloc(n + 128);
	strcpy(big, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(big + strlen(big), 'a', n);
	strcpy(big + strlen("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ") + n, "\r\n\r\n");
	resp = raw(big, strlen(big));
	ck_assert_int_ge(status_of(resp), 400);
	ck_assert_int_lt(status_of(resp), 500);
	free(resp);
	free(big);
	/* And it still serves. */
	ck_assert_int_eq(get_status("GET", "/metrics", NULL), 200);
}
END_TEST

/*
 * Connections the daemon has accepted on its metrics unix socket: in
 * /proc/net/unix, an accepted socket carries the listener's path and state
 * 03 (connected); one still waiting in the backlog has no owner yet (02).
 */
static size_t
accepted(void)
{
	const char *path = ((struct sockaddr_un *)&addr)->sun_path;
	char *text = NULL;
	size_t n = 0, plen = strlen(path);

	ck_assert_int_eq(read_file("/proc/net/unix", 64 << 20, &text, NULL), 0);
	for (char *line = text, *end; line && *line; line = end ? end + 1 : NULL) {
		const char *f = line;
		size_t len;

		end = strchr(line, '\n');
		if (end)
			*end = 0;
		len = strlen(line);
		/* Num RefCount Protocol Flags Type St Inode Path: St is the 6th. */
		for (int k = 0; k < 5 && f; k++) {
			f = strchr(f, ' ');
			f = f ? f + strspn(f, " ") : NULL;
		}
		if (len > plen && streq(line + len - plen, path) && line[len - plen - 1] == ' ' &&
		    f && strncmp(f, "03 ", 3) == 0)
			n++;
	}
	free(text);
	return n;
}

/* A round trip through the loop: whatever was pending before is handled. */
static void
loop_turn(void)
{
	char *out, *err;

	ck_assert_int_eq(ginictl(&out, &err, "health", NULL), 0);
	free(out);
	free(err);
}

/*
 * limit clients send half a request and stall: each holds a slot, never the
 * loop. One more connection is closed unanswered (per_address: the limit is
 * per client address), or (unix socket) waits unaccepted for a free slot.
 */
static void
stallers(int limit, bool per_address)
{
	static const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
	int fds[64], extra;
	char *resp;

	ck_assert_int_le(limit, 64);
	for (int i = 0; i < limit; i++) {
		fds[i] = connect_to();
		ck_assert_int_eq(send(fds[i], "GET /metr", 9, MSG_NOSIGNAL), 9);
	}
	/* The control socket is served meanwhile. */
	loop_turn();
	extra = connect_to();
	ck_assert_int_eq(send(extra, req, sizeof(req) - 1, MSG_NOSIGNAL), sizeof(req) - 1);
	if (per_address) {
		resp = read_all(extra);
		ck_assert_str_eq(resp, "");
		free(resp);
		close(extra);
	} else {
		for (int tries = 0; accepted() < (size_t)limit && tries < 500; tries++)
			usleep(10000);
		loop_turn();
		ck_assert_uint_eq(accepted(), (size_t)limit);
	}
	/* A slot frees up when a staller goes. */
	close(fds[0]);
	if (!per_address) {
		resp = read_all(extra);
		ck_assert_int_eq(status_of(resp), 200);
		free(resp);
		close(extra);
	}
	for (int tries = 0;; tries++) {
		resp = raw(req, sizeof(req) - 1);
		if (resp[0] || tries == 200)
			break;
		free(resp);
		usleep(20000);
	}
	ck_assert_int_eq(status_of(resp), 200);
	free(resp);
	for (int i = 1; i < limit; i++)
		close(fds[i]);
}

START_TEST(http_slow_clients_ipv4)
{
	start_http("127.0.0.1:0");
	/* HTTP_CONNS_PER_IP */
	stallers(8, true);
}
END_TEST

START_TEST(http_slow_clients_unix)
{
	/* A unix socket has no address to count by: only the total applies. */
	start_http("%1$s/metrics.sock");
	ck_assert_int_eq(addr.ss_family, AF_UNIX);
	ck_assert_int_eq(get_status("GET", "/health", NULL), 200);
	/* HTTP_CONNS_MAX */
	stallers(32, false);
}
END_TEST

START_TEST(http_ipv6)
{
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		printf("http_ipv6: skipped: no IPv6 loopback here (%m)\n");
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	start_http("[::1]:0");
	ck_assert_int_eq(addr.ss_family, AF_INET6);
	ck_assert_int_eq(get_status("GET", "/health", NULL), 200);
	ck_assert_int_eq(get_status("GET", "/metrics", NULL), 200);
}
END_TEST

/* A port that is taken: the daemon does not start, and says why. */
START_TEST(http_port_taken)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET,
		                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	char conf[128];

	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(conf, sizeof(conf), "metrics_listen = \"127.0.0.1:%u\";\n", ntohs(sa.sin_port));
	daemon_init(&hl_d, "health", conf);
	daemon_spawn(&hl_d, NULL, NULL);
	ck_assert_int_ge(daemon_wait_exit(&hl_d, 20000), 0);
	ck_assert(WIFEXITED(hl_d.status) && WEXITSTATUS(hl_d.status) != 0);
	ck_assert_uint_eq(daemon_log_count(&hl_d, "cannot bind: Address already in use"), 1);
	close(fd);
}
END_TEST

/* ---- journald ---- */

/*
 * In a child with a mount namespace of its own, a tmpfs over /run holds a
 * fake journal: /run/systemd/journal/socket, a datagram socket this child
 * reads. ginid runs there with stderr on a file that JOURNAL_STREAM names,
 * as systemd would set it up; every datagram it sends is appended to
 * out_path, separated by a line "--". Exits 0, or 77 with the reason in
 * out_path when namespaces or mounts are not allowed here.
 */
static void
journal_child(const char *conf, const char *log_path, const char *out_path, const char *ctl)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char env_stream[64], buf[65536];
	FILE *out = fopen(out_path, "w");
	struct stat st;
	int fd, logfd, status;
	pid_t pid;

	if (!out)
		_exit(1);
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") < 0) {
		fprintf(out, "cannot make a private /run: %m");
		fclose(out);
		_exit(77);
	}
	if (mkdir("/run/systemd", 0755) < 0 || mkdir("/run/systemd/journal", 0755) < 0)
		_exit(2);
	strcpy(sa.sun_path, "/run/systemd/journal/socket");
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		_exit(3);
	logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0 || fstat(logfd, &st) < 0)
		_exit(4);
	snprintf(env_stream, sizeof(env_stream), "%llu:%llu", (unsigned long long)st.st_dev,
	         (unsigned long long)st.st_ino);
	pid = fork();
	if (pid == 0) {
		dup2(logfd, STDERR_FILENO);
		setenv("JOURNAL_STREAM", env_stream, 1);
		unsetenv("NOTIFY_SOCKET");
		execl(test_build_path("ginid"), "ginid", "-c", conf, "--plugin-dir",
		      test_build_path("stages"), "--control-socket", ctl, (char *)NULL);
		_exit(127);
	}
	/* Until the run's end is logged (or 20 s of silence: a hang). */
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&pfd, 1, 20000) != 1)
			break;
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			break;
		buf[n] = 0;
		fprintf(out, "%s--\n", buf);
		fflush(out);
		if (strstr(buf, "GINI_PIPELINE=backup") && strstr(buf, "failed in"))
			break;
	}
	kill(pid, SIGTERM);
	/* Drain what it says while stopping, so it never blocks on a full queue. */
	while (waitpid(pid, &status, WNOHANG) == 0)
		(void)recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	fclose(out);
	_exit(0);
}

/* The datagram (between "--" lines) that contains needle, or NULL. */
static char *
datagram_with(const char *all, const char *needle)
{
	for (const char *p = all; *p;) {
		const char *end = strstr(p, "--\n");
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char *one = strndup(p, len);

		if (strstr(one, needle))
			return one;
		free(one);
		if (!end)
			break;
		p = end + 3;
	}
	return NULL;
}

START_TEST(journal_fields)
{
	char *dir = test_tmpdir("health-journal"), *conf = path_join(dir, "gini.conf");
	char *log = path_join(dir, "ginid.log"), *out = path_join(dir, "journal.txt");
	char *ctl = path_join(dir, "ctl.sock"), *all = NULL, *dg, *text;
	int status;
	pid_t pid;

	/* A state dir of its own: run ids go on from the history found there. */
	ck_assert_int_ne(
	        asprintf(&text,
	                 "state_dir = \"%s/state\";\n"
	                 "pipelines = (\n"
	                 "  { name = \"backup\"; triggers = { on_start = true; }; steps = (\n"
	                 "      { id = \"hello\"; stage = \"log\"; params = { message = \"hi\"; }; "
	                 "},\n"
	                 "      { id = \"boom\"; stage = \"fail\"; after = \"hello\"; } ); }\n"
	                 ");\n",
	                 dir),
	        -1);
	test_write_file(conf, text, 0644);
	free(text);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		journal_child(conf, log, out, ctl);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(read_file(out, 1 << 20, &all, NULL), 0);
	if (WEXITSTATUS(status) == 77) {
		printf("journal_fields: skipped: %s\n", all);
		goto out;
	}
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	/* A plugin's line, from the worker running the step. */
	dg = datagram_with(all, "MESSAGE=run 1: pipeline 'backup': step 'hello': hi\n");
	ck_assert_msg(dg, "no datagram of the log step in:\n%s", all);
	ck_assert_ptr_nonnull(strstr(dg, "\nPRIORITY=6\n"));
	ck_assert_ptr_nonnull(strstr(dg, "\nGINI_PIPELINE=backup\n"));
	ck_assert_ptr_nonnull(strstr(dg, "\nGINI_RUN=1\n"));
	ck_assert_ptr_nonnull(strstr(dg, "\nGINI_STEP=hello\n"));
	ck_assert_ptr_nonnull(strstr(dg, "\nGINI_STAGE=log\n"));
	ck_assert_ptr_nonnull(strstr(dg, "\nGINI_GENERATION=1\n"));
	free(dg);
	/* The failed step, logged by the executor on the worker. */
	dg = datagram_with(all, "MESSAGE=run 1: pipeline 'backup': step 'boom': failed");
	ck_assert_msg(dg, "no datagram of the failed step in:\n%s", all);
	ck_assert_ptr_nonnull(strstr(dg, "\nPRIORITY=3\n"));
	ck_assert_ptr_nonnull(strstr(dg, "\nGINI_STEP=boom\n"));
	ck_assert_ptr_nonnull(strstr(dg, "\nGINI_STAGE=fail\n"));
	free(dg);
	/* The run's end, on the loop thread: the run's fields, no step. */
	dg = datagram_with(all, "MESSAGE=run 1: pipeline 'backup': failed in ");
	ck_assert_msg(dg, "no datagram of the run's end in:\n%s", all);
	ck_assert_ptr_nonnull(strstr(dg, "\nPRIORITY=4\n"));
	ck_assert_ptr_nonnull(strstr(dg, "\nGINI_PIPELINE=backup\n"));
	ck_assert_ptr_nonnull(strstr(dg, "\nGINI_RUN=1\n"));
	ck_assert_ptr_null(strstr(dg, "GINI_STEP="));
	free(dg);
	/* A line about no pipeline has none of the fields. */
	dg = datagram_with(all, "MESSAGE=ginid ");
	ck_assert_msg(dg, "no start-up datagram in:\n%s", all);
	ck_assert_ptr_nonnull(strstr(dg, "\nSYSLOG_IDENTIFIER=ginid"));
	ck_assert_ptr_null(strstr(dg, "GINI_"));
	free(dg);
	/* Nothing went to stderr meanwhile. */
	ck_assert_uint_eq(file_count(log, "pipeline 'backup'"), 0);
out:
	free(all);
	test_rmtree(dir);
	free(dir);
	free(conf);
	free(log);
	free(out);
	free(ctl);
}
END_TEST

void
health_http_tcases(Suite *s)
{
	TCase *tc;

	tc = tcase_create("http");
	tcase_add_checked_fixture(tc, NULL, hl_teardown);
	tcase_add_test(tc, http_health_and_metrics);
	tcase_add_test(tc, http_bad_requests);
	tcase_add_test(tc, http_slow_clients_ipv4);
	tcase_add_test(tc, http_slow_clients_unix);
	tcase_add_test(tc, http_ipv6);
	tcase_add_test(tc, http_port_taken);
	suite_add_tcase(s, tc);
	tc = tcase_create("journal");
	tcase_add_test(tc, journal_fields);
	suite_add_tcase(s, tc);
}
