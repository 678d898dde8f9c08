/* SPDX-License-Identifier: MIT */
/*
 * The Makefile's handling of a distribution's CPPFLAGS and CFLAGS, which a
 * package build relies on.
 */
#include "tests.h"

#include "daemon.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Runs a shell command; returns its exit status, or -1 if it did not exit. */
static int
sh(const char *cmd, char **ret_out)
{
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	char *err = NULL;
	int st = run_command(argv, ret_out, &err, 600000);

	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fprintf(stderr, "command failed: %s\n%s\n", cmd, err);
	free(err);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * dpkg-buildflags' CPPFLAGS reach the compiler, and a _FORTIFY_SOURCE level
 * in the caller's CPPFLAGS or CFLAGS replaces the Makefile's own instead of
 * redefining it (a warning, so an error under -Werror).
 */
START_TEST(caller_fortify_level_kept)
{
	static const char *const flags[] = {
		"CPPFLAGS='-Wdate-time -D_FORTIFY_SOURCE=2'",
		"CFLAGS='-g -O2 -D_FORTIFY_SOURCE=2'",
		"",
	};
	_cleanup_free_ char *dir = test_tmpdir("flags");

	for (size_t i = 0; i < ARRAY_SIZE(flags); i++) {
		_cleanup_free_ char *out = NULL;
		char cmd[8192];

		snprintf(cmd, sizeof(cmd),
		         "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u CPPFLAGS -u CFLAGS "
		         "make --no-print-directory -C '%s' BUILD='%s/b%zu' SANITIZE= %s "
		         "'%s/b%zu/obj/daemon/util.o' 2>&1",
		         test_source_dir(), dir, i, flags[i], dir, i);
		ck_assert_int_eq(sh(cmd, &out), 0);
		if (flags[i][0]) {
			ck_assert_msg(strstr(out, " -D_FORTIFY_SOURCE=2 "), "%s", out);
			ck_assert_msg(!strstr(out, "_FORTIFY_SOURCE=3"), "%s", out);
		} else {
			ck_assert_msg(strstr(out, " -D_FORTIFY_SOURCE=3 "), "%s", out);
		}
		if (strstr(flags[i], "-Wdate-time"))
			ck_assert_msg(strstr(out, " -Wdate-time "), "%s", out);
	}
	test_rmtree(dir);
}
END_TEST

Suite *
package_suite(void)
{
	Suite *s = suite_create("package");
	TCase *flags = tcase_create("flags");

	tcase_set_timeout(flags, 120);
	tcase_add_test(flags, caller_fortify_level_kept);
	suite_add_tcase(s, flags);
	return s;
}
