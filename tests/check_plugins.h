/* SPDX-License-Identifier: MIT */
/*
 * What the plugins suite's files share (check_plugins.c, and
 * check_plugins_exec.c for the exec stage): opening a bundled stage
 * through the stand-alone host, creating it, and reading what it left
 * behind. Static inline, so each file takes what it uses.
 */
#pragma once

#include "stagetest.h"
#include "tests.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The exec stage's TCase (check_plugins_exec.c). */
void plugins_exec_add_tcases(Suite *s);

static inline struct stagetest *
open_stage(const char *name)
{
	char rel[128];

	snprintf(rel, sizeof(rel), "stages/%s.so", name);
	return stagetest_open(test_build_path(rel));
}

/* Creates the instance and insists that create() read every param. */
static inline void
create_ok(struct stagetest *t)
{
	int r = stagetest_create(t);

	ck_assert_msg(r == 0, "create: %d (%s)", r,
	              stagetest_message(t) ? stagetest_message(t) : "no message");
	ck_assert_msg(!stagetest_param_unread(t), "param '%s' not read by create()",
	              stagetest_param_unread(t));
}

/* create() must refuse the params with exactly this message. */
static inline void
create_fails(struct stagetest *t, const char *message)
{
	int r = stagetest_create(t);

	ck_assert_msg(r < 0, "create accepted the params (expected: %s)", message);
	ck_assert_ptr_nonnull(stagetest_message(t));
	ck_assert_str_eq(stagetest_message(t), message);
	/* Even a refusal reads every param, or the host calls the rest unknown. */
	ck_assert_msg(!stagetest_param_unread(t), "param '%s' not read by create()",
	              stagetest_param_unread(t));
}

static inline void
assert_message(struct stagetest *t, const char *expected)
{
	ck_assert_msg(stagetest_message(t), "no message, expected '%s'", expected);
	ck_assert_str_eq(stagetest_message(t), expected);
}

static inline void
assert_message_prefix(struct stagetest *t, const char *prefix)
{
	const char *m = stagetest_message(t);

	ck_assert_msg(m && strncmp(m, prefix, strlen(prefix)) == 0,
	              "message '%s' lacks prefix '%s'", m ? m : "(none)", prefix);
}

static inline char *
path_in(const char *dir, const char *name)
{
	char *p;

	ck_assert_int_ne(asprintf(&p, "%s/%s", dir, name), -1);
	return p;
}

/* The contents of a file, malloc'ed; NULL if it cannot be read. */
static inline char *
read_text(const char *path)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t size = 0;
	FILE *mem;
	int c;

	if (!f)
		return NULL;
	mem = open_memstream(&text, &size);
	ck_assert_ptr_nonnull(mem);
	while ((c = fgetc(f)) != EOF)
		fputc(c, mem);
	fclose(mem);
	fclose(f);
	return text;
}

static inline size_t
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static inline pid_t
read_pid(const char *path)
{
	char *text = read_text(path);
	long pid;

	ck_assert_msg(text, "%s: %s", path, strerror(errno));
	pid = strtol(text, NULL, 10);
	free(text);
	ck_assert_int_gt(pid, 1);
	return (pid_t)pid;
}

static inline uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* What reap_orphan() returns when the process's own parent reaped it. */
#define REAPED_BY_PARENT (-1)

/*
 * Waits (with a hang guard) for a process that was reparented to us, the
 * subreaper, and returns its wait status; or REAPED_BY_PARENT once it is
 * gone without having become ours: a shell in `wait` may reap its child
 * when both get a group's signal and the child dies first, and only then
 * die itself, so the child never reaches us (and how it died is the
 * shell's to know).
 */
static inline int
reap_orphan(pid_t pid)
{
	uint64_t until = now_ms() + 20000;
	int status = 0;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		if (r < 0 && errno == ECHILD && kill(pid, 0) < 0 && errno == ESRCH)
			return REAPED_BY_PARENT;
		ck_assert_msg(r == 0 || errno == ECHILD, "waitpid %d: %s", (int)pid,
		              strerror(errno));
		if (now_ms() > until) {
			kill(pid, SIGKILL);
			ck_abort_msg("process %d still alive after the step was cancelled",
			             (int)pid);
		}
		usleep(10000);
	}
}

/* ---- descriptors ----------------------------------------------------------- */
