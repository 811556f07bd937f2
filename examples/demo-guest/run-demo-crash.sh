#!/usr/bin/env bash
# make demo-crash: the demo service crashes on purpose (a NULL dereference
# three calls deep, in vCPU 0); unitrace captures it.  Writes
# $B/demo/crash.db and a core under $B/demo/cores/, then shows the crash.
set -u
B=${B:-build}
UT=$B/unitrace
mkdir -p "$B/demo"
rm -f "$B/demo/crash.db" "$B/demo/crash.db-wal" "$B/demo/crash.db-shm"
rm -rf "$B/demo/cores"

echo "==> $UT run -o $B/demo/crash.db --mode overwrite -- $B/demo-guest --threads 4 --rate 20000 --duration 10 --crash null --crash-after 1"
$UT run -o "$B/demo/crash.db" --mode overwrite -- "$B/demo-guest" --threads 4 \
	--rate 20000 --duration 10 --crash null --crash-after 1
echo "(the demo died of SIGSEGV, exit status $?, as it was told to)"
echo
echo "==> $UT crash $B/demo/crash.db"
$UT crash "$B/demo/crash.db" || exit 1
echo
echo "==> $UT crash $B/demo/crash.db 1"
$UT crash "$B/demo/crash.db" 1 || exit 1
