/* SPDX-License-Identifier: MIT */
/* Bad-plugin corpus: the entry point returns NULL. */
/* expect: stage_descriptor() returned NULL */
#include <gini/stage.h>

GINI_EXPORT const struct gini_stage_descriptor *
stage_descriptor(void)
{
	return NULL;
}
