/* SPDX-License-Identifier: MIT */
#pragma once

struct manager;

/*
 * The daemon's metrics in the Prometheus text format, version 0.0.4
 * (malloc'ed), for `ginictl metrics` and GET /metrics. NULL without
 * memory. Loop thread.
 */
char *metrics_text(struct manager *m);
