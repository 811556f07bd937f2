#!/usr/bin/env bash
# unitrace ctl against a running hosted guest beside a running collector:
# disable and re-enable an event type (the trace shows the gap), switch the
# rings' mode, and refuse bad requests.  TAP.
set -u
B=${B:-build}
UT=$B/unitrace
T=$(mktemp -d /tmp/ut-ctl.XXXXXX)
COLL= G=
cleanup() {
	[ -n "$G" ] && kill "$G" 2>/dev/null
	[ -n "$COLL" ] && kill "$COLL" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
. "$(dirname "$0")/../harness.sh" # ok is skip q until_ok; n=0

rv=$T/rv db=$T/t.db
# Until (command...) succeeds; the bound only keeps a broken run from
# hanging the suite.  Tests wait for states, never for durations.
# the guest is listed and its control thread answers
answers() { $UT ctl --dir "$rv" 2>/dev/null | sed 's/\.[0-9]*$//' | grep -qx "$1" &&
	$UT ctl --dir "$rv" -t 2000 "$1" show >/dev/null 2>&1; }
$UT collect -q -o "$db" --dir "$rv" --poll-ms 2 2>/dev/null &
COLL=$!
# the guest serves until told to stop (SIGTERM) once the checks are done;
# its rings (16 MiB each) hold far more than the test's whole run, so even
# a collector starved of CPU for seconds loses nothing
UNITRACE_DIR=$rv UNITRACE_NAME=svc UNITRACE_WAIT_ATTACH_MS=60000 \
UNITRACE_RING_SIZE=16777216 \
	$B/demo-guest --threads 2 --duration 600 --rate 5000 -q >"$T/out" &
G=$!
until_ok answers svc
is "$($UT ctl --dir "$rv" | sed 's/\.[0-9]*$//')" "svc" "ctl lists the running guest"
$UT ctl --dir "$rv" svc show >"$T/show"
grep -q "net_rx .*instant .*enabled" "$T/show"; ok $? "show: net_rx is enabled"
grep -q "ring 0 .*discard" "$T/show"; ok $? "show: ring 0 in discard mode"
$UT ctl --dir "$rv" svc disable net_rx >/dev/null; ok $? "disable net_rx confirmed by the guest"
$UT ctl --dir "$rv" svc show | grep -q "net_rx .*disabled"; ok $? "show: net_rx disabled"
# net_rx stays off until the trace holds 200 requests of one vCPU after
# that vCPU's last net_rx (a state of the trace, whatever the load)
after_off() {
	q "$db" "WITH l AS (SELECT guest_id, vcpu, max(ts) AS t FROM ev_net_rx
		GROUP BY guest_id, vcpu)
		SELECT coalesce(max(c), 0) FROM (SELECT count(*) AS c
		FROM ev_request r JOIN l ON r.guest_id = l.guest_id AND
		r.vcpu = l.vcpu WHERE r.ts > l.t GROUP BY r.guest_id, r.vcpu)"
}
off_long_enough() { [ "$(after_off 2>/dev/null || echo 0)" -ge 200 ]; }
until_ok off_long_enough
ok $? "requests go on while net_rx is off ($(after_off) on one vCPU)"
nrx() { q "$db" "SELECT count(*) FROM ev_net_rx" 2>/dev/null || echo 0; }
nrx0=$(nrx)
$UT ctl --dir "$rv" svc enable net_rx >/dev/null; ok $? "enable net_rx confirmed"
$UT ctl --dir "$rv" svc mode overwrite >"$T/mode"; ok $? "mode overwrite"
is "$(grep -c ': overwrite$' "$T/mode")" "2" "both rings switched to overwrite"
$UT ctl --dir "$rv" svc disable no_such_event >/dev/null 2>&1; is "$?" "1" "unknown event type: exit 1"
$UT ctl --dir "$rv" svc mode sideways >/dev/null 2>&1; is "$?" "2" "bad mode: exit 2"
$UT ctl --dir "$rv" nobody show >/dev/null 2>&1; is "$?" "1" "unknown guest: exit 1"
$UT ctl --dir "$rv" svc frobnicate >/dev/null 2>&1; is "$?" "2" "unknown action: exit 2"
# net_rx is back: stored again after the enable (a state), then stop
rx_again() { [ "$(nrx)" -gt $((nrx0 + 10)) ]; }
until_ok rx_again
ok $? "net_rx events are stored again after the enable"
kill -TERM $G; wait $G; G=
# SIGINT: the collector drains what is left, then exits
kill -INT $COLL; wait $COLL; COLL=
# the longest net_rx gap of some vCPU is the time it was off: it holds the
# requests served meanwhile (a count; its length is printed, not checked)
gap=$(q "$db" "SELECT max(d) FROM (SELECT ts - lag(ts) OVER (PARTITION BY guest_id, vcpu ORDER BY ts) AS d FROM ev_net_rx)")
req=$(q "$db" "WITH g AS (SELECT guest_id, vcpu, ts - d AS a, ts AS b FROM
	(SELECT guest_id, vcpu, ts, ts - lag(ts) OVER (PARTITION BY guest_id,
	vcpu ORDER BY ts) AS d FROM ev_net_rx) ORDER BY d DESC LIMIT 1)
	SELECT count(*) FROM ev_request r, g WHERE r.guest_id = g.guest_id AND
	r.vcpu = g.vcpu AND r.ts > g.a AND r.ts < g.b")
ok $(( req >= 200 ? 0 : 1 )) "the trace shows net_rx off with request spans going on ($req requests in the longest net_rx gap)"
echo "# net_rx was off for ${gap} ns"
is "$(q "$db" "SELECT count(*) FROM lost")" "0" "no events lost around the changes"

# ---- the control socket against hostile or confused peers ----------------
UNITRACE_DIR=$rv UNITRACE_NAME=tough UNITRACE_RINGS=4 $B/demo-guest --threads 1 --duration 600 --rate 1000 -q \
	>/dev/null &
G=$!
until_ok answers tough
# garbage, a bad magic, a header promising a huge payload, a half header
python3 - "$G" <<'PY'
import os, socket, struct, sys
pid = sys.argv[1]
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(b"\0unitrace-ctl." + pid.encode())
    s.settimeout(3)
    return s
for payload in (os.urandom(300),
                struct.pack("<IHHIIII", 0x12345678, 1, 0, 1, 0, 0, 0),
                struct.pack("<IHHIIII", 0x31435455, 1, 0, 1, 0, 1 << 30, 0),
                b"UTC1\x01\x00"):
    s = conn()
    s.sendall(payload)
    if len(payload) < 24:   # a half header: hang up
        s.close()
        continue
    try:
        s.recv(4096)
    except OSError:
        pass
    s.close()
PY
$UT ctl --dir "$rv" tough show >"$T/tough" 2>&1
ok $? "garbage on the control socket: the guest still answers"
grep -q "net_rx .*enabled" "$T/tough"; ok $? "...with its event types"
# someone else holding a guest's control name is refused
sleep 600 &
SL=$!
ln -s /nonexistent "$rv/fake.$SL.ut"
python3 - "$SL" "$T/squat.ready" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(b"\0unitrace-ctl." + sys.argv[1].encode())
s.listen(1)
open(sys.argv[2], "w").close()
time.sleep(600)
PY
PY_PID=$!
until_ok test -e "$T/squat.ready"
$UT ctl --dir "$rv" fake show >/dev/null 2>"$T/squat"
rc=$?
[ $rc = 1 ] && grep -q "not by the guest" "$T/squat"
ok $? "a control socket held by another process is refused (exit $rc: $(head -c 160 "$T/squat"))"
kill $SL $PY_PID 2>/dev/null
wait $SL $PY_PID 2>/dev/null
rm -f "$rv/fake.$SL.ut"
# another user may not control the guest: told so, then hung up on
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && [ -x /usr/bin/python3 ]; then
	st=$(setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 - "$G" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(b"\0unitrace-ctl." + sys.argv[1].encode())
s.settimeout(3)
m = s.recv(24)   # told before asking anything
print(struct.unpack("<IHHIIII", m)[2] if len(m) == 24 else "short")
PY
)
	is "$st" "6" "another user gets EPERM (status 6) and no answer"
else
	echo "ok $((n += 1)) - another user gets EPERM # SKIP not root or no setpriv"
fi
$UT ctl --dir "$rv" tough mode overwrite --ring 0 >"$T/r0"
ok $? "mode with --ring after the action"
is "$(cat "$T/r0")" "ring 0: overwrite" "only ring 0 switched"
$UT ctl --dir "$rv" tough mode overwrite >"$T/rall"
rc=$?
# the demo's one thread writes ring 0; the other rings are idle
[ $rc = 0 ] && grep -q '^ring 0: overwrite$' "$T/rall" &&
	grep -q '^ring 1: overwrite requested (idle' "$T/rall"
ok $? "every ring: the busy one switches, idle ones are reported idle, exit 0 ($rc: $(tr "\n" "/" <"$T/rall"))"
$UT ctl --dir "$rv" -t 0 tough show >/dev/null 2>&1; is "$?" "2" "--timeout 0: usage error"
kill $G 2>/dev/null; wait $G 2>/dev/null; G=
$UT ctl --dir "$rv" tough show >/dev/null 2>"$T/gone"
rc=$?
[ $rc = 1 ] && grep -q "cannot reach\|no guest" "$T/gone"
ok $? "a guest that has gone: clear error, exit $rc"
echo "1..$n"
