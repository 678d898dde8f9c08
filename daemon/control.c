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
 * complete request for CONTROL_IDLE_USEC is closed. Connections are
 * edge-triggered, so a hundred busy clients cost the loop one epoll entry
 * per request that arrived rather than a scan of every readable socket on
 * each turn of sd-event (which dispatches one source per turn).
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
 *
 * This file owns the connections: admission, I/O, the request loop and
 * authorisation. The socket file is control_socket.c's, the per-uid
 * accounting control_peer.c's, the commands control_cmd_*.c's; they reach
 * the manager only through its read API and functions (manager.h), and the
 * manager does not know this file (ginid.c creates it).
 */
#include "control.h"

#include "config.h"
#include "control_conn.h"
#include "control_peer.h"
#include "control_socket.h"
#include "generation.h"
#include "log.h"
#include "manager.h"
#include "proto.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* Replies beyond this stop the reading of further requests... */
#define OUT_PAUSE (1u << 20)
/* ...and beyond this the client is dropped as not reading at all. */
#define OUT_MAX (64u << 20)
/* A reply buffer larger than this is freed once written. */
#define OUT_KEEP (64u << 10)
/* Out of descriptors: new connections wait this long, or until one closes. */
#define ACCEPT_RETRY_USEC (250 * USEC_PER_MSEC)
/* The input buffer of a connection: a request line at its limit, its
 * newline, and one byte to tell a longer line. */
#define IN_CAP (PROTO_LINE_MAX + 2)

static void conn_free(struct conn *k);
static void conn_update_events(struct conn *k);

/* Replies. */

void
control_conn_send_text(struct conn *k, const struct iovec *iov, size_t n)
{
	size_t len = 0;
	char *nb;

	for (size_t i = 0; i < n; i++)
		len += iov[i].iov_len;
	if (k->out_len - k->out_off + len + 1 > OUT_MAX) {
		control_peer_warn(
		        k->c, k->peer, WARN_REQUEST,
		        "control: uid %u (pid %d) does not read its replies; disconnecting",
		        (unsigned)k->cred.uid, (int)k->cred.pid);
		k->closing = true;
		k->out_len = k->out_off = 0;
		return;
	}
	if (k->out_off > 0 && k->out_off == k->out_len)
		k->out_off = k->out_len = 0;
	if (k->out_len + len + 1 > k->out_cap && k->out_off > 0) {
		memmove(k->out, k->out + k->out_off, k->out_len - k->out_off);
		k->out_len -= k->out_off;
		k->out_off = 0;
	}
	if (k->out_len + len + 1 > k->out_cap) {
		/* Doubling: a client that pipelines requests costs no realloc each. */
		size_t cap = k->out_cap ? k->out_cap : OUT_KEEP / 16;

		while (cap < k->out_len + len + 1)
			cap *= 2;
		nb = realloc(k->out, cap);
		if (!nb) {
			k->closing = true;
			return;
		}
		k->out = nb;
		k->out_cap = cap;
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(k->out + k->out_len, iov[i].iov_base, iov[i].iov_len);
		k->out_len += iov[i].iov_len;
	}
	k->out[k->out_len++] = '\n';
}

void
control_conn_send(struct conn *k, json_t *msg)
{
	char *text = json_dumps(msg, JSON_COMPACT | JSON_ENSURE_ASCII);

	json_decref(msg);
	if (!text) {
		k->closing = true;
		return;
	}
	control_conn_send_text(k, &(struct iovec){ .iov_base = text, .iov_len = strlen(text) }, 1);
	free(text);
}

static const struct command {
	const char *name;
	void (*fn)(struct conn *k, json_t *id, json_t *args);
	bool mutating;
} commands[] = {
	{ "status", control_cmd_status, false },
	{ "stages", control_cmd_stages, false },
	{ "pipelines", control_cmd_pipelines, false },
	{ "history", control_cmd_history, false },
	{ "logs", control_cmd_logs, false },
	{ "metrics", control_cmd_metrics, false },
	{ "run", control_cmd_run, true },
	{ "reload", control_cmd_reload, true },
	{ "cancel", control_cmd_cancel, true },
	{ "enable", control_cmd_enable, true },
	{ "disable", control_cmd_disable, true },
	{ "health", control_cmd_health, false },
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

	if (k->cred.uid == 0 || k->cred.uid == c->euid)
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
			control_reply_error(k, NULL, PROTO_E_BAD_REQUEST, NULL,
			                    "a request must be a JSON object");
		else
			control_reply_error(k, NULL, PROTO_E_BAD_REQUEST, NULL,
			                    "malformed JSON at column %d: %s", err.column,
			                    err.text);
		json_decref(req);
		/* The stream cannot be trusted after a malformed line. */
		k->closing = true;
		return;
	}
	id = json_object_get(req, "id");
	v = json_object_get(req, "v");
	if (!json_is_integer(v) || json_integer_value(v) != PROTO_VERSION) {
		control_reply_error(k, id, PROTO_E_VERSION, NULL,
		                    "protocol version %d is required (\"v\": %d)", PROTO_VERSION,
		                    PROTO_VERSION);
		goto out;
	}
	if (json_unpack(req, "{s:s}", "cmd", &cmd) < 0) {
		control_reply_error(k, id, PROTO_E_BAD_REQUEST, NULL,
		                    "\"cmd\" (a string) is required");
		/* As after any bad_request: the client is not speaking the protocol. */
		k->closing = true;
		goto out;
	}
	args = json_object_get(req, "args");
	if (args && !json_is_object(args)) {
		control_reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL,
		                    "\"args\" must be an object");
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
		control_reply_error(
		        k, id, PROTO_E_UNKNOWN_COMMAND, NULL, "unknown command '%.64s'%s%s%s", cmd,
		        hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
		goto out;
	}
	a = peer_access(k);
	if (a == ACCESS_NONE || (a == ACCESS_READ && c->mutating)) {
		k->c->denied++;
		control_peer_warn(k->c, k->peer, WARN_REQUEST,
		                  "control: permission denied: uid %u (pid %d) may not use '%s'",
		                  (unsigned)k->cred.uid, (int)k->cred.pid, c->name);
		control_reply_error(k, id, PROTO_E_PERMISSION, NULL,
		                    "permission denied: uid %u may not use '%s'",
		                    (unsigned)k->cred.uid, c->name);
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
void
control_conn_process(struct conn *k)
{
	size_t start = 0;

	while (!k->closing && !k->wait && !k->query && k->out_len - k->out_off < OUT_PAUSE) {
		char *nl = memchr(k->in + start, '\n', k->in_len - start);
		size_t len;

		if (!nl)
			break;
		len = (size_t)(nl - (k->in + start));
		if (len > PROTO_LINE_MAX) {
			control_reply_error(k, NULL, PROTO_E_TOO_LARGE, NULL,
			                    "request of %zu bytes is over the %d byte limit", len,
			                    PROTO_LINE_MAX);
			k->closing = true;
			break;
		}
		/* The idle timer reads this when it fires (on_conn_idle): moving
		 * the timer itself for every request was 5% of the loop's time. */
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
		control_reply_error(k, NULL, PROTO_E_TOO_LARGE, NULL,
		                    "request over the %d byte limit", PROTO_LINE_MAX);
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
	/* All written: a buffer grown for a large reply is not kept. */
	if (k->out_cap > OUT_KEEP) {
		free(k->out);
		k->out = NULL;
		k->out_cap = 0;
	}
	return 0;
}

static void
conn_update_events(struct conn *k)
{
	uint32_t ev = EPOLLET;

	if (!k->io)
		return;
	if (k->out_off < k->out_len)
		ev |= EPOLLOUT;
	/* Read while there is room for a request and replies are not piling up;
	 * a waiting connection is still read, to notice the client leaving. */
	if (!k->closing && k->in_len <= PROTO_LINE_MAX && k->out_len - k->out_off < OUT_PAUSE)
		ev |= EPOLLIN | EPOLLRDHUP;
	/* sd-event re-arms an edge-triggered source on every call (a syscall):
	 * only when the mask changes, or when the last read filled the buffer
	 * and so may have left bytes behind that no new edge will announce. */
	if (ev == k->events && !((ev & EPOLLIN) && k->rd_more))
		return;
	if (sd_event_source_set_io_events(k->io, ev) >= 0) {
		k->events = ev;
		if (ev & EPOLLIN)
			k->rd_more = false;
	}
}

static int
on_conn_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct conn *k = userdata;

	(void)s;
	if ((revents & EPOLLIN) && k->in_len < IN_CAP) {
		ssize_t n;

		if (!k->in) {
			k->in = malloc(IN_CAP);
			if (!k->in) {
				conn_free(k);
				return 0;
			}
		}
		/*
		 * One recv() per wake-up, not a second one to see EAGAIN: a short
		 * read of a stream socket took all there was, and what arrives
		 * later is a new edge. A full buffer takes EPOLLIN out of the mask
		 * (conn_update_events) until requests are consumed, and putting it
		 * back re-arms the descriptor.
		 */
		n = recv(fd, k->in + k->in_len, IN_CAP - k->in_len, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			conn_free(k);
			return 0;
		}
		if (n > 0) {
			/* The peer's end-of-file came with the data: no edge will
			 * announce it again, so re-arm to read it. */
			k->rd_more = (size_t)n == IN_CAP - k->in_len ||
			             (revents & (EPOLLRDHUP | EPOLLHUP));
			k->in_len += (size_t)n;
		}
	} else if (revents & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) {
		conn_free(k);
		return 0;
	}
	control_conn_process(k);
	if (conn_flush(k) < 0 || (k->closing && k->out_off == k->out_len)) {
		conn_free(k);
		return 0;
	}
	/* Replies drained: requests held back may go on. */
	if (k->in_len && !k->closing && !k->wait && !k->query) {
		control_conn_process(k);
		if (conn_flush(k) < 0) {
			conn_free(k);
			return 0;
		}
	}
	conn_update_events(k);
	return 0;
}

/* Outside the connection's own I/O callback: write what is pending now. */
void
control_conn_kick(struct conn *k)
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

	if (k->active_usec + CONTROL_IDLE_USEC > usec) {
		/* A request came since the timer was set: idle from then on. */
		sd_event_source_set_time(s, k->active_usec + CONTROL_IDLE_USEC);
		sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
		return 0;
	}
	log_debug("control: closing connection of uid %u (pid %d): idle", (unsigned)k->cred.uid,
	          (int)k->cred.pid);
	conn_free(k);
	return 0;
}

static void
conn_free(struct conn *k)
{
	struct control *c = k->c;

	control_cmd_run_abandon(k);
	control_cmd_history_abandon(k);
	if (k->prev)
		k->prev->next = k->next;
	else
		c->conns = k->next;
	if (k->next)
		k->next->prev = k->prev;
	c->n_conns--;
	if (k->peer && --k->peer->n_conns == 0)
		control_peer_flush(k->peer, 0, true);
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
		if (control_ratelimit_test(&c->accept_rl, 1, now_usec(CLOCK_MONOTONIC),
		                           &suppressed)) {
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

	control_peer_warn(c, k->peer, WARN_CONNECTION,
	                  "control: refusing a connection of uid %u (pid %d): %s",
	                  (unsigned)k->cred.uid, (int)k->cred.pid, reason);
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
	unsigned per_uid = manager_generation(c->m)->config->control_max_connections_per_uid;
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
	k->peer = control_peer_get(c, k->cred.uid);
	if (!k->peer) {
		close(fd);
		free(k->groups);
		free(k);
		return -ENOMEM;
	}
	if (k->cred.uid != 0 && k->cred.uid != c->euid && k->peer->n_conns >= per_uid) {
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
		control_peer_warn(
		        c, victim->peer, WARN_EVICTION,
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
	k->events = EPOLLIN | EPOLLRDHUP | EPOLLET;
	r = sd_event_add_io(c->e, &k->io, fd, k->events, on_conn_io, k);
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

int
control_new(struct manager *m, sd_event *e, struct control **ret)
{
	const struct gini_config *cfg = manager_generation(m)->config;
	struct control *c = calloc(1, sizeof(*c));
	struct control_groups g;
	int r;

	if (!c)
		return log_err_errno(-ENOMEM, "cannot set up the control socket: %m");
	c->m = m;
	c->e = e;
	c->fd = -1;
	c->euid = geteuid();
	control_groups_of(cfg, &g);
	r = control_socket_open(cfg, &g, &c->fd, &c->path, &c->activated);
	if (r < 0)
		goto fail;
	c->have_group = g.have_group;
	c->group = g.group;
	c->have_ro_group = g.have_ro_group;
	c->ro_group = g.ro_group;
	r = sd_event_add_io(e, &c->listen_src, c->fd, EPOLLIN, on_accept, c);
	if (r >= 0)
		r = sd_event_add_time_relative(e, &c->resume_src, CLOCK_MONOTONIC,
		                               ACCEPT_RETRY_USEC, 0, on_resume, c);
	if (r >= 0)
		r = sd_event_source_set_enabled(c->resume_src, SD_EVENT_OFF);
	if (r >= 0)
		r = sd_event_add_time_relative(e, &c->flush_src, CLOCK_MONOTONIC, LOG_INTERVAL_USEC,
		                               0, control_peer_on_flush, c);
	if (r >= 0)
		r = sd_event_source_set_enabled(c->flush_src, SD_EVENT_OFF);
	if (r < 0) {
		log_err_errno(r, "control socket %s: cannot watch it: %m",
		              c->activated ? "passed by systemd" : c->path);
		goto fail;
	}
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
		control_peer_flush(p, 0, true);
		free(p);
	}
	if (c->fd >= 0 && !c->activated) {
		close(c->fd);
		if (c->path)
			unlink(c->path);
	}
	control_status_cache_free(c->status);
	free(c->path);
	free(c);
	return NULL;
}
