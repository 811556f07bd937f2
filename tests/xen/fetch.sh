#!/usr/bin/env bash
# Fetch the Xen hypervisor, the Xen tools, their libraries and a Debian
# kernel as *files* into $B/xen-rig/ and unpack them there with dpkg -x.
# Nothing is installed on the host: installing xen-hypervisor-* or a
# linux-image-* package would rewrite the host's boot loader.
#
#   B=build tests/xen/fetch.sh        (idempotent: a second run does nothing)
#
# Exit status: 0 ready, 2 the packages cannot be fetched (no archive), 1 other.
set -euo pipefail
B=${B:-build}
R=$B/xen-rig
DEBS=$R/debs
ROOT=$R/root
mkdir -p "$DEBS"
R=$(cd "$R" && pwd); DEBS=$R/debs; ROOT=$R/root

log() { echo "fetch: $*" >&2; }

# The Xen tools and the shared libraries they need that a plain Debian host
# does not have (libc, zlib, liblzma, libext2fs ... come from the host).
XEN_PKGS="xen-hypervisor-4.17-amd64 xen-utils-4.17 xen-utils-common xenstore-utils
	libxencall1 libxendevicemodel1 libxenevtchn1 libxenforeignmemory1
	libxengnttab1 libxenhypfs1 libxenmisc4.17 libxenstore4 libxentoolcore1
	libxentoollog1 libyajl2"

if [ -f "$R/.fetched" ] && [ -d "$ROOT/usr/lib/xen-4.17/bin" ] &&
	ls "$ROOT"/boot/vmlinuz-* >/dev/null 2>&1 && ls "$ROOT"/boot/xen-4.17-amd64.gz >/dev/null 2>&1; then
	log "cached in $R (remove $R/.fetched to fetch again)"
	exit 0
fi

command -v apt-get >/dev/null || { log "no apt-get: not a Debian host"; exit 2; }
command -v dpkg >/dev/null || { log "no dpkg"; exit 2; }

candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}'; }

c=$(candidate xen-hypervisor-4.17-amd64)
if [ -z "$c" ] || [ "$c" = "(none)" ]; then
	log "no candidate for xen-hypervisor-4.17-amd64: apt-get update"
	if [ "$(id -u)" -eq 0 ]; then
		apt-get update -qq >&2 || { log "apt-get update failed"; exit 2; }
	fi
	c=$(candidate xen-hypervisor-4.17-amd64)
	if [ -z "$c" ] || [ "$c" = "(none)" ]; then
		log "xen-hypervisor-4.17-amd64 not in the package lists (run apt-get update as root)"
		exit 2
	fi
fi

# linux-image-amd64 is a metapackage: take the versioned image it depends on.
KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null |
	awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$KPKG" ] || { log "cannot resolve the image package of linux-image-amd64"; exit 2; }
log "kernel package: $KPKG"

cd "$DEBS"
for p in $XEN_PKGS $KPKG; do
	v=$(candidate "$p")
	[ -n "$v" ] && [ "$v" != "(none)" ] || { log "no candidate for $p"; exit 2; }
	# apt-get download names files NAME_VERSION_ARCH.deb with ':' as %3a
	if ls "${p}_"*.deb >/dev/null 2>&1; then continue; fi
	log "download $p $v"
	# as root apt warns that it downloads unsandboxed: harmless here
	apt-get download -q "$p=$v" >&2 2>"$R/apt-download.err" || {
		cat "$R/apt-download.err" >&2; log "apt-get download $p failed"; exit 2; }
done

rm -rf "$ROOT.tmp"; mkdir -p "$ROOT.tmp"
for d in "$DEBS"/*.deb; do
	case $(basename "$d") in
	linux-image-*)
		# 400 MB of modules unpacked: take the kernel and the drivers the
		# dom0 image uses (xen, virtio, virtio_blk) and the module lists
		dpkg-deb --fsys-tarfile "$d" | tar -x -C "$ROOT.tmp" --wildcards \
			'./boot/vmlinuz-*' './boot/config-*' './lib/modules/*/modules.builtin*' \
			'./lib/modules/*/modules.order' './lib/modules/*/kernel/drivers/xen/*' \
			'./lib/modules/*/kernel/drivers/virtio/*' \
			'./lib/modules/*/kernel/drivers/block/virtio_blk.ko'
		;;
	*) dpkg -x "$d" "$ROOT.tmp" ;;
	esac
done
rm -rf "$ROOT"; mv "$ROOT.tmp" "$ROOT"
ls "$ROOT"/boot/vmlinuz-* "$ROOT"/boot/xen-4.17-amd64.gz >/dev/null
(cd "$DEBS" && ls *.deb) > "$R/.fetched"
log "unpacked $(wc -l < "$R/.fetched") packages into $ROOT"
