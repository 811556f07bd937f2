#!/usr/bin/env bash
# Called by bench/run.sh when LTTng-UST and lttng-tools are installed and we
# are root:  run-lttng.sh BUILD_DIR WORK_DIR "BENCH_TRACEPOINT_SUMMARY_LINE"
#
# Builds bench_lttng (same two-u32-field tracepoint as bench_tracepoint's
# case (b)), then measures it with an active session in discard mode, in
# overwrite mode, and with no session (tracepoint disabled), and prints the
# ratio against unitrace measured in the same run.  A session daemon is
# started only if none is running, and then stopped again by its pid.
set -u
B=$1
work=$2
tp_summary=${3:-}
src=$(cd "$(dirname "$0")" && pwd)
out=$B/bench/lttng
ITER=${LTTNG_ITER:-2000000}
REPS=${LTTNG_REPS:-5}

mkdir -p "$out"
if ! cc -std=gnu11 -O2 -g -fno-omit-frame-pointer -I"$src" \
	"$src/bench_lttng.c" "$src/tp.c" -o "$out/bench_lttng" \
	-llttng-ust -ldl -lpthread 2>"$work/lttng-cc.err"; then
	echo "(skipped: bench_lttng did not build:)"
	sed 's/^/    /' "$work/lttng-cc.err" | head -20
	exit 0
fi

# Session daemons running before we start (lttng create would also spawn
# one by itself); those that appear later are ours and stopped at exit.
before=$(pgrep -x lttng-sessiond | sort)
if ! lttng list >/dev/null 2>&1; then
	if ! lttng-sessiond --daemonize --no-kernel >"$work/sessiond.log" 2>&1; then
		echo "(skipped: lttng-sessiond did not start:)"
		sed 's/^/    /' "$work/sessiond.log" | head -5
		exit 0
	fi
fi
cleanup() {
	local p
	for p in $(pgrep -x lttng-sessiond | sort | comm -13 <(printf '%s\n' $before) -); do
		# Only the daemon itself (its own helper processes exit with it).
		[ "$(ps -o ppid= -p "$p" 2>/dev/null | tr -d ' ')" = 1 ] && kill "$p" 2>/dev/null
	done
}
trap cleanup EXIT

sumval() { # line key
	printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1
}

# run_mode LABEL [enable-channel options]: prints "label=ns" and discarded.
declare -A ns lost
run_mode() {
	local label=$1; shift
	local s=utbench-$label-$$
	local chan_out="$work/lttng-$label"
	lttng create "$s" --output="$chan_out" >/dev/null &&
	lttng enable-channel --userspace --session="$s" ch \
		--subbuf-size=4M --num-subbuf=8 "$@" >/dev/null &&
	lttng enable-event --userspace --session="$s" --channel=ch \
		'utbench:pair' >/dev/null &&
	lttng start "$s" >/dev/null || {
		echo "  ($label: could not set up the LTTng session)"
		lttng destroy "$s" >/dev/null 2>&1
		return
	}
	local line
	line=$("$out/bench_lttng" -n "$ITER" -r "$REPS" -l "$label" | grep '^summary:')
	local stop
	stop=$(lttng stop "$s" 2>&1)
	lttng destroy "$s" >/dev/null 2>&1
	ns[$label]=$(sumval "$line" "$label")
	lost[$label]=$(printf '%s\n' "$stop" | sed -n 's/.*[^0-9]\([0-9][0-9]*\) events* \(were \)*\(discarded\|lost\).*/\1/p' | head -1)
	# the discard run's CTF stays for bench/run.sh's babeltrace2 read time
	if [ "$label" = discard ] && [ -n "${LTTNG_KEEP_TRACE:-}" ]; then
		rm -rf "$LTTNG_KEEP_TRACE"
		mv "$chan_out" "$LTTNG_KEEP_TRACE"
	else
		rm -rf "$chan_out"
	fi
}

run_mode discard --discard
run_mode overwrite --overwrite
line=$("$out/bench_lttng" -n "$ITER" -r "$REPS" -l nosession | grep '^summary:')
ns[nosession]=$(sumval "$line" nosession)

ut_en=$(sumval "$tp_summary" enabled)
ut_dis=$(sumval "$tp_summary" disabled)
ut_b2=$(sumval "$tp_summary" enabled_discard)
ratio() { # a b
	awk -v a="$1" -v b="$2" 'BEGIN{ if (a > 0 && b > 0) printf "%.2fx", a/b; else printf "-" }'
}
echo "LTTng-UST $(dpkg-query -W -f='${Version}' liblttng-ust-dev 2>/dev/null), $ITER iterations x $REPS, minimum ns per event"
printf '  %-44s %9s %12s  %s\n' "case" "ns/event" "unitrace/it" "events lost by LTTng"
printf '  %-44s %9s %12s  %s\n' "LTTng, session active, discard channel" \
	"${ns[discard]:--}" "$(ratio "${ut_b2:-$ut_en}" "${ns[discard]:-0}")" "${lost[discard]:-0}"
printf '  %-44s %9s %12s  %s\n' "LTTng, session active, overwrite channel" \
	"${ns[overwrite]:--}" "$(ratio "$ut_en" "${ns[overwrite]:-0}")" "-"
printf '  %-44s %9s %12s\n' "LTTng, no session (disabled)" \
	"${ns[nosession]:--}" "$(ratio "$ut_dis" "${ns[nosession]:-0}")"
echo "  (unitrace/it: unitrace (b2) discard / (b) overwrite / (d) disabled from"
echo "   bench_tracepoint above, divided by the LTTng figure; below 1 = unitrace faster)"
