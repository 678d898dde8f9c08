/* SPDX-License-Identifier: MIT */
/*
 * The command line of one ginictl command: its help text and its options,
 * among which the global ones (-s, --json) may come after the command.
 */
#include "verb.h"

#include "proto.h"
#include "util.h"

void
verb_help(const struct verb *v, FILE *f)
{
	fprintf(f, "Usage: ginictl [-s SOCKET] [--json] %s%s%s\n\n%s.\n%s", v->name,
	        v->usage[0] ? " " : "", v->usage, v->summary, v->help);
}

int
verb_getopt(struct ctl *c, const struct verb *v, int argc, char **argv, const char *shortopts,
            const struct option *longopts, int (*on_opt)(int opt, const char *arg, void *ud),
            void *ud)
{
	struct option all[16];
	char sopts[32];
	size_t n = 0;
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
