/* SPDX-License-Identifier: MIT */
/* Hostile corpus (hostile.h): garbage on stdout and stderr in run(). */
#define HOSTILE_GARBAGE_RUN
#define HOSTILE_ID "hostile-garbage-run"
#include "hostile.h"
