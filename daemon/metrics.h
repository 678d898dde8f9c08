/* SPDX-License-Identifier: MIT */
#pragma once

struct manager;

/*
 * The daemon's metrics in the Prometheus text format, version 0.0.4
 * (malloc'ed), for `ginictl metrics` and GET /metrics. NULL without
 * memory. Loop thread.
 */
char *metrics_text(struct manager *m);
/*
 * What the HTTP endpoint (metrics_listen) serves, as http.c's
 * http_get_fn with userdata the manager: GET /metrics (the text above) and
 * GET /health (the JSON of `ginictl health`, status 200 or 503); 404 for
 * any other path. Loop thread.
 */
int metrics_http_get(const char *path, char **ret_body, const char **ret_type, void *userdata);
