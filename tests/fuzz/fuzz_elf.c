/* SPDX-License-Identifier: MIT */
/*
 * Fuzzes the two checks a plugin file meets before and after dlopen():
 *  - the ELF pre-check (elfcheck.c): the input, as the contents of a file
 *    (a memfd), must be judged without crashing, hanging or leaking, with a
 *    one-line reason;
 *  - descriptor validation (loader.c): the same bytes read as the field
 *    values of a descriptor, as a plugin could return it.
 *
 * The descriptor encoding, field by field (missing bytes read as 0):
 *   1 byte   control: bit 0 set: a valid ABI header instead of the raw one;
 *            bits 1-7: which of load, unload, create, destroy, run,
 *            describe and check are set (the rest are NULL)
 *   12 bytes abi_major, abi_minor, struct_size (little-endian u32), unless
 *            bit 0 of control is set
 *   4 bytes  flags
 *   id, version, summary, category: each a length byte (255: NULL) and
 *            that many bytes
 *   1 byte   number of requires_ids (255: NULL), then each as a string
 */
#include "fuzz.h"

#include "elfcheck.h"
#include "loader.h"
#include "util.h"

#include <errno.h>
#include <gini/stage.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct cursor {
	const uint8_t *p;
	size_t left;
};

static uint8_t
take_u8(struct cursor *c)
{
	if (!c->left)
		return 0;
	c->left--;
	return *c->p++;
}

static uint32_t
take_u32(struct cursor *c)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v |= (uint32_t)take_u8(c) << (8 * i);
	return v;
}

/* A string of the encoding, or NULL; freed by the caller. */
static char *
take_string(struct cursor *c, bool *is_null)
{
	uint8_t len = take_u8(c);
	char *s;

	*is_null = len == 255;
	if (*is_null)
		return NULL;
	len = (uint8_t)MIN((size_t)len, c->left);
	s = malloc((size_t)len + 1);
	if (!s)
		abort();
	memcpy(s, c->p, len);
	s[len] = 0;
	c->p += len;
	c->left -= len;
	return s;
}

static int
cb_load(const struct gini_host *host, struct gini_handle *h)
{
	(void)host;
	(void)h;
	return 0;
}

static void
cb_unload(const struct gini_host *host, struct gini_handle *h)
{
	(void)host;
	(void)h;
}

static int
cb_create(const struct gini_host *host, struct gini_handle *h, const struct gini_params *params,
          void **ret)
{
	(void)host;
	(void)h;
	(void)params;
	*ret = NULL;
	return 0;
}

static void
cb_destroy(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	(void)instance;
}

static int
cb_run(const struct gini_host *host, struct gini_handle *h, void *instance)
{
	(void)host;
	(void)h;
	(void)instance;
	return GINI_SUCCESS;
}

static void
fuzz_descriptor(const uint8_t *data, size_t size)
{
	struct cursor c = { data, size };
	struct gini_stage_descriptor d = { 0 };
	char *strs[4], **req = NULL;
	bool null[4], req_null;
	uint8_t ctl = take_u8(&c), n_req;
	char reason[512], tiny[2];
	int r;

	if (ctl & 1) {
		d = (struct gini_stage_descriptor){ GINI_DESCRIPTOR_HEADER };
	} else {
		d.abi_major = take_u32(&c);
		d.abi_minor = take_u32(&c);
		d.struct_size = take_u32(&c);
	}
	d.flags = take_u32(&c);
	for (int i = 0; i < 4; i++)
		strs[i] = take_string(&c, &null[i]);
	d.id = strs[0];
	d.version = strs[1];
	d.summary = strs[2];
	d.category = strs[3];
	n_req = take_u8(&c);
	req_null = n_req == 255;
	if (!req_null) {
		req = calloc((size_t)n_req + 1, sizeof(char *));
		if (!req)
			abort();
		for (size_t i = 0; i < n_req; i++) {
			bool is_null;

			req[i] = take_string(&c, &is_null);
			/* A NULL ends the list early, as it would in a plugin. */
			if (is_null)
				break;
		}
		d.requires_ids = (const char *const *)req;
	}
	d.load = ctl & 0x02 ? cb_load : NULL;
	d.unload = ctl & 0x04 ? cb_unload : NULL;
	d.create = ctl & 0x08 ? cb_create : NULL;
	d.destroy = ctl & 0x10 ? cb_destroy : NULL;
	d.run = ctl & 0x20 ? cb_run : NULL;
	d.describe = ctl & 0x40 ? cb_run : NULL;
	d.check = ctl & 0x80 ? cb_run : NULL;

	reason[0] = 0;
	r = descriptor_validate(&d, reason, sizeof(reason));
	if (r < 0) {
		if (r != -EINVAL)
			fuzz_fail("descriptor_validate returned %d", r);
		if (!reason[0])
			fuzz_fail("descriptor refused without a reason");
		fuzz_assert_one_line("descriptor refusal", reason);
		/* A reason that does not fit is cut, never overflowed. */
		(void)descriptor_validate(&d, tiny, sizeof(tiny));
	} else if (!d.run || !d.id || d.abi_major != GINI_ABI_MAJOR) {
		fuzz_fail("descriptor accepted without run, id or the right ABI major");
	}

	for (int i = 0; i < 4; i++)
		free(strs[i]);
	if (req) {
		for (size_t i = 0; i < n_req; i++)
			free(req[i]);
		free(req);
	}
}

static void
fuzz_elf_file(const uint8_t *data, size_t size)
{
	static int fd = -1;
	char reason[512];
	size_t off = 0;
	int r;

	if (fd < 0) {
		fd = memfd_create("fuzz_elf", MFD_CLOEXEC);
		if (fd < 0)
			abort();
	}
	if (ftruncate(fd, 0) < 0)
		abort();
	while (off < size) {
		ssize_t w = pwrite(fd, data + off, size - off, (off_t)off);

		if (w <= 0)
			abort();
		off += (size_t)w;
	}
	if (lseek(fd, 0, SEEK_SET) < 0)
		abort();
	reason[0] = 0;
	r = elf_check_export(fd, "stage_descriptor", reason, sizeof(reason));
	if (r < 0) {
		if (!reason[0])
			fuzz_fail("ELF file refused without a reason");
		fuzz_assert_one_line("ELF refusal", reason);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_elf_file(data, size);
	fuzz_descriptor(data, size);
	return 0;
}
