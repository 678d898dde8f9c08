/* SPDX-License-Identifier: MIT */
/* Hostile corpus (hostile.h): an endless loop in stage_descriptor(). */
#define HOSTILE_HANG_DESCRIPTOR
#define HOSTILE_ID "hostile-hang-descriptor"
#include "hostile.h"
