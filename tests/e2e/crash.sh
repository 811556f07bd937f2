#!/usr/bin/env bash
# End to end crash capture on the hosted transport: for each crash kind,
# in both ring modes, the real demo guest crashes under `unitrace run`; we
# check the crash row, the stored backtrace, the last events, the core file
# with real gdb, and `unitrace crash`.  Then hostile crash records.  TAP.
set -u
B=${B:-build}
UT=$B/unitrace
DEMO=$B/demo-guest
EVIL=$B/tests/e2e/evil_guest
T=$(mktemp -d /tmp/ut-crash.XXXXXX)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/../harness.sh" # ok is skip q until_ok; n=0

# In a sanitizer build (make check-asan) let the guest's own crash handlers
# see the faults rather than ASan's.
guest_crash_asan

have_gdb=1
command -v gdb >/dev/null || have_gdb=0

# kind, expected exit status of `unitrace run` (128 + signal), the function
# that must appear in the backtrace
cases="null:139:parse_cookie abort:134:parse_cookie ill:132:parse_cookie fpe:136:parse_cookie stack:139:recurse_forever panic:134:parse_cookie"
for mode in discard overwrite; do
	for c in $cases; do
		IFS=: read -r kind want_rc fn <<<"$c"
		db=$T/$kind-$mode.db
		$UT run -q -o "$db" --mode $mode -- $DEMO --threads 2 --duration 5 \
			--rate 4000 --crash $kind --crash-after 0.2 >/dev/null 2>"$T/err"
		rc=$?
		is "$rc" "$want_rc" "$kind/$mode: unitrace run exits with the program's status"
		is "$(q "$db" "SELECT count(*) FROM crashes")" "1" "$kind/$mode: one crash row"
		is "$(q "$db" "SELECT status FROM guests")" "crashed" "$kind/$mode: guest status crashed"
		bt=$(q "$db" "SELECT group_concat(function, ' ') FROM crash_frames f JOIN crashes c ON c.id = f.crash_id WHERE f.method = c.bt_method")
		case "$bt" in *"$fn"*) r=0 ;; *) r=1 ;; esac
		ok $r "$kind/$mode: stored backtrace names $fn ($(echo "$bt" | cut -c1-100))"
		last=$(q "$db" "SELECT count(*) FROM ev_crash_imminent WHERE kind = '$kind'")
		is "$last" "1" "$kind/$mode: the event emitted just before the crash is stored"
		core=$(q "$db" "SELECT core_path FROM crashes")
		if [ -n "$core" ] && [ -f "$core" ]; then r=0; else r=1; fi
		ok $r "$kind/$mode: core file written ($core)"
		if [ $have_gdb -eq 1 ] && [ -f "$core" ]; then
			gdb -nx -batch -ex "bt 12" "$DEMO" "$core" >"$T/gdb" 2>&1
			grep -q "$fn" "$T/gdb"; ok $? "$kind/$mode: gdb bt on the core shows $fn"
		else
			n=$((n + 1)); echo "ok $n - $kind/$mode: gdb bt # SKIP gdb missing or no core"
		fi
		if [ "$mode" = discard ]; then
			$UT crash "$db" 1 >"$T/show" 2>&1
			r=$?
			grep -q "$fn" "$T/show" && grep -q "gdb " "$T/show" && [ $r -eq 0 ]
			ok $? "$kind: 'unitrace crash DB 1' shows the backtrace and the gdb command"
		fi
	done
done

# ---- the crash list --------------------------------------------------------
$UT crash "$T/null-discard.db" >"$T/list" 2>&1
ok $? "unitrace crash DB lists crashes"
grep -q "SIGSEGV" "$T/list"; ok $? "...naming the signal"

# ---- lies and damage ---------------------------------------------------------
db=$T/null-discard.db
core=$(q "$db" "SELECT core_path FROM crashes")
head -c 3000 "$core" >"$T/trunc.core"
q "$db" "UPDATE crashes SET core_path = '$T/trunc.core'"
timeout 20 $UT crash "$db" 1 >"$T/out" 2>&1; r=$?
ok $(( r != 124 && r < 128 ? 0 : 1 )) "a truncated core: unitrace crash neither hangs nor crashes (exit $r)"
grep -qi "truncat\|incomplete\|invalid\|not a" "$T/out"; ok $? "...and says the core is damaged"
head -c 100000 /dev/urandom >"$T/garbage.core"
q "$db" "UPDATE crashes SET core_path = '$T/garbage.core'"
timeout 20 $UT crash "$db" 1 >"$T/out" 2>&1; r=$?
ok $(( r != 124 && r < 128 ? 0 : 1 )) "a garbled core: handled (exit $r)"
timeout 20 $UT crash "$db" 99 >"$T/out" 2>&1; r=$?
ok $(( r == 1 || r == 2 ? 0 : 1 )) "an unknown crash id: clear error (exit $r)"
timeout 20 $UT crash "$T/missing.db" >"$T/out" 2>&1; r=$?
ok $(( r == 1 ? 0 : 1 )) "a missing database: exit 1"

# A guest whose crash record lies: registers pointing nowhere, a frame
# pointer loop, a vCPU that does not exist.
for how in crash-wild crash-loop crash-garbage; do
	db=$T/$how.db
	timeout 60 $UT run -q -o "$db" -- $EVIL $how >/dev/null 2>&1
	r=$?
	ok $(( r != 124 ? 0 : 1 )) "$how: the collector finishes (exit $r)"
	st=$(q "$db" "SELECT count(*) FROM crashes")
	is "$st" "1" "$how: the crash is recorded anyway"
	timeout 20 $UT crash "$db" 1 >"$T/out" 2>&1; r=$?
	ok $(( r != 124 && r < 128 ? 0 : 1 )) "$how: unitrace crash shows it (exit $r)"
done

echo "1..$n"
