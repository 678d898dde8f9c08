# gini - one hand-written Makefile.
#
#   make                     build ginid, ginictl, the bundled and the test plugins
#   make check               install missing Debian packages, build, run every test
#   make check SANITIZE=address,undefined   (or SANITIZE=thread) the same, sanitized
#   make programs            only ginid, ginictl, their helpers and the bundled plugins
#   make run                 run ginid in the foreground on conf/gini.conf
#   make install             PREFIX=/usr DESTDIR=... SYSCONFDIR=/etc (see the paths below)
#   make uninstall           the same variables: removes what install put there
#   make deb                 Debian packages (debian/) into build-deb/
#
# Each SANITIZE setting builds into its own directory (build, build-address-
# undefined, build-thread), so switching never mixes objects.

VERSION     := 0.1.0

# Installation paths. Each is also accepted under its GNU name in lower case
# (prefix, exec_prefix, sysconfdir, bindir, sbindir, libdir, libexecdir,
# includedir, datarootdir, mandir, localstatedir, runstatedir, and unitdir,
# stagedir, statedir); the upper-case one wins when both are given. The ones
# compiled into the programs (PATH_DEFS) are recorded in $(BUILD)/paths.stamp,
# so changing any of them between `make` and `make install` rebuilds the
# objects that use them.
prefix        ?= /usr/local
PREFIX        ?= $(prefix)
exec_prefix   ?= $(PREFIX)
sysconfdir    ?= /etc
SYSCONFDIR    ?= $(sysconfdir)
bindir        ?= $(exec_prefix)/bin
BINDIR        ?= $(bindir)
sbindir       ?= $(exec_prefix)/sbin
SBINDIR       ?= $(sbindir)
libdir        ?= $(exec_prefix)/lib
LIBDIR        ?= $(libdir)
libexecdir    ?= $(exec_prefix)/libexec
LIBEXECDIR    ?= $(libexecdir)
includedir    ?= $(PREFIX)/include
INCLUDEDIR    ?= $(includedir)
datarootdir   ?= $(PREFIX)/share
DATAROOTDIR   ?= $(datarootdir)
mandir        ?= $(DATAROOTDIR)/man
MANDIR        ?= $(mandir)
unitdir       ?= $(PREFIX)/lib/systemd/system
UNITDIR       ?= $(unitdir)
stagedir      ?= $(LIBDIR)/gini/stages
STAGEDIR      ?= $(stagedir)
localstatedir ?= /var
LOCALSTATEDIR ?= $(localstatedir)
statedir      ?= $(LOCALSTATEDIR)/lib/gini
STATEDIR      ?= $(statedir)
runstatedir   ?= /run
RUNSTATEDIR   ?= $(runstatedir)
DESTDIR     ?=

CC          ?= cc
CPPFLAGS    ?=
CFLAGS      ?= -O2 -g
LDFLAGS     ?=
SANITIZE    ?=

comma := ,
BUILD       ?= build$(if $(SANITIZE),-$(subst $(comma),-,$(SANITIZE)))

# The Debian packages the build and the tests need (checked by `make deps`).
# The libraries are also debian/control's Build-Depends; build-essential,
# dpkg-dev and debhelper build the packages (`make deb`, the package suite).
DEB_PACKAGES := gcc make pkg-config libconfig-dev check libelf-dev libjansson-dev libsystemd-dev \
                libseccomp-dev libsqlite3-dev build-essential dpkg-dev debhelper git \
                libmicrohttpd-dev curl clang-format

WARNFLAGS   := -std=gnu11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
               -Wformat=2 -Wno-format-nonliteral -Werror
# _FORTIFY_SOURCE=3 unless the caller's flags set the level (dpkg-buildflags
# passes -D_FORTIFY_SOURCE=2) or turn it off: defining it twice is a warning,
# which -Werror makes an error. The -U quiets compilers that predefine it.
FORTIFY_SET  = $(filter -D_FORTIFY_SOURCE% -U_FORTIFY_SOURCE,$(CPPFLAGS) $(CFLAGS))
FORTIFY      = $(if $(FORTIFY_SET),,-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3)
ifeq ($(SANITIZE),)
HARDEN       = $(strip $(FORTIFY) -fstack-protector-strong)
else
HARDEN      := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

# Recursive (=) so pkg-config runs after `make deps` may have installed things.
PKG_LIBS     = $(shell pkg-config --libs libconfig jansson libsystemd sqlite3 2>/dev/null)
# libelf (and the libz it brings) is dlopen()ed by daemon/elfcheck.c for the
# ELF checks of a scan or a load, and unloaded after: compiled against, not linked.
LIBELF_SONAME = $(shell readelf -d "$$(pkg-config --variable=libdir libelf 2>/dev/null)/libelf.so" \
                  2>/dev/null | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
# libmicrohttpd is dlopen()ed by daemon/http.c when metrics_listen is set
# (it brings GnuTLS and nine more libraries): compiled against, not linked.
MHD_SONAME   = $(shell readelf -d "$$(pkg-config --variable=libdir libmicrohttpd 2>/dev/null)/libmicrohttpd.so" \
                 2>/dev/null | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
CHECK_LIBS   = $(shell pkg-config --libs check 2>/dev/null)

BASE_CFLAGS  = $(WARNFLAGS) $(HARDEN) $(if $(CPPFLAGS),$(CPPFLAGS) )$(CFLAGS) -D_GNU_SOURCE -Iinclude -MMD -MP
# What the programs have compiled in (plugins see none of it). Every object
# built by the $(BUILD)/obj/%.o rule depends on $(PATHS_STAMP), which holds
# these very flags and is rewritten only when they change.
PATH_DEFS    = -DGINI_VERSION='"$(VERSION)"' \
               -DGINI_CONFIG_FILE='"$(SYSCONFDIR)/gini/gini.conf"' \
               -DGINI_STAGE_DIR='"$(STAGEDIR)"' \
               -DGINI_LIBEXEC_DIR='"$(LIBEXECDIR)/gini"' \
               -DGINI_CONTROL_SOCKET='"$(RUNSTATEDIR)/gini/ginid.sock"' \
               -DGINI_STATE_DIR='"$(STATEDIR)"'
PATHS_STAMP  = $(BUILD)/paths.stamp
ALL_CFLAGS   = $(BASE_CFLAGS) $(PATH_DEFS) -Idaemon
EXE_CFLAGS   = $(ALL_CFLAGS) -fPIE
EXE_LDFLAGS  = $(HARDEN) $(LDFLAGS) -pie -Wl,-z,relro -Wl,-z,now
# Plugins: only stage_descriptor is exported, and every symbol must resolve
# inside the plugin or its libraries (-z defs), except under the sanitizers,
# whose runtime lives in the executable.
# Plugins see <gini/stage.h> and nothing of the daemon, like third-party ones.
PLUGIN_CFLAGS  = $(BASE_CFLAGS) -fPIC -fvisibility=hidden
PLUGIN_LDFLAGS = $(HARDEN) $(LDFLAGS) -shared -Wl,-z,relro -Wl,-z,now $(if $(SANITIZE),,-Wl,-z,defs)

# The programs and their sources. Each program is its main file, its own
# files and what it takes from a library:
#   libginid.a   the daemon's subsystems: every daemon/*.c but the mains (a
#                wildcard, so a new daemon file joins it without an edit here)
#                and the child-process supervisor, which is compiled into the
#                daemon and into the exec stage (plugins never link the
#                daemon): see PLUGIN_LIB_exec
#   helpers      the programs ginid runs (installed in LIBEXECDIR/gini, built
#                next to ginid, where helper_path() finds them):
#                daemon/helpers/NAME.c builds NAME
#   ginictl      ginictl/*.c, and from the daemon only the protocol
#                (daemon/proto.h), util.c and the probe client, which
#                `ginictl inspect` runs: never libconfig or libelf
#                (tests/check_ginictl.c runs ldd on it)
GINID_SRCS   := daemon/ginid.c
HELPER_SRCS  := $(wildcard daemon/helpers/*.c)
HELPERS      := $(HELPER_SRCS:daemon/helpers/%.c=$(BUILD)/%)
GINICTL_MAIN := ginictl/ginictl.c
GINICTL_SRCS := $(filter-out $(GINICTL_MAIN),$(wildcard ginictl/*.c))
GINICTL_OBJS := $(GINICTL_SRCS:%.c=$(BUILD)/obj/%.o)
LIBGINICTL   := $(BUILD)/libginictl.a
PLUGIN_LIB_SRCS := plugins/lib/child.c
DAEMON_SRCS  := $(filter-out $(GINID_SRCS),$(wildcard daemon/*.c)) $(PLUGIN_LIB_SRCS)
DAEMON_OBJS  := $(DAEMON_SRCS:%.c=$(BUILD)/obj/%.o)
LIBGINI      := $(BUILD)/libginid.a

PLUGIN_NAMES := $(filter-out lib,$(notdir $(wildcard plugins/*)))
PLUGINS      := $(PLUGIN_NAMES:%=$(BUILD)/stages/%.so)

TEST_PLUGIN_SRCS := $(wildcard tests/plugins/*.c)
TEST_PLUGINS     := $(TEST_PLUGIN_SRCS:tests/plugins/%.c=$(BUILD)/tests/plugins/%.so)
TEST_SRCS    := $(wildcard tests/*.c)
TEST_OBJS    := $(TEST_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_RUNNER  := $(BUILD)/tests/check_gini

GINID        := $(BUILD)/ginid
GINICTL      := $(BUILD)/ginictl
PROGRAMS     := $(GINID) $(HELPERS) $(GINICTL)

.PHONY: all programs check run install uninstall deps clean build-tests
.DEFAULT_GOAL := all
# Keep the intermediate objects of plugins, so rebuilds stay incremental.
.SECONDARY:

all: $(PROGRAMS) $(PLUGINS) $(TEST_PLUGINS) $(TEST_RUNNER) $(BUILD)/gini.pc

$(BUILD)/obj/%.o: %.c $(PATHS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(EXE_CFLAGS) -c -o $@ $<

$(BUILD)/obj/daemon/elfcheck.o: EXE_CFLAGS += $(shell pkg-config --cflags libelf 2>/dev/null) \
                                              $(if $(LIBELF_SONAME),-DGINI_LIBELF_SONAME='"$(LIBELF_SONAME)"')

$(BUILD)/obj/daemon/http.o: EXE_CFLAGS += $(shell pkg-config --cflags libmicrohttpd 2>/dev/null) \
                                          $(if $(MHD_SONAME),-DGINI_MHD_SONAME='"$(MHD_SONAME)"')

# Rewritten only when the compiled-in settings differ from the last build's,
# so that its date says when they last changed (as git's GIT-CFLAGS does).
$(PATHS_STAMP): FORCE
	@mkdir -p $(@D)
	@printf '%s\n' $(PATH_DEFS) > $@.new
	@if cmp -s $@.new $@; then rm -f $@.new; else \
	  test ! -e $@ || echo "paths changed: rebuilding the objects that compile them in"; \
	  mv -f $@.new $@; fi
.PHONY: FORCE
FORCE:

$(LIBGINI): $(DAEMON_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(GINID): $(BUILD)/obj/$(GINID_SRCS:.c=.o) $(LIBGINI)
	$(CC) $(EXE_LDFLAGS) -o $@ $^ $(PKG_LIBS) -ldl -lpthread

# --as-needed (gcc's default, but not with -fsanitize): a helper starts for
# every isolated step or probe, and links only the libraries it calls.
$(HELPERS): $(BUILD)/%: $(BUILD)/obj/daemon/helpers/%.o $(LIBGINI)
	$(CC) $(EXE_LDFLAGS) -o $@ $^ -Wl,--as-needed $(PKG_LIBS) -ldl -lpthread

# ginictl's own files but its main, also linked into the tests.
$(LIBGINICTL): $(GINICTL_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

# From the daemon library, the linker takes only the members that ginictl's
# files call (loader_probe.o, child.o, util.o), and jansson is the only
# library: a call that drags in a member needing another library fails the
# link rather than growing the client.
GINICTL_LIBS  = $(shell pkg-config --libs jansson 2>/dev/null)
$(GINICTL): $(BUILD)/obj/$(GINICTL_MAIN:.c=.o) $(LIBGINICTL) $(LIBGINI)
	$(CC) $(EXE_LDFLAGS) -o $@ $^ $(GINICTL_LIBS)

# plugins/NAME/NAME.c builds NAME.so: directory, file stem and stage id agree.
# PLUGIN_LIB_NAME lists the plugins/lib/*.c compiled into it as well (each
# plugin gets its own copy, hidden: plugins never link against the daemon).
# Plugins are installed into the build tree with explicit modes: the loader
# refuses group- or world-writable files, whatever the user's umask.
PLUGIN_LIB_exec := child
define plugin_rule
$(BUILD)/stages/$(1).so: $(BUILD)/obj/plugins/$(1)/$(1).pic.o $(PLUGIN_LIB_$(1):%=$(BUILD)/obj/plugins/lib/%.pic.o)
	@mkdir -p $$(@D)
	@chmod 0755 $$(@D)
	$$(CC) $$(PLUGIN_LDFLAGS) -o $$@ $$^
	@chmod 0755 $$@
endef
$(foreach p,$(PLUGIN_NAMES),$(eval $(call plugin_rule,$(p))))

$(BUILD)/obj/plugins/%.pic.o: plugins/%.c
	@mkdir -p $(@D)
	$(CC) $(PLUGIN_CFLAGS) -c -o $@ $<

$(BUILD)/tests/plugins/%.so: $(BUILD)/obj/tests/plugins/%.pic.o
	@mkdir -p $(@D)
	@chmod 0755 $(@D)
	$(CC) $(PLUGIN_LDFLAGS) -o $@ $<
	@chmod 0755 $@

$(BUILD)/obj/tests/plugins/%.pic.o: tests/plugins/%.c
	@mkdir -p $(@D)
	$(CC) $(PLUGIN_CFLAGS) -c -o $@ $<

# tests/plugins/abi10_*.c are built against the frozen ABI 1.0 header, as a
# plugin compiled before ABI 1.1 was (the more specific pattern wins).
$(BUILD)/obj/tests/plugins/abi10_%.pic.o: tests/plugins/abi10_%.c tests/abi/gini-1.0/gini/stage.h
	@mkdir -p $(@D)
	$(CC) -Itests/abi/gini-1.0 $(PLUGIN_CFLAGS) -c -o $@ $<

$(TEST_RUNNER): $(TEST_OBJS) $(LIBGINICTL) $(LIBGINI)
	@mkdir -p $(@D)
	$(CC) $(EXE_LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(PKG_LIBS) -ldl -lpthread

$(TEST_OBJS): EXE_CFLAGS += -DGINI_BUILD_DIR='"$(abspath $(BUILD))"' -DGINI_SOURCE_DIR='"$(CURDIR)"' \
                             -DGINI_TEST_SANITIZE='"$(SANITIZE)"'

# gini.pc names PREFIX, so install writes it afresh for the PREFIX it is given.
GINI_PC_LINES = 'prefix=$(PREFIX)' 'includedir=$(INCLUDEDIR)' \
  'stagedir=$(STAGEDIR)' '' 'Name: gini' \
  'Description: gini stage plugin ABI (header only; plugins never link against the daemon)' \
  'Version: $(VERSION)' 'Cflags: -I$${includedir}'

$(BUILD)/gini.pc: Makefile $(PATHS_STAMP)
	@mkdir -p $(@D)
	@printf '%s\n' $(GINI_PC_LINES) > $@

# Installs the Debian packages that are missing: as root with apt-get, as
# anyone else by printing the command and stopping.
deps:
	@command -v dpkg-query >/dev/null 2>&1 || { echo "deps: not a Debian system; make sure these are installed: $(DEB_PACKAGES)"; exit 0; }; \
	missing=; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" -ne 0 ]; then \
	  echo "deps: missing Debian packages:$$missing"; \
	  echo "deps: run: sudo apt-get install -y$$missing"; exit 1; \
	fi; \
	echo "deps: installing$$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get install -y -q $$missing || { apt-get update -q && apt-get install -y -q $$missing; }

# The shipped unit's syscall filter, emulated with libseccomp for
# tests/check_unit.c (systemd is not PID 1 where the tests run).
UNIT_SANDBOX := $(BUILD)/tests/unit-sandbox
$(UNIT_SANDBOX): $(BUILD)/obj/tests/helpers/unit-sandbox.o
	@mkdir -p $(@D)
	$(CC) $(EXE_LDFLAGS) -o $@ $^ $(shell pkg-config --libs libseccomp 2>/dev/null)

build-tests: all $(UNIT_SANDBOX)

# Any sanitizer report fails the test it happens in.
SANITIZER_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1 \
                 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
                 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

# The build uses every core unless the caller chose -j (CHECK_JOBS=1: serial).
CHECK_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
check: deps
	@$(MAKE) --no-print-directory $(if $(filter -j%,$(MAKEFLAGS)),,-j$(CHECK_JOBS)) build-tests
	@$(MAKE) --no-print-directory $(if $(filter -j%,$(MAKEFLAGS)),,-j$(CHECK_JOBS)) fuzz-replay \
	  bench-build
	@$(MAKE) --no-print-directory bench-smoke format-check
	@$(SANITIZER_ENV) $(TEST_RUNNER)

# The daemon and what it loads, without the tests: what `make run` and
# `make install` need, and all that `make programs` builds.
DAEMON_TARGETS = $(PROGRAMS) $(PLUGINS)
programs: $(DAEMON_TARGETS)

# The example configuration with the build tree's plugins, socket and state.
# The shell that prints its pid becomes ginid (exec), so that pid is the one
# to signal; Ctrl-C stops it.
run: deps
	@$(MAKE) --no-print-directory programs
	@mkdir -p $(BUILD)/run $(BUILD)/state
	@echo "make run: ginid pid $$$$, control socket $(BUILD)/run/ginid.sock; stop with Ctrl-C"; \
	exec $(BUILD)/ginid -c conf/gini.conf --plugin-dir $(BUILD)/stages \
	  --control-socket $(BUILD)/run/ginid.sock --state-dir $(BUILD)/state

# The installed gini.conf: conf/gini.conf with this installation's plugin
# directory, control socket, state directory and configuration directory.
# `make uninstall` compares the installed file with this text to tell
# whether the operator changed it.
INSTALLED_CONF = sed -e 's|^plugin_dirs = .*|plugin_dirs = [ "$(STAGEDIR)" ];|' \
  -e 's|^control_socket = .*|control_socket = "$(RUNSTATEDIR)/gini/ginid.sock";|' \
  -e 's|^state_dir = .*|state_dir = "$(STATEDIR)";|' \
  -e 's|/etc/gini/|$(SYSCONFDIR)/gini/|g' conf/gini.conf
INSTALLED_CONF_FILE = $(DESTDIR)$(SYSCONFDIR)/gini/gini.conf
MAN_PAGES := $(wildcard docs/*.[1-8])

install: $(DAEMON_TARGETS)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(INCLUDEDIR)/gini \
	  $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(STAGEDIR) $(DESTDIR)$(SYSCONFDIR)/gini/pipelines.d \
	  $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BUILD)/ginid $(DESTDIR)$(SBINDIR)/ginid
	install -m 0755 $(BUILD)/ginictl $(DESTDIR)$(BINDIR)/ginictl
	install -d $(DESTDIR)$(LIBEXECDIR)/gini
	install -m 0755 $(BUILD)/gini-probe $(BUILD)/gini-worker $(DESTDIR)$(LIBEXECDIR)/gini/
	install -m 0644 include/gini/stage.h $(DESTDIR)$(INCLUDEDIR)/gini/stage.h
	printf '%s\n' $(GINI_PC_LINES) > $(DESTDIR)$(LIBDIR)/pkgconfig/gini.pc
	chmod 0644 $(DESTDIR)$(LIBDIR)/pkgconfig/gini.pc
	install -m 0755 $(PLUGINS) $(DESTDIR)$(STAGEDIR)/
	@if [ -e $(INSTALLED_CONF_FILE) ]; then \
	  echo "install: keeping existing $(INSTALLED_CONF_FILE)"; \
	else \
	  $(INSTALLED_CONF) > $(INSTALLED_CONF_FILE).new && \
	  grep -q '^plugin_dirs = \[ "$(STAGEDIR)" \];$$' $(INSTALLED_CONF_FILE).new && \
	  chmod 0644 $(INSTALLED_CONF_FILE).new && mv -f $(INSTALLED_CONF_FILE).new $(INSTALLED_CONF_FILE) \
	  || { rm -f $(INSTALLED_CONF_FILE).new; \
	       echo "install: cannot write $(INSTALLED_CONF_FILE) from conf/gini.conf"; exit 1; }; \
	fi
	@for m in $(MAN_PAGES); do \
	  s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s; \
	  install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/; \
	done
	@for u in ginid.service ginid.socket; do \
	  sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@RUNSTATEDIR@|$(RUNSTATEDIR)|g' \
	    systemd/$$u > $(DESTDIR)$(UNITDIR)/$$u && chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done

# Removes what install put there, and the directories of gini's own that are
# then empty (not shared ones such as bin/ or man8/). A gini.conf that
# differs from what install would write is the operator's and is kept.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/ginid $(DESTDIR)$(BINDIR)/ginictl \
	  $(DESTDIR)$(LIBEXECDIR)/gini/gini-probe $(DESTDIR)$(LIBEXECDIR)/gini/gini-worker \
	  $(DESTDIR)$(INCLUDEDIR)/gini/stage.h $(DESTDIR)$(LIBDIR)/pkgconfig/gini.pc \
	  $(PLUGIN_NAMES:%=$(DESTDIR)$(STAGEDIR)/%.so) $(DESTDIR)$(UNITDIR)/ginid.service \
	  $(DESTDIR)$(UNITDIR)/ginid.socket \
	  $(foreach m,$(MAN_PAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(m)))/$(notdir $(m)))
	@if [ -e $(INSTALLED_CONF_FILE) ]; then \
	  if $(INSTALLED_CONF) | cmp -s - $(INSTALLED_CONF_FILE); then \
	    rm -f $(INSTALLED_CONF_FILE); \
	  else \
	    echo "uninstall: keeping $(INSTALLED_CONF_FILE): changed since it was installed"; \
	  fi; \
	fi
	@for d in $(DESTDIR)$(STAGEDIR) $(DESTDIR)$(LIBDIR)/gini $(DESTDIR)$(LIBEXECDIR)/gini \
	  $(DESTDIR)$(INCLUDEDIR)/gini $(DESTDIR)$(SYSCONFDIR)/gini/pipelines.d \
	  $(DESTDIR)$(SYSCONFDIR)/gini; do \
	  if [ -d $$d ]; then rmdir $$d 2>/dev/null || echo "uninstall: keeping $$d: not empty"; fi; \
	done

# --- fuzz ---
# Fuzz harnesses (tests/fuzz/fuzz_*.c). `make fuzz` builds them with clang's
# libFuzzer, ASan and UBSan into build-fuzz/ and runs each for FUZZ_SECONDS
# (`make -j2 fuzz` runs two at once) on a working corpus in
# build-fuzz/corpus/NAME/, which keeps what it finds; the seeds in
# tests/fuzz/corpus/NAME/ and the regression cases in
# tests/fuzz/regressions/NAME/ are only read. A crash leaves its input in
# build-fuzz/artifacts/NAME/. `make check` replays the seeds and regression
# cases through tests/fuzz/replay.c, built like the tests (so also under
# SANITIZE=...): see fuzz-replay.
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_BUILD   := build-fuzz
FUZZ_FLAGS   ?= -timeout=10 -rss_limit_mb=2048
FUZZ_NAMES   := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAYS := $(FUZZ_NAMES:%=$(BUILD)/fuzz-replay/%)
FUZZ_COMMON  := $(BUILD)/obj/tests/fuzz/fuzz.o
FUZZ_LSAN    := LSAN_OPTIONS=suppressions=$(CURDIR)/tests/fuzz/lsan.supp:print_suppressions=0
# fuzz_config compiles the bundled stages in, each entry point renamed.
FUZZ_STAGE_OBJS := $(PLUGIN_NAMES:%=$(BUILD)/obj/fuzz-stages/%.o)

.PHONY: fuzz fuzz-build fuzz-replay

define fuzz_stage_rule
$(BUILD)/obj/fuzz-stages/$(1).o: plugins/$(1)/$(1).c
	@mkdir -p $$(@D)
	$$(CC) $$(EXE_CFLAGS) -Dstage_descriptor=fuzz_stage_$(subst -,_,$(1)) -c -o $$@ $$<
endef
$(foreach p,$(PLUGIN_NAMES),$(eval $(call fuzz_stage_rule,$(p))))

$(BUILD)/fuzz-replay/fuzz_config $(BUILD)/fuzz/fuzz_config: $(FUZZ_STAGE_OBJS)

$(BUILD)/fuzz-replay/%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/replay.o $(FUZZ_COMMON) $(LIBGINI)
	@mkdir -p $(@D)
	$(CC) $(EXE_LDFLAGS) -o $@ $(filter %.o,$^) $(LIBGINI) $(PKG_LIBS) -ldl -lpthread

# Only meaningful in the libFuzzer build that fuzz-build runs.
$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(FUZZ_COMMON) $(LIBGINI)
	@mkdir -p $(@D)
	$(CC) $(EXE_LDFLAGS) -fsanitize=fuzzer -o $@ $(filter %.o,$^) $(LIBGINI) $(PKG_LIBS) -ldl -lpthread

fuzz-replay: $(FUZZ_REPLAYS) $(PLUGINS)
	@mkdir -p $(BUILD)/tmp
	@for n in $(FUZZ_NAMES); do \
	  GINI_FUZZ_STAGES=$(abspath $(BUILD))/stages GINI_FUZZ_TMP=$(abspath $(BUILD))/tmp \
	  $(SANITIZER_ENV) $(FUZZ_LSAN) $(BUILD)/fuzz-replay/$$n tests/fuzz/corpus/$$n tests/fuzz/regressions/$$n \
	    || { echo "fuzz-replay: $$n failed on an input above"; exit 1; }; \
	done

fuzz-build:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="clang libclang-rt-14-dev"
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) SANITIZE=address,undefined \
	  CFLAGS='-O1 -g -fsanitize=fuzzer-no-link -DGINI_FUZZ_ENGINE=1' \
	  $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz/%)

fuzz: fuzz-build
	@$(MAKE) --no-print-directory $(FUZZ_NAMES:%=fuzz-run-%)

fuzz-run-%:
	@mkdir -p $(FUZZ_BUILD)/corpus/$* $(FUZZ_BUILD)/artifacts/$* $(FUZZ_BUILD)/logs
	@echo "fuzz: $*: $(FUZZ_SECONDS)s, log in $(FUZZ_BUILD)/logs/$*.log"
	@if UBSAN_OPTIONS=print_stacktrace=1 $(FUZZ_LSAN) $(FUZZ_BUILD)/fuzz/$* $(FUZZ_FLAGS) \
	    -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/artifacts/$*/ $(FUZZ_BUILD)/corpus/$* \
	    tests/fuzz/corpus/$* $(wildcard tests/fuzz/regressions/$*) \
	    > $(FUZZ_BUILD)/logs/$*.log 2>&1; then \
	  grep -E '^#[0-9]+[[:space:]]+DONE|^stat::' $(FUZZ_BUILD)/logs/$*.log | sed 's/^/fuzz: $*: /'; \
	else \
	  tail -n 40 $(FUZZ_BUILD)/logs/$*.log; \
	  echo "fuzz: $*: FAILED, input saved in $(FUZZ_BUILD)/artifacts/$*/"; exit 1; \
	fi
# `make fuzz-coverage`: the line coverage that each working corpus (with the
# seeds and regression cases) reaches in the sources its harness is for,
# measured with clang's source-based coverage (llvm-cov) in build-fuzzcov/.
FUZZ_COV_fuzz_config := daemon/config.c daemon/config_source.c daemon/config_reader.c \
                        daemon/config_pipeline.c daemon/pipeline.c daemon/pipeline_dag.c daemon/params.c \
                        daemon/diag.c \
                        $(foreach p,$(PLUGIN_NAMES),plugins/$(p)/$(p).c)
FUZZ_COV_fuzz_cron   := daemon/cron.c daemon/cron_next.c daemon/util.c
FUZZ_COV_fuzz_elf    := daemon/elfcheck.c daemon/loader_desc.c
.PHONY: fuzz-coverage
fuzz-coverage:
	@$(MAKE) --no-print-directory BUILD=build-fuzzcov CC=$(FUZZ_CC) \
	  CFLAGS='-O1 -g -fprofile-instr-generate -fcoverage-mapping' \
	  LDFLAGS='-fprofile-instr-generate' $(FUZZ_NAMES:%=build-fuzzcov/fuzz-replay/%)
	@$(MAKE) --no-print-directory $(FUZZ_NAMES:%=fuzz-coverage-%)

fuzz-coverage-%:
	@rm -f build-fuzzcov/$*.profraw
	@LLVM_PROFILE_FILE=build-fuzzcov/$*.profraw build-fuzzcov/fuzz-replay/$* \
	  $(wildcard $(FUZZ_BUILD)/corpus/$*) tests/fuzz/corpus/$* tests/fuzz/regressions/$* 2>&1 | tail -n 1
	@llvm-profdata merge -o build-fuzzcov/$*.profdata build-fuzzcov/$*.profraw
	@llvm-cov report build-fuzzcov/fuzz-replay/$* -instr-profile=build-fuzzcov/$*.profdata \
	  $(FUZZ_COV_$*) | sed 's/^/fuzz-coverage: $*: /'
# --- end fuzz ---

# --- bench ---
# Benchmarks (bench/, issue 6). `make bench` builds what it needs, runs every
# case BENCH_REPS times (default 5) measuring gini and its baselines side by
# side, prints one table and writes bench/results/latest.json; BENCH_QUICK=1
# takes under a minute; BENCH_CASES=1,3 runs only those. `make bench-smoke`
# (part of `make check`) runs each case once at tiny size and fails only if
# the harness is broken, never on speed. Generated plugin sets are cached in
# $(BUILD)/bench/plugins-N/. Results and how to read them: bench/RESULTS.md.
BENCH_SRCS   := $(filter-out bench/floor.c,$(wildcard bench/*.c))
BENCH_OBJS   := $(BENCH_SRCS:%.c=$(BUILD)/obj/%.o)
# The real-daemon harness the bench shares with the tests.
BENCH_OBJS   += $(BUILD)/obj/tests/daemon_proc.o
BENCH_PROG   := $(BUILD)/bench/gini-bench
BENCH_FLOOR  := $(BUILD)/bench/gini-floor
BENCH_FLOOR_LIBS := $(BUILD)/bench/gini-floor-libs
BENCH_STAGES := $(BUILD)/bench/stages/noop.so $(BUILD)/bench/template/benchgen.so
BENCH_ARGS    = $(if $(BENCH_QUICK),--quick) $(if $(BENCH_REPS),--reps $(BENCH_REPS)) \
                $(if $(BENCH_CASES),--cases $(BENCH_CASES))

.PHONY: bench bench-smoke bench-build

bench-build: $(PROGRAMS) $(PLUGINS) $(BENCH_PROG) $(BENCH_FLOOR) $(BENCH_FLOOR_LIBS) $(BENCH_STAGES)

# collectd-core is the incumbent of case 10, installed as the build's own
# dependencies are; without root, deps prints the command to run and case 10
# measures ginid against the bare daemon alone.
bench: deps
	@$(MAKE) --no-print-directory deps DEB_PACKAGES=collectd-core || \
	  echo "bench: case 10 runs without collectd"
	@$(MAKE) --no-print-directory bench-build
	@mkdir -p bench/results
	@$(SANITIZER_ENV) $(BENCH_PROG) $(BENCH_ARGS) --json bench/results/latest.json

# The smoke run, then again from a copy of the build whose path is longer
# than a socket's (sun_path, 108 bytes): the bench's sockets and scratch
# files must live in its own short directory in /tmp, not in the checkout.
BENCH_DEEP = $(abspath $(BUILD))/bench/deep/a-directory-nested-deep-enough/that-no-socket-path-under-it/could-fit-in-the-108-bytes-of-sun_path
bench-smoke: bench-build
	@$(SANITIZER_ENV) $(BENCH_PROG) --smoke
	@rm -rf $(BUILD)/bench/deep
	@mkdir -p $(BENCH_DEEP)/bench
	@n=$$(printf %s '$(BENCH_DEEP)' | wc -c); test $$n -gt 108 || \
	  { echo "bench-smoke: $(BENCH_DEEP) is only $$n bytes long"; exit 1; }
	@cp -a $(PROGRAMS) $(BUILD)/stages $(BENCH_DEEP)/
	@cp -a $(BENCH_PROG) $(BENCH_FLOOR) $(BENCH_FLOOR_LIBS) $(BUILD)/bench/stages $(BUILD)/bench/template $(BENCH_DEEP)/bench/
	@printf 'bench-smoke: from a build %s bytes deep: ' $$(printf %s '$(BENCH_DEEP)' | wc -c)
	@$(SANITIZER_ENV) $(BENCH_DEEP)/bench/gini-bench --smoke
	@rm -rf $(BUILD)/bench/deep

$(BENCH_PROG): $(BENCH_OBJS) $(LIBGINI)
	@mkdir -p $(@D)
	$(CC) $(EXE_LDFLAGS) -o $@ $^ $(PKG_LIBS) -ldl -lpthread -lm

# The floors link against nothing but libc. gini-floor-libs is the same
# program loading ginid's libraries too (case 10: what they cost at start).
$(BENCH_FLOOR): $(BUILD)/obj/bench/floor.o
	@mkdir -p $(@D)
	$(CC) $(EXE_LDFLAGS) -o $@ $^

$(BENCH_FLOOR_LIBS): $(BUILD)/obj/bench/floor.o
	@mkdir -p $(@D)
	$(CC) $(EXE_LDFLAGS) -o $@ $^ -Wl,--no-as-needed $(PKG_LIBS) -Wl,--as-needed

# Bench plugins, with the modes the loader insists on: noop.so in stages/,
# the template of the generated plugins alone in template/.
define bench_plugin_rule
$(BUILD)/bench/$(1)/%.so: $(BUILD)/obj/bench/stages/%.pic.o
	@mkdir -p $$(@D)
	@chmod 0755 $$(@D)
	$$(CC) $$(PLUGIN_LDFLAGS) -o $$@ $$<
	@chmod 0755 $$@
endef
$(foreach d,stages template,$(eval $(call bench_plugin_rule,$(d))))

$(BUILD)/obj/bench/stages/%.pic.o: bench/stages/%.c
	@mkdir -p $(@D)
	$(CC) $(PLUGIN_CFLAGS) -c -o $@ $<
# --- end bench ---

# --- lint ---
# `make lint`: cppcheck and clang-tidy (.clang-tidy) over the daemon, the
# plugins and the tests, failing on any finding. Both read
# $(BUILD)/compile_commands.json, written from this Makefile's own flags
# (no rebuild). clang-tidy runs once per file into $(BUILD)/lint/ stamps, so
# `make -j2 lint` runs two at once and a second run only redoes what
# changed. `make scan` runs scan-build (the clang static analyzer on a full
# clang build into build-scan/).
LINT_SRCS     = $(filter-out ,$(wildcard daemon/*.c daemon/helpers/*.c plugins/lib/*.c ginictl/*.c) \
                $(foreach p,$(PLUGIN_NAMES),plugins/$(p)/$(p).c) \
                $(wildcard tests/*.c tests/plugins/*.c tests/fuzz/*.c))
LINT_HEADERS  = $(wildcard include/gini/*.h daemon/*.h ginictl/*.h plugins/lib/*.h tests/*.h \
                tests/fuzz/*.h)
LINT_CFLAGS   = $(filter-out -MMD -MP -Werror,$(1))
COMPDB       := $(BUILD)/compile_commands.json

# One entry per file, with the flags its build rule uses.
lint_flags = $(call LINT_CFLAGS,$(if $(filter tests/plugins/abi10_%,$(1)),-Itests/abi/gini-1.0 )$(if $(filter plugins/% tests/plugins/%,$(1)),$(PLUGIN_CFLAGS),$(EXE_CFLAGS) \
             $(if $(filter tests/%,$(1)),-DGINI_BUILD_DIR='"$(abspath $(BUILD))"' -DGINI_SOURCE_DIR='"$(CURDIR)"')))
# "arguments" rather than a shell command: the values of -D'"..."' lose their
# shell quotes, which cppcheck would otherwise keep.
compdb_args  = $(foreach a,$(CC) $(call lint_flags,$(1)) -c -o /dev/null $(1),"$(subst ",\",$(subst ',,$(a)))")
compdb_entry = {"directory": "$(CURDIR)", "file": "$(1)", "arguments": [$(subst " ","$(comma) ",$(call compdb_args,$(1)))]}

.PHONY: lint lint-deps scan compdb
compdb: $(COMPDB)
# make expands the whole recipe (and so runs the $(file ...) writes) before
# it runs its first line: the directory is made during the expansion too.
$(COMPDB): Makefile
	@: $(shell mkdir -p $(@D))
	$(file >$@,[)
	$(file >>$@,$(call compdb_entry,$(firstword $(LINT_SRCS))))
	$(foreach f,$(wordlist 2,$(words $(LINT_SRCS)),$(LINT_SRCS)),$(file >>$@,$(comma)$(call compdb_entry,$(f))))
	$(file >>$@,])
	@echo "lint: wrote $@"

lint-deps:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="cppcheck clang-tidy"

$(BUILD)/lint/%.tidy: % .clang-tidy $(COMPDB) $(LINT_HEADERS)
	@mkdir -p $(@D)
	@clang-tidy --quiet -p $(BUILD) $< 2>/dev/null > $@.out || { cat $@.out; rm -f $@.out; exit 1; }
	@if grep -q 'warning:\|error:' $@.out; then cat $@.out; rm -f $@.out; exit 1; fi
	@mv $@.out $@

# cppcheck sees one configuration: this build's -D and -I flags.
# varFuncNullUB: NULL ends the variadic lists of the tests (with the sentinel
# attribute); glibc defines it as ((void *)0), never as a plain 0.
# nullPointer in tests/plugins/hostile.h: the hostile test plugins crash on
# purpose.
CPPCHECK_FLAGS = --quiet --error-exitcode=1 --inline-suppr --std=c11 --language=c \
                 --enable=warning,performance,portability --suppress=missingIncludeSystem \
                 --suppress=varFuncNullUB --suppress=nullPointer:tests/plugins/hostile.h \
                 -j2 -D__GNUC__ -Iinclude -Idaemon \
                 $(filter -D%,$(EXE_CFLAGS)) -DGINI_BUILD_DIR='"$(abspath $(BUILD))"' \
                 -DGINI_SOURCE_DIR='"$(CURDIR)"'

# The house format is .clang-format's, checked on every C file we write
# (the frozen ABI 1.0 header in tests/abi/ stays as it was published).
# `make format` rewrites the files in place; `make format-check`, part of
# `make check` and `make lint`, fails and names each file and line that
# differs.
FORMAT_SRCS   = $(filter-out tests/abi/%,$(sort $(LINT_SRCS) $(LINT_HEADERS) \
                $(wildcard bench/*.[ch] bench/stages/*.c tests/helpers/*.c tests/plugins/*.h \
                plugins/lib/*.h plugins/*/*.[ch])))
.PHONY: format format-check
format:
	clang-format -i $(FORMAT_SRCS)
format-check:
	@clang-format --dry-run --Werror $(FORMAT_SRCS) || \
	  { echo "format-check: run 'make format' (clang-format $$(clang-format --version | \
	    sed 's/.*version \([0-9.]*\).*/\1/'))"; exit 1; }

lint: lint-deps format-check
	@$(MAKE) --no-print-directory $(COMPDB)
	cppcheck $(CPPCHECK_FLAGS) $(LINT_SRCS)
	@$(MAKE) --no-print-directory $(LINT_SRCS:%=$(BUILD)/lint/%.tidy)
	@echo "lint: clean"

scan:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="clang clang-tools"
	scan-build --status-bugs -o build-scan/report --use-cc=clang \
	  $(MAKE) --no-print-directory BUILD=build-scan CFLAGS='-O0 -g' all
# --- end lint ---

# --- valgrind ---
# `make check-valgrind`: the unit suites under memcheck, each test in its own
# forked child as usual (memcheck follows the fork and checks each child at
# its exit, one log per process in $(BUILD)/valgrind/; programs the tests
# exec are not traced and leave a log with a header only), then one ginid
# start, run, reload, run, stop under memcheck (tests/valgrind/daemon-cycle.sh).
# Any error or definite leak fails. The suites that start daemons or
# commands of their own (ginid, control, install, isolation) are left out:
# the daemon cycle covers the daemon. tests/valgrind/gini.supp holds the
# third-party suppressions, each with its reason. Memcheck runs code 20 to
# 50 times slower: each test's timeout is multiplied by
# CK_TIMEOUT_MULTIPLIER (default 10 here).
VALGRIND_SUITES := util registry loader plugins cron cron_next executor config docs
VALGRIND_SUITES += config_values config_pipeline config_invalid
VALGRIND      = valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
                --errors-for-leak-kinds=definite --show-leak-kinds=definite \
                --keep-debuginfo=yes --num-callers=30 \
                --suppressions=$(CURDIR)/tests/valgrind/gini.supp
.PHONY: check-valgrind
check-valgrind:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(DEB_PACKAGES) valgrind"
	@$(MAKE) --no-print-directory build-tests
	@rm -rf $(BUILD)/valgrind && mkdir -p $(BUILD)/valgrind
	@for s in $(VALGRIND_SUITES); do \
	  CK_RUN_SUITE=$$s CK_TIMEOUT_MULTIPLIER=$${CK_TIMEOUT_MULTIPLIER:-10} $(VALGRIND) --log-file=$(BUILD)/valgrind/$$s.%p.log $(TEST_RUNNER) \
	    || { echo "check-valgrind: suite $$s failed"; exit 1; }; \
	done
	@bad=$$(grep -l 'ERROR SUMMARY: [1-9]' $(BUILD)/valgrind/*.log); \
	if [ -n "$$bad" ]; then cat $$bad; echo "check-valgrind: memcheck errors in:" $$bad; exit 1; fi
	@echo "check-valgrind: unit suites ($(VALGRIND_SUITES)): no memcheck error, no definite leak"
	@tests/valgrind/daemon-cycle.sh $(BUILD) $(VALGRIND)
# --- end valgrind ---

# --- deb ---
# `make deb`: the Debian packages of debian/ (gini, gini-dev, gini-dbgsym),
# built by `dpkg-buildpackage -us -uc -b` from a copy of the source in
# DEB_OUT/gini-VERSION/ (default build-deb/), so the .deb files land in
# DEB_OUT rather than in the parent directory of the tree, which may be
# shared or read-only. The copy holds the working tree's files as they are,
# less what .gitignore ignores (without git, or where git refuses the tree:
# less build*/). DEB_BUILD_OPTIONS passes through (nocheck skips the tests
# debian/rules runs); DEB_JOBS is dpkg-buildpackage's -j (default 2);
# DEB_LINTIAN, when installed (empty: not run), checks the result and fails
# on errors. `make deb-build` is the same without installing the build
# dependencies.
DEB_OUT      ?= build-deb
DEB_SRC       = $(DEB_OUT)/gini-$(VERSION)
DEB_LINTIAN  ?= lintian --fail-on error
DEB_JOBS     ?= 2

.PHONY: deb deb-build
deb:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(DEB_PACKAGES) lintian"
	@$(MAKE) --no-print-directory deb-build

deb-build:
	@rm -rf $(DEB_SRC) $(DEB_OUT)/gini_* $(DEB_OUT)/gini-dev_* $(DEB_OUT)/gini-dbgsym_*
	@mkdir -p $(DEB_SRC)
	@if [ -e .git ] && git ls-files >/dev/null 2>&1; then \
	  git ls-files -z --cached --others --exclude-standard | xargs -0 -r sh -c \
	    'for f; do if [ -e "$$f" ]; then printf "%s\0" "$$f"; fi; done' sh | \
	    tar --null -T - -cf - | tar -xf - -C $(DEB_SRC); \
	else \
	  tar -cf - --exclude=./build --exclude='./build-*' --exclude=./.git . | tar -xf - -C $(DEB_SRC); \
	fi
	cd $(DEB_SRC) && dpkg-buildpackage -us -uc -b -j$(DEB_JOBS)
	@if [ -n "$(DEB_LINTIAN)" ] && command -v $(firstword $(DEB_LINTIAN)) >/dev/null 2>&1; then \
	  echo "deb: $(DEB_LINTIAN)"; $(DEB_LINTIAN) $(DEB_OUT)/gini_$(VERSION)-*.changes; fi
	@echo "deb: packages in $(DEB_OUT)/:"; cd $(DEB_OUT) && ls -1 *.deb | sed 's/^/  /'
# --- end deb ---

clean:
	rm -rf build build-*

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
