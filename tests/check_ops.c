/* SPDX-License-Identifier: MIT */
/*
 * Operator controls against a real daemon: run params (declared, checked,
 * and reaching exec steps only as data), cancelling a run, and disabling a
 * pipeline across reloads and restarts, with who may do it. How the exec
 * stage itself substitutes run context into argv and reads env_file is
 * check_ops_exec.c.
 */
#include "tests.h"

#include "daemon.h"
#include "proto.h"
#include "stagetest.h"
#include "util.h"

#include <errno.h>
#include <grp.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static struct daemon d;

/* Writes d's gini.conf from a format (its arguments: the daemon's directory). */
static void __attribute__((format(printf, 1, 2))) write_conf(const char *fmt, ...)
{
	char *conf;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&conf, fmt, ap);
	va_end(ap);
	ck_assert_int_ne(n, -1);
	daemon_write(&d, "gini.conf", conf);
	free(conf);
}

static void
teardown(void)
{
	daemon_done(&d);
}

static void
start(const char *conf)
{
	daemon_init(&d, "ops", conf);
	daemon_start(&d);
}

/* ginictl -s SOCKET ARGS... against this file's daemon d (tests/daemon.c). */
#define ginictl(out, err, ...) daemon_ginictl(&d, out, err, __VA_ARGS__)

/* The control socket of this file's daemon d. */
static int
client(void)
{
	return daemon_connect(&d);
}

static char *
slurp(const char *path)
{
	char *text = NULL;
	size_t size = 0;

	ck_assert_msg(read_file(path, 1 << 24, &text, &size) == 0, "%s: cannot read", path);
	return text;
}

/* ---- params ---- */

/*
 * The exec step writes what it got to files: dump.env the value of
 * GINI_CTX_TARGET, dump.argv its argument made of "${target}" alone, with
 * printf '%s' so the bytes are written as they are. The shell script is
 * fixed; the value is only ever a variable's or an argument's data.
 */
#define PARAMS_CONF(dir)                                                                           \
	"log_level = \"debug\";\n"                                                                 \
	"pipelines = (\n"                                                                          \
	"  { name = \"p\"; triggers = { signal = \"SIGUSR1\"; };\n"                                \
	"    params = { target = { default = \"/srv\"; pattern = \".*\"; };\n"                     \
	"               mode = { default = \"fast\"; pattern = \"fast|slow\"; }; };\n"             \
	"    steps = ( { id = \"dump\"; stage = \"exec\"; params = { argv = [ \"/bin/sh\", "       \
	"\"-c\", "                                                                                 \
	"\"printf '%%s' \\\"$GINI_CTX_TARGET\\\" > \\\"$0.env\\\"; printf '%%s' "                  \
	"\\\"$GINI_CTX_MODE\\\" > \\\"$0.mode\\\"; printf '%%s' \\\"$1\\\" > \\\"$0.argv\\\"\", "  \
	"\"" dir "/dump\", \"${target}\" ]; }; } ); }\n"                                           \
	");\n"

static void
start_params(void)
{
	daemon_init(&d, "ops", "");
	write_conf(PARAMS_CONF("%s"), d.dir);
	daemon_start(&d);
}

START_TEST(params_reach_exec_as_data)
{
	static const char *const values[] = {
		"/srv/a; touch INJECTED",
		"$(touch INJECTED)",
		"`touch INJECTED`",
		"line one\nline two\n",
		"key=value=more",
		"'\"\\ \t*?[a] ~ $HOME ${IFS}",
		"-n",
		"",
	};

	start_params();
	for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
		char *arg, *out = NULL, *err = NULL, *got;

		ck_assert_int_ne(asprintf(&arg, "target=%s", values[i]), -1);
		unlink(daemon_path(&d, "dump.env"));
		ck_assert_msg(ginictl(&out, &err, "run", "p", arg, "mode=slow", "--wait", NULL) ==
		                      0,
		              "value %zu: %s%s", i, out, err);
		got = slurp(daemon_path(&d, "dump.env"));
		ck_assert_msg(streq(got, values[i]), "value %zu: got '%s'", i, got);
		free(got);
		/* ${target} in argv: one whole argument, whatever it holds. */
		got = slurp(daemon_path(&d, "dump.argv"));
		ck_assert_msg(streq(got, values[i]), "value %zu: argv got '%s'", i, got);
		free(got);
		got = slurp(daemon_path(&d, "dump.mode"));
		ck_assert_str_eq(got, "slow");
		free(got);
		free(arg);
		free(out);
		free(err);
	}
	/* Neither the daemon's directory nor the step's got anything run. */
	ck_assert_int_ne(access(daemon_path(&d, "INJECTED"), F_OK), 0);
	ck_assert_int_ne(access("/INJECTED", F_OK), 0);
}
END_TEST

START_TEST(params_refused_before_the_run)
{
	static const struct {
		const char *arg;
		const char *message;
	} bad[] = {
		{ "tagret=/x", "pipeline 'p' has no param 'tagret'; did you mean 'target'?" },
		{ "mode=medium", "param 'mode': the value does not match the pattern 'fast|slow'" },
		/* The pattern must match the whole value, anchored or not. */
		{ "mode=fast; rm -rf /", "param 'mode': the value does not match the pattern" },
		{ "mode=slowfast", "param 'mode': the value does not match the pattern" },
		{ "mode=fast\n", "param 'mode': the value does not match the pattern" },
	};
	char *out = NULL, *err = NULL, *big;
	size_t big_len = 40 * 1024;
	json_t *r;
	int fd;

	start_params();
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_int_eq(ginictl(&out, &err, "run", "p", bad[i].arg, NULL), CTL_EXIT_USAGE);
		ck_assert_msg(strstr(err, bad[i].message), "'%s': %s", bad[i].arg, err);
		free(out);
		free(err);
	}
	/* Not KEY=VALUE, or a key twice: ginictl's own refusal. */
	ck_assert_int_eq(ginictl(&out, &err, "run", "p", "target", NULL), CTL_EXIT_USAGE);
	ck_assert(strstr(err, "'target' is not KEY=VALUE"));
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "run", "p", "mode=fast", "mode=slow", NULL),
	                 CTL_EXIT_USAGE);
	ck_assert(strstr(err, "param 'mode' given twice"));
	free(out);
	free(err);

	/* A value over the cap, short enough for one request. */
	big = malloc(big_len + 8);
	memcpy(big, "target=", 7);
	memset(big + 7, '/', big_len);
	big[7 + big_len] = 0;
	ck_assert_int_eq(ginictl(&out, &err, "run", "p", big, NULL), CTL_EXIT_USAGE);
	ck_assert_msg(strstr(err, "param 'target': the value is 40960 bytes long, more than 32768"),
	              "%s", err);
	free(out);
	free(err);
	free(big);

	/* A NUL cannot be in a value: the request itself is refused. */
	fd = client();
	r = daemon_call(fd, "run",
	                "{\"pipeline\": \"p\", \"params\": {\"target\": \"/srv\\u0000/etc\"}}");
	ck_assert_str_eq(reply_error_code(r), PROTO_E_BAD_REQUEST);
	json_decref(r);
	close(fd);
	fd = client();
	r = daemon_call(fd, "run", "{\"pipeline\": \"p\", \"params\": {\"target\": 5}}");
	ck_assert_str_eq(reply_error_code(r), PROTO_E_BAD_ARGUMENT);
	json_decref(r);
	r = daemon_call(fd, "run", "{\"pipeline\": \"p\", \"params\": [\"target=/x\"]}");
	ck_assert_str_eq(reply_error_code(r), PROTO_E_BAD_ARGUMENT);
	json_decref(r);
	close(fd);

	/* A 1 MiB value is refused whole, and the daemon carries on. */
	{
		size_t n = 1 << 20;
		char *line = malloc(n + 128);
		int len = sprintf(line, "{\"v\": 1, \"id\": 7, \"cmd\": \"run\", \"args\": "
		                        "{\"pipeline\": \"p\", \"params\": {\"target\": \"");

		memset(line + len, 'a', n);
		strcpy(line + len + n, "\"}}}\n");
		fd = client();
		(void)daemon_send_all(fd, line, strlen(line)); /* it hangs up after the reply */
		r = daemon_read_reply(fd, 10000);
		ck_assert_ptr_nonnull(r);
		ck_assert_str_eq(reply_error_code(r), PROTO_E_TOO_LARGE);
		json_decref(r);
		close(fd);
		free(line);
	}

	/* None of this started a run. */
	ck_assert_int_eq(ginictl(&out, &err, "history", NULL), 0);
	ck_assert_msg(!strstr(out, "ginictl"), "%s", out);
	free(out);
	free(err);
	ck_assert_uint_eq(daemon_log_count(&d, "pipeline 'p': started"), 0);
	ck_assert_int_eq(kill(d.pid, 0), 0);
}
END_TEST

/* overlap = "queue": a run joins the queued one only with the same params. */
#define QUEUE_CONF(dir)                                                                            \
	"pipelines = (\n"                                                                          \
	"  { name = \"q\"; overlap = \"queue\"; params = { n = { default = \"0\"; }; };\n"         \
	"    steps = ( { id = \"s\"; stage = \"exec\"; params = { cwd = \"" dir "\";\n"            \
	"      shell = \"while [ ! -e go ]; do sleep 0.02; done; echo $GINI_CTX_N >> out\"; }; } " \
	"); }\n"                                                                                   \
	");\n"

START_TEST(params_queued_run_joined_only_alike)
{
	static const char two[] =
	        "{\"v\": 1, \"id\": 7, \"cmd\": \"run\", \"args\": {\"pipeline\": "
	        "\"q\", \"wait\": true, \"params\": {\"n\": \"2\"}}}\n";
	char *out = NULL, *err = NULL, *text;
	json_t *r;
	int a, b;

	daemon_init(&d, "ops", "");
	write_conf(QUEUE_CONF("%s"), d.dir);
	daemon_start(&d);

	ck_assert_int_eq(ginictl(&out, &err, "run", "q", "n=1", NULL), 0);
	ck_assert_msg(strstr(out, "started run"), "%s", out);
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "run", "q", "n=2", NULL), 0);
	ck_assert_msg(strstr(out, "queued"), "%s", out);
	free(out);
	free(err);
	/* A client waiting with the same params joins the queued run... */
	a = client();
	ck_assert(daemon_send_all(a, two, strlen(two)));
	/* ...one with other params is not silently folded into it. */
	b = client();
	r = daemon_call(b, "run",
	                "{\"pipeline\": \"q\", \"wait\": true, \"params\": {\"n\": \"3\"}}");
	ck_assert_str_eq(reply_error_code(r), PROTO_E_BUSY);
	json_decref(r);
	close(b);
	test_write_file(daemon_path(&d, "go"), "", 0644);
	/* a's run is the queued one: its step event, then its result. */
	do {
		r = daemon_read_reply(a, 10000);
		ck_assert_ptr_nonnull(r);
		if (json_object_get(r, "event")) {
			json_decref(r);
			continue;
		}
		break;
	} while (1);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "result"), "result")),
	                 "success");
	json_decref(r);
	close(a);
	ck_assert(daemon_wait_log(&d, "pipeline 'q': success in", 2, 10000));
	text = slurp(daemon_path(&d, "out"));
	ck_assert_str_eq(text, "1\n2\n");
	free(text);
}
END_TEST

/* ginid --once runs with the defaults, as a trigger does. */
START_TEST(params_defaults_for_once)
{
	char *out = NULL, *err = NULL, *text;
	int st;

	daemon_init(&d, "ops", "");
	write_conf(PARAMS_CONF("%s"), d.dir);
	{
		char *argv[] = { test_build_path("ginid"),
			         "-c",
			         d.conf,
			         "--plugin-dir",
			         test_build_path("stages"),
			         "--state-dir",
			         (char *)daemon_path(&d, "state"),
			         "--once",
			         "p",
			         NULL };

		st = run_command(argv, &out, &err, 60000);
	}
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s%s", out, err);
	text = slurp(daemon_path(&d, "dump.argv"));
	ck_assert_str_eq(text, "/srv");
	free(text);
	text = slurp(daemon_path(&d, "dump.mode"));
	ck_assert_str_eq(text, "fast");
	free(text);
	free(out);
	free(err);
}
END_TEST

START_TEST(params_defaults_for_triggers)
{
	char *text;

	start_params();
	/* The listing says what a run may set. */
	{
		int fd = client();
		json_t *r = daemon_call(fd, "pipelines", NULL);
		char *dump = json_dumps(
		        json_object_get(
		                json_array_get(
		                        json_object_get(json_object_get(r, "result"), "items"), 0),
		                "params"),
		        JSON_COMPACT);

		ck_assert_str_eq(dump,
		                 "[{\"name\":\"target\",\"default\":\"/srv\",\"pattern\":\".*\"},"
		                 "{\"name\":\"mode\",\"default\":\"fast\",\"pattern\":"
		                 "\"fast|slow\"}]");
		free(dump);
		json_decref(r);
		close(fd);
	}
	daemon_signal(&d, SIGUSR1);
	ck_assert(daemon_wait_log(&d, "pipeline 'p': success in", 1, 10000));
	text = slurp(daemon_path(&d, "dump.env"));
	ck_assert_str_eq(text, "/srv");
	free(text);
	text = slurp(daemon_path(&d, "dump.mode"));
	ck_assert_str_eq(text, "fast");
	free(text);
}
END_TEST

/* ---- cancel ---- */

#define CANCEL_CONF(dir)                                                                           \
	"pipelines = (\n"                                                                          \
	"  { name = \"stubborn\"; steps = ( { id = \"hold\"; stage = \"exec\"; params = {\n"       \
	"      kill_grace = \"300ms\";\n"                                                          \
	"      shell = \"trap '' TERM; echo $$ > " dir "/pid; while :; do sleep 0.05; done\";\n"   \
	"    }; } ); }\n"                                                                          \
	");\n"

START_TEST(cancel_kills_a_child_that_ignores_sigterm)
{
	char *out = NULL, *err = NULL, *text, *dump;
	json_t *r, *ev = NULL;
	long pid;
	int waiter, fd;

	daemon_init(&d, "ops", "");
	write_conf(CANCEL_CONF("%s"), d.dir);
	daemon_start(&d);

	/* A client follows the run: the first of a fresh daemon, run 1. */
	waiter = client();
	text = "{\"v\": 1, \"id\": 7, \"cmd\": \"run\", \"args\": {\"pipeline\": "
	       "\"stubborn\", \"wait\": true}}\n";
	ck_assert(daemon_send_all(waiter, text, strlen(text)));
	ck_assert(wait_file(daemon_path(&d, "pid"), "\n", 10000));
	text = slurp(daemon_path(&d, "pid"));
	pid = strtol(text, NULL, 10);
	free(text);
	ck_assert_int_gt(pid, 1);

	/* No such run: refused, exit 1; not a number: exit 2. */
	ck_assert_int_eq(ginictl(&out, &err, "cancel", "999999", NULL), CTL_EXIT_FAILED);
	ck_assert(strstr(err, "no run 999999 in flight"));
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "cancel", "x1", NULL), CTL_EXIT_USAGE);
	free(out);
	free(err);

	ck_assert_int_eq(ginictl(&out, &err, "cancel", "1", NULL), 0);
	ck_assert_str_eq(out, "run 1: cancelling\n");
	free(out);
	free(err);

	/* The step's event, then the run's end. */
	ev = daemon_read_reply(waiter, 10000);
	ck_assert_ptr_nonnull(ev);
	dump = json_dumps(ev, 0);
	ck_assert_msg(streq(json_string_value(json_object_get(ev, "event")), "step"), "%s", dump);
	ck_assert_int_eq(json_integer_value(json_object_get(ev, "run_id")), 1);
	/* The shell ignored SIGTERM: it was killed after kill_grace. */
	ck_assert_msg(
	        streq(json_string_value(json_object_get(json_object_get(ev, "step"), "result")),
	              "cancelled"),
	        "%s", dump);
	ck_assert_msg(
	        strstr(json_string_value(json_object_get(json_object_get(ev, "step"), "message")),
	               "killed with SIGKILL after 300ms grace"),
	        "%s", dump);
	free(dump);
	json_decref(ev);
	r = daemon_read_reply(waiter, 10000);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "result"), "result")),
	                 "cancelled");
	json_decref(r);
	close(waiter);
	ck_assert(daemon_wait_log(&d, "run 1: pipeline 'stubborn': cancelled in", 1, 10000));
	/* ...and reaped: no such process any more. */
	ck_assert_int_eq(kill((pid_t)pid, 0), -1);
	ck_assert_int_eq(errno, ESRCH);

	fd = client();
	r = daemon_call(fd, "history", "{\"pipeline\": \"stubborn\"}");
	ck_assert_str_eq(
	        json_string_value(json_object_get(
	                json_array_get(json_object_get(json_object_get(r, "result"), "items"), 0),
	                "result")),
	        "cancelled");
	json_decref(r);
	/* Over: cancelling it again finds nothing. */
	r = daemon_call(fd, "cancel", "{\"run_id\": 1}");
	ck_assert_str_eq(reply_error_code(r), PROTO_E_NOT_FOUND);
	json_decref(r);
	close(fd);
}
END_TEST

/* ---- enable, disable ---- */

#define SWITCH_CONF                                                                                \
	"log_level = \"debug\";\n"                                                                 \
	"pipelines = (\n"                                                                          \
	"  { name = \"tick\"; triggers = { signal = \"SIGUSR1\"; }; steps = (\n"                   \
	"      { id = \"a\"; stage = \"log\"; params = { message = \"tick\"; }; } ); },\n"         \
	"  { name = \"other\"; steps = (\n"                                                        \
	"      { id = \"a\"; stage = \"log\"; params = { message = \"other\"; }; } ); }\n"         \
	");\n"

/* The "enabled" field of pipeline name in a pipelines reply. */
static bool
listed_enabled(const char *name)
{
	int fd = client();
	json_t *r = daemon_call(fd, "pipelines", NULL), *items, *p;
	bool enabled = false, found = false;
	size_t i;

	items = json_object_get(json_object_get(r, "result"), "items");
	json_array_foreach(items, i, p)
	{
		if (streq(json_string_value(json_object_get(p, "name")), name)) {
			found = true;
			ck_assert(json_is_boolean(json_object_get(p, "enabled")));
			enabled = json_is_true(json_object_get(p, "enabled"));
		}
	}
	ck_assert(found);
	json_decref(r);
	close(fd);
	return enabled;
}

static void
restart(void)
{
	daemon_signal(&d, SIGTERM);
	ck_assert_int_eq(daemon_wait_exit(&d, 15000), 0);
	/* Read what it notified (READY=1 again after a reload), then forget
	 * it all, or the new daemon would seem ready before it is. */
	ck_assert(daemon_wait_notify(&d, "STOPPING=1", 5000));
	d.exited = false;
	free(d.notified);
	d.notified = NULL;
	d.notified_len = 0;
	daemon_start(&d);
}

START_TEST(disabled_survives_reload_and_restart)
{
	char *out = NULL, *err = NULL;

	start(SWITCH_CONF);
	ck_assert(listed_enabled("tick"));
	ck_assert_int_eq(ginictl(&out, &err, "disable", "tick", NULL), 0);
	ck_assert_str_eq(out, "pipeline 'tick': disabled\n");
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "disable", "tick", NULL), 0);
	ck_assert_str_eq(out, "pipeline 'tick': disabled (it already was)\n");
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "disable", "nope", NULL), CTL_EXIT_FAILED);
	ck_assert(strstr(err, "no pipeline 'nope'"));
	free(out);
	free(err);
	ck_assert(!listed_enabled("tick"));
	ck_assert(listed_enabled("other"));
	ck_assert_int_eq(ginictl(&out, &err, "status", NULL), 0);
	ck_assert_msg(strstr(out, "disabled:       tick\n"), "%s", out);
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "pipelines", NULL), 0);
	ck_assert_msg(strstr(out, "DISABLED: SIGUSR1"), "%s", out);
	free(out);
	free(err);

	/* Its trigger is ignored; a manual run needs --force. */
	daemon_signal(&d, SIGUSR1);
	ck_assert(daemon_wait_log(&d,
	                          "pipeline 'tick': disabled, ignoring its trigger (signal "
	                          "SIGUSR1)",
	                          1, 10000));
	ck_assert_int_eq(ginictl(&out, &err, "run", "tick", NULL), CTL_EXIT_FAILED);
	ck_assert_msg(strstr(err, "pipeline 'tick' is disabled"), "%s", err);
	free(out);
	free(err);
	ck_assert_int_eq(daemon_log_count(&d, "pipeline 'tick': started"), 0);
	ck_assert_int_eq(ginictl(&out, &err, "run", "tick", "--force", "--wait", NULL), 0);
	free(out);
	free(err);

	/* A reload keeps it disabled; so does a restart. */
	ck_assert_int_eq(ginictl(&out, &err, "reload", NULL), 0);
	free(out);
	free(err);
	ck_assert(!listed_enabled("tick"));
	restart();
	ck_assert(!listed_enabled("tick"));
	ck_assert(listed_enabled("other"));
	daemon_signal(&d, SIGUSR1);
	ck_assert(daemon_wait_log(&d, "pipeline 'tick': disabled, ignoring its trigger", 2, 10000));

	/* Enabled again, its trigger runs it, and that too outlives a restart. */
	ck_assert_int_eq(ginictl(&out, &err, "enable", "tick", NULL), 0);
	ck_assert_str_eq(out, "pipeline 'tick': enabled\n");
	free(out);
	free(err);
	restart();
	ck_assert(listed_enabled("tick"));
	daemon_signal(&d, SIGUSR1);
	ck_assert(daemon_wait_log(&d, "pipeline 'tick': success in", 2, 10000));
}
END_TEST

START_TEST(corrupt_switches_file_moved_aside)
{
	char *text;

	daemon_init(&d, "ops", SWITCH_CONF);
	daemon_write(&d, "state/enabled", "# header\ntick 1\n\x01\x02garbage\nother x\n");
	daemon_start(&d);
	ck_assert(daemon_wait_log(&d, "2 lines that are not \"NAME VALUE\": moved aside to ", 1,
	                          5000));
	text = slurp(daemon_path(&d, "state/enabled.corrupt"));
	ck_assert(strstr(text, "garbage"));
	free(text);
	/* What could be read of it still counts. */
	ck_assert(!listed_enabled("tick"));
	ck_assert(listed_enabled("other"));
}
END_TEST

/* A read-only client: may list, may not cancel, enable or disable. */
static int
expect_switches_denied(void)
{
	static const char *const cmds[][2] = {
		{ "cancel", "{\"run_id\": 1}" },
		{ "enable", "{\"pipeline\": \"tick\"}" },
		{ "disable", "{\"pipeline\": \"tick\"}" },
		{ "run", "{\"pipeline\": \"tick\", \"force\": true}" },
	};
	int fd = client();
	json_t *r = daemon_call(fd, "pipelines", NULL);
	int rc = 0;

	if (!json_is_true(json_object_get(r, "ok")))
		rc = 1;
	json_decref(r);
	for (size_t i = 0; i < ARRAY_SIZE(cmds) && rc == 0; i++) {
		r = daemon_call(fd, cmds[i][0], cmds[i][1]);
		if (!streq(reply_error_code(r), PROTO_E_PERMISSION))
			rc = 2 + (int)i;
		json_decref(r);
	}
	close(fd);
	return rc;
}

START_TEST(read_only_client_refused)
{
	gid_t ro[] = { 4243 };
	char *conf;

	if (geteuid() != 0) {
		fprintf(stderr, "read_only_client_refused: not root, privileges not exercised\n");
		return;
	}
	ck_assert_int_ne(asprintf(&conf, "control_readonly_group = \"4243\";\n%s", SWITCH_CONF),
	                 -1);
	start(conf);
	free(conf);
	ck_assert_int_eq(run_as_user(4242, 4242, ro, 1, expect_switches_denied), 0);
	ck_assert(listed_enabled("tick"));
}
END_TEST

START_TEST(check_warns_about_keys_nothing_sets)
{
	char *out = NULL, *err = NULL, want[8192];

	daemon_init(
	        &d, "ops",
	        /* 1 */
	        "pipelines = (\n"
	        /* 2 */ "  { name = \"p\"; params = { target = { default = \"/srv\"; }; };\n"
	        /* 3 */ "    steps = (\n"
	        /* 4 */ "      { id = \"a\"; stage = \"exec\"; params = { argv = [ \"/bin/echo\", "
	        "\"${target}\", \"${gini.run}\", \"$${literal}\" ]; capture = \"made\"; }; },\n"
	        /* 5 */ "      { id = \"b\"; stage = \"exec\"; after = \"a\"; params = { argv = "
	        "[ \"/bin/echo\", \"${made}\", \"x${tpyo}\" ]; }; },\n"
	        /* 6 */ "      { id = \"c\"; stage = \"exec\"; params = { argv = [ \"/bin/echo\", "
	        "\"${made}\" ]; }; },\n"
	        /* 7 */ "      { id = \"d\"; stage = \"log\"; params = { message = \"x\"; }; },\n"
	        /* 8 */ "      { id = \"e\"; stage = \"exec\"; after = \"d\"; params = { argv = "
	        "[ \"/bin/echo\", \"${nobody}\" ]; }; }\n"
	        /* 9 */ "    ); }\n"
	        /* 10 */ ");\n");
	ck_assert_int_eq(daemon_check(&d, &out, &err), 0);
	/* b runs after a, which captures "made"; c does not. */
	ck_assert_msg(!strstr(err, "'${target}'") && !strstr(err, "'${gini.run}'") &&
	                      !strstr(err, "literal") && !strstr(err, "step 'b': argv entry 2"),
	              "%s", err);
	snprintf(want, sizeof(want),
	         "%s:5: pipeline 'p': step 'b': argv entry 3 uses '${tpyo}', which no param of the "
	         "pipeline and no earlier step sets; the run will fail unless it is set",
	         d.conf);
	ck_assert_msg(strstr(err, want), "%s", err);
	snprintf(want, sizeof(want), "%s:6: pipeline 'p': step 'c': argv entry 2 uses '${made}'",
	         d.conf);
	ck_assert_msg(strstr(err, want), "%s", err);
	snprintf(want, sizeof(want), "%s:8: pipeline 'p': step 'e': argv entry 2 uses '${nobody}'",
	         d.conf);
	ck_assert_msg(strstr(err, want), "%s", err);
	free(out);
	free(err);

	/* Bad params are errors at their line, and -t fails. */
	daemon_write(
	        &d, "gini.conf",
	        /* 1 */
	        "pipelines = (\n"
	        /* 2 */ "  { name = \"p\"; triggers = { signal = \"SIGUSR1\"; };\n"
	        /* 3 */ "    params = { target = { default = \"/etc\"; pattern = \"^/srv\"; };\n"
	        /* 4 */ "               n = { pattern = \"(\"; }; };\n"
	        /* 5 */ "    steps = ( { id = \"a\"; stage = \"log\"; params = { message = "
	        "\"x\"; }; } ); }\n"
	        /* 6 */ ");\n");
	ck_assert_int_eq(daemon_check(&d, &out, &err), 1);
	snprintf(want, sizeof(want),
	         "%s:3: pipeline 'p': param 'target': default '/etc': the value does not match the "
	         "pattern '^/srv'",
	         d.conf);
	ck_assert_msg(strstr(err, want), "%s", err);
	snprintf(want, sizeof(want),
	         "%s:4: pipeline 'p': param 'n': invalid pattern '(': ", d.conf);
	ck_assert_msg(strstr(err, want), "%s", err);
	free(out);
	free(err);
}
END_TEST

Suite *
ops_suite(void)
{
	Suite *s = suite_create("ops");
	TCase *tc;

	tc = tcase_create("params");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, params_reach_exec_as_data);
	tcase_add_test(tc, params_refused_before_the_run);
	tcase_add_test(tc, params_defaults_for_triggers);
	tcase_add_test(tc, params_defaults_for_once);
	tcase_add_test(tc, params_queued_run_joined_only_alike);
	suite_add_tcase(s, tc);

	tc = tcase_create("cancel");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, cancel_kills_a_child_that_ignores_sigterm);
	suite_add_tcase(s, tc);

	tc = tcase_create("check");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, check_warns_about_keys_nothing_sets);
	suite_add_tcase(s, tc);

	tc = tcase_create("switches");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, disabled_survives_reload_and_restart);
	tcase_add_test(tc, corrupt_switches_file_moved_aside);
	tcase_add_test(tc, read_only_client_refused);
	suite_add_tcase(s, tc);
	return s;
}
