#!/usr/bin/env bash
# No guest can stall another (issue 11): each attack runs beside a good
# guest (gap_guest) that emits every 200 us and measures the longest time
# its ring waited for the collector.  Asserted: states only (every good
# event stored, the good guests attached, the collector running, the
# attacker marked with a reason).  Printed, never asserted: the longest
# good-guest gap during each attack.  TAP output.
set -u
B=${B:-build}
UT=$B/unitrace
EVIL=$B/tests/e2e/evil_guest
GAP=$B/tests/e2e/gap_guest
T=$(mktemp -d /tmp/ut-hostile.XXXXXX)
. "$(dirname "$0")/../harness.sh" # ok is skip q until_ok; n=0
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT


for bin in "$UT" "$EVIL" "$GAP"; do
	if [ ! -x "$bin" ]; then echo "not ok 1 - $bin not built"; exit 1; fi
done

# collector NAME [COMMAND PREFIX...]: a collector of its own for one attack
# (db $T/NAME.db, directory $T/rv-NAME); sets db, dir, COLL
collector() {
	local name=$1
	shift
	db=$T/$name.db dir=$T/rv-$name
	"$@" $UT collect -o "$db" --dir "$dir" --poll-ms 2 2>"$T/$name.err" &
	COLL=$!
	PIDS+=("$COLL")
	until_ok test -d "$dir"
}

# good_start NAME: a good guest in $dir, attached; sets GOOD
good_start() {
	UNITRACE_DIR=$dir UNITRACE_NAME=$1 UNITRACE_RINGS=1 \
		UNITRACE_RING_SIZE=16M $GAP >"$T/$1.out" 2>&1 &
	GOOD=$!
	PIDS+=("$GOOD")
	until_ok grep -q attached "$T/$1.out"
}

# good_check NAME ATTACK: stop the good guest; all its events are stored;
# print its longest gap
good_check() {
	local name=$1 attack=$2 ev gap
	kill -TERM "$GOOD"
	wait "$GOOD"
	ev=$(sed -n 's/^gap-guest: \([0-9]*\) events.*/\1/p' "$T/$name.out")
	gap=$(sed -n 's/.*longest gap \([0-9]*\) ms$/\1/p' "$T/$name.out")
	until_ok db_is "$db" "SELECT status FROM guests WHERE name = '$name'" exited
	ok $? "$attack: the good guest is served to the end ($(q "$db" "SELECT status FROM guests WHERE name = '$name'"))"
	is "$(q "$db" "SELECT count(*) FROM events e JOIN lanes l ON l.id = e.lane
		JOIN guests g ON g.id = l.guest_id WHERE g.name = '$name'")" \
		"${ev:-none}" "$attack: every good event stored"
	echo "# longest good-guest gap during $attack: ${gap:-?} ms"
}

# collector_ok ATTACK: still running; then stopped cleanly
collector_stop() {
	kill -0 "$COLL" 2>/dev/null
	ok $? "$1: the collector is still running"
	kill -TERM "$COLL"
	wait "$COLL"
	ok $? "$1: the collector exits 0"
}

# ---- 1. schema floods: 8000 and 65535 event types -----------------------
for nt in 8000 65535; do
	collector "types$nt"
	good_start "good-t$nt"
	UNITRACE_DIR=$dir UNITRACE_NAME=evil-t$nt UNITRACE_RINGS=1 \
		$EVIL types "$dir" $nt >"$T/evil-t$nt.out" 2>&1
	until_ok db_is "$db" "SELECT status FROM guests WHERE name = 'flood'" exited
	ok $? "$nt types: the flooding guest is finished ($(q "$db" "SELECT status FROM guests WHERE name = 'flood'"))"
	is "$(q "$db" "SELECT count(*) FROM event_types t JOIN guests g ON g.id = t.guest_id WHERE g.name = 'flood'")" \
		"$nt" "$nt types: every type stored"
	v=$(q "$db" "SELECT count(*) FROM event_views")
	ok $(( v <= 1024 ? 0 : 1 )) "$nt types: views bounded ($v)"
	good_check "good-t$nt" "a schema of $nt types"
	collector_stop "$nt types"
done

# ---- 2. 60 000 junk entries in the rendezvous directory -----------------
collector junk
good_start good-junk
first=$GOOD
UNITRACE_DIR=$T/elsewhere $EVIL junk "$dir" 60000 >"$T/junk.out" 2>&1
ok $? "60000 junk entries created"
good_start late-junk # attached once the queue reaches it
late=$GOOD
ok 0 "junk: a guest published after the junk is attached"
until_ok grep -q "later rejections are counted" "$T/junk.err"
ok $? "junk: rejections past the first 100 are counted, not stored"
is "$(q "$db" "SELECT count(*) FROM guests WHERE status = 'rejected'")" 100 \
	"junk: 100 rejected entries stored, not 60000"
hwm=$(sed -n 's/^VmHWM:[[:space:]]*//p' /proc/$COLL/status)
GOOD=$first good_check good-junk "60000 junk entries"
GOOD=$late good_check late-junk "60000 junk entries (guest published after them)"
echo "# collector peak memory with 60000 junk entries: $hwm"
collector_stop "60000 junk entries"
is "$(grep -c "later rejections are counted" "$T/junk.err")" 1 "junk: said once"
grep -q "more entries rejected and not stored" "$T/junk.err"
ok $? "junk: the others counted at exit ($(grep -o '[0-9]* more entries rejected' "$T/junk.err"))"

# ---- 3. descriptor pressure: 300 idle guests, a collector limited to 256 -
collector nofd prlimit --nofile=256:256
good_start good-nofd
first=$GOOD
idle=()
for ((i = 0; i < 300; i++)); do
	UNITRACE_DIR=$dir UNITRACE_NAME=idle-$i UNITRACE_RINGS=1 \
		UNITRACE_RING_SIZE=64K $GAP idle >/dev/null 2>&1 &
	idle+=($!)
	PIDS+=($!)
done
until_ok grep -q "out of file descriptors" "$T/nofd.err"
ok $? "nofd: out of descriptors, said ($(grep -o 'out of file descriptors.*' "$T/nofd.err" | head -1))"
attached=$(q "$db" "SELECT count(*) FROM guests WHERE name LIKE 'idle-%'")
# 150 attached ones go: the others, waiting, are attached then
for p in $(q "$db" "SELECT pid FROM guests WHERE name LIKE 'idle-%' LIMIT 150"); do
	kill -TERM "$p"
done
until_ok db_is "$db" "SELECT count(*) FROM guests WHERE name LIKE 'idle-%'" 300
ok $? "nofd: every idle guest attached in the end ($attached before descriptors were freed, $(q "$db" "SELECT count(*) FROM guests WHERE name LIKE 'idle-%'") after)"
is "$(q "$db" "SELECT count(*) FROM guests WHERE status = 'rejected'")" 0 \
	"nofd: no guest rejected for want of descriptors"
good_start late-nofd
ok 0 "nofd: a guest started later is attached"
good_check late-nofd "descriptor pressure (guest started later)"
GOOD=$first good_check good-nofd "descriptor pressure (300 idle guests, limit 256)"
for p in "${idle[@]}"; do kill -TERM "$p" 2>/dev/null; done
collector_stop "descriptor pressure"
is "$(grep -c "out of file descriptors" "$T/nofd.err")" 1 "nofd: said once"

# ---- 4. a guest flooding 64 rings ---------------------------------------
collector rings
good_start good-rings
UNITRACE_DIR=$dir UNITRACE_NAME=evil-rings UNITRACE_RINGS=64 \
	UNITRACE_RING_SIZE=256K $EVIL rings 3 >"$T/evil-rings.out" 2>&1
ok $? "rings: the flood ran ($(cat "$T/evil-rings.out"))"
until_ok db_is "$db" "SELECT status FROM guests WHERE name = 'evil-rings'" exited
ok $? "rings: the flooding guest is finished ($(q "$db" "SELECT status FROM guests WHERE name = 'evil-rings'"))"
good_check good-rings "a flood of 64 rings"
collector_stop "a flood of 64 rings"

# ---- 5. links ------------------------------------------------------------
# (a) a link in the directory, owned by another user than the guest's,
# naming the guest's memfd: rejected (the guest publishes elsewhere)
collector links
UNITRACE_DIR=$T/own UNITRACE_NAME=victim UNITRACE_RINGS=1 $GAP idle \
	>/dev/null 2>&1 &
vpid=$!
PIDS+=($vpid)
until_ok test -L "$T/own/victim.$vpid.ut"
mkdir "$T/plant"
ln -s "$(readlink "$T/own/victim.$vpid.ut")" "$T/plant/planted.$vpid.ut"
chown -h nobody "$T/plant/planted.$vpid.ut"
mv "$T/plant/planted.$vpid.ut" "$dir/" # whole, already owned by nobody
until_ok db_is "$db" "SELECT count(*) FROM guests WHERE name = 'planted' OR name = 'victim'" 1
r=$(q "$db" "SELECT status || ': ' || coalesce(reason, '') FROM guests")
case "$r" in rejected:*"owned by uid"*) r0=0 ;; *) r0=1 ;; esac
ok $r0 "a link owned by another user to a guest's memfd is rejected ($r)"
kill -TERM $vpid
collector_stop "links"

# (b) the link replaced between being read and being opened (made certain
# by an LD_PRELOAD readlink that swaps it, right after each read, for a
# link to a FIFO): the collector opens the target it read and checked,
# never the link again, so it never opens the FIFO
if so=$T/swap_link.so && ${CC:-cc} -shared -fPIC -o "$so" \
	"$(dirname "$0")/preload/swap_link.c" -ldl 2>"$T/cc.err"; then
	UNITRACE_DIR=$T/own2 UNITRACE_NAME=victim2 UNITRACE_RINGS=1 $GAP idle \
		>/dev/null 2>&1 &
	vpid=$!
	PIDS+=($vpid)
	until_ok test -L "$T/own2/victim2.$vpid.ut"
	mkfifo "$T/bait"
	collector swap env LD_PRELOAD="$so" \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		UT_TEST_SWAP_LINK="$T/rv-swap/race.$vpid.ut" UT_TEST_SWAP_TO="$T/bait"
	mkdir "$T/stage"
	ln -s "$(readlink "$T/own2/victim2.$vpid.ut")" "$T/stage/race.$vpid.ut"
	mv "$T/stage/race.$vpid.ut" "$dir/"
	until_ok db_is "$db" "SELECT count(*) FROM guests" 1
	r=$(q "$db" "SELECT status || ': ' || coalesce(reason, '') FROM guests")
	case "$r" in rejected:*"changed while it was opened"*) r0=0 ;; *) r0=1 ;; esac
	ok $r0 "a link swapped after it was read: the FIFO it then names is never opened ($r)"
	kill -TERM $vpid
	collector_stop "a swapped link"
else
	skip "a link swapped after it was read" "no C compiler for the LD_PRELOAD ($(head -1 "$T/cc.err"))"
fi

exit 0
