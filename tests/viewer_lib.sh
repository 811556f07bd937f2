# The tmux rig of the viewer's end-to-end tests (tests/e2e/viewer*.sh):
# the real `unitrace view` in a tmux virtual terminal, keys in with
# send-keys, the screen out with capture-pane.  Source it after
# tests/harness.sh, with top, B, UT and DEMO set; set W and H (columns and
# rows, default 160x45) before `start` to change the terminal size.
# It prints a skipped test and exits when tmux is missing, and a failed one
# when the binaries are not built.

if ! command -v tmux >/dev/null 2>&1; then
	echo "ok 1 - viewer tests # SKIP tmux not installed"
	echo "1..1"
	exit 0
fi
for bin in "$UT" "$DEMO"; do
	if [ ! -x "$bin" ]; then
		echo "not ok 1 - $bin is built"
		echo "1..1"
		exit 1
	fi
done
if ! "$UT" view --help >/dev/null 2>&1; then
	echo "not ok 1 - 'unitrace view' is linked into $UT"
	echo "1..1"
	exit 1
fi

T=$(mktemp -d /tmp/ut-view.XXXXXX)
TM=(tmux -L "ut-view-$$" -f /dev/null)
cleanup() {
	"${TM[@]}" kill-server >/dev/null 2>&1
	[ -n "${RUNPID:-}" ] && pkill -TERM -P "$RUNPID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
W=${W:-160} H=${H:-45}
# A session that lives for the whole test keeps the tmux server up: killing
# the last session makes the server exit asynchronously, and a new-session
# racing with that exit fails with "server exited unexpectedly".
"${TM[@]}" new-session -d -s keep "sleep 100000"

# Start the viewer on (db) in a fresh session "v"; its exit status goes to
# $T/rc.  Extra arguments go to unitrace view.  The viewer reports in
# $T/status "keys N" whenever it has read the N keys sent so far, drawn
# them and has nothing pending for the screen (UNITRACE_VIEW_STATUS): the
# script waits for that state, never for a duration.
start() { # db [args...]
	local db=$1
	shift
	rm -f "$T/rc" "$T/status"
	NKEYS=0
	"${TM[@]}" kill-session -t v >/dev/null 2>&1
	"${TM[@]}" new-session -d -s v -x $W -y $H \
		"env TERM=xterm-256color LANG=C.UTF-8 UNITRACE_VIEW_STATUS=$T/status $UT view $* $db; echo \$? >$T/rc; sleep 60"
	"${TM[@]}" set-option -g escape-time 0 >/dev/null 2>&1
	settled
}
screen() { "${TM[@]}" capture-pane -p -t v; }
# Until the viewer has read $NKEYS keys and is idle, or has exited.  The
# bound only keeps a broken viewer from hanging the suite.
settled() {
	local i
	for ((i = 0; i < 1200; i++)); do
		[ "$(cat "$T/status" 2>/dev/null)" = "keys $NKEYS" ] && return 0
		[ -s "$T/rc" ] && return 0
		sleep 0.05
	done
	echo "# the viewer never settled after $NKEYS keys: $(cat "$T/status" 2>/dev/null)"
	return 1
}
# Send keys (tmux key names or literal strings), then wait until the
# viewer has read and drawn them.
keys() {
	local k
	"${TM[@]}" send-keys -t v "$@"
	for k in "$@"; do
		case $k in
		Enter | Escape | Tab | BTab | Up | Down | Left | Right | BSpace | \
			Space | PPage | NPage | Home | End | F1) NKEYS=$((NKEYS + 1)) ;;
		*) NKEYS=$((NKEYS + ${#k})) ;;
		esac
	done
	settled
}
# Wait until the screen matches (ERE) or (seconds) pass.
wait_for() { # regex seconds
	local i
	for ((i = 0; i < ${2:-5} * 10; i++)); do
		screen 2>/dev/null | grep -qE -- "$1" && return 0
		sleep 0.1
	done
	return 1
}
# The lane area (below the ruler, above the info line).
lanes() { screen | sed -n "4,$((H - 2))p"; }
wait_rc() { # seconds
	local i
	for ((i = 0; i < ${1:-5} * 10; i++)); do
		[ -s "$T/rc" ] && return 0
		sleep 0.1
	done
	return 1
}

