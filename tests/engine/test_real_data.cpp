// End-to-end on real data: LE-MMSE denoising improves PSNR well beyond the noisy input.
#include <catch2/catch.hpp>

#include "engine/engine_helpers.hpp"
#include "lemmse/metrics.hpp"
#include "lemmse/datasets.hpp"
#include "support/skip.hpp"

using namespace lemmse;
using namespace lemmse_test;

TEST_CASE("FashionMNIST: LE-MMSE (P = 5, σ = 0.2) denoises far above the noisy input", "[engine][real]") {
  const std::string dir = fashion_mnist_dir();
  if (dir.empty()) LEMMSE_SKIP("dataset-fashion-mnist is not installed");
  DatasetSpec d;
  d.kind = DatasetKind::fashion_mnist;
  SelectionSpec sel;
  sel.train_count = 300;
  sel.test_count = 2;
  LoadedData data = load_data(d, sel);
  ForwardOperator A = make_forward_operator("denoise", data.train.shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::identity, A, Compat::consistent);
  Images y = make_measurements(data.queries, A, 0.2, 0);
  EstimatorSettings s;
  s.sigma = 0.2;
  s.patch = 5;
  EstimatorOutputs out = estimate(s, data.train, A, B, y);
  for (std::size_t i = 0; i < y.n; ++i) {
    const double in = psnr(data.queries.image(i), y.image(i), y.shape.size());
    const double est = psnr(data.queries.image(i), out.estimate.image(i), y.shape.size());
    INFO("image " << i << ": noisy " << in << " dB, LE-MMSE " << est << " dB");
    CHECK(est > in + 4.0);  // ~5.5 dB with 300 images; more with the paper's 10,000
  }
}
