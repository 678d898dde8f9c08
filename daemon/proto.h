/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The control protocol, shared by the daemon (control.c) and ginictl
 * (ginictl/client.c).
 *
 * A Unix stream socket; one JSON object per line ("\n"-terminated, UTF-8)
 * in each direction. A request:
 *
 *	{"v": 1, "cmd": "stages", "args": {"category": "check", "limit": 20}}
 *
 * "v" is the protocol version (required), "cmd" the command, "args" an
 * optional object, "id" an optional value echoed in every reply line. A
 * reply is one line
 *
 *	{"v": 1, "id": ..., "ok": true, "result": {...}}
 *	{"v": 1, "id": ..., "ok": false, "error": {"code": "not_found", "message": "..."}}
 *
 * except for "run" with "wait": true, which first sends one line per finished
 * step, {"v": 1, "id": ..., "event": "step", "step": {...}}, then the reply.
 * Requests on one connection are answered in order. A request line longer
 * than PROTO_LINE_MAX, or one that is not a JSON object, gets an error reply
 * and the connection is closed: the stream cannot be trusted after it.
 *
 * Every string in a reply is valid UTF-8: in text the daemon did not write
 * itself (messages, file names), each byte that does not begin a valid
 * UTF-8 sequence is replaced with U+FFFD. A connection the daemon will not
 * serve gets one "overloaded" error line, saying why, and is closed.
 */

#define PROTO_VERSION  1
#define PROTO_LINE_MAX (64 * 1024)

/* Error codes ("error": {"code": ...}). */
#define PROTO_E_BAD_REQUEST     "bad_request" /* not JSON, not an object, no "cmd" */
#define PROTO_E_TOO_LARGE       "too_large"   /* request line over PROTO_LINE_MAX */
#define PROTO_E_VERSION         "unsupported_version"
#define PROTO_E_UNKNOWN_COMMAND "unknown_command"
#define PROTO_E_BAD_ARGUMENT    "bad_argument" /* wrong type, range or unknown argument */
#define PROTO_E_PERMISSION      "permission_denied"
#define PROTO_E_NOT_FOUND       "not_found"  /* no such pipeline */
#define PROTO_E_BUSY            "busy"       /* skipped by the overlap policy, or stopping */
#define PROTO_E_FAILED          "failed"     /* the operation failed (a reload with errors) */
#define PROTO_E_OVERLOADED      "overloaded" /* too many connections, in all or of one uid */
#define PROTO_E_DISABLED        "disabled"   /* run of a disabled pipeline without force */

/* ginictl's exit codes. */
#define CTL_EXIT_OK          0
#define CTL_EXIT_FAILED      1
#define CTL_EXIT_USAGE       2
#define CTL_EXIT_UNREACHABLE 3
#define CTL_EXIT_PERMISSION  4
