// Baseline x86-64 (SSE2) build of the CPU engine's loops, and the run-time choice of variant.
#define LEMMSE_KERNEL_NS generic
#include "engine/cpu_kernels.inc"

namespace lemmse {
namespace cpu {
#if defined(__x86_64__) && defined(LEMMSE_HAVE_AVX2_KERNELS)
namespace avx2 {
void shift_update(const AccState&, const ShiftArgs&, const KeyImage&, int, int);
void fold(const AccState&, bool);
void min_distances32(const ShiftArgs&, const KeyImage&, int, int, float*, float*);
void whitened_distances(const WhitenedDistanceArgs&);
void whitened_distances32(const WhitenedDistance32Args&);
void whiten_block(const WhitenArgs&);
void push_block(SoftmaxAcc<double>&, const BlockArgs&);
}  // namespace avx2
#endif

namespace {
const Kernels kGeneric{generic::shift_update, generic::fold, generic::min_distances32, generic::whitened_distances, generic::whitened_distances32, generic::whiten_block, generic::push_block, "generic"};
#if defined(__x86_64__) && defined(LEMMSE_HAVE_AVX2_KERNELS)
const Kernels kAvx2{avx2::shift_update, avx2::fold, avx2::min_distances32, avx2::whitened_distances, avx2::whitened_distances32, avx2::whiten_block, avx2::push_block, "avx2"};
bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif
}  // namespace

std::vector<const Kernels*> kernel_variants() {
  std::vector<const Kernels*> v;
#if defined(__x86_64__) && defined(LEMMSE_HAVE_AVX2_KERNELS)
  if (cpu_has_avx2()) v.push_back(&kAvx2);
#endif
  v.push_back(&kGeneric);
  return v;
}

std::size_t window_scratch_size(int H, int W, int wh, int ww) { return generic::scratch_size(H, W, wh, ww); }

const Kernels& kernels() {
  static const Kernels* k = kernel_variants().front();
  return *k;
}
}  // namespace cpu
}  // namespace lemmse
