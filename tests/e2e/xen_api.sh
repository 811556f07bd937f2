#!/usr/bin/env bash
# The Xen backend against the current Xen API, and the Makefile's Xen probe.
#
# 1. Debian 13 (trixie)'s libxen-dev (Xen 4.20) and the library packages it
#    depends on, fetched as package files from Debian's archive, checked
#    against the sha256 of the archive's Packages index and unpacked with
#    dpkg-deb -x into $B/xen-4.20/ (never installed): the probe, every Xen
#    source and a whole unitrace are built against them with the project's
#    flags (-Werror).  Cached in $B/xen-4.20/: a second run is offline.
#    The archive unreachable: SKIP with the reason.
# 2. The probe names every libxen function the Xen sources call.
# 3. A host whose Xen does not fit (headers without xc_domain_getinfolist):
#    the hosted build, one line saying why, --xen saying so; HAVE_XEN=y
#    stops; the probe's result is cached.
# TAP output.
set -u
B=${B:-build}
top=${UT_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top" || exit 1
. tests/harness.sh # ok is skip; n=0
case $B in /*) ;; *) B=$top/$B ;; esac
X=$B/xen-4.20
ARCHIVE=${UT_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=trixie
ROOT=$X/root
LIB=$ROOT/usr/lib/x86_64-linux-gnu
mkdir -p "$X"
T=$(mktemp -d /tmp/ut-xenapi.XXXXXX)
trap 'rm -rf "$T"' EXIT
# A make of our own: not the caller's make variables or jobserver.
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -C "$top" "$@"; }
NPROC=$(nproc 2>/dev/null || echo 2)

# ---- 1. fetch (or reuse) the trixie packages ------------------------------
# The manifest: "package filename sha256" of libxen-dev and its Depends,
# from the Packages index; written once, with the .deb files beside it.
fetch() { curl -sSfL --connect-timeout 20 --max-time 300 -o "$2" "$1" 2>&1; }
have_all() {
	[ -s "$X/manifest" ] || return 1
	local p f s
	while read -r p f s; do [ -f "$X/debs/$(basename "$f")" ] || return 1; done < "$X/manifest"
}
why_skip=
if ! have_all; then
	if ! command -v curl >/dev/null; then
		why_skip="curl is missing (make deps installs it)"
	elif ! err=$(fetch "$ARCHIVE/dists/$SUITE/main/binary-amd64/Packages.xz" "$T/Packages.xz"); then
		why_skip="Debian's archive is unreachable ($ARCHIVE: $err)"
	else
		xz -dc "$T/Packages.xz" > "$T/Packages" || why_skip="cannot decompress the Packages index"
	fi
	if [ -z "$why_skip" ]; then
		# One stanza per package; libxen-dev's Depends are its libraries.
		stanza() { awk -v RS= -v want="$1" '$0 ~ ("(^|\n)Package: " want "\n") { print; exit }' "$T/Packages"; }
		field() { sed -n "s/^$1: //p" | head -n 1; }
		dev=$(stanza libxen-dev)
		deps=$(printf '%s\n' "$dev" | field Depends | tr ',' '\n' | sed 's/(.*//; s/|.*//; s/ //g')
		: > "$T/manifest"
		for p in libxen-dev $deps; do
			s=$(stanza "$p")
			[ "$(printf '%s\n' "$s" | field Source | cut -d' ' -f1)" = xen ] || continue
			printf '%s %s %s\n' "$p" "$(printf '%s\n' "$s" | field Filename)" \
				"$(printf '%s\n' "$s" | field SHA256)" >> "$T/manifest"
		done
		if [ -z "$dev" ] || [ "$(wc -l < "$T/manifest")" -lt 2 ]; then
			why_skip="no libxen-dev with its libraries in $SUITE's Packages index"
		else
			mkdir -p "$X/debs"
			while read -r p f s; do
				[ -f "$X/debs/$(basename "$f")" ] && continue
				if ! err=$(fetch "$ARCHIVE/$f" "$X/debs/$(basename "$f").part"); then
					why_skip="cannot download $f ($err)"; break
				fi
				mv "$X/debs/$(basename "$f").part" "$X/debs/$(basename "$f")"
			done < "$T/manifest"
			[ -z "$why_skip" ] && cp "$T/manifest" "$X/manifest"
		fi
	fi
fi

if [ -n "$why_skip" ]; then
	skip "Debian $SUITE's libxen-dev (Xen 4.20) fetched" "$why_skip"
else
	# Every file against the index's sha256, at every run (the cache too).
	bad=
	while read -r p f s; do
		got=$(sha256sum "$X/debs/$(basename "$f")" | cut -d' ' -f1)
		[ "$got" = "$s" ] || { bad="$bad $(basename "$f")"; rm -f "$X/debs/$(basename "$f")"; }
	done < "$X/manifest"
	ok "$([ -z "$bad" ]; echo $?)" "$(wc -l < "$X/manifest") $SUITE packages match the sha256 of the Packages index ($(cut -d' ' -f1 "$X/manifest" | tr '\n' ' '))" \
		"mismatch (removed, fetched again next run):$bad"
	[ -n "$bad" ] && rm -f "$X/manifest"
fi

if [ -z "$why_skip" ] && [ -z "${bad:-}" ]; then
	# Unpacked once per manifest.
	mark=$ROOT/.unpacked-$(cksum < "$X/manifest" | cut -d' ' -f1)
	if [ ! -f "$mark" ]; then
		rm -rf "$ROOT"; mkdir -p "$ROOT"
		while read -r p f s; do dpkg-deb -x "$X/debs/$(basename "$f")" "$ROOT" || break; done < "$X/manifest"
		touch "$mark"
	fi
	export PKG_CONFIG_LIBDIR=$LIB/pkgconfig PKG_CONFIG_SYSROOT_DIR=$ROOT
	ver=$(pkg-config --modversion xencontrol 2>&1)
	ok "$([[ $ver == 4.2[0-9]* ]]; echo $?)" "the unpacked libxen-dev is Xen 4.2x ($ver)"
	dangling=$(find "$LIB" -maxdepth 1 -name 'libxen*.so' -xtype l -printf '%f ')
	ok "$([ -z "$dangling" ]; echo $?)" "every libxen*.so of libxen-dev points into an unpacked package" \
		"dangling: $dangling"

	# The backend, forced: the probe must pass with these headers and libs.
	# libxen 4.20 was built against glibc 2.38+: the link may not resolve
	# the libraries' own glibc symbols here (allow them), ours must resolve.
	BX=$X/build
	XMK=(B="$BX" HAVE_XEN=y OPT="-O2 -g" SAN=
		XEN_LDFLAGS="-Wl,-rpath-link,$LIB -Wl,--allow-shlib-undefined")
	mk "${XMK[@]}" "$BX/.flags" > "$T/probe.out" 2>&1
	ok $? "the Xen probe passes against Xen $ver (HAVE_XEN=y)" "$(cat "$T/probe.out" "$BX/xen-probe.log" 2>/dev/null)"
	# The Xen sources, and any other file that includes a Xen header.
	srcs=$( { ls collector/transport/xen*.c collector/crash/xen*.c
		grep -lE '^#include <(xen/[a-z0-9_/]+|xenctrl|xenstore|xengnttab|xenevtchn|xenforeignmemory|libxenvchan)\.h>|^#define UT_XEN_PRIVATE' \
			collector/*/*.c tests/unit/*.c; } | sort -u)
	for src in $srcs; do
		[ "$src" = collector/transport/xen_probe.c ] && continue
		o=$BX/obj/${src%.c}.o
		mk "${XMK[@]}" "$o" > "$T/cc.out" 2>&1
		ok $? "$src compiles against Xen $ver (-Werror)" "$(grep -E 'error:|warning:' "$T/cc.out" | head -n 12)"
	done
	grep -q "$ROOT/usr/include/xenctrl.h" "$BX/obj/collector/transport/xen.d" 2>/dev/null
	ok $? "xen.c was compiled with the unpacked 4.20 headers, not the host's"
	mk "${XMK[@]}" -j"$NPROC" "$BX/unitrace" > "$T/link.out" 2>&1
	ok $? "unitrace links against the Xen $ver libraries" "$(grep -E 'error:|warning:|undefined reference' "$T/link.out" | head -n 12)"
	needed=$(readelf -d "$BX/unitrace" 2>/dev/null | sed -n 's/.*Shared library: \[\(libxenctrl[^]]*\)\]/\1/p')
	is "$needed" "libxenctrl.so.${ver%.*}" "that unitrace needs libxenctrl of $ver"
	unset PKG_CONFIG_LIBDIR PKG_CONFIG_SYSROOT_DIR
fi

# ---- 2. the probe calls what the code calls --------------------------------
# A libxen function: a call in the Xen sources to a name some Xen header
# declares (the host's or the unpacked ones).
hdrs=$(ls /usr/include/xen*.h /usr/include/libxenvchan.h "$ROOT"/usr/include/xen*.h \
	"$ROOT"/usr/include/libxenvchan.h 2>/dev/null)
if [ -z "$hdrs" ]; then
	skip "the probe calls every libxen function the Xen sources call" "no Xen headers here or unpacked"
else
	# Calls, and the xc_*_t types (xc_dominfo_t went with xc_domain_getinfo).
	used=$(grep -ohE '\b(xc|xs|xengnttab|xenevtchn|xenforeignmemory|libxenvchan|xtl)_[a-z0-9_]+ *\(|\bxc_[a-z0-9_]+_t\b' \
		collector/transport/xen.c collector/transport/xen_ctl.c collector/crash/xen*.c |
		tr -d ' (' | sort -u)
	missing=
	for f in $used; do
		# shellcheck disable=SC2086
		grep -qwE "$f" $hdrs || continue   # a function of ours (xs_prepare...)
		case $f in
		*_t) grep -qw "$f" collector/transport/xen_probe.c ;;    # a type
		*) grep -qE "\b$f *\(" collector/transport/xen_probe.c ;; # a call
		esac || missing="$missing $f"
	done
	ok "$([ -z "$missing" ]; echo $?)" "the probe calls every libxen function the Xen sources call" \
		"add to collector/transport/xen_probe.c:$missing"
fi

# ---- 3. a Xen that does not fit -------------------------------------------
# Headers whose xenctrl.h lacks xc_domain_getinfolist (as 4.18 lost
# xc_domain_getinfo): the probe fails, the build is hosted.
src_inc=
[ -f /usr/include/xenctrl.h ] && pkg-config --exists xencontrol 2>/dev/null && src_inc=/usr/include
if [ -z "$src_inc" ]; then
	skip "a Xen without xc_domain_getinfolist gets the hosted build" "no libxen-dev on this host"
else
	FB=$X/unfit
	mkdir -p "$X/unfit-inc"
	sed '/^int xc_domain_getinfolist(/,/);/d' "$src_inc/xenctrl.h" > "$X/unfit-inc/xenctrl.h"
	FMK=(B="$FB" OPT="-O2 -g" SAN= XEN_CFLAGS="-I$X/unfit-inc")
	mk "${FMK[@]}" -j"$NPROC" "$FB/unitrace" > "$T/unfit.out" 2>&1
	ok $? "make builds unitrace" "$(tail -n 15 "$T/unfit.out")"
	line=$(grep -c '^unitrace: Xen backend off: .*xc_domain_getinfolist.*; --xen will say so$' "$T/unfit.out")
	ok "$([ "$line" = 1 ]; echo $?)" "make says once why the backend is off" "$(grep 'unitrace:' "$T/unfit.out")"
	grep -q HAVE_XEN=n "$FB/.flags"
	ok $? "the build is hosted (the stub, HAVE_XEN=n)"
	"$FB/unitrace" collect --xen -o "$T/x.db" > "$T/run.out" 2>&1
	rc=$?
	ok "$([ $rc -ne 0 ] && grep -q 'no Xen here.*xc_domain_getinfolist' "$T/run.out"; echo $?)" \
		"unitrace collect --xen fails with the reason (exit $rc)" "$(cat "$T/run.out")"
	# Cached: an unchanged configuration does not run the probe again.
	touch -d '2001-01-01' "$FB/xen-probe.log"
	mk "${FMK[@]}" "$FB/.flags" > "$T/again.out" 2>&1
	is "$(stat -c %Y "$FB/xen-probe.log")" "$(date -d 2001-01-01 +%s)" "the probe's result is cached in \$B"
	mk "${FMK[@]}" HAVE_XEN=y "$FB/.flags" > "$T/forced.out" 2>&1
	rc=$?
	ok "$([ $rc -ne 0 ] && grep -q 'HAVE_XEN=y but the Xen backend does not build here: .*xc_domain_getinfolist' "$T/forced.out"; echo $?)" \
		"HAVE_XEN=y stops with the reason (exit $rc)" "$(cat "$T/forced.out")"
	# No Xen libraries at all: the stub, and a message naming the package.
	PKG_CONFIG_LIBDIR=$T/none mk B="$X/nolibs" OPT="-O2 -g" SAN= "$X/nolibs/.flags" > "$T/nolibs.out" 2>&1
	ok "$(grep -q '^unitrace: Xen backend off: the Xen libraries are not installed (pkg-config finds no xencontrol,.*libxen-dev)' "$T/nolibs.out"; echo $?)" \
		"without the Xen libraries: the stub and a message naming libxen-dev" "$(cat "$T/nolibs.out")"
fi

echo "1..$n"
