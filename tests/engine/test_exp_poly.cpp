// The reference engine's vectorisable exp must be as accurate as libm over its domain.
#include <catch2/catch.hpp>
#include <cmath>

#include "kernels/exp_poly.hpp"

TEST_CASE("exp_poly is within 2 ulp of libm exp on [−708, 0]", "[engine][exp]") {
  double worst = 0;
  for (int i = 0; i <= 2000000; ++i) {
    const double x = -708.0 * i / 2000000.0 - (i % 7) * 1e-9;
    if (x < -708.0) continue;
    const double ref = std::exp(x), got = lemmse::exp_poly(x);
    worst = std::max(worst, std::fabs(got - ref) / (std::nextafter(ref, INFINITY) - ref));
  }
  CHECK(worst <= 2.0);
  CHECK(lemmse::exp_poly(0.0) == 1.0);
  CHECK(lemmse::exp_poly(-708.0) > 0.0);
}

TEST_CASE("exp_poly_f is within a few float ulp of exp on [−87, 0]", "[engine][exp]") {
  double worst = 0;
  for (int i = 0; i <= 2000000; ++i) {
    const float x = float(-87.0 * i / 2000000.0);
    const double ref = std::exp(double(x));
    const float got = lemmse::exp_poly_f(x);
    const float fr = float(ref);
    worst = std::max(worst, std::fabs(double(got) - ref) / (double(std::nextafter(fr, INFINITY)) - double(fr)));
  }
  CHECK(worst <= 4.0);
  CHECK(lemmse::exp_poly_f(0.0f) == 1.0f);
}
