// Arithmetic of the CUDA whitened engine (cuda/whitened_engine.cu), shared with its host emulation
// (tests/kernels/test_whitened_tile.cpp) as DESIGN.md §6 asks.
//
// Keys are whitened on the device: element e = c·d + r of the vector of key position n is
// Σ_{k ≤ r} G⁻¹[r][k] · x_c(patch k of n), G the Cholesky factor of the patch covariance.
// A block owns kWtTileQ query vectors and one slice of kWtSlice training images; its 256 threads
// form 16 × 16 and thread (tx, ty) evaluates query pixels ty + 16 i (i < 4) against keys
// tx + 16 j (j < 4) of each 64-key tile: direct fp64 differences summed in element order, then
// one online-softmax push per pair (fp64 state, float32 weight). The 16 threads sharing a query
// pixel merge their states in a fixed shuffle tree; slices are merged in slice order.
#pragma once
#include <cmath>

#include "kernels/hd.hpp"
#include "kernels/online_softmax.hpp"
#include "kernels/topk.hpp"

namespace lemmse {

constexpr int kWtTileQ = 64;      // query vectors per block
constexpr int kWtTileK = 64;      // keys per tile
constexpr int kWtTileE = 16;      // vector elements per shared-memory stage
constexpr int kWtThreads = 256;   // 16 × 16
constexpr int kWtSlice = 16;      // training images per block: the CPU engines' slice
constexpr int kWtPerThread = 4;   // query pixels (and keys per tile) per thread
// A key 87 nats below the running max weighs < 2e-38 of it (float32 underflow): skipped, as the
// CPU engine does.
constexpr double kWtSkipNats = 87.0;
// Top-k (the tiled kernels' TOPK instances): after a 64-key tile's distances, its logits pass
// through shared memory kWtTopkCols keys at a time and thread t < kWtTileQ offers query row t's,
// keys in order, to the query's heap in the block's slot (kernels/topk.hpp TopkSlots: slice sl
// uses slot sl mod slots; a launch covers at most `slots` slices). The logits are the pushes'.
constexpr int kWtTopkCols = 32;

// e^z for z ≤ 0 in float32: the hardware exp on the device (≤ 2 ulp over the argument's
// rounding), libm on the host.
LEMMSE_HD float wt_exp(float z) {
#if defined(__CUDA_ARCH__)
  return __expf(z);
#else
  return std::exp(z);
#endif
}

// One (query, key) pair: logit l, key values v[c·stride] (c < C).
template <int C>
LEMMSE_HD void wt_push(SoftmaxAcc<double>& a, double l, const double* v, long long stride) {
  if (!(l >= a.mx - kWtSkipNats)) return;
  if (l > a.mx) {  // new running max (rare after the first keys): rescale in fp64, re-pivot
    const double r = a.mx == -INFINITY ? 0.0 : exp(a.mx - l);
    a.s *= r;
    a.s2 *= r * r;
    double x[C];
    LEMMSE_UNROLL
    for (int c = 0; c < C; ++c) {
      a.a1[c] *= r;
      a.a2[c] *= r;
      x[c] = v[c * stride];
    }
    softmax_repivot(a, x, C);
    a.mx = l;
  }
  const double w = double(wt_exp(float(l - a.mx)));
  a.s += w;
  a.s2 += w * w;
  LEMMSE_UNROLL
  for (int c = 0; c < C; ++c) {
    const double d = v[c * stride] - a.pivot[c];
    a.a1[c] += w * d;
    a.a2[c] += w * d * d;
  }
}

// The dot-product form of the distance: ‖q‖² + ‖k‖² − 2 q·k, clamped at 0. In fp64 its error is
// ~2⁻⁵³·(‖q‖² + ‖k‖²) — whitened patches of [0, 1] images have norms of order C·P², so ~1e-14
// absolute: 1e-8 nats at σ = 0.001, far below the accuracy bar (tested on real images by
// tests/kernels/test_whitened_tile.cpp).
LEMMSE_HD double wt_distance_from_dot(double qn, double kn, double dot) {
  const double D = fma(-2.0, dot, qn + kn);
  return D > 0 ? D : 0.0;
}

// Element r of channel c of the whitened vector at key position (i, j) of image img (C×H×W):
// Σ_{k ≤ r} ginv[r·d + k] · img_c(i + du0 + k / P, j + dv0 + k % P), circular.
LEMMSE_HD double wt_whiten_element(const double* img, int H, int W, int P, int du0, int dv0, const double* ginv, int d,
                                   int c, int i, int j, int r) {
  const double* x = img + (long long)c * H * W;
  double sum = 0;
  for (int k = 0; k <= r; ++k) {
    int u = i + du0 + k / P, v = j + dv0 + k % P;
    u = u < 0 ? u + H : (u >= H ? u - H : u);
    v = v < 0 ? v + W : (v >= W ? v - W : v);
    sum = fma(ginv[(long long)r * d + k], x[u * W + v], sum);
  }
  return sum;
}

}  // namespace lemmse
