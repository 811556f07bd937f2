#!/usr/bin/env bash
# make bench: run every benchmark and print figures and ratios (never
# pass/fail).  `make bench` builds first; this script builds nothing except
# the optional LTTng-UST comparison (bench/lttng/), which the Makefile does
# not know about and which is built only when LTTng-UST is installed.
#
# Environment:
#   B            build directory (default build)
#   ZL_RATES     event rates for the zero-loss sweep (events/s per guest)
#   ZL_SECONDS   seconds per rate (default 2)
#   ZL_THREADS   demo-guest vCPU threads (default 4)
#   ZL_RING_SIZE bytes per ring (default: the tracer's, 1 MiB)
#   NO_LTTNG=1   skip the LTTng-UST comparison
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
B=${B:-build}
UNITRACE=$B/unitrace
DEMO=$B/demo-guest
ZL_RATES=${ZL_RATES:-100000 250000 500000 1000000 2000000 4000000}
ZL_SECONDS=${ZL_SECONDS:-2}
ZL_THREADS=${ZL_THREADS:-4}
ZL_RING_SIZE=${ZL_RING_SIZE:-}
work=$(mktemp -d /tmp/ut-bench-run.XXXXXX)
trap 'rm -rf "$work"' EXIT

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //')
echo "unitrace benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs: ${cpu:-unknown}"
echo "Figures are minimums over repetitions; compare them only within one run."

# ---- 1. every bench_* binary ------------------------------------------------
tp_summary=
found=0
for b in "$B"/bench/bench_*; do
	[ -x "$b" ] || continue
	found=1
	echo
	echo "==== $(basename "$b")"
	"$b" | tee "$work/out"
	rc=${PIPESTATUS[0]}
	[ "$rc" -eq 0 ] || echo "($(basename "$b") exited with status $rc)"
	if [ "$(basename "$b")" = bench_tracepoint ]; then
		tp_summary=$(grep '^summary:' "$work/out" || true)
	fi
done
[ "$found" = 1 ] || echo "(no benchmark binaries in $B/bench; run 'make bench')"

# Value of key=... in a "summary:" line.
sumval() { # line key
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}

# ---- 2. LTTng-UST, same two-u32 tracepoint ------------------------------------
echo
echo "==== LTTng-UST comparison (same two-u32-field tracepoint)"
lttng_ok() {
	[ "${NO_LTTNG:-0}" != 1 ] || { echo "(skipped: NO_LTTNG=1)"; return 1; }
	command -v lttng >/dev/null 2>&1 && command -v lttng-sessiond >/dev/null 2>&1 ||
		{ echo "(skipped: lttng-tools not installed; apt-get install lttng-tools liblttng-ust-dev)"; return 1; }
	echo '#include <lttng/tracepoint.h>' | cc -E -x c - >/dev/null 2>&1 ||
		{ echo "(skipped: liblttng-ust-dev not installed)"; return 1; }
	[ "$(id -u)" = 0 ] ||
		{ echo "(skipped: needs root for lttng-sessiond)"; return 1; }
	return 0
}
if lttng_ok; then
	bash bench/lttng/run-lttng.sh "$B" "$work" "$tp_summary"
fi

# ---- 3. zero-loss rate ---------------------------------------------------------
echo
echo "==== zero-loss rate: demo-guest under 'unitrace run', discard mode"
zl_skip=
[ -x "$UNITRACE" ] || zl_skip="$UNITRACE is missing"
[ -x "$DEMO" ] || zl_skip="$DEMO is missing"
if [ -z "$zl_skip" ] && ! "$UNITRACE" run --help >/dev/null 2>&1; then
	zl_skip="'unitrace run' is not available"
fi
if [ -n "$zl_skip" ]; then
	echo "(skipped: $zl_skip)"
	exit 0
fi

# Events stored in a trace, if the store can be counted with sqlite3.
stored_events() { # db
	command -v sqlite3 >/dev/null 2>&1 || { echo "?"; return; }
	local n
	n=$(sqlite3 "$1" "SELECT count(*) FROM events;" 2>/dev/null) || n="?"
	echo "${n:-?}"
}

ringopt=()
[ -n "$ZL_RING_SIZE" ] && ringopt=(--ring-size "$ZL_RING_SIZE")
echo "$ZL_THREADS vCPU threads, ${ZL_SECONDS} s per rate${ZL_RING_SIZE:+, ring size $ZL_RING_SIZE}"
printf '  %12s %12s %12s %10s %12s  %s\n' "target ev/s" "achieved" "emitted" \
	"dropped" "stored" "result"
best=0
for rate in $ZL_RATES; do
	db=$work/zl-$rate.db
	rm -f "$db"*
	t0=$(date +%s.%N)
	"$UNITRACE" run -o "$db" --mode discard "${ringopt[@]}" --name "zl$rate" -- \
		"$DEMO" --quiet --threads "$ZL_THREADS" --duration "$ZL_SECONDS" \
		--event-rate "$rate" >"$work/zl.out" 2>"$work/zl.err"
	rc=$?
	t1=$(date +%s.%N)
	line=$(grep -m1 '^demo-guest: emitted' "$work/zl.out")
	if [ -z "$line" ]; then
		printf '  %12s %12s %12s %10s %12s  %s\n' "$rate" - - - - \
			"no result (status $rc): $(tail -1 "$work/zl.err")"
		continue
	fi
	emitted=$(echo "$line" | awk '{print $3}')
	dropped=$(echo "$line" | awk '{print $5}')
	achieved=$(awk -v e="$emitted" -v s="$ZL_SECONDS" 'BEGIN{printf "%.0f", e/s}')
	stored=$(stored_events "$db")
	res="lossless"
	if [ "$rc" -ne 0 ]; then
		res="unitrace run exited $rc"
	elif [ "$dropped" != 0 ]; then
		res="lost $(awk -v d="$dropped" -v e="$emitted" 'BEGIN{printf "%.2f", 100*d/e}')%"
	elif [ "$stored" != "?" ] && [ "$stored" != "$((emitted - dropped))" ]; then
		res="stored != emitted - dropped"
	else
		best=$rate
	fi
	printf '  %12s %12s %12s %10s %12s  %s\n' "$rate" "$achieved" "$emitted" \
		"$dropped" "$stored" "$res"
done
echo
if [ "$best" -gt 0 ]; then
	echo "highest lossless rate tried: $best events/s per guest" \
		"($ZL_THREADS vCPUs, discard mode)"
else
	echo "no lossless rate among: $ZL_RATES"
fi
