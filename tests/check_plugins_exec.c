/* SPDX-License-Identifier: MIT */
/*
 * The exec stage, driven through <gini/stage.h> alone by the stand-alone
 * host in stagetest.c: its exit statuses, output, environment, stdin,
 * capture, cancellation (SIGTERM, then SIGKILL after kill_grace, of
 * everything it started), describe, check and params. Part of the plugins
 * suite (check_plugins.c). Tests assert outcomes, never timings.
 */
#include "check_plugins.h"

#include <dirent.h>
#include <limits.h>
#include <sys/prctl.h>
#include <sys/stat.h>

static struct stagetest *
exec_shell(const char *command, const char *capture)
{
	struct stagetest *t = open_stage("exec");

	stagetest_param_string(t, "shell", command);
	if (capture)
		stagetest_param_string(t, "capture", capture);
	create_ok(t);
	return t;
}

START_TEST(test_exec_success)
{
	struct stagetest *t = open_stage("exec");

	stagetest_param_strv(t, "argv", "/bin/true", NULL);
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_uint_eq(stagetest_log_count(t, -1, NULL), 0);
	stagetest_close(t);
}
END_TEST

START_TEST(test_exec_exit_status)
{
	struct stagetest *t = open_stage("exec");

	stagetest_param_strv(t, "argv", "/bin/sh", "-c", "exit 3", NULL);
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	assert_message(t, "exit status 3");
	stagetest_close(t);
}
END_TEST

START_TEST(test_exec_signal)
{
	char *dir = test_tmpdir("exec-signal");
	struct stagetest *t = open_stage("exec");

	/* No core file: this is about the name of the signal. */
	stagetest_param_string(t, "shell", "ulimit -c 0; kill -SEGV $$");
	stagetest_param_string(t, "cwd", dir);
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	assert_message(t, "killed by signal SIGSEGV");
	stagetest_close(t);

	t = exec_shell("kill -USR1 $$", NULL);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	assert_message(t, "killed by signal SIGUSR1");
	stagetest_close(t);
	test_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_exec_missing_binary)
{
	char *dir = test_tmpdir("exec-missing");
	char *plain = path_in(dir, "plain");
	char expected[PATH_MAX + 64];
	struct stagetest *t = open_stage("exec");

	stagetest_param_strv(t, "argv", "/no/such", "arg", NULL);
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	assert_message(t, "/no/such: No such file or directory");

	stagetest_param_strv(t, "argv", "gini-no-such-command", NULL);
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	assert_message(t, "gini-no-such-command: not found in PATH");

	test_write_file(plain, "#!/bin/sh\n", 0644);
	stagetest_param_strv(t, "argv", plain, NULL);
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	snprintf(expected, sizeof(expected), "%s: not executable (mode 0644)", plain);
	assert_message(t, expected);
	stagetest_close(t);
	test_rmtree(dir);
	free(plain);
	free(dir);
}
END_TEST

START_TEST(test_exec_output_logged)
{
	struct stagetest *t =
	        exec_shell("echo hello; echo; echo oops >&2; printf 'no newline'", NULL);

	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_str_eq(stagetest_log_find(t, GINI_LOG_INFO, "hello"), "hello");
	ck_assert_str_eq(stagetest_log_find(t, GINI_LOG_INFO, "no newline"), "no newline");
	ck_assert_str_eq(stagetest_log_find(t, GINI_LOG_WARNING, "oops"), "oops");
	ck_assert_uint_eq(stagetest_log_count(t, GINI_LOG_INFO, "oops"), 0);
	/* Empty lines are not worth a log line. */
	ck_assert_uint_eq(stagetest_log_count(t, -1, NULL), 3);
	stagetest_close(t);
}
END_TEST

START_TEST(test_exec_long_line)
{
	struct stagetest *t =
	        exec_shell("head -c 100000 /dev/zero | tr '\\0' x; echo; echo next", NULL);
	const char *line;

	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	line = stagetest_log_find(t, GINI_LOG_INFO, "xxx");
	ck_assert_ptr_nonnull(line);
	ck_assert_uint_le(strlen(line), 4096 + 32);
	ck_assert_ptr_nonnull(strstr(line, "[line truncated]"));
	ck_assert_uint_eq(stagetest_log_count(t, GINI_LOG_INFO, "xxx"), 1);
	ck_assert_str_eq(stagetest_log_find(t, GINI_LOG_INFO, "next"), "next");
	stagetest_close(t);
}
END_TEST

START_TEST(test_exec_env)
{
	struct stagetest *t = open_stage("exec");

	setenv("GINI_TEST_INHERITED", "original", 1);
	setenv("GINI_TEST_KEPT", "kept", 1);
	stagetest_param_string(t, "shell",
	                       "printf '%s|%s|%s' \"$GINI_TEST_A\" \"$GINI_TEST_INHERITED\" "
	                       "\"$GINI_TEST_KEPT\"");
	stagetest_param_strv(t, "env", "GINI_TEST_A=from param", "GINI_TEST_INHERITED=overridden",
	                     "GINI_TEST_A=last wins", NULL);
	stagetest_param_string(t, "capture", "out");
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_str_eq(stagetest_ctx_get(t, "out"), "last wins|overridden|kept");
	stagetest_close(t);
}
END_TEST

START_TEST(test_exec_ctx_env)
{
	struct stagetest *t;
	char *big;

	/* A value inherited from the daemon's own environment is not passed on. */
	setenv("GINI_CTX_STALE", "stale", 1);
	t = exec_shell("printf '%s|%s|%s|%s' \"$GINI_CTX_RUN_ID\" \"$GINI_CTX_MY_KEY\" "
	               "\"$GINI_CTX_X_Y\" \"${GINI_CTX_STALE-unset}\"",
	               "out");
	stagetest_ctx_set(t, "run.id", "42");
	stagetest_ctx_set(t, "my-key", "two words");
	stagetest_ctx_set(t, "x_Y", "mixed");
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_str_eq(stagetest_ctx_get(t, "out"), "42|two words|mixed|unset");
	stagetest_close(t);

	/* A value too large for the environment is left out, not an exec failure. */
	big = malloc(200001);
	ck_assert_ptr_nonnull(big);
	memset(big, 'b', 200000);
	big[200000] = 0;
	t = exec_shell("printf '%s|%s' \"${GINI_CTX_BIG-unset}\" \"$GINI_CTX_SMALL\"", "out");
	stagetest_ctx_set(t, "big", big);
	stagetest_ctx_set(t, "small", "s");
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_str_eq(stagetest_ctx_get(t, "out"), "unset|s");
	ck_assert_str_eq(stagetest_log_find(t, GINI_LOG_DEBUG, "not exported"),
	                 "context values too large for the environment, not exported: "
	                 "'big' (200000 bytes)");
	stagetest_close(t);
	free(big);
}
END_TEST

START_TEST(test_exec_cwd)
{
	char *dir = test_tmpdir("exec-cwd");
	char *script = path_in(dir, "hello.sh");
	char *missing = path_in(dir, "nope");
	char real[PATH_MAX], expected[PATH_MAX + 64];
	struct stagetest *t = open_stage("exec");

	ck_assert_ptr_nonnull(realpath(dir, real));
	stagetest_param_strv(t, "argv", "/bin/pwd", "-P", NULL);
	stagetest_param_string(t, "cwd", dir);
	stagetest_param_string(t, "capture", "out");
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_str_eq(stagetest_ctx_get(t, "out"), real);

	/* A relative program path is relative to cwd. */
	test_write_file(script, "#!/bin/sh\necho from script\n", 0755);
	stagetest_param_strv(t, "argv", "./hello.sh", NULL);
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_str_eq(stagetest_ctx_get(t, "out"), "from script");
	ck_assert_int_eq(stagetest_check(t), GINI_SUCCESS);

	stagetest_param_string(t, "cwd", missing);
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	snprintf(expected, sizeof(expected), "cwd %s: No such file or directory", missing);
	assert_message(t, expected);
	ck_assert_int_eq(stagetest_check(t), GINI_FAILURE);
	assert_message(t, expected);
	stagetest_close(t);
	test_rmtree(dir);
	free(missing);
	free(script);
	free(dir);
}
END_TEST

START_TEST(test_exec_stdin)
{
	struct stagetest *t = open_stage("exec");
	size_t big_len = 300000;
	char *big = malloc(big_len + 1);

	stagetest_param_strv(t, "argv", "cat", NULL);
	stagetest_param_string(t, "stdin_key", "in");
	stagetest_param_string(t, "capture", "out");
	create_ok(t);
	stagetest_ctx_set(t, "in", "line1\nline2");
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_str_eq(stagetest_ctx_get(t, "out"), "line1\nline2");

	/* More than a pipe holds: stdin and stdout must flow at once. */
	ck_assert_ptr_nonnull(big);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (char)('a' + i % 26);
	big[big_len] = 0;
	stagetest_ctx_set(t, "in", big);
	ck_assert_msg(stagetest_run(t) == GINI_SUCCESS, "run: %s", stagetest_message(t));
	ck_assert_str_eq(stagetest_ctx_get(t, "out"), big);

	/* An unset key is an empty stdin. */
	stagetest_ctx_set(t, "in", NULL);
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_str_eq(stagetest_ctx_get(t, "out"), "");
	stagetest_close(t);

	/* A child that never reads its stdin is not an error. */
	t = open_stage("exec");
	stagetest_param_strv(t, "argv", "/bin/true", NULL);
	stagetest_param_string(t, "stdin_key", "in");
	create_ok(t);
	stagetest_ctx_set(t, "in", big);
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	stagetest_close(t);
	free(big);
}
END_TEST

START_TEST(test_exec_stdin_default)
{
	/* Without stdin_key the child reads /dev/null, never the daemon's stdin. */
	struct stagetest *t = exec_shell("readlink /proc/self/fd/0", "out");

	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_str_eq(stagetest_ctx_get(t, "out"), "/dev/null");
	stagetest_close(t);
}
END_TEST

START_TEST(test_exec_no_fd_leak)
{
	struct stagetest *t = open_stage("exec");
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	/* Even a descriptor someone opened without O_CLOEXEC stays out. */
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(dup2(fd, 100), 100);
	stagetest_param_strv(t, "argv", "/bin/ls", "/proc/self/fd", NULL);
	stagetest_param_string(t, "capture", "out");
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	/* 0, 1, 2, and the one ls opened to read the directory. */
	ck_assert_str_eq(stagetest_ctx_get(t, "out"), "0\n1\n2\n3");
	close(100);
	close(fd);
	stagetest_close(t);
}
END_TEST

START_TEST(test_exec_child_state)
{
	struct stagetest *t;
	char *text, expected[64];
	unsigned long long blocked, ignored;
	int pid, pgid;

	/*
	 * The worker thread blocks every signal and the daemon may ignore
	 * some: the child must start with neither.
	 */
	signal(SIGUSR2, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	t = open_stage("exec");
	stagetest_param_strv(t, "argv", "grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status", NULL);
	stagetest_param_string(t, "capture", "out");
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	/* NOLINTNEXTLINE(cert-err34-c): a mismatch fails the assertion anyway. */
	ck_assert_int_eq(sscanf(stagetest_ctx_get(t, "out"), "SigBlk: %llx SigIgn: %llx", &blocked,
	                        &ignored),
	                 2);
	ck_assert_uint_eq(blocked, 0);
	/*
	 * Signals 1 to 31 are all at their default. glibc's posix_spawn()
	 * sets its two internal signals (32 and 33, below SIGRTMIN) to
	 * SIG_IGN in every child, and POSIX_SPAWN_SETSIGDEF cannot name them.
	 */
	ck_assert_uint_eq(ignored & 0x7fffffffULL, 0);
	stagetest_close(t);

	/* It leads a process group of its own. */
	t = exec_shell("echo $$ $(cut -d' ' -f5 /proc/$$/stat)", "out");
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	text = strdup(stagetest_ctx_get(t, "out"));
	/* NOLINTNEXTLINE(cert-err34-c): a mismatch fails the assertion anyway. */
	ck_assert_int_eq(sscanf(text, "%d %d", &pid, &pgid), 2);
	ck_assert_int_eq(pid, pgid);
	ck_assert_int_ne(pgid, getpgrp());
	snprintf(expected, sizeof(expected), "%d %d", pid, pid);
	ck_assert_str_eq(text, expected);
	free(text);
	stagetest_close(t);
}
END_TEST

START_TEST(test_exec_capture)
{
	struct stagetest *t = exec_shell("printf 'a\\nb\\n\\n'", "out");
	size_t n;

	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_str_eq(stagetest_ctx_get(t, "out"), "a\nb");
	/* Captured output is not logged too. */
	ck_assert_uint_eq(stagetest_log_count(t, -1, NULL), 0);
	stagetest_close(t);

	/* Output is kept when the program fails: it may say why. */
	t = exec_shell("echo partial; echo why >&2; exit 2", "out");
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	assert_message(t, "exit status 2");
	ck_assert_str_eq(stagetest_ctx_get(t, "out"), "partial");
	ck_assert_str_eq(stagetest_log_find(t, GINI_LOG_WARNING, NULL), "why");
	stagetest_close(t);

	/* Exactly 1 MiB is allowed... */
	t = exec_shell("head -c 1048576 /dev/zero | tr '\\0' a", "out");
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	n = strlen(stagetest_ctx_get(t, "out"));
	ck_assert_uint_eq(n, 1048576);
	stagetest_close(t);

	/* ...one byte more is not. */
	t = exec_shell("head -c 1048577 /dev/zero | tr '\\0' a", "out");
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	assert_message(t, "capture 'out': output exceeds 1 MiB");
	ck_assert_ptr_null(stagetest_ctx_get(t, "out"));
	stagetest_close(t);

	t = exec_shell("printf 'a\\000b'", "out");
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	assert_message(t, "capture 'out': output contains a NUL byte");
	stagetest_close(t);
}
END_TEST

/*
 * The shell writes its pid and its background child's pid, then a file the
 * canceller waits for, so the cancellation comes when both exist.
 */
static const char cancel_script[] = "sleep 60 & echo $! > bg.pid; echo $$ > sh.pid; "
                                    "touch ready; wait";

START_TEST(test_exec_cancel)
{
	char *dir = test_tmpdir("exec-cancel");
	char *ready = path_in(dir, "ready"), *sh_pid = path_in(dir, "sh.pid");
	char *bg_pid = path_in(dir, "bg.pid");
	struct stagetest *t = open_stage("exec");
	pid_t sh, bg;
	int status;

	/* Orphans come to us, so we can see how the background child died. */
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	stagetest_param_string(t, "shell", cancel_script);
	stagetest_param_string(t, "cwd", dir);
	create_ok(t);
	stagetest_cancel_when_exists(t, ready);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	assert_message(t, "cancelled: killed with SIGTERM");

	sh = read_pid(sh_pid);
	bg = read_pid(bg_pid);
	/* The shell was reaped by the stage, not left a zombie. */
	ck_assert_int_eq(kill(sh, 0), -1);
	ck_assert_int_eq(errno, ESRCH);
	/* Its background child, in the same process group, was killed too. */
	status = reap_orphan(bg);
	if (status != REAPED_BY_PARENT) {
		ck_assert(WIFSIGNALED(status));
		ck_assert(WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGKILL);
	}
	ck_assert_int_eq(kill(bg, 0), -1);
	ck_assert_int_eq(errno, ESRCH);
	stagetest_close(t);
	test_rmtree(dir);
	free(bg_pid);
	free(sh_pid);
	free(ready);
	free(dir);
}
END_TEST

START_TEST(test_exec_cancel_escalates)
{
	char *dir = test_tmpdir("exec-kill");
	char *ready = path_in(dir, "ready"), *sh_pid = path_in(dir, "sh.pid");
	char *bg_pid = path_in(dir, "bg.pid"), *script;
	struct stagetest *t = open_stage("exec");
	int status;

	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	/* SIGTERM ignored by the shell and (inherited) by its child. */
	ck_assert_int_ne(asprintf(&script, "trap '' TERM; %s", cancel_script), -1);
	stagetest_param_string(t, "shell", script);
	stagetest_param_string(t, "cwd", dir);
	stagetest_param_duration(t, "kill_grace", "200ms");
	create_ok(t);
	stagetest_cancel_when_exists(t, ready);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	assert_message(t, "cancelled: killed with SIGKILL after 200ms grace");
	ck_assert_int_eq(kill(read_pid(sh_pid), 0), -1);
	ck_assert_int_eq(errno, ESRCH);
	status = reap_orphan(read_pid(bg_pid));
	if (status != REAPED_BY_PARENT) {
		ck_assert(WIFSIGNALED(status));
		ck_assert_int_eq(WTERMSIG(status), SIGKILL);
	}
	stagetest_close(t);
	test_rmtree(dir);
	free(script);
	free(bg_pid);
	free(sh_pid);
	free(ready);
	free(dir);
}
END_TEST

START_TEST(test_exec_cancel_graceful)
{
	char *dir = test_tmpdir("exec-graceful");
	char *ready = path_in(dir, "ready");
	struct stagetest *t = open_stage("exec");

	/* The sleep dies of the SIGTERM, then the shell's trap exits 7. */
	stagetest_param_string(t, "shell",
	                       "trap 'exit 7' TERM; touch ready; while :; do sleep 1; done");
	stagetest_param_string(t, "cwd", dir);
	create_ok(t);
	stagetest_cancel_when_exists(t, ready);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	assert_message(t, "cancelled: exited with status 7 after SIGTERM");
	stagetest_close(t);
	test_rmtree(dir);
	free(ready);
	free(dir);
}
END_TEST

START_TEST(test_exec_describe)
{
	struct stagetest *t = open_stage("exec");

	stagetest_param_strv(t, "argv", "/usr/bin/foo", "arg with space", "it's", "", "plain-1.0",
	                     NULL);
	create_ok(t);
	ck_assert_int_eq(stagetest_describe(t), 0);
	assert_message(t, "would run: /usr/bin/foo 'arg with space' 'it'\\''s' '' plain-1.0");
	stagetest_close(t);

	t = open_stage("exec");
	stagetest_param_string(t, "shell", "echo $HOME");
	stagetest_param_string(t, "cwd", "/srv/my data");
	stagetest_param_string(t, "stdin_key", "in");
	stagetest_param_string(t, "capture", "out");
	create_ok(t);
	ck_assert_int_eq(stagetest_describe(t), 0);
	assert_message(t,
	               "would run: /bin/sh -c 'echo $HOME' (cwd '/srv/my data', stdin from 'in', "
	               "stdout into 'out')");
	/* Describing has no side effects. */
	ck_assert_ptr_null(stagetest_ctx_get(t, "out"));
	stagetest_close(t);
}
END_TEST

START_TEST(test_exec_check)
{
	char *dir = test_tmpdir("exec-check");
	char *tool = path_in(dir, "mytool");
	char *path_env, expected[PATH_MAX + 64];
	struct stagetest *t = open_stage("exec");

	stagetest_param_strv(t, "argv", "sh", "-c", "exit 1", NULL);
	create_ok(t);
	ck_assert_int_eq(stagetest_check(t), GINI_SUCCESS);
	assert_message_prefix(t, "found /");

	stagetest_param_strv(t, "argv", "/no/such", NULL);
	create_ok(t);
	ck_assert_int_eq(stagetest_check(t), GINI_FAILURE);
	assert_message(t, "/no/such: No such file or directory");

	stagetest_param_strv(t, "argv", "gini-no-such-command", NULL);
	create_ok(t);
	ck_assert_int_eq(stagetest_check(t), GINI_FAILURE);
	assert_message(t, "gini-no-such-command: not found in PATH");

	/* The PATH the child gets is the one searched. */
	test_write_file(tool, "#!/bin/sh\necho tool ran\n", 0755);
	ck_assert_int_ne(asprintf(&path_env, "PATH=%s", dir), -1);
	stagetest_param_strv(t, "argv", "mytool", NULL);
	stagetest_param_strv(t, "env", path_env, NULL);
	create_ok(t);
	ck_assert_int_eq(stagetest_check(t), GINI_SUCCESS);
	snprintf(expected, sizeof(expected), "found %s", tool);
	assert_message(t, expected);
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_str_eq(stagetest_log_find(t, GINI_LOG_INFO, NULL), "tool ran");
	stagetest_close(t);
	test_rmtree(dir);
	free(path_env);
	free(tool);
	free(dir);
}
END_TEST

START_TEST(test_exec_params)
{
	struct stagetest *t = open_stage("exec");

	create_fails(t, "params 'argv' and 'shell': one of them is required");

	stagetest_param_strv(t, "argv", "/bin/true", NULL);
	stagetest_param_string(t, "shell", "true");
	create_fails(t, "params 'argv' and 'shell': give one of them, not both");
	stagetest_close(t);

	t = open_stage("exec");
	stagetest_param_strv(t, "argv", NULL);
	create_fails(t, "param 'argv': must not be empty");
	stagetest_param_strv(t, "argv", "", "x", NULL);
	create_fails(t, "param 'argv': the program name (first entry) is empty");
	/* The host's message for a param of the wrong type. */
	stagetest_param_string(t, "argv", "/bin/true");
	create_fails(t, "param 'argv': expected list of strings, got string");
	stagetest_close(t);

	t = open_stage("exec");
	stagetest_param_string(t, "shell", "");
	create_fails(t, "param 'shell': must not be empty");
	stagetest_param_string(t, "shell", "true");
	stagetest_param_strv(t, "env", "A=1", "NOEQUALS", NULL);
	create_fails(t, "param 'env': entry 2, 'NOEQUALS', is not NAME=VALUE");
	stagetest_param_strv(t, "env", "=value", NULL);
	create_fails(t, "param 'env': entry 1, '=value', is not NAME=VALUE");
	stagetest_param_strv(t, "env", "EMPTY=", NULL);
	create_ok(t);
	stagetest_param_string(t, "cwd", "relative/dir");
	create_fails(t, "param 'cwd': 'relative/dir' is not an absolute path");
	stagetest_param_string(t, "cwd", "/");
	stagetest_param_string(t, "capture", "not a key");
	create_fails(t, "param 'capture': 'not a key' is not a valid context key "
	                "(1 to 64 of A-Z a-z 0-9 _ . -)");
	stagetest_param_string(t, "capture", "out");
	stagetest_param_string(t, "stdin_key", "");
	create_fails(t, "param 'stdin_key': '' is not a valid context key "
	                "(1 to 64 of A-Z a-z 0-9 _ . -)");
	stagetest_param_string(t, "stdin_key", "in");
	stagetest_param_duration(t, "kill_grace", "soon");
	create_fails(t, "param 'kill_grace': 'soon' is not a duration (like 500ms, 30s, 5m, 2h)");
	stagetest_param_duration(t, "kill_grace", "2h");
	create_fails(t, "param 'kill_grace': must be at most 1h");
	stagetest_param_int(t, "kill_grace", 10);
	create_ok(t);
	stagetest_close(t);
}
END_TEST

void
plugins_exec_add_tcases(Suite *s)
{
	TCase *tc;

	tc = tcase_create("exec");
	tcase_add_test(tc, test_exec_success);
	tcase_add_test(tc, test_exec_exit_status);
	tcase_add_test(tc, test_exec_signal);
	tcase_add_test(tc, test_exec_missing_binary);
	tcase_add_test(tc, test_exec_output_logged);
	tcase_add_test(tc, test_exec_long_line);
	tcase_add_test(tc, test_exec_env);
	tcase_add_test(tc, test_exec_ctx_env);
	tcase_add_test(tc, test_exec_cwd);
	tcase_add_test(tc, test_exec_stdin);
	tcase_add_test(tc, test_exec_stdin_default);
	tcase_add_test(tc, test_exec_no_fd_leak);
	tcase_add_test(tc, test_exec_child_state);
	tcase_add_test(tc, test_exec_capture);
	tcase_add_test(tc, test_exec_cancel);
	tcase_add_test(tc, test_exec_cancel_escalates);
	tcase_add_test(tc, test_exec_cancel_graceful);
	tcase_add_test(tc, test_exec_describe);
	tcase_add_test(tc, test_exec_check);
	tcase_add_test(tc, test_exec_params);
	suite_add_tcase(s, tc);
}
