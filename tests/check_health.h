/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the health suite's files (check_health*.c) share: a real ginid with
 * two pipelines, one of which fails until a file exists.
 */
#include "tests.h"

#include "daemon.h"

/* The suite's daemon, one per test (each runs in its own process). */
extern struct daemon hl_d;

/* ginictl -s SOCKET ARGS... against hl_d (tests/daemon.c). */
#define ginictl(out, err, ...) daemon_ginictl(&hl_d, out, err, __VA_ARGS__)

#define PIPELINES                                                                                  \
	"pipelines = (\n"                                                                          \
	"  { name = \"backup\"; health = { max_failures = 2; };\n"                                 \
	"    steps = ( { id = \"f\"; stage = \"exec\";\n"                                          \
	"                params = { argv = [ \"/bin/sh\", \"-c\",\n"                               \
	"                  \"if [ -e %1$s/slow ]; then sleep 60; fi; test -e %1$s/ok\" ]; }; } "   \
	"); "                                                                                      \
	"},\n"                                                                                     \
	"  { name = \"fine\"; steps = ( { id = \"a\"; stage = \"log\"; params = { message = "      \
	"\"a\"; }; } ); }\n"                                                                       \
	");\n"

/* Starts ginid on extra and PIPELINES; "%1$s" in either is the daemon's directory. */
void hl_start(const char *extra);
/* The checked fixture's teardown: stops hl_d. */
void hl_teardown(void);
/* The TCases of check_health_http.c: http and journal. */
void health_http_tcases(Suite *s);
