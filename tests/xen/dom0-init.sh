#!/bin/sh
# /init of the rig's dom0 (busybox sh). Brings up the Xen control plane,
# runs the test, writes /results as a tar onto the raw virtio disk /dev/vda
# and powers the machine off (QEMU then exits by itself).
#
# Options on the dom0 kernel command line (tests/xen/run.sh sets them):
#   rig.mode=boot|full     boot: xl info only; full: the traced demo (default)
#   rig.trace=S            seconds the first demo run emits events (default 6)
#   rig.crash_after=S      seconds before the second run crashes (default 2)
#   rig.dumpcore=0|1       also time `xl dump-core` of the crashed domain
#   rig.shell=1            drop to a shell on hvc0 at the end (debugging)
export PATH=/usr/lib/xen-4.17/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /run/xen /run/xenstored /run/unitrace /var/run/xen /var/lib/xen/dump \
	/var/log/xen/console /results

now() { cut -d' ' -f1 /proc/uptime; }
log() { echo "[dom0 $(now)] $*"; }
# since T: seconds elapsed since the uptime value T
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# timing NAME START: one line "NAME SECONDS" in /results/timings
timing() { t=$(since "$2"); echo "$1 $t" >> /results/timings; log "timing $1 $t s"; }
note() { echo "$*" >> /results/notes; log "$*"; }

MODE=full TRACE=6 CRASH_AFTER=2 DUMPCORE=0 SHELL=0
for a in $(cat /proc/cmdline); do
	case $a in
	rig.mode=*) MODE=${a#*=} ;;
	rig.trace=*) TRACE=${a#*=} ;;
	rig.crash_after=*) CRASH_AFTER=${a#*=} ;;
	rig.dumpcore=*) DUMPCORE=${a#*=} ;;
	rig.shell=*) SHELL=${a#*=} ;;
	esac
done

finish() {
	log "=== writing results"
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

# ---------------------------------------------------------------------------
# The traced demo.
if ! [ -x /usr/bin/unitrace ]; then note "no unitrace in the image"; finish; fi
if ! [ -f /boot/pvh-demo.elf ]; then note "no pvh-demo.elf in the image"; finish; fi
unitrace --version > /results/unitrace-version.txt 2>&1

# domstate NAME: the state letters of `xl list` (r b p s c d), empty if gone
domstate() { xl list "$1" 2>/dev/null | awk 'NR == 2 { print $5 }'; }
# wait_console NAME REGEX SECONDS: until the guest's console log matches
wait_console() {
	i=0
	while ! grep -qE "$2" "/var/log/xen/console/guest-$1.log" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt $(($3 * 4)) ] && return 1
		sleep 0.25
	done
}
# wait_gone NAME SECONDS
wait_gone() {
	i=0
	while xl list "$1" >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -gt $(($2 * 4)) ] && return 1
		sleep 0.25
	done
}
q() { unitrace query /results/trace.db "$1" 2>/dev/null | tail -1; }

T=$(now)
unitrace collect --xen -o /results/trace.db --core-dir /results/cores \
	> /results/collector.out 2> /results/collector.err &
COLLECTOR=$!
sleep 1
kill -0 $COLLECTOR 2>/dev/null || note "collector exited at once: $(tail -3 /results/collector.err)"
timing collector-start "$T"

# Run 1: trace for $TRACE seconds, then the demo powers off by itself.
T=$(now)
xl create /etc/xen/pvh-demo.cfg 'name="pvhdemo1"' "extra=\"duration=$TRACE\"" \
	> /results/xl-create-1.txt 2>&1 || note "xl create (run 1) failed: $(tail -2 /results/xl-create-1.txt)"
timing guest-create "$T"
wait_console pvhdemo1 . 30 && timing guest-first-output "$T" || note "run 1: no console output"
wait_console pvhdemo1 'unitrace: (attached|collector attached)' 30 && timing guest-attached "$T"

if unitrace ctl --help > /dev/null 2>&1; then
	sleep 1
	T2=$(now)
	unitrace ctl --mode overwrite pvhdemo1 > /results/ctl.txt 2>&1
	echo "rc=$?" >> /results/ctl.txt
	timing ctl "$T2"
else
	echo "ctl: not built" > /results/ctl.txt
	note "ctl: not built"
fi

wait_console pvhdemo1 'pvh-demo: emitted [0-9]+ dropped [0-9]+' $((TRACE + 60)) ||
	note "run 1: no 'emitted' line"
timing trace-run "$T"
wait_gone pvhdemo1 30 || { note "run 1: domain still there: $(domstate pvhdemo1)"; xl destroy pvhdemo1; }
timing guest-run-1-total "$T"
# let the collector drain and mark it done
i=0
while [ "$(q "SELECT collector_state FROM guests WHERE name LIKE 'pvhdemo1%'")" != DONE ]; do
	i=$((i + 1)); [ $i -gt 60 ] && { note "run 1: collector never finished the guest"; break; }
	sleep 0.5
done

# Run 2: the same demo crashes (NULL dereference in parse_cookie).
T=$(now)
xl create /etc/xen/pvh-demo.cfg 'name="pvhdemo2"' \
	"extra=\"duration=60 crash=null crash_after=$CRASH_AFTER\"" \
	> /results/xl-create-2.txt 2>&1 || note "xl create (run 2) failed: $(tail -2 /results/xl-create-2.txt)"
i=0
while [ "$(domstate pvhdemo2 | tr -cd c)" != c ]; do
	i=$((i + 1)); [ $i -gt 240 ] && { note "run 2: never crashed ($(domstate pvhdemo2))"; break; }
	sleep 0.25
done
timing guest-crash "$T"
T=$(now)
i=0
while [ "$(q "SELECT count(*) FROM crashes")" != 1 ]; do
	i=$((i + 1)); [ $i -gt 240 ] && { note "run 2: no crash row"; break; }
	sleep 0.5
done
while [ "$(q "SELECT collector_state FROM guests WHERE name LIKE 'pvhdemo2%'")" != DONE ]; do
	i=$((i + 1)); [ $i -gt 240 ] && { note "run 2: collector never finished the guest"; break; }
	sleep 0.5
done
timing crash-capture "$T"
ls -l /results/cores > /results/cores.txt 2>&1

if [ "$DUMPCORE" = 1 ]; then
	T=$(now)
	xl dump-core pvhdemo2 /tmp/xl-dump.core > /results/xl-dump-core.txt 2>&1
	echo "rc=$? size=$(stat -c %s /tmp/xl-dump.core 2>/dev/null)" >> /results/xl-dump-core.txt
	timing xl-dump-core "$T"
	rm -f /tmp/xl-dump.core
fi
xl destroy pvhdemo2 2>/dev/null

kill -TERM $COLLECTOR 2>/dev/null
i=0
while kill -0 $COLLECTOR 2>/dev/null; do
	i=$((i + 1)); [ $i -gt 40 ] && { note "collector did not exit on SIGTERM"; kill -KILL $COLLECTOR; break; }
	sleep 0.25
done
wait $COLLECTOR 2>/dev/null
echo "rc=$?" >> /results/collector.out
finish
