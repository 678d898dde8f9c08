/* SPDX-License-Identifier: MIT */
/*
 * The ELF pre-check: before a candidate plugin is dlopen()ed, its dynamic
 * symbol table must define stage_descriptor. Reading the file with libelf
 * runs none of its code, so an ordinary library dropped into a plugin
 * directory never has its constructors run. Every input here is untrusted:
 * libelf bounds-checks section data against the file size, and we check
 * every count and index it hands back.
 *
 * libelf is loaded (dlopen) for the checks, not linked, and unloaded by
 * elf_check_release() once a scan or a single load is over: a start with a
 * warm registry cache checks no file (loader_regcache.c), so libelf and the
 * libz it brings were pages and relocations every start paid for nothing.
 * Its soname comes from the build (GINI_LIBELF_SONAME); the functions are
 * called through pointers of their own prototypes' types, as in http.c, so
 * the compiler still checks every call against <libelf.h> and <gelf.h>. One
 * mutex covers the handle and every check, so callers on any thread are
 * safe (in ginid they are all on the loop thread).
 */
#include "elfcheck.h"

#include "log.h"
#include "util.h"

#include <dlfcn.h>
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#ifndef GINI_LIBELF_SONAME
#define GINI_LIBELF_SONAME "libelf.so.1"
#endif

/* The libelf functions this file calls, set by libelf_load(). */
static __typeof__(elf_begin) *p_elf_begin;
static __typeof__(elf_end) *p_elf_end;
static __typeof__(elf_errmsg) *p_elf_errmsg;
static __typeof__(elf_getdata) *p_elf_getdata;
static __typeof__(elf_kind) *p_elf_kind;
static __typeof__(elf_nextscn) *p_elf_nextscn;
static __typeof__(elf_strptr) *p_elf_strptr;
static __typeof__(elf_version) *p_elf_version;
static __typeof__(gelf_getehdr) *p_gelf_getehdr;
static __typeof__(gelf_getshdr) *p_gelf_getshdr;
static __typeof__(gelf_getsym) *p_gelf_getsym;

static const struct {
	const char *name;
	void **fn;
} libelf_functions[] = {
	{ "elf_begin", (void **)&p_elf_begin },       { "elf_end", (void **)&p_elf_end },
	{ "elf_errmsg", (void **)&p_elf_errmsg },     { "elf_getdata", (void **)&p_elf_getdata },
	{ "elf_kind", (void **)&p_elf_kind },         { "elf_nextscn", (void **)&p_elf_nextscn },
	{ "elf_strptr", (void **)&p_elf_strptr },     { "elf_version", (void **)&p_elf_version },
	{ "gelf_getehdr", (void **)&p_gelf_getehdr }, { "gelf_getshdr", (void **)&p_gelf_getshdr },
	{ "gelf_getsym", (void **)&p_gelf_getsym },
};

/* From here on, each call goes through the loaded pointer. */
#define elf_begin    (*p_elf_begin)
#define elf_end      (*p_elf_end)
#define elf_errmsg   (*p_elf_errmsg)
#define elf_getdata  (*p_elf_getdata)
#define elf_kind     (*p_elf_kind)
#define elf_nextscn  (*p_elf_nextscn)
#define elf_strptr   (*p_elf_strptr)
#define elf_version  (*p_elf_version)
#define gelf_getehdr (*p_gelf_getehdr)
#define gelf_getshdr (*p_gelf_getshdr)
#define gelf_getsym  (*p_gelf_getsym)

static pthread_mutex_t libelf_lock = PTHREAD_MUTEX_INITIALIZER;
static void *libelf; /* under libelf_lock */

/* Loads libelf if it is not loaded. 0, or -ENOENT and the reason. Locked. */
static int
libelf_load_locked(char *reason, size_t size)
{
	void *l;

	if (libelf)
		return 0;
	l = dlopen(GINI_LIBELF_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!l) {
		snprintf(reason, size, "cannot load %s for the ELF check (Debian: libelf1): %s",
		         GINI_LIBELF_SONAME, dlerror());
		return -ENOENT;
	}
	for (size_t i = 0; i < ARRAY_SIZE(libelf_functions); i++) {
		*libelf_functions[i].fn = dlsym(l, libelf_functions[i].name);
		if (!*libelf_functions[i].fn) {
			snprintf(reason, size, "%s has no %s", GINI_LIBELF_SONAME,
			         libelf_functions[i].name);
			dlclose(l);
			return -ENOENT;
		}
	}
	/* Each load starts a fresh library: tell it the version again. */
	(void)elf_version(EV_CURRENT);
	libelf = l;
	log_debug("loaded %s for the ELF checks", GINI_LIBELF_SONAME);
	return 0;
}

void
elf_check_release(void)
{
	pthread_mutex_lock(&libelf_lock);
	if (libelf) {
		dlclose(libelf);
		log_debug("unloaded %s", GINI_LIBELF_SONAME);
	}
	libelf = NULL;
	pthread_mutex_unlock(&libelf_lock);
}

bool
elf_check_loaded(void)
{
	bool loaded;

	pthread_mutex_lock(&libelf_lock);
	loaded = libelf != NULL;
	pthread_mutex_unlock(&libelf_lock);
	return loaded;
}

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

static int
check_export_locked(int fd, const char *symbol, char *reason, size_t size)
{
	GElf_Ehdr ehdr;
	struct stat st;
	Elf *e;
	int r;

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

int
elf_check_export(int fd, const char *symbol, char *reason, size_t size)
{
	int r;

	pthread_mutex_lock(&libelf_lock);
	r = libelf_load_locked(reason, size);
	if (r >= 0)
		r = check_export_locked(fd, symbol, reason, size);
	pthread_mutex_unlock(&libelf_lock);
	return r;
}
