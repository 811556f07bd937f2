#!/usr/bin/env bash
# The Xen rig: boot Xen 4.17 + a Debian dom0 under QEMU (TCG: KVM does not
# work on these machines), run tests/xen/dom0-init.sh in dom0, bring the
# results back through a raw virtio disk and check them here. Prints TAP.
#
#   B=build tests/xen/run.sh [boot|stub|full]
#
#   boot   Xen and dom0 up to `xl info`, then power off (about 25 s)
#   stub   + the rig's self-test PVH guest (pvh-stub.S): xl create, it
#          prints a line and crashes itself, on_crash=preserve keeps it
#   full   (default) the traced PVH demo: one run traced, one that crashes;
#          the Unikraft application: two guests traced at once, one crash
#   check  no QEMU: the checks of a full run over the results already in
#          $B/xen-rig/results (or XEN_RIG_RESULTS=DIR); exit 1 if one fails
#
# Environment:
#   XEN_RIG_TIMEOUT=S     hard limit on QEMU (default 180 s boot, 600 s full,
#                         times XEN_RIG_SCALE)
#   XEN_RIG_SCALE=K       multiply every bound of the rig (QEMU's limit, each
#                         wait for a state in dom0, ctl's answer time) by K:
#                         the emulated machine is K times slower when the
#                         host's cores are busy (default 1; 4 under
#                         UT_LOAD=1, make test-load).  Bounds only end a
#                         broken run: no check depends on time.
#   XEN_BENCH_DUMPCORE=1  also time `xl dump-core` of the crashed domain (slow
#                         under TCG: about 530 s for 128 MB PVH), for at most
#                         XEN_BENCH_DUMPCORE_LIMIT s (default 400; the QEMU
#                         limit grows by as much)
#   XEN_RIG_SHELL=1       leave a shell on the console instead of powering off
#   XEN_TRACE_S=10 XEN_CRASH_AFTER_S=2  demo durations
#   XEN_RATE=1000         events/s of the traced run: the demo's rate= (0 is
#                         flat out; bench/xen.sh)
#   XEN_GUESTS=1          domains traced at once in the first run (2 adds
#                         pvhdemo3 beside pvhdemo1; under QEMU TCG two HVM
#                         guests running at once see each other's memory
#                         now and then -- corrupt rings, triple faults --
#                         so the default stays 1: tests/xen/README.md)
#   XEN_CTL=0             do not drive the traced run with `unitrace ctl` (its
#                         ring stays in discard mode; the ctl checks SKIP)
#   XEN_RIG_COLLECT=0     a control run without the collector (dom0-init.sh:
#                         rig.collect=0; =busy: a dd loop keeps dom0 busy
#                         instead); its checks fail, dom0-dmesg.txt and the
#                         notes tell whether dom0's faults still show
#   XEN_RIG_COPY=DIR      copy results/ to DIR before releasing the rig lock
#                         (a rig waiting for the lock starts by deleting it)
#   XEN_CRASH_KIND=null   the demo's crash= (null, ud, div, panic)
# Files: $B/xen-rig/logs/MODE.log (serial console, host seconds on each
# line), $B/xen-rig/results/ (what dom0 wrote: timings, trace.db, cores,
# console logs, collector stderr).
set -u
B=${B:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
export B
MODE=${1:-full}
R=$B/xen-rig
LOGS=$R/logs
RES=$R/results
LOG=$LOGS/$MODE.log
n=0
failed=0
ok() { n=$((n + 1)); if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
bail() { ok 1 "$1"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/#   /'; echo "1..$n"; exit 1; }

DUMPCORE=${XEN_BENCH_DUMPCORE:-0}
DUMPLIMIT=${XEN_BENCH_DUMPCORE_LIMIT:-400}
RATE=${XEN_RATE:-1000}
CTL=${XEN_CTL:-1}
GUESTS=${XEN_GUESTS:-1}
COPY=${XEN_RIG_COPY:-}
# they go onto the kernel command line: digits only
for v in "$DUMPLIMIT" "$RATE" "$CTL" "$GUESTS"; do
	case $v in '' | *[!0-9]*) echo "$0: not a number: '$v'" >&2; exit 2 ;; esac
done
SCALE=${XEN_RIG_SCALE:-$([ "${UT_LOAD:-0}" = 1 ] && echo 4 || echo 1)}
case $SCALE in '' | 0 | *[!0-9]*) echo "$0: XEN_RIG_SCALE: not a positive number: '$SCALE'" >&2; exit 2 ;; esac
[ "$DUMPCORE" = 1 ] && extra=$((2 * DUMPLIMIT + 60)) || extra=0
case $MODE in
boot|stub) TIMEOUT=${XEN_RIG_TIMEOUT:-$(((180 + extra) * SCALE))} ;;
full) TIMEOUT=${XEN_RIG_TIMEOUT:-$(((600 + extra) * SCALE))} ;;
check) ;;
*) echo "usage: $0 [boot|stub|full|check]" >&2; exit 2 ;;
esac
if [ "$MODE" != check ]; then
command -v qemu-system-x86_64 >/dev/null || bail "qemu-system-x86_64 present"

# ---- build what is missing -------------------------------------------------
mkdir -p "$R"
# one rig at a time per build folder (they share xfer.img and results/)
exec 9>"$R/.lock"
flock -w 900 9 || bail "lock $R/.lock (another rig has been running for 15 min)"
t0=$EPOCHREALTIME
tests/xen/fetch.sh > "$R/fetch.log" 2>&1 || bail "fetch the Xen packages" "$(tail -5 "$R/fetch.log")"
tests/xen/build-initramfs.sh > "$R/initramfs.log" 2>&1 || bail "build the dom0 initramfs" "$(tail -5 "$R/initramfs.log")"
prep=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
ok 0 "packages fetched and dom0 initramfs built (${prep} s, $(du -h "$R/dom0.cpio" | cut -f1))"

# ---- boot ------------------------------------------------------------------
mkdir -p "$LOGS"
rm -rf "$RES" "$R/xfer.img"
truncate -s 512M "$R/xfer.img"
XEN_CMDLINE="console=com1 com1=115200,8n1 loglvl=all guest_loglvl=all dom0_mem=1024M,max:1024M dom0_max_vcpus=2 smap=0 smep=0"
DOM0_CMDLINE="console=hvc0 earlyprintk=xen loglevel=4 rdinit=/init rig.mode=$MODE rig.dumpcore=$DUMPCORE rig.dumplimit=$DUMPLIMIT rig.rate=$RATE rig.ctl=$CTL rig.guests=$GUESTS rig.trace=${XEN_TRACE_S:-10} rig.crash_after=${XEN_CRASH_AFTER_S:-2} rig.crash=${XEN_CRASH_KIND:-null} rig.shell=${XEN_RIG_SHELL:-0} rig.scale=$SCALE rig.collect=${XEN_RIG_COLLECT:-1}"
case ${XEN_RIG_COLLECT:-1} in 0 | 1 | busy) ;; *) echo "$0: XEN_RIG_COLLECT: 0, 1 or busy" >&2; exit 2 ;; esac
# QEMU's -initrd for a multiboot kernel is a comma-separated module list,
# each "FILE ARGS": a comma inside ARGS must be doubled.
DOM0_CMDLINE=${DOM0_CMDLINE//,/,,}
# stamp: prefix each line with the host seconds since t0
stamp() {
	local line us
	while IFS= read -r line; do
		us=$(( ${EPOCHREALTIME/./} - ${t0/./} ))
		printf '%4d.%02d %s\n' $((us / 1000000)) $((us % 1000000 / 10000)) "${line%$'\r'}"
	done
}
t0=$EPOCHREALTIME
timeout --foreground -k 5 "$TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 2048 \
	-machine pc -nographic -nodefaults -display none -no-reboot -serial stdio \
	-drive "file=$R/xfer.img,format=raw,if=virtio" \
	-kernel "$R/xen" -append "$XEN_CMDLINE" \
	-initrd "$R/vmlinuz $DOM0_CMDLINE,$R/dom0.cpio" </dev/null 2>&1 |
	stamp > "$LOG"
qrc=${PIPESTATUS[0]}
wall=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
ready=$(awk '/RIG DOM0 READY/ { print $1; exit }' "$LOG")
fi

# ---- host-side checks ------------------------------------------------------
if [ "$MODE" = check ]; then
	# the checks of a full run over results already here (or in
	# XEN_RIG_RESULTS): no QEMU, no boot; for re-reading a run, and for
	# tests/e2e/xen_checks.sh
	RES=${XEN_RIG_RESULTS:-$RES}
	MODE=full
	ready=? wall=?
else
[ "$qrc" -eq 0 ]
ok $? "QEMU powered off by itself (exit $qrc, ${wall} s, limit ${TIMEOUT} s; log $LOG)"
[ -n "$ready" ]
ok $? "Xen + dom0 booted to xl info (dom0 ready at ${ready:-never} s)"
if [ -z "$ready" ]; then
	grep -E 'Panic|panic|BUG|FATAL|Oops|error' "$LOG" | head -8 | sed 's/^/#   /'
	tail -5 "$LOG" | sed 's/^/#   /'
fi
mkdir -p "$RES"
tar -C "$R" -xf "$R/xfer.img" 2>/dev/null   # dom0 wrote results/ at offset 0
fi
[ -f "$RES/DONE" ]
ok $? "results came back through the virtio disk ($RES)"
grep -q '^xen_version *: 4\.17' "$RES/xl-info.txt" 2>/dev/null
ok $? "xl info in dom0: $(sed -n 's/^xen_version *: //p' "$RES/xl-info.txt" 2>/dev/null)"
[ -s "$RES/notes" ] && sed 's/^/# dom0 note: /' "$RES/notes"
if [ -f "$RES/timings" ]; then
	echo "# timings (host: QEMU start to dom0 ready ${ready:-?} s, whole run ${wall} s; dom0 steps in seconds):"
	sed 's/^/#   /' "$RES/timings"
fi

if [ "$MODE" = stub ]; then
	grep -q 'pvh-stub: alive' "$RES/xl-dmesg.txt" 2>/dev/null
	ok $? "pvh-stub ran: its 0xE9 line is in xl dmesg"
	grep -qE '^pvhstub .* [-rbps]*c[-rbps]* ' "$RES/xl-list-stub.txt" 2>/dev/null
	ok $? "pvh-stub crashed and on_crash=preserve kept it: $(grep pvhstub "$RES/xl-list-stub.txt" 2>/dev/null)"
	if [ "$DUMPCORE" = 1 ]; then
		d=$(tail -1 "$RES/xl-dump-core-pvhstub.txt" 2>/dev/null)
		case $d in
		rc=0*) ok 0 "xl dump-core of the crashed stub: $d" ;;
		rc=124* | rc=143*) skip "xl dump-core of the crashed stub" "unfinished within the limit: $d" ;;
		*) ok 1 "xl dump-core of the crashed stub: ${d:-no result}" ;;
		esac
	fi
fi

# the crash path of both demos: the faulting function and its callers,
# innermost first (examples/common/workload.c, shared by the demos)
CRASH_FRAMES="parse_cookie lookup_session handle_login"

# exact_run NAME PROG CONSOLE: stored events = what the guest's console says it
# emitted minus dropped (+ overwritten, for a ring switched to overwrite)
exact_run() {
	local g=$1 prog=$2 con=$3 em= dr= gid stored over
	read -r em dr < <(sed -n "s/.*$prog: emitted \([0-9]*\) dropped \([0-9]*\).*/\1 \2/p" "$con" 2>/dev/null | tail -1)
	gid="(SELECT min(id) FROM guests WHERE name = '$g')"
	stored=$(q "SELECT count(*) FROM events e JOIN lanes l ON l.id = e.lane WHERE l.guest_id = $gid")
	over=$(q "SELECT coalesce(sum(count), 0) FROM lost x JOIN lanes l ON l.id = x.lane WHERE l.guest_id = $gid AND reason = 'overwrite'")
	if [ -n "${em:-}" ]; then
		[ "$stored" -gt 0 ] && { [ "$stored" = "$((em - dr))" ] || [ "$((stored + ${over:-0}))" = "$((em - dr))" ]; }
		ok $? "$g: stored events ($stored, + $over overwritten) = emitted - dropped ($em - $dr)"
	else
		ok 1 "$g: the console says '$prog: emitted N dropped M'"
		tail -5 "$con" 2>/dev/null | sed 's/^/#   /'
	fi
	# The reader refuses a record whose sequence number does not rise, so
	# a stored row out of sequence changed in dom0's memory after it was
	# checked (seen under TCG: tests/xen/README.md, Pitfalls).
	local bad
	bad=$(q "SELECT count(*) || coalesce(' (first: row ' || min(rowid) || ')', '') FROM (SELECT e.rowid AS rowid, e.seq AS seq, lag(e.seq) OVER (PARTITION BY e.lane ORDER BY e.rowid) AS p FROM events e JOIN lanes l ON l.id = e.lane WHERE l.guest_id = $gid) WHERE seq <= p")
	[ "${bad:-x}" = 0 ]
	ok $? "$g: every stored row in sequence on its lane (rows out of sequence: ${bad:-query failed})"
}
# overlap A B: both guests were served at once (their event times overlap)
overlap() {
	local a1 b1 a2 b2
	span() { q "SELECT min(e.ts) || ' ' || max(e.ts) FROM events e JOIN lanes l ON l.id = e.lane JOIN guests g ON g.id = l.guest_id WHERE g.name = '$1'"; }
	read -r a1 b1 < <(span "$1")
	read -r a2 b2 < <(span "$2")
	[ -n "${a1:-}" ] && [ -n "${a2:-}" ] && [ "$a1" -lt "$b2" ] && [ "$a2" -lt "$b1" ]
	ok $? "$1 and $2 were traced at the same time (event times overlap: [$a1, $b1] and [$a2, $b2] ns)"
}
# ctl_checks PREFIX NAME: the checks of `unitrace ctl --xen` on guest NAME,
# from the files PREFIXctl*.txt dom0-init wrote ("" for pvhdemo1, "uk-")
ctl_checks() {
	local p=$1 g=$2
	if grep -qE '^ctl: (not built|skipped)' "$RES/ctl.txt" 2>/dev/null; then
		skip "$g: ring mode switched with unitrace ctl" "$(head -1 "$RES/ctl.txt")"
		return
	fi
	grep -qE "^[0-9]+ $g\$" "$RES/${p}ctl-list.txt" 2>/dev/null
	ok $? "$g: unitrace ctl --xen lists the guest's control vchan: $(grep -E " $g\$" "$RES/${p}ctl-list.txt" 2>/dev/null)"
	[ "$(grep -c '^rc=0' "$RES/${p}ctl-disable.txt" 2>/dev/null)" = 2 ] &&
		grep -q 'cache_miss .*disabled' "$RES/${p}ctl-show-disabled.txt" 2>/dev/null
	ok $? "$g: event type disabled and re-enabled over the vchan: $(head -1 "$RES/${p}ctl-disable.txt" 2>/dev/null)"
	grep -q '^rc=0' "$RES/${p}ctl.txt" 2>/dev/null &&
		grep -q 'ring 0 .*overwrite' "$RES/${p}ctl-show.txt" 2>/dev/null
	ok $? "$g: ring mode switched with unitrace ctl: $(head -1 "$RES/${p}ctl.txt" 2>/dev/null)"
}
# crash_checks LABEL NAME ELF "F1 F2...": one crash row for guest NAME whose
# stored backtrace names F1, F2... in that order, and gdb on its core too
crash_checks() {
	local label=$1 g=$2 elf=$3 frames=$4 cid bt core hcore f fa r want
	cid="(SELECT min(c.id) FROM crashes c JOIN guests g ON g.id = c.guest_id WHERE g.name = '$g')"
	[ "$(q "SELECT count(*) FROM crashes c JOIN guests g ON g.id = c.guest_id WHERE g.name = '$g'")" = 1 ]
	ok $? "$label: one crash row for $g"
	bt=$(q "SELECT group_concat(function, ' ') FROM (SELECT f.function FROM crash_frames f JOIN crashes c ON c.id = f.crash_id WHERE f.method = c.bt_method AND c.id = $cid ORDER BY f.idx)")
	[ -n "$bt" ] || bt=$(q "SELECT backtrace FROM crashes WHERE id = $cid" | tr '\n' ' ')
	want=$(echo "$frames" | sed 's/ /.* /g')
	echo " $bt " | grep -qE " $want "
	ok $? "$label: stored backtrace names $frames ($(echo "$bt" | cut -c1-100))"
	core=$(q "SELECT core_path FROM crashes WHERE id = $cid" | head -1)
	hcore=$RES/cores/$(basename "${core:-none}")
	if [ ! -f "$hcore" ]; then
		ok 1 "$label: core file came back ($core)"
		return
	fi
	if command -v gdb >/dev/null; then
		gdb -nx -batch -ex bt "$elf" "$hcore" > "$RES/gdb-bt-$g.txt" 2>&1
		bt=$(sed -n 's/^#[0-9]* *\(0x[0-9a-f]* in \)\{0,1\}\([A-Za-z_][A-Za-z_0-9]*\) .*/\2/p' "$RES/gdb-bt-$g.txt" | tr '\n' ' ')
		echo " $bt " | grep -qE " $want "
		ok $? "$label: gdb -batch -ex bt $(basename "$elf") CORE names $frames"
		grep -E '^#' "$RES/gdb-bt-$g.txt" | head -6 | sed 's/^/#   /'
	else
		skip "$label: gdb bt on the core" "gdb missing"
	fi
	# the core's PT_LOADs sit at the guest's virtual addresses: one holds
	# the faulting function's code (p_paddr is the guest-physical address)
	readelf -lW "$hcore" 2>/dev/null | grep LOAD > "$RES/core-loads-$g.txt"
	f=${frames%% *}
	fa=$(nm "$elf" 2>/dev/null | awk -v f="$f" '$3 == f { print $1; exit }')
	r=1
	if [ -n "$fa" ]; then
		while read -r _ _ va _ _ msz _; do
			[ $((16#$fa)) -ge $((va)) ] && [ $((16#$fa)) -lt $((va + msz)) ] && r=0
		done < "$RES/core-loads-$g.txt"
	fi
	[ $r = 0 ]
	ok $? "$label: a PT_LOAD of the core holds $f at its virtual address 0x$fa ($(wc -l < "$RES/core-loads-$g.txt") PT_LOADs)"
	# other readers: lldb (it needs ELFOSABI_GNU and the NT_AUXV entry
	# point the collector writes); elfutils finds the frames, but libdwfl
	# names a module only from an ELF header in the core's memory, which a
	# kernel does not keep: eu-addr2line names them from the ELF
	LLDB=$(command -v lldb || command -v lldb-14 || true)
	if [ -n "$LLDB" ]; then
		# lldb places the executable from the core's AT_ENTRY and the ELF's
		# e_entry, and takes an entry point at address 0 (Unikraft's PV
		# image: _libxenplat_start is at 0) for "none": such an image is
		# loaded by hand, at its link addresses (docs/xen.md)
		local load=()
		if readelf -hW "$elf" 2>/dev/null | grep -qE 'Entry point address: +0x0$'; then
			load=(-o "target modules load --file $(basename "$elf") --slide 0")
		fi
		timeout $((120 * SCALE)) "$LLDB" -b -c "$hcore" "$elf" "${load[@]}" -o bt > "$RES/lldb-bt-$g.txt" 2> "$RES/lldb-bt-$g.err"
		bt=$(sed -n 's/.*frame #[0-9]*: 0x[0-9a-f]* [^`]*`\([A-Za-z_][A-Za-z_0-9]*\).*/\1/p' "$RES/lldb-bt-$g.txt" | tr '\n' ' ')
		echo " $bt " | grep -qE " $want "
		ok $? "$label: lldb -b -c CORE $(basename "$elf")${load:+ (entry at 0: target modules load --slide 0)} -o bt names $frames ($(echo "$bt" | cut -c1-80))"
	else
		skip "$label: lldb bt on the core" "lldb missing (apt-get install lldb)"
	fi
	if command -v eu-stack >/dev/null && command -v eu-addr2line >/dev/null; then
		timeout $((120 * SCALE)) eu-stack --core "$hcore" 2>/dev/null | awk '/^#/ { print $2 }' |
			eu-addr2line -f -e "$elf" > "$RES/eu-stack-$g.txt" 2>&1
		bt=$(awk 'NR % 2 == 1' "$RES/eu-stack-$g.txt" | tr '\n' ' ')
		echo " $bt " | grep -qE " $want "
		ok $? "$label: eu-stack --core CORE | eu-addr2line -f -e $(basename "$elf") names $frames"
	else
		skip "$label: eu-stack on the core" "elfutils missing (apt-get install elfutils)"
	fi
}

if [ "$MODE" = full ]; then
	q() { sqlite3 -batch -noheader "$RES/trace.db" "$1" 2>/dev/null; }
	PVH=$B/pvh-demo/pvh-demo.elf
	[ -f "$RES/trace.db" ]
	ok $? "the collector in dom0 wrote a trace database"
	[ -s "$RES/collector.err" ] && tail -5 "$RES/collector.err" | sed 's/^/# collector: /'
	# run 1: stored events == what the unikernel says it emitted minus dropped
	exact_run pvhdemo1 pvh-demo "$RES/guest-pvhdemo1.log"
	# run 1, the second domain traced at the same time
	if [ "$GUESTS" = 2 ]; then
		exact_run pvhdemo3 pvh-demo "$RES/guest-pvhdemo3.log"
		overlap pvhdemo1 pvhdemo3
	fi
	ctl_checks "" pvhdemo1
	# run 2: the crash
	crash_checks "run 2" pvhdemo2 "$PVH" "$CRASH_FRAMES"
	# the Unikraft application, a PV guest
	UKELF=$B/unikraft-app/unikraft-app.elf
	if [ ! -f "$UKELF" ]; then
		skip "Unikraft application traced, controlled and crash-dumped" \
			"$UKELF not built: $(cat "$B/unikraft-app/SKIPPED" 2>/dev/null || echo "no Unikraft source (make unikraft-app)")"
	else
		for g in ukapp1 ukapp2; do
			exact_run "$g" "unikraft-app" "$RES/guest-$g.log"
		done
		overlap ukapp1 ukapp2
		ctl_checks uk- ukapp1
		crash_checks "ukapp3" ukapp3 "$UKELF" "$CRASH_FRAMES"
	fi
fi
if [ -n "$COPY" ]; then
	mkdir -p "$COPY" && cp -a "$RES/." "$COPY/" || echo "# could not copy $RES to $COPY"
fi
echo "1..$n"
# non-zero when a check failed: tests/e2e/xen.sh decides on a second run
[ "$failed" = 0 ]
