#!/usr/bin/env bash
# Build the dom0 boot files of the Xen rig from the packages that fetch.sh
# unpacked into $B/xen-rig/root:
#
#   $B/xen-rig/xen          the hypervisor, gunzipped (QEMU's multiboot loader
#                           takes the ELF, not the .gz)
#   $B/xen-rig/vmlinuz      the Debian dom0 kernel
#   $B/xen-rig/dom0.cpio    a busybox initramfs: Xen tools (xl, xenstored,
#                           xenconsoled, xen-init-dom0, xenstore-*), the dom0
#                           kernel modules, $B/unitrace, the PVH demo
#                           ($B/pvh-demo/pvh-demo.elf, if built) with its xl
#                           config, every library ldd names, and /init
#
# Rebuilt only when an input is newer than dom0.cpio (or FORCE=1).
set -euo pipefail
B=${B:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
R=$B/xen-rig
ROOT=$R/root
S=$R/stage
OUT=$R/dom0.cpio
log() { echo "initramfs: $*" >&2; }

[ -f "$R/.fetched" ] || { log "run tests/xen/fetch.sh first"; exit 1; }
BUSYBOX=$(command -v busybox || true)
# static: ldd refuses it ("not a dynamic executable")
[ -n "$BUSYBOX" ] && ! ldd "$BUSYBOX" >/dev/null 2>&1 ||
	{ log "need a static busybox (apt-get install busybox-static)"; exit 1; }
command -v cpio >/dev/null || { log "need cpio (apt-get install cpio)"; exit 1; }

KV=$(ls "$ROOT/lib/modules" | sort -V | tail -1)
MODDIR=$ROOT/lib/modules/$KV
XENBIN=usr/lib/xen-4.17/bin
PVH=$B/pvh-demo/pvh-demo.elf
UKAPP=$B/unikraft-app/unikraft-app.elf

inputs="tests/xen/dom0-init.sh tests/xen/build-initramfs.sh tests/xen/pvh-demo.cfg
	tests/xen/pvh-stub.S tests/xen/pvh-stub.ld tests/xen/pvh-stub.cfg
	tests/xen/unikraft-app.cfg $R/.fetched"
[ -f "$B/unitrace" ] && inputs="$inputs $B/unitrace"
[ -f "$PVH" ] && inputs="$inputs $PVH"
[ -f "$UKAPP" ] && inputs="$inputs $UKAPP"
if [ "${FORCE:-0}" != 1 ] && [ -f "$OUT" ] && [ -f "$R/xen" ] && [ -f "$R/vmlinuz" ]; then
	stale=0
	for f in $inputs; do [ "$f" -nt "$OUT" ] && stale=1; done
	# the demo or the collector appeared or vanished since the last build
	[ -f "$PVH" ] && [ ! -f "$S/boot/pvh-demo.elf" ] && stale=1
	[ ! -f "$PVH" ] && [ -f "$S/boot/pvh-demo.elf" ] && stale=1
	[ -f "$UKAPP" ] && [ ! -f "$S/boot/unikraft-app.elf" ] && stale=1
	[ ! -f "$UKAPP" ] && [ -f "$S/boot/unikraft-app.elf" ] && stale=1
	[ -f "$B/unitrace" ] && [ ! -f "$S/usr/bin/unitrace" ] && stale=1
	if [ $stale = 0 ]; then log "up to date: $OUT"; exit 0; fi
fi

gunzip -c "$ROOT/boot/xen-4.17-amd64.gz" > "$R/xen.tmp" && mv "$R/xen.tmp" "$R/xen"
cp "$ROOT/boot/vmlinuz-$KV" "$R/vmlinuz"

rm -rf "$S"
mkdir -p "$S"/usr/{bin,sbin,lib,lib64} "$S"/{proc,sys,dev,run,tmp,root,results,etc/xen,boot} \
	"$S"/var/{lib/xen/dump,log/xen/console,run}
# merged /usr, as on the host, so every path ldd prints exists in the image
for d in bin sbin lib lib64; do ln -s usr/$d "$S/$d"; done

# busybox and its applets
cp "$BUSYBOX" "$S/usr/bin/busybox"
for a in $("$BUSYBOX" --list); do
	[ -e "$S/usr/bin/$a" ] || ln -s busybox "$S/usr/bin/$a"
done

# copy_elf FILE DEST: the program and every library ldd resolves for it, the
# unpacked packages first (LD_LIBRARY_PATH), the host's libraries otherwise.
LIBPATH="$top/$ROOT/usr/lib/x86_64-linux-gnu:$top/$ROOT/lib/x86_64-linux-gnu"
copy_elf() {
	local src=$1 dst=$2 lib
	mkdir -p "$S$(dirname "$dst")"
	cp -L "$src" "$S$dst"
	LD_LIBRARY_PATH=$LIBPATH ldd "$src" > "$R/ldd.out" 2>&1 || { cat "$R/ldd.out" >&2; return 1; }
	if grep -q 'not found' "$R/ldd.out"; then
		log "$src: missing libraries:"; grep 'not found' "$R/ldd.out" >&2; return 1
	fi
	for lib in $(grep -o '/[^ ]*' "$R/ldd.out"); do
		local to=${lib#"$top/$ROOT"}
		[ -e "$S$to" ] && continue
		mkdir -p "$S$(dirname "$to")"
		cp -L "$lib" "$S$to"
	done
}

for p in xl xenstored xenconsoled xen-init-dom0 xenconsole; do
	copy_elf "$ROOT/$XENBIN/$p" "/$XENBIN/$p"
done
copy_elf "$ROOT/usr/bin/xenstore" /usr/bin/xenstore
# glibc dlopens libgcc_s for pthread_cancel (xl aborts without it)
gcc_s=$(ldconfig -p | awk '/libgcc_s.so.1 .*x86-64/ { print $NF; exit }')
[ -n "$gcc_s" ] && cp -L "$gcc_s" "$S$gcc_s"
for c in read write ls list rm exists watch chmod; do ln -s xenstore "$S/usr/bin/xenstore-$c"; done
cp "$ROOT/etc/xen/xl.conf" "$S/etc/xen/"
# libxl's helpers: save/restore helper and the hotplug scripts (unused by a
# PVH domain without devices, but xl looks for the directory)
copy_elf "$ROOT/$XENBIN/libxl-save-helper" "/$XENBIN/libxl-save-helper"
cp -r "$ROOT/etc/xen/scripts" "$S/etc/xen/"

# unitrace and its libraries (sqlite3, libdw, libelf, ncursesw, libxen*)
if [ -x "$B/unitrace" ]; then
	copy_elf "$B/unitrace" /usr/bin/unitrace
else
	log "warning: $B/unitrace not built, the image has no collector"
fi

# the PVH demo unikernel and its xl config
cp tests/xen/pvh-demo.cfg "$S/etc/xen/pvh-demo.cfg"
if [ -f "$PVH" ]; then
	cp "$PVH" "$S/boot/pvh-demo.elf"
else
	log "note: $PVH not built, the image can only boot and run xl info"
fi

# the Unikraft application (a PV guest) and its xl config
cp tests/xen/unikraft-app.cfg "$S/etc/xen/unikraft-app.cfg"
if [ -f "$UKAPP" ]; then
	cp "$UKAPP" "$S/boot/unikraft-app.elf"
else
	log "note: $UKAPP not built, the rig runs no Unikraft guest"
fi

# the rig's self-test guest: a few instructions, then a crash (rig.mode=stub)
as --32 tests/xen/pvh-stub.S -o "$R/pvh-stub.o"
ld -m elf_i386 -T tests/xen/pvh-stub.ld -o "$S/boot/pvh-stub.elf" "$R/pvh-stub.o"
cp tests/xen/pvh-stub.cfg "$S/etc/xen/pvh-stub.cfg"

# kernel modules, with their dependencies, in load order
mods_wanted="xenfs xen-evtchn xen-gntdev xen-gntalloc xen-privcmd virtio_pci virtio_blk"
mkdir -p "$S/lib/modules/$KV"
: > "$S/etc/modules.load"
modfile() { find "$MODDIR/kernel" -name "$1.ko" -o -name "$(echo "$1" | tr _ -).ko" -o -name "$(echo "$1" | tr - _).ko" | head -1; }
moddeps() { objcopy -O binary --only-section=.modinfo "$1" /dev/stdout 2>/dev/null |
	tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '; }
add_mod() {
	local m=$1 f d
	grep -qx "$m" "$S/etc/modules.load" && return 0
	f=$(modfile "$m")
	if [ -z "$f" ]; then
		if grep -qE "/$m\.ko$|/$(echo "$m" | tr _ -)\.ko$" "$MODDIR/modules.builtin"; then return 0; fi
		log "module $m not found"; return 1
	fi
	for d in $(moddeps "$f"); do add_mod "$d"; done
	cp "$f" "$S/lib/modules/$KV/$m.ko"
	echo "$m" >> "$S/etc/modules.load"
}
for m in $mods_wanted; do add_mod "$m"; done

cp tests/xen/dom0-init.sh "$S/init"
chmod 755 "$S/init"
echo "root:x:0:0:root:/root:/bin/sh" > "$S/etc/passwd"
echo "root:x:0:" > "$S/etc/group"
# a loader cache so every library directory is found without LD_LIBRARY_PATH
ldconfig -r "$S" 2>/dev/null || true

(cd "$S" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
log "$OUT: $(du -h "$OUT" | cut -f1), modules: $(tr '\n' ' ' < "$S/etc/modules.load")"
