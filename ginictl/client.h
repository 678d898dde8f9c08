/* SPDX-License-Identifier: MIT */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* How long a reply may take, except for `run --wait`, which waits for the run. */
#define REPLY_TIMEOUT_MS 120000

/* One invocation's connection to ginid and how it prints. Owned by main(). */
struct ctl {
	const char *socket; /* borrowed: argv or the compiled-in default */
	bool json;
	int fd;    /* the connection, -1 until the first request */
	char *buf; /* owned: what was received beyond the last reply line */
	size_t len;
	int width;       /* terminal columns, 0: do not truncate */
	bool text_lines; /* the reply is multi-line text: newlines stay as they are */
};

/*
 * Sends one request (args: a reference taken over, may be NULL) and returns
 * the result object of its reply (a new reference), or NULL with *ret_exit
 * set to a CTL_EXIT_* code after printing why. Connects on the first call.
 * Event lines before the reply go to on_event. timeout_ms -1: no limit.
 */
json_t *client_request(struct ctl *c, const char *cmd, json_t *args, int timeout_ms,
                       void (*on_event)(struct ctl *c, json_t *event), int *ret_exit);

/* Closes the connection and frees what c holds. */
void client_done(struct ctl *c);
