/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "control_conn.h"

/* Warnings a client can cause: at most LOG_BURST per uid per LOG_INTERVAL;
 * the rest are counted and reported as suppressed. */
#define LOG_BURST         5
#define LOG_INTERVAL_USEC (10 * USEC_PER_SEC)

/* What a warning is about: each kind is rate-limited on its own. */
enum warn_kind {
	WARN_REQUEST,    /* a request refused, replies not read */
	WARN_CONNECTION, /* a connection refused */
	WARN_EVICTION,   /* an idle connection closed to make room */
	WARN_KINDS,
};

/*
 * One per uid with connections or a rate-limit interval still running.
 * Owned by the control's peer list; connections borrow it.
 */
struct peer {
	struct peer *next;
	uid_t uid;
	size_t n_conns;
	struct ratelimit rl[WARN_KINDS];
};

/* True if a message may be logged now; else it is counted. *ret_suppressed
 * gets the count of the interval that just ended, to report first. */
bool control_ratelimit_test(struct ratelimit *rl, unsigned burst, uint64_t now,
                            uint64_t *ret_suppressed);
/* Logs what p suppressed in intervals that have ended (all: in every one). */
void control_peer_flush(struct peer *p, uint64_t now, bool all);
/* The peer of uid, made if new (NULL without memory). */
struct peer *control_peer_get(struct control *c, uid_t uid);
/*
 * A warning caused by a client, at most LOG_BURST per uid and interval, so
 * that no client can flood the log; the count of those held back is logged
 * when the interval ends, when the uid's last connection closes, or before
 * its next warning.
 */
void control_peer_warn(struct control *c, struct peer *p, enum warn_kind kind, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* c->flush_src: reports what was suppressed once its interval ended. */
int control_peer_on_flush(sd_event_source *s, uint64_t usec, void *userdata);
