/* SPDX-License-Identifier: MIT */
/*
 * The exec stage's side of run params and context, through the stand-alone
 * host of stagetest.h: ${key} substitution in argv (whole elements only, an
 * unset key fails the run) and env_file (its syntax, its errors, and which
 * of env, env_file, params and the run context wins).
 */
#include "tests.h"

#include "stagetest.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- exec: ${key} in argv, env_file ---- */

static struct stagetest *
open_exec(void)
{
	return stagetest_open(test_build_path("stages/exec.so"));
}

static void
create_ok(struct stagetest *t)
{
	int r = stagetest_create(t);

	ck_assert_msg(r == 0, "create: %d (%s)", r, stagetest_message(t));
	ck_assert_ptr_null(stagetest_param_unread(t));
}

static void
create_fails(struct stagetest *t, const char *message)
{
	ck_assert_int_lt(stagetest_create(t), 0);
	ck_assert_str_eq(stagetest_message(t), message);
}

/* Prints each argument after the script as [ARG]. */
#define SHOW_ARGS "for a; do printf '[%s]' \"$a\"; done"

START_TEST(exec_argv_substitution_is_whole_element)
{
	struct stagetest *t = open_exec();
	static const char nasty[] = "two words\n*; $(touch INJECTED) `id` '\"";

	stagetest_param_strv(t, "argv", "/bin/sh", "-c", SHOW_ARGS, "sh", "${v}", "pre-${v}-post",
	                     "$${v}", "x${empty}y", "${empty}", "cost $5", NULL);
	stagetest_param_string(t, "capture", "out");
	create_ok(t);
	stagetest_ctx_set(t, "v", nasty);
	stagetest_ctx_set(t, "empty", "");
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_str_eq(stagetest_ctx_get(t, "out"),
	                 "[two words\n*; $(touch INJECTED) `id` '\"]"
	                 "[pre-two words\n*; $(touch INJECTED) `id` '\"-post]"
	                 "[${v}][xy][][cost $5]");
	ck_assert_int_ne(access("INJECTED", F_OK), 0);
	/* A dry run shows the arguments as they would be. */
	ck_assert_int_eq(stagetest_describe(t), 0);
	ck_assert_msg(strstr(stagetest_message(t), "'pre-two words"), "%s", stagetest_message(t));
	stagetest_close(t);
}
END_TEST

START_TEST(exec_argv_unset_key_fails_the_run)
{
	struct stagetest *t = open_exec();

	stagetest_param_strv(t, "argv", "/bin/echo", "a", "--to=${target}", NULL);
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	ck_assert_str_eq(stagetest_message(t), "argv entry 3: context key 'target' is not set");
	ck_assert_int_eq(stagetest_describe(t), 0);
	ck_assert_msg(strstr(stagetest_message(t),
	                     "unexpanded: argv entry 3: context key 'target' is not set"),
	              "%s", stagetest_message(t));
	stagetest_close(t);

	t = open_exec();
	stagetest_param_strv(t, "argv", "${tool}", "x", NULL);
	create_fails(t, "param 'argv': the program name (first entry) cannot hold '$': "
	                "substitution is for arguments only");
	stagetest_close(t);

	t = open_exec();
	stagetest_param_strv(t, "argv", "/bin/echo", "${a b}", NULL);
	create_fails(t, "param 'argv': entry 2: '${a b}' at offset 0: not a valid context key (1 "
	                "to 64 of A-Z a-z 0-9 _ . -)");
	stagetest_close(t);

	/* The shell param is shell text: no substitution, as before. */
	t = open_exec();
	stagetest_param_string(t, "shell", "printf '%s' \"${X-unset}\"");
	stagetest_param_string(t, "capture", "out");
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_str_eq(stagetest_ctx_get(t, "out"), "unset");
	stagetest_close(t);
}
END_TEST

static char env_dir[4096];

static const char *
env_path(const char *name)
{
	static char buf[4][4200];
	static unsigned next;
	char *b = buf[next++ % 4];

	snprintf(b, sizeof(buf[0]), "%s/%s", env_dir, name);
	return b;
}

static void
env_setup(void)
{
	char *tmp = test_tmpdir("envfile");

	snprintf(env_dir, sizeof(env_dir), "%s", tmp);
	free(tmp);
}

static void
env_teardown(void)
{
	test_rmtree(env_dir);
}

/* An exec step printing the named variables as [NAME=VALUE] (or [NAME unset]). */
static struct stagetest *
env_step(const char *env_file, const char *names)
{
	struct stagetest *t = open_exec();
	char *script;

	ck_assert_int_ne(asprintf(&script,
	                          "for n in %s; do eval \"v=\\${$n+set}\"; if [ \"$v\" ]; then "
	                          "eval \"printf '[%%s=%%s]' $n \\\"\\$$n\\\"\"; else printf "
	                          "'[%%s unset]' $n; fi; done",
	                          names),
	                 -1);
	/* shell, not argv: ${...} is the shell's own here. */
	stagetest_param_string(t, "shell", script);
	free(script);
	stagetest_param_string(t, "env_file", env_file);
	stagetest_param_string(t, "capture", "out");
	return t;
}

START_TEST(exec_env_file_syntax)
{
	struct stagetest *t;

	test_write_file(env_path("env"),
	                "# a comment\n"
	                "; another comment\n"
	                "\n"
	                "   PLAIN=value\n"
	                "SPACED = padded value   \n"
	                "EMPTY=\n"
	                "HASH=a#b\n"
	                "SINGLE='it''s $HOME \\n'\n"
	                "DOUBLE=\"say \\\"hi\\\" \\\\ \\$HOME \\n\"\n"
	                "MULTI=\"line one\n"
	                "line two\"\n"
	                "CONT=first \\\n"
	                "second\n"
	                "ESC=a\\ b\\\\c\n"
	                "MIXED=\"x\"'y'z\n"
	                "CRLF=dos\r\n"
	                "EQ=a=b=c\n"
	                "_under_1=ok\n",
	                0644);
	t = env_step(env_path("env"), "PLAIN SPACED EMPTY HASH SINGLE DOUBLE MULTI CONT ESC MIXED "
	                              "CRLF EQ _under_1");
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_str_eq(stagetest_ctx_get(t, "out"),
	                 "[PLAIN=value][SPACED=padded value][EMPTY=][HASH=a#b]"
	                 "[SINGLE=its $HOME \\n][DOUBLE=say \"hi\" \\ $HOME \\n]"
	                 "[MULTI=line one\nline two][CONT=first second][ESC=a b\\c]"
	                 "[MIXED=xyz][CRLF=dos][EQ=a=b=c][_under_1=ok]");
	stagetest_close(t);
}
END_TEST

START_TEST(exec_env_file_errors_and_precedence)
{
	static const struct {
		const char *text;
		const char *message;
	} bad[] = {
		{ "A=1\nnot an assignment\n", ":2: not KEY=VALUE (no '=' after 'not')" },
		{ "A=1\n\n9LIVES=x\n", ":3: not KEY=VALUE (a key is a letter or '_', then letters, "
		                       "digits or '_')" },
		{ "A='open\n", ":1: unterminated single quote" },
		{ "B=\"open\nstill\n", ":1: unterminated double quote" },
		{ "export A=1\n", ":1: not KEY=VALUE (no '=' after 'export')" },
	};
	struct stagetest *t;
	char want[8192];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		test_write_file(env_path("bad"), bad[i].text, 0644);
		t = env_step(env_path("bad"), "A");
		create_ok(t);
		ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
		snprintf(want, sizeof(want), "env_file %s%s", env_path("bad"), bad[i].message);
		ck_assert_str_eq(stagetest_message(t), want);
		stagetest_close(t);
	}

	/* Missing: an error, unless the name starts with '-'. */
	t = env_step(env_path("missing"), "A");
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	snprintf(want, sizeof(want), "env_file %s: No such file or directory", env_path("missing"));
	ck_assert_str_eq(stagetest_message(t), want);
	stagetest_close(t);
	snprintf(want, sizeof(want), "-%s", env_path("missing"));
	t = env_step(want, "A");
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_str_eq(stagetest_ctx_get(t, "out"), "[A unset]");
	stagetest_close(t);

	/* Not a regular file: refused rather than read (a FIFO would hang). */
	ck_assert_int_eq(mkfifo(env_path("fifo"), 0644), 0);
	t = env_step(env_path("fifo"), "A");
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	snprintf(want, sizeof(want), "env_file %s: not a regular file", env_path("fifo"));
	ck_assert_str_eq(stagetest_message(t), want);
	stagetest_close(t);

	t = open_exec();
	stagetest_param_strv(t, "argv", "/bin/true", NULL);
	stagetest_param_string(t, "env_file", "relative.env");
	create_fails(t, "param 'env_file': 'relative.env' is not an absolute path (a leading '-' "
	                "makes a missing file no error)");
	stagetest_close(t);

	/* The env param wins over the file, the file over the context; the
	 * file is read at each run. */
	test_write_file(env_path("env"), "A=from-file\nB=from-file\nGINI_CTX_K=from-file\n", 0644);
	t = env_step(env_path("env"), "A B GINI_CTX_K");
	stagetest_param_strv(t, "env", "B=from-param", NULL);
	create_ok(t);
	stagetest_ctx_set(t, "k", "from-context");
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_str_eq(stagetest_ctx_get(t, "out"),
	                 "[A=from-file][B=from-param][GINI_CTX_K=from-file]");
	test_write_file(env_path("env"), "A=edited\n", 0644);
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_str_eq(stagetest_ctx_get(t, "out"),
	                 "[A=edited][B=from-param][GINI_CTX_K=from-context]");
	stagetest_close(t);
}
END_TEST

Suite *
ops_exec_suite(void)
{
	Suite *s = suite_create("ops_exec");
	TCase *tc;

	tc = tcase_create("exec_argv");
	tcase_add_test(tc, exec_argv_substitution_is_whole_element);
	tcase_add_test(tc, exec_argv_unset_key_fails_the_run);
	suite_add_tcase(s, tc);

	tc = tcase_create("env_file");
	tcase_add_checked_fixture(tc, env_setup, env_teardown);
	tcase_add_test(tc, exec_env_file_syntax);
	tcase_add_test(tc, exec_env_file_errors_and_precedence);
	suite_add_tcase(s, tc);
	return s;
}
