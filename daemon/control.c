/* SPDX-License-Identifier: MIT */
/*
 * The control socket: ginictl's way in. A Unix stream socket served by the
 * event loop, speaking the line-delimited JSON protocol of proto.h.
 *
 * Nothing a client does can stall the loop or another client: sockets are
 * non-blocking, a request line is capped at PROTO_LINE_MAX before it is
 * parsed, replies queue in a per-connection buffer that stops the reading of
 * further requests while it is large and closes the connection when it is
 * absurd, connections are capped at CONTROL_CONNS_MAX, and one without a
 * complete request for CONTROL_IDLE_USEC is closed.
 *
 * Nor can a client lock others out or flood the log: a uid other than root
 * and the daemon's own holds at most control_max_connections_per_uid
 * connections, the last CONTROL_CONNS_RESERVED slots are kept for clients
 * with full access (who may also push out an idle unprivileged connection),
 * the warnings a client causes are rate-limited per uid with a count of
 * those suppressed, and when accept() runs out of descriptors the listener
 * rests until a connection closes instead of spinning. Every string a reply
 * carries is made valid UTF-8 (jtext), so no text vanishes from a reply.
 *
 * Who may do what is decided per request from the peer's credentials
 * (SO_PEERCRED, SO_PEERGROUPS), never from the socket's file mode alone:
 * root and the daemon's user may do everything; members of control_group
 * likewise; members of control_readonly_group only the read-only commands;
 * anyone else nothing. A refusal is logged with uid and pid.
 */
#include "control.h"

#include "config.h"
#include "diag.h"
#include "executor.h"
#include "generation.h"
#include "health.h"
#include "history.h"
#include "log.h"
#include "manager.h"
#include "output.h"
#include "pipeline.h"
#include "proto.h"
#include "registry.h"
#include "sandbox.h"
#include "scheduler.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

/* Replies beyond this stop the reading of further requests... */
#define OUT_PAUSE (1u << 20)
/* ...and beyond this the client is dropped as not reading at all. */
#define OUT_MAX (64u << 20)
/* Warnings a client can cause: at most LOG_BURST per uid per LOG_INTERVAL;
 * the rest are counted and reported as suppressed. */
#define LOG_BURST         5
#define LOG_INTERVAL_USEC (10 * USEC_PER_SEC)
/* Out of descriptors: new connections wait this long, or until one closes. */
#define ACCEPT_RETRY_USEC (250 * USEC_PER_MSEC)

struct conn;
struct query;

struct ratelimit {
	uint64_t begin_usec; /* start of the current interval, 0: none yet */
	unsigned n;          /* messages let through in it */
	uint64_t suppressed; /* messages held back and not yet reported */
};

/* What a warning is about: each kind is rate-limited on its own. */
enum warn_kind {
	WARN_REQUEST,    /* a request refused, replies not read */
	WARN_CONNECTION, /* a connection refused */
	WARN_EVICTION,   /* an idle connection closed to make room */
	WARN_KINDS,
};

static const char *const warn_kind_names[WARN_KINDS] = {
	[WARN_REQUEST] = "about requests",
	[WARN_CONNECTION] = "refused connections",
	[WARN_EVICTION] = "closed idle connections",
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

/* A `run --wait` in progress on a connection. */
struct waiting {
	struct run_listener l; /* first: listener callbacks cast back */
	struct conn *conn;
	json_t *id;
	uint64_t run_id;
	bool dry;
};

enum access {
	ACCESS_NONE,
	ACCESS_READ,
	ACCESS_ALL,
};

struct conn {
	struct conn *next, *prev;
	struct control *c;
	int fd;
	sd_event_source *io;
	sd_event_source *idle;
	struct ucred cred;
	gid_t *groups;
	int n_groups;
	struct peer *peer;    /* borrowed from the control's list */
	enum access access;   /* when it connected; ACCESS_ALL may use the reserve */
	uint64_t active_usec; /* when it connected or last sent a request */
	char *in;
	size_t in_len;
	char *out;
	size_t out_len, out_off;
	bool closing;         /* close once out is flushed */
	struct waiting *wait; /* requests wait behind a `run --wait` */
	struct query *query;  /* ...and behind a history query */
};

struct control {
	struct manager *m;
	sd_event *e;
	int fd;
	bool activated; /* passed by systemd: not ours to unlink */
	char *path;
	sd_event_source *listen_src;
	struct conn *conns;
	size_t n_conns;
	bool have_group, have_ro_group;
	gid_t group, ro_group;
	uint64_t denied;
	struct peer *peers;
	sd_event_source *flush_src;  /* reports suppressed warnings when armed */
	sd_event_source *resume_src; /* re-enables accepting after EMFILE */
	bool accept_paused;
	struct ratelimit accept_rl;
};

static void conn_free(struct conn *k);
static void conn_update_events(struct conn *k);
static void conn_process(struct conn *k);
static void conn_kick(struct conn *k);

/* Rate-limited warnings. */

/* True if a message may be logged now; else it is counted. *ret_suppressed
 * gets the count of the interval that just ended, to report first. */
static bool
ratelimit_test(struct ratelimit *rl, unsigned burst, uint64_t now, uint64_t *ret_suppressed)
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

static void
peer_flush(struct peer *p, uint64_t now, bool all)
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

		peer_flush(p, now, false);
		if (p->n_conns == 0 && !peer_limiting(p, now)) {
			*pp = p->next;
			free(p);
		} else {
			pp = &p->next;
		}
	}
}

static int
on_flush(sd_event_source *s, uint64_t usec, void *userdata)
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

static struct peer *
peer_get(struct control *c, uid_t uid)
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
static void peer_warn(struct control *c, struct peer *p, enum warn_kind kind, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void
peer_warn(struct control *c, struct peer *p, enum warn_kind kind, const char *fmt, ...)
{
	uint64_t suppressed = 0;
	va_list ap;
	char msg[1024];

	if (p && !ratelimit_test(&p->rl[kind], LOG_BURST, now_usec(CLOCK_MONOTONIC), &suppressed)) {
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

/* Replies. */

static void
conn_send(struct conn *k, json_t *msg)
{
	char *text = json_dumps(msg, JSON_COMPACT | JSON_ENSURE_ASCII);
	size_t len;

	json_decref(msg);
	if (!text) {
		k->closing = true;
		return;
	}
	len = strlen(text);
	if (k->out_len - k->out_off + len + 1 > OUT_MAX) {
		peer_warn(k->c, k->peer, WARN_REQUEST,
		          "control: uid %u (pid %d) does not read its replies; disconnecting",
		          (unsigned)k->cred.uid, (int)k->cred.pid);
		free(text);
		k->closing = true;
		k->out_len = k->out_off = 0;
		return;
	}
	if (k->out_off > 0 && k->out_off == k->out_len)
		k->out_off = k->out_len = 0;
	{
		char *nb = realloc(k->out, k->out_len + len + 1);

		if (!nb) {
			free(text);
			k->closing = true;
			return;
		}
		k->out = nb;
	}
	memcpy(k->out + k->out_len, text, len);
	k->out[k->out_len + len] = '\n';
	k->out_len += len + 1;
	free(text);
}

/*
 * A JSON string for text that came from files, plugins or commands, and so
 * may be any bytes: jansson refuses invalid UTF-8 (json_string() returns
 * NULL and the value silently vanishes from its object), so every byte that
 * does not start a valid UTF-8 sequence becomes U+FFFD. NULL gives null.
 * Every string of a reply that the daemon did not write itself goes through
 * here.
 */
static size_t
utf8_seq_len(const unsigned char *s)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	/* No overlong forms, no surrogates, nothing above U+10FFFF. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

json_t *
jtext(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	json_t *v;
	char *buf, *o;

	if (!s)
		return json_null();
	v = json_string(s);
	if (v)
		return v;
	buf = malloc(strlen(s) * 3 + 1);
	if (!buf)
		return json_null();
	for (o = buf; *p;) {
		size_t n = utf8_seq_len(p);

		if (n == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			p++;
		} else {
			memcpy(o, p, n);
			o += n;
			p += n;
		}
	}
	*o = '\0';
	v = json_string(buf);
	free(buf);
	return v ? v : json_null();
}

static json_t *
envelope(json_t *id)
{
	json_t *o = json_object();

	json_object_set_new(o, "v", json_integer(PROTO_VERSION));
	if (id)
		json_object_set(o, "id", id);
	return o;
}

static void
reply_ok(struct conn *k, json_t *id, json_t *result)
{
	json_t *o = envelope(id);

	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "result", result ? result : json_object());
	conn_send(k, o);
}

static void reply_error(struct conn *k, json_t *id, const char *code, json_t *extra,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
reply_error(struct conn *k, json_t *id, const char *code, json_t *extra, const char *fmt, ...)
{
	json_t *o = envelope(id), *e = extra ? extra : json_object();
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_set_new(e, "code", json_string(code));
	json_object_set_new(e, "message", jtext(msg));
	json_object_set_new(o, "ok", json_false());
	json_object_set_new(o, "error", e);
	conn_send(k, o);
}

static json_t *
iso_or_null(int64_t usec)
{
	char buf[64];

	if (usec <= 0)
		return json_null();
	return json_string(
	        format_iso8601((time_t)(usec / (int64_t)USEC_PER_SEC), buf, sizeof(buf)));
}

/* Arguments. */

/* Rejects argument names outside allowed, with a suggestion. */
static bool
args_known(struct conn *k, json_t *id, json_t *args, const char *const *allowed, size_t n)
{
	const char *key;
	json_t *v;

	json_object_foreach(args, key, v)
	{
		bool ok = false;

		for (size_t i = 0; i < n && !ok; i++)
			ok = streq(key, allowed[i]);
		if (!ok) {
			const char *hint = closest_match(key, allowed, n);

			reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL,
			            "unknown argument '%s'%s%s%s", key,
			            hint ? "; did you mean '" : "", hint ? hint : "",
			            hint ? "'?" : "");
			return false;
		}
	}
	return true;
}

/* 1 found, 0 absent, -1 wrong type (replied). */
static int
arg_string(struct conn *k, json_t *id, json_t *args, const char *name, const char **ret)
{
	json_t *v = json_object_get(args, name);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL, "argument '%s' must be a string",
		            name);
		return -1;
	}
	*ret = json_string_value(v);
	return 1;
}

static int
arg_int(struct conn *k, json_t *id, json_t *args, const char *name, long long lo, long long hi,
        long long *ret)
{
	json_t *v = json_object_get(args, name);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL,
		            "argument '%s' must be an integer from %lld to %lld", name, lo, hi);
		return -1;
	}
	*ret = json_integer_value(v);
	return 1;
}

static int
arg_bool(struct conn *k, json_t *id, json_t *args, const char *name, bool *ret)
{
	json_t *v = json_object_get(args, name);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL,
		            "argument '%s' must be true or false", name);
		return -1;
	}
	*ret = json_is_true(v);
	return 1;
}

/* Commands. */

static void
cmd_status(struct conn *k, json_t *id, json_t *args)
{
	struct manager *m = k->c->m;
	struct generation *g = m->current;
	json_t *r, *reload = json_null(), *refused, *disabled;

	if (!args_known(k, id, args, NULL, 0))
		return;
	if (m->last_reload_usec) {
		json_t *errors = json_array();

		for (size_t i = 0; i < m->n_last_reload_errors; i++)
			json_array_append_new(errors, jtext(m->last_reload_errors[i]));
		reload = json_pack("{s:o, s:b, s:o}", "time", iso_or_null(m->last_reload_usec),
		                   "ok", m->last_reload_ok, "errors", errors);
	}
	refused = json_array();
	for (size_t i = 0; i < g->report.n_refusals; i++)
		json_array_append_new(refused,
		                      json_pack("{s:o, s:o, s:b}", "path",
		                                jtext(g->report.refusals[i].path), "reason",
		                                jtext(g->report.refusals[i].reason), "probed",
		                                g->report.refusals[i].probed));
	r = json_pack("{s:s, s:i, s:I, s:f, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:{s:I, s:I}, "
	              "s:o}",
	              "version", GINI_VERSION, "protocol", PROTO_VERSION, "pid",
	              (json_int_t)getpid(), "uptime_sec",
	              (double)((int64_t)now_usec(CLOCK_REALTIME) - m->started_realtime_usec) / 1e6,
	              "started", iso_or_null(m->started_realtime_usec), "generation",
	              (json_int_t)g->number, "stage_types", (json_int_t)registry_count(g->registry),
	              "pipelines", (json_int_t)g->n_pipelines, "runs_in_flight",
	              (json_int_t)m->in_flight, "workers", (json_int_t)executor_threads(m->ex),
	              "workers_abandoned", (json_int_t)executor_abandoned(m->ex), "last_reload",
	              reload, "reloads", "ok", (json_int_t)m->reloads_ok, "failed",
	              (json_int_t)m->reloads_failed, "refused_plugins", refused);
	disabled = json_array();
	for (size_t i = 0; i < g->n_pipelines; i++)
		if (manager_disabled(m, g->pipelines[i]->name))
			json_array_append_new(disabled, jtext(g->pipelines[i]->name));
	json_object_set_new(r, "disabled", disabled);
	reply_ok(k, id, r);
}

static json_t *
stage_json(const struct stage_type *t)
{
	json_t *flags = json_array(), *req = json_array();
	uint64_t runs = atomic_load(&t->counters.runs);

	if (t->flags & GINI_STAGE_DRY_RUN)
		json_array_append_new(flags, json_string("dry-run"));
	if (t->flags & GINI_STAGE_CONCURRENT)
		json_array_append_new(flags, json_string("concurrent"));
	for (char **q = t->requires_ids; *q; q++)
		json_array_append_new(req, jtext(*q));
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	                 "id", jtext(t->id), "version", jtext(t->version), "category",
	                 jtext(t->category), "summary", jtext(t->summary), "file", jtext(t->path),
	                 "flags", flags, "requires", req, "runs", (json_int_t)runs, "failures",
	                 (json_int_t)atomic_load(&t->counters.failures), "timeouts",
	                 (json_int_t)atomic_load(&t->counters.timeouts), "crashes",
	                 (json_int_t)atomic_load(&t->counters.crashes), "kills",
	                 (json_int_t)atomic_load(&t->counters.kills), "mean_usec",
	                 (json_int_t)(runs ? atomic_load(&t->counters.total_usec) / runs : 0),
	                 "max_usec", (json_int_t)atomic_load(&t->counters.max_usec));
}

static void
cmd_stages(struct conn *k, json_t *id, json_t *args)
{
	static const char *const allowed[] = { "category", "filter", "offset", "limit" };
	struct registry_filter f = { 0 };
	struct stage_type **list;
	long long offset = 0, limit = 1000;
	size_t n, total;
	json_t *items;

	if (!args_known(k, id, args, allowed, ARRAY_SIZE(allowed)) ||
	    arg_string(k, id, args, "category", &f.category) < 0 ||
	    arg_string(k, id, args, "filter", &f.text) < 0 ||
	    arg_int(k, id, args, "offset", 0, LLONG_MAX / 2, &offset) < 0 ||
	    arg_int(k, id, args, "limit", 1, 10000, &limit) < 0)
		return;
	if (registry_list(k->c->m->current->registry, &f, (size_t)offset, (size_t)limit, &list, &n,
	                  &total) < 0) {
		reply_error(k, id, PROTO_E_FAILED, NULL, "out of memory");
		return;
	}
	items = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, stage_json(list[i]));
	registry_list_free(list, n);
	reply_ok(k, id,
	         json_pack("{s:I, s:I, s:o}", "total", (json_int_t)total, "offset",
	                   (json_int_t)offset, "items", items));
}

static json_t *
triggers_json(const struct trigger_def *t)
{
	json_t *sigs = json_array();
	char buf[32];

	for (size_t i = 0; i < t->n_signals; i++)
		json_array_append_new(
		        sigs, json_string(signal_to_string(t->signals[i], buf, sizeof(buf))));
	return json_pack("{s:o, s:o, s:o, s:b, s:b}", "signals", sigs, "every",
	                 t->every_usec
	                         ? json_string(format_duration(t->every_usec, buf, sizeof(buf)))
	                         : json_null(),
	                 "schedule", jtext(t->schedule), "on_start", t->on_start, "persistent",
	                 t->persistent);
}

/* The params a pipeline declares: name, default and pattern (or null). */
static json_t *
params_json(const struct pipeline *p)
{
	json_t *a = json_array();

	for (size_t i = 0; i < p->n_params; i++)
		json_array_append_new(a,
		                      json_pack("{s:o, s:o, s:o}", "name", jtext(p->params[i].name),
		                                "default", jtext(p->params[i].def), "pattern",
		                                jtext(p->params[i].pattern)));
	return a;
}

static void
cmd_pipelines(struct conn *k, json_t *id, json_t *args)
{
	struct manager *m = k->c->m;
	struct generation *g = m->current;
	json_t *items = json_array();

	if (!args_known(k, id, args, NULL, 0)) {
		json_decref(items);
		return;
	}
	for (size_t i = 0; i < g->n_pipelines; i++) {
		const struct pipeline *p = g->pipelines[i];
		struct pstate *ps = hashmap_get(&m->pstates, p->name);
		bool finished = ps && ps->last_status != RUN_RUNNING;

		json_array_append_new(
		        items,
		        json_pack(
		                "{s:o, s:o, s:o, s:i, s:I, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:I, "
		                "s:b, s:{s:I, s:I, s:I}, s:I, s:b}",
		                "name", jtext(p->name), "description", jtext(p->description),
		                "file", jtext(p->file), "line", p->line, "steps",
		                (json_int_t)p->n_steps, "overlap", overlap_to_string(p->overlap),
		                "on_failure", on_failure_to_string(p->on_failure), "triggers",
		                triggers_json(&p->triggers), "next",
		                iso_or_null(scheduler_next_fire_usec(m->sched, p->name)), "last",
		                iso_or_null(ps ? ps->last_fire_usec : 0), "last_result",
		                finished ? json_string(run_status_to_string(ps->last_status))
		                         : json_null(),
		                "last_run_id",
		                finished ? json_integer((json_int_t)ps->last_run_id) : json_null(),
		                "running", (json_int_t)(ps ? ps->running : 0), "queued",
		                ps && ps->queued, "runs", "success",
		                (json_int_t)(ps ? ps->runs[RUN_SUCCESS] : 0), "failed",
		                (json_int_t)(ps ? ps->runs[RUN_FAILED] : 0), "cancelled",
		                (json_int_t)(ps ? ps->runs[RUN_CANCELLED] : 0), "skipped",
		                (json_int_t)(ps ? ps->skipped : 0), "enabled",
		                !manager_disabled(m, p->name)));
		json_object_set_new(json_array_get(items, json_array_size(items) - 1), "params",
		                    params_json(p));
	}
	reply_ok(k, id, json_pack("{s:o}", "items", items));
}

#define HISTORY_LIMIT_MAX 10000

/*
 * A history or logs request answered by the history's reader thread. The
 * connection waits for it, as for a `run --wait`, so replies keep their
 * order; a connection that closes first leaves it orphaned (conn NULL) and
 * the answer is dropped.
 */
struct query {
	struct conn *conn; /* NULL: the client went away */
	json_t *id;
	json_t *args; /* logs: step and from */
	bool logs;
};

/* ISO 8601 with milliseconds, UTC: "2026-12-03T10:15:00.123Z". */
static json_t *
iso_ms_or_null(int64_t usec)
{
	char buf[64], d[32];
	time_t t;
	struct tm tm;

	if (usec <= 0)
		return json_null();
	t = (time_t)(usec / (int64_t)USEC_PER_SEC);
	gmtime_r(&t, &tm);
	strftime(d, sizeof(d), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, sizeof(buf), "%s.%03dZ", d, (int)(usec % (int64_t)USEC_PER_SEC / 1000));
	return json_string(buf);
}

static const char *
level_name(int level)
{
	static const char *const names[] = { "emerg",   "alert",  "crit", "err",
		                             "warning", "notice", "info", "debug" };

	return level >= 0 && level < (int)ARRAY_SIZE(names) ? names[level] : "info";
}

/* Replies "history is disabled" when it is; true if so. */
static bool
history_off(struct conn *k, json_t *id)
{
	const char *why = history_disabled(k->c->m->history);

	if (why)
		reply_error(k, id, PROTO_E_FAILED, NULL, "run history is disabled: %s", why);
	return why != NULL;
}

static void
query_error(struct conn *k, json_t *id, int r, const char *err)
{
	if (r == -ETIMEDOUT)
		reply_error(k, id, PROTO_E_BUSY, NULL,
		            "the history query took too long; narrow it (--pipeline, --since, "
		            "--limit)");
	else
		reply_error(k, id, PROTO_E_FAILED, NULL, "cannot read the run history: %s",
		            err[0] ? err : strerror(-r));
}

static json_t *
history_step_json(const struct history_step *s)
{
	return json_pack("{s:o, s:o, s:s, s:I, s:I, s:o, s:b}", "id", jtext(s->id), "stage",
	                 jtext(s->stage), "result", s->result, "attempts", (json_int_t)s->attempts,
	                 "duration_ms", (json_int_t)(s->duration_usec / USEC_PER_MSEC), "message",
	                 jtext(s->message), "output_truncated", s->output_truncated);
}

static json_t *
history_item(const struct history_run *h)
{
	json_t *steps = json_array();
	bool ended = h->ended_usec != 0;
	int64_t dur = h->ended_usec - h->started_usec;

	for (size_t i = 0; i < h->n_steps; i++)
		json_array_append_new(steps, history_step_json(&h->steps[i]));
	return json_pack(
	        "{s:I, s:I, s:o, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:o}", "id",
	        (json_int_t)h->id, "run_id", (json_int_t)h->id, "pipeline", jtext(h->pipeline),
	        "generation", (json_int_t)h->generation, "trigger", jtext(h->trigger), "started",
	        iso_ms_or_null(h->started_usec), "start", iso_or_null(h->started_usec), "ended",
	        iso_ms_or_null(h->ended_usec), "duration_ms",
	        ended ? json_integer((json_int_t)(dur / 1000)) : json_null(), "duration_usec",
	        ended ? json_integer((json_int_t)dur) : json_null(), "steps", steps, "result",
	        h->result, "failed_step", jtext(h->failed_step), "message", jtext(h->message));
}

/* Collects output lines into a JSON array. */
struct lines {
	json_t *a;
	uint64_t from, seq;
};

static void
live_line(uint64_t seq, int64_t ts, int level, const char *text, void *userdata)
{
	struct lines *l = userdata;

	(void)seq;
	json_array_append_new(l->a, json_pack("{s:o, s:s, s:o}", "ts", iso_ms_or_null(ts), "level",
	                                      level_name(level), "text", jtext(text)));
}

static void
stored_line(int64_t ts, int level, const char *text, void *userdata)
{
	struct lines *l = userdata;

	if (l->seq++ >= l->from)
		live_line(0, ts, level, text, l);
}

static uint64_t
from_of(json_t *from, size_t i)
{
	json_t *v = json_array_get(from, i);

	return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v)
	                                                       : 0;
}

/* The logs reply for a run read back from the history. */
static void
reply_stored_logs(struct conn *k, json_t *id, json_t *args, const struct history_run *h)
{
	const char *step = json_string_value(json_object_get(args, "step"));
	json_t *from = json_object_get(args, "from"), *steps = json_array();
	bool found_step = false;

	for (size_t i = 0; i < h->n_steps; i++) {
		const struct history_step *s = &h->steps[i];
		uint64_t want = from_of(from, i);
		struct lines l = { .a = json_array(),
			           .seq = s->output_first_seq,
			           .from = want > s->output_first_seq ? want : 0 };
		json_t *o;

		if (step && !streq(step, s->id)) {
			json_decref(l.a);
			continue;
		}
		found_step = true;
		if (s->output)
			output_parse(s->output, s->output_len, stored_line, &l);
		o = history_step_json(s);
		json_object_set_new(o, "next", json_integer((json_int_t)l.seq));
		json_object_set_new(o, "lines", l.a);
		json_array_append_new(steps, o);
	}
	if (step && !found_step && h->n_steps > 0) {
		json_decref(steps);
		reply_error(k, id, PROTO_E_NOT_FOUND, NULL, "run %llu has no step '%s'",
		            (unsigned long long)h->id, step);
		return;
	}
	/* "running" in the database: ended a moment ago, or the writer is behind. */
	reply_ok(k, id,
	         json_pack("{s:I, s:o, s:s, s:b, s:o, s:o, s:o}", "run_id", (json_int_t)h->id,
	                   "pipeline", jtext(h->pipeline), "result", h->result, "running",
	                   streq(h->result, "running"), "started", iso_ms_or_null(h->started_usec),
	                   "ended", iso_ms_or_null(h->ended_usec), "steps", steps));
}

/* Loop thread: the reader answered. */
static void
query_done(struct history_request *rq)
{
	struct query *q = rq->userdata;
	struct conn *k = q->conn;

	if (k) {
		if (rq->r < 0) {
			query_error(k, q->id, rq->r, rq->err);
		} else if (q->logs && !rq->run) {
			reply_error(k, q->id, PROTO_E_NOT_FOUND, NULL, "no run %llu in the history",
			            (unsigned long long)rq->id);
		} else if (q->logs) {
			reply_stored_logs(k, q->id, q->args, rq->run);
		} else {
			json_t *items = json_array();

			for (size_t i = 0; i < rq->n_runs; i++)
				json_array_append_new(items, history_item(rq->runs[i]));
			reply_ok(k, q->id, json_pack("{s:o}", "items", items));
		}
		k->query = NULL;
		if (k->idle)
			sd_event_source_set_enabled(k->idle, SD_EVENT_ONESHOT);
		/* Requests that queued up behind the query. */
		conn_process(k);
		conn_kick(k);
	}
	json_decref(q->id);
	json_decref(q->args);
	free(q);
	history_request_free(rq);
}

/* Hands rq to the reader; the connection waits for the answer. */
static void
query_submit(struct conn *k, json_t *id, json_t *args, bool logs, struct history_request *rq)
{
	struct query *q = calloc(1, sizeof(*q));

	if (!q) {
		history_request_free(rq);
		reply_error(k, id, PROTO_E_FAILED, NULL, "out of memory");
		return;
	}
	q->conn = k;
	q->id = id ? json_incref(id) : NULL;
	q->args = json_incref(args);
	q->logs = logs;
	rq->done = query_done;
	rq->userdata = q;
	k->query = q;
	if (k->idle)
		sd_event_source_set_enabled(k->idle, SD_EVENT_OFF);
	history_submit(k->c->m->history, rq);
}

static void
cmd_history(struct conn *k, json_t *id, json_t *args)
{
	static const char *const allowed[] = { "pipeline", "n",     "limit", "result",
		                               "since",    "until", "steps" };
	const char *pipeline = NULL, *result = NULL;
	long long n = 0, since = 0, until = 0;
	bool steps = true;
	struct history_request *rq;

	if (!args_known(k, id, args, allowed, ARRAY_SIZE(allowed)) ||
	    arg_string(k, id, args, "pipeline", &pipeline) < 0 ||
	    arg_string(k, id, args, "result", &result) < 0 ||
	    arg_int(k, id, args, "n", 1, HISTORY_LIMIT_MAX, &n) < 0 ||
	    arg_int(k, id, args, "limit", 1, HISTORY_LIMIT_MAX, &n) < 0 ||
	    arg_int(k, id, args, "since", 0, INT64_MAX / (long long)USEC_PER_SEC, &since) < 0 ||
	    arg_int(k, id, args, "until", 0, INT64_MAX / (long long)USEC_PER_SEC, &until) < 0 ||
	    arg_bool(k, id, args, "steps", &steps) < 0)
		return;
	if (result) {
		static const char *const results[] = { "success", "failed", "cancelled",
			                               "interrupted", "running" };
		bool known = false;

		for (size_t i = 0; i < ARRAY_SIZE(results) && !known; i++)
			known = streq(result, results[i]);
		if (!known) {
			const char *hint = closest_match(result, results, ARRAY_SIZE(results));

			reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL,
			            "unknown result '%.64s'%s%s%s (expected success, failed, "
			            "cancelled, interrupted or running)",
			            result, hint ? "; did you mean '" : "", hint ? hint : "",
			            hint ? "'?" : "");
			return;
		}
	}
	if (history_off(k, id))
		return;
	rq = calloc(1, sizeof(*rq));
	if (!rq || (pipeline && !(rq->filter.pipeline = strdup(pipeline))) ||
	    (result && !(rq->filter.result = strdup(result)))) {
		history_request_free(rq);
		reply_error(k, id, PROTO_E_FAILED, NULL, "out of memory");
		return;
	}
	rq->filter.limit = n ? (unsigned)n : 20;
	rq->filter.since_usec = since * (int64_t)USEC_PER_SEC;
	rq->filter.until_usec = until * (int64_t)USEC_PER_SEC;
	rq->filter.with_steps = steps;
	query_submit(k, id, args, false, rq);
}

/*
 * A run's output step by step. "from" (per step, in the reply's order)
 * asks only for lines after those already seen, so `ginictl logs --follow`
 * polls a run in progress with it until "running" is false. A run in
 * flight is answered from memory, an ended one from the history.
 */
static void
cmd_logs(struct conn *k, json_t *id, json_t *args)
{
	static const char *const allowed[] = { "run_id", "step", "from" };
	struct manager *m = k->c->m;
	const char *step = NULL;
	long long run_id = 0;
	json_t *from = json_object_get(args, "from"), *steps;
	const struct run *live;
	struct history_request *rq;
	bool found_step = false;

	if (!args_known(k, id, args, allowed, ARRAY_SIZE(allowed)) ||
	    arg_int(k, id, args, "run_id", 1, INT64_MAX, &run_id) < 0 ||
	    arg_string(k, id, args, "step", &step) < 0)
		return;
	if (!run_id) {
		reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL, "argument 'run_id' is required");
		return;
	}
	if (from && !json_is_array(from)) {
		reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL, "argument 'from' must be an array");
		return;
	}
	if (history_off(k, id))
		return;
	live = manager_find_run(m, (uint64_t)run_id);
	if (!live) {
		rq = calloc(1, sizeof(*rq));
		if (!rq) {
			reply_error(k, id, PROTO_E_FAILED, NULL, "out of memory");
			return;
		}
		rq->get = true;
		rq->id = (uint64_t)run_id;
		query_submit(k, id, args, true, rq);
		return;
	}
	steps = json_array();
	/* Step results are the workers' until the run ends: only the output,
	 * which has its own lock, is read here. */
	for (size_t kk = 0; kk < live->pipeline->n_steps; kk++) {
		const struct pipeline *p = live->pipeline;
		size_t i = p->order[kk];
		struct lines l = { .a = json_array() };
		uint64_t next;
		bool trunc;

		if (step && !streq(step, p->steps[i].id)) {
			json_decref(l.a);
			continue;
		}
		found_step = true;
		next = output_foreach(&live->results[i].output, from_of(from, kk), live_line, &l,
		                      &trunc);
		json_array_append_new(steps, json_pack("{s:o, s:s, s:b, s:I, s:o}", "id",
		                                       jtext(p->steps[i].id), "result", "running",
		                                       "output_truncated", trunc, "next",
		                                       (json_int_t)next, "lines", l.a));
	}
	if (step && !found_step) {
		json_decref(steps);
		reply_error(k, id, PROTO_E_NOT_FOUND, NULL, "run %lld has no step '%s'", run_id,
		            step);
		return;
	}
	reply_ok(k, id,
	         json_pack("{s:I, s:o, s:s, s:b, s:o, s:o, s:o}", "run_id", (json_int_t)run_id,
	                   "pipeline", jtext(live->pipeline->name), "result", "running", "running",
	                   1, "started", iso_ms_or_null(live->start_realtime_usec), "ended",
	                   json_null(), "steps", steps));
}

static json_t *
step_json(const struct run *r, size_t i)
{
	const struct step *s = &r->pipeline->steps[i];
	const struct step_result *res = &r->results[i];

	return json_pack("{s:o, s:o, s:s, s:I, s:I, s:o}", "id", jtext(s->id), "stage",
	                 jtext(s->stage_id ? s->stage_id : ""), "result",
	                 step_status_to_string(res->status), "attempts", (json_int_t)res->attempts,
	                 "duration_usec",
	                 (json_int_t)(res->attempts ? res->end_usec - res->start_usec : 0),
	                 "message", jtext(res->message));
}

static void
wait_on_step(struct run_listener *l, const struct run *r, size_t step)
{
	struct waiting *w = (struct waiting *)l;
	json_t *o = envelope(w->id);

	w->run_id = r->id;
	json_object_set_new(o, "event", json_string("step"));
	json_object_set_new(o, "run_id", json_integer((json_int_t)r->id));
	json_object_set_new(o, "step", step_json(r, step));
	conn_send(w->conn, o);
	conn_kick(w->conn);
}

/* The reply to a dry run: the steps level by level, as they would run. */
static json_t *
dry_run_json(const struct run *r)
{
	const struct pipeline *p = r->pipeline;
	json_t *levels = json_array();

	for (unsigned level = 0; level < p->n_levels; level++) {
		json_t *steps = json_array();

		for (size_t kk = 0; kk < p->n_steps; kk++) {
			size_t i = p->order[kk];

			if (p->steps[i].level != level)
				continue;
			json_array_append_new(
			        steps,
			        json_pack(
			                "{s:o, s:o, s:s, s:o}", "step", jtext(p->steps[i].id),
			                "stage",
			                jtext(p->steps[i].stage_id ? p->steps[i].stage_id : ""),
			                "result", step_status_to_string(r->results[i].status),
			                "description",
			                jtext(r->results[i].message ? r->results[i].message : "")));
		}
		json_array_append_new(levels, steps);
	}
	return json_pack("{s:o, s:b, s:s, s:o}", "pipeline", jtext(p->name), "dry_run", 1, "result",
	                 run_status_to_string(r->status), "levels", levels);
}

static void
wait_on_done(struct run_listener *l, const struct run *r)
{
	struct waiting *w = (struct waiting *)l;
	struct conn *k = w->conn;
	json_t *steps = json_array();

	if (r->pipeline && w->dry) {
		json_decref(steps);
		reply_ok(k, w->id, dry_run_json(r));
	} else if (r->pipeline) {
		for (size_t i = 0; i < r->pipeline->n_steps; i++)
			json_array_append_new(steps, step_json(r, r->pipeline->order[i]));
		reply_ok(k, w->id,
		         json_pack("{s:I, s:s, s:s, s:I, s:o, s:o}", "run_id", (json_int_t)r->id,
		                   "outcome", "finished", "result", run_status_to_string(r->status),
		                   "duration_usec", (json_int_t)(r->end_usec - r->start_usec),
		                   "failed_step",
		                   r->failed_step != SIZE_MAX
		                           ? jtext(r->pipeline->steps[r->failed_step].id)
		                           : json_null(),
		                   "steps", steps));
	} else {
		json_decref(steps);
		reply_error(
		        k, w->id, PROTO_E_BUSY, NULL,
		        "the queued run was dropped (the daemon is stopping or the pipeline was "
		        "removed)");
	}
	json_decref(w->id);
	free(w);
	k->wait = NULL;
	if (k->idle)
		sd_event_source_set_enabled(k->idle, SD_EVENT_ONESHOT);
	/* Requests that queued up behind the wait. */
	conn_process(k);
	conn_kick(k);
}

/*
 * The "params" argument of run: an object of string values, at most
 * PARAMS_MAX of them, into kv as key, value pairs (borrowed from args).
 * Whether the pipeline declares them is the manager's to say.
 */
static int
arg_params(struct conn *k, json_t *id, json_t *args, const char **kv, size_t *ret_n)
{
	json_t *o = json_object_get(args, "params"), *v;
	const char *key;
	size_t n = 0;

	*ret_n = 0;
	if (!o || json_is_null(o))
		return 0;
	if (!json_is_object(o)) {
		reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL,
		            "argument 'params' must be an object of strings");
		return -EINVAL;
	}
	if (json_object_size(o) > PARAMS_MAX) {
		reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL, "more than %d params", PARAMS_MAX);
		return -EINVAL;
	}
	json_object_foreach(o, key, v)
	{
		if (!json_is_string(v)) {
			reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL,
			            "param '%.64s': the value must be a string", key);
			return -EINVAL;
		}
		kv[2 * n] = key;
		kv[2 * n + 1] = json_string_value(v);
		n++;
	}
	*ret_n = n;
	return 0;
}

static void
cmd_cancel(struct conn *k, json_t *id, json_t *args)
{
	static const char *const allowed[] = { "run_id" };
	long long run_id = -1;

	if (!args_known(k, id, args, allowed, ARRAY_SIZE(allowed)) ||
	    arg_int(k, id, args, "run_id", 1, LLONG_MAX, &run_id) < 0)
		return;
	if (run_id < 0) {
		reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL, "argument 'run_id' is required");
		return;
	}
	if (manager_cancel(k->c->m, (uint64_t)run_id) < 0) {
		reply_error(k, id, PROTO_E_NOT_FOUND, NULL, "no run %lld in flight", run_id);
		return;
	}
	reply_ok(k, id,
	         json_pack("{s:I, s:s}", "run_id", (json_int_t)run_id, "outcome", "cancelling"));
}

static void
set_enabled(struct conn *k, json_t *id, json_t *args, bool enabled)
{
	static const char *const allowed[] = { "pipeline" };
	const char *name = NULL;
	bool was;
	int r;

	if (!args_known(k, id, args, allowed, ARRAY_SIZE(allowed)) ||
	    arg_string(k, id, args, "pipeline", &name) < 0)
		return;
	if (!name) {
		reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL, "argument 'pipeline' is required");
		return;
	}
	was = !manager_disabled(k->c->m, name);
	r = manager_set_enabled(k->c->m, name, enabled);
	if (r == -ENOENT) {
		reply_error(k, id, PROTO_E_NOT_FOUND, NULL, "no pipeline '%s'", name);
		return;
	}
	if (r < 0) {
		reply_error(k, id, PROTO_E_FAILED, NULL, "out of memory");
		return;
	}
	reply_ok(k, id,
	         json_pack("{s:o, s:b, s:b}", "pipeline", jtext(name), "enabled", enabled,
	                   "changed", was != enabled));
}

static void
cmd_enable(struct conn *k, json_t *id, json_t *args)
{
	set_enabled(k, id, args, true);
}

static void
cmd_disable(struct conn *k, json_t *id, json_t *args)
{
	set_enabled(k, id, args, false);
}

static void
cmd_run(struct conn *k, json_t *id, json_t *args)
{
	static const char *const allowed[] = { "pipeline", "dry_run", "wait", "params", "force" };
	struct manager *m = k->c->m;
	const char *name = NULL;
	bool dry = false, wait = false;
	struct waiting *w = NULL;
	struct pipeline *p;
	enum trigger_outcome o;
	uint64_t run_id = 0;
	char trigger[64], err[512] = "";
	const char *kv[2 * PARAMS_MAX];
	struct run_request req = { .params = kv, .err = err, .err_size = sizeof(err) };

	if (!args_known(k, id, args, allowed, ARRAY_SIZE(allowed)) ||
	    arg_string(k, id, args, "pipeline", &name) < 0 ||
	    arg_bool(k, id, args, "dry_run", &dry) < 0 ||
	    arg_bool(k, id, args, "wait", &wait) < 0 ||
	    arg_bool(k, id, args, "force", &req.force) < 0 ||
	    arg_params(k, id, args, kv, &req.n_params) < 0)
		return;
	if (!name) {
		reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL, "argument 'pipeline' is required");
		return;
	}
	p = generation_find(m->current, name);
	if (!p) {
		const char **names = calloc(m->current->n_pipelines + 1, sizeof(char *));
		const char *hint = NULL;

		for (size_t i = 0; names && i < m->current->n_pipelines; i++)
			names[i] = m->current->pipelines[i]->name;
		if (names)
			hint = closest_match(name, names, m->current->n_pipelines);
		reply_error(k, id, PROTO_E_NOT_FOUND, NULL, "no pipeline '%s'%s%s%s", name,
		            hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
		free(names);
		return;
	}
	snprintf(trigger, sizeof(trigger), "ginictl (uid %u)", (unsigned)k->cred.uid);
	/* A dry run is answered when its steps were described and checked. */
	if (wait || dry) {
		w = calloc(1, sizeof(*w));
		if (!w) {
			reply_error(k, id, PROTO_E_FAILED, NULL, "out of memory");
			return;
		}
		w->conn = k;
		w->id = id ? json_incref(id) : NULL;
		w->dry = dry;
		w->l.on_step = wait ? wait_on_step : NULL;
		w->l.on_done = wait_on_done;
	}
	if (dry) {
		int r = manager_dry_run(m, name, trigger, &req, &w->l, &run_id);

		if (r >= 0) {
			k->wait = w;
			if (k->idle)
				sd_event_source_set_enabled(k->idle, SD_EVENT_OFF);
			return;
		}
		if (r == -EINVAL)
			reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL, "%s", err);
		else
			reply_error(k, id, PROTO_E_BUSY, NULL, "cannot start a dry run: %s",
			            r == -ESHUTDOWN ? "the daemon is stopping" : strerror(-r));
		json_decref(w->id);
		free(w);
		return;
	}
	o = manager_trigger_listen(m, name, trigger, &req, w ? &w->l : NULL, &run_id);
	switch (o) {
	case TRIGGER_STARTED:
	case TRIGGER_QUEUED:
		if (w) {
			w->run_id = run_id;
			k->wait = w;
			/* A waiting client is not idle. */
			if (k->idle)
				sd_event_source_set_enabled(k->idle, SD_EVENT_OFF);
			return;
		}
		reply_ok(k, id,
		         json_pack("{s:o, s:s}", "run_id",
		                   o == TRIGGER_STARTED ? json_integer((json_int_t)run_id)
		                                        : json_null(),
		                   "outcome", o == TRIGGER_STARTED ? "started" : "queued"));
		return;
	case TRIGGER_SKIPPED:
		reply_error(k, id, PROTO_E_BUSY, NULL,
		            "pipeline '%s' is already running (overlap = %s); not started", name,
		            overlap_to_string(p->overlap));
		break;
	case TRIGGER_STOPPING:
		reply_error(k, id, PROTO_E_BUSY, NULL, "the daemon is stopping");
		break;
	case TRIGGER_DISABLED:
		reply_error(k, id, PROTO_E_DISABLED, NULL,
		            "pipeline '%s' is disabled; enable it, or run it with force", name);
		break;
	case TRIGGER_REFUSED:
		reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL, "%s", err);
		break;
	default:
		reply_error(k, id, PROTO_E_FAILED, NULL, "cannot start the run: out of memory");
		break;
	}
	if (w) {
		json_decref(w->id);
		free(w);
	}
}

static void
cmd_reload(struct conn *k, json_t *id, json_t *args)
{
	struct manager *m = k->c->m;
	struct diags d = { 0 };
	char buf[4096];

	if (!args_known(k, id, args, NULL, 0))
		return;
	if (m->stopping) {
		reply_error(k, id, PROTO_E_BUSY, NULL, "the daemon is stopping");
		return;
	}
	if (manager_reload(m, &d) < 0) {
		json_t *errors = json_array();

		for (size_t i = 0; i < d.n; i++)
			json_array_append_new(errors,
			                      jtext(diag_format(&d.v[i], buf, sizeof(buf))));
		reply_error(k, id, PROTO_E_FAILED, json_pack("{s:o}", "errors", errors),
		            "reload failed with %zu error%s; generation %llu keeps running", d.n,
		            d.n == 1 ? "" : "s", (unsigned long long)m->current->number);
	} else {
		reply_ok(k, id,
		         json_pack("{s:I, s:I, s:I, s:I}", "generation",
		                   (json_int_t)m->current->number, "stage_types",
		                   (json_int_t)registry_count(m->current->registry),
		                   "plugins_loaded", (json_int_t)m->current->report.loaded,
		                   "pipelines", (json_int_t)m->current->n_pipelines));
	}
	diags_done(&d);
}

static void
cmd_metrics(struct conn *k, json_t *id, json_t *args)
{
	char *text;

	if (!args_known(k, id, args, NULL, 0))
		return;
	text = control_metrics_text(k->c->m);
	if (!text) {
		reply_error(k, id, PROTO_E_FAILED, NULL, "out of memory");
		return;
	}
	reply_ok(k, id,
	         json_pack("{s:s, s:o}", "content_type", "text/plain; version=0.0.4", "text",
	                   jtext(text)));
	free(text);
}

static void
cmd_health(struct conn *k, json_t *id, json_t *args)
{
	json_t *h;

	if (!args_known(k, id, args, NULL, 0))
		return;
	h = manager_health(k->c->m);
	if (!h) {
		reply_error(k, id, PROTO_E_FAILED, NULL, "out of memory");
		return;
	}
	reply_ok(k, id, h);
}

static const struct command {
	const char *name;
	void (*fn)(struct conn *k, json_t *id, json_t *args);
	bool mutating;
} commands[] = {
	{ "status", cmd_status, false },
	{ "stages", cmd_stages, false },
	{ "pipelines", cmd_pipelines, false },
	{ "history", cmd_history, false },
	{ "logs", cmd_logs, false },
	{ "metrics", cmd_metrics, false },
	{ "run", cmd_run, true },
	{ "reload", cmd_reload, true },
	{ "cancel", cmd_cancel, true },
	{ "enable", cmd_enable, true },
	{ "disable", cmd_disable, true },
	{ "health", cmd_health, false },
};

/* Authorisation. */

static bool
peer_in_group(const struct conn *k, gid_t g)
{
	if (k->cred.gid == g)
		return true;
	for (int i = 0; i < k->n_groups; i++)
		if (k->groups[i] == g)
			return true;
	return false;
}

static enum access
peer_access(const struct conn *k)
{
	const struct control *c = k->c;

	if (k->cred.uid == 0 || k->cred.uid == geteuid())
		return ACCESS_ALL;
	if (peer_in_group(k, c->have_group ? c->group : 0))
		return ACCESS_ALL;
	if (c->have_ro_group && peer_in_group(k, c->ro_group))
		return ACCESS_READ;
	return ACCESS_NONE;
}

/* Requests. */

static void
handle_line(struct conn *k, const char *line, size_t len)
{
	json_error_t err;
	json_t *req, *id, *v, *args;
	const char *cmd;
	const struct command *c = NULL;
	enum access a;

	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
	if (!req || !json_is_object(req)) {
		if (req)
			reply_error(k, NULL, PROTO_E_BAD_REQUEST, NULL,
			            "a request must be a JSON object");
		else
			reply_error(k, NULL, PROTO_E_BAD_REQUEST, NULL,
			            "malformed JSON at column %d: %s", err.column, err.text);
		json_decref(req);
		/* The stream cannot be trusted after a malformed line. */
		k->closing = true;
		return;
	}
	id = json_object_get(req, "id");
	v = json_object_get(req, "v");
	if (!json_is_integer(v) || json_integer_value(v) != PROTO_VERSION) {
		reply_error(k, id, PROTO_E_VERSION, NULL,
		            "protocol version %d is required (\"v\": %d)", PROTO_VERSION,
		            PROTO_VERSION);
		goto out;
	}
	if (json_unpack(req, "{s:s}", "cmd", &cmd) < 0) {
		reply_error(k, id, PROTO_E_BAD_REQUEST, NULL, "\"cmd\" (a string) is required");
		/* As after any bad_request: the client is not speaking the protocol. */
		k->closing = true;
		goto out;
	}
	args = json_object_get(req, "args");
	if (args && !json_is_object(args)) {
		reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL, "\"args\" must be an object");
		goto out;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands) && !c; i++)
		if (streq(cmd, commands[i].name))
			c = &commands[i];
	if (!c) {
		const char *names[ARRAY_SIZE(commands)];
		const char *hint;

		for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
			names[i] = commands[i].name;
		hint = closest_match(cmd, names, ARRAY_SIZE(commands));
		reply_error(k, id, PROTO_E_UNKNOWN_COMMAND, NULL, "unknown command '%.64s'%s%s%s",
		            cmd, hint ? "; did you mean '" : "", hint ? hint : "",
		            hint ? "'?" : "");
		goto out;
	}
	a = peer_access(k);
	if (a == ACCESS_NONE || (a == ACCESS_READ && c->mutating)) {
		k->c->denied++;
		peer_warn(k->c, k->peer, WARN_REQUEST,
		          "control: permission denied: uid %u (pid %d) may not use '%s'",
		          (unsigned)k->cred.uid, (int)k->cred.pid, c->name);
		reply_error(k, id, PROTO_E_PERMISSION, NULL,
		            "permission denied: uid %u may not use '%s'", (unsigned)k->cred.uid,
		            c->name);
		goto out;
	}
	if (!args)
		args = json_object();
	else
		json_incref(args);
	c->fn(k, id, args);
	json_decref(args);
out:
	json_decref(req);
}

/* Handles the complete lines in the input buffer, as far as allowed. */
static void
conn_process(struct conn *k)
{
	size_t start = 0;

	while (!k->closing && !k->wait && !k->query && k->out_len - k->out_off < OUT_PAUSE) {
		char *nl = memchr(k->in + start, '\n', k->in_len - start);
		size_t len;

		if (!nl)
			break;
		len = (size_t)(nl - (k->in + start));
		if (len > PROTO_LINE_MAX) {
			reply_error(k, NULL, PROTO_E_TOO_LARGE, NULL,
			            "request of %zu bytes is over the %d byte limit", len,
			            PROTO_LINE_MAX);
			k->closing = true;
			break;
		}
		if (k->idle)
			sd_event_source_set_time_relative(k->idle, CONTROL_IDLE_USEC);
		k->active_usec = now_usec(CLOCK_MONOTONIC);
		if (len > 0)
			handle_line(k, k->in + start, len);
		start += len + 1;
	}
	if (start > 0) {
		memmove(k->in, k->in + start, k->in_len - start);
		k->in_len -= start;
	}
	if (!k->closing && k->in_len > PROTO_LINE_MAX) {
		reply_error(k, NULL, PROTO_E_TOO_LARGE, NULL, "request over the %d byte limit",
		            PROTO_LINE_MAX);
		k->closing = true;
	}
}

/* I/O. */

static int
conn_flush(struct conn *k)
{
	while (k->out_off < k->out_len) {
		ssize_t n = send(k->fd, k->out + k->out_off, k->out_len - k->out_off,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -errno;
		}
		k->out_off += (size_t)n;
	}
	k->out_off = k->out_len = 0;
	return 0;
}

static void
conn_update_events(struct conn *k)
{
	uint32_t ev = 0;

	if (!k->io)
		return;
	if (k->out_off < k->out_len)
		ev |= EPOLLOUT;
	/* Read while there is room for a request and replies are not piling up;
	 * a waiting connection is still read, to notice the client leaving. */
	if (!k->closing && k->in_len <= PROTO_LINE_MAX && k->out_len - k->out_off < OUT_PAUSE)
		ev |= EPOLLIN | EPOLLRDHUP;
	sd_event_source_set_io_events(k->io, ev);
}

static int
on_conn_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct conn *k = userdata;

	(void)s;
	if (revents & EPOLLIN) {
		char *nb;
		ssize_t n;

		nb = realloc(k->in, PROTO_LINE_MAX + 2);
		if (!nb) {
			conn_free(k);
			return 0;
		}
		k->in = nb;
		n = recv(fd, k->in + k->in_len, PROTO_LINE_MAX + 2 - k->in_len, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_free(k);
			return 0;
		}
		if (n > 0)
			k->in_len += (size_t)n;
	} else if (revents & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
		conn_free(k);
		return 0;
	}
	conn_process(k);
	if (conn_flush(k) < 0 || (k->closing && k->out_off == k->out_len)) {
		conn_free(k);
		return 0;
	}
	/* Replies drained: requests held back may go on. */
	if (k->in_len && !k->closing && !k->wait && !k->query) {
		conn_process(k);
		if (conn_flush(k) < 0) {
			conn_free(k);
			return 0;
		}
	}
	conn_update_events(k);
	return 0;
}

/* Outside the connection's own I/O callback: write what is pending now. */
static void
conn_kick(struct conn *k)
{
	if (conn_flush(k) < 0 || (k->closing && k->out_off == k->out_len)) {
		conn_free(k);
		return;
	}
	conn_update_events(k);
}

static int
on_conn_idle(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct conn *k = userdata;

	(void)s;
	(void)usec;
	log_debug("control: closing connection of uid %u (pid %d): idle", (unsigned)k->cred.uid,
	          (int)k->cred.pid);
	conn_free(k);
	return 0;
}

static void
conn_free(struct conn *k)
{
	struct control *c = k->c;

	if (k->wait) {
		manager_detach(c->m, &k->wait->l);
		json_decref(k->wait->id);
		free(k->wait);
	}
	/* The reader's answer comes later; it is dropped then. */
	if (k->query)
		k->query->conn = NULL;
	if (k->prev)
		k->prev->next = k->next;
	else
		c->conns = k->next;
	if (k->next)
		k->next->prev = k->prev;
	c->n_conns--;
	if (k->peer && --k->peer->n_conns == 0)
		peer_flush(k->peer, 0, true);
	/* A descriptor is free again: new connections may be accepted. */
	if (c->accept_paused) {
		c->accept_paused = false;
		sd_event_source_set_enabled(c->resume_src, SD_EVENT_OFF);
		sd_event_source_set_enabled(c->listen_src, SD_EVENT_ON);
	}
	sd_event_source_disable_unref(k->io);
	sd_event_source_disable_unref(k->idle);
	close(k->fd);
	free(k->groups);
	free(k->in);
	free(k->out);
	free(k);
}

static void
read_peer(struct conn *k)
{
	socklen_t len = sizeof(k->cred);
	gid_t buf[64];

	if (getsockopt(k->fd, SOL_SOCKET, SO_PEERCRED, &k->cred, &len) < 0) {
		k->cred.uid = (uid_t)-1;
		k->cred.gid = (gid_t)-1;
	}
	len = sizeof(buf);
	if (getsockopt(k->fd, SOL_SOCKET, SO_PEERGROUPS, buf, &len) == 0) {
		k->groups = malloc(len ? len : 1);
		if (k->groups) {
			memcpy(k->groups, buf, len);
			k->n_groups = (int)(len / sizeof(gid_t));
		}
	} else if (errno == ERANGE && len > 0) {
		k->groups = malloc(len);
		if (k->groups && getsockopt(k->fd, SOL_SOCKET, SO_PEERGROUPS, k->groups, &len) == 0)
			k->n_groups = (int)(len / sizeof(gid_t));
	}
}

static int
on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct control *c = userdata;
	int cfd;

	(void)s;
	(void)revents;
	cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (cfd < 0) {
		int e = errno;
		uint64_t suppressed;

		if (e == EAGAIN || e == EINTR || e == ECONNABORTED)
			return 0;
		/*
		 * Out of descriptors (or memory): the pending connection stays
		 * queued and the listener stays readable, so polling it again at
		 * once would spin. Stop listening until a connection closes or a
		 * short timer runs out, and say so once per interval.
		 */
		if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
			c->accept_paused = true;
			sd_event_source_set_enabled(c->listen_src, SD_EVENT_OFF);
			sd_event_source_set_time_relative(c->resume_src, ACCEPT_RETRY_USEC);
			sd_event_source_set_enabled(c->resume_src, SD_EVENT_ONESHOT);
		}
		if (ratelimit_test(&c->accept_rl, 1, now_usec(CLOCK_MONOTONIC), &suppressed)) {
			if (suppressed)
				log_warn("control: accept: %llu similar messages suppressed",
				         (unsigned long long)suppressed);
			log_warn("control: accept: %s; %s", strerror(e),
			         c->accept_paused ? "new connections wait until one closes"
			                          : "ignoring");
		}
		return 0;
	}
	(void)control_attach_fd(c, cfd, NULL);
	return 0;
}

static int
on_resume(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct control *c = userdata;

	(void)s;
	(void)usec;
	if (c->accept_paused) {
		c->accept_paused = false;
		sd_event_source_set_enabled(c->listen_src, SD_EVENT_ON);
	}
	return 0;
}

/* Tells a client why it is not served (best effort: never blocks). */
static void
tell_overloaded(int fd, const char *message)
{
	json_t *o = json_pack("{s:i, s:b, s:{s:s, s:o}}", "v", PROTO_VERSION, "ok", 0, "error",
	                      "code", PROTO_E_OVERLOADED, "message", jtext(message));
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;

	if (text) {
		size_t len = strlen(text);

		text[len] = '\n';
		(void)send(fd, text, len + 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		text[len] = '\0';
	}
	free(text);
	json_decref(o);
}

/*
 * The connection to close to make room for a client with full access: one
 * of a client without full access and not waiting for a run, preferring
 * those who may do nothing to read-only ones, then the one active longest
 * ago. NULL if none.
 */
static struct conn *
eviction_victim(struct control *c)
{
	struct conn *victim = NULL;

	for (struct conn *k = c->conns; k; k = k->next) {
		if (k->access == ACCESS_ALL || k->wait || k->query)
			continue;
		if (!victim || k->access < victim->access ||
		    (k->access == victim->access && k->active_usec < victim->active_usec))
			victim = k;
	}
	return victim;
}

/* Refuses a connection that was never served: the reason to the client and,
 * rate-limited, to the log. */
static int
refuse(struct conn *k, const char *reason)
{
	struct control *c = k->c;

	peer_warn(c, k->peer, WARN_CONNECTION,
	          "control: refusing a connection of uid %u (pid %d): %s", (unsigned)k->cred.uid,
	          (int)k->cred.pid, reason);
	tell_overloaded(k->fd, reason);
	close(k->fd);
	free(k->groups);
	free(k);
	return -EBUSY;
}

/*
 * Admission: a uid other than root and the daemon's own may hold at most
 * control_max_connections_per_uid connections; the last
 * CONTROL_CONNS_RESERVED of the CONTROL_CONNS_MAX slots are for clients with
 * full access; and when every slot is taken, such a client closes a
 * connection of a client without full access (see eviction_victim).
 * So no unprivileged user can lock root out by opening connections.
 */
int
control_attach_fd(struct control *c, int fd, const struct ucred *cred)
{
	unsigned per_uid = c->m->current->config->control_max_connections_per_uid;
	struct conn *k;
	char reason[256];
	int r;

	k = calloc(1, sizeof(*k));
	if (!k) {
		close(fd);
		return -ENOMEM;
	}
	k->c = c;
	k->fd = fd;
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (cred)
		k->cred = *cred;
	else
		read_peer(k);
	k->access = peer_access(k);
	k->peer = peer_get(c, k->cred.uid);
	if (!k->peer) {
		close(fd);
		free(k->groups);
		free(k);
		return -ENOMEM;
	}
	if (k->cred.uid != 0 && k->cred.uid != geteuid() && k->peer->n_conns >= per_uid) {
		snprintf(reason, sizeof(reason),
		         "too many connections from uid %u (control_max_connections_per_uid = %u)",
		         (unsigned)k->cred.uid, per_uid);
		return refuse(k, reason);
	}
	if (c->n_conns >=
	    CONTROL_CONNS_MAX - (k->access == ACCESS_ALL ? 0 : CONTROL_CONNS_RESERVED)) {
		struct conn *victim = k->access == ACCESS_ALL ? eviction_victim(c) : NULL;

		if (!victim)
			return refuse(k, "too many connections");
		peer_warn(c, victim->peer, WARN_EVICTION,
		          "control: closing the idle connection of uid %u (pid %d) to make room "
		          "for uid %u",
		          (unsigned)victim->cred.uid, (int)victim->cred.pid, (unsigned)k->cred.uid);
		tell_overloaded(victim->fd,
		                "too many connections; this idle one was closed to make "
		                "room for a privileged client");
		conn_free(victim);
	}
	k->active_usec = now_usec(CLOCK_MONOTONIC);
	k->peer->n_conns++;
	k->next = c->conns;
	if (c->conns)
		c->conns->prev = k;
	c->conns = k;
	c->n_conns++;
	r = sd_event_add_io(c->e, &k->io, fd, EPOLLIN | EPOLLRDHUP, on_conn_io, k);
	if (r >= 0)
		r = sd_event_add_time_relative(c->e, &k->idle, CLOCK_MONOTONIC, CONTROL_IDLE_USEC,
		                               0, on_conn_idle, k);
	if (r < 0)
		conn_free(k);
	return r < 0 ? r : 0;
}

size_t
control_connections(struct control *c)
{
	return c->n_conns;
}

/* The socket. */

/* Creates the socket's directory (one level) if missing, refusing odd ones. */
static int
prepare_dir(const char *path)
{
	_cleanup_free_ char *dir = path_dirname(path);
	struct stat st;

	if (!dir)
		return -ENOMEM;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return log_err_errno(-errno, "control socket directory %s: %m", dir);
	if (lstat(dir, &st) < 0)
		return log_err_errno(-errno, "control socket directory %s: %m", dir);
	if (!S_ISDIR(st.st_mode))
		return log_err_errno(-ENOTDIR, "control socket directory %s: not a directory", dir);
	if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))
		return log_err_errno(-EPERM,
		                     "control socket directory %s is world-writable without the "
		                     "sticky bit; refusing",
		                     dir);
	return 0;
}

/* A socket file left by a crash is replaced; a live daemon's is not. */
static int
remove_stale(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return log_err_errno(-EEXIST,
		                     "control socket %s exists and is not a socket; refusing "
		                     "to replace it",
		                     path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (r == 0)
		return log_err_errno(
		        -EADDRINUSE,
		        "control socket %s belongs to a running daemon; is ginid already "
		        "running with this configuration?",
		        path);
	log_info("control socket %s: removing a stale socket", path);
	if (unlink(path) < 0)
		return -errno;
	return 0;
}

/*
 * Gives the socket to control_group, or to root's group without one. A
 * control_group that cannot be applied is an error: its members would be
 * locked out while the configuration promises them access.
 */
static int
set_socket_group(struct control *c, const char *path)
{
	gid_t gid = c->have_group ? c->group : 0;
	struct stat st;
	char why[512];

	if (stat(path, &st) == 0 && st.st_gid == gid)
		return 0;
	if (chown(path, (uid_t)-1, gid) == 0)
		return 0;
	sandbox_explain_chown(errno, gid, why, sizeof(why));
	if (!c->have_group) {
		log_warn("control socket %s: %s, ignoring", path, why);
		return 0;
	}
	return log_err_errno(-EPERM, "control_group '%s': control socket %s: %s",
	                     c->m->current->config->control_group, path, why);
}

/*
 * What `ginid -t` can tell about the control socket without creating it:
 * control_group could be applied (sandbox.c). config.c resolved the groups.
 */
int
control_check(const struct gini_config *cfg, char *err, size_t size)
{
	char why[512];

	if (cfg->control_group && sandbox_check_chown(cfg->control_gid, why, sizeof(why)) < 0) {
		snprintf(err, size, "control_group '%s': %s", cfg->control_group, why);
		return -EPERM;
	}
	return 0;
}

int
control_new(struct manager *m, sd_event *e, struct control **ret)
{
	const struct gini_config *cfg = m->current->config;
	struct control *c = calloc(1, sizeof(*c));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r, n;

	if (!c)
		return -ENOMEM;
	c->m = m;
	c->e = e;
	c->fd = -1;
	/* Resolved by config.c: an unknown group never gets this far. */
	c->group = cfg->control_gid;
	c->have_group = cfg->control_group != NULL;
	c->ro_group = cfg->control_readonly_gid;
	c->have_ro_group = cfg->control_readonly_group != NULL;
	n = sd_listen_fds(1);
	if (n > 0) {
		if (n != 1 ||
		    sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) <= 0) {
			log_err("systemd passed %d file descriptors; expected one listening Unix "
			        "stream "
			        "socket",
			        n);
			r = -EINVAL;
			goto fail;
		}
		c->fd = SD_LISTEN_FDS_START;
		c->activated = true;
		(void)fcntl(c->fd, F_SETFD, FD_CLOEXEC);
		(void)fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
		{
			socklen_t len = sizeof(sa) - 1;

			if (getsockname(c->fd, (struct sockaddr *)&sa, &len) < 0)
				sa.sun_path[0] = 0;
		}
		/* The read-only group's members must be able to connect (see below). */
		if (c->have_ro_group && sa.sun_path[0] && chmod(sa.sun_path, 0666) < 0)
			log_warn("control socket %s: cannot open it to control_readonly_group: %s",
			         sa.sun_path, strerror(errno));
		/* control_group holds for systemd's socket too, whatever its
		 * SocketGroup= says; without one, the socket unit decides. */
		if (c->have_group && sa.sun_path[0]) {
			r = set_socket_group(c, sa.sun_path);
			if (r < 0)
				goto fail;
		}
	} else {
		if (strlen(cfg->control_socket) >= sizeof(sa.sun_path)) {
			log_err("control socket path %s is too long", cfg->control_socket);
			r = -ENAMETOOLONG;
			goto fail;
		}
		strcpy(sa.sun_path, cfg->control_socket);
		c->path = strdup(cfg->control_socket);
		r = prepare_dir(c->path);
		if (r >= 0)
			r = remove_stale(c->path, &sa);
		if (r < 0)
			goto fail;
		c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (c->fd < 0 || bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(c->fd, 128) < 0) {
			r = log_err_errno(-errno, "control socket %s: %m", c->path);
			goto fail;
		}
		/* Members of control_readonly_group must be able to connect, too;
		 * then the peer credentials alone decide. */
		if (chmod(c->path, c->have_ro_group ? 0666 : 0660) < 0)
			log_warn("control socket %s: cannot set its mode: %s", c->path,
			         strerror(errno));
		r = set_socket_group(c, c->path);
		if (r < 0)
			goto fail;
	}
	r = sd_event_add_io(e, &c->listen_src, c->fd, EPOLLIN, on_accept, c);
	if (r >= 0)
		r = sd_event_add_time_relative(e, &c->resume_src, CLOCK_MONOTONIC,
		                               ACCEPT_RETRY_USEC, 0, on_resume, c);
	if (r >= 0)
		r = sd_event_source_set_enabled(c->resume_src, SD_EVENT_OFF);
	if (r >= 0)
		r = sd_event_add_time_relative(e, &c->flush_src, CLOCK_MONOTONIC, LOG_INTERVAL_USEC,
		                               0, on_flush, c);
	if (r >= 0)
		r = sd_event_source_set_enabled(c->flush_src, SD_EVENT_OFF);
	if (r < 0)
		goto fail;
	log_info("control socket %s", c->activated ? "passed by systemd" : c->path);
	*ret = c;
	return 0;
fail:
	control_free(c);
	return r;
}

struct control *
control_free(struct control *c)
{
	if (!c)
		return NULL;
	for (struct conn *k = c->conns, *next; k; k = next) {
		next = k->next;
		conn_free(k);
	}
	sd_event_source_disable_unref(c->listen_src);
	sd_event_source_disable_unref(c->resume_src);
	sd_event_source_disable_unref(c->flush_src);
	while (c->peers) {
		struct peer *p = c->peers;

		c->peers = p->next;
		peer_flush(p, 0, true);
		free(p);
	}
	if (c->fd >= 0 && !c->activated) {
		close(c->fd);
		if (c->path)
			unlink(c->path);
	}
	free(c->path);
	free(c);
	return NULL;
}

/* Metrics. */

/* Label values: backslash, double quote and newline escaped. */
static void
label(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void
header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The per-stage-type counters, each a family of its own. */
static const struct {
	const char *name;
	const char *help;
	size_t offset; /* in struct stage_counters */
} stage_metrics[] = {
	{ "gini_stage_executions_total", "Step executions (attempts) by stage type.",
	  offsetof(struct stage_counters, runs) },
	{ "gini_stage_failures_total", "Step executions that failed or timed out, by stage type.",
	  offsetof(struct stage_counters, failures) },
	{ "gini_stage_timeouts_total", "Step executions that timed out, by stage type.",
	  offsetof(struct stage_counters, timeouts) },
	{ "gini_stage_crashes_total", "Isolated step workers that died of a signal, by stage type.",
	  offsetof(struct stage_counters, crashes) },
	{ "gini_stage_kills_total",
	  "Isolated step workers killed for not stopping in time, by stage type.",
	  offsetof(struct stage_counters, kills) },
};

char *
control_metrics_text(struct manager *m)
{
	struct generation *g = m->current;
	struct stage_type **list;
	size_t n;
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	static const char *const results[] = { "success", "failed", "cancelled" };
	static const enum run_status statuses[] = { RUN_SUCCESS, RUN_FAILED, RUN_CANCELLED };
	json_t *health;

	if (!f)
		return NULL;
	if (registry_list(g->registry, NULL, 0, 0, &list, &n, NULL) < 0) {
		fclose(f);
		free(buf);
		return NULL;
	}
	for (size_t k = 0; k < ARRAY_SIZE(stage_metrics); k++) {
		header(f, stage_metrics[k].name, "counter", stage_metrics[k].help);
		for (size_t i = 0; i < n; i++) {
			const atomic_uint_fast64_t *v =
			        (const atomic_uint_fast64_t *)((const char *)&list[i]->counters +
			                                       stage_metrics[k].offset);

			fprintf(f, "%s{stage=\"", stage_metrics[k].name);
			label(f, list[i]->id);
			fprintf(f, "\"} %llu\n", (unsigned long long)atomic_load(v));
		}
	}
	header(f, "gini_stage_duration_seconds", "histogram",
	       "Duration of step executions, by stage type.");
	for (size_t i = 0; i < n; i++) {
		uint64_t cum = 0;

		for (size_t b = 0; b < STAGE_BUCKETS; b++) {
			cum += atomic_load(&list[i]->counters.buckets[b]);
			fputs("gini_stage_duration_seconds_bucket{stage=\"", f);
			label(f, list[i]->id);
			if (b < STAGE_BUCKETS - 1)
				fprintf(f, "\",le=\"%g\"} %llu\n",
				        (double)stage_bucket_bounds[b] / 1e6,
				        (unsigned long long)cum);
			else
				fprintf(f, "\",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
		}
		fputs("gini_stage_duration_seconds_sum{stage=\"", f);
		label(f, list[i]->id);
		fprintf(f, "\"} %.6f\n", (double)atomic_load(&list[i]->counters.total_usec) / 1e6);
		fputs("gini_stage_duration_seconds_count{stage=\"", f);
		label(f, list[i]->id);
		fprintf(f, "\"} %llu\n", (unsigned long long)cum);
	}
	registry_list_free(list, n);
	header(f, "gini_pipeline_runs_total", "counter", "Finished pipeline runs by result.");
	for (size_t i = 0; i < g->n_pipelines; i++) {
		struct pstate *ps = hashmap_get(&m->pstates, g->pipelines[i]->name);

		for (size_t r = 0; r < ARRAY_SIZE(results); r++) {
			fputs("gini_pipeline_runs_total{pipeline=\"", f);
			label(f, g->pipelines[i]->name);
			fprintf(f, "\",result=\"%s\"} %llu\n", results[r],
			        (unsigned long long)(ps ? ps->runs[statuses[r]] : 0));
		}
	}
	header(f, "gini_pipeline_triggers_skipped_total", "counter",
	       "Triggers dropped by the overlap policy, by pipeline.");
	for (size_t i = 0; i < g->n_pipelines; i++) {
		struct pstate *ps = hashmap_get(&m->pstates, g->pipelines[i]->name);

		fputs("gini_pipeline_triggers_skipped_total{pipeline=\"", f);
		label(f, g->pipelines[i]->name);
		fprintf(f, "\"} %llu\n", (unsigned long long)(ps ? ps->skipped : 0));
	}
	header(f, "gini_registry_stage_types", "gauge", "Registered stage types.");
	fprintf(f, "gini_registry_stage_types %zu\n", registry_count(g->registry));
	header(f, "gini_pipelines", "gauge", "Pipelines in the live configuration.");
	fprintf(f, "gini_pipelines %zu\n", g->n_pipelines);
	header(f, "gini_runs_in_flight", "gauge", "Pipeline runs in flight.");
	fprintf(f, "gini_runs_in_flight %zu\n", m->in_flight);
	header(f, "gini_workers_abandoned", "gauge",
	       "Worker threads left behind in a step abandoned for ignoring cancellation.");
	fprintf(f, "gini_workers_abandoned %u\n", executor_abandoned(m->ex));
	header(f, "gini_reloads_total", "counter", "Configuration reloads by result.");
	fprintf(f, "gini_reloads_total{result=\"success\"} %llu\n",
	        (unsigned long long)m->reloads_ok);
	fprintf(f, "gini_reloads_total{result=\"failure\"} %llu\n",
	        (unsigned long long)m->reloads_failed);
	header(f, "gini_generation", "gauge", "Number of the live configuration generation.");
	fprintf(f, "gini_generation %llu\n", (unsigned long long)g->number);
	health = manager_health(m);
	if (health)
		health_metrics(health, m->health, f);
	json_decref(health);
	/* The history store (history.c) appends its gini_history_* families here,
	 * once it has numbers of its own to give. */
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
