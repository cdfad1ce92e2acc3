// The fp64 reference on selected query rows (run_reference_rows): the listed rows carry the full
// run's bits, the others NaN; bad row lists are refused.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>

#include "engine/engine_helpers.hpp"
#include "lemmse/errors.hpp"

using namespace lemmse;
using namespace lemmse_test;

namespace {

// Every output of rows `rows` of `part` has the bits of `whole`; every other row's is NaN / empty.
void check_rows(const EstimatorOutputs& whole, const EstimatorOutputs& part, const std::vector<int>& rows) {
  const ImageShape sh = whole.estimate.shape;
  const std::size_t HW = sh.pixels(), W = std::size_t(sh.w), K = whole.estimate.n;
  std::vector<char> kept(std::size_t(sh.h), 0);
  for (int r : rows) kept[std::size_t(r)] = 1;
  // planes of HW values: the same bits in the kept rows, NaN elsewhere
  auto same_or_nan = [&](const std::vector<double>& a, const std::vector<double>& b, const char* what) {
    REQUIRE(a.size() == b.size());
    for (std::size_t k = 0; k < a.size() / HW; ++k)
      for (int r = 0; r < sh.h; ++r) {
        INFO(what << " plane " << k << " row " << r);
        const double* x = &a[k * HW + std::size_t(r) * W];
        const double* y = &b[k * HW + std::size_t(r) * W];
        if (kept[std::size_t(r)]) {
          CHECK(std::memcmp(x, y, W * 8) == 0);
        } else {
          bool all_nan = true;
          for (std::size_t j = 0; j < W; ++j) all_nan = all_nan && std::isnan(y[j]);
          CHECK(all_nan);
        }
      }
  };
  same_or_nan(whole.estimate.data, part.estimate.data, "estimate");
  same_or_nan(whole.variance.data, part.variance.data, "variance");
  same_or_nan(whole.log_density, part.log_density, "log-density");
  same_or_nan(whole.effective_count, part.effective_count, "effective count");
  const std::size_t k = std::size_t(whole.topk);
  REQUIRE(part.topk == whole.topk);
  for (std::size_t i = 0; i < K * k; ++i)
    for (std::size_t m = 0; m < HW; ++m) {
      const std::size_t o = i * HW + m;
      if (kept[m / W]) {
        CHECK(part.topk_image[o] == whole.topk_image[o]);
        CHECK(part.topk_position[o] == whole.topk_position[o]);
        CHECK(std::memcmp(&part.topk_log_weight[o], &whole.topk_log_weight[o], 8) == 0);
      } else {
        CHECK(part.topk_image[o] == -1);
      }
    }
  const double nshift_pixels = double(whole.pairs) / double(K * HW);
  CHECK(part.pairs == double(K) * double(rows.size() * W) * nshift_pixels);
}

}  // namespace

TEST_CASE("reference on selected rows: the listed rows carry the full run's bits, the others NaN", "[engine][reference-rows]") {
  const ImageShape shape{3, 11, 9};
  const Images train = random_images(7, shape, 801), clean = random_images(2, shape, 802);
  struct Case {
    const char* problem;
    PreinverseKind b;
    EstimatorKind e;
    int P;
  };
  for (const Case& c : {Case{"denoise", PreinverseKind::identity, EstimatorKind::lemmse, 5},
                        Case{"inpaint-box:3", PreinverseKind::mask, EstimatorKind::lemmse, 3},
                        Case{"inpaint-box:3", PreinverseKind::eps_mask, EstimatorKind::lmmse, 5},
                        Case{"blur-gaussian:1", PreinverseKind::inverse, EstimatorKind::lemmse, 3},
                        Case{"denoise", PreinverseKind::identity, EstimatorKind::mmse, 5}}) {
    INFO(c.problem << " " << to_string(c.b) << " " << to_string(c.e));
    const ForwardOperator A = make_forward_operator(c.problem, shape, Compat::consistent);
    const PreInverse B = make_preinverse(c.b, A, Compat::consistent);
    const Images y = make_measurements(clean, A, 0.1, 3);
    EstimatorSettings s = settings(c.e, c.P, 0.1);
    s.topk = 4;
    const EstimatorOutputs whole = estimate(s, train, A, B, y);
    for (const std::vector<int>& rows : {std::vector<int>{0}, std::vector<int>{10, 4, 0}, std::vector<int>{1, 2, 3, 5, 6, 7, 8, 9}}) {
      s.threads = int(rows.size()) % 3 + 1;  // (any thread count: the same bits)
      check_rows(whole, run_reference_rows(s, train, iota_ids(train.n), A, B, y, rows), rows);
    }
  }
}

TEST_CASE("reference on selected rows: rows outside the image, repeated or none are refused", "[engine][reference-rows]") {
  const ImageShape shape{1, 6, 5};
  const Images train = random_images(3, shape, 811), clean = random_images(1, shape, 812);
  const ForwardOperator A = make_forward_operator("denoise", shape, Compat::consistent);
  const PreInverse B = make_preinverse(PreinverseKind::identity, A, Compat::consistent);
  const Images y = make_measurements(clean, A, 0.1, 1);
  const EstimatorSettings s = settings(EstimatorKind::lemmse, 3, 0.1);
  auto run = [&](std::vector<int> rows) { return run_reference_rows(s, train, iota_ids(train.n), A, B, y, rows); };
  CHECK_THROWS_WITH(run({6}), Catch::Contains("row 6 is outside the images' rows 0 to 5"));
  CHECK_THROWS_WITH(run({-1}), Catch::Contains("row -1 is outside"));
  CHECK_THROWS_WITH(run({2, 3, 2}), Catch::Contains("row 2 is listed twice"));
  CHECK_THROWS_AS(run({}), InvalidArgument);
  CHECK_NOTHROW(run({5}));
}
