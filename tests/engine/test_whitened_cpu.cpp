// The CPU engine of the whitened metric (inverse-filter pre-inverse) against the fp64 reference and
// the explicit Gaussian log-likelihood: the accuracy bar of DESIGN.md §5 on random and real images,
// top-k, equivariance, determinism across thread counts, rejection of a singular covariance.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <string>

#include "engine/accuracy_bar.hpp"
#include "engine/problem.hpp"
#include "engine/whitened_cpu.hpp"
#include "lemmse/datasets.hpp"
#include "lemmse/errors.hpp"
#include "lemmse/metrics.hpp"
#include "support/skip.hpp"
#include "support/scoped_env.hpp"

using namespace lemmse;
using namespace lemmse_test;

namespace {
const FastRunner run_cpu = runner_for(Backend::cpu);
}  // namespace

TEST_CASE("whitened CPU engine meets the accuracy bar on random images", "[engine][cpu][whitened]") {
  const ImageShape shape{3, 9, 10};
  Images train = random_images(20, shape, 501), clean = random_images(2, shape, 502);  // two slices, the second partial
  for (Compat cm : {Compat::consistent, Compat::reference})
    for (EstimatorKind e : {EstimatorKind::lemmse, EstimatorKind::lmmse})
      for (int P : {3, 5})
        for (double sigma : {0.001, 0.01, 0.1, 1.0})
          check_bar(run_cpu, train, clean, "blur-gaussian:1", PreinverseKind::inverse, cm, e, P, sigma, Data::random);
}

TEST_CASE("whitened CPU engine meets the accuracy bar on real images (P = 3 … 11)", "[engine][cpu][whitened][real]") {
  const auto sets = real_sets(16, 4);
  if (sets.empty()) LEMMSE_SKIP("neither dataset-fashion-mnist nor LEMMSE_DATA_DIR is available");
  for (const auto& [train, clean] : sets)
    for (int P : {3, 5, 11})
      for (double sigma : {0.001, 0.01, 0.5}) {
        if (P == 11 && train.shape.c == 3 && sigma != 0.01) continue;  // the reference's cost, not the engine's
        check_bar(run_cpu, train, clean, "blur-gaussian:1", PreinverseKind::inverse, Compat::consistent, EstimatorKind::lemmse, P, sigma);
      }
}

TEST_CASE("whitened CPU engine equals the explicit Gaussian log-likelihood on tiny images", "[engine][cpu][whitened]") {
  // The naive oracle solves S z = d for every pair (−½ dᵀ S⁻¹ d / σ²), with S built from the dense
  // matrix of B: no Cholesky, no whitening, no windows.
  const ImageShape shape{2, 6, 7};
  Images train = random_images(5, shape, 511), clean = random_images(1, shape, 512);
  for (int P : {3, 5})
    for (double sigma : {0.05, 0.5}) {
      ForwardOperator A = make_forward_operator("blur-gaussian:0.7", shape, Compat::consistent);
      PreInverse B = make_preinverse(PreinverseKind::inverse, A, Compat::consistent);
      Images y = make_measurements(clean, A, sigma, 3);
      EstimatorSettings s = settings(EstimatorKind::lemmse, P, sigma);
      EstimatorOutputs got = run_cpu(s, train, A, B, y);
      NaiveResult n = naive_estimate(EstimatorKind::lemmse, P, sigma, Compat::consistent, train, A, B, y.image(0));
      INFO("P=" << P << " σ=" << sigma);
      // The engine's weights are float32 exponentials (≤ 4 ulp): ~1e-7 relative, as in the window engine.
      CHECK(max_abs_diff(got.estimate.data.data(), n.estimate.data(), n.estimate.size()) < 1e-6);
      for (std::size_t m = 0; m < n.log_density.size(); ++m) REQUIRE(got.log_density[m] == Approx(n.log_density[m]).margin(1e-6));
    }
}

TEST_CASE("whitened CPU engine top-k: the reference's keys, logits and weights", "[engine][cpu][whitened][topk]") {
  const ImageShape shape{2, 8, 9};
  Images train = random_images(37, shape, 521), clean = random_images(2, shape, 522);  // 3 slices, the last partial
  for (EstimatorKind e : {EstimatorKind::lemmse, EstimatorKind::lmmse}) {
    ForwardOperator A = make_forward_operator("blur-gaussian:1", shape, Compat::consistent);
    PreInverse B = make_preinverse(PreinverseKind::inverse, A, Compat::consistent);
    Images y = make_measurements(clean, A, 0.2, 4);
    EstimatorSettings s = settings(e, 3, 0.2);
    s.topk = 6;
    s.threads = 2;
    std::vector<std::int64_t> ids(train.n);
    for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = std::int64_t(2000 + 7 * i);  // labels pass through
    EstimatorOutputs ref = run_estimator(s, Backend::reference, train, ids, A, B, y);
    EstimatorOutputs cpu = run_estimator(s, Backend::cpu, train, ids, A, B, y);
    REQUIRE(cpu.backend == Backend::cpu);
    INFO(to_string(e));
    check_topk(ref, cpu, y.n, shape.pixels(), s.topk, [](double l, std::int64_t) { return 1e-10 * (1 + std::fabs(l)); });  // both fp64
  }
}

TEST_CASE("whitened CPU engine: shifting the measurement shifts the estimate", "[engine][cpu][whitened][equivariance]") {
  const ImageShape shape{1, 8, 10};
  Images train = random_images(12, shape, 531), clean = random_images(1, shape, 532);
  ForwardOperator A = make_forward_operator("blur-gaussian:1", shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::inverse, A, Compat::consistent);
  Images y = make_measurements(clean, A, 0.1, 5);
  EstimatorSettings s = settings(EstimatorKind::lemmse, 5, 0.1);
  const Images a = shifted(run_cpu(s, train, A, B, y).estimate, 3, 7);
  const Images b = run_cpu(s, train, A, B, shifted(y, 3, 7)).estimate;
  CHECK(max_abs_diff(a.data.data(), b.data.data(), a.data.size()) < 1e-12);
}

TEST_CASE("whitened CPU engine results are bit-identical for any thread count", "[engine][cpu][whitened][determinism]") {
  const ImageShape shape{3, 7, 7};
  Images train = random_images(40, shape, 541), clean = random_images(2, shape, 542);
  ForwardOperator A = make_forward_operator("blur-gaussian:1", shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::inverse, A, Compat::consistent);
  Images y = make_measurements(clean, A, 0.1, 1);
  EstimatorSettings s = settings(EstimatorKind::lemmse, 3, 0.1);
  s.topk = 4;
  s.threads = 1;
  EstimatorOutputs a = run_estimator(s, Backend::cpu, train, iota_ids(train.n), A, B, y);
  for (int t : {2, 5}) {
    s.threads = t;
    EstimatorOutputs b = run_estimator(s, Backend::cpu, train, iota_ids(train.n), A, B, y);
    CHECK(std::memcmp(a.estimate.data.data(), b.estimate.data.data(), a.estimate.data.size() * 8) == 0);
    CHECK(std::memcmp(a.effective_count.data(), b.effective_count.data(), a.effective_count.size() * 8) == 0);
    CHECK(a.topk_position == b.topk_position);
  }
}

TEST_CASE("whitened CPU engine: each query image alone, or in groups of any size, gives the batch's bits",
          "[engine][cpu][whitened][determinism]") {
  const ImageShape shape{2, 7, 8};
  Images train = random_images(37, shape, 551), clean = random_images(3, shape, 552);  // 3 slices, the last partial
  ForwardOperator A = make_forward_operator("blur-gaussian:1", shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::inverse, A, Compat::consistent);
  Images y = make_measurements(clean, A, 0.1, 3);
  EstimatorSettings s = settings(EstimatorKind::lemmse, 3, 0.1);
  s.topk = 3;
  s.variance = true;
  s.threads = 2;
  const std::size_t CHW = shape.size(), HW = shape.pixels();
  const EstimatorOutputs all = run_estimator(s, Backend::cpu, train, iota_ids(train.n), A, B, y);
  auto same_image = [&](const EstimatorOutputs& o, std::size_t i, std::size_t j) {  // image i of `all`, image j of o
    CHECK(std::memcmp(all.estimate.image(i), o.estimate.image(j), CHW * 8) == 0);
    CHECK(std::memcmp(all.variance.image(i), o.variance.image(j), CHW * 8) == 0);
    CHECK(std::memcmp(&all.effective_count[i * HW], &o.effective_count[j * HW], HW * 8) == 0);
    const std::size_t nk = HW * std::size_t(s.topk);
    CHECK(std::equal(all.topk_position.begin() + long(i * nk), all.topk_position.begin() + long((i + 1) * nk), o.topk_position.begin() + long(j * nk)));
  };
  for (std::size_t i = 0; i < y.n; ++i) {
    Images one(1, y.shape);
    std::memcpy(one.image(0), y.image(i), CHW * 8);
    same_image(run_estimator(s, Backend::cpu, train, iota_ids(train.n), A, B, one), i, 0);
  }
  for (const char* g : {"1", "2"}) {
    lemmse_test::ScopedEnv env("LEMMSE_WHITENED_GROUP", g);
    const EstimatorOutputs grouped = run_estimator(s, Backend::cpu, train, iota_ids(train.n), A, B, y);
    for (std::size_t i = 0; i < y.n; ++i) same_image(grouped, i, i);
  }
  lemmse_test::ScopedEnv bad("LEMMSE_WHITENED_GROUP", "0");
  CHECK_THROWS_AS(run_estimator(s, Backend::cpu, train, iota_ids(train.n), A, B, y), InvalidArgument);
}

// The screen changes no bit (estimate, variance, effective count, log-density), with or without
// its projected first stage, on random and real images, from σ where it rules out nearly every key
// to σ where it rules out none; and each stage does rule keys out where it should (its
// statistics), so the comparison is not an empty one.
TEST_CASE("whitened CPU engine: the screen's two stages rule keys out and change no bit", "[engine][cpu][whitened][screen]") {
  std::vector<std::pair<Images, Images>> sets;
  sets.emplace_back(random_images(40, ImageShape{3, 9, 10}, 571), random_images(2, ImageShape{3, 9, 10}, 572));
  for (auto& real : real_sets(24, 2)) sets.push_back(std::move(real));
  for (const auto& [train, clean] : sets) {
    ForwardOperator A = make_forward_operator("blur-gaussian:1", clean.shape, Compat::consistent);
    PreInverse B = make_preinverse(PreinverseKind::inverse, A, Compat::consistent);
    for (int P : {3, 5})
      for (double sigma : {0.001, 0.01, 0.1, 0.5}) {
        INFO("shape " << clean.shape.c << "x" << clean.shape.h << "x" << clean.shape.w << " P=" << P << " σ=" << sigma);
        const Images y = make_measurements(clean, A, sigma, 5);
        EstimatorSettings s = settings(EstimatorKind::lemmse, P, sigma);
        s.variance = s.effective_count = true;
        s.threads = 2;
        const Problem p = build_problem(s, train, A, B);
        WhitenedScreenStats off;
        const EstimatorOutputs a = [&] {
          lemmse_test::ScopedEnv screen("LEMMSE_WHITENED_SCREEN", "0");
          return run_whitened_cpu(s, p, train, iota_ids(train.n), B, y, &off);
        }();
        CHECK(off.screened_pairs == 0);
        for (const char* m : {"0", "1", "4"}) {  // projected first stage: none, one column per channel, the default
          INFO("projection columns " << m);
          WhitenedScreenStats on;
          const EstimatorOutputs b = [&] {
            lemmse_test::ScopedEnv columns("LEMMSE_WHITENED_PROJECTION", m);
            return run_whitened_cpu(s, p, train, iota_ids(train.n), B, y, &on);
          }();
          CHECK(on.screened_pairs > 0);
          CHECK(on.exact_pairs <= on.float32_pairs);
          CHECK(on.float32_pairs <= on.screened_pairs);
          if (std::string(m) == "0") CHECK(on.float32_pairs == on.screened_pairs);
          // (Whitened distances are small here — the inverse filter's noise covariance is large —
          // so at σ ≥ 0.01 most keys of these small sets stay live; each slice's first image is.)
          if (sigma == 0.001) {
            CHECK(on.exact_pairs < 0.5 * on.screened_pairs);
            if (std::string(m) == "4") CHECK(on.float32_pairs < 0.75 * on.screened_pairs);
          }
          CHECK(std::memcmp(a.estimate.data.data(), b.estimate.data.data(), a.estimate.data.size() * 8) == 0);
          CHECK(std::memcmp(a.variance.data.data(), b.variance.data.data(), a.variance.data.size() * 8) == 0);
          CHECK(std::memcmp(a.effective_count.data(), b.effective_count.data(), a.effective_count.size() * 8) == 0);
          CHECK(std::memcmp(a.log_density.data(), b.log_density.data(), a.log_density.size() * 8) == 0);
        }
      }
  }
  const ImageShape shape{1, 6, 6};
  Images train = random_images(4, shape, 573), y = random_images(1, shape, 574);
  ForwardOperator A = make_forward_operator("blur-gaussian:1", shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::inverse, A, Compat::consistent);
  const EstimatorSettings s = settings(EstimatorKind::lemmse, 3, 0.1);
  {
    lemmse_test::ScopedEnv screen("LEMMSE_WHITENED_SCREEN", "yes");
    CHECK_THROWS_AS(run_estimator(s, Backend::cpu, train, iota_ids(train.n), A, B, y), InvalidArgument);
  }
  for (const char* bad : {"-1", "four", ""}) {
    lemmse_test::ScopedEnv columns("LEMMSE_WHITENED_PROJECTION", bad);
    CHECK_THROWS_AS(run_estimator(s, Backend::cpu, train, iota_ids(train.n), A, B, y), InvalidArgument);
  }
}

TEST_CASE("whitened metric: a singular patch covariance is rejected with a clear message", "[engine][whitened][errors]") {
  // A pre-inverse whose noise autocorrelation is constant makes S = 11ᵀ (rank one): no whitening exists.
  const ImageShape shape{1, 6, 6};
  Images train = random_images(3, shape, 551), clean = random_images(1, shape, 552);
  ForwardOperator A = make_forward_operator("blur-gaussian:1", shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::inverse, A, Compat::consistent);
  std::fill(B.noise_autocorr.begin(), B.noise_autocorr.end(), 1.0);
  Images y = make_measurements(clean, A, 0.1, 2);
  EstimatorSettings s = settings(EstimatorKind::lemmse, 3, 0.1);
  for (Backend b : {Backend::cpu, Backend::reference, Backend::automatic}) {
    try {
      run_estimator(s, b, train, iota_ids(train.n), A, B, y);
      FAIL("a singular covariance was accepted");
    } catch (const NumericalError& e) {
      CHECK(std::string(e.what()).find("not positive definite") != std::string::npos);
    }
  }
}

TEST_CASE("user-supplied filter pre-inverse: the identity filter is the plain metric, others meet the bar",
          "[engine][cpu][whitened][filter]") {
  const ImageShape shape{2, 9, 8};
  Images train = random_images(20, shape, 561), clean = random_images(2, shape, 562);
  ForwardOperator A = make_forward_operator("blur-gaussian:1", shape, Compat::consistent);
  Images y = make_measurements(clean, A, 0.1, 3);
  EstimatorSettings s = settings(EstimatorKind::lemmse, 3, 0.1);
  // B = I given as a filter: whitening with S = I is the plain distance between y and A x.
  const PreInverse id_filter = make_filter_preinverse(A, {1.0}, 1, 1, Compat::consistent);
  const PreInverse id = make_preinverse(PreinverseKind::identity, A, Compat::consistent);
  REQUIRE(build_problem(s, train, A, id_filter).metric == Metric::whitened);
  const EstimatorOutputs a = run_estimator(s, Backend::reference, train, iota_ids(train.n), A, id_filter, y);
  const EstimatorOutputs b = run_estimator(s, Backend::reference, train, iota_ids(train.n), A, id, y);
  const EstimatorOutputs c = run_cpu(s, train, A, id_filter, y);
  CHECK(max_abs_diff(a.estimate.data.data(), b.estimate.data.data(), a.estimate.data.size()) < 1e-12);
  CHECK(psnr(b.estimate.data.data(), c.estimate.data.data(), c.estimate.data.size()) >= 100);
  // a sharpening-free invertible kernel: the CPU whitened engine against the reference
  const PreInverse B = make_filter_preinverse(A, {0, 1, 0, 1, 8, 1, 0, 1, 0}, 3, 3, Compat::consistent);
  for (double sigma : {0.01, 0.1}) {
    s.sigma = sigma;
    const EstimatorOutputs ref = run_estimator(s, Backend::reference, train, iota_ids(train.n), A, B, y);
    const EstimatorOutputs got = run_cpu(s, train, A, B, y);
    for (std::size_t i = 0; i < y.n; ++i) CHECK(psnr(ref.estimate.image(i), got.estimate.image(i), shape.size()) >= 100);
  }
}

TEST_CASE("whitened CPU engine top-k behind the screen (floors shared between slices): the reference's lists, any thread count, the same estimate", "[engine][cpu][whitened][topk][determinism]") {
  // At σ = 0.002 the lists of CIFAR-10 pixels reach below the running max − skip (a screen cut by
  // the max alone loses keys there); the screen turned off gives the same lists.
  auto sets = real_sets(36, 17);
  const ImageShape shape{2, 8, 9};
  sets.emplace_back(random_images(37, shape, 551), random_images(1, shape, 552));
  check_topk_behind_screen(sets, "blur-gaussian:1", PreinverseKind::inverse, {0.002, 0.02}, 1e-10, "LEMMSE_WHITENED_SCREEN");
}
