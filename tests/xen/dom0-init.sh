#!/bin/sh
# /init of the rig's dom0 (busybox sh). Brings up the Xen control plane,
# runs the test, writes /results as a tar onto the raw virtio disk /dev/vda
# and powers the machine off (QEMU then exits by itself).
#
# Options on the dom0 kernel command line (tests/xen/run.sh sets them):
#   rig.mode=boot|stub|full
#                          boot: xl info only; stub: + the self-test PVH guest
#                          (pvh-stub.S) created and crashed; full: the traced
#                          demo (default)
#   rig.trace=S            seconds the first demo run emits events (default 10)
#   rig.rate=N             its events per second: the demo's rate= (default
#                          1000; 0 is flat out)
#   rig.guests=1|2         domains traced at once in the first run (default 1;
#                          2: pvhdemo1 and pvhdemo3, same rate and duration)
#   rig.ctl=0|1            drive the first run with `unitrace ctl` (default 1;
#                          0 leaves its ring in discard mode, for the bench)
#   rig.crash_after=S      seconds before the second run crashes (default 2)
#   rig.crash=KIND         how it crashes: the demo's crash= (default null)
#   rig.dumpcore=0|1       also time `xl dump-core` of the crashed domain
#                          (and record its size, apparent and allocated)
#   rig.dumplimit=S        ... for at most S seconds (default 400)
#   rig.shell=1            drop to a shell on hvc0 at the end (debugging)
#   rig.scale=K            every wait bound times K (run.sh: XEN_RIG_SCALE)
#   rig.collect=0          a control run: the same guests and commands, no
#                          collector (nothing maps a guest's pages; the
#                          database waits pass at once): do dom0's faults
#                          still show? (run.sh: XEN_RIG_COLLECT); busy: a
#                          busy loop of dd (CPU, writes, forks) instead
export PATH=/usr/lib/xen-4.17/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /run/xen /run/xenstored /run/unitrace /var/run/xen /var/lib/xen/dump /var/lock \
	/var/log/xen/console /results

now() { cut -d' ' -f1 /proc/uptime; }
log() { echo "[dom0 $(now)] $*"; }
# since T: seconds elapsed since the uptime value T
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# timing NAME START: one line "NAME SECONDS" in /results/timings
timing() { t=$(since "$2"); echo "$1 $t" >> /results/timings; log "timing $1 $t s"; }
note() { echo "$*" >> /results/notes; log "$*"; }

MODE=full TRACE=10 RATE=1000 GUESTS=1 CTL=1 CRASH_AFTER=2 CRASH_KIND=null DUMPCORE=0 DUMPLIMIT=400 SHELL=0 SCALE=1 COLLECT=1
for a in $(cat /proc/cmdline); do
	case $a in
	rig.mode=*) MODE=${a#*=} ;;
	rig.trace=*) TRACE=${a#*=} ;;
	rig.rate=*) RATE=${a#*=} ;;
	rig.ctl=*) CTL=${a#*=} ;;
	rig.guests=*) GUESTS=${a#*=} ;;
	rig.crash_after=*) CRASH_AFTER=${a#*=} ;;
	rig.crash=*) CRASH_KIND=${a#*=} ;;
	rig.dumpcore=*) DUMPCORE=${a#*=} ;;
	rig.dumplimit=*) DUMPLIMIT=${a#*=} ;;
	rig.shell=*) SHELL=${a#*=} ;;
	rig.collect=*) COLLECT=${a#*=} ;;
	rig.scale=*) SCALE=${a#*=} ;;
	esac
done

# The collector writes its database outside /results ($LIVE): a copy of a
# SQLite database being written (the file, then its WAL, read at different
# moments) is not a database.  /results/trace.db is a snapshot taken with
# VACUUM INTO, one read transaction (consistent while the collector writes),
# at each save and at the end.
LIVE=/run/unitrace/trace.db
snapshot() {
	[ -f "$LIVE" ] || return 0
	rm -f /results/trace.db.tmp
	if unitrace query "$LIVE" "VACUUM INTO '/results/trace.db.tmp'" > /dev/null 2>> /results/snapshot.err; then
		mv /results/trace.db.tmp /results/trace.db
	else
		note "snapshot of the database failed: $(tail -1 /results/snapshot.err)"
	fi
}

finish() {
	log "=== writing results"
	snapshot
	xl dmesg > /results/xl-dmesg.txt 2>&1
	cp /var/log/xen/console/*.log /results/ 2>/dev/null
	dmesg > /results/dom0-dmesg.txt 2>&1
	echo "done" > /results/DONE
	if [ -b /dev/vda ]; then
		T=$(now)
		tar -C / -cf /dev/vda results && sync && timing results-write "$T"
		log "results written to /dev/vda"
	else
		log "no /dev/vda: results lost"
	fi
	if [ "$SHELL" = 1 ]; then setsid sh -c 'exec sh </dev/hvc0 >/dev/hvc0 2>&1'; fi
	log "RIG POWEROFF"
	sync
	poweroff -f
	echo o > /proc/sysrq-trigger
	sleep 10
}

log "RIG DOM0 INIT mode=$MODE; cmdline: $(cat /proc/cmdline)"
echo "dom0-kernel-start-to-init $(now)" > /results/timings
T=$(now)
while read -r m; do
	insmod /lib/modules/*/"$m".ko || note "insmod $m failed"
done < /etc/modules.load
mkdir -p /proc/xen
mount -t xenfs xenfs /proc/xen || note "mount xenfs failed"
timing modules "$T"

T=$(now)
export XENSTORED_ROOTDIR=/run/xenstored
xenstored --pid-file /run/xenstored.pid || note "xenstored failed: $?"
i=0
while ! xenstore-read / >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -gt 60 ] && { note "xenstore never answered"; break; }
	sleep 0.5
done
xen-init-dom0 > /results/xen-init-dom0.txt 2>&1 || note "xen-init-dom0 failed"
xenconsoled --pid-file=/run/xenconsoled.pid --log=guest --log-dir=/var/log/xen/console ||
	note "xenconsoled failed"
timing xen-daemons "$T"
T=$(now)
xl info > /results/xl-info.txt 2>&1 || note "xl info failed"
timing xl-info "$T"
echo "dom0-ready $(now)" >> /results/timings
log "RIG DOM0 READY"
grep -E '^(xen_version|xen_caps|virt_caps|total_memory|free_memory|nr_cpus)' /results/xl-info.txt

[ "$MODE" = boot ] && finish

# domstate NAME: the state letters of `xl list` (r b p s c d), empty if gone
domstate() { xl list "$1" 2>/dev/null | awk 'NR == 2 { print $5 }'; }
# wait_for SECONDS COMMAND...: until COMMAND succeeds, 1 after SECONDS
# times rig.scale (by the clock: each try of xl or sqlite takes long under
# TCG, longer when the host is loaded); the bound only ends a broken run
wait_for() {
	dl=$(awk -v n="$(now)" -v s="$1" -v k="$SCALE" 'BEGIN { print n + s * k }')
	shift
	until "$@"; do
		awk -v n="$(now)" -v d="$dl" 'BEGIN { exit !(n >= d) }' && return 1
		sleep 0.25
	done
}
# dom_stopped NAME: crashed (c), shut down and preserved (s), or gone
dom_stopped() { case "$(domstate "$1")" in *c* | *s* | "") return 0 ;; esac; return 1; }
dom_crashed() { case "$(domstate "$1")" in *c*) return 0 ;; esac; return 1; }
# save: write /results onto /dev/vda now (again at the end), so a slow step
# that runs into the host's timeout loses nothing measured before it
save() { snapshot; [ -b /dev/vda ] && tar -C / -cf /dev/vda results && sync; }
# dump_core NAME: time `xl dump-core` of a preserved domain (slow under TCG),
# at most $DUMPLIMIT seconds: /results/xl-dump-core-NAME.txt, timing
# xl-dump-core-NAME (or xl-dump-core-unfinished-NAME)
dump_core() {
	save
	T=$(now)
	timeout "$DUMPLIMIT" xl dump-core "$1" /tmp/xl-dump.core > "/results/xl-dump-core-$1.txt" 2>&1
	rc=$?
	# size: apparent bytes; alloc_kib: what tmpfs allocated (du -k)
	echo "rc=$rc limit=${DUMPLIMIT}s size=$(stat -c %s /tmp/xl-dump.core 2>/dev/null)" \
		"alloc_kib=$(du -k /tmp/xl-dump.core 2>/dev/null | cut -f1)" >> "/results/xl-dump-core-$1.txt"
	if [ $rc = 0 ]; then timing "xl-dump-core-$1" "$T"; else timing "xl-dump-core-unfinished-$1" "$T"; fi
	rm -f /tmp/xl-dump.core
}

if [ "$MODE" = stub ]; then
	T=$(now)
	xl create /etc/xen/pvh-stub.cfg > /results/xl-create-stub.txt 2>&1 ||
		note "xl create pvh-stub failed: $(tail -2 /results/xl-create-stub.txt)"
	timing stub-create "$T"
	wait_for 60 dom_crashed pvhstub || note "pvh-stub never crashed: $(domstate pvhstub)"
	timing stub-create-to-crashed "$T"
	xl list > /results/xl-list-stub.txt 2>&1
	[ "$DUMPCORE" = 1 ] && dump_core pvhstub
	xl destroy pvhstub
	finish
fi

# ---------------------------------------------------------------------------
# The traced demo.
if ! [ -x /usr/bin/unitrace ]; then note "no unitrace in the image"; finish; fi
if ! [ -f /boot/pvh-demo.elf ]; then note "no pvh-demo.elf in the image"; finish; fi
unitrace --version > /results/unitrace-version.txt 2>&1

# wait_console NAME REGEX SECONDS: until the guest's console log matches
console_has() { grep -qE "$2" "/var/log/xen/console/guest-$1.log" 2>/dev/null; }
wait_console() { wait_for "$3" console_has "$1" "$2"; }
dom_gone() { ! xl list "$1" > /dev/null 2>&1; }
# q SQL: the last value unitrace query prints (CSV, header first)
q() { unitrace query --csv "$LIVE" "$1" 2>/dev/null | tr -d '\r' | tail -1; }
db_is() { [ "$COLLECT" != 1 ] || [ "$(q "$1")" = "$2" ]; }
collector_alive() { kill -0 "$COLLECTOR" 2>/dev/null; }

T=$(now)
# the Unikraft application (a PV guest), when the image has it
UK=0
[ -f /boot/unikraft-app.elf ] && UK=1
ELFS="--elf /boot/pvh-demo.elf"
[ "$UK" = 1 ] && ELFS="--elf ukapp*=/boot/unikraft-app.elf $ELFS"
if [ "$COLLECT" = 0 ]; then
	note "control run: no collector (rig.collect=0)"
	sleep 100000 &
elif [ "$COLLECT" = busy ]; then
	# dom0 as busy as with the collector (CPU, writes, forks), no grants
	note "control run: no collector, a busy loop instead (rig.collect=busy)"
	sh -c 'while :; do dd if=/dev/zero of=/run/busy bs=64k count=64 2>/dev/null; done' &
else
	unitrace collect --xen $ELFS -o "$LIVE" --core-dir /results/cores \
		> /results/collector.out 2> /results/collector.err &
fi
COLLECTOR=$!
sleep 1
kill -0 $COLLECTOR 2>/dev/null || note "collector exited at once: $(tail -3 /results/collector.err)"
timing collector-start "$T"

# Run 1: trace for $TRACE seconds, then the demo powers off by itself.  When
# `unitrace ctl` drives the run, the demo serves until `xl shutdown` once the
# ctl checks are done instead: however slow the emulated machine, the checks
# never race the end of the guest's run.
CTL_ON=0
if [ "$CTL" != 1 ]; then
	echo "ctl: skipped (rig.ctl=$CTL)" > /results/ctl.txt
elif ! unitrace ctl --help > /dev/null 2>&1; then
	echo "ctl: not built" > /results/ctl.txt
	note "ctl: not built"
elif ! unitrace ctl --help 2>&1 | grep -q -- --xen; then
	echo "ctl: not built for Xen (hosted guests only)" > /results/ctl.txt
	note "ctl: not built for Xen"
else
	CTL_ON=1
fi
# the emulated machine is slow, twice so with two guests: generous
# deadlines, and each command's own time in ctl-times.txt
ctl() { local t=$(now); unitrace ctl -t $((15000 * SCALE)) "$@"; local rc=$?; echo "$* $(since "$t")" >> /results/ctl-times.txt; return $rc; }
RUN1_S=$TRACE
[ "$CTL_ON" = 1 ] && RUN1_S=$((TRACE + 900))
T=$(now)
xl create /etc/xen/pvh-demo.cfg 'name="pvhdemo1"' "cmdline=\"duration=$RUN1_S rate=$RATE\"" \
	> /results/xl-create-1.txt 2>&1 || note "xl create (run 1) failed: $(tail -2 /results/xl-create-1.txt)"
timing guest-create "$T"
# a second domain traced at the same time: the collector serves both at once
if [ "$GUESTS" = 2 ]; then
	xl create /etc/xen/pvh-demo.cfg 'name="pvhdemo3"' "cmdline=\"duration=$TRACE rate=$RATE\"" \
		> /results/xl-create-3.txt 2>&1 || note "xl create (run 1, pvhdemo3) failed: $(tail -2 /results/xl-create-3.txt)"
fi
wait_console pvhdemo1 . 30 && timing guest-first-output "$T" || note "run 1: no console output"
wait_console pvhdemo1 'pvh-demo: tracing' 30 && timing guest-tracing "$T"

# Control the running guest over its vchan: list, disable and re-enable an
# event type, switch its ring to overwrite mode.
if [ "$CTL_ON" = 1 ]; then
	T2=$(now)
	# the guest's control vchan is published once it is listening
	ctl_listed() { unitrace ctl --xen 2>/dev/null | grep -qE '^[0-9]+ pvhdemo1$'; }
	wait_for 60 ctl_listed || note "run 1: no control vchan listed after 60 s"
	xenstore-ls -f /local/domain > /results/xenstore-run1.txt 2>&1
	ctl --xen > /results/ctl-list.txt 2>&1
	ctl --xen pvhdemo1 disable cache_miss > /results/ctl-disable.txt 2>&1
	echo "rc=$?" >> /results/ctl-disable.txt
	ctl --xen pvhdemo1 show > /results/ctl-show-disabled.txt 2>&1
	ctl --xen pvhdemo1 enable cache_miss >> /results/ctl-disable.txt 2>&1
	echo "rc=$?" >> /results/ctl-disable.txt
	ctl --xen pvhdemo1 mode overwrite > /results/ctl.txt 2>&1
	echo "rc=$?" >> /results/ctl.txt
	timing ctl "$T2"
	unitrace ctl --xen pvhdemo1 show > /results/ctl-show.txt 2>&1
	# done with the checks: end the run (the demo polls control/shutdown)
	xl shutdown pvhdemo1 > /results/xl-shutdown-1.txt 2>&1 ||
		note "xl shutdown pvhdemo1 failed: $(tail -2 /results/xl-shutdown-1.txt)"
fi

# over: the demo printed its totals, or the domain stopped (a fault) or went
run1_over() { console_has pvhdemo1 'pvh-demo: emitted [0-9]+ dropped [0-9]+' || dom_stopped pvhdemo1; }
wait_for $((TRACE + 60)) run1_over || note "run 1: still running $((TRACE + 60)) s after its end"
console_has pvhdemo1 'pvh-demo: emitted [0-9]+ dropped [0-9]+' ||
	note "run 1: no 'emitted' line; domain state '$(domstate pvhdemo1)' (see xl-dmesg.txt)"
if [ "$GUESTS" = 2 ]; then
	run3_over() { console_has pvhdemo3 'pvh-demo: emitted [0-9]+ dropped [0-9]+' || dom_stopped pvhdemo3; }
	wait_for 60 run3_over || note "run 1: pvhdemo3 still running"
fi
timing trace-run "$T"
wait_for 30 dom_gone pvhdemo1 || { note "run 1: domain still there: $(domstate pvhdemo1)"; xl destroy pvhdemo1; }
if [ "$GUESTS" = 2 ]; then
	wait_for 30 dom_gone pvhdemo3 || { note "run 1: pvhdemo3 still there: $(domstate pvhdemo3)"; xl destroy pvhdemo3; }
fi
timing guest-run-1-total "$T"
# let the collector drain the rings and mark the guest gone
if collector_alive; then
	wait_for 30 db_is "SELECT count(*) FROM guests WHERE name LIKE '%pvhdemo1%' AND status <> 'running'" 1 ||
		note "run 1: guest still 'running' in the database"
	[ "$GUESTS" = 2 ] && { wait_for 30 db_is "SELECT count(*) FROM guests WHERE name = 'pvhdemo3' AND status <> 'running'" 1 ||
		note "run 1: pvhdemo3 still 'running' in the database"; }
else
	note "collector not running: $(tail -2 /results/collector.err)"
fi

# Run 2: the same demo crashes (by default a NULL dereference in
# parse_cookie); were it not to crash, it would power off after 20 s.
T=$(now)
xl create /etc/xen/pvh-demo.cfg 'name="pvhdemo2"' \
	"cmdline=\"duration=20 crash=$CRASH_KIND after=$CRASH_AFTER\"" \
	> /results/xl-create-2.txt 2>&1 || note "xl create (run 2) failed: $(tail -2 /results/xl-create-2.txt)"
wait_for 60 dom_stopped pvhdemo2 || note "run 2: still running ($(domstate pvhdemo2))"
timing guest-crash "$T"
xl list > /results/xl-list-2.txt 2>&1
T=$(now)
# the crash row is stored with its core path once capture is complete
if dom_crashed pvhdemo2 && collector_alive; then
	wait_for 150 db_is "SELECT count(*) FROM crashes WHERE core_path IS NOT NULL" 1 ||
		note "run 2: no crash row with a core after 150 s"
	timing crash-capture "$T"
elif collector_alive; then
	note "run 2: the domain did not crash: state '$(domstate pvhdemo2)' (see xl-dmesg.txt, guest-pvhdemo2.log)"
	wait_for 20 db_is "SELECT count(*) FROM crashes" 1 || note "run 2: no crash row"
fi

[ "$DUMPCORE" = 1 ] && dump_core pvhdemo2
xl destroy pvhdemo2 2>/dev/null
# what the PVH runs measured survives a hang in what follows
save

# ---------------------------------------------------------------------------
# The Unikraft application, a PV guest: two domains traced at once (ukapp1
# driven with `unitrace ctl` and ended with `xl shutdown` once the checks
# are done, ukapp2 for $TRACE s), then ukapp3 crashes (a NULL dereference).
uk_over() { console_has "$1" 'unikraft-app: emitted [0-9]+ dropped [0-9]+' || dom_stopped "$1"; }
uk_done_in_db() { db_is "SELECT count(*) FROM guests WHERE name = '$1' AND status <> 'running'" 1; }
if [ "$UK" = 1 ] && collector_alive; then
	T=$(now)
	UK1_S=$TRACE
	[ "$CTL_ON" = 1 ] && UK1_S=$((TRACE + 900))
	xl create /etc/xen/unikraft-app.cfg 'name="ukapp1"' "cmdline=\"duration=$UK1_S rate=$RATE\"" \
		> /results/xl-create-uk1.txt 2>&1 || note "xl create ukapp1 failed: $(tail -2 /results/xl-create-uk1.txt)"
	xl create /etc/xen/unikraft-app.cfg 'name="ukapp2"' "cmdline=\"duration=$TRACE rate=$RATE\"" \
		> /results/xl-create-uk2.txt 2>&1 || note "xl create ukapp2 failed: $(tail -2 /results/xl-create-uk2.txt)"
	timing uk-create "$T"
	wait_console ukapp1 'unikraft-app: tracing' 60 && timing uk-tracing "$T" ||
		note "ukapp1: no 'tracing' line (state '$(domstate ukapp1)')"
	if [ "$CTL_ON" = 1 ]; then
		T2=$(now)
		uk_listed() { unitrace ctl --xen 2>/dev/null | grep -qE '^[0-9]+ ukapp1$'; }
		wait_for 60 uk_listed || note "ukapp1: no control vchan listed after 60 s"
		ctl --xen > /results/uk-ctl-list.txt 2>&1
		ctl --xen ukapp1 disable cache_miss > /results/uk-ctl-disable.txt 2>&1
		echo "rc=$?" >> /results/uk-ctl-disable.txt
		ctl --xen ukapp1 show > /results/uk-ctl-show-disabled.txt 2>&1
		ctl --xen ukapp1 enable cache_miss >> /results/uk-ctl-disable.txt 2>&1
		echo "rc=$?" >> /results/uk-ctl-disable.txt
		ctl --xen ukapp1 mode overwrite > /results/uk-ctl.txt 2>&1
		echo "rc=$?" >> /results/uk-ctl.txt
		unitrace ctl --xen ukapp1 show > /results/uk-ctl-show.txt 2>&1
		timing uk-ctl "$T2"
		xl shutdown ukapp1 > /results/xl-shutdown-uk1.txt 2>&1 ||
			note "xl shutdown ukapp1 failed: $(tail -2 /results/xl-shutdown-uk1.txt)"
	fi
	for g in ukapp1 ukapp2; do
		wait_for $((TRACE + 60)) uk_over $g || note "$g: still running $((TRACE + 60)) s after its end"
		console_has $g 'unikraft-app: emitted [0-9]+ dropped [0-9]+' ||
			note "$g: no 'emitted' line; domain state '$(domstate $g)'"
		wait_for 30 dom_gone $g || { note "$g: domain still there: $(domstate $g)"; xl destroy $g; }
		wait_for 30 uk_done_in_db $g || note "$g: still 'running' in the database"
	done
	timing uk-trace-run "$T"
	T=$(now)
	xl create /etc/xen/unikraft-app.cfg 'name="ukapp3"' \
		"cmdline=\"duration=20 crash=$CRASH_KIND after=$CRASH_AFTER\"" \
		> /results/xl-create-uk3.txt 2>&1 || note "xl create ukapp3 failed: $(tail -2 /results/xl-create-uk3.txt)"
	wait_for 60 dom_stopped ukapp3 || note "ukapp3: still running ($(domstate ukapp3))"
	timing uk-crash "$T"
	xl list > /results/xl-list-uk3.txt 2>&1
	T=$(now)
	uk_crash_row() { db_is "SELECT count(*) FROM crashes c JOIN guests g ON g.id = c.guest_id WHERE g.name = 'ukapp3' AND c.core_path IS NOT NULL" 1; }
	if dom_crashed ukapp3; then
		wait_for 150 uk_crash_row || note "ukapp3: no crash row with a core after 150 s"
		timing uk-crash-capture "$T"
	else
		note "ukapp3: the domain did not crash: state '$(domstate ukapp3)'"
	fi
	[ "$DUMPCORE" = 1 ] && dump_core ukapp3
	xl destroy ukapp3 2>/dev/null
elif [ "$UK" = 1 ]; then
	note "Unikraft runs skipped: the collector is not running"
fi

ls -l /results/cores > /results/cores.txt 2>&1
# allocated KiB (du -k), apparent bytes, path: measured here, since the copy
# that comes back through the tar on /dev/vda is no longer sparse
for f in /results/cores/*; do
	[ -f "$f" ] && echo "$(du -k "$f" | cut -f1) $(stat -c %s "$f") $f"
done > /results/cores-size.txt 2>&1

kill -TERM $COLLECTOR 2>/dev/null
wait_for 20 eval '! collector_alive' || { note "collector did not exit on SIGTERM"; kill -KILL $COLLECTOR; }
wait $COLLECTOR 2>/dev/null
echo "rc=$?" >> /results/collector.out
finish
