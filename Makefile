# unitrace: one Makefile for the whole tree.
#
#   make demo        install what is missing, build, trace the demo guest into
#                    build/demo/trace.db, print a summary, open unitrace view
#   make test        install what is missing, build, unit tests, then
#                    end-to-end tests; ends "N passed, N failed"
#   make check T=viewer   one test (a unit test name or an e2e script name)
#   make test-load   the same tests with every core saturated by stress-ng
#   make deps        install the Debian packages that are missing (root)
#   make             build everything into $(B)/
#   make check-asan  the same tests built with ASan + UBSan (into build-asan/)
#   make bench       benchmarks (figures and ratios, never pass/fail)
#   make fuzz        every libFuzzer target briefly; make fuzz-long for hours
#                    (docs/fuzzing.md)
#   make bench-xen   Xen rig figures: grant-ring events/s, crash dump vs xl dump-core (~10 min)
#   make install     PREFIX=/usr/local DESTDIR=

B ?= build
PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
SAN ?=

WARN := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
	-Wpointer-arith -Wvla -Werror
OPT ?= -O2 -g
CFLAGS_COMMON := -std=c11 $(OPT) $(WARN) -fno-omit-frame-pointer $(SAN)
CPPFLAGS_COMMON := -Iinclude/unitrace -Iformats -Itracer-guest
# Host code (collector, viewer, tests, demo, hosted port)
HOST_CFLAGS := $(CFLAGS_COMMON) -D_GNU_SOURCE -pthread
# The freestanding core of the guest library: no libc headers at all.
GUEST_CFLAGS := $(CFLAGS_COMMON) -ffreestanding -fno-builtin -nostdinc \
	-isystem $(shell $(CC) -print-file-name=include)
LDLIBS_HOST := -lsqlite3 -ldw -lelf -lpthread -lm

VERSION := 0.1.0

GUEST_CORE_SRC := tracer-guest/ut_trace.c
GUEST_HOSTED_SRC := tracer-guest/port_hosted.c
# collector/: one folder per layer (docs/architecture.md); its headers are
# found by name from each folder.
COLLECTOR_SRC := $(filter-out collector/cli/main.c,$(wildcard collector/*/*.c))
COLLECTOR_INC := -Icollector -Icollector/transport -Icollector/crash \
	-Icollector/store -Icollector/db -Icollector/cli
VIEWER_SRC := $(wildcard viewer/*.c)
UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/test_*.c))
E2E_PROGS := $(patsubst tests/e2e/%.c,$(B)/tests/e2e/%,$(wildcard tests/e2e/*.c))
BENCH_SRC := $(wildcard bench/*.c)
BENCHES := $(patsubst bench/%.c,$(B)/bench/%,$(BENCH_SRC))

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

# The Xen transport (STYLE.md practice 8): xen*.c where the Xen libraries
# fit, xen_stub.c elsewhere; `--xen` then fails at once with a clear
# message.  "Fit" is decided by the probe (collector/transport/xen_probe.sh):
# it compiles and links xen_probe.c, which makes every libxen call the
# backend makes, with these flags; its result is cached in $(B) under the
# flags, the Xen version and the probe's source (docs/xen.md, "Building").
#   HAVE_XEN=n  the stub, no probe;  HAVE_XEN=y  the backend, or stop with
#   the probe's reason;  unset: the backend if the probe passes, else the
#   stub and one line saying why.
#   XEN_CFLAGS, XEN_LIBS (default: pkg-config), XEN_LDFLAGS (extra link
#   flags) point the build at another Xen (tests/e2e/xen_api.sh does).
XEN_PKGS := xencontrol xenstore xengnttab xenevtchn xenforeignmemory xenvchan
XEN_SRC := collector/transport/xen.c collector/crash/xen_dump.c collector/transport/xen_ctl.c
XEN_PROBE_SRC := collector/transport/xen_probe.c
COLLECTOR_SRC := $(filter-out $(XEN_PROBE_SRC),$(COLLECTOR_SRC))
ifeq ($(origin XEN_CFLAGS),undefined)
XEN_CFLAGS := $(shell pkg-config --cflags $(XEN_PKGS) 2>/dev/null)
endif
ifeq ($(origin XEN_LIBS),undefined)
XEN_LIBS := $(shell pkg-config --libs $(XEN_PKGS) 2>/dev/null)
endif
XEN_LDFLAGS ?=
# Goals that build nothing need no probe.
XEN_NO_PROBE_GOALS := clean deps
ifeq ($(HAVE_XEN),n)
XEN_OFF_REASON := built with HAVE_XEN=n
else ifneq ($(MAKECMDGOALS),)
ifeq ($(filter-out $(XEN_NO_PROBE_GOALS),$(MAKECMDGOALS)),)
XEN_SKIP_PROBE := 1
endif
endif
ifneq ($(HAVE_XEN),n)
ifeq ($(XEN_SKIP_PROBE),1)
HAVE_XEN := n
XEN_OFF_REASON := not probed
else
# The Xen headers use anonymous unions: GNU C (as for xen*.c below).
XEN_PROBE := $(shell mkdir -p $(B) && CC='$(CC)' \
	CFLAGS='$(filter-out -std=c11,$(CFLAGS_COMMON)) -std=gnu11 -D_GNU_SOURCE -pthread' \
	XEN_CFLAGS='$(XEN_CFLAGS)' XEN_LIBS='$(XEN_LIBS) $(XEN_LDFLAGS)' \
	XEN_PKGS='$(XEN_PKGS)' sh collector/transport/xen_probe.sh $(B))
ifeq ($(XEN_PROBE),y)
HAVE_XEN := y
else
XEN_OFF_REASON := $(wordlist 2,$(words $(XEN_PROBE)),$(XEN_PROBE))
ifeq ($(HAVE_XEN),y)
$(error unitrace: HAVE_XEN=y but the Xen backend does not build here: $(XEN_OFF_REASON) (compiler output: $(B)/xen-probe.log))
endif
HAVE_XEN := n
$(info unitrace: Xen backend off: $(XEN_OFF_REASON); --xen will say so)
endif
endif
endif
ifeq ($(HAVE_XEN),y)
COLLECTOR_SRC := $(filter-out collector/transport/xen_stub.c,$(COLLECTOR_SRC))
HOST_CFLAGS += -DUT_HAVE_XEN $(XEN_CFLAGS)
LDLIBS_HOST += $(XEN_LIBS) $(XEN_LDFLAGS)
else
COLLECTOR_SRC := $(filter-out $(XEN_SRC),$(COLLECTOR_SRC))
# The stub's message says why (the reason is plain text: xen_probe.sh).
$(call obj,collector/transport/xen_stub.c): HOST_CFLAGS += \
	-DUT_XEN_OFF_REASON='"$(XEN_OFF_REASON)"'
endif

GUEST_CORE_OBJ := $(call obj,$(GUEST_CORE_SRC))
GUEST_HOSTED_OBJ := $(call obj,$(GUEST_HOSTED_SRC))
COLLECTOR_OBJ := $(call obj,$(COLLECTOR_SRC))
VIEWER_OBJ := $(call obj,$(VIEWER_SRC))

LIB_GUEST := $(B)/libunitrace-guest.a
LIB_TESTPORT := $(B)/libunitrace-testport.a
LIB_COLLECTOR := $(B)/libutcollector.a
UNITRACE := $(B)/unitrace
DEMO := $(B)/demo-guest

# Every object is named here, so none is an "intermediate" file that make
# would consider up to date while missing (no bare .SECONDARY).
TEST_OBJ := $(call obj,$(wildcard tests/unit/test_*.c) $(wildcard tests/e2e/*.c) \
	$(BENCH_SRC) tests/port_test.c collector/cli/main.c examples/demo-guest/demo.c \
	examples/common/workload.c)

.PHONY: pvh-demo unikraft-app test-xen all deps test test-load check unit e2e check-asan check-valgrind demo demo-crash bench bench-xen install clean fuzz fuzz-long \
	check-headers check-freestanding FORCE
all: $(UNITRACE) $(LIB_GUEST) $(LIB_XEN_GUEST) $(DEMO) $(B)/unitrace-guest.pc $(UNIT_TESTS) \
	$(E2E_PROGS) $(BENCHES) $(TEST_OBJ) check-freestanding pvh-demo unikraft-app

# ---- the flags stamp -----------------------------------------------------
# Everything built depends on $(STAMP), rewritten only when the compiler,
# a flag or the configuration (HAVE_XEN, OPT, SAN...) changed: changing one
# rebuilds what it affects.
STAMP := $(B)/.flags
STAMP_TEXT = $(CC) $(HOST_CFLAGS) | $(GUEST_CFLAGS) | $(PVH_CFLAGS) | \
	$(CPPFLAGS_COMMON) | $(LDLIBS_HOST) | HAVE_XEN=$(HAVE_XEN) $(XEN_OFF_REASON)
$(STAMP): FORCE
	@mkdir -p $(B)
	@if [ "$$(cat $@ 2>/dev/null)" != '$(strip $(STAMP_TEXT))' ]; then \
		printf '%s\n' '$(strip $(STAMP_TEXT))' > $@; fi

# ---- compilation ---------------------------------------------------------
$(GUEST_CORE_OBJ): $(B)/obj/%.o: %.c $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) $(CPPFLAGS_COMMON) -MMD -MP -c $< -o $@

HOST_INC = $(CPPFLAGS_COMMON) $(COLLECTOR_INC) -Itests
# The viewer's wall: it sees the trace database API and the CLI header,
# never collector.h (the compiler enforces it; touching collector
# internals rebuilds no viewer object).
$(VIEWER_OBJ): HOST_INC = -Iinclude/unitrace -Iformats -Icollector/db -Icollector/cli

$(B)/obj/%.o: %.c $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(HOST_INC) -MMD -MP -c $< -o $@

-include $(shell find $(B)/obj $(B)/pvh -name '*.d' 2>/dev/null)

# The Xen tools headers use anonymous unions: GNU C for the files that
# include them.
$(call obj,$(XEN_SRC) tests/unit/test_xen.c): HOST_CFLAGS += -std=gnu11

$(LIB_GUEST): $(GUEST_CORE_OBJ) $(GUEST_HOSTED_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(LIB_TESTPORT): $(GUEST_CORE_OBJ) $(call obj,tests/port_test.c)
	@rm -f $@
	ar rcs $@ $^

$(LIB_COLLECTOR): $(COLLECTOR_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(UNITRACE): $(call obj,collector/cli/main.c) $(VIEWER_OBJ) $(LIB_COLLECTOR) $(STAMP)
	$(CC) $(HOST_CFLAGS) $(filter %.o %.a,$^) -o $@ $(LDLIBS_HOST) -lncursesw

$(DEMO): $(call obj,examples/demo-guest/demo.c examples/common/workload.c) $(LIB_GUEST)
	$(CC) $(HOST_CFLAGS) $^ -o $@ -lpthread -lm

$(B)/tests/%: $(call obj,tests/unit/%.c) $(LIB_COLLECTOR) $(LIB_TESTPORT) $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(filter %.o %.a,$^) -o $@ $(LDLIBS_HOST)

$(B)/tests/e2e/%: $(call obj,tests/e2e/%.c) $(LIB_GUEST)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $^ -o $@ -lpthread

$(B)/bench/%: $(call obj,bench/%.c) $(LIB_COLLECTOR) $(LIB_GUEST) $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(filter %.o %.a,$^) -o $@ $(LDLIBS_HOST)

# The pkg-config file, for PREFIX (install writes it again for its PREFIX).
PC_TEXT = 'prefix=%s\nincludedir=$${prefix}/include\nlibdir=$${prefix}/lib\n\nName: unitrace-guest\nDescription: unitrace guest tracer (hosted port)\nVersion: %s\nCflags: -I$${includedir} -I$${includedir}/unitrace\nLibs: -L$${libdir} -lunitrace-guest -lpthread\n'
$(B)/unitrace-guest.pc: Makefile
	@mkdir -p $(B)
	printf $(PC_TEXT) '$(PREFIX)' '$(VERSION)' > $@

# ---- the Xen guest library and the PVH demo unikernel --------------------
# Freestanding kernel code: no libc, no red zone, no SSE, no PIC.
PVH_CFLAGS := -std=c11 -O2 -g $(WARN) -ffreestanding -fno-builtin -nostdinc \
	-isystem $(shell $(CC) -print-file-name=include) -fno-pic -fno-pie \
	-mno-red-zone -mcmodel=small -fno-stack-protector -fno-omit-frame-pointer \
	-mgeneral-regs-only -fno-asynchronous-unwind-tables \
	-fno-tree-loop-distribute-patterns -fcf-protection=none
pvh = $(patsubst %,$(B)/pvh/%.o,$(basename $(1)))
# libunitrace-xen.a: the tracer and its Xen port, for a unikernel's link
# (the unikernel provides the xg_* platform hooks of tracer-guest/xen_guest.h)
XEN_GUEST_SRC := tracer-guest/ut_trace.c tracer-guest/port_xen.c
LIB_XEN_GUEST := $(B)/libunitrace-xen.a
PVH_SRC := examples/pvh-demo/boot.S examples/pvh-demo/main.c \
	examples/pvh-demo/xen.c examples/pvh-demo/xs_proto.c examples/pvh-demo/lib.c \
	examples/common/workload.c
PVH_ELF := $(B)/pvh-demo/pvh-demo.elf

$(B)/pvh/%.o: %.c $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(PVH_CFLAGS) $(CPPFLAGS_COMMON) -Iexamples/pvh-demo -MMD -MP -c $< -o $@
$(B)/pvh/%.o: %.S $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(PVH_CFLAGS) $(CPPFLAGS_COMMON) -Iexamples/pvh-demo -MMD -MP -c $< -o $@

$(LIB_XEN_GUEST): $(call pvh,$(XEN_GUEST_SRC))
	@rm -f $@
	ar rcs $@ $^

$(PVH_ELF): $(call pvh,$(PVH_SRC)) $(LIB_XEN_GUEST) examples/pvh-demo/pvh-demo.ld
	@mkdir -p $(dir $@)
	$(CC) -nostdlib -static -no-pie -Wl,--build-id=sha1 \
		-Wl,-T,examples/pvh-demo/pvh-demo.ld -Wl,-z,max-page-size=4096 \
		-Wl,-z,noexecstack -Wl,--no-warn-rwx-segments \
		$(call pvh,$(PVH_SRC)) $(LIB_XEN_GUEST) -o $@

pvh-demo: $(PVH_ELF)

# ---- the Unikraft application (examples/unikraft-app/) ------------------
# A Unikraft Xen x86_64 PV domU traced through tracer-guest/unikraft/ (an
# external Unikraft library).  Unikraft comes from the tarball beside the
# project (extracted once into $(B)/unikraft/) or from the user's own tree:
# make UK_ROOT=/path/to/unikraft.  With neither, the target says SKIPPED and
# succeeds.  Unikraft's own build output stays in $(B)/unikraft-app/build/.
# $(UK_APP_ELF) is the image with its debug information, which xl boots and
# gdb and `unitrace collect --elf` read: Unikraft's .dbg with the boot-info
# section (the memory map of the image) that Unikraft writes only into its
# stripped image; without it the guest crashes before its first line.
UNIKRAFT_SRC ?= ../shared/third_party/unikraft/unikraft-eaf6fda1.tar.xz
UK_ROOT ?=
UK_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
UK_APP_DIR := $(B)/unikraft-app
UK_APP_ELF := $(UK_APP_DIR)/unikraft-app.elf
UK_APP_OUT := $(abspath $(UK_APP_DIR)/build)
UK_APP_SRC := $(wildcard examples/unikraft-app/* tracer-guest/unikraft/* \
	tracer-guest/unikraft/include/*) examples/common/workload.c \
	examples/common/workload.h $(XEN_GUEST_SRC) $(wildcard tracer-guest/*.h \
	include/unitrace/*.h formats/*.h)
ifeq ($(UK_ROOT),)
UK_TREE := $(abspath $(B)/unikraft/$(notdir $(basename $(basename $(UNIKRAFT_SRC)))))
UK_TREE_STAMP := $(B)/unikraft/.extracted
UK_SKIP := $(if $(wildcard $(UNIKRAFT_SRC)),,no Unikraft source ($(UNIKRAFT_SRC) \
	is missing; give UK_ROOT=<your Unikraft tree>))
else
UK_TREE := $(abspath $(UK_ROOT))
UK_TREE_STAMP :=
UK_SKIP :=
endif
# Unikraft's kconfig is built with flex and bison (make deps installs them).
ifeq ($(UK_SKIP),)
UK_SKIP := $(if $(shell command -v flex >/dev/null && command -v bison >/dev/null && echo y),,\
	flex and bison are missing (make deps installs them))
endif
# Unikraft's make gets none of our command-line variables (B, CC, OPT...).
UK_MAKE = MAKEFLAGS= MAKEOVERRIDES= $(MAKE) --no-print-directory -s -C $(UK_TREE) \
	A=$(abspath examples/unikraft-app) L=$(abspath tracer-guest/unikraft) \
	O=$(UK_APP_OUT) C=$(UK_APP_OUT)/.config

ifeq ($(UK_SKIP),)
unikraft-app: $(UK_APP_ELF)

$(B)/unikraft/.extracted: $(UNIKRAFT_SRC)
	@rm -rf $(B)/unikraft && mkdir -p $(B)/unikraft
	tar -C $(B)/unikraft -xJf $(UNIKRAFT_SRC)
	@test -f $(UK_TREE)/Makefile || { echo "$(UNIKRAFT_SRC): no $(UK_TREE)/Makefile inside" >&2; exit 1; }
	@touch $@

# Unikraft's objects do not depend on its configuration nor on the flags a
# Makefile.uk sets: a new configuration, Config.uk or Makefile.uk starts
# from an empty build directory.
$(UK_APP_OUT)/.config: examples/unikraft-app/defconfig $(UK_TREE_STAMP) \
		$(wildcard examples/unikraft-app/*.uk tracer-guest/unikraft/*.uk)
	@test -f $(UK_TREE)/Makefile -a -d $(UK_TREE)/plat/xen || \
		{ echo "$(UK_TREE): not a Unikraft tree (no Makefile or plat/xen)" >&2; exit 1; }
	@rm -rf $(UK_APP_OUT) && mkdir -p $(UK_APP_OUT)
	$(UK_MAKE) UK_DEFCONFIG=$(abspath examples/unikraft-app/defconfig) defconfig >/dev/null

$(UK_APP_ELF): $(UK_APP_OUT)/.config $(UK_APP_SRC)
	$(UK_MAKE) -j$(UK_JOBS)
	objcopy --update-section .uk_bootinfo=$(UK_APP_OUT)/unikraft-app_xen-x86_64.bootinfo \
		$(UK_APP_OUT)/unikraft-app_xen-x86_64.dbg $@
	@rm -f $(UK_APP_DIR)/SKIPPED
	@echo "unikraft-app: $@"
else
# The reason is also left in $(UK_APP_DIR)/SKIPPED for the tests to quote.
unikraft-app:
	@mkdir -p $(UK_APP_DIR) && rm -f $(UK_APP_ELF)
	@echo "$(strip $(UK_SKIP))" > $(UK_APP_DIR)/SKIPPED
	@echo "unikraft-app: SKIPPED: $(strip $(UK_SKIP))"
endif

# The guest core must compile without any libc header.
check-freestanding: $(GUEST_CORE_OBJ)

# Each public header and each contract in formats/ compiles on its own, as
# freestanding C and as C++.
PUBLIC_HEADERS := include/unitrace/trace.h include/unitrace/trace_impl.h \
	formats/ut_abi.h formats/ut_ctl.h tracer-guest/xen_guest.h tracer-guest/ut_crash.h
CONTRACT_HEADERS := $(wildcard formats/*.h)
check-headers:
	@for h in $(sort $(PUBLIC_HEADERS) $(CONTRACT_HEADERS)); do \
		echo "#include \"$$h\"" | $(CC) $(GUEST_CFLAGS) $(CPPFLAGS_COMMON) -I. -x c -c - -o /dev/null || exit 1; \
		echo "#include \"$$h\"" | $(CXX) -fsyntax-only -Wall -Wextra -Werror $(CPPFLAGS_COMMON) -I. -x c++ - || exit 1; \
	done; echo "headers ok"

# ---- tests ----------------------------------------------------------------
test: deps
	@$(MAKE) --no-print-directory all
	@B=$(B) SAN='$(SAN)' tests/run.sh

# The tests under load: every core busy with a CPU hog (tests/run.sh).
test-load: deps
	@$(MAKE) --no-print-directory all
	@B=$(B) SAN='$(SAN)' UT_LOAD=1 tests/run.sh $(T)

# One test: a unit test (T=test_store or T=store) or an e2e script (T=viewer).
check: all
	@B=$(B) SAN='$(SAN)' tests/run.sh $(T)

check-asan:
	@UT_SKIP_XEN=1 $(MAKE) --no-print-directory B=build-asan SAN='-fsanitize=address,undefined -fno-sanitize-recover=all' OPT='-O1 -g' test

# Unit tests and a traced run of the collector under valgrind (memcheck).
VALGRIND := valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
check-valgrind: all
	@set -e; for t in $(UNIT_TESTS); do \
		echo "valgrind $$t"; $(VALGRIND) $$t > $(B)/valgrind.log 2>&1 || \
		{ cat $(B)/valgrind.log; exit 1; }; done; \
	echo "valgrind unitrace run -- demo-guest"; rm -f $(B)/valgrind.db; \
	$(VALGRIND) $(UNITRACE) run -q -o $(B)/valgrind.db -- $(DEMO) --threads 2 \
		--duration 1 --rate 2000 > $(B)/valgrind.log 2>&1 || \
		{ cat $(B)/valgrind.log; exit 1; }; \
	echo "valgrind unitrace run -- demo-guest --crash null (the capture worker)"; \
	rm -f $(B)/valgrind-crash.db; rc=0; UNITRACE_CRASH_WAIT_MS=600000 \
	$(VALGRIND) $(UNITRACE) run -q -o $(B)/valgrind-crash.db -- $(DEMO) \
		--threads 2 --duration 3 --rate 2000 --crash null > $(B)/valgrind.log \
		2>&1 || rc=$$?; [ $$rc = 139 ] || { cat $(B)/valgrind.log; exit 1; }; \
	echo "valgrind unitrace ctl, and the guest's control thread"; \
	rm -rf $(B)/valgrind-rv; \
	UNITRACE_DIR=$(B)/valgrind-rv UNITRACE_NAME=vg $(VALGRIND) \
		--log-file=$(B)/valgrind-guest.log $(DEMO) --duration 15 \
		--rate 500 -q & g=$$!; sleep 3; st=0; \
	for a in show "disable net_rx" "enable all" "mode overwrite"; do \
		$(VALGRIND) $(UNITRACE) ctl --dir $(B)/valgrind-rv -t 10000 vg $$a \
			> $(B)/valgrind.log 2>&1 || { cat $(B)/valgrind.log; st=1; }; \
	done; wait $$g || { cat $(B)/valgrind-guest.log; st=1; }; \
	[ $$st = 0 ]; echo "valgrind: no errors"

# The Xen rig alone: Xen 4.17 + a Debian dom0 under QEMU TCG, the PVH demo
# traced through grants and crashed (tests/xen/README.md); `make test` runs it
# too.
test-xen: all
	@B=$(B) XEN_RIG_MODE=full tests/e2e/xen.sh

# ---- demo and bench -------------------------------------------------------
demo: deps
	@$(MAKE) --no-print-directory all
	@B=$(B) examples/demo-guest/run-demo.sh

demo-crash: all
	@B=$(B) examples/demo-guest/run-demo-crash.sh

bench: all
	@B=$(B) bench/run.sh

# One run of the Xen rig for figures (bench/xen.sh): the PVH demo flat out
# through the grant-table ring, and the collector's crash dump next to
# `xl dump-core` (slow under TCG: up to about 10 minutes). Not in `make bench`.
bench-xen: all
	@B=$(B) bench/xen.sh

# ---- deps and install -----------------------------------------------------
DEB_PACKAGES := build-essential pkg-config libsqlite3-dev sqlite3 \
	libncurses-dev tmux gdb valgrind clang libclang-rt-14-dev \
	libelf-dev libdw-dev libxen-dev liblttng-ust-dev lttng-tools \
	python3 procps qemu-system-x86 busybox-static cpio
# other readers of our cores (tests/e2e/core_readers.sh, the Xen rig)
DEB_PACKAGES += lldb elfutils
# Unikraft's kconfig (make unikraft-app)
DEB_PACKAGES += flex bison
# reads the CTF export back (tests/e2e/export_ctf.sh)
DEB_PACKAGES += babeltrace2
# the CPU hog of make test-load
DEB_PACKAGES += stress-ng

# Installs only what is missing (so `make test` and `make demo` may run it
# every time); needs root when something is missing.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${db:Status-Abbrev}' $$p 2>/dev/null | \
		grep -q '^ii' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing the Debian packages that are missing:" $$missing; \
		if [ "$$(id -u)" != 0 ]; then \
			echo "make deps: run as root, or: apt-get install" $$missing >&2; exit 1; fi; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
			--no-install-recommends $$missing; \
	fi

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/include/unitrace $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(UNITRACE) $(DESTDIR)$(PREFIX)/bin/unitrace
	install -m 644 $(LIB_GUEST) $(LIB_XEN_GUEST) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 $(PUBLIC_HEADERS) $(DESTDIR)$(PREFIX)/include/unitrace/
	printf $(PC_TEXT) '$(PREFIX)' '$(VERSION)' > $(DESTDIR)$(PREFIX)/lib/pkgconfig/unitrace-guest.pc
	install -m 644 docs/man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/

clean:
	rm -rf build build-asan

# ---- fuzzing (clang + libFuzzer; docs/fuzzing.md) ------------------------
# One target per decoder of bytes from outside: tests/fuzz/fuzz_NAME.c,
# compiled against the real code.  Each is built twice: by clang with
# libFuzzer, ASan and UBSan into $(B)/fuzz/fuzz_NAME, and by $(CC) with the
# project's flags, with tests/fuzz/replay.c for main(), into
# $(B)/tests/fuzz/fuzz_NAME: tests/e2e/fuzz_regress.sh replays the
# committed seeds and found inputs through it in every test run.
#   make fuzz [FUZZ_SECONDS=30]  every target; FUZZ_SECONDS is the wall time
#                                of the whole run, shared by the cores
#   make fuzz-long FUZZ_HOURS=N  every target at once for N hours
#   FUZZ_TARGETS="db core"       only these (tests/fuzz/run.sh)
FUZZ_SECONDS ?= 30
FUZZ_HOURS ?= 1
FUZZ_CC ?= clang
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(patsubst %,$(B)/fuzz/fuzz_%,$(FUZZ_NAMES))
FUZZ_REPLAY := $(patsubst %,$(B)/tests/fuzz/fuzz_%,$(FUZZ_NAMES))
# clang's own warnings are not the project's gate (gcc's are): no -Werror
FUZZ_CFLAGS := -std=c11 -g -O1 -D_GNU_SOURCE -pthread -fno-omit-frame-pointer \
	-fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_INC := $(CPPFLAGS_COMMON) $(COLLECTOR_INC) -Iviewer -Itests
# The collector as the command line has it, with the Xen stub (no Xen
# library needed), the viewer, and the guest core on the test port.
FUZZ_LIB_SRC := $(filter-out $(XEN_SRC) $(XEN_PROBE_SRC) collector/cli/main.c, \
	$(wildcard collector/*/*.c)) $(VIEWER_SRC) tracer-guest/ut_trace.c tests/port_test.c
FUZZ_LIB_OBJ := $(patsubst %.c,$(B)/fuzz/obj/%.o,$(FUZZ_LIB_SRC))
FUZZ_LDLIBS := -lsqlite3 -ldw -lelf -lpthread -lm -lncursesw

$(B)/fuzz/obj/%.o: %.c $(STAMP)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_INC) -MMD -MP -c $< -o $@
$(B)/fuzz/obj/collector/transport/xen_stub.o: FUZZ_CFLAGS += -DUT_XEN_OFF_REASON='"fuzz build"'
-include $(shell find $(B)/fuzz/obj -name '*.d' 2>/dev/null)

$(B)/fuzz/libfuzzlib.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BIN): $(B)/fuzz/fuzz_%: $(B)/fuzz/obj/tests/fuzz/fuzz_%.o $(B)/fuzz/libfuzzlib.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $^ -o $@ $(FUZZ_LDLIBS)

# The replay drivers: gcc, the project's warnings, ASan in build-asan.
$(call obj,$(wildcard tests/fuzz/*.c)): HOST_INC += -Iviewer
$(FUZZ_REPLAY): $(B)/tests/fuzz/fuzz_%: $(call obj,tests/fuzz/fuzz_%.c tests/fuzz/replay.c) \
		$(VIEWER_OBJ) $(LIB_COLLECTOR) $(LIB_TESTPORT) $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(filter %.o %.a,$^) -o $@ $(LDLIBS_HOST) -lncursesw
all: $(FUZZ_REPLAY)

# A short run: CI finds regressions; long runs find new inputs.
fuzz: $(FUZZ_BIN)
	@B=$(B) tests/fuzz/run.sh short $(FUZZ_SECONDS)

fuzz-long: $(FUZZ_BIN)
	@B=$(B) tests/fuzz/run.sh long $(FUZZ_HOURS)
