#include <catch2/catch.hpp>
#include <cmath>

#include "lemmse/datasets.hpp"
#include "lemmse/errors.hpp"

using namespace lemmse;

TEST_CASE("built-in images are deterministic, 8-bit, varied and structured", "[data][builtin]") {
  for (const std::string v : {"gray28", "rgb32"}) {
    Images a = builtin_images(v, Split::train, 10, 20);
    Images b = builtin_images(v, Split::train, 15, 3);  // a sub-range regenerates the same images
    REQUIRE(a.shape == builtin_shape(v));
    for (std::size_t k = 0; k < a.shape.size() * 3; ++k) CHECK(a.data[5 * a.shape.size() + k] == b.data[k]);
    for (double x : a.data) {
      REQUIRE(x >= 0.0);
      REQUIRE(x <= 1.0);
      REQUIRE(std::round(x * 255) == x * 255);
    }
    // Different images differ; each image has edges (large neighbour jumps) and flat areas.
    std::size_t flat = 0, edge = 0, pairs = 0;
    for (std::size_t i = 0; i < a.n; ++i) {
      const double* im = a.image(i);
      CHECK(std::vector<double>(im, im + a.shape.size()) != std::vector<double>(a.image((i + 1) % a.n), a.image((i + 1) % a.n) + a.shape.size()));
      for (int y = 0; y < a.shape.h; ++y)
        for (int x = 0; x + 1 < a.shape.w; ++x) {
          const double d = std::fabs(im[y * a.shape.w + x + 1] - im[y * a.shape.w + x]);
          flat += d < 2.5 / 255;
          edge += d > 0.15;
          ++pairs;
        }
    }
    CHECK(flat > pairs / 4);
    CHECK(edge > pairs / 200);
  }
  // The test split is not the train split.
  CHECK(builtin_images("gray28", Split::test, 0, 1).data != builtin_images("gray28", Split::train, 0, 1).data);
}

TEST_CASE("built-in dataset bounds and variants are checked", "[data][builtin][errors]") {
  CHECK_THROWS_AS(builtin_images("gray28", Split::test, kBuiltinTestSize, 1), InvalidArgument);
  CHECK_THROWS_AS(builtin_shape("rgb64"), InvalidArgument);
}
