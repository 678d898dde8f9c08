/* SPDX-License-Identifier: MIT */
/* Hostile corpus (hostile.h): SIGSEGV in run(). */
#define HOSTILE_SEGV_RUN
#define HOSTILE_ID "hostile-segv-run"
#include "hostile.h"
