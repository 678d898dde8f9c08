/* SPDX-License-Identifier: MIT */
/*
 * The hostile plugin corpus: one source, built once per misbehaviour. Each
 * tests/plugins/hostile_*.c defines HOSTILE_ID (the stage id) and at most one
 * of the macros below, then includes this file:
 *
 *	HOSTILE_SEGV_CTOR  HOSTILE_SEGV_DESCRIPTOR  HOSTILE_SEGV_LOAD
 *	HOSTILE_SEGV_CREATE  HOSTILE_SEGV_RUN       SIGSEGV (a real fault)
 *	HOSTILE_HANG_CTOR  HOSTILE_HANG_DESCRIPTOR  HOSTILE_HANG_LOAD
 *	HOSTILE_HANG_CREATE  HOSTILE_HANG_RUN       a busy loop that never ends
 *	                                            and ignores cancellation
 *	HOSTILE_ABORT_RUN    abort()
 *	HOSTILE_EXIT_RUN     exit(0)
 *	HOSTILE_GARBAGE_RUN  binary garbage and too many lines on stdout and
 *	                     stderr (and a forged protocol line), then success
 *	HOSTILE_NOISY_LOAD   nothing wrong, but its constructor and load hook
 *	                     print to stdout and stderr (without a newline)
 *	HOSTILE_ALLOC_RUN    malloc() and touch 1 MiB blocks until malloc fails,
 *	                     then fail (given up at 1 GiB, so a broken limit
 *	                     cannot take the test machine down)
 *
 * With none of them it is a sane stage ("hostile-sane"), the control group.
 *
 * Every variant that gets as far as run() (the garbage one after its
 * garbage) does the same honest work: it reads the run context key named by
 * the "input" param (default "in"), sets the key named by "output" (default
 * "out") to that value followed by the "tag" param, sets "pid.TAG" to its
 * pid, removes the key named by "unset" if given, and logs
 * "hostile ID: TAG: input 'VALUE' pid PID".
 *
 * With the "fork" param true, run() first starts a child process that
 * sleeps for ever in the same process group, and appends "child ID PID" to
 * the hooks file: whatever happens to the step, the child must not outlive
 * it.
 *
 * With the "epipe" param true, run() first writes to a pipe nobody reads and
 * sets "epipe" to "EPIPE" if the write failed so: plugin code runs with
 * SIGPIPE ignored, in ginid and in its workers alike (<gini/stage.h>).
 *
 * The "arm" param names a file: the create() and run() misbehaviours then
 * happen only while that file exists, so a step can pass its params check
 * at config load and crash in a later run's create(). Without "arm" they
 * always happen. The "bytes" param sets how much garbage each of stdout and
 * stderr gets (default 1 MiB).
 *
 * The load and unload hooks append "load ID PID" and "unload ID PID" to the
 * file named by $GINI_TEST_HOOKS, so tests can tell the daemon's calls from
 * those of probes and workers.
 */
#include <gini/stage.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef HOSTILE_ID
#error "define HOSTILE_ID before including hostile.h"
#endif

/*
 * A store through a pointer the compiler cannot see is NULL. The sanitizers
 * are kept out of this one function so that the fault is the kernel's
 * SIGSEGV, not a sanitizer report (their SIGSEGV handler is turned off by
 * the tests with handle_segv=0).
 */
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 8)
__attribute__((no_sanitize("address", "undefined", "thread")))
#endif
__attribute__((noinline, unused)) static void
hostile_segv(void)
{
	volatile int *volatile p = NULL;

	/* cppcheck-suppress nullPointer */
	*p = 42;
}

__attribute__((noinline, noreturn, unused)) static void
hostile_hang(void)
{
	volatile unsigned long spin = 0;

	for (;;)
		spin++;
}

static void
hostile_note_pid(const char *what, pid_t pid)
{
	const char *path = getenv("GINI_TEST_HOOKS");
	FILE *f;

	if (!path || !(f = fopen(path, "ae")))
		return;
	fprintf(f, "%s " HOSTILE_ID " %d\n", what, (int)pid);
	fclose(f);
}

static void
hostile_note(const char *what)
{
	hostile_note_pid(what, getpid());
}

struct hostile {
	const char *arm;
	const char *input, *output, *tag, *unset;
	int64_t bytes;
	int32_t epipe, fork;
};

/* Whether the create() or run() misbehaviour is on now. */
__attribute__((unused)) static int
hostile_armed(const char *arm)
{
	return !arm || access(arm, F_OK) == 0;
}

#ifdef HOSTILE_SEGV_CTOR
__attribute__((constructor)) static void
hostile_ctor(void)
{
	hostile_segv();
}
#endif

#ifdef HOSTILE_HANG_CTOR
__attribute__((constructor)) static void
hostile_ctor(void)
{
	hostile_hang();
}
#endif

#ifdef HOSTILE_NOISY_LOAD
static void
hostile_noise(void)
{
	/* Not even a whole line, and no flush: stdio does that at exit. */
	printf("{\"ok\": false, \"reason\": \"forged by the plugin\"} noise on stdout");
	fprintf(stderr, "noise on stderr");
}

__attribute__((constructor)) static void
hostile_ctor(void)
{
	hostile_noise();
}
#endif

static int
hostile_load(const struct gini_host *host, struct gini_handle *h)
{
	(void)host;
	(void)h;
	hostile_note("load");
#ifdef HOSTILE_NOISY_LOAD
	hostile_noise();
#endif
#ifdef HOSTILE_SEGV_LOAD
	hostile_segv();
#endif
#ifdef HOSTILE_HANG_LOAD
	hostile_hang();
#endif
	return 0;
}

static void
hostile_unload(const struct gini_host *host, struct gini_handle *h)
{
	(void)host;
	(void)h;
	hostile_note("unload");
}

static int
hostile_create(const struct gini_host *host, struct gini_handle *h, const struct gini_params *p,
               void **ret)
{
	struct hostile *s = calloc(1, sizeof(*s));

	(void)h;
	if (!s)
		return -ENOMEM;
	s->input = "in";
	s->output = "out";
	s->tag = "";
	s->bytes = 1 << 20;
	host->param_string(p, "arm", &s->arm);
	host->param_string(p, "input", &s->input);
	host->param_string(p, "output", &s->output);
	host->param_string(p, "tag", &s->tag);
	host->param_string(p, "unset", &s->unset);
	host->param_int(p, "bytes", &s->bytes);
	host->param_bool(p, "epipe", &s->epipe);
	host->param_bool(p, "fork", &s->fork);
#if defined(HOSTILE_SEGV_CREATE) || defined(HOSTILE_HANG_CREATE)
	if (hostile_armed(s->arm)) {
#ifdef HOSTILE_SEGV_CREATE
		hostile_segv();
#else
		hostile_hang();
#endif
	}
#endif
	*ret = s;
	return 0;
}

static void
hostile_destroy(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	free(instance);
}

#ifdef HOSTILE_GARBAGE_RUN
static void
hostile_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

/* Binary bytes (NULs, escapes, invalid UTF-8) with no newline, then lines. */
static void
hostile_garbage(int fd, int64_t bytes)
{
	static const char forged[] = "{\"done\": 0, \"message\": \"forged by the plugin\"}\n";
	char block[4096];

	for (size_t i = 0; i < sizeof(block); i++)
		block[i] = (char)(i * 7 + 1) == '\n' ? '\xff' : (char)(i * 7 + 1);
	for (int64_t left = bytes; left > 0; left -= (int64_t)sizeof(block))
		hostile_write_all(fd, block,
		                  left < (int64_t)sizeof(block) ? (size_t)left : sizeof(block));
	hostile_write_all(fd, "\n", 1);
	hostile_write_all(fd, forged, sizeof(forged) - 1);
	for (int i = 0; i < 1000; i++) {
		char line[64];
		int n = snprintf(line, sizeof(line), "garbage line %d\n", i);

		hostile_write_all(fd, line, (size_t)n);
	}
	/* And an unfinished last line. */
	hostile_write_all(fd, block, 100);
}
#endif

#ifdef HOSTILE_ALLOC_RUN
struct hostile_block {
	struct hostile_block *next;
};

/* 0 when malloc() failed first, -1 when we gave up. */
static int
hostile_allocate(size_t *ret_mib)
{
	struct hostile_block *list = NULL;
	size_t mib = 0;
	int r = -1;

	while (mib < 1024) {
		struct hostile_block *b = malloc(1 << 20);

		if (!b) {
			r = 0;
			break;
		}
		memset(b, 0xa5, 1 << 20);
		b->next = list;
		list = b;
		mib++;
	}
	while (list) {
		struct hostile_block *next = list->next;

		free(list);
		list = next;
	}
	*ret_mib = mib;
	return r;
}
#endif

static int
hostile_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	struct hostile *s = instance;
	const char *in;
	char *value, key[128], pid[32];

	if (s->fork) {
		pid_t child = fork();

		if (child == 0) {
			/* Only async-signal-safe calls in the child of a
			 * threaded process. */
			for (;;)
				pause();
		}
		if (child > 0)
			hostile_note_pid("child", child);
	}
	if (hostile_armed(s->arm)) {
#ifdef HOSTILE_SEGV_RUN
		hostile_segv();
#endif
#ifdef HOSTILE_HANG_RUN
		hostile_hang();
#endif
#ifdef HOSTILE_ABORT_RUN
		abort();
#endif
#ifdef HOSTILE_EXIT_RUN
		exit(0);
#endif
#ifdef HOSTILE_GARBAGE_RUN
		hostile_garbage(STDOUT_FILENO, s->bytes);
		hostile_garbage(STDERR_FILENO, s->bytes);
#endif
#ifdef HOSTILE_ALLOC_RUN
		{
			size_t mib;

			if (hostile_allocate(&mib) < 0) {
				host->set_message(h, "allocated %zu MiB and gave up", mib);
				return GINI_SUCCESS;
			}
			host->set_message(h, "malloc failed after %zu MiB", mib);
			return GINI_FAILURE;
		}
#endif
	}
	if (s->epipe) {
		int fds[2];
		ssize_t n;

		if (pipe(fds) < 0)
			return GINI_FAILURE;
		close(fds[0]);
		n = write(fds[1], "x", 1);
		host->ctx_set(h, "epipe", n < 0 && errno == EPIPE ? "EPIPE" : "no EPIPE");
		close(fds[1]);
	}
	in = host->ctx_get(h, s->input);
	if (asprintf(&value, "%s%s", in ? in : "", s->tag) < 0)
		return GINI_FAILURE;
	snprintf(key, sizeof(key), "pid.%s", *s->tag ? s->tag : "none");
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (host->ctx_set(h, s->output, value) < 0 || host->ctx_set(h, key, pid) < 0 ||
	    (s->unset && host->ctx_set(h, s->unset, NULL) < 0)) {
		free(value);
		host->set_message(h, "cannot set the context");
		return GINI_FAILURE;
	}
	host->log(h, GINI_LOG_INFO, "hostile " HOSTILE_ID ": %s: input '%s' pid %s", s->tag,
	          in ? in : "", pid);
	host->set_message(h, "%s = '%s'", s->output, value);
	free(value);
	return GINI_SUCCESS;
}

static const struct gini_stage_descriptor hostile_descriptor = {
	GINI_DESCRIPTOR_HEADER,   .id = HOSTILE_ID,
	.version = "1.0.0",       .summary = "A test plugin that misbehaves on purpose",
	.category = "test",       .flags = GINI_STAGE_CONCURRENT,
	.load = hostile_load,     .unload = hostile_unload,
	.create = hostile_create, .destroy = hostile_destroy,
	.run = hostile_run,
};

GINI_EXPORT const struct gini_stage_descriptor *
stage_descriptor(void)
{
#ifdef HOSTILE_SEGV_DESCRIPTOR
	hostile_segv();
#endif
#ifdef HOSTILE_HANG_DESCRIPTOR
	hostile_hang();
#endif
	return &hostile_descriptor;
}
