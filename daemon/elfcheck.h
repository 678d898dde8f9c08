/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>

/*
 * Reads the ELF file open at fd (from offset 0, without executing anything)
 * and checks that it is a shared object for this machine whose dynamic
 * symbol table defines a global function named symbol. 0 if so; otherwise a
 * negative errno value and the precise reason in reason.
 */
int elf_check_export(int fd, const char *symbol, char *reason, size_t size);
