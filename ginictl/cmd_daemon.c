/* SPDX-License-Identifier: MIT */
/*
 * The ginictl commands about the daemon as a whole: status, stages,
 * pipelines, reload, metrics and health. Each sends one request (stages:
 * one per page) and prints the reply as a table or text, or as JSON.
 */
#include "cmds.h"

#include "format.h"
#include "proto.h"
#include "table.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The start every command without arguments shares: its options, then the
 * request named after it. Returns the reply, or NULL with *rc the exit
 * status (0 after --help).
 */
static json_t *
request_simple(struct ctl *c, const struct verb *v, int argc, char **argv, int *rc)
{
	int x = verb_simple_args(c, v, argc, argv);

	*rc = x == -2 ? 0 : x;
	if (x)
		return NULL;
	return client_request(c, v->name, NULL, REPLY_TIMEOUT_MS, NULL, rc);
}

/* --json: the reply as it came. */
static int
print_json(json_t *r)
{
	fmt_json(r);
	json_decref(r);
	return 0;
}

int
cmd_status(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	json_t *r, *reload;
	char b1[64], b2[64], b3[32];
	int x;

	r = request_simple(c, v, argc, argv, &x);
	if (!r)
		return x;
	if (c->json)
		return print_json(r);
	printf("ginid %s (pid %s), up %s, protocol %s\n", fmt_str(r, "version"),
	       fmt_int(r, "pid", b1, sizeof(b1)),
	       format_elapsed((uint64_t)(json_real_value(json_object_get(r, "uptime_sec")) * 1e6),
	                      b2, sizeof(b2)),
	       fmt_int(r, "protocol", b3, sizeof(b3)));
	printf("generation:     %s\n", fmt_int(r, "generation", b1, sizeof(b1)));
	printf("stage types:    %s\n", fmt_int(r, "stage_types", b1, sizeof(b1)));
	printf("pipelines:      %s\n", fmt_int(r, "pipelines", b1, sizeof(b1)));
	printf("runs in flight: %s\n", fmt_int(r, "runs_in_flight", b1, sizeof(b1)));
	printf("workers:        %s\n", fmt_int(r, "workers", b1, sizeof(b1)));
	if (json_integer_value(json_object_get(r, "workers_abandoned")) > 0)
		printf("abandoned:      %s worker%s stuck in a stage that ignored cancellation\n",
		       fmt_int(r, "workers_abandoned", b1, sizeof(b1)),
		       json_integer_value(json_object_get(r, "workers_abandoned")) == 1 ? "" : "s");
	reload = json_object_get(r, "disabled");
	if (json_array_size(reload)) {
		printf("disabled:      ");
		for (size_t i = 0; i < json_array_size(reload); i++)
			printf(" %s", json_string_value(json_array_get(reload, i)));
		printf("\n");
	}
	reload = json_object_get(r, "last_reload");
	if (json_is_object(reload)) {
		json_t *errors = json_object_get(reload, "errors");

		printf("last reload:    %s, %s\n", fmt_time(reload, "time", b1, sizeof(b1)),
		       json_is_true(json_object_get(reload, "ok")) ? "ok" : "FAILED");
		for (size_t i = 0; i < json_array_size(errors); i++)
			printf("  %s\n", json_string_value(json_array_get(errors, i)));
	} else {
		printf("last reload:    never\n");
	}
	reload = json_object_get(r, "refused_plugins");
	if (json_array_size(reload)) {
		printf("refused plugin files (%zu):\n", json_array_size(reload));
		for (size_t i = 0; i < json_array_size(reload); i++) {
			json_t *e = json_array_get(reload, i);

			printf("  %s: %s\n", fmt_str(e, "path"), fmt_str(e, "reason"));
		}
	}
	json_decref(r);
	return 0;
}

struct stages_opts {
	json_t *args;
	bool paged; /* --offset or --limit given: one page only */
};

static int
stages_opt(int opt, const char *arg, void *ud)
{
	struct stages_opts *o = ud;
	char *end;
	long long n;

	switch (opt) {
	case 'c':
		json_object_set_new(o->args, "category", json_string(arg));
		return 0;
	case 'f':
		json_object_set_new(o->args, "filter", json_string(arg));
		return 0;
	case 'o':
	case 'l':
		n = strtoll(arg, &end, 10);
		if (*end || n < (opt == 'l' ? 1 : 0)) {
			fprintf(stderr, "ginictl stages: invalid number '%s'\n", arg);
			return -1;
		}
		json_object_set_new(o->args, opt == 'o' ? "offset" : "limit", json_integer(n));
		o->paged = true;
		return 0;
	}
	return -1;
}

int
cmd_stages(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "category", required_argument, NULL, 'c' },
		{ "filter", required_argument, NULL, 'f' },
		{ "offset", required_argument, NULL, 'o' },
		{ "limit", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct stages_opts o = { .args = json_object() };
	struct table t = { .head = { "ID", "VERSION", "CATEGORY", "RUNS", "FAILED", "CRASHED",
		                     "MEAN", "MAX", "FILE" },
		           .ncols = 9,
		           .right = {
		                   [3] = true, [4] = true, [5] = true, [6] = true, [7] = true } };
	json_t *all = json_array();
	long long offset = 0, total = 0;
	int k, x = 0;

	k = verb_getopt(c, v, argc, argv, "h", opts, stages_opt, &o);
	if (k < 0 || k < argc) {
		if (k >= 0)
			fprintf(stderr, "ginictl stages: unexpected argument '%s'\n", argv[k]);
		json_decref(o.args);
		json_decref(all);
		return k == -2 ? 0 : CTL_EXIT_USAGE;
	}
	/* Without --offset/--limit: every page, 1000 at a time
	 * ($GINICTL_PAGE_SIZE, for tests, makes pages smaller). */
	if (!o.paged) {
		const char *ps = getenv("GINICTL_PAGE_SIZE");
		long page = ps ? strtol(ps, NULL, 10) : 1000;

		json_object_set_new(o.args, "limit",
		                    json_integer(page >= 1 && page <= 10000 ? page : 1000));
	}
	for (;;) {
		json_t *r, *items;

		if (!o.paged)
			json_object_set_new(o.args, "offset", json_integer(offset));
		r = client_request(c, "stages", json_incref(o.args), REPLY_TIMEOUT_MS, NULL, &x);
		if (!r)
			break;
		items = json_object_get(r, "items");
		total = json_integer_value(json_object_get(r, "total"));
		size_t got = json_array_size(items);

		json_array_extend(all, items);
		offset += (long long)got;
		/* items is borrowed from r: done with both now. */
		json_decref(r);
		if (o.paged || got == 0 || offset >= total)
			break;
	}
	json_decref(o.args);
	if (x) {
		json_decref(all);
		return x;
	}
	if (c->json) {
		json_t *out = json_pack("{s:I, s:o}", "total", (json_int_t)total, "items", all);

		fmt_json(out);
		json_decref(out);
		return 0;
	}
	for (size_t i = 0; i < json_array_size(all); i++) {
		json_t *s = json_array_get(all, i);
		char runs[32], failed[32], crashed[32], mean[32], max[32];

		table_add(&t, fmt_str(s, "id"), fmt_str(s, "version"), fmt_str(s, "category"),
		          fmt_int(s, "runs", runs, sizeof(runs)),
		          fmt_int(s, "failures", failed, sizeof(failed)),
		          fmt_int(s, "crashes", crashed, sizeof(crashed)),
		          fmt_dur(s, "mean_usec", mean, sizeof(mean)),
		          fmt_dur(s, "max_usec", max, sizeof(max)), fmt_str(s, "file"));
	}
	table_print(&t, c->width);
	printf("%zu of %lld stage types\n", json_array_size(all), total);
	json_decref(all);
	return 0;
}

static void
triggers_text(json_t *t, char *buf, size_t size)
{
	json_t *sigs = json_object_get(t, "signals");
	size_t off = 0;

	buf[0] = 0;
#define ADD(...)                                                                                   \
	do {                                                                                       \
		if (off < size)                                                                    \
			off += (size_t)snprintf(buf + off, size - off, __VA_ARGS__);               \
	} while (0)
	for (size_t i = 0; i < json_array_size(sigs); i++)
		ADD("%s%s", off ? ", " : "", json_string_value(json_array_get(sigs, i)));
	if (json_is_string(json_object_get(t, "every")))
		ADD("%severy %s%s", off ? ", " : "", fmt_str(t, "every"),
		    json_is_true(json_object_get(t, "persistent")) &&
		                    !json_is_string(json_object_get(t, "schedule"))
		            ? " persistent"
		            : "");
	if (json_is_string(json_object_get(t, "schedule")))
		ADD("%s\"%s\"%s%s%s", off ? ", " : "", fmt_str(t, "schedule"),
		    json_is_string(json_object_get(t, "timezone")) ? " " : "",
		    json_is_string(json_object_get(t, "timezone")) ? fmt_str(t, "timezone") : "",
		    json_is_true(json_object_get(t, "persistent")) ? " persistent" : "");
	if (json_is_string(json_object_get(t, "random_delay")))
		ADD(" ~%s", fmt_str(t, "random_delay"));
	if (json_is_true(json_object_get(t, "on_start")))
		ADD("%son start", off ? ", " : "");
	if (json_is_object(json_object_get(t, "watch"))) {
		json_t *paths = json_object_get(json_object_get(t, "watch"), "paths");

		ADD("%swatch", off ? ", " : "");
		for (size_t i = 0; i < json_array_size(paths); i++)
			ADD(" %s", json_string_value(json_array_get(paths, i)));
	}
	if (json_is_object(json_object_get(t, "after_pipeline")))
		ADD("%safter %s (%s)", off ? ", " : "",
		    fmt_str(json_object_get(t, "after_pipeline"), "pipeline"),
		    fmt_str(json_object_get(t, "after_pipeline"), "result"));
	if (!off)
		ADD("on request");
#undef ADD
}

int
cmd_pipelines(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	struct table t = { .head = { "NAME", "NEXT", "LAST", "RESULT", "RUNNING", "TRIGGERS" },
		           .ncols = 6,
		           .right = { [4] = true } };
	json_t *r, *items;
	int x;

	r = request_simple(c, v, argc, argv, &x);
	if (!r)
		return x;
	if (c->json)
		return print_json(r);
	items = json_object_get(r, "items");
	for (size_t i = 0; i < json_array_size(items); i++) {
		json_t *p = json_array_get(items, i);
		char next[40], last[40], running[32], trig[256];

		snprintf(running, sizeof(running), "%lld%s",
		         (long long)json_integer_value(json_object_get(p, "running")),
		         json_is_true(json_object_get(p, "queued")) ? "+1 queued" : "");
		triggers_text(json_object_get(p, "triggers"), trig, sizeof(trig));
		if (json_is_false(json_object_get(p, "enabled"))) {
			char t2[sizeof(trig)];

			snprintf(t2, sizeof(t2), "DISABLED: %s", trig);
			memcpy(trig, t2, sizeof(trig));
		}
		table_add(&t, fmt_str(p, "name"), fmt_time(p, "next", next, sizeof(next)),
		          fmt_time(p, "last", last, sizeof(last)), fmt_str(p, "last_result"),
		          running, trig);
	}
	table_print(&t, c->width);
	printf("%zu pipelines\n", json_array_size(items));
	json_decref(r);
	return 0;
}

int
cmd_reload(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	json_t *r;
	char b[4][32];
	int x;

	r = request_simple(c, v, argc, argv, &x);
	if (!r)
		return x;
	if (c->json)
		fmt_json(r);
	else
		printf("reloaded: generation %s, %s stage types (%s plugin files loaded anew), %s "
		       "pipelines\n",
		       fmt_int(r, "generation", b[0], sizeof(b[0])),
		       fmt_int(r, "stage_types", b[1], sizeof(b[1])),
		       fmt_int(r, "plugins_loaded", b[2], sizeof(b[2])),
		       fmt_int(r, "pipelines", b[3], sizeof(b[3])));
	json_decref(r);
	return 0;
}

int
cmd_metrics(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	json_t *r;
	int x;

	c->text_lines = true;
	r = request_simple(c, v, argc, argv, &x);
	if (!r)
		return x;
	if (c->json)
		fmt_json(r);
	else
		fputs(fmt_str(r, "text"), stdout);
	json_decref(r);
	return 0;
}

/* health: exit 1 when the daemon or a pipeline is unhealthy, saying why. */
int
cmd_health(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	struct table t = { .head = { "PIPELINE", "HEALTH", "LAST RUN", "RESULT", "LAST SUCCESS",
		                     "FAILURES", "REASON" },
		           .ncols = 7 };
	json_t *r, *pipelines, *reasons;
	bool healthy;
	int x;

	r = request_simple(c, v, argc, argv, &x);
	if (!r)
		return x;
	healthy = json_is_true(json_object_get(r, "healthy"));
	pipelines = json_object_get(r, "pipelines");
	reasons = json_object_get(r, "reasons");
	if (c->json) {
		fmt_json(r);
	} else {
		for (size_t i = 0; i < json_array_size(pipelines); i++) {
			json_t *p = json_array_get(pipelines, i),
			       *why = json_object_get(p, "reasons");
			char b[3][64], why_s[512] = "";
			size_t off = 0;

			for (size_t k = 0; k < json_array_size(why) && off < sizeof(why_s); k++)
				off += (size_t)snprintf(why_s + off, sizeof(why_s) - off, "%s%s",
				                        k ? "; " : "",
				                        json_string_value(json_array_get(why, k)));
			table_add(&t, fmt_str(p, "name"),
			          json_is_true(json_object_get(p, "healthy")) ? "ok" : "UNHEALTHY",
			          fmt_time(p, "last_run", b[0], sizeof(b[0])),
			          json_is_string(json_object_get(p, "last_result"))
			                  ? fmt_str(p, "last_result")
			                  : "-",
			          fmt_time(p, "last_success", b[1], sizeof(b[1])),
			          fmt_int(p, "consecutive_failures", b[2], sizeof(b[2])),
			          off ? why_s : "-");
		}
		table_print(&t, c->width);
		for (size_t i = 0; i < json_array_size(reasons); i++)
			printf("daemon: UNHEALTHY: %s\n",
			       json_string_value(json_array_get(reasons, i)));
		printf("%s: %s\n", healthy ? "healthy" : "unhealthy", fmt_str(r, "summary"));
	}
	json_decref(r);
	return healthy ? CTL_EXIT_OK : CTL_EXIT_FAILED;
}
