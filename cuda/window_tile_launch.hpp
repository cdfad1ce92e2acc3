// Launch of the tiled window kernel for C channels, ppt pixels per thread (1, 2, 4, 8, 16) and ts
// shifts per barrier round (1, 2, 4).
#pragma once
#include <cuda_runtime.h>

#include "kernels/window_tile.hpp"

namespace lemmse {
template <int C>
void launch_window_tiles(int ppt, int ts, dim3 grid, std::size_t smem, cudaStream_t st, const WindowTileArgs& a, int slice0);
}  // namespace lemmse
