// Tiled window kernels for 3 channel(s) (one file per channel count: parallel builds).
#include "cuda/window_tile_kernel.cuh"

namespace lemmse {
template void launch_window_tiles<3>(int, int, dim3, std::size_t, cudaStream_t, const WindowTileArgs&, int);
}  // namespace lemmse
