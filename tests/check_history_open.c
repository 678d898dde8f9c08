/* SPDX-License-Identifier: MIT */
/*
 * The event loop never waits for the run history to open (daemon/history.c
 * opens it on the writer thread after READY=1; dispatch_park.c). A real
 * ginid starts while the test holds a write lock on STATE_DIR/history.db
 * with SQLite (BEGIN EXCLUSIVE), so that its open waits for the lock: the
 * control socket and signals are served meanwhile, runs triggered then wait
 * (on_start, a signal, `ginictl run`, `run --wait`) and start once the lock
 * is gone, in the order they came and with ids after the last recorded
 * one; `ginictl run` and `ginictl health` answer once the history is read;
 * SIGTERM drops the waiting runs and exits without waiting for the lock; a
 * lock held too long turns the history off, with one error. Part of the history
 * suite (check_history.c).
 */
#include "tests.h"

#include "check_history.h"

#include "daemon.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_STEP(msg)                                                                              \
	"steps = ( { id = \"s\"; stage = \"log\"; params = { message = \"" msg "\"; }; } );"

#define OPEN_CONF                                                                                      \
	"concurrency_groups = { g = 1; };\n"                                                           \
	"pipelines = (\n"                                                                              \
	"  { name = \"boot\"; triggers = { on_start = true; }; " LOG_STEP(                             \
	        "boot") " },\n"                                                                        \
	                "  { name = \"sig\"; triggers = { signal = \"SIGUSR1\"; }; " LOG_STEP(         \
	                        "sig") " },\n"                                                         \
	                               "  { name = \"manual\"; overlap = \"parallel\"; " LOG_STEP(     \
	                                       "manual") " },\n"                                       \
	                                                 "  { name = \"a\"; concurrency_group = "      \
	                                                 "\"g\"; overlap = \"queue\"; " LOG_STEP(      \
	                                                         "a") " },\n"                          \
	                                                              "  { name = \"b\"; "             \
	                                                              "concurrency_group = "           \
	                                                              "\"g\"; overlap = "              \
	                                                              "\"queue\"; " LOG_STEP(          \
	                                                                      "b") " },\n"             \
	                                                                           "  { name = "       \
	                                                                           "\"quiet\";"        \
	                                                                           " " LOG_STEP(       \
	                                                                                   "quie"      \
	                                                                                   "t") " }\n" \
	                                                                                        ");\n"

/* Runs 1-5 of a pipeline no longer configured, 6-7 failures of "quiet". */
#define RECORDED 7

static void
seed_history(const char *state)
{
	int64_t now = (int64_t)now_usec(CLOCK_REALTIME) - 60 * (int64_t)USEC_PER_SEC;
	struct history *h;

	ck_assert(mkdir(state, 0755) == 0 || errno == EEXIST);
	h = history_new(state, &defaults, NULL);
	ck_assert_ptr_null(history_disabled(h));
	for (uint64_t i = 1; i <= RECORDED; i++)
		history_record(h, ended_run(i, i <= 5 ? "gone" : "quiet",
		                            i <= 5 ? "success" : "failed", now + (int64_t)i, NULL));
	ck_assert_int_eq(history_flush(h), 0);
	history_free(h);
}

/* Another process's write lock on the database: ginid's open waits for it. */
static sqlite3 *
lock_history(const char *state)
{
	char *path = path_join(state, "history.db");
	sqlite3 *db;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
	free(path);
	return db;
}

static void
unlock_history(sqlite3 *db)
{
	ck_assert_int_eq(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static json_t *
ctl_json(struct daemon *d, int want, const char *cmd, const char *arg)
{
	char *out = NULL, *err = NULL;
	json_t *j;

	ck_assert_int_eq(daemon_ginictl(d, &out, &err, "--json", cmd, arg, NULL), want);
	j = json_loads(out, 0, NULL);
	ck_assert_msg(j, "not JSON: %s / %s", out, err);
	free(out);
	free(err);
	return j;
}

/* Sends a request on fd without reading its reply. */
static void
send_request(int fd, int id, const char *cmd, const char *args)
{
	char *line;

	ck_assert_int_ne(asprintf(&line, "{\"v\": 1, \"id\": %d, \"cmd\": \"%s\", \"args\": %s}\n",
	                          id, cmd, args),
	                 -1);
	ck_assert(daemon_send_all(fd, line, strlen(line)));
	free(line);
}

/* The reply to a request on fd, skipping the step events of a --wait. */
static json_t *
read_final_reply(int fd)
{
	for (;;) {
		json_t *r = daemon_read_reply(fd, 30000);

		ck_assert_msg(r != NULL, "no reply");
		if (!json_object_get(r, "event"))
			return r;
		json_decref(r);
	}
}

/* The pipeline of run id in `ginictl history`, or NULL. */
static char *
pipeline_of(struct daemon *d, long long id)
{
	char *out = NULL, *err = NULL, *name = NULL;
	json_t *j, *e;
	size_t i;

	ck_assert_int_eq(daemon_ginictl(d, &out, &err, "--json", "history", "--limit", "50", NULL),
	                 0);
	j = json_loads(out, 0, NULL);
	ck_assert_msg(j, "not JSON: %s / %s", out, err);
	free(out);
	free(err);

	json_array_foreach(j, i, e) if (json_integer_value(json_object_get(e, "id")) == id) name =
	        strdup(json_string_value(json_object_get(e, "pipeline")));
	json_decref(j);
	return name;
}

static void
assert_run(struct daemon *d, long long id, const char *pipeline)
{
	char *name = pipeline_of(d, id);

	ck_assert_msg(name && streq(name, pipeline), "run %lld: pipeline %s, expected %s", id,
	              name ? name : "(none)", pipeline);
	free(name);
}

#define WAITS(p) "pipeline '" p "': run waits for the run history to be read"

/*
 * While the open waits for the lock, the loop serves status, reload,
 * signals and runs; the runs wait and then start in order, ids after the
 * last recorded one; `ginictl run` is answered when its run starts, with
 * its id, `run --wait` follows it, health waits and then knows the
 * recorded failures; a concurrency slot taken by a waiting run stays taken.
 */
START_TEST(runs_wait_for_a_locked_history)
{
	struct daemon d;
	char *out = NULL, *err = NULL, *state;
	json_t *j, *e, *res;
	sqlite3 *db;
	int rfd, wfd, afd, hfd;
	size_t i;
	bool seen = false;

	daemon_init(&d, "history-open", OPEN_CONF);
	state = strdup(daemon_path(&d, "state"));
	seed_history(state);
	db = lock_history(state);
	daemon_start(&d);
	/* The on_start run comes first. */
	ck_assert(daemon_wait_log(&d, WAITS("boot"), 1, 30000));
	/* The loop answers while the database is locked. */
	ck_assert_int_eq(daemon_ginictl(&d, &out, &err, "status", NULL), 0);
	free(out);
	free(err);
	daemon_signal(&d, SIGUSR1);
	ck_assert(daemon_wait_log(&d, WAITS("sig"), 1, 30000));
	/* A run, a run --wait, and health: their replies wait for the history. */
	rfd = daemon_connect(&d);
	send_request(rfd, 1, "run", "{\"pipeline\": \"manual\"}");
	ck_assert(daemon_wait_log(&d, WAITS("manual"), 1, 30000));
	wfd = daemon_connect(&d);
	send_request(wfd, 2, "run", "{\"pipeline\": \"manual\", \"wait\": true}");
	ck_assert(daemon_wait_log(&d, WAITS("manual"), 2, 30000));
	/* a takes the slot of group g while it waits, so b is queued behind
	 * it, and told so at once. */
	afd = daemon_connect(&d);
	send_request(afd, 3, "run", "{\"pipeline\": \"a\"}");
	ck_assert(daemon_wait_log(&d, WAITS("a"), 1, 30000));
	j = ctl_json(&d, 0, "run", "b");
	ck_assert_str_eq(json_string_value(json_object_get(j, "outcome")), "queued");
	json_decref(j);
	hfd = daemon_connect(&d);
	send_request(hfd, 4, "health", "{}");
	/* A reload goes through; the waiting runs keep their generation. */
	ck_assert_int_eq(daemon_ginictl(&d, &out, &err, "reload", NULL), 0);
	free(out);
	free(err);
	ck_assert(daemon_wait_notify(&d, "runs wait for it", 30000));
	/* Nothing started, nothing answered: the lock is held. */
	ck_assert_uint_eq(daemon_log_count(&d, "started (trigger"), 0);
	ck_assert_ptr_null(daemon_read_reply(rfd, 100));
	ck_assert_ptr_null(daemon_read_reply(hfd, 0));

	unlock_history(db);
	j = read_final_reply(rfd);
	res = json_object_get(j, "result");
	ck_assert_msg(res, "%s", json_dumps(j, JSON_COMPACT));
	ck_assert_str_eq(json_string_value(json_object_get(res, "outcome")), "started");
	ck_assert_int_eq(json_integer_value(json_object_get(res, "run_id")), RECORDED + 3);
	json_decref(j);
	j = read_final_reply(wfd);
	res = json_object_get(j, "result");
	ck_assert_msg(res, "%s", json_dumps(j, JSON_COMPACT));
	ck_assert_str_eq(json_string_value(json_object_get(res, "result")), "success");
	ck_assert_int_eq(json_integer_value(json_object_get(res, "run_id")), RECORDED + 4);
	json_decref(j);
	j = read_final_reply(afd);
	res = json_object_get(j, "result");
	ck_assert_int_eq(json_integer_value(json_object_get(res, "run_id")), RECORDED + 5);
	json_decref(j);
	j = read_final_reply(hfd);
	res = json_object_get(j, "result");
	ck_assert_str_eq(json_string_value(json_object_get(res, "history")), "open");
	json_array_foreach(json_object_get(res, "pipelines"), i,
	                   e) if (streq(json_string_value(json_object_get(e, "name")), "quiet"))
	{
		seen = true;
		ck_assert_int_eq(json_integer_value(json_object_get(e, "consecutive_failures")), 2);
	}
	ck_assert(seen);
	json_decref(j);
	close(rfd);
	close(wfd);
	close(afd);
	close(hfd);
	/* In the order they came, each once. */
	ck_assert(daemon_wait_log(&d, "pipeline 'b': success", 1, 30000));
	assert_run(&d, RECORDED + 1, "boot");
	assert_run(&d, RECORDED + 2, "sig");
	assert_run(&d, RECORDED + 3, "manual");
	assert_run(&d, RECORDED + 4, "manual");
	assert_run(&d, RECORDED + 5, "a");
	assert_run(&d, RECORDED + 6, "b");
	ck_assert_uint_eq(daemon_log_count(&d, "started (trigger"), 6);
	ck_assert_uint_eq(daemon_log_count(&d, "run history is disabled"), 0);
	daemon_done(&d);
	free(state);
}
END_TEST

/* SIGTERM while runs wait: they are dropped, their clients told, and ginid
 * exits while the lock is still held. */
START_TEST(stop_drops_waiting_runs)
{
	struct daemon d;
	char *state;
	json_t *j;
	sqlite3 *db;
	int wfd;

	daemon_init(&d, "history-open-stop", OPEN_CONF);
	state = strdup(daemon_path(&d, "state"));
	seed_history(state);
	db = lock_history(state);
	daemon_start(&d);
	ck_assert(daemon_wait_log(&d, WAITS("boot"), 1, 30000));
	wfd = daemon_connect(&d);
	send_request(wfd, 1, "run", "{\"pipeline\": \"manual\", \"wait\": true}");
	ck_assert(daemon_wait_log(&d, WAITS("manual"), 1, 30000));
	daemon_signal(&d, SIGTERM);
	j = read_final_reply(wfd);
	ck_assert(json_is_false(json_object_get(j, "ok")));
	ck_assert_ptr_nonnull(
	        strstr(json_string_value(json_object_get(json_object_get(j, "error"), "message")),
	               "dropped"));
	json_decref(j);
	close(wfd);
	ck_assert_int_eq(daemon_wait_exit(&d, 30000), 0);
	ck_assert_uint_eq(daemon_log_count(&d, "dropping 2 runs that waited"), 1);
	ck_assert_uint_eq(daemon_log_count(&d, "started (trigger"), 0);
	unlock_history(db);
	/* Nothing was written: the database is as it was. */
	ck_assert_int_eq(db_int(state, "SELECT count(*) FROM runs"), RECORDED);
	ck_assert_int_eq(db_int(state, "SELECT max(id) FROM runs"), RECORDED);
	daemon_done(&d);
	free(state);
}
END_TEST

/* A lock held past the 15 s an open may take: the history is off with one
 * error, and the waiting runs start as they would without it. */
START_TEST(lock_held_too_long)
{
	struct daemon d;
	char *state;
	sqlite3 *db;

	daemon_init(&d, "history-open-late", OPEN_CONF);
	state = strdup(daemon_path(&d, "state"));
	seed_history(state);
	db = lock_history(state);
	daemon_start(&d);
	ck_assert(daemon_wait_log(&d, WAITS("boot"), 1, 30000));
	ck_assert(daemon_wait_log(&d, "run 1: pipeline 'boot': success", 1, 60000));
	ck_assert_uint_eq(daemon_log_count(&d, "run history is disabled"), 1);
	ck_assert_uint_eq(daemon_log_count(&d, "database is locked"), 1);
	unlock_history(db);
	ck_assert_int_eq(db_int(state, "SELECT max(id) FROM runs"), RECORDED);
	daemon_done(&d);
	free(state);
}
END_TEST

void
history_open_tcase(Suite *s)
{
	TCase *tc = tcase_create("open");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, runs_wait_for_a_locked_history);
	tcase_add_test(tc, stop_drops_waiting_runs);
	tcase_add_test(tc, lock_held_too_long);
	suite_add_tcase(s, tc);
}
