/* SPDX-License-Identifier: MIT */
/*
 * The installed layout, as a packager and a plugin author meet it: `make
 * install DESTDIR=...`, the files where DESIGN.md says, a config file that
 * is never overwritten, and the README's example plugin built out of tree
 * with `pkg-config --cflags gini` against the installed header, then loaded
 * by ginid and inspected by ginictl. Also the shipped unit file, through
 * `systemd-analyze verify` where that exists.
 */
#include "tests.h"

#include "daemon.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef GINI_TEST_SANITIZE
#define GINI_TEST_SANITIZE ""
#endif

static char *root;

static void
setup(void)
{
	root = test_tmpdir("install");
}

static void
teardown(void)
{
	test_rmtree(root);
	free(root);
}

static const char *
at(const char *rel)
{
	static char buf[4][4096];
	static unsigned n;
	char *b = buf[n++ % 4];

	snprintf(b, sizeof(buf[0]), "%s/%s", root, rel);
	return b;
}

static int
sh(const char *cmd, char **out)
{
	char *argv[] = { "/bin/sh", "-c", (char *)cmd, NULL };
	char *err = NULL;
	int st = run_command(argv, out, &err, 300000);

	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fprintf(stderr, "command failed: %s\n%s\n", cmd, err);
	free(err);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
install(void)
{
	char cmd[8192];

	snprintf(cmd, sizeof(cmd),
	         "make -s -C '%s' install DESTDIR='%s' PREFIX=/usr SYSCONFDIR=/etc BUILD='%s' "
	         "SANITIZE='%s' >/dev/null",
	         test_source_dir(), root, test_build_dir(), GINI_TEST_SANITIZE);
	ck_assert_int_eq(sh(cmd, NULL), 0);
}

START_TEST(layout_and_config_kept)
{
	static const char *const files[] = {
		"usr/sbin/ginid",
		"usr/bin/ginictl",
		"usr/libexec/gini/gini-probe",
		"usr/include/gini/stage.h",
		"usr/lib/pkgconfig/gini.pc",
		"usr/lib/gini/stages/exec.so",
		"usr/lib/gini/stages/check-command.so",
		"etc/gini/gini.conf",
		"usr/lib/systemd/system/ginid.service",
		"usr/lib/systemd/system/ginid.socket",
	};
	_cleanup_free_ char *unit = NULL;
	struct stat st;

	install();
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		ck_assert_msg(access(at(files[i]), F_OK) == 0, "%s not installed", files[i]);
	ck_assert_int_eq(stat(at("usr/lib/gini/stages/exec.so"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0755);
	/* The unit names the installed paths. */
	ck_assert_int_eq(read_file(at("usr/lib/systemd/system/ginid.service"), 1 << 16, &unit,
	                           NULL),
	                 0);
	ck_assert_ptr_nonnull(strstr(unit, "ExecStart=/usr/sbin/ginid -c /etc/gini/gini.conf\n"));
	ck_assert_ptr_null(strstr(unit, "@SBINDIR@"));
	/* An operator's config survives a reinstall. */
	test_write_file(at("etc/gini/gini.conf"), "# mine\n", 0644);
	install();
	ck_assert(wait_file(at("etc/gini/gini.conf"), "# mine\n", 0));
}
END_TEST

/* The README's plugin, extracted from README.md, built as a user would. */
START_TEST(readme_plugin_out_of_tree)
{
	_cleanup_free_ char *readme = NULL, *out = NULL;
	char cmd[16384], src[8192];
	const char *begin, *end;
	size_t n;

	install();
	ck_assert_int_eq(read_file(GINI_SOURCE_DIR "/README.md", 1 << 20, &readme, NULL), 0);
	begin = strstr(readme, "```c\n#include <gini/stage.h>");
	ck_assert_ptr_nonnull(begin);
	begin += 5;
	end = strstr(begin, "```");
	ck_assert_ptr_nonnull(end);
	n = (size_t)(end - begin);
	ck_assert_uint_lt(n, sizeof(src));
	memcpy(src, begin, n);
	src[n] = 0;
	ck_assert(mkdir(at("stages"), 0755) == 0);
	test_write_file(at("hello.c"), src, 0644);
	/* The command from the README, against the installed tree. */
	snprintf(cmd, sizeof(cmd),
	         "cd '%s' && export PKG_CONFIG_SYSROOT_DIR='%s' "
	         "PKG_CONFIG_PATH='%s/usr/lib/pkgconfig' && "
	         "cc $(pkg-config --cflags gini) -std=c99 -pedantic -Wall -Wextra -Werror "
	         "-shared -fPIC -fvisibility=hidden -Wl,-z,defs -o stages/hello.so hello.c && "
	         "chmod 0755 stages/hello.so",
	         root, root, root);
	ck_assert_int_eq(sh(cmd, NULL), 0);

	/* ginictl inspect reads its descriptor... */
	snprintf(cmd, sizeof(cmd), "'%s/usr/bin/ginictl' inspect '%s'", root, at("stages/hello.so"));
	setenv("GINI_PROBE", at("usr/libexec/gini/gini-probe"), 1);
	ck_assert_int_eq(sh(cmd, &out), 0);
	unsetenv("GINI_PROBE");
	ck_assert_ptr_nonnull(strstr(out, "id:        hello\n"));
	free(steal_ptr(out));

	/* ...and ginid loads and runs it. */
	test_write_file(at("gini.conf"),
	                "pipelines = ( { name = \"greet\"; steps = ( { id = \"hi\"; stage = "
	                "\"hello\"; params = { name = \"operator\"; }; } ); } );\n",
	                0644);
	snprintf(cmd, sizeof(cmd), "'%s/usr/sbin/ginid' --once greet -c '%s' --plugin-dir '%s' 2>&1",
	         root, at("gini.conf"), at("stages"));
	ck_assert_int_eq(sh(cmd, &out), 0);
	ck_assert_ptr_nonnull(strstr(out, "step 'hi': hello, operator"));
	ck_assert_ptr_nonnull(strstr(out, "pipeline 'greet': success"));
}
END_TEST

/* The header alone compiles as C99 -pedantic and as C++. */
START_TEST(header_c99_and_cxx)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd),
	         "cd '%s' && printf '#include <gini/stage.h>\\nint x;\\n' > h.c && "
	         "cc -std=c99 -pedantic -Wall -Wextra -Werror -I'%s/include' -c h.c -o h.o && "
	         "if command -v c++ >/dev/null; then cp h.c h.cc && "
	         "c++ -std=c++11 -pedantic -Wall -Wextra -Werror -I'%s/include' -c h.cc -o hh.o; fi",
	         root, GINI_SOURCE_DIR, GINI_SOURCE_DIR);
	ck_assert_int_eq(sh(cmd, NULL), 0);
}
END_TEST

START_TEST(unit_file_verifies)
{
	char cmd[8192];

	if (access("/usr/bin/systemd-analyze", X_OK) != 0) {
		fprintf(stderr, "unit_file_verifies: systemd-analyze not installed, not checked\n");
		return;
	}
	install();
	snprintf(cmd, sizeof(cmd),
	         "sed -e 's|/usr/sbin/ginid|%s/usr/sbin/ginid|' "
	         "-e 's|/usr/bin/ginictl|%s/usr/bin/ginictl|' "
	         "'%s/usr/lib/systemd/system/ginid.service' > '%s/ginid.service' && "
	         "cp '%s/usr/lib/systemd/system/ginid.socket' '%s/ginid.socket' && "
	         "systemd-analyze verify --man=no '%s/ginid.service' '%s/ginid.socket'",
	         root, root, root, root, root, root, root, root);
	ck_assert_int_eq(sh(cmd, NULL), 0);
}
END_TEST

Suite *
install_suite(void)
{
	Suite *s = suite_create("install");
	TCase *tc = tcase_create("install");

	tcase_set_timeout(tc, 300);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, layout_and_config_kept);
	tcase_add_test(tc, readme_plugin_out_of_tree);
	tcase_add_test(tc, header_c99_and_cxx);
	tcase_add_test(tc, unit_file_verifies);
	suite_add_tcase(s, tc);
	return s;
}
