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

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

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

Suite *
ginictl_suite(void)
{
	Suite *s = suite_create("ginictl");
	TCase *tc = tcase_create("request");

	tcase_add_test(tc, unencodable_request);
	suite_add_tcase(s, tc);
	return s;
}
