/* SPDX-License-Identifier: MIT */
/* Hostile corpus (hostile.h): SIGSEGV in a constructor. */
#define HOSTILE_SEGV_CTOR
#define HOSTILE_ID "hostile-segv-ctor"
#include "hostile.h"
