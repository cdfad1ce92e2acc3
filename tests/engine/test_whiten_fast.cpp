// whiten_patches_fast (the whitened CPU engine's keys and queries) against whiten_patches (the
// reference engine's), and every compiled whiten_block variant against a scalar forward
// substitution: the same solution up to rounding, for windows up to P = 11 and images whose pixel
// count is not a multiple of the block.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "engine/accuracy_bar.hpp"
#include "engine/cpu_kernels.hpp"
#include "engine/problem.hpp"
#include "lemmse/datasets.hpp"

using namespace lemmse;
using namespace lemmse_test;

TEST_CASE("whiten_patches_fast equals whiten_patches up to rounding", "[engine][cpu][whitened]") {
  const ImageShape shape{3, 13, 11};  // 143 pixels: 4 whole blocks of 32 and a partial one
  Images train = random_images(3, shape, 591), clean = random_images(1, shape, 592);
  ForwardOperator A = make_forward_operator("blur-gaussian:1", shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::inverse, A, Compat::consistent);
  for (int P : {3, 5, 11}) {
    INFO("P=" << P);
    const EstimatorSettings s = settings(EstimatorKind::lemmse, P, 0.1);
    const Problem p = build_problem(s, train, A, B);
    std::vector<double> ref, got;
    for (std::size_t b = 0; b < train.n; ++b) {
      whiten_patches(p, p.keys(train).image(b), ref);
      whiten_patches_fast(p, p.keys(train).image(b), got);
      REQUIRE(got.size() == ref.size());
      const std::size_t L = std::size_t(p.C) * p.d;
      double worst = 0;
      for (std::size_t n = 0; n < p.HW; ++n) {
        double norm = 0, diff = 0;
        for (std::size_t e = 0; e < L; ++e) {
          norm += ref[n * L + e] * ref[n * L + e];
          diff += (got[n * L + e] - ref[n * L + e]) * (got[n * L + e] - ref[n * L + e]);
        }
        const double e = std::sqrt(diff / norm);
        if (!(e <= worst)) worst = e;  // (a NaN sticks)
      }
      CHECK(worst < 1e-12);
    }
  }
}

TEST_CASE("CPU whiten_block: every variant solves G z = x", "[engine][cpu][kernels][whitened]") {
  constexpr int NL = cpu::kWhitenLanes;
  std::mt19937 rng(31);
  std::uniform_real_distribution<double> U(-1.0, 1.0);
  for (int d : {1, 9, 121}) {
    std::vector<double> G(std::size_t(d) * d, 0.0), x(std::size_t(d) * NL);
    for (int r = 0; r < d; ++r)
      for (int k = 0; k <= r; ++k) G[std::size_t(r) * d + k] = k == r ? 1.0 + U(rng) * 0.5 + 0.6 : 0.3 * U(rng);
    for (auto& v : x) v = U(rng);
    for (const cpu::Kernels* K : cpu::kernel_variants()) {
      INFO(K->name << " d=" << d);
      std::vector<double> z(x.size(), std::nan(""));
      K->whiten_block(cpu::WhitenArgs{d, G.data(), x.data(), z.data()});
      double worst = 0;
      for (int q = 0; q < NL; ++q)
        for (int r = 0; r < d; ++r) {  // residual of row r: (G z)_r − x_r
          double gz = 0;
          for (int k = 0; k <= r; ++k) gz += G[std::size_t(r) * d + k] * z[std::size_t(k) * NL + q];
          const double e = std::fabs(gz - x[std::size_t(r) * NL + q]);
          if (!(e <= worst)) worst = e;  // (a NaN sticks)
        }
      CHECK(worst < 1e-12);
    }
  }
}
