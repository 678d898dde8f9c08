/* SPDX-License-Identifier: MIT */
/*
 * Failure handling in the DAG (`when` steps, the context keys they see),
 * the pipeline timeout, and their configuration keys: real configs parsed
 * by config.c, compiled by pipeline.c against stage types built into this
 * test, and run by the executor. No assertion depends on timing: a step
 * that must outlast a timeout sleeps far longer than it, cancellably.
 */
#include "tests.h"

#include "config.h"
#include "context.h"
#include "daemon.h"
#include "exec_fixture.h"
#include "executor.h"
#include "pipeline.h"
#include "registry.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A step: fails when result = "fail"; sleeps (cancellably) for sleep;
 * with report, says what the failure keys of the context hold. */
struct flow_inst {
	bool fail, report;
	uint64_t sleep_usec;
};

static int
flow_create(const struct gini_host *host, struct gini_handle *h, const struct gini_params *p,
            void **ret)
{
	struct flow_inst *in = calloc(1, sizeof(*in));
	const char *result = NULL;
	int32_t report = 0;

	(void)h;
	if (!in)
		return GINI_FAILURE;
	if (host->param_string(p, "result", &result) == 0)
		in->fail = streq(result, "fail");
	host->param_duration(p, "sleep", &in->sleep_usec);
	if (host->param_bool(p, "report", &report) == 0)
		in->report = report != 0;
	*ret = in;
	return 0;
}

static void
flow_destroy(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	free(instance);
}

static int
flow_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	struct flow_inst *in = instance;

	if (in->sleep_usec && host->sleep(h, in->sleep_usec) < 0) {
		host->set_message(h, "interrupted");
		return GINI_FAILURE;
	}
	if (in->report) {
		const char *step = host->ctx_get(h, "gini.failed_step");
		const char *msg = host->ctx_get(h, "gini.failure_message");

		host->set_message(h, "failed_step=%s failure_message=%s", step ? step : "(unset)",
		                  msg ? msg : "(unset)");
	}
	if (in->fail) {
		host->set_message(h, "broken on purpose");
		return GINI_FAILURE;
	}
	return GINI_SUCCESS;
}

static const struct gini_stage_descriptor flow_desc = {
	GINI_DESCRIPTOR_HEADER, .id = "flow",
	.version = "1.0.0",     .summary = "fails, sleeps or reports on request",
	.category = "test",     .flags = GINI_STAGE_CONCURRENT,
	.create = flow_create,  .destroy = flow_destroy,
	.run = flow_run,
};

static void
setup(void)
{
	const struct gini_stage_descriptor *all[] = { &flow_desc };

	xf_setup(all, ARRAY_SIZE(all));
}

static void
assert_step(struct run *r, const char *id, enum step_status want)
{
	const struct step_result *res = xf_result(r, id);

	ck_assert_msg(res->status == want, "step %s: %s (%s), expected %s", id,
	              step_status_to_string(res->status), res->message ? res->message : "",
	              step_status_to_string(want));
}

/*
 * The diamond a -> b, a -> c, (b, c) -> d, with a failure step and an
 * always step after d. fail names the step that fails ("" for none).
 */
static void
compile_diamond(const char *fail, const char *extra)
{
	char text[2048];

#define FAIL(s) (streq(fail, s) ? "result = \"fail\";" : "")
	snprintf(text, sizeof(text),
	         "pipelines = ( { name = \"p\"; %s steps = (\n"
	         "  { id = \"a\"; stage = \"flow\"; params = { %s }; },\n"
	         "  { id = \"b\"; stage = \"flow\"; after = \"a\"; params = { %s }; },\n"
	         "  { id = \"c\"; stage = \"flow\"; after = \"a\"; params = { %s }; },\n"
	         "  { id = \"d\"; stage = \"flow\"; after = [\"b\", \"c\"]; params = { %s }; },\n"
	         "  { id = \"notify\"; stage = \"flow\"; after = \"d\"; when = \"failure\";\n"
	         "    params = { report = true; }; },\n"
	         "  { id = \"cleanup\"; stage = \"flow\"; after = \"d\"; when = \"always\";\n"
	         "    params = { report = true; }; }\n"
	         "); } );\n",
	         extra, FAIL("a"), FAIL("b"), FAIL("c"), FAIL("d"));
#undef FAIL
	xf_compile(text);
}

START_TEST(diamond_failure_in_b)
{
	struct run *r;

	compile_diamond("b", "");
	r = xf_run(2);
	assert_step(r, "a", STEP_SUCCESS);
	assert_step(r, "b", STEP_FAILED);
	/* c may have been released before b failed, or not: the run stops. */
	ck_assert(xf_result(r, "c")->status == STEP_SUCCESS ||
	          xf_result(r, "c")->status == STEP_CANCELLED);
	assert_step(r, "d", STEP_SKIPPED);
	assert_step(r, "notify", STEP_SUCCESS);
	assert_step(r, "cleanup", STEP_SUCCESS);
	ck_assert_str_eq(xf_result(r, "notify")->message,
	                 "failed_step=b failure_message=broken on purpose");
	ck_assert_str_eq(xf_result(r, "cleanup")->message,
	                 "failed_step=b failure_message=broken on purpose");
	/* The failure steps succeeded; the run still failed, at b. */
	ck_assert_int_eq(r->status, RUN_FAILED);
	ck_assert_str_eq(xf.pl->steps[r->failed_step].id, "b");
	run_free(r);
}
END_TEST

START_TEST(diamond_failure_in_a)
{
	struct run *r;

	compile_diamond("a", "");
	r = xf_run(2);
	assert_step(r, "a", STEP_FAILED);
	assert_step(r, "b", STEP_SKIPPED);
	assert_step(r, "c", STEP_SKIPPED);
	assert_step(r, "d", STEP_SKIPPED);
	ck_assert_str_eq(xf_result(r, "d")->message, "step 'a' failed");
	assert_step(r, "notify", STEP_SUCCESS);
	assert_step(r, "cleanup", STEP_SUCCESS);
	ck_assert_str_eq(xf_result(r, "notify")->message,
	                 "failed_step=a failure_message=broken on purpose");
	ck_assert_int_eq(r->status, RUN_FAILED);
	run_free(r);
}
END_TEST

START_TEST(diamond_no_failure)
{
	struct run *r;

	compile_diamond("", "");
	r = xf_run(2);
	assert_step(r, "a", STEP_SUCCESS);
	assert_step(r, "b", STEP_SUCCESS);
	assert_step(r, "c", STEP_SUCCESS);
	assert_step(r, "d", STEP_SUCCESS);
	assert_step(r, "notify", STEP_SKIPPED);
	ck_assert_str_eq(xf_result(r, "notify")->message, "no step it runs after failed");
	assert_step(r, "cleanup", STEP_SUCCESS);
	ck_assert_str_eq(xf_result(r, "cleanup")->message,
	                 "failed_step=(unset) failure_message=(unset)");
	ck_assert_int_eq(r->status, RUN_SUCCESS);
	run_free(r);
}
END_TEST

/* With on_failure = "continue", c runs whatever b does. */
START_TEST(diamond_failure_in_b_continue)
{
	struct run *r;

	compile_diamond("b", "on_failure = \"continue\";");
	r = xf_run(2);
	assert_step(r, "c", STEP_SUCCESS);
	assert_step(r, "d", STEP_SKIPPED);
	assert_step(r, "notify", STEP_SUCCESS);
	assert_step(r, "cleanup", STEP_SUCCESS);
	ck_assert_int_eq(r->status, RUN_FAILED);
	run_free(r);
}
END_TEST

/* "Earlier" is transitive through the steps a failure step runs after. */
START_TEST(failure_step_on_another_branch_is_skipped)
{
	struct run *r;

	xf_compile(
	        "pipelines = ( { name = \"p\"; on_failure = \"continue\"; steps = (\n"
	        "  { id = \"bad\"; stage = \"flow\"; params = { result = \"fail\"; }; },\n"
	        "  { id = \"good\"; stage = \"flow\"; },\n"
	        "  { id = \"on_good\"; stage = \"flow\"; after = \"good\"; when = \"failure\"; },\n"
	        "  { id = \"on_bad\"; stage = \"flow\"; after = \"bad\"; when = \"failure\"; }\n"
	        "); } );\n");
	r = xf_run(2);
	assert_step(r, "on_good", STEP_SKIPPED);
	assert_step(r, "on_bad", STEP_SUCCESS);
	ck_assert_int_eq(r->status, RUN_FAILED);
	run_free(r);
}
END_TEST

START_TEST(failing_always_step_is_recorded)
{
	struct run *r;

	xf_compile(
	        "pipelines = ( { name = \"p\"; steps = (\n"
	        "  { id = \"work\"; stage = \"flow\"; },\n"
	        "  { id = \"cleanup\"; stage = \"flow\"; after = \"work\"; when = \"always\";\n"
	        "    params = { result = \"fail\"; }; },\n"
	        "  { id = \"notify\"; stage = \"flow\"; after = \"cleanup\"; when = \"failure\";\n"
	        "    params = { report = true; }; }\n"
	        "); } );\n");
	r = xf_run(2);
	assert_step(r, "work", STEP_SUCCESS);
	assert_step(r, "cleanup", STEP_FAILED);
	ck_assert_str_eq(xf_result(r, "cleanup")->message, "broken on purpose");
	assert_step(r, "notify", STEP_SUCCESS);
	ck_assert_str_eq(xf_result(r, "notify")->message,
	                 "failed_step=cleanup failure_message=broken on purpose");
	ck_assert_int_eq(r->status, RUN_FAILED);
	ck_assert_str_eq(xf.pl->steps[r->failed_step].id, "cleanup");
	run_free(r);
}
END_TEST

START_TEST(failure_step_after_a_timeout)
{
	struct run *r;

	xf_compile("pipelines = ( { name = \"p\"; steps = (\n"
	           "  { id = \"slow\"; stage = \"flow\"; timeout = \"50ms\"; params = { sleep = "
	           "\"1h\"; }; },\n"
	           "  { id = \"notify\"; stage = \"flow\"; after = \"slow\"; when = \"failure\";\n"
	           "    params = { report = true; }; }\n"
	           "); } );\n");
	r = xf_run(2);
	assert_step(r, "slow", STEP_TIMED_OUT);
	assert_step(r, "notify", STEP_SUCCESS);
	ck_assert_str_eq(xf_result(r, "notify")->message,
	                 "failed_step=slow failure_message=timed out after 50ms: interrupted");
	run_free(r);
}
END_TEST

/*
 * The pipeline's timeout cancels the run: the running step is cancelled
 * (its sleep returns), nothing else starts, not even an always step, and
 * the run ends "timeout".
 */
START_TEST(pipeline_timeout_cancels_the_run)
{
	struct run *r;
	char **v;

	xf_compile(
	        "pipelines = ( { name = \"p\"; timeout = \"100ms\"; on_failure_run = \"p2\";\n"
	        "  steps = (\n"
	        "  { id = \"slow\"; stage = \"flow\"; params = { sleep = \"1h\"; }; },\n"
	        "  { id = \"next\"; stage = \"flow\"; after = \"slow\"; },\n"
	        "  { id = \"cleanup\"; stage = \"flow\"; after = \"slow\"; when = \"always\"; }\n"
	        "); }, { name = \"p2\"; steps = ( { id = \"x\"; stage = \"flow\"; } ); } );\n");
	r = xf_run(2);
	assert_step(r, "slow", STEP_CANCELLED);
	assert_step(r, "next", STEP_CANCELLED);
	ck_assert_str_eq(xf_result(r, "next")->message, "run timed out");
	assert_step(r, "cleanup", STEP_CANCELLED);
	ck_assert_int_eq(r->status, RUN_TIMEOUT);
	ck_assert_str_eq(run_status_to_string(r->status), "timeout");
	/* What on_failure_run hands to the pipeline it starts. */
	v = run_failure_params(r);
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v[0], "p2");
	ck_assert_str_eq(v[1], "failed_run");
	ck_assert_str_eq(v[3], "failed_pipeline");
	ck_assert_str_eq(v[4], "p");
	ck_assert_str_eq(v[5], "failure_message");
	ck_assert_str_eq(v[6], "the pipeline's timeout (100ms) passed");
	ck_assert_ptr_null(v[7]);
	strv_free(v);
	run_free(r);
}
END_TEST

/* A run that ends in time is not touched by its timeout. */
START_TEST(pipeline_timeout_not_reached)
{
	struct run *r;

	xf_compile("pipelines = ( { name = \"p\"; timeout = \"1h\"; steps = (\n"
	           "  { id = \"a\"; stage = \"flow\"; }\n"
	           "); } );\n");
	r = xf_run(2);
	ck_assert_int_eq(r->status, RUN_SUCCESS);
	ck_assert_ptr_null(run_failure_params(r));
	run_free(r);
}
END_TEST

/* Each invalid config gives exactly this diagnostic. */
static void
assert_config_error(const char *text, const char *want)
{
	struct diags d = { 0 };
	struct gini_config *c = NULL;
	char buf[1024];

	ck_assert_int_eq(config_load_string(text, "test.conf", "/nonexistent", NULL, &c, &d), 0);
	ck_assert_msg(d.n >= 1, "no error for: %s", text);
	ck_assert_str_eq(diag_format(&d.v[0], buf, sizeof(buf)), want);
	diags_done(&d);
	config_free(c);
}

START_TEST(config_errors)
{
	assert_config_error("pipelines = ( { name = \"p\"; steps = (\n"
	                    "  { id = \"a\"; stage = \"flow\"; },\n"
	                    "  { id = \"b\"; stage = \"flow\"; after = \"a\";\n"
	                    "    when = \"sometimes\"; }\n"
	                    "); } );\n",
	                    "test.conf:4: pipeline 'p': step 'b': 'when': invalid value "
	                    "'sometimes' (expected success, failure or always)");
	assert_config_error("pipelines = ( { name = \"p\"; steps = (\n"
	                    "  { id = \"a\"; stage = \"flow\"; when = \"failure\"; }\n"
	                    "); } );\n",
	                    "test.conf:2: pipeline 'p': step 'a': 'when = \"failure\"' needs "
	                    "'after': the step runs when a step it runs after fails");
	assert_config_error("pipelines = ( { name = \"p\";\n"
	                    "  on_failure_run = \"nope\";\n"
	                    "  steps = ( { id = \"a\"; stage = \"flow\"; } ); } );\n",
	                    "test.conf:2: pipeline 'p': 'on_failure_run': unknown pipeline "
	                    "'nope'");
	assert_config_error("pipelines = (\n"
	                    "  { name = \"p\"; on_failure_run = \"q\";\n"
	                    "    steps = ( { id = \"a\"; stage = \"flow\"; } ); },\n"
	                    "  { name = \"q\"; on_failure_run = \"p\";\n"
	                    "    steps = ( { id = \"a\"; stage = \"flow\"; } ); } );\n",
	                    "test.conf:2: pipeline 'p': 'on_failure_run': a cycle: p -> q -> p");
	assert_config_error("pipelines = ( { name = \"p\"; on_failure_run = \"p\";\n"
	                    "  steps = ( { id = \"a\"; stage = \"flow\"; } ); } );\n",
	                    "test.conf:1: pipeline 'p': 'on_failure_run': a cycle: p -> p");
	assert_config_error("concurrency_groups = { disk = 1; };\n"
	                    "pipelines = ( { name = \"p\";\n"
	                    "  concurrency_group = \"net\";\n"
	                    "  steps = ( { id = \"a\"; stage = \"flow\"; } ); } );\n",
	                    "test.conf:3: pipeline 'p': 'concurrency_group': unknown group 'net' "
	                    "(add it to concurrency_groups in test.conf)");
	assert_config_error("concurrency_groups = {\n  disk = 0; };\n",
	                    "test.conf:2: 'concurrency_groups': 'disk': 0 is out of range 1-10000");
	assert_config_error(
	        "concurrency_groups = [ 1 ];\n",
	        "test.conf:1: 'concurrency_groups': expected a group { name = limit; ... "
	        "}, got an array [ ... ]");
	assert_config_error("pipelines = ( { name = \"p\";\n"
	                    "  timeout = \"soon\";\n"
	                    "  steps = ( { id = \"a\"; stage = \"flow\"; } ); } );\n",
	                    "test.conf:2: pipeline 'p': 'timeout': invalid duration 'soon' (use "
	                    "e.g. 500ms, 30s, 5min, 1h 30m, 2 days)");
}
END_TEST

/* ---- a real daemon ---- */

static struct daemon d;

static void
daemon_teardown(void)
{
	daemon_done(&d);
}

/* Starts a daemon whose config is fmt with its directory for each %1$s. */
static void
start_daemon(const char *fmt)
{
	char *conf;

	daemon_init(&d, "failure", "");
	ck_assert_int_ne(asprintf(&conf, fmt, d.dir), -1);
	daemon_write(&d, "gini.conf", conf);
	free(conf);
	daemon_start(&d);
}

static char *
slurp(const char *path)
{
	char *text = NULL;
	size_t len = 0;

	ck_assert_int_eq(read_file(path, 1 << 20, &text, &len), 0);
	return text;
}

/*
 * An exec step's failure reaches a failure step through the context (as
 * GINI_CTX_GINI_FAILED_STEP and GINI_CTX_GINI_FAILURE_MESSAGE), and the
 * run still ends failed.
 */
START_TEST(daemon_failure_step_sees_the_failure)
{
	char *out = NULL, *err = NULL, *text;

	start_daemon("pipelines = ( { name = \"p\"; steps = (\n"
	             "  { id = \"work\"; stage = \"exec\"; params = { shell = \"exit 3\"; }; },\n"
	             "  { id = \"notify\"; stage = \"exec\"; after = \"work\"; when = "
	             "\"failure\";\n"
	             "    params = { shell = \"echo \\\"$GINI_CTX_GINI_FAILED_STEP: "
	             "$GINI_CTX_GINI_FAILURE_MESSAGE\\\" > %1$s/notified\"; }; }\n"
	             "); } );\n");
	ck_assert_int_eq(daemon_ginictl(&d, &out, &err, "run", "p", "--wait", NULL), 1);
	free(out);
	free(err);
	text = slurp(daemon_path(&d, "notified"));
	ck_assert_str_eq(text, "work: exit status 3\n");
	free(text);
	ck_assert(daemon_wait_log(&d, "run 1: pipeline 'p': failed in", 1, 10000));
}
END_TEST

/*
 * The pipeline's timeout cancels the run as `ginictl cancel` does (the
 * child that ignores SIGTERM is killed after its kill_grace), the run ends
 * "timeout" in the log, the history and health, and on_failure_run starts
 * the pipeline it names with the failed run's id, pipeline and message.
 */
START_TEST(daemon_timeout_and_on_failure_run)
{
	char *out = NULL, *err = NULL, *text;
	long pid;

	start_daemon("pipelines = (\n"
	             "  { name = \"slow\"; timeout = \"300ms\"; on_failure_run = \"notify\";\n"
	             "    steps = ( { id = \"hold\"; stage = \"exec\"; params = {\n"
	             "      kill_grace = \"200ms\";\n"
	             "      shell = \"trap '' TERM; echo $$ > %1$s/pid; while :; do sleep 0.05; "
	             "done\";\n"
	             "    }; } ); },\n"
	             "  { name = \"notify\"; steps = ( { id = \"n\"; stage = \"exec\"; params = {\n"
	             "      shell = \"echo \\\"$GINI_CTX_FAILED_RUN $GINI_CTX_FAILED_PIPELINE "
	             "$GINI_CTX_FAILURE_MESSAGE\\\" > %1$s/notified\";\n"
	             "    }; } ); }\n"
	             ");\n");
	ck_assert_int_eq(daemon_ginictl(&d, &out, &err, "run", "slow", "--wait", NULL), 1);
	free(out);
	free(err);
	ck_assert(daemon_wait_log(&d, "run 1: pipeline 'slow': timeout in", 1, 10000));
	ck_assert(daemon_wait_log(&d, "(trigger: ginictl", 1, 10000));
	ck_assert_int_eq(daemon_log_count(&d, "): the pipeline's timeout (300ms) passed"), 1);
	text = slurp(daemon_path(&d, "pid"));
	pid = strtol(text, NULL, 10);
	free(text);
	ck_assert_int_gt(pid, 1);
	/* Killed and reaped. */
	ck_assert_int_eq(kill((pid_t)pid, 0), -1);
	ck_assert_int_eq(errno, ESRCH);

	ck_assert(wait_file(daemon_path(&d, "notified"), "\n", 10000));
	text = slurp(daemon_path(&d, "notified"));
	ck_assert_str_eq(text, "1 slow the pipeline's timeout (300ms) passed\n");
	free(text);
	ck_assert(daemon_wait_log(&d,
	                          "run 2: pipeline 'notify': started (trigger: on_failure_run "
	                          "of run 1)",
	                          1, 10000));

	ck_assert(daemon_wait_log(&d, "run 2: pipeline 'notify': success", 1, 10000));
	ck_assert_int_eq(daemon_ginictl(&d, &out, &err, "history", "--result", "timeout", NULL), 0);
	ck_assert_msg(strstr(out, "slow") && !strstr(out, "notify"), "%s", out);
	free(out);
	free(err);
	ck_assert_int_eq(
	        daemon_ginictl(&d, &out, &err, "--json", "history", "--result", "timeout", NULL),
	        0);
	ck_assert_msg(strstr(out, "the pipeline's timeout (300ms) passed"), "%s", out);
	free(out);
	free(err);
	ck_assert_int_eq(daemon_ginictl(&d, &out, &err, "health", NULL), 1);
	ck_assert_msg(strstr(out, "last run timed out"), "%s", out);
	free(out);
	free(err);
}
END_TEST

/*
 * A concurrency group of 1 with three pipelines firing together (one
 * signal): with overlap = "queue" they run one after the other, in the
 * order they fired, and never two at once; with overlap = "skip" one runs
 * and the other two are dropped and counted.
 */
#define GROUP_PIPELINE(name, overlap, sig)                                                         \
	"  { name = \"" name "\"; concurrency_group = \"" overlap "\"; overlap = \"" overlap       \
	"\";\n"                                                                                    \
	"    triggers = { signal = \"" sig "\"; };\n"                                              \
	"    steps = ( { id = \"s\"; stage = \"exec\"; params = {\n"                               \
	"      shell = \"echo start " name " >> %1$s/order; sleep 0.2; echo end " name             \
	" >> %1$s/order\"; }; } ); },\n"

START_TEST(daemon_concurrency_group_of_one)
{
	char *text, *out = NULL, *err = NULL;

	start_daemon(
	        "concurrency_groups = { queue = 1; skip = 1; };\n"
	        "pipelines = (\n" GROUP_PIPELINE("q1", "queue", "SIGUSR1") GROUP_PIPELINE(
	                "q2", "queue",
	                "SIGUSR1") GROUP_PIPELINE("q3", "queue",
	                                          "SIGUSR1") GROUP_PIPELINE("k1", "skip", "SIGUSR2")
	                GROUP_PIPELINE("k2", "skip", "SIGUSR2") GROUP_PIPELINE(
	                        "k3", "skip",
	                        "SIGUSR2") "  { name = \"unused\"; steps = ( { id = \"s\"; stage = "
	                                   "\"exec\";\n"
	                                   "    params = { argv = [ \"/bin/true\" ]; }; } ); }\n"
	                                   ");\n");
	daemon_signal(&d, SIGUSR1);
	ck_assert(daemon_wait_log(&d, "pipeline 'q3': success", 1, 20000));
	text = slurp(daemon_path(&d, "order"));
	ck_assert_str_eq(text, "start q1\nend q1\nstart q2\nend q2\nstart q3\nend q3\n");
	free(text);
	ck_assert_int_eq(daemon_log_count(&d, "concurrency group 'queue' is full; queued one run"),
	                 2);

	ck_assert_int_eq(unlink(daemon_path(&d, "order")), 0);
	daemon_signal(&d, SIGUSR2);
	ck_assert(daemon_wait_log(&d, "pipeline 'k1': success", 1, 20000));
	text = slurp(daemon_path(&d, "order"));
	ck_assert_str_eq(text, "start k1\nend k1\n");
	free(text);
	ck_assert(daemon_wait_log(&d,
	                          "pipeline 'k2': 1 trigger skipped (overlap = skip, 0 running, "
	                          "concurrency group 'skip' full)",
	                          1, 1000));
	ck_assert(daemon_wait_log(&d,
	                          "pipeline 'k3': 1 trigger skipped (overlap = skip, 0 running, "
	                          "concurrency group 'skip' full)",
	                          1, 1000));
	/* Counted where the overlap policy counts its drops. */
	ck_assert_int_eq(daemon_ginictl(&d, &out, &err, "--json", "pipelines", NULL), 0);
	{
		json_t *doc = json_loads(out, 0, NULL), *items, *it;
		size_t i;
		int seen = 0;

		ck_assert_msg(doc != NULL, "%s", out);
		/* An array, or an object with the array as items. */
		items = json_is_object(doc) ? json_object_get(doc, "items") : doc;
		ck_assert_msg(json_is_array(items), "%s", out);
		json_array_foreach(items, i, it)
		{
			const char *name = json_string_value(json_object_get(it, "name"));
			json_int_t skipped = json_integer_value(json_object_get(it, "skipped"));

			if (streq(name, "k2") || streq(name, "k3")) {
				ck_assert_int_eq(skipped, 1);
				seen++;
			} else if (streq(name, "k1")) {
				ck_assert_int_eq(skipped, 0);
			}
		}
		ck_assert_int_eq(seen, 2);
		json_decref(doc);
	}
	free(out);
	free(err);
}
END_TEST

/*
 * A run queued for a full group starts at once when a reload takes its
 * pipeline out of the group, while the run that holds the slot goes on.
 */
#define RELOAD_CONF(b_group)                                                                       \
	"concurrency_groups = { disk = 1; };\n"                                                    \
	"pipelines = (\n"                                                                          \
	"  { name = \"a\"; concurrency_group = \"disk\"; steps = ( { id = \"s\"; stage = "         \
	"\"exec\";\n"                                                                              \
	"    params = { shell = \"while [ ! -e %1$s/go ]; do sleep 0.02; done\"; }; } ); },\n"     \
	"  { name = \"b\"; overlap = \"queue\"; " b_group " steps = ( { id = \"s\"; stage = "      \
	"\"exec\";\n"                                                                              \
	"    params = { argv = [ \"/bin/true\" ]; }; } ); }\n"                                     \
	");\n"

START_TEST(daemon_reload_frees_a_waiting_run)
{
	char *out = NULL, *err = NULL, *conf;

	start_daemon(RELOAD_CONF("concurrency_group = \"disk\";"));
	ck_assert_int_eq(daemon_ginictl(&d, &out, &err, "run", "a", NULL), 0);
	free(out);
	free(err);
	ck_assert_int_eq(daemon_ginictl(&d, &out, &err, "run", "b", NULL), 0);
	free(out);
	free(err);
	ck_assert(daemon_wait_log(&d, "pipeline 'b': concurrency group 'disk' is full; queued", 1,
	                          10000));
	ck_assert_int_eq(daemon_log_count(&d, "pipeline 'b': started"), 0);

	ck_assert_int_ne(asprintf(&conf, RELOAD_CONF(""), d.dir), -1);
	daemon_write(&d, "gini.conf", conf);
	free(conf);
	daemon_signal(&d, SIGHUP);
	ck_assert(daemon_wait_log(&d, "pipeline 'b': success", 1, 10000));
	/* a still holds its slot: it ends only now. */
	ck_assert_int_eq(daemon_log_count(&d, "pipeline 'a': success"), 0);
	daemon_write(&d, "go", "");
	ck_assert(daemon_wait_log(&d, "pipeline 'a': success", 1, 10000));
}
END_TEST

Suite *
failure_suite(void)
{
	Suite *s = suite_create("failure");
	TCase *tc = tcase_create("when");

	tcase_add_checked_fixture(tc, setup, xf_teardown);
	tcase_add_test(tc, diamond_failure_in_b);
	tcase_add_test(tc, diamond_failure_in_a);
	tcase_add_test(tc, diamond_no_failure);
	tcase_add_test(tc, diamond_failure_in_b_continue);
	tcase_add_test(tc, failure_step_on_another_branch_is_skipped);
	tcase_add_test(tc, failing_always_step_is_recorded);
	tcase_add_test(tc, failure_step_after_a_timeout);
	suite_add_tcase(s, tc);

	tc = tcase_create("timeout");
	tcase_add_checked_fixture(tc, setup, xf_teardown);
	tcase_add_test(tc, pipeline_timeout_cancels_the_run);
	tcase_add_test(tc, pipeline_timeout_not_reached);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_test(tc, config_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("daemon");
	tcase_add_checked_fixture(tc, NULL, daemon_teardown);
	tcase_add_test(tc, daemon_failure_step_sees_the_failure);
	tcase_add_test(tc, daemon_timeout_and_on_failure_run);
	tcase_add_test(tc, daemon_concurrency_group_of_one);
	tcase_add_test(tc, daemon_reload_frees_a_waiting_run);
	suite_add_tcase(s, tc);
	return s;
}
