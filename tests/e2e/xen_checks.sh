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
	CREATE TABLE events(lane INTEGER, ts INTEGER, seq INTEGER);
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

# tests/xen/emulator-fault.sh: which failed runs xen.sh runs again
sig() { tests/xen/emulator-fault.sh "$1"; }
e=$t/sig
corrupt() { # DIR REASON: results whose one guest is corrupt with REASON
	rm -rf "$1"; mkdir -p "$1"
	sqlite3 "$1/trace.db" "CREATE TABLE guests(id INTEGER PRIMARY KEY, name TEXT, status TEXT, reason TEXT);
		INSERT INTO guests VALUES (1, 'ukapp2', 'corrupt', '$2')"
}
corrupt "$e" 'ring 0: record at position 2894680 has invalid size 0 [copied 2894680+15792 of head 2910472 oldest 0: 00000000000000000000000000000000; ring now 05002800000000002049010000000000, head 2911968 oldest 0]'
sig "$e"
ok $? "emulator signature: the collector's copy of a record disagrees with the ring"
corrupt "$e" 'ring 0: record at position 2894680 has invalid size 0 [copied 2894680+15792 of head 2910472 oldest 0: 00000000000000000000000000000000; ring now 00000000000000000000000000000000, head 2911968 oldest 0]'
! sig "$e"
ok $? "not the emulator: copy and ring agree (the guest wrote it)"
corrupt "$e" 'ring 0: record at position 100 has invalid size 0 [copied 0+136 of head 136 oldest 0: 04000000000000000000000000000000; ring now 04002000000000000000000000000000, head 136 oldest 200]'
! sig "$e"
ok $? "not the emulator: the slot was handed back to the producer since (oldest now past it)"
corrupt "$e" 'ring 0, seq 412840: event net_rx: 8 unexplained payload bytes'
! sig "$e"
ok $? "not the emulator: a reason without the evidence"
rm -rf "$e"; mkdir -p "$e"; printf 'not a database' > "$e/trace.db"
! sig "$e"
ok $? "not the emulator: a malformed trace.db alone"
rm -rf "$e"; mkdir -p "$e"
echo '[   39.354359] dd[495]: segfault at ad3cc664a ip 000000000042e48d sp 00007ffd6a877620 error 6 in busybox[401000+184000] likely on CPU 0 (core 0, socket 0)' > "$e/dom0-dmesg.txt"
sig "$e"
ok $? "emulator signature: a dom0 program's segfault in dom0's kernel log"
rm -rf "$e"; mkdir -p "$e"; echo 'xl create (run 1) failed: got a tsc mode string' > "$e/notes"
! sig "$e"
ok $? "not the emulator: xl failing without a crash"
echo 'xl shutdown pvhdemo1 failed: malloc(): corrupted top size' >> "$e/notes"
sig "$e"
ok $? "emulator signature: glibc's heap check in a dom0 program"
# a row out of sequence on its lane (as stored in dom0 by a run under TCG:
# seq 0 between 12412 and 12414): run.sh's check names it, and it is the
# emulator's signature (the reader refuses such a record, so the row
# changed in dom0's memory after the check)
mkdir -p "$t/seq"
cp -r "$res" "$t/seq/"
sqlite3 "$t/seq/results/trace.db" "INSERT INTO lanes VALUES (1, 1);
	INSERT INTO events VALUES (1, 100, 12411), (1, 101, 12412), (1, 913528, 0), (1, 103, 12414)"
XEN_RIG_RESULTS=$t/seq/results B=$B tests/xen/run.sh check > "$t/tap2" 2>&1
grep -q '^not ok .*pvhdemo1: every stored row in sequence on its lane (rows out of sequence: 1 (first: row 3))' "$t/tap2"
ok $? "run.sh check: a stored row out of sequence is named" "$(grep -E '^(not )?ok' "$t/tap2")"
grep -q '^ok .*pvhdemo1: every stored row in sequence' "$t/tap"
ok $? "... and rows in sequence pass that check" "$(grep -E '^(not )?ok' "$t/tap")"
sig "$t/seq/results"
ok $? "emulator signature: a stored row out of sequence"
sqlite3 "$t/seq/results/trace.db" "DELETE FROM events WHERE seq = 0"
rm -f "$t/seq/results/notes" "$t/seq/results/dom0-dmesg.txt"
! sig "$t/seq/results"
ok $? "not the emulator: every row in sequence"
echo "1..$n"
