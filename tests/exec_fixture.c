/* SPDX-License-Identifier: MIT */
/* The executor suites' fixture: see exec_fixture.h. */
#include "exec_fixture.h"

#include "tests.h"

#include "config.h"
#include "diag.h"
#include "pipeline.h"
#include "registry.h"

#include <pthread.h>

struct exec_fixture xf;
static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static int n_done;

void
xf_setup(const struct gini_stage_descriptor *const *descs, size_t n)
{
	xf.reg = registry_new();
	for (size_t i = 0; i < n; i++) {
		struct stage_type *t = stage_type_new(descs[i], NULL, NULL);

		ck_assert_int_eq(registry_add(xf.reg, t), 0);
		stage_type_unref(t);
	}
	pthread_mutex_lock(&done_lock);
	n_done = 0;
	pthread_mutex_unlock(&done_lock);
}

void
xf_teardown(void)
{
	xf.ex = executor_free(xf.ex);
	xf.pl = pipeline_free(xf.pl);
	xf.cfg = config_free(xf.cfg);
	registry_free(xf.reg);
	xf.reg = NULL;
}

struct pipeline *
xf_compile(const char *text)
{
	struct diags d = { 0 };
	char buf[1024];

	xf.pl = pipeline_free(xf.pl);
	xf.cfg = config_free(xf.cfg);
	ck_assert_int_eq(config_load_string(text, "test.conf", "/nonexistent", NULL, &xf.cfg, &d),
	                 0);
	if (d.n == 0)
		ck_assert_int_eq(pipeline_compile(&xf.cfg->pipelines[0], xf.reg, &xf.pl, &d), 0);
	ck_assert_msg(d.n == 0, "%s", d.n ? diag_format(&d.v[0], buf, sizeof(buf)) : "");
	diags_done(&d);
	return xf.pl;
}

void
xf_on_done(struct run *r, void *userdata)
{
	(void)r;
	(void)userdata;
	pthread_mutex_lock(&done_lock);
	n_done++;
	pthread_cond_broadcast(&done_cond);
	pthread_mutex_unlock(&done_lock);
}

void
xf_wait_done(int n)
{
	pthread_mutex_lock(&done_lock);
	while (n_done < n)
		pthread_cond_wait(&done_cond, &done_lock);
	pthread_mutex_unlock(&done_lock);
}

struct run *
xf_run(unsigned workers)
{
	struct run *r = run_new(xf.pl, "test");
	int target;

	if (!xf.ex)
		xf.ex = executor_new(workers);
	r->on_done = xf_on_done;
	pthread_mutex_lock(&done_lock);
	target = n_done + 1;
	pthread_mutex_unlock(&done_lock);
	ck_assert_int_eq(executor_submit(xf.ex, r), 0);
	xf_wait_done(target);
	return r;
}

const struct step_result *
xf_result(struct run *r, const char *id)
{
	long i = pipeline_find_step(r->pipeline, id);

	ck_assert_msg(i >= 0, "no step %s", id);
	return &r->results[i];
}
