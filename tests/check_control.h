/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the control suite's files (check_control*.c) share: a daemon with
 * the suite's pipelines, a raw protocol client, and reply assertions.
 */
#include "tests.h"

#include "daemon.h"

#include <jansson.h>

#define PIPELINES                                                                                  \
	"pipelines = (\n"                                                                          \
	"  { name = \"ok\"; triggers = { signal = \"SIGUSR1\"; }; steps = (\n"                     \
	"      { id = \"a\"; stage = \"log\"; params = { message = \"a\"; }; },\n"                 \
	"      { id = \"b\"; stage = \"log\"; after = \"a\"; params = { message = \"b\"; }; } ); " \
	"},\n"                                                                                     \
	"  { name = \"bad\"; steps = (\n"                                                          \
	"      { id = \"boom\"; stage = \"fail\"; params = { message = \"on purpose\"; }; },\n"    \
	"      { id = \"never\"; stage = \"log\"; after = \"boom\"; params = { message = \"x\"; "  \
	"}; } ); },\n"                                                                             \
	"  { name = \"slow\"; triggers = { schedule = \"0 4 * * *\"; }; steps = (\n"               \
	"      { id = \"nap\"; stage = \"sleep\"; params = { duration = \"500ms\"; }; } ); }\n"    \
	");\n"

/* The suite's daemon, one per test (each runs in its own process). */
extern struct daemon ctl_d;

/* Starts ctl_d with extra_conf (may be NULL) and the suite's pipelines. */
void ctl_start(const char *extra_conf);
/* The checked fixture's teardown: stops ctl_d. */
void ctl_teardown(void);
/* For ginictl runs that need no daemon: only a socket path. */
void ctl_no_daemon(const char *socket);
/* A raw protocol client connected to ctl_d's socket. */
int ctl_client(void);
void ctl_send_text(int fd, const char *text);
/* One reply line (up to ms), parsed; NULL on EOF or timeout. */
json_t *ctl_read_reply(int fd, int ms);
/* Sends cmd with args (JSON text, may be NULL) as id 7; the reply. */
json_t *ctl_call(int fd, const char *cmd, const char *args);
/* Asserts an ok reply with id 7 and returns its result (borrowed from r). */
json_t *ctl_ok_result(json_t *r);
void ctl_assert_error(json_t *r, const char *code, const char *message);
/* Schema: each key of spec ("name:t", t one of s i n b o a ? for string,
 * integer, number, boolean, object, array, string-or-null) is present with
 * that type. */
void ctl_assert_schema(json_t *o, const char *const *spec);

/* ginictl -s SOCKET ARGS... against ctl_d (tests/daemon.c). */
#define ginictl(out, err, ...) daemon_ginictl(&ctl_d, out, err, __VA_ARGS__)

/* The TCases of check_control_access.c and check_control_cli.c. */
void control_access_tcases(Suite *s);
void control_cli_tcases(Suite *s);
/* The TCase of check_control_fast.c. */
void control_fast_tcases(Suite *s);
