/* SPDX-License-Identifier: MIT */
/*
 * The run history (daemon/history.c, output.c) and `ginictl history` and
 * `ginictl logs`: the store in-process on a scratch directory (ids across
 * reopen, retention, corrupt and newer files moved aside, summaries), step
 * output bounds, then a real ginid: restart, kill -9 during a burst of runs,
 * a read-only state directory, 100 concurrent clients, filters, and logs
 * with --follow.
 */
#include "tests.h"

#include "check_history.h"

#include "daemon.h"
#include "history.h"
#include "log.h"
#include "output.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static size_t
count_corrupt(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		if (strncmp(e->d_name, "history.db.corrupt-", 19) == 0 &&
		    !strstr(e->d_name, "-wal") && !strstr(e->d_name, "-shm"))
			n++;
	closedir(d);
	return n;
}

/* Ids go on from the largest recorded; a run left "running" is interrupted. */
START_TEST(ids_continue_after_reopen)
{
	char *dir = test_tmpdir("history-ids");
	int64_t now = (int64_t)now_usec(CLOCK_REALTIME);
	struct history *h = history_new(dir, &defaults, NULL);
	struct history_run *running = ended_run(7, "p", "running", now, NULL);
	struct history_run *got = NULL;
	char err[128];

	ck_assert_ptr_null(history_disabled(h));
	ck_assert_uint_eq(history_next_id(h), 1);
	history_record(h, ended_run(5, "p", "success", now, "hello"));
	running->ended_usec = 0;
	/* A start record has no steps. */
	free(running->steps[0].id);
	free(running->steps[0].stage);
	free(running->steps);
	running->steps = NULL;
	running->n_steps = 0;
	history_record(h, running);
	ck_assert_int_eq(history_flush(h), 0);
	history_free(h);

	test_log_capture_start();
	h = history_new(dir, &defaults, NULL);
	test_log_capture_stop();
	ck_assert_ptr_null(history_disabled(h));
	ck_assert_uint_eq(history_next_id(h), 8);
	ck_assert_ptr_nonnull(test_log_find("marked 1 run interrupted"));
	ck_assert_int_eq(history_get(h, 7, &got, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got->result, "interrupted");
	history_run_free(got);
	ck_assert_int_eq(history_get(h, 5, &got, err, sizeof(err)), 0);
	ck_assert_uint_eq(got->n_steps, 1);
	ck_assert_ptr_nonnull(strstr(got->steps[0].output, " 6 hello\n"));
	history_run_free(got);
	history_free(h);
	test_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(retention_by_count_and_age)
{
	char *dir = test_tmpdir("history-retention");
	struct history_limits lim = defaults;
	int64_t now = (int64_t)now_usec(CLOCK_REALTIME);
	int64_t old = now - 40LL * 24 * 3600 * USEC_PER_SEC;
	struct history *h;

	lim.max_runs = 10;
	h = history_new(dir, &lim, NULL);
	for (uint64_t i = 1; i <= 30; i++)
		history_record(h, ended_run(i, "p", "success", now, "x"));
	/* Retention runs every so many runs or seconds, and at the end. */
	history_free(h);
	ck_assert_int_eq(db_int(dir, "SELECT count(*) FROM runs"), 10);
	ck_assert_int_eq(db_int(dir, "SELECT min(id) FROM runs"), 21);
	/* Output goes with its run. */
	ck_assert_int_eq(db_int(dir, "SELECT count(*) FROM output"), 10);

	/* Age: runs older than history_max_age (30d by default) go. */
	lim.max_runs = 1000;
	h = history_new(dir, &lim, NULL);
	for (uint64_t i = 31; i <= 35; i++)
		history_record(h, ended_run(i, "p", "success", old, NULL));
	history_record(h, ended_run(36, "p", "success", now, NULL));
	history_free(h);
	ck_assert_int_eq(db_int(dir, "SELECT count(*) FROM runs WHERE id BETWEEN 31 AND 35"), 0);
	ck_assert_int_eq(db_int(dir, "SELECT count(*) FROM runs"), 11);

	/* Lowering the limit far below what is kept: the excess goes after the
	 * next start, in passes of at most 500 runs, each its own transaction
	 * (at shutdown, one pass only). */
	h = history_new(dir, &lim, NULL);
	for (uint64_t i = 37; i < 37 + 1000; i++)
		history_record(h, ended_run(i, "p", "success", now, NULL));
	history_free(h);
	ck_assert_int_eq(db_int(dir, "SELECT count(*) FROM runs"), 1000);
	lim.max_runs = 10;
	h = history_new(dir, &lim, NULL);
	/* The writer works through it on its own (the test's timeout bounds this). */
	while (db_int(dir, "SELECT count(*) FROM runs") > 10)
		usleep(10000);
	history_free(h);
	ck_assert_int_eq(db_int(dir, "SELECT count(*) FROM runs"), 10);
	ck_assert_int_eq(db_int(dir, "SELECT min(id) FROM runs"), 1027);
	test_rmtree(dir);
	free(dir);
}
END_TEST

/* A file of garbage, and one from a newer ginid, are moved aside. */
START_TEST(unusable_files_moved_aside)
{
	char *dir = test_tmpdir("history-corrupt");
	char *path = path_join(dir, "history.db");
	char garbage[8192];
	struct history *h;
	sqlite3 *db;

	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (char)(i * 7 + 3);
	garbage[sizeof(garbage) - 1] = 0;
	test_write_file(path, garbage, 0644);
	test_log_capture_start();
	h = history_new(dir, &defaults, NULL);
	test_log_capture_stop();
	ck_assert_ptr_null(history_disabled(h));
	ck_assert_ptr_nonnull(test_log_find("is unusable"));
	ck_assert_ptr_nonnull(test_log_find("moved aside to"));
	ck_assert_uint_eq(count_corrupt(dir), 1);
	history_record(h, ended_run(1, "p", "success", (int64_t)now_usec(CLOCK_REALTIME), NULL));
	ck_assert_int_eq(history_flush(h), 0);
	history_free(h);
	ck_assert_int_eq(db_int(dir, "SELECT count(*) FROM runs"), 1);

	/* A newer schema: this ginid cannot know what it means. */
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	sleep(1); /* the moved-aside names carry the second */
	test_log_capture_start();
	h = history_new(dir, &defaults, NULL);
	test_log_capture_stop();
	ck_assert_ptr_null(history_disabled(h));
	ck_assert_ptr_nonnull(test_log_find("schema version 99 is newer"));
	ck_assert_uint_eq(count_corrupt(dir), 2);
	ck_assert_uint_eq(history_next_id(h), 1);
	history_free(h);
	ck_assert_int_eq(db_int(dir, "PRAGMA user_version"), 2);
	free(path);
	test_rmtree(dir);
	free(dir);
}
END_TEST

struct sums {
	int n;
	struct history_summary a;
};

static void
on_summary(const struct history_summary *s, void *userdata)
{
	struct sums *x = userdata;

	x->n++;
	if (streq(s->pipeline, "a")) {
		x->a = *s;
		x->a.pipeline = NULL;
	}
}

START_TEST(pipeline_summaries)
{
	char *dir = test_tmpdir("history-summaries");
	int64_t t = (int64_t)now_usec(CLOCK_REALTIME);
	struct history *h = history_new(dir, &defaults, NULL);
	struct sums x = { 0 };

	history_record(h, ended_run(1, "a", "failed", t, NULL));
	history_record(h, ended_run(2, "a", "success", t + 10, NULL));
	history_record(h, ended_run(3, "b", "success", t + 20, NULL));
	history_record(h, ended_run(4, "a", "failed", t + 30, NULL));
	history_record(h, ended_run(5, "a", "cancelled", t + 40, NULL));
	history_record(h, ended_run(6, "a", "timeout", t + 50, NULL));
	history_record(h, ended_run(7, "a", "cancelled", t + 60, NULL));
	history_free(h);
	/* What the database held when it was opened. */
	h = history_new(dir, &defaults, NULL);
	ck_assert_int_eq(history_pipeline_summaries(h, on_summary, &x), 0);
	ck_assert_int_eq(x.n, 2);
	ck_assert_uint_eq(x.a.last_run_id, 7);
	ck_assert_str_eq(x.a.last_result, "cancelled");
	ck_assert_int_eq(x.a.last_run_usec, t + 60);
	ck_assert_int_eq(x.a.last_success_usec, t + 10 + 1000);
	/* Since the success: a failure and a timeout count, as live health
	 * counts them; the cancelled runs do not. */
	ck_assert_uint_eq(x.a.consecutive_failures, 2);
	history_free(h);
	test_rmtree(dir);
	free(dir);
}
END_TEST

static void
collect(int64_t ts, int level, const char *text, void *userdata)
{
	char **s = userdata;
	char *n;

	(void)ts;
	ck_assert_int_eq(level, LOG_INFO);
	ck_assert_int_ne(asprintf(&n, "%s%s|", *s ? *s : "", text), -1);
	free(*s);
	*s = n;
}

/* The tail is kept, within the bound, and the loss is flagged. */
START_TEST(output_keeps_the_tail)
{
	struct output o;
	char *buf, *lines = NULL, line[32];
	size_t len;
	uint64_t first;
	bool trunc;

	output_init(&o, 100);
	for (int i = 0; i < 50; i++) {
		snprintf(line, sizeof(line), "line %02d\nx", i);
		output_add(&o, LOG_INFO, line);
	}
	buf = output_serialize(&o, &len, &first, &trunc);
	ck_assert(trunc);
	ck_assert_uint_eq(first, 50 - 11); /* 11 lines of 9 bytes fit in 100 */
	output_parse(buf, len, collect, &lines);
	ck_assert_str_eq(lines,
	                 "line 39 x|line 40 x|line 41 x|line 42 x|line 43 x|line 44 x|line 45 x|"
	                 "line 46 x|line 47 x|line 48 x|line 49 x|");
	free(buf);
	free(lines);
	output_done(&o);

	/* Nothing dropped: no flag. */
	output_init(&o, 100);
	output_add(&o, LOG_INFO, "short");
	buf = output_serialize(&o, &len, &first, &trunc);
	ck_assert(!trunc);
	ck_assert_uint_eq(first, 0);
	free(buf);
	output_done(&o);
}
END_TEST

/* Real daemon. */

static struct daemon d;

/* ginictl -s SOCKET ARGS... against this file's daemon d (tests/daemon.c). */
#define ctl(out, err, ...) daemon_ginictl(&d, out, err, __VA_ARGS__)

static json_t *
ctl_json(const char *first, ...)
{
	char *argv[20], *out = NULL, *err = NULL;
	size_t n = 0;
	va_list ap;
	json_t *j;
	int st;

	argv[n++] = test_build_path("ginictl");
	argv[n++] = "-s";
	argv[n++] = d.socket;
	argv[n++] = "--json";
	argv[n++] = (char *)first;
	va_start(ap, first);
	while (n < 19 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	st = run_command(argv, &out, &err, 60000);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", err);
	j = json_loads(out, 0, NULL);
	ck_assert_msg(j, "not JSON: %s", out);
	free(out);
	free(err);
	return j;
}

#define PIPELINES                                                                                  \
	"pipelines = (\n"                                                                          \
	"  { name = \"ok\"; overlap = \"parallel\"; max_parallel = 64; steps = (\n"                \
	"      { id = \"hello\"; stage = \"log\"; params = { message = \"hi\"; }; } ); },\n"       \
	"  { name = \"bad\"; steps = (\n"                                                          \
	"      { id = \"boom\"; stage = \"fail\"; params = { message = \"on purpose\"; }; } ); "   \
	"},\n"                                                                                     \
	"  { name = \"talk\"; steps = (\n"                                                         \
	"      { id = \"say\"; stage = \"exec\"; params = { shell = \"i=0; while [ $i -lt 3000 "   \
	"]; "                                                                                      \
	"do echo line $i; i=$((i+1)); done; echo last\"; }; },\n"                                  \
	"      { id = \"wait\"; stage = \"exec\"; after = [\"say\"]; params = { shell = \"echo "   \
	"waiting; while [ ! -e %s ]; do sleep 0.05; done; echo released\"; }; } ); }\n"            \
	");\n"

/* The configuration; step 'wait' of 'talk' waits for the file "go". */
static void
init_daemon(const char *tag, const char *extra)
{
	char *text;

	daemon_init(&d, tag, "");
	ck_assert_int_ne(asprintf(&text, "workers = 4;\n%s" PIPELINES, extra ? extra : "",
	                          daemon_path(&d, "go")),
	                 -1);
	daemon_write(&d, "gini.conf", text);
	free(text);
}

static void
start_daemon(const char *tag, const char *extra)
{
	init_daemon(tag, extra);
	daemon_start(&d);
}

static uint64_t
run_wait(const char *pipeline)
{
	char *out = NULL, *err = NULL, *p, *end;
	unsigned long long id = 0;

	ck_assert_int_eq(ctl(&out, &err, "run", pipeline, "--wait", NULL), 0);
	p = strstr(out, "\nrun ");
	ck_assert_msg(p, "%s", out);
	id = strtoull(p + 5, &end, 10);
	ck_assert_msg(end > p + 5 && *end == ':', "%s", out);
	free(out);
	free(err);
	return id;
}

START_TEST(history_survives_restart)
{
	char *out = NULL, *err = NULL;
	json_t *j, *e;

	start_daemon("history-restart", NULL);
	ck_assert_uint_eq(run_wait("ok"), 1);
	ck_assert_int_eq(ctl(&out, &err, "run", "bad", "--wait", NULL), 1);
	free(out);
	free(err);
	daemon_signal(&d, SIGTERM);
	ck_assert_int_eq(daemon_wait_exit(&d, 30000), 0);
	daemon_restart(&d);
	ck_assert_uint_eq(run_wait("ok"), 3);
	j = ctl_json("history", NULL);
	ck_assert_uint_eq(json_array_size(j), 3);
	e = json_array_get(j, 1);
	ck_assert_int_eq(json_integer_value(json_object_get(e, "id")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(e, "pipeline")), "bad");
	ck_assert_str_eq(json_string_value(json_object_get(e, "result")), "failed");
	ck_assert_str_eq(json_string_value(json_object_get(e, "trigger")), "ginictl (uid 0)");
	ck_assert(json_is_string(json_object_get(e, "started")));
	ck_assert(json_is_integer(json_object_get(e, "duration_ms")));
	e = json_array_get(json_object_get(e, "steps"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(e, "id")), "boom");
	ck_assert_str_eq(json_string_value(json_object_get(e, "message")), "on purpose");
	json_decref(j);
	daemon_done(&d);
}
END_TEST

START_TEST(filters)
{
	char *out = NULL, *err = NULL;
	json_t *j;

	start_daemon("history-filters", NULL);
	run_wait("ok");
	run_wait("ok");
	ck_assert_int_eq(ctl(&out, &err, "run", "bad", "--wait", NULL), 1);
	free(out);
	free(err);
	j = ctl_json("history", "--pipeline", "ok", NULL);
	ck_assert_uint_eq(json_array_size(j), 2);
	json_decref(j);
	j = ctl_json("history", "--result", "failed", NULL);
	ck_assert_uint_eq(json_array_size(j), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(j, 0), "id")), 3);
	json_decref(j);
	j = ctl_json("history", "--since", "2h", NULL);
	ck_assert_uint_eq(json_array_size(j), 3);
	json_decref(j);
	j = ctl_json("history", "--since", "2000-01-01", "--until", "2000-01-02T00:00Z", NULL);
	ck_assert_uint_eq(json_array_size(j), 0);
	json_decref(j);
	j = ctl_json("history", "--until", "2999-01-01T00:00:00+01:00", "--limit", "2", NULL);
	ck_assert_uint_eq(json_array_size(j), 2);
	/* Newest first. */
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(j, 0), "id")), 3);
	json_decref(j);
	ck_assert_int_eq(ctl(&out, &err, "history", "--result", "faild", NULL), 2);
	ck_assert_ptr_nonnull(strstr(err, "unknown result 'faild'; did you mean 'failed'?"));
	free(out);
	free(err);
	ck_assert_int_eq(ctl(&out, &err, "history", "--since", "yesterday-ish", NULL), 2);
	ck_assert_ptr_nonnull(strstr(err, "invalid time 'yesterday-ish'"));
	free(out);
	free(err);
	/* The human table. */
	ck_assert_int_eq(ctl(&out, &err, "history", "ok", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "PIPELINE"));
	ck_assert_ptr_null(strstr(out, "bad"));
	free(out);
	free(err);
	daemon_done(&d);
}
END_TEST

/* Output beyond history_output_max: the tail is kept and flagged. */
START_TEST(logs_truncated_tail)
{
	char *out = NULL, *err = NULL, *go;
	json_t *j, *s;

	init_daemon("history-logs", "history_output_max = \"1K\";\n");
	go = strdup(daemon_path(&d, "go"));
	test_write_file(go, "", 0644);
	daemon_start(&d);
	run_wait("talk");
	j = ctl_json("logs", "1", "say", NULL);
	s = json_array_get(json_object_get(j, "steps"), 0);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "steps")), 1);
	ck_assert(json_is_true(json_object_get(s, "output_truncated")));
	ck_assert_str_eq(json_string_value(json_object_get(
	                         json_array_get(json_object_get(s, "lines"),
	                                        json_array_size(json_object_get(s, "lines")) - 1),
	                         "text")),
	                 "last");
	ck_assert_int_gt(json_integer_value(json_object_get(s, "next")), 3000);
	json_decref(j);
	ck_assert_int_eq(ctl(&out, &err, "logs", "1", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, " say info: last\n"));
	ck_assert_ptr_nonnull(strstr(out, " wait info: released\n"));
	ck_assert_ptr_nonnull(strstr(out, "output truncated"));
	ck_assert_ptr_null(strstr(out, "line 0\n"));
	free(out);
	free(err);
	ck_assert_int_eq(ctl(&out, &err, "logs", "1", "nosuch", NULL), 1);
	ck_assert_ptr_nonnull(strstr(err, "run 1 has no step 'nosuch'"));
	free(out);
	free(err);
	ck_assert_int_eq(ctl(&out, &err, "logs", "99", NULL), 1);
	ck_assert_ptr_nonnull(strstr(err, "no run 99 in the history"));
	free(out);
	free(err);
	free(go);
	daemon_done(&d);
}
END_TEST

/* --follow streams a run in progress and ends with it. */
START_TEST(logs_follow)
{
	char *go, *outfile, *text = NULL;
	char *argv[] = { test_build_path("ginictl"), "-s", NULL, "logs", "1", "--follow", NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st;
	FILE *f;
	size_t n = 0;

	start_daemon("history-follow", NULL);
	go = strdup(daemon_path(&d, "go"));
	outfile = strdup(daemon_path(&d, "follow.out"));
	ck_assert_int_eq(ctl(&text, NULL, "run", "talk", NULL), 0);
	free(text);
	argv[2] = d.socket;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, outfile, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_eq(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	/* The run is held in step 'wait' until go exists. */
	ck_assert(wait_file(outfile, "wait info: waiting", 30000));
	ck_assert_int_eq(waitpid(pid, &st, WNOHANG), 0);
	test_write_file(go, "", 0644);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	f = fopen(outfile, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(getdelim(&text, &n, 0, f), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(text, "wait info: released\n"));
	ck_assert_ptr_nonnull(strstr(text, "run 1 (pipeline 'talk'): success"));
	/* Every line once, though it was polled many times. */
	ck_assert_ptr_null(strstr(strstr(text, "wait info: waiting") + 1, "wait info: waiting"));
	free(text);
	free(go);
	free(outfile);
	daemon_done(&d);
}
END_TEST

/* kill -9 in the middle of a burst: the file is sound, no ended run is lost. */
START_TEST(kill9_during_burst)
{
	char *out = NULL, *err = NULL, *state;
	json_t *j;
	size_t seen;
	long long max_seen = 0;

	start_daemon("history-kill9", NULL);
	state = strdup(daemon_path(&d, "state"));
	for (int i = 0; i < 40; i++) {
		ck_assert_int_eq(ctl(&out, &err, "run", "ok", NULL), 0);
		free(out);
		free(err);
	}
	/* What history shows as ended is committed. */
	for (;;) {
		j = ctl_json("history", "--result", "success", "--limit", "1000", NULL);
		seen = json_array_size(j);
		if (seen)
			max_seen = json_integer_value(json_object_get(json_array_get(j, 0), "id"));
		json_decref(j);
		if (seen >= 40)
			break;
		usleep(20000);
	}
	for (int i = 0; i < 20; i++) {
		ck_assert_int_eq(ctl(&out, &err, "run", "ok", NULL), 0);
		free(out);
		free(err);
	}
	daemon_signal(&d, SIGKILL);
	daemon_wait_exit(&d, 30000);
	ck_assert_int_eq(db_int(state, "SELECT count(*) FROM pragma_integrity_check "
	                               "WHERE integrity_check = 'ok'"),
	                 1);
	ck_assert_int_ge(db_int(state, "SELECT count(*) FROM runs WHERE result = 'success' AND "
	                               "id <= 40"),
	                 40);
	ck_assert_int_eq(max_seen, 40);
	daemon_restart(&d);
	/* The database opens after READY=1: a query waits for it. */
	json_decref(ctl_json("history", "--limit", "1", NULL));
	ck_assert_int_eq(db_int(state, "SELECT count(*) FROM runs WHERE result = 'running'"), 0);
	max_seen = db_int(state, "SELECT max(id) FROM runs");
	ck_assert_uint_gt(run_wait("ok"), (uint64_t)max_seen);
	free(state);
	daemon_done(&d);
}
END_TEST

START_TEST(hundred_concurrent_clients)
{
	char *argv[] = { test_build_path("ginictl"), "-s", NULL, "history", "--limit", "50", NULL };
	posix_spawn_file_actions_t fa;
	pid_t pids[100];
	int ok = 0;

	start_daemon("history-clients", NULL);
	for (int i = 0; i < 5; i++)
		run_wait("ok");
	argv[2] = d.socket;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(posix_spawn(&pids[i], argv[0], &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	for (int i = 0; i < 100; i++) {
		int st;

		ck_assert_int_eq(waitpid(pids[i], &st, 0), pids[i]);
		ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	ck_assert_int_eq(ok, 100);
	daemon_done(&d);
}
END_TEST

/* Clients that leave before their answer: it is dropped, nothing else. */
START_TEST(clients_leaving_mid_query)
{
	static const char req[] = "{\"v\": 1, \"cmd\": \"history\", \"args\": {\"limit\": 100}}\n"
	                          "{\"v\": 1, \"cmd\": \"logs\", \"args\": {\"run_id\": 1}}\n";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *out = NULL, *err = NULL;

	start_daemon("history-leaving", NULL);
	run_wait("ok");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d.socket);
	for (int i = 0; i < 200; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		ck_assert_int_eq(write(fd, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
		close(fd);
	}
	ck_assert_int_eq(ctl(&out, &err, "history", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, " ok "));
	free(out);
	free(err);
	daemon_signal(&d, SIGTERM);
	ck_assert_int_eq(daemon_wait_exit(&d, 30000), 0);
	daemon_done(&d);
}
END_TEST

/* A read-only state directory: ginid runs, without history, and says so once. */
START_TEST(read_only_state_dir)
{
	char *out = NULL, *err = NULL, *state;

	init_daemon("history-ro", NULL);
	state = strdup(daemon_path(&d, "state"));
	if (mount("tmpfs", state, "tmpfs", MS_RDONLY, NULL) < 0) {
		fprintf(stderr,
		        "read_only_state_dir: cannot mount a read-only tmpfs (%s), skipped\n",
		        strerror(errno));
		free(state);
		daemon_done(&d);
		return;
	}
	daemon_start(&d);
	ck_assert_uint_eq(run_wait("ok"), 1);
	ck_assert_uint_eq(daemon_log_count(&d, "run history is disabled"), 1);
	ck_assert_int_eq(ctl(&out, &err, "history", NULL), 1);
	ck_assert_ptr_nonnull(strstr(err, "run history is disabled: cannot open"));
	free(out);
	free(err);
	daemon_done(&d);
	ck_assert_int_eq(umount(state), 0);
	free(state);
}
END_TEST

Suite *
history_suite(void)
{
	Suite *s = suite_create("history");
	TCase *tc;

	tc = tcase_create("store");
	tcase_add_test(tc, ids_continue_after_reopen);
	tcase_add_test(tc, retention_by_count_and_age);
	tcase_add_test(tc, unusable_files_moved_aside);
	tcase_add_test(tc, pipeline_summaries);
	tcase_add_test(tc, output_keeps_the_tail);
	suite_add_tcase(s, tc);
	tc = tcase_create("daemon");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, history_survives_restart);
	tcase_add_test(tc, filters);
	tcase_add_test(tc, logs_truncated_tail);
	tcase_add_test(tc, logs_follow);
	tcase_add_test(tc, kill9_during_burst);
	tcase_add_test(tc, hundred_concurrent_clients);
	tcase_add_test(tc, clients_leaving_mid_query);
	tcase_add_test(tc, read_only_state_dir);
	suite_add_tcase(s, tc);
	history_format_tcase(s);
	history_start_tcase(s);
	history_open_tcase(s);
	history_hold_tcase(s);
	return s;
}
