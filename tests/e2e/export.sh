#!/usr/bin/env bash
# unitrace export --format chrome end to end: a guest emitting every field
# type (tests/e2e/export_guest.c), a lost range and a crash, plus the demo
# guest in the same database; the JSON is read back with Python and every
# event (phase, name, ts, pid/tid, dur, args) compared with the database
# read through SQLite; filters; bad input; an export killed midway.  TAP.
set -u
B=${B:-build}
UT=$B/unitrace
DEMO=$B/demo-guest
GUEST=$B/tests/e2e/export_guest
T=$(mktemp -d /tmp/ut-export.XXXXXX)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/../harness.sh" # ok is skip q until_ok; n=0
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_abort=0:detect_leaks=0"

if ! command -v python3 >/dev/null; then
	skip "export tests" "python3 missing"
	echo "1..$n"
	exit 0
fi

# ---- the database: every field type, a lost range, a crash; a second guest -----
db=$T/t.db
$UT run -q --mode discard --ring-size 16384 -o "$db" -- "$GUEST" crash >/dev/null 2>"$T/err"
is "$?" "134" "export_guest crashes under unitrace run (ut_panic)"
$UT run -q -o "$db" -- "$DEMO" --threads 2 --duration 0.2 --rate 1000 -q >/dev/null 2>>"$T/err"
ok $? "the demo guest adds a second guest" "$(cat "$T/err")"
is "$(q "$db" "SELECT count(*) FROM guests")" 2 "two guests"
is "$(q "$db" "SELECT count(*) > 0 FROM lost")" 1 "the database has lost ranges"
is "$(q "$db" "SELECT count(*) FROM crashes")" 1 "the database has a crash"
is "$(q "$db" "SELECT count(DISTINCT type) FROM event_fields")" 11 \
	"every field type is stored (u8 u16 u32 u64 s8 s16 s32 s64 f64 str bytes)"

# The checker: the JSON file against the database.  Arguments: json db
# [guest ids (comma list) | -] [event names (comma list) | -] [from | -] [to | -]
cat >"$T/check.py" <<'PY'
import json, sqlite3, sys
from collections import Counter
from decimal import Decimal

js, dbp = sys.argv[1], sys.argv[2]
arg = lambda i: None if len(sys.argv) <= i or sys.argv[i] == '-' else sys.argv[i]
gsel = arg(3) and [int(x) for x in arg(3).split(',')]
esel = arg(4) and arg(4).split(',')
lo, hi = arg(5) and int(arg(5)), arg(6) and int(arg(6))
errs = []
def err(m):
    errs.append(m)

doc = json.load(open(js, 'rb'), parse_float=Decimal)
if doc.get('displayTimeUnit') != 'ns':
    err('displayTimeUnit is not ns')
evs = doc['traceEvents']
db = sqlite3.connect(dbp)
db.text_factory = bytes
ns = lambda d: int(Decimal(d) * 1000)  # microseconds (exact Decimal) -> ns

def text(b):
    return None if b is None else b.decode('utf-8', 'replace')

types = {}
for tid, name, kind, cat in db.execute('SELECT id, name, kind, category FROM event_types'):
    types[tid] = dict(name=text(name), kind=text(kind), cat=text(cat), f=[])
for tid, idx, name, ty, hexf in db.execute(
        'SELECT type_id, idx, name, type, hex FROM event_fields ORDER BY type_id, idx'):
    types[tid]['f'].append((text(name), text(ty), hexf))
lanes = {lid: (g, v) for lid, g, v in db.execute('SELECT id, guest_id, vcpu FROM lanes')}

def val(ty, hexf, v, counter=False):
    if v is None:
        return None
    if counter and isinstance(v, int) and ty not in ('f64', 'str', 'bytes'):
        # a counter's integers are numbers: hex in decimal, u64 exact digits
        return v & 0xffffffffffffffff if ty.startswith('u') else v
    if ty in ('str',):
        return text(v) if isinstance(v, bytes) else v
    if ty == 'bytes':
        return v.hex()
    if ty == 'f64':
        f = float(v)
        if f != f: return 'NaN'
        if f in (float('inf'), float('-inf')):
            return 'Infinity' if f > 0 else '-Infinity'
        return f
    if hexf:
        u = v & (0xffffffffffffffff if ty == 'u64' else 0xffffffff)
        return '0x%x' % u
    if ty == 'u64':
        u = v & 0xffffffffffffffff
        return str(u) if u > 2**53 else u
    return v

def args(t, row):
    a = {}
    for i, (fname, ty, hexf) in enumerate(t['f']):
        a[fname] = val(ty, hexf, row[i], t['kind'] == 'counter')
    if t['kind'] == 'log' and isinstance(row[0], int) and 0 <= row[0] < 4:
        a['level_name'] = ['error', 'warn', 'info', 'debug'][row[0]]
    return a

def norm(a):
    # Decimal -> float for comparison with what SQLite gives
    if isinstance(a, dict):
        return {k: norm(v) for k, v in a.items()}
    if isinstance(a, Decimal):
        return float(a)
    return a

where, params = [], []
if gsel:
    where.append('l.guest_id IN (%s)' % ','.join(map(str, gsel)))
if esel:
    where.append('t.name IN (%s)' % ','.join('?' * len(esel))); params += esel
if lo is not None:
    where.append('e.ts >= %d' % lo)
if hi is not None:
    where.append('e.ts <= %d' % hi)
rows = db.execute('SELECT e.ts, e.lane, e.type, e.dur, e.a0, e.a1, e.a2, e.a3, e.a4, e.a5, e.a6, e.a7 '
                  'FROM events e JOIN lanes l ON l.id = e.lane JOIN event_types t ON t.id = e.type '
                  + ('WHERE ' + ' AND '.join(where) if where else '') +
                  ' ORDER BY e.ts, e.lane, e.seq', params).fetchall()

want = []
open_b = {}  # lane -> list of begins
cat = lambda t: t['cat'] or ('span' if t['kind'].startswith('span') else t['kind'])
def key(ph, t, ts, lane, dur, a, s=None):
    g, v = lanes[lane]
    return (ph, t['name'], cat(t), ts, g, v, dur, s, json.dumps(a, sort_keys=True))
for r in rows:
    ts, lane, ty, dur, a = r[0], r[1], r[2], r[3], r[4:]
    t = types[ty]
    k = t['kind']
    st = open_b.setdefault(lane, [])
    if k == 'span_begin':
        st.append((ts, t, a))
    elif k == 'span_end':
        if dur is None:
            if st and st[-1][1]['name'] == t['name']:
                b = st.pop()
                want.append(key('B', b[1], b[0], lane, None, args(b[1], b[2])))
            want.append(key('E', t, ts, lane, None, None))
            continue
        m = [i for i, b in enumerate(st) if b[0] == ts - dur and b[1]['name'] == t['name']]
        if not m:
            want.append(key('X', t, ts - dur, lane, dur, {}))
            continue
        while len(st) > m[-1] + 1:
            b = st.pop()
            want.append(key('B', b[1], b[0], lane, None, args(b[1], b[2])))
        b = st.pop()
        want.append(key('X', b[1], b[0], lane, dur, args(b[1], b[2])))
    elif k == 'counter':
        want.append(key('C', t, ts, lane, None, args(t, a)))
    else:
        want.append(key('i', t, ts, lane, None, args(t, a), 't'))
for lane, st in open_b.items():
    for b in st:
        want.append(key('B', b[1], b[0], lane, None, args(b[1], b[2])))

got, meta, marks = [], [], []
for e in evs:
    ph = e['ph']
    if ph == 'M':
        meta.append(e); continue
    if e.get('s') == 'g':
        marks.append(e); continue
    dur = ns(e['dur']) if 'dur' in e else None
    a = norm(e['args']) if 'args' in e else None
    got.append((ph, e['name'], e['cat'], ns(e['ts']), e['pid'], e['tid'], dur, e.get('s'),
                json.dumps(a, sort_keys=True)))

print('phases:', dict(Counter(w[0] for w in got)), 'markers:', len(marks))
cw, cg = Counter(want), Counter(got)
if cw != cg:
    missing = list((cw - cg).elements())[:3]
    extra = list((cg - cw).elements())[:3]
    err('events differ: %d wanted, %d got; missing %s; extra %s' % (len(want), len(got), missing, extra))
# phase counts straight from SQL, as a second opinion
w = ' AND '.join(where) if where else '1'
sql = lambda s: db.execute('SELECT count(*) FROM events e JOIN lanes l ON l.id = e.lane '
                           'JOIN event_types t ON t.id = e.type WHERE %s AND %s' % (w, s), params).fetchone()[0]
if not esel and lo is None and hi is None:
    ph = Counter(x[0] for x in got)
    for p, s in (('C', "t.kind = 'counter'"), ('i', "t.kind IN ('instant', 'log')"),
                 ('X', "t.kind = 'span_end' AND e.dur IS NOT NULL"),
                 ('E', "t.kind = 'span_end' AND e.dur IS NULL")):
        if ph.get(p, 0) != sql(s):
            err('phase %s: %d events, the database has %d' % (p, ph.get(p, 0), sql(s)))
    nb = sql("t.kind = 'span_begin'") - sql("t.kind = 'span_end' AND e.dur IS NOT NULL")
    if ph.get('B', 0) != nb:
        err('phase B: %d, want begins - complete spans = %d' % (ph.get('B', 0), nb))

# metadata: each guest a process, each lane a thread
gq = 'SELECT id, name FROM guests' + (' WHERE id IN (%s)' % ','.join(map(str, gsel)) if gsel else '')
pn = {e['pid']: e['args']['name'] for e in meta if e['name'] == 'process_name'}
if pn != {g: text(nm) for g, nm in db.execute(gq)}:
    err('process_name metadata %s' % pn)
tn = {(e['pid'], e['tid']): e['args']['name'] for e in meta if e['name'] == 'thread_name'}
for lid, (g, v) in lanes.items():
    if (not gsel or g in gsel) and tn.get((g, v)) != 'vcpu %d' % v:
        err('no thread_name for guest %d vcpu %d' % (g, v))

# markers: lost ranges and crashes, global instants
lq = ('SELECT l.guest_id, l.vcpu, x.count, x.reason, coalesce(x.ts_before, x.ts_after, g.first_ts, 0) '
      'FROM lost x JOIN lanes l ON l.id = x.lane JOIN guests g ON g.id = l.guest_id')
wl = sorted((g, v, c, text(r), ts) for g, v, c, r, ts in db.execute(lq)
            if (not gsel or g in gsel) and (lo is None or ts >= lo) and (hi is None or ts <= hi))
gl = sorted((e['pid'], e['tid'], e['args']['count'], e['args']['reason'], ns(e['ts']))
            for e in marks if e['name'] == 'lost events')
if wl != gl:
    err('lost markers %s, want %s' % (gl[:3], wl[:3]))
cq = 'SELECT c.guest_id, c.reason, coalesce(c.ts, g.last_ts, 0) FROM crashes c JOIN guests g ON g.id = c.guest_id'
wc = sorted((g, text(r), ts) for g, r, ts in db.execute(cq)
            if (not gsel or g in gsel) and (lo is None or ts >= lo) and (hi is None or ts <= hi))
gc = sorted((e['pid'], e['args']['reason'], ns(e['ts'])) for e in marks if e['name'] == 'crash')
if wc != gc:
    err('crash markers %s, want %s' % (gc, wc))
for e in marks:
    if e['ph'] != 'i' or e['s'] != 'g' or 'reason' not in e['args'] or 'count' not in e['args']:
        err('marker %s lacks ph i, s g, reason or count' % e)
print('events: %d, lost markers: %d, crash markers: %d' % (len(got), len(gl), len(gc)))
for m in errs:
    print(m)
sys.exit(1 if errs else 0)
PY

# check JSON [args of check.py...]: export already done; compare
check() { python3 "$T/check.py" "$@" >"$T/check.out" 2>&1; }

# ---- the whole trace ---------------------------------------------------------
out=$T/all.json
$UT export "$db" --format chrome -o "$out" 2>"$T/err"
ok $? "export --format chrome succeeds" "$(cat "$T/err")"
check "$out" "$db"
ok $? "every event, phase, name, timestamp, arg, marker and metadata matches the database ($(head -1 "$T/check.out"))" "$(cat "$T/check.out")"
grep -q '"ts":[0-9]*\.[0-9][0-9][0-9],' "$out"
ok $? "timestamps are printed with exactly three decimals"
grep -q '"u64":"18446744073709551615"' "$out" && grep -q '"u64":9007199254740992,' "$out" &&
	grep -q '"u64":"9007199254740993"' "$out"
ok $? "u64 above 2^53 as a string, 2^53 as a number"
grep -q '"f64":"Infinity"' "$out" && grep -q '"f64":"-Infinity"' "$out" &&
	grep -q '"raw":"00017f80ff10"' "$out" && grep -q '"x64":"0x8000000000000001"' "$out"
ok $? "infinities, bytes as hex, hex fields as 0x strings"
grep -q '"args":{"total":18446744073709551615,"flags":3735928559,"small":7}' "$out"
ok $? "a counter's integers are JSON numbers (u64 with its exact digits, hex in decimal)"
grep -qF '"msg":"tab\there nl\n ctl\u0001 del\u007f bad\ufffd\ufffd ok é q\" b\\"' "$out"
ok $? "strings JSON-escaped: control characters, invalid UTF-8 as U+FFFD"
ls -A "$T" | grep -q '\.tmp\.' && r=1 || r=0
ok $r "no temporary file left"

# ---- filters --------------------------------------------------------------------
g1=$(q "$db" "SELECT id FROM guests WHERE name = 'export_guest'")
g2=$(q "$db" "SELECT id FROM guests WHERE name = 'demo-guest'")
$UT export "$db" -f chrome -o "$T/g.json" --guest demo-guest -q 2>"$T/err" &&
	check "$T/g.json" "$db" "$g2"
ok $? "--guest NAME: only that guest ($(head -1 "$T/check.out"))" "$(cat "$T/err" "$T/check.out")"
$UT export "$db" -f chrome -o "$T/g.json" --guest "$g1" -q 2>"$T/err" &&
	check "$T/g.json" "$db" "$g1"
ok $? "--guest ID: only that guest, with its lost ranges and crash ($(tail -1 "$T/check.out"))" "$(cat "$T/err" "$T/check.out")"
$UT export "$db" -f chrome -o "$T/e.json" --event ints --event outer --event log -q 2>"$T/err" &&
	check "$T/e.json" "$db" - ints,outer,log
ok $? "--event NAME...: only those events ($(head -1 "$T/check.out"))" "$(cat "$T/err" "$T/check.out")"
# a window by the ints events: from the 2nd (in us) to the 2nd misc (in s)
from=$(q "$db" "SELECT ts FROM ev_ints ORDER BY ts LIMIT 1 OFFSET 1")
to=$(q "$db" "SELECT ts FROM ev_misc ORDER BY ts LIMIT 1 OFFSET 1")
from_us=$((from / 1000))
to_s=$(printf '%d.%09d' $((to / 1000000000)) $((to % 1000000000)))
$UT export "$db" -f chrome -o "$T/w.json" --guest "$g1" --from "${from_us}us" --to "${to_s}s" -q 2>"$T/err" &&
	check "$T/w.json" "$db" "$g1" - $((from_us * 1000)) "$to"
ok $? "--from 123us --to 1.5s: the window, exactly ($(head -1 "$T/check.out"))" "$(cat "$T/err" "$T/check.out")"
is "$(python3 -c "import json;print(sum(1 for e in json.load(open('$T/w.json'))['traceEvents'] if e['name'] in ('ints','misc')))")" \
	"$(q "$db" "SELECT count(*) FROM events e JOIN event_types t ON t.id = e.type WHERE t.name IN ('ints', 'misc') AND e.ts BETWEEN $((from_us * 1000)) AND $to")" \
	"...holding the ints and misc events of the window"
$UT export "$db" -f chrome -o "$T/w2.json" --from "$((from / 1000000))ms" --to "$to" -q &&
	check "$T/w2.json" "$db" - - $((from / 1000000 * 1000000)) "$to"
ok $? "--from Nms --to NS (integer nanoseconds)" "$(cat "$T/check.out")"

# ---- bad input: clear message, non-zero exit, no OUT -----------------------------
bad() { # description, expected status (or "nz"), message pattern, args...
	local d=$1 want=$2 pat=$3
	shift 3
	rm -f "$T/bad.json"
	$UT export "$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ "$want" = nz ]; then [ $rc -ne 0 ]; else [ $rc -eq "$want" ]; fi &&
		grep -qiE "$pat" "$T/err" && [ ! -e "$T/bad.json" ] &&
		! ls -A "$T" | grep -q '\.tmp\.'
	ok $? "$d (exit $rc: $(head -1 "$T/err"))" "$(cat "$T/err")"
}
bad "a missing database" 1 "no such|not exist|missing|cannot" "$T/nope.db" -f chrome -o "$T/bad.json"
bad "an unknown format" 2 "unknown format 'xml'" "$db" -f xml -o "$T/bad.json"
bad "no format" 2 "no format" "$db" -o "$T/bad.json"
bad "no output" 2 "no output" "$db" -f chrome
bad "an unknown event name" 1 "no event named 'nosuch'" "$db" -f chrome -o "$T/bad.json" --event nosuch
bad "an unknown guest" 1 "no guest named 'nosuch'" "$db" -f chrome -o "$T/bad.json" --guest nosuch
bad "a bad time" 2 "not a time" "$db" -f chrome -o "$T/bad.json" --from 1.5parsecs
bad "--from after --to" 2 "after" "$db" -f chrome -o "$T/bad.json" --from 2s --to 1s
bad "an unknown option" 2 "unknown option" "$db" -f chrome -o "$T/bad.json" --frobnicate
rm -f "$T/bad.json"
$UT export "$db" -f chrome -o "$T/nodir/x.json" 2>"$T/err"; r=$?
[ $r -eq 1 ] && grep -q "cannot write" "$T/err" && [ ! -e "$T/nodir" ]
ok $? "an output directory that does not exist: exit 1 ($(head -1 "$T/err"))" "$(cat "$T/err")"
mkdir "$T/ro" && chmod 555 "$T/ro"
if [ "$(id -u)" = 0 ]; then
	# root writes anywhere: a directory nobody can write to is /proc
	$UT export "$db" -f chrome -o /proc/ut-export-test.json 2>"$T/err"; r=$?
	[ $r -eq 1 ] && grep -q "cannot write" "$T/err" && [ ! -e /proc/ut-export-test.json ]
else
	$UT export "$db" -f chrome -o "$T/ro/x.json" 2>"$T/err"; r=$?
	[ $r -eq 1 ] && grep -q "cannot write" "$T/err" && [ -z "$(ls -A "$T/ro")" ]
fi
ok $? "an unwritable output directory: exit 1, nothing written ($(head -1 "$T/err"))" "$(cat "$T/err")"
echo old >"$T/keep.json"
$UT export "$db" -f chrome -o "$T/keep.json" --event nosuch 2>/dev/null
is "$(cat "$T/keep.json")" old "a failed export leaves an existing OUT as it was"
$UT export "$db" -f chrome -o "$T" 2>"$T/err"; r=$?
[ $r -eq 1 ] && grep -q "is a directory" "$T/err"
ok $? "OUT a directory: exit 1 ($(head -1 "$T/err"))"

# ---- killed midway: no OUT ---------------------------------------------------------
big=$T/big.db
$UT run -q -o "$big" -- "$DEMO" --threads 2 --duration 1 --event-rate 400000 -q >/dev/null 2>&1
nbig=$(q "$big" "SELECT count(*) FROM events")
ok $(( nbig > 100000 ? 0 : 1 )) "a large trace for the interrupted export ($nbig events)"
for sig in TERM INT; do
	out=$T/killed-$sig.json
	( exec "$UT" export "$big" -f chrome -o "$out" -q ) 2>"$T/err" &
	pid=$!
	tmp="$T/.killed-$sig.json.tmp.$pid"
	# the state: the temporary file exists (the export has started); stop
	# the exporter there so that it cannot finish before the signal
	for ((i = 0; i < 200000; i++)); do [ -e "$tmp" ] && break; kill -0 $pid 2>/dev/null || break; done
	kill -STOP $pid 2>/dev/null
	if [ -e "$out" ] || [ ! -e "$tmp" ]; then
		kill -CONT $pid 2>/dev/null; wait $pid
		skip "SIG$sig midway" "the export finished before it could be stopped"
		continue
	fi
	kill -$sig $pid; kill -CONT $pid
	wait $pid; r=$?
	[ ! -e "$out" ] && [ ! -e "$tmp" ] && ! ls -A "$T" | grep -q '\.tmp\.'
	ok $? "SIG$sig midway: no $out and no temporary file (exit $r: $(head -1 "$T/err"))" "$(ls -A "$T")"
	sname=$(kill -l $((r - 128)) 2>/dev/null)
	is "$sname" "$sig" "...and unitrace export dies of SIG$sig"
done
# the same trace exported whole: it parses and holds every event
$UT export "$big" -f chrome -o "$T/big.json" 2>"$T/err" && check "$T/big.json" "$big"
ok $? "the large trace exports whole and matches ($(head -1 "$T/check.out"))" "$(cat "$T/check.out")"

# ---- progress lines: only when the export ran longer than a second -------------------
if [ -s "$T/err" ]; then
	! grep -vq "^export: [0-9]*/$nbig events ([0-9]*%)$" "$T/err" &&
		tail -1 "$T/err" | grep -q "^export: $nbig/$nbig events (100%)$"
	ok $? "progress lines 'export: N/M events (P%)', the last one 100% ($(tail -1 "$T/err"))" "$(cat "$T/err")"
else
	skip "progress lines" "the export took less than a second (no lines is right)"
fi
$UT export "$big" -f chrome -o "$T/big.json" -q 2>"$T/err"
[ ! -s "$T/err" ]
ok $? "-q: no progress lines"
echo "1..$n"
