#!/usr/bin/env bash
# make install into a staging directory, then build the README's example
# against the installed library through pkg-config and trace it with the
# installed unitrace.  TAP.
set -u
B=${B:-build}
T=$(mktemp -d /tmp/ut-install.XXXXXX)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/../harness.sh" # ok is skip q until_ok; n=0

make --no-print-directory -s B="$B" install DESTDIR="$T/root" PREFIX=/usr >"$T/log" 2>&1
ok $? "make install DESTDIR=... PREFIX=/usr"
for f in usr/bin/unitrace usr/lib/libunitrace-guest.a usr/include/unitrace/trace.h \
	usr/include/unitrace/ut_abi.h usr/lib/pkgconfig/unitrace-guest.pc \
	usr/share/man/man1/unitrace.1; do
	[ -f "$T/root/$f" ]; ok $? "installed /$f"
done
cat >"$T/prog.c" <<'C'
#include <unitrace/trace.h>

UT_INSTANT(net_rx, UT_U32(len), UT_STR(ifname, 16))
UT_SPAN(request, UT_U64(id))

int main(void) {
    ut_init(NULL);
    ut_request_begin(42);
    ut_net_rx(1500, "eth0");
    ut_request_end();
    ut_shutdown();
}
C
export PKG_CONFIG_SYSROOT_DIR="$T/root" PKG_CONFIG_PATH="$T/root/usr/lib/pkgconfig"
# In a sanitizer build (make check-asan) the library needs the same runtime.
cc -std=c11 -Wall -Wextra -Werror ${SAN:-} "$T/prog.c" $(pkg-config --cflags --libs unitrace-guest) \
	-o "$T/prog" 2>"$T/cc.log"
ok $? "the README example builds with pkg-config --cflags --libs unitrace-guest"
# guest.md's build-tree command, as written there (B for build/), on the
# same program (it includes <unitrace/trace.h>) and on one with "trace.h"
top=$(cd "$(dirname "$0")/../.." && pwd)
line=$(sed -n '/^From the build tree/,/^```$/{/^cc /,/[^\\]$/p}' docs/guest.md |
	sed 's/\\$//' | tr '\n' ' ')
sed 's|<unitrace/trace.h>|"trace.h"|' "$T/prog.c" >"$T/prog2.c"
for src in prog prog2; do
	cmd=$(printf '%s\n' "$line" | sed "s|\$UT/build/|\$UT/$B/|; s| app.c | $T/$src.c |; s|-o app|-o $T/$src.bt|")
	(UT=$top; eval "$cmd" ${SAN:-}) >"$T/cc.log" 2>&1 && [ -x "$T/$src.bt" ]
	ok $? "guest.md's build-tree command builds a program with $(head -1 "$T/$src.c")" "$line
$(cat "$T/cc.log")"
done
"$T/root/usr/bin/unitrace" run -q -o "$T/t.db" -- "$T/prog"
ok $? "the installed unitrace runs it"
got=$(sqlite3 -batch -noheader "$T/t.db" "SELECT (SELECT count(*) FROM ev_net_rx WHERE len = 1500) || ' ' || (SELECT count(*) FROM events)")
[ "$got" = "1 3" ]; ok $? "its three events are stored ($got)"
echo "1..$n"
