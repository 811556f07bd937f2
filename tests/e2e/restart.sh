#!/usr/bin/env bash
# The collector killed with SIGKILL again and again while one guest emits
# N sequence-numbered events (tests/e2e/count_guest.c: it emits i = 0..N-1
# in discard mode and emits i again when the ring was full), restarted
# each time: the trace holds every i exactly once, and every sequence
# number once, as an event or inside a lost range (the guest's own drops,
# counted by it), never both.
#
# The kills are placed in state terms: after K events are stored, K drawn
# at random above what the last collector had stored, never after a
# sleep; meanwhile the guest may run ahead to a limit L > K also drawn at
# random (it waits at L), so the collector is killed while busy, and
# always before the guest is done.  RESTART_EVENTS (default 1000000; a
# sanitizer build, SAN set, 200000), RESTART_KILLS (default 12) and
# RESTART_SEED (default: random, printed) change the run.  A last part
# kills the collector of a guest that then exits (UNITRACE_EXIT_WAIT_MS).
set -u
B=${B:-build}
UT=$B/unitrace
GUEST=$B/tests/e2e/count_guest
T=$(mktemp -d /tmp/ut-restart.XXXXXX)
. "$(dirname "$0")/../harness.sh" # ok is skip q until_ok; n=0
cleanup() {
	[ -n "${COLL:-}" ] && kill -9 "$COLL" 2>/dev/null
	[ -n "${G:-}" ] && kill -9 "$G" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

for bin in "$UT" "$GUEST"; do
	if [ ! -x "$bin" ]; then echo "not ok 1 - $bin not built"; exit 1; fi
done
# a sanitizer build (make check-asan sets SAN) runs a fifth of it
if [ -n "${SAN:-}" ]; then N=${RESTART_EVENTS:-200000}; else N=${RESTART_EVENTS:-1000000}; fi
KILLS=${RESTART_KILLS:-12}
SEED=${RESTART_SEED:-$$}
RANDOM=$SEED
echo "# $N events, $KILLS kills, seed $SEED (RESTART_SEED=$SEED to replay)"

db=$T/t.db
dir=$T/rv
stored() { q "$db" "SELECT coalesce(sum(event_count), 0) FROM lanes" 2>/dev/null || echo 0; }
at_least() { [ "$(stored)" -ge "$1" ]; }
status_is() { [ "$(q "$db" "SELECT group_concat(status) FROM guests" 2>/dev/null)" = "$1" ]; }
start_collector() {
	$UT collect -q -o "$db" --dir "$dir" --poll-ms 2 2>>"$T/c.err" &
	COLL=$!
}

# A 64 KiB ring: it fills within a few milliseconds of a kill, so the
# guest meets full rings (and retries) while no collector runs.
mkdir -p "$dir"
UNITRACE_DIR=$dir UNITRACE_NAME=counter UNITRACE_RINGS=1 \
	UNITRACE_RING_SIZE=64K UNITRACE_MODE=discard \
	UNITRACE_WAIT_ATTACH_MS=600000 \
	$GUEST "$N" "$T/limit" "$T/done" >"$T/g.out" 2>"$T/g.err" &
G=$!

# let the guest emit up to L (it reads the file when it reaches the last L)
set_limit() { echo "$1" >"$T/limit.tmp" && mv "$T/limit.tmp" "$T/limit"; }
killed=0 bad_kill=0 points="" limit=0
for ((k = 0; k < KILLS; k++)); do
	start_collector
	have=$(stored)
	# K in (have, have + 2 * the share of what is left per kill]: spread
	# over the run, always short of N so that the kill comes first
	left=$((N - have))
	share=$((left / (KILLS - k + 1)))
	[ "$share" -lt 2 ] && share=2
	K=$((have + 1 + (RANDOM * 32768 + RANDOM) % (2 * share)))
	[ "$K" -ge "$N" ] && K=$((N - 1))
	L=$((K + 1 + (RANDOM * 32768 + RANDOM) % share))
	[ "$L" -ge "$N" ] && L=$((N - 1))
	[ "$L" -gt "$limit" ] && limit=$L && set_limit "$limit"
	until_ok at_least "$K" || bad_kill=1
	kill -9 "$COLL"
	wait "$COLL" 2>/dev/null
	COLL=
	killed=$((killed + 1))
	points="$points $(stored)"
done
echo "# stored when killed:$points"
is "$bad_kill" "0" "$killed collectors killed with SIGKILL, each after storing more than the last"
ok $(( $(stored) < N ? 0 : 1 )) "the guest was not done when the last one was killed ($(stored) of $N)"

start_collector
set_limit "$N"
until_ok at_least "$N"
ok $? "a last collector stores the rest ($(stored) of $N)"
touch "$T/done"
wait "$G"
ok $? "the guest exits 0"
G=
until_ok status_is exited
ok $? "the guest is marked exited"
kill -INT "$COLL"
wait "$COLL"
ok $? "the last collector exits 0 on SIGINT"
COLL=

read -r em dr <<<"$(sed -n 's/^count_guest: emitted \([0-9]*\) dropped \([0-9]*\)$/\1 \2/p' "$T/g.out")"
echo "# the guest emitted $em (its $dr drops emitted again)"
is "$(q "$db" "PRAGMA integrity_check")" "ok" "integrity_check ok after $killed kills"
is "$(q "$db" "SELECT count(*) FROM guests")" "1" "one guest across the restarts"
is "$(q "$db" "SELECT count(*) FROM events")" "$N" "exactly N = $N events stored"
is "$(q "$db" "SELECT count(DISTINCT i) || ' ' || min(i) || ' ' || max(i) FROM ev_count")" \
	"$N 0 $((N - 1))" "every i in 0..N-1 once: no duplicate, no gap"
is "$(q "$db" "SELECT count(*) FROM (SELECT seq FROM events GROUP BY lane, seq HAVING count(*) > 1)")" \
	"0" "no sequence number stored twice"
lost=$(q "$db" "SELECT coalesce(sum(count), 0) FROM lost")
is "$lost" "$dr" "lost ranges sum to the guest's own drops ($dr): the collector lost nothing"
is "$(q "$db" "SELECT count(*) FROM lost WHERE reason != 'guest'")" "0" "every lost range is the guest's"
is "$(q "$db" "SELECT count(*) FROM lost l JOIN events e ON e.lane = l.lane AND e.seq >= l.seq_first AND e.seq < l.seq_first + l.count")" \
	"0" "no stored event inside a lost range"
# stored + lost = emitted, disjoint, all in 0..emitted-1: every sequence
# number accounted for once
is "$(q "$db" "SELECT (SELECT count(*) FROM events) + (SELECT coalesce(sum(count), 0) FROM lost)")" \
	"$em" "events + lost = emitted ($em)"
is "$(q "$db" "SELECT max(m) FROM (SELECT max(seq) AS m FROM events UNION ALL SELECT max(seq_first + count - 1) FROM lost)")" \
	"$((em - 1))" "the highest sequence number is emitted - 1"
is "$(q "$db" "SELECT event_count || ' ' || lost_count || ' ' || last_seq FROM lanes")" \
	"$N $dr $((em - 1))" "the lane's totals agree"
grep -v '^$' "$T/c.err" | head -5 | sed 's/^/# collector: /'

# ---- a guest that exits after its collector was killed ------------------
# Its header still says a collector is attached (a SIGKILLed one cannot
# say otherwise).  With UNITRACE_EXIT_WAIT_MS it must wait for the next
# collector rather than exit at once and take its unread events with it.
db=$T/exit.db
dir=$T/rv-exit
echo 100 >"$T/limit2"
start_collector
UNITRACE_DIR=$dir UNITRACE_NAME=leaver UNITRACE_RINGS=1 \
	UNITRACE_RING_SIZE=64K UNITRACE_MODE=discard \
	UNITRACE_WAIT_ATTACH_MS=600000 UNITRACE_EXIT_WAIT_MS=600000 \
	$GUEST 1000 "$T/limit2" "$T/done2" >"$T/g2.out" 2>"$T/g2.err" &
G=$!
until_ok at_least 100
kill -9 "$COLL"
wait "$COLL" 2>/dev/null
COLL=
echo 1000 >"$T/limit2.tmp" && mv "$T/limit2.tmp" "$T/limit2"
# all 1000 in its ring (32 KiB of 64), then it shuts down
until_ok grep -q '^count_guest: emitted 1000 dropped 0$' "$T/g2.out"
touch "$T/done2"
start_collector
until_ok status_is exited
ok $? "a guest exiting after its collector was killed waits for the next one (status $(q "$db" "SELECT status FROM guests"))"
wait "$G"
ok $? "...and exits 0"
G=
is "$(stored)" "1000" "...which stores all its 1000 events"
kill -INT "$COLL"
wait "$COLL"
COLL=

echo "1..$n"
