#!/usr/bin/env bash
# ctest driver of the Python binding: `run_pytest.sh` runs the pytest suite; `run_pytest.sh
# --example ARGS` runs python/examples/denoise_and_sources.py. Skipped (exit 77) without a python3
# that has numpy (and pytest for the suite): Debian's first (install-deps.sh), then the PATH's.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
need="import numpy, pytest"
[ "${1:-}" = --example ] && need="import numpy"
PY=""
for cand in "${LEMMSE_PYTHON:-}" /usr/bin/python3 python3; do
  [ -n "$cand" ] && "$cand" -c "$need" 2>/dev/null && { PY="$cand"; break; }
done
[ -n "$PY" ] || { echo "SKIPPED: no python3 with numpy${need#*numpy}"; exit 77; }
export PYTHONPATH="$here/..${PYTHONPATH:+:$PYTHONPATH}"
if [ "${1:-}" = --example ]; then
  shift
  exec "$PY" "$here/../examples/denoise_and_sources.py" "$@"
fi
exec "$PY" -m pytest -q -p no:cacheprovider "$here"
