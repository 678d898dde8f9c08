/* SPDX-License-Identifier: MIT */
/* Hostile corpus (hostile.h): allocation without bound in run(). */
#define HOSTILE_ALLOC_RUN
#define HOSTILE_ID "hostile-alloc-run"
#include "hostile.h"
