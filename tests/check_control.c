/* SPDX-License-Identifier: MIT */
/*
 * The control socket and ginictl against a real daemon: every command and
 * the shape of its JSON reply, ginictl's output and exit codes, who may do
 * what (clients forked with dropped privileges), and clients that misbehave:
 * malformed, oversized and half-written requests, 500 at once.
 */
#include "tests.h"

#include "daemon.h"
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

static struct daemon d;

#define PIPELINES                                                                                  \
	"pipelines = (\n"                                                                          \
	"  { name = \"ok\"; triggers = { signal = \"SIGUSR1\"; }; steps = (\n"                     \
	"      { id = \"a\"; stage = \"log\"; params = { message = \"a\"; }; },\n"                 \
	"      { id = \"b\"; stage = \"log\"; after = \"a\"; params = { message = \"b\"; }; } ); " \
	"},\n"                                                                                     \
	"  { name = \"bad\"; steps = (\n"                                                          \
	"      { id = \"boom\"; stage = \"fail\"; params = { message = \"on purpose\"; }; },\n"    \
	"      { id = \"never\"; stage = \"log\"; after = \"boom\"; params = { message = \"x\"; "  \
	"}; } ); },\n"                                                                             \
	"  { name = \"slow\"; triggers = { schedule = \"0 4 * * *\"; }; steps = (\n"               \
	"      { id = \"nap\"; stage = \"sleep\"; params = { duration = \"500ms\"; }; } ); }\n"    \
	");\n"

static void
start(const char *extra_conf)
{
	char *text;

	ck_assert_int_ne(
	        asprintf(&text, "workers = 2;\n%s%s", extra_conf ? extra_conf : "", PIPELINES), -1);
	daemon_init(&d, "control", text);
	free(text);
	daemon_start(&d);
}

static void
teardown(void)
{
	daemon_done(&d);
}

/* For ginictl runs that need no daemon: only a socket path. */
static void
no_daemon(const char *socket)
{
	memset(&d, 0, sizeof(d));
	d.pid = -1;
	d.notify_fd = -1;
	d.socket = strdup(socket);
}

/* A raw protocol client. */

static int
client(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, d.socket);
	ck_assert_int_ge(fd, 0);
	ck_assert_msg(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect: %s",
	              strerror(errno));
	return fd;
}

static void
send_text(int fd, const char *text)
{
	size_t len = strlen(text), off = 0;

	while (off < len) {
		ssize_t n = send(fd, text + off, len - off, MSG_NOSIGNAL);

		ck_assert_int_gt(n, 0);
		off += (size_t)n;
	}
}

/* One reply line (up to ms), parsed; NULL on EOF or timeout. */
static json_t *
read_reply(int fd, int ms)
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

static json_t *
call(int fd, const char *cmd, const char *args)
{
	char line[4096];

	snprintf(line, sizeof(line), "{\"v\": 1, \"id\": 7, \"cmd\": \"%s\", \"args\": %s}\n", cmd,
	         args ? args : "{}");
	send_text(fd, line);
	return read_reply(fd, 10000);
}

/* Asserts an ok reply with id 7 and returns its result (borrowed from r). */
static json_t *
ok_result(json_t *r)
{
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "v")), PROTO_VERSION);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), 7);
	ck_assert_msg(json_is_true(json_object_get(r, "ok")), "not ok: %s",
	              json_string_value(json_object_get(json_object_get(r, "error"), "message")));
	ck_assert(json_is_object(json_object_get(r, "result")));
	return json_object_get(r, "result");
}

static void
assert_error(json_t *r, const char *code, const char *message)
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
static void
assert_schema(json_t *o, const char *const *spec)
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

/* ginictl -s SOCKET ARGS... against this file's daemon d (tests/daemon.c). */
#define ginictl(out, err, ...) daemon_ginictl(&d, out, err, __VA_ARGS__)

START_TEST(status_and_schema)
{
	static const char *const spec[] = {
		"version:s",    "protocol:i",        "pid:i",       "uptime_sec:n",     "started:s",
		"generation:i", "stage_types:i",     "pipelines:i", "runs_in_flight:i", "workers:i",
		"reloads:o",    "refused_plugins:a", NULL
	};
	int fd;
	json_t *r, *res;

	start(NULL);
	fd = client();
	r = call(fd, "status", NULL);
	res = ok_result(r);
	assert_schema(res, spec);
	ck_assert_int_eq(json_integer_value(json_object_get(res, "pid")), d.pid);
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

	start(NULL);
	fd = client();
	r = call(fd, "stages", "{\"category\": \"check\"}");
	res = ok_result(r);
	items = json_object_get(res, "items");
	ck_assert_int_eq(json_integer_value(json_object_get(res, "total")), 2);
	ck_assert_uint_eq(json_array_size(items), 2);
	assert_schema(json_array_get(items, 0), spec);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 0), "id")),
	                 "check-command");
	json_decref(r);
	r = call(fd, "stages", "{\"offset\": 2, \"limit\": 3}");
	res = ok_result(r);
	items = json_object_get(res, "items");
	ck_assert_int_eq(json_integer_value(json_object_get(res, "total")), 7);
	ck_assert_uint_eq(json_array_size(items), 3);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 0), "id")),
	                 "exec");
	json_decref(r);
	r = call(fd, "stages", "{\"filter\": \"atomic\"}");
	ck_assert_uint_eq(json_array_size(json_object_get(ok_result(r), "items")), 1);
	json_decref(r);
	/* Wrong types and unknown arguments are refused, the connection stays. */
	r = call(fd, "stages", "{\"limit\": \"ten\"}");
	assert_error(r, PROTO_E_BAD_ARGUMENT,
	             "argument 'limit' must be an integer from 1 to 10000");
	json_decref(r);
	r = call(fd, "stages", "{\"categry\": \"check\"}");
	assert_error(r, PROTO_E_BAD_ARGUMENT,
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

	start(NULL);
	fd = client();
	r = call(fd, "pipelines", NULL);
	items = json_object_get(ok_result(r), "items");
	ck_assert_uint_eq(json_array_size(items), 3);
	for (size_t i = 0; i < 3; i++)
		assert_schema(json_array_get(items, i), spec);
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

	start(NULL);
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

	ck_assert(daemon_wait_log(&d, "pipeline 'slow': success", 1, 5000));
	fd = client();
	r = call(fd, "history", "{\"n\": 10}");
	items = json_object_get(ok_result(r), "items");
	ck_assert_uint_eq(json_array_size(items), 3);
	h = json_array_get(items, 1); /* newest first: slow, bad, ok */
	ck_assert_str_eq(json_string_value(json_object_get(h, "pipeline")), "bad");
	ck_assert_str_eq(json_string_value(json_object_get(h, "result")), "failed");
	ck_assert_str_eq(json_string_value(json_object_get(h, "failed_step")), "boom");
	ck_assert_str_eq(json_string_value(json_object_get(h, "message")), "on purpose");
	ck_assert_str_eq(json_string_value(json_object_get(h, "trigger")), "ginictl (uid 0)");
	json_decref(r);
	r = call(fd, "history", "{\"pipeline\": \"ok\"}");
	ck_assert_uint_eq(json_array_size(json_object_get(ok_result(r), "items")), 1);
	json_decref(r);
	close(fd);
}
END_TEST

/* --wait streams one event line per step, before the reply. */
START_TEST(run_wait_streams_steps)
{
	int fd;
	json_t *r;

	start(NULL);
	fd = client();
	send_text(fd, "{\"v\":1,\"id\":7,\"cmd\":\"run\",\"args\":{\"pipeline\":\"ok\",\"wait\":"
	              "true}}\n");
	r = read_reply(fd, 10000);
	ck_assert_str_eq(json_string_value(json_object_get(r, "event")), "step");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "step"), "id")), "a");
	json_decref(r);
	r = read_reply(fd, 10000);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "step"), "id")), "b");
	json_decref(r);
	r = read_reply(fd, 10000);
	ck_assert_str_eq(json_string_value(json_object_get(ok_result(r), "result")), "success");
	ck_assert_uint_eq(json_array_size(json_object_get(ok_result(r), "steps")), 2);
	json_decref(r);
	close(fd);
}
END_TEST

START_TEST(reload_and_its_errors)
{
	char *out = NULL, *err = NULL;
	int fd;
	json_t *r, *st;

	start(NULL);
	ck_assert_int_eq(ginictl(&out, &err, "reload", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "reloaded: generation 2"));
	free(out);
	free(err);
	daemon_write(&d, "pipelines.d/x.conf",
	             "pipelines = ( { name = \"x\"; steps = ( { id = "
	             "\"a\"; stage = \"exce\"; } ); } );\n");
	ck_assert_int_eq(ginictl(&out, &err, "reload", NULL), CTL_EXIT_FAILED);
	ck_assert_ptr_nonnull(
	        strstr(err, "reload failed with 1 error; generation 2 keeps running"));
	ck_assert_ptr_nonnull(strstr(err, "x.conf:1: pipeline 'x': step 'a': unknown stage type "
	                                  "'exce'; did you mean 'exec'?"));
	free(out);
	free(err);
	fd = client();
	r = call(fd, "status", NULL);
	st = json_object_get(ok_result(r), "last_reload");
	ck_assert(json_is_false(json_object_get(st, "ok")));
	ck_assert_uint_eq(json_array_size(json_object_get(st, "errors")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(ok_result(r), "generation")), 2);
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

	start(NULL);
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

	start(NULL);
	fd = client();
	r = call(fd, "frobnicate", NULL);
	assert_error(r, PROTO_E_UNKNOWN_COMMAND, "unknown command 'frobnicate'");
	json_decref(r);
	r = call(fd, "stauts", NULL);
	assert_error(r, PROTO_E_UNKNOWN_COMMAND,
	             "unknown command 'stauts'; did you mean 'status'?");
	json_decref(r);
	send_text(fd, "{\"v\": 2, \"cmd\": \"status\"}\n");
	r = read_reply(fd, 5000);
	assert_error(r, PROTO_E_VERSION, "protocol version 1 is required (\"v\": 1)");
	json_decref(r);
	send_text(fd, "{\"v\": 1, \"cmd\": \"status\", \"args\": [1]}\n");
	r = read_reply(fd, 5000);
	assert_error(r, PROTO_E_BAD_ARGUMENT, "\"args\" must be an object");
	json_decref(r);
	/* Still usable after all that. */
	r = call(fd, "status", NULL);
	ok_result(r);
	json_decref(r);
	/* Malformed JSON: an error, then the connection is closed. */
	send_text(fd, "{\"v\": 1, \"cmd\": \n");
	r = read_reply(fd, 5000);
	assert_error(r, PROTO_E_BAD_REQUEST, NULL);
	json_decref(r);
	ck_assert_ptr_null(read_reply(fd, 5000));
	close(fd);

	/* No "cmd": a bad request too, and the connection goes. */
	fd = client();
	send_text(fd, "{\"v\": 1}\n");
	r = read_reply(fd, 5000);
	assert_error(r, PROTO_E_BAD_REQUEST, "\"cmd\" (a string) is required");
	json_decref(r);
	ck_assert_ptr_null(read_reply(fd, 5000));
	close(fd);

	fd = client();
	send_text(fd, "[1, 2]\n");
	r = read_reply(fd, 5000);
	assert_error(r, PROTO_E_BAD_REQUEST, "a request must be a JSON object");
	json_decref(r);
	close(fd);

	/* Over 64 KiB without a newline: refused and closed. */
	fd = client();
	memset(big, 'x', sizeof(big));
	(void)send(fd, big, sizeof(big), MSG_NOSIGNAL);
	r = read_reply(fd, 5000);
	assert_error(r, PROTO_E_TOO_LARGE, NULL);
	json_decref(r);
	ck_assert_ptr_null(read_reply(fd, 5000));
	close(fd);
	ck_assert_int_eq(kill(d.pid, 0), 0);
}
END_TEST

/* A client holding half a request does not stall another. */
START_TEST(slow_client_does_not_block_others)
{
	int slow, fast;
	json_t *r;

	start(NULL);
	slow = client();
	send_text(slow, "{\"v\": 1, \"id\": 7, \"cmd\": \"sta");
	fast = client();
	r = call(fast, "status", NULL);
	ok_result(r);
	json_decref(r);
	close(fast);
	send_text(slow, "tus\"}\n");
	r = read_reply(slow, 5000);
	ok_result(r);
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
	start(NULL);
	for (int i = 0; i < N; i++)
		fds[i] = client();
	for (int i = 0; i < N; i++)
		send_text(fds[i], "{\"v\": 1, \"id\": 7, \"cmd\": \"status\"}\n");
	for (int i = 0; i < N; i++) {
		json_t *r = read_reply(fds[i], 20000);

		ok_result(r);
		json_decref(r);
	}
	for (int i = 0; i < N; i++)
		close(fds[i]);
}
END_TEST

/* Runs fn in a child with the given uid, gid and supplementary groups. */
static int
as_user(uid_t uid, gid_t gid, const gid_t *groups, size_t n, int (*fn)(void))
{
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (setgroups(n, groups) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
			_exit(99);
		_exit(fn());
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* Child bodies return 0 when the daemon answered as expected. */
static int
expect_status_denied(void)
{
	int fd = client();
	json_t *r = call(fd, "status", NULL);
	const char *code = json_string_value(json_object_get(json_object_get(r, "error"), "code"));

	return code && streq(code, PROTO_E_PERMISSION) ? 0 : 1;
}

static int
expect_read_ok_run_denied(void)
{
	int fd = client();
	json_t *r = call(fd, "status", NULL);
	const char *code;

	if (!r || !json_is_true(json_object_get(r, "ok")))
		return 1;
	json_decref(r);
	r = call(fd, "health", NULL);
	if (!r || !json_is_true(json_object_get(r, "ok")))
		return 4;
	json_decref(r);
	r = call(fd, "run", "{\"pipeline\": \"ok\"}");
	code = json_string_value(json_object_get(json_object_get(r, "error"), "code"));
	if (!code || !streq(code, PROTO_E_PERMISSION))
		return 2;
	json_decref(r);
	r = call(fd, "reload", NULL);
	code = json_string_value(json_object_get(json_object_get(r, "error"), "code"));
	return code && streq(code, PROTO_E_PERMISSION) ? 0 : 3;
}

static int
expect_all_ok(void)
{
	int fd = client();
	/* Waits, so the next caller's run is not skipped by overlap = skip;
	 * the step events come first, then the reply. */
	json_t *r = call(fd, "run", "{\"pipeline\": \"ok\", \"wait\": true}");
	int rc;

	while (r && !json_object_get(r, "ok")) {
		json_decref(r);
		r = read_reply(fd, 10000);
	}
	rc = r && json_is_true(json_object_get(r, "ok")) ? 0 : 1;
	json_decref(r);
	return rc;
}

static int
ginictl_status_exit(void)
{
	char *argv[] = { test_build_path("ginictl"), "-s", d.socket, "status", NULL };

	execv(argv[0], argv);
	return 98;
}

START_TEST(who_may_do_what)
{
	gid_t ro[] = { 4243 }, ctl[] = { 4244 };
	struct stat st;

	if (geteuid() != 0) {
		/* Dropping privileges needs root; what is left to check here: */
		fprintf(stderr, "who_may_do_what: not root, privilege checks not exercised\n");
		return;
	}
	start("control_group = \"4244\";\ncontrol_readonly_group = \"4243\";\n");
	/* With a read-only group the socket must be connectable by anyone... */
	ck_assert_int_eq(stat(d.socket, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0666);
	ck_assert_uint_eq(st.st_gid, 4244);
	/* ...so the peer credentials decide. */
	ck_assert_int_eq(as_user(4242, 4242, NULL, 0, expect_status_denied), 0);
	ck_assert(daemon_wait_log(&d, "control: permission denied: uid 4242 (pid ", 1, 5000));
	ck_assert_int_eq(as_user(4242, 4242, ro, 1, expect_read_ok_run_denied), 0);
	ck_assert_int_eq(as_user(4242, 4242, ctl, 1, expect_all_ok), 0);
	ck_assert_int_eq(as_user(4242, 4244, NULL, 0, expect_all_ok), 0);
	ck_assert_int_eq(as_user(4242, 4242, NULL, 0, ginictl_status_exit), CTL_EXIT_PERMISSION);
	ck_assert_int_eq(kill(d.pid, 0), 0);
}
END_TEST

START_TEST(socket_mode_and_stranger)
{
	struct stat st;

	if (geteuid() != 0) {
		fprintf(stderr, "socket_mode_and_stranger: not root, not exercised\n");
		return;
	}
	start(NULL);
	ck_assert_int_eq(stat(d.socket, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0660);
	ck_assert_uint_eq(st.st_gid, 0);
	/* The file mode keeps strangers out before the daemon even sees them. */
	ck_assert_int_eq(as_user(4242, 4242, NULL, 0, ginictl_status_exit), CTL_EXIT_PERMISSION);
}
END_TEST

START_TEST(stale_and_live_sockets)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct daemon second;
	int fd, stv;
	char *text;

	/* A socket file left by a crashed daemon is replaced. */
	start(NULL);
	daemon_signal(&d, SIGKILL);
	ck_assert_int_ne(daemon_wait_exit(&d, 5000), -1);
	strcpy(sa.sun_path, d.socket);
	ck_assert_int_eq(access(d.socket, F_OK), 0);
	/* Forget the first daemon's READY=1, or daemon_start() returns before
	 * the second listens, and a client can meet the stale socket. */
	free(d.notified);
	d.notified = NULL;
	d.notified_len = 0;
	daemon_start(&d);
	ck_assert(daemon_wait_log(&d, "removing a stale socket", 1, 1000));
	fd = client();
	json_decref(call(fd, "status", NULL));
	close(fd);

	/* A live daemon's socket is not taken over. */
	ck_assert_int_ne(asprintf(&text, "pipelines = ();\n"), -1);
	daemon_init(&second, "control2", text);
	free(text);
	free(second.socket);
	second.socket = strdup(d.socket);
	daemon_spawn(&second, NULL, NULL);
	stv = daemon_wait_exit(&second, 10000);
	ck_assert(WIFEXITED(stv));
	ck_assert_int_eq(WEXITSTATUS(stv), 1);
	ck_assert(daemon_wait_log(&second, "belongs to a running daemon", 1, 100));
	/* Said once, with its cause: no second line with a misleading errno. */
	ck_assert_uint_eq(daemon_log_count(&second, "belongs to a running daemon"), 1);
	ck_assert_uint_eq(daemon_log_count(&second, "cannot open the control socket"), 0);
	ck_assert_uint_eq(daemon_log_count(&second, "Address already in use"), 0);
	daemon_done(&second);

	/* Nor for a path that is not a socket: one line, naming it. */
	ck_assert_int_ne(asprintf(&text, "pipelines = ();\n"), -1);
	daemon_init(&second, "control3", text);
	free(text);
	daemon_write(&second, "ctl.sock", "not a socket\n");
	daemon_spawn(&second, NULL, NULL);
	stv = daemon_wait_exit(&second, 10000);
	ck_assert(WIFEXITED(stv));
	ck_assert_int_eq(WEXITSTATUS(stv), 1);
	ck_assert_uint_eq(daemon_log_count(&second, "exists and is not a socket; refusing"), 1);
	ck_assert_uint_eq(daemon_log_count(&second, "cannot open the control socket"), 0);
	ck_assert_uint_eq(daemon_log_count(&second, "File exists"), 0);
	daemon_done(&second);
	fd = client();
	json_decref(call(fd, "status", NULL));
	close(fd);
}
END_TEST

START_TEST(inspect_plugins)
{
	static const struct {
		const char *file;
		const char *reason;
	} bad[] = {
		{ "no_symbol.so", "does not export stage_descriptor" },
		{ "null_entry.so", "stage_descriptor() returned NULL" },
		{ "bad_major.so", "ABI major 2 is not supported (host ABI 1.1)" },
		{ "new_minor.so", "built for ABI 1.99, newer than the host's ABI 1.1" },
		{ "absurd_size.so", "descriptor size 1048576 is implausible" },
		{ "tiny_size.so", "descriptor size 16 is implausible" },
		{ "bad_id.so", "invalid id 'Bad ID!'" },
		{ "bad_version.so", "invalid version '1.x'" },
		{ "bad_flags.so", "unknown flags 0x80" },
		{ "no_run.so", "no run callback" },
		{ "ctor_marker.so", "does not export stage_descriptor" },
	};
	char *out = NULL, *err = NULL, path[4096];

	no_daemon("/nonexistent/socket");
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
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
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
}
END_TEST

START_TEST(usage_and_unreachable)
{
	char *out = NULL, *err = NULL;

	no_daemon("/nonexistent/ginid.sock");
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

/* Abuse: descriptors, connections and log lines a client can use up. */

/* CPU time (user + system) of a process so far, in clock ticks. */
static unsigned long long
proc_cpu_ticks(pid_t pid)
{
	char path[64], buf[4096], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after the command name, which may hold spaces: state is the
	 * 3rd field, utime the 14th, stime the 15th. */
	p = strrchr(buf, ')');
	ck_assert_ptr_nonnull(p);
	/* NOLINTNEXTLINE(cert-err34-c): the kernel's own numbers, and the count is checked */
	ck_assert_int_eq(
	        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st),
	        2);
	return ut + st;
}

static size_t
proc_fd_count(pid_t pid)
{
	char path[64];
	size_t n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	ck_assert_ptr_nonnull(dir);
	for (struct dirent *e; (e = readdir(dir));)
		n += e->d_name[0] != '.';
	closedir(dir);
	return n;
}

/*
 * Regression: out of descriptors, accept() failed with EMFILE on a listener
 * that stayed readable, and the loop spun on it, logging every failure (4.1
 * million lines in 8 s). Now the listener rests until a connection closes.
 */
START_TEST(accept_out_of_descriptors)
{
	struct rlimit own, rl;
	unsigned long long before, after;
	long tick = sysconf(_SC_CLK_TCK);
	char *out = NULL, *err = NULL;
	size_t n_fds, n_clients;
	int *fds;

	/* Started with a low soft limit, ginid raises it to the hard one. */
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &own), 0);
	if (own.rlim_max < 256) {
		fprintf(stderr,
		        "accept_out_of_descriptors: hard limit on open files %llu is too "
		        "low, not exercised\n",
		        (unsigned long long)own.rlim_max);
		return;
	}
	rl = own;
	rl.rlim_cur = 64;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	start(NULL);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &own), 0);
	ck_assert_int_eq(prlimit(d.pid, RLIMIT_NOFILE, NULL, &rl), 0);
	ck_assert_uint_eq(rl.rlim_cur, own.rlim_max);

	/* Then squeeze it: a few descriptors to spare, and more clients. */
	n_fds = proc_fd_count(d.pid);
	rl.rlim_cur = rl.rlim_max = n_fds + 8;
	ck_assert_int_eq(prlimit(d.pid, RLIMIT_NOFILE, &rl, NULL), 0);
	n_clients = n_fds + 8 + 60; /* the rest wait in the listen backlog of 128 */
	fds = calloc(n_clients, sizeof(int));
	for (size_t i = 0; i < n_clients; i++)
		fds[i] = client();
	ck_assert(daemon_wait_log(&d, "control: accept: Too many open files", 1, 10000));

	/* Waiting for a descriptor costs (next to) nothing: well under a tenth
	 * of the interval, where spinning takes all of it. */
	before = proc_cpu_ticks(d.pid);
	usleep(1000 * 1000);
	after = proc_cpu_ticks(d.pid);
	ck_assert_msg(after - before < (unsigned long long)tick / 4,
	              "ginid used %llu of %ld ticks waiting for descriptors", after - before, tick);
	ck_assert_uint_lt(daemon_log_count(&d, "accept"), 20);

	/* Once the clients are gone, it serves again. */
	for (size_t i = 0; i < n_clients; i++)
		close(fds[i]);
	free(fds);
	ck_assert_int_eq(ginictl(&out, &err, "status", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "generation:"));
	free(out);
	free(err);
	ck_assert_uint_lt(daemon_log_count(&d, "accept"), 20);
}
END_TEST

/* A child running as another user, which reports through a pipe and holds
 * its connections until the parent writes to another. */
struct stranger {
	pid_t pid;
	int report; /* parent reads the child's result byte here */
	int hold;   /* parent closes this to let the child go */
};

static void
stranger_start(struct stranger *s, uid_t uid, gid_t group, int (*fn)(int report, int hold))
{
	int rep[2], hold[2];

	ck_assert_int_eq(pipe2(rep, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(hold, O_CLOEXEC), 0);
	s->pid = fork();
	ck_assert_int_ge(s->pid, 0);
	if (s->pid == 0) {
		struct rlimit rl;

		close(rep[0]);
		close(hold[1]);
		/* More descriptors than connections, while still root. */
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (setgroups(group ? 1 : 0, &group) < 0 || setgid(uid) < 0 || setuid(uid) < 0)
			_exit(99);
		_exit(fn(rep[1], hold[0]));
	}
	close(rep[1]);
	close(hold[0]);
	s->report = rep[0];
	s->hold = hold[1];
}

/* The child's report: one byte, 0 if all went as expected. */
static int
stranger_report(struct stranger *s)
{
	unsigned char b = 255;

	ck_assert_int_eq(read(s->report, &b, 1), 1);
	return b;
}

static int
stranger_done(struct stranger *s)
{
	void (*old)(int) = signal(SIGPIPE, SIG_IGN);
	int st;

	/* A byte, not only EOF: a later child may hold a copy of this end
	 * (the child may have gone already, hence no SIGPIPE). */
	if (write(s->hold, "x", 1) < 0)
		ck_assert_int_eq(errno, EPIPE);
	signal(SIGPIPE, old);
	close(s->hold);
	close(s->report);
	ck_assert_int_eq(waitpid(s->pid, &st, 0), s->pid);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* Reads one reply line on fd; the error code, or "ok", or "" at EOF. */
static const char *
reply_code(int fd, char *message, size_t size)
{
	static char code[64];
	json_t *r = read_reply(fd, 20000);
	const char *c;

	message[0] = '\0';
	if (!r)
		return "";
	if (json_is_true(json_object_get(r, "ok"))) {
		json_decref(r);
		return "ok";
	}
	c = json_string_value(json_object_get(json_object_get(r, "error"), "code"));
	snprintf(code, sizeof(code), "%s", c ? c : "?");
	snprintf(message, size, "%s",
	         json_string_value(json_object_get(json_object_get(r, "error"), "message")));
	json_decref(r);
	return code;
}

enum { HOG_CONNS = 1100 };

/* Counts of what HOG_CONNS connections of uid 65534 got, each with one
 * status request: accepted (permission denied: nobody is in no group) or
 * refused, and the refusal's message. */
static size_t hog_accepted, hog_refused;
static char hog_message[256];

static int
hog(int report, int hold)
{
	int *fds = calloc(HOG_CONNS, sizeof(int));
	unsigned char b;

	for (size_t i = 0; i < HOG_CONNS; i++) {
		char message[256];
		const char *code;

		fds[i] = client();
		/* A refused connection may be closed before the request is
		 * sent; its reply is waiting all the same. */
		(void)send(fds[i], "{\"v\": 1, \"cmd\": \"status\"}\n", 26, MSG_NOSIGNAL);
		code = reply_code(fds[i], message, sizeof(message));
		if (streq(code, PROTO_E_PERMISSION)) {
			hog_accepted++;
		} else if (streq(code, PROTO_E_OVERLOADED)) {
			hog_refused++;
			snprintf(hog_message, sizeof(hog_message), "%s", message);
		} else {
			return 1;
		}
	}
	/* Three lines for the parent: the counts and the message. */
	dprintf(report, "%zu\n%zu\n%s\n", hog_accepted, hog_refused, hog_message);
	/* Holds every connection until told to go. */
	if (read(hold, &b, 1) < 0)
		return 5;
	return 0;
}

static void
hog_read(struct stranger *s)
{
	char buf[1024];
	size_t len = 0;
	ssize_t n;
	char *nl;

	while (len < sizeof(buf) - 1 &&
	       (n = read(s->report, buf + len, sizeof(buf) - 1 - len)) > 0) {
		len += (size_t)n;
		buf[len] = '\0';
		if ((nl = strchr(buf, '\n')) && (nl = strchr(nl + 1, '\n')) && strchr(nl + 1, '\n'))
			break;
	}
	buf[len] = '\0';
	/* NOLINTNEXTLINE(cert-err34-c): the child's own report, and the count is checked */
	ck_assert_msg(
	        sscanf(buf, "%zu\n%zu\n%255[^\n]", &hog_accepted, &hog_refused, hog_message) == 3,
	        "child report: '%s'", buf);
}

/*
 * Regression: with control_readonly_group set (socket mode 0666), uid 65534
 * holding 1100 connections made `ginictl status` of root fail with "too many
 * connections" for as long as it liked.
 */
START_TEST(per_uid_connection_limit)
{
	struct stranger s;
	char *out = NULL, *err = NULL;

	if (geteuid() != 0) {
		fprintf(stderr, "per_uid_connection_limit: not root, cannot play uid 65534\n");
		return;
	}
	start("control_readonly_group = \"4243\";\n");
	stranger_start(&s, 65534, 0, hog);
	hog_read(&s);
	ck_assert_uint_eq(hog_accepted, 32);
	ck_assert_uint_eq(hog_refused, HOG_CONNS - 32);
	ck_assert_str_eq(
	        hog_message,
	        "too many connections from uid 65534 (control_max_connections_per_uid = 32)");
	/* Root is served while the stranger holds all it got. */
	ck_assert_int_eq(ginictl(&out, &err, "status", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "generation:"));
	free(out);
	free(err);
	/* The log heard of it, but not 1100 times. */
	ck_assert_uint_ge(daemon_log_count(&d, "refusing a connection of uid 65534"), 1);
	ck_assert_uint_le(daemon_log_count(&d, "control: "), 20);
	ck_assert_int_eq(stranger_done(&s), 0);
	ck_assert(daemon_wait_log(&d, "control: uid 65534: ", 1, 10000));
}
END_TEST

/* A member of the read-only group: one connection, served before and
 * after the parent's business. */
static int
reader(int report, int hold)
{
	int fd = client();
	char message[256];
	unsigned char b = 1;

	send_text(fd, "{\"v\": 1, \"cmd\": \"status\"}\n");
	if (streq(reply_code(fd, message, sizeof(message)), "ok"))
		b = 0;
	if (write(report, &b, 1) != 1 || read(hold, &b, 1) < 0)
		return 2;
	send_text(fd, "{\"v\": 1, \"cmd\": \"status\"}\n");
	return streq(reply_code(fd, message, sizeof(message)), "ok") ? 0 : 1;
}

/* With a per-uid limit above the cap, the reserve and the eviction of idle
 * unprivileged connections keep root in. */
START_TEST(reserve_for_privileged_clients)
{
	enum { ROOT_CONNS = 64 };
	struct stranger s, ro;
	int fds[ROOT_CONNS + 1];
	char *out = NULL, *err = NULL, message[256];
	struct rlimit rl;

	if (geteuid() != 0) {
		fprintf(stderr,
		        "reserve_for_privileged_clients: not root, cannot play uid 65534\n");
		return;
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	start("control_readonly_group = \"4243\";\ncontrol_max_connections_per_uid = 1024;\n");
	/* The reader's connection is the oldest, but read-only. */
	stranger_start(&ro, 4242, 4243, reader);
	ck_assert_int_eq(stranger_report(&ro), 0);
	stranger_start(&s, 65534, 0, hog);
	hog_read(&s);
	/* 1024 slots, 64 of them reserved, one the reader's. */
	ck_assert_uint_eq(hog_accepted, 1024 - 64 - 1);
	ck_assert_uint_eq(hog_refused, HOG_CONNS - (1024 - 64 - 1));
	ck_assert_str_eq(hog_message, "too many connections");
	ck_assert_int_eq(ginictl(&out, &err, "status", NULL), 0);
	free(out);
	free(err);
	/* Root fills the reserve, then one more pushes out a stranger. */
	for (int i = 0; i <= ROOT_CONNS; i++) {
		fds[i] = client();
		send_text(fds[i], "{\"v\": 1, \"cmd\": \"status\"}\n");
		ck_assert_str_eq(reply_code(fds[i], message, sizeof(message)), "ok");
	}
	ck_assert(daemon_wait_log(&d, "closing the idle connection of uid 65534", 1, 5000));
	/* Those who may do nothing go first: the reader is still served. */
	ck_assert_int_eq(stranger_done(&ro), 0);
	for (int i = 0; i <= ROOT_CONNS; i++)
		close(fds[i]);
	ck_assert_int_eq(stranger_done(&s), 0);
}
END_TEST

/* One connection of a stranger sending N refused requests, reading the
 * replies as it goes. */
enum { FLOOD = 50000, FLOOD_BATCH = 500 };

static int
flood(int report, int hold)
{
	static char req[FLOOD_BATCH * 32];
	size_t len = 0, denied = 0, lines = 0;
	char buf[65536];
	int fd = client();

	(void)hold;
	for (size_t i = 0; i < FLOOD_BATCH; i++)
		len += (size_t)sprintf(req + len, "{\"v\":1,\"cmd\":\"status\"}\n");
	for (size_t b = 0; b < FLOOD / FLOOD_BATCH; b++) {
		size_t got = 0, off = 0;

		while (off < len) {
			ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);

			if (n <= 0)
				return 2;
			off += (size_t)n;
		}
		/* Counts reply lines (and the refusals among them) up to this batch. */
		while (got < FLOOD_BATCH) {
			ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);

			if (n <= 0)
				return 3;
			buf[n] = '\0';
			for (char *p = buf; (p = memchr(p, '\n', (size_t)(buf + n - p))); p++)
				got++;
			for (char *p = buf; (p = strstr(p, "permission_denied")); p++)
				denied++;
		}
		lines += got;
	}
	close(fd);
	{
		unsigned char ok = lines == FLOOD && denied == FLOOD ? 0 : 1;

		if (write(report, &ok, 1) != 1)
			return 4;
	}
	return 0;
}

/* Sums N over "N similar messages suppressed" lines of the log. */
static unsigned long long
suppressed_total(void)
{
	FILE *f = fopen(d.log, "re");
	char line[4096];
	unsigned long long total = 0;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "control: uid 4242: ");
		unsigned long long n;

		/* NOLINTNEXTLINE(cert-err34-c): the daemon's own count, matched whole */
		if (p && sscanf(p, "control: uid 4242: %llu similar messages suppressed", &n) == 1)
			total += n;
	}
	fclose(f);
	return total;
}

/*
 * Regression: every refused request was logged, 184,000 to 237,000 warning
 * lines a second from one connection. Now a few per uid and interval, and
 * the count of the others.
 */
START_TEST(refusals_are_rate_limited)
{
	struct stranger s;
	char *out = NULL, *err = NULL;
	size_t logged;

	if (geteuid() != 0) {
		fprintf(stderr, "refusals_are_rate_limited: not root, cannot play a stranger\n");
		return;
	}
	start("control_readonly_group = \"4243\";\n");
	stranger_start(&s, 4242, 0, flood);
	ck_assert_int_eq(stranger_report(&s), 0);
	ck_assert_int_eq(stranger_done(&s), 0);
	/* Its last connection closed: the count is reported at once. */
	ck_assert(daemon_wait_log(&d, "control: uid 4242: ", 1, 10000));
	logged = daemon_log_count(&d, "control: permission denied: uid 4242");
	ck_assert_uint_ge(logged, 1);
	ck_assert_uint_lt(logged, 20);
	ck_assert_uint_lt(daemon_log_count(&d, "control: "), 40);
	ck_assert_uint_eq(logged + suppressed_total(), FLOOD);
	/* And the daemon kept serving. */
	ck_assert_int_eq(ginictl(&out, &err, "status", NULL), 0);
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
	daemon_init(&d, "control-utf8", text);
	free(text);
	daemon_start(&d);

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
	fd = client();
	r = call(fd, "history", NULL);
	items = json_object_get(ok_result(r), "items");
	ck_assert_uint_eq(json_array_size(items), 1);
	text = (char *)json_string_value(json_object_get(json_array_get(items, 0), "message"));
	ck_assert_ptr_nonnull(text);
	ck_assert_msg(streq(text, "/tmp/" REPLACED ": No such file or directory") ||
	                      streq(text, REPLACED),
	              "%s", text);
	json_decref(r);

	/* A reload failing on a Latin-1 file names the file and lists the error. */
	daemon_write(&d, "pipelines.d/" LATIN1 ".conf",
	             "pipelines = ( { name = \"x\"; steps = ( { id = \"a\"; stage = \"" LATIN1
	             "\"; } ); } );\n");
	ck_assert_int_eq(ginictl(&out, &err, "reload", NULL), CTL_EXIT_FAILED);
	ck_assert_ptr_nonnull(strstr(err, "reload failed with 1 error;"));
	ck_assert_msg(strstr(err, REPLACED
	                     ".conf:1: pipeline 'x': step 'a': unknown stage type '" REPLACED "'"),
	              "%s", err);
	free(out);
	free(err);
	r = call(fd, "status", NULL);
	errors = json_object_get(json_object_get(ok_result(r), "last_reload"), "errors");
	ck_assert_uint_eq(json_array_size(errors), 1);
	ck_assert_ptr_nonnull(
	        strstr(json_string_value(json_array_get(errors, 0)), REPLACED ".conf:1:"));
	json_decref(r);

	/* Fixed, the file's pipeline is listed with the file's name. */
	daemon_write(&d, "pipelines.d/" LATIN1 ".conf",
	             "pipelines = ( { name = \"x\"; description = \"" LATIN1 "\"; steps = ( { id = "
	             "\"a\"; stage = \"log\"; params = { message = \"a\"; }; } ); } );\n");
	ck_assert_int_eq(ginictl(&out, &err, "reload", NULL), 0);
	free(out);
	free(err);
	r = call(fd, "pipelines", NULL);
	items = json_object_get(ok_result(r), "items");
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
	argv[n++] = d.socket;
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
	daemon_init(&d, "control-esc", text);
	free(text);
	daemon_start(&d);
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

	start(NULL);
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
	argv[4] = d.socket;
	argv[5] = NULL;
	st = run_command(argv, &out, &err, 30000);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", err);
	r = json_loads(out, 0, NULL);
	ck_assert_msg(r, "not JSON: %s", out);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "pid")), d.pid);
	json_decref(r);
	free(out);
	free(err);
	argv[1] = "history";
	argv[2] = "--socket";
	argv[3] = d.socket;
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

	no_daemon("/nonexistent/socket");
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

	no_daemon("/nonexistent/socket");
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
}
END_TEST

Suite *
control_suite(void)
{
	Suite *s = suite_create("control");
	TCase *tc;

	tc = tcase_create("commands");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, status_and_schema);
	tcase_add_test(tc, stages_filter_and_pages);
	tcase_add_test(tc, pipelines_listing);
	tcase_add_test(tc, run_wait_exit_codes_and_history);
	tcase_add_test(tc, run_wait_streams_steps);
	tcase_add_test(tc, reload_and_its_errors);
	tcase_add_test(tc, metrics_format);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, bad_requests);
	tcase_add_test(tc, slow_client_does_not_block_others);
	tcase_add_test(tc, five_hundred_connections);
	suite_add_tcase(s, tc);

	tc = tcase_create("access");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, who_may_do_what);
	tcase_add_test(tc, socket_mode_and_stranger);
	tcase_add_test(tc, stale_and_live_sockets);
	suite_add_tcase(s, tc);

	tc = tcase_create("ginictl");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, inspect_plugins);
	tcase_add_test(tc, usage_and_unreachable);
	tcase_add_test(tc, global_options_after_the_command);
	tcase_add_test(tc, inspect_bare_file_name);
	tcase_add_test(tc, arguments_must_be_utf8);
	suite_add_tcase(s, tc);

	tc = tcase_create("abuse");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, accept_out_of_descriptors);
	tcase_add_test(tc, per_uid_connection_limit);
	tcase_add_test(tc, reserve_for_privileged_clients);
	tcase_add_test(tc, refusals_are_rate_limited);
	suite_add_tcase(s, tc);

	tc = tcase_create("untrusted_text");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, invalid_utf8_is_replaced_not_dropped);
	tcase_add_test(tc, terminal_escapes_are_shown_escaped);
	suite_add_tcase(s, tc);
	return s;
}
