// Launch of the band window kernel for C channels (grid: slices × query images; block: one warp
// per band of kBandRows rows, band_threads(a) threads).
#pragma once
#include <cuda_runtime.h>

#include "kernels/window_band.hpp"

namespace lemmse {
template <int C>
void launch_window_band(dim3 grid, std::size_t smem, cudaStream_t st, const WindowTileArgs& a, int slice0);
}  // namespace lemmse
