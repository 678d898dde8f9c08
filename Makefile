# gini - one hand-written Makefile.
#
#   make                     build ginid, ginictl, the bundled and the test plugins
#   make check               install missing Debian packages, build, run every test
#   make check SANITIZE=address,undefined   (or SANITIZE=thread) the same, sanitized
#   make run                 run ginid in the foreground on conf/gini.conf
#   make install             PREFIX=/usr DESTDIR=... SYSCONFDIR=/etc
#
# Each SANITIZE setting builds into its own directory (build, build-address-
# undefined, build-thread), so switching never mixes objects.

VERSION     := 0.1.0

PREFIX      ?= /usr/local
SYSCONFDIR  ?= /etc
BINDIR      ?= $(PREFIX)/bin
SBINDIR     ?= $(PREFIX)/sbin
LIBDIR      ?= $(PREFIX)/lib
LIBEXECDIR  ?= $(PREFIX)/libexec
INCLUDEDIR  ?= $(PREFIX)/include
MANDIR      ?= $(PREFIX)/share/man
UNITDIR     ?= $(PREFIX)/lib/systemd/system
STAGEDIR    ?= $(LIBDIR)/gini/stages
DESTDIR     ?=

CC          ?= cc
CFLAGS      ?= -O2 -g
LDFLAGS     ?=
SANITIZE    ?=

comma := ,
BUILD       ?= build$(if $(SANITIZE),-$(subst $(comma),-,$(SANITIZE)))

# The Debian packages the build and the tests need (checked by `make deps`).
DEB_PACKAGES := gcc make pkg-config libconfig-dev check libelf-dev libjansson-dev libsystemd-dev

WARNFLAGS   := -std=gnu11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
               -Wformat=2 -Wno-format-nonliteral -Werror
ifeq ($(SANITIZE),)
HARDEN      := -D_FORTIFY_SOURCE=3 -fstack-protector-strong
else
HARDEN      := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

# Recursive (=) so pkg-config runs after `make deps` may have installed things.
PKG_LIBS     = $(shell pkg-config --libs libconfig libelf jansson libsystemd 2>/dev/null)
CHECK_LIBS   = $(shell pkg-config --libs check 2>/dev/null)

BASE_CFLAGS  = $(WARNFLAGS) $(HARDEN) $(CFLAGS) -D_GNU_SOURCE -Iinclude -MMD -MP \
               -DGINI_VERSION='"$(VERSION)"' \
               -DGINI_CONFIG_FILE='"$(SYSCONFDIR)/gini/gini.conf"' \
               -DGINI_STAGE_DIR='"$(STAGEDIR)"' \
               -DGINI_LIBEXEC_DIR='"$(LIBEXECDIR)/gini"'
ALL_CFLAGS   = $(BASE_CFLAGS) -Idaemon
EXE_CFLAGS   = $(ALL_CFLAGS) -fPIE
EXE_LDFLAGS  = $(HARDEN) $(LDFLAGS) -pie -Wl,-z,relro -Wl,-z,now
# Plugins: only stage_descriptor is exported, and every symbol must resolve
# inside the plugin or its libraries (-z defs), except under the sanitizers,
# whose runtime lives in the executable.
# Plugins see <gini/stage.h> and nothing of the daemon, like third-party ones.
PLUGIN_CFLAGS  = $(BASE_CFLAGS) -fPIC -fvisibility=hidden
PLUGIN_LDFLAGS = $(HARDEN) $(LDFLAGS) -shared -Wl,-z,relro -Wl,-z,now $(if $(SANITIZE),,-Wl,-z,defs)

DAEMON_SRCS  := $(filter-out daemon/ginid.c daemon/ginictl.c,$(wildcard daemon/*.c))
DAEMON_OBJS  := $(DAEMON_SRCS:%.c=$(BUILD)/obj/%.o)
LIBGINI      := $(BUILD)/libginid.a

PLUGIN_NAMES := $(filter-out lib,$(notdir $(wildcard plugins/*)))
PLUGINS      := $(PLUGIN_NAMES:%=$(BUILD)/stages/%.so)

TEST_PLUGIN_SRCS := $(wildcard tests/plugins/*.c)
TEST_PLUGINS     := $(TEST_PLUGIN_SRCS:tests/plugins/%.c=$(BUILD)/tests/plugins/%.so)
TEST_SRCS    := $(wildcard tests/*.c)
TEST_OBJS    := $(TEST_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_RUNNER  := $(BUILD)/tests/check_gini

PROGRAMS     := $(patsubst daemon/%.c,$(BUILD)/%,$(wildcard daemon/ginid.c daemon/ginictl.c))

.PHONY: all check run install uninstall deps clean build-tests
.DEFAULT_GOAL := all
# Keep the intermediate objects of plugins, so rebuilds stay incremental.
.SECONDARY:

all: $(PROGRAMS) $(PLUGINS) $(TEST_PLUGINS) $(TEST_RUNNER) $(BUILD)/gini.pc

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(EXE_CFLAGS) -c -o $@ $<

$(LIBGINI): $(DAEMON_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/ginid: $(BUILD)/obj/daemon/ginid.o $(LIBGINI)
	$(CC) $(EXE_LDFLAGS) -o $@ $^ $(PKG_LIBS) -ldl -lpthread

$(BUILD)/ginictl: $(BUILD)/obj/daemon/ginictl.o $(LIBGINI)
	$(CC) $(EXE_LDFLAGS) -o $@ $^ $(PKG_LIBS) -ldl -lpthread

# Plugins are installed into the build tree with explicit modes: the loader
# refuses group- or world-writable files, whatever the user's umask.
$(BUILD)/stages/%.so: $(BUILD)/obj/plugins/%.pic.o
	@mkdir -p $(@D)
	@chmod 0755 $(@D)
	$(CC) $(PLUGIN_LDFLAGS) -o $@ $<
	@chmod 0755 $@

# plugins/NAME/NAME.c builds NAME.so: directory, file stem and stage id agree.
define plugin_rule
$(BUILD)/obj/plugins/$(1).pic.o: plugins/$(1)/$(1).c
	@mkdir -p $$(@D)
	$$(CC) $$(PLUGIN_CFLAGS) -c -o $$@ $$<
endef
$(foreach p,$(PLUGIN_NAMES),$(eval $(call plugin_rule,$(p))))

$(BUILD)/tests/plugins/%.so: $(BUILD)/obj/tests/plugins/%.pic.o
	@mkdir -p $(@D)
	@chmod 0755 $(@D)
	$(CC) $(PLUGIN_LDFLAGS) -o $@ $<
	@chmod 0755 $@

$(BUILD)/obj/tests/plugins/%.pic.o: tests/plugins/%.c
	@mkdir -p $(@D)
	$(CC) $(PLUGIN_CFLAGS) -c -o $@ $<

$(TEST_RUNNER): $(TEST_OBJS) $(LIBGINI)
	@mkdir -p $(@D)
	$(CC) $(EXE_LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(PKG_LIBS) -ldl -lpthread

$(TEST_OBJS): EXE_CFLAGS += -DGINI_BUILD_DIR='"$(abspath $(BUILD))"' -DGINI_SOURCE_DIR='"$(CURDIR)"'

$(BUILD)/gini.pc: Makefile
	@mkdir -p $(@D)
	printf '%s\n' 'prefix=$(PREFIX)' 'includedir=$${prefix}/include' \
	  'stagedir=$(STAGEDIR)' '' 'Name: gini' \
	  'Description: gini stage plugin ABI (header only; plugins never link against the daemon)' \
	  'Version: $(VERSION)' 'Cflags: -I$${includedir}' > $@

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

build-tests: all

check: deps
	@$(MAKE) --no-print-directory build-tests
	@$(TEST_RUNNER)

run: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p $(BUILD)/run $(BUILD)/state
	$(BUILD)/ginid -c conf/gini.conf --plugin-dir $(BUILD)/stages \
	  --control-socket $(BUILD)/run/ginid.sock --state-dir $(BUILD)/state

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(INCLUDEDIR)/gini \
	  $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(STAGEDIR) $(DESTDIR)$(SYSCONFDIR)/gini/pipelines.d \
	  $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BUILD)/ginid $(DESTDIR)$(SBINDIR)/ginid
	$(if $(wildcard daemon/ginictl.c),install -m 0755 $(BUILD)/ginictl $(DESTDIR)$(BINDIR)/ginictl)
	install -m 0644 include/gini/stage.h $(DESTDIR)$(INCLUDEDIR)/gini/stage.h
	install -m 0644 $(BUILD)/gini.pc $(DESTDIR)$(LIBDIR)/pkgconfig/gini.pc
	install -m 0755 $(PLUGINS) $(DESTDIR)$(STAGEDIR)/
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/gini/gini.conf ]; then \
	  echo "install: keeping existing $(DESTDIR)$(SYSCONFDIR)/gini/gini.conf"; \
	else \
	  install -m 0644 conf/gini.conf $(DESTDIR)$(SYSCONFDIR)/gini/gini.conf; \
	fi
	@for m in $(wildcard docs/*.[1-8]); do \
	  s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s; \
	  install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/; \
	done
	@if [ -e systemd/ginid.service ]; then \
	  sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    systemd/ginid.service > $(DESTDIR)$(UNITDIR)/ginid.service; \
	  chmod 0644 $(DESTDIR)$(UNITDIR)/ginid.service; \
	fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/ginid $(DESTDIR)$(BINDIR)/ginictl \
	  $(DESTDIR)$(INCLUDEDIR)/gini/stage.h $(DESTDIR)$(LIBDIR)/pkgconfig/gini.pc \
	  $(PLUGIN_NAMES:%=$(DESTDIR)$(STAGEDIR)/%.so) $(DESTDIR)$(UNITDIR)/ginid.service

clean:
	rm -rf build build-*

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
