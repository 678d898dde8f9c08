/* SPDX-License-Identifier: MIT */
/*
 * The bundled stage plugins, driven through <gini/stage.h> alone by the
 * stand-alone host in stagetest.c: one TCase per plugin, plus one for what
 * every descriptor must satisfy. Tests assert outcomes (exit statuses,
 * files, modes, processes that are really gone), never timings; the only
 * time limits are generous hang guards.
 */
#include "check_plugins.h"

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

	plugins_exec_add_tcases(s);

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
