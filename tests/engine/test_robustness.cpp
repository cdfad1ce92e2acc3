// Numerical robustness: extreme σ, constant and duplicated images, fully masked images, sizes
// from 1×1 to 256×256, C = 1 and 3. Finite results that match the brute force, or a clear refusal.
#include <catch2/catch.hpp>

#include "engine/engine_helpers.hpp"
#include "lemmse/errors.hpp"

using namespace lemmse;
using namespace lemmse_test;

namespace {
bool all_finite(const std::vector<double>& v) {
  for (double x : v)
    if (!std::isfinite(x)) return false;
  return true;
}
}  // namespace

TEST_CASE("extreme σ from 1e-4 to 10: finite and equal to the brute force", "[engine][robust]") {
  const ImageShape shape{3, 5, 6};
  Images train = random_images(3, shape, 101), clean = random_images(1, shape, 102);
  struct Spec {
    std::string problem;
    PreinverseKind pre;
  };
  for (const Spec& sp : {Spec{"denoise", PreinverseKind::identity}, Spec{"inpaint-box:3", PreinverseKind::mask},
                         Spec{"inpaint-box:3", PreinverseKind::eps_mask}, Spec{"blur-gaussian:0.6", PreinverseKind::inverse}})
    for (double sigma : {1e-4, 1e-3, 1e-2, 1.0, 10.0}) {
      ForwardOperator A = make_forward_operator(sp.problem, shape, Compat::consistent);
      PreInverse B = make_preinverse(sp.pre, A, Compat::consistent);
      Images y = make_measurements(clean, A, sigma, 3);
      EstimatorOutputs out = estimate(settings(EstimatorKind::lemmse, 3, sigma), train, A, B, y);
      INFO(sp.problem << " B=" << to_string(sp.pre) << " σ=" << sigma);
      REQUIRE(all_finite(out.estimate.data));
      REQUIRE(all_finite(out.variance.data));
      REQUIRE(all_finite(out.log_density));
      REQUIRE(all_finite(out.effective_count));
      NaiveResult ref = naive_estimate(EstimatorKind::lemmse, 3, sigma, Compat::consistent, train, A, B, y.image(0));
      CHECK(max_abs_diff(out.estimate.data.data(), ref.estimate.data(), y.shape.size()) < 1e-9);
      for (std::size_t m = 0; m < y.shape.pixels(); ++m)
        REQUIRE(out.log_density[m] == Approx(ref.log_density[m]).epsilon(1e-10));
    }
}

TEST_CASE("constant images: zero distances, the exact constant, zero variance", "[engine][robust]") {
  const ImageShape shape{1, 6, 6};
  Images train(3, shape), y(1, shape);
  std::fill(train.data.begin(), train.data.end(), 0.25);
  std::fill(y.data.begin(), y.data.end(), 0.25);
  ForwardOperator A = make_forward_operator("denoise", shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::identity, A, Compat::consistent);
  for (EstimatorKind e : {EstimatorKind::lemmse, EstimatorKind::emmse, EstimatorKind::mmse, EstimatorKind::lmmse}) {
    EstimatorOutputs out = estimate(settings(e, 3, 0.01), train, A, B, y);
    for (double v : out.estimate.data) REQUIRE(v == 0.25);
    for (double v : out.variance.data) REQUIRE(v == 0.0);
    const bool shifts = e == EstimatorKind::lemmse || e == EstimatorKind::emmse;
    REQUIRE(out.effective_count[0] == Approx(shifts ? 3.0 * 36 : 3.0));
  }
}

TEST_CASE("duplicated training images change nothing but the weights' count", "[engine][robust]") {
  const ImageShape shape{3, 6, 6};
  Images one = random_images(1, shape, 111), y = random_images(1, shape, 112);
  Images three(3, shape);
  for (int k = 0; k < 3; ++k) std::copy(one.data.begin(), one.data.end(), three.image(k));
  ForwardOperator A = make_forward_operator("denoise", shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::identity, A, Compat::consistent);
  EstimatorSettings s = settings(EstimatorKind::lemmse, 3, 0.05);
  s.topk = 3;
  EstimatorOutputs a = estimate(s, one, A, B, y), b = estimate(s, three, A, B, y);
  CHECK(max_abs_diff(a.estimate.data.data(), b.estimate.data.data(), a.estimate.data.size()) < 1e-14);
  for (std::size_t m = 0; m < 36; ++m) {
    REQUIRE(b.log_density[m] == Approx(a.log_density[m] + std::log(3.0)).epsilon(1e-13));
    // ties between the copies are ranked by image index
    REQUIRE(b.topk_log_weight[m] == b.topk_log_weight[36 + m]);
    REQUIRE(b.topk_image[m] == 0);
    REQUIRE(b.topk_image[36 + m] == 1);
  }
}

TEST_CASE("a fully masked image: every pre-inverse gives finite, sensible estimates", "[engine][robust]") {
  const ImageShape shape{3, 7, 7};
  Images train = random_images(3, shape, 121), clean = random_images(1, shape, 122);
  std::vector<double> chan_mean(3, 0.0);
  for (std::size_t b = 0; b < 3; ++b)
    for (std::size_t k = 0; k < shape.size(); ++k) chan_mean[k / 49] += train.image(b)[k] / (3.0 * 49);
  for (Compat cm : {Compat::consistent, Compat::reference})
    for (PreinverseKind pre : {PreinverseKind::identity, PreinverseKind::mask, PreinverseKind::eps_mask}) {
      ForwardOperator A = make_forward_operator("inpaint-box:7", shape, cm);  // nothing observed
      PreInverse B = make_preinverse(pre, A, cm);
      Images y = make_measurements(clean, A, 0.1, 1);
      EstimatorOutputs out = estimate(settings(EstimatorKind::lemmse, 3, 0.1), train, A, B, y);
      INFO("B=" << to_string(pre) << " compat=" << to_string(cm));
      REQUIRE(all_finite(out.estimate.data));
      if (pre == PreinverseKind::mask)  // every position has r = 0: the mean over all keys
        for (std::size_t k = 0; k < shape.size(); ++k) REQUIRE(out.estimate.data[k] == Approx(chan_mean[k / 49]).epsilon(1e-12));
    }
}

TEST_CASE("image sizes from 1×1 to 256×256", "[engine][robust]") {
  for (ImageShape shape : {ImageShape{1, 1, 1}, ImageShape{3, 1, 1}, ImageShape{1, 2, 3}, ImageShape{3, 3, 2}}) {
    Images train = random_images(3, shape, 131), y = random_images(1, shape, 132);
    ForwardOperator A = make_forward_operator("denoise", shape, Compat::consistent);
    PreInverse B = make_preinverse(PreinverseKind::identity, A, Compat::consistent);
    for (EstimatorKind e : {EstimatorKind::lemmse, EstimatorKind::emmse, EstimatorKind::mmse, EstimatorKind::lmmse}) {
      EstimatorOutputs out = estimate(settings(e, 1, 0.2), train, A, B, y);
      NaiveResult ref = naive_estimate(e, 1, 0.2, Compat::consistent, train, A, B, y.image(0));
      INFO(shape.c << "×" << shape.h << "×" << shape.w << " " << to_string(e));
      CHECK(max_abs_diff(out.estimate.data.data(), ref.estimate.data(), shape.size()) < 1e-12);
    }
  }
  {  // 64×64 RGB LE-MMSE against the brute force
    const ImageShape shape{3, 64, 64};
    Images train = random_images(1, shape, 141), y = random_images(1, shape, 142);
    ForwardOperator A = make_forward_operator("denoise", shape, Compat::consistent);
    PreInverse B = make_preinverse(PreinverseKind::identity, A, Compat::consistent);
    EstimatorOutputs out = estimate(settings(EstimatorKind::lemmse, 3, 0.3), train, A, B, y);
    NaiveResult ref = naive_estimate(EstimatorKind::lemmse, 3, 0.3, Compat::consistent, train, A, B, y.image(0));
    CHECK(max_abs_diff(out.estimate.data.data(), ref.estimate.data(), shape.size()) < 1e-12);
  }
  {  // 256×256: MMSE and L-MMSE (the all-shift estimators cost HW² per training image)
    const ImageShape shape{1, 256, 256};
    Images train = random_images(2, shape, 151), clean = random_images(1, shape, 152);
    ForwardOperator A = make_forward_operator("blur-gaussian:1.5", shape, Compat::consistent);
    PreInverse B = make_preinverse(PreinverseKind::identity, A, Compat::consistent);
    Images y = make_measurements(clean, A, 0.5, 1);
    for (EstimatorKind e : {EstimatorKind::mmse, EstimatorKind::lmmse}) {
      EstimatorOutputs out = estimate(settings(e, 5, 0.5), train, A, B, y);
      REQUIRE(all_finite(out.estimate.data));
      REQUIRE(all_finite(out.variance.data));
    }
  }
  // Too-large patches and images beyond the channel limit are refused.
  Images five = random_images(1, ImageShape{5, 4, 4}, 1);
  ForwardOperator A = make_forward_operator("denoise", five.shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::identity, A, Compat::consistent);
  CHECK_THROWS_AS(estimate(settings(EstimatorKind::lemmse, 1, 0.1), five, A, B, five), InvalidArgument);
}
