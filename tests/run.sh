#!/usr/bin/env bash
# Runs every unit test binary (TAP) and every end-to-end script, and ends
# with one line "N passed, N failed[, N skipped]" counting TAP test points.
# A test program that crashes or exits non-zero without reporting a failing
# point counts as one failure.
#
#   tests/run.sh [NAME]   only the test NAME: a unit test (test_store or
#                         store) or an end-to-end script (viewer or viewer.sh)
set -u
only=${1:-}
only=${only%.sh}
only=${only#test_}
B=${B:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export B UT_TOP="$top"
passed=0 failed=0 skipped=0
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

run_one() { # name, command...
	local name=$1; shift
	local out="$log/$(basename "$name").out"
	echo "# ---- $name"
	"$@" >"$out" 2>&1
	local rc=$?
	cat "$out"
	local p f s
	s=$(grep -cE '^ok [0-9]+.*# SKIP' "$out" || true)
	f=$(grep -cE '^not ok [0-9]+' "$out" || true)
	p=$(( $(grep -cE '^ok [0-9]+' "$out") - s ))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name exited with status $rc"
		f=1
	fi
	if [ $((p + f + s)) -eq 0 ]; then
		echo "not ok - $name reported no test points"
		f=1
	fi
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
}

selected() { [ -z "$only" ] || [ "$1" = "$only" ]; }
for t in "$B"/tests/test_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	selected "${n#test_}" || continue
	run_one "$t" "$t"
done
for t in tests/e2e/*.sh; do
	[ -f "$t" ] || continue
	selected "$(basename "$t" .sh)" || continue
	run_one "$t" bash "$t"
done
if [ -n "$only" ] && [ $((passed + failed + skipped)) -eq 0 ]; then
	echo "not ok - no test named '$only' (unit tests: $B/tests/test_*, e2e: tests/e2e/*.sh)"
	failed=1
fi

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
