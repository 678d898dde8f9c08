/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../tests/daemon_proc.h"

struct bench;

/*
 * A process the bench runs and watches (a real ginid, a floor, or an
 * incumbent) is a struct daemon_proc of the harness it shares with the
 * tests (tests/daemon_proc.h). A ginid gets NOTIFY_SOCKET pointing at a
 * socket the bench owns, as under systemd; the bench must keep draining it,
 * which every wait below does. The functions here record failures with
 * bench_fail() and return -1.
 */

/*
 * Starts the build's ginid on conf with the given plugin directories, state
 * and control socket in dir, output to dir/ginid.log. Does not wait.
 */
int proc_ginid(struct bench *b, struct daemon_proc *p, const char *dir, const char *conf,
               const char *const *plugin_dirs, size_t n_plugin_dirs);
/*
 * Starts argv (argv[0] a path), output to log, with NOTIFY_SOCKET set to a
 * datagram socket the bench binds at notify_path (for an incumbent or a
 * floor that speaks sd_notify). Does not wait.
 */
int proc_spawn_notify(struct bench *b, struct daemon_proc *p, const char *name, char *const *argv,
                      const char *log, const char *notify_path);
/* Starts argv (argv[0] a path), output to log. */
int proc_spawn(struct bench *b, struct daemon_proc *p, const char *name, char *const *argv,
               const char *log);
/*
 * Waits until a notification containing text arrives past byte offset from
 * of p->notified; *ret_ns (may be NULL) gets when it was received.
 * 0, or -1 (recorded with bench_fail) on timeout or if the process died.
 */
int proc_wait_notify(struct bench *b, struct daemon_proc *p, const char *text, size_t from,
                     int timeout_ms, uint64_t *ret_ns);
/*
 * Waits until fd is readable, draining p's notifications (p may be NULL).
 * 1 readable, 0 timeout, -1 error.
 */
int proc_wait_fd(struct daemon_proc *p, int fd, int timeout_ms);
/* Reads the notifications queued so far, without waiting. */
void proc_drain(struct daemon_proc *p);
/* Sleeps, draining p's notifications meanwhile (p may be NULL). */
void proc_sleep(struct daemon_proc *p, uint64_t usec);
/* SIGTERM, wait up to timeout_ms, then SIGKILL; reaps and frees. */
int proc_stop(struct daemon_proc *p, int timeout_ms);
/* The same; *ret_ms (may be NULL) gets the time from SIGTERM to the exit. */
int proc_stop_timed(struct daemon_proc *p, int timeout_ms, double *ret_ms);

/* proc_rss_kib(): VmRSS in KiB, or -1 (tests/daemon_proc.h). */
/* A field of /proc/PID/status ("RssFile", "Threads"; the number before any
 * unit), or -1. */
long proc_status_kib(pid_t pid, const char *field);
/* Pss from /proc/PID/smaps_rollup in KiB, or -1. */
long proc_pss_kib(pid_t pid);
/* Voluntary context switches summed over every thread, or -1. */
long long proc_voluntary_switches(pid_t pid);
/*
 * When the process's CLOCK_MONOTONIC timerfd fires next, in ns, read from
 * /proc/PID/fdinfo (the kernel's own record of the armed expiry).
 * 0, or -ENOENT if no such timerfd is armed.
 */
int proc_timerfd_due_ns(pid_t pid, uint64_t *ret_ns);

/* Reads 8-byte stamps from a FIFO opened O_RDWR|O_NONBLOCK. */
int fifo_open(const char *path);
/* Reads one stamp; 1 got one, 0 none yet, -1 error. */
int fifo_read(int fd, uint64_t *ret_ns);

/*
 * A daemon case's set-up: work_dir/NAME with two stamp FIFOs, a ginid, a
 * floor, and maybe another process (an incumbent). Torn down by rig_done().
 */
struct rig {
	char *dir;
	char *gini_fifo_path, *floor_fifo_path;
	int gini_fifo, floor_fifo;
	struct daemon_proc gini, floor, other;
};

int rig_init(struct bench *b, struct rig *g, const char *name);
void rig_done(struct rig *g);
/* Writes dir/gini.conf and starts ginid on it; waits for READY=1. */
int rig_start_gini(struct bench *b, struct rig *g, const char *conf_text,
                   const char *const *plugin_dirs, size_t n_dirs);
/*
 * Starts bench_dir/gini-floor MODE FIFO [A1 [A2]] (NULL ends the list);
 * waits for its zero stamp.
 */
int rig_start_floor(struct bench *b, struct rig *g, const char *mode, const char *a1,
                    const char *a2);

/*
 * Runs argv (argv[0] a path) with its output thrown away, waits for it;
 * *ret_ms gets how long it took. 0 if it exited 0, else -1 (recorded).
 */
int run_timed(struct bench *b, char *const *argv, double *ret_ms);
/* The same with stdout and stderr to the file out. */
int run_timed_to(struct bench *b, char *const *argv, const char *out, double *ret_ms);
