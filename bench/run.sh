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
#   EXPORT_EVENTS  events in the export bench's trace (default 1000000)
#   EXPORT_REPS    runs per exporter and dump (default 2)
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
	LTTNG_KEEP_TRACE=$work/lttng-ctf bash bench/lttng/run-lttng.sh "$B" "$work" "$tp_summary"
fi

# ---- 3. export: unitrace export against sqlite3 dumping the same rows ------------
# A trace of EXPORT_EVENTS events (default 1 M) from the demo guest, cut to
# that count; each exporter's best of EXPORT_REPS runs (default 2), in
# events/s, next to `sqlite3` selecting every row of events (as is, and in
# time order, which is how the exporters read them).
echo
echo "==== export: events/s, unitrace export vs sqlite3 dumping the same rows"
EXPORT_EVENTS=${EXPORT_EVENTS:-1000000}
EXPORT_REPS=${EXPORT_REPS:-2}
ex_skip=
[ -x "$UNITRACE" ] && [ -x "$DEMO" ] || ex_skip="$UNITRACE or $DEMO is missing"
command -v sqlite3 >/dev/null 2>&1 || ex_skip="sqlite3 is missing"
[ -n "$ex_skip" ] || "$UNITRACE" export --help >/dev/null 2>&1 || ex_skip="'unitrace export' is not available"
# Best (smallest) wall time in seconds of EXPORT_REPS runs of a command;
# empty if a run failed (its last stderr line is in $work/ex.err).
best_time() {
	local best= t0 t1 d i
	for ((i = 0; i < EXPORT_REPS; i++)); do
		t0=$(date +%s.%N)
		"$@" >/dev/null 2>"$work/ex.err" || return 1
		t1=$(date +%s.%N)
		d=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.6f", b - a}')
		best=$(awk -v a="$best" -v d="$d" 'BEGIN{print (a == "" || d < a) ? d : a}')
	done
	echo "$best"
}
# bt_read LABEL DIR: how fast babeltrace2 reads a CTF trace (events/s)
bt_read() {
	local t0 t1 k
	if ! command -v babeltrace2 >/dev/null; then
		echo "    babeltrace2 read of $1: SKIPPED: babeltrace2 missing"
		return
	fi
	t0=$EPOCHREALTIME
	k=$(babeltrace2 "$2" 2>/dev/null | wc -l)
	t1=$EPOCHREALTIME
	awk -v l="$1" -v k="$k" -v a="$t0" -v b="$t1" 'BEGIN {
		t = b - a; printf "    babeltrace2 read of %s: %d lines in %.3f s = %.0f events/s\n",
			l, k, t, (t > 0 ? k / t : 0) }'
}
if [ -n "$ex_skip" ]; then
	echo "(skipped: $ex_skip)"
else
	exdb=$work/export.db
	# 4 vCPUs at 420 k events/s for 2.6 s: a little over 1 M events, then cut
	"$UNITRACE" run -q -o "$exdb" --name export-bench -- "$DEMO" --quiet --threads 4 \
		--duration "$(awk -v n="$EXPORT_EVENTS" 'BEGIN{printf "%.2f", n / 400000 + 0.1}')" \
		--event-rate 420000 >/dev/null 2>"$work/ex.err"
	have=$(sqlite3 "$exdb" "SELECT count(*) FROM events" 2>/dev/null || echo 0)
	if [ "${have:-0}" -gt "$EXPORT_EVENTS" ]; then
		sqlite3 "$exdb" "DELETE FROM events WHERE id > (SELECT id FROM events ORDER BY id LIMIT 1 OFFSET $((EXPORT_EVENTS - 1)))"
	fi
	nev=$(sqlite3 "$exdb" "SELECT count(*) FROM events" 2>/dev/null || echo 0)
	echo "$nev events ($(du -h "$exdb" | cut -f1) database), best of $EXPORT_REPS runs"
	rate() { awk -v n="$nev" -v t="$1" 'BEGIN{printf "%.0f", (t > 0) ? n / t : 0}'; }
	printf '  %-44s %10s %12s %10s\n' "" "seconds" "events/s" "vs sqlite3"
	t_sql=$(best_time sqlite3 "$exdb" "SELECT * FROM events")
	t_sqlo=$(best_time sqlite3 "$exdb" "SELECT * FROM events ORDER BY ts")
	printf '  %-44s %10s %12s %10s\n' 'sqlite3 DB "SELECT * FROM events"' "$t_sql" "$(rate "$t_sql")" "1.00"
	printf '  %-44s %10s %12s %10s\n' 'sqlite3 DB "SELECT * ... ORDER BY ts"' "$t_sqlo" "$(rate "$t_sqlo")" \
		"$(awk -v a="$t_sql" -v b="$t_sqlo" 'BEGIN{printf "%.2f", a / b}')"
	for fmt in chrome ctf; do
		o=$work/export-out.$fmt
		rm -rf "$o"
		if t=$(best_time bash -c 'rm -rf "$1"; exec "$2" export "$3" --format "$4" -o "$1" -q' _ \
			"$o" "$UNITRACE" "$exdb" "$fmt"); then
			printf '  %-44s %10s %12s %10s\n' "unitrace export --format $fmt" "$t" "$(rate "$t")" \
				"$(awk -v a="$t_sql" -v b="$t" 'BEGIN{printf "%.2f", a / b}')"
			echo "    output: $(du -sh "$o" | cut -f1)"
			[ "$fmt" = ctf ] && bt_read "our CTF ($nev events)" "$o"
		else
			echo "  $fmt: SKIPPED: $(tail -1 "$work/ex.err")"
		fi
		rm -rf "$o"
	done
	echo "  (vs sqlite3: the sqlite3 dump's time over the exporter's; above 1 is faster than the dump)"
	if [ -d "$work/lttng-ctf" ]; then
		bt_read "LTTng-UST's CTF of section 2 (discard run)" "$work/lttng-ctf"
		echo "    (LTTng's events are its benchmark's two-u32 tracepoint, ours the demo's"
		echo "     mix: compare events/s, not seconds)"
	else
		echo "  babeltrace2 on LTTng-UST's CTF: SKIPPED: the LTTng comparison did not run"
	fi
fi

# ---- 4. zero-loss rate ---------------------------------------------------------
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
