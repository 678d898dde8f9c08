/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

struct manager;
struct control;

/* Connections served at once; one more is told "overloaded" and closed. */
#define CONTROL_CONNS_MAX 1024
/* Of those, the last ones only for clients with full access (root, the
 * daemon's user, control_group). */
#define CONTROL_CONNS_RESERVED 64
/* A connection with no complete request for this long is closed. */
#define CONTROL_IDLE_USEC (60 * 1000000ULL)

/*
 * Opens the control socket (or takes the one systemd passed) and serves it
 * on the loop. Fails if the path belongs to a live daemon. Every failure is
 * logged here, with its cause; the caller adds nothing. Loop thread.
 */
int control_new(struct manager *m, sd_event *e, struct control **ret);
struct control *control_free(struct control *c);
/*
 * Serves a client that is already connected on fd (taken over; closed on
 * failure), as if accepted. cred NULL: the peer's credentials from the
 * socket; else these (the fuzzer plays different users). Loop thread.
 */
int control_attach_fd(struct control *c, int fd, const struct ucred *cred);
size_t control_connections(struct control *c);
