/* SPDX-License-Identifier: MIT */
/*
 * The control suite, continued: ginictl's own behaviour (inspect, usage,
 * options, an unreachable daemon, arguments), and text of outside origin
 * (invalid UTF-8, terminal escapes) on its way to the operator.
 */
#include "check_control.h"

#include "proto.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

START_TEST(inspect_plugins)
{
	struct test_bad_plugin *bad = NULL;
	size_t n_bad = test_bad_plugins(&bad);
	char *out = NULL, *err = NULL, path[4096];

	ctl_no_daemon("/nonexistent/socket");
	snprintf(path, sizeof(path), "%s/stages/exec.so", test_build_dir());
	ck_assert_int_eq(ginictl(&out, &err, "inspect", path, NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "id:        exec\n"));
	ck_assert_ptr_nonnull(strstr(out, "abi:       1.1"));
	ck_assert_ptr_nonnull(strstr(out, "flags:     dry-run concurrent\n"));
	free(out);
	free(err);
	/* A plugin built against the 1.0 header says so, and is accepted. */
	snprintf(path, sizeof(path), "%s/tests/plugins/abi10_count.so", test_build_dir());
	ck_assert_int_eq(ginictl(&out, &err, "inspect", path, NULL), 0);
	ck_assert_msg(strstr(out, "abi:       1.0 (descriptor 112 bytes") || sizeof(void *) != 8,
	              "%s", out);
	free(out);
	free(err);
	/* load_fails.so loads fine: inspect calls no hook. */
	snprintf(path, sizeof(path), "%s/tests/plugins/load_fails.so", test_build_dir());
	ck_assert_int_eq(ginictl(&out, &err, "inspect", path, NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "callbacks: load run\n"));
	free(out);
	free(err);
	/* Every fixture of the corpus that inspect refuses, with its own reason. */
	for (size_t i = 0; i < n_bad; i++) {
		if (bad[i].load_only)
			continue;
		snprintf(path, sizeof(path), "%s/tests/plugins/%s", test_build_dir(), bad[i].file);
		ck_assert_int_eq(ginictl(&out, &err, "inspect", path, NULL), CTL_EXIT_FAILED);
		ck_assert_msg(strstr(err, bad[i].reason), "%s: %s", bad[i].file, err);
		ck_assert_ptr_nonnull(strstr(err, ": refused: "));
		free(out);
		free(err);
	}
	ck_assert_int_eq(ginictl(&out, &err, "inspect", "/nonexistent.so", NULL), CTL_EXIT_FAILED);
	ck_assert_ptr_nonnull(strstr(err, "refused: cannot stat: No such file or directory"));
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "--json", "inspect", path, NULL), CTL_EXIT_FAILED);
	ck_assert_ptr_nonnull(strstr(out, "\"ok\": false"));
	free(out);
	free(err);
	free(bad);
}
END_TEST

START_TEST(usage_and_unreachable)
{
	char *out = NULL, *err = NULL;

	ctl_no_daemon("/nonexistent/ginid.sock");
	ck_assert_int_eq(ginictl(&out, &err, "status", NULL), CTL_EXIT_UNREACHABLE);
	ck_assert_ptr_nonnull(strstr(err, "cannot reach ginid at /nonexistent/ginid.sock"));
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "stauts", NULL), CTL_EXIT_USAGE);
	ck_assert_ptr_nonnull(strstr(err, "unknown command 'stauts'; did you mean 'status'?"));
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "run", NULL), CTL_EXIT_USAGE);
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "--help", NULL), 0);
	for (const char *const *v =
	             (const char *const[]){ "status", "stages", "pipelines", "run", "history",
	                                    "reload", "metrics", "inspect", NULL };
	     *v; v++)
		ck_assert_msg(strstr(out, *v), "--help does not mention %s", *v);
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "stages", "--help", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "--category C"));
	free(out);
	free(err);
}
END_TEST

/* Invalid UTF-8 and terminal escapes. */

/* Latin-1 "café" as in a file written by an old editor, and what the daemon
 * makes of it: the invalid byte becomes U+FFFD. */
#define LATIN1   "caf\xe9"
#define REPLACED "caf\xef\xbf\xbd"

#define LATIN1_PIPELINES                                                                           \
	"pipelines = (\n"                                                                          \
	"  { name = \"latin\"; on_failure = \"continue\"; steps = (\n"                             \
	"      { id = \"p\"; stage = \"check-path\"; params = { path = \"/tmp/" LATIN1             \
	"\"; }; },\n"                                                                              \
	"      { id = \"m\"; stage = \"fail\"; params = { message = \"" LATIN1 "\"; }; },\n"       \
	"      { id = \"l\"; stage = \"log\"; params = { message = \"" LATIN1 "\"; }; } ); }\n"    \
	");\n"

/* Regression: jansson refuses invalid UTF-8, and the steps, the history
 * entry and the reload errors that carried it vanished from the replies. */
START_TEST(invalid_utf8_is_replaced_not_dropped)
{
	char *out = NULL, *err = NULL, *text;
	json_t *r, *steps, *items, *errors;
	json_error_t jerr;
	int fd;

	ck_assert_int_ne(asprintf(&text, "workers = 2;\n%s", LATIN1_PIPELINES), -1);
	daemon_init(&ctl_d, "control-utf8", text);
	free(text);
	daemon_start(&ctl_d);

	/* run --wait: every step, with its message, in the final reply. */
	ck_assert_int_eq(ginictl(&out, &err, "--json", "run", "latin", "--wait", NULL),
	                 CTL_EXIT_FAILED);
	/* The step events come first, one line each; the reply is the rest. */
	text = strstr(out, "\n{\n");
	ck_assert_msg(text, "no reply in: %s", out);
	r = json_loads(text + 1, 0, &jerr);
	ck_assert_msg(r, "%s: %s", jerr.text, text);
	steps = json_object_get(r, "steps");
	ck_assert_uint_eq(json_array_size(steps), 3);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(steps, 0), "message")),
	                 "/tmp/" REPLACED ": No such file or directory");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(steps, 1), "message")),
	                 REPLACED);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(steps, 0), "result")),
	                 "failed");
	json_decref(r);
	/* The step events carried them too. */
	ck_assert_ptr_nonnull(strstr(out, "\"message\":\"" REPLACED "\""));
	free(out);
	free(err);

	/* A dry run describes the log step with its message. */
	ck_assert_int_eq(ginictl(&out, &err, "--json", "run", "latin", "--dry-run", NULL),
	                 CTL_EXIT_FAILED);
	ck_assert_ptr_nonnull(strstr(out, "would log at info: " REPLACED));
	free(out);
	free(err);

	/* The history keeps the run, with the message of the step that failed
	 * first (p and m run side by side). */
	fd = ctl_client();
	r = ctl_call(fd, "history", NULL);
	items = json_object_get(ctl_ok_result(r), "items");
	ck_assert_uint_eq(json_array_size(items), 1);
	text = (char *)json_string_value(json_object_get(json_array_get(items, 0), "message"));
	ck_assert_ptr_nonnull(text);
	ck_assert_msg(streq(text, "/tmp/" REPLACED ": No such file or directory") ||
	                      streq(text, REPLACED),
	              "%s", text);
	json_decref(r);

	/* A reload failing on a Latin-1 file names the file and lists the error. */
	daemon_write(&ctl_d, "pipelines.d/" LATIN1 ".conf",
	             "pipelines = ( { name = \"x\"; steps = ( { id = \"a\"; stage = \"" LATIN1
	             "\"; } ); } );\n");
	ck_assert_int_eq(ginictl(&out, &err, "reload", NULL), CTL_EXIT_FAILED);
	ck_assert_ptr_nonnull(strstr(err, "reload failed with 1 error;"));
	ck_assert_msg(strstr(err, REPLACED
	                     ".conf:1: pipeline 'x': step 'a': unknown stage type '" REPLACED "'"),
	              "%s", err);
	free(out);
	free(err);
	r = ctl_call(fd, "status", NULL);
	errors = json_object_get(json_object_get(ctl_ok_result(r), "last_reload"), "errors");
	ck_assert_uint_eq(json_array_size(errors), 1);
	ck_assert_ptr_nonnull(
	        strstr(json_string_value(json_array_get(errors, 0)), REPLACED ".conf:1:"));
	json_decref(r);

	/* Fixed, the file's pipeline is listed with the file's name. */
	daemon_write(&ctl_d, "pipelines.d/" LATIN1 ".conf",
	             "pipelines = ( { name = \"x\"; description = \"" LATIN1 "\"; steps = ( { id = "
	             "\"a\"; stage = \"log\"; params = { message = \"a\"; }; } ); } );\n");
	ck_assert_int_eq(ginictl(&out, &err, "reload", NULL), 0);
	free(out);
	free(err);
	r = ctl_call(fd, "pipelines", NULL);
	items = json_object_get(ctl_ok_result(r), "items");
	ck_assert_uint_eq(json_array_size(items), 2);
	ck_assert_str_eq(
	        json_string_value(json_object_get(json_array_get(items, 1), "description")),
	        REPLACED);
	text = (char *)json_string_value(json_object_get(json_array_get(items, 1), "file"));
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(strstr(text, "/pipelines.d/" REPLACED ".conf"));
	json_decref(r);
	close(fd);
}
END_TEST

/* Runs ginictl on a pseudo-terminal, as an operator would; returns its exit
 * status and all it wrote (malloc'ed). */
static int
ginictl_on_pty(char **ret_out, const char *const *args)
{
	char *argv[16], *buf = NULL;
	size_t n = 0, len = 0;
	struct winsize ws = { .ws_row = 40, .ws_col = 200 };
	int master, st;
	pid_t pid;

	argv[n++] = test_build_path("ginictl");
	argv[n++] = "-s";
	argv[n++] = ctl_d.socket;
	for (; *args && n < 15; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	pid = forkpty(&master, NULL, NULL, &ws);
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	for (;;) {
		char chunk[4096];
		ssize_t k = read(master, chunk, sizeof(chunk));

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) /* EIO once the child closed the terminal */
			break;
		char *grown = realloc(buf, len + (size_t)k + 1);

		ck_assert_ptr_nonnull(grown);
		buf = grown;
		memcpy(buf + len, chunk, (size_t)k);
		len += (size_t)k;
	}
	close(master);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	if (!buf)
		buf = calloc(1, 1);
	buf[len] = '\0';
	*ret_out = buf;
	return WEXITSTATUS(st);
}

#define ESCAPES_PIPELINES                                                                          \
	"pipelines = (\n"                                                                          \
	"  { name = \"esc\"; steps = (\n"                                                          \
	"      { id = \"e\"; stage = \"fail\";\n"                                                  \
	"        params = { message = \"a\\x1b]0;pwned\\x07b\\x1b[2Jc\"; }; } ); }\n"              \
	");\n"

/* Regression: step messages reached the operator's terminal raw, escape
 * sequences and all. */
START_TEST(terminal_escapes_are_shown_escaped)
{
	static const char *const run[] = { "run", "esc", "--wait", NULL };
	static const char *const history[] = { "history", NULL };
	char *out = NULL, *err = NULL, *text;

	ck_assert_int_ne(asprintf(&text, "workers = 2;\n%s", ESCAPES_PIPELINES), -1);
	daemon_init(&ctl_d, "control-esc", text);
	free(text);
	daemon_start(&ctl_d);
	ck_assert_int_eq(ginictl_on_pty(&out, run), CTL_EXIT_FAILED);
	ck_assert_msg(strstr(out, "a\\x1b]0;pwned\\x07b\\x1b[2Jc"), "%s", out);
	ck_assert_msg(!strchr(out, '\033') && !strchr(out, '\007'), "raw escape in: %s", out);
	free(out);
	ck_assert_int_eq(ginictl_on_pty(&out, history), 0);
	ck_assert_msg(strstr(out, "e: a\\x1b]0;pwned\\x07b\\x1b[2Jc"), "%s", out);
	ck_assert_msg(!strchr(out, '\033') && !strchr(out, '\007'), "raw escape in: %s", out);
	free(out);
	/* Human output is escaped when piped, too; --json stays JSON. */
	ck_assert_int_eq(ginictl(&out, &err, "history", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "\\x1b[2J"));
	ck_assert_ptr_null(strchr(out, '\033'));
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "history", "--json", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"message\": \"a\\u001B]0;pwned\\u0007b\\u001B[2Jc\""));
	free(out);
	free(err);
}
END_TEST

/* DESIGN.md: global options are accepted after the command too. */
START_TEST(global_options_after_the_command)
{
	char *argv[8], *out = NULL, *err = NULL;
	json_t *r;
	int st;

	ctl_start(NULL);
	ck_assert_int_eq(ginictl(&out, &err, "stages", "--json", NULL), 0);
	r = json_loads(out, 0, NULL);
	ck_assert_msg(r, "not JSON: %s", out);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "total")), 7);
	json_decref(r);
	free(out);
	free(err);
	argv[0] = test_build_path("ginictl");
	argv[1] = "status";
	argv[2] = "--json";
	argv[3] = "-s";
	argv[4] = ctl_d.socket;
	argv[5] = NULL;
	st = run_command(argv, &out, &err, 30000);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", err);
	r = json_loads(out, 0, NULL);
	ck_assert_msg(r, "not JSON: %s", out);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "pid")), ctl_d.pid);
	json_decref(r);
	free(out);
	free(err);
	argv[1] = "history";
	argv[2] = "--socket";
	argv[3] = ctl_d.socket;
	argv[4] = "-n";
	argv[5] = "3";
	argv[6] = "--json";
	argv[7] = NULL;
	st = run_command(argv, &out, &err, 30000);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", err);
	/* history --json prints the array of runs. */
	ck_assert_str_eq(out, "[]\n");
	free(out);
	free(err);
}
END_TEST

/* Regression: a bare file name went to dlopen(), which searched the
 * library path for it instead of the current directory. */
START_TEST(inspect_bare_file_name)
{
	char *out = NULL, *err = NULL, cwd[4096];

	ctl_no_daemon("/nonexistent/socket");
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_int_eq(chdir(test_build_path("stages")), 0);
	ck_assert_int_eq(ginictl(&out, &err, "inspect", "exec.so", NULL), 0);
	ck_assert_msg(strstr(out, "id:        exec\n"), "%s%s", out, err);
	ck_assert_ptr_nonnull(strstr(out, "file:      exec.so\n"));
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "inspect", "exec.so", "--json", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"id\": \"exec\""));
	free(out);
	free(err);
	ck_assert_int_eq(chdir(cwd), 0);
}
END_TEST

/* Regression: an argument jansson refused went missing from the request
 * ("argument 'pipeline' is required", or a filter silently ignored). */
START_TEST(arguments_must_be_utf8)
{
	char *out = NULL, *err = NULL;

	ctl_no_daemon("/nonexistent/socket");
	ck_assert_int_eq(ginictl(&out, &err, "run", "caf\xe9", NULL), CTL_EXIT_USAGE);
	ck_assert_str_eq(err, "ginictl run: argument 'caf\\xe9' is not valid UTF-8\n");
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "stages", "--filter", "caf\xe9", NULL),
	                 CTL_EXIT_USAGE);
	ck_assert_ptr_nonnull(strstr(err, "is not valid UTF-8"));
	free(out);
	free(err);
	/* Valid UTF-8 goes through (and then finds no daemon here). */
	ck_assert_int_eq(ginictl(&out, &err, "run", "caf\xc3\xa9", NULL), CTL_EXIT_UNREACHABLE);
	free(out);
	free(err);
	/* A socket path is a file name, never sent: any bytes, in every form. */
	ck_assert_int_eq(ginictl(&out, &err, "run", "p", "-s", "/nonexistent/\xff", NULL),
	                 CTL_EXIT_UNREACHABLE);
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "run", "p", "-s/nonexistent/\xff", NULL),
	                 CTL_EXIT_UNREACHABLE);
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "run", "p", "--socket=/nonexistent/\xff", NULL),
	                 CTL_EXIT_UNREACHABLE);
	free(out);
	free(err);
	/* Regression: an argument that merely began with "-s" was taken for a
	 * socket path and skipped, then went missing from the request: the
	 * value of another option, or a name after "--". */
	ck_assert_int_eq(ginictl(&out, &err, "history", "--pipeline", "-s\xe9", NULL),
	                 CTL_EXIT_USAGE);
	ck_assert_str_eq(err, "ginictl history: argument '-s\\xe9' is not valid UTF-8\n");
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "run", "--", "-s\xe9", NULL), CTL_EXIT_USAGE);
	ck_assert_str_eq(err, "ginictl run: argument '-s\\xe9' is not valid UTF-8\n");
	free(out);
	free(err);
}
END_TEST

void
control_cli_tcases(Suite *s)
{
	TCase *tc;

	tc = tcase_create("ginictl");
	tcase_add_checked_fixture(tc, NULL, ctl_teardown);
	tcase_add_test(tc, inspect_plugins);
	tcase_add_test(tc, usage_and_unreachable);
	tcase_add_test(tc, global_options_after_the_command);
	tcase_add_test(tc, inspect_bare_file_name);
	tcase_add_test(tc, arguments_must_be_utf8);
	suite_add_tcase(s, tc);

	tc = tcase_create("untrusted_text");
	tcase_add_checked_fixture(tc, NULL, ctl_teardown);
	tcase_add_test(tc, invalid_utf8_is_replaced_not_dropped);
	tcase_add_test(tc, terminal_escapes_are_shown_escaped);
	suite_add_tcase(s, tc);
}
