#!/usr/bin/env bash
# The fuzz targets' committed inputs as regression tests, in every test
# run: each target's replay driver ($B/tests/fuzz/fuzz_NAME: the target
# built by $(CC) with the project's flags, ASan + UBSan in build-asan)
# runs every file of tests/fuzz/regress/NAME (inputs that once crashed a
# fuzzer, now fixed) and tests/fuzz/seeds/NAME (the seed corpora) through
# the target once.  Each must end normally: no crash, no sanitizer report.
. "$(dirname "$0")/../harness.sh"
cd "$UT_TOP"
B=${B:-build}
export UT_FUZZ_DB_BASES=tests/fuzz/seeds/db
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	t=${name#fuzz_}
	for kind in regress seeds; do
		for f in tests/fuzz/$kind/$t/*; do
			[ -f "$f" ] || continue
			"$B/tests/fuzz/$name" "$f" >"$out/log" 2>&1
			rc=$?
			ok $rc "$name replays $f" "$(tail -20 "$out/log")"
		done
	done
done
echo "1..$n"
