/* SPDX-License-Identifier: MIT */
/*
 * The ELF pre-check: before a candidate plugin is dlopen()ed, its dynamic
 * symbol table must define stage_descriptor. Reading the file with libelf
 * runs none of its code, so an ordinary library dropped into a plugin
 * directory never has its constructors run. Every input here is untrusted:
 * libelf bounds-checks section data against the file size, and we check
 * every count and index it hands back.
 */
#include "elfcheck.h"

#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#if defined(__x86_64__)
#define HOST_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#elif defined(__i386__)
#define HOST_MACHINE EM_386
#elif defined(__arm__)
#define HOST_MACHINE EM_ARM
#elif defined(__riscv)
#define HOST_MACHINE EM_RISCV
#elif defined(__powerpc64__)
#define HOST_MACHINE EM_PPC64
#elif defined(__s390x__)
#define HOST_MACHINE EM_S390
#endif

#if __SIZEOF_POINTER__ == 8
#define HOST_CLASS ELFCLASS64
#else
#define HOST_CLASS ELFCLASS32
#endif

static pthread_once_t libelf_once = PTHREAD_ONCE_INIT;

static void
libelf_init(void)
{
	(void)elf_version(EV_CURRENT);
}

static const char *
elf_type_name(unsigned type)
{
	switch (type) {
	case ET_REL:
		return "a relocatable object (.o)";
	case ET_EXEC:
		return "an executable";
	case ET_CORE:
		return "a core dump";
	default:
		return "not a shared object";
	}
}

static int
check_symbols(Elf *e, const char *symbol, char *reason, size_t size)
{
	Elf_Scn *scn = NULL;
	bool have_dynsym = false;

	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr shdr;
		Elf_Data *data;
		size_t count;

		if (!gelf_getshdr(scn, &shdr)) {
			snprintf(reason, size, "malformed ELF section header: %s", elf_errmsg(-1));
			return -EBADMSG;
		}
		if (shdr.sh_type != SHT_DYNSYM)
			continue;
		have_dynsym = true;
		if (shdr.sh_entsize == 0) {
			snprintf(reason, size,
			         "malformed ELF: dynamic symbol table has no entry size");
			return -EBADMSG;
		}
		data = elf_getdata(scn, NULL);
		if (!data) {
			snprintf(reason, size,
			         "truncated or malformed ELF: cannot read the dynamic "
			         "symbol table (%s)",
			         elf_errmsg(-1));
			return -EBADMSG;
		}
		count = data->d_size / shdr.sh_entsize;
		for (size_t i = 0; i < count; i++) {
			GElf_Sym sym;
			const char *name;

			if (!gelf_getsym(data, (int)i, &sym))
				break;
			name = elf_strptr(e, shdr.sh_link, sym.st_name);
			if (!name || strcmp(name, symbol) != 0)
				continue;
			if (sym.st_shndx == SHN_UNDEF) {
				snprintf(reason, size, "%s is only referenced, not defined",
				         symbol);
				return -ENOEXEC;
			}
			if (GELF_ST_BIND(sym.st_info) != STB_GLOBAL &&
			    GELF_ST_BIND(sym.st_info) != STB_WEAK) {
				snprintf(reason, size, "%s is not a global symbol", symbol);
				return -ENOEXEC;
			}
			if (GELF_ST_TYPE(sym.st_info) != STT_FUNC) {
				snprintf(reason, size, "%s is not a function", symbol);
				return -ENOEXEC;
			}
			if (GELF_ST_VISIBILITY(sym.st_other) != STV_DEFAULT &&
			    GELF_ST_VISIBILITY(sym.st_other) != STV_PROTECTED) {
				snprintf(reason, size, "%s is hidden", symbol);
				return -ENOEXEC;
			}
			return 0;
		}
	}
	if (!have_dynsym)
		snprintf(reason, size, "no dynamic symbol table (not a plugin)");
	else
		snprintf(reason, size, "does not export %s (not a plugin)", symbol);
	return -ENOEXEC;
}

int
elf_check_export(int fd, const char *symbol, char *reason, size_t size)
{
	GElf_Ehdr ehdr;
	struct stat st;
	Elf *e;
	int r;

	pthread_once(&libelf_once, libelf_init);
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e) {
		snprintf(reason, size, "cannot read as ELF: %s", elf_errmsg(-1));
		return -EBADMSG;
	}
	if (elf_kind(e) != ELF_K_ELF) {
		elf_end(e);
		snprintf(reason, size, "not an ELF file");
		return -ENOEXEC;
	}
	if (!gelf_getehdr(e, &ehdr)) {
		snprintf(reason, size, "truncated or malformed ELF header: %s", elf_errmsg(-1));
		elf_end(e);
		return -EBADMSG;
	}
	if (ehdr.e_ident[EI_CLASS] != HOST_CLASS) {
		snprintf(reason, size, "ELF class %s does not match the host's %s",
		         ehdr.e_ident[EI_CLASS] == ELFCLASS32 ? "32-bit" : "64-bit",
		         HOST_CLASS == ELFCLASS32 ? "32-bit" : "64-bit");
		elf_end(e);
		return -ENOEXEC;
	}
#ifdef HOST_MACHINE
	if (ehdr.e_machine != HOST_MACHINE) {
		snprintf(reason, size, "built for ELF machine %u, not this host's %u",
		         (unsigned)ehdr.e_machine, (unsigned)HOST_MACHINE);
		elf_end(e);
		return -ENOEXEC;
	}
#endif
	/* Written so that a huge e_shoff cannot wrap the sum around. */
	if (fstat(fd, &st) == 0 &&
	    (ehdr.e_shoff == 0 || ehdr.e_shentsize == 0 || ehdr.e_shoff > (uint64_t)st.st_size ||
	     (uint64_t)ehdr.e_shnum * ehdr.e_shentsize > (uint64_t)st.st_size - ehdr.e_shoff)) {
		snprintf(reason, size, "%s",
		         ehdr.e_shoff == 0 ? "malformed ELF: no section headers"
		                           : "truncated or malformed ELF: section headers beyond "
		                             "the end of the file");
		elf_end(e);
		return -EBADMSG;
	}
	if (ehdr.e_type != ET_DYN) {
		snprintf(reason, size, "%s, not a shared object", elf_type_name(ehdr.e_type));
		elf_end(e);
		return -ENOEXEC;
	}
	r = check_symbols(e, symbol, reason, size);
	elf_end(e);
	return r;
}
