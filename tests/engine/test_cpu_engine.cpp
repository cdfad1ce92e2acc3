// The fast CPU engine against the fp64 reference: the accuracy bar of DESIGN.md §5 (PSNR ≥ 100 dB
// for σ ∈ [0.01, 1], ≥ 80 dB at σ = 0.001) on random and real images, every estimator and every
// diagonal pre-inverse; determinism across thread counts.
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "engine/cpu_engine.hpp"
#include "engine/accuracy_bar.hpp"
#include "lemmse/datasets.hpp"
#include "lemmse/io.hpp"
#include "lemmse/metrics.hpp"
#include "support/skip.hpp"

using namespace lemmse;
using namespace lemmse_test;

namespace {
lemmse::EstimatorOutputs run_cpu(const EstimatorSettings& s, const Images& train, const ForwardOperator& A,
                                 const PreInverse& B, const Images& y) {
  EstimatorOutputs out = run_estimator(s, Backend::cpu, train, iota_ids(train.n), A, B, y);
  REQUIRE(out.backend == Backend::cpu);
  return out;
}
}  // namespace

TEST_CASE("CPU engine meets the accuracy bar on random images", "[engine][cpu]") {
  const ImageShape shape{3, 9, 10};
  Images train = random_images(20, shape, 201), clean = random_images(2, shape, 202);
  for (const auto& [problem, pre] : window_cases())
    for (Compat cm : {Compat::consistent, Compat::reference})
      for (EstimatorKind e : {EstimatorKind::lemmse, EstimatorKind::lmmse, EstimatorKind::emmse, EstimatorKind::mmse})
        for (double sigma : {0.001, 0.01, 0.1, 1.0}) check_bar(run_cpu, train, clean, problem, pre, cm, e, 5, sigma, Data::random);
}

TEST_CASE("CPU engine meets the accuracy bar on real images (P = 3 … 11)", "[engine][cpu][real]") {
  const auto sets = real_sets(40, 12);
  if (sets.empty()) LEMMSE_SKIP("neither dataset-fashion-mnist nor LEMMSE_DATA_DIR is available");
  for (const auto& [train, clean] : sets)
    for (int P : {3, 5, 11})
      for (double sigma : {0.01, 0.05, 0.2}) {
        check_bar(run_cpu, train, clean, "denoise", PreinverseKind::identity, Compat::consistent, EstimatorKind::lemmse, P, sigma);
        if (P == 5) check_bar(run_cpu, train, clean, "inpaint-box:15", PreinverseKind::eps_mask, Compat::consistent, EstimatorKind::lemmse, P, sigma);
      }
}

TEST_CASE("CPU engine results are bit-identical for any thread count", "[engine][cpu][determinism]") {
  const ImageShape shape{1, 8, 8};
  Images train = random_images(40, shape, 211), clean = random_images(3, shape, 212);
  ForwardOperator A = make_forward_operator("denoise", shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::identity, A, Compat::consistent);
  Images y = make_measurements(clean, A, 0.1, 1);
  EstimatorSettings s = settings(EstimatorKind::lemmse, 3, 0.1);
  s.threads = 1;
  EstimatorOutputs a = run_estimator(s, Backend::cpu, train, iota_ids(train.n), A, B, y);
  for (int t : {2, 3, 7}) {
    s.threads = t;
    EstimatorOutputs b = run_estimator(s, Backend::cpu, train, iota_ids(train.n), A, B, y);
    CHECK(std::memcmp(a.estimate.data.data(), b.estimate.data.data(), a.estimate.data.size() * 8) == 0);
    CHECK(std::memcmp(a.log_density.data(), b.log_density.data(), a.log_density.size() * 8) == 0);
  }
  CHECK((std::string(cpu_engine_variant()) == "avx2" || std::string(cpu_engine_variant()) == "generic"));
}
