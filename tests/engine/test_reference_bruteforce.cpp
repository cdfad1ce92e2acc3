// The reference engine against brute-force evaluations of ESTIMATORS.md on tiny images:
// every estimator, every pre-inverse, both compat modes, random and real inputs.
#include <catch2/catch.hpp>

#include "engine/engine_helpers.hpp"
#include "lemmse/io.hpp"
#include "support/skip.hpp"

using namespace lemmse;
using namespace lemmse_test;

namespace {

struct Case {
  EstimatorKind est;
  int P;
  std::string problem;
  PreinverseKind pre;
  Compat compat;
};

void check_against_naive(const Case& k, const Images& train, const Images& clean, double sigma) {
  ForwardOperator A = make_forward_operator(k.problem, train.shape, k.compat);
  PreInverse B = make_preinverse(k.pre, A, k.compat);
  Images y = make_measurements(clean, A, sigma, 11);
  EstimatorSettings s;
  s.estimator = k.est;
  s.patch = k.P;
  s.sigma = sigma;
  s.compat = k.compat;
  s.log_density = s.variance = true;
  s.threads = 2;
  EstimatorOutputs out = estimate(s, train, A, B, y);
  for (std::size_t i = 0; i < y.n; ++i) {
    NaiveResult ref = naive_estimate(k.est, k.P, sigma, k.compat, train, A, B, y.image(i));
    INFO(to_string(k.est) << " P=" << k.P << " " << k.problem << " B=" << to_string(k.pre) << " compat="
                          << to_string(k.compat) << " σ=" << sigma << " C×H×W=" << train.shape.c << "×"
                          << train.shape.h << "×" << train.shape.w);
    const std::size_t n = y.shape.size(), hw = y.shape.pixels();
    CHECK(max_abs_diff(out.estimate.image(i), ref.estimate.data(), n) < 1e-11);
    CHECK(max_abs_diff(out.variance.image(i), ref.variance.data(), n) < 1e-11);
    double ld = 0;
    for (std::size_t m = 0; m < hw; ++m)
      ld = std::max(ld, std::fabs(out.log_density[i * hw + m] - ref.log_density[m]) / std::max(1.0, std::fabs(ref.log_density[m])));
    CHECK(ld < 1e-11);
  }
}

std::vector<Case> all_cases() {
  std::vector<Case> cs;
  for (Compat cm : {Compat::consistent, Compat::reference}) {
    for (EstimatorKind e : {EstimatorKind::lemmse, EstimatorKind::lmmse}) {
      for (int P : {1, 3, 5}) {
        cs.push_back({e, P, "denoise", PreinverseKind::identity, cm});
        cs.push_back({e, P, "inpaint-box:3", PreinverseKind::identity, cm});
        cs.push_back({e, P, "inpaint-box:3", PreinverseKind::mask, cm});
        cs.push_back({e, P, "inpaint-random:40", PreinverseKind::mask, cm});
        cs.push_back({e, P, "inpaint-box:3", PreinverseKind::eps_mask, cm});
        cs.push_back({e, P, "blur-gaussian:0.8", PreinverseKind::identity, cm});
        if (P > 1) cs.push_back({e, P, "blur-gaussian:0.6", PreinverseKind::inverse, cm});
      }
    }
    for (EstimatorKind e : {EstimatorKind::emmse, EstimatorKind::mmse}) {
      cs.push_back({e, 0, "denoise", PreinverseKind::identity, cm});
      cs.push_back({e, 0, "inpaint-box:3", PreinverseKind::identity, cm});
      cs.push_back({e, 0, "blur-gaussian:0.8", PreinverseKind::identity, cm});
      cs.push_back({e, 0, "blur-gaussian:0.6", PreinverseKind::inverse, cm});
    }
  }
  return cs;
}

}  // namespace

TEST_CASE("reference engine equals the brute-force definitions on random images", "[engine][bruteforce]") {
  for (ImageShape shape : {ImageShape{1, 7, 7}, ImageShape{3, 6, 6}, ImageShape{2, 5, 8}}) {
    Images train = random_images(4, shape, 1);
    Images clean = random_images(1, shape, 2);
    for (const Case& k : all_cases())
      for (double sigma : {0.3, 0.08}) check_against_naive(k, train, clean, sigma);
  }
}

TEST_CASE("reference engine equals the brute-force definitions on real image crops", "[engine][bruteforce][real]") {
  const std::string dir = data_dir();
  const std::string fm = fashion_mnist_dir();
  if (dir.empty() && fm.empty()) LEMMSE_SKIP("neither LEMMSE_DATA_DIR nor dataset-fashion-mnist is available");
  std::vector<Images> sets;
  auto crop = [](const Images& src, std::size_t first, std::size_t n, int off, int size) {
    Images o(n, ImageShape{src.shape.c, size, size});
    for (std::size_t k = 0; k < n; ++k)
      for (int c = 0; c < src.shape.c; ++c)
        for (int i = 0; i < size; ++i)
          for (int j = 0; j < size; ++j)
            o.image(k)[(c * size + i) * size + j] = src.image(first + k)[(c * src.shape.h + i + off) * src.shape.w + j + off];
    return o;
  };
  if (!dir.empty()) sets.push_back(crop(read_cifar_batch(dir + "/cifar-10/test_batch.bin.gz").images, 0, 6, 10, 9));
  if (!fm.empty()) sets.push_back(crop(read_idx_images(fm + "/t10k-images-idx3-ubyte.gz"), 0, 6, 8, 9));
  for (const Images& s : sets) {
    Images train(5, s.shape), clean(1, s.shape);
    std::copy(s.data.begin(), s.data.begin() + std::ptrdiff_t(5 * s.shape.size()), train.data.begin());
    std::copy(s.data.begin() + std::ptrdiff_t(5 * s.shape.size()), s.data.end(), clean.data.begin());
    for (const Case& k : all_cases())
      for (double sigma : {0.2, 0.02}) check_against_naive(k, train, clean, sigma);
  }
}
