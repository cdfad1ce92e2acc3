// The accuracy bar of DESIGN.md §5 for any fast path: PSNR ≥ 100 dB against the fp64 reference for
// σ ∈ [0.01, 1], ≥ 80 dB at σ = 0.001, plus log-density and effective count. Used by the CPU
// engine, the host emulation of the CUDA engine and the CUDA engine itself.
#pragma once
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "engine/engine_helpers.hpp"
#include "engine/problem.hpp"
#include "lemmse/datasets.hpp"
#include "lemmse/metrics.hpp"
#include "support/scoped_env.hpp"
#include "support/skip.hpp"

namespace lemmse_test {

// Runs the fast path under test on (settings, train, A, B, measurements).
using FastRunner = std::function<lemmse::EstimatorOutputs(const lemmse::EstimatorSettings&, const lemmse::Images&,
                                                          const lemmse::ForwardOperator&, const lemmse::PreInverse&,
                                                          const lemmse::Images&)>;

// Backend b through run_estimator, as a FastRunner that also checks b (not a fallback) ran.
inline FastRunner runner_for(lemmse::Backend b) {
  return [b](const lemmse::EstimatorSettings& s, const lemmse::Images& train, const lemmse::ForwardOperator& A,
             const lemmse::PreInverse& B, const lemmse::Images& y) {
    lemmse::EstimatorOutputs out = lemmse::run_estimator(s, b, train, iota_ids(train.n), A, B, y);
    REQUIRE(out.backend == b);
    return out;
  };
}

// Images: kind of data. The bar is defined on real images. Uniform random images are the
// adversarial case of float32 inputs: their nearest keys sit at D ≈ 10, i.e. 10⁵ nats at
// σ = 0.01, where the float32 rounding of inputs and differences alone (~10⁻⁷ of D) moves the
// logits of near-tied keys by ~10⁻³ nats; fp64 window sums were measured to gain ~1 dB there. On
// them the float32 fast paths are held to the bar − 5 dB at σ ≤ 0.01 (still ≥ 30 dB above any bug
// seen); fp64 ones (random_fp64: the CPU engine, 199 dB or more there) to the bar itself.
enum class Data { real, random, random_fp64 };

inline void check_bar(const FastRunner& fast, const lemmse::Images& train, const lemmse::Images& clean,
                      const std::string& problem, lemmse::PreinverseKind pre, lemmse::Compat cm, lemmse::EstimatorKind e,
                      int P, double sigma, Data data = Data::real) {
  using namespace lemmse;
  ForwardOperator A = make_forward_operator(problem, train.shape, cm);
  PreInverse B = make_preinverse(pre, A, cm);
  Images y = make_measurements(clean, A, sigma, 17);
  EstimatorSettings s = settings(e, P, sigma);
  s.threads = 2;
  EstimatorOutputs ref = run_estimator(s, Backend::reference, train, iota_ids(train.n), A, B, y);
  EstimatorOutputs got = fast(s, train, A, B, y);
  const double bar = (sigma < 0.005 ? 80.0 : 100.0) - (data == Data::random && sigma <= 0.01 ? 5.0 : 0.0);
  INFO(to_string(e) << " P=" << P << " " << problem << " B=" << to_string(pre) << " " << to_string(cm) << " σ=" << sigma);
  for (std::size_t i = 0; i < y.n; ++i) {
    const std::size_t n = y.shape.size();
    const double p = psnr(ref.estimate.image(i), got.estimate.image(i), n);
    if (std::getenv("LEMMSE_PRINT_PSNR"))
      std::printf("%-6s %-8s P=%-2d %-18s %-9s σ=%-6g %.1f dB\n", to_string(got.backend), to_string(e), P, problem.c_str(),
                  to_string(pre), sigma, p);
    CHECK(p >= bar);
    CHECK(psnr(ref.variance.image(i), got.variance.image(i), n) >= bar - 20);  // variance ~ σ², smaller scale
  }
  for (std::size_t m = 0; m < ref.log_density.size(); ++m) {
    REQUIRE(got.log_density[m] == Approx(ref.log_density[m]).epsilon(1e-4).margin(1e-3));
    // 1/Σw² is the most sensitive output: at σ = 0.001 a float32 distance error of 1e-8 is 0.5 %
    // of a weight, so the tolerance follows the estimate's bar (80 dB there).
    REQUIRE(got.effective_count[m] == Approx(ref.effective_count[m]).epsilon(sigma < 0.005 ? 5e-2 : 1e-2));
  }
}

// σ → 0: the query is training image `index` itself, so at tiny σ the exact match (D = 0)
// dominates every pixel and the estimate is that image.
inline void check_exact_match_limit(const FastRunner& fast, const lemmse::ImageShape& shape, unsigned seed, std::size_t index,
                                    int P) {
  using namespace lemmse;
  Images train = random_images(19, shape, seed);
  Images y(1, shape);
  std::memcpy(y.image(0), train.image(index), shape.size() * sizeof(double));
  ForwardOperator A = make_forward_operator("denoise", shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::identity, A, Compat::consistent);
  EstimatorOutputs out = fast(settings(EstimatorKind::lemmse, P, 1e-4), train, A, B, y);
  CHECK(max_abs_diff(out.estimate.image(0), train.image(index), shape.size()) < 1e-6);
}

// Top-k of a fast path against the reference's: logits within tol(i.e. tol_of(logit, position)),
// weights within 2·tol + 1e-6 relative, best first, and the same (image, position) wherever the
// reference's logit is not tied (within 4·tol) with its neighbours in the list.
template <class TolOf>
void check_topk(const lemmse::EstimatorOutputs& ref, const lemmse::EstimatorOutputs& got, std::size_t nimg, std::size_t HW,
                int k, TolOf tol_of) {
  REQUIRE(got.topk_image.size() == ref.topk_image.size());
  for (std::size_t img = 0; img < nimg; ++img)
    for (std::size_t m = 0; m < HW; ++m)
      for (int i = 0; i < k; ++i) {
        const std::size_t o = (img * std::size_t(k) + std::size_t(i)) * HW + m;
        const double l = ref.topk_log_weight[o];
        if (std::isinf(l)) {
          CHECK(got.topk_image[o] == -1);
          continue;
        }
        const double tol = tol_of(l, ref.topk_position[o]);
        REQUIRE(got.topk_log_weight[o] == Approx(l).margin(tol));
        // w = exp(ℓ − log-density): ℓ moves by ≤ tol, the log-density by ~1e-7 (float32 weights)
        REQUIRE(got.topk_weight[o] == Approx(ref.topk_weight[o]).epsilon(2 * tol + 1e-6).margin(1e-12));
        if (i > 0) REQUIRE(got.topk_log_weight[o] <= got.topk_log_weight[o - HW]);
        const bool tied_above = i > 0 && ref.topk_log_weight[o - HW] - l < 4 * tol;
        const bool tied_below = i + 1 < k && l - ref.topk_log_weight[o + HW] < 4 * tol;
        if (!tied_above && !tied_below) {
          REQUIRE(got.topk_image[o] == ref.topk_image[o]);
          REQUIRE(got.topk_position[o] == ref.topk_position[o]);
        }
      }
}

// check_topk's tolerance for logits ℓ = −D/2σ² + bias(n): the distance part ℓ − bias(n) to rel
// relative (fp64 sums in another order: 1e-12; float32 inputs and differences, ~1e-7 of D: 1e-6).
// pr must outlive the returned function.
inline auto distance_topk_tol(const lemmse::Problem& pr, double rel) {
  return [&pr, rel](double l, std::int64_t position) {
    return rel * (1.0 + std::fabs(l - (pr.key_bias.empty() ? 0.0 : pr.key_bias[std::size_t(position)])));
  };
}

// Two runs' top-k lists are the same bits: logits, weights, images and positions (slot counts,
// batches: the lists must not depend on them).
inline void check_same_topk(const lemmse::EstimatorOutputs& a, const lemmse::EstimatorOutputs& b) {
  REQUIRE(a.topk_log_weight.size() == b.topk_log_weight.size());
  REQUIRE(a.topk_weight.size() == b.topk_weight.size());
  CHECK(std::memcmp(a.topk_log_weight.data(), b.topk_log_weight.data(), a.topk_log_weight.size() * 8) == 0);
  CHECK(std::memcmp(a.topk_weight.data(), b.topk_weight.data(), a.topk_weight.size() * 8) == 0);
  CHECK(a.topk_image == b.topk_image);
  CHECK(a.topk_position == b.topk_position);
}

// Runs a fast path with training labels (top-k image column).
using LabelledRunner = std::function<lemmse::EstimatorOutputs(const lemmse::EstimatorSettings&, const lemmse::Images&,
                                                              const std::vector<std::int64_t>&, const lemmse::ForwardOperator&,
                                                              const lemmse::PreInverse&, const lemmse::Images&)>;

// The top-k sweep of the float32 window paths against the reference: B = identity, mask and
// ε-mask × every estimator, 37 training images (3 slices of 16, the last partial) labelled
// labels(i); logits to 1e-6 of D (distance_topk_tol), keys and order the reference's wherever not
// near-tied; MMSE asks k = 40 of its 37 keys per pixel, so the last 3 entries stay empty.
inline void check_float32_topk_sweep(const LabelledRunner& fast, unsigned seed, const std::function<std::int64_t(std::size_t)>& labels) {
  using namespace lemmse;
  const ImageShape shape{2, 8, 9};
  Images train = random_images(37, shape, seed), clean = random_images(2, shape, seed + 1);
  std::vector<std::int64_t> ids(train.n);
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = labels(i);
  for (auto [problem, pre] : {std::pair<std::string, PreinverseKind>{"denoise", PreinverseKind::identity},
                              {"inpaint-box:3", PreinverseKind::mask},
                              {"inpaint-box:3", PreinverseKind::eps_mask}})
    for (EstimatorKind e : {EstimatorKind::lemmse, EstimatorKind::lmmse, EstimatorKind::emmse, EstimatorKind::mmse}) {
      ForwardOperator A = make_forward_operator(problem, shape, Compat::consistent);
      PreInverse B = make_preinverse(pre, A, Compat::consistent);
      Images y = make_measurements(clean, A, 0.2, 4);
      EstimatorSettings s = settings(e, 3, 0.2);
      s.topk = e == EstimatorKind::mmse ? 40 : 6;
      const EstimatorOutputs ref = run_estimator(s, Backend::reference, train, ids, A, B, y);
      const EstimatorOutputs got = fast(s, train, ids, A, B, y);
      const Problem pr = build_problem(s, train, A, B);
      INFO(to_string(e) << " " << problem << " B=" << to_string(pre));
      check_topk(ref, got, y.n, shape.pixels(), s.topk, distance_topk_tol(pr, 1e-6));
      CHECK(psnr(ref.estimate.data.data(), got.estimate.data.data(), got.estimate.data.size()) >= 100);
      if (e == EstimatorKind::mmse) {
        CHECK(got.topk_image[std::size_t(39) * shape.pixels()] == -1);
        CHECK(got.topk_image[std::size_t(36) * shape.pixels()] >= 0);
      }
    }
}

inline const std::vector<std::pair<std::string, lemmse::PreinverseKind>>& window_cases();

// The sweep every fast path is held to on random images: each diagonal pre-inverse case × both
// compat modes × every estimator × σ ∈ {0.001, 0.01, 0.1, 1}, P = 5 (3×9×10 images: 20 training
// images are two slices, the second partial).
inline void check_bar_on_random_images(const FastRunner& fast, Data data = Data::random) {
  using namespace lemmse;
  const ImageShape shape{3, 9, 10};
  Images train = random_images(20, shape, 401), clean = random_images(2, shape, 402);
  for (const auto& [problem, pre] : window_cases())
    for (Compat cm : {Compat::consistent, Compat::reference})
      for (EstimatorKind e : {EstimatorKind::lemmse, EstimatorKind::lmmse, EstimatorKind::emmse, EstimatorKind::mmse})
        for (double sigma : {0.001, 0.01, 0.1, 1.0}) check_bar(fast, train, clean, problem, pre, cm, e, 5, sigma, data);
}

// Every diagonal pre-inverse case the window engines serve.
inline const std::vector<std::pair<std::string, lemmse::PreinverseKind>>& window_cases() {
  static const std::vector<std::pair<std::string, lemmse::PreinverseKind>> c = {
      {"denoise", lemmse::PreinverseKind::identity},       {"inpaint-box:5", lemmse::PreinverseKind::identity},
      {"inpaint-box:5", lemmse::PreinverseKind::mask},     {"inpaint-random:30", lemmse::PreinverseKind::mask},
      {"inpaint-box:5", lemmse::PreinverseKind::eps_mask}, {"blur-gaussian:1", lemmse::PreinverseKind::identity}};
  return c;
}

// Small real training sets and one query each: FashionMNIST (Debian) and CIFAR-10 (LEMMSE_DATA_DIR),
// whichever are present.
inline std::vector<std::pair<lemmse::Images, lemmse::Images>> real_sets(std::size_t fm_train, std::size_t cifar_train) {
  using namespace lemmse;
  std::vector<std::pair<Images, Images>> sets;
  if (!fashion_mnist_dir().empty()) {
    DatasetSpec d;
    d.kind = DatasetKind::fashion_mnist;
    SelectionSpec sel;
    sel.train_count = fm_train;
    sel.test_count = 1;
    LoadedData ld = load_data(d, sel);
    sets.emplace_back(ld.train, ld.queries);
  }
  if (!data_dir().empty()) {
    DatasetSpec d;
    d.kind = DatasetKind::cifar10;
    d.data_dir = data_dir() + "/cifar-10";
    SelectionSpec sel;
    sel.train_count = cifar_train;
    sel.test_count = 1;
    LoadedData ld = load_data(d, sel);
    sets.emplace_back(ld.train, ld.queries);
  }
  return sets;
}

// CPU top-k at small σ, where the engines' float32 screens drop most keys and keep those a list
// may take, down to the k-th best logit any slice has reached (SharedTopkFloors), on each of sets
// (training set, one clean image; several 16-image slices): the reference's lists (logits to
// rel·(1 + |ℓ|)), the same lists for 1, 2 and 3 threads and, if screen_off names one, with that
// variable set to 0 (the screen off), and the same estimate and log-density bits as without top-k
// (the lists change which keys the screen passes, never the softmax).
inline void check_topk_behind_screen(const std::vector<std::pair<lemmse::Images, lemmse::Images>>& sets, const std::string& problem,
                                     lemmse::PreinverseKind pre, const std::vector<double>& sigmas, double rel, const char* screen_off) {
  using namespace lemmse;
  for (const auto& [train, clean] : sets)
    for (double sigma : sigmas) {
      const ImageShape shape = train.shape;
      INFO(problem << " C=" << shape.c << " H=" << shape.h << " N=" << train.n << " sigma=" << sigma);
      ForwardOperator A = make_forward_operator(problem, shape, Compat::consistent);
      PreInverse B = make_preinverse(pre, A, Compat::consistent);
      Images y = make_measurements(clean, A, sigma, 7);
      EstimatorSettings s = settings(EstimatorKind::lemmse, 3, sigma);
      s.topk = 8;
      s.threads = 2;
      const auto run = [&](Backend b) { return run_estimator(s, b, train, iota_ids(train.n), A, B, y); };
      const EstimatorOutputs ref = run(Backend::reference), cpu = run(Backend::cpu);
      REQUIRE(cpu.backend == Backend::cpu);
      check_topk(ref, cpu, y.n, shape.pixels(), s.topk, [rel](double l, std::int64_t) { return rel * (1 + std::fabs(l)); });
      for (int t : {1, 3}) {
        s.threads = t;
        check_same_topk(cpu, run(Backend::cpu));
      }
      if (screen_off) {
        ScopedEnv off(screen_off, "0");
        check_same_topk(cpu, run(Backend::cpu));
      }
      s.topk = 0;
      const EstimatorOutputs plain = run(Backend::cpu);
      CHECK(std::memcmp(plain.estimate.data.data(), cpu.estimate.data.data(), cpu.estimate.data.size() * 8) == 0);
      CHECK(std::memcmp(plain.log_density.data(), cpu.log_density.data(), cpu.log_density.size() * 8) == 0);
    }
}

}  // namespace lemmse_test
