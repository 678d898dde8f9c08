/* SPDX-License-Identifier: MIT */
/*
 * The Debian packages, as an operator and a plugin author meet them: `make
 * deb-build` (what `make deb` runs once the build dependencies are in)
 * builds gini and gini-dev from this tree with DEB_BUILD_OPTIONS=nocheck,
 * once for the whole TCase; the tests then read the .deb files with
 * dpkg-deb (layout, conffiles, maintainer scripts) and run the ginid of a
 * package unpacked with `dpkg -x` on the gini.conf it ships. Skipped, with
 * the reason printed, when dpkg-buildpackage or debhelper is missing and in
 * the sanitizer builds (the packages are built without sanitizers anyway:
 * the plain `make check` covers them). Also the Makefile's handling of the
 * distribution's CPPFLAGS and CFLAGS, which the package build relies on.
 */
#include "tests.h"

#include "daemon.h"
#include "util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef GINI_TEST_SANITIZE
#define GINI_TEST_SANITIZE ""
#endif

/* Set once by the unchecked fixture, in the runner, before the forks. */
static char *root;
static const char *skip_reason;
static int build_status = -1;

static const char *
at(const char *rel)
{
	static char buf[8][4096];
	static unsigned n;
	char *b = buf[n++ % 8];

	snprintf(b, sizeof(buf[0]), "%s/%s", root, rel);
	return b;
}

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

static void
build_packages(void)
{
	char cmd[8192];

	if (GINI_TEST_SANITIZE[0]) {
		skip_reason = "sanitizer build; the plain make check builds the packages";
		return;
	}
	if (access("/usr/bin/dpkg-buildpackage", X_OK) != 0 || access("/usr/bin/dh", X_OK) != 0) {
		skip_reason = "dpkg-dev or debhelper not installed (make deb installs them)";
		return;
	}
	root = test_tmpdir("package");
	/*
	 * A clean environment for the nested build: not the jobserver of the
	 * make running the tests, not this runner's helper directory.
	 */
	snprintf(cmd, sizeof(cmd),
	         "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u GINI_HELPER_DIR "
	         "DEB_BUILD_OPTIONS=nocheck make -C '%s' deb-build DEB_OUT='%s/out' DEB_LINTIAN= "
	         "> '%s/build.log' 2>&1",
	         test_source_dir(), root, root);
	build_status = sh(cmd, NULL);
	if (build_status != 0) {
		_cleanup_free_ char *log = NULL;
		size_t n = 0;

		(void)read_file(at("build.log"), 1 << 24, &log, &n);
		if (log)
			fprintf(stderr, "package: end of %s:\n%s\n", at("build.log"),
			        n > 4000 ? log + n - 4000 : log);
	}
}

/* A failed build keeps its directory, for its build.log. */
static void
remove_packages(void)
{
	if (build_status == 0)
		test_rmtree(root);
	free(root);
	root = NULL;
}

/* Whether the packages were built; false (and why printed) if skipped. */
static bool
packages_built(const char *test)
{
	if (skip_reason) {
		fprintf(stderr, "%s: %s, not checked\n", test, skip_reason);
		return false;
	}
	ck_assert_msg(build_status == 0, "make deb-build failed (exit %d), see %s", build_status,
	              at("build.log"));
	return true;
}

/* Output of a command on a package file of out/ (a shell glob). */
static char *
deb_query(const char *what, const char *glob)
{
	char cmd[8192], *out = NULL;

	snprintf(cmd, sizeof(cmd), "dpkg-deb %s '%s/out/'%s", what, root, glob);
	ck_assert_int_eq(sh(cmd, &out), 0);
	return out;
}

static void
assert_lists(const char *listing, const char *path)
{
	char needle[4096];

	snprintf(needle, sizeof(needle), " ./%s\n", path);
	ck_assert_msg(strstr(listing, needle), "%s not in the package:\n%s", path, listing);
}

START_TEST(gini_layout)
{
	static const char *const files[] = {
		"usr/sbin/ginid",
		"usr/bin/ginictl",
		"usr/libexec/gini/gini-probe",
		"usr/libexec/gini/gini-worker",
		"usr/lib/gini/stages/exec.so",
		"usr/lib/gini/stages/check-command.so",
		"etc/gini/gini.conf",
		"etc/gini/pipelines.d/",
		/* Where bookworm's dh_installsystemd and systemd look. */
		"lib/systemd/system/ginid.service",
		"lib/systemd/system/ginid.socket",
		"usr/share/man/man8/ginid.8.gz",
		"usr/share/man/man5/gini.conf.5.gz",
		"usr/share/man/man1/ginictl.1.gz",
		"usr/share/doc/gini/copyright",
	};
	_cleanup_free_ char *list = NULL;

	if (!packages_built("gini_layout"))
		return;
	list = deb_query("-c", "gini_*.deb");
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		assert_lists(list, files[i]);
	/* The developer files are gini-dev's; nothing under /usr/local. */
	ck_assert_ptr_null(strstr(list, " ./usr/include/"));
	ck_assert_ptr_null(strstr(list, "pkgconfig"));
	ck_assert_ptr_null(strstr(list, " ./usr/local/"));
	ck_assert_ptr_null(strstr(list, " ./usr/lib/systemd/"));
}
END_TEST

START_TEST(gini_dev_layout)
{
	_cleanup_free_ char *list = NULL, *out = NULL;
	char cmd[8192];

	if (!packages_built("gini_dev_layout"))
		return;
	list = deb_query("-c", "gini-dev_*_all.deb");
	assert_lists(list, "usr/include/gini/stage.h");
	/* Header only, so architecture-independent: not in a multiarch libdir. */
	assert_lists(list, "usr/share/pkgconfig/gini.pc");
	assert_lists(list, "usr/share/man/man3/gini-stage.3.gz");
	ck_assert_ptr_null(strstr(list, " ./usr/lib/"));

	/* What a plugin author's pkg-config says, on the unpacked package. */
	snprintf(cmd, sizeof(cmd),
	         "dpkg -x \"$(ls '%s'/out/gini-dev_*_all.deb)\" '%s/dev' && "
	         "export PKG_CONFIG_PATH='%s/dev/usr/share/pkgconfig' && "
	         "PKG_CONFIG_SYSROOT_DIR='%s/dev' pkg-config --cflags gini && "
	         "pkg-config --variable=stagedir gini",
	         root, root, root, root);
	ck_assert_int_eq(sh(cmd, &out), 0);
	ck_assert_msg(strstr(out, "-I") && strstr(out, "/dev/usr/include"), "%s", out);
	ck_assert_msg(strstr(out, "\n/usr/lib/gini/stages\n"), "%s", out);
}
END_TEST

START_TEST(conffiles_and_units)
{
	_cleanup_free_ char *conffiles = NULL, *postinst = NULL, *postrm = NULL;

	if (!packages_built("conffiles_and_units"))
		return;
	conffiles = deb_query("-I", "gini_*.deb conffiles");
	ck_assert_msg(strstr(conffiles, "/etc/gini/gini.conf\n"), "conffiles:\n%s", conffiles);
	/* ginid.service is enabled and started by the usual snippets... */
	postinst = deb_query("-I", "gini_*.deb postinst");
	ck_assert_ptr_nonnull(strstr(postinst, "deb-systemd-helper enable 'ginid.service'"));
	ck_assert_ptr_nonnull(strstr(postinst, "deb-systemd-invoke $_dh_action 'ginid.service'"));
	/* ...ginid.socket is only tracked, for a purge to clean up after it. */
	ck_assert_ptr_nonnull(strstr(postinst, "deb-systemd-helper update-state 'ginid.socket'"));
	ck_assert_ptr_null(strstr(postinst, "deb-systemd-invoke $_dh_action 'ginid.socket'"));
	postrm = deb_query("-I", "gini_*.deb postrm");
	ck_assert_ptr_nonnull(strstr(postrm, "deb-systemd-helper purge 'ginid.service'"));
	/* A purge takes the state directory too. */
	ck_assert_ptr_nonnull(strstr(postrm, "rm -rf /var/lib/gini\n"));
}
END_TEST

/* The unpacked ginid, on the gini.conf it ships, loads the bundled stages. */
START_TEST(unpacked_ginid_lists_stages)
{
	_cleanup_free_ char *conf = NULL, *unit = NULL, *out = NULL;
	char cmd[8192], line[512];
	struct dirent *de;
	DIR *d;

	if (!packages_built("unpacked_ginid_lists_stages"))
		return;
	snprintf(cmd, sizeof(cmd), "dpkg -x \"$(ls '%s'/out/gini_*.deb)\" '%s/root'", root, root);
	ck_assert_int_eq(sh(cmd, NULL), 0);

	/* The shipped configuration and unit name the packaged paths. */
	ck_assert_int_eq(read_file(at("root/etc/gini/gini.conf"), 1 << 20, &conf, NULL), 0);
	ck_assert_msg(strstr(conf, "\"/usr/lib/gini/stages\""), "%s", conf);
	ck_assert_int_eq(
	        read_file(at("root/lib/systemd/system/ginid.service"), 1 << 20, &unit, NULL), 0);
	ck_assert_ptr_nonnull(strstr(unit, "ExecStart=/usr/sbin/ginid "));

	/* The compiled-in paths are the packaged ones... */
	snprintf(cmd, sizeof(cmd), "'%s/root/usr/sbin/ginid' --help", root);
	ck_assert_int_eq(sh(cmd, &out), 0);
	ck_assert_msg(strstr(out, "(default /etc/gini/gini.conf)"), "%s", out);
	free(steal_ptr(out));

	/* ...and the stages load, probed by the packaged gini-probe. */
	snprintf(cmd, sizeof(cmd),
	         "GINI_HELPER_DIR='%s/root/usr/libexec/gini' '%s/root/usr/sbin/ginid' -t "
	         "-c '%s/root/etc/gini/gini.conf' --plugin-dir '%s/root/usr/lib/gini/stages' 2>&1",
	         root, root, root, root);
	ck_assert_int_eq(sh(cmd, &out), 0);
	ck_assert_msg(!strstr(out, "Refused"), "%s", out);
	/* Every bundled stage: plugins/NAME/ builds the stage NAME. */
	d = opendir(GINI_SOURCE_DIR "/plugins");
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, "lib") == 0)
			continue;
		snprintf(line, sizeof(line), "\n  %s ", de->d_name);
		ck_assert_msg(strstr(out, line), "stage '%s' not listed:\n%s", de->d_name, out);
	}
	closedir(d);
}
END_TEST

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
	TCase *tc = tcase_create("deb");
	TCase *flags = tcase_create("flags");

	tcase_set_timeout(flags, 120);
	tcase_add_test(flags, caller_fortify_level_kept);
	suite_add_tcase(s, flags);

	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, build_packages, remove_packages);
	tcase_add_test(tc, gini_layout);
	tcase_add_test(tc, gini_dev_layout);
	tcase_add_test(tc, conffiles_and_units);
	tcase_add_test(tc, unpacked_ginid_lists_stages);
	suite_add_tcase(s, tc);
	return s;
}
