// Structural properties: estimators that must agree do, equivariance, top-k, determinism.
#include <catch2/catch.hpp>
#include <cstring>

#include "engine/engine_helpers.hpp"
#include "engine/problem.hpp"
#include "lemmse/errors.hpp"

using namespace lemmse;
using namespace lemmse_test;

TEST_CASE("on a 9×9 image, LE-MMSE with P = 9 equals E-MMSE (every pre-inverse)", "[engine][properties]") {
  const ImageShape shape{1, 9, 9};
  Images train = random_images(3, shape, 41), clean = random_images(1, shape, 42);
  struct Spec {
    std::string problem;
    PreinverseKind pre;
  };
  for (Compat cm : {Compat::consistent, Compat::reference})
    for (const Spec& sp : {Spec{"denoise", PreinverseKind::identity}, Spec{"inpaint-box:3", PreinverseKind::mask},
                           Spec{"inpaint-box:3", PreinverseKind::eps_mask}, Spec{"blur-gaussian:0.5", PreinverseKind::inverse},
                           Spec{"blur-disk:1", PreinverseKind::identity}}) {
      ForwardOperator A = make_forward_operator(sp.problem, shape, cm);
      PreInverse B = make_preinverse(sp.pre, A, cm);
      Images y = make_measurements(clean, A, 0.2, 5);
      EstimatorOutputs le = estimate(settings(EstimatorKind::lemmse, 9, 0.2), train, A, B, y);
      EstimatorOutputs e = estimate(settings(EstimatorKind::emmse, 0, 0.2), train, A, B, y);
      INFO(sp.problem << " B=" << to_string(sp.pre) << " compat=" << to_string(cm));
      const double tol = sp.pre == PreinverseKind::inverse ? 1e-6 : 1e-11;
      CHECK(max_abs_diff(le.estimate.data.data(), e.estimate.data.data(), y.shape.size()) < tol);
    }
}

TEST_CASE("on an odd-sized image, L-MMSE with P = image side equals MMSE", "[engine][properties]") {
  const ImageShape shape{3, 7, 7};
  Images train = random_images(5, shape, 43), clean = random_images(2, shape, 44);
  ForwardOperator A = make_forward_operator("blur-gaussian:0.8", shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::identity, A, Compat::consistent);
  Images y = make_measurements(clean, A, 0.1, 1);
  EstimatorOutputs l = estimate(settings(EstimatorKind::lmmse, 7, 0.1), train, A, B, y);
  EstimatorOutputs m = estimate(settings(EstimatorKind::mmse, 0, 0.1), train, A, B, y);
  CHECK(max_abs_diff(l.estimate.data.data(), m.estimate.data.data(), l.estimate.data.size()) < 1e-12);
}

TEST_CASE("translation equivariance: shifting y shifts the estimate", "[engine][properties]") {
  const ImageShape shape{2, 8, 10};
  Images train = random_images(4, shape, 51), clean = random_images(1, shape, 52);
  for (const std::string problem : {"denoise", "blur-gaussian:1"}) {
    ForwardOperator A = make_forward_operator(problem, shape, Compat::consistent);
    PreInverse B = make_preinverse(PreinverseKind::identity, A, Compat::consistent);
    Images y = make_measurements(clean, A, 0.15, 3);
    Images ys = shifted(y, 3, 7);
    for (EstimatorKind e : {EstimatorKind::lemmse, EstimatorKind::emmse}) {
      EstimatorOutputs a = estimate(settings(e, 5, 0.15), train, A, B, y);
      EstimatorOutputs b = estimate(settings(e, 5, 0.15), train, A, B, ys);
      Images as = shifted(a.estimate, 3, 7);
      INFO(problem << " " << to_string(e));
      CHECK(max_abs_diff(as.data.data(), b.estimate.data.data(), as.data.size()) < 1e-12);
    }
    // L-MMSE is position-specific: shifting y does not simply shift its output.
    EstimatorOutputs a = estimate(settings(EstimatorKind::lmmse, 5, 0.15), train, A, B, y);
    EstimatorOutputs b = estimate(settings(EstimatorKind::lmmse, 5, 0.15), train, A, B, ys);
    Images as = shifted(a.estimate, 3, 7);
    CHECK(max_abs_diff(as.data.data(), b.estimate.data.data(), as.data.size()) > 1e-3);
  }
}

TEST_CASE("top-k keys: sorted, normalised, consistent with the log-density", "[engine][topk]") {
  const ImageShape shape{1, 6, 6};
  Images train = random_images(3, shape, 61), clean = random_images(1, shape, 62);
  ForwardOperator A = make_forward_operator("denoise", shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::identity, A, Compat::consistent);
  Images y = make_measurements(clean, A, 0.2, 9);
  EstimatorSettings s = settings(EstimatorKind::lemmse, 3, 0.2);
  s.topk = int(3 * 36);  // every key
  s.variance = true;
  EstimatorOutputs all = estimate(s, train, A, B, y);
  s.topk = 4;
  EstimatorOutputs few = estimate(s, train, A, B, y);
  NaiveResult ref = naive_estimate(EstimatorKind::lemmse, 3, 0.2, Compat::consistent, train, A, B, y.image(0));
  const std::size_t HW = 36;
  for (std::size_t m = 0; m < HW; ++m) {
    double wsum = 0, mean = 0;
    for (int k = 0; k < s.topk * 27; ++k) {
      const std::size_t o = std::size_t(k) * HW + m;
      wsum += all.topk_weight[o];
      mean += all.topk_weight[o] * train.image(std::size_t(all.topk_image[o]))[all.topk_position[o]];
      if (k > 0) REQUIRE(all.topk_log_weight[o] <= all.topk_log_weight[o - HW]);
    }
    REQUIRE(wsum == Approx(1.0).epsilon(1e-12));
    REQUIRE(mean == Approx(all.estimate.data[m]).epsilon(1e-12));  // the keys' weighted values give the estimate
    REQUIRE(all.topk_log_weight[m] == Approx(ref.max_logit[m]).epsilon(1e-12));
    for (int k = 0; k < 4; ++k) {
      const std::size_t o = std::size_t(k) * HW + m;
      REQUIRE(few.topk_log_weight[o] == all.topk_log_weight[o]);
      REQUIRE(few.topk_image[o] == all.topk_image[o]);
      REQUIRE(few.topk_position[o] == all.topk_position[o]);
    }
  }
  // More slots than keys: the rest is marked empty.
  s.topk = 200;
  EstimatorOutputs over = estimate(s, train, A, B, y);
  CHECK(over.topk_image[std::size_t(199) * HW] == -1);
  CHECK(std::isinf(over.topk_log_weight[std::size_t(199) * HW]));
}

TEST_CASE("results are bit-identical for any thread count", "[engine][determinism]") {
  const ImageShape shape{3, 9, 9};
  Images train = random_images(6, shape, 71), clean = random_images(3, shape, 72);
  ForwardOperator A = make_forward_operator("inpaint-box:3", shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::mask, A, Compat::consistent);
  Images y = make_measurements(clean, A, 0.1, 2);
  EstimatorSettings s = settings(EstimatorKind::lemmse, 5, 0.1);
  s.variance = s.effective_count = true;
  s.topk = 5;
  s.threads = 1;
  EstimatorOutputs a = estimate(s, train, A, B, y);
  for (int t : {2, 5, 16}) {
    s.threads = t;
    EstimatorOutputs b = estimate(s, train, A, B, y);
    CHECK(std::memcmp(a.estimate.data.data(), b.estimate.data.data(), a.estimate.data.size() * 8) == 0);
    CHECK(std::memcmp(a.variance.data.data(), b.variance.data.data(), a.variance.data.size() * 8) == 0);
    CHECK(std::memcmp(a.log_density.data(), b.log_density.data(), a.log_density.size() * 8) == 0);
    CHECK(a.topk_position == b.topk_position);
  }
}

TEST_CASE("binary-mask strata: a random mask makes physics-aware LE-MMSE position-specific", "[engine][mask]") {
  // ESTIMATORS.md §5.6: with unique mask patterns per position, S(m) = {m}, so LE-MMSE with
  // B = mask equals L-MMSE with B = mask.
  const ImageShape shape{1, 12, 12};
  Images train = random_images(4, shape, 81), clean = random_images(1, shape, 82);
  ForwardOperator A = make_forward_operator("inpaint-random:30", shape, Compat::consistent, 5);
  PreInverse B = make_preinverse(PreinverseKind::mask, A, Compat::consistent);
  Images y = make_measurements(clean, A, 0.1, 4);
  EstimatorOutputs le = estimate(settings(EstimatorKind::lemmse, 5, 0.1), train, A, B, y);
  EstimatorOutputs l = estimate(settings(EstimatorKind::lmmse, 5, 0.1), train, A, B, y);
  CHECK(max_abs_diff(le.estimate.data.data(), l.estimate.data.data(), le.estimate.data.size()) < 1e-12);
}

TEST_CASE("bad estimator inputs are rejected with clear messages", "[engine][errors]") {
  const ImageShape shape{1, 6, 6};
  Images train = random_images(2, shape, 91), y = random_images(1, shape, 92);
  ForwardOperator A = make_forward_operator("denoise", shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::identity, A, Compat::consistent);
  EstimatorSettings s;
  s.patch = 4;
  CHECK_THROWS_WITH(estimate(s, train, A, B, y), Catch::Contains("odd"));
  s.patch = 7;
  CHECK_THROWS_WITH(estimate(s, train, A, B, y), Catch::Contains("larger than"));
  s.patch = 3;
  for (double bad : {0.0, -1.0, double(NAN), double(INFINITY)}) {
    s.sigma = bad;
    CHECK_THROWS_WITH(estimate(s, train, A, B, y), Catch::Contains("--sigma"));
  }
  s.sigma = 0.1;
  Images ny = y;
  ny.data[3] = NAN;
  CHECK_THROWS_WITH(estimate(s, train, A, B, ny), Catch::Contains("NaN"));
  Images rgb = random_images(1, ImageShape{3, 6, 6}, 1);
  CHECK_THROWS_WITH(estimate(s, train, A, B, rgb), Catch::Contains("training images are"));
  CHECK_THROWS_WITH(estimate(s, Images(0, shape), A, B, y), Catch::Contains("empty"));
  s.estimator = EstimatorKind::lmmse;  // the whitened metric's l-mmse: refused by the CUDA engine whether or not a device is present
  ForwardOperator blur = make_forward_operator("blur-gaussian:1", shape, Compat::consistent);
  PreInverse inv = make_preinverse(PreinverseKind::inverse, blur, Compat::consistent);
  CHECK_THROWS_AS(run_estimator(s, Backend::cuda, train, iota_ids(2), blur, inv, y), Unsupported);
}

TEST_CASE("keys B A x: the training images themselves exactly when A and B are identities", "[engine][problem]") {
  const ImageShape shape{3, 8, 7};
  const Images train = random_images(4, shape, 91);
  struct Case {
    const char* problem;
    PreinverseKind b;
    EstimatorKind e;
    bool alias;
  };
  for (const Case& c : {Case{"denoise", PreinverseKind::identity, EstimatorKind::lemmse, true},
                        Case{"denoise", PreinverseKind::identity, EstimatorKind::mmse, true},
                        Case{"inpaint-box:3", PreinverseKind::identity, EstimatorKind::lemmse, false},
                        Case{"inpaint-box:3", PreinverseKind::mask, EstimatorKind::lemmse, false},
                        Case{"inpaint-box:3", PreinverseKind::eps_mask, EstimatorKind::lemmse, false},
                        Case{"blur-gaussian:1", PreinverseKind::identity, EstimatorKind::lemmse, false},
                        Case{"blur-gaussian:1", PreinverseKind::inverse, EstimatorKind::mmse, false},
                        Case{"blur-gaussian:1", PreinverseKind::inverse, EstimatorKind::lemmse, false}}) {
    INFO(c.problem << " " << to_string(c.b) << " " << to_string(c.e));
    const ForwardOperator A = make_forward_operator(c.problem, shape, Compat::consistent);
    const PreInverse B = make_preinverse(c.b, A, Compat::consistent);
    const Problem p = build_problem(settings(c.e, 3, 0.1), train, A, B);
    CHECK(p.keys_are_train == c.alias);
    CHECK(p.ntrain == train.n);
    const Images& k = p.keys(train);
    CHECK((&k == &train) == c.alias);
    CHECK(p.own_keys.data.empty() == c.alias);
    // Either way the keys are B A x (the whole-window inverse filter compares y with A x itself).
    Images want = A.apply(train);
    const bool whole_inverse = c.e == EstimatorKind::mmse && c.b == PreinverseKind::inverse;
    if (!whole_inverse)
      for (std::size_t i = 0; i < want.n; ++i) B.apply(want.image(i), want.image(i), shape.c);
    REQUIRE(k.n == train.n);
    CHECK(k.data == want.data);
  }
}
