/* SPDX-License-Identifier: MIT */
/*
 * Concurrency groups: per group, the runs in flight and the pipelines that
 * wait for one of its slots. The dispatch code (manager.c) asks for a slot
 * before it starts a run of a pipeline that names a group, gives it back
 * when the run ends, and then starts the pipeline that waited longest.
 * Groups are kept by name for the daemon's life, so a reload that changes
 * a group's limit or its pipelines counts the runs of old and new
 * definitions alike. Loop thread only: no locks.
 */
#include "concurrency.h"

#include "hashmap.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct group {
	char *name;
	unsigned running;
	char **waiting; /* pipeline names, oldest first; owned */
	size_t n_waiting;
};

struct concurrency {
	struct hashmap groups; /* name -> struct group */
};

struct concurrency *
concurrency_new(void)
{
	struct concurrency *c = calloc(1, sizeof(*c));

	if (c)
		hashmap_init(&c->groups);
	return c;
}

struct concurrency *
concurrency_free(struct concurrency *c)
{
	struct group *g;

	if (!c)
		return NULL;
	for (size_t i = 0; hashmap_next(&c->groups, &i, NULL, (void **)&g);) {
		for (size_t k = 0; k < g->n_waiting; k++)
			free(g->waiting[k]);
		free(g->waiting);
		free(g->name);
		free(g);
	}
	hashmap_done(&c->groups);
	free(c);
	return NULL;
}

static struct group *
get(struct concurrency *c, const char *name)
{
	struct group *g = hashmap_get(&c->groups, name);

	if (g)
		return g;
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->name = strdup(name);
	if (!g->name || hashmap_put(&c->groups, g->name, g) < 0) {
		free(g->name);
		free(g);
		return NULL;
	}
	return g;
}

bool
concurrency_take(struct concurrency *c, const char *group, unsigned limit)
{
	struct group *g = get(c, group);

	if (!g || g->running >= limit)
		return false;
	g->running++;
	return true;
}

void
concurrency_release(struct concurrency *c, const char *group)
{
	struct group *g = hashmap_get(&c->groups, group);

	if (g && g->running > 0)
		g->running--;
}

unsigned
concurrency_running(struct concurrency *c, const char *group)
{
	struct group *g = hashmap_get(&c->groups, group);

	return g ? g->running : 0;
}

int
concurrency_wait(struct concurrency *c, const char *group, const char *pipeline)
{
	struct group *g = get(c, group);
	char **v, *name;

	if (!g)
		return -ENOMEM;
	for (size_t k = 0; k < g->n_waiting; k++)
		if (streq(g->waiting[k], pipeline))
			return 0;
	name = strdup(pipeline);
	v = name ? realloc(g->waiting, (g->n_waiting + 1) * sizeof(*v)) : NULL;
	if (!v) {
		free(name);
		return -ENOMEM;
	}
	v[g->n_waiting++] = name;
	g->waiting = v;
	return 0;
}

char *
concurrency_next(struct concurrency *c, const char *group)
{
	struct group *g = hashmap_get(&c->groups, group);
	char *name;

	if (!g || g->n_waiting == 0)
		return NULL;
	name = g->waiting[0];
	memmove(g->waiting, g->waiting + 1, --g->n_waiting * sizeof(*g->waiting));
	return name;
}
