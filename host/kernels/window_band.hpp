// The CUDA window engine's band kernel (images up to 32 columns and 64 rows, P×P windows): the
// per-lane arithmetic, written as __host__ __device__ functions so that the host emulation
// (tests/kernels/tile_emulator.hpp) runs the very code the kernel runs (DESIGN.md §6).
//
// Why a second kernel: the tiled kernel (window_tile.hpp) moves every squared difference and
// window sum through shared memory in fp64 with two block barriers per shift (145 ms for 1.05·10¹⁰
// pairs on an H200: about 3.6 SM cycles per (pixel, key) pair). Here a warp owns a band of kBandRows query rows, lane j owns
// column j, and each warp walks the shifts on its own — no barrier between shifts:
//
//   for each row i of the band and its window halo (kBandRows + P − 1 rows):
//     e(i, j) = w(n) Σ_c (q_c(i, j) − k_c(i + ti, j + tj))²      float32, as the tiled kernel
//     h(i, j) = Σ_{v ∈ window columns} e(i, j + v)                over lanes (warp shuffles), in
//                                                                  blocks of 1, 2, 4, 8, 16 columns
//     hbuf[i][j] = h;   D(k) += h for the band rows k whose window holds row i
//   screen: D(k) + bias32(n) > cut(k) → the key's weight is below 2^skip of the running maximum
//           (the exact test below would drop it): skipped, no further work. skip = −(ln K + 38)/ln 2
//           for K keys per pixel (at least −126): all dropped keys together weigh ≤ e⁻³⁸ of the
//           largest weight, the CPU engine's rule (window_tile_setup.cpp).
//   otherwise: g = Σ_u h(k + u) in fp64 (hbuf) − 2σ² bias(n), and the float32 online-softmax update
//           of the tiled kernel (f32_push) on the pixel's state in shared memory.
//
// Precision: float32 differences (as the tiled kernel); horizontal sums h in float32 for windows
// up to kBandMaxWindowH32 = 11 columns, in fp64 beyond (type HT); vertical sums and scores in fp64.
// Float32 h costs little at P ≤ 11 (host emulation, 6 CIFAR-10 training images, σ = 0.01:
// ≥ 120 dB against the fp64 reference) but 5.5 dB at P = 17, where float32 e alone leaves 102 dB:
// 97 dB, under the bar of DESIGN.md §5 — hence fp64 h for wide windows.
//
// The screen is exact: D is the sequential sum (type HT) of the same h the fp64 score adds, so
// |D − Σh| ≤ (P − 1)·2⁻²⁴·Σh; with the bias rounded to float32 and the final addition,
// D + bias32 ≤ g + 31·2⁻²⁴(|g| + 2 max|bias|). The cut adds 2⁻¹³ (|G| + |gmin| + |skip|/scale2 +
// 2 max|bias|) to G = gmin + |skip|/scale2 (the exact test's threshold, which float rounding of z may
// stretch by |skip|·2⁻²⁴/scale2): every key the exact test keeps passes the screen
// (tests/kernels/test_window_band.cpp checks the same bits with and without it).
//
// Measured on an H200 (bench/results/2026-11-27-h200-kernels.md): 61 ms at P = 5, σ = 0.01 and
// 133 ms at σ = 0.1 against the tiled kernel's 145, but keys that pass the screen take the exact
// path one band row at a time, divergent within the warp (19 of 32 lanes active at σ = 0.1): at
// σ = 0.5 and at P = 17 the tiled kernel is faster, and the engine chooses by that
// (cuda/window_engine.cu, choose_band).
#pragma once
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "kernels/window_tile.hpp"

namespace lemmse {

constexpr int kBandRows = 8;        // query rows per warp
constexpr int kBandLanes = 32;      // lanes per warp = query columns at most
constexpr int kBandMaxRows = 64;    // query rows at most (8 warps)
constexpr int kBandMaxWindow = 25;  // window rows and columns at most
constexpr int kBandLevels = 5;      // horizontal blocks of 1, 2, 4, 8, 16 columns
// Widest window whose horizontal sums are float32; wider ones sum in fp64 (see the file comment).
constexpr int kBandMaxWindowH32 = 11;

LEMMSE_HD int band_window_rows(const WindowTileArgs& a) { return a.du1 - a.du0 + 1; }
LEMMSE_HD int band_window_cols(const WindowTileArgs& a) { return a.dv1 - a.dv0 + 1; }
LEMMSE_HD int band_warps(const WindowTileArgs& a) { return (a.H + kBandRows - 1) / kBandRows; }
LEMMSE_HD int band_threads(const WindowTileArgs& a) { return kBandLanes * band_warps(a); }
// Rows of one warp's h buffer: its band and the window's halo.
LEMMSE_HD int band_hrows(const WindowTileArgs& a) { return kBandRows + band_window_rows(a) - 1; }
// Whether the horizontal sums h are fp64 (windows wider than kBandMaxWindowH32) or float32.
LEMMSE_HD bool band_h64(const WindowTileArgs& a) { return band_window_cols(a) > kBandMaxWindowH32; }
LEMMSE_HD std::size_t band_hbuf_bytes(const WindowTileArgs& a) {
  return std::size_t(band_warps(a)) * std::size_t(band_hrows(a)) * kBandLanes * (band_h64(a) ? sizeof(double) : sizeof(float));
}

// Whether the band kernel covers these arguments (else the tiled kernel runs).
LEMMSE_HD bool band_fits(const WindowTileArgs& a) {
  return !a.whole && a.W <= kBandLanes && a.H <= kBandMaxRows && band_window_rows(a) <= kBandMaxWindow &&
         band_window_cols(a) <= kBandMaxWindow && band_window_cols(a) <= a.W && band_window_rows(a) <= a.H;
}

// Shared memory of a block: fp64 first, then float32, then ints.
struct BandShared {
  void* hbuf;      // warps × band_hrows × 32 h values (float or double): each lane's h column, private to the lane
  double* gmin;    // HW: each pixel's running minimum score over the slice
  double* dshift;  // HW or null: −2σ² bias per key position
  float* key;      // C × HW key image of the current training image
  float* weight;   // HW or null
  float* dshift32; // HW or null: dshift rounded to float32 (the screen)
  float* s;        // HW: float32 softmax state of each pixel for the current training image
  float* s2;       // HW
  float* piv;      // C × HW
  float* a1;       // C × HW
  float* a2;       // C × HW
  int* pattern;    // HW or null
};

LEMMSE_HD std::size_t band_shared_bytes(const WindowTileArgs& a) {
  const std::size_t HW = std::size_t(a.HW), C = std::size_t(a.C);
  const std::size_t doubles = HW + (a.dshift ? HW : 0);
  const std::size_t floats = C * HW + (a.weight ? HW : 0) + (a.dshift ? HW : 0) + (2 + 3 * C) * HW;
  return band_hbuf_bytes(a) + doubles * sizeof(double) + floats * sizeof(float) + (a.valid ? HW * sizeof(int) : 0);
}

LEMMSE_HD BandShared band_shared_layout(const WindowTileArgs& a, void* base) {
  const std::size_t HW = std::size_t(a.HW), C = std::size_t(a.C);
  BandShared s;
  s.hbuf = base;
  double* d = reinterpret_cast<double*>(static_cast<char*>(base) + band_hbuf_bytes(a));
  s.gmin = d;
  d += HW;
  s.dshift = a.dshift ? d : nullptr;
  d += a.dshift ? HW : 0;
  float* f = reinterpret_cast<float*>(d);
  s.key = f;
  f += C * HW;
  s.weight = a.weight ? f : nullptr;
  f += a.weight ? HW : 0;
  s.dshift32 = a.dshift ? f : nullptr;
  f += a.dshift ? HW : 0;
  s.s = f;
  s.s2 = f + HW;
  s.piv = f + 2 * HW;
  s.a1 = s.piv + C * HW;
  s.a2 = s.a1 + C * HW;
  f = s.a2 + C * HW;
  s.pattern = a.valid ? reinterpret_cast<int*>(f) : nullptr;
  return s;
}

// Registers of one lane: its column, its band's first row, and per band row the screen's cut
// (float32; the running minimum score it derives from is in shared memory).
struct BandLane {
  int lane, j, r0, nrows;  // j: the lane's column (lanes ≥ W mirror column 0 and own no pixel)
  bool owns;               // lane < W
  float cut[kBandRows];
  int src_build[kBandLevels - 1];  // lane of column j + 2^l (circular): doubling level l + 1
  int src_comb[kBandLevels];       // lane of the first column of block l of the window
};

// The screen's cut for running minimum gmin: see the file comment.
LEMMSE_HD float band_cut(const WindowTileArgs& a, double gmin) {
  if (!(gmin < INFINITY) || a.band_screen_off) return INFINITY;
  const double range = -double(a.band_skip_log2) / a.scale2, G = gmin + range;
  return float(G + 0x1p-13 * (fabs(G) + fabs(gmin) + range + 2.0 * a.dshift_max));
}

// Lane set-up: column, band, shuffle sources; empty state.
LEMMSE_HD void band_lane_init(const WindowTileArgs& a, BandLane& L, int tid) {
  L.lane = tid % kBandLanes;
  L.owns = L.lane < a.W;
  L.j = L.owns ? L.lane : 0;
  L.r0 = (tid / kBandLanes) * kBandRows;
  L.nrows = a.H - L.r0 < kBandRows ? a.H - L.r0 : kBandRows;
  LEMMSE_UNROLL
  for (int k = 0; k < kBandRows; ++k) L.cut[k] = INFINITY;
  LEMMSE_UNROLL
  for (int l = 0; l + 1 < kBandLevels; ++l) L.src_build[l] = (L.j + (1 << l)) % a.W;
  const int ww = band_window_cols(a);
  int off = a.dv0;
  LEMMSE_UNROLL
  for (int l = kBandLevels - 1; l >= 0; --l) {
    L.src_comb[l] = ((L.j + off) % a.W + a.W) % a.W;
    if ((ww >> l) & 1) off += 1 << l;
  }
}

// Start of a block: static per-key data into shared memory (all threads, strided), the lane's
// pixels' slice states emptied (global fp64, shared float32). The query image stays out of shared
// memory: each lane holds its column's values in registers (band_query), which leaves room for a
// third block per SM on 32 × 32 images (70–73 KB per block at P = 5–11, three colours).
LEMMSE_HD void band_begin_shared(const WindowTileArgs& a, const BandShared& sh, int tid, int nthreads) {
  const std::size_t HW = std::size_t(a.HW);
  for (std::size_t i = std::size_t(tid); i < HW; i += std::size_t(nthreads)) {
    if (sh.weight) sh.weight[i] = a.weight[i];
    if (sh.dshift) {
      sh.dshift[i] = a.dshift[i];
      sh.dshift32[i] = float(a.dshift[i]);
    }
    if (sh.pattern) sh.pattern[i] = a.pattern_of[i];
  }
}

template <int C>
LEMMSE_HD void band_begin_lane(const WindowTileArgs& a, const BandShared& sh, const BandLane& L, long long img, int slice) {
  if (!L.owns) return;
  const SoftmaxRows st = tile_partial(a, img, slice);
  const std::size_t HW = std::size_t(a.HW);
  for (int k = 0; k < L.nrows; ++k) {
    const std::size_t m = std::size_t((L.r0 + k) * a.W + L.j);
    tile_partial_clear<C>(st, m);
    sh.gmin[m] = INFINITY;
    sh.s[m] = sh.s2[m] = 0.0f;
    LEMMSE_UNROLL
    for (int c = 0; c < C; ++c) sh.piv[c * HW + m] = sh.a1[c * HW + m] = sh.a2[c * HW + m] = 0.0f;
  }
}

// Stages training image b's keys (values are read from global memory, by screened keys only).
LEMMSE_HD void band_load_image(const WindowTileArgs& a, const BandShared& sh, long long b, int tid, int nthreads) {
  const std::size_t n = std::size_t(a.C) * std::size_t(a.HW), off = std::size_t(b - a.key0) * n;
  for (std::size_t i = std::size_t(tid); i < n; i += std::size_t(nthreads)) sh.key[i] = a.keys[off + i];
}

// The C values of query pixel qm of query image img.
template <int C>
LEMMSE_HD void band_query(const WindowTileArgs& a, long long img, int qm, float* q) {
  LEMMSE_UNROLL
  for (int c = 0; c < C; ++c) q[c] = a.q[(std::size_t(img) * C + std::size_t(c)) * std::size_t(a.HW) + std::size_t(qm)];
}

// e of a query pixel with values q[c] against key pixel kn: the tiled kernel's arithmetic.
template <int C>
LEMMSE_HD float band_e(const WindowTileArgs& a, const BandShared& sh, const float* q, int kn) {
  float e = 0.0f;
  LEMMSE_UNROLL
  for (int c = 0; c < C; ++c) {
    const float d = q[c] - sh.key[c * a.HW + kn];
    e += d * d;
  }
  if (sh.weight) e *= sh.weight[kn];
  return e;
}

// The h column of lane `lane` of warp `warp` (stride 32).
template <class HT>
LEMMSE_HD HT* band_hcol(const WindowTileArgs& a, const BandShared& sh, int warp, int lane) {
  return static_cast<HT*>(sh.hbuf) + std::size_t(warp) * std::size_t(band_hrows(a)) * kBandLanes + lane;
}

// Row i of the band's walk adds h to the sums of the band rows whose window holds it.
template <class HT>
LEMMSE_HD void band_accumulate(HT* D, HT h, int i, int wh) {
  LEMMSE_UNROLL
  for (int k = 0; k < kBandRows; ++k)
    if (unsigned(i - k) < unsigned(wh)) D[k] += h;
}

// The window's h from the doubling levels fetched at the block starts: blocks from the longest
// down, added in that order (fetch(l) = level l at the lane's src_comb[l]).
template <class HT, class Fetch>
LEMMSE_HD HT band_combine(int ww, Fetch&& fetch) {
  HT h = 0;
  LEMMSE_UNROLL
  for (int l = kBandLevels - 1; l >= 0; --l)
    if ((ww >> l) & 1) h += fetch(l);
  return h;
}

// The float32 state of pixel m in shared memory.
LEMMSE_HD F32State band_state(const WindowTileArgs& a, const BandShared& sh, std::size_t m) {
  return F32State{sh.s + m, sh.s2 + m, sh.piv + m, sh.a1 + m, sh.a2 + m, a.HW};
}

// A key through the screen: its exact score (fp64 vertical sum of the lane's h column from its
// band row k, plus the bias) and the float32 update of pixel m. Returns the new cut, or NAN when
// the running minimum did not move.
template <int C, class HT>
LEMMSE_HD float band_exact(const WindowTileArgs& a, const BandShared& sh, std::size_t m, int n, int k, const HT* hcol,
                           const float* val) {
  const int wh = band_window_rows(a);
  double g = 0.0;
  for (int u = 0; u < wh; ++u) g += double(hcol[(k + u) * kBandLanes]);
  if (sh.dshift) g += sh.dshift[n];
  const bool moved = f32_push<C>(band_state(a, sh, m), sh.gmin[m], g, val + n, a.HW, a.scale2, a.band_skip_log2);
  return moved ? band_cut(a, sh.gmin[m]) : NAN;
}

// After the walk of shift (ti, ·): the screen over the band's rows (unrolled: D and the cuts are
// registers). Bit k of the result: band row k's key passed (the lane owns a pixel there). kc: the
// key column of the lane's pixels.
template <class HT>
LEMMSE_HD unsigned band_screen(const WindowTileArgs& a, const BandShared& sh, const BandLane& L, int ti, int kc, const HT* D) {
  if (!L.owns) return 0;
  unsigned pass = 0;
  LEMMSE_UNROLL
  for (int k = 0; k < kBandRows; ++k) {
    if (k >= L.nrows) break;
    int kr = L.r0 + k + ti;
    if (kr >= a.H) kr -= a.H;
    HT d = D[k];
    if (sh.dshift32) d += sh.dshift32[kr * a.W + kc];
    if (d <= L.cut[k]) pass |= 1u << k;
  }
  return pass;
}

// The exact path of one key that passed the screen: band row k of the lane owning column j (band
// rows from r0), shift (ti, tj); hcol: that lane's h column. Returns the new cut for that pixel, or
// NAN (running minimum unchanged, or the key incompatible with the pixel). Keys of one shift belong
// to distinct pixels, so any lane may take any of them, in any order, with the same bits.
template <int C, class HT>
LEMMSE_HD float band_exact_key(const WindowTileArgs& a, const BandShared& sh, long long img, int j, int r0, int k, int ti, int tj,
                               const HT* hcol, const float* val) {
  int kr = r0 + k + ti, kc = j + tj;
  if (kr >= a.H) kr -= a.H;
  if (kc >= a.W) kc -= a.W;
  const int n = kr * a.W + kc;
  const std::size_t m = std::size_t((r0 + k) * a.W + j);
  if (a.valid && !a.valid[(std::size_t(img) * std::size_t(a.HW) + m) * std::size_t(a.npat) + std::size_t(sh.pattern[n])]) return NAN;
  return band_exact<C>(a, sh, m, n, k, hcol, val);
}

// Sets band row k's cut (a register array: no dynamic index) unless cut is NAN.
LEMMSE_HD void band_set_cut(BandLane& L, int k, float cut) {
  if (cut == cut) {
    LEMMSE_UNROLL
    for (int kk = 0; kk < kBandRows; ++kk)
      if (kk == k) L.cut[kk] = cut;
  }
}

// Row order (LEMMSE_BAND_EXACT=row, the default): the screen, then the exact path for the lane's
// rows whose key passed, one after another — divergent within the warp when lanes pass different
// numbers of rows (Nsight Compute, P = 5, σ = 0.1: 19 of 32 lanes active on average).
// (Key and pixel written out rather than through band_exact_key, which recomputes the key column:
// that form cost this path 2 registers at P = 5, C = 3 — 170, over the 168 that let 3 blocks share
// an SM.)
template <int C, class HT>
LEMMSE_HD void band_finish_shift(const WindowTileArgs& a, const BandShared& sh, BandLane& L, long long img, int ti, int kc,
                                 const HT* D, const HT* hcol, const float* val) {
  if (!L.owns) return;
  unsigned pass = band_screen(a, sh, L, ti, kc, D);
  while (pass) {
    int k = 0;
    while (!((pass >> k) & 1u)) ++k;
    pass &= pass - 1;
    int kr = L.r0 + k + ti;
    if (kr >= a.H) kr -= a.H;
    const int n = kr * a.W + kc;
    const std::size_t m = std::size_t((L.r0 + k) * a.W + L.j);
    if (a.valid && !a.valid[(std::size_t(img) * std::size_t(a.HW) + m) * std::size_t(a.npat) + std::size_t(sh.pattern[n])]) continue;
    band_set_cut(L, k, band_exact<C>(a, sh, m, n, k, hcol, val));
  }
}

// Queue order (LEMMSE_BAND_EXACT=queue): the warp's passing keys, ordered by (band row, lane), are
// dealt out to its lanes 32 at a time, so all lanes work while keys remain. rowmask[k]: the lanes
// whose row k passed (a warp ballot); first[k]: keys of rows before k. Item i is row k's
// (i − first[k])-th passing lane for the k with first[k] ≤ i < first[k + 1].
struct BandQueue {
  unsigned rowmask[kBandRows];
  int first[kBandRows + 1];
};

// The lane holding the n-th (from 0) set bit of mask.
LEMMSE_HD int band_nth_lane(unsigned mask, int n) {
#if defined(__CUDA_ARCH__)
  return int(__fns(mask, 0, n + 1));
#else
  for (int l = 0; l < kBandLanes; ++l)
    if (((mask >> l) & 1u) && n-- == 0) return l;
  return -1;
#endif
}

// Item i of the queue: its band row and lane.
LEMMSE_HD void band_queue_item(const BandQueue& q, int i, int& k, int& lane) {
  k = 0;
  LEMMSE_UNROLL
  for (int kk = 1; kk < kBandRows; ++kk)
    if (i >= q.first[kk]) k = kk;
  unsigned mask = q.rowmask[0];
  int first = q.first[0];
  LEMMSE_UNROLL
  for (int kk = 1; kk < kBandRows; ++kk)
    if (kk == k) {
      mask = q.rowmask[kk];
      first = q.first[kk];
    }
  lane = band_nth_lane(mask, i - first);
}

// The queue index of lane `lane`'s key in band row k (meaningful when its bit is set).
LEMMSE_HD int band_queue_index(const BandQueue& q, int k, int lane) {
  unsigned below = lane == 0 ? 0u : (q.rowmask[k] & (0xffffffffu >> (kBandLanes - lane)));
#if defined(__CUDA_ARCH__)
  return q.first[k] + __popc(below);
#else
  int c = 0;
  for (; below; below &= below - 1) ++c;
  return q.first[k] + c;
#endif
}

// After each training image: the lane's pixels' float32 states folded into the slice's fp64
// states (f32_fold: the tiled kernel's algebra), restarted about the merged pivot. A loop, not
// unrolled: one copy of the fp64 merge.
template <int C>
LEMMSE_HD void band_fold(const WindowTileArgs& a, const BandShared& sh, const BandLane& L, long long img, int slice) {
  if (!L.owns) return;
  const SoftmaxRows st = tile_partial(a, img, slice);
  for (int k = 0; k < L.nrows; ++k) {
    const std::size_t m = std::size_t((L.r0 + k) * a.W + L.j);
    f32_fold<C, false>(a, st, m, sh.gmin[m], band_state(a, sh, m));
  }
}

}  // namespace lemmse
