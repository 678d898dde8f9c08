/* SPDX-License-Identifier: MIT */
/*
 * The shape of every control reply (proto.h): the envelope, "ok" with a
 * result or an error with its code and message, and the checks of a
 * request's arguments that reply for the handler when an argument is
 * unknown or of the wrong type. Shared by the command handlers
 * (control_cmd_*.c) and the transport (control.c).
 */
#include "control_conn.h"

#include "proto.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

json_t *
control_envelope(json_t *id)
{
	json_t *o = json_object();

	json_object_set_new(o, "v", json_integer(PROTO_VERSION));
	if (id)
		json_object_set(o, "id", id);
	return o;
}

void
control_reply_ok(struct conn *k, json_t *id, json_t *result)
{
	json_t *o = control_envelope(id);

	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "result", result ? result : json_object());
	control_conn_send(k, o);
}

void
control_reply_error(struct conn *k, json_t *id, const char *code, json_t *extra, const char *fmt,
                    ...)
{
	json_t *o = control_envelope(id), *e = extra ? extra : json_object();
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_set_new(e, "code", json_string(code));
	json_object_set_new(e, "message", jtext(msg));
	json_object_set_new(o, "ok", json_false());
	json_object_set_new(o, "error", e);
	control_conn_send(k, o);
}

json_t *
control_iso_or_null(int64_t usec)
{
	char buf[64];

	if (usec <= 0)
		return json_null();
	return json_string(
	        format_iso8601((time_t)(usec / (int64_t)USEC_PER_SEC), buf, sizeof(buf)));
}

/* Arguments. */

/* Rejects argument names outside allowed, with a suggestion. */
bool
control_args_known(struct conn *k, json_t *id, json_t *args, const char *const *allowed, size_t n)
{
	const char *key;
	json_t *v;

	json_object_foreach(args, key, v)
	{
		bool ok = false;

		for (size_t i = 0; i < n && !ok; i++)
			ok = streq(key, allowed[i]);
		if (!ok) {
			const char *hint = closest_match(key, allowed, n);

			control_reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL,
			                    "unknown argument '%s'%s%s%s", key,
			                    hint ? "; did you mean '" : "", hint ? hint : "",
			                    hint ? "'?" : "");
			return false;
		}
	}
	return true;
}

/* 1 found, 0 absent, -1 wrong type (replied). */
int
control_arg_string(struct conn *k, json_t *id, json_t *args, const char *name, const char **ret)
{
	json_t *v = json_object_get(args, name);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		control_reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL,
		                    "argument '%s' must be a string", name);
		return -1;
	}
	*ret = json_string_value(v);
	return 1;
}

int
control_arg_int(struct conn *k, json_t *id, json_t *args, const char *name, long long lo,
                long long hi, long long *ret)
{
	json_t *v = json_object_get(args, name);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		control_reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL,
		                    "argument '%s' must be an integer from %lld to %lld", name, lo,
		                    hi);
		return -1;
	}
	*ret = json_integer_value(v);
	return 1;
}

int
control_arg_bool(struct conn *k, json_t *id, json_t *args, const char *name, bool *ret)
{
	json_t *v = json_object_get(args, name);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v)) {
		control_reply_error(k, id, PROTO_E_BAD_ARGUMENT, NULL,
		                    "argument '%s' must be true or false", name);
		return -1;
	}
	*ret = json_is_true(v);
	return 1;
}
