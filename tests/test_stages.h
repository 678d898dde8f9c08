/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The stages that tests define again and again, in one place: a run()
 * callback that does nothing and succeeds, and a descriptor around it. Built
 * on <gini/stage.h> alone, so that the test plugins (the .c files of tests/plugins/,
 * compiled like third-party plugins, which see nothing of the daemon) and the
 * in-process tests (tests/check_*.c) share the same definitions.
 *
 * A test that needs a stage whose behaviour matters writes its own; one that
 * needs "some valid stage" takes TEST_NOOP_STAGE(id). A bad-plugin fixture
 * sets the one field it breaks and takes test_noop_run for its run().
 */
#include <gini/stage.h>

/* run(): nothing to do, success. Any thread, never blocks. */
__attribute__((unused)) static int
test_noop_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	(void)instance;
	return GINI_SUCCESS;
}

/*
 * The initialiser of a valid descriptor for a stage id that does nothing:
 * version 1.0.0, category "test", summary "test", run test_noop_run, plus
 * any further designated initialisers (fields the macro does not set, such
 * as .flags or .create).
 */
#define TEST_NOOP_STAGE(id_, ...)                                                                  \
	{                                                                                          \
		GINI_DESCRIPTOR_HEADER, .id = (id_), .version = "1.0.0", .summary = "test",        \
		                        .category = "test", .run = test_noop_run, __VA_ARGS__      \
	}
