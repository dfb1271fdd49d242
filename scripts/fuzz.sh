#!/usr/bin/env bash
# Fuzzes deborgen's readers of untrusted input with libFuzzer (the toolchain's -sanitize=fuzzer).
# See the README (Run the tests) and results/fuzz/README.md.
#
#   scripts/fuzz.sh TARGET SECONDS   fuzz one target for SECONDS (wall clock)
#   scripts/fuzz.sh all SECONDS      every target in turn, SECONDS each
#   scripts/fuzz.sh merge TARGET     minimize fuzz/corpus/TARGET in place (before committing)
#   scripts/fuzz.sh build            build only
#
# TARGET: swf, workload-json, trace, experiment, request.
# Builds into .build-fuzz (debug, so Swift's checks stay on; the first build takes a while).
# New inputs go to fuzz/corpus/TARGET; a crash, hang or out-of-memory input is written to
# fuzz/crashes/TARGET/ and the run stops. Once it is fixed, move the input to
# fuzz/regressions/TARGET/, which the normal test suite replays (FuzzRegressionTests).
# The libFuzzer log of each run is kept in .build-fuzz/logs/.
# Seed inputs (real files from workloads/ and results/, docs/api.md examples) are in
# fuzz/seeds/TARGET and are read alongside the corpus.
# Extra libFuzzer flags: FUZZ_FLAGS="-max_len=65536 -seed=1" scripts/fuzz.sh swf 600
# FUZZ_BUILD=0 skips the build step (e.g. for two targets at once on an up-to-date build).
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS="swf workload-json trace experiment request"
SCRATCH=.build-fuzz
BIN=$SCRATCH/debug/deborgen-fuzz

usage() { sed -n '2,/^set /{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

build() {
    [ "${FUZZ_BUILD:-1}" = 0 ] && return 0
    swift build --scratch-path "$SCRATCH" --product deborgen-fuzz --sanitize=fuzzer \
        -Xswiftc -D -Xswiftc DEBORGEN_FUZZ -Xswiftc -parse-as-library >&2
}

check_target() {
    case " $TARGETS " in *" $1 "*) ;; *) echo "unknown target '$1'; accepted: $TARGETS" >&2; exit 2 ;; esac
}

run() {
    local target=$1 seconds=$2
    mkdir -p "fuzz/corpus/$target" "fuzz/crashes/$target" "$SCRATCH/logs"
    local log="$SCRATCH/logs/$target-$(date -u +%Y%m%dT%H%M%SZ).log"
    echo "fuzzing $target for ${seconds}s (log: $log)" >&2
    local rc=0
    # -timeout: an input taking longer is a hang; -rss_limit_mb: runaway allocation is a bug too.
    # SWIFT_BACKTRACE off: libFuzzer reports the crash and saves the input itself.
    DEBORGEN_FUZZ_TARGET=$target SWIFT_BACKTRACE=enable=no "$BIN" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
        -print_final_stats=1 -artifact_prefix="fuzz/crashes/$target/" ${FUZZ_FLAGS:-} \
        "fuzz/corpus/$target" "fuzz/seeds/$target" > "$log" 2>&1 || rc=$?
    grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|stat::|Done )' "$log" | tail -8 >&2 || true
    if [ $rc -ne 0 ]; then
        grep -E 'ERROR|Fatal error|Test unit written|crash-|timeout-|oom-' "$log" | head -8 >&2 || true
        echo "$target: libFuzzer exited with $rc; see $log and fuzz/crashes/$target/" >&2
    fi
    return $rc
}

merge() {
    local target=$1 tmp
    tmp=$(mktemp -d)
    mv "fuzz/corpus/$target" "$tmp/old"
    mkdir -p "fuzz/corpus/$target"
    DEBORGEN_FUZZ_TARGET=$target SWIFT_BACKTRACE=enable=no "$BIN" -merge=1 -timeout=10 -rss_limit_mb=2048 \
        -max_len=16384 "fuzz/corpus/$target" "fuzz/seeds/$target" "$tmp/old" 2>&1 | grep -E 'MERGE-OUTER: [0-9]+ new files' >&2
    rm -rf "$tmp"
    echo "$target: $(ls "fuzz/corpus/$target" | wc -l) files, $(du -sk "fuzz/corpus/$target" | cut -f1) KB" >&2
}

[ $# -ge 1 ] || usage
case $1 in
    build) build ;;
    merge) [ $# -eq 2 ] || usage; check_target "$2"; build; merge "$2" ;;
    all)
        [ $# -eq 2 ] || usage
        build
        status=0
        for t in $TARGETS; do run "$t" "$2" || status=1; done
        exit $status ;;
    *)
        [ $# -eq 2 ] || usage
        check_target "$1"; build; run "$1" "$2" ;;
esac
