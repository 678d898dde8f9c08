/* SPDX-License-Identifier: MIT */
/*
 * The control socket's fast paths against a real daemon (issue 15, bench
 * case 9): the status reply kept between requests follows every change it
 * reports, and the edge-triggered connections read what is left in the
 * socket when their buffer filled, and the end of file that came with a
 * request.
 */
#include "check_control.h"

#include "proto.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Status answers from a reply kept between requests; every change it
 * reports is seen by the very next request on the same connection: a run
 * starting and ending, disable and enable, a reload. The uptime moves. */
static json_t *
status_of(int fd, json_t **ret_reply)
{
	json_decref(*ret_reply);
	*ret_reply = ctl_call(fd, "status", NULL);
	return ctl_ok_result(*ret_reply);
}

START_TEST(status_follows_the_state)
{
	json_t *r = NULL, *st, *res;
	double up;
	int fd;

	ctl_start(NULL);
	fd = ctl_client();
	st = status_of(fd, &r);
	ck_assert_int_eq(json_integer_value(json_object_get(st, "runs_in_flight")), 0);
	ck_assert_uint_eq(json_array_size(json_object_get(st, "disabled")), 0);
	up = json_number_value(json_object_get(st, "uptime_sec"));
	/* A run of "slow" (a 500 ms nap) starts: in flight at once. */
	res = ctl_call(fd, "run", "{\"pipeline\": \"slow\"}");
	ctl_ok_result(res);
	json_decref(res);
	st = status_of(fd, &r);
	ck_assert_int_eq(json_integer_value(json_object_get(st, "runs_in_flight")), 1);
	ck_assert(json_number_value(json_object_get(st, "uptime_sec")) > up);
	ck_assert_str_eq(json_string_value(json_object_get(st, "version")), GINI_VERSION);
	ck_assert_int_eq(json_integer_value(json_object_get(st, "pid")), ctl_d.pid);
	/* ...and no longer once it ended. */
	ck_assert(daemon_wait_log(&ctl_d, "pipeline 'slow': success", 1, 10000));
	for (int i = 0; i < 500; i++) {
		st = status_of(fd, &r);
		if (json_integer_value(json_object_get(st, "runs_in_flight")) == 0)
			break;
		usleep(10000);
	}
	ck_assert_int_eq(json_integer_value(json_object_get(st, "runs_in_flight")), 0);
	res = ctl_call(fd, "disable", "{\"pipeline\": \"ok\"}");
	ctl_ok_result(res);
	json_decref(res);
	st = status_of(fd, &r);
	ck_assert_uint_eq(json_array_size(json_object_get(st, "disabled")), 1);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(st, "disabled"), 0)),
	                 "ok");
	res = ctl_call(fd, "enable", "{\"pipeline\": \"ok\"}");
	ctl_ok_result(res);
	json_decref(res);
	st = status_of(fd, &r);
	ck_assert_uint_eq(json_array_size(json_object_get(st, "disabled")), 0);
	ck_assert(json_is_null(json_object_get(st, "last_reload")));
	res = ctl_call(fd, "reload", NULL);
	ctl_ok_result(res);
	json_decref(res);
	st = status_of(fd, &r);
	ck_assert_int_eq(json_integer_value(json_object_get(st, "generation")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(st, "reloads"), "ok")),
	                 1);
	ck_assert(json_is_true(json_object_get(json_object_get(st, "last_reload"), "ok")));
	json_decref(r);
	/* Without an id, and with one that is not a number: the same envelope. */
	ctl_send_text(fd, "{\"v\": 1, \"cmd\": \"status\"}\n");
	r = ctl_read_reply(fd, 10000);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_null(json_object_get(r, "id"));
	ck_assert(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	ctl_send_text(fd, "{\"v\": 1, \"id\": [\"x\", {\"y\": null}], \"cmd\": \"status\"}\n");
	r = ctl_read_reply(fd, 10000);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(r, "id"), 0)), "x");
	ck_assert_int_eq(
	        json_integer_value(json_object_get(json_object_get(r, "result"), "generation")), 2);
	json_decref(r);
	close(fd);
}
END_TEST

/* Sends n copies of req in as few writes as the socket takes, reading the
 * replies meanwhile; returns when each has its reply line. */
static void
pipeline_requests(int fd, const char *req, size_t n)
{
	size_t one = strlen(req), total = n * one, sent = 0, replies = 0;
	char *blob = malloc(total + 1), *end, buf[1 << 16];

	ck_assert_ptr_nonnull(blob);
	end = blob;
	for (size_t i = 0; i < n; i++)
		end = stpcpy(end, req);
	while (replies < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN | (sent < total ? POLLOUT : 0) };
		ssize_t k;

		ck_assert_msg(poll(&p, 1, 20000) > 0, "stuck after %zu replies, %zu bytes sent",
		              replies, sent);
		if (p.revents & POLLOUT) {
			k = send(fd, blob + sent, total - sent, MSG_NOSIGNAL);
			ck_assert(k > 0 || errno == EAGAIN);
			if (k > 0)
				sent += (size_t)k;
		}
		if (p.revents & POLLIN) {
			k = recv(fd, buf, sizeof(buf), 0);
			ck_assert_int_gt(k, 0);
			for (ssize_t i = 0; i < k; i++)
				replies += buf[i] == '\n';
		}
	}
	ck_assert_uint_eq(sent, total);
	free(blob);
}

/*
 * Requests pipelined beyond the daemon's input buffer (64 KiB): with short
 * replies, which it writes without pausing, and with status replies, which
 * pile up until it stops reading. The connection is edge-triggered, so
 * the bytes left in the socket when the buffer filled must be read without
 * a new edge. Every request gets its reply.
 */
START_TEST(pipelined_beyond_the_buffers)
{
	int fd;

	ctl_start(NULL);
	fd = ctl_client();
	ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	/* A bad_argument error: a short reply, and the connection stays. */
	pipeline_requests(fd, "{\"v\": 1, \"id\": 7, \"cmd\": \"status\", \"args\": []}\n", 6000);
	pipeline_requests(fd, "{\"v\": 1, \"id\": 7, \"cmd\": \"status\"}\n", 6000);
	close(fd);
}
END_TEST

/* A client that sends its request and shuts down its side at once gets
 * the reply, then the daemon closes the connection (the end of file came
 * with the request, in one edge). */
START_TEST(half_closed_client)
{
	char buf[4096];
	size_t len = 0;
	int fd;

	ctl_start(NULL);
	fd = ctl_client();
	ctl_send_text(fd, "{\"v\": 1, \"id\": 7, \"cmd\": \"status\"}\n");
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		ck_assert_msg(poll(&p, 1, 10000) == 1, "the daemon kept the connection open");
		n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
		ck_assert_int_ge(n, 0);
		if (n == 0)
			break;
		len += (size_t)n;
		ck_assert_uint_lt(len, sizeof(buf) - 1);
	}
	buf[len] = '\0';
	ck_assert_ptr_nonnull(strstr(buf, "\"ok\":true"));
	ck_assert_int_eq(buf[len - 1], '\n');
	close(fd);
}
END_TEST

void
control_fast_tcases(Suite *s)
{
	TCase *tc = tcase_create("fast paths");

	tcase_add_checked_fixture(tc, NULL, ctl_teardown);
	tcase_add_test(tc, status_follows_the_state);
	tcase_add_test(tc, pipelined_beyond_the_buffers);
	tcase_add_test(tc, half_closed_client);
	suite_add_tcase(s, tc);
}
