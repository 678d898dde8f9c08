/* SPDX-License-Identifier: MIT */
/*
 * Shared by the fuzz harnesses. Each harness defines LLVMFuzzerTestOneInput
 * and is linked either with libFuzzer (`make fuzz`, clang) or with replay.c
 * (`make check`, any compiler), which feeds it the files of the seed corpus
 * and of the regression cases. A broken invariant calls fuzz_fail(), which
 * aborts: libFuzzer saves the input, and the replay fails `make check`.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Prints "fuzz: invariant violated: ..." and aborts. */
_Noreturn void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Fails unless s is one printable line (no control characters). */
void fuzz_assert_one_line(const char *what, const char *s);
