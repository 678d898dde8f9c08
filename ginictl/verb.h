/* SPDX-License-Identifier: MIT */
#pragma once

#include "client.h"

#include <getopt.h>
#include <stdio.h>

/* A ginictl command: one entry of the table in ginictl.c. */
struct verb {
	const char *name;
	const char *usage;
	const char *summary;
	const char *help;
	int (*fn)(struct ctl *c, const struct verb *v, int argc, char **argv);
};

void verb_help(const struct verb *v, FILE *f);

/*
 * Parses getopt-style options of a verb, and the global -s/--socket and
 * --json too, which may come after the command; returns optind, -1 on a
 * usage error or -2 when help was printed.
 */
int verb_getopt(struct ctl *c, const struct verb *v, int argc, char **argv, const char *shortopts,
                const struct option *longopts, int (*on_opt)(int opt, const char *arg, void *ud),
                void *ud);
/* An on_opt for verbs whose only option is --help. */
int verb_no_opt(int opt, const char *arg, void *ud);
extern const struct option verb_help_only[];
/* For verbs without arguments: 0, -2 when help was printed, or CTL_EXIT_USAGE. */
int verb_simple_args(struct ctl *c, const struct verb *v, int argc, char **argv);
