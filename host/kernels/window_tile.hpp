// The CUDA window engine's arithmetic (DESIGN.md §2), written as __host__ __device__ phases that
// run between the block's barriers, so that a host emulation of one block (tests/kernels) runs the
// very code the kernel runs (DESIGN.md §6).
//
// One block = one query image × one slice of kTileSlice training images. Its kTileThreads threads
// each own the query pixels m = tid, tid + kTileThreads, … (PPT of them at most). For each training
// image of the slice (key and value image staged in shared memory) and each shift t:
//   phase E:  e(m) = w(n) Σ_c (q_c(m) − k_c(n))²,  n = m + t (circular)        → shared e
//   barrier
//   phase H:  h(m) = Σ_{v ∈ window columns} e(m + v)   (direct sums: no cancellation)
//   barrier
//   phase V:  D(m) = Σ_{u ∈ window rows} h(m + u);  g = D − 2σ² bias(n);  online-softmax update
// (whole-image windows replace H and V by a fixed-order block reduction: D is one number.)
//
// Precision: distances in float32 from direct differences (relative error ~ (C + 2P)·2⁻²⁴), the
// softmax of one training image in float32 relative to the running minimum distance g_min
// (weights 2^((g_min − g)·log2(e)/2σ²) ≤ 1, at most HW terms per sum), folded after every training
// image into the slice's fp64 state (kernels/online_softmax.hpp) in global memory. Slices are merged
// in slice order (tile_merge_pixel): results are the same bits for any grid or device.
// Skipping: keys whose weight is below 2⁻¹²⁶ relative to the running maximum are not added — the
// hardware exp2 (flush-to-zero) returns exactly 0 for them, so the skip changes no bit.
#pragma once
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "kernels/hd.hpp"
#include "kernels/online_softmax.hpp"

namespace lemmse {

constexpr int kTileThreads = 256;  // threads per block (a multiple of 32)
constexpr int kTileSlice = 16;     // training images per block; fixed, so the merge order is too
constexpr float kTileSkipLog2 = -126.0f;

struct WindowTileArgs {
  int C, H, W, HW;
  int du0, du1, dv0, dv1;      // window offsets (rows du0..du1, columns dv0..dv1)
  int whole;                   // whole-image window
  int all_shifts;              // all H·W shifts, or t = 0 only
  double inv_two_sigma2;       // 1 / 2σ²
  float scale2;                // log2(e) / 2σ²
  const float* q;              // nimg × C × HW query images (v = B y), this launch's first image first
  const float* keys;           // ntrain × C × HW keys (B A x_b)
  const float* vals;           // ntrain × C × HW values (x_b)
  const float* weight;         // HW pixel weights at key pixels, or null
  const float* dshift;         // HW: −2σ² bias(n), added to the distance, or null
  const std::uint8_t* valid;   // nimg × HW × npat validity of (query pixel, key pattern), or null
  const int* pattern_of;       // HW pattern id of each key position (with valid)
  int npat;
  long long ntrain;
  int nslice;
  double* partial;             // nimg × nslice states of (3 + 3C) × HW doubles (SoftmaxRows layout)
};

// Shared memory of one block, carved from one float array.
struct TileShared {
  float* key;      // C × HW
  float* val;      // C × HW
  float* e;        // HW
  float* h;        // HW
  float* red;      // kTileThreads + kTileThreads/32 (whole-image reduction)
  float* weight;   // HW or null
  float* dshift;   // HW or null
  int* pattern;    // HW or null
};

LEMMSE_HD std::size_t tile_shared_floats(const WindowTileArgs& a) {
  const std::size_t HW = std::size_t(a.HW);
  return 2 * std::size_t(a.C) * HW + 2 * HW + kTileThreads + kTileThreads / 32 + (a.weight ? HW : 0) +
         (a.dshift ? HW : 0) + (a.valid ? HW : 0);
}

LEMMSE_HD TileShared tile_shared_layout(const WindowTileArgs& a, float* base) {
  const std::size_t HW = std::size_t(a.HW);
  TileShared s;
  s.key = base;
  s.val = s.key + std::size_t(a.C) * HW;
  s.e = s.val + std::size_t(a.C) * HW;
  s.h = s.e + HW;
  s.red = s.h + HW;
  float* next = s.red + kTileThreads + kTileThreads / 32;
  s.weight = a.weight ? next : nullptr;
  next += a.weight ? HW : 0;
  s.dshift = a.dshift ? next : nullptr;
  next += a.dshift ? HW : 0;
  s.pattern = a.valid ? reinterpret_cast<int*>(next) : nullptr;
  return s;
}

// The fp64 state of (image, slice) in the partial buffer.
LEMMSE_HD SoftmaxRows tile_partial(const WindowTileArgs& a, long long img, int slice) {
  const std::size_t HW = std::size_t(a.HW);
  double* b = a.partial + (std::size_t(img) * std::size_t(a.nslice) + std::size_t(slice)) * (3 + 3 * std::size_t(a.C)) * HW;
  return SoftmaxRows{HW, a.C, b, b + HW, b + 2 * HW, b + 3 * HW, b + (3 + std::size_t(a.C)) * HW, b + (3 + 2 * std::size_t(a.C)) * HW};
}

// 2^x; exactly 0 below 2⁻¹²⁶ on the device (ex2.approx.ftz: ≤ 2 ulp), libm on the host.
LEMMSE_HD float tile_exp2(float x) {
#if defined(__CUDA_ARCH__)
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
#else
  return x < kTileSkipLog2 ? 0.0f : std::exp2(x);
#endif
}

// Registers of one thread: its query pixels' values and float32 softmax state for the current
// training image (weights relative to the running minimum distance gmin).
template <int C, int PPT>
struct TileThread {
  float q[PPT][C];
  float gmin[PPT];
  float s[PPT], s2[PPT];
  float piv[PPT][C], a1[PPT][C], a2[PPT][C];
};

// Key position n of query pixel m under shift t (circular).
LEMMSE_HD int tile_key_pos(const WindowTileArgs& a, int m, int t) {
  const int r = m / a.W, j = m - r * a.W, ti = t / a.W, tj = t - ti * a.W;
  int kr = r + ti, kc = j + tj;
  if (kr >= a.H) kr -= a.H;
  if (kc >= a.W) kc -= a.W;
  return kr * a.W + kc;
}

// Start of a block: static per-key data into shared memory, the thread's query values, empty states.
template <int C, int PPT>
LEMMSE_HD void tile_begin(const WindowTileArgs& a, const TileShared& sh, TileThread<C, PPT>& th, long long img, int slice, int tid) {
  for (int i = tid; i < a.HW; i += kTileThreads) {
    if (sh.weight) sh.weight[i] = a.weight[i];
    if (sh.dshift) sh.dshift[i] = a.dshift[i];
    if (sh.pattern) sh.pattern[i] = a.pattern_of[i];
  }
  const SoftmaxRows st = tile_partial(a, img, slice);
  LEMMSE_UNROLL
  for (int k = 0; k < PPT; ++k) {
    const int m = tid + k * kTileThreads;
    th.gmin[k] = INFINITY;
    th.s[k] = th.s2[k] = 0.0f;
    LEMMSE_UNROLL
    for (int c = 0; c < C; ++c) {
      th.q[k][c] = m < a.HW ? a.q[(std::size_t(img) * C + c) * std::size_t(a.HW) + std::size_t(m)] : 0.0f;
      th.piv[k][c] = th.a1[k][c] = th.a2[k][c] = 0.0f;
    }
    if (m >= a.HW) continue;
    st.mx[m] = -DBL_MAX;
    st.s[m] = st.s2[m] = 0.0;
    LEMMSE_UNROLL
    for (int c = 0; c < C; ++c) st.piv[std::size_t(c) * st.npix + m] = st.a1[std::size_t(c) * st.npix + m] = st.a2[std::size_t(c) * st.npix + m] = 0.0;
  }
}

// Stages training image b (keys and values) in shared memory.
LEMMSE_HD void tile_load_image(const WindowTileArgs& a, const TileShared& sh, long long b, int tid) {
  const std::size_t n = std::size_t(a.C) * std::size_t(a.HW), off = std::size_t(b) * n;
  for (std::size_t i = std::size_t(tid); i < n; i += kTileThreads) {
    sh.key[i] = a.keys[off + i];
    sh.val[i] = a.vals[off + i];
  }
}

// Phase E: squared differences of the thread's pixels (or their sum, for whole-image windows).
template <int C, int PPT>
LEMMSE_HD void tile_phase_e(const WindowTileArgs& a, const TileShared& sh, const TileThread<C, PPT>& th, int t, int tid) {
  float local = 0.0f;
  LEMMSE_UNROLL
  for (int k = 0; k < PPT; ++k) {
    const int m = tid + k * kTileThreads;
    if (m >= a.HW) break;
    const int n = tile_key_pos(a, m, t);
    float e = 0.0f;
    LEMMSE_UNROLL
    for (int c = 0; c < C; ++c) {
      const float d = th.q[k][c] - sh.key[c * a.HW + n];
      e += d * d;
    }
    if (sh.weight) e *= sh.weight[n];
    if (a.whole)
      local += e;
    else
      sh.e[m] = e;
  }
  if (a.whole) sh.red[tid] = local;
}

// Phase H: horizontal window sums (direct, circular), or the first level of the block reduction.
template <int C, int PPT>
LEMMSE_HD void tile_phase_h(const WindowTileArgs& a, const TileShared& sh, int tid) {
  if (a.whole) {
    if (tid < kTileThreads / 32) {
      float s = 0.0f;
      for (int i = 0; i < 32; ++i) s += sh.red[tid * 32 + i];
      sh.red[kTileThreads + tid] = s;
    }
    return;
  }
  const int ww = a.dv1 - a.dv0 + 1;
  LEMMSE_UNROLL
  for (int k = 0; k < PPT; ++k) {
    const int m = tid + k * kTileThreads;
    if (m >= a.HW) break;
    const int r = m / a.W;
    int jj = m - r * a.W + a.dv0;
    if (jj < 0) jj += a.W;
    const float* row = sh.e + r * a.W;
    float acc = 0.0f;
    for (int v = 0; v < ww; ++v) {
      acc += row[jj];
      if (++jj == a.W) jj = 0;
    }
    sh.h[m] = acc;
  }
}

// Adds key distance g with value x[c·stride] to pixel k's float32 state.
template <int C, int PPT>
LEMMSE_HD void tile_push(TileThread<C, PPT>& th, int k, float g, const float* x, int stride, float scale2) {
  float z = (th.gmin[k] - g) * scale2;  // log2 of the weight relative to the running maximum
  if (z > 0.0f) {  // new running maximum: rescale (r = 0 for the first key) and re-pivot to this key
    const float r = tile_exp2(-z);
    th.s[k] *= r;
    th.s2[k] *= r * r;
    LEMMSE_UNROLL
    for (int c = 0; c < C; ++c) {
      th.a1[k][c] *= r;
      th.a2[k][c] *= r;
      const float xc = x[c * stride], d = xc - th.piv[k][c];
      th.a2[k][c] = th.a2[k][c] - 2.0f * d * th.a1[k][c] + d * d * th.s[k];
      th.a1[k][c] = th.a1[k][c] - d * th.s[k];
      th.piv[k][c] = xc;
    }
    th.gmin[k] = g;
    z = 0.0f;
  }
  if (z >= kTileSkipLog2) {
    const float w = tile_exp2(z);
    th.s[k] += w;
    th.s2[k] += w * w;
    LEMMSE_UNROLL
    for (int c = 0; c < C; ++c) {
      const float d = x[c * stride] - th.piv[k][c];
      th.a1[k][c] += w * d;
      th.a2[k][c] += w * d * d;
    }
  }
}

// Phase V: vertical window sums, the logit and the online-softmax update for shift t.
template <int C, int PPT>
LEMMSE_HD void tile_phase_v(const WindowTileArgs& a, const TileShared& sh, TileThread<C, PPT>& th, long long img, int t, int tid) {
  float Dwhole = 0.0f;
  if (a.whole)
    for (int i = 0; i < kTileThreads / 32; ++i) Dwhole += sh.red[kTileThreads + i];
  const int wh = a.du1 - a.du0 + 1;
  LEMMSE_UNROLL
  for (int k = 0; k < PPT; ++k) {
    const int m = tid + k * kTileThreads;
    if (m >= a.HW) break;
    const int n = tile_key_pos(a, m, t);
    if (a.valid && !a.valid[(std::size_t(img) * std::size_t(a.HW) + std::size_t(m)) * std::size_t(a.npat) + std::size_t(sh.pattern[n])])
      continue;
    float D = Dwhole;
    if (!a.whole) {
      const int j = m % a.W;
      int rr = m / a.W + a.du0;
      if (rr < 0) rr += a.H;
      D = 0.0f;
      for (int u = 0; u < wh; ++u) {
        D += sh.h[rr * a.W + j];
        if (++rr == a.H) rr = 0;
      }
    }
    const float g = sh.dshift ? D + sh.dshift[n] : D;
    tile_push(th, k, g, sh.val + n, a.HW, a.scale2);
  }
}

// After each training image: fold the float32 state into the slice's fp64 state (exact merge
// algebra) and restart the float32 sums about the merged pivot.
template <int C, int PPT>
LEMMSE_HD void tile_fold(const WindowTileArgs& a, TileThread<C, PPT>& th, long long img, int slice, int tid) {
  const SoftmaxRows st = tile_partial(a, img, slice);
  LEMMSE_UNROLL
  for (int k = 0; k < PPT; ++k) {
    const int m = tid + k * kTileThreads;
    if (m >= a.HW) break;
    if (th.s[k] == 0.0f) continue;
    SoftmaxAcc<double> acc = softmax_rows_at(st, std::size_t(m)), b;
    softmax_init(b);
    b.mx = -double(th.gmin[k]) * a.inv_two_sigma2;
    b.s = th.s[k];
    b.s2 = th.s2[k];
    LEMMSE_UNROLL
    for (int c = 0; c < C; ++c) {
      b.pivot[c] = th.piv[k][c];
      b.a1[c] = th.a1[k][c];
      b.a2[c] = th.a2[k][c];
    }
    softmax_merge(acc, b, C);
    softmax_rows_store(st, std::size_t(m), acc);
    th.s[k] = th.s2[k] = 0.0f;
    LEMMSE_UNROLL
    for (int c = 0; c < C; ++c) {
      th.piv[k][c] = float(acc.pivot[c]);
      th.a1[k][c] = th.a2[k][c] = 0.0f;
    }
  }
}

// Outputs of one query pixel: the slices' states merged in slice order. Returns false when no key
// was compatible with the pixel (binary-mask strata); the outputs are then left unwritten.
struct TileOutputs {
  double* estimate;        // nimg × C × HW
  double* variance;        // nimg × C × HW, or null
  double* log_density;     // nimg × HW, or null
  double* effective_count; // nimg × HW, or null
};

LEMMSE_HD bool tile_merge_pixel(const WindowTileArgs& a, const TileOutputs& o, long long img, int m) {
  SoftmaxAcc<double> acc;
  softmax_init(acc);
  for (int sl = 0; sl < a.nslice; ++sl) softmax_merge(acc, softmax_rows_at(tile_partial(a, img, sl), std::size_t(m)), a.C);
  if (!(acc.s > 0)) return false;
  const std::size_t HW = std::size_t(a.HW), pix = std::size_t(img) * HW + std::size_t(m);
  for (int c = 0; c < a.C; ++c) {
    const std::size_t i = (std::size_t(img) * std::size_t(a.C) + std::size_t(c)) * HW + std::size_t(m);
    o.estimate[i] = softmax_mean(acc, c);
    if (o.variance) o.variance[i] = softmax_variance(acc, c);
  }
  if (o.log_density) o.log_density[pix] = softmax_log_density(acc);
  if (o.effective_count) o.effective_count[pix] = softmax_effective_count(acc);
  return true;
}

}  // namespace lemmse
