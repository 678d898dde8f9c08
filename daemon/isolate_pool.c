/* SPDX-License-Identifier: MIT */
/*
 * The pool of pre-spawned isolation workers (worker_pool): gini-worker
 * processes started with --pool, each serving one key (the plugin file and
 * its version, the stage type, the user and group, the limits) for up to
 * worker_max_runs requests. This file owns the processes only: spawning
 * (through the child supervisor, each in a cgroup of its own, as one-shot
 * workers are), keeping idle ones per key, handing them out, and ending
 * them. What a run says to a worker is isolate.c's.
 *
 * A worker is kept only after a run that ended with its result: isolate.c
 * ends one that crashed, exited, was cancelled or timed out instead of
 * giving it back. One whose cgroup still holds another process after a run
 * (something the step started and left behind) is ended, not reused; without
 * cgroups that check cannot be made and leftovers are found only when the
 * worker ends. A drain (reload, shut-down) ends the idle workers and marks
 * the ones in use, by epoch, to be ended when they come back.
 */
#include "isolate_pool.h"

#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pool_worker *idle; /* most recently given back first */
static uint64_t pool_epoch;

static bool
key_equal(const struct pool_key *a, const struct pool_key *b)
{
	return streq(a->plugin, b->plugin) && streq(a->stage, b->stage) && a->dev == b->dev &&
	       a->ino == b->ino && a->size == b->size && a->mtime_ns == b->mtime_ns &&
	       a->set_uid == b->set_uid && a->set_gid == b->set_gid &&
	       (!a->set_uid || a->uid == b->uid) && (!a->set_gid || a->gid == b->gid) &&
	       a->memory_max == b->memory_max && a->cpu_max_sec == b->cpu_max_sec &&
	       a->nofile == b->nofile;
}

struct pool_worker *
isolate_pool_take(const struct pool_key *key)
{
	struct pool_worker **p, *w = NULL;

	pthread_mutex_lock(&pool_lock);
	for (p = &idle; *p; p = &(*p)->next)
		if (key_equal(&(*p)->key, key)) {
			w = *p;
			*p = w->next;
			w->next = NULL;
			break;
		}
	pthread_mutex_unlock(&pool_lock);
	return w;
}

int
isolate_pool_spawn(const struct pool_key *key, int plugin_fd, struct pool_worker **ret)
{
	_cleanup_free_ char *path = helper_path("gini-worker");
	const char *argv[] = { path, "--pool", NULL };
	/* Started in its cgroup (clone3), not moved there (CHILD_CGROUP_LATE):
	 * a move waits for an RCU grace period, 12-16 ms when none happened
	 * just before, which is how isolated steps usually come. */
	struct child_spec spec = {
		.path = path,
		.argv = argv,
		.n_fds = 4,
		.cgroup = "worker",
	};
	struct pool_worker *w;
	int sv[2] = { -1, -1 }, out[2] = { -1, -1 }, r;

	if (!path)
		return -ENOMEM;
	w = calloc(1, sizeof(*w));
	if (!w || asprintf(&w->strings, "%s%c%s", key->plugin, 0, key->stage) < 0) {
		free(w);
		return -ENOMEM;
	}
	w->key = *key;
	w->key.plugin = w->strings;
	w->key.stage = w->strings + strlen(w->strings) + 1;
	w->procs = -1;
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    pipe2(out, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	spec.fds[0] = CHILD_FD_NULL;
	spec.fds[1] = spec.fds[2] = out[1];
	spec.fds[3] = sv[1];
	if (plugin_fd >= 0) {
		spec.fds[4] = plugin_fd;
		spec.n_fds = 5;
	}
	r = child_spawn(&w->c, &spec);
	close(sv[1]);
	close(out[1]);
	if (r < 0) {
		close(sv[0]);
		close(out[0]);
		log_err("cannot start the isolation worker %s: %s", path, strerror(-r));
		goto fail;
	}
	(void)fcntl(sv[0], F_SETFL, O_NONBLOCK);
	(void)fcntl(out[0], F_SETFL, O_NONBLOCK);
	w->sock = sv[0];
	w->out = out[0];
	/* Kept open: each run's leftover check is then one pread(). */
	if (w->c.cgfd >= 0)
		w->procs = openat(w->c.cgfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
	pthread_mutex_lock(&pool_lock);
	w->epoch = pool_epoch;
	pthread_mutex_unlock(&pool_lock);
	*ret = w;
	return 0;
fail:
	if (w->efd >= 0)
		close(w->efd);
	free(w->strings);
	free(w);
	return r;
}

bool
isolate_pool_exited(struct pool_worker *w, const struct pollfd *pidfd_poll)
{
	siginfo_t si;

	if (w->c.pidfd >= 0 && pidfd_poll)
		return pidfd_poll->revents & (POLLIN | POLLHUP | POLLERR);
	memset(&si, 0, sizeof(si));
	return waitid(P_PID, (id_t)w->c.pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	       si.si_pid == w->c.pid;
}

void
isolate_pool_kill(struct pool_worker *w)
{
	int r;

	if (!w)
		return;
	child_signal(&w->c, SIGKILL);
	child_reap(&w->c);
	if ((r = child_done(&w->c)) < 0)
		log_warn_errno(r, "cannot remove cgroup %s: %m, ignoring", w->c.cgpath);
	if (w->sock >= 0)
		close(w->sock);
	if (w->out >= 0)
		close(w->out);
	if (w->procs >= 0)
		close(w->procs);
	if (w->efd >= 0)
		close(w->efd);
	free(w->strings);
	free(w);
}

/*
 * 1 if w's cgroup holds a process other than w itself (or we cannot tell),
 * read through the descriptor kept since the spawn: cgroup.procs is made
 * anew at each read from offset 0.
 */
static int
has_others(struct pool_worker *w)
{
	char buf[4096], *p, *end;
	ssize_t n;

	if (w->c.cgfd < 0)
		return 0;
	if (w->procs < 0)
		return 1;
	while ((n = pread(w->procs, buf, sizeof(buf) - 1, 0)) < 0 && errno == EINTR)
		;
	/* A full buffer holds more than one pid anyway. */
	if (n < 0 || (size_t)n == sizeof(buf) - 1)
		return 1;
	buf[n] = 0;
	for (p = buf;; p = end) {
		long pid = strtol(p, &end, 10);

		if (end == p)
			return 0;
		if (pid != (long)w->c.pid)
			return 1;
	}
}

void
isolate_pool_give(struct pool_worker *w, unsigned max_idle, unsigned max_runs)
{
	struct pool_worker *p;
	unsigned n = 0;
	bool keep;

	if (!w)
		return;
	keep = w->runs < max_runs && !has_others(w);
	pthread_mutex_lock(&pool_lock);
	for (p = idle; p && keep; p = p->next)
		if (key_equal(&p->key, &w->key))
			n++;
	if (keep && n < max_idle && w->epoch == pool_epoch) {
		w->next = idle;
		idle = w;
		w = NULL;
	}
	pthread_mutex_unlock(&pool_lock);
	isolate_pool_kill(w);
}

void
isolate_pool_drain(void)
{
	struct pool_worker *w;

	pthread_mutex_lock(&pool_lock);
	w = idle;
	idle = NULL;
	pool_epoch++;
	pthread_mutex_unlock(&pool_lock);
	while (w) {
		struct pool_worker *next = w->next;

		isolate_pool_kill(w);
		w = next;
	}
}

unsigned
isolate_pool_idle(void)
{
	unsigned n = 0;

	pthread_mutex_lock(&pool_lock);
	for (struct pool_worker *p = idle; p; p = p->next)
		n++;
	pthread_mutex_unlock(&pool_lock);
	return n;
}
