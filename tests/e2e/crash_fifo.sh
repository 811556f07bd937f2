#!/usr/bin/env bash
# D4: a guest deletes its executable, puts a FIFO at "PATH (deleted)" (the
# name /proc/PID/maps and /proc/PID/exe now show) and crashes.  The
# collector must not open that FIFO (an open() without O_NONBLOCK blocks
# until a writer comes): the crash row is stored, the run ends.  TAP.
set -u
B=${B:-build}
UT=$B/unitrace
GUEST=$B/tests/e2e/fifo_guest
T=$(mktemp -d /tmp/ut-crash-fifo.XXXXXX)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/../harness.sh" # ok is skip q until_ok; n=0

guest_crash_asan

mkdir "$T/bin"
cp "$GUEST" "$T/bin/prog"
db=$T/fifo.db
# The bound is a safety net for a broken collector only; the checks are
# on the states it leaves.
timeout 120 $UT run -o "$db" -- "$T/bin/prog" >"$T/out" 2>"$T/err"
rc=$?
ok $(( rc != 124 ? 0 : 1 )) "the collector was not blocked by the FIFO (exit $rc)" "$(cat "$T/err")"
is "$rc" "139" "unitrace run exits with the guest's SIGSEGV status"
[ -p "$T/bin/prog (deleted)" ]; ok $? "the trap was set: a FIFO at 'PATH (deleted)'"
[ -e "$T/bin/prog" ]; ok $(( $? ? 0 : 1 )) "and the program itself is deleted"
is "$(q "$db" "SELECT count(*) FROM crashes")" "1" "the crash row is stored"
is "$(q "$db" "SELECT signal FROM crashes")" "11" "with its signal"
is "$(q "$db" "SELECT status FROM guests")" "crashed" "the guest is marked crashed"
is "$(q "$db" "SELECT count(*) FROM ev_before_trap")" "100" "the events before the crash are stored"
is "$(q "$db" "SELECT count(*) FROM crashes WHERE elf_path LIKE '%(deleted)'")" "0" \
	"the FIFO is not recorded as the program"
note=$(q "$db" "SELECT note FROM crashes")
case "$note" in *"not a regular file"*) r=0 ;; *) r=1 ;; esac
ok $r "the note says why the program was not read" "$note"
# the collector is still usable afterwards: the stored crash can be shown
timeout 60 $UT crash "$db" 1 >"$T/show" 2>&1; r=$?
ok $(( r == 0 ? 0 : 1 )) "unitrace crash shows it (exit $r)" "$(head -20 "$T/show")"

echo "1..$n"
