/* SPDX-License-Identifier: MIT */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

struct manager;
struct control;
struct gini_config;

/* Connections served at once; one more is told "overloaded" and closed. */
#define CONTROL_CONNS_MAX 1024
/* Of those, the last ones only for clients with full access (root, the
 * daemon's user, control_group). */
#define CONTROL_CONNS_RESERVED 64
/* A connection with no complete request for this long is closed. */
#define CONTROL_IDLE_USEC (60 * 1000000ULL)

/*
 * Opens the control socket (or takes the one systemd passed) and serves it
 * on the loop. Fails if the path belongs to a live daemon. Loop thread.
 */
int control_new(struct manager *m, sd_event *e, struct control **ret);
struct control *control_free(struct control *c);
/*
 * For `ginid -t`: whether control_group and control_readonly_group exist
 * and control_group could be given the socket. 0, or -errno with the reason
 * in err.
 */
int control_check(const struct gini_config *cfg, char *err, size_t size);
/*
 * Serves a client that is already connected on fd (taken over; closed on
 * failure), as if accepted. cred NULL: the peer's credentials from the
 * socket; else these (the fuzzer plays different users). Loop thread.
 */
int control_attach_fd(struct control *c, int fd, const struct ucred *cred);
size_t control_connections(struct control *c);
/* Metrics in the Prometheus text format, version 0.0.4 (malloc'ed). */
char *control_metrics_text(struct manager *m);
/*
 * A JSON string of s (NULL: null) that is valid UTF-8 whatever s holds: each
 * byte that does not begin a valid UTF-8 sequence becomes U+FFFD. For every
 * string of outside origin put into a reply.
 */
json_t *jtext(const char *s);
