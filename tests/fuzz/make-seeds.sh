#!/usr/bin/env bash
# Regenerates the committed seed corpora tests/fuzz/seeds/NAME/ from real
# traces, a real crash and its core, and hand-written protocol messages.
# Run from the tree after `make` (needs $B/unitrace, $B/demo-guest, sqlite3
# and python3); commit what it writes.  Small on purpose (~100 KB in all):
# the fuzzers grow their own corpora under $B/fuzz/corpus/.
set -eu
B=${B:-build}
cd "$(dirname "$0")/../.."
S=tests/fuzz/seeds
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -rf "$S"
mkdir -p "$S"/{db,core,crash,ctl_guest,ctl_client,xen_keys,reader}

# ---- db: a small trace and a crash, shrunk to 512-byte pages -------------
"$B/unitrace" run -q -o "$tmp/small.db" --rings 2 -- "$B/demo-guest" \
	--threads 2 --rate 30 --duration 1
"$B/unitrace" run -q -o "$tmp/crash.db" --rings 2 --core-dir "$tmp/cores" \
	-- "$B/demo-guest" --threads 2 --rate 30 --duration 5 --crash null \
	--crash-after 0.5 || true # it dies of SIGSEGV, as told
for db in small crash; do
	sqlite3 "$tmp/$db.db" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
	sqlite3 "$tmp/$db.db" "PRAGMA journal_mode=DELETE;" >/dev/null
	sqlite3 "$tmp/$db.db" "PRAGMA page_size=512; VACUUM;"
	cp "$tmp/$db.db" "$S/db/$db.db"
done
# the crash record the collector validated, as the guest wrote it
sqlite3 "$tmp/crash.db" "SELECT writefile('$S/crash/demo-null', record) \
	FROM crashes LIMIT 1" >/dev/null
# scripts over those bases (fuzz_db.c): base, then op table column value
printf '\x00\x00\x05\x02\x01\x01\x01\x00\x03\x07\x03\x03\x00' >"$S/db/script-updates"
printf '\x01\x02\x03\x03\x04\x00\x05\x09\x06\x00\x00' >"$S/db/script-drops"
printf '\x01\x06\x00\x00\x03\x00\x09\x00\x00\x00\x00\x10\x02\x03' >"$S/db/script-meta"

# ---- core: the real core, its segments' contents cut off -----------------
core=$(ls "$tmp/cores/"* | head -1)
python3 - "$core" "$S/core/demo-null.core" <<'PY'
# Keep the ELF header, program headers and notes; PT_LOAD segments keep
# their addresses and sizes in memory but no bytes in the file (p_filesz
# 0): a valid core of a few KB.
import struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
phoff, = struct.unpack_from('<Q', b, 32)
phentsize, phnum = struct.unpack_from('<HH', b, 54)
end = phoff + phentsize * phnum
for i in range(phnum):
    o = phoff + i * phentsize
    p_type, = struct.unpack_from('<I', b, o)
    off, filesz = struct.unpack_from('<Q', b, o + 8)[0], struct.unpack_from('<Q', b, o + 32)[0]
    if p_type == 1:  # PT_LOAD
        struct.pack_into('<QQ', b, o + 8, 0, 0)       # p_offset
        struct.pack_into('<Q', b, o + 32, 0)          # p_filesz
    else:
        end = max(end, off + filesz)
keep = phnum and min(len(b), end)
out = b[:keep]
# the loads keep p_offset 0 with no bytes: inside the file
open(sys.argv[2], 'wb').write(out)
PY
head -c 64 "$core" >"$S/core/header-only"

# ---- little-endian helpers for the control messages ----------------------
u8() { printf "\\x$(printf %02x "$1")"; }
u16() { u8 $(($1 & 255)); u8 $(($1 >> 8 & 255)); }
u32() { u16 $(($1 & 65535)); u16 $(($1 >> 16 & 65535)); }
# a request: op arg payload-length [payload]
req() { u32 0x31435455; u16 "$1"; u16 0; u32 7; u32 "$2"; u32 "$3"; u32 0; }

# ---- ctl_guest: [cap] then requests as a client sends them ---------------
{ u8 255; req 1 0 0; req 2 0 0; req 5 0 0; } >"$S/ctl_guest/hello-events-rings"
{ u8 255; req 3 1 7; printf 'fzc_one'; req 3 0 0; req 2 2 0; } >"$S/ctl_guest/enable"
{ u8 200; req 4 4294967295 4; u32 1; req 4 1 4; u32 0; req 5 1 0; } >"$S/ctl_guest/mode"
{ u8 20; req 9 0 0; req 4 0 3; printf 'abc'; req 1 0 0; } >"$S/ctl_guest/bad"

# ---- ctl_client: [action] [ring]; answers then pass unchanged ------------
u8 0 >"$S/ctl_client/show"; u8 255 >>"$S/ctl_client/show"
{ u8 1; u8 0; } >"$S/ctl_client/mode-discard-ring0"
{ u8 2; u8 255; } >"$S/ctl_client/mode-overwrite-all"
{ u8 3; u8 1; } >"$S/ctl_client/enable-all"
{ u8 5; u8 128; } >"$S/ctl_client/disable-names"
# show, the HELLO answer cut short, then a stale answer before the rings
{ u8 0; u8 255; u8 8; u8 40; u8 16; } >"$S/ctl_client/show-mutated"

# ---- xen_keys: abi, name, area-pages, evtchn, dir-refs, domid, --elf, dir -
printf '1\nmini-os\n16\n5\n8\n3\nmini*=/tmp/x.elf\n' >"$S/xen_keys/one-dir-page"
{ printf '1\nguest\n2048\n7\n8,9\n12\n/tmp/a.elf\n'
  for i in $(seq 100 2147); do u32 "$i"; done; } >"$S/xen_keys/two-dir-pages"
printf '2\nx\n1\n1\n1\n0\n=\n' >"$S/xen_keys/bad-abi"

# ---- reader: the pristine area, and one ring-data patch -------------------
: >"$S/reader/pristine"
{ u8 3; u16 24; u8 4; u32 4294967295; } >"$S/reader/ring-patch"

du -sh "$S"; find "$S" -type f | wc -l
