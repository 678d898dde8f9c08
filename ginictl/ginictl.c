/* SPDX-License-Identifier: MIT */
/*
 * ginictl: the operator's client for a running ginid, over the control
 * socket (protocol in proto.h, client.c), plus `inspect`, which needs no
 * daemon. One command table, here, drives dispatch and help; each command
 * lives in a cmd_*.c file by what it is about. Output is a table sized to
 * the terminal, or the daemon's JSON with --json. Exit codes: 0 ok, 1 the
 * operation failed, 2 usage, 3 cannot reach the daemon, 4 permission denied.
 */
#include "cmds.h"

#include "proto.h"
#include "util.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#ifndef GINI_CONTROL_SOCKET
#define GINI_CONTROL_SOCKET "/run/gini/ginid.sock"
#endif

static const struct verb verbs[] = {
	{ "status", "", "Show the daemon's version, uptime, generation, counts and last reload", "",
	  cmd_status },
	{ "stages", "[--category C] [--filter TEXT] [--offset N] [--limit N]",
	  "List the registered stage types with their counters",
	  "\nWithout --offset or --limit every stage type is listed (fetched 1000 at a time).\n"
	  "  --category C     only stage types of category C\n"
	  "  --filter TEXT    only those whose id or summary contains TEXT\n"
	  "  --offset N       skip the first N matches\n"
	  "  --limit N        show at most N (1 to 10000)\n",
	  cmd_stages },
	{ "pipelines", "",
	  "List the pipelines with their triggers, next and last fire, and last result", "",
	  cmd_pipelines },
	{ "run", "PIPELINE [KEY=VALUE ...] [--dry-run] [--wait] [--force]",
	  "Start a run of PIPELINE through its overlap policy",
	  "\nKEY=VALUE sets one of the params the pipeline declares (the others keep their\n"
	  "defaults); an undeclared KEY or a VALUE that does not match is refused (exit 2).\n"
	  "  --dry-run   show what each step would do and run its health check, executing\n"
	  "              nothing; exits 1 if a health check fails\n"
	  "  --wait      follow the run: print each step as it finishes, exit 0 only if the\n"
	  "              run succeeded\n"
	  "  --force     run it even if it is disabled\n",
	  cmd_run },
	{ "cancel", "RUN", "Cancel run RUN: its steps are told to stop, its programs killed",
	  "\nExec steps get SIGTERM, then SIGKILL after their kill_grace; the run ends\n"
	  "'cancelled'.\n",
	  cmd_cancel },
	{ "enable", "PIPELINE", "Let PIPELINE's triggers start it again", "", cmd_enable },
	{ "disable", "PIPELINE", "Make PIPELINE ignore its triggers; a forced run still runs it",
	  "\nKept across reloads and restarts, in the state directory.\n", cmd_disable },
	{ "history",
	  "[PIPELINE] [--pipeline P] [--result R] [--since WHEN] [--until WHEN] [--limit N]",
	  "Show recorded runs, newest first",
	  "\nRuns are kept in STATE_DIR/history.db across restarts.\n"
	  "  --pipeline P       only runs of pipeline P (as the PIPELINE argument)\n"
	  "  --result R         only runs that ended R: success, failed, cancelled, timeout,\n"
	  "                     interrupted, or still running\n"
	  "  --since WHEN       only runs started at or after WHEN: a duration ago (2h, 1d) or\n"
	  "                     ISO 8601 (2026-12-01, 2026-12-01T08:00, ...Z, ...+01:00)\n"
	  "  --until WHEN       only runs started before WHEN\n"
	  "  -n, --limit N      show N runs (default 20, at most 10000)\n"
	  "With --json: an array of runs with their steps.\n",
	  cmd_history },
	{ "logs", "RUN [STEP] [--follow]", "Show what a run's steps logged, with timestamps",
	  "\nThe output of each step (its log lines, and the stdout and stderr of exec steps),\n"
	  "up to history_output_max bytes per step, the last lines kept.\n"
	  "  -f, --follow   stream a run in progress until it ends\n",
	  cmd_logs },
	{ "reload", "", "Reload configuration and plugins, as SIGHUP does, and show the outcome",
	  "\nA reload with errors changes nothing; every error is printed.\n", cmd_reload },
	{ "metrics", "", "Print the metrics in the Prometheus text format (version 0.0.4)", "",
	  cmd_metrics },
	{ "health", "",
	  "Show whether the daemon and each pipeline are healthy; exit 1 if any is not",
	  "\nA pipeline is unhealthy when its last run failed, or when its health = { ... }\n"
	  "limits are exceeded: no success within max_age, or max_failures failures in a row.\n"
	  "The daemon is unhealthy when its last reload was refused, or a plugin file that a\n"
	  "step needs was refused.\n",
	  cmd_health },
	{ "inspect", "FILE.so", "Check a plugin file and print its descriptor, without a daemon",
	  "\nThe file is loaded by the gini-probe helper in a child process, so a crashing or\n"
	  "hanging plugin cannot harm ginictl; it is refused with the reason ginid would give\n"
	  "if it ran as you (the owner must be root or you).\n",
	  cmd_inspect },
};

static const struct verb *
find_verb(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		if (streq(name, verbs[i].name))
			return &verbs[i];
	return NULL;
}

static void
usage(FILE *f)
{
	fprintf(f,
	        "Usage: ginictl [-s SOCKET] [--json] COMMAND [ARGS]\n\n"
	        "Ask a running ginid what it does, run pipelines, reload it.\n\n"
	        "Options:\n"
	        "  -s, --socket PATH   control socket (default %s)\n"
	        "      --json          print the daemon's replies as JSON\n"
	        "  -h, --help          show this help; COMMAND --help for a command's\n"
	        "  -V, --version       show the version\n\n"
	        "Commands:\n",
	        GINI_CONTROL_SOCKET);
	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f, "\nExit status: 0 ok, 1 the operation failed, 2 usage error, 3 cannot reach "
	           "the daemon,\n4 permission denied. See ginictl(1).\n");
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct ctl c = { .socket = GINI_CONTROL_SOCKET, .fd = -1 };
	const struct verb *v;
	struct winsize ws;
	int o, r;

	while ((o = getopt_long(argc, argv, "+s:hV", options, NULL)) != -1) {
		switch (o) {
		case 's':
			c.socket = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("ginictl %s (control protocol %d)\n", GINI_VERSION, PROTO_VERSION);
			return 0;
		default:
			fprintf(stderr, "Try 'ginictl --help'.\n");
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	v = find_verb(argv[optind]);
	if (!v) {
		const char *names[ARRAY_SIZE(verbs)];
		const char *hint;

		for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
			names[i] = verbs[i].name;
		hint = closest_match(argv[optind], names, ARRAY_SIZE(verbs));
		fprintf(stderr, "ginictl: unknown command '%s'%s%s%s\nTry 'ginictl --help'.\n",
		        argv[optind], hint ? "; did you mean '" : "", hint ? hint : "",
		        hint ? "'?" : "");
		return CTL_EXIT_USAGE;
	}
	if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
		c.width = ws.ws_col;
	signal(SIGPIPE, SIG_IGN);
	r = v->fn(&c, v, argc - optind, argv + optind);
	client_done(&c);
	return r;
}
