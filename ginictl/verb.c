/* SPDX-License-Identifier: MIT */
/*
 * The command line of one ginictl command: its help text and its options,
 * among which the global ones (-s, --json) may come after the command.
 */
#include "verb.h"

#include "cmds.h"
#include "proto.h"
#include "util.h"

#include <jansson.h>
#include <stdbool.h>
#include <string.h>

void
verb_help(const struct verb *v, FILE *f)
{
	fprintf(f, "Usage: ginictl [-s SOCKET] [--json] %s%s%s\n\n%s.\n%s", v->name,
	        v->usage[0] ? " " : "", v->usage, v->summary, v->help);
}

/* Whether argv[i] holds one of the socket paths getopt handed out. */
static bool
is_socket_arg(const char *arg, const char *const *sockets, size_t n_sockets)
{
	size_t len = strlen(arg);

	for (size_t k = 0; k < n_sockets; k++)
		if (sockets[k] >= arg && sockets[k] <= arg + len)
			return true;
	return false;
}

/*
 * The protocol carries UTF-8 only: jansson refuses another string, which
 * then went missing from the request without a word. Every argument of the
 * command is checked except a socket path (a file name, never sent), which
 * is known exactly: getopt's optarg points into it, whether it came as
 * "-s PATH", "-sPATH" or "--socket=PATH". A command that talks to no daemon
 * (inspect) sends nothing and is not checked.
 */
static int
check_utf8(const struct verb *v, int argc, char **argv, const char *const *sockets,
           size_t n_sockets)
{
	for (int i = 1; i < argc; i++) {
		json_t *t;

		if (is_socket_arg(argv[i], sockets, n_sockets))
			continue;
		t = json_string(argv[i]);
		if (t) {
			json_decref(t);
			continue;
		}
		fprintf(stderr, "ginictl %s: argument '", v->name);
		for (const unsigned char *p = (const unsigned char *)argv[i]; *p; p++)
			fprintf(stderr, *p < 0x20 || *p >= 0x7f ? "\\x%02x" : "%c", *p);
		fprintf(stderr, "' is not valid UTF-8\n");
		return -1;
	}
	return 0;
}

int
verb_getopt(struct ctl *c, const struct verb *v, int argc, char **argv, const char *shortopts,
            const struct option *longopts, int (*on_opt)(int opt, const char *arg, void *ud),
            void *ud)
{
	const char *sockets[8];
	struct option all[16];
	size_t n = 0, n_sockets = 0;
	char sopts[32];
	int o;

	for (; n < ARRAY_SIZE(all) - 3 && longopts[n].name; n++)
		all[n] = longopts[n];
	all[n++] = (struct option){ "socket", required_argument, NULL, 's' };
	all[n++] = (struct option){ "json", no_argument, NULL, 'j' };
	all[n] = (struct option){ 0 };
	snprintf(sopts, sizeof(sopts), "%ss:", shortopts);
	/* 0, not 1: glibc then starts afresh, permuting options again. */
	optind = 0;
	opterr = 1;
	while ((o = getopt_long(argc, argv, sopts, all, NULL)) != -1) {
		if (o == 's') {
			c->socket = optarg;
			if (n_sockets < ARRAY_SIZE(sockets))
				sockets[n_sockets++] = optarg;
			continue;
		}
		if (o == 'j') {
			c->json = true;
			continue;
		}
		if (o == 'h') {
			verb_help(v, stdout);
			return -2;
		}
		if (o == '?' || on_opt(o, optarg, ud) < 0) {
			fprintf(stderr, "Try 'ginictl %s --help'.\n", v->name);
			return -1;
		}
	}
	if (v->fn != cmd_inspect && check_utf8(v, argc, argv, sockets, n_sockets) < 0)
		return -1;
	return optind;
}

int
verb_no_opt(int opt, const char *arg, void *ud)
{
	(void)opt;
	(void)arg;
	(void)ud;
	return -1;
}

const struct option verb_help_only[] = { { "help", no_argument, NULL, 'h' }, { 0 } };

int
verb_simple_args(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	int k = verb_getopt(c, v, argc, argv, "h", verb_help_only, verb_no_opt, NULL);

	if (k == -2)
		return -2;
	if (k < 0)
		return CTL_EXIT_USAGE;
	if (k < argc) {
		fprintf(stderr, "ginictl %s: unexpected argument '%s'\n", v->name, argv[k]);
		return CTL_EXIT_USAGE;
	}
	return 0;
}
