/* SPDX-License-Identifier: MIT */
/* Hostile corpus (hostile.h): output on stdout and stderr while loading. */
#define HOSTILE_NOISY_LOAD
#define HOSTILE_ID "hostile-noisy-load"
#include "hostile.h"
