#!/usr/bin/env bash
# Runs every unit test binary (TAP) and every end-to-end script, and ends
# with one line "N passed, N failed[, N skipped]" counting TAP test points.
# A test program that crashes or exits non-zero without reporting a failing
# point counts as one failure.
#
#   tests/run.sh [NAME]   only the test NAME: a unit test (test_store or
#                         store) or an end-to-end script (viewer or viewer.sh)
#
# UT_LOAD=1 (make test-load) runs the same tests with every core saturated
# by a CPU hog (stress-ng --cpu N, N = the number of cores): no outcome may
# depend on timing, so every test must pass this way too.
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
hog=
trap 'rm -rf "$log"; [ -z "$hog" ] || kill "$hog" 2>/dev/null' EXIT

if [ "${UT_LOAD:-0}" = 1 ]; then
	command -v stress-ng >/dev/null || {
		echo "not ok - load mode: stress-ng is missing (make deps installs it)"
		echo; echo "0 passed, 1 failed, 0 skipped"; exit 1; }
	cores=$(nproc)
	stress-ng --cpu "$cores" --cpu-method matrixprod --timeout 4h -q &
	hog=$!
	# the hog is running once its workers are (a state, not a delay)
	for ((i = 0; i < 600; i++)); do
		[ "$(pgrep -c -P "$hog" 2>/dev/null || echo 0)" -ge "$cores" ] && break
		sleep 0.05
	done
	echo "# load mode: stress-ng --cpu $cores (pid $hog, $(pgrep -c -P "$hog") workers) saturates every core during the tests"
fi

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
[ -z "$hog" ] || echo "# under load: stress-ng --cpu $cores ran through every test"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
