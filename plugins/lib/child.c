/* SPDX-License-Identifier: MIT */
/*
 * The child-process supervisor (see child.h): the one place that spawns a
 * child in a process group or cgroup of its own, gives it a deadline,
 * cancels it with a grace before killing everything it started, collects
 * its output and reaps it. The daemon is multi-threaded and blocks every
 * signal in every thread, so children are started with posix_spawn() or,
 * into a cgroup, with clone3() followed by nothing but system calls until
 * execve() (never a fork() that runs library code: another thread may hold
 * a lock), with an empty signal mask and default dispositions.
 *
 * The leader is reaped only after everything was signalled: until then its
 * pid, which is also the group id, cannot be reused, so signalling the
 * group can never hit a stranger.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "child.h"

#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
#define HAVE_ADDCLOSEFROM 1
#endif

extern char **environ;

/* Without a pidfd (or a cancel_fd), the loop looks this often. */
#define CHILD_NAP_MS 20
/* How much one read takes from a stream. */
#define CHILD_CHUNK 16384

/*
 * clone3() sharing our memory until the exec (CLONE_VM | CLONE_VFORK, as
 * glibc's posix_spawn does), where we know how to run the child on a stack
 * of its own: x86-64, and not under a sanitizer, whose instrumentation of
 * the child's code would write into this process's sanitizer state.
 * Elsewhere clone3() copies our page tables, as fork() does.
 */
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CHILD_SANITIZED 1
#endif
#endif
#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__) &&      \
        !defined(CHILD_SANITIZED)
#define CHILD_CLONE_VM 1
/* The child's stack, for child_exec() and the system calls it makes. */
#define CHILD_STACK_SIZE (64u * 1024)
#endif

uint64_t
child_now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Milliseconds from now until at, rounded up, for poll(). */
static int
ms_until(uint64_t at)
{
	uint64_t now = child_now_usec();

	if (at <= now)
		return 0;
	if (at - now > (uint64_t)INT_MAX * 1000)
		return INT_MAX;
	return (int)((at - now + 999) / 1000);
}

static void
close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/*
 * posix_spawn() in a new process group. Returns 0 or a negative errno value
 * (exec failures included: glibc's posix_spawn reports them).
 */
static int
spawn_plain(const struct child_spec *spec, pid_t *ret_pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	pid_t pid = 0;
	int r;

	r = posix_spawn_file_actions_init(&fa);
	if (r)
		return -r;
	r = posix_spawnattr_init(&attr);
	if (r) {
		posix_spawn_file_actions_destroy(&fa);
		return -r;
	}
	if (spec->cwd)
		r = posix_spawn_file_actions_addchdir_np(&fa, spec->cwd);
	for (unsigned i = 0; i < spec->n_fds && !r; i++) {
		if (spec->fds[i] == CHILD_FD_INHERIT)
			continue;
		/* glibc clears FD_CLOEXEC even when the numbers are the same. */
		if (spec->fds[i] >= 0)
			r = posix_spawn_file_actions_adddup2(&fa, spec->fds[i], (int)i);
		else
			r = posix_spawn_file_actions_addopen(&fa, (int)i, "/dev/null",
			                                     i == 0 ? O_RDONLY : O_WRONLY, 0);
	}
#ifdef HAVE_ADDCLOSEFROM
	/* Descriptors some library opened without O_CLOEXEC stop here. */
	if (!r)
		r = posix_spawn_file_actions_addclosefrom_np(&fa, (int)spec->n_fds);
#endif

	/* The daemon blocks every signal and may ignore some; the child must not. */
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	if (!r)
		r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
		                                            POSIX_SPAWN_SETPGROUP);
	if (!r)
		r = posix_spawnattr_setsigmask(&attr, &none);
	if (!r)
		r = posix_spawnattr_setsigdefault(&attr, &all);
	if (!r)
		r = posix_spawnattr_setpgroup(&attr, 0);
	if (!r)
		r = posix_spawn(&pid, spec->path, &fa, &attr, (char *const *)spec->argv,
		                spec->envp ? spec->envp : environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	if (r)
		return -r;
	*ret_pid = pid;
	return 0;
}

/* The kernel's struct sigaction for rt_sigaction(). */
struct kernel_sigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

static void
child_fd(int from, int to, int *err)
{
	if (*err)
		return;
	if (from == to) {
		/* Same number: only the close-on-exec flag must go. */
		if (syscall(SYS_fcntl, to, F_SETFD, 0) < 0)
			*err = errno;
	} else if (syscall(SYS_dup3, from, to, 0) < 0) {
		*err = errno;
	}
}

/*
 * What the child of spawn_into_cgroup() does between clone3() and execve().
 * It is a fork() of a multi-threaded process, so it may only make system
 * calls: everything below goes through syscall() directly (even the libc
 * wrappers could be intercepted by a sanitizer runtime whose locks another
 * thread held at the fork). On failure it writes errno to err_fd.
 */
__attribute__((noreturn)) static void
child_exec(const struct child_spec *spec, int err_fd)
{
	struct kernel_sigaction dfl = { .handler = SIG_DFL };
	uint64_t none = 0;
	int err = 0;

	/* The daemon blocks every signal and may ignore some; the child must not. */
	for (int sig = 1; sig <= 64; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(uint64_t));
	(void)syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof(uint64_t));
	/* Out of the way of the descriptors the child is given. */
	if ((unsigned)err_fd < spec->n_fds) {
		int moved = (int)syscall(SYS_fcntl, err_fd, F_DUPFD_CLOEXEC, CHILD_FDS_MAX);

		if (moved >= 0)
			err_fd = moved;
	}
	if (syscall(SYS_setpgid, 0, 0) < 0)
		err = errno;
	if (!err && spec->cwd && syscall(SYS_chdir, spec->cwd) < 0)
		err = errno;
	for (unsigned i = 0; i < spec->n_fds && !err; i++) {
		int from = spec->fds[i];

		if (from == CHILD_FD_INHERIT)
			continue;
		if (from < 0) {
			from = (int)syscall(SYS_openat, AT_FDCWD, "/dev/null",
			                    (i == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
			if (from < 0) {
				err = errno;
				break;
			}
		}
		child_fd(from, (int)i, &err);
	}
	if (!err) {
		/* Everything but the child's own and the error pipe (close-on-exec) goes. */
		if (err_fd > (int)spec->n_fds)
			(void)syscall(SYS_close_range, spec->n_fds, err_fd - 1, 0);
		(void)syscall(SYS_close_range, err_fd + 1, ~0U, 0);
		syscall(SYS_execve, spec->path, spec->argv, spec->envp ? spec->envp : environ);
		err = errno;
	}
	(void)syscall(SYS_write, err_fd, &err, sizeof(err));
	syscall(SYS_exit_group, 127);
	__builtin_unreachable();
}

#ifdef CHILD_CLONE_VM
struct exec_args {
	const struct child_spec *spec;
	int err_fd;
};

__attribute__((noreturn)) static void
child_exec_vm(void *arg)
{
	const struct exec_args *a = arg;

	child_exec(a->spec, a->err_fd);
}

/*
 * clone3() with args, whose stack the child runs on: it calls fn(arg),
 * which must not return; we get its pid or -errno. In assembly because the
 * child must not return through any frame of ours: until its exec it
 * shares our memory, our stack included (glibc's clone() does the same).
 * Registers other than rax, rcx, r11 and rsp are the same in the child.
 */
static long
clone3_vm(struct clone_args *args, void (*fn)(void *), void *arg)
{
	register long rax __asm__("rax") = SYS_clone3;
	register struct clone_args *rdi __asm__("rdi") = args;
	register size_t rsi __asm__("rsi") = sizeof(*args);
	register void (*r12)(void *) __asm__("r12") = fn;
	register void *r13 __asm__("r13") = arg;

	__asm__ volatile("syscall\n\t"
	                 "testq %%rax, %%rax\n\t"
	                 "jnz 1f\n\t"
	                 "xorl %%ebp, %%ebp\n\t"
	                 "movq %%r13, %%rdi\n\t"
	                 "callq *%%r12\n\t"
	                 "hlt\n"
	                 "1:"
	                 : "+r"(rax)
	                 : "r"(rdi), "r"(rsi), "r"(r12), "r"(r13)
	                 : "rcx", "r11", "memory", "cc");
	return rax;
}
#endif

/*
 * clone3() of spec into the cgroup cgfd, writing why its exec failed to
 * err_fd. The pid, or -1 with errno set.
 */
static long
clone_into(const struct child_spec *spec, struct clone_args *args, int err_fd)
{
	long pid;
#ifdef CHILD_CLONE_VM
	struct exec_args a = { spec, err_fd };
	sigset_t all, old;
	void *stack;

	/*
	 * With CLONE_VFORK we resume once it has called execve() (or died),
	 * so its stack is free again after the call. No handler may run in
	 * it on our memory before child_exec() resets them: every signal is
	 * blocked around the clone, as in posix_spawn.
	 */
	stack = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
	             MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack != MAP_FAILED) {
		args->flags |= CLONE_VM | CLONE_VFORK;
		args->stack = (uint64_t)(uintptr_t)stack;
		args->stack_size = CHILD_STACK_SIZE;
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		pid = clone3_vm(args, child_exec_vm, &a);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		munmap(stack, CHILD_STACK_SIZE);
		if (pid >= 0)
			return pid;
		/* Refused that way (a seccomp filter?): try as before. */
		args->flags &= ~(uint64_t)(CLONE_VM | CLONE_VFORK);
		args->stack = args->stack_size = 0;
	}
#endif
	pid = syscall(SYS_clone3, args, sizeof(*args));
	if (pid == 0)
		child_exec(spec, err_fd);
	return pid;
}

/*
 * Like spawn_plain(), but the child starts inside the cgroup cgfd, and its
 * pidfd comes with it: no write to cgroup.procs, which waits for an RCU
 * grace period (12-16 ms measured) unless another move happened just
 * before. 1 when clone3() itself failed (before Linux 5.7, a seccomp filter
 * that refuses it, ...): the caller then falls back to spawn_plain(), which
 * reports any failure they share. Negative errno when the exec failed.
 */
static int
spawn_into_cgroup(const struct child_spec *spec, int cgfd, pid_t *ret_pid, int *ret_pidfd)
{
	int errpipe[2], pidfd = -1, err = 0, status;
	struct clone_args args = {
		.flags = CLONE_INTO_CGROUP | CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)&pidfd,
		.exit_signal = SIGCHLD,
		.cgroup = (uint64_t)cgfd,
	};
	ssize_t n;
	long pid;

	if (pipe2(errpipe, O_CLOEXEC) < 0)
		return -errno;
	pid = clone_into(spec, &args, errpipe[1]);
	close(errpipe[1]);
	if (pid < 0) {
		close(errpipe[0]);
		return 1;
	}
	/* End of file: the exec happened. Anything else: why it did not. */
	while ((n = read(errpipe[0], &err, sizeof(err))) < 0 && errno == EINTR)
		;
	close(errpipe[0]);
	if (n == (ssize_t)sizeof(err) && err) {
		while (waitpid((pid_t)pid, &status, 0) < 0 && errno == EINTR)
			;
		if (pidfd >= 0)
			close(pidfd);
		return -err;
	}
	*ret_pid = (pid_t)pid;
	*ret_pidfd = pidfd;
	return 0;
}

/*
 * The cgroup2 mount, read from /proc/self/mountinfo once per process: it
 * does not move, and reading it costs 70 us with 22 mounts (more with
 * many), a tenth of a posix_spawn. Our own cgroup within it is read at
 * each spawn (15 us), so a process moved between cgroups still puts its
 * children below the one it is in.
 */
static pthread_once_t mount_once = PTHREAD_ONCE_INIT;
static char cg_mnt[PATH_MAX], cg_root[PATH_MAX];
static int cg_mount_r;

static void
read_mount(void)
{
	cg_mount_r = proc_cgroup2_mount(cg_mnt, sizeof(cg_mnt), cg_root, sizeof(cg_root));
}

/* proc_cgroup_new() with the mount read once. */
static int
cgroup_new(const char *prefix, char *ret_path, size_t size, int *ret_fd)
{
	char self[PATH_MAX];
	int r;

	(void)pthread_once(&mount_once, read_mount);
	if (cg_mount_r < 0)
		return cg_mount_r;
	r = proc_cgroup_self_in(cg_mnt, cg_root, self, sizeof(self));
	return r < 0 ? r : proc_cgroup_new_below(self, prefix, ret_path, size, ret_fd);
}

int
child_spawn(struct child *c, const struct child_spec *spec)
{
	int r = 1;

	memset(c, 0, sizeof(*c));
	c->pidfd = c->cgfd = -1;
	if (spec->n_fds > CHILD_FDS_MAX)
		return -EINVAL;
	/* A cgroup of its own where we may have one; the process tree where not. */
	if (spec->cgroup && cgroup_new(spec->cgroup, c->cgpath, sizeof(c->cgpath), &c->cgfd) == 0) {
		if (!(spec->flags & CHILD_CGROUP_LATE))
			r = spawn_into_cgroup(spec, c->cgfd, &c->pid, &c->pidfd);
		if (r < 0 || (r == 1 && !(spec->flags & CHILD_CGROUP_LATE))) {
			(void)proc_cgroup_free(c->cgfd, c->cgpath);
			c->cgfd = -1;
		}
		if (r < 0)
			return r;
	}
	if (r == 1) {
		r = spawn_plain(spec, &c->pid);
		if (r < 0) {
			if (c->cgfd >= 0)
				(void)proc_cgroup_free(c->cgfd, c->cgpath);
			c->cgfd = -1;
			return r;
		}
		/* Before the caller talks to it: nothing ran in it that could fork. */
		if (c->cgfd >= 0 && proc_cgroup_attach(c->cgfd, c->pid) < 0) {
			(void)proc_cgroup_free(c->cgfd, c->cgpath);
			c->cgfd = -1;
		}
	}
	if (spec->flags & CHILD_NO_PIDFD)
		close_fd(&c->pidfd);
	else if (c->pidfd < 0)
		/* pidfd_open() is Linux 5.3; older kernels nap on waitid(). */
		c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	return 0;
}

void
child_signal(struct child *c, int sig)
{
	if (c->pid <= 0 || c->reaped)
		return;
	if (c->cgfd >= 0) {
		if (sig == SIGKILL) {
			(void)proc_cgroup_kill(c->cgfd);
			(void)kill(-c->pid, SIGKILL);
		} else {
			(void)proc_cgroup_signal(c->cgfd, sig);
		}
		return;
	}
	/* The leader's group at once, then the descendants outside it: a
	 * shell dies of the signal, rather than seeing a child it waits for die
	 * of it and exiting 0 before its own turn comes. */
	(void)proc_tree_signal_from(c->pid, true, sig);
}

static bool
leader_exited(struct child *c, const struct pollfd *pidfd_poll)
{
	siginfo_t si;

	if (c->exited)
		return true;
	if (c->pidfd >= 0) {
		/* A pidfd is readable once the process exited, and only then. */
		c->exited = pidfd_poll && (pidfd_poll->revents & (POLLIN | POLLHUP | POLLERR));
		return c->exited;
	}
	/* WNOWAIT: the zombie keeps the pid and group id reserved until we reap. */
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
	    si.si_pid == c->pid)
		c->exited = true;
	return c->exited;
}

static void
stream_end(struct child_stream *s)
{
	if (s->fd < 0)
		return;
	close_fd(&s->fd);
	if (s->on_data)
		(void)s->on_data(s->userdata, NULL, 0);
}

/* Reads once: 1 after data, 0 at the end (the stream is then ended), -EAGAIN. */
static int
stream_read(struct child_stream *s)
{
	char chunk[CHILD_CHUNK];
	ssize_t n = read(s->fd, chunk, sizeof(chunk));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -EAGAIN;
	if (n > 0 && (!s->on_data || s->on_data(s->userdata, chunk, (size_t)n) >= 0))
		return 1;
	/* End of file, an error that makes it one, or the reader had enough. */
	stream_end(s);
	return 0;
}

void
child_drain(struct child_stream *s, size_t max)
{
	size_t total = 0;

	while (s->fd >= 0 && total < max && stream_read(s) == 1)
		total += CHILD_CHUNK;
	stream_end(s);
}

static void
feed_stdin(struct child_loop *l)
{
	size_t left = l->in_len - l->in_off;
	ssize_t n;

	if (left > 0) {
		n = write(l->in_fd, l->in_data + l->in_off, left > 65536 ? 65536 : left);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		/* EPIPE: the child closed its stdin, which is its right. */
		if (n > 0)
			l->in_off += (size_t)n;
		else
			l->in_off = l->in_len;
	}
	if (l->in_off == l->in_len)
		close_fd(&l->in_fd);
}

int
child_wait(struct child *c, struct child_loop *l)
{
	if (!l->kill_at)
		l->kill_at = l->deadline;
	while (!c->exited) {
		struct pollfd p[CHILD_FDS_MAX + 3];
		int i_pid = -1, i_cancel = -1, i_in = -1, timeout = -1;
		nfds_t n = 0;

		for (size_t i = 0; i < l->n_streams && i < CHILD_FDS_MAX; i++)
			p[n++] = (struct pollfd){ .fd = l->streams[i].fd, .events = POLLIN };
		if (l->in_fd >= 0) {
			i_in = (int)n;
			p[n++] = (struct pollfd){ .fd = l->in_fd, .events = POLLOUT };
		}
		if (c->pidfd >= 0) {
			i_pid = (int)n;
			p[n++] = (struct pollfd){ .fd = c->pidfd, .events = POLLIN };
		} else {
			timeout = CHILD_NAP_MS;
		}
		if (!l->cancelling && l->cancel_fd >= 0) {
			i_cancel = (int)n;
			p[n++] = (struct pollfd){ .fd = l->cancel_fd, .events = POLLIN };
		} else if (!l->cancelling && l->cancelled) {
			timeout = CHILD_NAP_MS;
		}
		if (l->kill_at && !l->killed) {
			int t = ms_until(l->kill_at);

			timeout = timeout < 0 || t < timeout ? t : timeout;
		}
		if (poll(p, n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (size_t i = 0; i < l->n_streams && i < CHILD_FDS_MAX; i++)
			if (l->streams[i].fd >= 0 && p[i].revents)
				(void)stream_read(&l->streams[i]);
		if (i_in >= 0 && (p[i_in].revents & (POLLERR | POLLHUP)))
			close_fd(&l->in_fd);
		else if (i_in >= 0 && p[i_in].revents)
			feed_stdin(l);

		/* An exit that raced with the cancellation keeps its own result. */
		if (leader_exited(c, i_pid >= 0 ? &p[i_pid] : NULL))
			break;
		if (!l->cancelling && ((i_cancel >= 0 && p[i_cancel].revents) ||
		                       (l->cancelled && l->cancelled(l->userdata)))) {
			uint64_t now = child_now_usec();

			/* Ask first; everything goes after the grace, counted from now,
			 * not from before the poll() that saw the cancel. */
			l->cancelling = true;
			if (l->on_cancel)
				l->on_cancel(c, l->userdata);
			else
				child_signal(c, SIGTERM);
			if (!l->kill_at || l->kill_at > now + l->grace_usec)
				l->kill_at = now + l->grace_usec;
		}
		if (l->kill_at && !l->killed && child_now_usec() >= l->kill_at) {
			l->killed = true;
			child_signal(c, SIGKILL);
		}
	}
	return 0;
}

int
child_has_strays(struct child *c)
{
	return c->cgfd >= 0 && proc_cgroup_populated(c->cgfd) > 0;
}

int
child_wait_empty(struct child *c, uint64_t at, int cancel_fd)
{
	int efd, r;

	if (c->cgfd < 0)
		return 1;
	efd = openat(c->cgfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
	if (efd < 0)
		return 0;
	while ((r = proc_cgroup_events_populated(efd)) > 0) {
		struct pollfd p[2] = { { efd, POLLPRI, 0 }, { cancel_fd, POLLIN, 0 } };
		int t = ms_until(at);

		if (t == 0)
			break;
		/* Bounded: a missed event costs a second, not a hang. */
		if (poll(p, 2, t > 1000 ? 1000 : t) > 0 && p[1].revents)
			break;
	}
	close(efd);
	return r == 0;
}

void
child_reap(struct child *c)
{
	if (c->pid <= 0 || c->reaped)
		return;
	while (waitpid(c->pid, &c->status, 0) < 0 && errno == EINTR)
		;
	c->exited = c->reaped = true;
}

int
child_done(struct child *c)
{
	int r = 0;

	child_reap(c);
	if (c->cgfd >= 0)
		r = proc_cgroup_free(c->cgfd, c->cgpath);
	c->cgfd = -1;
	close_fd(&c->pidfd);
	return r;
}
