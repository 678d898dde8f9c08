/* SPDX-License-Identifier: MIT */
/*
 * The bundled stage plugins, driven through <gini/stage.h> alone by the
 * stand-alone host in stagetest.c: one TCase per plugin, plus one for what
 * every descriptor must satisfy. Tests assert outcomes (exit statuses,
 * files, modes, processes that are really gone), never timings; the only
 * time limits are generous hang guards.
 */
#include "stagetest.h"
#include "tests.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const plugin_names[] = {
	"exec", "log", "sleep", "fail", "write", "check-path", "check-command",
};

static struct stagetest *
open_stage(const char *name)
{
	char rel[128];

	snprintf(rel, sizeof(rel), "stages/%s.so", name);
	return stagetest_open(test_build_path(rel));
}

/* Creates the instance and insists that create() read every param. */
static void
create_ok(struct stagetest *t)
{
	int r = stagetest_create(t);

	ck_assert_msg(r == 0, "create: %d (%s)", r,
	              stagetest_message(t) ? stagetest_message(t) : "no message");
	ck_assert_msg(!stagetest_param_unread(t), "param '%s' not read by create()",
	              stagetest_param_unread(t));
}

/* create() must refuse the params with exactly this message. */
static void
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

static void
assert_message(struct stagetest *t, const char *expected)
{
	ck_assert_msg(stagetest_message(t), "no message, expected '%s'", expected);
	ck_assert_str_eq(stagetest_message(t), expected);
}

static void
assert_message_prefix(struct stagetest *t, const char *prefix)
{
	const char *m = stagetest_message(t);

	ck_assert_msg(m && strncmp(m, prefix, strlen(prefix)) == 0,
	              "message '%s' lacks prefix '%s'", m ? m : "(none)", prefix);
}

static char *
path_in(const char *dir, const char *name)
{
	char *p;

	ck_assert_int_ne(asprintf(&p, "%s/%s", dir, name), -1);
	return p;
}

/* The contents of a file, malloc'ed; NULL if it cannot be read. */
static char *
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

static size_t
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

static pid_t
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

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Waits (with a hang guard) for a process that was reparented to us, the
 * subreaper, and returns its wait status.
 */
static int
reap_orphan(pid_t pid)
{
	uint64_t until = now_ms() + 20000;
	int status = 0;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return status;
		ck_assert_msg(r == 0, "waitpid %d: %s", (int)pid, strerror(errno));
		if (now_ms() > until) {
			kill(pid, SIGKILL);
			ck_abort_msg("process %d still alive after the step was cancelled",
			             (int)pid);
		}
		usleep(10000);
	}
}

/* ---- descriptors ----------------------------------------------------------- */

/*
 * Names of the defined global symbols in a shared object's dynamic symbol
 * table, read from the file (64-bit ELF, as built here).
 */
static size_t
exported_symbols(const char *path, char names[][64], size_t max)
{
	char *data = NULL;
	size_t size = 0, n = 0;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	FILE *f = fopen(path, "re"), *mem;
	int c;

	ck_assert_ptr_nonnull(f);
	mem = open_memstream(&data, &size);
	while ((c = fgetc(f)) != EOF)
		fputc(c, mem);
	fclose(mem);
	fclose(f);
	ck_assert_uint_ge(size, sizeof(Elf64_Ehdr));
	eh = (const Elf64_Ehdr *)data;
	ck_assert_int_eq(memcmp(eh->e_ident, ELFMAG, SELFMAG), 0);
	ck_assert_int_eq(eh->e_ident[EI_CLASS], ELFCLASS64);
	ck_assert_uint_le(eh->e_shoff + (size_t)eh->e_shnum * sizeof(Elf64_Shdr), size);
	sh = (const Elf64_Shdr *)(data + eh->e_shoff);
	for (size_t i = 0; i < eh->e_shnum; i++) {
		const Elf64_Shdr *strtab;
		const Elf64_Sym *syms;

		if (sh[i].sh_type != SHT_DYNSYM)
			continue;
		ck_assert_uint_lt(sh[i].sh_link, eh->e_shnum);
		strtab = &sh[sh[i].sh_link];
		syms = (const Elf64_Sym *)(data + sh[i].sh_offset);
		for (size_t j = 0; j < sh[i].sh_size / sizeof(Elf64_Sym); j++) {
			unsigned bind = ELF64_ST_BIND(syms[j].st_info);

			if (syms[j].st_shndx == SHN_UNDEF ||
			    (bind != STB_GLOBAL && bind != STB_WEAK))
				continue;
			ck_assert_uint_lt(n, max);
			snprintf(names[n++], 64, "%s", data + strtab->sh_offset + syms[j].st_name);
		}
	}
	free(data);
	return n;
}

START_TEST(test_descriptor)
{
	static const struct {
		const char *category;
		uint32_t flags;
	} expected[] = {
		{ "exec", GINI_STAGE_DRY_RUN | GINI_STAGE_CONCURRENT },
		{ "notify", GINI_STAGE_DRY_RUN | GINI_STAGE_CONCURRENT },
		{ "util", GINI_STAGE_DRY_RUN | GINI_STAGE_CONCURRENT },
		{ "test", GINI_STAGE_DRY_RUN | GINI_STAGE_CONCURRENT },
		{ "io", GINI_STAGE_DRY_RUN },
		{ "check", GINI_STAGE_DRY_RUN | GINI_STAGE_CONCURRENT },
		{ "check", GINI_STAGE_DRY_RUN | GINI_STAGE_CONCURRENT },
	};
	const char *name = plugin_names[_i];
	struct stagetest *t = open_stage(name);
	const struct gini_stage_descriptor *d = stagetest_descriptor(t);
	char rel[128], symbols[16][64];
	unsigned major, minor, patch;
	size_t n;

	ck_assert_str_eq(d->id, name);
	ck_assert_str_eq(d->category, expected[_i].category);
	ck_assert_uint_eq(d->flags, expected[_i].flags);
	/* NOLINTNEXTLINE(cert-err34-c): a mismatch fails the assertion anyway. */
	ck_assert_int_eq(sscanf(d->version, "%u.%u.%u", &major, &minor, &patch), 3);
	ck_assert_ptr_nonnull(d->summary);
	ck_assert_uint_gt(strlen(d->summary), 0);
	ck_assert_uint_le(strlen(d->summary), 200);
	ck_assert_ptr_null(strchr(d->summary, '\n'));
	ck_assert_ptr_nonnull(d->destroy);
	ck_assert_ptr_nonnull(d->describe);
	ck_assert_ptr_null(d->requires_ids);

	/* -fvisibility=hidden: the entry point is all a plugin exports. */
	snprintf(rel, sizeof(rel), "stages/%s.so", name);
	n = exported_symbols(test_build_path(rel), symbols, 16);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(symbols[0], "stage_descriptor");
	stagetest_close(t);
}
END_TEST

/* ---- exec ------------------------------------------------------------------ */

static struct stagetest *
exec_shell(const char *command, const char *capture)
{
	struct stagetest *t = open_stage("exec");

	stagetest_param_string(t, "shell", command);
	if (capture)
		stagetest_param_string(t, "capture", capture);
	create_ok(t);
	return t;
}

START_TEST(test_exec_success)
{
	struct stagetest *t = open_stage("exec");

	stagetest_param_strv(t, "argv", "/bin/true", NULL);
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_uint_eq(stagetest_log_count(t, -1, NULL), 0);
	stagetest_close(t);
}
END_TEST

START_TEST(test_exec_exit_status)
{
	struct stagetest *t = open_stage("exec");

	stagetest_param_strv(t, "argv", "/bin/sh", "-c", "exit 3", NULL);
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	assert_message(t, "exit status 3");
	stagetest_close(t);
}
END_TEST

START_TEST(test_exec_signal)
{
	char *dir = test_tmpdir("exec-signal");
	struct stagetest *t = open_stage("exec");

	/* No core file: this is about the name of the signal. */
	stagetest_param_string(t, "shell", "ulimit -c 0; kill -SEGV $$");
	stagetest_param_string(t, "cwd", dir);
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	assert_message(t, "killed by signal SIGSEGV");
	stagetest_close(t);

	t = exec_shell("kill -USR1 $$", NULL);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	assert_message(t, "killed by signal SIGUSR1");
	stagetest_close(t);
	test_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_exec_missing_binary)
{
	char *dir = test_tmpdir("exec-missing");
	char *plain = path_in(dir, "plain");
	char expected[PATH_MAX + 64];
	struct stagetest *t = open_stage("exec");

	stagetest_param_strv(t, "argv", "/no/such", "arg", NULL);
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	assert_message(t, "/no/such: No such file or directory");

	stagetest_param_strv(t, "argv", "gini-no-such-command", NULL);
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	assert_message(t, "gini-no-such-command: not found in PATH");

	test_write_file(plain, "#!/bin/sh\n", 0644);
	stagetest_param_strv(t, "argv", plain, NULL);
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	snprintf(expected, sizeof(expected), "%s: not executable (mode 0644)", plain);
	assert_message(t, expected);
	stagetest_close(t);
	test_rmtree(dir);
	free(plain);
	free(dir);
}
END_TEST

START_TEST(test_exec_output_logged)
{
	struct stagetest *t =
	        exec_shell("echo hello; echo; echo oops >&2; printf 'no newline'", NULL);

	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_str_eq(stagetest_log_find(t, GINI_LOG_INFO, "hello"), "hello");
	ck_assert_str_eq(stagetest_log_find(t, GINI_LOG_INFO, "no newline"), "no newline");
	ck_assert_str_eq(stagetest_log_find(t, GINI_LOG_WARNING, "oops"), "oops");
	ck_assert_uint_eq(stagetest_log_count(t, GINI_LOG_INFO, "oops"), 0);
	/* Empty lines are not worth a log line. */
	ck_assert_uint_eq(stagetest_log_count(t, -1, NULL), 3);
	stagetest_close(t);
}
END_TEST

START_TEST(test_exec_long_line)
{
	struct stagetest *t =
	        exec_shell("head -c 100000 /dev/zero | tr '\\0' x; echo; echo next", NULL);
	const char *line;

	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	line = stagetest_log_find(t, GINI_LOG_INFO, "xxx");
	ck_assert_ptr_nonnull(line);
	ck_assert_uint_le(strlen(line), 4096 + 32);
	ck_assert_ptr_nonnull(strstr(line, "[line truncated]"));
	ck_assert_uint_eq(stagetest_log_count(t, GINI_LOG_INFO, "xxx"), 1);
	ck_assert_str_eq(stagetest_log_find(t, GINI_LOG_INFO, "next"), "next");
	stagetest_close(t);
}
END_TEST

START_TEST(test_exec_env)
{
	struct stagetest *t = open_stage("exec");

	setenv("GINI_TEST_INHERITED", "original", 1);
	setenv("GINI_TEST_KEPT", "kept", 1);
	stagetest_param_string(t, "shell",
	                       "printf '%s|%s|%s' \"$GINI_TEST_A\" \"$GINI_TEST_INHERITED\" "
	                       "\"$GINI_TEST_KEPT\"");
	stagetest_param_strv(t, "env", "GINI_TEST_A=from param", "GINI_TEST_INHERITED=overridden",
	                     "GINI_TEST_A=last wins", NULL);
	stagetest_param_string(t, "capture", "out");
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_str_eq(stagetest_ctx_get(t, "out"), "last wins|overridden|kept");
	stagetest_close(t);
}
END_TEST

START_TEST(test_exec_ctx_env)
{
	struct stagetest *t;
	char *big;

	/* A value inherited from the daemon's own environment is not passed on. */
	setenv("GINI_CTX_STALE", "stale", 1);
	t = exec_shell("printf '%s|%s|%s|%s' \"$GINI_CTX_RUN_ID\" \"$GINI_CTX_MY_KEY\" "
	               "\"$GINI_CTX_X_Y\" \"${GINI_CTX_STALE-unset}\"",
	               "out");
	stagetest_ctx_set(t, "run.id", "42");
	stagetest_ctx_set(t, "my-key", "two words");
	stagetest_ctx_set(t, "x_Y", "mixed");
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_str_eq(stagetest_ctx_get(t, "out"), "42|two words|mixed|unset");
	stagetest_close(t);

	/* A value too large for the environment is left out, not an exec failure. */
	big = malloc(200001);
	ck_assert_ptr_nonnull(big);
	memset(big, 'b', 200000);
	big[200000] = 0;
	t = exec_shell("printf '%s|%s' \"${GINI_CTX_BIG-unset}\" \"$GINI_CTX_SMALL\"", "out");
	stagetest_ctx_set(t, "big", big);
	stagetest_ctx_set(t, "small", "s");
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_str_eq(stagetest_ctx_get(t, "out"), "unset|s");
	ck_assert_str_eq(stagetest_log_find(t, GINI_LOG_DEBUG, "not exported"),
	                 "context values too large for the environment, not exported: "
	                 "'big' (200000 bytes)");
	stagetest_close(t);
	free(big);
}
END_TEST

START_TEST(test_exec_cwd)
{
	char *dir = test_tmpdir("exec-cwd");
	char *script = path_in(dir, "hello.sh");
	char *missing = path_in(dir, "nope");
	char real[PATH_MAX], expected[PATH_MAX + 64];
	struct stagetest *t = open_stage("exec");

	ck_assert_ptr_nonnull(realpath(dir, real));
	stagetest_param_strv(t, "argv", "/bin/pwd", "-P", NULL);
	stagetest_param_string(t, "cwd", dir);
	stagetest_param_string(t, "capture", "out");
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_str_eq(stagetest_ctx_get(t, "out"), real);

	/* A relative program path is relative to cwd. */
	test_write_file(script, "#!/bin/sh\necho from script\n", 0755);
	stagetest_param_strv(t, "argv", "./hello.sh", NULL);
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_str_eq(stagetest_ctx_get(t, "out"), "from script");
	ck_assert_int_eq(stagetest_check(t), GINI_SUCCESS);

	stagetest_param_string(t, "cwd", missing);
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	snprintf(expected, sizeof(expected), "cwd %s: No such file or directory", missing);
	assert_message(t, expected);
	ck_assert_int_eq(stagetest_check(t), GINI_FAILURE);
	assert_message(t, expected);
	stagetest_close(t);
	test_rmtree(dir);
	free(missing);
	free(script);
	free(dir);
}
END_TEST

START_TEST(test_exec_stdin)
{
	struct stagetest *t = open_stage("exec");
	size_t big_len = 300000;
	char *big = malloc(big_len + 1);

	stagetest_param_strv(t, "argv", "cat", NULL);
	stagetest_param_string(t, "stdin_key", "in");
	stagetest_param_string(t, "capture", "out");
	create_ok(t);
	stagetest_ctx_set(t, "in", "line1\nline2");
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_str_eq(stagetest_ctx_get(t, "out"), "line1\nline2");

	/* More than a pipe holds: stdin and stdout must flow at once. */
	ck_assert_ptr_nonnull(big);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (char)('a' + i % 26);
	big[big_len] = 0;
	stagetest_ctx_set(t, "in", big);
	ck_assert_msg(stagetest_run(t) == GINI_SUCCESS, "run: %s", stagetest_message(t));
	ck_assert_str_eq(stagetest_ctx_get(t, "out"), big);

	/* An unset key is an empty stdin. */
	stagetest_ctx_set(t, "in", NULL);
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_str_eq(stagetest_ctx_get(t, "out"), "");
	stagetest_close(t);

	/* A child that never reads its stdin is not an error. */
	t = open_stage("exec");
	stagetest_param_strv(t, "argv", "/bin/true", NULL);
	stagetest_param_string(t, "stdin_key", "in");
	create_ok(t);
	stagetest_ctx_set(t, "in", big);
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	stagetest_close(t);
	free(big);
}
END_TEST

START_TEST(test_exec_stdin_default)
{
	/* Without stdin_key the child reads /dev/null, never the daemon's stdin. */
	struct stagetest *t = exec_shell("readlink /proc/self/fd/0", "out");

	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_str_eq(stagetest_ctx_get(t, "out"), "/dev/null");
	stagetest_close(t);
}
END_TEST

START_TEST(test_exec_no_fd_leak)
{
	struct stagetest *t = open_stage("exec");
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	/* Even a descriptor someone opened without O_CLOEXEC stays out. */
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(dup2(fd, 100), 100);
	stagetest_param_strv(t, "argv", "/bin/ls", "/proc/self/fd", NULL);
	stagetest_param_string(t, "capture", "out");
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	/* 0, 1, 2, and the one ls opened to read the directory. */
	ck_assert_str_eq(stagetest_ctx_get(t, "out"), "0\n1\n2\n3");
	close(100);
	close(fd);
	stagetest_close(t);
}
END_TEST

START_TEST(test_exec_child_state)
{
	struct stagetest *t;
	char *text, expected[64];
	unsigned long long blocked, ignored;
	int pid, pgid;

	/*
	 * The worker thread blocks every signal and the daemon may ignore
	 * some: the child must start with neither.
	 */
	signal(SIGUSR2, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	t = open_stage("exec");
	stagetest_param_strv(t, "argv", "grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status", NULL);
	stagetest_param_string(t, "capture", "out");
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	/* NOLINTNEXTLINE(cert-err34-c): a mismatch fails the assertion anyway. */
	ck_assert_int_eq(sscanf(stagetest_ctx_get(t, "out"), "SigBlk: %llx SigIgn: %llx", &blocked,
	                        &ignored),
	                 2);
	ck_assert_uint_eq(blocked, 0);
	/*
	 * Signals 1 to 31 are all at their default. glibc's posix_spawn()
	 * sets its two internal signals (32 and 33, below SIGRTMIN) to
	 * SIG_IGN in every child, and POSIX_SPAWN_SETSIGDEF cannot name them.
	 */
	ck_assert_uint_eq(ignored & 0x7fffffffULL, 0);
	stagetest_close(t);

	/* It leads a process group of its own. */
	t = exec_shell("echo $$ $(cut -d' ' -f5 /proc/$$/stat)", "out");
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	text = strdup(stagetest_ctx_get(t, "out"));
	/* NOLINTNEXTLINE(cert-err34-c): a mismatch fails the assertion anyway. */
	ck_assert_int_eq(sscanf(text, "%d %d", &pid, &pgid), 2);
	ck_assert_int_eq(pid, pgid);
	ck_assert_int_ne(pgid, getpgrp());
	snprintf(expected, sizeof(expected), "%d %d", pid, pid);
	ck_assert_str_eq(text, expected);
	free(text);
	stagetest_close(t);
}
END_TEST

START_TEST(test_exec_capture)
{
	struct stagetest *t = exec_shell("printf 'a\\nb\\n\\n'", "out");
	size_t n;

	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_str_eq(stagetest_ctx_get(t, "out"), "a\nb");
	/* Captured output is not logged too. */
	ck_assert_uint_eq(stagetest_log_count(t, -1, NULL), 0);
	stagetest_close(t);

	/* Output is kept when the program fails: it may say why. */
	t = exec_shell("echo partial; echo why >&2; exit 2", "out");
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	assert_message(t, "exit status 2");
	ck_assert_str_eq(stagetest_ctx_get(t, "out"), "partial");
	ck_assert_str_eq(stagetest_log_find(t, GINI_LOG_WARNING, NULL), "why");
	stagetest_close(t);

	/* Exactly 1 MiB is allowed... */
	t = exec_shell("head -c 1048576 /dev/zero | tr '\\0' a", "out");
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	n = strlen(stagetest_ctx_get(t, "out"));
	ck_assert_uint_eq(n, 1048576);
	stagetest_close(t);

	/* ...one byte more is not. */
	t = exec_shell("head -c 1048577 /dev/zero | tr '\\0' a", "out");
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	assert_message(t, "capture 'out': output exceeds 1 MiB");
	ck_assert_ptr_null(stagetest_ctx_get(t, "out"));
	stagetest_close(t);

	t = exec_shell("printf 'a\\000b'", "out");
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	assert_message(t, "capture 'out': output contains a NUL byte");
	stagetest_close(t);
}
END_TEST

/*
 * The shell writes its pid and its background child's pid, then a file the
 * canceller waits for, so the cancellation comes when both exist.
 */
static const char cancel_script[] = "sleep 60 & echo $! > bg.pid; echo $$ > sh.pid; "
                                    "touch ready; wait";

START_TEST(test_exec_cancel)
{
	char *dir = test_tmpdir("exec-cancel");
	char *ready = path_in(dir, "ready"), *sh_pid = path_in(dir, "sh.pid");
	char *bg_pid = path_in(dir, "bg.pid");
	struct stagetest *t = open_stage("exec");
	pid_t sh, bg;
	int status;

	/* Orphans come to us, so we can see how the background child died. */
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	stagetest_param_string(t, "shell", cancel_script);
	stagetest_param_string(t, "cwd", dir);
	create_ok(t);
	stagetest_cancel_when_exists(t, ready);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	assert_message(t, "cancelled: killed with SIGTERM");

	sh = read_pid(sh_pid);
	bg = read_pid(bg_pid);
	/* The shell was reaped by the stage, not left a zombie. */
	ck_assert_int_eq(kill(sh, 0), -1);
	ck_assert_int_eq(errno, ESRCH);
	/* Its background child, in the same process group, was killed too. */
	status = reap_orphan(bg);
	ck_assert(WIFSIGNALED(status));
	ck_assert(WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGKILL);
	ck_assert_int_eq(kill(bg, 0), -1);
	ck_assert_int_eq(errno, ESRCH);
	stagetest_close(t);
	test_rmtree(dir);
	free(bg_pid);
	free(sh_pid);
	free(ready);
	free(dir);
}
END_TEST

START_TEST(test_exec_cancel_escalates)
{
	char *dir = test_tmpdir("exec-kill");
	char *ready = path_in(dir, "ready"), *sh_pid = path_in(dir, "sh.pid");
	char *bg_pid = path_in(dir, "bg.pid"), *script;
	struct stagetest *t = open_stage("exec");
	int status;

	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	/* SIGTERM ignored by the shell and (inherited) by its child. */
	ck_assert_int_ne(asprintf(&script, "trap '' TERM; %s", cancel_script), -1);
	stagetest_param_string(t, "shell", script);
	stagetest_param_string(t, "cwd", dir);
	stagetest_param_duration(t, "kill_grace", "200ms");
	create_ok(t);
	stagetest_cancel_when_exists(t, ready);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	assert_message(t, "cancelled: killed with SIGKILL after 200ms grace");
	ck_assert_int_eq(kill(read_pid(sh_pid), 0), -1);
	ck_assert_int_eq(errno, ESRCH);
	status = reap_orphan(read_pid(bg_pid));
	ck_assert(WIFSIGNALED(status));
	ck_assert_int_eq(WTERMSIG(status), SIGKILL);
	stagetest_close(t);
	test_rmtree(dir);
	free(script);
	free(bg_pid);
	free(sh_pid);
	free(ready);
	free(dir);
}
END_TEST

START_TEST(test_exec_cancel_graceful)
{
	char *dir = test_tmpdir("exec-graceful");
	char *ready = path_in(dir, "ready");
	struct stagetest *t = open_stage("exec");

	/* The sleep dies of the SIGTERM, then the shell's trap exits 7. */
	stagetest_param_string(t, "shell",
	                       "trap 'exit 7' TERM; touch ready; while :; do sleep 1; done");
	stagetest_param_string(t, "cwd", dir);
	create_ok(t);
	stagetest_cancel_when_exists(t, ready);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	assert_message(t, "cancelled: exited with status 7 after SIGTERM");
	stagetest_close(t);
	test_rmtree(dir);
	free(ready);
	free(dir);
}
END_TEST

START_TEST(test_exec_describe)
{
	struct stagetest *t = open_stage("exec");

	stagetest_param_strv(t, "argv", "/usr/bin/foo", "arg with space", "it's", "", "plain-1.0",
	                     NULL);
	create_ok(t);
	ck_assert_int_eq(stagetest_describe(t), 0);
	assert_message(t, "would run: /usr/bin/foo 'arg with space' 'it'\\''s' '' plain-1.0");
	stagetest_close(t);

	t = open_stage("exec");
	stagetest_param_string(t, "shell", "echo $HOME");
	stagetest_param_string(t, "cwd", "/srv/my data");
	stagetest_param_string(t, "stdin_key", "in");
	stagetest_param_string(t, "capture", "out");
	create_ok(t);
	ck_assert_int_eq(stagetest_describe(t), 0);
	assert_message(t,
	               "would run: /bin/sh -c 'echo $HOME' (cwd '/srv/my data', stdin from 'in', "
	               "stdout into 'out')");
	/* Describing has no side effects. */
	ck_assert_ptr_null(stagetest_ctx_get(t, "out"));
	stagetest_close(t);
}
END_TEST

START_TEST(test_exec_check)
{
	char *dir = test_tmpdir("exec-check");
	char *tool = path_in(dir, "mytool");
	char *path_env, expected[PATH_MAX + 64];
	struct stagetest *t = open_stage("exec");

	stagetest_param_strv(t, "argv", "sh", "-c", "exit 1", NULL);
	create_ok(t);
	ck_assert_int_eq(stagetest_check(t), GINI_SUCCESS);
	assert_message_prefix(t, "found /");

	stagetest_param_strv(t, "argv", "/no/such", NULL);
	create_ok(t);
	ck_assert_int_eq(stagetest_check(t), GINI_FAILURE);
	assert_message(t, "/no/such: No such file or directory");

	stagetest_param_strv(t, "argv", "gini-no-such-command", NULL);
	create_ok(t);
	ck_assert_int_eq(stagetest_check(t), GINI_FAILURE);
	assert_message(t, "gini-no-such-command: not found in PATH");

	/* The PATH the child gets is the one searched. */
	test_write_file(tool, "#!/bin/sh\necho tool ran\n", 0755);
	ck_assert_int_ne(asprintf(&path_env, "PATH=%s", dir), -1);
	stagetest_param_strv(t, "argv", "mytool", NULL);
	stagetest_param_strv(t, "env", path_env, NULL);
	create_ok(t);
	ck_assert_int_eq(stagetest_check(t), GINI_SUCCESS);
	snprintf(expected, sizeof(expected), "found %s", tool);
	assert_message(t, expected);
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_str_eq(stagetest_log_find(t, GINI_LOG_INFO, NULL), "tool ran");
	stagetest_close(t);
	test_rmtree(dir);
	free(path_env);
	free(tool);
	free(dir);
}
END_TEST

START_TEST(test_exec_params)
{
	struct stagetest *t = open_stage("exec");

	create_fails(t, "params 'argv' and 'shell': one of them is required");

	stagetest_param_strv(t, "argv", "/bin/true", NULL);
	stagetest_param_string(t, "shell", "true");
	create_fails(t, "params 'argv' and 'shell': give one of them, not both");
	stagetest_close(t);

	t = open_stage("exec");
	stagetest_param_strv(t, "argv", NULL);
	create_fails(t, "param 'argv': must not be empty");
	stagetest_param_strv(t, "argv", "", "x", NULL);
	create_fails(t, "param 'argv': the program name (first entry) is empty");
	/* The host's message for a param of the wrong type. */
	stagetest_param_string(t, "argv", "/bin/true");
	create_fails(t, "param 'argv': expected list of strings, got string");
	stagetest_close(t);

	t = open_stage("exec");
	stagetest_param_string(t, "shell", "");
	create_fails(t, "param 'shell': must not be empty");
	stagetest_param_string(t, "shell", "true");
	stagetest_param_strv(t, "env", "A=1", "NOEQUALS", NULL);
	create_fails(t, "param 'env': entry 2, 'NOEQUALS', is not NAME=VALUE");
	stagetest_param_strv(t, "env", "=value", NULL);
	create_fails(t, "param 'env': entry 1, '=value', is not NAME=VALUE");
	stagetest_param_strv(t, "env", "EMPTY=", NULL);
	create_ok(t);
	stagetest_param_string(t, "cwd", "relative/dir");
	create_fails(t, "param 'cwd': 'relative/dir' is not an absolute path");
	stagetest_param_string(t, "cwd", "/");
	stagetest_param_string(t, "capture", "not a key");
	create_fails(t, "param 'capture': 'not a key' is not a valid context key "
	                "(1 to 64 of A-Z a-z 0-9 _ . -)");
	stagetest_param_string(t, "capture", "out");
	stagetest_param_string(t, "stdin_key", "");
	create_fails(t, "param 'stdin_key': '' is not a valid context key "
	                "(1 to 64 of A-Z a-z 0-9 _ . -)");
	stagetest_param_string(t, "stdin_key", "in");
	stagetest_param_duration(t, "kill_grace", "soon");
	create_fails(t, "param 'kill_grace': 'soon' is not a duration (like 500ms, 30s, 5m, 2h)");
	stagetest_param_duration(t, "kill_grace", "2h");
	create_fails(t, "param 'kill_grace': must be at most 1h");
	stagetest_param_int(t, "kill_grace", 10);
	create_ok(t);
	stagetest_close(t);
}
END_TEST

/* ---- log ------------------------------------------------------------------- */

START_TEST(test_log_substitution)
{
	struct stagetest *t = open_stage("log");

	stagetest_param_string(t, "message",
	                       "hello ${name}, $$HOME costs $5 [${unset}] ${run.id}$");
	create_ok(t);
	stagetest_ctx_set(t, "name", "world");
	stagetest_ctx_set(t, "run.id", "r-7");
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_uint_eq(stagetest_log_count(t, -1, NULL), 1);
	ck_assert_str_eq(stagetest_log_find(t, GINI_LOG_INFO, NULL),
	                 "hello world, $HOME costs $5 [] r-7$");

	ck_assert_int_eq(stagetest_describe(t), 0);
	assert_message(t, "would log at info: hello world, $HOME costs $5 [] r-7$");
	ck_assert_uint_eq(stagetest_log_count(t, -1, NULL), 1);
	stagetest_close(t);
}
END_TEST

START_TEST(test_log_levels)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
		{ "error", GINI_LOG_ERR },     { "warning", GINI_LOG_WARNING },
		{ "notice", GINI_LOG_NOTICE }, { "info", GINI_LOG_INFO },
		{ "debug", GINI_LOG_DEBUG },
	};
	struct stagetest *t = open_stage("log");

	stagetest_param_string(t, "message", "m");
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		stagetest_log_clear(t);
		stagetest_param_string(t, "level", levels[i].name);
		create_ok(t);
		ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
		ck_assert_uint_eq(stagetest_log_count(t, levels[i].level, "m"), 1);
		ck_assert_uint_eq(stagetest_log_count(t, -1, NULL), 1);
	}
	stagetest_close(t);
}
END_TEST

START_TEST(test_log_params)
{
	struct stagetest *t = open_stage("log");

	create_fails(t, "param 'message': is required");
	stagetest_param_string(t, "message", "x");
	stagetest_param_string(t, "level", "loud");
	create_fails(t, "param 'level': 'loud' is not one of error, warning, notice, info, debug");
	stagetest_param_string(t, "level", "info");
	stagetest_param_string(t, "message", "tail ${unterminated");
	create_fails(t, "param 'message': unterminated '${' at offset 5");
	stagetest_param_string(t, "message", "${a b}");
	create_fails(t, "param 'message': '${a b}' at offset 0: not a valid context key "
	                "(1 to 64 of A-Z a-z 0-9 _ . -)");
	stagetest_param_string(t, "message", "${}");
	create_fails(t, "param 'message': '${}' at offset 0: not a valid context key "
	                "(1 to 64 of A-Z a-z 0-9 _ . -)");
	stagetest_param_int(t, "message", 3);
	create_fails(t, "param 'message': expected string, got integer");
	stagetest_close(t);
}
END_TEST

/* ---- sleep ----------------------------------------------------------------- */

START_TEST(test_sleep_done)
{
	struct stagetest *t = open_stage("sleep");

	stagetest_param_duration(t, "duration", "10ms");
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	ck_assert_int_eq(stagetest_describe(t), 0);
	assert_message(t, "would sleep 10ms");
	stagetest_param_duration(t, "duration", "90s");
	create_ok(t);
	ck_assert_int_eq(stagetest_describe(t), 0);
	assert_message(t, "would sleep 1m30s");
	/* A bare integer is seconds. */
	stagetest_param_int(t, "duration", 7200);
	create_ok(t);
	ck_assert_int_eq(stagetest_describe(t), 0);
	assert_message(t, "would sleep 2h");
	stagetest_close(t);
}
END_TEST

START_TEST(test_sleep_cancelled)
{
	struct stagetest *t = open_stage("sleep");
	uint64_t start;

	stagetest_param_duration(t, "duration", "1h");
	create_ok(t);
	stagetest_cancel_after(t, 50);
	start = now_ms();
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	/* Hang guard only: an hour's sleep ended by the cancellation. */
	ck_assert_uint_lt(now_ms() - start, 30000);
	assert_message_prefix(t, "cancelled after ");
	ck_assert_ptr_nonnull(strstr(stagetest_message(t), "ms of 1h"));
	stagetest_close(t);
}
END_TEST

START_TEST(test_sleep_params)
{
	struct stagetest *t = open_stage("sleep");

	create_fails(t, "param 'duration': is required");
	stagetest_param_duration(t, "duration", "forever");
	create_fails(t, "param 'duration': 'forever' is not a duration (like 500ms, 30s, 5m, 2h)");
	stagetest_param_bool(t, "duration", 1);
	create_fails(t, "param 'duration': expected duration, got boolean");
	stagetest_close(t);
}
END_TEST

/* ---- fail ------------------------------------------------------------------ */

START_TEST(test_fail_results)
{
	struct stagetest *t = open_stage("fail");

	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	assert_message(t, "failed as configured");
	ck_assert_int_eq(stagetest_describe(t), 0);
	assert_message(t, "would fail: failed as configured");

	stagetest_param_string(t, "result", "skip");
	stagetest_param_string(t, "message", "not on ${host}");
	create_ok(t);
	stagetest_ctx_set(t, "host", "db1");
	ck_assert_int_eq(stagetest_run(t), GINI_SKIPPED);
	assert_message(t, "not on db1");
	ck_assert_int_eq(stagetest_describe(t), 0);
	assert_message(t, "would skip: not on db1");

	stagetest_param_string(t, "result", "fail");
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	assert_message(t, "not on db1");
	stagetest_close(t);
}
END_TEST

START_TEST(test_fail_params)
{
	struct stagetest *t = open_stage("fail");

	stagetest_param_string(t, "result", "maybe");
	create_fails(t, "param 'result': 'maybe' is not one of fail, skip");
	stagetest_param_string(t, "result", "skip");
	stagetest_param_strv(t, "message", "a", NULL);
	create_fails(t, "param 'message': expected string, got list of strings");
	stagetest_close(t);
}
END_TEST

/* ---- write ----------------------------------------------------------------- */

START_TEST(test_write_atomic)
{
	char *dir = test_tmpdir("write");
	char *path = path_in(dir, "out.conf"), *text, expected[PATH_MAX + 64];
	struct stagetest *t = open_stage("write");
	struct stat st;

	stagetest_param_string(t, "path", path);
	stagetest_param_string(t, "template", "name=${name}\nhome=$$HOME\n");
	stagetest_param_string(t, "mode", "0640");
	create_ok(t);
	stagetest_ctx_set(t, "name", "gini");

	ck_assert_int_eq(stagetest_describe(t), 0);
	snprintf(expected, sizeof(expected), "would write 21 bytes to %s", path);
	assert_message(t, expected);
	ck_assert_int_eq(access(path, F_OK), -1);

	/* The mode is exact, whatever the umask. */
	umask(0077);
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	snprintf(expected, sizeof(expected), "wrote 21 bytes to %s", path);
	assert_message(t, expected);
	text = read_text(path);
	ck_assert_str_eq(text, "name=gini\nhome=$HOME\n");
	free(text);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
	ck_assert(S_ISREG(st.st_mode));
	/* No temporary file left behind. */
	ck_assert_uint_eq(count_entries(dir), 1);
	stagetest_close(t);
	test_rmtree(dir);
	free(path);
	free(dir);
}
END_TEST

START_TEST(test_write_replaces)
{
	char *dir = test_tmpdir("write-replace");
	char *path = path_in(dir, "data"), *old_name = path_in(dir, "old-link"), *text;
	struct stagetest *t = open_stage("write");
	struct stat st;

	test_write_file(path, "old contents\n", 0600);
	/* A second name for the old inode shows it was replaced, not rewritten. */
	ck_assert_int_eq(link(path, old_name), 0);
	stagetest_param_string(t, "path", path);
	stagetest_param_string(t, "template", "new");
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	text = read_text(path);
	ck_assert_str_eq(text, "new");
	free(text);
	text = read_text(old_name);
	ck_assert_str_eq(text, "old contents\n");
	free(text);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	ck_assert_uint_eq(count_entries(dir), 2);
	stagetest_close(t);
	test_rmtree(dir);
	free(old_name);
	free(path);
	free(dir);
}
END_TEST

START_TEST(test_write_failures)
{
	char *dir = test_tmpdir("write-fail");
	char *sub = path_in(dir, "sub"), *inside = path_in(dir, "missing/file");
	char expected[PATH_MAX + 128];
	struct stagetest *t = open_stage("write");
	struct stat st;

	/* The rename fails (a directory is in the way): nothing may be left. */
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	stagetest_param_string(t, "path", sub);
	stagetest_param_string(t, "template", "x");
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	snprintf(expected, sizeof(expected),
	         "%s: rename of the temporary file failed: Is a directory", sub);
	assert_message(t, expected);
	ck_assert_uint_eq(count_entries(dir), 1);
	ck_assert_int_eq(stat(sub, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));

	stagetest_param_string(t, "path", inside);
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	snprintf(expected, sizeof(expected),
	         "%s: cannot create a temporary file: No such file or directory", inside);
	assert_message(t, expected);
	ck_assert_uint_eq(count_entries(dir), 1);
	stagetest_close(t);
	test_rmtree(dir);
	free(inside);
	free(sub);
	free(dir);
}
END_TEST

START_TEST(test_write_params)
{
	struct stagetest *t = open_stage("write");

	create_fails(t, "param 'path': is required");
	stagetest_param_string(t, "path", "relative.txt");
	stagetest_param_string(t, "template", "x");
	create_fails(t, "param 'path': 'relative.txt' is not an absolute path");
	stagetest_param_string(t, "path", "/srv/dir/");
	create_fails(t, "param 'path': '/srv/dir/' names a directory, not a file");
	stagetest_param_string(t, "path", "/srv/file");
	stagetest_param_string(t, "mode", "0999");
	create_fails(t, "param 'mode': '0999' is not an octal mode like \"0644\"");
	stagetest_param_string(t, "mode", "rw-r--r--");
	create_fails(t, "param 'mode': 'rw-r--r--' is not an octal mode like \"0644\"");
	stagetest_param_string(t, "mode", "17777");
	create_fails(t, "param 'mode': '17777' is above 07777");
	stagetest_param_int(t, "mode", 644);
	create_fails(t, "param 'mode': expected string, got integer");
	stagetest_param_string(t, "mode", "600");
	create_ok(t);
	stagetest_close(t);

	t = open_stage("write");
	stagetest_param_string(t, "path", "/srv/file");
	create_fails(t, "param 'template': is required");
	stagetest_param_string(t, "template", "${");
	create_fails(t, "param 'template': unterminated '${' at offset 0");
	stagetest_close(t);
}
END_TEST

/* ---- check-path ------------------------------------------------------------- */

/* A tree for check-path: a 0600 file, a directory, and symlinks to both. */
static char *
make_tree(void)
{
	char *dir = test_tmpdir("check-path"), *p;

	p = path_in(dir, "file");
	test_write_file(p, "x", 0600);
	free(p);
	p = path_in(dir, "dir");
	ck_assert_int_eq(mkdir(p, 0750), 0);
	ck_assert_int_eq(chmod(p, 0750), 0);
	free(p);
	p = path_in(dir, "link-to-dir");
	ck_assert_int_eq(symlink("dir", p), 0);
	free(p);
	p = path_in(dir, "dangling");
	ck_assert_int_eq(symlink("nowhere", p), 0);
	free(p);
	return dir;
}

/* Runs check-path on dir/name with type and mode (NULL: unset). */
static int
check_path(const char *dir, const char *name, const char *type, const char *mode,
           const char *message_tail)
{
	struct stagetest *t = open_stage("check-path");
	char *path = path_in(dir, name), expected[PATH_MAX + 128];
	int r, r2;

	stagetest_param_string(t, "path", path);
	if (type)
		stagetest_param_string(t, "type", type);
	if (mode)
		stagetest_param_string(t, "mode", mode);
	create_ok(t);
	r = stagetest_run(t);
	if (message_tail) {
		snprintf(expected, sizeof(expected), "%s: %s", path, message_tail);
		assert_message(t, expected);
	}
	/* The health probe is the same check. */
	r2 = stagetest_check(t);
	ck_assert_int_eq(r, r2);
	if (message_tail)
		assert_message(t, expected);
	stagetest_close(t);
	free(path);
	return r;
}

START_TEST(test_check_path_types)
{
	char *dir = make_tree();

	ck_assert_int_eq(check_path(dir, "file", NULL, NULL, "file, mode 0600"), GINI_SUCCESS);
	ck_assert_int_eq(check_path(dir, "file", "file", NULL, NULL), GINI_SUCCESS);
	ck_assert_int_eq(check_path(dir, "dir", "directory", NULL, "directory, mode 0750"),
	                 GINI_SUCCESS);
	ck_assert_int_eq(check_path(dir, "dir", "any", NULL, NULL), GINI_SUCCESS);
	/* file and directory follow symlinks; symlink does not. */
	ck_assert_int_eq(check_path(dir, "link-to-dir", "directory", NULL, NULL), GINI_SUCCESS);
	ck_assert_int_eq(check_path(dir, "link-to-dir", "symlink", NULL, NULL), GINI_SUCCESS);
	ck_assert_int_eq(check_path(dir, "dangling", "symlink", NULL, NULL), GINI_SUCCESS);

	ck_assert_int_eq(check_path(dir, "dir", "file", NULL, "is a directory, expected file"),
	                 GINI_FAILURE);
	ck_assert_int_eq(
	        check_path(dir, "file", "directory", NULL, "is a file, expected directory"),
	        GINI_FAILURE);
	ck_assert_int_eq(check_path(dir, "file", "symlink", NULL, "is a file, expected symlink"),
	                 GINI_FAILURE);
	ck_assert_int_eq(
	        check_path(dir, "link-to-dir", "file", NULL, "is a directory, expected file"),
	        GINI_FAILURE);
	ck_assert_int_eq(check_path(dir, "missing", NULL, NULL, "No such file or directory"),
	                 GINI_FAILURE);
	ck_assert_int_eq(check_path(dir, "dangling", "any", NULL, "No such file or directory"),
	                 GINI_FAILURE);
	test_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_check_path_mode)
{
	char *dir = make_tree();

	ck_assert_int_eq(check_path(dir, "file", "file", "0600", NULL), GINI_SUCCESS);
	ck_assert_int_eq(check_path(dir, "file", NULL, "600", NULL), GINI_SUCCESS);
	ck_assert_int_eq(check_path(dir, "file", "file", "0644", "mode 0600, expected 0644"),
	                 GINI_FAILURE);
	ck_assert_int_eq(check_path(dir, "dir", "directory", "0750", NULL), GINI_SUCCESS);
	ck_assert_int_eq(check_path(dir, "dir", NULL, "1750", "mode 0750, expected 1750"),
	                 GINI_FAILURE);
	/* The type is reported before the mode. */
	ck_assert_int_eq(check_path(dir, "dir", "file", "0600", "is a directory, expected file"),
	                 GINI_FAILURE);
	test_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_check_path_describe)
{
	struct stagetest *t = open_stage("check-path");

	stagetest_param_string(t, "path", "/etc/x");
	stagetest_param_string(t, "type", "file");
	stagetest_param_string(t, "mode", "0600");
	create_ok(t);
	ck_assert_int_eq(stagetest_describe(t), 0);
	assert_message(t, "would check that /etc/x exists and is a file with mode 0600");
	stagetest_close(t);
}
END_TEST

START_TEST(test_check_path_params)
{
	struct stagetest *t = open_stage("check-path");

	create_fails(t, "param 'path': is required");
	stagetest_param_string(t, "path", "");
	create_fails(t, "param 'path': must not be empty");
	stagetest_param_string(t, "path", "etc");
	create_fails(t, "param 'path': 'etc' is not an absolute path");
	stagetest_param_string(t, "path", "/etc");
	stagetest_param_string(t, "type", "folder");
	create_fails(t, "param 'type': 'folder' is not one of any, file, directory, symlink");
	stagetest_param_string(t, "type", "directory");
	stagetest_param_string(t, "mode", "");
	create_fails(t, "param 'mode': '' is not an octal mode like \"0644\"");
	stagetest_close(t);
}
END_TEST

/* ---- check-command ---------------------------------------------------------- */

static int
check_command(const char *command)
{
	struct stagetest *t = open_stage("check-command");
	int r;

	stagetest_param_string(t, "command", command);
	create_ok(t);
	r = stagetest_run(t);
	ck_assert_int_eq(stagetest_check(t), r);
	stagetest_close(t);
	return r;
}

START_TEST(test_check_command)
{
	char *dir = test_tmpdir("check-command");
	char *tool = path_in(dir, "mytool"), *plain = path_in(dir, "plain");
	char *path_env, expected[PATH_MAX + 128];
	struct stagetest *t = open_stage("check-command");

	test_write_file(tool, "#!/bin/sh\n", 0755);
	test_write_file(plain, "#!/bin/sh\n", 0644);

	stagetest_param_string(t, "command", "sh");
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	assert_message_prefix(t, "sh found at /");

	stagetest_param_string(t, "command", "/bin/sh");
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	assert_message(t, "/bin/sh is executable");

	stagetest_param_string(t, "command", "gini-no-such-command");
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	assert_message(t, "gini-no-such-command: not found in PATH");

	stagetest_param_string(t, "command", "/no/such");
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	assert_message(t, "/no/such: No such file or directory");

	stagetest_param_string(t, "command", plain);
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	snprintf(expected, sizeof(expected), "%s: not executable (mode 0644)", plain);
	assert_message(t, expected);

	stagetest_param_string(t, "command", dir);
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_FAILURE);
	snprintf(expected, sizeof(expected), "%s: is a directory, not an executable file", dir);
	assert_message(t, expected);

	/* The daemon's PATH is searched in order; non-executables are passed over. */
	ck_assert_int_ne(asprintf(&path_env, "/nonexistent::%s", dir), -1);
	setenv("PATH", path_env, 1);
	stagetest_param_string(t, "command", "mytool");
	create_ok(t);
	ck_assert_int_eq(stagetest_run(t), GINI_SUCCESS);
	snprintf(expected, sizeof(expected), "mytool found at %s", tool);
	assert_message(t, expected);
	ck_assert_int_eq(check_command("plain"), GINI_FAILURE);
	ck_assert_int_eq(check_command("mytool"), GINI_SUCCESS);

	stagetest_param_string(t, "command", "mytool");
	create_ok(t);
	ck_assert_int_eq(stagetest_describe(t), 0);
	assert_message(t, "would look for mytool in PATH");
	stagetest_param_string(t, "command", "/bin/sh");
	create_ok(t);
	ck_assert_int_eq(stagetest_describe(t), 0);
	assert_message(t, "would check that /bin/sh is an executable file");
	stagetest_close(t);
	test_rmtree(dir);
	free(path_env);
	free(plain);
	free(tool);
	free(dir);
}
END_TEST

START_TEST(test_check_command_params)
{
	struct stagetest *t = open_stage("check-command");

	create_fails(t, "param 'command': is required");
	stagetest_param_string(t, "command", "");
	create_fails(t, "param 'command': must not be empty");
	stagetest_param_strv(t, "command", "ls", NULL);
	create_fails(t, "param 'command': expected string, got list of strings");
	stagetest_close(t);
}
END_TEST

Suite *
plugins_suite(void)
{
	Suite *s = suite_create("plugins");
	TCase *tc;

	tc = tcase_create("descriptor");
	tcase_add_loop_test(tc, test_descriptor, 0,
	                    (int)(sizeof(plugin_names) / sizeof(plugin_names[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("exec");
	tcase_add_test(tc, test_exec_success);
	tcase_add_test(tc, test_exec_exit_status);
	tcase_add_test(tc, test_exec_signal);
	tcase_add_test(tc, test_exec_missing_binary);
	tcase_add_test(tc, test_exec_output_logged);
	tcase_add_test(tc, test_exec_long_line);
	tcase_add_test(tc, test_exec_env);
	tcase_add_test(tc, test_exec_ctx_env);
	tcase_add_test(tc, test_exec_cwd);
	tcase_add_test(tc, test_exec_stdin);
	tcase_add_test(tc, test_exec_stdin_default);
	tcase_add_test(tc, test_exec_no_fd_leak);
	tcase_add_test(tc, test_exec_child_state);
	tcase_add_test(tc, test_exec_capture);
	tcase_add_test(tc, test_exec_cancel);
	tcase_add_test(tc, test_exec_cancel_escalates);
	tcase_add_test(tc, test_exec_cancel_graceful);
	tcase_add_test(tc, test_exec_describe);
	tcase_add_test(tc, test_exec_check);
	tcase_add_test(tc, test_exec_params);
	suite_add_tcase(s, tc);

	tc = tcase_create("log");
	tcase_add_test(tc, test_log_substitution);
	tcase_add_test(tc, test_log_levels);
	tcase_add_test(tc, test_log_params);
	suite_add_tcase(s, tc);

	tc = tcase_create("sleep");
	tcase_add_test(tc, test_sleep_done);
	tcase_add_test(tc, test_sleep_cancelled);
	tcase_add_test(tc, test_sleep_params);
	suite_add_tcase(s, tc);

	tc = tcase_create("fail");
	tcase_add_test(tc, test_fail_results);
	tcase_add_test(tc, test_fail_params);
	suite_add_tcase(s, tc);

	tc = tcase_create("write");
	tcase_add_test(tc, test_write_atomic);
	tcase_add_test(tc, test_write_replaces);
	tcase_add_test(tc, test_write_failures);
	tcase_add_test(tc, test_write_params);
	suite_add_tcase(s, tc);

	tc = tcase_create("check-path");
	tcase_add_test(tc, test_check_path_types);
	tcase_add_test(tc, test_check_path_mode);
	tcase_add_test(tc, test_check_path_describe);
	tcase_add_test(tc, test_check_path_params);
	suite_add_tcase(s, tc);

	tc = tcase_create("check-command");
	tcase_add_test(tc, test_check_command);
	tcase_add_test(tc, test_check_command_params);
	suite_add_tcase(s, tc);

	return s;
}
