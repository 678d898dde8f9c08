/* SPDX-License-Identifier: MIT */
/* Hostile corpus (hostile.h): none: the sane control, which reads and writes the run context. */
#define HOSTILE_ID "hostile-sane"
#include "hostile.h"
