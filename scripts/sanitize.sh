#!/usr/bin/env bash
# Builds the whole test suite with AddressSanitizer + UndefinedBehaviorSanitizer (gcc, CUDA off)
# and runs it with ctest. Any sanitizer report fails the run. The Python tests (which would need
# the ASan runtime preloaded into python) and the install test are left to the normal build.
set -euo pipefail
cd "$(dirname "$0")/.."
export LEMMSE_DATA_DIR="${LEMMSE_DATA_DIR:-$(cd .. && pwd)/shared/data}"
B=build-asan
cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLEMMSE_ENABLE_CUDA=OFF -DLEMMSE_SANITIZE=address,undefined
cmake --build "$B" -j "$(nproc)"
cd "$B"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure -j "$(nproc)" -E "python_|install_and_find_package"
