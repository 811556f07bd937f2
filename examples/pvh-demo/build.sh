#!/bin/sh
# Build the pvh-demo PVH unikernel: $B/pvh-demo/pvh-demo.elf (B defaults to
# "build").  Run from the top of the tree (the Makefile's pvh-demo target
# does).  Freestanding: no libc, no host headers beyond the compiler's own.
set -eu

B=${B:-build}
CC=${CC:-cc}
OUT=$B/pvh-demo
SRC=examples/pvh-demo
mkdir -p "$OUT"

CFLAGS="-std=c11 -O2 -g -Wall -Wextra -Wshadow -Wmissing-prototypes \
 -Wstrict-prototypes -Wpointer-arith -Wvla -Werror \
 -ffreestanding -fno-builtin -nostdinc -isystem $($CC -print-file-name=include) \
 -fno-pic -fno-pie -mno-red-zone -mcmodel=small -fno-stack-protector \
 -fno-omit-frame-pointer -mgeneral-regs-only -fno-asynchronous-unwind-tables \
 -fno-tree-loop-distribute-patterns -fcf-protection=none \
 -Iinclude/unitrace -Iformats -Itracer-guest -I$SRC"

OBJS=""
for f in $SRC/boot.S $SRC/main.c $SRC/xen.c $SRC/xs_proto.c $SRC/lib.c \
	 tracer-guest/ut_trace.c tracer-guest/port_xen.c; do
	o=$OUT/$(basename "${f%.*}").o
	$CC $CFLAGS -c "$f" -o "$o"
	OBJS="$OBJS $o"
done

$CC -nostdlib -static -no-pie -Wl,--build-id=sha1 -Wl,-T,$SRC/pvh-demo.ld \
	-Wl,-z,max-page-size=4096 -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments \
	$OBJS -o "$OUT/pvh-demo.elf"
echo "built $OUT/pvh-demo.elf"
