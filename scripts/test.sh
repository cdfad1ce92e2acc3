#!/usr/bin/env bash
# Builds lemmse (with the CUDA sources when nvcc is present) and runs every test with ctest.
# Tests that need real data read $LEMMSE_DATA_DIR (default ../shared/data) and the Debian
# dataset-fashion-mnist package; GPU tests need a CUDA device. Absent ones are reported as skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
export LEMMSE_DATA_DIR="${LEMMSE_DATA_DIR:-$(cd .. && pwd)/shared/data}"
BUILD_DIR="${BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD_DIR" -j "$(nproc)"
cd "$BUILD_DIR"
ctest --output-on-failure -j "$(nproc)"
