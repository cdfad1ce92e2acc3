// GPU tests: skipped (reported as skipped) when this build or machine has no CUDA device.
#include <catch2/catch.hpp>
#include <cmath>

#include "kernels/online_softmax.hpp"
#include "lemmse/device.hpp"
#include "support/skip.hpp"
#if defined(LEMMSE_WITH_CUDA)
#include "cuda/online_softmax_check.hpp"
#endif

using namespace lemmse;

TEST_CASE("device online softmax matches the host arithmetic", "[gpu]") {
#if !defined(LEMMSE_WITH_CUDA)
  LEMMSE_SKIP("built without CUDA");
#else
  if (cuda_device_count() == 0) LEMMSE_SKIP("no CUDA device: " + cuda_device_summary());
  std::vector<double> logits, values;
  for (int i = 0; i < 1000; ++i) {
    logits.push_back(std::sin(i * 0.37) * 30 - (i % 7));
    values.push_back(std::cos(i * 0.11));
    values.push_back(0.5 + 0.5 * std::sin(i * 0.05));
  }
  SoftmaxAcc<double> a;
  softmax_init(a);
  for (int i = 0; i < 1000; ++i) softmax_push(a, logits[i], &values[2 * i], 2, 745.0);
  const std::vector<double> dev = device_softmax_stream(logits, values, 2);
  CHECK(dev[0] == Approx(softmax_log_density(a)).epsilon(1e-14));
  CHECK(dev[1] == Approx(softmax_effective_count(a)).epsilon(1e-12));
  for (int c = 0; c < 2; ++c) {
    CHECK(dev[2 + c] == Approx(softmax_mean(a, c)).epsilon(1e-13));
    CHECK(dev[4 + c] == Approx(softmax_variance(a, c)).epsilon(1e-11));
  }
#endif
}

TEST_CASE("softmax partials merged in order equal one stream", "[engine][softmax]") {
  std::vector<double> logits, values;
  for (int i = 0; i < 500; ++i) {
    logits.push_back(std::sin(i * 0.91) * 40);
    values.push_back(std::cos(i * 0.3));
  }
  SoftmaxAcc<double> one, a, b;
  softmax_init(one);
  softmax_init(a);
  softmax_init(b);
  for (int i = 0; i < 500; ++i) softmax_push(one, logits[i], &values[i], 1, 745.0);
  for (int i = 0; i < 200; ++i) softmax_push(a, logits[i], &values[i], 1, 745.0);
  for (int i = 200; i < 500; ++i) softmax_push(b, logits[i], &values[i], 1, 745.0);
  softmax_merge(a, b, 1);
  CHECK(softmax_log_density(a) == Approx(softmax_log_density(one)).epsilon(1e-14));
  CHECK(softmax_mean(a, 0) == Approx(softmax_mean(one, 0)).margin(1e-14));
  CHECK(softmax_variance(a, 0) == Approx(softmax_variance(one, 0)).epsilon(1e-12));
  CHECK(softmax_effective_count(a) == Approx(softmax_effective_count(one)).epsilon(1e-12));
}
