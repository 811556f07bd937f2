#!/usr/bin/env bash
# tests/fuzz/run.sh (make fuzz) judges a target by what it left, not by
# how long an input took: stand-in targets (shell scripts in a private
# build directory, answering as libFuzzer does) leave a slow input, a
# crash or nothing, and the runner's verdict and exit status are checked.
. "$(dirname "$0")/../harness.sh"
cd "$UT_TOP"
T=$(mktemp -d /tmp/ut-fuzzrun.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/fuzz"

# stand-in NAME ARTIFACT: a "target" that runs 100 inputs and writes
# ARTIFACT<hash> under its -artifact_prefix (none if ARTIFACT is empty).
stand_in() {
	cat >"$T/fuzz/fuzz_$1" <<SH
#!/bin/sh
for a; do case \$a in -artifact_prefix=*) p=\${a#-artifact_prefix=} ;; esac; done
[ -n "$2" ] && echo input >"\${p}$2"0123abcd
echo "#100	DONE   cov: 10 ft: 20 corp: 5/50b exec/s: 100 rss: 30Mb"
echo "stat::number_of_executed_units: 100"
echo "stat::average_exec_per_sec:     100"
exit 0
SH
	chmod +x "$T/fuzz/fuzz_$1"
}
stand_in quiet ""
stand_in slow slow-unit-
stand_in crashy crash-

out=$(B=$T FUZZ_TARGETS="quiet slow" tests/fuzz/run.sh short 1 2>&1)
ok $? "an input slower than 10 s is no failure (it depends on the load)" "$out"
printf '%s\n' "$out" | grep -E '^slow ' | grep -q 'ok (1 slow inputs'
ok $? "... but it is named in the verdict" "$out"
ls "$T"/fuzz/crash/slow-slow-unit-* >/dev/null 2>&1
ok $? "... and kept"

out=$(B=$T FUZZ_TARGETS="quiet crashy" tests/fuzz/run.sh short 1 2>&1)
rc=$?
[ $rc -ne 0 ]
ok $? "a crash left by a target fails the run" "$out"
printf '%s\n' "$out" | grep -E '^crashy ' | grep -q FAILED &&
	printf '%s\n' "$out" | grep -E '^quiet ' | grep -q ' ok$'
ok $? "... naming that target only" "$out"
echo "1..$n"
