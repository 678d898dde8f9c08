/* SPDX-License-Identifier: MIT */
/*
 * gini-probe: loads one plugin file in a process of its own and reports what
 * it found, so the caller survives whatever the plugin does at load time.
 * It runs the loader's checks, dlopen()s the file, reads and validates the
 * descriptor, and calls nothing else; with --hooks (how ginid probes) it
 * also runs the plugin's load and unload hooks, so a plugin that dies there
 * dies here. ginid passes, with --fd N, the sealed private copy of the file
 * it is about to load (see loader.c), so the verdict is on the very bytes
 * it maps, whatever happens to the file meanwhile; without --fd (ginictl
 * inspect) the file itself is checked and copied here. The answer is one
 * JSON object on stdout:
 *
 *	{"ok": true, "path": ..., "descriptor": {"id": ..., ...}}
 *	{"ok": false, "path": ..., "reason": "..."}
 *
 * Exit status 0 when the file is an acceptable plugin, 1 when it is refused,
 * 2 on a usage error. A crash or a hang is the caller's to notice.
 */
#include "loader.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_t *
descriptor_json(const struct gini_stage_descriptor *d)
{
	json_t *flags = json_array(), *req = json_array(), *cbs = json_array();
	char abi[32];

	snprintf(abi, sizeof(abi), "%u.%u", d->abi_major, d->abi_minor);
	if (d->flags & GINI_STAGE_DRY_RUN)
		json_array_append_new(flags, json_string("dry-run"));
	if (d->flags & GINI_STAGE_CONCURRENT)
		json_array_append_new(flags, json_string("concurrent"));
	for (const char *const *p = d->requires_ids; p && *p; p++)
		json_array_append_new(req, json_string(*p));
#define CB(name)                                                                                   \
	if (d->name)                                                                               \
		json_array_append_new(cbs, json_string(#name));
	CB(load)
	CB(unload)
	CB(create)
	CB(destroy)
	CB(run)
	CB(describe)
	CB(check)
#undef CB
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:o, s:o, s:o}", "id", d->id, "version",
	                 d->version, "abi", abi, "category", d->category, "summary", d->summary,
	                 "struct_size", (int)d->struct_size, "flags", flags, "requires", req,
	                 "callbacks", cbs);
}

static bool
fd_arg(const char *s, int *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 3 || v > 65535)
		return false;
	*ret = (int)v;
	return true;
}

int
main(int argc, char **argv)
{
	struct plugin *p = NULL;
	char reason[4096];
	json_t *out;
	char *text;
	sigset_t mask;
	int r, answer;

	bool hooks = false, usage = argc < 2;
	const char *path = argv[argc - 1];
	int fd = -1;

	for (int i = 1; i < argc - 1 && !usage; i++) {
		if (streq(argv[i], "--hooks"))
			hooks = true;
		else if (streq(argv[i], "--fd") && i + 1 < argc - 1 && fd_arg(argv[i + 1], &fd))
			i++;
		else
			usage = true;
	}
	if (usage || path[0] == '-') {
		fprintf(stderr,
		        "Usage: gini-probe [--hooks] [--fd N] FILE.so\n"
		        "Loads a gini stage plugin in this process and prints its descriptor "
		        "as JSON.\n"
		        "With --hooks, also calls its load and unload hooks; with --fd, "
		        "loads the sealed copy of FILE.so open at N.\n");
		return 2;
	}
	/* The hooks run as in ginid: every signal blocked, SIGPIPE ignored. */
	sigfillset(&mask);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* The answer alone goes to stdout: what the plugin prints there while
	 * it loads goes to stderr, so it cannot garble or forge the answer. */
	answer = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	if (answer < 0)
		answer = STDOUT_FILENO;
	else
		(void)dup2(STDERR_FILENO, STDOUT_FILENO);
	/* The loader's own log lines would only garble the answer. */
	log_set_level(LOG_EMERG);
	if (fd >= 0)
		r = loader_open_sealed(fd, path, hooks ? 0 : LOADER_NO_HOOKS, &p, reason,
		                       sizeof(reason));
	else
		r = loader_open_file(path, hooks ? 0 : LOADER_NO_HOOKS, NULL, &p, reason,
		                     sizeof(reason));
	/* The unload hook (if any) runs before the answer: it may crash too. */
	if (r >= 0) {
		out = json_pack("{s:b, s:s, s:o}", "ok", 1, "path", path, "descriptor",
		                descriptor_json(plugin_descriptor(p)));
		plugin_close(p);
		p = NULL;
	} else {
		out = json_pack("{s:b, s:s, s:s}", "ok", 0, "path", path, "reason", reason);
	}
	text = out ? json_dumps(out, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	if (text)
		dprintf(answer, "%s\n", text);
	free(text);
	json_decref(out);
	plugin_close(p);
	return r < 0 ? 1 : 0;
}
