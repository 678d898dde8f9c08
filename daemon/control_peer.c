/* SPDX-License-Identifier: MIT */
/*
 * The control socket's clients by uid: how many connections each holds
 * (for control_max_connections_per_uid), and the rate limit on the warnings
 * a client can cause, with the count of those suppressed logged when the
 * interval ends (control.c owns the connections; this file only counts).
 */
#include "control_peer.h"

#include "log.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const warn_kind_names[WARN_KINDS] = {
	[WARN_REQUEST] = "about requests",
	[WARN_CONNECTION] = "refused connections",
	[WARN_EVICTION] = "closed idle connections",
};

bool
control_ratelimit_test(struct ratelimit *rl, unsigned burst, uint64_t now, uint64_t *ret_suppressed)
{
	*ret_suppressed = 0;
	if (rl->begin_usec == 0 || now - rl->begin_usec >= LOG_INTERVAL_USEC) {
		*ret_suppressed = rl->suppressed;
		rl->begin_usec = now;
		rl->n = 0;
		rl->suppressed = 0;
	}
	if (rl->n < burst) {
		rl->n++;
		return true;
	}
	rl->suppressed++;
	return false;
}

void
control_peer_flush(struct peer *p, uint64_t now, bool all)
{
	for (size_t i = 0; i < WARN_KINDS; i++) {
		struct ratelimit *rl = &p->rl[i];

		if (!all && rl->begin_usec && now - rl->begin_usec < LOG_INTERVAL_USEC)
			continue;
		if (rl->suppressed)
			log_warn("control: uid %u: %llu similar messages suppressed (%s)",
			         (unsigned)p->uid, (unsigned long long)rl->suppressed,
			         warn_kind_names[i]);
		rl->suppressed = 0;
	}
}

/* True while one of the peer's intervals runs. */
static bool
peer_limiting(const struct peer *p, uint64_t now)
{
	for (size_t i = 0; i < WARN_KINDS; i++)
		if (p->rl[i].begin_usec && now - p->rl[i].begin_usec < LOG_INTERVAL_USEC)
			return true;
	return false;
}

/* Reports what was suppressed in intervals that have ended, and forgets uids
 * with neither connections nor a running interval. */
static void
peers_gc(struct control *c, uint64_t now)
{
	for (struct peer **pp = &c->peers; *pp;) {
		struct peer *p = *pp;

		control_peer_flush(p, now, false);
		if (p->n_conns == 0 && !peer_limiting(p, now)) {
			*pp = p->next;
			free(p);
		} else {
			pp = &p->next;
		}
	}
}

int
control_peer_on_flush(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct control *c = userdata;

	(void)s;
	(void)usec;
	peers_gc(c, now_usec(CLOCK_MONOTONIC));
	for (struct peer *p = c->peers; p; p = p->next)
		for (size_t i = 0; i < WARN_KINDS; i++)
			if (p->rl[i].suppressed) {
				/* More to report when that interval ends. */
				sd_event_source_set_time_relative(c->flush_src, LOG_INTERVAL_USEC);
				sd_event_source_set_enabled(c->flush_src, SD_EVENT_ONESHOT);
				return 0;
			}
	return 0;
}

struct peer *
control_peer_get(struct control *c, uid_t uid)
{
	struct peer *p;

	peers_gc(c, now_usec(CLOCK_MONOTONIC));
	for (p = c->peers; p; p = p->next)
		if (p->uid == uid)
			return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->uid = uid;
	p->next = c->peers;
	c->peers = p;
	return p;
}

/*
 * A warning caused by a client, at most LOG_BURST per uid and interval, so
 * that no client can flood the log; the count of those held back is logged
 * when the interval ends, when the uid's last connection closes, or before
 * its next warning.
 */
void
control_peer_warn(struct control *c, struct peer *p, enum warn_kind kind, const char *fmt, ...)
{
	uint64_t suppressed = 0;
	va_list ap;
	char msg[1024];

	if (p && !control_ratelimit_test(&p->rl[kind], LOG_BURST, now_usec(CLOCK_MONOTONIC),
	                                 &suppressed)) {
		if (p->rl[kind].suppressed == 1 && c->flush_src &&
		    sd_event_source_get_enabled(c->flush_src, NULL) == 0) {
			sd_event_source_set_time(c->flush_src,
			                         p->rl[kind].begin_usec + LOG_INTERVAL_USEC);
			sd_event_source_set_enabled(c->flush_src, SD_EVENT_ONESHOT);
		}
		return;
	}
	if (suppressed)
		log_warn("control: uid %u: %llu similar messages suppressed (%s)", (unsigned)p->uid,
		         (unsigned long long)suppressed, warn_kind_names[kind]);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("%s", msg);
}
