/* SPDX-License-Identifier: MIT */
/*
 * ginictl inspect FILE: the daemon's own checks of a plugin file and its
 * descriptor, without a daemon. The gini-probe helper loads the file in a
 * child process (loader_probe()), so nothing the plugin does reaches us.
 */
#include "cmds.h"

#include "format.h"
#include "loader_probe.h"
#include "proto.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROBE_TIMEOUT_MS 5000

/* $GINI_PROBE, else where the daemon finds its helpers (util.c). */
static char *
probe_path(void)
{
	const char *env = getenv("GINI_PROBE");

	return env && *env ? strdup(env) : helper_path("gini-probe");
}

static void
print_descriptor(const char *path, json_t *d)
{
	json_t *fl = json_object_get(d, "flags"), *rq = json_object_get(d, "requires");
	json_t *cb = json_object_get(d, "callbacks");

	printf("file:      %s\nid:        %s\nversion:   %s\nabi:       %s (descriptor %lld "
	       "bytes)\ncategory:  %s\nsummary:   %s\n",
	       path, fmt_str(d, "id"), fmt_str(d, "version"), fmt_str(d, "abi"),
	       (long long)json_integer_value(json_object_get(d, "struct_size")),
	       fmt_str(d, "category"), fmt_str(d, "summary"));
	printf("flags:    ");
	for (size_t i = 0; i < json_array_size(fl); i++)
		printf(" %s", json_string_value(json_array_get(fl, i)));
	printf("%s\nrequires: ", json_array_size(fl) ? "" : " none");
	for (size_t i = 0; i < json_array_size(rq); i++)
		printf(" %s", json_string_value(json_array_get(rq, i)));
	printf("%s\ncallbacks:", json_array_size(rq) ? "" : " none");
	for (size_t i = 0; i < json_array_size(cb); i++)
		printf(" %s", json_string_value(json_array_get(cb, i)));
	printf("\n");
}

int
cmd_inspect(struct ctl *c, const struct verb *v, int argc, char **argv)
{
	char *probe = NULL, *answer = NULL, *file = NULL, reason[4096];
	json_t *r = NULL;
	int k, ret;

	k = verb_getopt(c, v, argc, argv, "h", verb_help_only, verb_no_opt, NULL);
	if (k == -2)
		return 0;
	if (k < 0 || argc - k != 1) {
		if (k >= 0)
			fprintf(stderr, "ginictl inspect: exactly one FILE expected\n");
		return CTL_EXIT_USAGE;
	}
	/* A bare "hello.so" means the file here: dlopen() would search the
	 * library path for a name without a slash. */
	if (!strchr(argv[k], '/') && asprintf(&file, "./%s", argv[k]) < 0) {
		fprintf(stderr, "ginictl: out of memory\n");
		return CTL_EXIT_FAILED;
	}
	/* The daemon's own probe, without hooks: the checks and the descriptor. */
	probe = probe_path();
	ret = loader_probe(probe, file ? file : argv[k], false, PROBE_TIMEOUT_MS * USEC_PER_MSEC,
	                   reason, sizeof(reason), &answer) < 0
	              ? CTL_EXIT_FAILED
	              : 0;
	r = answer ? json_loads(answer, 0, NULL) : NULL;
	if (c->json && r) {
		fmt_json(r);
	} else if (ret) {
		char *safe = fmt_escape(reason, false);

		fprintf(stderr, "%s: refused: %s\n", argv[k], safe ? safe : reason);
		free(safe);
	} else {
		fmt_defang(r, false);
		print_descriptor(argv[k], json_object_get(r, "descriptor"));
	}
	json_decref(r);
	free(answer);
	free(probe);
	free(file);
	return ret;
}
