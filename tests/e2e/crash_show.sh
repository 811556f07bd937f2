#!/usr/bin/env bash
# `unitrace crash DB ID` as an on-call tool reads it (issue 10, part 5):
# what died, how and where first, then the backtrace, the last events in
# UTC with the lost ranges near the crash, idle vCPUs on one line, the
# registers last; `unitrace crash --gdb DB ID` opens gdb on the core.  TAP.
set -u
B=${B:-build}
UT=$B/unitrace
DEMO=$B/demo-guest
T=$(mktemp -d /tmp/ut-crashshow.XXXXXX)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/../harness.sh" # ok is skip q until_ok; n=0
guest_crash_asan

# line number of the first line matching (ERE) in $T/out, 0 if none
at() { grep -nE -m1 -- "$1" "$T/out" | cut -d: -f1 | grep . || echo 0; }

# ---- an abort on vCPU 0 of six rings, two of them used ---------------------
db=$T/abort.db
UNITRACE_RINGS=6 $UT run -q -o "$db" -- $DEMO --threads 2 --duration 5 \
	--rate 4000 --crash abort --crash-after 0.2 >/dev/null 2>"$T/err"
is "$?" 134 "the demo aborts under unitrace run"
# a lost range on vCPU 1 just before the crash (made here: whether the
# ring overflows by itself depends on the machine's load)
q "$db" "INSERT INTO lost(lane, seq_first, count, ts_before, ts_after, reason)
	SELECT l.id, 1000000, 4242, c.ts - 1000, NULL, 'overwrite' FROM lanes l, crashes c WHERE l.vcpu = 1"
$UT crash "$db" 1 >"$T/out" 2>&1
ok $? "unitrace crash DB 1 exits 0" "$(tail -5 "$T/out")"
w=$(at '^  what: '); wh=$(at '^  where: '); bt=$(at '^backtrace'); ev=$(at '^last events'); rg=$(at '^registers:'); co=$(at '^core file:')
[ "$w" -gt 0 ] && [ "$w" -lt "$wh" ] && [ "$wh" -lt "$bt" ] && [ "$bt" -lt "$ev" ] && [ "$ev" -lt "$rg" ] && [ "$rg" -lt "$co" ]
ok $? "what, where, backtrace, last events, registers, core: in that order ($w $wh $bt $ev $rg $co)" "$(cat "$T/out")"
grep -qE '^  where: +crash_hosted[^ ]* at examples/demo-guest/demo.c:[0-9]+ \(demo-guest\), frame #[0-9]+ \(frame #0: [^ ]+ \(libc' "$T/out"
ok $? "where: the first frame in the program (abort's own frames are in libc), frame 0 named" "$(grep -E '^  where' "$T/out")"
! grep -qE '^  reason: ' "$T/out"
ok $? "no reason line restating the signal" "$(sed -n 1,8p "$T/out")"
grep -qE '^  when: +20[0-9-]+ [0-9:]+\.[0-9]{6} UTC, [0-9.]+ s on the guest' "$T/out"
ok $? "when: UTC and the guest's clock" "$(grep -E '^  when' "$T/out")"
grep -qE '^    [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9} +-[0-9.]+ [mun]?s +#[0-9]+ +crash_imminent kind="abort"' "$T/out"
ok $? "the last events carry the UTC time and the time before the crash" "$(grep crash_imminent "$T/out")"
grep -qE '^  vCPUs 2, 3, 4, 5: no events stored$' "$T/out"
ok $? "the idle vCPUs on one line" "$(grep -E 'vCPU' "$T/out")"
grep -qE ' LOST 4242 events \(#1000000 on; overwritten in the ring' "$T/out"
ok $? "the lost range near the crash is shown on its vCPU" "$(grep -E 'LOST|vCPU 1' "$T/out")"
awk '/^  vCPU 1:/ { on = 1; next } /^  vCPU/ { on = 0 } on && /LOST 4242/ { found = 1 } END { exit !found }' "$T/out"
ok $? "...under vCPU 1"
grep -qE '^  command: +[^ ]*demo-guest --threads 2 --duration 5 --rate 4000 --crash abort --crash-after 0.2$' "$T/out"
ok $? "command: the program's command line" "$(grep -E '^  (command|program|user)' "$T/out")"
grep -qE "^  program: +$(cd "$(dirname "$DEMO")" && pwd)/demo-guest$" "$T/out"
ok $? "program: its path"
grep -qE "^  user: +$(id -un) \\(uid $(id -u)\\)$" "$T/out"
ok $? "user: who ran it"
# the other threads: the demo's second vCPU thread and the tracer's control
# thread, each with its stack
awk '/^the other threads \(2\):/ { on = 1; next } /^$/ { on = 0 } on' "$T/out" >"$T/threads"
[ "$(grep -c '^  thread [0-9]*:$' "$T/threads")" = 2 ] && grep -q ' vcpu_main' "$T/threads" &&
	grep -q ' ctl_thread' "$T/threads"
ok $? "the other threads' stacks: a vCPU thread in vcpu_main, the control thread" "$(cat "$T/threads")"
bid=$(readelf -n "$DEMO" | sed -n 's/.*Build ID: //p')
grep -qE "^  0x[0-9a-f]+  $bid  demo-guest" "$T/out"
ok $? "modules: the program with its build id ($bid), from the core" "$(sed -n '/^modules/,/^$/p' "$T/out")"
grep -qE '^  0x[0-9a-f]+  [0-9a-f]{40}  libc.so.6' "$T/out"
ok $? "...and libc with its own"
grep -qE "^  unitrace crash --gdb $db 1$" "$T/out"
ok $? "the way out names unitrace crash --gdb" "$(tail -3 "$T/out")"

# ---- a panic: its message is news ----------------------------------------------
db=$T/panic.db
$UT run -q -o "$db" -- $DEMO --threads 1 --duration 5 --rate 1000 \
	--crash panic --crash-after 0.1 >/dev/null 2>"$T/err"
$UT crash "$db" 1 >"$T/out" 2>&1
grep -qE '^  message: +"' "$T/out"
ok $? "a panic shows its message" "$(sed -n 1,8p "$T/out")"

# ---- --gdb ---------------------------------------------------------------------
db=$T/abort.db
if command -v gdb >/dev/null; then
	$UT crash --gdb "$db" 1 -- -nx -batch -ex "thread apply all bt" >"$T/gdb" 2>&1
	ok $? "unitrace crash --gdb DB 1 -- -batch ...: gdb runs and exits 0" "$(tail -5 "$T/gdb")"
	grep -q 'parse_cookie' "$T/gdb" && grep -q 'vcpu_main' "$T/gdb" &&
		[ "$(grep -c '^Thread ' "$T/gdb")" -ge 3 ]
	ok $? "...on the program and its core: every thread's stack" "$(grep -E '^(Thread|#0)' "$T/gdb")"
else
	skip "unitrace crash --gdb" "gdb missing"
	skip "...every thread's stack" "gdb missing"
fi
PATH=/nonexistent $UT crash --gdb "$db" 1 >"$T/out" 2>&1
r=$?
is "$r" 1 "no gdb on PATH: exit 1"
grep -q 'cannot run gdb.*install gdb' "$T/out"
ok $? "...saying so" "$(cat "$T/out")"
$UT crash --gdb "$db" >"$T/out" 2>&1
is "$?" 2 "--gdb without a crash id: usage error"
cp "$db" "$T/nocore.db"
q "$T/nocore.db" "UPDATE crashes SET core_path = '$T/gone.core'"
$UT crash --gdb "$T/nocore.db" 1 >"$T/out" 2>&1
is "$?" 1 "--gdb on a core that is gone: exit 1"
grep -q "gone.core" "$T/out"
ok $? "...naming it" "$(cat "$T/out")"
echo "1..$n"
