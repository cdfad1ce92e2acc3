// The CUDA window engine's arithmetic (DESIGN.md §2), written as __host__ __device__ phases that
// run between the block's barriers, so that a host emulation of one block (tests/kernels) runs the
// very code the kernel runs (DESIGN.md §6).
//
// One block = one query image × one slice of kTileSlice training images. Its kTileThreads threads
// each own the query pixels m = tid, tid + kTileThreads, … (PPT of them at most). For each training
// image of the slice (key and value image staged in shared memory) and each shift t:
//   phase E:  e(m) = w(n) Σ_c (q_c(m) − k_c(n))²,  n = m + t (circular)   → shared e, rows padded
//             with their circular continuation, so the window sums below need no index wrapping
//   barrier
//   phase H:  h(m) = Σ_{v ∈ window columns} e(m + v)   (direct sums: no cancellation) → shared h,
//             padded likewise with whole rows
//   barrier
//   phase V:  D(m) = Σ_{u ∈ window rows} h(m + u);  g = D − 2σ² bias(n);  online-softmax update
// (whole-image windows replace H and V by a fixed-order fp64 block reduction: D is one number of
// H·W·C terms.) The squared differences e are float32 (C terms); their window sums, the scores
// g = D − 2σ² bias and the running minimum g_min are fp64. Float32 window sums (≈ (C + 2P)·2⁻²⁴
// of D) were measured to cost 19 dB on CIFAR-10 at P = 17, σ = 0.01 (98 dB against 118).
//
// Precision: float32 direct differences, fp64 window sums and scores (above); the
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
#include "kernels/topk.hpp"

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
  double scale2;               // log2(e) / 2σ²
  const float* q;              // nimg × C × HW query images (v = B y), this launch's first image first
  const float* keys;           // C × HW keys (B A x_b) of training images key0, key0 + 1, … (all, or the uploaded chunk)
  const float* vals;           // C × HW values (x_b) of the same images
  long long key0;              // training index of the first image keys and vals hold (0 unless the set streams in chunks)
  const float* weight;         // HW pixel weights at key pixels, or null
  const double* dshift;        // HW: −2σ² bias(n), added to the distance, or null
  double dshift_max;           // max |dshift| (0 without)
  int band_screen_off;         // tests: the band kernel sends every key to its exact path
  float band_skip_log2;        // the band kernel's drop threshold: log2 of a key's weight relative to the
                               // running maximum below which it is not added (≥ kTileSkipLog2)
  int band_queue;              // the band kernel's exact path in queue order (LEMMSE_BAND_EXACT=queue), else row order
  const std::uint8_t* valid;   // nimg × HW × npat validity of (query pixel, key pattern), or null
  const int* pattern_of;       // HW pattern id of each key position (with valid)
  int npat;
  long long ntrain;
  int nslice;
  double* partial;             // nimg × partial_slices states of (3 + 3C) × HW doubles (SoftmaxRows layout)
  int partial_first;           // the slice whose state comes first in partial (0 unless the set streams in chunks)
  int partial_slices;          // slice states per image in partial (nslice, or a chunk's)
  // Top-k (topk > 0; the tiled kernel's TOPK instances): a heap of topk keys per (query image, slot,
  // pixel). Slice sl uses slot sl % topk_slots; the slices of one slot run in successive launches,
  // so no two blocks touch a heap at once. The best k of a set do not depend on the order its keys
  // arrive in (kernels/topk.hpp), so the merged lists are the same for any number of slots.
  int topk;
  int topk_slots;
  TopkEntry* topk_heap;        // nimg × topk_slots × HW × topk; image = training index, position = key pixel
  int* topk_count;             // nimg × topk_slots × HW: entries held (zeroed before the first launch)
};

// Shared memory of one block: fp64 arrays first (8-byte alignment), then float32, then ints.
struct TileShared {
  int nbuf;        // shifts per barrier round (TS): e, h and red are per shift
  std::size_t e_stride, h_stride;   // doubles between the shifts' e (and h) buffers
  double* red;     // TS × (kTileThreads + kTileThreads/32) (whole-image reduction)
  double* dshift;  // HW or null
  double* e;       // H × (W + ww − 1): rows extended circularly (windowed only)
  double* h;       // (H + wh − 1) × W: rows extended circularly (windowed only)
  float* key;      // C × HW
  float* val;      // C × HW
  float* weight;   // HW or null
  int* pattern;    // HW or null
};

LEMMSE_HD int tile_e_pitch(const WindowTileArgs& a) { return a.W + (a.dv1 - a.dv0); }
LEMMSE_HD int tile_h_rows(const WindowTileArgs& a) { return a.H + (a.du1 - a.du0); }

constexpr std::size_t kTileRed = kTileThreads + kTileThreads / 32;

LEMMSE_HD std::size_t tile_e_size(const WindowTileArgs& a) { return a.whole ? 0 : std::size_t(a.H) * std::size_t(tile_e_pitch(a)); }
LEMMSE_HD std::size_t tile_h_size(const WindowTileArgs& a) { return a.whole ? 0 : std::size_t(tile_h_rows(a)) * std::size_t(a.W); }

// Shared memory of a block that handles ts shifts per barrier round.
LEMMSE_HD std::size_t tile_shared_bytes(const WindowTileArgs& a, int ts) {
  const std::size_t HW = std::size_t(a.HW);
  const std::size_t doubles = std::size_t(ts) * (kTileRed + tile_e_size(a) + tile_h_size(a)) + (a.dshift ? HW : 0);
  const std::size_t floats = 2 * std::size_t(a.C) * HW + (a.weight ? HW : 0) + (a.valid ? HW : 0);
  return doubles * sizeof(double) + floats * sizeof(float);
}

LEMMSE_HD TileShared tile_shared_layout(const WindowTileArgs& a, void* base, int ts) {
  const std::size_t HW = std::size_t(a.HW);
  TileShared s;
  s.nbuf = ts;
  s.e_stride = tile_e_size(a);
  s.h_stride = tile_h_size(a);
  s.red = static_cast<double*>(base);
  double* d = s.red + std::size_t(ts) * kTileRed;
  s.dshift = a.dshift ? d : nullptr;
  d += a.dshift ? HW : 0;
  s.e = a.whole ? nullptr : d;
  d += std::size_t(ts) * s.e_stride;
  s.h = a.whole ? nullptr : d;
  d += std::size_t(ts) * s.h_stride;
  s.key = reinterpret_cast<float*>(d);
  s.val = s.key + std::size_t(a.C) * HW;
  float* f = s.val + std::size_t(a.C) * HW;
  s.weight = a.weight ? f : nullptr;
  f += a.weight ? HW : 0;
  s.pattern = a.valid ? reinterpret_cast<int*>(f) : nullptr;
  return s;
}

// The fp64 state of (image, slice) in the partial buffer.
LEMMSE_HD SoftmaxRows tile_partial(const WindowTileArgs& a, long long img, int slice) {
  const std::size_t HW = std::size_t(a.HW);
  double* b = a.partial + (std::size_t(img) * std::size_t(a.partial_slices) + std::size_t(slice - a.partial_first)) * (3 + 3 * std::size_t(a.C)) * HW;
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

// Registers of one thread: its query pixels' coordinates and values, and float32 softmax state
// for the current training image (weights relative to the running minimum score gmin, fp64).
template <int C, int PPT>
struct TileThread {
  int r[PPT], j[PPT];
  float q[PPT][C];
  double gmin[PPT];
  float s[PPT], s2[PPT];
  float piv[PPT][C], a1[PPT][C], a2[PPT][C];
};

// Key position n of query pixel (r, j) under shift (ti, tj) (circular; no division).
LEMMSE_HD int tile_key_pos(const WindowTileArgs& a, int r, int j, int ti, int tj) {
  int kr = r + ti, kc = j + tj;
  if (kr >= a.H) kr -= a.H;
  if (kc >= a.W) kc -= a.W;
  return kr * a.W + kc;
}

// The shifts of one barrier round: up to TS consecutive shifts (row-major over (ti, tj)).
template <int TS>
struct TileRound {
  int n;
  int ti[TS], tj[TS];
};
// Fills the round starting at shift (ti, tj) of an nti × ntj grid and advances (ti, tj) past it.
template <int TS>
LEMMSE_HD TileRound<TS> tile_next_round(int& ti, int& tj, int nti, int ntj) {
  TileRound<TS> r;
  r.n = 0;
  LEMMSE_UNROLL
  for (int s = 0; s < TS; ++s) {
    r.ti[s] = ti;
    r.tj[s] = tj;
    if (ti < nti) {
      ++r.n;
      if (++tj == ntj) {
        tj = 0;
        ++ti;
      }
    }
  }
  return r;
}

// Pixel m's slice state emptied (no key yet): both kernels at the start of a block.
template <int C>
LEMMSE_HD void tile_partial_clear(const SoftmaxRows& st, std::size_t m) {
  st.mx[m] = -DBL_MAX;
  st.s[m] = st.s2[m] = 0.0;
  LEMMSE_UNROLL
  for (int c = 0; c < C; ++c) st.piv[std::size_t(c) * st.npix + m] = st.a1[std::size_t(c) * st.npix + m] = st.a2[std::size_t(c) * st.npix + m] = 0.0;
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
    th.r[k] = m < a.HW ? m / a.W : 0;
    th.j[k] = m < a.HW ? m - th.r[k] * a.W : 0;
    th.gmin[k] = INFINITY;
    th.s[k] = th.s2[k] = 0.0f;
    LEMMSE_UNROLL
    for (int c = 0; c < C; ++c) {
      th.q[k][c] = m < a.HW ? a.q[(std::size_t(img) * C + c) * std::size_t(a.HW) + std::size_t(m)] : 0.0f;
      th.piv[k][c] = th.a1[k][c] = th.a2[k][c] = 0.0f;
    }
    if (m >= a.HW) continue;
    tile_partial_clear<C>(st, std::size_t(m));
  }
}

// Stages training image b (keys and values) in shared memory.
LEMMSE_HD void tile_load_image(const WindowTileArgs& a, const TileShared& sh, long long b, int tid) {
  const std::size_t n = std::size_t(a.C) * std::size_t(a.HW), off = std::size_t(b - a.key0) * n;
  for (std::size_t i = std::size_t(tid); i < n; i += kTileThreads) {
    sh.key[i] = a.keys[off + i];
    sh.val[i] = a.vals[off + i];
  }
}

// Phase E: squared differences of the thread's pixels (or their fp64 sum, for whole-image
// windows), written with their circular copies into the padded rows.
template <int C, int PPT>
LEMMSE_HD void tile_phase_e(const WindowTileArgs& a, const TileShared& sh, const TileThread<C, PPT>& th, int ti, int tj, int sb,
                            int tid) {
  double local = 0.0;
  const int pitch = tile_e_pitch(a), left = -a.dv0, right = a.dv1;
  LEMMSE_UNROLL
  for (int k = 0; k < PPT; ++k) {
    const int m = tid + k * kTileThreads;
    if (m >= a.HW) break;
    const int n = tile_key_pos(a, th.r[k], th.j[k], ti, tj);
    float e = 0.0f;
    LEMMSE_UNROLL
    for (int c = 0; c < C; ++c) {
      const float d = th.q[k][c] - sh.key[c * a.HW + n];
      e += d * d;
    }
    if (sh.weight) e *= sh.weight[n];
    if (a.whole) {
      local += double(e);
      continue;
    }
    double* row = sh.e + std::size_t(sb) * sh.e_stride + th.r[k] * pitch + left;
    const int j = th.j[k];
    const double ed = e;  // one conversion per pair; the window sums below are fp64
    row[j] = ed;
    if (j < right) row[j + a.W] = ed;       // read by windows that wrap past the right edge
    if (j >= a.W - left) row[j - a.W] = ed; // … and past the left edge
  }
  if (a.whole) sh.red[std::size_t(sb) * kTileRed + tid] = local;
}

// Phase H: horizontal window sums (direct) into the padded rows of h, or the first level of the
// whole-image reduction.
template <int C, int PPT>
LEMMSE_HD void tile_phase_h(const WindowTileArgs& a, const TileShared& sh, const TileThread<C, PPT>& th, int sb, int tid) {
  if (a.whole) {
    double* red = sh.red + std::size_t(sb) * kTileRed;
    if (tid < kTileThreads / 32) {
      double s = 0.0;
      for (int i = 0; i < 32; ++i) s += red[tid * 32 + i];
      red[kTileThreads + tid] = s;
    }
    return;
  }
  const int ww = a.dv1 - a.dv0 + 1, pitch = tile_e_pitch(a), top = -a.du0, bottom = a.du1;
  LEMMSE_UNROLL
  for (int k = 0; k < PPT; ++k) {
    const int m = tid + k * kTileThreads;
    if (m >= a.HW) break;
    const int r = th.r[k], j = th.j[k];
    const double* e = sh.e + std::size_t(sb) * sh.e_stride + r * pitch + j;  // window columns j + dv0 … j + dv1, padded
    double acc = 0.0;
    for (int v = 0; v < ww; ++v) acc += e[v];
    double* col = sh.h + std::size_t(sb) * sh.h_stride + (r + top) * a.W + j;
    col[0] = acc;
    if (r < bottom) col[a.H * a.W] = acc;      // read by windows that wrap past the bottom
    if (r >= a.H - top) col[-a.H * a.W] = acc; // … and past the top
  }
}

// A pixel's float32 softmax state for the current training image, wherever it lives (the tiled
// kernel's registers, the band kernel's shared memory): sums s, s2 and per channel (stride ps)
// the pivot and the first two moments about it, relative to the running minimum score gmin.
struct F32State {
  float* s;
  float* s2;
  float* piv;
  float* a1;
  float* a2;
  int ps;
};

// Adds key distance g with value x[c·stride] to the state unless its weight is below 2^skip of the
// running maximum; returns whether gmin moved to g.
template <int C>
LEMMSE_HD bool f32_push(const F32State& t, double& gmin, double g, const float* x, int stride, double scale2,
                        float skip = kTileSkipLog2) {
  float z = float((gmin - g) * scale2);  // log2 of the weight relative to the running maximum
  bool moved = false;
  if (z > 0.0f) {  // new running maximum: rescale (r = 0 for the first key) and re-pivot to this key
    const float r = tile_exp2(-z);
    *t.s *= r;
    *t.s2 *= r * r;
    LEMMSE_UNROLL
    for (int c = 0; c < C; ++c) {
      float& a1 = t.a1[c * t.ps];
      float& a2 = t.a2[c * t.ps];
      a1 *= r;
      a2 *= r;
      const float xc = x[c * stride], d = xc - t.piv[c * t.ps];
      a2 = a2 - 2.0f * d * a1 + d * d * *t.s;
      a1 = a1 - d * *t.s;
      t.piv[c * t.ps] = xc;
    }
    gmin = g;
    moved = true;
    z = 0.0f;
  }
  if (z >= skip) {
    const float w = tile_exp2(z);
    *t.s += w;
    *t.s2 += w * w;
    LEMMSE_UNROLL
    for (int c = 0; c < C; ++c) {
      const float d = x[c * stride] - t.piv[c * t.ps];
      t.a1[c * t.ps] += w * d;
      t.a2[c * t.ps] += w * d * d;
    }
  }
  return moved;
}

template <int C, int PPT>
LEMMSE_HD F32State tile_state(TileThread<C, PPT>& th, int k) {
  return F32State{&th.s[k], &th.s2[k], th.piv[k], th.a1[k], th.a2[k], 1};
}

// Top-k: the heaps as kernels/topk.hpp's slot heaps.
LEMMSE_HD TopkSlots tile_topk_slots(const WindowTileArgs& a) { return TopkSlots{a.topk, a.topk_slots, a.HW, a.topk_heap, a.topk_count}; }

// Start of a top-k block: each pixel's floor (the logit a key must reach to be offered to its
// heap) from its slot's heap, filled by earlier slices.
template <int PPT>
LEMMSE_HD void tile_topk_begin(const WindowTileArgs& a, double (&floor)[PPT], long long img, int slice, int tid) {
  const TopkSlots t = tile_topk_slots(a);
  LEMMSE_UNROLL
  for (int k = 0; k < PPT; ++k) {
    const int m = tid + k * kTileThreads;
    floor[k] = m < a.HW ? topk_floor(t, topk_cell(t, img, slice % a.topk_slots, m)) : -INFINITY;
  }
}

// Offers key e to pixel m's heap in (image, slot) unless it is below the floor, which it then updates.
LEMMSE_HD void tile_topk_offer(const WindowTileArgs& a, double& floor, long long img, int slot, int m, const TopkEntry& e) {
  const TopkSlots t = tile_topk_slots(a);
  topk_offer(t, floor, topk_cell(t, img, slot, m), e);
}

// Pixel k's score g = D + dshift(n) for key position n under the shift of buffer sb (after phase
// H), or false when the key is incompatible with the pixel (binary-mask strata). Dwhole: the
// whole-image distance (whole-image windows).
template <int C, int PPT>
LEMMSE_HD bool tile_score(const WindowTileArgs& a, const TileShared& sh, const TileThread<C, PPT>& th, long long img, int k, int m,
                          int n, int sb, double Dwhole, double& g) {
  if (a.valid && !a.valid[(std::size_t(img) * std::size_t(a.HW) + std::size_t(m)) * std::size_t(a.npat) + std::size_t(sh.pattern[n])])
    return false;
  g = Dwhole;
  if (!a.whole) {
    const int wh = a.du1 - a.du0 + 1;
    const double* h = sh.h + std::size_t(sb) * sh.h_stride + th.r[k] * a.W + th.j[k];  // window rows r + du0 … r + du1, padded
    g = 0.0;
    for (int u = 0; u < wh; ++u) g += h[u * a.W];
  }
  if (sh.dshift) g += sh.dshift[n];
  return true;
}

LEMMSE_HD double tile_whole_distance(const WindowTileArgs& a, const TileShared& sh, int sb) {
  double D = 0.0;
  if (a.whole)
    for (int i = 0; i < kTileThreads / 32; ++i) D += sh.red[std::size_t(sb) * kTileRed + kTileThreads + i];
  return D;
}

// f(k, m, n, g) for each of the thread's pixels k (pixel m) whose key n under shift (ti, tj) is
// compatible, with its score g.
template <int C, int PPT, class F>
LEMMSE_HD void tile_for_scores(const WindowTileArgs& a, const TileShared& sh, const TileThread<C, PPT>& th, long long img, int ti,
                               int tj, int sb, int tid, F&& f) {
  const double Dwhole = tile_whole_distance(a, sh, sb);
  LEMMSE_UNROLL
  for (int k = 0; k < PPT; ++k) {
    const int m = tid + k * kTileThreads;
    if (m >= a.HW) break;
    const int n = tile_key_pos(a, th.r[k], th.j[k], ti, tj);
    double g;
    if (tile_score(a, sh, th, img, k, m, n, sb, Dwhole, g)) f(k, m, n, g);
  }
}

// Phase V: vertical window sums, the score and the online-softmax update for shift (ti, tj).
template <int C, int PPT>
LEMMSE_HD void tile_phase_v(const WindowTileArgs& a, const TileShared& sh, TileThread<C, PPT>& th, long long img, int ti, int tj,
                            int sb, int tid) {
  tile_for_scores(a, sh, th, img, ti, tj, sb, tid, [&](int k, int, int n, double g) {
    f32_push<C>(tile_state(th, k), th.gmin[k], g, sh.val + n, a.HW, a.scale2);
  });
}

// Top-k kernels, after phase V (same barrier round): each compatible key's logit −g/2σ² offered to
// its pixel's heap in the slice's slot (training image b).
template <int C, int PPT>
LEMMSE_HD void tile_phase_topk(const WindowTileArgs& a, const TileShared& sh, const TileThread<C, PPT>& th, double (&floor)[PPT],
                               long long img, int ti, int tj, int sb, int tid, long long b, int slot) {
  tile_for_scores(a, sh, th, img, ti, tj, sb, tid, [&](int k, int m, int n, double g) {
    tile_topk_offer(a, floor[k], img, slot, m, TopkEntry{-g * a.inv_two_sigma2, b, n});
  });
}

// The fp64 merge of one pixel's float32 state b into its slice state; returns the merged pivot.
struct TilePivot {
  float v[kMaxChannels];
};
LEMMSE_HD TilePivot fold_pixel(const SoftmaxRows& st, std::size_t m, const SoftmaxAcc<double>& b) {
  SoftmaxAcc<double> acc = softmax_rows_at(st, m);
  softmax_merge(acc, b, st.C);
  softmax_rows_store(st, m, acc);
  TilePivot p{};
  for (int c = 0; c < st.C; ++c) p.v[c] = float(acc.pivot[c]);
  return p;
}
// The tiled kernel's call: not inlined on the device — it runs once per training image, and
// inlined its fp64 temporaries would raise the register count of the whole kernel (hence its
// occupancy) for nothing. (The band kernel folds in a loop of its own: inline there.)
#if defined(__CUDA_ARCH__)
__device__ __noinline__
#else
inline
#endif
TilePivot tile_fold_pixel(const SoftmaxRows st, std::size_t m, SoftmaxAcc<double> b) {
  return fold_pixel(st, m, b);
}

// Folds a pixel's float32 state into its slice's fp64 state st (exact merge algebra) and restarts
// it about the merged pivot.
template <int C, bool OutOfLine = true>
LEMMSE_HD void f32_fold(const WindowTileArgs& a, const SoftmaxRows& st, std::size_t m, double gmin, const F32State& t) {
  if (*t.s == 0.0f) return;
  SoftmaxAcc<double> b;
  softmax_init(b);
  b.mx = -gmin * a.inv_two_sigma2;
  b.s = *t.s;
  b.s2 = *t.s2;
  LEMMSE_UNROLL
  for (int c = 0; c < C; ++c) {
    b.pivot[c] = t.piv[c * t.ps];
    b.a1[c] = t.a1[c * t.ps];
    b.a2[c] = t.a2[c * t.ps];
  }
  const TilePivot pv = OutOfLine ? tile_fold_pixel(st, m, b) : fold_pixel(st, m, b);
  *t.s = *t.s2 = 0.0f;
  LEMMSE_UNROLL
  for (int c = 0; c < C; ++c) {
    t.piv[c * t.ps] = pv.v[c];
    t.a1[c * t.ps] = t.a2[c * t.ps] = 0.0f;
  }
}

// After each training image: fold the float32 states into the slice's fp64 states.
template <int C, int PPT>
LEMMSE_HD void tile_fold(const WindowTileArgs& a, TileThread<C, PPT>& th, long long img, int slice, int tid) {
  const SoftmaxRows st = tile_partial(a, img, slice);
  LEMMSE_UNROLL
  for (int k = 0; k < PPT; ++k) {
    const int m = tid + k * kTileThreads;
    if (m >= a.HW) break;
    f32_fold<C>(a, st, std::size_t(m), th.gmin[k], tile_state(th, k));
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

// Merges slices s0 … s1 − 1 of (img, pixel m) into acc, in slice order.
LEMMSE_HD void tile_fold_slices(const WindowTileArgs& a, SoftmaxAcc<double>& acc, long long img, int m, int s0, int s1) {
  for (int sl = s0; sl < s1; ++sl) softmax_merge(acc, softmax_rows_at(tile_partial(a, img, sl), std::size_t(m)), a.C);
}

// The outputs of (img, pixel m) from its merged state.
LEMMSE_HD bool tile_write_pixel(const WindowTileArgs& a, const TileOutputs& o, const SoftmaxAcc<double>& acc, long long img, int m) {
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

LEMMSE_HD bool tile_merge_pixel(const WindowTileArgs& a, const TileOutputs& o, long long img, int m) {
  SoftmaxAcc<double> acc;
  softmax_init(acc);
  tile_fold_slices(a, acc, img, m, 0, a.nslice);
  return tile_write_pixel(a, o, acc, img, m);
}

// A training set streamed in chunks (the partial buffer then holds one chunk's slices): after
// each chunk its slices are folded into the pixel's carried state (carry: nimg × HW, initialised by
// the first chunk), and the outputs come from the carry after the last — the same merges in the
// same order as tile_merge_pixel, so the same bits.
LEMMSE_HD void tile_carry_pixel(const WindowTileArgs& a, SoftmaxAcc<double>* carry, long long img, int m) {
  SoftmaxAcc<double>& acc = carry[std::size_t(img) * std::size_t(a.HW) + std::size_t(m)];
  if (a.partial_first == 0) softmax_init(acc);
  tile_fold_slices(a, acc, img, m, a.partial_first, a.partial_first + a.partial_slices < a.nslice ? a.partial_first + a.partial_slices : a.nslice);
}

}  // namespace lemmse
