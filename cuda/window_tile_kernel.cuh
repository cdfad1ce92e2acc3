// The tiled window kernel (arithmetic: kernels/window_tile.hpp) and its launcher for C channels.
// Included by one small .cu file per channel count (window_tile_c*.cu), compiled in parallel.
#pragma once
#include "cuda/cuda_check.cuh"
#include "cuda/window_tile_launch.hpp"

namespace lemmse {

// C channels, PPT pixels per thread, TS shifts per barrier round; TOPK: also the top-k heaps (TS = 1).
template <int C, int PPT, int TS, bool TOPK>
__global__ void __launch_bounds__(kTileThreads, 2) window_tile_kernel(WindowTileArgs a, int slice0) {
  extern __shared__ double smem[];  // fp64 element type: 8-byte alignment for the layout
  const TileShared sh = tile_shared_layout(a, smem, TS);
  TileThread<C, PPT> th;
  double floor[PPT];  // top-k floors (TOPK)
  const int tid = int(threadIdx.x), slice = slice0 + int(blockIdx.x);
  const long long img = blockIdx.y;
  if (slice >= a.nslice) return;  // uniform over the block
  tile_begin(a, sh, th, img, slice, tid);
  if (TOPK) tile_topk_begin(a, floor, img, slice, tid);
  const long long b0 = (long long)slice * kTileSlice, b1 = b0 + kTileSlice < a.ntrain ? b0 + kTileSlice : a.ntrain;
  const int nti = a.all_shifts ? a.H : 1, ntj = a.all_shifts ? a.W : 1;
  for (long long b = b0; b < b1; ++b) {
    __syncthreads();  // the previous image's last phase V has read the staged image
    tile_load_image(a, sh, b, tid);
    __syncthreads();
    int ti = 0, tj = 0;
    while (ti < nti) {
      const TileRound<TS> rd = tile_next_round<TS>(ti, tj, nti, ntj);
#pragma unroll
      for (int s = 0; s < TS; ++s)
        if (s < rd.n) tile_phase_e(a, sh, th, rd.ti[s], rd.tj[s], s, tid);
      __syncthreads();
#pragma unroll
      for (int s = 0; s < TS; ++s)
        if (s < rd.n) tile_phase_h(a, sh, th, s, tid);
      __syncthreads();
      // The next round's phase E writes e/red only after every thread passed the barrier above.
#pragma unroll
      for (int s = 0; s < TS; ++s)
        if (s < rd.n) {
          tile_phase_v(a, sh, th, img, rd.ti[s], rd.tj[s], s, tid);
          if (TOPK) tile_phase_topk(a, sh, th, floor, img, rd.ti[s], rd.tj[s], s, tid, b, slice % a.topk_slots);
        }
    }
    tile_fold(a, th, img, slice, tid);
  }
}

template <int C, int PPT, int TS, bool TOPK = false>
void launch_tiles(dim3 grid, std::size_t smem, cudaStream_t st, const WindowTileArgs& a, int slice0) {
  LEMMSE_CUDA_CHECK(cudaFuncSetAttribute(window_tile_kernel<C, PPT, TS, TOPK>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  window_tile_kernel<C, PPT, TS, TOPK><<<grid, kTileThreads, smem, st>>>(a, slice0);
  LEMMSE_CUDA_CHECK(cudaGetLastError());
}

template <int C, int PPT>
void launch_tiles_ts(int ts, dim3 grid, std::size_t smem, cudaStream_t st, const WindowTileArgs& a, int slice0) {
  if (a.topk > 0) {  // top-k: one shift per round only (the heaps' instances are not multiplied by TS)
    if (ts != 1) throw Error("window tiles: top-k runs one shift per barrier round");
    return launch_tiles<C, PPT, 1, true>(grid, smem, st, a, slice0);
  }
  switch (ts) {
    case 1: return launch_tiles<C, PPT, 1>(grid, smem, st, a, slice0);
    case 2: return launch_tiles<C, PPT, 2>(grid, smem, st, a, slice0);
    case 4: return launch_tiles<C, PPT, 4>(grid, smem, st, a, slice0);
  }
  throw Error("window tiles: no kernel for " + std::to_string(ts) + " shifts per round");
}

template <int C>
void launch_window_tiles(int ppt, int ts, dim3 grid, std::size_t smem, cudaStream_t st, const WindowTileArgs& a, int slice0) {
  switch (ppt) {
    case 1: return launch_tiles_ts<C, 1>(ts, grid, smem, st, a, slice0);
    case 2: return launch_tiles_ts<C, 2>(ts, grid, smem, st, a, slice0);
    case 4: return launch_tiles_ts<C, 4>(ts, grid, smem, st, a, slice0);
    case 8: return launch_tiles_ts<C, 8>(ts, grid, smem, st, a, slice0);
    case 16: return launch_tiles_ts<C, 16>(ts, grid, smem, st, a, slice0);
  }
  throw Error("window tiles: no kernel for " + std::to_string(ppt) + " pixels per thread");
}

}  // namespace lemmse
