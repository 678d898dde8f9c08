/* SPDX-License-Identifier: MIT */
/*
 * gini-worker: runs one step of a plugin in a process of its own, for
 * isolation = "process" (the daemon's side is isolate.c, which documents the
 * protocol on fd 3). In order: read the request; apply the resource limits
 * and drop to the step's user and group, before any plugin code is mapped;
 * load the plugin with the daemon's loader (all its checks, then its load
 * hook) and make sure it is the very file the daemon loaded; create the
 * instance; run it; destroy, unload; report the result and what the step
 * changed in the run context.
 *
 * Logging goes through the daemon's own host table (host.c) with a log sink
 * that forwards each line over the socket, so lines arrive tagged exactly as
 * for an in-process step. A reader thread turns a "cancel" message (or the
 * daemon going away) into the step's cancellation.
 *
 * Started with --pool (worker_pool, isolate_pool.c), it serves one request
 * after another: the first one's limits, identity and plugin are applied
 * and loaded once, for the worker's life; each request then gets a fresh
 * instance (create, run, destroy) and context. The daemon sends a request
 * only after the previous "done", and never one with other limits, identity
 * or plugin; end of file on the socket ends the worker.
 */
#include "context.h"
#include "host.h"
#include "isolate_frame.h"
#include "loader.h"
#include "log.h"
#include "params.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <pthread.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define SOCK        3
#define PLUGIN_FD   4 /* with "sealed": the daemon's copy of the plugin */
#define REQUEST_MAX (64u << 20)

static pthread_mutex_t send_lock = PTHREAD_MUTEX_INITIALIZER;
/* Bytes followed the request in its read: a cancel sent right after it. */
static bool cancel_early;

static void
send_bytes(const char *p, size_t len)
{
	size_t off = 0;

	/* Lines from the plugin's threads must not interleave. */
	pthread_mutex_lock(&send_lock);
	while (off < len) {
		ssize_t n = send(SOCK, p + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	pthread_mutex_unlock(&send_lock);
}

static void
send_json(json_t *o)
{
	char *text = json_dumps(o, JSON_COMPACT);
	size_t len;

	json_decref(o);
	if (!text)
		return;
	len = strlen(text);
	text[len] = '\n';
	send_bytes(text, len + 1);
	free(text);
}

static void
forward_log(int level, const char *msg, void *userdata)
{
	(void)userdata;
	send_json(json_pack("{s:i, s:s}", "log", level, "msg", msg));
}

static void
done(int rc, const char *message, json_t *extra)
{
	json_t *o = json_pack("{s:i, s:s?}", "done", rc, "message", message);

	if (extra) {
		json_object_update(o, extra);
		json_decref(extra);
	}
	send_json(o);
}

/*
 * A message from the daemon: a JSON line (json), or a binary frame (the
 * payload in frame, frame_len bytes). Owned by whoever read it.
 */
struct message {
	json_t *json;
	char *frame;
	size_t frame_len;
};

static void
message_done(struct message *m)
{
	json_decref(m->json);
	free(m->frame);
	*m = (struct message){ 0 };
}

/*
 * Reads one message. Whatever came after it in the same read can only be
 * a cancel sent right after it: noted in cancel_early, and dropped. 0, or
 * -1 at the end, on a malformed line or frame, or one past REQUEST_MAX.
 */
static int
read_message(struct message *ret)
{
	/* Kept between requests: a 64 KiB buffer allocated and freed per
	 * request cost a heap trim each time. */
	static char *buf;
	static size_t cap;
	size_t len = 0;

	*ret = (struct message){ 0 };
	for (;;) {
		ssize_t n, size;
		char *nl;

		if (cap - len < 65536 + 1) {
			char *nb = realloc(buf, len + 65536 + 1);

			if (!nb)
				return -1;
			buf = nb;
			cap = len + 65536 + 1;
		}
		/*
		 * Slept in poll(), not in recv(): a recv() sleeper is woken each
		 * time the daemon reads from its end (the write space coming
		 * back, which a unix socket announces to every sleeper on it),
		 * so each answer would wake us once for nothing, on the other
		 * CPU. poll() for POLLIN alone is woken only by data or the end.
		 */
		if (poll(&(struct pollfd){ .fd = SOCK, .events = POLLIN }, 1, -1) < 0 &&
		    errno != EINTR)
			return -1;
		n = recv(SOCK, buf + len, 65536, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = 0;
		if (buf[0] == FRAME_MAGIC) {
			size = frame_size(buf, len, REQUEST_MAX);
			if (size < 0)
				return -1;
			if (size == 0)
				continue;
			ret->frame_len = (size_t)size - FRAME_HEADER;
			ret->frame = malloc(ret->frame_len ? ret->frame_len : 1);
			if (!ret->frame)
				return -1;
			memcpy(ret->frame, buf + FRAME_HEADER, ret->frame_len);
			cancel_early = (size_t)size < len;
			return 0;
		}
		nl = memchr(buf, '\n', len);
		if (nl) {
			ret->json = json_loadb(buf, (size_t)(nl - buf), 0, NULL);
			cancel_early = (size_t)(nl - buf) + 1 < len;
			return ret->json ? 0 : -1;
		}
		if (len > REQUEST_MAX)
			return -1;
	}
}

/* Reads the next request from the daemon; "cancel" lines left over from
 * the previous request (pool mode) are skipped. */
static int
read_request(struct message *ret)
{
	int r;

	while ((r = read_message(ret)) == 0 && ret->json &&
	       json_is_true(json_object_get(ret->json, "cancel")))
		message_done(ret);
	return r;
}

/* Anything from the daemon after the request means: stop (one-shot). */
static void *
cancel_reader(void *arg)
{
	struct cancel *c = arg;
	char b[256];

	while (recv(SOCK, b, sizeof(b), 0) < 0 && errno == EINTR)
		;
	cancel_fire(c);
	return NULL;
}

/*
 * Pool mode: one reader thread for the worker's life, so a run costs no
 * thread start, and no wake-up either unless a cancel comes. While a run
 * is active, anything on the socket is a cancel (the daemon sends the next
 * request only after "done", and the whole request was read before the run
 * began), or the daemon going away. The socket has O_ASYNC set for the
 * run only, with the reader as its owner: the kernel then sends the reader
 * SIGIO (blocked in every thread; it takes it with sigwaitinfo()) when
 * anything arrives. The reader looks with MSG_PEEK and leaves the bytes
 * there, for read_request() to skip, so it never takes bytes of a request;
 * a SIGIO that comes between runs, or late, finds no run or nothing to
 * read, and is ignored.
 */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct cancel *active; /* the run's, NULL between runs */
	int ready;             /* the reader owns the socket's SIGIO (1), or -errno */
} runs = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0 };
static int sock_flags; /* SOCK's file status flags, without O_ASYNC */

/* Whether the daemon sent something, or went away. Never blocks. */
static bool
sock_readable(void)
{
	char b;

	return recv(SOCK, &b, 1, MSG_PEEK | MSG_DONTWAIT) >= 0 ||
	       (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static void *
pool_reader(void *arg)
{
	struct f_owner_ex owner = { F_OWNER_TID, gettid() };
	int r = fcntl(SOCK, F_SETOWN_EX, &owner) < 0 ? -errno : 1;
	sigset_t io;

	(void)arg;
	sigemptyset(&io);
	sigaddset(&io, SIGIO);
	pthread_mutex_lock(&runs.lock);
	runs.ready = r;
	pthread_cond_broadcast(&runs.cond);
	pthread_mutex_unlock(&runs.lock);
	if (r < 0)
		return NULL;
	for (;;) {
		if (sigwaitinfo(&io, NULL) < 0)
			continue;
		pthread_mutex_lock(&runs.lock);
		if (runs.active && sock_readable())
			cancel_fire(runs.active);
		pthread_mutex_unlock(&runs.lock);
	}
}

/* Starts the reader and waits until it owns the socket's SIGIO. 0, or -errno. */
static int
pool_reader_start(void)
{
	pthread_t reader;
	int r;

	sock_flags = fcntl(SOCK, F_GETFL);
	if (sock_flags < 0)
		return -errno;
	r = pthread_create(&reader, NULL, pool_reader, NULL);
	if (r != 0)
		return -r;
	pthread_detach(reader);
	pthread_mutex_lock(&runs.lock);
	while (!runs.ready)
		pthread_cond_wait(&runs.cond, &runs.lock);
	r = runs.ready < 0 ? runs.ready : 0;
	pthread_mutex_unlock(&runs.lock);
	return r;
}

/* The run of c begins (the reader watches for its cancel), or ends (NULL). */
static void
pool_run_active(struct cancel *c)
{
	pthread_mutex_lock(&runs.lock);
	runs.active = c;
	pthread_mutex_unlock(&runs.lock);
	(void)fcntl(SOCK, F_SETFL, c ? sock_flags | O_ASYNC : sock_flags);
	/* What came before SIGIO was on: a cancel right after the request. */
	if (c && sock_readable())
		cancel_fire(c);
}

static int
apply_limits(json_t *limits, char *err, size_t size)
{
	static const struct {
		const char *key;
		int resource;
	} map[] = {
		{ "memory_max", RLIMIT_AS },
		{ "cpu_max", RLIMIT_CPU },
		{ "nofile", RLIMIT_NOFILE },
	};

	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		json_t *v = json_object_get(limits, map[i].key);
		struct rlimit rl;

		if (!json_is_integer(v))
			continue;
		rl.rlim_cur = (rlim_t)json_integer_value(v);
		/* CPU: SIGXCPU at the limit, SIGKILL a second later. */
		rl.rlim_max = map[i].resource == RLIMIT_CPU ? rl.rlim_cur + 1 : rl.rlim_cur;
		if (setrlimit(map[i].resource, &rl) < 0) {
			snprintf(err, size, "cannot apply %s = %lld: %s", map[i].key,
			         (long long)json_integer_value(v), strerror(errno));
			return -errno;
		}
	}
	return 0;
}

static int
drop_privileges(json_t *req, char *err, size_t size)
{
	json_t *uid = json_object_get(req, "uid"), *gid = json_object_get(req, "gid");

	if (json_is_integer(gid)) {
		gid_t g = (gid_t)json_integer_value(gid);

		if (setgroups(1, &g) < 0 || setgid(g) < 0) {
			snprintf(err, size, "cannot switch to group %u: %s", (unsigned)g,
			         strerror(errno));
			return -errno;
		}
	}
	if (json_is_integer(uid)) {
		uid_t u = (uid_t)json_integer_value(uid);

		/* Without a group of its own, the user keeps none of ours. */
		if (!json_is_integer(gid) && setgroups(0, NULL) < 0) {
			snprintf(err, size, "cannot drop supplementary groups: %s",
			         strerror(errno));
			return -errno;
		}
		if (setuid(u) < 0) {
			snprintf(err, size, "cannot switch to user %u: %s", (unsigned)u,
			         strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/* The changes of a run's context, written into its FRAME_DONE. */
struct ctx_diff {
	struct run_ctx *other;
	struct frame *f;
	uint32_t n;
};

/* Set: in the context now, with a value it did not have before. */
static int
diff_set(const char *k, const char *v, void *userdata)
{
	struct ctx_diff *d = userdata;
	const char *old = ctx_get(d->other, k);

	if (!old || strcmp(old, v) != 0) {
		frame_put_str(d->f, k);
		frame_put_str(d->f, v);
		d->n++;
	}
	return 0;
}

/* Unset: there before, not now. */
static int
diff_unset(const char *k, const char *v, void *userdata)
{
	struct ctx_diff *d = userdata;

	(void)v;
	if (!ctx_get(d->other, k)) {
		frame_put_str(d->f, k);
		d->n++;
	}
	return 0;
}

/* A run's answer, a FRAME_DONE: rc, message, then what it changed. */
static void
done_frame(int rc, const char *message, struct run_ctx *ctx, struct run_ctx *before)
{
	struct frame f = { 0 };
	struct ctx_diff set = { before, &f, 0 }, unset = { ctx, &f, 0 };
	size_t at;

	frame_begin(&f, FRAME_DONE);
	frame_put_u32(&f, (uint32_t)rc);
	frame_put_str(&f, message);
	at = frame_mark(&f);
	(void)ctx_foreach(ctx, diff_set, &set);
	frame_patch_u32(&f, at, set.n);
	at = frame_mark(&f);
	(void)ctx_foreach(before, diff_unset, &unset);
	frame_patch_u32(&f, at, unset.n);
	if (frame_end(&f) < 0) {
		/* Still an answer, if a poorer one. */
		frame_done(&f);
		done(rc, message ? message : "out of memory for the context's changes", NULL);
		return;
	}
	send_bytes(f.data, f.len);
	frame_done(&f);
}

static json_t *
strv_json(char **v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* What lives as long as the worker: its plugin. */
struct worker {
	struct plugin *p;
	const struct gini_stage_descriptor *d;
	bool pool;
};

/*
 * The limits and identity of req, then its plugin, once per worker. 0, or
 * -1 after reporting why.
 */
static int
worker_setup(struct worker *w, json_t *req)
{
	struct file_key fk;
	const char *path;
	json_t *key;
	char err[4096];

	/* "final": this worker serves no other request (pool mode). */
	if (apply_limits(json_object_get(req, "limits"), err, sizeof(err)) < 0 ||
	    drop_privileges(req, err, sizeof(err)) < 0) {
		done(GINI_FAILURE, err, json_pack("{s:b}", "final", 1));
		return -1;
	}
	/*
	 * The loader's checks again, then dlopen and the load hook, here, on
	 * the very file the daemon loaded: its key is checked before any of
	 * it is mapped, and what is mapped is a sealed copy of those bytes, so
	 * a file being rewritten in place is refused, never half-run.
	 */
	path = json_string_value(json_object_get(req, "plugin"));
	/* The daemon's own sealed copy, on descriptor 4: the very bytes it
	 * checked (the ELF check included) and loaded, so there is no file to
	 * check again, and libelf need not be loaded here. */
	if (json_is_true(json_object_get(req, "sealed"))) {
		if (loader_open_sealed(PLUGIN_FD, path, LOADER_ELF_VETTED, &w->p, err,
		                       sizeof(err)) < 0) {
			done(GINI_FAILURE, err, json_pack("{s:b}", "final", 1));
			return -1;
		}
		w->d = plugin_descriptor(w->p);
		return 0;
	}
	key = json_object_get(req, "key");
	fk = (struct file_key){
		.dev = (uint64_t)json_integer_value(json_object_get(key, "dev")),
		.ino = (uint64_t)json_integer_value(json_object_get(key, "ino")),
		.size = (int64_t)json_integer_value(json_object_get(key, "size")),
		.mtime_ns = (int64_t)json_integer_value(json_object_get(key, "mtime_ns")),
	};
	if (loader_open_file(path, 0, &fk, &w->p, err, sizeof(err)) < 0) {
		done(GINI_FAILURE, err, json_pack("{s:b}", "final", 1));
		return -1;
	}
	w->d = plugin_descriptor(w->p);
	return 0;
}

/* One request, from its JSON or its FRAME_RUN. */
struct request {
	const char *mode;            /* "run" or "create" */
	const char *pipeline, *step; /* borrowed from the message */
	uint64_t run_id;
	/* Owned; NULL in a malformed request (answered as such). */
	struct gini_params *params;
	struct run_ctx *ctx, *before;
};

static void
request_done(struct request *rq)
{
	params_free(rq->params);
	ctx_free(rq->ctx);
	ctx_free(rq->before);
	*rq = (struct request){ 0 };
}

/* 0, or -1 when m is no request at all (no mode, or another frame). */
static int
request_parse(const struct message *m, struct request *rq)
{
	*rq = (struct request){ .ctx = ctx_new(), .before = ctx_new() };
	if (m->json) {
		json_t *v;
		const char *k;

		rq->mode = json_string_value(json_object_get(m->json, "mode"));
		rq->pipeline = json_string_value(json_object_get(m->json, "pipeline"));
		rq->step = json_string_value(json_object_get(m->json, "step"));
		rq->run_id = (uint64_t)json_integer_value(json_object_get(m->json, "run_id"));
		rq->params = params_from_json(json_object_get(m->json, "params"));
		json_object_foreach(json_object_get(m->json, "ctx"), k, v)
		{
			(void)ctx_set(rq->ctx, k, json_string_value(v));
			(void)ctx_set(rq->before, k, json_string_value(v));
		}
	} else {
		struct frame_reader r = { m->frame, m->frame_len, false };

		if (frame_get_u8(&r) != FRAME_RUN)
			return -1;
		rq->mode = "run";
		rq->run_id = frame_get_u64(&r);
		rq->pipeline = frame_get_str(&r);
		rq->step = frame_get_str(&r);
		rq->params = frame_get_params(&r);
		frame_get_ctx(&r, rq->ctx, rq->before);
		if (r.bad)
			rq->params = params_free(rq->params);
	}
	return rq->mode ? 0 : -1;
}

/*
 * One request on the loaded plugin: create, run unless mode is "create",
 * destroy, report. In one-shot mode it does not return after a run: the
 * reader thread may still block in recv(), so the process exits without
 * joining it.
 */
static void
worker_serve(struct worker *w, struct request *rq)
{
	const struct gini_stage_descriptor *d = w->d;
	struct gini_params *params = rq->params;
	struct gini_handle h;
	struct cancel c;
	pthread_t reader;
	void *instance = NULL;
	int rc;

	if (!params || !rq->ctx || !rq->before) {
		done(GINI_FAILURE, "malformed request", NULL);
		return;
	}
	handle_init(&h);
	h.stage = d->id;
	h.pipeline = rq->pipeline;
	h.step = rq->step;
	h.run_id = rq->run_id;
	if (d->create) {
		rc = d->create(&host_services, &h, params, &instance);
		if (streq(rq->mode, "create") || rc != 0) {
			size_t n_unused = 0;
			char **unused = NULL;

			for (size_t i = 0; i < params->n; i++)
				if (!params->v[i].used)
					(void)strv_push(&unused, &n_unused, params->v[i].name);
			done(rc, h.message ? h.message : params->error,
			     json_pack("{s:o, s:o}", "unused", strv_json(unused, n_unused), "asked",
			               strv_json(params->asked, params->n_asked)));
			strv_free(unused);
			if (rc == 0 && d->destroy)
				d->destroy(&host_services, &h, instance);
			handle_done(&h);
			return;
		}
	} else if (streq(rq->mode, "create")) {
		done(params->n ? -EINVAL : 0, params->n ? "the stage takes no params" : NULL,
		     json_pack("{s:o, s:o}", "unused", json_array(), "asked", json_array()));
		handle_done(&h);
		return;
	}
	params_freeze(params);
	free(handle_steal_message(&h));

	cancel_init(&c, 0);
	if (cancel_early)
		cancel_fire(&c);
	h.ctx = rq->ctx;
	h.cancel = &c;
	if (w->pool)
		pool_run_active(&c);
	else if (pthread_create(&reader, NULL, cancel_reader, &c) == 0)
		pthread_detach(reader);
	rc = d->run(&host_services, &h, instance);
	/* Ended before the result goes: the next request is not a cancel. */
	if (w->pool)
		pool_run_active(NULL);
	/* A pooled worker destroys first: a crash in destroy() is this run's,
	 * as it is in a one-shot worker, which the daemon waits for. */
	if (w->pool && d->destroy)
		d->destroy(&host_services, &h, instance);
	done_frame(rc, h.message, rq->ctx, rq->before);
	if (!w->pool && d->destroy)
		d->destroy(&host_services, &h, instance);
	handle_done(&h);
	if (!w->pool) {
		plugin_close(w->p);
		_exit(0);
	}
	cancel_done(&c);
}

int
main(int argc, char **argv)
{
	struct worker w = { .pool = argc == 2 && streq(argv[1], "--pool") };
	struct message m = { 0 };
	struct request rq = { 0 };
	const char *path;
	sigset_t mask;
	int status = 0;

	if ((argc != 1 && !w.pool) || fcntl(SOCK, F_GETFD) < 0) {
		fprintf(stderr, "gini-worker runs isolated steps for ginid; it is not meant to be "
		                "started by hand\n");
		return 2;
	}
	/*
	 * Plugin code runs as in ginid (see <gini/stage.h>): every signal
	 * blocked, SIGPIPE ignored. All but SIGXCPU, which is how cpu_max
	 * ends the step (faults still kill: the kernel forces them through).
	 */
	/* Ours alone: nothing the plugin starts inherits it. */
	(void)fcntl(PLUGIN_FD, F_SETFD, FD_CLOEXEC);
	sigfillset(&mask);
	sigdelset(&mask, SIGXCPU);
	pthread_sigmask(SIG_SETMASK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_set_sink(forward_log, NULL);
	log_set_level(LOG_DEBUG);
	/* The first request is JSON: the plugin, limits and identity. */
	if (read_request(&m) < 0 || !m.json || json_unpack(m.json, "{s:s}", "plugin", &path) < 0 ||
	    request_parse(&m, &rq) < 0) {
		status = 3;
		goto out;
	}
	if (worker_setup(&w, m.json) < 0)
		goto out;
	if (w.pool && pool_reader_start() < 0) {
		done(GINI_FAILURE, "cannot start the worker's reader thread",
		     json_pack("{s:b}", "final", 1));
		goto out;
	}
	for (;;) {
		worker_serve(&w, &rq);
		if (!w.pool)
			break;
		request_done(&rq);
		message_done(&m);
		if (read_request(&m) < 0 || request_parse(&m, &rq) < 0)
			break;
	}
out:
	/* Freed, so that leak checkers see only the plugin's leaks. */
	plugin_close(w.p);
	request_done(&rq);
	message_done(&m);
	return status;
}
