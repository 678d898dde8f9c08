/* SPDX-License-Identifier: MIT */
/* Hostile corpus (hostile.h): an endless loop in create(). */
#define HOSTILE_HANG_CREATE
#define HOSTILE_ID "hostile-hang-create"
#include "hostile.h"
