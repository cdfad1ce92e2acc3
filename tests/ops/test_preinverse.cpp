#include <catch2/catch.hpp>
#include <cmath>

#include "lemmse/errors.hpp"
#include "lemmse/operators.hpp"
#include "support/naive_reference.hpp"

using namespace lemmse;

TEST_CASE("the inverse filter inverts the blur up to its regularisation", "[ops][preinverse]") {
  const ImageShape s{3, 16, 16};
  ForwardOperator A = make_forward_operator("blur-gaussian:0.7", s, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::inverse, A, Compat::consistent);
  Images x = lemmse_test::random_images(2, s, 5);
  Images bax = B.apply(A.apply(x));
  double err = 0;
  for (std::size_t i = 0; i < x.data.size(); ++i) err = std::max(err, std::fabs(bax.data[i] - x.data[i]));
  CHECK(err < 1e-5);
  // Noise autocorrelation: R(0) = Σ k_B², symmetric
  CHECK(B.noise_autocorr[1] == Approx(B.noise_autocorr[15]).epsilon(1e-12));
  CHECK(B.noise_autocorr[0] > B.noise_autocorr[1]);
}

TEST_CASE("the authors' inverse filter matches the consistent one for even sizes", "[ops][preinverse]") {
  const ImageShape s{1, 16, 16};
  ForwardOperator A = make_forward_operator("blur-gaussian:0.7", s, Compat::reference);
  PreInverse Bc = make_preinverse(PreinverseKind::inverse, A, Compat::consistent);
  PreInverse Br = make_preinverse(PreinverseKind::inverse, A, Compat::reference);
  Images x = lemmse_test::random_images(1, s, 9);
  Images a = Bc.apply(A.apply(x)), b = Br.apply(A.apply(x));
  for (std::size_t i = 0; i < a.data.size(); ++i) REQUIRE(a.data[i] == Approx(b.data[i]).margin(1e-4));
}

TEST_CASE("ε-mask values: exact in consistent mode, float32 as the authors' in reference mode", "[ops][preinverse]") {
  ForwardOperator A = make_forward_operator("inpaint-box:3", ImageShape{1, 8, 8}, Compat::consistent);
  PreInverse c = make_preinverse(PreinverseKind::eps_mask, A, Compat::consistent);
  PreInverse r = make_preinverse(PreinverseKind::eps_mask, A, Compat::reference);
  const std::size_t hole = 4 * 8 + 4;
  CHECK(c.inv_beta[hole] == Approx(1000.0).epsilon(1e-12));
  CHECK(r.inv_beta[hole] == 999.9999389648438);
  CHECK(r.inv_beta[0] == 1.0);
}

TEST_CASE("pre-inverses must match the problem", "[ops][preinverse][errors]") {
  const ImageShape s{1, 8, 8};
  ForwardOperator blur = make_forward_operator("blur-gaussian:1", s, Compat::consistent);
  ForwardOperator box = make_forward_operator("inpaint-box:3", s, Compat::consistent);
  ForwardOperator id = make_forward_operator("denoise", s, Compat::consistent);
  CHECK_THROWS_WITH(make_preinverse(PreinverseKind::mask, blur, Compat::consistent), Catch::Contains("inpainting"));
  CHECK_THROWS_WITH(make_preinverse(PreinverseKind::inverse, box, Compat::consistent), Catch::Contains("--preinverse mask"));
  CHECK(make_preinverse(PreinverseKind::inverse, id, Compat::consistent).kind == PreinverseKind::identity);
  CHECK_THROWS_AS(make_preinverse(PreinverseKind::eps_mask, box, Compat::consistent, 0.0), InvalidArgument);
}

TEST_CASE("a user-supplied filter pre-inverse: correlation with its kernel, invertible only", "[ops][preinverse]") {
  const ImageShape s{1, 8, 9};
  ForwardOperator blur = make_forward_operator("blur-gaussian:1", s, Compat::consistent);
  CHECK(parse_preinverse("filter") == PreinverseKind::filter);
  CHECK_THROWS_WITH(make_preinverse(PreinverseKind::filter, blur, Compat::consistent), Catch::Contains("--preinverse-kernel"));
  // the identity kernel is B = I; a 3×3 kernel acts as the blur operator built from the same array
  PreInverse id = make_filter_preinverse(blur, {1.0}, 1, 1, Compat::consistent);
  const std::vector<double> k{0, 1, 0, 1, 8, 1, 0, 1, 0};
  PreInverse B = make_filter_preinverse(blur, k, 3, 3, Compat::consistent);
  ForwardOperator K = make_kernel_operator(s, k, 3, 3, Compat::consistent, "k");
  Images x(1, s);
  for (std::size_t i = 0; i < x.data.size(); ++i) x.data[i] = std::sin(0.7 * double(i)) + 0.1 * double(i % 5);
  Images bx = B.apply(x), kx = K.apply(x), ix = id.apply(x);
  for (std::size_t i = 0; i < x.data.size(); ++i) {
    CHECK(ix.data[i] == Approx(x.data[i]).margin(1e-12));
    CHECK(bx.data[i] == Approx(kx.data[i]).margin(1e-12));
  }
  CHECK(id.noise_autocorr[0] == Approx(1.0));  // white: R = δ
  CHECK(std::fabs(id.noise_autocorr[5]) < 1e-12);
  // a difference kernel removes the mean: its transfer vanishes at frequency 0 on any grid
  CHECK_THROWS_WITH(make_filter_preinverse(blur, {-1, 1}, 1, 2, Compat::consistent), Catch::Contains("not invertible"));
  ForwardOperator box = make_forward_operator("inpaint-box:3", s, Compat::consistent);
  CHECK_THROWS_WITH(make_filter_preinverse(box, {1.0}, 1, 1, Compat::consistent), Catch::Contains("blur problem"));
}
