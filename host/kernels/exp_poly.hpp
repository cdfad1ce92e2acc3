// exp(x) for x in [−708, 0] in float64, branch-free so compilers vectorise loops over it:
// Cody–Waite reduction x = k·ln2 + r (|r| ≤ ln2/2) and a degree-13 Taylor polynomial
// (truncation < 2e-17 relative), scaled by 2^k through the exponent bits. Accuracy: ≤ 2 ulp
// against libm (tests/engine/test_exp_poly.cpp). Callers handle x < −708 (result 0).
#pragma once
#include <cstdint>
#include <cstring>

#include "kernels/hd.hpp"

namespace lemmse {

// Bit casts usable on host and device.
#if defined(__CUDA_ARCH__)
#define LEMMSE_BITS_F64(x) static_cast<std::uint64_t>(__double_as_longlong(x))
#define LEMMSE_F64_BITS(b) __longlong_as_double(static_cast<long long>(b))
#define LEMMSE_BITS_F32(x) __float_as_uint(x)
#define LEMMSE_F32_BITS(b) __uint_as_float(b)
#else
#define LEMMSE_BITS_F64(x) __builtin_bit_cast(std::uint64_t, x)
#define LEMMSE_F64_BITS(b) __builtin_bit_cast(double, b)
#define LEMMSE_BITS_F32(x) __builtin_bit_cast(std::uint32_t, x)
#define LEMMSE_F32_BITS(b) __builtin_bit_cast(float, b)
#endif

// Cody–Waite reduction shared by the float64 exps: x = k·ln2 + r with |r| ≤ ln2/2; returns r and
// sets ki to the bits whose low part is k (turned into 2^k by exp_scale).
LEMMSE_HD double exp_reduce(double x, std::uint64_t& ki) {
  const double shifter = 6755399441055744.0;  // 1.5·2^52: adding it rounds to an integer
  double kd = x * 1.4426950408889634 + shifter;
  ki = LEMMSE_BITS_F64(kd);
  kd -= shifter;
  return (x - kd * 6.93147180369123816490e-01) - kd * 1.90821492927058770002e-10;
}

// 2^k from exp_reduce's bits (k ≥ −1022 for x ≥ −708).
LEMMSE_HD double exp_scale(std::uint64_t ki) {
  const std::uint64_t bits = (ki + 1023u) << 52;
  return LEMMSE_F64_BITS(bits);
}

LEMMSE_HD double exp_poly(double x) {
  std::uint64_t ki;
  const double r = exp_reduce(x, ki);
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
  return p * exp_scale(ki);
}

}  // namespace lemmse

namespace lemmse {

// e^f for |f| ≤ ln2/2 in float32: the degree-7 Taylor polynomial (truncation < 6e-9 relative) by
// Estrin's scheme — a dependency chain of 4 multiply-adds instead of Horner's 8, which is what
// the CPU engine's short 8-lane row loops wait on. For float and GCC vectors of float.
template <class T>
LEMMSE_HD T exp_taylor7_estrin(T f) {
  const T f2 = f * f;
  const T p01 = f + 1.0f;
  const T p23 = f * (1.0f / 6.0f) + 0.5f;
  const T p45 = f * (1.0f / 120.0f) + 1.0f / 24.0f;
  const T p67 = f * (1.0f / 5040.0f) + 1.0f / 720.0f;
  const T f4 = f2 * f2;
  const T q0 = p23 * f2 + p01;
  const T q1 = p67 * f2 + p45;
  return q1 * f4 + q0;
}

// exp(x) for x in [−87, 0] in float32, branch-free: x = k·ln2 + f with a two-part ln2
// (Cody–Waite, |f| ≤ ln2/2), exp_taylor7_estrin(f), scaled by 2^k through the exponent bits (the
// CPU engine's 8-lane copy: exp_poly_f8 in engine/cpu_kernels.inc). Accuracy: ≤ 2 ulp of float
// (tests/engine/test_exp_poly.cpp). Callers handle x < −87 (result 0).
LEMMSE_HD float exp_poly_f(float x) {
  const float shifter = 12582912.0f;  // 1.5·2^23: adding it rounds to an integer
  float kd = x * 1.44269504088896341f + shifter;
  std::uint32_t ki = LEMMSE_BITS_F32(kd);
  kd -= shifter;
  const float f = (x - kd * 0.693359375f) - kd * -2.12194440e-4f;  // Cody–Waite: |f| ≤ ln2/2
  const std::uint32_t bits = (ki + 127u) << 23;  // 2^k (k ≥ −126 for x ≥ −87)
  return exp_taylor7_estrin(f) * LEMMSE_F32_BITS(bits);
}

}  // namespace lemmse
