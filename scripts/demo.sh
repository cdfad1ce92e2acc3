#!/usr/bin/env bash
# The main job: LE-MMSE denoising (P = 5, σ = 0.2) of built-in test images against 1,000 built-in
# training images; writes lemmse-out/grid.png (measurement | estimate | clean) and metrics.json.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(nproc)"
./build/lemmse run --estimator le-mmse --problem denoise --patch 5 --sigma 0.2 --train-count 1000 --test-count 2 --out lemmse-out "$@"
