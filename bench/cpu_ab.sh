#!/usr/bin/env bash
# A/B timing of two lemmse_bench builds on a noisy machine: runs them alternately ROUNDS times
# (default 5) with the same arguments and prints, per row, each build's least and median
# ms/image over the rounds (each round itself the median of --repeat runs). Shared VMs drift by
# up to 1.5× between minutes; alternating and taking the least keeps the comparison fair.
# Usage: bench/cpu_ab.sh OLD_BENCH NEW_BENCH [lemmse_bench arguments…]   (ROUNDS=n to change)
# Each build needs its own build directory: lemmse_bench loads liblemmse.so from there by rpath,
# so a copied executable runs whatever library that directory holds now. The script refuses two
# executables that resolve to the same library — unless OLD_ENV / NEW_ENV set different
# environments for the two sides (one build, two settings), e.g.
#   OLD_ENV=LEMMSE_CPU_KERNELS=avx2 NEW_ENV=LEMMSE_CPU_KERNELS=avx512 bench/cpu_ab.sh B B …
set -euo pipefail
old="$1" new="$2"
shift 2
lib() { ldd "$1" | awk '/liblemmse/ {print $3}'; }
old_env="${OLD_ENV:-}" new_env="${NEW_ENV:-}"
if [ "$old_env" = "$new_env" ] && [ -n "$(lib "$old")" ] && [ "$(readlink -f "$(lib "$old")")" = "$(readlink -f "$(lib "$new")")" ]; then
  echo "cpu_ab.sh: both executables load $(lib "$old"): build each in its own directory" >&2
  exit 2
fi
rounds="${ROUNDS:-5}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for ((i = 0; i < rounds; ++i)); do
  env $old_env "$old" "$@" --no-reference --json "$tmp/old-$i.json" > /dev/null
  env $new_env "$new" "$@" --no-reference --json "$tmp/new-$i.json" > /dev/null
done
/usr/bin/python3 - "$tmp" "$rounds" <<'PY'
import json, statistics, sys
tmp, rounds = sys.argv[1], int(sys.argv[2])
def rows(tag):
    out = {}
    for i in range(rounds):
        for r in json.load(open(f"{tmp}/{tag}-{i}.json"))["rows"]:
            out.setdefault((r["patch"], r["sigma"]), []).append(r["ms_per_image"])
    return out
old, new = rows("old"), rows("new")
print(f"{'P':>3} {'sigma':>6} {'old min':>9} {'old med':>9} {'new min':>9} {'new med':>9} {'speed-up (min)':>15}")
for k in old:
    o, n = old[k], new[k]
    print(f"{k[0]:>3} {k[1]:>6g} {min(o):9.1f} {statistics.median(o):9.1f} {min(n):9.1f} {statistics.median(n):9.1f} {min(o) / min(n):14.2f}x")
PY
