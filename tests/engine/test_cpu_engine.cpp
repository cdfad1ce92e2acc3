// The fast CPU engine against the fp64 reference: the accuracy bar of DESIGN.md §5 (PSNR ≥ 100 dB
// for σ ∈ [0.01, 1], ≥ 80 dB at σ = 0.001) on random and real images, every estimator and every
// diagonal pre-inverse; determinism across thread counts.
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "engine/cpu_engine.hpp"
#include "engine/engine_helpers.hpp"
#include "lemmse/datasets.hpp"
#include "lemmse/io.hpp"
#include "lemmse/metrics.hpp"
#include "support/skip.hpp"

using namespace lemmse;
using namespace lemmse_test;

namespace {
void check_bar(const Images& train, const Images& clean, const std::string& problem, PreinverseKind pre, Compat cm,
               EstimatorKind e, int P, double sigma) {
  ForwardOperator A = make_forward_operator(problem, train.shape, cm);
  PreInverse B = make_preinverse(pre, A, cm);
  Images y = make_measurements(clean, A, sigma, 17);
  EstimatorSettings s = settings(e, P, sigma);
  s.threads = 2;
  EstimatorOutputs ref = run_estimator(s, Backend::reference, train, iota_ids(train.n), A, B, y);
  EstimatorOutputs cpu = run_estimator(s, Backend::cpu, train, iota_ids(train.n), A, B, y);
  REQUIRE(cpu.backend == Backend::cpu);
  const double bar = sigma < 0.005 ? 80.0 : 100.0;
  INFO(to_string(e) << " P=" << P << " " << problem << " B=" << to_string(pre) << " " << to_string(cm) << " σ=" << sigma);
  for (std::size_t i = 0; i < y.n; ++i) {
    const std::size_t n = y.shape.size();
    const double got = psnr(ref.estimate.image(i), cpu.estimate.image(i), n);
    if (std::getenv("LEMMSE_PRINT_PSNR")) std::printf("%-8s P=%-2d %-18s %-9s σ=%-6g %.1f dB\n", to_string(e), P, problem.c_str(), to_string(pre), sigma, got);
    CHECK(got >= bar);
    CHECK(psnr(ref.variance.image(i), cpu.variance.image(i), n) >= bar - 20);  // variance ~ σ², smaller scale
  }
  for (std::size_t m = 0; m < ref.log_density.size(); ++m) {
    REQUIRE(cpu.log_density[m] == Approx(ref.log_density[m]).epsilon(1e-4).margin(1e-3));
    REQUIRE(cpu.effective_count[m] == Approx(ref.effective_count[m]).epsilon(1e-2));
  }
}

const std::vector<std::pair<std::string, PreinverseKind>> kCases = {
    {"denoise", PreinverseKind::identity},       {"inpaint-box:5", PreinverseKind::identity},
    {"inpaint-box:5", PreinverseKind::mask},     {"inpaint-random:30", PreinverseKind::mask},
    {"inpaint-box:5", PreinverseKind::eps_mask}, {"blur-gaussian:1", PreinverseKind::identity}};
}  // namespace

TEST_CASE("CPU engine meets the accuracy bar on random images", "[engine][cpu]") {
  const ImageShape shape{3, 9, 10};
  Images train = random_images(20, shape, 201), clean = random_images(2, shape, 202);
  for (const auto& [problem, pre] : kCases)
    for (Compat cm : {Compat::consistent, Compat::reference})
      for (EstimatorKind e : {EstimatorKind::lemmse, EstimatorKind::lmmse, EstimatorKind::emmse, EstimatorKind::mmse})
        for (double sigma : {0.001, 0.01, 0.1, 1.0}) check_bar(train, clean, problem, pre, cm, e, 5, sigma);
}

TEST_CASE("CPU engine meets the accuracy bar on real images (P = 3 … 11)", "[engine][cpu][real]") {
  const std::string fm = fashion_mnist_dir(), dd = data_dir();
  if (fm.empty() && dd.empty()) LEMMSE_SKIP("neither dataset-fashion-mnist nor LEMMSE_DATA_DIR is available");
  std::vector<std::pair<Images, Images>> sets;
  if (!fm.empty()) {
    DatasetSpec d;
    d.kind = DatasetKind::fashion_mnist;
    SelectionSpec sel;
    sel.train_count = 40;
    sel.test_count = 1;
    LoadedData ld = load_data(d, sel);
    sets.emplace_back(ld.train, ld.queries);
  }
  if (!dd.empty()) {
    DatasetSpec d;
    d.kind = DatasetKind::cifar10;
    d.data_dir = dd + "/cifar-10";
    SelectionSpec sel;
    sel.train_count = 12;
    sel.test_count = 1;
    LoadedData ld = load_data(d, sel);
    sets.emplace_back(ld.train, ld.queries);
  }
  for (const auto& [train, clean] : sets)
    for (int P : {3, 5, 11})
      for (double sigma : {0.01, 0.05, 0.2}) {
        check_bar(train, clean, "denoise", PreinverseKind::identity, Compat::consistent, EstimatorKind::lemmse, P, sigma);
        if (P == 5) check_bar(train, clean, "inpaint-box:15", PreinverseKind::eps_mask, Compat::consistent, EstimatorKind::lemmse, P, sigma);
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
