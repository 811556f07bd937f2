#!/usr/bin/env bash
# Deaths without a crash record (issue 10): `unitrace run` knows how its
# program ended, so a guest killed by SIGKILL, or by a fatal signal its
# crash handlers never saw, is stored with that cause instead of the
# guess 'process ended without ut_shutdown (killed?)'.  TAP.
set -u
B=${B:-build}
UT=$B/unitrace
DEMO=$B/demo-guest
CAP=$B/tests/e2e/capture_guest
T=$(mktemp -d /tmp/ut-death.XXXXXX)
RUNP=
cleanup() {
	[ -n "$RUNP" ] && kill -9 "$RUNP" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
. "$(dirname "$0")/../harness.sh" # ok is skip q until_ok; n=0

guest_crash_asan

# ---- SIGKILL -----------------------------------------------------------
db=$T/kill.db
$UT run -q -o "$db" -- $DEMO --threads 2 --duration 120 --rate 1000 \
	>/dev/null 2>"$T/err" &
RUNP=$!
until_ok db_pos "$db" "SELECT count(*) FROM guests WHERE status = 'running'"
ok $? "the guest runs under unitrace run"
child=$(tr -d ' ' </proc/$RUNP/task/$RUNP/children)
kill -9 "$child"
wait $RUNP
rc=$?
RUNP=
is "$rc" 137 "unitrace run exits with 128 + SIGKILL"
is "$(q "$db" "SELECT status || ': ' || reason FROM guests")" \
	"vanished: killed by SIGKILL" "the guest is stored as killed by SIGKILL"
$UT list "$db" >"$T/list" 2>&1
grep -q "killed by SIGKILL" "$T/list"
ok $? "unitrace list shows it ($(grep -c . "$T/list") lines)"
is "$(q "$db" "SELECT count(*) FROM crashes")" 0 "no crash row"

# ---- a fatal signal the guest's handlers never saw -----------------------
db=$T/nohandler.db
UNITRACE_CRASH_HANDLERS=0 $UT run -q -o "$db" -- $CAP >/dev/null 2>"$T/err"
is "$?" 139 "without crash handlers: unitrace run exits with 128 + SIGSEGV"
is "$(q "$db" "SELECT status || ': ' || reason FROM guests")" \
	"vanished: killed by SIGSEGV" "the guest is stored as killed by SIGSEGV"
echo "1..$n"
