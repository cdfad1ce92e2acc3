// exp(x) for x in [−708, 0] in float64, branch-free so compilers vectorise loops over it:
// Cody–Waite reduction x = k·ln2 + r (|r| ≤ ln2/2) and a degree-13 Taylor polynomial
// (truncation < 2e-17 relative), scaled by 2^k through the exponent bits. Accuracy: ≤ 2 ulp
// against libm (tests/engine/test_exp_poly.cpp). Callers handle x < −708 (result 0).
#pragma once
#include <cstdint>
#include <cstring>

#include "kernels/hd.hpp"

namespace lemmse {

LEMMSE_HD double exp_poly(double x) {
  const double shifter = 6755399441055744.0;  // 1.5·2^52: adding it rounds to an integer
  double kd = x * 1.4426950408889634 + shifter;
  std::uint64_t ki;
  ki = __builtin_bit_cast(std::uint64_t, kd);
  kd -= shifter;
  const double r = (x - kd * 6.93147180369123816490e-01) - kd * 1.90821492927058770002e-10;
  double p = 1.0 / 6227020800.0;  // 1/13!
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  const std::uint64_t bits = (ki + 1023u) << 52;  // 2^k (k ≥ −1022 for x ≥ −708)
  double scale;
  scale = __builtin_bit_cast(double, bits);
  return p * scale;
}

}  // namespace lemmse
