#!/usr/bin/env bash
# Copies the Debian build dependencies installed here (headers, shared libraries, CMake and
# pkg-config files) into .deps/ (git-ignored), mirroring their /usr paths, so that a bare machine
# with only a compiler, CMake and Ninja — the lent GPU machine — can build lemmse. Carry .deps
# with the device tool; bench/gpu_check.sh uses it when present.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .deps && mkdir -p .deps
pkgs=(libcli11-dev nlohmann-json3-dev catch2 libfmt-dev libfmt9 libfftw3-dev libfftw3-double3 libstb-dev libstb0
      zlib1g-dev zlib1g)
for p in "${pkgs[@]}"; do
  dpkg -L "$p" | while read -r f; do
    case "$f" in */libCatch2WithMain.a) ;; /usr/share/doc/*|/usr/share/man/*|*.a|*/libfftw3[flq]*|*/libfftw3_*) continue ;; esac
    if [ -f "$f" ] || [ -L "$f" ]; then mkdir -p ".deps$(dirname "$f")" && cp -a "$f" ".deps$f"; fi
  done
done
du -sh .deps
