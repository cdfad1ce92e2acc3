// The CUDA engine's arithmetic without a GPU: the host emulation of its blocks (the kernel's own
// phase functions, kernels/window_tile.hpp) against the fp64 reference, with the accuracy bar of
// DESIGN.md §5, on random and real images, for every estimator and diagonal pre-inverse.
#include <catch2/catch.hpp>
#include <cstring>

#include "engine/accuracy_bar.hpp"
#include "engine/problem.hpp"
#include "kernels/tile_emulator.hpp"

using namespace lemmse;
using namespace lemmse_test;

namespace {
// Four shifts per barrier round, as the device runs most problems (one and two: see the identity test).
EstimatorOutputs run_emulated(const EstimatorSettings& s, const Images& train, const ForwardOperator& A,
                              const PreInverse& B, const Images& y) {
  return emulate_window_engine(s, build_problem(s, train, A, B), train, B, y, 4);
}
}  // namespace

TEST_CASE("emulated CUDA window engine meets the accuracy bar on random images", "[engine][tile]") {
  check_bar_on_random_images(run_emulated);
}

TEST_CASE("emulated CUDA window engine: several pixels per thread, P = 3 … 17, one channel", "[engine][tile]") {
  // 24×24 = 576 pixels: 3 of the 4 pixel slots of most threads are used, the last one of some.
  const ImageShape shape{1, 24, 24};
  Images train = random_images(17, shape, 311), clean = random_images(1, shape, 312);
  for (int P : {3, 7, 17})
    for (double sigma : {0.01, 0.3})
      check_bar(run_emulated, train, clean, "denoise", PreinverseKind::identity, Compat::consistent, EstimatorKind::lemmse, P, sigma, Data::random);
  check_bar(run_emulated, train, clean, "inpaint-box:9", PreinverseKind::mask, Compat::consistent, EstimatorKind::lemmse, 5, 0.05, Data::random);
}

TEST_CASE("emulated CUDA window engine meets the accuracy bar on real images", "[engine][tile][real]") {
  const auto sets = real_sets(20, 8);
  if (sets.empty()) LEMMSE_SKIP("neither dataset-fashion-mnist nor LEMMSE_DATA_DIR is available");
  for (const auto& [train, clean] : sets)
    for (int P : {3, 5, 11, 17}) {
      for (double sigma : {0.01, 0.2})
        check_bar(run_emulated, train, clean, "denoise", PreinverseKind::identity, Compat::consistent, EstimatorKind::lemmse, P, sigma);
      if (P == 5) {
        check_bar(run_emulated, train, clean, "inpaint-box:15", PreinverseKind::eps_mask, Compat::consistent, EstimatorKind::lemmse, P, 0.05);
        check_bar(run_emulated, train, clean, "inpaint-box:15", PreinverseKind::mask, Compat::consistent, EstimatorKind::lemmse, P, 0.05);
      }
    }
}

TEST_CASE("emulated CUDA window engine: σ → 0 gives the nearest patch's centre", "[engine][tile][limits]") {
  check_exact_match_limit(run_emulated, ImageShape{2, 8, 9}, 321, 5, 3);
}

TEST_CASE("emulated CUDA window engine agrees with the reference on pixels with no compatible key", "[engine][tile][errors]") {
  // Binary mask, reference compat: an all-missing query window matches no key pattern → error.
  const ImageShape shape{1, 6, 6};
  Images train = random_images(3, shape, 331), clean = random_images(1, shape, 332);
  ForwardOperator A = make_forward_operator("inpaint-box:6", shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::mask, A, Compat::consistent);
  Images y = make_measurements(clean, A, 0.1, 3);
  EstimatorSettings s = settings(EstimatorKind::lmmse, 3, 0.1);
  bool ref_failed = false;
  try {
    run_estimator(s, Backend::reference, train, iota_ids(train.n), A, B, y);
  } catch (const NumericalError&) {
    ref_failed = true;
  }
  if (ref_failed)
    CHECK_THROWS_AS(run_emulated(s, train, A, B, y), NumericalError);
  else
    CHECK_NOTHROW(run_emulated(s, train, A, B, y));
}


TEST_CASE("emulated CUDA window engine: 1, 2 or 4 shifts per barrier round give the same bits", "[engine][tile]") {
  // Batching shifts changes when threads wait, not the order in which a pixel sees its keys.
  const ImageShape shape{2, 7, 9};  // 63 shifts: the last round of 2 and 4 is partial
  Images train = random_images(18, shape, 341), clean = random_images(2, shape, 342);
  for (auto pre : {PreinverseKind::identity, PreinverseKind::eps_mask})
    for (EstimatorKind e : {EstimatorKind::lemmse, EstimatorKind::emmse, EstimatorKind::lmmse}) {
      ForwardOperator A = make_forward_operator("inpaint-box:3", shape, Compat::consistent);
      PreInverse B = make_preinverse(pre, A, Compat::consistent);
      Images y = make_measurements(clean, A, 0.1, 5);
      EstimatorSettings s = settings(e, 3, 0.1);
      const Problem p = build_problem(s, train, A, B);
      EstimatorOutputs one = emulate_window_engine(s, p, train, B, y, 1);
      for (int ts : {2, 4}) {
        EstimatorOutputs more = emulate_window_engine(s, p, train, B, y, ts);
        INFO(to_string(e) << " B=" << to_string(pre) << " ts=" << ts);
        CHECK(std::memcmp(one.estimate.data.data(), more.estimate.data.data(), one.estimate.data.size() * 8) == 0);
        CHECK(std::memcmp(one.variance.data.data(), more.variance.data.data(), one.variance.data.size() * 8) == 0);
        CHECK(std::memcmp(one.log_density.data(), more.log_density.data(), one.log_density.size() * 8) == 0);
      }
    }
}
