#!/usr/bin/env bash
# ctest driver of python/examples/denoise_and_sources.py (skipped without python3 + numpy).
set -u
here="$(cd "$(dirname "$0")" && pwd)"
PY=""
for cand in "${LEMMSE_PYTHON:-}" /usr/bin/python3 python3; do
  [ -n "$cand" ] && "$cand" -c "import numpy" 2>/dev/null && { PY="$cand"; break; }
done
[ -n "$PY" ] || { echo "SKIPPED: no python3 with numpy"; exit 77; }
exec "$PY" "$here/../examples/denoise_and_sources.py" "$@"
