/* SPDX-License-Identifier: MIT */
#pragma once

#include <libconfig.h>

struct reader;

/* Reads root's 'pipelines' list, appending to rd->c->pipelines. */
void config_pipelines_read(struct reader *rd, const config_setting_t *root);
