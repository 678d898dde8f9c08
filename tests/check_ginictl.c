/* SPDX-License-Identifier: MIT */
/*
 * ginictl on its own, without a daemon: what the built program links, its
 * client side of the protocol over a socketpair, and its output against a
 * stand-in daemon (a child process on a real socket, answering with canned
 * reply lines) for replies that a real ginid cannot easily be made to give.
 * ginictl against a real ginid is the control suite's.
 */
#include "tests.h"

#include "daemon.h"
#include "proto.h"
#include "util.h"

#include "../ginictl/client.h"
#include "../ginictl/when.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- what it links ---- */

/*
 * ginictl is a client: it links the protocol and its own code, not the
 * daemon's configuration parser (libconfig) or its ELF checks (libelf).
 * ldd lists what the dynamic loader maps for it, its libraries' libraries
 * too.
 */
START_TEST(links_no_daemon_libraries)
{
	char *argv[] = { "/usr/bin/ldd", test_build_path("ginictl"), NULL };
	char *out = NULL, *err = NULL;
	int st = run_command(argv, &out, &err, 30000);

	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "ldd: status %#x: %s", st, err);
	/* The output is what it should be: jansson is there. */
	ck_assert_msg(strstr(out, "libjansson.so"), "ldd ginictl:\n%s", out);
	ck_assert_msg(!strstr(out, "libconfig.so"), "ginictl links libconfig:\n%s", out);
	ck_assert_msg(!strstr(out, "libelf.so"), "ginictl links libelf:\n%s", out);
	free(out);
	free(err);
}
END_TEST

/* ---- the request ---- */

/*
 * A request that jansson cannot encode (a string that is not UTF-8, which
 * only the *_nocheck constructors make) fails with a message and sends
 * nothing: ginictl used to call strlen() on the NULL text before checking.
 */
START_TEST(unencodable_request)
{
	struct ctl c = { .socket = "socketpair", .fd = -1 };
	json_t *args = json_object();
	char buf[64];
	int sv[2], x = -1;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	c.fd = sv[0];
	ck_assert_int_eq(json_object_set_new(args, "pipeline", json_stringn_nocheck("\xff", 1)), 0);
	ck_assert_ptr_null(client_request(&c, "run", args, 1000, NULL, &x));
	ck_assert_int_eq(x, CTL_EXIT_FAILED);
	ck_assert_int_eq(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT), -1);
	ck_assert_int_eq(errno, EAGAIN);
	client_done(&c);
	close(sv[1]);
}
END_TEST

/* ---- the times of --since and --until ---- */

START_TEST(when)
{
	/* 2026-12-01T08:00:00Z */
	const long long t = 1796112000;

	ck_assert_int_eq(when_parse("2h", 100000), 100000 - 7200);
	ck_assert_int_eq(when_parse("1h30m", 100000), 100000 - 5400);
	ck_assert_int_eq(when_parse("2026-12-01T08:00:00Z", 0), t);
	ck_assert_int_eq(when_parse("2026-12-01T08:00:00.250Z", 0), t);
	ck_assert_int_eq(when_parse("2026-12-01T09:30:00+01:30", 0), t);
	ck_assert_int_eq(when_parse("2026-12-01T03:00:00-05:00", 0), t);
	ck_assert_int_eq(when_parse("2026-12-01T08:00:00+1:00", 0), -1);
	ck_assert_int_eq(when_parse("2026-12-01T08:00:00+01:0x", 0), -1);
	ck_assert_int_eq(when_parse("yesterday", 0), -1);
	ck_assert_int_eq(when_parse("", 0), -1);
}
END_TEST

/* ---- output, against a stand-in daemon ---- */

/*
 * A stand-in for ginid: a listening socket in a fresh directory, and a child
 * that accepts one connection, reads one request line and answers with the
 * given reply lines, then exits. Bound before the fork, so ginictl never
 * finds it missing.
 */
struct standin {
	char *dir;
	char path[108];
	pid_t pid;
};

static void
standin_start(struct standin *s, const char *reply)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	s->dir = test_tmpdir("ginictl");
	ck_assert_int_lt(snprintf(s->path, sizeof(s->path), "%s/ctl.sock", s->dir),
	                 (int)sizeof(s->path));
	strcpy(sa.sun_path, s->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	s->pid = fork();
	ck_assert_int_ge(s->pid, 0);
	if (s->pid == 0) {
		int conn = accept(fd, NULL, NULL);
		size_t len = strlen(reply), off = 0;
		char ch;

		if (conn < 0)
			_exit(1);
		while (read(conn, &ch, 1) == 1 && ch != '\n')
			;
		while (off < len) {
			ssize_t n = write(conn, reply + off, len - off);

			if (n <= 0)
				_exit(1);
			off += (size_t)n;
		}
		close(conn);
		_exit(0);
	}
	close(fd);
}

/* Runs `ginictl -s STANDIN args...`; returns its stdout; checks its exit status. */
static char *
standin_ginictl(struct standin *s, int want_exit, const char *a1, const char *a2, const char *a3)
{
	char *argv[] = {
		test_build_path("ginictl"), "-s", s->path, (char *)a1, (char *)a2, (char *)a3, NULL
	};
	char *out = NULL, *err = NULL;
	int st = run_command(argv, &out, &err, 30000), cst;

	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == want_exit,
	              "ginictl %s: status %#x, stderr: %s", a1, st, err);
	ck_assert_int_eq(waitpid(s->pid, &cst, 0), s->pid);
	ck_assert_msg(WIFEXITED(cst) && WEXITSTATUS(cst) == 0, "the stand-in failed");
	free(err);
	test_rmtree(s->dir);
	free(s->dir);
	return out;
}

/*
 * Every number in a line printed whole, however long: each cell of one
 * printf had a part of one buffer whose size overlapped the next part
 * (issue 14: ginictl.c:751 then), so a run id or a generation of 16 digits
 * or more ran into the duration or the pipeline count printed beside it.
 */
START_TEST(long_numbers)
{
	struct standin s;
	char *out;

	standin_start(&s, "{\"v\": 1, \"ok\": true, \"result\": {\"run_id\": 1234567890123456789, "
	                  "\"result\": \"success\", \"duration_usec\": 1500000}}\n");
	out = standin_ginictl(&s, 0, "run", "p", "--wait");
	ck_assert_msg(strstr(out, "\nrun 1234567890123456789: success in 1.50s\n"), "%s", out);
	free(out);

	standin_start(&s, "{\"v\": 1, \"ok\": true, \"result\": {\"generation\": "
	                  "1234567890123456789, \"stage_types\": 7, \"plugins_loaded\": 2, "
	                  "\"pipelines\": 8765432109876543210}}\n");
	out = standin_ginictl(&s, 0, "reload", NULL, NULL);
	ck_assert_str_eq(out, "reloaded: generation 1234567890123456789, 7 stage types (2 plugin "
	                      "files loaded anew), 8765432109876543210 pipelines\n");
	free(out);

	standin_start(&s, "{\"v\": 1, \"ok\": true, \"result\": {\"version\": \"0.1.0\", "
	                  "\"pid\": 1234567890123456789, \"uptime_sec\": 2.5, "
	                  "\"protocol\": 8765432109876543210}}\n");
	out = standin_ginictl(&s, 0, "status", NULL, NULL);
	ck_assert_msg(strncmp(out,
	                      "ginid 0.1.0 (pid 1234567890123456789), up 2.50s, protocol "
	                      "8765432109876543210\n",
	                      strlen("ginid 0.1.0 (pid 1234567890123456789), up 2.50s, protocol "
	                             "8765432109876543210\n")) == 0,
	              "%s", out);
	free(out);
}
END_TEST

Suite *
ginictl_suite(void)
{
	Suite *s = suite_create("ginictl");
	TCase *tc = tcase_create("link");

	tcase_add_test(tc, links_no_daemon_libraries);
	suite_add_tcase(s, tc);
	tc = tcase_create("request");

	tcase_add_test(tc, unencodable_request);
	suite_add_tcase(s, tc);
	tc = tcase_create("when");
	tcase_add_test(tc, when);
	suite_add_tcase(s, tc);
	tc = tcase_create("output");
	tcase_add_test(tc, long_numbers);
	suite_add_tcase(s, tc);
	return s;
}
