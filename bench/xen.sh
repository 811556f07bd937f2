#!/usr/bin/env bash
# make bench-xen: figures from one run of the Xen rig (tests/xen/), never
# pass/fail.  Slow (up to about 10 minutes), so it is not part of `make bench`.
#
#   1. grant-ring throughput: the PVH demo's first run emits flat out
#      (rate=0) for XEN_TRACE_S seconds while `unitrace collect --xen` in
#      dom0 drains its grant-mapped ring (discard mode: no `unitrace ctl`);
#      stored events / the trace's time span, and the guest's own rate.
#   2. crash dump of the crashed, preserved demo domain: the collector's core
#      next to `xl dump-core` of the same domain, which gets at most
#      XEN_BENCH_DUMPCORE_LIMIT seconds (else "> LIMIT s", ratio a lower bound).
#
# Environment:
#   B                          build directory (default build)
#   XEN_TRACE_S                seconds of the traced run (default 6)
#   XEN_BENCH_DUMPCORE_LIMIT   seconds allowed to xl dump-core (default 400)
# Prints SKIPPED and exits 0 when the rig cannot run here.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
B=${B:-build}
export B
TRACE=${XEN_TRACE_S:-6}
LIMIT=${XEN_BENCH_DUMPCORE_LIMIT:-400}

skipped() { echo "SKIPPED: $1"; exit 0; }

echo "unitrace Xen benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) host CPUs"
echo "Xen 4.17 + Debian dom0 under QEMU TCG (tests/xen/); figures from one rig run"
for v in "$TRACE" "$LIMIT"; do
	case $v in '' | *[!0-9]*) echo "bench/xen.sh: not a whole number of seconds: '$v'" >&2; exit 2 ;; esac
done
[ "${UT_SKIP_XEN:-0}" = 1 ] && skipped "UT_SKIP_XEN=1"
command -v qemu-system-x86_64 >/dev/null ||
	skipped "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"
if ! command -v busybox >/dev/null || ldd "$(command -v busybox)" >/dev/null 2>&1; then
	skipped "no static busybox (apt-get install busybox-static)"
fi
command -v cpio >/dev/null || skipped "cpio missing (apt-get install cpio)"
command -v sqlite3 >/dev/null || skipped "sqlite3 missing (apt-get install sqlite3)"
[ -f "$B/pvh-demo/pvh-demo.elf" ] || skipped "$B/pvh-demo/pvh-demo.elf not built"
[ -x "$B/unitrace" ] || skipped "$B/unitrace not built"
"$B/unitrace" collect --help 2>&1 | grep -q -- --xen || skipped "unitrace collect has no --xen"
mkdir -p "$B/xen-rig"
tests/xen/fetch.sh > "$B/xen-rig/fetch.log" 2>&1
case $? in
0) ;;
2) skipped "the Xen packages cannot be fetched: $(tail -1 "$B/xen-rig/fetch.log")" ;;
*) skipped "tests/xen/fetch.sh failed: $(tail -1 "$B/xen-rig/fetch.log")" ;;
esac

work=$(mktemp -d /tmp/ut-bench-xen.XXXXXX)
trap 'rm -rf "$work"' EXIT
res=$work/results

echo "running the rig: rate=0 for ${TRACE} s, then a crash and xl dump-core (limit ${LIMIT} s)..."
t0=$EPOCHREALTIME
XEN_RATE=0 XEN_CTL=0 XEN_GUESTS=1 XEN_TRACE_S=$TRACE XEN_BENCH_DUMPCORE=1 \
	XEN_BENCH_DUMPCORE_LIMIT=$LIMIT XEN_RIG_COPY=$res \
	tests/xen/run.sh full > "$work/tap" 2>&1
rc=$?
wall=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')
cp "$work/tap" "$B/xen-rig/bench-tap.out" 2>/dev/null
nok=$(grep -c '^ok ' "$work/tap")
nnot=$(grep -c '^not ok ' "$work/tap")
echo "rig: ${wall} s, exit $rc, checks: $nok ok, $nnot not ok (TAP in $B/xen-rig/bench-tap.out)"
grep -E '^not ok |^# dom0 note:' "$work/tap" | sed 's/^/  /'
[ -d "$res" ] || skipped "no results came back from the rig (see $B/xen-rig/bench-tap.out, $B/xen-rig/logs/full.log)"

# x / y with D decimals; "?" when either is missing or y is 0
div() { awk -v x="$1" -v y="$2" -v d="$3" 'BEGIN {
	if (x == "" || y == "" || x == "?" || y == "?" || y + 0 == 0) print "?"
	else printf "%.*f\n", d, x / y }'; }
mib() { awk -v b="$1" 'BEGIN { if (b == "") print "?"; else printf "%.1f\n", b / 1048576 }'; }
timing() { awk -v k="$1" '$1 == k { print $2; exit }' "$res/timings" 2>/dev/null; }

# ---- 1. grant-ring throughput ------------------------------------------------
q() { sqlite3 -batch -noheader -separator ' ' "$res/trace.db" "$1" 2>/dev/null; }
read -r em dr < <(sed -n 's/.*pvh-demo: emitted \([0-9]*\) dropped \([0-9]*\).*/\1 \2/p' \
	"$res/guest-pvhdemo1.log" 2>/dev/null | tail -1)
g1="(SELECT id FROM guests WHERE name LIKE '%pvhdemo1%')"
read -r stored tmin tmax < <(q "SELECT count(*), min(e.ts), max(e.ts) FROM events e
	JOIN lanes l ON l.id = e.lane WHERE l.guest_id = $g1")
span=
[ -n "${tmin:-}" ] && [ -n "${tmax:-}" ] && span=$(awk -v a="$tmin" -v b="$tmax" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
rate=$(div "${stored:-}" "$span" 0)
# the longest stretch with nothing stored: the ring was full, the guest dropping
gap=$(q "SELECT printf('%.3f', max(gap) / 1e9) FROM (SELECT e.ts - lag(e.ts) OVER (ORDER BY e.ts)
	AS gap FROM events e JOIN lanes l ON l.id = e.lane WHERE l.guest_id = $g1)")
grate=$(div "${em:-}" "$TRACE" 0)

# ---- 2. crash dumps ------------------------------------------------------------
# (per crashed guest: pvhdemo2, a PVH domain, and ukapp3, a PV Unikraft one)
capture=$(timing crash-capture)
# ---- figures -----------------------------------------------------------------
echo
echo "==== figures"
if [ -n "${em:-}" ] && [ -n "${stored:-}" ] && [ "${stored:-0}" != 0 ]; then
	drop="guest emitted $em, dropped $dr = $(awk -v d="$dr" -v e="$em" 'BEGIN { printf "%.1f", e ? 100 * d / e : 0 }')%"
	if [ "$rate" != "?" ]; then
		echo "grant-ring throughput: $stored events stored in $span s = $rate events/s ($drop)"
	else
		# the span is unusable (seen: every ts of the guest stored as 0)
		echo "grant-ring throughput: $stored events stored; their time span is unusable" \
			"(min ts ${tmin:-?}, max ts ${tmax:-?} ns), so over the demo's ${TRACE} s:" \
			"$(div "$stored" "$TRACE" 0) events/s ($drop)"
	fi
	[ "$rate" != "?" ] && [ -n "$gap" ] &&
		echo "  longest gap between consecutive stored events: $gap s (ring full, guest dropping, collector not draining)"
	echo "  guest-side rate: $em emitted / $TRACE s = $grate events/s" \
		"(stored = emitted - dropped: $([ "$stored" = "$((em - dr))" ] && echo yes || echo "NO, $((em - dr)) expected"))"
else
	echo "grant-ring throughput: no result (emitted '${em:-}', dropped '${dr:-}', stored '${stored:-}')"
fi

# dump_figures NAME KIND: the collector's core of guest NAME next to `xl
# dump-core` of the same domain (each guest type compared with its own)
dump_figures() {
	local g=$1 kind=$2 core cw ut_mem ut_disk ut_s ut_kib ut_bytes xlline
	local xl_rc xl_bytes xl_kib xl_s ours theirs ratio dom
	core=$(q "SELECT c.core_path FROM crashes c JOIN guests g ON g.id = c.guest_id WHERE g.name = '$g' LIMIT 1")
	if [ -z "$core" ]; then
		echo "crash dump, $g ($kind): no crash row with a core in trace.db"
		return
	fi
	# "core written: PATH (32.1 MiB of memory, 0.9 MiB on disk, 0.40 s)"
	cw=$(grep -m1 "core written: $core " "$res/collector.err" 2>/dev/null)
	read -r ut_mem ut_disk ut_s < <(printf '%s\n' "$cw" |
		sed -n 's/.*core written: .* (\([0-9.]*\) MiB of memory, \([0-9.]*\) MiB on disk, \([0-9.]*\) s).*/\1 \2 \3/p')
	# cores-size.txt (measured in dom0): allocated KiB, apparent bytes, path
	read -r ut_kib ut_bytes _ 2>/dev/null < <(grep " $core\$" "$res/cores-size.txt")
	# xl-dump-core-NAME.txt ends "rc=N limit=Ls size=BYTES alloc_kib=K"
	xlline=$(grep '^rc=' "$res/xl-dump-core-$g.txt" 2>/dev/null | tail -1)
	field() { printf '%s\n' "$xlline" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1; }
	xl_rc=$(field rc)
	xl_bytes=$(field size)
	xl_kib=$(field alloc_kib)
	xl_s=$(timing "xl-dump-core-$g")
	[ -n "$xl_s" ] || xl_s=$(timing "xl-dump-core-unfinished-$g")
	dom="${ut_mem:-?} MiB"
	[ -n "${ut_mem:-}" ] && dom="$(awk -v m="$ut_mem" 'BEGIN { printf "%d", m }') MiB"
	if [ -z "${ut_s:-}" ]; then
		echo "crash dump, $g ($kind): no 'core written: $core' line from the collector"
		return
	fi
	ours="unitrace $ut_s s ($(mib "$ut_bytes") MiB, $(div "${ut_kib:-}" 1024 1) MiB on disk)"
	case ${xl_rc:-} in
	0)
		theirs="xl dump-core $xl_s s ($(mib "$xl_bytes") MiB, $(div "${xl_kib:-}" 1024 1) MiB on disk)"
		ratio="$(div "$xl_s" "$ut_s" 0)x" ;;
	124 | 143)
		theirs="xl dump-core > $LIMIT s (unfinished; $(mib "$xl_bytes") MiB written by then, $(div "${xl_kib:-}" 1024 1) MiB on disk)"
		ratio="> $(div "$LIMIT" "$ut_s" 0)x (lower bound)" ;;
	'')
		theirs="xl dump-core: no result"
		ratio="?" ;;
	*)
		theirs="xl dump-core failed (rc=$xl_rc after ${xl_s:-?} s: $(grep -v '^rc=' "$res/xl-dump-core-$g.txt" | tail -1))"
		ratio="?" ;;
	esac
	echo "crash dump, $dom $kind domain $g: $ours vs $theirs: $ratio"
	echo "  (sizes: apparent, then allocated in dom0's tmpfs per du; collector's own" \
		"figure ${ut_disk:-?} MiB on disk)"
}
dump_figures pvhdemo2 PVH
echo "  (pvhdemo2's crash to core stored in trace.db as seen by dom0-init's polling: ${capture:-?} s)"
if [ -f "$B/unikraft-app/unikraft-app.elf" ]; then
	dump_figures ukapp3 "PV (Unikraft)"
else
	echo "crash dump, PV (Unikraft): SKIPPED: $B/unikraft-app/unikraft-app.elf not built"
fi
exit 0
