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

namespace {
// Top-k with ts = 1 (the top-k kernels' only round size) and the given slots per image.
EstimatorOutputs run_emulated_topk(const EstimatorSettings& s, const Images& train, const ForwardOperator& A, const PreInverse& B,
                                   const Images& y, int slots) {
  return emulate_window_engine(s, build_problem(s, train, A, B), train, B, y, 1, EmulatedKernel::tile, false, slots);
}
}  // namespace

TEST_CASE("emulated CUDA window engine top-k: the reference's keys, logits and weights", "[engine][tile][topk]") {
  // 3 slices over 2 slots: slot 0 holds slices 0 and 2. (The emulation labels images by index.)
  check_float32_topk_sweep(
      [](const EstimatorSettings& s, const Images& train, const std::vector<std::int64_t>&, const ForwardOperator& A,
         const PreInverse& B, const Images& y) { return run_emulated_topk(s, train, A, B, y, 2); },
      351, [](std::size_t i) { return std::int64_t(i); });
}

TEST_CASE("emulated CUDA window engine top-k: the same lists for any slot count, the same estimate as without", "[engine][tile][topk]") {
  const ImageShape shape{1, 9, 7};
  Images train = random_images(70, shape, 361), clean = random_images(2, shape, 362);  // 5 slices
  ForwardOperator A = make_forward_operator("inpaint-box:3", shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::eps_mask, A, Compat::consistent);
  Images y = make_measurements(clean, A, 0.1, 6);
  EstimatorSettings s = settings(EstimatorKind::lemmse, 5, 0.1);
  s.log_density = false;  // top-k computes it for its weights all the same, and does not return it
  const EstimatorOutputs plain = run_emulated_topk(s, train, A, B, y, 1);
  CHECK(plain.log_density.empty());
  s.topk = 11;
  const EstimatorOutputs one = run_emulated_topk(s, train, A, B, y, 1);
  CHECK(one.log_density.empty());
  CHECK(std::memcmp(plain.estimate.data.data(), one.estimate.data.data(), one.estimate.data.size() * 8) == 0);
  for (int slots : {2, 3, 5, 8}) {
    const EstimatorOutputs more = run_emulated_topk(s, train, A, B, y, slots);
    INFO("slots " << slots);
    check_same_topk(one, more);
  }
  // Rows of shifts, bands and several shifts per round are the non-top-k kernels' alone.
  CHECK_THROWS_AS(emulate_window_engine(s, build_problem(s, train, A, B), train, B, y, 4), Unsupported);
}

TEST_CASE("emulated CUDA window engine top-k: exact ties are ranked by image, then position", "[engine][tile][topk]") {
  // Constant training images: every key position of an image ties for every query pixel, and the
  // keys reach pixel m in shift order (m, m + 1, …, wrapping), not in position order.
  const ImageShape shape{1, 5, 6};
  Images train(20, shape), clean = random_images(1, shape, 371);
  for (std::size_t b = 0; b < train.n; ++b) std::fill(train.image(b), train.image(b) + shape.size(), 0.05 * double((b * 7) % 20));
  ForwardOperator A = make_forward_operator("denoise", shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::identity, A, Compat::consistent);
  Images y = make_measurements(clean, A, 0.1, 7);
  EstimatorSettings s = settings(EstimatorKind::lemmse, 3, 0.1);
  s.topk = 8;
  const EstimatorOutputs ref = run_estimator(s, Backend::reference, train, iota_ids(train.n), A, B, y);
  for (int slots : {1, 2}) {
    const EstimatorOutputs emu = run_emulated_topk(s, train, A, B, y, slots);
    for (std::size_t m = 0; m < shape.pixels(); ++m)
      for (std::size_t i = 0; i < 8; ++i) {
        const std::size_t o = i * shape.pixels() + m;
        INFO("slots " << slots << " pixel " << m << " entry " << i);
        REQUIRE(emu.topk_image[o] == ref.topk_image[o]);
        REQUIRE(emu.topk_position[o] == std::int64_t(i));  // the best image's positions 0 … 7
        REQUIRE(ref.topk_position[o] == std::int64_t(i));
      }
  }
}

TEST_CASE("emulated CUDA window engine: the training set streamed in chunks gives the same bits (tiled, band, top-k)", "[engine][tile][band][topk]") {
  // A training set that does not fit on the device is uploaded in chunks of whole slices, each
  // into a buffer of its own (WindowTileArgs::key0: its first image); the partial buffer holds one
  // chunk's slices, folded after each chunk into a carried state in slice order
  // (tile_carry_pixel): the same merges in the same order, so every output is the same bits. 5 slices, the last partial: chunks of 1, 2
  // (the last short) and 3 slices.
  const ImageShape shape{3, 13, 30};  // (a shape the band kernel takes)
  Images train = random_images(70, shape, 381), clean = random_images(2, shape, 382);
  ForwardOperator A = make_forward_operator("inpaint-box:5", shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::eps_mask, A, Compat::consistent);
  Images y = make_measurements(clean, A, 0.1, 8);
  for (EmulatedKernel kernel : {EmulatedKernel::tile, EmulatedKernel::band})
    for (int topk : {0, 5}) {
      if (kernel == EmulatedKernel::band && topk > 0) continue;  // (top-k runs the tiled kernel)
      EstimatorSettings s = settings(EstimatorKind::lemmse, 3, 0.1);
      s.variance = s.log_density = s.effective_count = true;
      s.topk = topk;
      const Problem p = build_problem(s, train, A, B);
      const EstimatorOutputs whole = emulate_window_engine(s, p, train, B, y, 1, kernel, false, 2);
      for (int chunk : {1, 2, 3}) {
        INFO("band=" << (kernel == EmulatedKernel::band) << " topk=" << topk << " chunk=" << chunk);
        const EstimatorOutputs part = emulate_window_engine(s, p, train, B, y, 1, kernel, false, 2, chunk);
        CHECK(std::memcmp(whole.estimate.data.data(), part.estimate.data.data(), whole.estimate.data.size() * 8) == 0);
        CHECK(std::memcmp(whole.variance.data.data(), part.variance.data.data(), whole.variance.data.size() * 8) == 0);
        CHECK(std::memcmp(whole.effective_count.data(), part.effective_count.data(), whole.effective_count.size() * 8) == 0);
        if (topk > 0) check_same_topk(whole, part);
        else CHECK(std::memcmp(whole.log_density.data(), part.log_density.data(), whole.log_density.size() * 8) == 0);
      }
    }
}
