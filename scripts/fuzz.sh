#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan), writes the seed corpora and runs every
# target for FUZZ_SECONDS (default 60). Fails on any crash, leak or sanitizer report.
# Prints the executions per target; findings (crash-*, leak-*) are kept in build-fuzz/findings.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${FUZZ_SECONDS:-60}"
B=build-fuzz
CC=clang CXX=clang++ cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLEMMSE_ENABLE_CUDA=OFF \
  -DLEMMSE_BUILD_TESTS=OFF -DLEMMSE_BUILD_FUZZERS=ON -DLEMMSE_SANITIZE=address,undefined > "$B.configure.log"
targets=(npy idx cifar image operator_files cli)
cmake --build "$B" -j "$(nproc)" --target lemmse_fuzz_seeds $(printf 'fuzz_%s ' "${targets[@]}")
rm -rf "$B/seeds" && "$B/lemmse_fuzz_seeds" "$B/seeds"
mkdir -p "$B/findings"
status=0
summary=""
for t in "${targets[@]}"; do
  corpus="$B/corpus/$t"
  mkdir -p "$corpus"
  seeds="$B/seeds/$t"
  [ -d "$seeds" ] || seeds=""
  log="$B/fuzz_$t.log"
  echo "fuzz: $t for ${SECONDS_EACH}s"
  if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     "$B/fuzz_$t" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
       -artifact_prefix="$B/findings/$t-" "$corpus" $seeds > "$log" 2>&1; then
    runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' || echo "?")
    summary+=$(printf '%-16s %12s executions, no findings\n' "$t" "$runs")$'\n'
  else
    status=1
    summary+=$(printf '%-16s FINDING (see %s)\n' "$t" "$log")$'\n'
    tail -40 "$log"
  fi
done
echo "---- fuzzing summary (${SECONDS_EACH}s per target) ----"
printf '%s' "$summary"
exit $status
