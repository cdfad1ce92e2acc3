// The tiled window kernel (arithmetic: kernels/window_tile.hpp) and its launcher for C channels.
// Included by one small .cu file per channel count (window_tile_c*.cu), compiled in parallel.
#pragma once
#include "cuda/cuda_check.cuh"
#include "cuda/window_tile_launch.hpp"

namespace lemmse {

template <int C, int PPT>
__global__ void __launch_bounds__(kTileThreads, 2) window_tile_kernel(WindowTileArgs a, int slice0) {
  extern __shared__ double smem[];  // fp64 element type: 8-byte alignment for the layout
  const TileShared sh = tile_shared_layout(a, smem);
  TileThread<C, PPT> th;
  const int tid = int(threadIdx.x), slice = slice0 + int(blockIdx.x);
  const long long img = blockIdx.y;
  if (slice >= a.nslice) return;  // uniform over the block
  tile_begin(a, sh, th, img, slice, tid);
  const long long b0 = (long long)slice * kTileSlice, b1 = b0 + kTileSlice < a.ntrain ? b0 + kTileSlice : a.ntrain;
  const int nti = a.all_shifts ? a.H : 1, ntj = a.all_shifts ? a.W : 1;
  for (long long b = b0; b < b1; ++b) {
    __syncthreads();  // the previous image's last phase V has read the staged image
    tile_load_image(a, sh, b, tid);
    __syncthreads();
    for (int ti = 0; ti < nti; ++ti)
      for (int tj = 0; tj < ntj; ++tj) {
        tile_phase_e(a, sh, th, ti, tj, tid);
        __syncthreads();
        tile_phase_h(a, sh, th, tid);
        __syncthreads();
        tile_phase_v(a, sh, th, img, ti, tj, tid);  // the next phase E writes e/red only after all passed the barrier above
      }
    tile_fold(a, th, img, slice, tid);
  }
}

template <int C, int PPT>
void launch_tiles_ppt(dim3 grid, std::size_t smem, cudaStream_t st, const WindowTileArgs& a, int slice0) {
  LEMMSE_CUDA_CHECK(cudaFuncSetAttribute(window_tile_kernel<C, PPT>, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  window_tile_kernel<C, PPT><<<grid, kTileThreads, smem, st>>>(a, slice0);
  LEMMSE_CUDA_CHECK(cudaGetLastError());
}

template <int C>
void launch_window_tiles(int ppt, dim3 grid, std::size_t smem, cudaStream_t st, const WindowTileArgs& a, int slice0) {
  switch (ppt) {
    case 1: return launch_tiles_ppt<C, 1>(grid, smem, st, a, slice0);
    case 2: return launch_tiles_ppt<C, 2>(grid, smem, st, a, slice0);
    case 4: return launch_tiles_ppt<C, 4>(grid, smem, st, a, slice0);
    case 8: return launch_tiles_ppt<C, 8>(grid, smem, st, a, slice0);
    case 16: return launch_tiles_ppt<C, 16>(grid, smem, st, a, slice0);
  }
  throw Error("window tiles: no kernel for " + std::to_string(ppt) + " pixels per thread");
}

}  // namespace lemmse
