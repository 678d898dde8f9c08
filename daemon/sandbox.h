/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct isolation;

/*
 * Whether a gini-worker started by this process could apply iso's limits
 * and switch to the given group and user, exactly as it will. 0, or a
 * negative errno with "cannot ...: WHY" in err, WHY naming the missing
 * capability or the system call a seccomp filter denies. Any thread.
 */
int sandbox_check_worker(const struct isolation *iso, bool set_uid, uid_t uid, bool set_gid,
                         gid_t gid, char *err, size_t size);
/* Whether this process may give a file it owns to group gid (chown). */
int sandbox_check_chown(gid_t gid, char *err, size_t size);
/* Why a chown() to gid failed with error errnum (positive), into err. */
void sandbox_explain_chown(int errnum, gid_t gid, char *err, size_t size);
