#include <catch2/catch.hpp>
#include <cmath>

#include "lemmse/errors.hpp"
#include "lemmse/io.hpp"
#include "lemmse/operators.hpp"
#include "support/naive_reference.hpp"
#include "support/skip.hpp"

using namespace lemmse;

TEST_CASE("centred inpainting box sits where the paper puts it", "[ops][mask]") {
  ForwardOperator a = make_forward_operator("inpaint-box:15", ImageShape{3, 32, 32}, Compat::consistent);
  for (int r = 0; r < 32; ++r)
    for (int c = 0; c < 32; ++c) {
      const bool hole = r >= 9 && r <= 23 && c >= 9 && c <= 23;
      REQUIRE(a.mask[r * 32 + c] == (hole ? 0.0 : 1.0));
    }
  ForwardOperator b = make_forward_operator("inpaint-box:15", ImageShape{1, 28, 28}, Compat::consistent);
  CHECK(b.mask[7 * 28 + 7] == 0.0);
  CHECK(b.mask[21 * 28 + 21] == 0.0);
  CHECK(b.mask[6 * 28 + 7] == 1.0);
  CHECK(b.mask[22 * 28 + 21] == 1.0);
}

TEST_CASE("random masks drop about the requested fraction, reproducibly", "[ops][mask]") {
  auto m1 = make_forward_operator("inpaint-random:30", ImageShape{1, 64, 64}, Compat::consistent, 7).mask;
  auto m2 = make_forward_operator("inpaint-random:30", ImageShape{1, 64, 64}, Compat::consistent, 7).mask;
  auto m3 = make_forward_operator("inpaint-random:30", ImageShape{1, 64, 64}, Compat::consistent, 8).mask;
  CHECK(m1 == m2);
  CHECK(m1 != m3);
  double missing = 0;
  for (double v : m1) missing += v == 0;
  CHECK(missing / m1.size() == Approx(0.30).margin(0.03));
}

TEST_CASE("blur is a circular cross-correlation with the kernel centre at offset 0", "[ops][blur]") {
  const std::string dir = lemmse_test::temp_dir("kernel");
  // An asymmetric 3×2 kernel: correlation and convolution differ.
  std::vector<double> k = {0.1, 0.2, 0.0, 0.4, 0.25, 0.05};
  write_npy_f64(dir + "/k.npy", {3, 2}, k);
  const ImageShape s{2, 5, 6};
  ForwardOperator A = make_forward_operator("blur-kernel:" + dir + "/k.npy", s, Compat::consistent);
  Images x = lemmse_test::random_images(1, s, 3);
  Images y = A.apply(x);
  // (A x)[c,i,j] = Σ k[1+du, 1+dv] x[c, i+du, j+dv], centre (kh/2, kw/2) = (1, 1)
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < 5; ++i)
      for (int j = 0; j < 6; ++j) {
        double v = 0;
        for (int u = 0; u < 3; ++u)
          for (int w = 0; w < 2; ++w) v += k[u * 2 + w] * x.data[c * 30 + ((i + u - 1 + 5) % 5) * 6 + (j + w - 1 + 6) % 6];
        REQUIRE(y.data[c * 30 + i * 6 + j] == Approx(v).margin(1e-14));
      }
}

TEST_CASE("Gaussian and disk kernels follow the paper's grid", "[ops][blur]") {
  ForwardOperator g = make_forward_operator("blur-gaussian:1.0", ImageShape{1, 32, 32}, Compat::consistent);
  double sum = 0;
  for (double v : g.kernel) sum += v;
  CHECK(sum == Approx(1.0).epsilon(1e-14));
  CHECK(g.kernel[0] == Approx(1.0 / (2 * M_PI)).epsilon(1e-3));  // peak at offset 0
  CHECK(g.kernel[1] == Approx(g.kernel[31]).epsilon(1e-14));     // symmetric
  ForwardOperator d = make_forward_operator("blur-disk:2", ImageShape{1, 32, 32}, Compat::consistent);
  int support = 0;
  for (double v : d.kernel) support += v > 0;
  CHECK(support == 13);  // the paper's r = 2 disk has 13 pixels
  ForwardOperator r = make_forward_operator("blur-gaussian:1.0", ImageShape{1, 32, 32}, Compat::reference);
  for (double v : r.kernel) CHECK(double(float(v)) == v);  // reference: float32 kernel values
}

TEST_CASE("operator specs are validated", "[ops][errors]") {
  const ImageShape s{1, 8, 8};
  CHECK_THROWS_WITH(make_forward_operator("blur", s, Compat::consistent), Catch::Contains("unknown --problem"));
  CHECK_THROWS_AS(make_forward_operator("inpaint-box:9", s, Compat::consistent), InvalidArgument);
  CHECK_THROWS_AS(make_forward_operator("inpaint-box:abc", s, Compat::consistent), InvalidArgument);
  CHECK_THROWS_AS(make_forward_operator("inpaint-random:120", s, Compat::consistent), InvalidArgument);
  CHECK_THROWS_AS(make_forward_operator("blur-gaussian:0", s, Compat::consistent), InvalidArgument);
  CHECK_THROWS_AS(make_forward_operator("blur-gaussian:nan", s, Compat::consistent), InvalidArgument);
  CHECK_THROWS_AS(make_forward_operator("denoise:3", s, Compat::consistent), InvalidArgument);
  CHECK_THROWS_WITH(make_forward_operator("inpaint-box", s, Compat::consistent), Catch::Contains("needs a parameter"));
  const std::string dir = lemmse_test::temp_dir("mask-bad");
  write_npy_f64(dir + "/m.npy", {8, 7}, std::vector<double>(56, 1.0));
  CHECK_THROWS_WITH(make_forward_operator("inpaint-mask:" + dir + "/m.npy", s, Compat::consistent), Catch::Contains("8×7"));
  write_npy_f64(dir + "/h.npy", {8, 8}, std::vector<double>(64, 0.5));
  CHECK_THROWS_WITH(make_forward_operator("inpaint-mask:" + dir + "/h.npy", s, Compat::consistent), Catch::Contains("0 (missing) or 1"));
  write_npy_f64(dir + "/big.npy", {9, 9}, std::vector<double>(81, 0.1));
  CHECK_THROWS_WITH(make_forward_operator("blur-kernel:" + dir + "/big.npy", s, Compat::consistent), Catch::Contains("larger than"));
}
