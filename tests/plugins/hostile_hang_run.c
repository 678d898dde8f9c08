/* SPDX-License-Identifier: MIT */
/* Hostile corpus (hostile.h): an endless loop in run() that ignores cancellation. */
#define HOSTILE_HANG_RUN
#define HOSTILE_ID "hostile-hang-run"
#include "hostile.h"
