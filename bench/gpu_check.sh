#!/usr/bin/env bash
# One prepared check for a lent GPU machine (H100/H200): build for sm_90, run the whole test suite
# (GPU tests included), run the GPU tests under compute-sanitizer (memcheck, racecheck, initcheck),
# print a short table last and write gpu_check.json (and the ctest JUnit file) under $OUT.
# Needs the dependency bundle: run scripts/bundle-deps.sh here first and carry .deps, e.g.
#   device run: command "bash bench/gpu_check.sh", carry [".deps"], timeout_s 480
# Benchmarks join this script with the fast engines (issue 3).
set -u
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/gpu-check-out}"
mkdir -p "$OUT"
if [ -d .deps/usr ]; then
  D="$PWD/.deps/usr"
  for pc in $(find "$D" -name '*.pc'); do sed -i "s#^prefix=.*#prefix=$D#" "$pc"; done
  export CMAKE_PREFIX_PATH="$D${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
  export PKG_CONFIG_PATH="$D/lib/x86_64-linux-gnu/pkgconfig:$D/share/pkgconfig"
  export LD_LIBRARY_PATH="$D/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export CPATH="$D/include${CPATH:+:$CPATH}"
fi
export PATH="/usr/local/cuda/bin:$PATH"
B=build-gpu
t0=$(date +%s)
status_build=fail; status_tests=fail; mem=skipped; race=skipped; init=skipped
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$OUT/gpu.txt" 2>&1 || true
if cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 > "$OUT/configure.log" 2>&1 &&
   cmake --build "$B" -j "$(nproc)" > "$OUT/build.log" 2>&1; then
  status_build=ok
  "$B/lemmse" info > "$OUT/info.txt" 2>&1
  (cd "$B" && ctest -j 8 --output-on-failure --output-junit "$OUT/ctest.xml" > "$OUT/ctest.log" 2>&1) && status_tests=ok
  if command -v compute-sanitizer > /dev/null; then
    for tool in memcheck racecheck initcheck; do
      if compute-sanitizer --tool "$tool" --error-exitcode 9 "$B/tests/lemmse_tests" "[gpu]" > "$OUT/sanitizer_$tool.log" 2>&1
      then r=ok; else r=fail; fi
      case $tool in memcheck) mem=$r ;; racecheck) race=$r ;; initcheck) init=$r ;; esac
    done
  fi
fi
t1=$(date +%s)
gpu=$(head -1 "$OUT/gpu.txt" 2>/dev/null | tr -d '"')
summary=$(grep -E "tests passed|tests failed" "$OUT/ctest.log" 2>/dev/null | tail -1)
cat > "$OUT/gpu_check.json" <<JSON
{"date": "$(date -u +%FT%TZ)", "commit": "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)", "gpu": "$gpu",
 "build": "$status_build", "tests": "$status_tests", "ctest_summary": "$summary",
 "compute_sanitizer": {"memcheck": "$mem", "racecheck": "$race", "initcheck": "$init"}, "seconds": $((t1 - t0))}
JSON
echo "---- gpu_check ($gpu) ----"
printf '%-22s %s\n' build "$status_build" tests "$status_tests ($summary)" memcheck "$mem" racecheck "$race" initcheck "$init" seconds "$((t1 - t0))"
[ "$status_build" = ok ] && [ "$status_tests" = ok ] && [ "$mem" != fail ] && [ "$race" != fail ] && [ "$init" != fail ]
