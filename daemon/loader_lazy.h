/* SPDX-License-Identifier: MIT */
#pragma once

#include <gini/stage.h>
#include <stddef.h>

struct plugin;

/*
 * Loads a plugin made by plugin_new_unloaded() the way a scan loads one:
 * the file checks again, the key compared with the one registered (a file
 * that changed since is refused, -ESTALE), the sealed copy, the probe if it
 * was asked for, dlopen(), the descriptor and the load hook. On success the
 * plugin stays loaded and *ret is its descriptor; an already loaded plugin
 * returns at once. The stage type's open callback. Main thread only.
 */
int plugin_load(struct plugin *p, const struct gini_stage_descriptor **ret, char *reason,
                size_t size);
