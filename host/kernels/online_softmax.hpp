// Streaming (online) softmax accumulator for one query pixel: FlashAttention-style running max,
// Σw, Σw² (effective number of contributing keys) and the first two moments of the values taken
// about a pivot: the value of the key that set the running max. Moments about a pivot near the
// mean keep E[(x−K)²] − E[x−K]² free of the cancellation of E[x²] − E[x]², without the division
// per key that Welford's update costs.
//
//   w = exp(ℓ − mx),  s = Σ w,  s2 = Σ w²,  a1_c = Σ w (x_c − K_c),  a2_c = Σ w (x_c − K_c)²
//   mean_c = K_c + a1_c/s,  variance_c = a2_c/s − (a1_c/s)²,  log-density = mx + log s,
//   effective count = s²/s2
//
// Keys whose logit is more than `skip` below the running max are skipped: their weight relative
// to the max is < exp(−skip). With skip = 745 in fp64, exp() underflows to exactly 0 there, so
// the skip changes no bit of the result.
#pragma once
#include <cmath>
#include <cstddef>

#include "kernels/hd.hpp"

namespace lemmse {

constexpr int kMaxChannels = 4;

template <class T>
struct SoftmaxAcc {
  T mx, s, s2;
  T pivot[kMaxChannels];
  T a1[kMaxChannels];
  T a2[kMaxChannels];
};

template <class T>
LEMMSE_HD void softmax_init(SoftmaxAcc<T>& a) {
  a.mx = -INFINITY;
  a.s = 0;
  a.s2 = 0;
  for (int c = 0; c < kMaxChannels; ++c) a.pivot[c] = a.a1[c] = a.a2[c] = 0;
}

// Moves the moments of a to a new pivot (exact algebra, no loss when the pivots are close).
template <class T>
LEMMSE_HD void softmax_repivot(SoftmaxAcc<T>& a, const T* pivot, int C) {
  for (int c = 0; c < C; ++c) {
    const T d = pivot[c] - a.pivot[c];
    a.a2[c] = a.a2[c] - T(2) * d * a.a1[c] + d * d * a.s;
    a.a1[c] = a.a1[c] - d * a.s;
    a.pivot[c] = pivot[c];
  }
}

// Adds one key with logit l and value vector x[0..C).
template <class T>
LEMMSE_HD void softmax_push(SoftmaxAcc<T>& a, T l, const T* x, int C, T skip) {
  if (!(l >= a.mx - skip)) return;
  if (l > a.mx) {  // new maximum: rescale to it and take its value as the pivot
    const T r = a.mx == -INFINITY ? T(0) : exp(a.mx - l);
    a.s *= r;
    a.s2 *= r * r;
    for (int c = 0; c < C; ++c) {
      a.a1[c] *= r;
      a.a2[c] *= r;
    }
    softmax_repivot(a, x, C);
    a.mx = l;
  }
  const T w = exp(l - a.mx);
  a.s += w;
  a.s2 += w * w;
  for (int c = 0; c < C; ++c) {
    const T d = x[c] - a.pivot[c];
    a.a1[c] += w * d;
    a.a2[c] += w * d * d;
  }
}

// Merges partial b into a, for slices merged in a fixed order.
template <class T>
LEMMSE_HD void softmax_merge(SoftmaxAcc<T>& a, SoftmaxAcc<T> b, int C) {
  if (b.s == T(0)) return;
  if (a.s == T(0)) {
    a = b;
    return;
  }
  softmax_repivot(b, a.pivot, C);
  const T mx = a.mx > b.mx ? a.mx : b.mx;
  const T ra = exp(a.mx - mx), rb = exp(b.mx - mx);
  a.s = a.s * ra + b.s * rb;
  a.s2 = a.s2 * ra * ra + b.s2 * rb * rb;
  for (int c = 0; c < C; ++c) {
    a.a1[c] = a.a1[c] * ra + b.a1[c] * rb;
    a.a2[c] = a.a2[c] * ra + b.a2[c] * rb;
  }
  a.mx = mx;
}

// Many pixels' accumulators as structure-of-arrays (fp64), for the engines' vectorised row loops:
// the same state as SoftmaxAcc, pixel loc at index loc (per channel: c·npix + loc).
struct SoftmaxRows {
  std::size_t npix;  // channel stride: ≥ the number of pixels (padded by SoftmaxRowStore)
  int C;
  double* mx;
  double* s;
  double* s2;
  double* piv;  // C×npix
  double* a1;   // C×npix
  double* a2;   // C×npix
};

// A key above pixel loc's running max: rescale the sums to its logit l and move the pivot to its
// values x[c·stride] (exact algebra, as softmax_push does).
LEMMSE_HD void softmax_rows_new_max(const SoftmaxRows& st, std::size_t loc, double l, const double* x, std::size_t stride) {
  const double r = exp(st.mx[loc] - l);  // 0 for the first key (mx starts at −DBL_MAX)
  st.s[loc] *= r;
  st.s2[loc] *= r * r;
  for (int c = 0; c < st.C; ++c) {
    const std::size_t i = std::size_t(c) * st.npix + loc;
    st.a1[i] *= r;
    st.a2[i] *= r;
    const double d = x[std::size_t(c) * stride] - st.piv[i];
    st.a2[i] = st.a2[i] - 2 * d * st.a1[i] + d * d * st.s[loc];
    st.a1[i] = st.a1[i] - d * st.s[loc];
    st.piv[i] = x[std::size_t(c) * stride];
  }
  st.mx[loc] = l;
}

// Pixel loc's state as a SoftmaxAcc (for merging and the final read-out).
LEMMSE_HD SoftmaxAcc<double> softmax_rows_at(const SoftmaxRows& st, std::size_t loc) {
  SoftmaxAcc<double> a;
  softmax_init(a);
  a.mx = st.mx[loc];
  a.s = st.s[loc];
  a.s2 = st.s2[loc];
  for (int c = 0; c < st.C; ++c) {
    a.pivot[c] = st.piv[std::size_t(c) * st.npix + loc];
    a.a1[c] = st.a1[std::size_t(c) * st.npix + loc];
    a.a2[c] = st.a2[std::size_t(c) * st.npix + loc];
  }
  return a;
}

// Writes a SoftmaxAcc back as pixel loc's state (the inverse of softmax_rows_at).
LEMMSE_HD void softmax_rows_store(const SoftmaxRows& st, std::size_t loc, const SoftmaxAcc<double>& a) {
  st.mx[loc] = a.mx;
  st.s[loc] = a.s;
  st.s2[loc] = a.s2;
  for (int c = 0; c < st.C; ++c) {
    st.piv[std::size_t(c) * st.npix + loc] = a.pivot[c];
    st.a1[std::size_t(c) * st.npix + loc] = a.a1[c];
    st.a2[std::size_t(c) * st.npix + loc] = a.a2[c];
  }
}

template <class T>
LEMMSE_HD T softmax_mean(const SoftmaxAcc<T>& a, int c) { return a.pivot[c] + a.a1[c] / a.s; }
template <class T>
LEMMSE_HD T softmax_log_density(const SoftmaxAcc<T>& a) { return a.mx + log(a.s); }
template <class T>
LEMMSE_HD T softmax_variance(const SoftmaxAcc<T>& a, int c) {
  const T m = a.a1[c] / a.s, v = a.a2[c] / a.s - m * m;
  return v > T(0) ? v : T(0);
}
template <class T>
LEMMSE_HD T softmax_effective_count(const SoftmaxAcc<T>& a) { return a.s * a.s / a.s2; }

}  // namespace lemmse
