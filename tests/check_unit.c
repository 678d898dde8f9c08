/* SPDX-License-Identifier: MIT */
/*
 * The shipped systemd unit (systemd/ginid.service) against the documented
 * features. systemd is not PID 1 where the tests run, so a real ginid runs
 * under tests/helpers/unit-sandbox, which installs the unit's own
 * SystemCallFilter=, SystemCallErrorNumber=, CapabilityBoundingSet= and
 * NoNewPrivileges= (groups expanded by this machine's systemd-analyze) and
 * execs it. Under the shipped unit, isolated steps switch user and apply
 * limits, control_group reaches the socket, exec steps run chown, ionice
 * and nice, and the unit's ExecReload= reports a refused configuration.
 * Under the filter the unit used to have, the same configuration is refused
 * at start-up and by `ginid -t`, naming what is missing.
 */
#include "daemon.h"
#include "tests.h"
#include "util.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef GINI_TEST_SANITIZE
#define GINI_TEST_SANITIZE ""
#endif

static struct daemon d;
static char unit_path[4096];
static const char *wrap[3];
static struct passwd nobody;
static bool have_nobody;
static char nobody_gid[32];

/* The filter lines the unit had before it was narrowed (issue 11). */
static const char old_filter[] = "SystemCallFilter=@system-service\n"
                                 "SystemCallFilter=~@resources @privileged\n";

/*
 * Writes the shipped unit into the test directory, with its SystemCallFilter=
 * lines replaced by filter (NULL: as shipped) and each line starting with
 * drop_prefix removed (NULL: none). False (with the reason printed) when
 * the test cannot run here.
 */
static bool
write_unit(const char *filter, const char *drop_prefix, const char *extra)
{
	_cleanup_free_ char *text = NULL;
	char src[4096];
	FILE *f;
	bool filter_written = false;

	if (geteuid() != 0 || !have_nobody) {
		fprintf(stderr, "unit: skipped (needs root, for the sandbox's capabilities, and a "
		                "'nobody' user)\n");
		return false;
	}
	if (access("/usr/bin/systemd-analyze", X_OK) != 0) {
		fprintf(stderr, "unit: skipped (systemd-analyze is not installed; it expands the "
		                "unit's syscall groups)\n");
		return false;
	}
	snprintf(src, sizeof(src), "%s/systemd/ginid.service", test_source_dir());
	ck_assert_int_eq(read_file(src, 1 << 20, &text, NULL), 0);
	snprintf(unit_path, sizeof(unit_path), "%s/ginid.service", d.dir);
	f = fopen(unit_path, "we");
	ck_assert_ptr_nonnull(f);
	for (char *line = text, *nl; *line; line = nl) {
		nl = strchr(line, '\n');
		nl = nl ? nl + 1 : line + strlen(line);
		if (filter && strncmp(line, "SystemCallFilter=", 17) == 0) {
			if (!filter_written)
				fputs(filter, f);
			filter_written = true;
			continue;
		}
		if (drop_prefix && strncmp(line, drop_prefix, strlen(drop_prefix)) == 0)
			continue;
		if (extra && strncmp(line, "[Service]", 9) == 0) {
			fwrite(line, 1, (size_t)(nl - line), f);
			fputs(extra, f);
			continue;
		}
		fwrite(line, 1, (size_t)(nl - line), f);
	}
	ck_assert_int_eq(fclose(f), 0);
	wrap[0] = test_build_path("tests/unit-sandbox");
	wrap[1] = unit_path;
	wrap[2] = NULL;
	return true;
}

/*
 * An isolated step as nobody with limits, exec steps that chown, ionice and
 * nice, and the control socket for nobody's group.
 */
static void
unit_init(void)
{
	const char *dir;
	char conf[8192];

	daemon_init(&d, "unit", "");
	dir = d.dir;
	snprintf(
	        conf, sizeof(conf),
	        "control_group = \"%s\";\n"
	        "pipelines = ( { name = \"admin\"; steps = (\n"
	        "  { id = \"drop\"; stage = \"exec\"; isolation = \"process\"; user = \"nobody\";\n"
	        "    nofile = 64; cpu_max = \"60s\";%s\n"
	        "    params = { shell = \"echo $(id -u) $(ulimit -n) $(ulimit -v)\"; capture = "
	        "\"who\"; }; },\n"
	        "  { id = \"own\"; stage = \"exec\"; params = { shell = \"chown nobody '%s/owned' "
	        "&& ionice -c 2 -n 7 true && nice -n 5 nice > '%s/niceness' 2>&1\"; }; },\n"
	        "  { id = \"say\"; stage = \"log\"; after = [ \"drop\" ];\n"
	        "    params = { message = \"who=${who}\"; }; }\n"
	        "); } );\n",
	        nobody_gid,
	        /* The sanitizers' shadow memory does not fit an address-space limit. */
	        *GINI_TEST_SANITIZE ? "" : " memory_max = \"1G\";", dir, dir);
	daemon_write(&d, "gini.conf", conf);
	daemon_write(&d, "owned", "");
}

static void
setup(void)
{
	const char *san = strstr(GINI_TEST_SANITIZE, "address");
	struct passwd *pw = getpwnam("nobody");

	have_nobody = pw != NULL;
	if (pw)
		nobody = *pw;
	snprintf(nobody_gid, sizeof(nobody_gid), "%u", pw ? (unsigned)pw->pw_gid : 0u);
	/* LeakSanitizer stops the world with ptrace, which the filter denies,
	 * as systemd's would; the other suites look for leaks. */
	if (san) {
		const char *o = getenv("ASAN_OPTIONS");
		char opts[1024];

		snprintf(opts, sizeof(opts), "%s%sdetect_leaks=0", o ? o : "", o ? ":" : "");
		setenv("ASAN_OPTIONS", opts, 1);
	}
	unit_init();
}

static void
teardown(void)
{
	daemon_done(&d);
}

/* Runs argv (its own argv[0] a path) in the sandbox; returns the exit status. */
static int
sandboxed(char **out, char **err, const char *const *argv)
{
	const char *v[24];
	size_t n = 0;
	int st;

	v[n++] = wrap[0];
	v[n++] = wrap[1];
	for (size_t i = 0; argv[i] && n < 23; i++)
		v[n++] = argv[i];
	v[n] = NULL;
	st = run_command((char *const *)v, out, err, 60000);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static int
ginid_test(char **out, char **err)
{
	const char *argv[] = { test_build_path("ginid"),
		               "-t",
		               "-c",
		               d.conf,
		               "--plugin-dir",
		               test_build_path("stages"),
		               "--control-socket",
		               d.socket,
		               NULL };

	return sandboxed(out, err, argv);
}

static void
start_sandboxed(void)
{
	d.wrap = wrap;
	daemon_start(&d);
}

/* The unit's ExecReload= command, for this daemon's binaries and socket. */
static int
exec_reload(char **out, char **err)
{
	_cleanup_free_ char *text = NULL;
	char src[4096], line[1024], *p, *save = NULL;
	const char *argv[16];
	size_t n = 0;

	snprintf(src, sizeof(src), "%s/systemd/ginid.service", test_source_dir());
	ck_assert_int_eq(read_file(src, 1 << 20, &text, NULL), 0);
	p = strstr(text, "\nExecReload=");
	ck_assert_ptr_nonnull(p);
	p += strlen("\nExecReload=");
	snprintf(line, sizeof(line), "%.*s", (int)strcspn(p, "\n"), p);
	for (char *t = strtok_r(line, " ", &save); t && n < 15; t = strtok_r(NULL, " ", &save)) {
		if (n == 0) {
			ck_assert_str_eq(t, "@BINDIR@/ginictl");
			argv[n++] = test_build_path("ginictl");
		} else if (n >= 2 && streq(argv[n - 1], "-s")) {
			ck_assert_str_eq(t, "@RUNSTATEDIR@/gini/ginid.sock");
			argv[n++] = d.socket;
		} else {
			argv[n++] = t;
		}
	}
	argv[n] = NULL;
	ck_assert_uint_ge(n, 2);
	ck_assert_str_eq(argv[n - 1], "reload");
	return sandboxed(out, err, argv);
}

/* Under the shipped unit, every feature of the configuration works. */
START_TEST(features_work_in_shipped_unit)
{
	_cleanup_free_ char *out = NULL, *err = NULL, *nice = NULL;
	const char *run[] = {
		test_build_path("ginictl"), "-s", d.socket, "run", "admin", "--wait", NULL
	};
	char expect[128];
	struct stat st;

	if (!write_unit(NULL, NULL, NULL))
		return;
	ck_assert_msg(ginid_test(&out, &err) == 0, "ginid -t in the sandbox failed:\n%s%s", out,
	              err);
	free(out);
	free(err);
	out = err = NULL;
	start_sandboxed();
	/* control_group reached the socket. */
	ck_assert_int_eq(stat(d.socket, &st), 0);
	ck_assert_uint_eq(st.st_gid, nobody.pw_gid);
	ck_assert_msg(sandboxed(&out, &err, run) == 0, "run failed:\n%s%s", out, err);
	/* The isolated step ran as nobody, with its limit. */
	snprintf(expect, sizeof(expect), "who=%u 64 %s", (unsigned)nobody.pw_uid,
	         *GINI_TEST_SANITIZE ? "" : "1048576");
	ck_assert_msg(daemon_wait_log(&d, expect, 1, 10000), "no '%s' in the log", expect);
	/* chown worked, ionice did (else the step had failed), nice did. */
	ck_assert_int_eq(stat(daemon_path(&d, "owned"), &st), 0);
	ck_assert_uint_eq(st.st_uid, nobody.pw_uid);
	ck_assert_int_eq(read_file(daemon_path(&d, "niceness"), 4096, &nice, NULL), 0);
	ck_assert_str_eq(nice, "5\n");
}
END_TEST

/* The old filter bites: `ginid -t` and start-up name what is missing. */
START_TEST(old_filter_refused_with_reason)
{
	_cleanup_free_ char *out = NULL, *err = NULL;
	char expect[512];

	if (!write_unit(old_filter, NULL, NULL))
		return;
	ck_assert_int_eq(ginid_test(&out, &err), 1);
	snprintf(expect, sizeof(expect),
	         "pipeline 'admin': step 'drop': cannot switch to group %s: setgroups() is "
	         "denied by a seccomp system call filter (systemd's SystemCallFilter= must allow "
	         "@setuid)",
	         nobody_gid);
	ck_assert_msg(strstr(err, expect), "no '%s' in:\n%s", expect, err);
	snprintf(expect, sizeof(expect),
	         "control_group '%s': cannot give files to group %s: chown() is denied by a "
	         "seccomp system call filter (systemd's SystemCallFilter= must allow @chown)",
	         nobody_gid, nobody_gid);
	ck_assert_msg(strstr(err, expect), "no '%s' in:\n%s", expect, err);
	ck_assert_ptr_nonnull(strstr(err, "2 errors"));

	/* Start-up refuses the configuration the same way. */
	d.wrap = wrap;
	daemon_spawn(&d, NULL, NULL);
	ck_assert_int_ne(daemon_wait_exit(&d, 30000), -1);
	ck_assert(WIFEXITED(d.status) && WEXITSTATUS(d.status) != 0);
	snprintf(expect, sizeof(expect), "cannot switch to group %s: setgroups() is denied",
	         nobody_gid);
	ck_assert_uint_eq(daemon_log_count(&d, expect), 1);
}
END_TEST

/* control_group alone: start-up fails when the socket cannot be given to it. */
START_TEST(control_group_not_applied_is_an_error)
{
	char conf[256], expect[512];

	if (!write_unit(old_filter, NULL, NULL))
		return;
	snprintf(conf, sizeof(conf), "control_group = \"%s\";\n", nobody_gid);
	daemon_write(&d, "gini.conf", conf);
	d.wrap = wrap;
	daemon_spawn(&d, NULL, NULL);
	ck_assert_int_ne(daemon_wait_exit(&d, 30000), -1);
	ck_assert(WIFEXITED(d.status) && WEXITSTATUS(d.status) != 0);
	snprintf(expect, sizeof(expect),
	         "control_group '%s': control socket %s: cannot give files to group %s: chown() "
	         "is denied by a seccomp system call filter",
	         nobody_gid, d.socket, nobody_gid);
	ck_assert_msg(daemon_log_count(&d, expect) == 1, "no '%s' in the log", expect);
}
END_TEST

/* ginid -t resolves the control groups, as start-up does. */
START_TEST(control_groups_resolved_by_test_mode)
{
	_cleanup_free_ char *out = NULL, *err = NULL;

	if (!write_unit(NULL, NULL, NULL))
		return;
	daemon_write(&d, "gini.conf",
	             "control_group = \"gini-no-such-group\";\n"
	             "control_readonly_group = \"gini-no-such-group-either\";\n");
	ck_assert_int_eq(ginid_test(&out, &err), 1);
	ck_assert_ptr_nonnull(strstr(err, "control_group 'gini-no-such-group': no such group"));
	free(out);
	free(err);
	daemon_write(&d, "gini.conf", "control_readonly_group = \"gini-no-such-group-either\";\n");
	ck_assert_int_eq(ginid_test(&out, &err), 1);
	ck_assert_ptr_nonnull(
	        strstr(err, "control_readonly_group 'gini-no-such-group-either': no such group"));
}
END_TEST

/* A capability missing from the bounding set is named as such. */
START_TEST(missing_capability_named)
{
	_cleanup_free_ char *out = NULL, *err = NULL;
	char expect[512];

	if (!write_unit(NULL, "CapabilityBoundingSet=",
	                "CapabilityBoundingSet=CAP_CHOWN CAP_DAC_OVERRIDE CAP_FOWNER CAP_KILL "
	                "CAP_SETUID\n"))
		return;
	ck_assert_int_eq(ginid_test(&out, &err), 1);
	snprintf(expect, sizeof(expect),
	         "pipeline 'admin': step 'drop': cannot switch to group %s: setgroups() needs the "
	         "CAP_SETGID capability, which ginid lacks (systemd's CapabilityBoundingSet= must "
	         "include it)",
	         nobody_gid);
	ck_assert_msg(strstr(err, expect), "no '%s' in:\n%s", expect, err);
}
END_TEST

/* ExecReload= waits for the reload and fails when it is refused. */
START_TEST(exec_reload_reports_refusal)
{
	_cleanup_free_ char *out = NULL, *err = NULL, *good = NULL;

	if (!write_unit(NULL, NULL, NULL))
		return;
	ck_assert_int_eq(read_file(d.conf, 1 << 20, &good, NULL), 0);
	start_sandboxed();
	ck_assert_msg(exec_reload(&out, &err) == 0, "reload failed:\n%s%s", out, err);
	ck_assert_ptr_nonnull(strstr(out, "reloaded: generation 2"));
	free(out);
	free(err);
	daemon_write(&d, "pipelines.d/x.conf",
	             "pipelines = ( { name = \"x\"; steps = ( { id = "
	             "\"a\"; stage = \"exce\"; } ); } );\n");
	ck_assert_int_eq(exec_reload(&out, &err), 1);
	ck_assert_ptr_nonnull(
	        strstr(err, "reload failed with 1 error; generation 2 keeps running"));
	ck_assert_ptr_nonnull(strstr(err, "x.conf:1: pipeline 'x': step 'a': unknown stage type"));
	free(out);
	free(err);
	ck_assert_int_eq(unlink(daemon_path(&d, "pipelines.d/x.conf")), 0);
	ck_assert_int_eq(exec_reload(&out, &err), 0);
	ck_assert_ptr_nonnull(strstr(out, "reloaded: generation 3"));
}
END_TEST

/*
 * With ginid.socket, systemd creates the socket (SocketGroup=root as
 * shipped) and passes it: control_group is applied to it all the same.
 */
START_TEST(control_group_on_passed_socket)
{
	_cleanup_free_ char *out = NULL, *err = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *run[] = { test_build_path("ginictl"), "-s", d.socket, "status", NULL };
	const char *argv[8];
	char script[256];
	struct stat st;
	int fd, passed;

	if (!write_unit(NULL, NULL, NULL))
		return;
	ck_assert_uint_lt(strlen(d.socket), sizeof(sa.sun_path));
	strcpy(sa.sun_path, d.socket);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(chmod(d.socket, 0660), 0);
	ck_assert_int_eq(chown(d.socket, 0, 0), 0);
	/* Inherited (no FD_CLOEXEC) and moved to fd 3, as systemd passes it. */
	passed = fcntl(fd, F_DUPFD, 4); /* sh redirects single-digit fds only */
	ck_assert_int_ge(passed, 4);
	ck_assert_int_le(passed, 9);
	close(fd);
	snprintf(script, sizeof(script),
	         "exec 3<&%d %d<&-; export LISTEN_FDS=1 LISTEN_PID=$$; exec \"$0\" \"$@\"", passed,
	         passed);
	argv[0] = wrap[0];
	argv[1] = wrap[1];
	argv[2] = "/bin/sh";
	argv[3] = "-c";
	argv[4] = script;
	argv[5] = NULL;
	d.wrap = argv;
	daemon_start(&d);
	close(passed);
	ck_assert(daemon_wait_log(&d, "control socket passed by systemd", 1, 10000));
	ck_assert_int_eq(stat(d.socket, &st), 0);
	ck_assert_uint_eq(st.st_gid, nobody.pw_gid);
	ck_assert_msg(sandboxed(&out, &err, run) == 0, "status failed:\n%s%s", out, err);
}
END_TEST

/* The exposure figure stays within 3.0 and is the one the docs state. */
START_TEST(exposure_documented)
{
	_cleanup_free_ char *out = NULL, *err = NULL, *readme = NULL, *man = NULL;
	char cmd[8192], path[4096], figure[16], *p;
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	int st;

	if (!write_unit(NULL, NULL, NULL))
		return;
	snprintf(
	        cmd, sizeof(cmd),
	        "mkdir '%s/plain' && sed -e 's|@[A-Z]*@|/usr|g' '%s' > '%s/plain/ginid.service' && "
	        "systemd-analyze security --offline=true --no-pager '%s/plain/ginid.service'",
	        d.dir, unit_path, d.dir, d.dir);
	st = run_command((char *const *)argv, &out, &err, 60000);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "systemd-analyze failed:\n%s", err);
	p = strstr(out, "Overall exposure level for ginid.service: ");
	ck_assert_ptr_nonnull(p);
	p += strlen("Overall exposure level for ginid.service: ");
	snprintf(figure, sizeof(figure), "%.*s", (int)strcspn(p, " "), p);
	ck_assert_msg(strtod(figure, NULL) <= 3.0, "exposure %s is above 3.0", figure);
	snprintf(path, sizeof(path), "%s/README.md", test_source_dir());
	ck_assert_int_eq(read_file(path, 1 << 22, &readme, NULL), 0);
	snprintf(cmd, sizeof(cmd), "rates it **%s OK**", figure);
	ck_assert_msg(strstr(readme, cmd), "README.md does not say '%s'", cmd);
	snprintf(path, sizeof(path), "%s/docs/ginid.8", test_source_dir());
	ck_assert_int_eq(read_file(path, 1 << 22, &man, NULL), 0);
	snprintf(cmd, sizeof(cmd), "rates its exposure %s.", figure);
	ck_assert_msg(strstr(man, cmd), "docs/ginid.8 does not say '%s'", cmd);
}
END_TEST

Suite *
unit_suite(void)
{
	Suite *s = suite_create("unit");
	TCase *tc = tcase_create("sandbox");

	tcase_set_tags(tc, "daemon");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, features_work_in_shipped_unit);
	tcase_add_test(tc, old_filter_refused_with_reason);
	tcase_add_test(tc, control_group_not_applied_is_an_error);
	tcase_add_test(tc, missing_capability_named);
	tcase_add_test(tc, control_groups_resolved_by_test_mode);
	tcase_add_test(tc, exec_reload_reports_refusal);
	tcase_add_test(tc, control_group_on_passed_socket);
	tcase_add_test(tc, exposure_documented);
	suite_add_tcase(s, tc);
	return s;
}
