#!/usr/bin/env bash
# Runs the libFuzzer targets (docs/fuzzing.md); `make fuzz` and
# `make fuzz-long` call it.
#
#   tests/fuzz/run.sh short SECONDS   every target, SECONDS of wall time in
#                                     all: the cores share the targets, each
#                                     gets SECONDS * cores / targets (>= 5)
#   tests/fuzz/run.sh long HOURS      every target at once for HOURS (0.5:
#                                     half an hour), each with -fork over
#                                     its share of the cores
#
# Each target starts from its corpus (B/fuzz/corpus/NAME, kept between
# runs), its committed seeds (tests/fuzz/seeds/NAME) and the inputs that
# once crashed it (tests/fuzz/regress/NAME); new inputs go to the corpus,
# a crash to B/fuzz/crash/NAME-*.  Prints per target: executions, exec/s,
# coverage (edges, features), corpus size and the verdict; the exit status
# is non-zero if any target crashed, hung (an input running longer than
# -timeout, 60 s: far beyond any input's normal time, so only a loop that
# does not end reaches it on a loaded machine) or leaked.  Inputs slower
# than 10 s (libFuzzer's slow-unit-* files) are kept and named, but are no
# failure: how long an input takes depends on the machine's load.
#   FUZZ_TARGETS="db core"  only these;  FUZZ_JOBS=N  cores to use
set -u
mode=${1:?short or long}
amount=${2:?seconds or hours}
B=${B:-build}
cd "$(dirname "$0")/../.."
targets=${FUZZ_TARGETS:-$(cd tests/fuzz && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')}
jobs=${FUZZ_JOBS:-$(nproc)}
set -- $targets
ntargets=$#

# Per-target input limits: a whole database or core is larger.
max_len() {
	case $1 in
	db) echo 131072 ;;
	core) echo 65536 ;;
	reader) echo 512 ;;
	*) echo 4096 ;;
	esac
}

mkdir -p "$B/fuzz/crash" "$B/fuzz/log"
if [ "$mode" = short ]; then
	per=$(( amount * jobs / ntargets ))
	[ "$per" -lt 5 ] && per=5
else
	per=$(awk -v h="$amount" 'BEGIN { printf "%d", h * 3600 }')
	[ "$per" -ge 1 ] || { echo "run.sh: FUZZ_HOURS=$amount is no time" >&2; exit 2; }
	# the cores are shared by every target: -fork=N per target
	forks=$(( jobs / ntargets )); [ "$forks" -lt 1 ] && forks=1
fi

run_one() { # name
	local n=$1 dirs=()
	rm -f "$B/fuzz/crash/$n-"*
	mkdir -p "$B/fuzz/corpus/$n"
	dirs+=("$B/fuzz/corpus/$n")
	[ -d "tests/fuzz/seeds/$n" ] && dirs+=("tests/fuzz/seeds/$n")
	[ -d "tests/fuzz/regress/$n" ] && dirs+=("tests/fuzz/regress/$n")
	local opts=(-max_total_time="$per" -max_len="$(max_len "$n")"
		-timeout=60 -rss_limit_mb=2048 -print_final_stats=1
		-close_fd_mask=3 -artifact_prefix="$B/fuzz/crash/$n-")
	[ "$mode" = long ] && opts+=(-fork="$forks" -ignore_crashes=1)
	"$B/fuzz/fuzz_$n" "${opts[@]}" "${dirs[@]}" >"$B/fuzz/log/$n.log" 2>&1
	echo $? >"$B/fuzz/log/$n.rc"
}

echo "# fuzzing ${ntargets} targets, $([ "$mode" = short ] &&
	echo "${per} s each, ${jobs} at a time" ||
	echo "${amount} h, all at once, -fork=${forks} each")"
running=0
for n in $targets; do
	run_one "$n" &
	running=$((running + 1))
	if [ "$mode" = short ] && [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

fail=0
printf '%-12s %12s %9s %7s %7s %7s  %s\n' target execs exec/s cov ft corpus verdict
for n in $targets; do
	log=$B/fuzz/log/$n.log rc=$(cat "$B/fuzz/log/$n.rc")
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	last=$(grep -E '(cov|ft): [0-9]+' "$log" | tail -1)
	cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.*corp: \([0-9]*\).*/\1/p' <<<"$last")
	if [ "$mode" = long ]; then # -fork: the totals are in the last status line
		execs=${execs:-$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last")}
		eps=${eps:-$(sed -n 's/.*exec\/s:\{0,1\} \([0-9]*\).*/\1/p' <<<"$last")}
	fi
	verdict=ok
	if [ "$rc" != 0 ] || grep -qE '^==[0-9]+==ERROR|^SUMMARY: ' "$log" ||
		grep -qE 'oom/timeout/crash: ([1-9]|[0-9]+/[1-9]|[0-9]+/[0-9]+/[1-9])' "$log" ||
		ls "$B/fuzz/crash/$n-"* 2>/dev/null | grep -qv '/[^/]*-slow-unit-'; then
		verdict="FAILED (exit $rc; see $log, $B/fuzz/crash/$n-*)"
		fail=1
	fi
	slow=$(ls "$B/fuzz/crash/$n-slow-unit-"* 2>/dev/null | wc -l)
	[ "$slow" -gt 0 ] && verdict="$verdict ($slow slow inputs, > 10 s here: $B/fuzz/crash/$n-slow-unit-*)"
	printf '%-12s %12s %9s %7s %7s %7s  %s\n' "$n" "${execs:-?}" "${eps:-?}" \
		"${cov:-?}" "${ft:-?}" "${corp:-?}" "$verdict"
done
exit $fail
