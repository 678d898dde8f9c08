/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

/*
 * As PID 1 (a container's init): forks, and only the child returns, to be
 * the daemon. The parent stays PID 1 as a minimal init that forwards every
 * signal to the daemon, reaps every process that ends up its child, and
 * exits with the daemon's status. Call before any thread exists. Does
 * nothing when not PID 1.
 */
void reaper_init_pid1(void);

/*
 * Makes the daemon a child subreaper (orphaned descendants become its
 * children, not init's), removes the empty cgroups that killed daemons
 * left, checks whether steps can get cgroups of their own below the one
 * the daemon was started in (in a pid namespace of its own, the daemon
 * first moves into a cgroup of its own there: reaper.c says why), and logs
 * one line saying which containment is in effect. Main thread, before the
 * first run.
 */
void reaper_setup(void);

/*
 * Reaps every orphan that has exited: children of the main thread, which
 * are orphans only, since the main thread reaps the few children it starts
 * itself before it returns to the loop. Never touches a child that another
 * thread waits for. Main thread only. Returns how many it reaped.
 */
size_t reaper_reap_orphans(void);

/*
 * Kills (SIGKILL) everything the daemon started and everything those
 * started: every step cgroup, then every descendant. Does not reap.
 * Returns how many processes it signalled or cgroups it killed.
 */
size_t reaper_kill_all(void);

/*
 * At exit, once no stage runs any more: orphans still running get SIGTERM,
 * and SIGKILL after grace_usec; all are reaped. Then the step cgroups still
 * there are removed. Main thread.
 */
void reaper_done(uint64_t grace_usec);
