#!/usr/bin/env bash
# The documentation against the code: every man page renders without
# warnings, every command of `unitrace --help` has a man page and is in
# docs/collector.md, and every long option of `unitrace CMD --help` is in
# that command's man page; docs/schema.md's recipes and examples give what
# it says on values near their limits and on a demo trace.  TAP output.
set -u
top=${UT_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$top" || exit 1
B=${B:-build}
UT=$B/unitrace
MAN=docs/man
GUIDE=docs/collector.md
. "$(dirname "$0")/../harness.sh" # ok is skip q until_ok; n=0


# Man page source with roff's \- turned into plain hyphens.
man_text() { sed 's/\\-/-/g' "$1"; }
# True if (file) mentions long option (opt) as a whole word.
has_opt() { man_text "$1" | grep -qE -- "(^|[^A-Za-z0-9-])$2([^A-Za-z0-9-]|\$)"; }

# ---- every man page renders without warnings --------------------------------
pages=("$MAN"/*.1)
if [ ! -e "${pages[0]}" ]; then
	ok 1 "man pages exist in $MAN"
else
	for p in "${pages[@]}"; do
		if ! command -v groff >/dev/null 2>&1; then
			skip "$p renders without warnings" "groff missing"
			continue
		fi
		out=$(groff -man -ww -z "$p" 2>&1)
		rc=$?
		if [ $rc -eq 0 ] && [ -z "$out" ] && command -v man >/dev/null 2>&1; then
			out=$(MANWIDTH=80 man --warnings -l -Tutf8 "$p" 2>&1 >/dev/null)
			rc=$?
		fi
		[ -n "$out" ] && rc=1
		ok $rc "$p renders without warnings" "$out"
	done
fi

# ---- commands and options ---------------------------------------------------
if [ ! -x "$UT" ]; then
	ok 1 "$UT is built"
	echo "1..$n"
	exit 1
fi
cmds=$("$UT" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z0-9-]*\) .*/\1/p')
[ -n "$cmds" ]
ok $? "unitrace --help lists commands ($(echo $cmds))"

for c in $cmds; do
	page=$MAN/unitrace-$c.1
	[ -f "$page" ]
	ok $? "unitrace $c has a man page ($page)"
	man_text "$MAN/unitrace.1" 2>/dev/null | grep -q -- "unitrace-$c"
	ok $? "unitrace.1 lists unitrace $c"
	grep -q -- "unitrace $c" "$GUIDE" 2>/dev/null
	ok $? "$GUIDE mentions unitrace $c"
	[ -f "$page" ] || continue
	help=$("$UT" "$c" --help 2>&1)
	opts=$(printf '%s\n' "$help" | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
	missing=""
	for o in $opts; do
		has_opt "$page" "$o" || missing="$missing $o"
	done
	[ -z "$missing" ]
	ok $? "every long option of 'unitrace $c --help' is in $page ($(echo $opts))" \
		"missing:$missing"
done

# ---- docs/schema.md's recipes, run as written ------------------------------
SCHEMA=docs/schema.md
T=$(mktemp -d /tmp/ut-docs.XXXXXX)
trap 'rm -rf "$T"' EXIT
# The first ```sql block after the heading line (heading).
sql_after() { awk -v h="$1" '$0 == h {f = 1} f && /^```sql$/ {b = 1; next} b && /^```$/ {exit} b' "$SCHEMA"; }
# Its statements, one per line (the comments stripped), run on (db).
run_sql() { sqlite3 -batch -noheader "$1" "$(sql_after "$2" | sed 's/ *--.*$//')"; }

# u64: the exact value of a field near 2^64 (the stored bits of 2^64 - 2)
sqlite3 "$T/u64.db" "CREATE TABLE events(a0); INSERT INTO events VALUES (-2)"
got=$(run_sql "$T/u64.db" "### u64 values" 2>&1 | tr '\n' ' ')
is "$got" "18446744073709551614 0xfffffffffffffffe " \
	"schema.md's u64 recipes give 2^64 - 2 exactly"
# f64: NULL is a NaN
sqlite3 "$T/f64.db" "CREATE TABLE ev_req(ts, load); INSERT INTO ev_req VALUES (1, 0.0/0), (2, 1e999), (3, 0.5)"
got=$(run_sql "$T/f64.db" "### f64 NaN and infinities" 2>&1 | tr '\n' ' ')
is "$got" "1|NaN 2|Inf 3|0.5 1 " "schema.md's NaN recipes find the NaN stored as NULL"

# The built-in log event, on a trace of the demo (it logs errors,
# warnings and info): the examples select errors and warnings only.
DEMO=$B/demo-guest
if "$UT" run -q -o "$T/demo.db" -- "$DEMO" --threads 2 --duration 0.5 >/dev/null 2>&1; then
	want=$(sqlite3 -batch -noheader "$T/demo.db" "SELECT count(*) FROM events e JOIN event_types t ON t.id = e.type WHERE t.name = 'log' AND e.a0 IN (0, 1)")
	ex=$(grep -F 'FROM ev_log' "$SCHEMA" | grep '^sqlite3 build/demo/trace.db' | head -1)
	sql=${ex#sqlite3 build/demo/trace.db \"}; sql=${sql%\"}
	got=$(sqlite3 -batch -noheader "$T/demo.db" "$sql" 2>&1)
	lv=$(printf '%s\n' "$got" | cut -d'|' -f2 | sort -u | tr '\n' ' ')
	[ -n "$ex" ] && [ "$want" -gt 0 ] && [ "$(printf '%s\n' "$got" | wc -l)" = "$want" ] && [ "$lv" = "0 1 " ]
	ok $? "schema.md's ev_log example lists the $want errors and warnings (levels: $lv)" "$ex"
	got=$(run_sql "$T/demo.db" "## The built-in log event" 2>&1)
	lv=$(printf '%s\n' "$got" | cut -d'|' -f4 | sort -u | tr '\n' ' ')
	[ "$(printf '%s\n' "$got" | wc -l)" = "$want" ] && [ "$lv" = "error warn " ]
	ok $? "schema.md's log query names the levels (got: $lv)"
	ml=$(sqlite3 -batch -noheader "$T/demo.db" "SELECT f.max_len || ' ' || (SELECT max(length(msg)) FROM ev_log) FROM event_fields f JOIN event_types t ON t.id = f.type_id WHERE t.name = 'log' AND f.name = 'msg'")
	grep -qE '^\| max_len \| .*declared maximum' "$SCHEMA" && [ "${ml% *}" = 200 ] && [ "${ml#* }" -lt 200 ]
	ok $? "max_len is the declared maximum as schema.md says (max_len, longest msg: $ml)"
	layout=$(sqlite3 -batch -noheader "$T/demo.db" "SELECT kind || ' ' || layout || ' ' || guest_type_id FROM event_types WHERE name = 'log'")
	grep -qF "kind \`'log'\`, layout \`level:u8,msg:str\`" "$SCHEMA" && [ "$layout" = "log level:u8,msg:str 1" ]
	ok $? "schema.md's log layout is the stored one ($layout)"
	for ex in $(grep -n '^sqlite3 build/demo/trace.db "' "$SCHEMA" | cut -d: -f1); do
		line=$(sed -n "${ex}p" "$SCHEMA")
		sql=${line#sqlite3 build/demo/trace.db \"}; sql=${sql%\"}
		out=$(sqlite3 -batch -noheader "$T/demo.db" "$sql" 2>&1)
		[ $? -eq 0 ] && [ -n "$out" ]
		ok $? "schema.md line $ex runs on a demo trace" "$line
$out"
	done
else
	skip "schema.md's examples on a demo trace" "the demo did not run"
fi

echo "1..$n"
