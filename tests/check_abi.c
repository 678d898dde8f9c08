/* SPDX-License-Identifier: MIT */
/*
 * The plugin ABI, held still. <gini/stage.h> is append-only: this file pins
 * the offset and size of every field of every public struct as ABI 1.0 and
 * 1.1 laid them out, twice over: static assertions, so an accidental change
 * fails the build, and a table checked at run time, so a failure names the
 * field that moved. Then the mechanisms that let the ABI grow: the host's
 * own copy of each descriptor, a plugin built against the frozen 1.0 header
 * (tests/abi/gini-1.0) and one using the 1.1 addition param_double, both
 * loaded and run by a real ginid, and a 1.1 plugin on a 1.0 host table.
 */
#include "tests.h"
#include "test_stages.h"

#include "daemon.h"
#include "host.h"
#include "loader.h"
#include "params.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * The numbers are those of x86_64, and of every LP64 target (aarch64,
 * ppc64le, riscv64, s390x): 32-bit fields aligned on 4, pointers and
 * function pointers 8 bytes aligned on 8. On another data model they would
 * differ without anything being wrong, so there the table is not checked.
 */
#if defined(__LP64__) && __SIZEOF_POINTER__ == 8 && __SIZEOF_INT__ == 4
#define ABI_LP64 1
#else
#define ABI_LP64 0
#endif

struct abi_field {
	const char *type, *field, *since;
	size_t offset, size;           /* as the ABI fixes them (LP64) */
	size_t have_offset, have_size; /* as this build lays them out */
};

#define FIELD(s, f, since, off, sz)                                                                \
	{                                                                                          \
		"struct " #s, #f, since, off, sz, offsetof(struct s, f),                           \
		        sizeof(((struct s *)0)->f)                                                 \
	}

static const struct abi_field fields[] = {
	FIELD(gini_stage_descriptor, abi_major, "1.0", 0, 4),
	FIELD(gini_stage_descriptor, abi_minor, "1.0", 4, 4),
	FIELD(gini_stage_descriptor, struct_size, "1.0", 8, 4),
	FIELD(gini_stage_descriptor, flags, "1.0", 12, 4),
	FIELD(gini_stage_descriptor, id, "1.0", 16, 8),
	FIELD(gini_stage_descriptor, version, "1.0", 24, 8),
	FIELD(gini_stage_descriptor, summary, "1.0", 32, 8),
	FIELD(gini_stage_descriptor, category, "1.0", 40, 8),
	FIELD(gini_stage_descriptor, requires_ids, "1.0", 48, 8),
	FIELD(gini_stage_descriptor, load, "1.0", 56, 8),
	FIELD(gini_stage_descriptor, unload, "1.0", 64, 8),
	FIELD(gini_stage_descriptor, create, "1.0", 72, 8),
	FIELD(gini_stage_descriptor, destroy, "1.0", 80, 8),
	FIELD(gini_stage_descriptor, run, "1.0", 88, 8),
	FIELD(gini_stage_descriptor, describe, "1.0", 96, 8),
	FIELD(gini_stage_descriptor, check, "1.0", 104, 8),

	FIELD(gini_host, struct_size, "1.0", 0, 4),
	FIELD(gini_host, abi_major, "1.0", 4, 4),
	FIELD(gini_host, abi_minor, "1.0", 8, 4),
	FIELD(gini_host, reserved, "1.0", 12, 4),
	FIELD(gini_host, log, "1.0", 16, 8),
	FIELD(gini_host, logv, "1.0", 24, 8),
	FIELD(gini_host, set_message, "1.0", 32, 8),
	FIELD(gini_host, ctx_get, "1.0", 40, 8),
	FIELD(gini_host, ctx_set, "1.0", 48, 8),
	FIELD(gini_host, ctx_foreach, "1.0", 56, 8),
	FIELD(gini_host, param_string, "1.0", 64, 8),
	FIELD(gini_host, param_int, "1.0", 72, 8),
	FIELD(gini_host, param_bool, "1.0", 80, 8),
	FIELD(gini_host, param_duration, "1.0", 88, 8),
	FIELD(gini_host, param_strv, "1.0", 96, 8),
	FIELD(gini_host, cancelled, "1.0", 104, 8),
	FIELD(gini_host, deadline, "1.0", 112, 8),
	FIELD(gini_host, cancel_fd, "1.0", 120, 8),
	FIELD(gini_host, sleep, "1.0", 128, 8),
	FIELD(gini_host, param_double, "1.1", 136, 8),
};

/* The size of each struct at each minor: a 1.0 host table ends at 136. */
#define DESCRIPTOR_SIZE_1_0 112
#define DESCRIPTOR_SIZE_1_1 112
#define HOST_SIZE_1_0       136
#define HOST_SIZE_1_1       144

#if ABI_LP64
#define PIN(s, f, off, sz)                                                                         \
	_Static_assert(offsetof(struct s, f) == (off) && sizeof(((struct s *)0)->f) == (sz),       \
	               "ABI break: struct " #s " field " #f " moved or changed size")
PIN(gini_stage_descriptor, abi_major, 0, 4);
PIN(gini_stage_descriptor, abi_minor, 4, 4);
PIN(gini_stage_descriptor, struct_size, 8, 4);
PIN(gini_stage_descriptor, flags, 12, 4);
PIN(gini_stage_descriptor, id, 16, 8);
PIN(gini_stage_descriptor, version, 24, 8);
PIN(gini_stage_descriptor, summary, 32, 8);
PIN(gini_stage_descriptor, category, 40, 8);
PIN(gini_stage_descriptor, requires_ids, 48, 8);
PIN(gini_stage_descriptor, load, 56, 8);
PIN(gini_stage_descriptor, unload, 64, 8);
PIN(gini_stage_descriptor, create, 72, 8);
PIN(gini_stage_descriptor, destroy, 80, 8);
PIN(gini_stage_descriptor, run, 88, 8);
PIN(gini_stage_descriptor, describe, 96, 8);
PIN(gini_stage_descriptor, check, 104, 8);
PIN(gini_host, struct_size, 0, 4);
PIN(gini_host, abi_major, 4, 4);
PIN(gini_host, abi_minor, 8, 4);
PIN(gini_host, reserved, 12, 4);
PIN(gini_host, log, 16, 8);
PIN(gini_host, logv, 24, 8);
PIN(gini_host, set_message, 32, 8);
PIN(gini_host, ctx_get, 40, 8);
PIN(gini_host, ctx_set, 48, 8);
PIN(gini_host, ctx_foreach, 56, 8);
PIN(gini_host, param_string, 64, 8);
PIN(gini_host, param_int, 72, 8);
PIN(gini_host, param_bool, 80, 8);
PIN(gini_host, param_duration, 88, 8);
PIN(gini_host, param_strv, 96, 8);
PIN(gini_host, cancelled, 104, 8);
PIN(gini_host, deadline, 112, 8);
PIN(gini_host, cancel_fd, 120, 8);
PIN(gini_host, sleep, 128, 8);
PIN(gini_host, param_double, 136, 8);
_Static_assert(sizeof(struct gini_stage_descriptor) == DESCRIPTOR_SIZE_1_1,
               "ABI break: struct gini_stage_descriptor changed size");
_Static_assert(sizeof(struct gini_host) == HOST_SIZE_1_1,
               "ABI break: struct gini_host changed size");
#endif
_Static_assert(GINI_ABI_MAJOR == 1 && GINI_ABI_MINOR == 1,
               "a new minor appends fields: pin them here and in the table");

START_TEST(layout_pinned)
{
	size_t bad = 0, n_desc = 0, n_host = 0;

	if (!ABI_LP64) {
		printf("abi: layout_pinned skipped: the numbers pinned are those of LP64\n");
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		const struct abi_field *f = &fields[i];

		n_desc += strstr(f->type, "descriptor") != NULL;
		n_host += strstr(f->type, "host") != NULL;
		if (f->have_offset == f->offset && f->have_size == f->size)
			continue;
		fprintf(stderr,
		        "ABI break: %s field '%s' (@since %s) is at offset %zu, size %zu; ABI %s "
		        "fixed offset %zu, size %zu\n",
		        f->type, f->field, f->since, f->have_offset, f->have_size, f->since,
		        f->offset, f->size);
		bad++;
	}
	ck_assert_msg(bad == 0, "%zu fields of <gini/stage.h> moved (see above)", bad);
	/* Every field is in the table: the last one ends where the struct does. */
	ck_assert_uint_eq(n_desc, 16);
	ck_assert_uint_eq(n_host, 20);
	ck_assert_uint_eq(sizeof(struct gini_stage_descriptor), DESCRIPTOR_SIZE_1_1);
	ck_assert_uint_eq(sizeof(struct gini_host), HOST_SIZE_1_1);
	/* The daemon's idea of the smallest descriptor is the 1.0 size. */
	ck_assert_uint_eq(DESCRIPTOR_SIZE_V1_0, DESCRIPTOR_SIZE_1_0);
	/* The table the daemon hands out says what it is. */
	ck_assert_uint_eq(host_services.struct_size, HOST_SIZE_1_1);
	ck_assert_uint_eq(host_services.abi_major, 1);
	ck_assert_uint_eq(host_services.abi_minor, 1);
	ck_assert_ptr_nonnull(host_services.param_double);
}
END_TEST

/* GINI_HOST_HAS() on a 1.0-sized table and on this host's. */
START_TEST(host_has_follows_struct_size)
{
	struct gini_host h10 = host_services;

	h10.struct_size = offsetof(struct gini_host, param_double);
	ck_assert(GINI_HOST_HAS(&h10, sleep));
	ck_assert(!GINI_HOST_HAS(&h10, param_double));
	ck_assert(GINI_HOST_HAS(&host_services, param_double));
	if (ABI_LP64)
		ck_assert_uint_eq(h10.struct_size, HOST_SIZE_1_0);
}
END_TEST

/* ---- the host's copy of a descriptor ---- */

/*
 * A descriptor that claims more bytes than this host knows, and whose
 * object ends right before an unmapped page: the host copies only what it
 * knows (min(struct_size, its size)); reading struct_size bytes in place
 * would fault.
 */
START_TEST(copy_reads_no_more_than_the_host_knows)
{
	long page = sysconf(_SC_PAGESIZE);
	char *map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
	                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct gini_stage_descriptor *d, copy;
	char reason[256];

	ck_assert_ptr_ne(map, MAP_FAILED);
	ck_assert_int_eq(mprotect(map + page, (size_t)page, PROT_NONE), 0);
	d = (struct gini_stage_descriptor *)(map + page - sizeof(*d));
	*d = (struct gini_stage_descriptor){
		GINI_DESCRIPTOR_HEADER,   .id = "edge",       .version = "1.0.0",
		.summary = "at the edge", .category = "test", .run = test_noop_run,
	};
	d->struct_size = DESCRIPTOR_SIZE_MAX;
	memset(&copy, 0xa5, sizeof(copy));
	ck_assert_int_eq(descriptor_copy(d, &copy, reason, sizeof(reason)), 0);
	ck_assert_str_eq(copy.id, "edge");
	ck_assert_ptr_eq(copy.run, test_noop_run);
	ck_assert_uint_eq(copy.struct_size, DESCRIPTOR_SIZE_MAX);

	/* A header the host refuses: nothing past it is read, *ret untouched. */
	d->struct_size = 16;
	memset(&copy, 0xa5, sizeof(copy));
	ck_assert_int_eq(descriptor_copy(d, &copy, reason, sizeof(reason)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(reason, "descriptor size 16 is implausible"));
	ck_assert_uint_eq(copy.abi_major, 0xa5a5a5a5u);
	munmap(map, (size_t)page * 2);
}
END_TEST

static char *
plugin_path_in(const char *dir, const char *name)
{
	char src[4096], *dst;

	snprintf(src, sizeof(src), "%s/tests/plugins/%s", test_build_dir(), name);
	ck_assert_int_ne(asprintf(&dst, "%s/%s", dir, name), -1);
	test_copy_file(src, dst, 0755);
	return dst;
}

/*
 * mutable_desc.so clears its own run callback and spoils its id in its
 * first run(): the daemon, which reads only its copy, runs it again.
 */
START_TEST(plugin_rewriting_its_descriptor_changes_nothing)
{
	char *dir = test_tmpdir("abi-mutable");
	char *path = plugin_path_in(dir, "mutable_desc.so");
	struct plugin *p = NULL;
	const struct gini_stage_descriptor *d;
	char reason[512];

	ck_assert_msg(loader_open_file(path, 0, NULL, &p, reason, sizeof(reason)) == 0, "%s",
	              reason);
	d = plugin_descriptor(p);
	for (int i = 0; i < 2; i++) {
		struct gini_handle h;

		ck_assert_ptr_nonnull(d->run);
		handle_init(&h);
		ck_assert_int_eq(d->run(&host_services, &h, NULL), GINI_SUCCESS);
		ck_assert_str_eq(h.message, "ran; descriptor spoilt");
		handle_done(&h);
		ck_assert_str_eq(d->id, "mutable-desc");
		ck_assert_str_eq(d->summary, "Rewrites its descriptor when it runs");
	}
	plugin_close(p);
	free(path);
	test_rmtree(dir);
	free(dir);
}
END_TEST

/* ---- param_double, the 1.1 addition ---- */

START_TEST(param_double_reads_numbers)
{
	json_t *o = json_pack("{s:f, s:i, s:s, s:b}", "ratio", 0.25, "whole", 3, "name", "x",
	                      "flag", 1);
	struct gini_params *p = params_from_json(o);
	double v = -1;

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(host_services.param_double(p, "ratio", &v), 0);
	ck_assert(v == 0.25);
	ck_assert_int_eq(host_services.param_double(p, "whole", &v), 0);
	ck_assert(v == 3.0);
	v = -1;
	ck_assert_int_eq(host_services.param_double(p, "absent", &v), -ENOENT);
	ck_assert(v == -1);
	ck_assert_int_eq(host_services.param_double(p, "name", &v), -EINVAL);
	ck_assert_str_eq(p->error, "param 'name': expected a number, got a string");
	ck_assert_int_eq(host_services.param_double(p, "flag", &v), -EINVAL);
	ck_assert_str_eq(p->error, "param 'flag': expected a number, got a boolean");
	ck_assert(v == -1);
	/* What create() read is known, for the unknown-param report. */
	ck_assert_ptr_null(params_first_unused(p));
	params_free(p);
	json_decref(o);
}
END_TEST

/*
 * The 1.1 plugin on this host and on a 1.0 host's table (shorter, without
 * param_double): there its create() refuses, naming both ABIs, as
 * gini-stage(3) tells plugin authors to.
 */
START_TEST(abi11_plugin_checks_the_host)
{
	char *dir = test_tmpdir("abi-host10");
	char *path = plugin_path_in(dir, "abi11_ratio.so");
	json_t *o = json_pack("{s:s, s:f}", "out", "/nonexistent/out", "ratio", 0.5);
	struct gini_params *p = params_from_json(o);
	struct gini_host h10;
	struct plugin *pl = NULL;
	const struct gini_stage_descriptor *d;
	struct gini_handle h;
	void *inst = NULL;
	char reason[512];

	memset(&h10, 0, sizeof(h10));
	memcpy(&h10, &host_services, offsetof(struct gini_host, param_double));
	h10.struct_size = offsetof(struct gini_host, param_double);
	h10.abi_minor = 0;

	ck_assert_msg(loader_open_file(path, 0, NULL, &pl, reason, sizeof(reason)) == 0, "%s",
	              reason);
	d = plugin_descriptor(pl);
	ck_assert_uint_eq(d->abi_minor, 1);

	handle_init(&h);
	ck_assert_int_eq(d->create(&h10, &h, p, &inst), -ENOTSUP);
	ck_assert_str_eq(h.message,
	                 "needs a host with ABI 1.1 (param_double); this host has ABI 1.0");
	ck_assert_ptr_null(inst);
	handle_done(&h);

	handle_init(&h);
	ck_assert_int_eq(d->create(&host_services, &h, p, &inst), 0);
	ck_assert_ptr_nonnull(inst);
	d->destroy(&host_services, &h, inst);
	handle_done(&h);

	plugin_close(pl);
	params_free(p);
	json_decref(o);
	free(path);
	test_rmtree(dir);
	free(dir);
}
END_TEST

/*
 * The growth path end to end: a plugin built against the frozen 1.0 header
 * and one using param_double run side by side in a real ginid of ABI 1.1.
 */
START_TEST(abi10_and_abi11_plugins_run_on_this_host)
{
	struct daemon d;
	char *plugins, *out, *conf;

	daemon_init(&d, "abi-growth", "");
	plugins = strdup(daemon_path(&d, "stages"));
	out = strdup(daemon_path(&d, "out.txt"));
	ck_assert_int_eq(mkdir(plugins, 0755), 0);
	free(plugin_path_in(plugins, "abi10_count.so"));
	free(plugin_path_in(plugins, "abi11_ratio.so"));
	ck_assert_int_ne(asprintf(&conf,
	                          "workers = 2;\n"
	                          "pipelines = ({ name = \"grow\"; "
	                          "triggers = { signal = \"SIGUSR1\"; }; steps = (\n"
	                          "  { id = \"old\"; stage = \"abi10-count\"; params = { out = "
	                          "\"%s\"; count = 7; }; },\n"
	                          "  { id = \"new\"; stage = \"abi11-ratio\"; after = [\"old\"]; "
	                          "params = { out = \"%s\"; ratio = 0.125; }; }\n"
	                          "); });\n",
	                          out, out),
	                 -1);
	daemon_write(&d, "gini.conf", conf);
	daemon_spawn(&d, plugins, NULL);
	ck_assert(daemon_wait_notify(&d, "READY=1", 10000));
	daemon_signal(&d, SIGUSR1);
	ck_assert(wait_file(out, "abi11-ratio 0.125\n", 10000));
	ck_assert_uint_eq(file_count(out, "abi10-count 7 host 1.1"), 1);
	ck_assert_uint_eq(file_count(out, "abi11-ratio 0.125"), 1);
	daemon_done(&d);
	free(conf);
	free(out);
	free(plugins);
}
END_TEST

Suite *
abi_suite(void)
{
	Suite *s = suite_create("abi");
	TCase *tc;

	tc = tcase_create("layout");
	tcase_add_test(tc, layout_pinned);
	tcase_add_test(tc, host_has_follows_struct_size);
	suite_add_tcase(s, tc);

	tc = tcase_create("copy");
	tcase_add_test(tc, copy_reads_no_more_than_the_host_knows);
	tcase_add_test(tc, plugin_rewriting_its_descriptor_changes_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("growth");
	tcase_add_test(tc, param_double_reads_numbers);
	tcase_add_test(tc, abi11_plugin_checks_the_host);
	tcase_add_test(tc, abi10_and_abi11_plugins_run_on_this_host);
	suite_add_tcase(s, tc);
	return s;
}
