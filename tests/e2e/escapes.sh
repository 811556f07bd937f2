#!/usr/bin/env bash
# D8: guest-chosen text never drives the terminal.  A hosted guest whose
# name (so its rendezvous entry) holds ESC and C1 CSI bytes, raw (0x9b)
# and in UTF-8 (0xc2 0x9b), a hostile rendezvous link, and a database whose
# guest name, event string and crash reason hold the same: the collector's
# messages (collect, run, crash capture) and `unitrace list`, `query`
# (table, --csv, --json) and `crash` print no raw ESC, 0x9b or C2 9B byte,
# and keep valid UTF-8 (日本) as it is.  TAP output.
set -u
B=${B:-build}
UT=$B/unitrace
DEMO=$B/demo-guest
T=$(mktemp -d /tmp/ut-e2e-esc.XXXXXX)
. "$(dirname "$0")/../harness.sh" # ok is skip q until_ok; n=0
cleanup() {
	[ -n "${COLL:-}" ] && kill "$COLL" 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
export LC_ALL=C

for bin in "$UT" "$DEMO"; do
	if [ ! -x "$bin" ]; then echo "not ok 1 - $bin not built"; exit 1; fi
done

# clean FILE: no byte a terminal acts on as a control: ESC, raw 0x9b (CSI),
# 0xc2 0x80..0x9f (U+0080..U+009F), other C0 but newline and tab, DEL
clean() { ! grep -qP '[\x00-\x08\x0b-\x1f\x7f\x9b]|\xc2[\x80-\x9f]' "$1"; }
# shown FILE: the bytes of FILE for a failed test point
shown() { od -c "$1" | head -20; }
check() { # FILE WHAT
	ok "$(clean "$1"; echo $?)" "$2: no raw control byte" "$(shown "$1")"
}

evil=$'ev\e[2J\x9b31m\xc2\x9bx\xe6\x97\xa5\xe6\x9c\xac'
target=$'/tmp/\e]0;pwned\a\x9b2J\xc2\x9b'

# ---- 1. collect: attached, rejected and detached messages -------------
db=$T/c.db
dir=$T/rv
$UT collect -o "$db" --dir "$dir" --poll-ms 2 2>"$T/c.err" &
COLL=$!
until_ok test -d "$dir"
ln -s "$target" "$dir/"$'bad\e[31m\x9b\xc2\x9b.1.ut'
UNITRACE_DIR=$dir UNITRACE_WAIT_ATTACH_MS=60000 UNITRACE_NAME=$evil \
	$DEMO --threads 1 --duration 0.2 --rate 2000 >/dev/null 2>"$T/g.err"
ok $? "the guest named with ESC and C1 bytes runs"
until_ok grep -q ': exited: ' "$T/c.err"
until_ok grep -q 'rejected guest' "$T/c.err"
kill -INT "$COLL"; wait "$COLL"; COLL=
grep -q 'attached ' "$T/c.err"
ok $? "collect says it attached the guest" "$(cat "$T/c.err")"
grep -q 'rejected guest' "$T/c.err"
ok $? "collect says it rejected the hostile link" "$(cat "$T/c.err")"
check "$T/c.err" "collect's messages"
grep -qF '\x1b]0;pwned\x07\x9b2J\u009b' "$T/c.err"
ok $? "the link target is shown escaped" "$(cat "$T/c.err")"

# ---- 2. run: a crash (captured, core written) under that name ----------
rdb=$T/r.db
$UT run -o "$rdb" --core-dir "$T/cores" -- env UNITRACE_NAME="$evil" \
	$DEMO --threads 1 --rate 2000 --crash abort --crash-after 0.1 \
	>/dev/null 2>"$T/r.err"
grep -q 'crash 1.* captured' "$T/r.err"
ok $? "run reports the crash" "$(cat "$T/r.err")"
check "$T/r.err" "run's messages"

# ---- 3. list, query, crash on hostile text in the database -------------
# The collector stores guest names and reasons as printable ASCII; a
# database file is still outside data: put the bytes back in.
h=$(printf '%s' "$evil" | od -An -tx1 | tr -d ' \n')
q "$rdb" "UPDATE guests SET name = CAST(X'$h' AS TEXT);
	  UPDATE crashes SET reason = CAST(X'$h' AS TEXT);
	  UPDATE guests SET reason = CAST(X'$h' AS TEXT)"
ok $? "hostile text written into the database"
$UT list -v "$rdb" >"$T/list" 2>&1
ok $? "unitrace list exits 0" "$(cat "$T/list")"
check "$T/list" "list"
grep -qF $'\\x1b[2J\\x9b31m\\u009bx\xe6\x97\xa5\xe6\x9c\xac' "$T/list"
ok $? "list shows the name escaped, 日本 intact" "$(cat "$T/list")"
for fmt in "" --csv --json; do
	$UT query $fmt "$rdb" "SELECT name, reason FROM guests;
		SELECT reason FROM crashes" >"$T/query" 2>&1
	ok $? "unitrace query ${fmt:-(table)} exits 0" "$(cat "$T/query")"
	check "$T/query" "query ${fmt:-(table)}"
	grep -qF $'\xe6\x97\xa5\xe6\x9c\xac' "$T/query"
	ok $? "query ${fmt:-(table)} keeps 日本" "$(cat "$T/query")"
done
core=$(q "$rdb" "SELECT core_path FROM crashes WHERE id = 1")
hp=$T/$'\xe6\x97\xa5\xe6\x9c\xac it\x27s\e[2J\xc2\x9b'
mkdir -p "$hp" && cp "$core" "$hp/core"
ok $? "the core copied to a directory named with 日本, a quote, ESC, U+009B"
cp=$(printf '%s' "$hp/core" | od -An -tx1 | tr -d ' \n')
q "$rdb" "UPDATE crashes SET core_path = CAST(X'$cp' AS TEXT)"
$UT crash "$rdb" 1 >"$T/crash" 2>&1
ok $? "unitrace crash exits 0" "$(cat "$T/crash")"
check "$T/crash" "crash"
n_jp=$(grep -o $'\xe6\x97\xa5\xe6\x9c\xac' "$T/crash" | wc -l)
ok $(( n_jp >= 2 ? 0 : 1 )) "crash keeps 日本 in the reason and the core path ($n_jp)" "$(cat "$T/crash")"
$UT crash "$rdb" >"$T/crashes" 2>&1
check "$T/crashes" "crash (the list)"
# a field value: the query of a string column built from those bytes
$UT query "$rdb" "SELECT CAST(X'$h' AS TEXT) AS s, X'9b1b' AS b" >"$T/val" 2>&1
check "$T/val" "query of a computed string"
# an error that quotes the path
$UT list "$T/"$'no\e[2J\x9bsuch.db' >"$T/lerr" 2>&1
ok $(( $? != 0 ? 0 : 1 )) "list of a missing database fails"
check "$T/lerr" "list's error message"

echo "1..$n"
