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
	"      { id = \"a\"; stage = \"log\"; params = { message = \"a\"; }; },\n"                \
	"      { id = \"b\"; stage = \"log\"; after = \"a\"; params = { message = \"b\"; }; } ); },\n" \
	"  { name = \"bad\"; steps = (\n"                                                          \
	"      { id = \"boom\"; stage = \"fail\"; params = { message = \"on purpose\"; }; },\n"    \
	"      { id = \"never\"; stage = \"log\"; after = \"boom\"; params = { message = \"x\"; }; } ); },\n" \
	"  { name = \"slow\"; triggers = { schedule = \"0 4 * * *\"; }; steps = (\n"             \
	"      { id = \"nap\"; stage = \"sleep\"; params = { duration = \"500ms\"; }; } ); }\n"  \
	");\n"

static void
start(const char *extra_conf)
{
	char *text;

	ck_assert_int_ne(asprintf(&text, "workers = 2;\n%s%s", extra_conf ? extra_conf : "",
	                          PIPELINES),
	                 -1);
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

/* ginictl as a process. */
static int
ginictl(char **out, char **err, ...)
{
	char *argv[16];
	size_t n = 0;
	va_list ap;
	int st;

	argv[n++] = test_build_path("ginictl");
	argv[n++] = "-s";
	argv[n++] = d.socket;
	va_start(ap, err);
	while (n < 15 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	st = run_command(argv, out, err, 30000);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

START_TEST(status_and_schema)
{
	static const char *const spec[] = { "version:s", "protocol:i", "pid:i", "uptime_sec:n",
		                            "started:s", "generation:i", "stage_types:i",
		                            "pipelines:i", "runs_in_flight:i", "workers:i",
		                            "reloads:o", "refused_plugins:a", NULL };
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
	static const char *const spec[] = { "id:s",     "version:s", "category:s", "summary:s",
		                            "file:s",   "flags:a",   "requires:a", "runs:i",
		                            "failures:i", "timeouts:i", "crashes:i", "kills:i",
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
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, 0), "id")), "exec");
	json_decref(r);
	r = call(fd, "stages", "{\"filter\": \"atomic\"}");
	ck_assert_uint_eq(json_array_size(json_object_get(ok_result(r), "items")), 1);
	json_decref(r);
	/* Wrong types and unknown arguments are refused, the connection stays. */
	r = call(fd, "stages", "{\"limit\": \"ten\"}");
	assert_error(r, PROTO_E_BAD_ARGUMENT, "argument 'limit' must be an integer from 1 to 10000");
	json_decref(r);
	r = call(fd, "stages", "{\"categry\": \"check\"}");
	assert_error(r, PROTO_E_BAD_ARGUMENT, "unknown argument 'categry'; did you mean 'category'?");
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
	static const char *const spec[] = { "name:s",     "description:s", "file:s",   "line:i",
		                            "steps:i",    "overlap:s",     "on_failure:s",
		                            "triggers:o", "next:?",        "last:?",   "last_result:?",
		                            "running:i",  "queued:b",      "runs:o",   "skipped:i",
		                            NULL };
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
	send_text(fd, "{\"v\":1,\"id\":7,\"cmd\":\"run\",\"args\":{\"pipeline\":\"ok\",\"wait\":true}}\n");
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
	daemon_write(&d, "pipelines.d/x.conf", "pipelines = ( { name = \"x\"; steps = ( { id = "
	                                      "\"a\"; stage = \"exce\"; } ); } );\n");
	ck_assert_int_eq(ginictl(&out, &err, "reload", NULL), CTL_EXIT_FAILED);
	ck_assert_ptr_nonnull(strstr(err, "reload failed with 1 error; generation 2 keeps running"));
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
	ck_assert_ptr_nonnull(strstr(out, "gini_stage_duration_seconds_bucket{stage=\"log\",le=\"+Inf\"} 2\n"));
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
	assert_error(r, PROTO_E_UNKNOWN_COMMAND, "unknown command 'stauts'; did you mean 'status'?");
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
		{ "bad_major.so", "ABI major 2 is not supported (host ABI 1.0)" },
		{ "new_minor.so", "built for ABI 1.99, newer than the host's ABI 1.0" },
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
	ck_assert_ptr_nonnull(strstr(out, "abi:       1.0"));
	ck_assert_ptr_nonnull(strstr(out, "flags:     dry-run concurrent\n"));
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
	for (const char *const *v = (const char *const[]){ "status", "stages", "pipelines", "run",
		                                           "history", "reload", "metrics", "inspect",
		                                           NULL };
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


/* Terminal escapes. */

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
		buf = realloc(buf, len + (size_t)k + 1);
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
	"        params = { message = \"a\\x1b]0;pwned\\x07b\\x1b[2Jc\"; }; } ); }\n"          \
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
	ck_assert_ptr_nonnull(strstr(out, "\"items\": []"));
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
	suite_add_tcase(s, tc);

	tc = tcase_create("untrusted_text");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, terminal_escapes_are_shown_escaped);
	suite_add_tcase(s, tc);
	return s;
}
