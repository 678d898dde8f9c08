/* SPDX-License-Identifier: MIT */
#pragma once

#include <systemd/sd-event.h>

struct manager;
struct control;

/* Connections served at once; one more is told "overloaded" and closed. */
#define CONTROL_CONNS_MAX 1024
/* A connection with no complete request for this long is closed. */
#define CONTROL_IDLE_USEC (60 * 1000000ULL)

/*
 * Opens the control socket (or takes the one systemd passed) and serves it
 * on the loop. Fails if the path belongs to a live daemon. Loop thread.
 */
int control_new(struct manager *m, sd_event *e, struct control **ret);
struct control *control_free(struct control *c);
/* Metrics in the Prometheus text format, version 0.0.4 (malloc'ed). */
char *control_metrics_text(struct manager *m);
