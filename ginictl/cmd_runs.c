/* SPDX-License-Identifier: MIT */
/*
 * The ginictl commands that act on runs: run (with --wait, the steps as
 * they finish), cancel, enable and disable.
 */
#include "cmds.h"

#include "format.h"
#include "proto.h"
#include "table.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
print_step_event(struct ctl *c, json_t *ev)
{
	json_t *s = json_object_get(ev, "step");
	char d[32];

	if (c->json) {
		char *text = json_dumps(ev, JSON_COMPACT);

		printf("%s\n", text);
		free(text);
	} else {
		printf("  %-20s %-14s %-9s %3lld  %8s  %s\n", fmt_str(s, "id"), fmt_str(s, "stage"),
		       fmt_str(s, "result"),
		       (long long)json_integer_value(json_object_get(s, "attempts")),
		       fmt_dur(s, "duration_usec", d, sizeof(d)),
		       json_is_string(json_object_get(s, "message")) ? fmt_str(s, "message") : "");
	}
	fflush(stdout);
}

struct run_opts {
	bool dry, wait, force;
};

static int
run_opt(int opt, const char *arg, void *ud)
{
	struct run_opts *o = ud;

	(void)arg;
	if (opt == 'd')
		o->dry = true;
	else if (opt == 'w')
		o->wait = true;
	else if (opt == 'f')
		o->force = true;
	else
		return -1;
	return 0;
}

int
cmd_run(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'd' },
		{ "wait", no_argument, NULL, 'w' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct run_opts o = { 0 };
	json_t *r, *args, *params;
	char d[32], dur[32];
	int k, x;

	k = verb_getopt(c, v, argc, argv, "h", opts, run_opt, &o);
	if (k == -2)
		return 0;
	if (k < 0)
		return CTL_EXIT_USAGE;
	if (argc - k < 1) {
		fprintf(stderr, "ginictl run: a PIPELINE is expected\nTry 'ginictl run "
		                "--help'.\n");
		return CTL_EXIT_USAGE;
	}
	/* KEY=VALUE: the value is everything after the first '=', as it is. */
	params = json_object();
	for (int i = k + 1; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		char *key;

		if (!eq || eq == argv[i]) {
			fprintf(stderr,
			        "ginictl run: '%s' is not KEY=VALUE\nTry 'ginictl run --help'.\n",
			        argv[i]);
			json_decref(params);
			return CTL_EXIT_USAGE;
		}
		key = strndup(argv[i], (size_t)(eq - argv[i]));
		if (!key || json_object_get(params, key)) {
			fprintf(stderr, "ginictl run: param '%s' given twice\n", key ? key : "");
			free(key);
			json_decref(params);
			return CTL_EXIT_USAGE;
		}
		json_object_set_new(params, key, json_string(eq + 1));
		free(key);
	}
	args = json_pack("{s:s, s:b, s:b}", "pipeline", argv[k], "dry_run", o.dry, "wait", o.wait);
	/* Only when given: a daemon before params would refuse the argument. */
	if (json_object_size(params))
		json_object_set(args, "params", params);
	json_decref(params);
	if (o.force)
		json_object_set_new(args, "force", json_true());
	if (o.wait && !c->json)
		printf("  %-20s %-14s %-9s %3s  %8s  %s\n", "STEP", "STAGE", "RESULT", "TRY",
		       "DURATION", "MESSAGE");
	r = client_request(c, "run", args, o.wait ? -1 : REPLY_TIMEOUT_MS, print_step_event, &x);
	if (!r)
		return x;
	if (c->json) {
		fmt_json(r);
	} else if (o.dry) {
		json_t *levels = json_object_get(r, "levels");

		printf("Dry run of pipeline '%s': nothing is executed; steps on one level may run "
		       "in "
		       "parallel.\n",
		       fmt_str(r, "pipeline"));
		if (o.wait)
			printf("\n");
		for (size_t l = 0; l < json_array_size(levels); l++) {
			json_t *steps = json_array_get(levels, l);

			for (size_t i = 0; i < json_array_size(steps); i++) {
				json_t *s = json_array_get(steps, i);
				char label[32] = "";

				if (i == 0)
					snprintf(label, sizeof(label), "level %zu:", l + 1);
				printf("  %-10s %-20s [%s]  %s\n", label, fmt_str(s, "step"),
				       fmt_str(s, "stage"), fmt_str(s, "description"));
			}
		}
	} else if (o.wait) {
		printf("run %s: %s in %s%s%s\n", fmt_int(r, "run_id", d, sizeof(d)),
		       fmt_str(r, "result"), fmt_dur(r, "duration_usec", dur, sizeof(dur)),
		       json_is_string(json_object_get(r, "failed_step")) ? ", first failure: step "
		                                                         : "",
		       json_is_string(json_object_get(r, "failed_step")) ? fmt_str(r, "failed_step")
		                                                         : "");
	} else if (streq(fmt_str(r, "outcome"), "queued")) {
		printf("queued: pipeline '%s' is running; it runs again when that run ends\n",
		       argv[k]);
	} else {
		printf("started run %s of pipeline '%s'\n", fmt_int(r, "run_id", d, sizeof(d)),
		       argv[k]);
	}
	/* --wait: the run failed; --dry-run: a step's health check failed. */
	x = (o.wait || o.dry) && !streq(fmt_str(r, "result"), "success") ? CTL_EXIT_FAILED : 0;
	json_decref(r);
	return x;
}

int
cmd_cancel(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	long long id;
	char *end;
	json_t *r;
	int k = verb_getopt(c, v, argc, argv, "h", verb_help_only, verb_no_opt, NULL), x;

	if (k == -2)
		return 0;
	if (k < 0)
		return CTL_EXIT_USAGE;
	if (argc - k != 1) {
		fprintf(stderr, "ginictl cancel: exactly one RUN id expected\nTry 'ginictl cancel "
		                "--help'.\n");
		return CTL_EXIT_USAGE;
	}
	errno = 0;
	id = strtoll(argv[k], &end, 10);
	if (errno || end == argv[k] || *end || id < 1) {
		fprintf(stderr, "ginictl cancel: invalid run id '%s'\n", argv[k]);
		return CTL_EXIT_USAGE;
	}
	r = client_request(c, "cancel", json_pack("{s:I}", "run_id", (json_int_t)id),
	                   REPLY_TIMEOUT_MS, NULL, &x);
	if (!r)
		return x;
	if (c->json)
		fmt_json(r);
	else
		printf("run %lld: cancelling\n", id);
	json_decref(r);
	return 0;
}

static int
switch_pipeline(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	json_t *r;
	int k = verb_getopt(c, v, argc, argv, "h", verb_help_only, verb_no_opt, NULL), x;

	if (k == -2)
		return 0;
	if (k < 0)
		return CTL_EXIT_USAGE;
	if (argc - k != 1) {
		fprintf(stderr,
		        "ginictl %s: exactly one PIPELINE expected\nTry 'ginictl %s "
		        "--help'.\n",
		        v->name, v->name);
		return CTL_EXIT_USAGE;
	}
	r = client_request(c, v->name, json_pack("{s:s}", "pipeline", argv[k]), REPLY_TIMEOUT_MS,
	                   NULL, &x);
	if (!r)
		return x;
	if (c->json)
		fmt_json(r);
	else
		printf("pipeline '%s': %s%s\n", argv[k],
		       json_is_true(json_object_get(r, "enabled")) ? "enabled" : "disabled",
		       json_is_true(json_object_get(r, "changed")) ? "" : " (it already was)");
	json_decref(r);
	return 0;
}

int
cmd_enable(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	return switch_pipeline(c, v, argc, argv);
}

int
cmd_disable(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	return switch_pipeline(c, v, argc, argv);
}
