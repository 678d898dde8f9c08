/* SPDX-License-Identifier: MIT */
/* Hostile corpus (hostile.h): SIGSEGV in stage_descriptor(). */
#define HOSTILE_SEGV_DESCRIPTOR
#define HOSTILE_ID "hostile-segv-descriptor"
#include "hostile.h"
