/* SPDX-License-Identifier: MIT */
/* Bad-plugin corpus: a shared object that exports something else. */
/* expect: does not export stage_descriptor */
#include <gini/stage.h>

GINI_EXPORT int not_a_stage_descriptor(void);

GINI_EXPORT int
not_a_stage_descriptor(void)
{
	return 42;
}
