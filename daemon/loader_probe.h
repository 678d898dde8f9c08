/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The probe client: runs gini-probe on one plugin file and reads its answer.
 * Depends on the child supervisor, jansson and util.c only (no libelf, no
 * libconfig), so that ginictl can link it for `ginictl inspect`.
 *
 * Probes path in a gini-probe process (with its load and unload hooks when
 * hooks is set). 0 if it is acceptable; else a negative errno value and the
 * reason: the probe's own refusal (-ENOEXEC), a crash (-ECHILD), no answer
 * (-EPROTO), no answer within timeout_usec (-ETIMEDOUT, the probe and all it
 * started are killed), or why it could not be run. probe is the helper to
 * run (NULL: helper_path("gini-probe")); ret_answer (may be NULL) gets the
 * probe's JSON answer when it gave one (malloc'ed).
 */
int loader_probe(const char *probe, const char *path, bool hooks, uint64_t timeout_usec,
                 char *reason, size_t size, char **ret_answer);
/*
 * The same on the sealed copy of path open at fd, which the probe gets as
 * its descriptor 3 (gini-probe --fd 3): the verdict is on those very bytes.
 */
int loader_probe_fd(const char *probe, const char *path, int fd, bool hooks, uint64_t timeout_usec,
                    char *reason, size_t size, char **ret_answer);
