/* SPDX-License-Identifier: MIT */
/*
 * Health, the metrics endpoint and journald fields: the health = { ... } and
 * metrics_listen keys (exact FILE:LINE messages), the health rules at chosen
 * times (no sleeping), `ginictl health` and STATUS= against a real ginid,
 * and GET /metrics and /health over TCP (IPv4, IPv6) and a unix socket with
 * well-behaved clients (curl, promtool) and badly-behaved raw ones.
 */
#include "check_health.h"

#include "config.h"
#include "generation.h"
#include "health.h"
#include "http.h"
#include "pipeline.h"
#include "proto.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

struct daemon hl_d;

void
hl_teardown(void)
{
	daemon_done(&hl_d);
}

/* ---- configuration ---- */

/* Loads text as DIR/t.conf; returns the diagnostics formatted, one a line. */
static char *
load_diags(const char *text, struct gini_config **ret_cfg)
{
	char *dir = test_tmpdir("health-config"), *conf = path_join(dir, "t.conf");
	struct gini_config *cfg = NULL;
	struct diags dg = { 0 };
	char *all = calloc(1, 1), buf[2048];
	size_t len = 0;

	test_write_file(conf, text, 0644);
	ck_assert_int_eq(config_load(conf, NULL, &cfg, &dg), 0);
	for (size_t i = 0; i < dg.n; i++) {
		const char *line = diag_format(&dg.v[i], buf, sizeof(buf));
		const char *rel = strstr(line, "t.conf:");
		char *grown = realloc(all, len + strlen(line) + 2);

		ck_assert_ptr_nonnull(grown);
		all = grown;
		len += (size_t)sprintf(all + len, "%s\n", rel ? rel : line);
	}
	diags_done(&dg);
	if (ret_cfg)
		*ret_cfg = cfg;
	else
		config_free(cfg);
	test_rmtree(dir);
	free(dir);
	free(conf);
	return all;
}

#define P_START "pipelines = ( { name = \"p\";\n"
#define P_END   "  steps = ( { id = \"a\"; stage = \"log\"; } ); } );\n"

START_TEST(config_keys)
{
	struct gini_config *cfg;
	char *got;

	got = load_diags("metrics_listen = \"[::1]:9464\";\n" P_START
	                 "  health = { max_age = \"26h\"; max_failures = 3; };\n" P_END,
	                 &cfg);
	ck_assert_str_eq(got, "");
	ck_assert_str_eq(cfg->metrics_listen, "[::1]:9464");
	ck_assert_uint_eq(cfg->pipelines[0].health.max_age_usec, 26ULL * 3600 * USEC_PER_SEC);
	ck_assert_uint_eq(cfg->pipelines[0].health.max_failures, 3);
	config_free(cfg);
	free(got);

	got = load_diags(P_START "  health = {\n    max_age = \"soon\";\n    max_failures = 0;\n"
	                         "    max_fails = 2;\n  };\n" P_END,
	                 NULL);
	ck_assert_str_eq(got,
	                 "t.conf:5: pipeline 'p': health: unknown key 'max_fails'; did you mean "
	                 "'max_failures'?\n"
	                 "t.conf:3: pipeline 'p': health: 'max_age': invalid duration 'soon' (use "
	                 "e.g. 500ms, 30s, 5min, 1h 30m, 2 days)\n"
	                 "t.conf:4: pipeline 'p': health: 'max_failures': 0 is out of range "
	                 "1-1000000\n");
	free(got);
	got = load_diags(P_START "  health = \"26h\";\n" P_END, NULL);
	ck_assert_str_eq(got, "t.conf:2: pipeline 'p': 'health': expected a group { max_age = "
	                      "\"26h\"; max_failures = 3; }, got a string\n");
	free(got);
	got = load_diags(P_START "  health = { max_age = \"500ms\"; };\n" P_END, NULL);
	ck_assert_str_eq(got, "t.conf:2: pipeline 'p': health: 'max_age': must be at least 1s\n");
	free(got);

	got = load_diags("metrics_listen = \"localhost:9464\";\n", NULL);
	ck_assert_str_eq(got, "t.conf:1: 'metrics_listen': 'localhost:9464': the address must be "
	                      "a numeric IPv4 address, or an IPv6 one in brackets\n");
	free(got);
	got = load_diags("\nmetrics_listen = \"127.0.0.1:99999\";\n", NULL);
	ck_assert_str_eq(got, "t.conf:2: 'metrics_listen': '127.0.0.1:99999': invalid port "
	                      "(0-65535)\n");
	free(got);
	got = load_diags("metrics_listen = \"::1:9464\";\n", NULL);
	ck_assert_str_eq(got, "t.conf:1: 'metrics_listen': '::1:9464': the address must be a "
	                      "numeric IPv4 address, or an IPv6 one in brackets\n");
	free(got);
	got = load_diags("metrics_listen = \"9464\";\n", NULL);
	ck_assert_str_eq(got, "t.conf:1: 'metrics_listen': '9464': expected ADDRESS:PORT "
	                      "(\"127.0.0.1:9464\", \"[::1]:9464\") or the absolute path of a "
	                      "unix socket\n");
	free(got);
	got = load_diags("metrics_listen = 9464;\n", NULL);
	ck_assert_str_eq(got, "t.conf:1: 'metrics_listen': expected a string, got an integer\n");
	free(got);
}
END_TEST

/* ---- the rules, at chosen times ---- */

#define HOUR (3600 * (int64_t)USEC_PER_SEC)

/* A generation with pipelines only, as health_report() reads it. */
struct fake {
	struct generation g;
	struct pipeline p[3];
	struct pipeline *pp[3];
};

static void
fake_init(struct fake *f)
{
	static char *names[] = { "backup", "aged", "plain" };

	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < 3; i++) {
		f->p[i].name = names[i];
		f->pp[i] = &f->p[i];
	}
	f->p[0].health.max_failures = 3;
	f->p[1].health.max_age_usec = 26 * (uint64_t)HOUR;
	f->g.pipelines = f->pp;
	f->g.n_pipelines = 3;
}

static json_t *
pipeline_of(json_t *report, const char *name)
{
	json_t *v = json_object_get(report, "pipelines");

	for (size_t i = 0; i < json_array_size(v); i++)
		if (streq(json_string_value(json_object_get(json_array_get(v, i), "name")), name))
			return json_array_get(v, i);
	ck_abort_msg("no pipeline %s in the report", name);
	return NULL;
}

static const char *
reasons_of(json_t *report, const char *name)
{
	static char buf[1024];
	json_t *v = json_object_get(pipeline_of(report, name), "reasons");
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < json_array_size(v); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? "; " : "",
		                        json_string_value(json_array_get(v, i)));
	return buf;
}

/* The STATUS= line is written without the report; it must say the same. */
START_TEST(summary_line_as_the_report)
{
	static char *names[] = { "a", "b", "c", "d", "e" };
	struct pipeline p[5] = { 0 }, *pp[5];
	struct generation g = { .pipelines = pp, .n_pipelines = 5 };
	struct health *h = health_new();
	struct health_daemon dm = { .started_usec = 1000 * HOUR };
	const char *want[] = {
		"5 pipelines, all healthy",
		"5 pipelines, 1 unhealthy: b (last run failed)",
		"5 pipelines, 3 unhealthy: a (last run timed out), b (last run failed), d (last "
		"run "
		"failed)",
		"5 pipelines, 4 unhealthy: a (last run timed out), b (last run failed), d (last "
		"run "
		"failed), ...",
		"5 pipelines, 4 unhealthy: a (last run timed out), b (last run failed), d (last "
		"run "
		"failed), ...; daemon unhealthy: last reload failed: t.conf:1: bad",
	};
	char *errors[] = { "t.conf:1: bad" };

	for (size_t i = 0; i < 5; i++) {
		p[i].name = names[i];
		pp[i] = &p[i];
	}
	for (size_t k = 0; k < ARRAY_SIZE(want); k++) {
		char line[512];
		json_t *r;
		bool ok;

		if (k == 1)
			health_run_end(h, "b", dm.started_usec + HOUR, RUN_FAILED);
		if (k == 2) {
			health_run_end(h, "a", dm.started_usec + HOUR, RUN_TIMEOUT);
			health_run_end(h, "d", dm.started_usec + HOUR, RUN_FAILED);
		}
		if (k == 3)
			health_run_end(h, "e", dm.started_usec + HOUR, RUN_FAILED);
		if (k == 4) {
			dm.reload_failed = true;
			dm.reload_errors = errors;
			dm.n_reload_errors = 1;
		}
		ok = health_summary_line(h, &g, &dm, dm.started_usec + 2 * HOUR, NULL, line,
		                         sizeof(line));
		r = health_report(h, &g, &dm, dm.started_usec + 2 * HOUR, NULL);
		ck_assert_str_eq(line, want[k]);
		ck_assert_str_eq(health_summary(r), want[k]);
		ck_assert_int_eq(ok, k == 0);
		ck_assert_int_eq(json_is_true(json_object_get(r, "healthy")), k == 0);
		json_decref(r);
	}
	health_free(h);
}
END_TEST

START_TEST(rules)
{
	struct fake f;
	struct health *h = health_new();
	struct health_daemon dm = { .started_usec = 1000 * HOUR };
	int64_t t0 = dm.started_usec, next = -1;
	json_t *r;

	fake_init(&f);
	/* Nothing ran yet: healthy, and "aged" turns unhealthy 26h after start. */
	r = health_report(h, &f.g, &dm, t0 + HOUR, &next);
	ck_assert(json_is_true(json_object_get(r, "healthy")));
	ck_assert_str_eq(health_summary(r), "3 pipelines, all healthy");
	ck_assert_int_eq(next, t0 + 26 * HOUR);
	json_decref(r);
	r = health_report(h, &f.g, &dm, t0 + 27 * HOUR, NULL);
	ck_assert_str_eq(reasons_of(r, "aged"),
	                 "no success since start-up, 27h00m (max_age 26h00m)");
	ck_assert(json_is_false(json_object_get(r, "healthy")));
	json_decref(r);

	/* A success resets the age; a failure makes the last run count. */
	health_run_end(h, "aged", t0 + 2 * HOUR, RUN_SUCCESS);
	health_run_end(h, "backup", t0 + 2 * HOUR, RUN_FAILED);
	r = health_report(h, &f.g, &dm, t0 + 27 * HOUR, &next);
	ck_assert_str_eq(reasons_of(r, "aged"), "");
	ck_assert_int_eq(next, t0 + 28 * HOUR);
	ck_assert_str_eq(reasons_of(r, "backup"), "last run failed");
	ck_assert_str_eq(health_summary(r), "3 pipelines, 1 unhealthy: backup (last run failed)");
	json_decref(r);
	r = health_report(h, &f.g, &dm, t0 + 29 * HOUR, NULL);
	ck_assert_str_eq(reasons_of(r, "aged"), "no success for 27h00m (max_age 26h00m)");
	ck_assert_str_eq(health_summary(r), "3 pipelines, 2 unhealthy: backup (last run failed), "
	                                    "aged (no success for 27h00m (max_age 26h00m))");
	json_decref(r);

	/* max_failures: counted in a row; a cancelled run does not break the
	 * streak, a success does. */
	health_run_end(h, "backup", t0 + 3 * HOUR, RUN_FAILED);
	health_run_end(h, "backup", t0 + 4 * HOUR, RUN_CANCELLED);
	r = health_report(h, &f.g, &dm, t0 + 5 * HOUR, NULL);
	ck_assert_str_eq(reasons_of(r, "backup"), "");
	ck_assert_int_eq(json_integer_value(
	                         json_object_get(pipeline_of(r, "backup"), "consecutive_failures")),
	                 2);
	json_decref(r);
	health_run_end(h, "backup", t0 + 5 * HOUR, RUN_FAILED);
	r = health_report(h, &f.g, &dm, t0 + 6 * HOUR, NULL);
	ck_assert_str_eq(reasons_of(r, "backup"),
	                 "last run failed; 3 failures in a row (max_failures 3)");
	json_decref(r);
	health_run_end(h, "backup", t0 + 6 * HOUR, RUN_SUCCESS);
	r = health_report(h, &f.g, &dm, t0 + 7 * HOUR, NULL);
	ck_assert_str_eq(reasons_of(r, "backup"), "");
	json_decref(r);

	/* A pipeline without limits is unhealthy only while its last run failed. */
	health_run_end(h, "plain", t0 + 7 * HOUR, RUN_FAILED);
	health_run_end(h, "aged", t0 + 7 * HOUR, RUN_SUCCESS);
	r = health_report(h, &f.g, &dm, t0 + 900 * HOUR, NULL);
	ck_assert_str_eq(reasons_of(r, "plain"), "last run failed");
	json_decref(r);
	health_free(h);
}
END_TEST

/* What the history store hands over at start-up counts like runs seen here. */
START_TEST(seed)
{
	struct fake f;
	struct health *h = health_new();
	struct health_daemon dm = { .started_usec = 1000 * HOUR };
	int64_t t0 = dm.started_usec;
	char *text = NULL;
	size_t size = 0;
	FILE *mf;
	json_t *r;

	fake_init(&f);
	ck_assert_int_eq(health_seed(h, "backup", t0 - HOUR, RUN_FAILED, t0 - 50 * HOUR, 3), 0);
	/* Last success 30h ago: older than max_age, whatever the start time. */
	ck_assert_int_eq(health_seed(h, "aged", t0 - 4 * HOUR, RUN_SUCCESS, t0 - 4 * HOUR, 0), 0);
	r = health_report(h, &f.g, &dm, t0 + 26 * HOUR, NULL);
	ck_assert_str_eq(reasons_of(r, "backup"),
	                 "last run failed; 3 failures in a row (max_failures 3)");
	ck_assert_str_eq(reasons_of(r, "aged"), "no success for 30h00m (max_age 26h00m)");
	ck_assert_str_eq(
	        json_string_value(json_object_get(pipeline_of(r, "backup"), "last_result")),
	        "failed");
	mf = open_memstream(&text, &size);
	health_metrics(r, h, mf);
	fclose(mf);
	ck_assert_ptr_nonnull(strstr(text, "gini_pipeline_healthy{pipeline=\"backup\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "gini_pipeline_healthy{pipeline=\"plain\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "gini_healthy 0\n"));
	ck_assert_ptr_nonnull(strstr(text, "gini_pipeline_last_run_timestamp_seconds{pipeline="
	                                   "\"backup\"} 3596400.000000\n"));
	ck_assert_ptr_nonnull(strstr(text, "gini_pipeline_last_success_timestamp_seconds{pipeline="
	                                   "\"plain\"} 0.000000\n"));
	free(text);
	json_decref(r);
	health_free(h);
}
END_TEST

/* The daemon: a refused reload, and a refused plugin file a step names. */
START_TEST(daemon_reasons)
{
	struct fake f;
	struct health *h = health_new();
	char *errors[] = { "gini.conf:3: syntax error", "gini.conf:9: another" };
	struct health_daemon dm = { .started_usec = HOUR,
		                    .reload_failed = true,
		                    .reload_errors = errors,
		                    .n_reload_errors = 2 };
	struct loader_refusal ref[2] = {
		{ .path = "/stages/backupper.so", .reason = "writable by others" },
		{ .path = "/stages/unused.so", .reason = "not an ELF file" },
	};
	struct pipeline_def pd = { .name = "p" };
	struct step_def sd = { .id = "s", .stage = "backupper", .enabled = false };
	struct gini_config c = { .pipelines = &pd, .n_pipelines = 1 };
	json_t *r, *why;

	fake_init(&f);
	pd.steps = &sd;
	pd.n_steps = 1;
	f.g.config = &c;
	f.g.report.refusals = ref;
	f.g.report.n_refusals = 2;
	r = health_report(h, &f.g, &dm, 2 * HOUR, NULL);
	ck_assert(json_is_false(json_object_get(r, "healthy")));
	why = json_object_get(r, "reasons");
	ck_assert_uint_eq(json_array_size(why), 2);
	ck_assert_str_eq(json_string_value(json_array_get(why, 0)),
	                 "last reload failed: gini.conf:3: syntax error (and more, see ginictl "
	                 "status)");
	ck_assert_str_eq(json_string_value(json_array_get(why, 1)),
	                 "plugin /stages/backupper.so, which a step needs, was refused: writable "
	                 "by others");
	ck_assert_str_eq(health_summary(r), "3 pipelines, all healthy; daemon unhealthy: last "
	                                    "reload failed: gini.conf:3: syntax error (and more, "
	                                    "see ginictl status)");
	json_decref(r);
	health_free(h);
}
END_TEST

/* ---- a real daemon ---- */

/* Starts ginid on extra and PIPELINES; "%1$s" in either is the daemon's directory. */
void
hl_start(const char *extra)
{
	char *fmt, *text;

	daemon_init(&hl_d, "health", "");
	ck_assert_int_ne(asprintf(&fmt, "%s%s", extra ? extra : "", PIPELINES), -1);
	ck_assert_int_ne(asprintf(&text, fmt, hl_d.dir), -1);
	daemon_write(&hl_d, "gini.conf", text);
	free(fmt);
	free(text);
	daemon_start(&hl_d);
}

START_TEST(ginictl_health_and_status)
{
	char *out, *err, *text;
	json_t *j;

	hl_start(NULL);
	ck_assert(daemon_wait_notify(&hl_d,
	                             "STATUS=generation 1: 2 pipelines, 7 stage types, 0 runs "
	                             "in flight; 2 pipelines, all healthy",
	                             5000));
	ck_assert_int_eq(ginictl(&out, &err, "health", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "healthy: 2 pipelines, all healthy\n"));
	free(out);
	free(err);

	/* The exec step fails until the file "ok" exists. */
	ck_assert_int_eq(ginictl(&out, &err, "run", "backup", "--wait", NULL), CTL_EXIT_FAILED);
	free(out);
	free(err);
	ck_assert(daemon_wait_notify(&hl_d, "; 2 pipelines, 1 unhealthy: backup (last run failed)",
	                             5000));
	ck_assert_int_eq(ginictl(&out, &err, "health", NULL), CTL_EXIT_FAILED);
	ck_assert_msg(strstr(out, "backup    UNHEALTHY") && strstr(out, "last run failed") &&
	                      strstr(out, "unhealthy: 2 pipelines, 1 unhealthy: backup (last run "
	                                  "failed)\n"),
	              "%s", out);
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "run", "backup", "--wait", NULL), CTL_EXIT_FAILED);
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "--json", "health", NULL), CTL_EXIT_FAILED);
	j = json_loads(out, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert(json_is_false(json_object_get(j, "healthy")));
	ck_assert_str_eq(reasons_of(j, "backup"),
	                 "last run failed; 2 failures in a row (max_failures 2)");
	ck_assert_int_eq(json_integer_value(
	                         json_object_get(pipeline_of(j, "backup"), "consecutive_failures")),
	                 2);
	json_decref(j);
	free(out);
	free(err);

	/* A success makes it healthy again. */
	daemon_write(&hl_d, "ok", "");
	ck_assert_int_eq(ginictl(&out, &err, "run", "backup", "--wait", NULL), 0);
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "health", NULL), 0);
	free(out);
	free(err);
	ck_assert(daemon_wait_notify(&hl_d, "; 2 pipelines, all healthy", 5000));

	/* A refused reload: unhealthy, with the reason, until one succeeds. */
	daemon_write(&hl_d, "gini.conf", "pipelines = ( { name = \"x\" } );\n");
	ck_assert_int_eq(ginictl(&out, &err, "reload", NULL), CTL_EXIT_FAILED);
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "health", NULL), CTL_EXIT_FAILED);
	ck_assert_msg(strstr(out, "daemon: UNHEALTHY: last reload failed: ") &&
	                      strstr(out, "gini.conf:1: pipeline 'x': no 'steps'"),
	              "%s", out);
	free(out);
	free(err);
	ck_assert(daemon_wait_notify(&hl_d, "; daemon unhealthy: last reload failed: ", 5000));
	ck_assert_int_ne(asprintf(&text, PIPELINES, hl_d.dir), -1);
	daemon_write(&hl_d, "gini.conf", text);
	free(text);
	ck_assert_int_eq(ginictl(&out, &err, "reload", NULL), 0);
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "health", NULL), 0);
	free(out);
	free(err);
}
END_TEST

/* backup's failures in a row, as ginictl --json health reports them. */
static long long
backup_failures(const char **last_result)
{
	static char result[32];
	char *out, *err;
	long long n;
	json_t *j;

	ginictl(&out, &err, "--json", "health", NULL);
	j = json_loads(out, 0, NULL);
	ck_assert_msg(j, "%s", out);
	n = json_integer_value(json_object_get(pipeline_of(j, "backup"), "consecutive_failures"));
	snprintf(result, sizeof(result), "%s",
	         json_string_value(json_object_get(pipeline_of(j, "backup"), "last_result"))
	                 ?: "(none)");
	*last_result = result;
	json_decref(j);
	free(out);
	free(err);
	return n;
}

/*
 * What health knows comes back from the run history after a restart: the
 * failures in a row go on counting, and the pipeline stays unhealthy. A
 * cancelled run counts as no failure, before the restart and after it.
 */
START_TEST(health_survives_restart)
{
	char *out, *err, run[32];
	const char *last;
	json_t *j;

	hl_start(NULL);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(ginictl(&out, &err, "run", "backup", "--wait", NULL),
		                 CTL_EXIT_FAILED);
		free(out);
		free(err);
	}
	/* A third run, cancelled while it sleeps. */
	daemon_write(&hl_d, "slow", "");
	ck_assert_int_eq(ginictl(&out, &err, "run", "backup", NULL), 0);
	ck_assert_int_eq(sscanf(out, "started run %31s", run), 1);
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "cancel", run, NULL), 0);
	free(out);
	free(err);
	for (int i = 0; i < 300 && backup_failures(&last) == 2 && strcmp(last, "cancelled") != 0;
	     i++)
		usleep(20000);
	ck_assert_int_eq(backup_failures(&last), 2);
	ck_assert_str_eq(last, "cancelled");
	ck_assert_int_eq(unlink(daemon_path(&hl_d, "slow")), 0);
	daemon_signal(&hl_d, SIGTERM);
	ck_assert_int_eq(daemon_wait_exit(&hl_d, 30000), 0);
	daemon_restart(&hl_d);

	ck_assert(daemon_wait_notify(
	        &hl_d, "; 2 pipelines, 1 unhealthy: backup (2 failures in a row", 5000));
	ck_assert_int_eq(ginictl(&out, &err, "--json", "health", NULL), CTL_EXIT_FAILED);
	j = json_loads(out, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(reasons_of(j, "backup"), "2 failures in a row (max_failures 2)");
	ck_assert_int_eq(backup_failures(&last), 2);
	ck_assert_str_eq(last, "cancelled");
	json_decref(j);
	free(out);
	free(err);
	/* One more failure after the restart makes three in a row. */
	ck_assert_int_eq(ginictl(&out, &err, "run", "backup", "--wait", NULL), CTL_EXIT_FAILED);
	free(out);
	free(err);
	ck_assert_int_eq(ginictl(&out, &err, "--json", "health", NULL), CTL_EXIT_FAILED);
	j = json_loads(out, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(json_integer_value(
	                         json_object_get(pipeline_of(j, "backup"), "consecutive_failures")),
	                 3);
	json_decref(j);
	free(out);
	free(err);
}
END_TEST

/*
 * A refused plugin file that a configured step names makes the daemon
 * unhealthy, even while that step is disabled (so the configuration loads).
 */
START_TEST(refused_plugin_a_step_needs)
{
	static const char *const stages[] = { "log", "fail", "exec" };
	char *plugins, *from, *to, *out, *err;

	daemon_init(&hl_d, "health",
	            "pipelines = ( { name = \"p\"; steps = (\n"
	            "  { id = \"a\"; stage = \"log\"; params = { message = \"a\"; }; },\n"
	            "  { id = \"b\"; stage = \"mystage\"; enabled = false; } ); } );\n");
	plugins = path_join(hl_d.dir, "stages");
	ck_assert_int_eq(mkdir(plugins, 0755), 0);
	for (size_t i = 0; i < ARRAY_SIZE(stages); i++) {
		ck_assert_int_ne(asprintf(&from, "stages/%s.so", stages[i]), -1);
		ck_assert_int_ne(asprintf(&to, "%s/%s.so", plugins, stages[i]), -1);
		test_copy_file(test_build_path(from), to, 0755);
		free(from);
		free(to);
	}
	/* Writable by others: refused by the loader. */
	to = path_join(plugins, "mystage.so");
	test_copy_file(test_build_path("stages/log.so"), to, 0755);
	ck_assert_int_eq(chmod(to, 0666), 0);
	daemon_spawn(&hl_d, plugins, NULL);
	ck_assert(daemon_wait_notify(&hl_d, "READY=1", 20000));
	ck_assert_int_eq(ginictl(&out, &err, "health", NULL), CTL_EXIT_FAILED);
	ck_assert_msg(strstr(out, "daemon: UNHEALTHY: plugin ") &&
	                      strstr(out, "/stages/mystage.so, which a step needs, was refused: "),
	              "%s", out);
	free(out);
	free(err);
	free(to);
	free(plugins);
}
END_TEST

/* STATUS= changes when a max_age runs out, with no run to prompt it. */
START_TEST(status_when_max_age_runs_out)
{
	char *out, *err;

	daemon_init(&hl_d, "health",
	            "pipelines = ( { name = \"stale\"; health = { max_age = \"1s\"; };\n"
	            "  steps = ( { id = \"a\"; stage = \"log\"; params = { message = \"a\"; }; } "
	            "); } );\n");
	daemon_start(&hl_d);
	ck_assert(daemon_wait_notify(&hl_d, "; 1 pipeline, all healthy", 5000));
	ck_assert(daemon_wait_notify(&hl_d,
	                             "; 1 pipeline, 1 unhealthy: stale (no success since "
	                             "start-up, ",
	                             20000));
	ck_assert_int_eq(ginictl(&out, &err, "health", NULL), CTL_EXIT_FAILED);
	free(out);
	free(err);
}
END_TEST

Suite *
health_suite(void)
{
	Suite *s = suite_create("health");
	TCase *tc;

	tc = tcase_create("config");
	tcase_add_test(tc, config_keys);
	suite_add_tcase(s, tc);
	tc = tcase_create("rules");
	tcase_add_test(tc, rules);
	tcase_add_test(tc, summary_line_as_the_report);
	tcase_add_test(tc, seed);
	tcase_add_test(tc, daemon_reasons);
	suite_add_tcase(s, tc);
	tc = tcase_create("ginictl");
	tcase_add_checked_fixture(tc, NULL, hl_teardown);
	tcase_add_test(tc, ginictl_health_and_status);
	tcase_add_test(tc, health_survives_restart);
	tcase_add_test(tc, status_when_max_age_runs_out);
	tcase_add_test(tc, refused_plugin_a_step_needs);
	suite_add_tcase(s, tc);
	health_http_tcases(s);
	return s;
}
