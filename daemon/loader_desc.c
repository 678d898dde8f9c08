/* SPDX-License-Identifier: MIT */
/*
 * Descriptor validation, step 4 of loading a plugin (see loader.c): what a
 * plugin's stage_descriptor() returned is checked against this host's ABI
 * (major, minor, struct_size) before anything else of it is read, then
 * copied into a zero-filled, full-size descriptor that the host owns, and
 * the copy's contents are checked (id, version, summary, category, flags,
 * callbacks, requires_ids). Pure functions on memory: no file, no dlopen,
 * no logging; a refusal's reason quotes the plugin's strings escaped.
 */
#include "loader_desc.h"

#include "registry.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static bool
semver_valid(const char *v)
{
	const char *p = v;

	if (!v || strlen(v) > 64)
		return false;
	for (int part = 0; part < 3; part++) {
		if (part > 0 && *p++ != '.')
			return false;
		if (*p < '0' || *p > '9')
			return false;
		if (*p == '0' && p[1] >= '0' && p[1] <= '9')
			return false; /* no leading zeros */
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == '-' || *p == '+') {
		if (!p[1])
			return false;
		for (p++; *p; p++)
			if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
			      (*p >= 'A' && *p <= 'Z') || *p == '-' || *p == '.' || *p == '+'))
				return false;
	}
	return *p == 0;
}

static bool
category_valid(const char *c)
{
	size_t n = 0;

	if (!c || !*c)
		return false;
	for (; *c; c++, n++)
		if (n >= 32 || !((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
			return false;
	return true;
}

/* The ABI version and size: nothing else is read before they pass. */
static int
header_check(const struct gini_stage_descriptor *d, char *reason, size_t size)
{
	if (d->abi_major != GINI_ABI_MAJOR) {
		snprintf(reason, size, "ABI major %u is not supported (host ABI %d.%d)",
		         d->abi_major, GINI_ABI_MAJOR, GINI_ABI_MINOR);
		return -EINVAL;
	}
	if (d->abi_minor > GINI_ABI_MINOR) {
		snprintf(reason, size, "built for ABI %u.%u, newer than the host's ABI %d.%d",
		         d->abi_major, d->abi_minor, GINI_ABI_MAJOR, GINI_ABI_MINOR);
		return -EINVAL;
	}
	if (d->struct_size < DESCRIPTOR_SIZE_V1_0 || d->struct_size > DESCRIPTOR_SIZE_MAX) {
		snprintf(reason, size,
		         "descriptor size %u is implausible (ABI %u.%u needs %zu to %u bytes)",
		         d->struct_size, d->abi_major, d->abi_minor, (size_t)DESCRIPTOR_SIZE_V1_0,
		         DESCRIPTOR_SIZE_MAX);
		return -EINVAL;
	}
	return 0;
}

static int
validate(const struct gini_stage_descriptor *d, char *reason, size_t size)
{
	const uint32_t known_flags = GINI_STAGE_DRY_RUN | GINI_STAGE_CONCURRENT;
	size_t n;
	int r;

	r = header_check(d, reason, size);
	if (r < 0)
		return r;
	if (!d->id) {
		snprintf(reason, size, "descriptor has no id");
		return -EINVAL;
	}
	if (!stage_id_valid(d->id)) {
		snprintf(reason, size,
		         "invalid id '%.80s': must match [a-z0-9][a-z0-9_.-]* and be at most 64 "
		         "characters",
		         d->id);
		return -EINVAL;
	}
	if (!semver_valid(d->version)) {
		snprintf(reason, size,
		         "stage '%s': invalid version '%.80s': not a semantic version "
		         "(MAJOR.MINOR.PATCH)",
		         d->id, d->version ? d->version : "(none)");
		return -EINVAL;
	}
	if (!d->summary || !*d->summary || strlen(d->summary) > 200 ||
	    strpbrk(d->summary, "\n\r\t")) {
		snprintf(reason, size,
		         "stage '%s': summary must be one line of 1 to 200 characters", d->id);
		return -EINVAL;
	}
	if (!category_valid(d->category)) {
		snprintf(reason, size,
		         "stage '%s': invalid category '%.40s': one short lower-case word expected",
		         d->id, d->category ? d->category : "(none)");
		return -EINVAL;
	}
	if (d->flags & ~known_flags) {
		snprintf(reason, size, "stage '%s': unknown flags 0x%x", d->id,
		         d->flags & ~known_flags);
		return -EINVAL;
	}
	if (!d->run) {
		snprintf(reason, size, "stage '%s': no run callback", d->id);
		return -EINVAL;
	}
	n = 0;
	for (const char *const *p = d->requires_ids; p && *p; p++, n++) {
		if (n >= 64) {
			snprintf(reason, size, "stage '%s': requires more than 64 stage types",
			         d->id);
			return -EINVAL;
		}
		if (!stage_id_valid(*p)) {
			snprintf(reason, size, "stage '%s': requires an invalid stage id '%.80s'",
			         d->id, *p);
			return -EINVAL;
		}
	}
	return 0;
}

int
descriptor_copy(const struct gini_stage_descriptor *d, struct gini_stage_descriptor *ret,
                char *reason, size_t size)
{
	struct gini_stage_descriptor copy = { 0 };
	int r;

	/*
	 * The header (the first three fields) is the one part every descriptor
	 * has: check it before trusting struct_size for the copy, which takes no
	 * more than the plugin declared nor more than this host knows. Fields
	 * appended after the plugin's minor stay zero: absent.
	 */
	r = header_check(d, reason, size);
	if (r < 0)
		return r;
	memcpy(&copy, d, d->struct_size < sizeof(copy) ? d->struct_size : sizeof(copy));
	r = descriptor_validate(&copy, reason, size);
	if (r < 0)
		return r;
	*ret = copy;
	return 0;
}

int
descriptor_validate(const struct gini_stage_descriptor *d, char *reason, size_t size)
{
	char raw[1024];
	int r;

	/*
	 * The reason quotes the plugin's own strings, which may hold anything:
	 * escaped, so a refusal stays one log line (found by fuzz_elf).
	 */
	r = validate(d, raw, sizeof(raw));
	if (r < 0)
		str_escape(raw, reason, size);
	return r;
}
