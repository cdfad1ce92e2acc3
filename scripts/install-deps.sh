#!/usr/bin/env bash
# Installs everything lemmse needs to build and test on Debian/Ubuntu (run as root or with sudo).
# Used by the README's set-up commands and by .ci/run, so both stay in step.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PKGS=(
  build-essential cmake ninja-build pkg-config
  catch2 libstb-dev zlib1g-dev libcli11-dev nlohmann-json3-dev libfmt-dev libfftw3-dev
  dataset-fashion-mnist   # real test data: /usr/share/datasets/fashion-mnist
  python3 python3-numpy python3-pytest   # Python binding and its tests
  clang libclang-rt-14-dev                # libFuzzer + sanitizer runtimes (scripts/fuzz.sh)
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi
