/* SPDX-License-Identifier: MIT */
/*
 * Out-of-process steps, the daemon's side. An isolated step runs in a
 * gini-worker process started by the child supervisor (plugins/lib/child.c:
 * never a bare fork of this threaded daemon), in a process group of its own,
 * with the signal mask and dispositions reset. Fd 3 is one end of a
 * socketpair carrying one JSON object per line:
 *
 *	daemon -> worker: the request, then {"cancel": true} if it comes to that
 *	worker -> daemon: {"log": LEVEL, "msg": "..."} lines, then
 *	                  {"done": RC, "message": ..., "set": {...}, "unset": [...]}
 *
 * but for a warm step's messages, binary frames (isolate_frame.h) among
 * those lines: a pooled worker's requests after its first (FRAME_RUN) and
 * every run's answer (FRAME_DONE), 10,000 instructions each in JSON.
 *
 * What the worker prints on stdout or stderr is logged here as a warning,
 * capped, so a plugin that writes garbage cannot corrupt the protocol.
 * Whatever the worker does, this returns only when it is reaped and
 * everything it started is killed: a crash, a hang past the grace, an exit()
 * from the plugin leave neither zombie nor stray process behind. Where
 * cgroup v2 is usable the worker starts in a cgroup of its own (clone3
 * into it: before any code runs in it), and
 * cgroup.kill ends it and all it started, an exec step's children in their
 * own process groups and sessions included. Without a cgroup, its process
 * group and every descendant a walk of the process tree finds are killed.
 *
 * With worker_pool (a step's run, never a configuration check), the request
 * goes instead to a pre-spawned worker of the pool (isolate_pool.c) that
 * serves requests one after another: a run ends at its "done", not at the
 * worker's exit. Only a worker that answered without being asked to cancel
 * goes back to the pool; one that crashed, exited, was cancelled or ran out
 * of time is killed, with everything it started, as a one-shot worker is.
 */
#include "isolate.h"

#include "config.h"
#include "isolate_frame.h"
#include "isolate_pool.h"
#include "context.h"
#include "host.h"
#include "loader.h"
#include "log.h"
#include "output.h"
#include "params.h"
#include "util.h"

#include "../plugins/lib/child.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define OUTPUT_LINES_MAX 100
/* Past this, an output line is cut and the rest of it dropped. */
#define OUTPUT_LINE_BYTES 4096u
#define LINE_MAX_BYTES    (64u << 20)

struct buffer {
	char *data;
	size_t len;
};

static void
send_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd p = { .fd = fd, .events = POLLOUT };

				(void)poll(&p, 1, 1000);
				continue;
			}
			return; /* the worker is gone: its exit tells the rest */
		}
		s += n;
		len -= (size_t)n;
	}
}

/* One line, in one send(): the worker wakes once for it, not twice. */
static void
send_json(int fd, json_t *o)
{
	char *text = json_dumps(o, JSON_COMPACT);
	size_t len;

	json_decref(o);
	if (!text)
		return;
	/* The terminating NUL becomes the newline. */
	len = strlen(text);
	text[len] = '\n';
	send_all(fd, text, len + 1);
	free(text);
}

/*
 * Appends what was read. -1 past LINE_MAX_BYTES without a newline: the
 * stream is then ended, as at end of file.
 */
static int
buffer_add(struct buffer *b, const char *p, size_t n)
{
	char *nb;

	if (b->len + n > LINE_MAX_BYTES)
		return -1;
	nb = realloc(b->data, b->len + n + 1);
	if (!nb)
		return 0; /* dropped; the worker's end tells the rest */
	b->data = nb;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

/* Takes the next complete line out of b (caller frees), or NULL. */
static char *
next_line(struct buffer *b)
{
	char *nl = b->data ? memchr(b->data, '\n', b->len) : NULL, *line;
	size_t l;

	if (!nl)
		return NULL;
	l = (size_t)(nl - b->data);
	line = strndup(b->data, l);
	memmove(b->data, nl + 1, b->len - l - 1);
	b->len -= l + 1;
	return line;
}

static char **
strv_from_json(json_t *a)
{
	char **v = NULL;
	size_t n = 0;

	for (size_t i = 0; i < json_array_size(a); i++)
		if (json_is_string(json_array_get(a, i)))
			(void)strv_push(&v, &n, json_string_value(json_array_get(a, i)));
	return v ? v : calloc(1, sizeof(char *));
}

struct session {
	const struct isolate_call *call;
	struct isolate_result *res;
	/* Our end of the worker's socket, the loop's stream: its fd is -1 once
	 * the loop closed it, and must not be used after (it may be reused). */
	const struct child_stream *sock;
	struct buffer in, out; /* what came from the socket and the output pipe */
	bool done;
	bool final; /* the worker serves nothing after this (pool mode) */
	json_t *set, *unset;
	/* With a FRAME_DONE: the rest of its payload, the context's changes. */
	char *changes;
	size_t changes_len;
	unsigned output_lines;
	bool output_cut; /* dropping the rest of an overlong output line */
	char tag[512];   /* see session_tag() */
	bool tagged;
};

/* "run N: pipeline 'P': step 'S': ", made when first needed: most steps
 * never need it (1,400 of a warm step's 11,500 instructions). */
static const char *
session_tag(struct session *s)
{
	const struct isolate_call *c = s->call;

	if (!s->tagged && c->pipeline && c->step)
		snprintf(s->tag, sizeof(s->tag),
		         "run %llu: pipeline '%s': step '%s': ", (unsigned long long)c->run_id,
		         c->pipeline, c->step);
	s->tagged = true;
	return s->tag;
}

static void
handle_message(struct session *s, const char *line)
{
	json_t *o = json_loads(line, 0, NULL), *v;

	if (!json_is_object(o)) {
		log_warn("%sworker sent a malformed line, ignoring", session_tag(s));
		json_decref(o);
		return;
	}
	if ((v = json_object_get(o, "log")) && json_is_integer(v)) {
		int level = (int)json_integer_value(v);
		const char *msg = json_string_value(json_object_get(o, "msg"));

		/* Kept without the tag the worker put on it (host.c there, too). */
		if (msg && s->call->output) {
			size_t n = strlen(session_tag(s));

			output_add(s->call->output, level,
			           n && strncmp(msg, session_tag(s), n) == 0 ? msg + n : msg);
		}
		/* The worker tagged the line already (host.c there, too). */
		log_full(level < LOG_ERR     ? LOG_ERR
		         : level > LOG_DEBUG ? LOG_DEBUG
		                             : level,
		         "%s", msg ? msg : "");
	} else if ((v = json_object_get(o, "done")) && json_is_integer(v) && !s->done) {
		const char *msg = json_string_value(json_object_get(o, "message"));

		s->done = true;
		s->final = json_is_true(json_object_get(o, "final"));
		s->res->rc = (int)json_integer_value(v);
		free(s->res->message);
		s->res->message = msg ? strdup(msg) : NULL;
		s->set = json_incref(json_object_get(o, "set"));
		s->unset = json_incref(json_object_get(o, "unset"));
		if (json_is_array(json_object_get(o, "unused"))) {
			s->res->unused = strv_from_json(json_object_get(o, "unused"));
			s->res->asked = strv_from_json(json_object_get(o, "asked"));
		}
	}
	json_decref(o);
}

/* A binary frame from the worker (payload p, n bytes): only FRAME_DONE. */
static void
handle_frame(struct session *s, const char *p, size_t n)
{
	struct frame_reader r = { p, n, false };
	uint8_t kind = frame_get_u8(&r);
	int32_t rc = (int32_t)frame_get_u32(&r);
	const char *msg = frame_get_str(&r);

	if (kind != FRAME_DONE || s->done || r.bad) {
		log_warn("%sworker sent a malformed or unexpected frame, ignoring", session_tag(s));
		return;
	}
	s->done = true;
	s->res->rc = rc;
	free(s->res->message);
	s->res->message = msg ? strdup(msg) : NULL;
	free(s->changes); /* read if they are applied */
	s->changes = r.left ? malloc(r.left) : NULL;
	s->changes_len = s->changes ? r.left : 0;
	if (s->changes)
		memcpy(s->changes, r.p, r.left);
}

static void
handle_output(struct session *s, const char *line)
{
	char text[404];

	if (!*line)
		return;
	output_add(s->call->output, LOG_WARNING, line);
	if (s->output_lines == OUTPUT_LINES_MAX)
		log_warn("%sworker output: further lines suppressed", session_tag(s));
	if (s->output_lines++ >= OUTPUT_LINES_MAX)
		return;
	/* Binary garbage must not put escape sequences into the log. */
	log_warn("%sworker output: %s", session_tag(s), str_escape(line, text, sizeof(text)));
}

/*
 * Logs the complete lines the worker printed (and with end, an unfinished
 * last one). A line longer than OUTPUT_LINE_BYTES is logged cut and the rest
 * of it dropped: a flood without newlines must cost us no memory, and must
 * not stop us reading, or the worker would block on a full pipe for ever.
 */
static void
flush_output(struct session *s, struct buffer *b, bool end)
{
	char *line;

	while ((line = next_line(b))) {
		if (!s->output_cut)
			handle_output(s, line);
		s->output_cut = false;
		free(line);
	}
	if (b->len > OUTPUT_LINE_BYTES || (end && b->len)) {
		if (!s->output_cut) {
			b->data[MIN(b->len, OUTPUT_LINE_BYTES)] = 0;
			handle_output(s, b->data);
		}
		s->output_cut = true;
		b->len = 0;
	}
}

static int
put_ctx(const char *k, const char *v, void *userdata)
{
	json_object_set_new(userdata, k, json_string(v));
	return 0;
}

/*
 * The request for one more run in a pooled worker, a FRAME_RUN: what
 * differs between runs. Its plugin, identity and limits are the first
 * request's (the pool key makes them the same). Sent in one send().
 */
static void
send_request_next(int fd, const struct isolate_call *c)
{
	struct frame f = { 0 };

	frame_begin(&f, FRAME_RUN);
	frame_put_u64(&f, c->run_id);
	frame_put_str(&f, c->pipeline);
	frame_put_str(&f, c->step);
	frame_put_params(&f, c->params);
	frame_put_ctx(&f, c->ctx);
	/* Out of memory: nothing is sent; the run ends as a hung one. */
	if (frame_end(&f) == 0)
		send_all(fd, f.data, f.len);
	frame_done(&f);
}

/*
 * The daemon's sealed copy of the plugin, for the worker's descriptor 4,
 * or -1: then the worker reads the file (checking it is the same version).
 * Mapping the copy the daemon checked spares the worker the path checks,
 * its own copy and the seals: about 100 us of a cold step (200 -> 92-115
 * us for loader_open_file() against loader_open_sealed(), noop.so).
 */
static int
loaded_fd(const struct isolate_call *c)
{
	return c->loaded ? plugin_fd(c->loaded) : -1;
}

static json_t *
request_json(const struct isolate_call *c, bool create_only)
{
	json_t *ctx = json_object(), *limits = json_object(), *key, *o;
	const struct isolation *iso = c->iso;

	/* The context as it is when the step starts. */
	if (c->ctx)
		(void)ctx_foreach(c->ctx, put_ctx, ctx);
	if (iso && iso->memory_max)
		json_object_set_new(limits, "memory_max",
		                    json_integer((json_int_t)iso->memory_max));
	if (iso && iso->cpu_max_sec)
		json_object_set_new(limits, "cpu_max", json_integer((json_int_t)iso->cpu_max_sec));
	if (iso && iso->nofile)
		json_object_set_new(limits, "nofile", json_integer((json_int_t)iso->nofile));
	key = json_pack("{s:I, s:I, s:I, s:I}", "dev", (json_int_t)c->key->dev, "ino",
	                (json_int_t)c->key->ino, "size", (json_int_t)c->key->size, "mtime_ns",
	                (json_int_t)c->key->mtime_ns);
	o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:s?, s:s?, s:I}", "mode",
	              create_only ? "create" : "run", "plugin", c->plugin, "key", key, "params",
	              params_to_json(c->params), "ctx", ctx, "limits", limits, "pipeline",
	              c->pipeline, "step", c->step, "run_id", (json_int_t)c->run_id);
	if (o && c->set_uid)
		json_object_set_new(o, "uid", json_integer((json_int_t)c->uid));
	if (o && c->set_gid)
		json_object_set_new(o, "gid", json_integer((json_int_t)c->gid));
	if (o && loaded_fd(c) >= 0)
		json_object_set_new(o, "sealed", json_true());
	return o;
}

static void
apply_ctx_changes(struct run_ctx *ctx, json_t *set, json_t *unset)
{
	const char *k;
	json_t *v;

	json_object_foreach(set, k, v) if (json_is_string(v))(void)
	        ctx_set(ctx, k, json_string_value(v));
	for (size_t i = 0; i < json_array_size(unset); i++)
		if (json_is_string(json_array_get(unset, i)))
			(void)ctx_set(ctx, json_string_value(json_array_get(unset, i)), NULL);
}

static void
apply_changes(struct session *s, struct run_ctx *ctx)
{
	if (s->changes)
		frame_apply_changes(s->changes, s->changes_len, ctx);
	else
		apply_ctx_changes(ctx, s->set, s->unset);
}

/*
 * The worker's side of the socket: its messages, JSON lines and binary
 * frames, each handled where it lies in the buffer, and what is left of
 * an incomplete one kept for the next read.
 */
static int
on_message_data(void *userdata, const char *p, size_t n)
{
	struct session *s = userdata;
	size_t off = 0;

	if (n && buffer_add(&s->in, p, n) < 0)
		return -1;
	while (off < s->in.len) {
		char *m = s->in.data + off, *nl;
		size_t left = s->in.len - off;

		if (*m == FRAME_MAGIC) {
			ssize_t len = frame_size(m, left, LINE_MAX_BYTES);

			if (len < 0)
				return -1; /* as an overlong line: the stream ends */
			if (len == 0)
				break;
			handle_frame(s, m + FRAME_HEADER, (size_t)len - FRAME_HEADER);
			off += (size_t)len;
			continue;
		}
		if (!(nl = memchr(m, '\n', left)))
			break;
		*nl = 0;
		handle_message(s, m);
		off += (size_t)(nl - m) + 1;
	}
	if (off) {
		memmove(s->in.data, s->in.data + off, s->in.len - off);
		s->in.len -= off;
		s->in.data[s->in.len] = 0;
	}
	return 0;
}

/* What the worker prints: logged line by line, capped. */
static int
on_output_data(void *userdata, const char *p, size_t n)
{
	struct session *s = userdata;

	if (n && buffer_add(&s->out, p, n) < 0)
		return -1;
	flush_output(s, &s->out, n == 0);
	return 0;
}

static bool
call_cancelled(void *userdata)
{
	const struct session *s = userdata;

	return cancel_fired(s->call->cancel);
}

/* Asked first: the process group goes after the grace (child.c). */
static void
ask_cancel(struct child *c, void *userdata)
{
	struct session *s = userdata;

	(void)c;
	if (s->sock && s->sock->fd >= 0)
		send_json(s->sock->fd, json_pack("{s:b}", "cancel", 1));
}

static void
pool_key(const struct isolate_call *c, struct pool_key *ret)
{
	*ret = (struct pool_key){ c->plugin,     c->stage,           c->key->dev,
		                  c->key->ino,   c->key->size,       c->key->mtime_ns,
		                  c->set_uid,    c->set_gid,         c->uid,
		                  c->gid,        c->iso->memory_max, c->iso->cpu_max_sec,
		                  c->iso->nofile };
}

/*
 * Reads what w has written on fd now, without waiting; the socket only up
 * to its "done" (nothing follows it in a run: one more read would only
 * meet EAGAIN). 0 at end of file.
 */
static int
pool_read(int fd, int (*on_data)(void *, const char *, size_t), struct session *s)
{
	char buf[65536];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 1 : 0;
		if (n == 0)
			return 0;
		if (on_data(s, buf, (size_t)n) < 0)
			return 0;
		if (on_data == on_message_data && s->done)
			return 1;
	}
}

/*
 * One run in a worker of the pool: until its "done", its death, or the
 * grace after a cancellation (or the deadline) runs out. Then the worker
 * goes back to the pool, or is killed.
 */
static int
run_pooled(const struct isolate_call *call, struct session *s, struct isolate_result *ret)
{
	struct pool_key key;
	struct pool_worker *w = NULL;
	struct child_stream sock = { .fd = -1 };
	uint64_t kill_at = call->timeout_usec ? now_usec(CLOCK_MONOTONIC) + call->timeout_usec : 0;
	int cancel_fd = -1, r;
	bool cancelling = false, killed = false, dead = false;

	pool_key(call, &key);
	/* One that died while idle (killed from outside) is not this run's
	 * failure: it is replaced. */
	while ((w = isolate_pool_take(&key)) && isolate_pool_exited(w, NULL))
		isolate_pool_kill(w);
	if (!w && (r = isolate_pool_spawn(&key, loaded_fd(call), &w)) < 0)
		return r;
	/* The worker's eventfd, not one made and closed per step. */
	if (call->cancel)
		cancel_fd = w->efd >= 0 ? cancel_lend_fd(call->cancel, w->efd)
		                        : cancel_get_fd(call->cancel);
	sock.fd = w->sock;
	s->sock = &sock;
	if (w->runs)
		send_request_next(w->sock, call);
	else
		send_json(w->sock, request_json(call, false));
	while (!s->done && !dead) {
		struct pollfd p[4] = {
			{ w->sock, POLLIN, 0 },
			{ w->out, POLLIN, 0 },
			{ cancelling ? -1 : cancel_fd, POLLIN, 0 },
			{ w->c.pidfd, POLLIN, 0 },
		};
		int t = -1;

		if (!cancelling && call->cancel && cancel_fired(call->cancel)) {
			cancelling = true;
			send_json(w->sock, json_pack("{s:b}", "cancel", 1));
			kill_at = now_usec(CLOCK_MONOTONIC) + call->kill_grace_usec;
			continue;
		}
		if (kill_at) {
			uint64_t now = now_usec(CLOCK_MONOTONIC);

			if (now >= kill_at) {
				killed = true;
				break;
			}
			t = (int)MIN((kill_at - now + 999) / 1000, (uint64_t)INT32_MAX);
		}
		/* Without a pidfd or a cancellation fd, looked at every 50 ms (as
		 * child.c does). */
		if ((w->c.pidfd < 0 || (call->cancel && cancel_fd < 0)) && (t < 0 || t > 50))
			t = 50;
		if (poll(p, 4, t) < 0 && errno != EINTR) {
			killed = true;
			break;
		}
		if (p[1].revents && w->out >= 0)
			(void)pool_read(w->out, on_output_data, s);
		/* End of file: it is gone, or going. A process it started may
		 * still hold the socket: its exit says so then. */
		if (p[0].revents && pool_read(w->sock, on_message_data, s) == 0)
			dead = true;
		if (!s->done && !dead && isolate_pool_exited(w, &p[3])) {
			(void)pool_read(w->sock, on_message_data, s);
			dead = !s->done;
		}
	}
	if (w->out >= 0)
		(void)pool_read(w->out, on_output_data, s);
	flush_output(s, &s->out, true);
	if (call->cancel) {
		cancel_return_fd(call->cancel);
		/* A cancel too late for this run must not wake the next. */
		if (cancel_fired(call->cancel) && w->efd >= 0)
			(void)eventfd_read(w->efd, &(eventfd_t){ 0 });
	}
	if (s->done && !s->final && !cancelling && !killed) {
		ret->end = ISOLATE_FINISHED;
		if (ret->rc == 0 && call->ctx)
			apply_changes(s, call->ctx);
		w->runs++;
		isolate_pool_give(w, call->iso->pool_max_idle,
		                  call->iso->pool_max_runs ? call->iso->pool_max_runs
		                                           : ISOLATE_POOL_MAX_RUNS);
		s->sock = NULL; /* sock is ours, and ends here */
		return 0;
	}
	child_signal(&w->c, SIGKILL);
	child_reap(&w->c);
	if (s->done && !killed) {
		/* Cancelled or final, but it answered: not reused. */
		ret->end = ISOLATE_FINISHED;
		if (ret->rc == 0 && call->ctx)
			apply_changes(s, call->ctx);
	} else if (killed) {
		ret->end = ISOLATE_KILLED;
	} else if (WIFSIGNALED(w->c.status)) {
		ret->end = ISOLATE_CRASHED;
		ret->signal = WTERMSIG(w->c.status);
		ret->core = WCOREDUMP(w->c.status);
	} else {
		ret->end = ISOLATE_EXITED;
		ret->status = WIFEXITED(w->c.status) ? WEXITSTATUS(w->c.status) : -1;
	}
	isolate_pool_kill(w);
	s->sock = NULL;
	return 0;
}

int
isolate_run(const struct isolate_call *call, bool create_only, struct isolate_result *ret)
{
	struct session s = { .call = call, .res = ret };
	struct child_stream streams[2] = {
		{ .fd = -1, .on_data = on_message_data, .userdata = &s },
		{ .fd = -1, .on_data = on_output_data, .userdata = &s },
	};
	struct child_loop loop = {
		.streams = streams,
		.n_streams = 2,
		.in_fd = -1,
		.cancel_fd = -1,
		.cancelled = call->cancel ? call_cancelled : NULL,
		.on_cancel = ask_cancel,
		.userdata = &s,
		.grace_usec = call->kill_grace_usec,
	};
	/* Found only for a one-shot worker: readlink() and access() each time. */
	_cleanup_free_ char *path = NULL;
	const char *argv[] = { NULL, NULL };
	/* Started in its cgroup (clone3), not moved there (CHILD_CGROUP_LATE):
	 * a move waits for an RCU grace period, 12-16 ms when none happened
	 * just before, which is how isolated steps usually come. */
	struct child_spec spec = {
		.argv = argv,
		.n_fds = 4,
		.cgroup = "worker",
	};
	int sv[2] = { -1, -1 }, out[2] = { -1, -1 }, r;
	uint64_t start = now_usec(CLOCK_MONOTONIC);
	struct child c;

	memset(ret, 0, sizeof(*ret));
	s.sock = &streams[0];
	if (!create_only && call->iso && call->iso->pool_max_idle) {
		if ((r = run_pooled(call, &s, ret)) < 0)
			goto fail;
		goto out;
	}
	path = helper_path("gini-worker");
	if (!path) {
		r = -ENOMEM;
		goto fail;
	}
	argv[0] = spec.path = path;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    pipe2(out, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	spec.fds[0] = CHILD_FD_NULL;
	spec.fds[1] = spec.fds[2] = out[1];
	spec.fds[3] = sv[1];
	if (loaded_fd(call) >= 0) {
		spec.fds[4] = loaded_fd(call);
		spec.n_fds = 5;
	}
	r = child_spawn(&c, &spec);
	close(sv[1]);
	close(out[1]);
	sv[1] = out[1] = -1;
	if (r < 0) {
		log_err("cannot start the isolation worker %s: %s", path, strerror(-r));
		goto fail;
	}
	(void)fcntl(sv[0], F_SETFL, O_NONBLOCK);
	(void)fcntl(out[0], F_SETFL, O_NONBLOCK);
	streams[0].fd = sv[0];
	streams[1].fd = out[0];
	sv[0] = out[0] = -1;
	if (call->cancel)
		loop.cancel_fd = cancel_get_fd(call->cancel);
	send_json(streams[0].fd, request_json(call, create_only));
	if (call->timeout_usec)
		loop.deadline = start + call->timeout_usec;
	(void)child_wait(&c, &loop);
	/* Nothing it started outlives it. */
	child_signal(&c, SIGKILL);
	child_reap(&c);
	if ((r = child_done(&c)) < 0)
		log_warn_errno(r, "%scannot remove cgroup %s: %m, ignoring", session_tag(&s),
		               c.cgpath);
	/* What it wrote just before it ended: what is there now, no more (a
	 * process that left the group may still hold the other ends). */
	child_drain(&streams[0], LINE_MAX_BYTES);
	child_drain(&streams[1], LINE_MAX_BYTES);

	if (s.done && WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0 && !loop.killed) {
		ret->end = ISOLATE_FINISHED;
		if (!create_only && ret->rc == 0 && call->ctx)
			apply_changes(&s, call->ctx);
	} else if (loop.killed) {
		ret->end = ISOLATE_KILLED;
	} else if (WIFSIGNALED(c.status)) {
		ret->end = ISOLATE_CRASHED;
		ret->signal = WTERMSIG(c.status);
		ret->core = WCOREDUMP(c.status);
	} else {
		ret->end = ISOLATE_EXITED;
		ret->status = WIFEXITED(c.status) ? WEXITSTATUS(c.status) : -1;
	}
	r = 0;
	goto out;
fail:
	ret->end = ISOLATE_FAILED;
	if (asprintf(&ret->message, "cannot start an isolation worker: %s", strerror(-r)) < 0)
		ret->message = NULL;
out:
	json_decref(s.set);
	json_decref(s.unset);
	free(s.changes);
	free(s.in.data);
	free(s.out.data);
	for (int i = 0; i < 2; i++) {
		if (sv[i] >= 0)
			close(sv[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	return r;
}

void
isolate_result_done(struct isolate_result *r)
{
	free(r->message);
	strv_free(r->unused);
	strv_free(r->asked);
	memset(r, 0, sizeof(*r));
}

char *
isolate_describe_end(const struct isolate_result *r)
{
	char sig[32], *m = NULL;
	int k = -1;

	switch (r->end) {
	case ISOLATE_CRASHED:
		signal_to_string(r->signal, sig, sizeof(sig));
		if (r->signal == SIGXCPU)
			k = asprintf(&m, "exceeded cpu_max (killed by SIGXCPU)");
		else
			k = asprintf(&m, "crashed with %s%s", sig,
			             r->core ? " (core dumped; see coredumpctl)"
			                     : " (no core dumped; enable core dumps to debug)");
		break;
	case ISOLATE_EXITED:
		k = asprintf(&m,
		             "the worker exited with status %d before the step finished (did the "
		             "plugin call exit()?)",
		             r->status);
		break;
	case ISOLATE_KILLED:
		k = asprintf(&m, "killed (did not stop in time)");
		break;
	case ISOLATE_FAILED:
		k = asprintf(&m, "%s",
		             r->message ? r->message : "cannot start an isolation worker");
		break;
	case ISOLATE_FINISHED:
		k = asprintf(&m, "%s", r->message ? r->message : "finished");
		break;
	}
	return k < 0 ? NULL : m;
}
