// The band kernel's arithmetic without a GPU (kernels/window_band.hpp, emulated by
// tests/kernels/tile_emulator.hpp): the accuracy bar of DESIGN.md §5 against the fp64 reference on
// random and real images, the screen's exactness (same bits with and without it), odd shapes
// (columns < 32, rows not a multiple of the band), and the shapes it refuses.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>

#include "engine/accuracy_bar.hpp"
#include "engine/problem.hpp"
#include "lemmse/errors.hpp"
#include "kernels/tile_emulator.hpp"
#include "support/scoped_env.hpp"

using namespace lemmse;
using namespace lemmse_test;

namespace {
// The band kernel where it fits, the tiled one elsewhere (whole-image windows), as on the device.
EstimatorOutputs run_band(const EstimatorSettings& s, const Images& train, const ForwardOperator& A, const PreInverse& B,
                          const Images& y) {
  return emulate_window_engine(s, build_problem(s, train, A, B), train, B, y, 1, EmulatedKernel::automatic);
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}
}  // namespace

TEST_CASE("emulated band kernel meets the accuracy bar on random images", "[engine][band]") {
  check_bar_on_random_images(run_band);
}

TEST_CASE("emulated band kernel: odd shapes and windows, P = 3 … 25", "[engine][band]") {
  // 28 columns (4 idle lanes, circular shuffles mod 28), 21 rows (a last band of 5 rows),
  // 32 × 32 (the full warp), a 9 × 13 image with a window as wide as 13 columns.
  struct Shape {
    ImageShape shape;
    std::vector<int> patches;
  };
  const std::vector<Shape> shapes = {{{1, 21, 28}, {3, 5, 17}}, {{3, 32, 32}, {7, 25}}, {{2, 9, 13}, {9}}};
  for (const Shape& sh : shapes) {
    Images train = random_images(3, sh.shape, 511), clean = random_images(1, sh.shape, 512);
    for (int P : sh.patches)
      check_bar(run_band, train, clean, "denoise", PreinverseKind::identity, Compat::consistent, EstimatorKind::lemmse, P, 0.05, Data::random);
  }
}

TEST_CASE("emulated band kernel meets the accuracy bar on real images", "[engine][band][real]") {
  const auto sets = real_sets(12, 6);
  if (sets.empty()) LEMMSE_SKIP("neither dataset-fashion-mnist nor LEMMSE_DATA_DIR is available");
  for (const auto& [train, clean] : sets)
    for (int P : {3, 5, 11, 17}) {
      for (double sigma : {0.001, 0.01, 0.1, 0.5})
        check_bar(run_band, train, clean, "denoise", PreinverseKind::identity, Compat::consistent, EstimatorKind::lemmse, P, sigma);
      if (P == 5)
        for (auto pre : {PreinverseKind::eps_mask, PreinverseKind::mask})
          for (EstimatorKind e : {EstimatorKind::lemmse, EstimatorKind::lmmse})
            check_bar(run_band, train, clean, "inpaint-box:15", pre, Compat::consistent, e, P, 0.05);
    }
}

TEST_CASE("emulated band kernel: the screen changes no bit", "[engine][band]") {
  // Every key through the exact path against the screened run: the cut is a proven bound, so the
  // same keys reach the softmax in the same order. Biases (ε-inverse mask) move the cut; binary-mask
  // strata skip keys after the screen.
  const ImageShape shape{3, 13, 30};
  Images train = random_images(20, shape, 521), clean = random_images(2, shape, 522);
  for (auto pre : {PreinverseKind::identity, PreinverseKind::eps_mask, PreinverseKind::mask})
    for (double sigma : {0.02, 0.2, 1.0})
      for (int P : {3, 7}) {
        ForwardOperator A = make_forward_operator("inpaint-box:5", shape, Compat::consistent);
        PreInverse B = make_preinverse(pre, A, Compat::consistent);
        Images y = make_measurements(clean, A, sigma, 7);
        EstimatorSettings s = settings(EstimatorKind::lemmse, P, sigma);
        s.variance = s.log_density = s.effective_count = true;
        const Problem p = build_problem(s, train, A, B);
        EstimatorOutputs screened = emulate_window_engine(s, p, train, B, y, 1, EmulatedKernel::band);
        EstimatorOutputs all = emulate_window_engine(s, p, train, B, y, 1, EmulatedKernel::band, true);
        INFO("B=" << to_string(pre) << " σ=" << sigma << " P=" << P);
        CHECK(same_bits(screened.estimate.data, all.estimate.data));
        CHECK(same_bits(screened.variance.data, all.variance.data));
        CHECK(same_bits(screened.log_density, all.log_density));
        CHECK(same_bits(screened.effective_count, all.effective_count));
      }
}

TEST_CASE("emulated band kernel: the exact path in queue order gives row order's bits", "[engine][band]") {
  // LEMMSE_BAND_EXACT=queue deals a warp's passing keys to its lanes; the keys of one shift belong
  // to distinct pixels, so the order cannot change a bit. Odd shapes (idle lanes, a short last
  // band), biases and binary-mask strata, both horizontal-sum types (P = 17: fp64).
  struct Case {
    ImageShape shape;
    int P;
  };
  for (const Case& c : {Case{{3, 13, 30}, 3}, Case{{3, 13, 30}, 7}, Case{{1, 21, 28}, 5}, Case{{2, 20, 20}, 17}}) {
    Images train = random_images(12, c.shape, 561), clean = random_images(2, c.shape, 562);
    for (auto pre : {PreinverseKind::identity, PreinverseKind::eps_mask, PreinverseKind::mask})
      for (double sigma : {0.02, 0.2, 1.0}) {
        ForwardOperator A = make_forward_operator("inpaint-box:5", c.shape, Compat::consistent);
        PreInverse B = make_preinverse(pre, A, Compat::consistent);
        Images y = make_measurements(clean, A, sigma, 7);
        EstimatorSettings s = settings(EstimatorKind::lemmse, c.P, sigma);
        s.variance = s.log_density = s.effective_count = true;
        const Problem p = build_problem(s, train, A, B);
        EstimatorOutputs row = emulate_window_engine(s, p, train, B, y, 1, EmulatedKernel::band);
        EstimatorOutputs queue = [&] {
          lemmse_test::ScopedEnv order("LEMMSE_BAND_EXACT", "queue");
          return emulate_window_engine(s, p, train, B, y, 1, EmulatedKernel::band);
        }();
        INFO("shape " << c.shape.c << "×" << c.shape.h << "×" << c.shape.w << " B=" << to_string(pre) << " σ=" << sigma << " P=" << c.P);
        CHECK(same_bits(row.estimate.data, queue.estimate.data));
        CHECK(same_bits(row.variance.data, queue.variance.data));
        CHECK(same_bits(row.log_density, queue.log_density));
        CHECK(same_bits(row.effective_count, queue.effective_count));
      }
  }
  lemmse_test::ScopedEnv bad("LEMMSE_BAND_EXACT", "diagonal");
  const ImageShape shape{1, 8, 8};
  Images train = random_images(2, shape, 563), clean = random_images(1, shape, 564);
  ForwardOperator A = make_forward_operator("denoise", shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::identity, A, Compat::consistent);
  EstimatorSettings s = settings(EstimatorKind::lemmse, 3, 0.1);
  CHECK_THROWS_AS(emulate_window_engine(s, build_problem(s, train, A, B), train, B, make_measurements(clean, A, 0.1, 1), 1,
                                        EmulatedKernel::band),
                  InvalidArgument);
}

TEST_CASE("emulated band kernel: σ → 0 gives the nearest patch's centre", "[engine][band][limits]") {
  check_exact_match_limit(run_band, ImageShape{2, 10, 11}, 531, 7, 5);
}

TEST_CASE("band kernel: shapes it takes and refuses", "[engine][band]") {
  auto args = [](int H, int W, int P, int whole) {
    WindowTileArgs a{};
    a.C = 1;
    a.H = H;
    a.W = W;
    a.HW = H * W;
    a.du0 = a.dv0 = -(P / 2);
    a.du1 = a.dv1 = P / 2;
    a.whole = whole;
    return a;
  };
  CHECK(band_fits(args(32, 32, 5, 0)));
  CHECK(band_fits(args(64, 28, 25, 0)));
  CHECK_FALSE(band_fits(args(32, 32, 5, 1)));   // whole-image window: one sum per shift
  CHECK_FALSE(band_fits(args(32, 33, 5, 0)));   // more columns than lanes
  CHECK_FALSE(band_fits(args(65, 32, 5, 0)));   // more rows than 8 warps cover
  CHECK_FALSE(band_fits(args(32, 32, 27, 0)));  // window beyond 25
  CHECK_FALSE(band_fits(args(7, 9, 9, 0)));     // window taller than the image
  CHECK(band_threads(args(21, 28, 3, 0)) == 96);
}
