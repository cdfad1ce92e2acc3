// Baseline x86-64 (SSE2) build of the CPU engine's loops, and the run-time choice of variant.
#define LEMMSE_KERNEL_NS generic
#include "engine/cpu_kernels.inc"

namespace lemmse {
namespace cpu {
#if defined(__x86_64__) && defined(LEMMSE_HAVE_AVX2_KERNELS)
namespace avx2 {
void distances(const DistanceArgs&, int, int);
void accumulate_row(const AccState&, const RowArgs&);
void whitened_distances(const WhitenedDistanceArgs&);
void push_block(SoftmaxAcc<double>&, const BlockArgs&);
}  // namespace avx2
#endif

const Kernels& kernels() {
  static const Kernels k = [] {
#if defined(__x86_64__) && defined(LEMMSE_HAVE_AVX2_KERNELS)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
      return Kernels{avx2::distances, avx2::accumulate_row, avx2::whitened_distances, avx2::push_block, "avx2"};
#endif
    return Kernels{generic::distances, generic::accumulate_row, generic::whitened_distances, generic::push_block, "generic"};
  }();
  return k;
}
}  // namespace cpu
}  // namespace lemmse
