/* SPDX-License-Identifier: MIT */
/*
 * The probe client. Before the daemon dlopen()s a plugin, a short-lived
 * gini-probe process (helpers/gini-probe.c) loads it and answers with one
 * JSON object on stdout; this file starts that process through the child
 * supervisor (plugins/lib/child.c: its own process group, a deadline, the
 * whole group killed at the end, reaped) and turns its answer, or the way
 * it died, into a verdict. ginictl's `inspect` uses it too, so it links
 * nothing but the supervisor, jansson and util.c: no libelf, no libconfig.
 */
#include "loader_probe.h"

#include "util.h"

#include "../plugins/lib/child.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* More than any descriptor's JSON; the rest of a flood is dropped. */
#define PROBE_ANSWER_MAX (1u << 20)

struct answer {
	char *data;
	size_t len;
};

static int
answer_add(void *userdata, const char *p, size_t n)
{
	struct answer *a = userdata;
	char *nb;

	if (n == 0 || a->len >= PROBE_ANSWER_MAX)
		return 0;
	nb = realloc(a->data, a->len + n + 1);
	if (!nb)
		return 0;
	a->data = nb;
	memcpy(a->data + a->len, p, n);
	a->len += n;
	a->data[a->len] = 0;
	return 0;
}

/* The verdict of a probe that ended with status st and printed out. */
static int
verdict(int st, struct answer *out, char *reason, size_t size, char **ret_answer)
{
	json_t *r;

	if (WIFSIGNALED(st)) {
		char sig[32];

		snprintf(reason, size, "crashed with %s during load%s",
		         signal_to_string(WTERMSIG(st), sig, sizeof(sig)),
		         WCOREDUMP(st) ? " (core dumped)" : "");
		return -ECHILD;
	}
	r = out->data ? json_loads(out->data, 0, NULL) : NULL;
	if (!json_is_object(r)) {
		json_decref(r);
		snprintf(reason, size, "the probe exited with status %d without an answer%s",
		         WIFEXITED(st) ? WEXITSTATUS(st) : -1,
		         WIFEXITED(st) && WEXITSTATUS(st) == 0 ? " (did the plugin call exit()?)"
		                                               : "");
		return -EPROTO;
	}
	if (ret_answer)
		*ret_answer = steal_ptr(out->data);
	if (!json_is_true(json_object_get(r, "ok"))) {
		const char *why = json_string_value(json_object_get(r, "reason"));

		snprintf(reason, size, "%s", why ? why : "refused by the probe");
		json_decref(r);
		return -ENOEXEC;
	}
	json_decref(r);
	return 0;
}

int
loader_probe_fd(const char *probe_exe, const char *path, int fd, bool hooks, uint64_t timeout_usec,
                char *reason, size_t size, char **ret_answer)
{
	char *probe = probe_exe ? strdup(probe_exe) : helper_path("gini-probe");
	struct answer out = { 0 };
	struct child_stream stream = { .fd = -1, .on_data = answer_add, .userdata = &out };
	struct child_loop loop = {
		.streams = &stream, .n_streams = 1, .in_fd = -1, .cancel_fd = -1
	};
	struct child_spec spec = { .n_fds = 2 };
	const char *argv[6];
	struct child c;
	size_t n_argv = 0;
	int pfd[2], r;
	char d[32];

	if (!probe) {
		snprintf(reason, size, "cannot probe: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		r = -errno;
		snprintf(reason, size, "cannot probe: %s", strerror(-r));
		free(probe);
		return r;
	}
	argv[n_argv++] = probe;
	if (hooks)
		argv[n_argv++] = "--hooks";
	if (fd >= 0) {
		argv[n_argv++] = "--fd";
		argv[n_argv++] = "3";
	}
	argv[n_argv++] = path;
	argv[n_argv] = NULL;
	spec.path = probe;
	spec.argv = argv;
	spec.fds[0] = CHILD_FD_NULL;
	spec.fds[1] = pfd[1];
	/* The copy the daemon is about to load, not the file: the verdict is
	 * on the same bytes. */
	if (fd >= 0) {
		spec.fds[2] = CHILD_FD_INHERIT;
		spec.fds[3] = fd;
		spec.n_fds = 4;
	}
	r = child_spawn(&c, &spec);
	close(pfd[1]);
	if (r < 0) {
		close(pfd[0]);
		snprintf(reason, size, "cannot run the probe %s: %s", probe, strerror(-r));
		free(probe);
		return r;
	}
	free(probe);
	(void)fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	stream.fd = pfd[0];
	loop.deadline = child_now_usec() + timeout_usec;
	if (child_wait(&c, &loop) < 0)
		loop.killed = true;
	/* The whole group: the plugin may have started children. */
	child_signal(&c, SIGKILL);
	child_drain(&stream, PROBE_ANSWER_MAX);
	(void)child_done(&c);
	if (loop.killed) {
		snprintf(reason, size, "timed out after %s during load (probe killed)",
		         format_duration(timeout_usec, d, sizeof(d)));
		r = -ETIMEDOUT;
	} else {
		r = verdict(c.status, &out, reason, size, ret_answer);
	}
	free(out.data);
	return r;
}

int
loader_probe(const char *probe_exe, const char *path, bool hooks, uint64_t timeout_usec,
             char *reason, size_t size, char **ret_answer)
{
	return loader_probe_fd(probe_exe, path, -1, hooks, timeout_usec, reason, size, ret_answer);
}
