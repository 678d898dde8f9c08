/* SPDX-License-Identifier: MIT */
/*
 * The roles of the daemon's threads, as the kernel sees them. The loop
 * thread and the workers are the latency path: a trigger reaches a stage's
 * run() through them. The history writer and reader and the state writer
 * are background work that may wait: they run at a lower priority, so that
 * on a machine with few cores the scheduler lets the loop or a worker that
 * wakes up preempt them rather than wait for their time slice to end (perf
 * sched: the loop thread waited 100-140 us behind the history writer's
 * SQLite commit in about 1% of its wake-ups, bench/RESULTS.md). Each thread
 * also gets a name, which top -H, ps -L, perf and /proc show.
 */
#include "thread_role.h"

#include <errno.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

void
thread_role(const char *name, bool background)
{
	(void)prctl(PR_SET_NAME, name, 0, 0, 0);
	if (background) {
		/* The nice value is per thread on Linux (setpriority(2), NOTES). */
		id_t tid = (id_t)gettid();
		int now;

		errno = 0;
		now = getpriority(PRIO_PROCESS, tid);
		if (errno == 0 && now < 19)
			(void)setpriority(PRIO_PROCESS, tid,
			                  now + THREAD_BACKGROUND_NICE > 19
			                          ? 19
			                          : now + THREAD_BACKGROUND_NICE);
	}
}
