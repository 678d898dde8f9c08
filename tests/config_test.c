/* SPDX-License-Identifier: MIT */
/*
 * The fixture of the configuration suites (config_test.h): the stage types
 * a test registry holds, the per-test directory, and the helpers that load,
 * compile and compare diagnostics to the letter.
 */
#include "config_test.h"
#include "test_stages.h"

#include "config.h"
#include "cron.h"
#include "generation.h"
#include "log.h"
#include "params.h"
#include "pipeline.h"
#include "registry.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *ct_dir;
struct diags ct_diags;
struct gini_config *ct_cfg;
struct registry *ct_reg;
struct generation *ct_gen;
int ct_live;
const char *ct_context;

/* ---- builtin stage types ---- */

/*
 * "exec" asks for a typed param of every kind and fails, without a message of
 * its own, on the first one the host says has the wrong type (the accessors
 * return -ENOENT for an absent param and -EINVAL for a mismatch).
 */
static int
exec_create(const struct gini_host *host, struct gini_handle *h, const struct gini_params *p,
            void **ret)
{
	const char *const *argv;
	const char *path;
	int64_t count;
	int32_t verbose;
	uint64_t timeout;
	size_t n;
	int r;

	(void)h;
	if ((r = host->param_strv(p, "argv", &argv, &n)) == -EINVAL ||
	    (r = host->param_string(p, "path", &path)) == -EINVAL ||
	    (r = host->param_int(p, "count", &count)) == -EINVAL ||
	    (r = host->param_bool(p, "verbose", &verbose)) == -EINVAL ||
	    (r = host->param_duration(p, "timeout", &timeout)) == -EINVAL)
		return r;
	*ret = malloc(1);
	if (!*ret)
		return -ENOMEM;
	ct_live++;
	return 0;
}

static void
exec_destroy(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	free(instance);
	ct_live--;
}

/* "strict" rejects its params with a message of its own. */
static int
strict_create(const struct gini_host *host, struct gini_handle *h, const struct gini_params *p,
              void **ret)
{
	const char *mode = NULL;

	host->param_string(p, "mode", &mode);
	if (!mode || (!streq(mode, "fast") && !streq(mode, "safe"))) {
		host->set_message(h, "'mode' must be 'fast' or 'safe', not '%s'",
		                  mode ? mode : "(unset)");
		return -EINVAL;
	}
	*ret = NULL;
	return 0;
}

/* "silent" rejects everything and says nothing. */
static int
silent_create(const struct gini_host *host, struct gini_handle *h, const struct gini_params *p,
              void **ret)
{
	(void)host;
	(void)h;
	(void)p;
	(void)ret;
	return -EINVAL;
}

#define DESC(var, name, ...)                                                                       \
	static const struct gini_stage_descriptor var = TEST_NOOP_STAGE(name, __VA_ARGS__)
DESC(exec_desc, "exec", .create = exec_create, .destroy = exec_destroy);
DESC(strict_desc, "strict", .create = strict_create);
DESC(silent_desc, "silent", .create = silent_create);
DESC(noop_desc, "noop", .flags = GINI_STAGE_CONCURRENT);
DESC(check_path_desc, "check-path", .flags = GINI_STAGE_CONCURRENT);
DESC(check_command_desc, "check-command", .flags = GINI_STAGE_CONCURRENT);

/* ---- helpers ---- */

/* DIR/rel, in one of a ring of static buffers. */
const char *
ct_at(const char *rel)
{
	static char buf[32][4096];
	static unsigned next;
	char *b = buf[next++ % 32];

	if (rel[0] == '/')
		snprintf(b, sizeof(buf[0]), "%s", rel);
	else
		snprintf(b, sizeof(buf[0]), "%s/%s", ct_dir, rel);
	return b;
}

/* printf into one of a ring of static buffers (expected messages with paths). */
const char *
ct_fmt(const char *f, ...)
{
	static char buf[32][1024];
	static unsigned next;
	char *b = buf[next++ % 32];
	va_list ap;

	va_start(ap, f);
	vsnprintf(b, sizeof(buf[0]), f, ap);
	va_end(ap);
	return b;
}

void
ct_make_dir(const char *rel)
{
	const char *p = ct_at(rel);

	ck_assert_msg(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", p, strerror(errno));
	ck_assert_int_eq(chmod(p, 0755), 0);
}

/* Writes DIR/rel, making its parent directories. */
void
ct_put(const char *rel, const char *text)
{
	char parent[4096];

	for (const char *s = strchr(rel, '/'); s; s = strchr(s + 1, '/')) {
		snprintf(parent, sizeof(parent), "%.*s", (int)(s - rel), rel);
		ct_make_dir(parent);
	}
	test_write_file(ct_at(rel), text, 0644);
}

void
ct_load_ov(const char *rel, const struct config_overrides *ov)
{
	ct_cfg = config_free(ct_cfg);
	diags_done(&ct_diags);
	ck_assert_int_eq(config_load(ct_at(rel), ov, &ct_cfg, &ct_diags), 0);
	ck_assert_ptr_nonnull(ct_cfg);
}

void
ct_load(const char *rel)
{
	ct_load_ov(rel, NULL);
}

/* Writes DIR/gini.conf and loads it. */
void
ct_load_main(const char *text)
{
	ct_put("gini.conf", text);
	ct_load("gini.conf");
}

/* Asserts that d holds exactly w, in order, then empties d. at: the caller's line. */
void
ct_expect_diags(const struct want *w, size_t n, int at_line)
{
	char all[32768], buf[2048], where[4200];
	size_t off = 0;

	if (ct_context)
		snprintf(where, sizeof(where), "%s", ct_context);
	else
		snprintf(where, sizeof(where), "line %d", at_line);
	all[0] = 0;
	for (size_t i = 0; i < ct_diags.n && off < sizeof(all); i++)
		off += (size_t)snprintf(all + off, sizeof(all) - off, "  %s\n",
		                        diag_format(&ct_diags.v[i], buf, sizeof(buf)));
	ck_assert_msg(ct_diags.n == n, "(%s) want %zu diagnostics, got %zu:\n%s", where, n,
	              ct_diags.n, all);
	for (size_t i = 0; i < n; i++) {
		const char *file = w[i].file ? ct_at(w[i].file) : NULL;

		ck_assert_msg(streq_ptr(ct_diags.v[i].file, file) &&
		                      ct_diags.v[i].line == w[i].line &&
		                      streq(ct_diags.v[i].msg, w[i].msg),
		              "(%s) diagnostic %zu: want\n  %s:%d: %s\ngot:\n%s", where, i + 1,
		              file ? file : "(no file)", w[i].line, w[i].msg, all);
	}
	diags_done(&ct_diags);
}

/* The pipeline_def called name. */
struct pipeline_def *
ct_def(const char *name)
{
	for (size_t i = 0; i < ct_cfg->n_pipelines; i++)
		if (streq(ct_cfg->pipelines[i].name, name))
			return &ct_cfg->pipelines[i];
	ck_abort_msg("no pipeline '%s'", name);
	return NULL;
}

/* Compiles the pipeline called name against the builtin registry. */
int
ct_compile(const char *name)
{
	struct pipeline *p = NULL;
	int r = pipeline_compile(ct_def(name), ct_reg, &p, &ct_diags);

	ck_assert(r == 0 ? p != NULL : p == NULL);
	pipeline_free(p);
	return r;
}

/* The real test plugins good-a and good-b in DIR/plug, for generation_build. */
void
ct_plugins(void)
{
	ct_make_dir("plug");
	test_copy_file(test_build_path("tests/plugins/good_a.so"), ct_at("plug/good_a.so"), 0755);
	test_copy_file(test_build_path("tests/plugins/good_b.so"), ct_at("plug/good_b.so"), 0755);
}

/* Builds a generation from DIR/gini.conf into ct_gen (freed by ct_teardown). */
struct generation *
ct_build(void)
{
	ct_gen = generation_unref(ct_gen);
	diags_done(&ct_diags);
	ck_assert_int_eq(generation_build(ct_at("gini.conf"), NULL, NULL, 1, &ct_gen, &ct_diags),
	                 0);
	ck_assert_ptr_nonnull(ct_gen);
	return ct_gen;
}

/* cron_parse()'s own message for expr, which the config message must carry. */
const char *
ct_cron_error(const char *expr)
{
	static char buf[8][256];
	static unsigned next;
	char *b = buf[next++ % 8];
	struct cron c;

	ck_assert_int_eq(cron_parse(expr, &c, b, sizeof(buf[0])), -EINVAL);
	ck_assert_msg(b[0], "cron_parse gave no message for '%s'", expr);
	return b;
}

static void
ct_setup(void)
{
	const struct gini_stage_descriptor *all[] = {
		&exec_desc, &strict_desc,     &silent_desc,
		&noop_desc, &check_path_desc, &check_command_desc,
	};

	ct_dir = test_tmpdir("config");
	ct_reg = registry_new();
	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		struct stage_type *t = stage_type_new(all[i], NULL, NULL);

		ck_assert_ptr_nonnull(t);
		ck_assert_int_eq(registry_add(ct_reg, t), 0);
		stage_type_unref(t);
	}
	memset(&ct_diags, 0, sizeof(ct_diags));
	ct_cfg = NULL;
	ct_gen = NULL;
	ct_live = 0;
	ct_context = NULL;
	/* The loader logs what it loads; keep the test output to the results. */
	test_log_capture_start();
}

static void
ct_teardown(void)
{
	test_log_capture_stop();
	ct_gen = generation_unref(ct_gen);
	ct_cfg = config_free(ct_cfg);
	diags_done(&ct_diags);
	ct_reg = registry_free(ct_reg);
	test_rmtree(ct_dir);
	free(ct_dir);
	ct_dir = NULL;
}

TCase *
ct_tcase(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, ct_setup, ct_teardown);
	suite_add_tcase(s, tc);
	return tc;
}
