/* SPDX-License-Identifier: MIT */
/*
 * The loader against the bad-plugin corpus: real .so files built by the test
 * build plus files made here (a system library, truncated and random files,
 * a directory, links, wrong modes and owners). Every item must be refused
 * with its own reason while the good plugins still register.
 */
#include "tests.h"
#include "test_stages.h"

#include "elfcheck.h"
#include "loader.h"
#include "registry.h"
#include "util.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir;
static char *marker;

static const char *
corpus(const char *name)
{
	static char buf[4][4096];
	static unsigned n;
	char *b = buf[n++ % 4];

	snprintf(b, sizeof(buf[0]), "%s/tests/plugins/%s", test_build_dir(), name);
	return b;
}

static char *
in_dir(const char *name)
{
	char *p;

	ck_assert_int_ne(asprintf(&p, "%s/%s", dir, name), -1);
	return p;
}

static void
put(const char *from, const char *name, unsigned mode)
{
	_cleanup_free_ char *to = in_dir(name);

	test_copy_file(corpus(from), to, mode);
}

static void
setup(void)
{
	dir = test_tmpdir("loader");
	ck_assert_int_ne(asprintf(&marker, "%s.marker", dir), -1);
	unlink(marker);
	setenv("GINI_TEST_MARKER", marker, 1);
	test_log_capture_start();
}

static void
teardown(void)
{
	test_log_capture_stop();
	test_rmtree(dir);
	unlink(marker);
	free(dir);
	free(marker);
}

/* The refusal recorded for a file name in this directory, or NULL. */
static const char *
reason_for(const struct loader_report *rep, const char *name)
{
	_cleanup_free_ char *path = in_dir(name);

	for (size_t i = 0; i < rep->n_refusals; i++)
		if (streq(rep->refusals[i].path, path))
			return rep->refusals[i].reason;
	return NULL;
}

static void
assert_refused(const struct loader_report *rep, const char *name, const char *reason)
{
	_cleanup_free_ char *path = in_dir(name);
	_cleanup_free_ char *line = NULL;
	const char *got = reason_for(rep, name);

	ck_assert_msg(got, "%s was not refused", name);
	ck_assert_msg(strstr(got, reason), "%s: reason '%s' does not contain '%s'", name, got,
	              reason);
	/* And one log line in the documented shape. */
	ck_assert_int_ne(asprintf(&line, "plugin %s: refused: %s", path, got), -1);
	ck_assert_int_eq(test_log_count(line), 1);
}

static int
scan(struct registry *reg, struct loader_report *rep)
{
	char *dirs[] = { dir };

	return loader_scan(dirs, 1, reg, NULL, rep);
}

START_TEST(good_plugins_register)
{
	struct registry *reg = registry_new();
	struct loader_report rep = { 0 };
	struct stage_type *t;
	char err[256];

	put("good_a.so", "good_a.so", 0755);
	put("good_b.so", "good_b.so", 0644);
	ck_assert_int_eq(scan(reg, &rep), 0);
	ck_assert_uint_eq(rep.n_refusals, 0);
	ck_assert_uint_eq(rep.loaded, 2);
	ck_assert_uint_eq(registry_count(reg), 2);
	t = registry_acquire(reg, "good-b");
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t->version, "0.3.1-rc.1+build.5");
	ck_assert_str_eq(t->category, "test");
	ck_assert_str_eq(t->requires_ids[0], "good-a");
	ck_assert_ptr_null(t->requires_ids[1]);
	stage_type_unref(t);
	ck_assert_uint_eq(rep.n_warnings, 0);
	ck_assert_int_eq(registry_check(reg, err, sizeof(err)), 0);
	/* Each type reads the host's copy of its plugin's descriptor, and is
	 * released by the loader's callback. */
	t = registry_acquire(reg, "good-a");
	ck_assert_ptr_nonnull(t->plugin);
	ck_assert_ptr_eq(t->desc, plugin_descriptor(t->plugin));
	ck_assert(t->release == plugin_close);
	stage_type_unref(t);
	loader_report_done(&rep);
	registry_free(reg);
}
END_TEST

/* Each descriptor-level problem, with its specific reason: the reason each
 * fixture of the corpus states (test_bad_plugins()). */
START_TEST(bad_descriptors_refused)
{
	struct test_bad_plugin *cases = NULL;
	size_t n = test_bad_plugins(&cases);
	struct registry *reg = registry_new();
	struct loader_report rep = { 0 };

	put("good_a.so", "good_a.so", 0755);
	for (size_t i = 0; i < n; i++)
		put(cases[i].file, cases[i].file, 0755);
	ck_assert_int_eq(scan(reg, &rep), 0);
	for (size_t i = 0; i < n; i++)
		assert_refused(&rep, cases[i].file, cases[i].reason);
	ck_assert_uint_eq(rep.n_refusals, n);
	ck_assert_uint_eq(registry_count(reg), 1);
	loader_report_done(&rep);
	registry_free(reg);
	free(cases);
}
END_TEST

START_TEST(duplicate_id_names_both_files)
{
	struct registry *reg = registry_new();
	struct loader_report rep = { 0 };
	_cleanup_free_ char *first = in_dir("a_first.so");
	_cleanup_free_ char *expect = NULL;
	struct stage_type *t;

	/* Sorted order decides which one wins. */
	put("good_a.so", "a_first.so", 0755);
	put("dup_id.so", "b_second.so", 0755);
	ck_assert_int_eq(scan(reg, &rep), 0);
	ck_assert_int_ne(
	        asprintf(&expect, "duplicate stage id 'good-a', already provided by %s", first),
	        -1);
	assert_refused(&rep, "b_second.so", expect);
	t = registry_acquire(reg, "good-a");
	ck_assert_str_eq(t->path, first);
	stage_type_unref(t);
	loader_report_done(&rep);
	registry_free(reg);
}
END_TEST

/* The ELF pre-check refuses a library that is not a plugin without running
 * its constructor: the marker file never appears. */
START_TEST(constructor_never_runs)
{
	struct registry *reg = registry_new();
	struct loader_report rep = { 0 };
	void *h;

	put("ctor_marker.so", "ctor_marker.so", 0755);
	ck_assert_int_eq(scan(reg, &rep), 0);
	assert_refused(&rep, "ctor_marker.so", "does not export stage_descriptor");
	ck_assert_int_eq(access(marker, F_OK), -1);
	/* The marker mechanism itself works: dlopen does run the constructor. */
	h = dlopen(corpus("ctor_marker.so"), RTLD_NOW | RTLD_LOCAL);
	ck_assert_ptr_nonnull(h);
	ck_assert_int_eq(access(marker, F_OK), 0);
	dlclose(h);
	loader_report_done(&rep);
	registry_free(reg);
}
END_TEST

START_TEST(non_plugin_files_refused)
{
	struct registry *reg = registry_new();
	struct loader_report rep = { 0 };
	_cleanup_free_ char *p = NULL;
	unsigned char junk[4096];
	Dl_info info;
	int fd;

	/* A real system library: the C library this test runs on. */
	ck_assert_int_ne(dladdr((void *)printf, &info), 0);
	test_copy_file(info.dli_fname, (p = in_dir("libc_copy.so")), 0755);
	free(steal_ptr(p));

	/* A plugin cut short after its ELF header, and one cut mid-way. */
	test_copy_file(corpus("good_a.so"), (p = in_dir("truncated.so")), 0755);
	ck_assert_int_eq(truncate(p, 100), 0);
	free(steal_ptr(p));
	test_copy_file(corpus("good_a.so"), (p = in_dir("truncated_half.so")), 0755);
	ck_assert_int_eq(truncate(p, 3000), 0);
	free(steal_ptr(p));

	/* Random bytes, and an empty file. */
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 2654435761u >> 13);
	fd = open((p = in_dir("random.so")), O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
	ck_assert_int_eq(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	free(steal_ptr(p));
	test_write_file((p = in_dir("empty.so")), "", 0755);
	free(steal_ptr(p));

	/* A directory and a FIFO named like plugins. */
	ck_assert_int_eq(mkdir((p = in_dir("x.so")), 0755), 0);
	free(steal_ptr(p));
	ck_assert_int_eq(mkfifo((p = in_dir("fifo.so")), 0644), 0);
	free(steal_ptr(p));

	/* Files that merely look alike are not candidates at all. */
	put("good_a.so", "good_a.so.1", 0755);
	put("good_a.so", ".hidden.so", 0755);

	ck_assert_int_eq(scan(reg, &rep), 0);
	assert_refused(&rep, "libc_copy.so", "does not export stage_descriptor");
	assert_refused(&rep, "truncated.so", "truncated or malformed ELF");
	assert_refused(&rep, "truncated_half.so", "malformed ELF");
	assert_refused(&rep, "random.so", "not an ELF file");
	assert_refused(&rep, "empty.so", "empty file");
	assert_refused(&rep, "x.so", "a directory, not a regular file");
	assert_refused(&rep, "fifo.so", "a FIFO, not a regular file");
	ck_assert_uint_eq(rep.n_refusals, 7);
	ck_assert_uint_eq(registry_count(reg), 0);
	loader_report_done(&rep);
	registry_free(reg);
}
END_TEST

START_TEST(unsafe_files_refused)
{
	struct registry *reg = registry_new();
	struct loader_report rep = { 0 };
	_cleanup_free_ char *p = NULL;
	bool root = geteuid() == 0;

	put("good_a.so", "group_writable.so", 0775);
	put("good_a.so", "world_writable.so", 0757);
	/* A symlink out of the directory, and one that stays inside. */
	ck_assert_int_eq(symlink(corpus("good_a.so"), (p = in_dir("escape.so"))), 0);
	free(steal_ptr(p));
	put("good_b.so", "good_b.so.1.0", 0755);
	ck_assert_int_eq(symlink("good_b.so.1.0", (p = in_dir("good_b.so"))), 0);
	free(steal_ptr(p));
	ck_assert_int_eq(symlink("missing.so.1", (p = in_dir("dangling.so"))), 0);
	free(steal_ptr(p));
	if (root) {
		/* Only root can give a file away. */
		put("good_a.so", "foreign.so", 0755);
		ck_assert_int_eq(chown((p = in_dir("foreign.so")), 4242, 4242), 0);
		free(steal_ptr(p));
	}
	ck_assert_int_eq(scan(reg, &rep), 0);
	assert_refused(&rep, "group_writable.so", "the file is group-writable (mode 0775)");
	assert_refused(&rep, "world_writable.so", "the file is world-writable (mode 0757)");
	assert_refused(&rep, "escape.so", "symlink leaves the plugin directory");
	assert_refused(&rep, "dangling.so", "dangling symlink");
	if (root)
		assert_refused(&rep, "foreign.so", "the file is owned by uid 4242");
	ck_assert_uint_eq(registry_count(reg), 1);
	ck_assert_ptr_null(reason_for(&rep, "good_b.so"));
	/* good-b requires good-a, which is missing here: reported, not refused. */
	ck_assert_uint_eq(rep.n_warnings, 1);
	ck_assert_ptr_nonnull(strstr(rep.warnings[0],
	                             "stage 'good-b' requires stage 'good-a', which is not "
	                             "registered"));
	loader_report_done(&rep);
	registry_free(reg);
}
END_TEST

START_TEST(unsafe_directory_refuses_all)
{
	struct registry *reg = registry_new();
	struct loader_report rep = { 0 };

	put("good_a.so", "good_a.so", 0755);
	ck_assert_int_eq(chmod(dir, 0775), 0);
	ck_assert_int_eq(scan(reg, &rep), 0);
	assert_refused(&rep, "good_a.so", "its directory is group-writable (mode 0775)");
	ck_assert_uint_eq(registry_count(reg), 0);
	loader_report_done(&rep);
	registry_free(reg);
}
END_TEST

START_TEST(requires_reported)
{
	struct registry *reg = registry_new();
	struct loader_report rep = { 0 };

	put("needs_missing.so", "needs_missing.so", 0755);
	ck_assert_int_eq(scan(reg, &rep), 0);
	ck_assert_uint_eq(registry_count(reg), 1);
	ck_assert_uint_eq(rep.n_warnings, 1);
	ck_assert_ptr_nonnull(strstr(rep.warnings[0], "requires stage 'no-such-stage'"));
	ck_assert_ptr_nonnull(test_log_find("requires stage 'no-such-stage'"));
	loader_report_done(&rep);
	registry_free(reg);
}
END_TEST

/* Load and unload hooks run once each, and unload only when the last
 * reference goes, not when the registry entry does. */
START_TEST(hooks_follow_references)
{
	_cleanup_free_ char *hooks = in_dir("hooks.log");
	struct registry *reg = registry_new();
	struct loader_report rep = { 0 };
	struct stage_type *held;
	_cleanup_free_ char *text = NULL;

	setenv("GINI_TEST_HOOKS", hooks, 1);
	put("good_a.so", "good_a.so", 0755);
	ck_assert_int_eq(scan(reg, &rep), 0);
	held = registry_acquire(reg, "good-a");
	ck_assert_int_eq(registry_remove(reg, "good-a"), 0);
	ck_assert_int_eq(read_file(hooks, 4096, &text, NULL), 0);
	ck_assert_str_eq(text, "load good-a\n");
	free(steal_ptr(text));
	/* Still callable: the plugin is loaded while referenced. */
	ck_assert_ptr_nonnull(held->desc->run);
	stage_type_unref(held);
	ck_assert_int_eq(read_file(hooks, 4096, &text, NULL), 0);
	ck_assert_str_eq(text, "load good-a\nunload good-a\n");
	loader_report_done(&rep);
	registry_free(reg);
	unsetenv("GINI_TEST_HOOKS");
}
END_TEST

/* A rescan against the previous registry reuses unchanged files without
 * re-running their load hooks, and loads a replaced file anew even while the
 * old version is still held (the reload path). */
START_TEST(rescan_reuses_unchanged)
{
	_cleanup_free_ char *hooks = in_dir("hooks.log");
	_cleanup_free_ char *text = NULL, *path = in_dir("good_a.so");
	struct registry *gen1 = registry_new(), *gen2 = registry_new(), *gen3 = registry_new();
	struct loader_report rep = { 0 };
	struct stage_type *t1, *t2, *t3;
	struct timespec later[2] = { { .tv_sec = 2000000000 }, { .tv_sec = 2000000000 } };
	char *dirs[] = { dir };

	setenv("GINI_TEST_HOOKS", hooks, 1);
	put("good_a.so", "good_a.so", 0755);
	ck_assert_int_eq(loader_scan(dirs, 1, gen1, NULL, &rep), 0);
	ck_assert_uint_eq(rep.loaded, 1);
	loader_report_done(&rep);

	ck_assert_int_eq(loader_scan(dirs, 1, gen2, gen1, &rep), 0);
	ck_assert_uint_eq(rep.loaded, 0);
	ck_assert_uint_eq(rep.reused, 1);
	loader_report_done(&rep);
	t1 = registry_acquire(gen1, "good-a");
	t2 = registry_acquire(gen2, "good-a");
	ck_assert_ptr_eq(t1, t2);

	/* Replace the file (new inode and mtime) while t1 is held. */
	ck_assert_int_eq(unlink(path), 0);
	put("good_a.so", "good_a.so", 0755);
	ck_assert_int_eq(utimensat(AT_FDCWD, path, later, 0), 0);
	ck_assert_int_eq(loader_scan(dirs, 1, gen3, gen2, &rep), 0);
	ck_assert_uint_eq(rep.loaded, 1);
	ck_assert_uint_eq(rep.reused, 0);
	loader_report_done(&rep);
	t3 = registry_acquire(gen3, "good-a");
	ck_assert_ptr_ne(t3, t1);
	/* A genuinely separate load, not glibc handing back the old object. */
	ck_assert_ptr_ne(t3->desc, t1->desc);

	ck_assert_int_eq(read_file(hooks, 4096, &text, NULL), 0);
	ck_assert_str_eq(text, "load good-a\nload good-a\n");
	free(steal_ptr(text));
	stage_type_unref(t1);
	stage_type_unref(t2);
	registry_free(gen1);
	registry_free(gen2);
	ck_assert_int_eq(read_file(hooks, 4096, &text, NULL), 0);
	ck_assert_str_eq(text, "load good-a\nload good-a\nunload good-a\n");
	free(steal_ptr(text));
	stage_type_unref(t3);
	registry_free(gen3);
	unsetenv("GINI_TEST_HOOKS");
}
END_TEST

START_TEST(open_file_for_inspect)
{
	struct plugin *p = NULL;
	char reason[512];
	_cleanup_free_ char *path = in_dir("good_b.so");

	put("good_b.so", "good_b.so", 0755);
	ck_assert_int_eq(loader_open_file(path, 0, NULL, &p, reason, sizeof(reason)), 0);
	ck_assert_str_eq(plugin_descriptor(p)->id, "good-b");
	plugin_close(p);
	put("bad_major.so", "bad_major.so", 0755);
	free(path);
	path = in_dir("bad_major.so");
	ck_assert_int_lt(loader_open_file(path, 0, NULL, &p, reason, sizeof(reason)), 0);
	ck_assert_str_eq(reason, "ABI major 2 is not supported (host ABI 1.1)");
}
END_TEST

/*
 * What is mapped is a sealed copy, named for the file; the helpers' entry
 * points refuse an unsealed descriptor and a file that is not the one
 * expected, before mapping it.
 */
START_TEST(loads_a_sealed_copy)
{
	struct plugin *p = NULL;
	struct file_key other;
	char reason[512], buf[4096];
	_cleanup_free_ char *path = in_dir("good_b.so");
	_cleanup_free_ char *data = NULL;
	size_t size = 0;
	Dl_info info;
	ssize_t n;
	int fd;

	put("good_b.so", "good_b.so", 0755);
	ck_assert_int_eq(loader_open_file(path, 0, NULL, &p, reason, sizeof(reason)), 0);
	/* The code runs from a memfd named after the file, not from the file
	 * (the descriptor is the host's copy; its id lies in the plugin). */
	ck_assert_int_ne(dladdr((const void *)plugin_descriptor(p)->id, &info), 0);
	ck_assert_msg(!strncmp(info.dli_fname, "/proc/self/fd/", 14), "mapped from %s",
	              info.dli_fname);
	n = readlink(info.dli_fname, buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = 0;
	ck_assert_str_eq(buf, "/memfd:gini:good_b.so (deleted)");
	fd = open(info.dli_fname, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fcntl(fd, F_GET_SEALS),
	                 F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
	close(fd);
	ck_assert_str_eq(plugin_path(p), path);
	other = *plugin_key(p);
	plugin_close(p);

	/* A worker expecting another version of the file refuses this one. */
	other.mtime_ns++;
	p = NULL;
	ck_assert_int_eq(loader_open_file(path, 0, &other, &p, reason, sizeof(reason)), -ESTALE);
	ck_assert_str_eq(reason, "the plugin file changed since ginid loaded it; reload ginid");
	ck_assert_ptr_null(p);

	/* The probe's --fd takes only a sealed copy. */
	ck_assert_int_eq(read_file(path, 64u << 20, &data, &size), 0);
	fd = memfd_create("unsealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, size), (ssize_t)size);
	ck_assert_int_eq(loader_open_sealed(fd, path, LOADER_NO_HOOKS, &p, reason, sizeof(reason)),
	                 -EBADF);
	ck_assert_ptr_null(p);
	fd = memfd_create("sealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, size), (ssize_t)size);
	ck_assert_int_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK), 0);
	ck_assert_int_eq(loader_open_sealed(fd, path, LOADER_NO_HOOKS, &p, reason, sizeof(reason)),
	                 0);
	ck_assert_str_eq(plugin_descriptor(p)->id, "good-b");
	plugin_close(p);
}
END_TEST

START_TEST(missing_directory_is_not_fatal)
{
	struct registry *reg = registry_new();
	struct loader_report rep = { 0 };
	char *dirs[] = { "/nonexistent/gini/stages", dir };

	put("good_a.so", "good_a.so", 0755);
	ck_assert_int_eq(loader_scan(dirs, 2, reg, NULL, &rep), 0);
	ck_assert_uint_eq(registry_count(reg), 1);
	ck_assert_ptr_nonnull(test_log_find("plugin directory /nonexistent/gini/stages: cannot "
	                                    "scan: No such file or directory, ignoring"));
	loader_report_done(&rep);
	registry_free(reg);
}
END_TEST

/*
 * Regression (fuzz_elf): a refusal quoted the plugin's strings as they
 * were, so an id with a newline forged a second log line. Escaped now.
 */
START_TEST(refusal_reason_escaped)
{
	struct gini_stage_descriptor d = {
		GINI_DESCRIPTOR_HEADER, .id = "x\nplugin /etc/evil.so: loaded\001",
		.version = "1.0.0",     .summary = "s",
		.category = "io",       .run = test_noop_run,
	};
	char reason[256], tiny[12];

	ck_assert_int_eq(descriptor_validate(&d, reason, sizeof(reason)), -EINVAL);
	ck_assert_str_eq(reason, "invalid id 'x\\nplugin /etc/evil.so: loaded\\x01': must match "
	                         "[a-z0-9][a-z0-9_.-]* and be at most 64 characters");
	ck_assert_int_eq(descriptor_validate(&d, tiny, sizeof(tiny)), -EINVAL);
	ck_assert_str_eq(tiny, "invalid ...");
	d.id = "ok";
	d.version = "1.0.0\n";
	ck_assert_int_eq(descriptor_validate(&d, reason, sizeof(reason)), -EINVAL);
	ck_assert_str_eq(reason, "stage 'ok': invalid version '1.0.0\\n': not a semantic version "
	                         "(MAJOR.MINOR.PATCH)");
}
END_TEST

/*
 * Regression (fuzz_elf seed): e_shoff near 2^64 wrapped the bounds check of
 * the section header table around, and the file went on to libelf.
 */
START_TEST(section_header_offset_wraps)
{
	const uint64_t off = UINT64_C(0xfffffffffffff000);
	char reason[256], *p = in_dir("wrap.so");
	int fd;

	test_copy_file(corpus("good_a.so"), p, 0755);
	fd = open(p, O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(elf_check_export(fd, "stage_descriptor", reason, sizeof(reason)), 0);
	/* e_shoff of an ELF64 header, little-endian on every host we build for. */
	ck_assert_int_eq(pwrite(fd, &off, sizeof(off), 0x28), (ssize_t)sizeof(off));
	ck_assert_int_eq(elf_check_export(fd, "stage_descriptor", reason, sizeof(reason)),
	                 -EBADMSG);
	ck_assert_str_eq(reason, "truncated or malformed ELF: section headers beyond the end of "
	                         "the file");
	close(fd);
	free(p);
}
END_TEST

Suite *
loader_suite(void)
{
	Suite *s = suite_create("loader");
	TCase *tc;

	tc = tcase_create("good");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, good_plugins_register);
	tcase_add_test(tc, open_file_for_inspect);
	tcase_add_test(tc, loads_a_sealed_copy);
	tcase_add_test(tc, missing_directory_is_not_fatal);
	suite_add_tcase(s, tc);

	tc = tcase_create("fuzz regressions");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, refusal_reason_escaped);
	tcase_add_test(tc, section_header_offset_wraps);
	suite_add_tcase(s, tc);

	tc = tcase_create("corpus");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, bad_descriptors_refused);
	tcase_add_test(tc, duplicate_id_names_both_files);
	tcase_add_test(tc, constructor_never_runs);
	tcase_add_test(tc, non_plugin_files_refused);
	tcase_add_test(tc, unsafe_files_refused);
	tcase_add_test(tc, unsafe_directory_refuses_all);
	tcase_add_test(tc, requires_reported);
	suite_add_tcase(s, tc);

	tc = tcase_create("lifetime");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hooks_follow_references);
	tcase_add_test(tc, rescan_reuses_unchanged);
	suite_add_tcase(s, tc);
	return s;
}
