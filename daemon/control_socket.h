/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct gini_config;

/* control_group and control_readonly_group, resolved to gids. */
struct control_groups {
	bool have_group, have_ro_group;
	gid_t group, ro_group;
};

/*
 * For `ginid -t`: whether control_group could be given the socket (the
 * groups were resolved when the configuration was read). 0, or -errno with
 * the reason in err.
 */
int control_check(const struct gini_config *cfg, char *err, size_t size);
/* The groups of cfg, as config.c resolved them. */
void control_groups_of(const struct gini_config *cfg, struct control_groups *ret);
/*
 * The listening socket: the one systemd passed (*ret_activated, *ret_path
 * NULL), or cfg's control_socket, made anew (a stale one replaced, a live
 * daemon's refused) with its group and mode set for groups. Every failure
 * is logged here, once. 0 with *ret_fd and *ret_path (malloc'ed), or
 * -errno. Loop thread, at start-up.
 */
int control_socket_open(const struct gini_config *cfg, const struct control_groups *groups,
                        int *ret_fd, char **ret_path, bool *ret_activated);
