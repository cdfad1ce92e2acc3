// SplitMix64: a small, fast, counter-friendly generator. Every random stream in lemmse (built-in
// images, noise, random masks) derives from it, so results are identical on every platform.
#pragma once
#include <cstdint>

namespace lemmse {
struct SplitMix {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uni() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }                // [0, 1)
  double open01() { return (double(next() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }     // (0, 1)
  double range(double a, double b) { return a + (b - a) * uni(); }
};
}  // namespace lemmse
