/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The real-daemon harness that the tests (tests/daemon.c) and the benchmarks
 * (bench/proc.c) share: start a process the way systemd would (stdin from
 * /dev/null, stdout and stderr appended to a log, NOTIFY_SOCKET pointing at
 * a datagram socket the caller owns, no inherited journal, watchdog or
 * socket-activation variables), build ginid's command line, collect its
 * notifications, wait for one of them or for a file descriptor while still
 * draining them, stop it (SIGTERM, a grace period, SIGKILL) and reap it,
 * and read what /proc says about it.
 *
 * It depends on libc alone and fails by returning a negative errno, never by
 * asserting: each side wraps it in its own way of failing (a Check
 * assertion, a bench_fail() message). Waits block in poll(), so a time taken
 * from one is exact to the wake-up.
 *
 * The notify socket must be drained: the kernel queues only a few datagrams
 * (net.unix.max_dgram_qlen), after which the daemon's sd_notify() would
 * stall its loop. Every wait below drains it.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The fields of a watched process, as a macro so that a test's struct
 * daemon can hold them both as a struct daemon_proc and under their own
 * names (see tests/daemon.h).
 */
#define DAEMON_PROC_FIELDS                                                                         \
	pid_t pid;         /* -1 before the start */                                               \
	char *name;        /* for messages; NULL: "ginid" */                                       \
	char *log;         /* stdout and stderr, appended */                                       \
	int notify_fd;     /* -1: no notify socket */                                              \
	char *notify_path; /* where notify_fd is bound */                                          \
	char *notified;    /* every notification so far, newline-separated */                      \
	size_t notified_len;                                                                       \
	bool exited; /* reaped; status holds the wait status */                                    \
	int status;

/* One watched process; owns its strings and the notify socket. */
struct daemon_proc {
	DAEMON_PROC_FIELDS
};

/* ginid's command line, for daemon_proc_ginid_argv(). */
struct daemon_proc_args {
	const char *ginid;              /* path of the binary */
	const char *const *wrap;        /* runs ginid's command line after its own, or NULL */
	const char *conf;               /* -c */
	const char *const *plugin_dirs; /* one --plugin-dir each */
	size_t n_plugin_dirs;
	const char *state_dir;      /* --state-dir, or NULL */
	const char *control_socket; /* --control-socket, or NULL */
	const char *const *extra;   /* further arguments (NULL-terminated), or NULL */
};

#define DAEMON_PROC_ARGV_MAX 48

/* Empties p (pid -1, no socket); name and log are copied. -ENOMEM. */
int daemon_proc_init(struct daemon_proc *p, const char *name, const char *log);
/* Binds p's notify socket at path (replacing a stale one).
 * -ENAMETOOLONG if path does not fit a socket address, or -errno. */
int daemon_proc_notify_bind(struct daemon_proc *p, const char *path);
/*
 * Fills argv (DAEMON_PROC_ARGV_MAX entries) with a's command line, ending
 * with NULL. The strings are borrowed from a. -E2BIG if it does not fit.
 */
int daemon_proc_ginid_argv(const struct daemon_proc_args *a, const char **argv);
/*
 * Starts argv (argv[0] a path) with output appended to p->log, and with
 * NOTIFY_SOCKET set if p has a notify socket; extra_env (NULL-terminated,
 * may be NULL) is added to the environment. Does not wait. -errno.
 */
int daemon_proc_spawn(struct daemon_proc *p, char *const *argv, const char *const *extra_env);
/* Reads the notifications queued so far, without waiting. */
void daemon_proc_drain(struct daemon_proc *p);
/* Reaps p if it has exited; true once it has. */
bool daemon_proc_reap(struct daemon_proc *p);
/*
 * Waits until a notification containing text arrives past byte offset from
 * of p->notified; *ret_ns (may be NULL) gets when it was received
 * (CLOCK_MONOTONIC). 0; -ECHILD if p exited first; -ETIMEDOUT.
 */
int daemon_proc_wait_notify(struct daemon_proc *p, const char *text, size_t from, int timeout_ms,
                            uint64_t *ret_ns);
/* Waits until fd is readable, draining p's notifications (p may be NULL).
 * 1 readable, 0 timeout, -errno. */
int daemon_proc_wait_fd(struct daemon_proc *p, int fd, int timeout_ms);
/* Sleeps, draining p's notifications meanwhile (p may be NULL). */
void daemon_proc_sleep(struct daemon_proc *p, uint64_t usec);
/*
 * Reaps p, waiting up to timeout_ms (0: just look). true if it has exited.
 * Does not signal it.
 */
bool daemon_proc_wait_exit(struct daemon_proc *p, int timeout_ms);
/*
 * SIGTERM if still running, up to timeout_ms for the exit, then SIGKILL;
 * reaps. *ret_ms (may be NULL) gets the time from SIGTERM to the exit.
 * 0, or -ETIMEDOUT if it had to be killed. Leaves the fields for the caller
 * to read; daemon_proc_done() frees them.
 */
int daemon_proc_stop(struct daemon_proc *p, int timeout_ms, double *ret_ms);
/* Kills and reaps p if still running, closes and unlinks the notify socket,
 * frees the fields, and empties p. */
void daemon_proc_done(struct daemon_proc *p);
/* The last bytes of p's log, for a failure message (in buf). */
const char *daemon_proc_log_tail(const struct daemon_proc *p, char *buf, size_t size);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t daemon_proc_now_ns(void);
/* A numeric field of a /proc file ("\nVmRSS:"), or -1. */
long long daemon_proc_status_field(const char *path, const char *field);
/* Resident set size of a process in KiB, or -1. */
long proc_rss_kib(pid_t pid);
