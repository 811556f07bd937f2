#!/usr/bin/env bash
# tests/xen/emulator-fault.sh RESULTS: exit 0 when the rig's results show the
# emulated machine's own fault (tests/e2e/xen.sh then runs the rig once
# more), 1 otherwise.  The signatures and why: tests/e2e/xen.sh and
# tests/xen/README.md (Pitfalls); tests/e2e/xen_checks.sh tests them.
set -u
res=${1:?usage: $0 RESULTS-DIR}
f() {
	# a corrupt ring whose copy and ring disagree where the guest cannot
	# have rewritten it since (oldest now not past the record: its slot
	# was not handed back to the producer)
	[ -f "$res/trace.db" ] && sqlite3 -batch -noheader "$res/trace.db" \
		"SELECT reason FROM guests WHERE status = 'corrupt'" 2>/dev/null |
		sed -n 's/.*record at position \([0-9]*\) .*: \([0-9a-f]\{32\}\); ring now \([0-9a-f]\{32\}\), head [0-9]* oldest \([0-9]*\)].*/\1 \2 \3 \4/p' |
		awk '$2 != $3 && $4 + 0 <= $1 + 0 { found = 1 } END { exit !found }' && return 0
	# stored rows out of sequence on a lane: the reader refuses those, so
	# the rows changed in dom0's memory after they were checked
	[ -f "$res/trace.db" ] && [ "$(sqlite3 -batch -noheader "$res/trace.db" \
		"SELECT count(*) FROM (SELECT seq, lag(seq) OVER (PARTITION BY lane ORDER BY rowid) AS p FROM events) WHERE seq <= p" 2>/dev/null)" -gt 0 ] 2>/dev/null &&
		return 0
	grep -qE 'Segmentation fault|Aborted|corrupted (top|size)|Inconsistency detected by ld.so|fatal signal' \
		"$res/notes" 2>/dev/null && return 0
	# a dom0 program killed by a fault (the kernel's own line)
	grep -qE '(segfault at|general protection fault|trap invalid opcode) .* in ' \
		"$res/dom0-dmesg.txt" 2>/dev/null && return 0
	# a demo domain's triple fault (none of the rig's runs crashes that
	# way: they end in SCHEDOP_shutdown), seen with Xen's own RIP in it
	grep -q 'Triple fault' "$res/xl-dmesg.txt" 2>/dev/null
}
f
