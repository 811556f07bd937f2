#!/usr/bin/env bash
# The Xen rig's host-side checks without QEMU (tests/xen/run.sh check) over
# results made up here: a run whose checks fail must say "not ok" and exit
# non-zero, which is what tests/e2e/xen.sh's second run on the emulator's
# fault signature relies on (run.sh used to exit 0 whatever it found).
set -u
B=${B:-build}
cd "$(dirname "$0")/../.."
. tests/harness.sh

command -v sqlite3 >/dev/null || { skip "rig checks over made-up results" "sqlite3 missing"; echo "1..$n"; exit 0; }
t=$(mktemp -d /tmp/ut-xen-checks.XXXXXX)
trap 'rm -rf "$t"' EXIT
res=$t/results
mkdir -p "$res/cores"
echo done > "$res/DONE"
echo "xen_version            : 4.17.0" > "$res/xl-info.txt"
# a database with guests but no events or crash rows: the counts cannot match
sqlite3 "$res/trace.db" "CREATE TABLE guests(id INTEGER PRIMARY KEY, name TEXT, status TEXT);
	CREATE TABLE lanes(id INTEGER PRIMARY KEY, guest_id INTEGER);
	CREATE TABLE events(lane INTEGER, ts INTEGER);
	CREATE TABLE lost(lane INTEGER, count INTEGER, reason TEXT);
	CREATE TABLE crashes(id INTEGER PRIMARY KEY, guest_id INTEGER, core_path TEXT, bt_method TEXT, backtrace TEXT);
	CREATE TABLE crash_frames(crash_id INTEGER, method TEXT, idx INTEGER, function TEXT);
	INSERT INTO guests VALUES (1, 'pvhdemo1', 'exited');"
echo "pvh-demo: emitted 10 dropped 0" > "$res/guest-pvhdemo1.log"
echo "ctl: skipped (made up)" > "$res/ctl.txt"

XEN_RIG_RESULTS=$res B=$B tests/xen/run.sh check > "$t/tap" 2>&1
rc=$?
[ "$rc" -ne 0 ]
ok $? "run.sh check exits non-zero when a check fails (exit $rc)" "$(cat "$t/tap")"
grep -q '^not ok .*pvhdemo1: stored events (0, ' "$t/tap"
ok $? "... and says which: stored 0 against emitted 10" "$(grep -E '^(not )?ok' "$t/tap")"
grep -q '^ok .*results came back' "$t/tap"
ok $? "... while what holds passes (results, xl info)" "$(grep -E '^(not )?ok' "$t/tap")"
grep -q '^1\.\.[0-9]' "$t/tap"
ok $? "... and ends with its plan"
echo "1..$n"
