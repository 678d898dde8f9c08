/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/*
 * Reads the ELF file open at fd (from offset 0, without executing anything)
 * and checks that it is a shared object for this machine whose dynamic
 * symbol table defines a global function named symbol. 0 if so; otherwise a
 * negative errno value and the precise reason in reason.
 */
int elf_check_export(int fd, const char *symbol, char *reason, size_t size);
/*
 * libelf is loaded by the first elf_check_export() and stays loaded for the
 * checks that follow: call this when a batch of checks is over (a scan, one
 * plugin loaded) to unload it. Safe to call when nothing is loaded.
 */
void elf_check_release(void);
/* Whether libelf is loaded now (for the tests). */
bool elf_check_loaded(void);
