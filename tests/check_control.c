/* SPDX-License-Identifier: MIT */
/*
 * The control socket and ginictl against a real daemon: every command and
 * the shape of its JSON reply, ginictl's output and exit codes, who may do
 * what (clients forked with dropped privileges), and clients that misbehave:
 * malformed, oversized and half-written requests, 500 at once.
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

struct daemon ctl_d;

void
ctl_start(const char *extra_conf)
{
	char *text;

	ck_assert_int_ne(
	        asprintf(&text, "workers = 2;\n%s%s", extra_conf ? extra_conf : "", PIPELINES), -1);
	daemon_init(&ctl_d, "control", text);
	free(text);
	daemon_start(&ctl_d);
}

void
ctl_teardown(void)
{
	daemon_done(&ctl_d);
}

/* For ginictl runs that need no daemon: only a socket path. */
void
ctl_no_daemon(const char *socket)
{
	memset(&ctl_d, 0, sizeof(ctl_d));
	ctl_d.pid = -1;
	ctl_d.notify_fd = -1;
	ctl_d.socket = strdup(socket);
}

/* A raw protocol client. */

int
ctl_client(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, ctl_d.socket);
	ck_assert_int_ge(fd, 0);
	ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect: %s",
	              strerror(errno));
	return fd;
}

void
ctl_send_text(int fd, const char *text)
{
	size_t len = strlen(text), off = 0;

	while (off < len) {
		ssize_t n = send(fd, text + off, len - off, MSG_NOSIGNAL);

		ck_assert_int_gt(n, 0);
		off += (size_t)n;
	}
}

/* One reply line (up to ms), parsed; NULL on EOF or timeout. */
json_t *
ctl_read_reply(int fd, int ms)
{
	char buf[1 << 16];
	size_t len = 0;

	while (len < sizeof(buf) - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, ms) <= 0)
			return NULL;
		n = recv(fd, buf + len, 1, 0);
		if (n <= 0)
			return NULL;
		if (buf[len] == '\n')
			return json_loadb(buf, len, 0, NULL);
		len++;
	}
	return NULL;
}

json_t *
ctl_call(int fd, const char *cmd, const char *args)
{
	char line[4096];

	snprintf(line, sizeof(line), "{\"v\": 1, \"id\": 7, \"cmd\": \"%s\", \"args\": %s}\n", cmd,
	         args ? args : "{}");
	ctl_send_text(fd, line);
	return ctl_read_reply(fd, 10000);
}

/* Asserts an ok reply with id 7 and returns its result (borrowed from r). */
json_t *
ctl_ok_result(json_t *r)
{
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "v")), PROTO_VERSION);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), 7);
	ck_assert_msg(json_is_true(json_object_get(r, "ok")), "not ok: %s",
	              json_string_value(json_object_get(json_object_get(r, "error"), "message")));
	ck_assert(json_is_object(json_object_get(r, "result")));
	return json_object_get(r, "result");
}

void
ctl_assert_error(json_t *r, const char *code, const char *message)
{
	json_t *e;

	ck_assert_ptr_nonnull(r);
	ck_assert(json_is_false(json_object_get(r, "ok")));
	e = json_object_get(r, "error");
	ck_assert_str_eq(json_string_value(json_object_get(e, "code")), code);
	if (message)
		ck_assert_str_eq(json_string_value(json_object_get(e, "message")), message);
}

/* Schema: each key of spec ("name:t", t one of s i n b o a ? for string,
 * integer, number, boolean, object, array, string-or-null) is present with
 * that type. */
void
ctl_assert_schema(json_t *o, const char *const *spec)
{
	for (; *spec; spec++) {
		char key[64];
		const char *colon = strchr(*spec, ':');
		json_t *v;
		bool ok;

		snprintf(key, sizeof(key), "%.*s", (int)(colon - *spec), *spec);
		v = json_object_get(o, key);
		ck_assert_msg(v, "missing key '%s'", key);
		switch (colon[1]) {
		case 's':
			ok = json_is_string(v);
			break;
		case 'i':
			ok = json_is_integer(v);
			break;
		case 'n':
			ok = json_is_number(v);
			break;
		case 'b':
			ok = json_is_boolean(v);
			break;
		case 'o':
			ok = json_is_object(v);
			break;
		case 'a':
			ok = json_is_array(v);
			break;
		default:
			ok = json_is_string(v) || json_is_null(v);
			break;
		}
		ck_assert_msg(ok, "key '%s' has the wrong type", key);
	}
}

START_TEST(status_and_schema)
{
	static const char *const spec[] = {
		"version:s",    "protocol:i",        "pid:i",       "uptime_sec:n",     "started:s",
		"generation:i", "stage_types:i",     "pipelines:i", "runs_in_flight:i", "workers:i",
		"reloads:o",    "refused_plugins:a", NULL
	};
	int fd;
	json_t *r, *res;

	ctl_start(NULL);
	fd = ctl_client();
	r = ctl_call(fd, "status", NULL);
	res = ctl_ok_result(r);
	ctl_assert_schema(res, spec);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "pid")), ctl_d.pid);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "stage_types")), 7);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "pipelines")), 3);
	ck_assert(json_is_null(json_object_get(res, "last_reload")));
	ck_assert_uint_eq(json_array_size(json_object_get(res, "refused_plugins")), 0);
	json_decref(r);
	close(fd);
}
END_TEST

START_TEST(stages_filter_and_pages)
{
	static const char *const spec[] = { "id:s",        "version:s",  "category:s", "summary:s",
		                            "file:s",      "flags:a",    "requires:a", "runs:i",
		                            "failures:i",  "timeouts:i", "crashes:i",  "kills:i",
		                            "mean_usec:i", "max_usec:i", NULL };
	int fd;
	json_t *r, *res, *items;
	char *out = NULL, *err = NULL;

	ctl_start(NULL);
	fd = ctl_client();
	r = ctl_call(fd, "stages", "{\"category\": \"check\"}");
	res = ctl_ok_result(r);
	items = json_object_get(res, "items");
	ck_assert_int_eq(json_integer_value(json_object_get(res, "total")), 2);
	ck_assert_uint_eq(json_array_size(items), 2);
	ctl_assert_schema(json_array_get(items, 0), spec);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 0), "id")),
	                 "check-command");
	json_decref(r);
	r = ctl_call(fd, "stages", "{\"offset\": 2, \"limit\": 3}");
	res = ctl_ok_result(r);
	items = json_object_get(res, "items");
	ck_assert_int_eq(json_integer_value(json_object_get(res, "total")), 7);
	ck_assert_uint_eq(json_array_size(items), 3);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 0), "id")),
	                 "exec");
	json_decref(r);
	r = ctl_call(fd, "stages", "{\"filter\": \"atomic\"}");
	ck_assert_uint_eq(json_array_size(json_object_get(ctl_ok_result(r), "items")), 1);
	json_decref(r);
	/* Wrong types and unknown arguments are refused, the connection stays. */
	r = ctl_call(fd, "stages", "{\"limit\": \"ten\"}");
	ctl_assert_error(r, PROTO_E_BAD_ARGUMENT,
	                 "argument 'limit' must be an integer from 1 to 10000");
	json_decref(r);
	r = ctl_call(fd, "stages", "{\"categry\": \"check\"}");
	ctl_assert_error(r, PROTO_E_BAD_ARGUMENT,
	                 "unknown argument 'categry'; did you mean 'category'?");
	json_decref(r);
	close(fd);

	ck_assert_int_eq(ginictl(&out, &err, "stages", "--category", "check", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "check-command"));
	ck_assert_ptr_nonnull(strstr(out, "2 of 2 stage types"));
	ck_assert_ptr_null(strstr(out, "exec.so"));
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "stages", "--limit", "x", NULL), CTL_EXIT_USAGE);
	free(out);
	free(err);
	/* Every page of a full listing (regression: it stopped after the first,
	 * having read the page's items after freeing the reply). */
	setenv("GINICTL_PAGE_SIZE", "2", 1);
	ck_assert_int_eq(ginictl(&out, &err, "stages", NULL), 0);
	unsetenv("GINICTL_PAGE_SIZE");
	ck_assert_ptr_nonnull(strstr(out, "7 of 7 stage types"));
	ck_assert_ptr_nonnull(strstr(out, "check-command"));
	ck_assert_ptr_nonnull(strstr(out, "write"));
	free(out);
	free(err);
}
END_TEST

START_TEST(pipelines_listing)
{
	static const char *const spec[] = {
		"name:s",   "description:s", "file:s",        "line:i",
		"steps:i",  "overlap:s",     "on_failure:s",  "triggers:o",
		"next:?",   "last:?",        "last_result:?", "running:i",
		"queued:b", "runs:o",        "skipped:i",     NULL
	};
	int fd = -1;
	json_t *r, *items, *slow;
	char *out = NULL, *err = NULL;

	ctl_start(NULL);
	fd = ctl_client();
	r = ctl_call(fd, "pipelines", NULL);
	items = json_object_get(ctl_ok_result(r), "items");
	ck_assert_uint_eq(json_array_size(items), 3);
	for (size_t i = 0; i < 3; i++)
		ctl_assert_schema(json_array_get(items, i), spec);
	slow = json_array_get(items, 2);
	ck_assert_str_eq(json_string_value(json_object_get(slow, "name")), "slow");
	/* A schedule has a next fire time; a signal-only pipeline has none. */
	ck_assert(json_is_string(json_object_get(slow, "next")));
	ck_assert(json_is_null(json_object_get(json_array_get(items, 0), "next")));
	json_decref(r);
	close(fd);
	ck_assert_int_eq(ginictl(&out, &err, "pipelines", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "\"0 4 * * *\""));
	ck_assert_ptr_nonnull(strstr(out, "SIGUSR1"));
	ck_assert_ptr_nonnull(strstr(out, "3 pipelines"));
	free(out);
	free(err);
}
END_TEST

START_TEST(run_wait_exit_codes_and_history)
{
	char *out = NULL, *err = NULL;
	int fd;
	json_t *r, *items, *h;

	ctl_start(NULL);
	ck_assert_int_eq(ginictl(&out, &err, "run", "ok", "--wait", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "  a "));
	ck_assert_ptr_nonnull(strstr(out, ": success in "));
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "run", "bad", "--wait", NULL), CTL_EXIT_FAILED);
	ck_assert_ptr_nonnull(strstr(out, "on purpose"));
	ck_assert_ptr_nonnull(strstr(out, "step 'boom' failed"));
	ck_assert_ptr_nonnull(strstr(out, ": failed in "));
	ck_assert_ptr_nonnull(strstr(out, "first failure: step boom"));
	free(out);
	free(err);
	/* Without --wait: started, with its run id. */
	ck_assert_int_eq(ginictl(&out, &err, "run", "slow", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "started run "));
	free(out);
	free(err);
	/* Again while it runs: skipped by the overlap policy. */
	ck_assert_int_eq(ginictl(&out, &err, "run", "slow", NULL), CTL_EXIT_FAILED);
	ck_assert_ptr_nonnull(strstr(err, "pipeline 'slow' is already running (overlap = skip)"));
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "run", "nope", NULL), CTL_EXIT_FAILED);
	ck_assert_ptr_nonnull(strstr(err, "no pipeline 'nope'"));
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "run", "--dry-run", "ok", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "would log at info: a"));
	free(out);
	free(err);

	ck_assert(daemon_wait_log(&ctl_d, "pipeline 'slow': success", 1, 5000));
	fd = ctl_client();
	r = ctl_call(fd, "history", "{\"n\": 10}");
	items = json_object_get(ctl_ok_result(r), "items");
	ck_assert_uint_eq(json_array_size(items), 3);
	h = json_array_get(items, 1); /* newest first: slow, bad, ok */
	ck_assert_str_eq(json_string_value(json_object_get(h, "pipeline")), "bad");
	ck_assert_str_eq(json_string_value(json_object_get(h, "result")), "failed");
	ck_assert_str_eq(json_string_value(json_object_get(h, "failed_step")), "boom");
	ck_assert_str_eq(json_string_value(json_object_get(h, "message")), "on purpose");
	ck_assert_str_eq(json_string_value(json_object_get(h, "trigger")), "ginictl (uid 0)");
	json_decref(r);
	r = ctl_call(fd, "history", "{\"pipeline\": \"ok\"}");
	ck_assert_uint_eq(json_array_size(json_object_get(ctl_ok_result(r), "items")), 1);
	json_decref(r);
	close(fd);
}
END_TEST

/* --wait streams one event line per step, before the reply. */
START_TEST(run_wait_streams_steps)
{
	int fd;
	json_t *r;

	ctl_start(NULL);
	fd = ctl_client();
	ctl_send_text(fd,
	              "{\"v\":1,\"id\":7,\"cmd\":\"run\",\"args\":{\"pipeline\":\"ok\",\"wait\":"
	              "true}}\n");
	r = ctl_read_reply(fd, 10000);
	ck_assert_str_eq(json_string_value(json_object_get(r, "event")), "step");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "step"), "id")), "a");
	json_decref(r);
	r = ctl_read_reply(fd, 10000);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "step"), "id")), "b");
	json_decref(r);
	r = ctl_read_reply(fd, 10000);
	ck_assert_str_eq(json_string_value(json_object_get(ctl_ok_result(r), "result")), "success");
	ck_assert_uint_eq(json_array_size(json_object_get(ctl_ok_result(r), "steps")), 2);
	json_decref(r);
	close(fd);
}
END_TEST

START_TEST(reload_and_its_errors)
{
	char *out = NULL, *err = NULL;
	int fd;
	json_t *r, *st;

	ctl_start(NULL);
	ck_assert_int_eq(ginictl(&out, &err, "reload", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "reloaded: generation 2"));
	free(out);
	free(err);
	daemon_write(&ctl_d, "pipelines.d/x.conf",
	             "pipelines = ( { name = \"x\"; steps = ( { id = "
	             "\"a\"; stage = \"exce\"; } ); } );\n");
	ck_assert_int_eq(ginictl(&out, &err, "reload", NULL), CTL_EXIT_FAILED);
	ck_assert_ptr_nonnull(
	        strstr(err, "reload failed with 1 error; generation 2 keeps running"));
	ck_assert_ptr_nonnull(strstr(err, "x.conf:1: pipeline 'x': step 'a': unknown stage type "
	                                  "'exce'; did you mean 'exec'?"));
	free(out);
	free(err);
	fd = ctl_client();
	r = ctl_call(fd, "status", NULL);
	st = json_object_get(ctl_ok_result(r), "last_reload");
	ck_assert(json_is_false(json_object_get(st, "ok")));
	ck_assert_uint_eq(json_array_size(json_object_get(st, "errors")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(ctl_ok_result(r), "generation")), 2);
	json_decref(r);
	close(fd);
	ck_assert_int_eq(ginictl(&out, &err, "status", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "FAILED"));
	ck_assert_ptr_nonnull(strstr(out, "unknown stage type 'exce'"));
	free(out);
	free(err);
}
END_TEST

/* The exposition format, line by line: HELP and TYPE before each family's
 * samples, and every sample "name{labels} value". */
START_TEST(metrics_format)
{
	char *out = NULL, *err = NULL, *save = NULL;
	char family[128] = "";
	bool typed = false;
	size_t samples = 0;

	ctl_start(NULL);
	ck_assert_int_eq(ginictl(&out, &err, "run", "ok", "--wait", NULL), 0);
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "metrics", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "gini_stage_executions_total{stage=\"log\"} 2\n"));
	ck_assert_ptr_nonnull(
	        strstr(out, "gini_pipeline_runs_total{pipeline=\"ok\",result=\"success\"} 1\n"));
	ck_assert_ptr_nonnull(
	        strstr(out, "gini_stage_duration_seconds_bucket{stage=\"log\",le=\"+Inf\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(out, "gini_registry_stage_types 7\n"));
	ck_assert_ptr_nonnull(strstr(out, "gini_runs_in_flight 0\n"));
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128], type[32];

		if (sscanf(line, "# HELP %127s", name) == 1) {
			snprintf(family, sizeof(family), "%s", name);
			typed = false;
			continue;
		}
		if (sscanf(line, "# TYPE %127s %31s", name, type) == 2) {
			ck_assert_str_eq(name, family);
			ck_assert(streq(type, "counter") || streq(type, "gauge") ||
			          streq(type, "histogram"));
			typed = true;
			continue;
		}
		ck_assert_msg(line[0] != '#', "stray comment: %s", line);
		ck_assert_msg(typed && strncmp(line, family, strlen(family)) == 0,
		              "sample outside its family: %s", line);
		ck_assert_msg(strrchr(line, ' ') && strtod(strrchr(line, ' ') + 1, NULL) >= 0,
		              "bad value: %s", line);
		samples++;
	}
	ck_assert_uint_gt(samples, 50);
	free(out);
	free(err);
}
END_TEST

START_TEST(bad_requests)
{
	char big[70000];
	int fd;
	json_t *r;

	ctl_start(NULL);
	fd = ctl_client();
	r = ctl_call(fd, "frobnicate", NULL);
	ctl_assert_error(r, PROTO_E_UNKNOWN_COMMAND, "unknown command 'frobnicate'");
	json_decref(r);
	r = ctl_call(fd, "stauts", NULL);
	ctl_assert_error(r, PROTO_E_UNKNOWN_COMMAND,
	                 "unknown command 'stauts'; did you mean 'status'?");
	json_decref(r);
	ctl_send_text(fd, "{\"v\": 2, \"cmd\": \"status\"}\n");
	r = ctl_read_reply(fd, 5000);
	ctl_assert_error(r, PROTO_E_VERSION, "protocol version 1 is required (\"v\": 1)");
	json_decref(r);
	ctl_send_text(fd, "{\"v\": 1, \"cmd\": \"status\", \"args\": [1]}\n");
	r = ctl_read_reply(fd, 5000);
	ctl_assert_error(r, PROTO_E_BAD_ARGUMENT, "\"args\" must be an object");
	json_decref(r);
	/* Still usable after all that. */
	r = ctl_call(fd, "status", NULL);
	ctl_ok_result(r);
	json_decref(r);
	/* Malformed JSON: an error, then the connection is closed. */
	ctl_send_text(fd, "{\"v\": 1, \"cmd\": \n");
	r = ctl_read_reply(fd, 5000);
	ctl_assert_error(r, PROTO_E_BAD_REQUEST, NULL);
	json_decref(r);
	ck_assert_ptr_null(ctl_read_reply(fd, 5000));
	close(fd);

	/* No "cmd": a bad request too, and the connection goes. */
	fd = ctl_client();
	ctl_send_text(fd, "{\"v\": 1}\n");
	r = ctl_read_reply(fd, 5000);
	ctl_assert_error(r, PROTO_E_BAD_REQUEST, "\"cmd\" (a string) is required");
	json_decref(r);
	ck_assert_ptr_null(ctl_read_reply(fd, 5000));
	close(fd);

	fd = ctl_client();
	ctl_send_text(fd, "[1, 2]\n");
	r = ctl_read_reply(fd, 5000);
	ctl_assert_error(r, PROTO_E_BAD_REQUEST, "a request must be a JSON object");
	json_decref(r);
	close(fd);

	/* Over 64 KiB without a newline: refused and closed. */
	fd = ctl_client();
	memset(big, 'x', sizeof(big));
	(void)send(fd, big, sizeof(big), MSG_NOSIGNAL);
	r = ctl_read_reply(fd, 5000);
	ctl_assert_error(r, PROTO_E_TOO_LARGE, NULL);
	json_decref(r);
	ck_assert_ptr_null(ctl_read_reply(fd, 5000));
	close(fd);
	ck_assert_int_eq(kill(ctl_d.pid, 0), 0);
}
END_TEST

/* A client holding half a request does not stall another. */
START_TEST(slow_client_does_not_block_others)
{
	int slow, fast;
	json_t *r;

	ctl_start(NULL);
	slow = ctl_client();
	ctl_send_text(slow, "{\"v\": 1, \"id\": 7, \"cmd\": \"sta");
	fast = ctl_client();
	r = ctl_call(fast, "status", NULL);
	ctl_ok_result(r);
	json_decref(r);
	close(fast);
	ctl_send_text(slow, "tus\"}\n");
	r = ctl_read_reply(slow, 5000);
	ctl_ok_result(r);
	json_decref(r);
	close(slow);
}
END_TEST

START_TEST(five_hundred_connections)
{
	enum { N = 500 };
	struct rlimit rl;
	int fds[N];

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	ctl_start(NULL);
	for (int i = 0; i < N; i++)
		fds[i] = ctl_client();
	for (int i = 0; i < N; i++)
		ctl_send_text(fds[i], "{\"v\": 1, \"id\": 7, \"cmd\": \"status\"}\n");
	for (int i = 0; i < N; i++) {
		json_t *r = ctl_read_reply(fds[i], 20000);

		ctl_ok_result(r);
		json_decref(r);
	}
	for (int i = 0; i < N; i++)
		close(fds[i]);
}
END_TEST

Suite *
control_suite(void)
{
	Suite *s = suite_create("control");
	TCase *tc;

	tc = tcase_create("commands");
	tcase_add_checked_fixture(tc, NULL, ctl_teardown);
	tcase_add_test(tc, status_and_schema);
	tcase_add_test(tc, stages_filter_and_pages);
	tcase_add_test(tc, pipelines_listing);
	tcase_add_test(tc, run_wait_exit_codes_and_history);
	tcase_add_test(tc, run_wait_streams_steps);
	tcase_add_test(tc, reload_and_its_errors);
	tcase_add_test(tc, metrics_format);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile");
	tcase_add_checked_fixture(tc, NULL, ctl_teardown);
	tcase_add_test(tc, bad_requests);
	tcase_add_test(tc, slow_client_does_not_block_others);
	tcase_add_test(tc, five_hundred_connections);
	suite_add_tcase(s, tc);

	control_access_tcases(s);
	control_fast_tcases(s);
	control_cli_tcases(s);
	return s;
}
