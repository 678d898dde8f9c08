/* SPDX-License-Identifier: MIT */
/* Hostile corpus (hostile.h): abort() in run(). */
#define HOSTILE_ABORT_RUN
#define HOSTILE_ID "hostile-abort-run"
#include "hostile.h"
