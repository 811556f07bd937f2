#!/usr/bin/env bash
# Two threads that crash at about the same time (issue 10): the first
# crash is the recorded one, the second never kills the process in the
# middle of the capture, and the collector freezes every thread for the
# core.  For the same signal twice and for two different signals, 20 runs
# each under `unitrace run`: one crash row with a core holding all 4
# threads and a backtrace, and the exit status is 128 + the recorded
# signal; gdb and eu-stack on the last core of each see every thread's
# function, and gdb's $_siginfo the fault address.  Then
# the second crash held back until the first one's capture is held at the
# gate (UNITRACE_TEST_CAPTURE_GATE, crash.h): the crash row's note names
# it, the process still dies of the first.  TAP.
set -u
B=${B:-build}
UT=$B/unitrace
G=$B/tests/e2e/twofault_guest
T=$(mktemp -d /tmp/ut-twofault.XXXXXX)
RUNP=
cleanup() {
	[ -n "$RUNP" ] && kill -9 "$RUNP" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
. "$(dirname "$0")/../harness.sh" # ok is skip q until_ok; n=0

# as in crash.sh: let the guest's own handlers see the faults
guest_crash_asan
export UNITRACE_CRASH_WAIT_MS=600000

RUNS=${TWOFAULT_RUNS:-20}
# the pair of faults, and the signals either may be recorded with
for pair in "segv segv:11" "segv bus:11 7" "fpe segv:8 11"; do
	IFS=: read -r how sigs <<<"$pair"
	bad=
	for ((i = 0; i < RUNS; i++)); do
		db=$T/run.db
		rm -f "$db" "$db"-*
		$UT run -q -o "$db" --core-dir "$T/cores" -- $G $how >/dev/null 2>"$T/err"
		rc=$?
		rows=$(q "$db" "SELECT count(*) FROM crashes")
		sig=$(q "$db" "SELECT signal FROM crashes")
		core=$(q "$db" "SELECT core_path FROM crashes")
		frames=$(q "$db" "SELECT count(*) FROM crash_frames")
		status=$(q "$db" "SELECT status FROM guests")
		note=$(q "$db" "SELECT note FROM crashes")
		case " $sigs " in *" $sig "*) known=1 ;; *) known=0 ;; esac
		# main, the control thread, fault_a and fault_b: all frozen
		nthr=$(readelf -n "$core" 2>/dev/null | grep -c NT_PRSTATUS)
		if [ "$rows" != 1 ] || [ "$known" != 1 ] || [ "$rc" != $((128 + sig)) ] ||
			[ -z "$core" ] || [ ! -s "$core" ] || [ "${frames:-0}" -lt 1 ] ||
			[ "$status" != crashed ] || [ "$nthr" != 4 ]; then
			bad="run $i: rc $rc, $rows rows, signal $sig, core '$core' with $nthr threads, $frames frames, status $status, note '$note' ($(head -c 300 "$T/err"))"
			break
		fi
		[ $i = $((RUNS - 1)) ] || rm -rf "$T/cores"
	done
	ok $([ -z "$bad" ]; echo $?) "$how x$RUNS: one crash row with core (4 threads) and backtrace, exit status 128 + its signal${bad:+: $bad}"
	# the last run's core, with real debuggers
	[ -z "$bad" ] || continue
	if command -v gdb >/dev/null; then
		gdb -batch -ex 'thread apply all bt' \
			-ex 'printf "siginfo %d %lu\n", $_siginfo.si_signo, $_siginfo._sifields._sigfault.si_addr' \
			"$G" "$core" >"$T/gdb.out" 2>&1
		r=0
		for fn in fault_a fault_b main ctl_thread; do
			grep -q " in $fn " "$T/gdb.out" || r=1
		done
		ok $r "$how: gdb's 'thread apply all bt' names every thread's function"
		addr=$(q "$db" "SELECT fault_addr FROM crashes")
		is "$(grep '^siginfo' "$T/gdb.out")" "siginfo $sig $addr" \
			"$how: gdb's \$_siginfo has the signal and the fault address"
	else
		skip "no gdb"
		skip "no gdb"
	fi
	if command -v eu-stack >/dev/null; then
		eu-stack --core "$core" --executable "$G" >"$T/eu.out" 2>&1
		[ "$(grep -c '^TID' "$T/eu.out")" = 4 ] && grep -q fault_a "$T/eu.out" &&
			grep -q fault_b "$T/eu.out"
		ok $? "$how: eu-stack --core lists the 4 threads, fault_a and fault_b"
	else
		skip "no eu-stack"
	fi
	rm -rf "$T/cores"
done

# ---- the second crash while the first one's capture is held -------------
# field offsets (formats/ut_abi.h): crash_off in the header, second_tid in
# the crash record
u32() { od -An -t u4 -j "$2" -N 4 "$1" 2>/dev/null | tr -d ' '; }
second_noted() {
	local f off t
	for f in /proc/$1/fd/*; do
		case "$(readlink "$f" 2>/dev/null)" in *memfd:unitrace*) ;; *) continue ;; esac
		off=$(u32 "$f" 48)
		t=$(u32 "$f" $((off + 396)))
		[ -n "$t" ] && [ "$t" != 0 ] && return 0
	done
	return 1
}
gate=$T/gate
db=$T/gated.db
UNITRACE_TEST_CAPTURE_GATE=$gate $UT run -q -o "$db" --core-dir "$T/cores" -- \
	$G segv bus "$gate" >/dev/null 2>"$T/err" &
RUNP=$!
until_ok test -e "$gate.held"
ok $? "the first crash (SIGSEGV) is held at the gate"
child=
until_ok eval 'child=$(cat /proc/$RUNP/task/$RUNP/children 2>/dev/null | tr -d " "); [ -n "$child" ]'
until_ok second_noted "$child"
ok $? "the second thread's SIGBUS is noted in the crash record while the capture is held"
touch "$gate"
wait $RUNP
rc=$?
RUNP=
is "$rc" 139 "unitrace run exits with 128 + SIGSEGV, the recorded crash"
is "$(q "$db" "SELECT count(*) || ' ' || signal FROM crashes")" "1 11" "one crash row, SIGSEGV"
note=$(q "$db" "SELECT note FROM crashes")
case "$note" in *"second crash while this one was handled: SIGBUS in thread "*) r=0 ;; *) r=1 ;; esac
ok $r "its note names the second crash ($note)"
core=$(q "$db" "SELECT core_path FROM crashes")
[ -n "$core" ] && [ -s "$core" ]
ok $? "its core is written"

# ---- honest cores --------------------------------------------------------
# twofault_guest maps a page past the end of an empty memfd (its SIGBUS):
# /proc/PID/mem cannot read it, so the core lacks it and says so
case "$note" in *"core incomplete: 1 page "*) r=0 ;; *) r=1 ;; esac
ok $r "the note says the core is incomplete (a page that could not be read)"
$UT crash "$db" 1 >"$T/crash.out" 2>&1
grep -q "INCOMPLETE ELF core" "$T/crash.out" && ! grep -q "complete ELF core" "$T/crash.out"
ok $? "unitrace crash calls it INCOMPLETE, never complete ($(grep 'ELF core' "$T/crash.out"))"
# a guest killed while its capture is held: no memory left to dump
db=$T/killed.db
rm -f "$gate" "$gate.held"
UNITRACE_TEST_CAPTURE_GATE=$gate $UT run -q -o "$db" --core-dir "$T/cores" -- \
	$G segv segv "$gate" >/dev/null 2>"$T/err" &
RUNP=$!
until_ok test -e "$gate.held"
ok $? "a crash is held at the gate"
child=$(tr -d ' ' </proc/$RUNP/task/$RUNP/children)
kill -9 "$child"
until_ok eval '! grep -qs "^State:.*[SRDt]" /proc/$child/status'
touch "$gate"
wait $RUNP
rc=$?
RUNP=
is "$rc" 137 "killed during the capture: unitrace run exits with 128 + SIGKILL"
is "$(q "$db" "SELECT count(*) || ' ' || ifnull(core_path, 'no core') FROM crashes")" \
	"1 no core" "the crash row is there, without a core"
note=$(q "$db" "SELECT note FROM crashes")
case "$note" in *"no core"*|*"gone"*) r=0 ;; *) r=1 ;; esac
ok $r "its note says why ($note)"
$UT crash "$db" 1 >"$T/crash.out" 2>&1
! grep -q "complete ELF core" "$T/crash.out"
ok $? "unitrace crash does not call anything complete"
echo "1..$n"
