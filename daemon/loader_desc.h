/* SPDX-License-Identifier: MIT */
#pragma once

#include <gini/stage.h>
#include <stddef.h>

/*
 * Validates a descriptor's header and contents against this host's ABI.
 * 0, or -EINVAL and the precise reason.
 */
int descriptor_validate(const struct gini_stage_descriptor *d, char *reason, size_t size);
/*
 * Copies the plugin's descriptor d into *ret, a full-size descriptor of this
 * host's ABI: after checking the header (ABI version, struct_size), takes
 * min(d->struct_size, sizeof(*ret)) bytes and zero-fills the rest, so fields
 * appended after the plugin's minor read as absent; then validates the copy.
 * 0 and *ret, or -EINVAL and the reason (*ret untouched). The daemon reads
 * only the copy: a plugin's descriptor is never read in place.
 */
int descriptor_copy(const struct gini_stage_descriptor *d, struct gini_stage_descriptor *ret,
                    char *reason, size_t size);

/* The smallest descriptor an ABI 1.0 plugin may have. */
#define DESCRIPTOR_SIZE_V1_0                                                                       \
	(offsetof(struct gini_stage_descriptor, check) + sizeof(void (*)(void)))
#define DESCRIPTOR_SIZE_MAX 4096u
