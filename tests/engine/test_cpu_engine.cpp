// The fast CPU engine against the fp64 reference: the accuracy bar of DESIGN.md §5 (PSNR ≥ 100 dB
// for σ ∈ [0.01, 1], ≥ 80 dB at σ = 0.001) on random and real images, every estimator and every
// diagonal pre-inverse; determinism across thread counts.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "engine/cpu_engine.hpp"
#include "engine/problem.hpp"
#include "engine/accuracy_bar.hpp"
#include "lemmse/datasets.hpp"
#include "lemmse/io.hpp"
#include "lemmse/metrics.hpp"
#include "support/skip.hpp"

using namespace lemmse;
using namespace lemmse_test;

namespace {
const FastRunner run_cpu = runner_for(Backend::cpu);
}  // namespace

TEST_CASE("CPU engine meets the accuracy bar on random images", "[engine][cpu]") {
  check_bar_on_random_images(run_cpu, Data::random_fp64);  // fp64 differences: no float32 allowance
}

TEST_CASE("CPU engine meets the accuracy bar on real images (P = 3 … 17)", "[engine][cpu][real]") {
  const auto sets = real_sets(40, 12);
  if (sets.empty()) LEMMSE_SKIP("neither dataset-fashion-mnist nor LEMMSE_DATA_DIR is available");
  for (const auto& [train, clean] : sets)
    for (int P : {3, 5, 7, 11, 17})  // P = 17, σ = 0.01 on CIFAR-10 needs the fp64 window sums
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
  const std::string v = cpu_engine_variant();
  CHECK((v == "avx512" || v == "avx2" || v == "generic"));
}

TEST_CASE("CPU engine top-k: the reference's keys, weights and order", "[engine][cpu][topk]") {
  // Keys agree with the reference's wherever the reference's logits are not near-tied (the
  // engine sums the same fp64 terms in another order); logits and weights agree closely.
  const ImageShape shape{2, 8, 9};
  Images train = random_images(37, shape, 221), clean = random_images(2, shape, 222);  // 3 slices, the last partial
  for (auto [problem, pre] : {std::pair<std::string, PreinverseKind>{"denoise", PreinverseKind::identity},
                              {"inpaint-box:3", PreinverseKind::mask},
                              {"inpaint-box:3", PreinverseKind::eps_mask}})
    for (EstimatorKind e : {EstimatorKind::lemmse, EstimatorKind::lmmse, EstimatorKind::emmse}) {
      ForwardOperator A = make_forward_operator(problem, shape, Compat::consistent);
      PreInverse B = make_preinverse(pre, A, Compat::consistent);
      Images y = make_measurements(clean, A, 0.2, 4);
      EstimatorSettings s = settings(e, 3, 0.2);
      s.topk = 6;
      s.threads = 2;
      std::vector<std::int64_t> ids(train.n);
      for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = std::int64_t(1000 + 3 * i);  // labels pass through
      EstimatorOutputs ref = run_estimator(s, Backend::reference, train, ids, A, B, y);
      EstimatorOutputs cpu = run_estimator(s, Backend::cpu, train, ids, A, B, y);
      REQUIRE(cpu.backend == Backend::cpu);
      const Problem pr = build_problem(s, train, A, B);
      INFO(to_string(e) << " " << problem << " B=" << to_string(pre));
      // fp64 distances summed in another order: ℓ = −D/2σ² + bias(n) agrees to rounding of D/2σ²
      check_topk(ref, cpu, y.n, shape.pixels(), s.topk, distance_topk_tol(pr, 1e-12));
    }
}

TEST_CASE("CPU engine top-k: every estimator and mask case, lists longer than the keys partly empty", "[engine][cpu][topk]") {
  check_float32_topk_sweep(
      [](const EstimatorSettings& s, const Images& train, const std::vector<std::int64_t>& ids, const ForwardOperator& A, const PreInverse& B,
         const Images& y) { return run_estimator(s, Backend::cpu, train, ids, A, B, y); },
      241, [](std::size_t i) { return std::int64_t(5000 + 2 * i); });
}

TEST_CASE("CPU engine top-k never lists an incompatible key (binary-mask strata, fewer compatible keys than k)", "[engine][cpu][topk]") {
  // Query pixels whose window pattern occurs at one position of each training image have 3
  // compatible keys (logit −inf elsewhere): their lists must hold those and stay empty after.
  const ImageShape shape{1, 8, 9};
  Images train = random_images(3, shape, 251), clean = random_images(1, shape, 252);
  ForwardOperator A = make_forward_operator("inpaint-box:3", shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::mask, A, Compat::consistent);
  Images y = make_measurements(clean, A, 0.2, 4);
  EstimatorSettings s = settings(EstimatorKind::lemmse, 3, 0.2);
  s.topk = 30;
  const EstimatorOutputs ref = run_estimator(s, Backend::reference, train, iota_ids(train.n), A, B, y);
  const EstimatorOutputs cpu = run_estimator(s, Backend::cpu, train, iota_ids(train.n), A, B, y);
  REQUIRE(cpu.backend == Backend::cpu);
  REQUIRE(std::count(ref.topk_image.begin(), ref.topk_image.end(), std::int64_t(-1)) > 0);  // (the case exists)
  check_topk(ref, cpu, y.n, shape.pixels(), s.topk, distance_topk_tol(build_problem(s, train, A, B), 1e-12));
  CHECK(cpu.topk_image == ref.topk_image);
}

TEST_CASE("CPU engine top-k is the same for any thread count", "[engine][cpu][topk][determinism]") {
  const ImageShape shape{1, 7, 7};
  Images train = random_images(50, shape, 231), clean = random_images(2, shape, 232);
  ForwardOperator A = make_forward_operator("denoise", shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::identity, A, Compat::consistent);
  Images y = make_measurements(clean, A, 0.3, 6);
  EstimatorSettings s = settings(EstimatorKind::lemmse, 3, 0.3);
  s.topk = 9;
  s.threads = 1;
  EstimatorOutputs a = run_estimator(s, Backend::cpu, train, iota_ids(train.n), A, B, y);
  for (int t : {2, 5}) {
    s.threads = t;
    EstimatorOutputs b = run_estimator(s, Backend::cpu, train, iota_ids(train.n), A, B, y);
    CHECK(a.topk_image == b.topk_image);
    CHECK(a.topk_position == b.topk_position);
    CHECK(std::memcmp(a.topk_weight.data(), b.topk_weight.data(), a.topk_weight.size() * 8) == 0);
  }
}

TEST_CASE("CPU engine top-k at small sigma (screened, floors shared between slices): the reference's lists, any thread count, the same estimate", "[engine][cpu][topk][determinism]") {
  // At σ = 0.02 lists reach below the running max − skip: a screen cut by the max alone loses
  // keys there.
  auto sets = real_sets(50, 40);
  const ImageShape shape{3, 9, 10};
  sets.emplace_back(random_images(45, shape, 261), random_images(1, shape, 262));
  check_topk_behind_screen(sets, "denoise", PreinverseKind::identity, {0.02, 0.1}, 1e-12, nullptr);
}
