// The band kernel of the CUDA window engine (arithmetic and design: kernels/window_band.hpp):
// a warp per band of query rows, a lane per column, shifts walked without block barriers.
#include "cuda/cuda_check.cuh"
#include "cuda/window_band_launch.hpp"
#include "kernels/window_band.hpp"

namespace lemmse {
namespace {

constexpr unsigned kFullWarp = 0xffffffffu;

// WW: the window's columns as a compile-time constant (0: read at run time); WW > 0 only for
// WW × WW windows (launch_window_band). Constant, the doubling levels and block additions of the
// horizontal sums are straight-line code the compiler interleaves across walk rows, and the walk
// (kBandRows + WW − 1 rows) unrolls whole: the lane's query values sit in registers, and which
// band rows' sums D a walk row adds to is known at compile time (rolled, that was 8 compares and
// 8 predicated additions per row, more than the row's own arithmetic). Read at run time, each
// shuffle sits behind a branch and the query values are read from global memory (L1) per row.
// kQueue: the exact path in queue order (band_queue_item: the warp's passing keys dealt to its
// lanes 32 at a time), else row order (band_finish_shift).
template <int C, class HT, int WW, bool kQueue>
__device__ __forceinline__ void band_block(const WindowTileArgs& a, int slice0) {
  extern __shared__ double smem[];  // fp64 element type: 8-byte alignment for the layout
  const BandShared sh = band_shared_layout(a, smem);
  const int tid = int(threadIdx.x), nthreads = int(blockDim.x), slice = slice0 + int(blockIdx.x);
  const long long img = blockIdx.y;
  if (slice >= a.nslice) return;  // uniform over the block
  band_begin_shared(a, sh, tid, nthreads);
  BandLane L;
  band_lane_init(a, L, tid);
  band_begin_lane<C>(a, sh, L, img, slice);
  const int wh = WW ? WW : band_window_rows(a), ww = WW ? WW : band_window_cols(a), nwalk = L.nrows + wh - 1;
  const int warp = tid / kBandLanes;
  HT* hcol = band_hcol<HT>(a, sh, warp, L.lane);
  int rstart = L.r0 + a.du0;  // first row of the walk (the window's top halo), circular
  if (rstart < 0) rstart += a.H;
  constexpr int kWalk = WW ? kBandRows + WW - 1 : 1;  // walk rows of a full band (compile-time widths)
  float qreg[kWalk][C];
  if (WW) {
    int rq = rstart;
#pragma unroll
    for (int i = 0; i < kWalk; ++i) {
      band_query<C>(a, img, rq * a.W + L.j, qreg[i]);  // rows past a short last band: read, never used
      if (++rq == a.H) rq = 0;
    }
  }
  const long long b0 = (long long)slice * kTileSlice, b1 = b0 + kTileSlice < a.ntrain ? b0 + kTileSlice : a.ntrain;
  const int nti = a.all_shifts ? a.H : 1, ntj = a.all_shifts ? a.W : 1;
  for (long long b = b0; b < b1; ++b) {
    __syncthreads();  // every warp is done with the previous key image
    band_load_image(a, sh, b, tid, nthreads);
    __syncthreads();
    const float* val = a.vals + std::size_t(b - a.key0) * std::size_t(C) * std::size_t(a.HW);
    for (int ti = 0; ti < nti; ++ti)
      for (int tj = 0; tj < ntj; ++tj) {
        int kc = L.j + tj;
        if (kc >= a.W) kc -= a.W;
        HT D[kBandRows];
#pragma unroll
        for (int k = 0; k < kBandRows; ++k) D[k] = 0;
        int kr = rstart + ti;
        if (kr >= a.H) kr -= a.H;
        // Walk row i: e of the query values q against key row kr, its horizontal window sum h,
        // kept for the exact path and added to the sums of the band rows whose window holds it.
        auto walk_row = [&](int i, const float* q) {
          HT lv[kBandLevels];
          lv[0] = band_e<C>(a, sh, q, kr * a.W + kc);
#pragma unroll
          for (int l = 1; l < kBandLevels; ++l)
            if ((1 << l) <= ww) lv[l] = lv[l - 1] + __shfl_sync(kFullWarp, lv[l - 1], L.src_build[l - 1]);
          const HT h = band_combine<HT>(ww, [&](int l) { return __shfl_sync(kFullWarp, lv[l], L.src_comb[l]); });
          hcol[i * kBandLanes] = h;
          band_accumulate(D, h, i, wh);
          if (++kr == a.H) kr = 0;
        };
        if (WW) {
#pragma unroll
          for (int i = 0; i < kWalk; ++i)
            if (i < nwalk) walk_row(i, qreg[i]);  // warp-uniform: false only past a short last band
        } else {
          int rq = rstart;
#pragma unroll 4
          for (int i = 0; i < nwalk; ++i) {
            float q[C];
            band_query<C>(a, img, rq * a.W + L.j, q);
            walk_row(i, q);
            if (++rq == a.H) rq = 0;
          }
        }
        if (!kQueue) {
          band_finish_shift<C>(a, sh, L, img, ti, kc, D, hcol, val);
          continue;
        }
        const unsigned pass = band_screen(a, sh, L, ti, kc, D);
        BandQueue q;
        q.first[0] = 0;
#pragma unroll
        for (int k = 0; k < kBandRows; ++k) {
          q.rowmask[k] = __ballot_sync(kFullWarp, (pass >> k) & 1u);
          q.first[k + 1] = q.first[k] + __popc(q.rowmask[k]);
        }
        const int total = q.first[kBandRows];  // warp-uniform
        if (total == 0) continue;
        __syncwarp();  // every lane's h column is written before other lanes read it
        for (int base = 0; base < total; base += kBandLanes) {
          const int i = base + L.lane;
          float cut = NAN;
          if (i < total) {
            int k = 0, src = 0;
            band_queue_item(q, i, k, src);
            cut = band_exact_key<C>(a, sh, img, src, L.r0, k, ti, tj, band_hcol<HT>(a, sh, warp, src), val);
          }
          // Each lane takes the new cuts of its own rows' keys dealt in this round.
#pragma unroll
          for (int k = 0; k < kBandRows; ++k) {
            const int idx = band_queue_index(q, k, L.lane);
            const float c = __shfl_sync(kFullWarp, cut, idx & (kBandLanes - 1));
            if (((pass >> k) & 1u) && idx >= base && idx < base + kBandLanes) band_set_cut(L, k, c);
          }
        }
        __syncwarp();  // other lanes' reads of this lane's h column and pixel states are done
      }
    band_fold<C>(a, sh, L, img, slice);
  }
}

// Row order: the kernel measured on an H200 (168 registers at P = 5, C = 3: 3 blocks per SM).
template <int C, class HT, int WW>
__global__ void __launch_bounds__(kBandLanes * (kBandMaxRows / kBandRows)) window_band_kernel(WindowTileArgs a, int slice0) {
  band_block<C, HT, WW, false>(a, slice0);
}
// Queue order, held to 168 registers (it would take 180 at P = 5, C = 3: 2 blocks per SM); no
// spills at C ≤ 3 (ptxas). Not measured on a GPU yet. (__maxnreg__ needs CUDA 12.4; older
// toolkits build it with the row kernel's bounds.)
#if __CUDACC_VER_MAJOR__ > 12 || (__CUDACC_VER_MAJOR__ == 12 && __CUDACC_VER_MINOR__ >= 4)
#define LEMMSE_BAND_QUEUE_BOUNDS __maxnreg__(168)
#else
#define LEMMSE_BAND_QUEUE_BOUNDS __launch_bounds__(kBandLanes * (kBandMaxRows / kBandRows))
#endif
template <int C, class HT, int WW>
__global__ void LEMMSE_BAND_QUEUE_BOUNDS window_band_queue_kernel(WindowTileArgs a, int slice0) {
  band_block<C, HT, WW, true>(a, slice0);
}

// The kernel for these arguments: specialised P × P windows (the float32 ones, P ≤ 11, and
// P = 17 in fp64), others at run time.
template <int C, template <int, class, int> class K>
void (*pick_band_kernel(const WindowTileArgs& a))(WindowTileArgs, int) {
  if (band_window_rows(a) != band_window_cols(a)) return band_h64(a) ? K<C, double, 0>::f : K<C, float, 0>::f;
  if (!band_h64(a)) switch (band_window_cols(a)) {
      case 3: return K<C, float, 3>::f;
      case 5: return K<C, float, 5>::f;
      case 7: return K<C, float, 7>::f;
      case 9: return K<C, float, 9>::f;
      case 11: return K<C, float, 11>::f;
      default: return K<C, float, 0>::f;
    }
  return band_window_cols(a) == 17 ? K<C, double, 17>::f : K<C, double, 0>::f;
}
template <int C, class HT, int WW>
struct RowKernel {
  static constexpr void (*f)(WindowTileArgs, int) = window_band_kernel<C, HT, WW>;
};
template <int C, class HT, int WW>
struct QueueKernel {
  static constexpr void (*f)(WindowTileArgs, int) = window_band_queue_kernel<C, HT, WW>;
};

}  // namespace

template <int C>
void launch_window_band(dim3 grid, std::size_t smem, cudaStream_t st, const WindowTileArgs& a, int slice0) {
  const auto kernel = a.band_queue ? pick_band_kernel<C, QueueKernel>(a) : pick_band_kernel<C, RowKernel>(a);
  LEMMSE_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  kernel<<<grid, unsigned(band_threads(a)), smem, st>>>(a, slice0);
  LEMMSE_CUDA_CHECK(cudaGetLastError());
}

template void launch_window_band<1>(dim3, std::size_t, cudaStream_t, const WindowTileArgs&, int);
template void launch_window_band<2>(dim3, std::size_t, cudaStream_t, const WindowTileArgs&, int);
template void launch_window_band<3>(dim3, std::size_t, cudaStream_t, const WindowTileArgs&, int);
template void launch_window_band<4>(dim3, std::size_t, cudaStream_t, const WindowTileArgs&, int);

}  // namespace lemmse
