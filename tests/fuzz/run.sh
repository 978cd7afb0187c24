#!/usr/bin/env bash
# Runs the fuzz targets one after the other (make fuzz):
#   tests/fuzz/run.sh FUZZ_DIR REPLAY_DIR SECONDS TARGET...
# For each TARGET: replays tests/fuzz/regressions/TARGET-* (inputs that once
# crashed it), then fuzzes FUZZ_DIR/fuzz_TARGET for SECONDS from its corpus
# FUZZ_DIR/corpus-TARGET (seeded by FUZZ_DIR/seeds, kept between runs) and
# prints "TARGET: N execs (R/s), cov X, ft Y". Crash, leak and timeout
# inputs are kept as FUZZ_DIR/TARGET-crash-* (leak-, timeout-, oom-) and
# their replay commands printed. Exits 1 when any target failed.
# Extra libFuzzer flags may come in FUZZ_FLAGS (e.g. -runs=10000000).
set -uo pipefail
# UBSan reports come with their stack, as ASan's do.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

fuzz_dir=$1 replay_dir=$2 seconds=$3
shift 3
regressions=$(dirname "$0")/regressions

"$fuzz_dir/seeds" "$fuzz_dir" || { echo "fuzz: the seed generator failed"; exit 1; }

failed=()
summary=()
for target in "$@"; do
    binary=$fuzz_dir/fuzz_$target
    corpus=$fuzz_dir/corpus-$target
    log=$fuzz_dir/$target.log
    mkdir -p "$corpus"

    shopt -s nullglob
    saved=("$regressions/$target"-*)
    shopt -u nullglob
    if ((${#saved[@]})); then
        if ! "$binary" -rss_limit_mb=2048 -timeout=10 "${saved[@]}" >"$fuzz_dir/$target-regressions.log" 2>&1; then
            echo "fuzz: $target fails on a saved regression input; see $fuzz_dir/$target-regressions.log"
            tail -n 30 "$fuzz_dir/$target-regressions.log"
            failed+=("$target")
            summary+=("$target: FAILED a regression input")
            continue
        fi
        echo "fuzz: $target passes its ${#saved[@]} regression input(s)"
    fi

    echo "fuzz: $target for ${seconds}s (log: $log)"
    before=$(ls "$fuzz_dir" | grep -c "^$target-\(crash\|leak\|timeout\|oom\)-")
    # shellcheck disable=SC2086 # FUZZ_FLAGS is a list of flags
    "$binary" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$fuzz_dir/$target-" ${FUZZ_FLAGS:-} "$corpus" >"$log" 2>&1
    status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
    line="$target: ${execs:-?} execs (${rate:-?}/s), cov ${cov:-?}, ft ${ft:-?}"
    if ((status != 0)); then
        line="$line: FAILED (exit $status)"
        failed+=("$target")
        echo "fuzz: $target failed; the end of its log:"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|    #[0-9]+ )' "$log" | head -n 30
        for artifact in $(ls "$fuzz_dir" | grep "^$target-\(crash\|leak\|timeout\|oom\)-"); do
            echo "fuzz: input kept: $fuzz_dir/$artifact"
            echo "      replay:   $binary $fuzz_dir/$artifact"
            echo "      valgrind: valgrind --leak-check=full $replay_dir/fuzz_$target $fuzz_dir/$artifact"
        done
        after=$(ls "$fuzz_dir" | grep -c "^$target-\(crash\|leak\|timeout\|oom\)-")
        ((after > before)) || echo "fuzz: (no new input file: see $log)"
    fi
    echo "$line"
    summary+=("$line")
done

echo "fuzz: summary"
printf '  %s\n' "${summary[@]}"
if ((${#failed[@]})); then
    echo "fuzz: FAILED: ${failed[*]}"
    exit 1
fi
echo "fuzz: every target ran clean"
