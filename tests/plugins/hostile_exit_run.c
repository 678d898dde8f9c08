/* SPDX-License-Identifier: MIT */
/* Hostile corpus (hostile.h): exit(0) in run(). */
#define HOSTILE_EXIT_RUN
#define HOSTILE_ID "hostile-exit-run"
#include "hostile.h"
