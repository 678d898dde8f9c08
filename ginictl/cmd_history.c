/* SPDX-License-Identifier: MIT */
/*
 * The ginictl commands that read the run history: history (a table of
 * runs, filtered) and logs (a run's output, or with --follow, as it comes).
 */
#include "cmds.h"

#include "format.h"
#include "proto.h"
#include "table.h"
#include "util.h"

#include "when.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct history_opts {
	json_t *args;
};

static int
history_opt(int opt, const char *arg, void *ud)
{
	struct history_opts *o = ud;
	char *end;
	long long n;

	switch (opt) {
	case 'n':
		n = strtoll(arg, &end, 10);
		if (*end || n < 1 || n > 10000) {
			fprintf(stderr, "ginictl history: invalid count '%s' (1 to 10000)\n", arg);
			return -1;
		}
		json_object_set_new(o->args, "limit", json_integer(n));
		return 0;
	case 'p':
		json_object_set_new(o->args, "pipeline", json_string(arg));
		return 0;
	case 'r':
		json_object_set_new(o->args, "result", json_string(arg));
		return 0;
	case 'S':
	case 'U':
		n = when_parse(arg, time(NULL));
		if (n < 0) {
			fprintf(stderr,
			        "ginictl history: invalid time '%s' (use a duration ago such as "
			        "2h, or ISO 8601 such as 2026-12-01T08:00)\n",
			        arg);
			return -1;
		}
		json_object_set_new(o->args, opt == 'S' ? "since" : "until", json_integer(n));
		return 0;
	default:
		return -1;
	}
}

int
cmd_history(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "lines", required_argument, NULL, 'n' },
		{ "limit", required_argument, NULL, 'n' },
		{ "pipeline", required_argument, NULL, 'p' },
		{ "result", required_argument, NULL, 'r' },
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct history_opts o = { .args = json_object() };
	struct table t = { .head = { "RUN", "PIPELINE", "START", "DURATION", "RESULT", "TRIGGER",
		                     "FAILED STEP" },
		           .ncols = 7,
		           .right = { [0] = true, [3] = true } };
	json_t *r, *items;
	int k, x;

	k = verb_getopt(c, v, argc, argv, "n:h", opts, history_opt, &o);
	if (k < 0 || argc - k > 1) {
		if (k >= 0)
			fprintf(stderr, "ginictl history: at most one PIPELINE expected\n");
		json_decref(o.args);
		return k == -2 ? 0 : CTL_EXIT_USAGE;
	}
	if (k < argc)
		json_object_set_new(o.args, "pipeline", json_string(argv[k]));
	/* The table shows no steps: do not have the daemon read them. */
	if (!c->json)
		json_object_set_new(o.args, "steps", json_false());
	r = client_request(c, "history", o.args, REPLY_TIMEOUT_MS, NULL, &x);
	if (!r)
		return x;
	items = json_object_get(r, "items");
	if (c->json) {
		fmt_json(items);
		json_decref(r);
		return 0;
	}
	for (size_t i = 0; i < json_array_size(items); i++) {
		json_t *h = json_array_get(items, i);
		char id[32], start[40], dur[32], failed[512];

		if (json_is_string(json_object_get(h, "failed_step")))
			snprintf(failed, sizeof(failed), "%s%s%s", fmt_str(h, "failed_step"),
			         json_is_string(json_object_get(h, "message")) ? ": " : "",
			         json_is_string(json_object_get(h, "message"))
			                 ? fmt_str(h, "message")
			                 : "");
		else
			strcpy(failed, "-");
		table_add(&t, fmt_int(h, "run_id", id, sizeof(id)), fmt_str(h, "pipeline"),
		          fmt_time(h, "start", start, sizeof(start)),
		          fmt_dur(h, "duration_usec", dur, sizeof(dur)), fmt_str(h, "result"),
		          fmt_str(h, "trigger"), failed);
	}
	table_print(&t, c->width);
	json_decref(r);
	return 0;
}

struct logs_opts {
	bool follow;
};

static int
logs_opt(int opt, const char *arg, void *ud)
{
	struct logs_opts *o = ud;

	(void)arg;
	if (opt != 'f')
		return -1;
	o->follow = true;
	return 0;
}

/* How often --follow asks for what a running run said since. */
#define FOLLOW_POLL_MS 200

/* Prints the lines of a logs reply (unless quiet); remembers where each step got to. */
static void
print_log_lines(json_t *r, json_t *from, bool quiet)
{
	json_t *steps = json_object_get(r, "steps");

	for (size_t i = 0; i < json_array_size(steps); i++) {
		json_t *s = json_array_get(steps, i), *lines = json_object_get(s, "lines");

		for (size_t j = 0; !quiet && j < json_array_size(lines); j++) {
			json_t *l = json_array_get(lines, j);

			printf("%s %s %s: %s\n", fmt_str(l, "ts"), fmt_str(s, "id"),
			       fmt_str(l, "level"), fmt_str(l, "text"));
		}
		while (json_array_size(from) <= i)
			json_array_append_new(from, json_integer(0));
		json_array_set_new(from, i,
		                   json_integer(json_integer_value(json_object_get(s, "next"))));
	}
	fflush(stdout);
}

static void
print_log_summary(json_t *r)
{
	json_t *steps = json_object_get(r, "steps");
	char id[32];

	printf("run %s (pipeline '%s'): %s\n", fmt_int(r, "run_id", id, sizeof(id)),
	       fmt_str(r, "pipeline"), fmt_str(r, "result"));
	for (size_t i = 0; i < json_array_size(steps); i++) {
		json_t *s = json_array_get(steps, i);
		char d[32];

		printf("  step '%s': %s, %s attempt%s, %s ms%s%s%s\n", fmt_str(s, "id"),
		       fmt_str(s, "result"), fmt_int(s, "attempts", id, sizeof(id)),
		       json_integer_value(json_object_get(s, "attempts")) == 1 ? "" : "s",
		       fmt_int(s, "duration_ms", d, sizeof(d)),
		       json_is_string(json_object_get(s, "message")) ? ": " : "",
		       json_is_string(json_object_get(s, "message")) ? fmt_str(s, "message") : "",
		       json_is_true(json_object_get(s, "output_truncated"))
		               ? " (output truncated: the first lines were dropped)"
		               : "");
	}
}

int
cmd_logs(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct logs_opts o = { 0 };
	json_t *from = json_array(), *r;
	long long run_id;
	char *end;
	int k, x = 0;

	k = verb_getopt(c, v, argc, argv, "fh", opts, logs_opt, &o);
	if (k < 0 || argc - k < 1 || argc - k > 2) {
		if (k >= 0)
			fprintf(stderr, "ginictl logs: RUN and at most one STEP expected\nTry "
			                "'ginictl logs --help'.\n");
		json_decref(from);
		return k == -2 ? 0 : CTL_EXIT_USAGE;
	}
	run_id = strtoll(argv[k], &end, 10);
	if (*end || run_id < 1) {
		fprintf(stderr, "ginictl logs: invalid run id '%s'\n", argv[k]);
		json_decref(from);
		return CTL_EXIT_USAGE;
	}
	for (;;) {
		json_t *args = json_pack("{s:I, s:O}", "run_id", (json_int_t)run_id, "from", from);

		if (k + 1 < argc)
			json_object_set_new(args, "step", json_string(argv[k + 1]));
		r = client_request(c, "logs", args, REPLY_TIMEOUT_MS, NULL, &x);
		if (!r)
			break;
		if (c->json) {
			char *text = json_dumps(r, o.follow ? JSON_COMPACT : JSON_INDENT(2));

			printf("%s\n", text);
			free(text);
		}
		print_log_lines(r, from, c->json);
		if (!o.follow || !json_is_true(json_object_get(r, "running"))) {
			if (!c->json)
				print_log_summary(r);
			json_decref(r);
			break;
		}
		json_decref(r);
		poll(NULL, 0, FOLLOW_POLL_MS);
	}
	json_decref(from);
	return x;
}
