#!/usr/bin/env bash
# Other readers of the collector's ELF cores: a hosted guest crashes under
# `unitrace run`, then elfutils' eu-stack and lldb open the core and must
# name the crashing function (gdb is checked in crash.sh).  A missing tool
# is a SKIP with the reason.  TAP.
set -u
B=${B:-build}
UT=$B/unitrace
DEMO=$B/demo-guest
T=$(mktemp -d /tmp/ut-readers.XXXXXX)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/../harness.sh" # ok is skip q until_ok; n=0
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0:detect_leaks=0"

LLDB=$(command -v lldb || command -v lldb-16 || command -v lldb-14 || true)
fn=parse_cookie
$UT run -q -o "$T/c.db" -- $DEMO --threads 2 --duration 5 --rate 4000 \
	--crash null --crash-after 0.2 >/dev/null 2>"$T/err"
core=$(q "$T/c.db" "SELECT core_path FROM crashes")
if [ -n "$core" ] && [ -f "$core" ]; then r=0; else r=1; fi
ok $r "hosted crash: core written ($core)" "$(cat "$T/err")"
is "$(od -An -tu1 -j7 -N1 "$core" 2>/dev/null | tr -d ' ')" "3" \
	"core header: EI_OSABI is ELFOSABI_GNU (the notes are Linux's layout)"

if ! command -v eu-stack >/dev/null; then
	skip "eu-stack --core names $fn" "eu-stack missing (apt-get install elfutils)"
elif [ $r -ne 0 ]; then
	skip "eu-stack --core names $fn" "no core"
else
	timeout 120 eu-stack --core "$core" >"$T/eu" 2>&1
	grep -q "$fn" "$T/eu"; ok $? "eu-stack --core names $fn" "$(head -20 "$T/eu")"
fi

if [ -z "$LLDB" ]; then
	skip "lldb -c CORE ELF -o bt names $fn" "lldb missing (apt-get install lldb)"
elif [ $r -ne 0 ]; then
	skip "lldb -c CORE ELF -o bt names $fn" "no core"
else
	# Debian's lldb prints Python tracebacks on stderr when its Python
	# module is not found; they do not matter to bt.
	timeout 120 "$LLDB" -b -c "$core" "$DEMO" -o bt >"$T/lldb" 2>"$T/lldb.err"
	grep -q "frame #0.*$fn" "$T/lldb"
	ok $? "lldb -c CORE ELF -o bt names $fn in frame 0" "$(head -20 "$T/lldb"; grep -i error "$T/lldb.err" | head -5)"
	grep -q "Unsupported OS\|Don't know how to parse" "$T/lldb" "$T/lldb.err"
	ok $(( $? == 0 ? 1 : 0 )) "lldb accepts the core (no 'Unsupported OS')"
fi
echo "1..$n"
