/* SPDX-License-Identifier: MIT */
/* Hostile corpus (hostile.h): an endless loop in a constructor. */
#define HOSTILE_HANG_CTOR
#define HOSTILE_ID "hostile-hang-ctor"
#include "hostile.h"
