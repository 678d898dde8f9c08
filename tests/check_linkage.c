/* SPDX-License-Identifier: MIT */
/*
 * What the built programs load at start (their DT_NEEDED entries, read
 * with readelf): dependencies that only an opt-in feature needs are loaded
 * by that feature, so they cost nothing to a daemon that does not use it.
 */
#include "tests.h"

#include "daemon.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* The NEEDED libraries of the program `name` of this build, one per line. */
static char *
needed(const char *name)
{
	_cleanup_free_ char *prog = strdup(test_build_path(name)), *err = NULL;
	char *argv[] = { "/usr/bin/readelf", "-d", "-W", prog, NULL };
	char *out = NULL;
	int st = run_command(argv, &out, &err, 30000);

	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "readelf %s: %s", prog,
	              err ? err : "");
	ck_assert_msg(out && strstr(out, "(NEEDED)"), "no NEEDED entry in %s: %s", prog, out);
	return out;
}

/* libmicrohttpd (and GnuTLS with it) is dlopen()ed for metrics_listen only. */
START_TEST(ginid_loads_http_on_demand)
{
	_cleanup_free_ char *out = needed("ginid");

	ck_assert_msg(!strstr(out, "libmicrohttpd"), "ginid links libmicrohttpd:\n%s", out);
	ck_assert_msg(!strstr(out, "libgnutls"), "ginid links GnuTLS:\n%s", out);
	/* What it must link, so that the check reads the right program. */
	ck_assert_msg(strstr(out, "libsystemd"), "%s", out);
}
END_TEST

/* libelf (and libz with it) is dlopen()ed for the ELF checks of a scan only. */
START_TEST(programs_load_libelf_on_demand)
{
	static const char *const progs[] = { "ginid", "gini-probe", "gini-worker" };

	for (size_t i = 0; i < ARRAY_SIZE(progs); i++) {
		_cleanup_free_ char *out = needed(progs[i]);

		ck_assert_msg(!strstr(out, "libelf"), "%s links libelf:\n%s", progs[i], out);
		ck_assert_msg(!strstr(out, "libz.so"), "%s links libz:\n%s", progs[i], out);
	}
}
END_TEST

Suite *
linkage_suite(void)
{
	Suite *s = suite_create("linkage");
	TCase *tc = tcase_create("linkage");

	tcase_add_test(tc, ginid_loads_http_on_demand);
	tcase_add_test(tc, programs_load_libelf_on_demand);
	suite_add_tcase(s, tc);
	return s;
}
