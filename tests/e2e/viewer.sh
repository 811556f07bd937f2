#!/usr/bin/env bash
# unitrace view end to end: the real binary in a tmux virtual terminal
# (send-keys, capture-pane) against databases written by the demo guest.
# TAP output.
set -u
top=${UT_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top" || exit 1
B=${B:-build}
UT=$B/unitrace
DEMO=$B/demo-guest
. "$(dirname "$0")/../harness.sh" # ok is skip q until_ok; n=0
. "$(dirname "$0")/../viewer_lib.sh" # start screen settled keys wait_for lanes wait_rc

# ---- a demo trace -----------------------------------------------------------
DB=$T/demo.db
"$UT" run -q -o "$DB" -- "$DEMO" --threads 2 --duration 0.5 --rate 5000 \
	>"$T/run.out" 2>"$T/run.err"
ok $? "demo trace recorded" "$(tail -3 "$T/run.err")"

start "$DB"
ok $? "viewer starts and draws its header" "$(screen)"

# every guest and vCPU lane, labelled
missing=""
while IFS='|' read -r name vcpu; do
	s=$(screen)
	printf '%s\n' "$s" | grep -qF -- "$name" || missing="$missing $name"
	printf '%s\n' "$s" | grep -qE -- "vcpu $vcpu( |\$)" ||
		missing="$missing $name/vcpu$vcpu"
done < <(sqlite3 -batch -noheader "$DB" \
	"SELECT g.name, l.vcpu FROM lanes l JOIN guests g ON g.id = l.guest_id")
[ -z "$missing" ]
ok $? "every guest and vCPU lane appears with its name" "missing:$missing
$(screen)"

# search a span by name, zoom to it: its name is drawn in its lane
keys / parse Enter
keys z
keys -
lanes | grep -qE 'request|parse|handle|respond'
ok $? "zoomed to a found span, a demo span name is drawn in a lane" "$(screen)"

# the detail pane of the found event
keys Enter
wait_for 'Detail' 2
s=$(screen)
printf '%s\n' "$s" | grep -qE 'parse +\(span_begin\)' &&
	printf '%s\n' "$s" | grep -qE 'req_id +[0-9]+' &&
	printf '%s\n' "$s" | grep -qE 'hdr_bytes +[0-9]+'
ok $? "/ finds 'parse'; the detail pane shows its fields (req_id, hdr_bytes)" "$s"
printf '%s\n' "$s" | grep -qE 'parent: request'
ok $? "the detail pane names the parent span (request)" "$s"

# a field value: the handler name 'users'
keys Escape
! screen | grep -q 'Detail'
ok $? "Esc closes the detail pane" "$(screen)"
keys / users Enter
keys Enter
wait_for 'Detail' 2
s=$(screen)
printf '%s\n' "$s" | grep -qE '(handler|path) +[^ ]*users'
ok $? "/ finds a field value ('users' in a handler or path field)" "$s"
keys Enter

# the event list follows the selection
keys Tab
s=$(screen)
printf '%s\n' "$s" | grep -q 'TIME' && printf '%s\n' "$s" | grep -qE '(handler|path)=[^ ]*users'
ok $? "Tab shows the event list with the selected event" "$s"
keys Down Down
keys Tab
s=$(screen)
printf '%s\n' "$s" | grep -q 'window'
ok $? "Tab goes back to the timeline" "$s"

# help lists the keys
keys '?'
s=$(screen)
printf '%s\n' "$s" | grep -q 'Everywhere' && printf '%s\n' "$s" | grep -q 'zoom'
ok $? "? shows the help with the keys" "$s"
keys q
screen | grep -q 'window'
ok $? "q closes the help" "$(screen)"

# resize: the screen is redrawn for the new size, without leftovers
# (a resize is no key: wait for the redrawn screen itself)
resized_clean() {
	s=$(screen)
	bad=""
	[ "$(printf '%s\n' "$s" | wc -l)" -eq 30 ] || bad="$bad rows"
	printf '%s\n' "$s" | head -1 | grep -q '^ unitrace view' || bad="$bad header"
	[ "$(printf '%s\n' "$s" | grep -c 'unitrace view')" -eq 1 ] || bad="$bad header-twice"
	[ "$(printf '%s\n' "$s" | grep -c ' cursor ')" -eq 1 ] || bad="$bad info-line"
	printf '%s\n' "$s" | tail -1 | grep -q 'help' || bad="$bad status-line"
	[ "$(printf '%s\n' "$s" | grep -c 'vcpu 0')" -eq 1 ] || bad="$bad lane-label"
	[ -z "$bad" ]
}
"${TM[@]}" resize-window -t v -x 100 -y 30
for ((i = 0; i < 600; i++)); do resized_clean && break; sleep 0.05; done
resized_clean
ok $? "resizing to 100x30 redraws cleanly" "wrong:$bad
$s"
"${TM[@]}" resize-window -t v -x $W -y $H
for ((i = 0; i < 600; i++)); do
	[ "$(screen | wc -l)" -eq $H ] && screen | tail -1 | grep -q help && break
	sleep 0.05
done

# fit and quit
keys 0
keys q
wait_rc 15
ok $? "q quits" "$(screen)"
[ "$(cat "$T/rc" 2>/dev/null)" = 0 ]
ok $? "exit status 0 after q"

# ---- a span much longer than the look-ahead -----------------------------------
# One span 'session' on vCPU 0 that encloses most of the trace (thousands of
# events): two top-level net_rx instants of the demo trace become its
# span_begin and span_end.  Only the rows' type (and dur) change, so
# event_blocks, lanes.event_count and guests.first_ts/last_ts stay right.
SDB=$T/session.db
cp "$DB" "$SDB"
sq() { sqlite3 -batch -noheader -separator ' ' "$SDB" "$@"; }
SL=$(sq "SELECT id FROM lanes WHERE vcpu = 0 ORDER BY guest_id LIMIT 1")
SG=$(sq "SELECT guest_id FROM lanes WHERE id = $SL")
for k in span_begin span_end; do
	sq "INSERT INTO event_types(guest_id, guest_type_id, name, kind,
		category, nfields, layout)
		SELECT $SG, max(guest_type_id) + 1, 'session', '$k', NULL, 0, ''
		FROM event_types WHERE guest_id = $SG"
done
STB=$(sq "SELECT id FROM event_types WHERE guest_id = $SG AND name = 'session' AND kind = 'span_begin'")
STE=$(sq "SELECT id FROM event_types WHERE guest_id = $SG AND name = 'session' AND kind = 'span_end'")
NRX="SELECT e.id, e.ts FROM events e JOIN event_types t ON t.id = e.type
	WHERE e.lane = $SL AND t.name = 'net_rx' ORDER BY e.ts"
nrx=$(sq "SELECT count(*) FROM ($NRX)")
read -r sb sbts < <(sq "$NRX LIMIT 1 OFFSET $((nrx / 10))")
read -r se sets < <(sq "$NRX LIMIT 1 OFFSET $((nrx * 9 / 10))")
sq "UPDATE events SET type = $STB, a0 = NULL, a1 = NULL, a2 = NULL
	WHERE id = $sb;
    UPDATE events SET type = $STE, dur = ts - $sbts, a0 = NULL, a1 = NULL,
	a2 = NULL WHERE id = $se"
inside=$(sq "SELECT count(*) FROM events WHERE lane = $SL AND ts > $sbts AND ts < $sets")
[ "${inside:-0}" -gt 1000 ]
ok $? "a 'session' span on vCPU 0 encloses $inside events"
# a request of that lane in the middle of the session, long enough (3 us:
# 27 columns at the zoom below) for its name to fit its bar (a shorter one,
# followed at once by the next, is drawn "reques"); go to its begin
rqts=$(sq "SELECT e.ts - e.dur FROM events e JOIN event_types t
	ON t.id = e.type WHERE e.lane = $SL AND t.name = 'request' AND
	t.kind = 'span_end' AND e.dur >= 3000 AND
	e.ts - e.dur > ($sbts + $sets) / 2 ORDER BY e.ts LIMIT 1")
off=$((rqts - $(sq "SELECT min(ts_first) FROM event_blocks")))
start "$SDB"
keys g
keys "$(printf '%d.%03dus' $((off / 1000)) $((off % 1000)))" Enter
keys W W W W W # 8^5 times in: about 16 us on the screen
# the first span row of the lane holds the session, the second the request
# (nested in it); the viewer settles only once the span index has reached
# the screen
span_rows() { # lane label row: its first and second span rows
	local s r
	s=$(lanes)
	r=$(printf '%s\n' "$s" | grep -n 'vcpu 0' | head -1 | cut -d: -f1)
	[ -n "$r" ] && [ "$r" -gt 1 ] || return 1
	printf '%s\n' "$s" | sed -n "$((r - 1))p;${r}p"
}
rows=$(span_rows)
printf '%s\n' "$rows" | head -1 | grep -q 'session' &&
	printf '%s\n' "$rows" | sed -n 2p | grep -q 'request' &&
	! printf '%s\n' "$rows" | sed -n 2p | grep -q 'session'
ok $? "zoomed into the middle of a long span: its name is drawn on its lane, a request nested one row below" "$(screen)"
keys .
keys Enter
s=$(screen)
printf '%s\n' "$s" | grep -qE 'request +\(span_begin\)' &&
	printf '%s\n' "$s" | grep -qE 'parent: session, from .*duration'
ok $? "the detail pane of a request inside it names the long span as its parent" "$s"
keys Enter
keys q
wait_rc 15

# ---- lost events ---------------------------------------------------------------
LDB=$T/lost.db
"$UT" run -q -o "$LDB" --mode discard --ring-size 16K -- "$DEMO" \
	--threads 2 --duration 0.5 --rate 0 >"$T/lrun.out" 2>"$T/lrun.err"
nlost=$(sqlite3 -batch -noheader "$LDB" "SELECT count(*) FROM lost")
[ "${nlost:-0}" -gt 0 ]
ok $? "a discard-mode trace with drops has lost ranges ($nlost)"
start "$LDB"
s=$(lanes)
printf '%s\n' "$s" | grep -qE 'lost [0-9]+' && printf '%s\n' "$s" | grep -q '///'
ok $? "lost-event ranges are marked on their lanes" "$(screen)"
# x works on the selected lane: select the first lane that lost events
# (which vCPU drops depends on the machine's timing)
nth=$(sqlite3 -batch -noheader "$LDB" "SELECT
	(SELECT count(*) FROM lanes WHERE (guest_id, vcpu) < (SELECT guest_id,
	 vcpu FROM lanes WHERE lost_count > 0 ORDER BY 1, 2 LIMIT 1)) -
	(SELECT count(*) FROM lanes WHERE (guest_id, vcpu) < (SELECT guest_id,
	 vcpu FROM lanes WHERE event_count > 0 ORDER BY 1, 2 LIMIT 1))")
for ((i = 0; i < ${nth:-0}; i++)); do keys j; done
keys x
screen | grep -qE 'events lost \((guest|overwrite|corrupt)\)'
ok $? "x jumps to the next lost-event range" "$(screen)"
keys q
wait_rc 15

# ---- crashes -------------------------------------------------------------------
CDB=$T/crash.db
cp "$DB" "$CDB"
ncr=$(sqlite3 -batch -noheader "$CDB" "SELECT count(*) FROM crashes")
if [ "${ncr:-0}" -eq 0 ]; then
	echo "# no crash rows from crash capture in this trace: inserting a" \
		"synthetic crashes row"
	sqlite3 -batch "$CDB" "INSERT INTO crashes(guest_id, ts, reason, signal,
		fault_addr, registers, backtrace)
		SELECT g.id, (g.first_ts + g.last_ts) / 2,
		'synthetic: page fault in handler', 11, 3735928559,
		'rip=0x401000 rsp=0x7ffc1000' || char(10) || 'rax=0x0 rbx=0x1',
		'#0 handle_request at demo.c:201' || char(10) ||
		'#1 vcpu_main at demo.c:260'
		FROM guests g LIMIT 1"
fi
start "$CDB"
screen | grep -qE '^.{17}.*X'
keys e
s=$(screen)
printf '%s\n' "$s" | grep -q 'X CRASH' && printf '%s\n' "$s" | grep -qE 'crash 1/[0-9]+'
ok $? "e jumps to a crash, marked on its lane" "$s"
keys c
s=$(screen)
printf '%s\n' "$s" | grep -q 'CRASH 1/' &&
	printf '%s\n' "$s" | grep -qiE 'backtrace|crash_frames' &&
	printf '%s\n' "$s" | grep -q 'last [0-9]* events'
ok $? "c opens the crash view (reason, backtrace, last events)" "$s"
keys q
keys q
wait_rc 15
[ "$(cat "$T/rc" 2>/dev/null)" = 0 ]
ok $? "q closes the crash view, then quits with status 0"

# ---- a crash that names its vCPU ------------------------------------------------
# Marked on that vCPU's lane (X CRASH, !, CRASHED); the guest's other lanes
# get only a dim x and a lower-case 'crashed'.  vCPU 1, so that marking the
# first lane would not pass by luck.
VDB=$T/crash-vcpu.db
cp "$DB" "$VDB"
sqlite3 -batch "$VDB" "INSERT INTO crashes(guest_id, ts, reason, signal, vcpu)
	SELECT g.id, (g.first_ts + g.last_ts) / 2, 'synthetic: fault on vcpu 1',
	11, 1 FROM guests g ORDER BY g.id LIMIT 1;
	UPDATE guests SET status = 'crashed'
	WHERE id = (SELECT min(id) FROM guests)"
start "$VDB"
keys e
s=$(lanes)
lane_row() { # vcpu offset: the row (offset) rows below the 'vcpu N' label
	local r
	r=$(printf '%s\n' "$s" | grep -n "vcpu $1\( \|\$\)" | head -1 | cut -d: -f1)
	[ -n "$r" ] && printf '%s\n' "$s" | sed -n "$((r + $2))p"
}
lane_row 1 2 | grep -q 'X CRASH' && lane_row 1 0 | grep -q '!' &&
	lane_row 1 1 | grep -q 'CRASHED'
ok $? "a crash with a vCPU is marked on that vCPU's lane (X CRASH, !, CRASHED)" "$(screen)"
! lane_row 0 2 | grep -q 'CRASH' && ! lane_row 0 0 | grep -q '!' &&
	lane_row 0 2 | grep -q 'x' && lane_row 0 1 | grep -q 'crashed'
ok $? "the guest's other lane gets only a small mark (x, 'crashed')" "$(screen)"
keys c
screen | grep -qE 'CRASH 1/1 .*vcpu 1'
ok $? "the crash view names the vCPU" "$(screen)"
keys q
keys q
wait_rc 15

# ---- follow mode -----------------------------------------------------------------
FDB=$T/follow.db
# the guest serves far longer than the check needs; it is stopped after
"$UT" run -q -o "$FDB" -- "$DEMO" --threads 1 --duration 600 --rate 2000 \
	>"$T/frun.out" 2>"$T/frun.err" &
RUNPID=$!
for ((i = 0; i < 1200; i++)); do
	[ "$(sqlite3 -batch -noheader "$FDB" "SELECT count(*) FROM events" 2>/dev/null)" \
		-gt 0 ] 2>/dev/null && break
	sleep 0.05
done
start "$FDB" -f
hdr_events() { screen | head -1 | sed -n 's/.* \([0-9][0-9]*\) events.*/\1/p'; }
c1=$(hdr_events)
for ((i = 0; i < 1200; i++)); do
	c2=$(hdr_events)
	[ -n "$c1" ] && [ -n "$c2" ] && [ "$c2" -gt "$c1" ] && break
	sleep 0.05
done
[ -n "$c1" ] && [ -n "$c2" ] && [ "$c2" -gt "$c1" ]
ok $? "-f follows the events the collector writes ($c1 -> $c2)" "$(screen)"
keys q
wait_rc 15
pkill -TERM -P "$RUNPID" # the guest: unitrace run then stores the rest and exits
wait "$RUNPID" 2>/dev/null
RUNPID=

# ---- errors: on stderr, non-zero, terminal untouched ------------------------------
check_err() { # db pattern description
	"$UT" view "$1" >"$T/e.out" 2>"$T/e.err" </dev/null
	local rc=$?
	[ $rc -ne 0 ] && [ ! -s "$T/e.out" ] && grep -qiE -- "$2" "$T/e.err"
	ok $? "$3: clear error, exit $rc, nothing on stdout" \
		"stderr: $(cat "$T/e.err") stdout bytes: $(wc -c <"$T/e.out")"
}
check_err "$T/missing.db" 'does not exist' "a missing file"
sqlite3 -batch "$T/other.db" "CREATE TABLE t(a); INSERT INTO t VALUES (1);"
check_err "$T/other.db" 'not a unitrace' "a non-unitrace SQLite file"
cp "$DB" "$T/corrupt.db"
# keep the 100-byte file header, garble the rest of the first pages
# (schema and table roots)
head -c 60000 /dev/urandom | dd of="$T/corrupt.db" bs=1 seek=100 \
	conv=notrunc status=none
check_err "$T/corrupt.db" 'corrupt|malformed|not a' "a corrupt file"
printf 'hello\n' >"$T/text.db"
check_err "$T/text.db" 'not a SQLite' "a text file"

# inside a terminal too: the error is printed and the terminal left alone
rm -f "$T/rc"
"${TM[@]}" kill-session -t v >/dev/null 2>&1
"${TM[@]}" new-session -d -s v -x $W -y $H \
	"$UT view $T/missing.db; echo \$? >$T/rc; sleep 60"
wait_rc 15
s=$(screen)
[ "$(cat "$T/rc" 2>/dev/null)" = 1 ] && printf '%s\n' "$s" | grep -q 'does not exist'
ok $? "in a terminal: the error is shown, exit 1" "$s"

echo "1..$n"
