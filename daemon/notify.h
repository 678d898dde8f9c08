/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

/*
 * sd_notify(3) messages to the service manager; all are no-ops when
 * NOTIFY_SOCKET is unset. Main thread. Never blocks for long.
 */
void notify_ready(const char *status);
void notify_reloading(void);
void notify_stopping(void);
/* Whether there is a service manager to tell (NOTIFY_SOCKET names one). */
bool notify_wanted(void);
void notify_status(const char *status);
/* Closes the socket (at exit, for leak checkers). */
void notify_done(void);
