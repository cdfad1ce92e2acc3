// The whitened screen's projected first stage (engine/whitened_projection.hpp) on its own: an
// orthonormal basis; projected distances never above the whitened distance by more than the
// coordinates' stated error, on random and real patches; and close to it when the basis is nearly
// complete, so the bound is a real one (not 0).
#include <catch2/catch.hpp>
#include <cmath>

#include "engine/accuracy_bar.hpp"
#include "engine/problem.hpp"
#include "engine/whitened_projection.hpp"
#include "lemmse/datasets.hpp"

using namespace lemmse;
using namespace lemmse_test;

namespace {
double dist2(const double* a, const double* b, std::size_t n) {
  double s = 0;
  for (std::size_t e = 0; e < n; ++e) s += (a[e] - b[e]) * (a[e] - b[e]);
  return s;
}
}  // namespace

TEST_CASE("whitened projection: an orthonormal basis whose distances bound the whitened ones from below",
          "[engine][cpu][whitened][screen]") {
  std::vector<std::pair<Images, Images>> sets;
  sets.emplace_back(random_images(10, ImageShape{3, 8, 9}, 581), random_images(1, ImageShape{3, 8, 9}, 582));
  for (auto& real : real_sets(10, 10)) sets.push_back(std::move(real));
  for (const auto& [train, clean] : sets)
    for (int P : {3, 5}) {
      ForwardOperator A = make_forward_operator("blur-gaussian:1", clean.shape, Compat::consistent);
      PreInverse B = make_preinverse(PreinverseKind::inverse, A, Compat::consistent);
      EstimatorSettings s = settings(EstimatorKind::lemmse, P, 0.05);
      const Problem p = build_problem(s, train, A, B);
      const Images y = make_measurements(clean, A, 0.05, 7);
      std::vector<double> zq, zk;
      whiten_patches(p, build_query(p, s, B, y.image(0)).q.data(), zq);
      whiten_patches(p, p.keys(train).image(train.n - 1), zk);  // (not one of the images the basis was fitted to)
      const std::size_t L = std::size_t(p.C) * p.d, n = p.HW;
      for (int m : {1, 4, p.d - 1}) {
        INFO("C=" << p.C << " P=" << P << " m=" << m);
        const WhitenedProjection pr = make_whitened_projection(p, m);
        REQUIRE(pr.dims() == p.C * m + 1);
        for (int j = 0; j < m; ++j)
          for (int k = 0; k < m; ++k) {
            double dot = 0;
            for (int r = 0; r < p.d; ++r) dot += pr.basis[std::size_t(r) * m + j] * pr.basis[std::size_t(r) * m + k];
            CHECK(std::fabs(dot - (j == k ? 1.0 : 0.0)) < 1e-13);
          }
        std::vector<double> xq, xk;
        double amax = 0, zmax = 0;
        pr.project(zq.data(), n, xq, amax, zmax);
        pr.project(zk.data(), n, xk, amax, zmax);
        CHECK(zmax > 0);
        const double slack = 2 * pr.coord_error * zmax;
        const std::size_t dims = std::size_t(pr.dims());
        double worst_gap = 0, worst_excess = -INFINITY;
        for (std::size_t a = 0; a < n; ++a)
          for (std::size_t b = 0; b < n; ++b) {
            const double D = dist2(&zq[a * L], &zk[b * L], L), Dx = dist2(&xq[a * dims], &xk[b * dims], dims);
            worst_excess = std::max(worst_excess, std::sqrt(Dx) - std::sqrt(D) - slack);
            worst_gap = std::max(worst_gap, (D - Dx) / D);
          }
        CHECK(worst_excess <= 0);
        // ‖x‖ = ‖z‖ (the residual norm completes it), and a basis missing one direction leaves
        // little of any distance out of the bound on these smooth whitened patches.
        for (std::size_t a = 0; a < n; ++a) {
          double x2 = 0, z2 = 0;
          for (std::size_t e = 0; e < dims; ++e) x2 += xq[a * dims + e] * xq[a * dims + e];
          for (std::size_t e = 0; e < L; ++e) z2 += zq[a * L + e] * zq[a * L + e];
          CHECK(x2 == Approx(z2).epsilon(1e-10));
        }
        if (m == p.d - 1) CHECK(worst_gap < 0.05);  // (measured: 1e-4 … 1.3e-2)
      }
    }
}
