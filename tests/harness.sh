# Shared TAP helpers of the e2e scripts (tests/e2e/*.sh): source it
# (. "$(dirname "$0")/../harness.sh"), call ok/is/skip, print "1..$n" at the
# end.  Not in tests/e2e/: tests/run.sh runs every script there.
n=0

# ok STATUS DESCRIPTION [DIAGNOSTICS]: a test point, passed if STATUS is 0;
# the diagnostics are printed as comments when it fails.
ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		[ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/#   /'
	fi
	return 0
}
# is GOT WANT DESCRIPTION
is() {
	n=$((n + 1))
	if [ "$1" = "$2" ]; then echo "ok $n - $3"
	else echo "not ok $n - $3"; echo "#   got '$1', want '$2'"; fi
}
# skip DESCRIPTION REASON
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
# q DB SQL: one query, no header
q() { sqlite3 -batch -noheader "$1" "$2"; }
# Until (command...) succeeds; the bound only keeps a broken run from
# hanging the suite.  The tests wait for states, never for durations.
until_ok() { local i; for ((i = 0; i < 1200; i++)); do "$@" && return 0; sleep 0.05; done; return 1; }

# db_is DB SQL WANT: the query's answer is WANT; db_pos DB SQL: it is a
# positive number; db_ge DB SQL N: a number >= N (states for until_ok)
db_is() { [ "$(q "$1" "$2" 2>/dev/null)" = "$3" ]; }
db_pos() { [ "$(q "$1" "$2" 2>/dev/null)" -gt 0 ] 2>/dev/null; }
db_ge() { [ "$(q "$1" "$2" 2>/dev/null || echo 0)" -ge "$3" ] 2>/dev/null; }

# In a sanitizer build, leave fatal signals to the guests' own crash
# handlers (the crash tests capture them) and skip the leak check of the
# processes they kill.
guest_crash_asan() {
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0:handle_abort=0:detect_leaks=0"
}
