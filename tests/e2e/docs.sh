#!/usr/bin/env bash
# The documentation against the code: every man page renders without
# warnings, every command of `unitrace --help` has a man page and is in
# docs/collector.md, and every long option of `unitrace CMD --help` is in
# that command's man page.  TAP output.
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

echo "1..$n"
