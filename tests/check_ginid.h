/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the ginid suite's files (check_ginid*.c) share: the daemon under
 * test and the pipelines written for it.
 */
#include "tests.h"

#include "daemon.h"

/* The suite's daemon, one per test (each runs in its own process). */
extern struct daemon gd_d;

/* The checked fixture's teardown: stops gd_d. */
void gd_teardown(void);
void gd_sleep_ms(int ms);
/* A pipeline whose exec step appends a line to FILE in the daemon's dir. */
char *gd_appender(const char *name, const char *triggers, const char *file, const char *extra);
/* Writes gini.conf with workers = 2 and pipelines. */
void gd_write_conf(const char *pipelines);
/* The TCase of check_ginid_once.c: ginid --once and -t. */
void ginid_once_tcases(Suite *s);
