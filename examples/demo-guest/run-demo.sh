#!/usr/bin/env bash
# make demo: trace the demo guest into $B/demo/trace.db with `unitrace run`,
# show what was stored, then open it in `unitrace view` when run in a
# terminal (UT_DEMO_NO_VIEW=1: do not).  Run from anywhere; B (default build) is
# relative to the repository root.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
B=${B:-build}
UNITRACE=$B/unitrace
DEMO=$B/demo-guest
OUT=$B/demo
DB=$OUT/trace.db

for f in "$UNITRACE" "$DEMO"; do
	if [ ! -x "$f" ]; then
		echo "run-demo: $f is missing; run 'make' first" >&2
		exit 1
	fi
done

mkdir -p "$OUT"
rm -f "$DB" "$DB-wal" "$DB-shm" "$DB-journal"

# About 11 events per request: 4 vCPUs x 20000 requests/s x 3 s is about
# 680 000 events.
args=(--threads 4 --duration 3 --rate 20000 --seed 1)
echo "==> $UNITRACE run -o $DB -- $DEMO ${args[*]}"
if ! "$UNITRACE" run -o "$DB" -- "$DEMO" "${args[@]}"; then
	echo "run-demo: 'unitrace run' failed" >&2
	exit 1
fi

echo
echo "==> $UNITRACE list $DB"
"$UNITRACE" list "$DB" || echo "run-demo: 'unitrace list' failed" >&2
echo
echo "==> $UNITRACE stats $DB"
"$UNITRACE" stats "$DB" || echo "run-demo: 'unitrace stats' failed" >&2

# One query on event fields with the plain sqlite3 shell: the store has a
# view per event name (ev_<name>) with one column per field
# (see docs/schema.md).
echo
q="SELECT count(*) AS packets, max(len) AS max_len FROM ev_net_rx WHERE len > 1000;"
if ! command -v sqlite3 >/dev/null 2>&1; then
	echo "(install the sqlite3 shell to query the trace: apt-get install sqlite3)"
elif [ "$(sqlite3 "$DB" "SELECT count(*) FROM sqlite_master WHERE name = 'ev_net_rx';" 2>/dev/null)" = 1 ]; then
	echo "==> sqlite3 $DB \"$q\""
	sqlite3 -header -column "$DB" "$q"
else
	echo "(no ev_net_rx view in $DB: see docs/schema.md for the tables to query)"
fi

echo
# In a terminal, open the timeline (q quits); elsewhere (CI, a pipe) say how.
if [ -t 0 ] && [ -t 1 ] && [ -z "${UT_DEMO_NO_VIEW:-}" ]; then
	echo "==> $UNITRACE view $DB   (? for keys, q to quit)"
	exec "$UNITRACE" view "$DB"
fi
echo "browse it: $UNITRACE view $DB"
