/* SPDX-License-Identifier: MIT */
#pragma once

#include "verb.h"

/* The commands of the table in ginictl.c; each returns ginictl's exit status. */

/* cmd_daemon.c: what the daemon as a whole says. */
int cmd_status(struct ctl *c, const struct verb *v, int argc, char **argv);
int cmd_stages(struct ctl *c, const struct verb *v, int argc, char **argv);
int cmd_pipelines(struct ctl *c, const struct verb *v, int argc, char **argv);
int cmd_reload(struct ctl *c, const struct verb *v, int argc, char **argv);
int cmd_metrics(struct ctl *c, const struct verb *v, int argc, char **argv);
int cmd_health(struct ctl *c, const struct verb *v, int argc, char **argv);

/* cmd_runs.c: starting, cancelling and switching runs of pipelines. */
int cmd_run(struct ctl *c, const struct verb *v, int argc, char **argv);
int cmd_cancel(struct ctl *c, const struct verb *v, int argc, char **argv);
int cmd_enable(struct ctl *c, const struct verb *v, int argc, char **argv);
int cmd_disable(struct ctl *c, const struct verb *v, int argc, char **argv);

/* cmd_history.c: the recorded runs and their output. */
int cmd_history(struct ctl *c, const struct verb *v, int argc, char **argv);
int cmd_logs(struct ctl *c, const struct verb *v, int argc, char **argv);

/* cmd_inspect.c: a plugin file, without a daemon. */
int cmd_inspect(struct ctl *c, const struct verb *v, int argc, char **argv);
