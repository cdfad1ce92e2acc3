// The CUDA whitened engine (inverse-filter pre-inverse, DESIGN.md §3): LE-MMSE with the Mahalanobis
// distance ‖G⁻¹(q − k)‖², as direct fp64 differences of whitened vectors with the online softmax
// fused in (the pair matrix is never stored). Training images go through in chunks: their keys
// (B A x_b, fp64) are whitened on the device into an element-major buffer, then one tile kernel
// per chunk evaluates (64 query vectors × one slice of 16 training images) per block. Arithmetic:
// kernels/whitened_tile.hpp (emulated on the host by tests/kernels/test_whitened_tile.cpp).
#include <algorithm>
#include <chrono>
#include <cmath>

#include "cuda/device_memory.cuh"
#include "cuda/staged_upload.cuh"
#include "cuda/topk_slots.cuh"
#include "engine/cuda_memory_plan.hpp"
#include "engine/pixel_outputs.hpp"
#include "engine/whitened_cuda.hpp"
#include "engine/whitened_setup.hpp"
#include "kernels/whitened_tile.hpp"
#include "util/format.hpp"

namespace lemmse {
namespace {

struct WtArgs {
  const double* qT;     // L × nq whitened queries
  long long nq;
  const double* kT;     // L × ncols whitened keys of the chunk
  long long ncols;      // keys in the chunk (its images × HW)
  const double* vals;   // values of the chunk's images, C × HW each
  const double* qn;     // dot variant: ‖q‖² of every query vector
  const double* kn;     // dot variant: ‖k‖² of every key of the chunk
  int L, HW;
  double inv_two_sigma2;
  SoftmaxAcc<double>* partial;  // [slice][nq]
  long long img0;               // the chunk's first training image (top-k's image indices)
  int y0;                       // the launch's first slice in the chunk (top-k launches ≤ slots slices)
  TopkSlots topk;               // top-k heaps (TOPK instances only; k = 0 otherwise)
};

// Training image and pixel of a tile's first key, advanced tile by tile without division: a
// 64-bit division is a ~70-instruction subroutine on the device, and the kernels did 8–16 per
// thread per 64-key tile (k / HW, k % HW, step / nE, step % nE) against ~160 DMMA per warp.
struct WtKeyCursor {
  long long img;  // image of the tile's first key, counted from the chunk's first image
  int pix;        // its pixel
  __device__ void advance(int n, int HW) {
    pix += n;
    while (pix >= HW) {
      pix -= HW;
      ++img;
    }
  }
  // Image (from the chunk's first) and pixel of key (tile's first key + off).
  __device__ void locate(int off, int HW, long long& i, int& p) const {
    p = pix + off;
    i = img;
    while (p >= HW) {  // at most once when HW ≥ 64
      p -= HW;
      ++i;
    }
  }
  // The values of key (tile's first key + off): C × HW image, channel stride HW.
  __device__ const double* values(const WtArgs& a, int off, int C) const {
    long long i;
    int p;
    locate(off, a.HW, i, p);
    return a.vals + i * C * a.HW + p;
  }
};

// The staging both tile kernels share: a stage (kWtTileE elements of the block's 64 query vectors
// and of key tile k0) is fetched into registers while the previous stage computes, then stored
// into the block's shared tiles (row pitch Pitch).
constexpr int kWtLoads = kWtTileE * kWtTileQ / kWtThreads;
static_assert(kWtTileQ == kWtTileK && kWtLoads * kWtThreads == kWtTileE * kWtTileQ, "tile shapes");
struct WtStager {
  double pq[kWtLoads], pk[kWtLoads];
  __device__ __forceinline__ void fetch(const WtArgs& a, int tid, long long q0, long long kend, long long k0, int e0) {
    LEMMSE_UNROLL
    for (int u = 0; u < kWtLoads; ++u) {
      const int t = tid + u * kWtThreads, e = t / kWtTileQ, col = t % kWtTileQ;
      const bool in_e = e0 + e < a.L;
      pq[u] = in_e && q0 + col < a.nq ? a.qT[(long long)(e0 + e) * a.nq + q0 + col] : 0.0;
      pk[u] = in_e && k0 + col < kend ? a.kT[(long long)(e0 + e) * a.ncols + k0 + col] : 0.0;
    }
  }
  // Stores stage (k0, e0), waits for the block, then fetches the next stage of tile k0, or the
  // next tile's first.
  template <int Pitch>
  __device__ __forceinline__ void store_then_prefetch(double (*Qs)[Pitch], double (*Ks)[Pitch], const WtArgs& a, int tid, long long q0,
                                                      long long kend, long long k0, int e0) {
    LEMMSE_UNROLL
    for (int u = 0; u < kWtLoads; ++u) {
      const int t = tid + u * kWtThreads;
      Qs[t / kWtTileQ][t % kWtTileQ] = pq[u];
      Ks[t / kWtTileQ][t % kWtTileQ] = pk[u];
    }
    __syncthreads();
    if (e0 + kWtTileE < a.L) fetch(a, tid, q0, kend, k0, e0 + kWtTileE);
    else if (k0 + kWtTileK < kend) fetch(a, tid, q0, kend, k0 + kWtTileK, 0);
  }
};

__global__ void whiten_keys_kernel(const double* keys, long long nb, int C, int H, int W, int P, int du0, int dv0,
                                   const double* ginv, int d, double* kT) {
  const long long HW = (long long)H * W, ncols = nb * HW;
  const long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= ncols * C) return;
  const int c = int(idx / ncols);
  const long long col = idx % ncols, b = col / HW;
  const int n = int(col % HW);
  const double* img = keys + b * C * HW;
  for (int r = 0; r < d; ++r)
    kT[((long long)c * d + r) * ncols + col] = wt_whiten_element(img, H, W, P, du0, dv0, ginv, d, c, n / W, n % W, r);
}

template <int C, int kWidth = 16>
__device__ void shfl_merge(SoftmaxAcc<double>& a, int off) {
  SoftmaxAcc<double> b;
  softmax_init(b);
  b.mx = __shfl_down_sync(0xffffffffu, a.mx, off, kWidth);
  b.s = __shfl_down_sync(0xffffffffu, a.s, off, kWidth);
  b.s2 = __shfl_down_sync(0xffffffffu, a.s2, off, kWidth);
  LEMMSE_UNROLL
  for (int c = 0; c < C; ++c) {
    b.pivot[c] = __shfl_down_sync(0xffffffffu, a.pivot[c], off, kWidth);
    b.a1[c] = __shfl_down_sync(0xffffffffu, a.a1[c], off, kWidth);
    b.a2[c] = __shfl_down_sync(0xffffffffu, a.a2[c], off, kWidth);
  }
  softmax_merge(a, b, C);
}

// Squared norm of every whitened key of the chunk (the dot variant), summed in element order.
__global__ void key_norms_kernel(const double* kT, long long ncols, int L, double* kn) {
  const long long col = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (col >= ncols) return;
  double s = 0;
  for (int e = 0; e < L; ++e) s = fma(kT[(long long)e * ncols + col], kT[(long long)e * ncols + col], s);
  kn[col] = s;
}

// kDot = false: D = Σ (q − k)², two fp64 instructions per element. kDot = true: D = ‖q‖² + ‖k‖² −
// 2 q·k, one (the whitened vectors' norms are moderate, so fp64 keeps the cancellation far below
// the accuracy bar: kernels/whitened_tile.hpp wt_distance_from_dot). The next stage's elements are
// fetched into registers while this stage computes (one block per SM: nothing else hides latency).
// kTopk: also the top-k heaps (kernels/whitened_tile.hpp kWtTopkCols).
template <int C, bool kDot, bool kTopk>
__global__ void __launch_bounds__(kWtThreads, 1) whitened_tile_kernel(WtArgs a, int slice0) {
  __shared__ double Qs[kWtTileE][kWtTileQ];
  __shared__ double Ks[kWtTileE][kWtTileK];
  __shared__ double Ls[kTopk ? kWtTileQ : 1][kWtTopkCols + 1];
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const long long q0 = (long long)blockIdx.x * kWtTileQ;
  const int yb = a.y0 + int(blockIdx.y);  // this block's slice in the chunk
  const long long kbeg = (long long)yb * kWtSlice * a.HW;
  const long long kend = min(a.ncols, kbeg + (long long)kWtSlice * a.HW);
  SoftmaxAcc<double> acc[kWtPerThread];
  double qn[kWtPerThread];
  LEMMSE_UNROLL
  for (int i = 0; i < kWtPerThread; ++i) {
    softmax_init(acc[i]);
    const long long q = q0 + ty + 16 * i;
    qn[i] = kDot && q < a.nq ? a.qn[q] : 0.0;
  }
  // Top-k: thread tid < kWtTileQ offers query q0 + tid's keys to its heap in the slice's slot.
  const long long qo = q0 + tid;
  const bool offers = kTopk && tid < kWtTileQ && qo < a.nq;
  std::size_t cell = 0;
  double floor = -INFINITY;
  if (offers) {
    cell = topk_cell(a.topk, qo / a.HW, (slice0 + yb) % a.topk.slots, int(qo % a.HW));
    floor = topk_floor(a.topk, cell);
  }
  WtStager stage;
  stage.fetch(a, tid, q0, kend, kbeg, 0);
  WtKeyCursor cur{(long long)yb * kWtSlice, 0};
  double d[kWtPerThread][kWtPerThread];
  for (long long k0 = kbeg; k0 < kend; k0 += kWtTileK, cur.advance(kWtTileK, a.HW)) {
    LEMMSE_UNROLL
    for (int i = 0; i < kWtPerThread; ++i)
      LEMMSE_UNROLL
      for (int j = 0; j < kWtPerThread; ++j) d[i][j] = 0;
    for (int e0 = 0; e0 < a.L; e0 += kWtTileE) {
      stage.store_then_prefetch(Qs, Ks, a, tid, q0, kend, k0, e0);
      LEMMSE_UNROLL
      for (int e = 0; e < kWtTileE; ++e) {
        double qv[kWtPerThread], kv[kWtPerThread];
        LEMMSE_UNROLL
        for (int i = 0; i < kWtPerThread; ++i) {
          qv[i] = Qs[e][ty + 16 * i];
          kv[i] = Ks[e][tx + 16 * i];
        }
        LEMMSE_UNROLL
        for (int i = 0; i < kWtPerThread; ++i)
          LEMMSE_UNROLL
          for (int j = 0; j < kWtPerThread; ++j) {
            if (kDot) {
              d[i][j] = fma(qv[i], kv[j], d[i][j]);
            } else {
              const double t = qv[i] - kv[j];
              d[i][j] = fma(t, t, d[i][j]);
            }
          }
      }
      __syncthreads();
    }
    // This tile's distances are complete: push them.
    double lg[kWtPerThread][kWtPerThread];  // their logits (top-k; −inf where no pair)
    LEMMSE_UNROLL
    for (int j = 0; j < kWtPerThread; ++j) {
      const int off = tx + 16 * j;
      const long long k = k0 + off;
      LEMMSE_UNROLL
      for (int i = 0; i < kWtPerThread; ++i) lg[i][j] = -INFINITY;
      if (k >= kend) continue;
      const double* v = cur.values(a, off, C);
      const double kn = kDot ? a.kn[k] : 0.0;
      LEMMSE_UNROLL
      for (int i = 0; i < kWtPerThread; ++i)
        if (q0 + ty + 16 * i < a.nq) {
          const double D = kDot ? wt_distance_from_dot(qn[i], kn, d[i][j]) : d[i][j];
          lg[i][j] = -D * a.inv_two_sigma2;
          wt_push<C>(acc[i], lg[i][j], v, a.HW);
        }
    }
    if (kTopk) {  // keys 32 h … 32 h + 31 of the tile (thread columns j = 2h, 2h + 1), in key order
      LEMMSE_UNROLL
      for (int h = 0; h < kWtTileK / kWtTopkCols; ++h) {
        LEMMSE_UNROLL
        for (int jj = 0; jj < 2; ++jj)
          LEMMSE_UNROLL
          for (int i = 0; i < kWtPerThread; ++i) Ls[ty + 16 * i][tx + 16 * jj] = lg[i][2 * h + jj];
        __syncthreads();
        if (offers)
          for (int col = 0; col < kWtTopkCols && k0 + kWtTopkCols * h + col < kend; ++col) {
            const double l = Ls[tid][col];
            if (l < floor) continue;
            long long img;
            int pix;
            cur.locate(kWtTopkCols * h + col, a.HW, img, pix);
            topk_offer(a.topk, floor, cell, TopkEntry{l, a.img0 + img, pix});
          }
        __syncthreads();
      }
    }
  }
  // The 16 threads of a query row (one half-warp) merge in a fixed tree: lane t takes t + off.
  LEMMSE_UNROLL
  for (int i = 0; i < kWtPerThread; ++i) {
    for (int off = 8; off > 0; off /= 2) shfl_merge<C>(acc[i], off);
    const long long q = q0 + ty + 16 * i;
    if (tx == 0 && q < a.nq) a.partial[(long long)(slice0 + yb) * a.nq + q] = acc[i];
  }
}

// D += A·B on the fp64 tensor cores (sm_80+): A 8×4 row-major (lane: row lane/4, column lane%4),
// B 4×8 column-major (lane: row lane%4, column lane/4), D 8×8 (lane: row lane/4, columns
// 2·(lane%4) + {0, 1}).
__device__ __forceinline__ void dmma_8x8x4(double& d0, double& d1, double a, double b) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("mma.sync.aligned.m8n8k4.row.col.f64.f64.f64.f64 {%0,%1}, {%2}, {%3}, {%0,%1};\n" : "+d"(d0), "+d"(d1) : "d"(a), "d"(b));
#else
  __trap();  // never launched below sm_80 (whitened_variant refuses mma there)
#endif
}

// The mma variant: the dot-product form with q·k on the fp64 tensor cores. Same block (64 queries ×
// one slice), 8 warps as 4 (query rows) × 2 (keys): warp (wq, wk) owns query rows 16 wq … +16 and
// keys 32 wk … +32 of each 64-key tile; a thread holds rows g and 8 + g (g = lane/4) against 8
// keys. Merge: the 4 lanes of a row in a shuffle tree, then warp wk = 0 takes wk = 1 (fixed order).
// kBlocks: blocks per SM the registers must allow. 1 (variant mma): 214 registers at C = 3, no
// spills, 8 warps per SM; 2 (variant mma2): 128 registers, ~200 bytes of spills, 16 warps per SM
// to hide the DMMA and push latencies.
constexpr int kWtPad = kWtTileQ + 4;  // shared row stride: the 4 fragment rows fall in distinct banks
template <int C, int kBlocks>
__global__ void __launch_bounds__(kWtThreads, kBlocks) whitened_mma_kernel(WtArgs a, int slice0) {
  __shared__ double Qs[kWtTileE][kWtPad];
  __shared__ double Ks[kWtTileE][kWtPad];
  __shared__ SoftmaxAcc<double> handoff[kWtTileQ];
  // The tile's key values (rows 0 … C − 1) and squared norms (row C), staged once per tile: read
  // from global memory per pair they missed L1 ~40 % of the time (Nsight Compute, P = 5).
  __shared__ double Vs[C + 1][kWtTileK];
  constexpr int kVals = ((C + 1) * kWtTileK + kWtThreads - 1) / kWtThreads;
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32, wq = warp / 2, wk = warp % 2, g = lane / 4, tig = lane % 4;
  const long long q0 = (long long)blockIdx.x * kWtTileQ;
  const int yb = a.y0 + int(blockIdx.y);  // this block's slice in the chunk
  const long long kbeg = (long long)yb * kWtSlice * a.HW;
  const long long kend = min(a.ncols, kbeg + (long long)kWtSlice * a.HW);
  SoftmaxAcc<double> acc[2];
  double qn[2];
  for (int mt = 0; mt < 2; ++mt) {
    softmax_init(acc[mt]);
    const long long q = q0 + wq * 16 + mt * 8 + g;
    qn[mt] = q < a.nq ? a.qn[q] : 0.0;
  }
  WtStager stage;
  stage.fetch(a, tid, q0, kend, kbeg, 0);
  WtKeyCursor cur{(long long)yb * kWtSlice, 0};
  double c[2][4][2];
  for (long long k0 = kbeg; k0 < kend; k0 += kWtTileK, cur.advance(kWtTileK, a.HW)) {
    LEMMSE_UNROLL
    for (int mt = 0; mt < 2; ++mt)
      LEMMSE_UNROLL
      for (int nt = 0; nt < 4; ++nt) c[mt][nt][0] = c[mt][nt][1] = 0;
    double pv[kVals];  // this tile's values and norms, loaded while its distances are computed
    LEMMSE_UNROLL
    for (int u = 0; u < kVals; ++u) {
      const int t = tid + u * kWtThreads, row = t / kWtTileK, col = t % kWtTileK;
      pv[u] = 0.0;
      if (row <= C && k0 + col < kend) pv[u] = row < C ? cur.values(a, col, C)[(long long)row * a.HW] : a.kn[k0 + col];
    }
    for (int e0 = 0; e0 < a.L; e0 += kWtTileE) {
      stage.store_then_prefetch(Qs, Ks, a, tid, q0, kend, k0, e0);
      LEMMSE_UNROLL
      for (int ks = 0; ks < kWtTileE / 4; ++ks) {
        double af[2], bf[4];
        LEMMSE_UNROLL
        for (int mt = 0; mt < 2; ++mt) af[mt] = Qs[ks * 4 + tig][wq * 16 + mt * 8 + g];
        LEMMSE_UNROLL
        for (int nt = 0; nt < 4; ++nt) bf[nt] = Ks[ks * 4 + tig][wk * 32 + nt * 8 + g];
        LEMMSE_UNROLL
        for (int mt = 0; mt < 2; ++mt)
          LEMMSE_UNROLL
          for (int nt = 0; nt < 4; ++nt) dmma_8x8x4(c[mt][nt][0], c[mt][nt][1], af[mt], bf[nt]);
      }
      __syncthreads();
    }
    LEMMSE_UNROLL
    for (int u = 0; u < kVals; ++u) {
      const int t = tid + u * kWtThreads;
      if (t < (C + 1) * kWtTileK) Vs[t / kWtTileK][t % kWtTileK] = pv[u];
    }
    __syncthreads();  // (the next tile rewrites Vs only after its stages' barriers)
    LEMMSE_UNROLL
    for (int nt = 0; nt < 4; ++nt)
      LEMMSE_UNROLL
      for (int i = 0; i < 2; ++i) {
        const int off = wk * 32 + nt * 8 + tig * 2 + i;
        if (k0 + off >= kend) continue;
        const double kn = Vs[C][off];
        LEMMSE_UNROLL
        for (int mt = 0; mt < 2; ++mt)
          if (q0 + wq * 16 + mt * 8 + g < a.nq)
            wt_push<C>(acc[mt], -wt_distance_from_dot(qn[mt], kn, c[mt][nt][i]) * a.inv_two_sigma2, &Vs[0][off], kWtTileK);
      }
  }
  LEMMSE_UNROLL
  for (int mt = 0; mt < 2; ++mt) {
    for (int off = 2; off > 0; off /= 2) shfl_merge<C, 4>(acc[mt], off);
    if (wk == 1 && tig == 0) handoff[wq * 16 + mt * 8 + g] = acc[mt];
  }
  __syncthreads();
  if (wk == 0 && tig == 0)
    for (int mt = 0; mt < 2; ++mt) {
      const int row = wq * 16 + mt * 8 + g;
      softmax_merge(acc[mt], handoff[row], C);
      if (q0 + row < a.nq) a.partial[(long long)(slice0 + yb) * a.nq + q0 + row] = acc[mt];
    }
}

__global__ void whitened_merge_kernel(const SoftmaxAcc<double>* partial, long long nq, int nslice, int C, SoftmaxAcc<double>* out) {
  const long long q = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (q >= nq) return;
  SoftmaxAcc<double> a;
  softmax_init(a);
  for (int sl = 0; sl < nslice; ++sl) softmax_merge(a, partial[(long long)sl * nq + q], C);  // slice order
  out[q] = a;
}

template <bool kDot, bool kTopk>
void launch_tiles_v(int C, dim3 grid, cudaStream_t st, const WtArgs& a, int slice0) {
  switch (C) {
    case 1: whitened_tile_kernel<1, kDot, kTopk><<<grid, kWtThreads, 0, st>>>(a, slice0); break;
    case 2: whitened_tile_kernel<2, kDot, kTopk><<<grid, kWtThreads, 0, st>>>(a, slice0); break;
    case 3: whitened_tile_kernel<3, kDot, kTopk><<<grid, kWtThreads, 0, st>>>(a, slice0); break;
    case 4: whitened_tile_kernel<4, kDot, kTopk><<<grid, kWtThreads, 0, st>>>(a, slice0); break;
  }
  LEMMSE_CUDA_CHECK(cudaGetLastError());
}

void launch_tiles(WtVariant v, int C, dim3 grid, cudaStream_t st, const WtArgs& a, int slice0) {
  if (v == WtVariant::mma || v == WtVariant::mma2) {
    const bool two = v == WtVariant::mma2;
    switch (C) {
      case 1: (two ? whitened_mma_kernel<1, 2> : whitened_mma_kernel<1, 1>)<<<grid, kWtThreads, 0, st>>>(a, slice0); break;
      case 2: (two ? whitened_mma_kernel<2, 2> : whitened_mma_kernel<2, 1>)<<<grid, kWtThreads, 0, st>>>(a, slice0); break;
      case 3: (two ? whitened_mma_kernel<3, 2> : whitened_mma_kernel<3, 1>)<<<grid, kWtThreads, 0, st>>>(a, slice0); break;
      case 4: (two ? whitened_mma_kernel<4, 2> : whitened_mma_kernel<4, 1>)<<<grid, kWtThreads, 0, st>>>(a, slice0); break;
    }
    LEMMSE_CUDA_CHECK(cudaGetLastError());
  } else if (v == WtVariant::dot) {
    a.topk.k > 0 ? launch_tiles_v<true, true>(C, grid, st, a, slice0) : launch_tiles_v<true, false>(C, grid, st, a, slice0);
  } else {
    a.topk.k > 0 ? launch_tiles_v<false, true>(C, grid, st, a, slice0) : launch_tiles_v<false, false>(C, grid, st, a, slice0);
  }
}

}  // namespace

EstimatorOutputs run_whitened_cuda(const EstimatorSettings& s, const Problem& p, const Images& train,
                                   const std::vector<std::int64_t>& train_ids, const PreInverse& B, const Images& y) {
  const auto t0 = std::chrono::steady_clock::now();
  NvtxRange whole("lemmse whitened engine");
  std::string why;
  if (!whitened_cuda_covers(s, p, &why)) throw Unsupported("--backend cuda: " + why);
  const int C = p.C, d = p.d, L = C * d, HW = int(p.HW);
  WtVariant variant = whitened_variant();
  {
    int dev = 0, major = 0;
    LEMMSE_CUDA_CHECK(cudaGetDevice(&dev));
    LEMMSE_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
    // Top-k runs the tiled kernels (the mma kernels have no top-k): dot where the mma ones would run.
    if (variant == WtVariant::automatic) variant = major >= 8 ? (s.topk > 0 ? WtVariant::dot : WtVariant::mma2) : WtVariant::direct;
    if ((variant == WtVariant::mma || variant == WtVariant::mma2) && major < 8)
      throw Unsupported("LEMMSE_WHITENED_KERNEL=mma or mma2 needs fp64 tensor cores (compute capability 8.0 or newer)");
    if ((variant == WtVariant::mma || variant == WtVariant::mma2) && s.topk > 0)
      throw Unsupported("LEMMSE_WHITENED_KERNEL=mma or mma2: the mma kernels have no top-k (--topk runs the direct or dot kernel)");
  }
  const std::vector<double> ginv = whitening_inverse(p);
  const int nslice = int((train.n + kWtSlice - 1) / kWtSlice);

  // Device memory (engine/cuda_memory_plan.hpp): keys and values (fp64) stay resident; query
  // images go through in groups (whitened queries, one fp64 softmax state per (slice, query
  // pixel), top-k heaps), training images within a group in chunks whitened on the device.
  std::size_t free_b = 0, total_b = 0;
  LEMMSE_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  const WhitenedCudaPlan plan = plan_whitened_cuda(s, p, y.n, double(free_b));
  if (plan.group == 0) throw ResourceError(plan.why + " (reduce --train-count or --topk, or use --backend cpu)");
  const std::size_t group = plan.group, chunk = plan.chunk;
  const std::size_t gq_max = group * p.HW;
  const int k = s.topk, slots = plan.slots;

  Stream stream;
  const cudaStream_t st = stream.s;
  nvtxRangePushA("upload");
  const Images& keys = p.keys(train);
  DeviceArray<double> d_keys(keys.data.size()), d_vals(train.data.size()), d_ginv(ginv, st);
  {
    // Keys (B A x) and values (x), fp64, through pinned chunks copied on the host's threads.
    StagedUpload up(st, staged_upload_chunk(), s.threads);
    up.copy(d_keys.get(), keys.data.data(), keys.data.size());
    up.copy(d_vals.get(), train.data.data(), train.data.size());
    up.finish();
  }
  DeviceArray<double> d_kT(std::size_t(L) * chunk * HW), d_kn(chunk * HW), d_qT(std::size_t(L) * gq_max), d_qn(gq_max);
  DeviceArray<SoftmaxAcc<double>> d_partial{std::size_t(nslice) * gq_max}, d_merged{gq_max};
  DeviceArray<TopkEntry> d_topk(std::size_t(slots) * gq_max * std::size_t(k));
  DeviceArray<int> d_topk_count(std::size_t(slots) * gq_max);
  if (k > 0)  // (entries past a heap's count are copied back but never read; zeroed for initcheck)
    LEMMSE_CUDA_CHECK(cudaMemsetAsync(d_topk.get(), 0, d_topk.n * sizeof(TopkEntry), st));
  nvtxRangePop();

  EstimatorOutputs out = make_outputs(s, y.n, y.shape, Backend::cuda);
  std::vector<SoftmaxAcc<double>> merged(gq_max);
  std::vector<TopkEntry> top(gq_max * std::size_t(k));
  std::vector<int> top_count(k > 0 ? gq_max : 0);
  const TopkSlots topk{k, std::max(slots, 1), HW, d_topk.get(), d_topk_count.get()};
  Event start, stop;
  double device_ms = 0;
  const int P = p.win_w();
  const bool one_chunk = chunk >= train.n;  // then every group reuses the keys whitened for the first
  const double total = double(y.n) * double(train.n);
  for (std::size_t g0 = 0; g0 < y.n; g0 += group) {
    const std::size_t ng = std::min(group, y.n - g0);
    const long long nq = (long long)(ng * p.HW);
    {
      NvtxRange r("prepare queries (host)");
      const std::vector<double> qT = whitened_queries_t(p, s, B, y, g0, ng), qn = squared_norms_t(qT, std::size_t(L), std::size_t(nq));
      // (pageable sources: the copies have left them when cudaMemcpyAsync returns)
      LEMMSE_CUDA_CHECK(cudaMemcpyAsync(d_qT.get(), qT.data(), qT.size() * sizeof(double), cudaMemcpyHostToDevice, st));
      LEMMSE_CUDA_CHECK(cudaMemcpyAsync(d_qn.get(), qn.data(), qn.size() * sizeof(double), cudaMemcpyHostToDevice, st));
    }
    if (k > 0) LEMMSE_CUDA_CHECK(cudaMemsetAsync(d_topk_count.get(), 0, std::size_t(slots) * ng * p.HW * sizeof(int), st));
    LEMMSE_CUDA_CHECK(cudaEventRecord(start.e, st));
    for (std::size_t b0 = 0; b0 < train.n; b0 += chunk) {
      const std::size_t nb = std::min(chunk, train.n - b0);
      const long long ncols = (long long)(nb * p.HW);
      if (!one_chunk || g0 == 0) {
        NvtxRange r("whiten keys");
        const long long threads = ncols * C;
        whiten_keys_kernel<<<unsigned((threads + 255) / 256), 256, 0, st>>>(d_keys.get() + b0 * C * HW, (long long)nb, C, p.H, p.W,
                                                                             P, p.du0, p.dv0, d_ginv.get(), d, d_kT.get());
        LEMMSE_CUDA_CHECK(cudaGetLastError());
        if (variant != WtVariant::direct) {
          key_norms_kernel<<<unsigned((ncols + 255) / 256), 256, 0, st>>>(d_kT.get(), ncols, L, d_kn.get());
          LEMMSE_CUDA_CHECK(cudaGetLastError());
        }
      }
      {
        NvtxRange r("whitened tiles");
        WtArgs a{d_qT.get(), nq, d_kT.get(), ncols, d_vals.get() + b0 * C * HW, d_qn.get(), d_kn.get(), L, HW, p.inv_two_sigma2,
                 d_partial.get(), (long long)b0, 0, topk};
        const int ns = int((nb + kWtSlice - 1) / kWtSlice);
        // Without top-k one launch per chunk; with it, launches of at most `slots` slices (no two
        // blocks of a launch share a heap).
        const int per_launch = k > 0 ? slots : ns;
        for (a.y0 = 0; a.y0 < ns; a.y0 += per_launch)
          launch_tiles(variant, C, dim3(unsigned((nq + kWtTileQ - 1) / kWtTileQ), unsigned(std::min(per_launch, ns - a.y0))), st, a,
                       int(b0 / kWtSlice));
      }
      if (s.progress) {
        LEMMSE_CUDA_CHECK(cudaStreamSynchronize(st));
        if (!s.progress(double(g0) * double(train.n) + double(ng) * double(b0 + nb), total)) throw Cancelled("cancelled by the progress callback");
      }
    }
    {
      NvtxRange r("merge slices");
      whitened_merge_kernel<<<unsigned((nq + 255) / 256), 256, 0, st>>>(d_partial.get(), nq, nslice, C, d_merged.get());
      LEMMSE_CUDA_CHECK(cudaGetLastError());
    }
    if (k > 0) {
      NvtxRange r("merge top-k");
      merge_and_copy_topk(topk, ng, top.data(), top_count.data(), st);
    }
    LEMMSE_CUDA_CHECK(cudaEventRecord(stop.e, st));
    LEMMSE_CUDA_CHECK(cudaMemcpyAsync(merged.data(), d_merged.get(), std::size_t(nq) * sizeof(SoftmaxAcc<double>), cudaMemcpyDeviceToHost, st));
    LEMMSE_CUDA_CHECK(cudaStreamSynchronize(st));
    float ms = 0;
    LEMMSE_CUDA_CHECK(cudaEventElapsedTime(&ms, start.e, stop.e));
    device_ms += double(ms);
    for (std::size_t img = 0; img < ng; ++img)
      for (std::size_t m = 0; m < p.HW; ++m) {
        const std::size_t q = img * p.HW + m;
        TopkEntry* t = k > 0 ? &top[q * std::size_t(k)] : nullptr;
        const int n = k > 0 ? top_count[q] : 0;
        for (int i = 0; i < n; ++i) t[i].image = train_ids.at(std::size_t(t[i].image));  // index → label
        write_pixel(out, s, g0 + img, m, merged[q], t, n);
      }
  }

  out.kernel = std::string(variant == WtVariant::mma    ? "whitened mma"
                           : variant == WtVariant::mma2 ? "whitened mma2"
                           : variant == WtVariant::dot  ? "whitened dot"
                                                        : "whitened direct") +
               (k > 0 ? " top-k" : "");
  out.pairs = double(y.n) * double(p.HW) * double(train.n) * double(p.HW);
  out.device_seconds = 1e-3 * device_ms;
  if (s.progress) s.progress(total, total);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace lemmse
