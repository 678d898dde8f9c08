/* SPDX-License-Identifier: MIT */
/* Hostile corpus (hostile.h): SIGSEGV in the load hook. */
#define HOSTILE_SEGV_LOAD
#define HOSTILE_ID "hostile-segv-load"
#include "hostile.h"
