/* SPDX-License-Identifier: MIT */
/*
 * State files (state.c): the store of persistent schedule times and the
 * start-up cleanup of stale temporaries. The owner's side of the store is
 * shown to do no I/O at all (a seccomp filter on the calling thread traps
 * fsync and rename), writes are batched, a kill -9 during a stream of writes
 * always leaves a complete file whose values never go backwards, and stale
 * "NAME.tmp.PID" files of dead processes are removed.
 */
#include "tests.h"

#include "log.h"
#include "state.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N_RECORDS 5000
#define HEADER    "# test state"

static char *dir;

static void
setup(void)
{
	dir = test_tmpdir("state");
}

static void
teardown(void)
{
	test_rmtree(dir);
	free(dir);
	dir = NULL;
}

static const char *
in_dir(const char *name)
{
	static char buf[4][4096];
	static unsigned next;
	char *b = buf[next++ % 4];

	snprintf(b, sizeof(buf[0]), "%s/%s", dir, name);
	return b;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* A PID that no process has: a child that has exited and been reaped. */
static pid_t
dead_pid(void)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	return pid;
}

/*
 * Parses a state file: every line after the header must be "NAME VALUE".
 * Returns the number of records; values[i] gets the value of "p<i>".
 */
static size_t
parse_file(const char *path, int64_t *values, size_t n_values)
{
	_cleanup_free_ char *text = NULL;
	char *line, *save = NULL;
	size_t n = 0;

	ck_assert_int_eq(read_file(path, 16 << 20, &text, NULL), 0);
	ck_assert_msg(strncmp(text, HEADER "\n", strlen(HEADER) + 1) == 0, "no header in %s", path);
	for (line = strtok_r(text + strlen(HEADER) + 1, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned idx;
		long long v;
		int end = 0;

		/* NOLINTNEXTLINE(cert-err34-c) */
		ck_assert_msg(sscanf(line, "p%u %lld%n", &idx, &v, &end) == 2 && !line[end],
		              "bad line '%s' in %s", line, path);
		ck_assert_uint_lt(idx, n_values);
		values[idx] = v;
		n++;
	}
	return n;
}

/* ---- the owner's thread does no I/O; writes are batched ---- */

#if defined(__x86_64__)
#define AUDIT_ARCH_HERE AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define AUDIT_ARCH_HERE AUDIT_ARCH_AARCH64
#endif

#ifdef AUDIT_ARCH_HERE
#define TRAP_IF(nr)                                                                                \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP)

/*
 * From here on, this thread (only: no TSYNC) gets SIGSYS, which ends the
 * test process, if it calls fsync, fdatasync, sync_file_range or any
 * rename: what writing a state file atomically takes.
 */
static void
forbid_state_writes(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_HERE, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		TRAP_IF(__NR_fsync),
		TRAP_IF(__NR_fdatasync),
		TRAP_IF(__NR_sync_file_range),
#ifdef __NR_rename
		TRAP_IF(__NR_rename),
#endif
		TRAP_IF(__NR_renameat),
		TRAP_IF(__NR_renameat2),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = ARRAY_SIZE(f), .filter = f };

	ck_assert_int_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	ck_assert_int_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0);
}

/* The loop thread's part: many sets, one of them backwards. */
static void *
owner_main(void *userdata)
{
	struct state_store *st = userdata;
	char name[32];

	forbid_state_writes();
	for (int i = 0; i < N_RECORDS; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		state_store_set(st, name, 1000 + i);
	}
	state_store_set(st, "p7", 5); /* backwards: ignored */
	return NULL;
}
#endif

START_TEST(owner_does_no_io_and_writes_are_batched)
{
#ifndef AUDIT_ARCH_HERE
	printf("skipped: no seccomp architecture constant for this machine\n");
	return;
#else
	struct state_store *st = NULL;
	static int64_t values[N_RECORDS];
	pthread_t t;
	int64_t v = 0;

	/* An hour between writes: only flush() writes in this test. */
	ck_assert_int_eq(state_store_new(in_dir("schedules"), HEADER, 3600 * USEC_PER_SEC, &st), 0);
	/* The first change starts the writer thread, which inherits the seccomp
	 * filter of the thread that makes it: make it here, outside the filter. */
	state_store_set(st, "p0", 1);
	ck_assert_int_eq(pthread_create(&t, NULL, owner_main, st), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	/* All in memory at once, nothing on disk yet. */
	ck_assert(state_store_get(st, "p4999", &v));
	ck_assert_int_eq(v, 1000 + 4999);
	ck_assert(state_store_get(st, "p7", &v));
	ck_assert_int_eq(v, 1007);
	ck_assert_uint_eq(state_store_writes(st), 0);
	ck_assert_int_eq(access(in_dir("schedules"), F_OK), -1);
	/* 5001 sets, one write. */
	ck_assert_int_eq(state_store_flush(st), 0);
	ck_assert_uint_eq(state_store_writes(st), 1);
	ck_assert_uint_eq(parse_file(in_dir("schedules"), values, N_RECORDS), N_RECORDS);
	ck_assert_int_eq(values[0], 1000);
	ck_assert_int_eq(values[7], 1007);
	ck_assert_int_eq(values[4999], 5999);
	/* A change of two records is one more write, of the whole file. */
	state_store_set(st, "p0", 2000);
	state_store_set(st, "p1", 2001);
	ck_assert_int_eq(state_store_flush(st), 0);
	ck_assert_uint_eq(state_store_writes(st), 2);
	ck_assert_uint_eq(parse_file(in_dir("schedules"), values, N_RECORDS), N_RECORDS);
	ck_assert_int_eq(values[0], 2000);
	ck_assert_int_eq(values[1], 2001);
	/* What is pending at the end is written by free(), and read back. */
	state_store_set(st, "p2", 3002);
	st = state_store_free(st);
	ck_assert_int_eq(state_store_new(in_dir("schedules"), HEADER, 3600 * USEC_PER_SEC, &st), 0);
	ck_assert(state_store_get(st, "p2", &v));
	ck_assert_int_eq(v, 3002);
	ck_assert(state_store_get(st, "p4999", &v));
	ck_assert_int_eq(v, 5999);
	ck_assert(!state_store_get(st, "p5000", &v));
	state_store_free(st);
#endif
}
END_TEST

/*
 * Lines that are not "NAME VALUE" are skipped; the damaged file is moved
 * aside with a log line, and what was good in it written out again.
 */
START_TEST(damaged_lines_are_skipped)
{
	static const char damaged[] = HEADER "\ngood 42\nno-number\nbad name 1\nneg -5\ntrail 7x\n";
	struct state_store *st = NULL;
	_cleanup_free_ char *aside = NULL, *text = NULL;
	int64_t v = 0;

	test_write_file(in_dir("schedules"), damaged, 0644);
	test_log_capture_start();
	ck_assert_int_eq(state_store_new(in_dir("schedules"), HEADER, USEC_PER_SEC, &st), 0);
	test_log_capture_stop();
	ck_assert(state_store_get(st, "good", &v));
	ck_assert_int_eq(v, 42);
	ck_assert(!state_store_get(st, "neg", &v));
	ck_assert(!state_store_get(st, "trail", &v));
	ck_assert_ptr_nonnull(
	        test_log_find("4 lines that are not \"NAME VALUE\": moved aside to "));
	ck_assert_int_eq(read_file(in_dir("schedules.corrupt"), 1 << 20, &aside, NULL), 0);
	ck_assert_str_eq(aside, damaged);
	ck_assert_int_eq(state_store_flush(st), 0);
	ck_assert_int_eq(read_file(in_dir("schedules"), 1 << 20, &text, NULL), 0);
	ck_assert_str_eq(text, HEADER "\ngood 42\n");
	state_store_free(st);
}
END_TEST

/* ---- kill -9 during a stream of writes ---- */

#define CRASH_RECORDS 2000
#define CRASH_ROUNDS  5

/* The child: raises every record by one, over and over, writing all the time. */
static void __attribute__((noreturn)) writer_child(void)
{
	struct state_store *st = NULL;
	char name[32];

	if (state_store_new(in_dir("schedules"), HEADER, 0, &st) < 0)
		_exit(2);
	for (int64_t k = 1;; k++) {
		for (int i = 0; i < CRASH_RECORDS; i++) {
			int64_t v = 0;

			snprintf(name, sizeof(name), "p%d", i);
			(void)state_store_get(st, name, &v);
			state_store_set(st, name, v + 1);
		}
		if (k == 1) {
			if (state_store_flush(st) < 0)
				_exit(3);
			test_write_file(in_dir("ready"), "", 0644);
		}
	}
}

/* Waits until path has been replaced (another inode) `times` times. */
static void
wait_replaced(const char *path, int times)
{
	struct stat st;
	ino_t last = 0;

	for (int i = 0; times > 0 && i < 20000; i++) {
		if (stat(path, &st) == 0 && st.st_ino != last) {
			last = st.st_ino;
			times--;
		}
		sleep_ms(1);
	}
	ck_assert_msg(times <= 0, "%s was not rewritten", path);
}

START_TEST(kill_9_leaves_a_complete_file)
{
	static int64_t before[CRASH_RECORDS], after[CRASH_RECORDS];
	const char *const names[] = { "schedules" };

	for (int round = 0; round < CRASH_ROUNDS; round++) {
		pid_t pid;
		int status;
		DIR *d;
		struct dirent *de;

		unlink(in_dir("ready"));
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0)
			writer_child();
		wait_replaced(in_dir("ready"), 1);
		/* A different moment of the write cycle each round. */
		wait_replaced(in_dir("schedules"), 2 + round);
		ck_assert_int_eq(kill(pid, SIGKILL), 0);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert(WIFSIGNALED(status));
		/* Complete, and nothing went backwards. */
		memset(after, 0, sizeof(after));
		ck_assert_uint_eq(parse_file(in_dir("schedules"), after, CRASH_RECORDS),
		                  CRASH_RECORDS);
		for (int i = 0; i < CRASH_RECORDS; i++)
			ck_assert_msg(after[i] >= before[i] && after[i] > 0,
			              "round %d: p%d went from %lld to %lld", round, i,
			              (long long)before[i], (long long)after[i]);
		memcpy(before, after, sizeof(before));
		/* The dead writer's temporary, if it left one, goes at start-up. */
		test_log_capture_start();
		state_clean_temporaries(dir, names, 1);
		test_log_capture_stop();
		d = opendir(dir);
		ck_assert_ptr_nonnull(d);
		while ((de = readdir(d)))
			ck_assert_msg(!strstr(de->d_name, ".tmp."), "%s left behind", de->d_name);
		closedir(d);
	}
}
END_TEST

/* ---- stale temporaries ---- */

START_TEST(stale_temporaries_removed)
{
	const char *const names[] = { "schedules", "probe-cache" };
	char dead[64], dead2[64], mine[64], live[64], other[64];
	pid_t gone = dead_pid();

	snprintf(dead, sizeof(dead), "schedules.tmp.%d", (int)gone);
	snprintf(dead2, sizeof(dead2), "probe-cache.tmp.%d", (int)gone);
	/* Left by an earlier process that had our PID (a container's PID 1). */
	snprintf(mine, sizeof(mine), "schedules.tmp.%d", (int)getpid());
	/* Another live process may be writing it right now. */
	snprintf(live, sizeof(live), "schedules.tmp.%d", (int)getppid());
	snprintf(other, sizeof(other), "history.tmp.%d", (int)gone);
	test_write_file(in_dir(dead), "partial", 0644);
	test_write_file(in_dir(dead2), "partial", 0644);
	test_write_file(in_dir(mine), "partial", 0644);
	test_write_file(in_dir(live), "partial", 0644);
	test_write_file(in_dir(other), "not ours", 0644);
	test_write_file(in_dir("schedules.tmp.12x"), "not ours", 0644);
	test_write_file(in_dir("schedules"), HEADER "\n", 0644);
	test_log_capture_start();
	state_clean_temporaries(dir, names, ARRAY_SIZE(names));
	test_log_capture_stop();
	ck_assert_int_eq(access(in_dir(dead), F_OK), -1);
	ck_assert_int_eq(access(in_dir(dead2), F_OK), -1);
	ck_assert_int_eq(access(in_dir(mine), F_OK), -1);
	ck_assert_int_eq(access(in_dir(live), F_OK), 0);
	ck_assert_int_eq(access(in_dir(other), F_OK), 0);
	ck_assert_int_eq(access(in_dir("schedules.tmp.12x"), F_OK), 0);
	ck_assert_int_eq(access(in_dir("schedules"), F_OK), 0);
	ck_assert_uint_eq(test_log_count("removed a temporary file left by an interrupted write"),
	                  3);
	ck_assert_ptr_nonnull(test_log_find(dead2));
}
END_TEST

Suite *
state_suite(void)
{
	Suite *s = suite_create("state");
	TCase *tc;

	tc = tcase_create("store");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, owner_does_no_io_and_writes_are_batched);
	tcase_add_test(tc, damaged_lines_are_skipped);
	tcase_add_test(tc, kill_9_leaves_a_complete_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("cleanup");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, stale_temporaries_removed);
	suite_add_tcase(s, tc);
	return s;
}
