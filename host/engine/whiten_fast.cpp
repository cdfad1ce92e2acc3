// whiten_patches through the CPU kernels' whiten_block (AVX2 + FMA where the CPU has them): the
// whitened CPU engine's keys and queries. The patches of kWhitenLanes pixels are gathered element-
// major, solved together, and scattered back to the HW × C·d layout of whiten_patches.
#include <algorithm>

#include "engine/cpu_kernels.hpp"
#include "engine/problem.hpp"

namespace lemmse {
void whiten_patches_fast(const Problem& p, const double* img, std::vector<double>& out) {
  constexpr std::size_t NL = cpu::kWhitenLanes;
  const cpu::Kernels& K = cpu::kernels();
  const int d = p.d, C = p.C;
  const std::size_t HW = p.HW, D = std::size_t(d);
  out.resize(HW * std::size_t(C) * D);
  std::vector<std::size_t> at(D * NL);  // pixel index of patch element r of lane q: at[r·NL + q]
  std::vector<double> x(D * NL), z(D * NL);
  for (std::size_t n0 = 0; n0 < HW; n0 += NL) {
    const std::size_t nv = std::min(NL, HW - n0);
    for (std::size_t q = 0; q < NL; ++q) patch_pixels(p, n0 + std::min(q, nv - 1), &at[q], NL);  // (lanes past the image repeat its last pixel)
    for (int c = 0; c < C; ++c) {
      const double* plane = img + std::size_t(c) * HW;
      for (std::size_t e = 0; e < D * NL; ++e) x[e] = plane[at[e]];
      K.whiten_block(cpu::WhitenArgs{d, p.chol.data(), x.data(), z.data()});
      for (std::size_t q = 0; q < nv; ++q) {
        double* o = &out[((n0 + q) * std::size_t(C) + std::size_t(c)) * D];
        for (std::size_t r = 0; r < D; ++r) o[r] = z[r * NL + q];
      }
    }
  }
}

}  // namespace lemmse
