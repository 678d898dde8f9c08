/* SPDX-License-Identifier: MIT */
/* Hostile corpus (hostile.h): an endless loop in the load hook. */
#define HOSTILE_HANG_LOAD
#define HOSTILE_ID "hostile-hang-load"
#include "hostile.h"
