# unitrace: one Makefile for the whole tree.
#
#   make deps        install the Debian packages the project needs (root)
#   make             build everything into $(B)/
#   make test        unit tests, then end-to-end tests; ends "N passed, N failed"
#   make check-asan  the same tests built with ASan + UBSan (into build-asan/)
#   make demo        trace the demo guest into build/demo/trace.db
#   make bench       benchmarks (figures and ratios, never pass/fail)
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
COLLECTOR_SRC := $(filter-out collector/main.c,$(wildcard collector/*.c))
VIEWER_SRC := $(wildcard viewer/*.c)
UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/test_*.c))
E2E_PROGS := $(patsubst tests/e2e/%.c,$(B)/tests/e2e/%,$(wildcard tests/e2e/*.c))
BENCH_SRC := $(wildcard bench/*.c)
BENCHES := $(patsubst bench/%.c,$(B)/bench/%,$(BENCH_SRC))

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

# The Xen transport (STYLE.md practice 8): xen*.c where the Xen
# libraries are (Debian's libxen-dev), xen_stub.c elsewhere; `--xen` then
# fails at once with a clear message.  HAVE_XEN=n forces the stub.
XEN_PKGS := xencontrol xenstore xengnttab xenevtchn xenforeignmemory xenvchan
HAVE_XEN ?= $(shell pkg-config --exists $(XEN_PKGS) && echo y)
XEN_SRC := collector/xen.c collector/xen_dump.c collector/xen_ctl.c
ifeq ($(HAVE_XEN),y)
COLLECTOR_SRC := $(filter-out collector/xen_stub.c,$(COLLECTOR_SRC))
HOST_CFLAGS += -DUT_HAVE_XEN
LDLIBS_HOST += $(shell pkg-config --libs $(XEN_PKGS))
else
COLLECTOR_SRC := $(filter-out $(XEN_SRC),$(COLLECTOR_SRC))
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

# Keep intermediate objects (no "rm obj/..." after the test summary).
.SECONDARY:

.PHONY: pvh-demo test-xen all deps test unit e2e check-asan check-valgrind demo demo-crash bench bench-xen install clean fuzz \
	check-headers check-freestanding
all: $(UNITRACE) $(LIB_GUEST) $(DEMO) $(B)/unitrace-guest.pc $(UNIT_TESTS) \
	$(E2E_PROGS) $(BENCHES) check-freestanding pvh-demo

# ---- compilation ---------------------------------------------------------
$(GUEST_CORE_OBJ): $(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(GUEST_CFLAGS) $(CPPFLAGS_COMMON) -MMD -MP -c $< -o $@

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $(CPPFLAGS_COMMON) -Icollector -Itests -MMD -MP -c $< -o $@

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

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

$(UNITRACE): $(call obj,collector/main.c) $(VIEWER_OBJ) $(LIB_COLLECTOR)
	$(CC) $(HOST_CFLAGS) $^ -o $@ $(LDLIBS_HOST) -lncursesw

$(DEMO): $(call obj,examples/demo-guest/demo.c) $(LIB_GUEST)
	$(CC) $(HOST_CFLAGS) $^ -o $@ -lpthread -lm

$(B)/tests/%: $(call obj,tests/unit/%.c) $(LIB_COLLECTOR) $(LIB_TESTPORT)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $^ -o $@ $(LDLIBS_HOST)

$(B)/tests/e2e/%: $(call obj,tests/e2e/%.c) $(LIB_GUEST)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $^ -o $@ -lpthread

$(B)/bench/%: $(call obj,bench/%.c) $(LIB_COLLECTOR) $(LIB_GUEST)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) $^ -o $@ $(LDLIBS_HOST)

# The pkg-config file, for PREFIX (install writes it again for its PREFIX).
PC_TEXT = 'prefix=%s\nincludedir=$${prefix}/include\nlibdir=$${prefix}/lib\n\nName: unitrace-guest\nDescription: unitrace guest tracer (hosted port)\nVersion: %s\nCflags: -I$${includedir} -I$${includedir}/unitrace\nLibs: -L$${libdir} -lunitrace-guest -lpthread\n'
$(B)/unitrace-guest.pc: Makefile
	@mkdir -p $(B)
	printf $(PC_TEXT) '$(PREFIX)' '$(VERSION)' > $@

# The demo PVH unikernel (freestanding, its own boot and linker script).
pvh-demo:
	@B=$(B) CC=$(CC) examples/pvh-demo/build.sh

# The guest core must compile without any libc header.
check-freestanding: $(GUEST_CORE_OBJ)

# Each public header compiles on its own.
check-headers:
	@for h in formats/ut_abi.h formats/ut_ctl.h include/unitrace/trace.h; do \
		echo "#include \"$$h\"" | $(CC) $(GUEST_CFLAGS) $(CPPFLAGS_COMMON) -I. -x c -c - -o /dev/null || exit 1; \
	done; echo "headers ok"

# ---- tests ----------------------------------------------------------------
test: all
	@B=$(B) SAN='$(SAN)' tests/run.sh

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
demo: all
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

deps:
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEB_PACKAGES)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/include/unitrace $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(UNITRACE) $(DESTDIR)$(PREFIX)/bin/unitrace
	install -m 644 $(LIB_GUEST) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/unitrace/trace.h formats/ut_abi.h formats/ut_ctl.h \
		$(DESTDIR)$(PREFIX)/include/unitrace/
	printf $(PC_TEXT) '$(PREFIX)' '$(VERSION)' > $(DESTDIR)$(PREFIX)/lib/pkgconfig/unitrace-guest.pc
	install -m 644 docs/man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/

clean:
	rm -rf build build-asan

# ---- fuzzing (clang + libFuzzer) -------------------------------------------
FUZZ_SECONDS ?= 30
FUZZ_CC ?= clang
FUZZ_FLAGS := -std=c11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all $(CPPFLAGS_COMMON) -Icollector -Itests

$(B)/fuzz/fuzz_reader: tests/fuzz/fuzz_reader.c collector/reader.c collector/schema.c \
		tests/port_test.c tracer-guest/ut_trace.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $^ -o $@

# A short run: CI finds regressions, long runs belong to benchmarks.
fuzz: $(B)/fuzz/fuzz_reader
	@mkdir -p $(B)/fuzz/corpus
	@$(B)/fuzz/fuzz_reader -max_total_time=$(FUZZ_SECONDS) -max_len=512 \
		-print_final_stats=1 $(B)/fuzz/corpus > $(B)/fuzz/log 2>&1; \
		rc=$$?; grep -E '^(Done|stat::)|ERROR|SUMMARY' $(B)/fuzz/log; \
		echo "fuzz_reader: exit $$rc"; exit $$rc
