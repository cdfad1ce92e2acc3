#!/usr/bin/env bash
# ctest driver of the Python tests: skipped (exit 77) when python3, numpy or pytest is missing.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
# Debian's python3 (python3-numpy, python3-pytest from install-deps.sh) first, then the PATH's.
PY=""
for cand in "${LEMMSE_PYTHON:-}" /usr/bin/python3 python3; do
  [ -n "$cand" ] && "$cand" -c "import numpy, pytest" 2>/dev/null && { PY="$cand"; break; }
done
[ -n "$PY" ] || { echo "SKIPPED: no python3 with numpy and pytest"; exit 77; }
export PYTHONPATH="$here/..${PYTHONPATH:+:$PYTHONPATH}"
exec "$PY" -m pytest -q -p no:cacheprovider "$here"
