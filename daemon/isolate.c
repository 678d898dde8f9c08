/* SPDX-License-Identifier: MIT */
/*
 * Out-of-process steps, the daemon's side. An isolated step runs in a
 * gini-worker process started with posix_spawn (never a bare fork of this
 * threaded daemon), in a process group of its own, with the signal mask and
 * dispositions reset. Fd 3 is one end of a socketpair carrying one JSON
 * object per line:
 *
 *	daemon -> worker: the request, then {"cancel": true} if it comes to that
 *	worker -> daemon: {"log": LEVEL, "msg": "..."} lines, then
 *	                  {"done": RC, "message": ..., "set": {...}, "unset": [...]}
 *
 * What the worker prints on stdout or stderr is logged here as a warning,
 * capped, so a plugin that writes garbage cannot corrupt the protocol.
 * Whatever the worker does, this returns only when it is reaped and
 * everything it started is killed: a crash, a hang past the grace, an exit()
 * from the plugin leave neither zombie nor stray process behind. Where
 * cgroup v2 is usable the worker is moved into a cgroup of its own before it
 * is sent the request (so before any plugin code runs in it), and
 * cgroup.kill ends it and all it started, an exec step's children in their
 * own process groups and sessions included. Without a cgroup, its process
 * group and every descendant a walk of the process tree finds are killed.
 */
#include "isolate.h"

#include "config.h"
#include "context.h"
#include "host.h"
#include "loader.h"
#include "log.h"
#include "output.h"
#include "params.h"
#include "util.h"

#include "../plugins/lib/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

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

static void
send_json(int fd, json_t *o)
{
	char *text = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	if (!text)
		return;
	send_all(fd, text, strlen(text));
	send_all(fd, "\n", 1);
	free(text);
}

/*
 * Reads what is there: 1 if something was read, 0 if nothing is there now,
 * -1 at end of file (or past LINE_MAX_BYTES without a newline).
 */
static int
fill(int fd, struct buffer *b)
{
	char tmp[65536], *nb;
	ssize_t n = read(fd, tmp, sizeof(tmp));

	if (n == 0)
		return -1;
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (b->len + (size_t)n > LINE_MAX_BYTES)
		return -1;
	nb = realloc(b->data, b->len + (size_t)n + 1);
	if (!nb)
		return 1; /* dropped; the worker's end tells the rest */
	b->data = nb;
	memcpy(b->data + b->len, tmp, (size_t)n);
	b->len += (size_t)n;
	b->data[b->len] = 0;
	return 1;
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
	bool done;
	json_t *set, *unset;
	unsigned output_lines;
	bool output_cut; /* dropping the rest of an overlong output line */
	char tag[512];
};

static void
handle_message(struct session *s, const char *line)
{
	json_t *o = json_loads(line, 0, NULL), *v;

	if (!json_is_object(o)) {
		log_warn("%sworker sent a malformed line, ignoring", s->tag);
		json_decref(o);
		return;
	}
	if ((v = json_object_get(o, "log")) && json_is_integer(v)) {
		int level = (int)json_integer_value(v);
		const char *msg = json_string_value(json_object_get(o, "msg"));

		/* Kept without the tag the worker put on it (host.c there, too). */
		if (msg && s->call->output) {
			size_t n = strlen(s->tag);

			output_add(s->call->output, level,
			           n && strncmp(msg, s->tag, n) == 0 ? msg + n : msg);
		}
		/* The worker tagged the line already (host.c there, too). */
		log_full(level < LOG_ERR     ? LOG_ERR
		         : level > LOG_DEBUG ? LOG_DEBUG
		                             : level,
		         "%s", msg ? msg : "");
	} else if ((v = json_object_get(o, "done")) && json_is_integer(v) && !s->done) {
		const char *msg = json_string_value(json_object_get(o, "message"));

		s->done = true;
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

static void
handle_output(struct session *s, const char *line)
{
	char text[404];

	if (!*line)
		return;
	output_add(s->call->output, LOG_WARNING, line);
	if (s->output_lines == OUTPUT_LINES_MAX)
		log_warn("%sworker output: further lines suppressed", s->tag);
	if (s->output_lines++ >= OUTPUT_LINES_MAX)
		return;
	/* Binary garbage must not put escape sequences into the log. */
	log_warn("%sworker output: %s", s->tag, str_escape(line, text, sizeof(text)));
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
	return o;
}

static int
spawn_worker(int sock, int out, pid_t *ret_pid)
{
	_cleanup_free_ char *path = helper_path("gini-worker");
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char *argv[] = { path, NULL };
	int r;

	if (!path)
		return -ENOMEM;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out, STDERR_FILENO);
	posix_spawn_file_actions_adddup2(&fa, sock, 3);
	spawnattr_init_child(&attr);
	r = posix_spawn(ret_pid, path, &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r != 0)
		log_err("cannot start the isolation worker %s: %s", path, strerror(r));
	return -r;
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

/*
 * Kills the worker and everything it started. Its pid is not reaped yet, so
 * the group id is still its own.
 */
static void
kill_worker(pid_t pid, int cgfd)
{
	if (cgfd >= 0) {
		(void)proc_cgroup_kill(cgfd);
	} else {
		/* Descendants first: once the worker dies they are orphans. */
		(void)proc_tree_signal(pid, SIGKILL);
	}
	(void)kill(-pid, SIGKILL);
}

int
isolate_run(const struct isolate_call *call, bool create_only, struct isolate_result *ret)
{
	struct session s = { .call = call, .res = ret };
	struct buffer in = { 0 }, outbuf = { 0 };
	int sv[2] = { -1, -1 }, out[2] = { -1, -1 }, pidfd = -1, cancel_fd = -1, st = 0, r;
	int cgfd = -1;
	char cgpath[PATH_MAX];
	siginfo_t si;
	bool exited = false, sock_eof = false, out_eof = false, cancel_sent = false, killed = false;
	uint64_t kill_at = 0, start = now_usec(CLOCK_MONOTONIC);
	pid_t pid = -1;
	char *line;

	memset(ret, 0, sizeof(*ret));
	if (call->pipeline && call->step)
		snprintf(s.tag, sizeof(s.tag),
		         "run %llu: pipeline '%s': step '%s': ", (unsigned long long)call->run_id,
		         call->pipeline, call->step);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    pipe2(out, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	r = spawn_worker(sv[1], out[1], &pid);
	close(sv[1]);
	close(out[1]);
	sv[1] = out[1] = -1;
	if (r < 0)
		goto fail;
	/* Before the request: nothing has run in it that could have forked. */
	if (proc_cgroup_new("worker", cgpath, sizeof(cgpath), &cgfd) == 0 &&
	    proc_cgroup_attach(cgfd, pid) < 0) {
		(void)proc_cgroup_free(cgfd, cgpath);
		cgfd = -1;
	}
	(void)fcntl(sv[0], F_SETFL, O_NONBLOCK);
	(void)fcntl(out[0], F_SETFL, O_NONBLOCK);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (call->cancel)
		cancel_fd = cancel_get_fd(call->cancel);
	send_json(sv[0], request_json(call, create_only));
	if (call->timeout_usec)
		kill_at = start + call->timeout_usec;

	while (!exited) {
		struct pollfd p[4] = {
			{ sock_eof ? -1 : sv[0], POLLIN, 0 },
			{ out_eof ? -1 : out[0], POLLIN, 0 },
			{ pidfd, POLLIN, 0 },
			{ cancel_sent ? -1 : cancel_fd, POLLIN, 0 },
		};
		int timeout = pidfd < 0 ? 20 : -1;
		uint64_t now = now_usec(CLOCK_MONOTONIC);

		if (kill_at) {
			uint64_t left = kill_at > now ? (kill_at - now + 999) / 1000 : 0;

			timeout = timeout < 0 ? (int)MIN(left, 60000) : MIN(timeout, (int)left);
		}
		if (poll(p, 4, timeout) < 0 && errno != EINTR)
			break;
		if (p[0].revents && fill(sv[0], &in) < 0)
			sock_eof = true;
		while ((line = next_line(&in))) {
			handle_message(&s, line);
			free(line);
		}
		if (p[1].revents && fill(out[0], &outbuf) < 0)
			out_eof = true;
		flush_output(&s, &outbuf, false);
		now = now_usec(CLOCK_MONOTONIC);
		if (!cancel_sent && cancel_fired(call->cancel)) {
			/* Ask first; the process group goes after the grace, counted
			 * from now, not from before the poll() that saw the cancel. */
			cancel_sent = true;
			send_json(sv[0], json_pack("{s:b}", "cancel", 1));
			if (!kill_at || kill_at > now + call->kill_grace_usec)
				kill_at = now + call->kill_grace_usec;
		}
		if (kill_at && now >= kill_at && !killed) {
			killed = true;
			kill_worker(pid, cgfd);
		}
		/* Not reaped yet: while the zombie holds its pid, the group id
		 * cannot be reused, and killing the group below is safe. */
		si.si_pid = 0;
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid == pid)
			exited = true;
	}
	/* Nothing it started outlives it. */
	kill_worker(pid, cgfd);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (cgfd >= 0 && (r = proc_cgroup_free(cgfd, cgpath)) < 0)
		log_warn_errno(r, "%scannot remove cgroup %s: %m, ignoring", s.tag, cgpath);
	cgfd = -1;
	/* What it wrote just before it ended: what is there now, no more (a
	 * process that left the group may still hold the other ends). */
	while (!sock_eof && fill(sv[0], &in) > 0)
		;
	while ((line = next_line(&in))) {
		handle_message(&s, line);
		free(line);
	}
	while (!out_eof && fill(out[0], &outbuf) > 0)
		flush_output(&s, &outbuf, false);
	flush_output(&s, &outbuf, true);

	if (s.done && WIFEXITED(st) && WEXITSTATUS(st) == 0 && !killed) {
		ret->end = ISOLATE_FINISHED;
		if (!create_only && ret->rc == 0 && call->ctx)
			apply_ctx_changes(call->ctx, s.set, s.unset);
	} else if (killed) {
		ret->end = ISOLATE_KILLED;
	} else if (WIFSIGNALED(st)) {
		ret->end = ISOLATE_CRASHED;
		ret->signal = WTERMSIG(st);
		ret->core = WCOREDUMP(st);
	} else {
		ret->end = ISOLATE_EXITED;
		ret->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
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
	free(in.data);
	free(outbuf.data);
	if (pidfd >= 0)
		close(pidfd);
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
