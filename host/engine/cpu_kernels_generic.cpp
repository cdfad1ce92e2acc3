// Baseline x86-64 (SSE2) build of the CPU engine's loops, and the run-time choice of variant.
#define LEMMSE_KERNEL_NS generic
#include "engine/cpu_kernels.inc"

#include <cstdlib>
#include <string>

#include "lemmse/errors.hpp"

namespace lemmse {
namespace cpu {
// The entry points every variant's namespace defines (cpu_kernels.inc).
#define LEMMSE_DECLARE_KERNELS(ns)                                                    \
  namespace ns {                                                                      \
  void shifts_update(const AccState&, const ShiftArgs&, const KeyImage&, int, int, int); \
  void fold(const AccState&, bool);                                                   \
  void min_distances32(const ShiftArgs&, const KeyImage&, int, int, float*, float*);  \
  void whitened_distances(const WhitenedDistanceArgs&);                               \
  std::size_t whitened_distances32(const WhitenedDistance32Args&);                           \
  void whiten_block(const WhitenArgs&);                                               \
  void push_block(SoftmaxAcc<double>&, const BlockArgs&);                             \
  std::size_t keep_live_panels(const float*, std::size_t, float, std::uint8_t*);      \
  }
#define LEMMSE_KERNEL_TABLE(ns) \
  Kernels {                    \
    ns::shifts_update, ns::fold, ns::min_distances32, ns::whitened_distances, ns::whitened_distances32, ns::whiten_block, ns::push_block, \
        ns::keep_live_panels, #ns                                                                                                        \
  }
#if defined(__x86_64__) && defined(LEMMSE_HAVE_AVX2_KERNELS)
LEMMSE_DECLARE_KERNELS(avx2)
#endif
#if defined(__x86_64__) && defined(LEMMSE_HAVE_AVX512_KERNELS)
LEMMSE_DECLARE_KERNELS(avx512)
#endif

namespace {
const Kernels kGeneric = LEMMSE_KERNEL_TABLE(generic);
#if defined(__x86_64__) && defined(LEMMSE_HAVE_AVX2_KERNELS)
const Kernels kAvx2 = LEMMSE_KERNEL_TABLE(avx2);
bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif
#if defined(__x86_64__) && defined(LEMMSE_HAVE_AVX512_KERNELS)
const Kernels kAvx512 = LEMMSE_KERNEL_TABLE(avx512);
bool cpu_has_avx512() {
  __builtin_cpu_init();
  return cpu_has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
}
#endif
}  // namespace

std::vector<const Kernels*> kernel_variants() {
  std::vector<const Kernels*> v;
#if defined(__x86_64__) && defined(LEMMSE_HAVE_AVX512_KERNELS)
  if (cpu_has_avx512()) v.push_back(&kAvx512);
#endif
#if defined(__x86_64__) && defined(LEMMSE_HAVE_AVX2_KERNELS)
  if (cpu_has_avx2()) v.push_back(&kAvx2);
#endif
  v.push_back(&kGeneric);
  return v;
}

std::size_t window_scratch_size(int H, int W, int wh, int ww) { return generic::scratch_size(H, W, wh, ww); }

const Kernels& kernel_variant(const std::string& name) {
  const std::vector<const Kernels*> v = kernel_variants();
  if (name.empty()) return *v.front();
  std::string have;
  for (const Kernels* k : v) {
    if (name == k->name) return *k;
    have += std::string(have.empty() ? "" : ", ") + k->name;
  }
  throw InvalidArgument("LEMMSE_CPU_KERNELS='" + name + "' is not a CPU kernel variant this build runs on this CPU (it runs: " + have + ")");
}

const Kernels& kernels() {
  // (A name that throws leaves the static unset: the next call throws again.)
  static const Kernels* k = [] {
    const char* env = std::getenv("LEMMSE_CPU_KERNELS");
    return &kernel_variant(env ? env : "");
  }();
  return *k;
}
}  // namespace cpu
}  // namespace lemmse
