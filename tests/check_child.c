/* SPDX-License-Identifier: MIT */
/*
 * The child-process supervisor (plugins/lib/child.c), on its own: real
 * /bin/sh children, real signals, real pipes. Its three users (exec, the
 * probe client, isolated steps) have suites of their own (plugins, loader,
 * isolation, processes); this one pins the mechanism they share: output
 * collected to the end, stdin fed, the deadline, a cancellation whose
 * SIGTERM is ignored ending in SIGKILL after the grace, a grandchild in the
 * group killed with its parent, an exec failure leaving nothing behind, and
 * all of it again on the path without a pidfd (kernels before 5.3), with
 * and without a cgroup of its own.
 *
 * No assertion is about time: a deadline or a grace only has to end the
 * child, however loaded the machine is.
 */
#include "tests.h"

#include "../plugins/lib/child.h"
#include "../plugins/lib/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct collected {
	char *data;
	size_t len;
	int ends; /* how many times the end was reported */
};

static int
collect(void *userdata, const char *p, size_t n)
{
	struct collected *c = userdata;

	if (n == 0) {
		c->ends++;
		return 0;
	}
	c->data = realloc(c->data, c->len + n + 1);
	ck_assert_ptr_nonnull(c->data);
	memcpy(c->data + c->len, p, n);
	c->len += n;
	c->data[c->len] = 0;
	return 0;
}

/*
 * The ways to run: with a pidfd or without, in a cgroup (where one can be
 * had: clone3 into it, or posix_spawn and a move) or not.
 */
struct mode {
	unsigned flags;
	const char *cgroup;
};

static const struct mode modes[] = {
	{ 0, NULL },
	{ CHILD_NO_PIDFD, NULL },
	{ 0, "childtest" },
	{ CHILD_NO_PIDFD, "childtest" },
	{ CHILD_CGROUP_LATE, "childtest" },
};

/* A shell child with stdout and stderr into one collected pipe. */
struct run {
	struct child c;
	struct child_stream stream;
	struct child_loop loop;
	struct collected out;
};

static void
run_start_in(struct run *r, const struct mode *m, const char *script, int in_fd)
{
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	struct child_spec spec = {
		.path = "/bin/sh",
		.argv = argv,
		.n_fds = 3,
		.cgroup = m->cgroup,
		.flags = m->flags,
	};
	int p[2];

	memset(r, 0, sizeof(*r));
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	spec.fds[0] = in_fd;
	spec.fds[1] = spec.fds[2] = p[1];
	ck_assert_int_eq(child_spawn(&r->c, &spec), 0);
	close(p[1]);
	ck_assert_int_eq(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	if (m->flags & CHILD_NO_PIDFD)
		ck_assert_int_lt(r->c.pidfd, 0);
	r->stream = (struct child_stream){ .fd = p[0], .on_data = collect, .userdata = &r->out };
	r->loop = (struct child_loop){
		.streams = &r->stream, .n_streams = 1, .in_fd = -1, .cancel_fd = -1
	};
}

static void
run_start(struct run *r, const struct mode *m, const char *script)
{
	run_start_in(r, m, script, CHILD_FD_NULL);
}

static void
run_finish(struct run *r)
{
	child_signal(&r->c, SIGKILL);
	child_drain(&r->stream, 1 << 20);
	ck_assert_int_eq(child_done(&r->c), 0);
	ck_assert(r->c.reaped);
	ck_assert_int_eq(r->out.ends, 1);
}

/* Running, as opposed to gone or a zombie. */
static bool
running(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* Waits (bounded, generously) for pid to stop running. */
static bool
ends(pid_t pid)
{
	for (int i = 0; i < 1000 && running(pid); i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	return !running(pid);
}

START_TEST(output_collected)
{
	struct run r;

	run_start(&r, &modes[_i], "echo out; echo err >&2; printf tail; exit 3");
	ck_assert_int_eq(child_wait(&r.c, &r.loop), 0);
	ck_assert(r.c.exited);
	ck_assert(!r.loop.killed && !r.loop.cancelling);
	run_finish(&r);
	ck_assert(WIFEXITED(r.c.status));
	ck_assert_int_eq(WEXITSTATUS(r.c.status), 3);
	ck_assert_ptr_nonnull(r.out.data);
	ck_assert_str_eq(r.out.data, "out\nerr\ntail");
	free(r.out.data);
}
END_TEST

START_TEST(stdin_fed)
{
	const char *argv[] = { "/bin/cat", NULL };
	struct child_spec spec = { .path = "/bin/cat",
		                   .argv = argv,
		                   .n_fds = 3,
		                   .flags = modes[_i].flags,
		                   .cgroup = modes[_i].cgroup };
	struct collected out = { 0 };
	struct child_stream stream = { .on_data = collect, .userdata = &out };
	struct child_loop loop = { .streams = &stream, .n_streams = 1, .cancel_fd = -1 };
	size_t len = 300000; /* more than a pipe holds: fed as the child reads */
	char *in = malloc(len + 1);
	int ip[2], op[2];
	struct child c;

	ck_assert_ptr_nonnull(in);
	for (size_t i = 0; i < len; i++)
		in[i] = (char)('a' + i % 26);
	in[len] = 0;
	ck_assert_int_eq(pipe2(ip, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(op, O_CLOEXEC), 0);
	spec.fds[0] = ip[0];
	spec.fds[1] = op[1];
	spec.fds[2] = CHILD_FD_INHERIT;
	ck_assert_int_eq(child_spawn(&c, &spec), 0);
	close(ip[0]);
	close(op[1]);
	ck_assert_int_eq(fcntl(ip[1], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(fcntl(op[0], F_SETFL, O_NONBLOCK), 0);
	stream.fd = op[0];
	loop.in_fd = ip[1];
	loop.in_data = in;
	loop.in_len = len;
	ck_assert_int_eq(child_wait(&c, &loop), 0);
	ck_assert_int_eq(loop.in_fd, -1); /* all fed, then closed: cat saw its end */
	child_drain(&stream, 1 << 20);
	ck_assert_int_eq(child_done(&c), 0);
	ck_assert(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0);
	ck_assert_uint_eq(out.len, len);
	ck_assert(memcmp(out.data, in, len) == 0);
	free(out.data);
	free(in);
}
END_TEST

START_TEST(deadline_kills)
{
	struct run r;

	run_start(&r, &modes[_i], "echo started; exec sleep 60");
	r.loop.deadline = child_now_usec() + 100 * 1000;
	ck_assert_int_eq(child_wait(&r.c, &r.loop), 0);
	ck_assert(r.loop.killed);
	ck_assert(!r.loop.cancelling);
	run_finish(&r);
	ck_assert(WIFSIGNALED(r.c.status));
	ck_assert_int_eq(WTERMSIG(r.c.status), SIGKILL);
	ck_assert_str_eq(r.out.data, "started\n");
	free(r.out.data);
}
END_TEST

static bool
cancel_once_ready(void *userdata)
{
	const struct run *r = userdata;

	/* Cancelled once the shell said its trap is in place. */
	return r->out.data && strstr(r->out.data, "ready\n");
}

START_TEST(term_ignored_then_killed)
{
	struct run r;

	/* The trap reports the SIGTERM and carries on: only SIGKILL ends it. */
	run_start(&r, &modes[_i],
	          "trap 'echo term' TERM; echo ready; while :; do sleep 1 & wait; done");
	r.loop.cancelled = cancel_once_ready;
	r.loop.userdata = &r;
	r.loop.grace_usec = 300 * 1000;
	ck_assert_int_eq(child_wait(&r.c, &r.loop), 0);
	ck_assert(r.loop.cancelling);
	ck_assert(r.loop.killed);
	run_finish(&r);
	ck_assert(WIFSIGNALED(r.c.status));
	ck_assert_int_eq(WTERMSIG(r.c.status), SIGKILL);
	ck_assert_msg(strstr(r.out.data, "ready\nterm\n") != NULL, "output: %s", r.out.data);
	free(r.out.data);
}
END_TEST

START_TEST(term_obeyed)
{
	struct run r;
	int efd[2];

	/* The cancellation through a descriptor, as a host's cancel_fd. */
	ck_assert_int_eq(pipe2(efd, O_CLOEXEC), 0);
	run_start(&r, &modes[_i], "exec sleep 60");
	ck_assert_int_eq(write(efd[1], "x", 1), 1);
	r.loop.cancel_fd = efd[0];
	r.loop.grace_usec = 60 * 1000000ULL;
	ck_assert_int_eq(child_wait(&r.c, &r.loop), 0);
	ck_assert(r.loop.cancelling);
	ck_assert(!r.loop.killed);
	run_finish(&r);
	ck_assert(WIFSIGNALED(r.c.status));
	ck_assert_int_eq(WTERMSIG(r.c.status), SIGTERM);
	close(efd[0]);
	close(efd[1]);
	free(r.out.data);
}
END_TEST

/* The pid a script printed at the start of its output. */
static pid_t
printed_pid(const char *out)
{
	char *end;
	long pid;

	errno = 0;
	pid = strtol(out, &end, 10);
	ck_assert_msg(errno == 0 && end != out && pid > 0 && pid <= INT_MAX, "no pid in '%s'", out);
	return (pid_t)pid;
}

START_TEST(grandchild_killed)
{
	struct run r;
	pid_t grandchild;

	/* A grandchild in the group that outlives nothing: the deadline ends both. */
	run_start(&r, &modes[_i], "sleep 60 & echo $!; wait");
	r.loop.deadline = child_now_usec() + 200 * 1000;
	ck_assert_int_eq(child_wait(&r.c, &r.loop), 0);
	ck_assert(r.loop.killed);
	run_finish(&r);
	ck_assert_ptr_nonnull(r.out.data);
	grandchild = printed_pid(r.out.data);
	ck_assert_int_gt(grandchild, 1);
	ck_assert_msg(ends(grandchild), "grandchild %d still runs", (int)grandchild);
	free(r.out.data);
}
END_TEST

START_TEST(strays_after_exit)
{
	struct run r;
	pid_t stray;

	int go[2];

	/* The leader exits at once; what it left behind is killed with it. It
	 * starts that only once told to: after child_spawn() returned, which
	 * is when CHILD_CGROUP_LATE has moved it into its cgroup. */
	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	run_start_in(&r, &modes[_i], "read go; setsid sleep 60 >/dev/null 2>&1 & echo $!", go[0]);
	close(go[0]);
	ck_assert_int_eq(write(go[1], "go\n", 3), 3);
	close(go[1]);
	ck_assert_int_eq(child_wait(&r.c, &r.loop), 0);
	ck_assert(!r.loop.killed);
	ck_assert_ptr_nonnull(r.out.data);
	stray = printed_pid(r.out.data);
	ck_assert_int_gt(stray, 1);
	if (r.c.cgfd >= 0) {
		/* In its cgroup, setsid() or not. */
		ck_assert_int_eq(child_has_strays(&r.c), 1);
		child_signal(&r.c, SIGTERM);
		ck_assert_int_eq(child_wait_empty(&r.c, child_now_usec() + 60 * 1000000ULL, -1), 1);
		ck_assert_int_eq(child_has_strays(&r.c), 0);
	}
	run_finish(&r);
	ck_assert(WIFEXITED(r.c.status) && WEXITSTATUS(r.c.status) == 0);
	/* Without a cgroup, the tree walk found it (or it was too quick to
	 * leave: then it is still ours to end). */
	if (running(stray))
		(void)kill(stray, SIGKILL);
	ck_assert(ends(stray));
	free(r.out.data);
}
END_TEST

/*
 * Spawned into a cgroup (not moved: clone3, sharing our memory until its
 * exec where it can), the child is in it from its first instruction, and
 * the caller's signal mask is as it was.
 */
START_TEST(in_cgroup_from_start)
{
	const struct mode *m = &modes[_i];
	sigset_t before, after;
	struct run r;
	const char *leaf;

	sigemptyset(&before);
	sigaddset(&before, SIGUSR2);
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &before, NULL), 0);
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, NULL, &before), 0);
	run_start(&r, m, "exec cat /proc/self/cgroup");
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, NULL, &after), 0);
	ck_assert(sigismember(&after, SIGUSR2) && !sigismember(&after, SIGUSR1));
	ck_assert_int_eq(child_wait(&r.c, &r.loop), 0);
	leaf = strrchr(r.c.cgpath, '/');
	if (r.c.cgfd >= 0 && !(m->flags & CHILD_CGROUP_LATE)) {
		char line[PATH_MAX + 8];

		child_drain(&r.stream, 1 << 20);
		ck_assert_ptr_nonnull(r.out.data);
		snprintf(line, sizeof(line), "%s\n", leaf);
		ck_assert_msg(strstr(r.out.data, "0::/") && strstr(r.out.data, line),
		              "not in %s from the start: %s", r.c.cgpath, r.out.data);
	}
	run_finish(&r);
	ck_assert(WIFEXITED(r.c.status) && WEXITSTATUS(r.c.status) == 0);
	free(r.out.data);
}
END_TEST

/* Writes pid to the cgroup.procs at path. */
static void
move_to(const char *path, const char *pid)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, pid, strlen(pid)), (ssize_t)strlen(pid));
	close(fd);
}

/*
 * The cgroup mount is read once per process, our own cgroup at each spawn:
 * after this process moves into another cgroup, its children are made
 * below that one.
 */
START_TEST(cgroup_follows_a_move)
{
	const struct mode *m = &modes[2]; /* clone3 into a cgroup */
	char self[PATH_MAX], moved[PATH_MAX + 32], back[64], line[PATH_MAX + 64];
	struct run r;
	bool cgroups;

	run_start(&r, m, "exit 0");
	cgroups = r.c.cgfd >= 0;
	ck_assert_int_eq(child_wait(&r.c, &r.loop), 0);
	run_finish(&r);
	if (!cgroups || proc_cgroup_self(self, sizeof(self)) < 0) {
		printf("skipped: cgroup_follows_a_move needs a writable cgroup v2\n");
		return;
	}
	snprintf(moved, sizeof(moved), "%s/childmove-%d", self, (int)getpid());
	ck_assert_int_eq(mkdir(moved, 0755), 0);
	snprintf(back, sizeof(back), "%d", (int)getpid());
	snprintf(line, sizeof(line), "%s/cgroup.procs", moved);
	move_to(line, back);
	run_start(&r, m, "exec cat /proc/self/cgroup");
	ck_assert_int_eq(child_wait(&r.c, &r.loop), 0);
	child_drain(&r.stream, 1 << 20);
	snprintf(line, sizeof(line), "/childmove-%d/childtest-", (int)getpid());
	ck_assert_msg(r.out.data && strstr(r.out.data, line), "not below %s: %s", moved,
	              r.out.data ? r.out.data : "");
	run_finish(&r);
	free(r.out.data);
	snprintf(line, sizeof(line), "%s/cgroup.procs", self);
	move_to(line, back);
	ck_assert_int_eq(rmdir(moved), 0);
}
END_TEST

START_TEST(exec_failure)
{
	const char *argv[] = { "/nonexistent/program", NULL };
	struct child_spec spec = { .path = argv[0],
		                   .argv = argv,
		                   .n_fds = 3,
		                   .flags = modes[_i].flags,
		                   .cgroup = modes[_i].cgroup };
	struct child c;

	spec.fds[0] = spec.fds[1] = spec.fds[2] = CHILD_FD_NULL;
	ck_assert_int_eq(child_spawn(&c, &spec), -ENOENT);
	ck_assert_int_eq(c.cgfd, -1);
	ck_assert_int_eq(c.pidfd, -1);
	/* Nothing to reap or remove. */
	ck_assert_int_eq(child_done(&c), 0);
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
}
END_TEST

START_TEST(fd3_passed)
{
	const char *argv[] = { "/bin/sh", "-c", "cat <&3", NULL };
	struct child_spec spec = { .path = "/bin/sh",
		                   .argv = argv,
		                   .n_fds = 4,
		                   .flags = modes[_i].flags,
		                   .cgroup = modes[_i].cgroup };
	struct collected out = { 0 };
	struct child_stream stream = { .on_data = collect, .userdata = &out };
	struct child_loop loop = {
		.streams = &stream, .n_streams = 1, .in_fd = -1, .cancel_fd = -1
	};
	int data[2], op[2];
	struct child c;

	/* What the probe gets its sealed copy as: a descriptor 3 of its own. */
	ck_assert_int_eq(pipe2(data, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(op, O_CLOEXEC), 0);
	ck_assert_int_eq(write(data[1], "three", 5), 5);
	close(data[1]);
	spec.fds[0] = CHILD_FD_NULL;
	spec.fds[1] = op[1];
	spec.fds[2] = CHILD_FD_INHERIT;
	spec.fds[3] = data[0];
	ck_assert_int_eq(child_spawn(&c, &spec), 0);
	close(op[1]);
	close(data[0]);
	ck_assert_int_eq(fcntl(op[0], F_SETFL, O_NONBLOCK), 0);
	stream.fd = op[0];
	ck_assert_int_eq(child_wait(&c, &loop), 0);
	child_drain(&stream, 1 << 20);
	ck_assert_int_eq(child_done(&c), 0);
	ck_assert(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0);
	ck_assert_str_eq(out.data, "three");
	free(out.data);
}
END_TEST

Suite *
child_suite(void)
{
	Suite *s = suite_create("child");
	TCase *tc;
	int n = (int)(sizeof(modes) / sizeof(modes[0]));

	tc = tcase_create("output");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, output_collected, 0, n);
	tcase_add_loop_test(tc, stdin_fed, 0, n);
	tcase_add_loop_test(tc, fd3_passed, 0, n);
	suite_add_tcase(s, tc);

	tc = tcase_create("ending");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, deadline_kills, 0, n);
	tcase_add_loop_test(tc, term_ignored_then_killed, 0, n);
	tcase_add_loop_test(tc, term_obeyed, 0, n);
	tcase_add_loop_test(tc, grandchild_killed, 0, n);
	tcase_add_loop_test(tc, strays_after_exit, 0, n);
	tcase_add_loop_test(tc, exec_failure, 0, n);
	tcase_add_loop_test(tc, in_cgroup_from_start, 0, n);
	tcase_add_test(tc, cgroup_follows_a_move);
	suite_add_tcase(s, tc);
	return s;
}
