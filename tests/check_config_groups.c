/* SPDX-License-Identifier: MIT */
/*
 * control_group and control_readonly_group (daemon/config.c): resolved
 * when the configuration is read, so that `ginid -t` and a reload report
 * an unknown group at its line, and start-up never gets as far as the
 * control socket with one.
 */
#include "tests.h"

#include "config.h"
#include "daemon.h"
#include "diag.h"
#include "util.h"

#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NO_GROUP    "gini-no-such-group"
#define NO_GROUP_RO "gini-no-such-group-either"
#define UNKNOWN_GROUPS                                                                             \
	"control_group = \"" NO_GROUP "\";\ncontrol_readonly_group = \"" NO_GROUP_RO "\";\n"

static struct gini_config *
load(const char *text, struct diags *diags)
{
	_cleanup_free_ char *dir = test_tmpdir("config-groups");
	struct gini_config *c = NULL;

	ck_assert_int_eq(config_load_string(text, "gini.conf", dir, NULL, &c, diags), 0);
	test_rmtree(dir);
	return c;
}

START_TEST(unknown_groups_reported_at_their_line)
{
	struct diags diags = { 0 };
	struct gini_config *c = load("workers = 1;\n" UNKNOWN_GROUPS, &diags);
	char buf[512];

	ck_assert_uint_eq(diags.n, 2);
	ck_assert_str_eq(diag_format(&diags.v[0], buf, sizeof(buf)),
	                 "gini.conf:2: control_group '" NO_GROUP "': no such group");
	ck_assert_str_eq(diag_format(&diags.v[1], buf, sizeof(buf)),
	                 "gini.conf:3: control_readonly_group '" NO_GROUP_RO "': no such group");
	config_free(c);
	diags_done(&diags);
}
END_TEST

START_TEST(groups_resolved_into_the_config)
{
	struct diags diags = { 0 };
	struct group *gr = getgrgid(getgid());
	struct gini_config *c;
	char text[512];

	/* Our own group has a name wherever the tests run; a number is a gid. */
	ck_assert_ptr_nonnull(gr);
	snprintf(text, sizeof(text),
	         "control_group = \"%s\";\ncontrol_readonly_group = \"4243\";\n", gr->gr_name);
	c = load(text, &diags);
	ck_assert_uint_eq(diags.n, 0);
	ck_assert_str_eq(c->control_group, gr->gr_name);
	ck_assert_uint_eq(c->control_gid, getgid());
	ck_assert_str_eq(c->control_readonly_group, "4243");
	ck_assert_uint_eq(c->control_readonly_gid, 4243);
	config_free(c);
	diags_done(&diags);
}
END_TEST

/* The same through a real ginid: `ginid -t`, and a start that never binds. */
START_TEST(ginid_reports_unknown_groups_with_file_and_line)
{
	static const char *const test_mode[] = { "-t", NULL };
	struct daemon d;
	char expect[1024];

	daemon_init(&d, "config-groups", UNKNOWN_GROUPS);
	for (int run = 0; run < 2; run++) {
		daemon_spawn(&d, NULL, run == 0 ? test_mode : NULL);
		ck_assert_int_ne(daemon_wait_exit(&d, 30000), -1);
		ck_assert(WIFEXITED(d.status) && WEXITSTATUS(d.status) != 0);
		snprintf(expect, sizeof(expect),
		         "%s:1: control_group '" NO_GROUP "': no such group", d.conf);
		ck_assert_msg(daemon_log_count(&d, expect) == 1, "no '%s' in the log", expect);
		snprintf(expect, sizeof(expect),
		         "%s:2: control_readonly_group '" NO_GROUP_RO "': no such group", d.conf);
		ck_assert_msg(daemon_log_count(&d, expect) == 1, "no '%s' in the log", expect);
		/* Reported once, by the configuration, not again by the socket code. */
		ck_assert_uint_eq(daemon_log_count(&d, "no such group"), 2);
		ck_assert(access(d.socket, F_OK) < 0);
		ck_assert_int_eq(truncate(d.log, 0), 0);
	}
	daemon_done(&d);
}
END_TEST

Suite *
config_groups_suite(void)
{
	Suite *s = suite_create("config_groups");
	TCase *tc = tcase_create("resolve");

	tcase_add_test(tc, unknown_groups_reported_at_their_line);
	tcase_add_test(tc, groups_resolved_into_the_config);
	tcase_add_test(tc, ginid_reports_unknown_groups_with_file_and_line);
	suite_add_tcase(s, tc);
	return s;
}
