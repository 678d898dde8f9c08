/* SPDX-License-Identifier: MIT */
/* Hostile corpus (hostile.h): SIGSEGV in create(). */
#define HOSTILE_SEGV_CREATE
#define HOSTILE_ID "hostile-segv-create"
#include "hostile.h"
