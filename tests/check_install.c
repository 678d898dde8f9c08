/* SPDX-License-Identifier: MIT */
/*
 * The installed layout, as a packager and a plugin author meet it: `make
 * install DESTDIR=...`, the files where DESIGN.md says, a config file that
 * is never overwritten, and the README's example plugin built out of tree
 * with `pkg-config --cflags gini` against the installed header, then loaded
 * by ginid and inspected by ginictl. Also the shipped unit file, through
 * `systemd-analyze verify` where that exists.
 *
 * And the path from a fresh clone, as a new user meets it: `git clone` of
 * the committed HEAD, `make run` with the example pipelines driven by the
 * clone's ginictl and signals, then `make install` with other paths after
 * that plain build (the programs must be rebuilt with them), the installed
 * ginid run against its installed layout, and `make uninstall` leaving no
 * file behind.
 */
#include "tests.h"

#include "daemon.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
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

/*
 * Commands below run make on their own: not as part of the make that may
 * have started this runner (its MAKEFLAGS, jobserver and command-line
 * variables), and with the helpers of the tree they build, not this build's.
 */
#define CLEAN_ENV                                                                                  \
	"env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES -u GINI_HELPER_DIR -u SANITIZE " \
	"-u BUILD "

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

/*
 * Installs with PREFIX=/usr from a build tree of its own, BUILD/install-usr:
 * the paths are compiled in, so installing them from this runner's build
 * tree would rebuild it under the running tests.
 */
static void
install(void)
{
	char cmd[8192];

	snprintf(cmd, sizeof(cmd),
	         CLEAN_ENV "make -s -j2 -C '%s' install DESTDIR='%s' PREFIX=/usr SYSCONFDIR=/etc "
	                   "BUILD='%s/install-usr' SANITIZE='%s' >/dev/null",
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
	ck_assert_int_eq(
	        read_file(at("usr/lib/systemd/system/ginid.service"), 1 << 16, &unit, NULL), 0);
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
	snprintf(cmd, sizeof(cmd), "'%s/usr/bin/ginictl' inspect '%s'", root,
	         at("stages/hello.so"));
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
	snprintf(cmd, sizeof(cmd),
	         "'%s/usr/sbin/ginid' --once greet -c '%s' --plugin-dir '%s' 2>&1", root,
	         at("gini.conf"), at("stages"));
	ck_assert_int_eq(sh(cmd, &out), 0);
	ck_assert_ptr_nonnull(strstr(out, "step 'hi': hello, operator"));
	ck_assert_ptr_nonnull(strstr(out, "pipeline 'greet': success"));
}
END_TEST

/* The header alone compiles as C99 -pedantic and as C++. */
START_TEST(header_c99_and_cxx)
{
	char cmd[4096];

	snprintf(
	        cmd, sizeof(cmd),
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
	/* Every @PLACEHOLDER@ of both units was filled in by install. */
	snprintf(cmd, sizeof(cmd),
	         "! grep -n '@[A-Z]*@' '%s/ginid.service' '%s/ginid.socket' && "
	         "grep -qx 'ListenStream=/run/gini/ginid.sock' '%s/ginid.socket'",
	         root, root, root);
	ck_assert_int_eq(sh(cmd, NULL), 0);
}
END_TEST

/* ---- from a fresh clone ---- */

static char *clone_root; /* BUILD/tmp/clone.*: src/ (the clone), p/, dest/ */
static pid_t make_run_pgid = -1;

static const char *
in_clone(const char *rel)
{
	static char buf[4][4096];
	static unsigned n;
	char *b = buf[n++ % 4];

	snprintf(b, sizeof(buf[0]), "%s/%s", clone_root, rel);
	return b;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * Once for the TCase: the committed HEAD of the source tree, cloned as a
 * user would, and its daemon built as `make programs` builds it (-j2, the
 * limit of this machine); the tests share the build.
 */
static void
clone_setup(void)
{
	char cmd[8192];

	clone_root = test_tmpdir("clone");
	snprintf(cmd, sizeof(cmd),
	         "git clone -q '%s' '%s/src' && " CLEAN_ENV
	         "timeout 900 make -s -j2 -C '%s/src' programs >/dev/null",
	         test_source_dir(), clone_root, clone_root);
	ck_assert_int_eq(sh(cmd, NULL), 0);
}

static void
clone_teardown(void)
{
	test_rmtree(clone_root);
	free(clone_root);
	clone_root = NULL;
}

/* Whatever a failed test left running goes with it. */
static void
clone_test_teardown(void)
{
	if (make_run_pgid > 0) {
		kill(-make_run_pgid, SIGKILL);
		make_run_pgid = -1;
	}
}

/*
 * `make run` in the clone, in a process group of its own, output to log.
 * It also dies with this test process (PR_SET_PDEATHSIG), however the test
 * ends.
 */
static pid_t
spawn_make_run(const char *log)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (fd < 0 || setpgid(0, 0) < 0 || prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 ||
		    dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
			_exit(127);
		unsetenv("MAKEFLAGS");
		unsetenv("MFLAGS");
		unsetenv("MAKELEVEL");
		unsetenv("MAKEOVERRIDES");
		unsetenv("GINI_HELPER_DIR");
		unsetenv("SANITIZE"); /* the clone builds as a user's would */
		unsetenv("BUILD");
		execlp("make", "make", "--no-print-directory", "-C", in_clone("src"), "run",
		       (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	make_run_pgid = pid;
	return pid;
}

static char *
slurp(const char *path)
{
	char *text = NULL;

	if (read_file(path, 1 << 20, &text, NULL) < 0)
		return strdup("");
	return text;
}

static size_t
count(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

START_TEST(make_run_from_fresh_clone)
{
	_cleanup_free_ char *out = NULL;
	char cmd[8192], log[4096], *text = NULL;
	const char *at_pid;
	pid_t mk, ginid_pid = 0;
	int st = 0, i;

	snprintf(log, sizeof(log), "%s", in_clone("make-run.log"));
	mk = spawn_make_run(log);
	/* Up once it says so and its socket answers; the limit is for hangs. */
	for (i = 0; i < 3000; i++) {
		free(text);
		text = slurp(log);
		if (strstr(text, " ready: ") &&
		    access(in_clone("src/build/run/ginid.sock"), F_OK) == 0)
			break;
		ck_assert_msg(waitpid(mk, &st, WNOHANG) == 0, "make run ended early:\n%s", text);
		sleep_ms(100);
	}
	ck_assert_msg(i < 3000, "make run did not get ready:\n%s", text);
	/* It prints the pid to signal, the quick start's way to reach it. */
	at_pid = strstr(text, "make run: ginid pid ");
	ck_assert_msg(at_pid, "no pid in:\n%s", text);
	ginid_pid = (pid_t)strtol(at_pid + strlen("make run: ginid pid "), NULL, 10);
	ck_assert_int_gt(ginid_pid, 1);
	ck_assert_ptr_nonnull(strstr(text, "with 7 stage types and 3 pipelines"));
	free(text);
	text = NULL;

	/* The README's commands, from the clone's directory. */
	snprintf(cmd, sizeof(cmd), "cd '%s' && build/ginictl -s build/run/ginid.sock status",
	         in_clone("src"));
	ck_assert_int_eq(sh(cmd, &out), 0);
	snprintf(cmd, sizeof(cmd), "(pid %d)", (int)ginid_pid);
	ck_assert_msg(strstr(out, cmd), "%s", out);
	free(steal_ptr(out));
	snprintf(cmd, sizeof(cmd), "cd '%s' && build/ginictl -s build/run/ginid.sock pipelines",
	         in_clone("src"));
	ck_assert_int_eq(sh(cmd, &out), 0);
	ck_assert(strstr(out, "hello ") && strstr(out, "heartbeat ") && strstr(out, "report "));
	free(steal_ptr(out));
	snprintf(cmd, sizeof(cmd),
	         "cd '%s' && build/ginictl -s build/run/ginid.sock run hello --wait && "
	         "build/ginictl -s build/run/ginid.sock run report --wait",
	         in_clone("src"));
	ck_assert_int_eq(sh(cmd, &out), 0);
	ck_assert_msg(strstr(out, "greet ") && strstr(out, "summary "), "%s", out);

	/* SIGUSR1 to that pid runs hello once more. */
	ck_assert_int_eq(kill(ginid_pid, SIGUSR1), 0);
	for (i = 0; i < 300; i++) {
		free(text);
		text = slurp(log);
		if (count(text, "pipeline 'hello': success") == 2)
			break;
		sleep_ms(100);
	}
	ck_assert_msg(i < 300, "SIGUSR1 did not run hello:\n%s", text);
	ck_assert_ptr_nonnull(strstr(text, "(trigger: signal SIGUSR1)"));
	free(text);
	text = NULL;

	/*
	 * Stopped as the README says, by its pid: make then ends with ginid's
	 * own exit status. (A SIGTERM to the whole group would reach ginid
	 * twice, once from make, and the second one means "exit at once".)
	 */
	ck_assert_int_eq(kill(ginid_pid, SIGTERM), 0);
	for (i = 0; i < 300 && waitpid(mk, &st, WNOHANG) == 0; i++)
		sleep_ms(100);
	ck_assert_msg(i < 300, "make run did not stop");
	make_run_pgid = -1;
	text = slurp(log);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "make run: status %d\n%s", st, text);
	ck_assert_ptr_nonnull(strstr(text, "info: stopped"));
	free(text);
}
END_TEST

/*
 * `make install` with other paths after the plain build: the programs must
 * be rebuilt with them. The installed tree is then run where it was meant
 * to be, through a symlink from PREFIX to DESTDIR/PREFIX; the GNU-style
 * lower-case names are used for the paths.
 */
START_TEST(install_other_prefix_after_plain_build)
{
	_cleanup_free_ char *out = NULL, *conf = NULL;
	char prefix[1024], dest[1024], cmd[32768], want[8192], make[12288];

	snprintf(prefix, sizeof(prefix), "%s", in_clone("p"));
	snprintf(dest, sizeof(dest), "%s", in_clone("dest"));
	snprintf(make, sizeof(make),
	         CLEAN_ENV "make -s -j2 -C '%s' prefix='%s' sysconfdir='%s/etc' "
	                   "localstatedir='%s/var' runstatedir='%s/run' DESTDIR='%s'",
	         in_clone("src"), prefix, prefix, prefix, prefix, dest);
	snprintf(cmd, sizeof(cmd), "%s install", make);
	ck_assert_int_eq(sh(cmd, &out), 0);
	ck_assert_msg(strstr(out, "paths changed: rebuilding"), "%s", out);
	free(steal_ptr(out));
	snprintf(cmd, sizeof(cmd), "%s%s", dest, prefix);
	ck_assert_int_eq(symlink(cmd, prefix), 0);

	/* The installed gini.conf names the installed directories. */
	snprintf(cmd, sizeof(cmd), "%s/etc/gini/gini.conf", prefix);
	ck_assert_int_eq(read_file(cmd, 1 << 16, &conf, NULL), 0);
	snprintf(want, sizeof(want), "\nplugin_dirs = [ \"%s/lib/gini/stages\" ];\n", prefix);
	ck_assert_msg(strstr(conf, want), "%s", conf);
	snprintf(want, sizeof(want), "\nstate_dir = \"%s/var/lib/gini\";\n", prefix);
	ck_assert_msg(strstr(conf, want), "%s", conf);
	snprintf(want, sizeof(want), "\ncontrol_socket = \"%s/run/gini/ginid.sock\";\n", prefix);
	ck_assert_msg(strstr(conf, want), "%s", conf);

	/*
	 * ginid -t with no -c: the compiled-in configuration file, its stage
	 * directory, and every plugin probed by the compiled-in gini-probe (not
	 * one refused).
	 */
	snprintf(cmd, sizeof(cmd), "%s/sbin/ginid -t", prefix);
	ck_assert_int_eq(sh(cmd, &out), 0);
	snprintf(want, sizeof(want), "Stage types (7):");
	ck_assert_msg(strstr(out, want), "%s", out);
	snprintf(want, sizeof(want), " %s/lib/gini/stages/exec.so\n", prefix);
	ck_assert_msg(strstr(out, want), "%s", out);
	snprintf(want, sizeof(want), "configuration %s/etc/gini/gini.conf is valid", prefix);
	ck_assert_msg(strstr(out, want), "%s", out);
	ck_assert_ptr_null(strstr(out, "refused"));
	free(steal_ptr(out));
	/* A configuration without plugin_dirs: the compiled-in stage directory. */
	test_write_file(in_clone("bare.conf"), "workers = 1;\n", 0644);
	snprintf(cmd, sizeof(cmd), "%s/sbin/ginid -t -c '%s'", prefix, in_clone("bare.conf"));
	ck_assert_int_eq(sh(cmd, &out), 0);
	snprintf(want, sizeof(want), " %s/lib/gini/stages/log.so\n", prefix);
	ck_assert_msg(strstr(out, want), "%s", out);
	free(steal_ptr(out));
	/* ginictl: the compiled-in probe, and the compiled-in control socket. */
	snprintf(cmd, sizeof(cmd), "%s/bin/ginictl inspect %s/lib/gini/stages/log.so", prefix,
	         prefix);
	ck_assert_int_eq(sh(cmd, &out), 0);
	ck_assert_ptr_nonnull(strstr(out, "id:        log\n"));
	free(steal_ptr(out));
	snprintf(cmd, sizeof(cmd), "%s/bin/ginictl status 2>&1; test $? -eq 3", prefix);
	ck_assert_int_eq(sh(cmd, &out), 0);
	snprintf(want, sizeof(want), "%s/run/gini/ginid.sock", prefix);
	ck_assert_msg(strstr(out, want), "%s", out);
	free(steal_ptr(out));

	/* Uninstall keeps a gini.conf the operator changed... */
	snprintf(cmd, sizeof(cmd), "echo '# mine' >> '%s/etc/gini/gini.conf' && %s uninstall",
	         prefix, make);
	ck_assert_int_eq(sh(cmd, &out), 0);
	ck_assert_msg(strstr(out, "keeping ") && strstr(out, "changed since it was installed"),
	              "%s", out);
	free(steal_ptr(out));
	snprintf(cmd, sizeof(cmd), "cd '%s' && find . ! -type d", dest);
	ck_assert_int_eq(sh(cmd, &out), 0);
	snprintf(want, sizeof(want), ".%s/etc/gini/gini.conf\n", prefix);
	ck_assert_str_eq(out, want);
	free(steal_ptr(out));
	/* ...and otherwise leaves no file, and none of gini's directories. */
	snprintf(cmd, sizeof(cmd),
	         "rm '%s/etc/gini/gini.conf' && %s install >/dev/null && %s uninstall", prefix,
	         make, make);
	ck_assert_int_eq(sh(cmd, NULL), 0);
	snprintf(cmd, sizeof(cmd), "cd '%s' && find . ! -type d; find . -path '*gini*'", dest);
	ck_assert_int_eq(sh(cmd, &out), 0);
	ck_assert_msg(streq(out, ""), "left behind:\n%s", out);
}
END_TEST

/* No source file can be ignored; what the build writes is. */
START_TEST(gitignore_spares_sources)
{
	char cmd[8192];

	snprintf(cmd, sizeof(cmd),
	         "cd '%s' && ! git check-ignore --no-index conf/pipelines.d/x.conf "
	         "tests/conf/a.d/b.conf daemon/x.d plugins/x/x.c docs/x.8 && "
	         "test \"$(git check-ignore --no-index build/obj/daemon/x.o build/obj/daemon/x.d "
	         "build-thread/ginid build-fuzz/corpus/x | wc -l)\" = 4",
	         in_clone("src"));
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

	/*
	 * The clone builds its own plain programs, as a user's would: a
	 * sanitizer run would only build them again, so the plain `make check`
	 * alone runs this case.
	 */
	if (GINI_TEST_SANITIZE[0]) {
		fprintf(stderr,
		        "install: fresh_clone skipped under SANITIZE=%s (the plain make check "
		        "runs it)\n",
		        GINI_TEST_SANITIZE);
		return s;
	}
	tc = tcase_create("fresh_clone");
	tcase_set_timeout(tc, 600);
	tcase_add_unchecked_fixture(tc, clone_setup, clone_teardown);
	tcase_add_checked_fixture(tc, NULL, clone_test_teardown);
	tcase_add_test(tc, make_run_from_fresh_clone);
	tcase_add_test(tc, install_other_prefix_after_plain_build);
	tcase_add_test(tc, gitignore_spares_sources);
	suite_add_tcase(s, tc);
	return s;
}
