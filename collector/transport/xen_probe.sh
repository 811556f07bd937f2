#!/bin/sh
# The Makefile's Xen probe: can the Xen backend (xen.c, xen_ctl.c,
# crash/xen_dump.c) build and link here?  Compiles and links xen_probe.c,
# which makes every libxen call the backend makes, with the project's flags.
#
#   xen_probe.sh DIR   with CC, CFLAGS (the project's host flags), XEN_CFLAGS,
#                      XEN_LIBS and XEN_PKGS in the environment
#
# Prints one line: "y", or "n <reason>" (the reason is one line of plain
# text, no quotes, fit for a C string).  The result is cached in
# DIR/xen-probe.result under a key made of the compiler, the flags, the Xen
# version pkg-config reports and the probe's sources, so an unchanged
# configuration costs one pkg-config call; DIR/xen-probe.log keeps the
# compiler's output of the last run.
set -u
dir=$1
here=$(dirname "$0")
src=$here/xen_probe.c
result=$dir/xen-probe.result
log=$dir/xen-probe.log

missing=
for p in $XEN_PKGS; do
	pkg-config --exists "$p" 2>/dev/null || missing="$missing $p"
done
ver=$(pkg-config --modversion xencontrol 2>/dev/null || echo none)
key="$CC | $CFLAGS | $XEN_CFLAGS | $XEN_LIBS | xen $ver | missing$missing | $(cat "$src" "$0" | cksum)"

if [ -f "$result" ] && [ "$(head -n 1 "$result")" = "$key" ]; then
	sed -n 2p "$result"
	exit 0
fi

mkdir -p "$dir"
# Plain text for messages and a C string: no quotes, backslashes or control
# characters, one line, bounded.
clean() { tr -d "\\\\\"\`'\r" | tr '\t' ' ' | head -c 200; }

if [ -n "$missing" ] && [ -z "$(printf %s "$XEN_LIBS" | tr -d ' ')" ]; then
	echo "pkg-config finds no$missing" > "$log"
	out="n the Xen libraries are not installed (pkg-config finds no$(echo "$missing" | tr ' ' ',' | sed 's/^,/ /'); Debian: libxen-dev)"
else
	# -MD would not help: the key holds what the result depends on.
	# shellcheck disable=SC2086
	if LC_ALL=C $CC $CFLAGS $XEN_CFLAGS "$src" -o "$dir/xen-probe" $XEN_LIBS > "$log" 2>&1; then
		out=y
	else
		# The compiler's first error, else the linker's.
		why=$(grep -m 1 -E 'error:|undefined reference' "$log" |
			sed -e 's/^.*error: //' -e 's/^.*undefined reference to/undefined reference to/' \
			    -e 's/; did you mean.*//' -e 's/ \[-W[^]]*\]//' | clean)
		[ -n "$why" ] || why="the probe does not build (see $log)"
		ver_txt=$([ "$ver" = none ] && echo "these Xen libraries" || echo "Xen $ver")
		out="n $ver_txt: the backend does not build ($why)"
	fi
fi
out=$(printf '%s' "$out" | tr '\n' ' ')
printf '%s\n%s\n' "$key" "$out" > "$result"
echo "$out"
