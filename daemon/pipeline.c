/* SPDX-License-Identifier: MIT */
/*
 * The pipeline compiler: a pipeline_def (what the config said) becomes an
 * immutable DAG of steps bound to registered stage types, each with the
 * instance its stage's create() made from the step's params. It checks what
 * config.c could not: step ids and their 'after' references, cycles (printed
 * whole), stage ids (with close matches), and params (the stage's own
 * verdict, then any param it never asked for). Every problem is reported; a
 * pipeline with any problem is freed again, never half-loaded. The graph
 * itself (ids, 'after', order, cycles) is pipeline_dag.c's.
 */
#include "pipeline.h"

#include "pipeline_internal.h"
#include "diag.h"
#include "host.h"
#include "isolate.h"
#include "loader.h"
#include "log.h"
#include "params.h"
#include "registry.h"
#include "sandbox.h"
#include "util.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
step_done(struct step *s, const char *pipeline)
{
	if (s->created && s->type && s->type->desc->destroy) {
		struct gini_handle h;

		handle_init(&h);
		h.pipeline = pipeline;
		h.step = s->id;
		h.stage = s->type->id;
		s->type->desc->destroy(&host_services, &h, s->instance);
		handle_done(&h);
	}
	s->created = false;
	stage_type_unref(s->type);
	s->type = NULL;
	params_free(s->params);
	free(s->iso.user);
	free(s->iso.group);
	free(s->id);
	free(s->stage_id);
	free(s->pred);
	free(s->succ);
	pthread_mutex_destroy(&s->serial);
}

struct pipeline *
pipeline_free(struct pipeline *p)
{
	if (!p)
		return NULL;
	/* Destroy in reverse order of creation. */
	for (size_t i = p->steps ? p->n_steps : 0; i-- > 0;)
		step_done(&p->steps[i], p->name);
	free(p->steps);
	free(p->order);
	free(p->name);
	free(p->description);
	free(p->on_failure_run);
	free(p->concurrency_group);
	free(p->file);
	trigger_def_done(&p->triggers);
	param_decls_free(p->params, p->n_params);
	free(p);
	return NULL;
}

int
pipeline_run_params(const struct pipeline *p, const char *const *given, size_t n_given, char ***ret,
                    char *err, size_t err_size)
{
	const char **values = calloc(p->n_params + 1, sizeof(char *));
	char **v = NULL;
	char why[256];
	int r = -EINVAL;

	if (!values)
		return -ENOMEM;
	for (size_t i = 0; i < n_given; i++) {
		const char *key = given[2 * i], *value = given[2 * i + 1];
		size_t k;

		for (k = 0; k < p->n_params && !streq(p->params[k].name, key); k++)
			;
		if (k == p->n_params) {
			const char **names = calloc(p->n_params + 1, sizeof(char *));
			const char *hint = NULL;

			for (size_t j = 0; names && j < p->n_params; j++)
				names[j] = p->params[j].name;
			if (names)
				hint = closest_match(key, names, p->n_params);
			snprintf(err, err_size, "pipeline '%s' has no param '%.64s'%s%s%s", p->name,
			         key, hint ? "; did you mean '" : "", hint ? hint : "",
			         hint ? "'?" : "");
			free(names);
			goto out;
		}
		if (values[k]) {
			snprintf(err, err_size, "param '%s' given twice", key);
			goto out;
		}
		if (param_decl_check(&p->params[k], value, why, sizeof(why)) < 0) {
			snprintf(err, err_size, "param '%s': %s", key, why);
			goto out;
		}
		values[k] = value;
	}
	v = calloc(2 * p->n_params + 1, sizeof(char *));
	if (!v) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < p->n_params; k++) {
		const char *value = values[k] ? values[k] : p->params[k].def;

		if (!value) {
			snprintf(err, err_size, "param '%s' is required (it has no default)",
			         p->params[k].name);
			goto out;
		}
		v[2 * k] = strdup(p->params[k].name);
		v[2 * k + 1] = strdup(value);
		if (!v[2 * k] || !v[2 * k + 1]) {
			free(v[2 * k]);
			v[2 * k] = NULL;
			r = -ENOMEM;
			goto out;
		}
	}
	*ret = steal_ptr(v);
	r = 0;
out:
	strv_free(v);
	free(values);
	return r;
}

long
pipeline_find_step(const struct pipeline *p, const char *id)
{
	for (size_t i = 0; i < p->n_steps; i++)
		if (streq(p->steps[i].id, id))
			return (long)i;
	return -1;
}

/* "; did you mean 'a' or 'b'?" for an unknown stage id, or a pointer to ginid -t. */
static void
suggest_stage(struct registry *reg, const char *id, char *buf, size_t size)
{
	struct stage_type **v;
	size_t n, found = 0, off = 0;
	unsigned limit = (unsigned)MAX(strlen(id) / 3, 1);

	buf[0] = 0;
	if (registry_list(reg, NULL, 0, 0, &v, &n, NULL) < 0)
		return;
	/* Containing the word counts as closest; then by edit distance. */
	for (unsigned d = 0; d <= limit && found < 3; d++)
		for (size_t i = 0; i < n && found < 3; i++) {
			bool contains = strstr(v[i]->id, id) != NULL;

			if (d == 0 ? !contains : contains || edit_distance(id, v[i]->id) != d)
				continue;
			if (streq(id, v[i]->id))
				continue;
			off += (size_t)snprintf(buf + off, off < size ? size - off : 0, "%s'%s'",
			                        found == 0 ? "; did you mean " : " or ", v[i]->id);
			found++;
		}
	if (found)
		snprintf(buf + MIN(off, size), off < size ? size - off : 0, "?");
	else
		snprintf(buf, size, " (%zu stage types are registered; `ginid -t` lists them)", n);
	registry_list_free(v, n);
}

static bool
listed(const char *id, char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (streq(id, v[i]))
			return true;
	return false;
}

/* Resolves a user or group name (or number) for an isolated step. */
static int
resolve_ids(struct step *s, const struct pipeline *p, const struct pipeline_def *def,
            struct diags *diags)
{
	char buf[4096], *end;
	int errors = 0;

	if ((s->iso.user || s->iso.group) && geteuid() != 0) {
		diags_add(diags, def->file, s->iso.line,
		          "pipeline '%s': step '%s': 'user' and 'group' need ginid to run as root",
		          p->name, s->id);
		return 1;
	}
	if (s->iso.user) {
		struct passwd pw, *res = NULL;
		unsigned long n = strtoul(s->iso.user, &end, 10);

		if (*s->iso.user && !*end) {
			s->uid = (uid_t)n;
			s->set_uid = true;
		} else if (getpwnam_r(s->iso.user, &pw, buf, sizeof(buf), &res) == 0 && res) {
			s->uid = res->pw_uid;
			s->set_uid = true;
			/* The user's own group, unless one is named. */
			if (!s->iso.group) {
				s->gid = res->pw_gid;
				s->set_gid = true;
			}
		} else {
			diags_add(diags, def->file, s->iso.line,
			          "pipeline '%s': step '%s': 'user': no such user '%s'", p->name,
			          s->id, s->iso.user);
			errors++;
		}
	}
	if (s->iso.group) {
		struct group gr, *res = NULL;
		unsigned long n = strtoul(s->iso.group, &end, 10);

		if (*s->iso.group && !*end) {
			s->gid = (gid_t)n;
			s->set_gid = true;
		} else if (getgrnam_r(s->iso.group, &gr, buf, sizeof(buf), &res) == 0 && res) {
			s->gid = res->gr_gid;
			s->set_gid = true;
		} else {
			diags_add(diags, def->file, s->iso.line,
			          "pipeline '%s': step '%s': 'group': no such group '%s'", p->name,
			          s->id, s->iso.group);
			errors++;
		}
	}
	return errors;
}

/*
 * An isolated step's create() runs in a worker, once now to check the
 * params (a crash there costs the check, not the daemon) and then in every
 * run's own worker.
 */
void
pipeline_isolate_call(const struct pipeline *p, const struct step *s, struct isolate_call *call)
{
	*call = (struct isolate_call){
		.plugin = plugin_path(s->type->plugin),
		.key = plugin_key(s->type->plugin),
		.loaded = s->type->plugin,
		.stage = s->type->id,
		.params = s->params,
		.iso = &s->iso,
		.set_uid = s->set_uid,
		.set_gid = s->set_gid,
		.uid = s->uid,
		.gid = s->gid,
		.pipeline = p->name,
		.step = s->id,
	};
}

static size_t
check_isolated(struct pipeline *p, const struct pipeline_def *def, struct step_def *sd,
               struct step *s, const struct compile_options *opts, struct diags *diags)
{
	struct isolate_call call;
	struct isolate_result res;
	size_t errors = 0;
	_cleanup_free_ char *why = NULL;
	char perm[512];

	/* Limits and identity the service may not grant are named here, not
	 * left to fail in the worker (systemd's sandbox, see sandbox.c). */
	if (sandbox_check_worker(&s->iso, s->set_uid, s->uid, s->set_gid, s->gid, perm,
	                         sizeof(perm)) < 0) {
		diags_add(diags, def->file, s->iso.line ? s->iso.line : sd->line,
		          "pipeline '%s': step '%s': %s", p->name, s->id, perm);
		return 1;
	}
	pipeline_isolate_call(p, s, &call);
	call.timeout_usec = opts && opts->isolated_create_timeout_usec
	                            ? opts->isolated_create_timeout_usec
	                            : 5 * USEC_PER_SEC;
	(void)isolate_run(&call, true, &res);
	if (res.end != ISOLATE_FINISHED) {
		why = res.end == ISOLATE_KILLED ? NULL : isolate_describe_end(&res);
		if (res.end == ISOLATE_KILLED) {
			char d[32];

			diags_add(diags, def->file, sd->line,
			          "pipeline '%s': step '%s': stage '%s' did not finish create() "
			          "within "
			          "%s in an isolated worker",
			          p->name, s->id, s->type->id,
			          format_duration(call.timeout_usec, d, sizeof(d)));
		} else {
			diags_add(diags, def->file, sd->line,
			          "pipeline '%s': step '%s': stage '%s' could not check its params "
			          "in "
			          "an isolated worker: %s",
			          p->name, s->id, s->type->id, why ? why : "?");
		}
		isolate_result_done(&res);
		return 1;
	}
	if (res.rc != 0) {
		diags_add(diags, def->file, sd->line,
		          "pipeline '%s': step '%s': stage '%s' rejected its params: %s", p->name,
		          s->id, s->type->id, res.message ? res.message : strerror(EINVAL));
		errors++;
	}
	for (char **u = res.unused; u && *u; u++) {
		const char *sugg =
		        closest_match(*u, (const char *const *)res.asked, strv_length(res.asked));
		const struct param *v = NULL;

		for (size_t i = 0; i < s->params->n && !v; i++)
			if (streq(s->params->v[i].name, *u))
				v = &s->params->v[i];
		if (res.rc != 0 && !sugg)
			continue;
		diags_add(diags, def->file, v && v->line ? v->line : sd->line,
		          "pipeline '%s': step '%s': unknown param '%s' for stage '%s'%s%s%s",
		          p->name, s->id, *u, s->type->id, sugg ? "; did you mean '" : "",
		          sugg ? sugg : "", sugg ? "'?" : "");
		errors++;
	}
	isolate_result_done(&res);
	return errors;
}

/* Binds the step to its stage type and runs create(). Returns 0 or 1 error. */
static size_t
create_step(struct pipeline *p, const struct pipeline_def *def, struct step_def *sd, struct step *s,
            struct registry *reg, const struct compile_options *opts, struct diags *diags)
{
	struct gini_handle h;
	size_t errors = 0;
	char hint[512];
	int r;

	if (!s->enabled)
		return 0;
	if (!s->stage_id)
		return 1; /* config.c reported the missing key */
	s->type = registry_acquire(reg, s->stage_id);
	if (!s->type) {
		suggest_stage(reg, s->stage_id, hint, sizeof(hint));
		diags_add(diags, def->file, sd->line,
		          "pipeline '%s': step '%s': unknown stage type '%s'%s", p->name, s->id,
		          s->stage_id, hint);
		return 1;
	}
	/* A type registered from the registry cache is loaded now (loader_lazy.c). */
	r = stage_type_load(s->type, hint, sizeof(hint));
	if (r < 0) {
		diags_add(diags, def->file, sd->line,
		          "pipeline '%s': step '%s': stage '%s': plugin %s: refused: %s", p->name,
		          s->id, s->type->id, s->type->path, hint);
		return 1;
	}
	/* The step's own choice, else its pipeline's, else the global list. */
	s->iso.mode = sd->iso.mode_set     ? sd->iso.mode
	              : def->isolation_set ? def->isolation
	              : opts && listed(s->type->id, opts->isolate_stages, opts->n_isolate_stages)
	                      ? ISOLATION_PROCESS
	                      : ISOLATION_NONE;
	if (s->iso.mode != ISOLATION_PROCESS) {
		if (sd->iso.memory_max || sd->iso.cpu_max_sec || sd->iso.nofile || sd->iso.user ||
		    sd->iso.group) {
			diags_add(diags, def->file, sd->iso.line,
			          "pipeline '%s': step '%s': 'memory_max', 'cpu_max', 'nofile', "
			          "'user' "
			          "and 'group' need isolation = \"process\"",
			          p->name, s->id);
			return 1;
		}
	} else {
		if (!s->type->plugin) {
			diags_add(diags, def->file, sd->line,
			          "pipeline '%s': step '%s': stage '%s' is built into ginid and "
			          "cannot "
			          "run isolated",
			          p->name, s->id, s->type->id);
			return 1;
		}
		if (resolve_ids(s, p, def, diags) > 0)
			return 1;
		errors = check_isolated(p, def, sd, s, opts, diags);
		params_freeze(s->params);
		return errors;
	}
	if (!s->type->desc->create) {
		if (s->params->n > 0) {
			diags_add(diags, def->file, s->params->v[0].line,
			          "pipeline '%s': step '%s': stage '%s' takes no params, but "
			          "'params' "
			          "sets '%s'",
			          p->name, s->id, s->type->id, s->params->v[0].name);
			return 1;
		}
		params_freeze(s->params);
		return 0;
	}
	handle_init(&h);
	h.pipeline = p->name;
	h.step = s->id;
	h.stage = s->type->id;
	r = s->type->desc->create(&host_services, &h, s->params, &s->instance);
	if (r != 0) {
		const char *why = h.message ? h.message : s->params->error;

		if (why)
			diags_add(diags, def->file, sd->line,
			          "pipeline '%s': step '%s': stage '%s' rejected its params: %s",
			          p->name, s->id, s->type->id, why);
		else
			diags_add(
			        diags, def->file, sd->line,
			        "pipeline '%s': step '%s': stage '%s' rejected its params without "
			        "saying why (%s)",
			        p->name, s->id, s->type->id, strerror(r < 0 ? -r : EINVAL));
		handle_done(&h);
		s->instance = NULL;
		/*
		 * A misspelt param is often why create() failed ("'message' is
		 * required" for "mesage"): name the unread ones that look like
		 * a param it asked for. Others may simply not have been read
		 * before it gave up, so they are not reported.
		 */
		for (size_t i = 0; i < s->params->n; i++) {
			const struct param *u = &s->params->v[i];
			const char *sugg;

			if (u->used)
				continue;
			sugg = closest_match(u->name, (const char *const *)s->params->asked,
			                     s->params->n_asked);
			if (sugg && !params_has(s->params, sugg)) {
				diags_add(diags, def->file, u->line ? u->line : sd->line,
				          "pipeline '%s': step '%s': unknown param '%s' for stage "
				          "'%s'; "
				          "did you mean '%s'?",
				          p->name, s->id, u->name, s->type->id, sugg);
				errors++;
			}
		}
		params_freeze(s->params);
		return errors + 1;
	}
	handle_done(&h);
	s->created = true;
	for (size_t i = 0; i < s->params->n; i++) {
		const struct param *unknown = &s->params->v[i];
		const char *sugg;

		if (unknown->used)
			continue;
		sugg = closest_match(unknown->name, (const char *const *)s->params->asked,
		                     s->params->n_asked);
		diags_add(diags, def->file, unknown->line ? unknown->line : sd->line,
		          "pipeline '%s': step '%s': unknown param '%s' for stage '%s'%s%s%s",
		          p->name, s->id, unknown->name, s->type->id,
		          sugg ? "; did you mean '" : "", sugg ? sugg : "", sugg ? "'?" : "");
		errors++;
	}
	params_freeze(s->params);
	return errors;
}

/*
 * Bundled stages that set no context key. exec sets the key its capture
 * param names; any other stage may set anything, for all we know.
 */
static const char *const sets_nothing[] = { "log",   "sleep",      "fail",
	                                    "write", "check-path", "check-command" };
/* Past this many steps the ancestor walks are skipped: a warning is a nicety. */
#define WARN_KEYS_STEPS_MAX 1000

/*
 * Whether key may be set before step i runs: a param of the pipeline, a
 * gini.* built-in, or the capture key of an exec step i runs after.
 * Unknowable (true) when an earlier step is of a stage that may set keys
 * we cannot see. seen is scratch, n_steps long, zeroed.
 */
static bool
key_may_be_set(const struct pipeline *p, size_t i, const char *key, bool *seen, size_t *queue)
{
	size_t head = 0, tail = 0;
	bool found = false;

	for (size_t k = 0; k < p->n_params; k++)
		if (streq(p->params[k].name, key))
			return true;
	if (strncmp(key, "gini.", 5) == 0)
		return true;
	queue[tail++] = i;
	seen[i] = true;
	while (head < tail && !found) {
		const struct step *s = &p->steps[queue[head++]];

		for (size_t k = 0; k < s->n_pred; k++) {
			const struct step *a = &p->steps[s->pred[k]];
			const char *capture;
			bool quiet = false;

			if (seen[s->pred[k]])
				continue;
			seen[s->pred[k]] = true;
			queue[tail++] = s->pred[k];
			if (!a->stage_id || !a->enabled)
				continue;
			for (size_t q = 0; q < ARRAY_SIZE(sets_nothing); q++)
				quiet = quiet || streq(a->stage_id, sets_nothing[q]);
			if (streq(a->stage_id, "exec"))
				found = params_get_string(a->params, "capture", &capture) == 0 &&
				        streq(capture, key);
			else if (!quiet)
				found = true;
		}
	}
	for (size_t k = 0; k < tail; k++)
		seen[queue[k]] = false;
	return found;
}

/*
 * ${key} in the argv of an exec step fails the run when key is unset: warn
 * (at start-up, on reload and with ginid -t) about keys nothing before the
 * step can set. A warning, not an error: a key may come from where we
 * cannot see.
 */
static void
warn_unset_keys(const struct pipeline *p)
{
	bool *seen = NULL;
	size_t *queue = NULL;

	if (p->n_steps > WARN_KEYS_STEPS_MAX)
		return;
	for (size_t i = 0; i < p->n_steps; i++) {
		const struct step *s = &p->steps[i];
		const char *const *argv;
		size_t argc;

		if (!s->stage_id || !s->enabled || !streq(s->stage_id, "exec") ||
		    params_get_strv(s->params, "argv", &argv, &argc) < 0)
			continue;
		for (size_t a = 1; a < argc; a++) {
			for (const char *q = strstr(argv[a], "${"); q; q = strstr(q, "${")) {
				const char *end = strchr(q + 2, '}');
				char key[65];

				/* "$${" is a literal "${". */
				if (q > argv[a] && q[-1] == '$') {
					q += 2;
					continue;
				}
				if (!end || (size_t)(end - q - 2) >= sizeof(key))
					break;
				memcpy(key, q + 2, (size_t)(end - q - 2));
				key[end - q - 2] = 0;
				q = end + 1;
				if (!seen) {
					seen = calloc(p->n_steps, sizeof(*seen));
					queue = calloc(p->n_steps, sizeof(*queue));
					if (!seen || !queue)
						goto out;
				}
				if (!key_may_be_set(p, i, key, seen, queue))
					log_warn("%s:%d: pipeline '%s': step '%s': argv entry %zu "
					         "uses "
					         "'${%s}', which no param of the pipeline and no "
					         "earlier "
					         "step sets; the run will fail unless it is set",
					         p->file, s->line, p->name, s->id, a + 1, key);
			}
		}
	}
out:
	free(seen);
	free(queue);
}

int
pipeline_compile(struct pipeline_def *def, struct registry *reg, struct pipeline **ret,
                 struct diags *diags)
{
	return pipeline_compile_with(def, reg, NULL, ret, diags);
}

int
pipeline_compile_with(struct pipeline_def *def, struct registry *reg,
                      const struct compile_options *opts, struct pipeline **ret,
                      struct diags *diags)
{
	struct pipeline *p = calloc(1, sizeof(*p));
	size_t errors = 0;

	if (!p)
		return -ENOMEM;
	p->name = strdup(def->name);
	p->description = strdup(def->description ? def->description : "");
	p->file = strdup(def->file);
	p->line = def->line;
	if (trigger_def_copy(&p->triggers, &def->triggers) < 0) {
		pipeline_free(p);
		return -ENOMEM;
	}
	p->overlap = def->overlap;
	p->max_parallel = def->max_parallel;
	p->on_failure = def->on_failure;
	p->params = steal_ptr(def->params);
	p->n_params = def->n_params;
	def->n_params = 0;
	p->health = def->health;
	p->timeout_usec = def->timeout_usec;
	p->on_failure_run = def->on_failure_run ? strdup(def->on_failure_run) : NULL;
	p->concurrency_group = def->concurrency_group ? strdup(def->concurrency_group) : NULL;
	p->steps = calloc(def->n_steps + 1, sizeof(*p->steps));
	if (!p->name || !p->description || !p->file || !p->steps ||
	    (def->on_failure_run && !p->on_failure_run) ||
	    (def->concurrency_group && !p->concurrency_group)) {
		pipeline_free(p);
		return -ENOMEM;
	}
	for (size_t i = 0; i < def->n_steps; i++) {
		struct step_def *sd = &def->steps[i];
		struct step *s = &p->steps[i];

		pthread_mutex_init(&s->serial, NULL);
		p->n_steps++;
		s->id = strdup(sd->id);
		s->stage_id = sd->stage ? strdup(sd->stage) : NULL;
		s->params = steal_ptr(sd->params);
		if (!s->params)
			s->params = params_new_empty();
		if (!s->id || !s->params || (sd->stage && !s->stage_id)) {
			pipeline_free(p);
			return -ENOMEM;
		}
		s->timeout_usec = sd->timeout_usec;
		s->retries = sd->retries;
		s->retry_backoff_usec = sd->retry_backoff_usec;
		s->enabled = sd->enabled;
		s->when = sd->when;
		s->line = sd->line;
		s->iso = sd->iso;
		s->iso.user = sd->iso.user ? strdup(sd->iso.user) : NULL;
		s->iso.group = sd->iso.group ? strdup(sd->iso.group) : NULL;
	}
	errors += pipeline_dag_link(p, def, diags);
	if (!errors)
		errors += pipeline_dag_order(p, def, diags);
	for (size_t i = 0; i < p->n_steps; i++) {
		struct step *s = &p->steps[i];

		errors += create_step(p, def, &def->steps[i], s, reg, opts, diags);
		s->serialise = s->type && !(s->type->flags & GINI_STAGE_CONCURRENT) &&
		               p->overlap == OVERLAP_PARALLEL;
	}
	if (errors || def->errors) {
		pipeline_free(p);
		return -EINVAL;
	}
	warn_unset_keys(p);
	*ret = p;
	return 0;
}
