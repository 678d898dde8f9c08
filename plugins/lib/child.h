/* SPDX-License-Identifier: MIT */
/*
 * The one child-process supervisor, shared by the daemon (the probe client
 * in daemon/loader_probe.c, isolated steps in daemon/isolate.c) and the exec
 * stage. child.c is compiled into both: into the daemon's library and into
 * exec.so (plugins never link the daemon), so it uses only libc, raw system
 * calls and proc.h. Its symbols are hidden in a plugin, which builds with
 * -fvisibility=hidden.
 *
 * The life of a child, in the caller's order:
 *
 *	child_spawn()	start it in a process group of its own, or in a cgroup
 *			of its own (clone3 with CLONE_INTO_CGROUP, so not even
 *			its first fork escapes; or posix_spawn and a move into
 *			it, CHILD_CGROUP_LATE), with a pidfd where the kernel
 *			has one;
 *	child_wait()	one poll() loop until the leader exits: read its output
 *			streams, feed its stdin, watch a cancellation (on
 *			cancel: SIGTERM to everything, or the caller's own way
 *			of asking) and a deadline; SIGKILL to everything at the
 *			deadline, or a grace period after the cancellation;
 *	child_signal(), child_stop_strays() what the leader left behind;
 *	child_drain()	what it wrote just before it ended;
 *	child_reap()	waitpid(); only now can its pid, which is the process
 *			group id, be reused, so every signal before it is safe;
 *	child_done()	remove the cgroup, close what is left.
 *
 * Functions return 0 (or a count) or a negative errno value. Any thread.
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Values of child_spec.fds[] besides a descriptor of ours to dup there. */
#define CHILD_FD_NULL    (-1) /* /dev/null (read-only for 0, write-only above) */
#define CHILD_FD_INHERIT (-2) /* left as it is in the caller */
#define CHILD_FDS_MAX    5

/* child_spec.flags */
/*
 * posix_spawn, then move it into the cgroup: only for a child that runs
 * nothing of its own before the caller talks to it. Not cheaper: the write
 * to cgroup.procs waits for an RCU grace period (12-16 ms measured) unless
 * another move happened just before, whereas clone3 into the cgroup shares
 * the caller's memory until the exec, as posix_spawn does, where child.c
 * can (x86-64, no sanitizer), and copies its page tables elsewhere.
 */
#define CHILD_CGROUP_LATE 0x1u
/* Watch the exit with waitid() naps instead of a pidfd (the path kernels
 * before 5.3 take; tests force it). */
#define CHILD_NO_PIDFD 0x2u

/* What to start; everything is borrowed for the duration of child_spawn(). */
struct child_spec {
	const char *path;
	const char *const *argv;
	char *const *envp; /* NULL: environ */
	const char *cwd;   /* NULL: the caller's */
	/*
	 * The child's descriptors 0 to n_fds - 1: each one of ours (dup'ed, so
	 * O_CLOEXEC on ours does not matter), CHILD_FD_NULL or
	 * CHILD_FD_INHERIT; every other descriptor is closed in the child.
	 */
	int fds[CHILD_FDS_MAX];
	unsigned n_fds;
	/* A cgroup of its own named PREFIX-PID-N below ours, where cgroup v2
	 * lets us (see proc.h); NULL: its process group only. */
	const char *cgroup;
	unsigned flags;
};

/* One child. Zero-filled by child_spawn(); plain data, owned by the caller. */
struct child {
	pid_t pid;
	int pidfd; /* -1: exits are found with waitid() */
	int cgfd;  /* the child's cgroup, -1: none */
	char cgpath[PATH_MAX];
	bool exited; /* the leader is a zombie (or reaped) */
	bool reaped;
	int status; /* waitpid() status, once reaped */
};

/*
 * An output stream of the child that the loop reads: our end of a pipe or
 * socket, non-blocking. on_data gets each chunk, and n == 0 once at the end
 * (end of file, a read error, or when the stream is closed after a drain);
 * returning a negative value stops reading it (it is then closed, as at
 * end of file). The loop closes fd and sets it to -1 at the end.
 */
struct child_stream {
	int fd;
	int (*on_data)(void *userdata, const char *p, size_t n);
	void *userdata;
};

/* What child_wait() watches, and what it found. */
struct child_loop {
	struct child_stream *streams;
	size_t n_streams;
	/* Fed to the child's stdin (our end in_fd, non-blocking), then closed;
	 * -1: nothing to feed. in_data is borrowed. */
	int in_fd;
	const char *in_data;
	size_t in_len, in_off;
	/*
	 * Cancellation: cancel_fd becomes readable, or cancelled() says so
	 * (asked after every wake-up, and every 50 ms when there is no fd).
	 * on_cancel asks the child to stop (NULL: SIGTERM to everything); the
	 * SIGKILL follows grace_usec later, counted from the moment it was seen.
	 */
	int cancel_fd;
	bool (*cancelled)(void *userdata);
	void (*on_cancel)(struct child *c, void *userdata);
	void *userdata;
	uint64_t grace_usec;
	/* CLOCK_MONOTONIC µs at which everything is killed; 0: none. */
	uint64_t deadline;
	/* Results. */
	bool cancelling;  /* the cancellation was seen and acted on */
	bool killed;      /* SIGKILL was sent: the deadline or the grace passed */
	uint64_t kill_at; /* when SIGKILL is (or was) due, 0: never */
};

/* CLOCK_MONOTONIC in µs. */
uint64_t child_now_usec(void);
/*
 * Starts spec in a new process group (or cgroup), with an empty signal mask
 * and default dispositions. 0 and *c; or a negative errno value, exec
 * failures included, and then nothing is left running.
 */
int child_spawn(struct child *c, const struct child_spec *spec);
/*
 * Runs the loop of l until the leader exited (it is not reaped). 0, or a
 * negative errno value if poll() failed: the caller should then kill it.
 */
int child_wait(struct child *c, struct child_loop *l);
/*
 * Sends sig to everything the child started: its cgroup (SIGKILL: with
 * cgroup.kill), or its process group and every descendant a walk of the
 * process tree finds (a setsid() grandchild leaves the group, not the
 * tree). Safe until child_reap().
 */
void child_signal(struct child *c, int sig);
/* 1 while processes other than a reaped leader are left in its cgroup. */
int child_has_strays(struct child *c);
/*
 * Waits until its cgroup is empty (1) or until the monotonic time at (0);
 * a cancellation on cancel_fd (if not negative) also ends the wait (0).
 * Without a cgroup: 1 at once.
 */
int child_wait_empty(struct child *c, uint64_t at, int cancel_fd);
/* Reads what is in s now, at most max bytes, then ends it (on_data(0)). */
void child_drain(struct child_stream *s, size_t max);
/* waitpid(); c->status. Idempotent. */
void child_reap(struct child *c);
/* Kills what is left in its cgroup and removes it; closes the pidfd. 0, or
 * the cgroup's removal failure (c->cgpath names it). Reaps first. */
int child_done(struct child *c);
