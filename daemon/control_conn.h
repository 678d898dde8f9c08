/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the files of the control socket share among themselves, and nothing
 * else includes: a connection, the control, the replies and the argument
 * checks of the command handlers (control_cmd_*.c). The transport
 * (control.c) owns every struct conn and struct control; a handler borrows
 * the connection for the length of its call, or waits on it (k->wait,
 * k->query) until it clears the wait and calls control_conn_process().
 */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <systemd/sd-event.h>

#include "jtext.h"
#include "manager.h"

struct conn;
struct query;
struct peer;
struct status_cache;

struct ratelimit {
	uint64_t begin_usec; /* start of the current interval, 0: none yet */
	unsigned n;          /* messages let through in it */
	uint64_t suppressed; /* messages held back and not yet reported */
};

/* A `run --wait` in progress on a connection. */
struct waiting {
	struct run_listener l; /* first: listener callbacks cast back */
	struct conn *conn;
	json_t *id;
	uint64_t run_id;
	bool dry;
	/* A run without --wait that came while the history was being read:
	 * the reply waits for its start (and its id) only. */
	bool start_only;
	bool in_request; /* control_cmd_run() is still on the stack */
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
	sd_event_source *io; /* edge-triggered: see conn_update_events */
	uint32_t events;     /* the mask io was last given */
	bool rd_more;        /* the last read filled the input buffer */
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
	size_t out_len, out_off, out_cap;
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
	uid_t euid;                  /* the daemon's, which has full access */
	struct status_cache *status; /* the last status reply (control_cmd_query.c) */
};

/* The transport (control.c). Loop thread. */

/* Queues msg (taken) as one reply line on k; on failure k is closing. */
void control_conn_send(struct conn *k, json_t *msg);
/* The same for a line already serialised, in n pieces (the newline is added). */
void control_conn_send_text(struct conn *k, const struct iovec *iov, size_t n);
/* Handles the complete request lines k holds, as far as allowed. */
void control_conn_process(struct conn *k);
/* Outside k's own I/O callback: writes what is pending (may free k). */
void control_conn_kick(struct conn *k);

/* Replies and arguments (control_reply.c). */

/* {"v": PROTO_VERSION, "id": id}: the start of every reply and event. */
json_t *control_envelope(json_t *id);
void control_reply_ok(struct conn *k, json_t *id, json_t *result);
void control_reply_error(struct conn *k, json_t *id, const char *code, json_t *extra,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* An ISO 8601 time in seconds, UTC, or null for 0. */
json_t *control_iso_or_null(int64_t usec);
/* Rejects argument names outside allowed, with a suggestion (replied). */
bool control_args_known(struct conn *k, json_t *id, json_t *args, const char *const *allowed,
                        size_t n);
/* 1 found, 0 absent, -1 wrong type (replied). */
int control_arg_string(struct conn *k, json_t *id, json_t *args, const char *name,
                       const char **ret);
int control_arg_int(struct conn *k, json_t *id, json_t *args, const char *name, long long lo,
                    long long hi, long long *ret);
int control_arg_bool(struct conn *k, json_t *id, json_t *args, const char *name, bool *ret);

/* Frees the status command's cache (control_cmd_query.c); accepts NULL. */
void control_status_cache_free(struct status_cache *sc);

/* The command handlers: each replies (or waits) on k. */

/* control_cmd_query.c */
void control_cmd_status(struct conn *k, json_t *id, json_t *args);
void control_cmd_stages(struct conn *k, json_t *id, json_t *args);
void control_cmd_pipelines(struct conn *k, json_t *id, json_t *args);
void control_cmd_metrics(struct conn *k, json_t *id, json_t *args);
void control_cmd_health(struct conn *k, json_t *id, json_t *args);
/* control_cmd_history.c */
void control_cmd_history(struct conn *k, json_t *id, json_t *args);
void control_cmd_logs(struct conn *k, json_t *id, json_t *args);
/* Replies health on k once the run history is read: before, health would
 * not know the runs from before this start. The connection waits. */
void control_health_when_read(struct conn *k, json_t *id);
/* control_cmd_runs.c */
void control_cmd_run(struct conn *k, json_t *id, json_t *args);
void control_cmd_reload(struct conn *k, json_t *id, json_t *args);
void control_cmd_cancel(struct conn *k, json_t *id, json_t *args);
void control_cmd_enable(struct conn *k, json_t *id, json_t *args);
void control_cmd_disable(struct conn *k, json_t *id, json_t *args);
/* A connection with a `run --wait` closes: forget the run. */
void control_cmd_run_abandon(struct conn *k);
/* A connection waiting for a history query closes: its answer is dropped. */
void control_cmd_history_abandon(struct conn *k);
