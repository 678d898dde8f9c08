/* SPDX-License-Identifier: MIT */
/* Version 2.0.0 of versioned_v1.c: same id, a newer build. */
#define VERSIONED_VERSION "2.0.0"
#include "versioned_v1.c" /* NOLINT(bugprone-suspicious-include): the same source, rebuilt */
