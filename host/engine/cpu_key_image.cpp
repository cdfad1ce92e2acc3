// Storage of training and query images in the layouts the CPU window kernels read
// (cpu_kernels.hpp): periodic rows with wrapped margins, so every shifted key row, and every
// 4-pixel group's window, is one contiguous run. Also the float32 screen's error bound.
#include <algorithm>
#include <cmath>

#include "engine/cpu_kernels.hpp"

namespace lemmse {
namespace cpu {

namespace {
// out (planes × H rows of periodic_stride(copies, W, margin)) from in (planes × H × W): out
// column c (from −margin) of a row holds in column c mod W.
template <class T, class S>
void periodic_rows(int planes, int H, int W, int copies, int margin, const S* in, AlignedVector<T>& out) {
  const std::size_t stride = periodic_stride(copies, W, margin);
  out.resize(std::size_t(planes) * H * stride);
  for (std::size_t row = 0; row < std::size_t(planes) * H; ++row) {
    const S* src = in + row * W;
    T* dst = out.data() + row * stride;
    int c = ((-margin % W) + W) % W;  // the source column of out column −margin
    for (std::size_t i = 0; i < stride; ++i, c = c + 1 == W ? 0 : c + 1) dst[i] = T(src[c]);
  }
}
}  // namespace

void KeyPositionStore::fill(int H, int W, int margin, const double* pixel_weight, const double* key_bias, const int* pattern_of) {
  weight.clear();
  weight32.clear();
  bias.clear();
  pattern.clear();
  if (pixel_weight) periodic_rows(1, H, W, 2, margin, pixel_weight, weight);
  if (pixel_weight) periodic_rows(1, H, W, 2, margin, pixel_weight, weight32);
  if (key_bias) periodic_rows(1, H, W, 2, margin, key_bias, bias);
  if (pattern_of) periodic_rows(1, H, W, 2, margin, pattern_of, pattern);
}

void KeyImageStore::fill(int C, int H, int W_, int margin_, const double* key, const double* value) {
  W = W_;
  margin = margin_;
  periodic_rows(C, H, W, 2, margin, key, k);
  periodic_rows(C, H, W, 2, margin, key, k32);
  periodic_rows(C, H, W, 2, margin, value, val);
  periodic_rows(C, H, W, 2, margin, value, val32);
}

KeyImage KeyImageStore::view(const KeyPositionStore& pos) const {
  const std::size_t m = std::size_t(margin);
  return KeyImage{k.data() + m,
                  k32.data() + m,
                  pos.weight.empty() ? nullptr : pos.weight.data() + m,
                  pos.weight32.empty() ? nullptr : pos.weight32.data() + m,
                  val.data() + m,
                  val32.data() + m,
                  pos.bias.empty() ? nullptr : pos.bias.data() + m,
                  pos.pattern.empty() ? nullptr : pos.pattern.data() + m,
                  periodic_stride(2, W, margin),
                  margin};
}

void QueryImageStore::fill(int C, int H, int W, int margin_, const double* q) {
  margin = margin_;
  stride = periodic_stride(1, W, margin);
  periodic_rows(C, H, W, 1, margin, q, q32);
  periodic_rows(C, H, W, 1, margin, q, qx);
}

// The float32 distance D32 of a window of n = wh·ww key pixels against its exact value D: each
// difference f of values a, b (|a|, |b| ≤ M) rounded to float32 and subtracted is off by
// |η| ≤ u(|a| + |b|)(1 + u) + u|a − b| ≤ 4uM(1 + u) (u = 2⁻²⁴), so Σ w f² ≤ (√D + √(Σ w η²))²
// (Cauchy–Schwarz) with Σ w η² ≤ n·wmax·(4uM)²(1 + u)²; computing that sum of non-negative terms
// (C products and sums per pixel, the weight product, ww − 1 and wh − 1 window adds: every path
// at most 2C + ww + wh + 2 roundings; float32 weights one more) multiplies it by at most
// 1 + (2C + ww + wh + 3)u(1 + ε), and by at least 1 − that; the reverse triangle inequality gives
// Σ w f² ≥ (√D − √(Σ w η²))² for the lower bound. Both terms are doubled for safety.
Float32Bound Float32Bound::for_terms(double terms, double rounding_steps, double max_abs, double max_weight) {
  constexpr double u = 5.9604644775390625e-08;  // 2⁻²⁴
  Float32Bound b;
  b.rel = 2 * rounding_steps * u * 1.01;
  b.abs_sqrt = 2 * std::sqrt(terms * max_weight) * 4 * u * max_abs * 1.01;
  return b;
}

float Float32Bound::cut(double Dmax) const {
  if (!(Dmax < 1e300) || !(abs_sqrt < 1e300)) return INFINITY;
  const double sq = std::sqrt(Dmax > 0 ? Dmax : 0.0) + abs_sqrt;
  const double b = (1 + rel) * sq * sq;
  float f = float(b);
  if (double(f) < b) f = std::nextafter(f, INFINITY);
  return f;
}

void Screen::init(int C, int H, int W, int wh, int ww, double max_abs, double max_weight, double skip_nats_, double inv) {
  cut.assign(std::size_t(H) * W, INFINITY);
  scratch.assign(window_scratch_size(H, W, wh, ww), 0.0f);
  live.assign(std::size_t(H) * std::size_t((W + 3) / 4), 0);
  row_live.assign(std::size_t(H), 0);
  hs_memo.assign(4 * std::size_t(H) * std::size_t((W + 3) / 4), 0.0);
  hs_stamp.assign(std::size_t(H) * std::size_t((W + 3) / 4), 0u);
  stamp = 0;
  bound = Float32Bound::for_terms(double(wh) * ww, 2.0 * C + ww + wh + 3, max_abs, max_weight);
  skip_nats = skip_nats_;
  inv_two_sigma2 = inv;
  rest = run = 0;
  floor.clear();
}

void Screen::set_floor(const float* dmin) {
  floor.resize(cut.size());
  for (std::size_t p = 0; p < cut.size(); ++p) {
    const double D = double(dmin[p]), root = std::sqrt((D > 0 ? D : 0.0) / (1 - bound.rel)) + bound.abs_sqrt;
    const double up = root * root * (1 + 1e-12);  // (the fp64 rounding of these few operations)
    floor[p] = std::isnan(D) || !(up < 1e300) ? -INFINITY : -up * inv_two_sigma2;
    cut[p] = cut_at(p, -INFINITY);
  }
}

float Screen::cut_for(double mx) const {
  // A key is live when l − mx ≥ −skip_nats with l = −D·inv_two_sigma2, i.e. D ≤ (skip_nats − mx)/inv.
  return bound.cut((skip_nats - mx) / inv_two_sigma2);
}

}  // namespace cpu
}  // namespace lemmse
