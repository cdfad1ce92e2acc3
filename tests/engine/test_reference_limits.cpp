// Closed-form limits: σ → 0 gives the centre of the nearest key patch, σ → ∞ the mean over keys.
#include <catch2/catch.hpp>

#include "engine/engine_helpers.hpp"

using namespace lemmse;
using namespace lemmse_test;

TEST_CASE("σ → 0: LE-MMSE returns the centre pixel of the nearest training patch", "[engine][limits]") {
  const ImageShape shape{3, 8, 8};
  Images train = random_images(5, shape, 21), y = random_images(1, shape, 22);
  ForwardOperator A = make_forward_operator("denoise", shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::identity, A, Compat::consistent);
  EstimatorSettings s;
  s.patch = 3;
  s.sigma = 1e-4;
  s.effective_count = true;
  EstimatorOutputs out = estimate(s, train, A, B, y);
  const int H = 8, W = 8, C = 3, a = 1;
  for (int mi = 0; mi < H; ++mi)
    for (int mj = 0; mj < W; ++mj) {
      double best = INFINITY;
      std::size_t bb = 0, bn = 0;
      for (std::size_t b = 0; b < train.n; ++b)
        for (int ni = 0; ni < H; ++ni)
          for (int nj = 0; nj < W; ++nj) {
            double d = 0;
            for (int c = 0; c < C; ++c)
              for (int u = -a; u <= a; ++u)
                for (int v = -a; v <= a; ++v) {
                  const double e = train.image(b)[c * 64 + ((ni + u + H) % H) * W + (nj + v + W) % W] - y.data[c * 64 + ((mi + u + H) % H) * W + (mj + v + W) % W];
                  d += e * e;
                }
            if (d < best) best = d, bb = b, bn = std::size_t(ni * W + nj);
          }
      for (int c = 0; c < C; ++c) REQUIRE(out.estimate.data[c * 64 + mi * W + mj] == train.image(bb)[c * 64 + bn]);
      REQUIRE(out.effective_count[mi * W + mj] == Approx(1.0));
    }
}

TEST_CASE("σ → ∞: every estimator tends to the mean over its keys", "[engine][limits]") {
  const ImageShape shape{2, 7, 7};
  Images train = random_images(4, shape, 31), y = random_images(1, shape, 32);
  ForwardOperator A = make_forward_operator("denoise", shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::identity, A, Compat::consistent);
  std::vector<double> chan_mean(2, 0.0), pix_mean(train.shape.size(), 0.0);
  for (std::size_t b = 0; b < train.n; ++b)
    for (std::size_t k = 0; k < shape.size(); ++k) {
      chan_mean[k / 49] += train.image(b)[k] / (4.0 * 49);
      pix_mean[k] += train.image(b)[k] / 4.0;
    }
  EstimatorSettings s;
  s.sigma = 1e4;
  s.effective_count = true;
  for (EstimatorKind e : {EstimatorKind::lemmse, EstimatorKind::emmse, EstimatorKind::mmse, EstimatorKind::lmmse}) {
    s.estimator = e;
    EstimatorOutputs out = estimate(s, train, A, B, y);
    const bool shifts = e == EstimatorKind::lemmse || e == EstimatorKind::emmse;
    for (std::size_t k = 0; k < shape.size(); ++k)
      REQUIRE(out.estimate.data[k] == Approx(shifts ? chan_mean[k / 49] : pix_mean[k]).margin(1e-6));
    REQUIRE(out.effective_count[0] == Approx(shifts ? 4.0 * 49 : 4.0).epsilon(1e-6));
  }
}
