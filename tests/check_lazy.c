/* SPDX-License-Identifier: MIT */
/*
 * The registry cache and lazy loading (loader_regcache.c, loader_lazy.c):
 * in process, a scan with the cache registers unchanged files without
 * mapping them and loads one on stage_type_load(), with every check again;
 * a cache file that is corrupt or not ours is ignored whole; a file that
 * changed is checked again before anything of it runs. Then a real ginid:
 * what /proc/PID/maps shows before and after a pipeline uses a plugin,
 * `ginictl stages`, reload, and a plugin file replaced between two starts.
 */
#include "tests.h"

#include "daemon.h"
#include "loader.h"
#include "registry.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir, *cache, *hooks;
static struct daemon d;
/* Written before the pipelines by write_conf(). */
static const char *conf_prefix = "";

static void
setup(void)
{
	dir = test_tmpdir("lazy");
	ck_assert_int_ne(asprintf(&cache, "%s.registry-cache", dir), -1);
	ck_assert_int_ne(asprintf(&hooks, "%s.hooks", dir), -1);
	unlink(cache);
	unlink(hooks);
	setenv("GINI_TEST_HOOKS", hooks, 1);
	loader_regcache_reset();
	test_log_capture_start();
}

static void
teardown(void)
{
	test_log_capture_stop();
	loader_regcache_reset();
	unsetenv("GINI_TEST_HOOKS");
	test_rmtree(dir);
	unlink(cache);
	unlink(hooks);
	free(dir);
	free(cache);
	free(hooks);
}

static char *
in_dir(const char *name)
{
	char *p;

	ck_assert_int_ne(asprintf(&p, "%s/%s", dir, name), -1);
	return p;
}

/* Copies tests/plugins/FROM to NAME in the plugin directory, with a later mtime. */
static void
put(const char *from, const char *name, time_t mtime)
{
	_cleanup_free_ char *to = in_dir(name);
	char src[4096];
	struct timespec t[2] = { { .tv_sec = mtime }, { .tv_sec = mtime } };

	snprintf(src, sizeof(src), "%s/tests/plugins/%s", test_build_dir(), from);
	unlink(to);
	test_copy_file(src, to, 0755);
	if (mtime)
		ck_assert_int_eq(utimensat(AT_FDCWD, to, t, 0), 0);
}

/* A scan with the registry cache, in a "new process" when fresh. */
static struct registry *
scan(struct registry *previous, bool fresh, struct loader_report *rep)
{
	struct loader_options o = { .registry_cache_path = cache };
	struct registry *reg = registry_new();
	char *dirs[] = { dir };

	if (fresh)
		loader_regcache_reset();
	memset(rep, 0, sizeof(*rep));
	ck_assert_int_eq(loader_scan_with(dirs, 1, reg, previous, &o, rep), 0);
	return reg;
}

static bool
mapped(pid_t pid, const char *name)
{
	_cleanup_free_ char *maps = NULL;
	char path[64], what[256];

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	snprintf(what, sizeof(what), "/memfd:gini:%s", name);
	ck_assert_int_eq(read_file(path, 64u << 20, &maps, NULL), 0);
	return strstr(maps, what) != NULL;
}

static char *
hooks_text(void)
{
	char *text = NULL;

	if (read_file(hooks, 1 << 16, &text, NULL) < 0)
		text = strdup("");
	ck_assert_ptr_nonnull(text);
	return text;
}

START_TEST(cached_types_load_on_demand)
{
	struct loader_report rep;
	struct registry *gen1, *gen2, *gen3;
	struct stage_type *a, *b, *again;
	_cleanup_free_ char *text = NULL;
	char reason[512], err[256];

	put("good_a.so", "good_a.so", 0);
	put("good_b.so", "good_b.so", 0);
	gen1 = scan(NULL, true, &rep);
	ck_assert_uint_eq(rep.loaded, 2);
	ck_assert_uint_eq(rep.cached, 0);
	loader_report_done(&rep);
	ck_assert(mapped(getpid(), "good_a.so"));
	registry_free(gen1);
	ck_assert(!mapped(getpid(), "good_a.so"));

	/* The next process registers both from the cache and maps neither. */
	gen2 = scan(NULL, true, &rep);
	ck_assert_uint_eq(rep.loaded, 0);
	ck_assert_uint_eq(rep.cached, 2);
	ck_assert_uint_eq(rep.n_refusals, 0);
	ck_assert_uint_eq(rep.n_warnings, 0); /* good-b's requires are satisfied */
	loader_report_done(&rep);
	ck_assert_int_eq(registry_check(gen2, err, sizeof(err)), 0);
	b = registry_acquire(gen2, "good-b");
	ck_assert_str_eq(b->version, "0.3.1-rc.1+build.5");
	ck_assert_str_eq(b->category, "test");
	ck_assert_str_eq(b->requires_ids[0], "good-a");
	ck_assert_ptr_null(b->requires_ids[1]);
	ck_assert_ptr_null(b->desc);
	ck_assert(!mapped(getpid(), "good_a.so"));
	ck_assert(!mapped(getpid(), "good_b.so"));
	text = hooks_text();
	ck_assert_str_eq(text, "load good-a\nunload good-a\n");
	free(steal_ptr(text));

	/* A step binding to it loads it, load hook and all. */
	a = registry_acquire(gen2, "good-a");
	ck_assert_int_eq(stage_type_load(a, reason, sizeof(reason)), 0);
	ck_assert_ptr_nonnull(a->desc);
	ck_assert_str_eq(a->desc->id, "good-a");
	ck_assert_ptr_nonnull(a->desc->run);
	ck_assert_ptr_eq(a->desc, plugin_descriptor(a->plugin));
	ck_assert(mapped(getpid(), "good_a.so"));
	ck_assert(!mapped(getpid(), "good_b.so"));
	ck_assert_int_eq(stage_type_load(a, reason, sizeof(reason)), 0); /* once */
	text = hooks_text();
	ck_assert_str_eq(text, "load good-a\nunload good-a\nload good-a\n");
	free(steal_ptr(text));

	/* A reload takes both over: the loaded one shared, the other anew, so
	 * that loading it there changes nothing of the live generation. */
	gen3 = scan(gen2, false, &rep);
	ck_assert_uint_eq(rep.reused, 2);
	ck_assert_uint_eq(rep.loaded + rep.cached, 0);
	loader_report_done(&rep);
	again = registry_acquire(gen3, "good-a");
	ck_assert_ptr_eq(again, a);
	stage_type_unref(again);
	again = registry_acquire(gen3, "good-b");
	ck_assert_ptr_ne(again, b);
	ck_assert_str_eq(again->requires_ids[0], "good-a");
	ck_assert_int_eq(stage_type_load(again, reason, sizeof(reason)), 0);
	ck_assert(mapped(getpid(), "good_b.so"));
	ck_assert_ptr_null(b->desc);
	stage_type_unref(again);
	/* The new generation given up (a failed reload): unmapped again. */
	registry_free(gen3);
	ck_assert(!mapped(getpid(), "good_b.so"));
	stage_type_unref(b);
	stage_type_unref(a);
	registry_free(gen2);
	ck_assert(!mapped(getpid(), "good_a.so"));
	text = hooks_text();
	ck_assert_str_eq(text, "load good-a\nunload good-a\nload good-a\nunload good-a\n");
	free(steal_ptr(text));
}
END_TEST

/* A cached good file replaced by a bad one is checked again, not trusted. */
START_TEST(changed_file_is_checked_again)
{
	_cleanup_free_ char *path = in_dir("good_a.so"), *line = NULL;
	struct loader_report rep;
	struct registry *reg;
	struct stage_type *t;
	char reason[512];

	put("good_a.so", "good_a.so", 0);
	registry_free(scan(NULL, true, &rep));
	loader_report_done(&rep);

	/* Replaced between two starts: the scan loads and refuses it. */
	put("bad_major.so", "good_a.so", 2000000000);
	reg = scan(NULL, true, &rep);
	ck_assert_uint_eq(rep.cached, 0);
	ck_assert_uint_eq(rep.n_refusals, 1);
	ck_assert_str_eq(rep.refusals[0].reason, "ABI major 2 is not supported (host ABI 1.1)");
	ck_assert_uint_eq(registry_count(reg), 0);
	loader_report_done(&rep);
	registry_free(reg);

	/* Replaced after the scan registered it from the cache: refused when a
	 * step needs it, before any of it is mapped. */
	put("good_a.so", "good_a.so", 2000000100);
	registry_free(scan(NULL, true, &rep));
	loader_report_done(&rep);
	reg = scan(NULL, true, &rep);
	ck_assert_uint_eq(rep.cached, 1);
	loader_report_done(&rep);
	put("bad_major.so", "good_a.so", 2000000200);
	t = registry_acquire(reg, "good-a");
	ck_assert_int_eq(stage_type_load(t, reason, sizeof(reason)), -ESTALE);
	ck_assert_str_eq(reason, "the plugin file changed since ginid scanned it; reload ginid");
	ck_assert_ptr_null(t->desc);
	ck_assert(!mapped(getpid(), "good_a.so"));
	ck_assert_int_ne(asprintf(&line, "plugin %s: refused: %s", path, reason), -1);
	ck_assert_uint_eq(test_log_count(line), 1);
	stage_type_unref(t);
	registry_free(reg);
}
END_TEST

/* Replaces the first occurrence of from in s (which must hold it). */
static char *
replaced(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	char *out;

	ck_assert_msg(at, "'%s' not in the cache file", from);
	ck_assert_int_ne(asprintf(&out, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from)), -1);
	return out;
}

/* A cache file that is not exactly ours is ignored whole, with one warning. */
START_TEST(bad_cache_file_ignored)
{
	_cleanup_free_ char *good = NULL;
	struct loader_report rep;
	char *bad[8];
	size_t n = 0;

	put("good_a.so", "good_a.so", 0);
	put("good_b.so", "good_b.so", 0);
	registry_free(scan(NULL, true, &rep));
	loader_report_done(&rep);
	ck_assert_int_eq(read_file(cache, 1 << 20, &good, NULL), 0);
	ck_assert_ptr_nonnull(strstr(good, "\"format\":\"gini-registry-cache\""));

	bad[n++] = strdup("not json at all {");
	bad[n++] = strndup(good, strlen(good) / 2); /* torn */
	bad[n++] = strdup("");
	bad[n++] = replaced(good, "gini-registry-cache", "something-else");
	bad[n++] = replaced(good, "\"version\":1,", "\"version\":2,");
	bad[n++] = replaced(good, "\"abi\":[1,1]", "\"abi\":[1,0]");
	/* One bad entry spoils the whole file, the good one included. */
	bad[n++] = replaced(good, "\"id\":\"good-b\"", "\"id\":\"Good B\"");
	bad[n++] = replaced(good, "\"requires\":[\"good-a\"]", "\"requires\":[7]");
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *rewritten = NULL;

		test_write_file(cache, bad[i], 0644);
		test_log_capture_start();
		registry_free(scan(NULL, true, &rep));
		ck_assert_msg(rep.cached == 0 && rep.loaded == 2,
		              "case %zu: %zu cached, %zu loaded", i, rep.cached, rep.loaded);
		loader_report_done(&rep);
		ck_assert_msg(test_log_count("ignoring it and loading every plugin") == 1,
		              "case %zu: no single warning", i);
		ck_assert_ptr_nonnull(test_log_find(cache));
		/* And written anew, so the next start is quick again. */
		registry_free(scan(NULL, true, &rep));
		ck_assert_uint_eq(rep.cached, 2);
		loader_report_done(&rep);
		free(bad[i]);
	}
}
END_TEST

static void
daemon_teardown(void)
{
	daemon_done(&d);
	conf_prefix = "";
}

static void
stages_dir(void)
{
	static const char *const names[] = { "exec", "log", "sleep" };

	ck_assert_int_eq(mkdir(daemon_path(&d, "stages"), 0755), 0);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		char from[64], to[4096];

		snprintf(from, sizeof(from), "stages/%s.so", names[i]);
		snprintf(to, sizeof(to), "%s/%s.so", daemon_path(&d, "stages"), names[i]);
		test_copy_file(test_build_path(from), to, 0755);
	}
}

static void
write_conf(bool with_exec)
{
	_cleanup_free_ char *b = NULL, *text = NULL;

	if (with_exec)
		ck_assert_int_ne(
		        asprintf(&b,
		                 ",\n{ name = \"b\"; triggers = { signal = \"SIGUSR2\"; }; "
		                 "steps = ( { id = \"w\"; stage = \"exec\"; params = { "
		                 "shell = \"echo run >> %s\"; }; } ); }",
		                 daemon_path(&d, "b.out")),
		        -1);
	ck_assert_int_ne(asprintf(&text,
	                          "%spipelines = (\n{ name = \"a\"; triggers = { signal = "
	                          "\"SIGUSR1\"; }; steps = ( { id = \"l\"; stage = \"log\"; "
	                          "params = { message = \"lazy hello\"; }; } ); }%s\n);\n",
	                          conf_prefix, b ? b : ""),
	                 -1);
	daemon_write(&d, "gini.conf", text);
}

/* Starts ginid (the nth time) on the stages directory and waits until ready. */
static void
start(size_t nth)
{
	daemon_spawn(&d, daemon_path(&d, "stages"), NULL);
	ck_assert(daemon_wait_log(&d, "ready: generation 1 with 3 stage types", nth, 10000));
}

static void
stop(void)
{
	daemon_signal(&d, SIGTERM);
	ck_assert_int_eq(daemon_wait_exit(&d, 10000), 0);
}

/*
 * A real ginid maps only the plugins its pipelines use once the cache
 * knows the files; `ginictl stages` lists them all; a reload that needs
 * another one loads it.
 */
START_TEST(daemon_maps_what_it_uses)
{
	_cleanup_free_ char *out = NULL, *err = NULL;

	daemon_init(&d, "lazy", "");
	stages_dir();
	write_conf(false);
	start(1);
	/* The first start knows nothing yet: it loads and records every file. */
	ck_assert(mapped(d.pid, "sleep.so"));
	ck_assert(wait_file(daemon_path(&d, "state/registry-cache"), "\"id\":\"sleep\"", 1000));
	stop();

	start(2);
	ck_assert(mapped(d.pid, "log.so"));
	ck_assert(!mapped(d.pid, "exec.so"));
	ck_assert(!mapped(d.pid, "sleep.so"));
	ck_assert_int_eq(daemon_ginictl(&d, &out, &err, "stages", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "/stages/exec.so"));
	ck_assert_ptr_nonnull(strstr(out, "/stages/sleep.so"));
	ck_assert_ptr_nonnull(strstr(out, "3 of 3 stage types"));
	daemon_signal(&d, SIGUSR1);
	ck_assert(daemon_wait_log(&d, "lazy hello", 1, 5000));

	write_conf(true);
	daemon_signal(&d, SIGHUP);
	ck_assert(daemon_wait_log(&d, "reloaded: generation 2", 1, 5000));
	ck_assert(mapped(d.pid, "exec.so"));
	ck_assert(!mapped(d.pid, "sleep.so"));
	daemon_signal(&d, SIGUSR2);
	ck_assert(wait_file(daemon_path(&d, "b.out"), "run", 5000));
	daemon_signal(&d, SIGUSR1);
	ck_assert(daemon_wait_log(&d, "lazy hello", 2, 5000));
}
END_TEST

/* A plugin file replaced between two starts is checked, and refused, again. */
START_TEST(daemon_rechecks_a_changed_file)
{
	struct timespec later[2] = { { .tv_sec = 2000000000 }, { .tv_sec = 2000000000 } };
	char src[4096], line[4200];

	daemon_init(&d, "lazy", "");
	stages_dir();
	write_conf(false);
	start(1);
	stop();
	snprintf(src, sizeof(src), "%s/tests/plugins/bad_major.so", test_build_dir());
	ck_assert_int_eq(unlink(daemon_path(&d, "stages/sleep.so")), 0);
	test_copy_file(src, daemon_path(&d, "stages/sleep.so"), 0755);
	ck_assert_int_eq(utimensat(AT_FDCWD, daemon_path(&d, "stages/sleep.so"), later, 0), 0);
	daemon_spawn(&d, daemon_path(&d, "stages"), NULL);
	ck_assert(daemon_wait_log(&d, "ready: generation 1 with 2 stage types", 1, 10000));
	snprintf(line, sizeof(line),
	         "plugin %s: refused: ABI major 2 is not supported (host ABI 1.1)",
	         daemon_path(&d, "stages/sleep.so"));
	ck_assert_uint_eq(daemon_log_count(&d, line), 1);
	ck_assert(!mapped(d.pid, "sleep.so"));
	ck_assert(!mapped(d.pid, "exec.so"));
}
END_TEST

/* What a scan without probing recorded is not taken by one that probes. */
START_TEST(daemon_probing_trusts_only_probed_entries)
{
	daemon_init(&d, "lazy", "");
	stages_dir();
	conf_prefix = "probe_plugins = false;\n";
	write_conf(false);
	start(1);
	stop();
	conf_prefix = "";
	write_conf(false);
	start(2);
	/* Probed and loaded in full, as without a cache... */
	ck_assert(mapped(d.pid, "sleep.so"));
	stop();
	/* ...and recorded as probed. */
	start(3);
	ck_assert(!mapped(d.pid, "sleep.so"));
	ck_assert(mapped(d.pid, "log.so"));
}
END_TEST

Suite *
lazy_suite(void)
{
	Suite *s = suite_create("lazy");
	TCase *tc = tcase_create("cache");
	TCase *td = tcase_create("daemon");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, cached_types_load_on_demand);
	tcase_add_test(tc, changed_file_is_checked_again);
	tcase_add_test(tc, bad_cache_file_ignored);
	suite_add_tcase(s, tc);
	tcase_set_timeout(td, 60);
	tcase_add_checked_fixture(td, NULL, daemon_teardown);
	tcase_add_test(td, daemon_maps_what_it_uses);
	tcase_add_test(td, daemon_rechecks_a_changed_file);
	tcase_add_test(td, daemon_probing_trusts_only_probed_entries);
	suite_add_tcase(s, td);
	return s;
}
