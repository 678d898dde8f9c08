/* SPDX-License-Identifier: MIT */
/*
 * A step's params from its libconfig group, for config_pipeline.c. Apart
 * from params.c so that a program that needs params but never reads the
 * configuration (gini-worker, which gets them as JSON) does not link
 * libconfig and pay for loading it at each start.
 */
#include "params.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
params_from_setting(const config_setting_t *group, struct gini_params **ret, char *err,
                    size_t errsize, int *ret_line)
{
	struct gini_params *p = params_new_empty();
	int n;

	if (!p)
		return -ENOMEM;
	n = group ? config_setting_length(group) : 0;
	for (int i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		struct param *v;
		int len;

		if (!name)
			continue;
		v = params_append(p, name);
		if (!v) {
			params_free(p);
			return -ENOMEM;
		}
		v->line = (int)config_setting_source_line(s);
		switch (config_setting_type(s)) {
		case CONFIG_TYPE_STRING:
			v->type = PARAM_STRING;
			v->s = strdup(config_setting_get_string(s));
			break;
		case CONFIG_TYPE_INT:
		case CONFIG_TYPE_INT64:
			v->type = PARAM_INT;
			v->i = config_setting_get_int64(s);
			break;
		case CONFIG_TYPE_BOOL:
			v->type = PARAM_BOOL;
			v->i = config_setting_get_bool(s);
			break;
		case CONFIG_TYPE_FLOAT:
			v->type = PARAM_FLOAT;
			v->f = config_setting_get_float(s);
			break;
		case CONFIG_TYPE_ARRAY:
		case CONFIG_TYPE_LIST:
			v->type = PARAM_STRV;
			len = config_setting_length(s);
			v->strv = calloc((size_t)len + 1, sizeof(char *));
			if (!v->strv)
				break;
			for (int j = 0; j < len; j++) {
				config_setting_t *e = config_setting_get_elem(s, (unsigned)j);

				if (config_setting_type(e) != CONFIG_TYPE_STRING) {
					snprintf(err, errsize,
					         "param '%s': element %d is not a string; lists "
					         "hold strings only",
					         name, j + 1);
					*ret_line = v->line;
					params_free(p);
					return -EINVAL;
				}
				v->strv[j] = strdup(config_setting_get_string(e));
				if (!v->strv[j]) {
					params_free(p);
					return -ENOMEM;
				}
				v->n++;
			}
			break;
		default:
			snprintf(err, errsize,
			         "param '%s': groups are not supported as param values", name);
			*ret_line = v->line;
			params_free(p);
			return -EINVAL;
		}
		if ((v->type == PARAM_STRING && !v->s) || (v->type == PARAM_STRV && !v->strv)) {
			params_free(p);
			return -ENOMEM;
		}
	}
	*ret = p;
	return 0;
}
