/* SPDX-License-Identifier: MIT */
/*
 * The configuration reader: libconfig files in, plain structs out, and no
 * side effects. The main file holds the global settings and may hold
 * pipelines; every *.conf file of the include directories (sorted) holds
 * pipelines only. Each problem becomes a "FILE:LINE: message" diagnostic and
 * reading goes on, so one pass reports everything: unknown keys (with a
 * suggestion), wrong types, bad values, duplicate names across files. What
 * needs the registry (stage ids, params, the DAG) is checked by pipeline.c.
 * Files are read here, never by libconfig: only regular files, without ever
 * blocking (a reload runs on the event loop), and @include is expanded here
 * too, each line keeping its own file and line for the messages. Names
 * that start-up would resolve (the control groups) are resolved here, so
 * that `ginid -t` and a reload report them.
 *
 * This file loads: the main file, the include directories, the global
 * settings with their defaults, the command-line overrides, and freeing.
 * config_source.c makes the text libconfig parses (@include expanded, the
 * origin of each line), config_reader.c holds the typed getters that turn
 * problems into diagnostics, and config_pipeline.c reads the pipelines.
 */
#include "config.h"

#include "cleanup.h"
#include "config_internal.h"
#include "history.h"
#include "http.h"
#include "log.h"
#include "params.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef GINI_STAGE_DIR
#define GINI_STAGE_DIR "/usr/lib/gini/stages"
#endif

#ifndef GINI_CONTROL_SOCKET
#define GINI_CONTROL_SOCKET "/run/gini/ginid.sock"
#endif
#define DEFAULT_CONTROL_SOCKET GINI_CONTROL_SOCKET
#ifndef GINI_STATE_DIR
#define GINI_STATE_DIR "/var/lib/gini"
#endif
#define DEFAULT_STATE_DIR        GINI_STATE_DIR
#define DEFAULT_SHUTDOWN_TIMEOUT (30 * USEC_PER_SEC)
#define DEFAULT_PROBE_TIMEOUT    (5 * USEC_PER_SEC)

static const char *const main_keys[] = {
	"plugin_dirs",
	"include_dirs",
	"control_socket",
	"control_group",
	"state_dir",
	"control_readonly_group",
	"workers",
	"log_level",
	"shutdown_timeout",
	"probe_plugins",
	"probe_timeout",
	"isolate_stages",
	"pipelines",
	"control_max_connections_per_uid",
	"history_max_runs",
	"history_max_age",
	"history_output_max",
	"metrics_listen",
	"concurrency_groups",
};
static const char *const include_keys[] = { "pipelines" };

/* The run history's bounds (history.h). */
static void
get_history(struct reader *rd, const config_setting_t *root, struct gini_config *c)
{
	long long v;
	uint64_t age, size;

	if (reader_int(rd, root, "history_max_runs", "", 1, CONFIG_HISTORY_RUNS_MAX, &v) > 0)
		c->history_max_runs = (uint64_t)v;
	if (reader_duration(rd, root, "history_max_age", "", &age) > 0) {
		if (age < USEC_PER_MINUTE)
			diags_add(
			        rd->diags,
			        reader_file(rd, config_setting_get_member(root, "history_max_age")),
			        reader_line(rd, config_setting_get_member(root, "history_max_age")),
			        "'history_max_age': must be at least 1m");
		else
			c->history_max_age_usec = age;
	}
	if (reader_size(rd, root, "history_output_max", "", &size) > 0) {
		if (size > CONFIG_HISTORY_OUTPUT_MAX)
			diags_add(rd->diags,
			          reader_file(rd, config_setting_get_member(root,
			                                                    "history_output_max")),
			          reader_line(rd, config_setting_get_member(root,
			                                                    "history_output_max")),
			          "'history_output_max': at most 64M");
		else
			c->history_output_max = (size_t)size;
	}
}

/*
 * metrics_listen: "127.0.0.1:9464", "[::1]:9464" or an absolute path of a
 * unix socket. Only the form is checked here; http.c binds it.
 */
static void
read_metrics_listen(struct reader *rd, const config_setting_t *root)
{
	config_setting_t *s = config_setting_get_member(root, "metrics_listen");
	const char *v = reader_string(rd, root, "metrics_listen", "");
	char err[256];

	if (!v)
		return;
	if (http_parse_listen(v, NULL, err, sizeof(err)) < 0) {
		diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s), "'metrics_listen': %s",
		          err);
		return;
	}
	free(rd->c->metrics_listen);
	rd->c->metrics_listen = strdup(v);
}

/*
 * A group: a name, resolved here so that `ginid -t` and a reload report an
 * unknown one at its line instead of start-up failing later, or a number,
 * taken as the gid itself. The name is kept for messages.
 */
static int
read_group(struct reader *rd, const config_setting_t *root, const char *key, char **ret_name,
           gid_t *ret_gid)
{
	config_setting_t *s = config_setting_get_member(root, key);
	const char *name = reader_string(rd, root, key, "");
	struct group gr, *res = NULL;
	char buf[16384], *end;
	unsigned long n;
	int r;

	if (!name)
		return 0;
	free(*ret_name);
	*ret_name = strdup(name);
	n = strtoul(name, &end, 10);
	if (*name && !*end) {
		*ret_gid = (gid_t)n;
		return 1;
	}
	r = getgrnam_r(name, &gr, buf, sizeof(buf), &res);
	if (r == 0 && res) {
		*ret_gid = res->gr_gid;
		return 1;
	}
	/* Not found is 0 and NULL, or one of these, depending on the NSS module. */
	if (r == 0 || r == ENOENT || r == ESRCH || r == EBADF || r == EPERM)
		diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s),
		          "%s '%s': no such group", key, name);
	else
		diags_add(rd->diags, reader_file(rd, s), reader_line(rd, s),
		          "%s '%s': cannot look the group up: %s", key, name, strerror(r));
	return -1;
}

static void
read_globals(struct reader *rd, const config_setting_t *root)
{
	struct gini_config *c = rd->c;
	const char *s;
	long long v;

	reader_path_list(rd, root, "plugin_dirs", &c->plugin_dirs, &c->n_plugin_dirs);
	c->plugin_dirs_line = reader_line(rd, config_setting_get_member(root, "plugin_dirs"));
	reader_path_list(rd, root, "include_dirs", &c->include_dirs, &c->n_include_dirs);
	c->include_dirs_line = reader_line(rd, config_setting_get_member(root, "include_dirs"));
	reader_path(rd, root, "control_socket", &c->control_socket);
	reader_path(rd, root, "state_dir", &c->state_dir);
	read_metrics_listen(rd, root);
	read_group(rd, root, "control_group", &c->control_group, &c->control_gid);
	read_group(rd, root, "control_readonly_group", &c->control_readonly_group,
	           &c->control_readonly_gid);
	if (reader_int(rd, root, "control_max_connections_per_uid", "", 1, CONFIG_CONNS_PER_UID_MAX,
	               &v) > 0)
		c->control_max_connections_per_uid = (unsigned)v;
	if (reader_int(rd, root, "workers", "", 1, CONFIG_WORKERS_MAX, &v) > 0)
		c->workers = (unsigned)v;
	s = reader_string(rd, root, "log_level", "");
	if (s) {
		int l = log_level_from_string(s);
		static const char *const levels[] = { "error", "warning", "notice", "info",
			                              "debug" };

		if (l < 0) {
			const char *hint = closest_match(s, levels, ARRAY_SIZE(levels));

			diags_add(rd->diags, rd->file,
			          reader_line(rd, config_setting_get_member(root, "log_level")),
			          "'log_level': invalid value '%s'%s%s%s (expected error, warning, "
			          "notice, info or debug)",
			          s, hint ? "; did you mean '" : "", hint ? hint : "",
			          hint ? "'?" : "");
		} else {
			c->log_level = l;
		}
	}
	reader_duration(rd, root, "shutdown_timeout", "", &c->shutdown_timeout_usec);
	get_history(rd, root, c);
	config_flow_globals(rd, root);
	reader_bool(rd, root, "probe_plugins", "", &c->probe_plugins);
	if (reader_duration(rd, root, "probe_timeout", "", &c->probe_timeout_usec) > 0 &&
	    c->probe_timeout_usec < 100 * USEC_PER_MSEC) {
		diags_add(rd->diags,
		          reader_file(rd, config_setting_get_member(root, "probe_timeout")),
		          reader_line(rd, config_setting_get_member(root, "probe_timeout")),
		          "'probe_timeout': must be at least 100ms");
		c->probe_timeout_usec = DEFAULT_PROBE_TIMEOUT;
	}
	{
		config_setting_t *iso = config_setting_get_member(root, "isolate_stages");

		if (iso) {
			strv_free(c->isolate_stages);
			c->isolate_stages = NULL;
			c->n_isolate_stages = 0;
			(void)reader_strings(rd, iso, "isolate_stages", "", &c->isolate_stages,
			                     &c->n_isolate_stages);
		}
	}
}

/* Parses one file (or text) and reads what it may hold. */
static void
read_one(struct gini_config *c, struct diags *diags, const char *file, const char *text,
         bool is_main)
{
	struct reader rd = { .c = c, .diags = diags, .file = file, .is_main = is_main };
	struct source src = { .line = 1 };
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	config_t cfg;
	int ok;

	rd.dir = path_dirname(file);
	if (!rd.dir)
		return;
	if (text) {
		len = strlen(text);
	} else {
		int r = read_file(file, CONFIG_FILE_MAX, &buf, &len);

		if (r < 0) {
			diags_add(diags, file, 0, "cannot read: %s%s%s", source_read_error(r),
			          r == -EBADFD ? path_type_name(file) : "",
			          r == -EBADFD ? ")" : "");
			free(rd.dir);
			return;
		}
		text = buf;
	}
	if (source_expand(&src, diags, file, text, len, 0) < 0) {
		source_done(&src);
		free(rd.dir);
		return;
	}
	rd.src = &src;
	config_init(&cfg);
	/* Nothing is left for libconfig to include, and should its idea of a
	 * directive ever differ from source_expand()'s, it can open nothing. */
	config_set_include_dir(&cfg, INCLUDE_GUARD_DIR);
	ok = config_read_string(&cfg, src.text);
	if (!ok) {
		int line = config_error_line(&cfg);
		const struct origin *o = source_origin(&src, line);
		const char *et = config_error_text(&cfg);
		const char *ef = o ? o->file : file;

		line = reader_map_line(&rd, line);
		/* libconfig's most common text is just "syntax error". */
		if (!et || streq(et, "syntax error"))
			diags_add(diags, ef, line, "syntax error");
		else
			diags_add(diags, ef, line, "syntax error: %s", et);
	} else {
		config_setting_t *root = config_root_setting(&cfg);

		if (is_main) {
			reader_check_keys(&rd, root, main_keys, ARRAY_SIZE(main_keys), "", NULL, 0);
			read_globals(&rd, root);
		} else {
			reader_check_keys(&rd, root, include_keys, ARRAY_SIZE(include_keys), "",
			                  main_keys, ARRAY_SIZE(main_keys));
		}
		config_pipelines_read(&rd, root);
	}
	config_destroy(&cfg);
	source_done(&src);
	free(rd.dir);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
read_include_dir(struct gini_config *c, struct diags *diags, const char *dir, bool defaulted)
{
	_cleanup_strv_free_ char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	_cleanup_closedir_ DIR *d = opendir(dir);

	if (!d) {
		/* The default pipelines.d is optional; a configured one is not. */
		if (!(defaulted && errno == ENOENT))
			diags_add(diags, c->file, c->include_dirs_line, "include directory %s: %s",
			          dir, strerror(errno));
		return;
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (de->d_name[0] != '.' && l > 5 && streq(de->d_name + l - 5, ".conf"))
			strv_push(&names, &n, de->d_name);
	}
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *path = path_join(dir, names[i]);

		if (path && strv_push(&c->files, &c->n_files, path) >= 0)
			read_one(c, diags, path, NULL, false);
	}
}

static void
check_duplicates(struct gini_config *c, struct diags *diags)
{
	for (size_t i = 0; i < c->n_pipelines; i++) {
		struct pipeline_def *p = &c->pipelines[i];

		for (size_t j = 0; j < i; j++)
			if (p->name[0] != '#' && streq(p->name, c->pipelines[j].name)) {
				diags_add(diags, p->file, p->line,
				          "pipeline '%s': duplicate name; first defined at %s:%d",
				          p->name, c->pipelines[j].file, c->pipelines[j].line);
				break;
			}
	}
}

/*
 * text: the main file's contents, NULL to read file. includes: NULL to read
 * the include directories, else the texts that stand for their files.
 */
static int
load(const char *file, const char *text, const char *dir, const struct config_text *includes,
     size_t n_includes, const struct config_overrides *ov, struct gini_config **ret,
     struct diags *diags)
{
	struct gini_config *c = calloc(1, sizeof(*c));
	bool default_include = false;
	_cleanup_free_ char *main_dir = NULL;

	if (!c)
		return -ENOMEM;
	c->file = strdup(file);
	c->workers = (unsigned)MAX(sysconf(_SC_NPROCESSORS_ONLN), 1);
	c->log_level = LOG_INFO;
	c->control_max_connections_per_uid = CONFIG_CONNS_PER_UID_DEFAULT;
	c->shutdown_timeout_usec = DEFAULT_SHUTDOWN_TIMEOUT;
	c->history_max_runs = HISTORY_DEFAULT_MAX_RUNS;
	c->history_max_age_usec = HISTORY_DEFAULT_MAX_AGE;
	c->history_output_max = HISTORY_DEFAULT_OUTPUT_MAX;
	c->probe_plugins = true;
	c->probe_timeout_usec = DEFAULT_PROBE_TIMEOUT;
	c->control_socket = strdup(DEFAULT_CONTROL_SOCKET);
	c->state_dir = strdup(DEFAULT_STATE_DIR);
	if (!c->file || !c->control_socket || !c->state_dir ||
	    strv_push(&c->plugin_dirs, &c->n_plugin_dirs, GINI_STAGE_DIR) < 0 ||
	    strv_push(&c->files, &c->n_files, file) < 0) {
		config_free(c);
		return -ENOMEM;
	}
	read_one(c, diags, file, text, true);
	if (!c->include_dirs) {
		main_dir = dir ? strdup(dir) : path_dirname(file);
		_cleanup_free_ char *d = main_dir ? path_join(main_dir, "pipelines.d") : NULL;

		if (d)
			strv_push(&c->include_dirs, &c->n_include_dirs, d);
		default_include = true;
	}
	if (includes) {
		for (size_t i = 0; i < n_includes; i++)
			if (strv_push(&c->files, &c->n_files, includes[i].name) >= 0)
				read_one(c, diags, includes[i].name, includes[i].text, false);
	} else {
		for (size_t i = 0; i < c->n_include_dirs; i++)
			read_include_dir(c, diags, c->include_dirs[i], default_include);
	}
	check_duplicates(c, diags);
	config_triggers_check(c, diags);
	config_flow_check(c, diags);
	if (ov && ov->n_plugin_dirs) {
		strv_free(c->plugin_dirs);
		c->plugin_dirs = NULL;
		c->n_plugin_dirs = 0;
		c->plugin_dirs_from_cmdline = true;
		for (size_t i = 0; i < ov->n_plugin_dirs; i++)
			strv_push(&c->plugin_dirs, &c->n_plugin_dirs, ov->plugin_dirs[i]);
	}
	if (ov && ov->control_socket) {
		free(c->control_socket);
		c->control_socket = strdup(ov->control_socket);
	}
	if (ov && ov->state_dir) {
		free(c->state_dir);
		c->state_dir = strdup(ov->state_dir);
	}
	*ret = c;
	return 0;
}

int
config_load(const char *file, const struct config_overrides *ov, struct gini_config **ret,
            struct diags *diags)
{
	return load(file, NULL, NULL, NULL, 0, ov, ret, diags);
}

int
config_load_string(const char *text, const char *name, const char *dir,
                   const struct config_overrides *ov, struct gini_config **ret, struct diags *diags)
{
	return load(name, text, dir, NULL, 0, ov, ret, diags);
}

int
config_load_texts(const struct config_text *main_file, const struct config_text *includes,
                  size_t n_includes, const struct config_overrides *ov, struct gini_config **ret,
                  struct diags *diags)
{
	static const struct config_text none;

	return load(main_file->name, main_file->text, NULL, includes ? includes : &none, n_includes,
	            ov, ret, diags);
}

static void
step_def_done(struct step_def *s)
{
	free(s->iso.user);
	free(s->iso.group);
	free(s->id);
	free(s->stage);
	params_free(s->params);
	strv_free(s->after);
}

struct gini_config *
config_free(struct gini_config *c)
{
	if (!c)
		return NULL;
	for (size_t i = 0; i < c->n_pipelines; i++) {
		struct pipeline_def *p = &c->pipelines[i];

		for (size_t j = 0; j < p->n_steps; j++)
			step_def_done(&p->steps[j]);
		free(p->steps);
		free(p->name);
		free(p->description);
		free(p->on_failure_run);
		free(p->concurrency_group);
		free(p->file);
		trigger_def_done(&p->triggers);
		param_decls_free(p->params, p->n_params);
	}
	free(c->pipelines);
	for (size_t i = 0; i < c->n_concurrency_groups; i++)
		free(c->concurrency_groups[i].name);
	free(c->concurrency_groups);
	free(c->file);
	strv_free(c->plugin_dirs);
	strv_free(c->include_dirs);
	strv_free(c->files);
	strv_free(c->isolate_stages);
	free(c->control_socket);
	free(c->control_group);
	free(c->control_readonly_group);
	free(c->state_dir);
	free(c->metrics_listen);
	free(c);
	return NULL;
}
