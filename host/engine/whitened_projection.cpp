#include "engine/whitened_projection.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

#include "lemmse/errors.hpp"

namespace lemmse {
namespace {

constexpr std::size_t kSampleImages = 4;  // training images the covariance is estimated from
constexpr int kIterations = 12;           // orthogonal iterations (any orthonormal basis is correct; a better one prunes more)

// Modified Gram–Schmidt, twice over, on the m columns of the d × m row-major matrix a.
void orthonormalise(std::vector<double>& a, int d, int m) {
  for (int pass = 0; pass < 2; ++pass)
    for (int j = 0; j < m; ++j) {
      for (int k = 0; k < j; ++k) {
        double dot = 0;
        for (int r = 0; r < d; ++r) dot += a[std::size_t(r) * m + k] * a[std::size_t(r) * m + j];
        for (int r = 0; r < d; ++r) a[std::size_t(r) * m + j] -= dot * a[std::size_t(r) * m + k];
      }
      double nn = 0;
      for (int r = 0; r < d; ++r) nn += a[std::size_t(r) * m + j] * a[std::size_t(r) * m + j];
      const double inv = nn > 0 ? 1.0 / std::sqrt(nn) : 0.0;
      for (int r = 0; r < d; ++r) a[std::size_t(r) * m + j] *= inv;
    }
}

}  // namespace

int whitened_projection_columns(int d) {
  if (const char* env = std::getenv("LEMMSE_WHITENED_PROJECTION")) {
    const std::string v(env);
    char* end = nullptr;
    const long m = std::strtol(env, &end, 10);
    if (v.empty() || *end != '\0' || m < 0) throw InvalidArgument("LEMMSE_WHITENED_PROJECTION must be a number of basis columns ≥ 0, not '" + v + "'");
    return int(std::min<long>(std::min<long>(m, 64), d - 1));
  }
  // Measured (CIFAR-10, 64 training images, σ = 0.01 / 0.1, 1 thread): m = 2, 4, 8, 16 at P = 11
  // took 748 / 709 / 749 / 923 ms at σ = 0.01 (no first stage: 983); at P = 5 m = 2 and 4 tied
  // (173 ms; none: 208). Past a few columns the projection itself costs more than it prunes.
  return std::min(d - 1, 4);
}

WhitenedProjection make_whitened_projection(const Problem& p, int m) {
  WhitenedProjection pr;
  pr.C = p.C;
  pr.d = p.d;
  pr.m = m;
  const int d = p.d;
  const std::size_t L = std::size_t(p.C) * d;
  // Covariance of whitened patches (every channel's as one sample) of the first training images.
  std::vector<double> cov(std::size_t(d) * d, 0.0), mean(std::size_t(d), 0.0), z;
  double count = 0;
  // (a whitened problem's keys B A x are never the training images themselves: B is a filter)
  for (std::size_t b = 0; b < std::min(kSampleImages, p.own_keys.n); ++b) {
    whiten_patches_fast(p, p.own_keys.image(b), z);
    for (std::size_t v = 0; v < z.size() / std::size_t(d); ++v) {
      const double* x = &z[v * std::size_t(d)];
      for (int r = 0; r < d; ++r) {
        mean[std::size_t(r)] += x[r];
        for (int c = 0; c <= r; ++c) cov[std::size_t(r) * d + c] += x[r] * x[c];
      }
      count += 1;
    }
  }
  (void)L;
  for (int r = 0; r < d; ++r)
    for (int c = 0; c <= r; ++c) {
      const double v = count > 0 ? cov[std::size_t(r) * d + c] / count - mean[std::size_t(r)] * mean[std::size_t(c)] / (count * count) : 0.0;
      cov[std::size_t(r) * d + c] = cov[std::size_t(c) * d + r] = v;
    }
  // Orthogonal iteration from the first m coordinate vectors, perturbed so no column starts
  // orthogonal to the leading directions.
  std::vector<double>& q = pr.basis;
  q.assign(std::size_t(d) * m, 0.0);
  for (int r = 0; r < d; ++r)
    for (int j = 0; j < m; ++j) q[std::size_t(r) * m + j] = (r == j ? 1.0 : 0.0) + 1e-3 * std::cos(0.7 * r * (j + 1) + 0.3 * j);
  orthonormalise(q, d, m);
  std::vector<double> y(q.size());
  for (int it = 0; it < kIterations; ++it) {
    for (int r = 0; r < d; ++r)
      for (int j = 0; j < m; ++j) {
        double s = 0;
        for (int k = 0; k < d; ++k) s += cov[std::size_t(r) * d + k] * q[std::size_t(k) * m + j];
        y[std::size_t(r) * m + j] = s;
      }
    q.swap(y);
    orthonormalise(q, d, m);
  }
  // ‖QᵀQ − I‖_F, the basis's departure from orthonormality, into the coordinates' error bound
  // (WhitenedProjection::coord_error: the basis drift counted thrice, fp64 rounding of the
  // d-term dot products and of the residual generously, then all of it four times over).
  double eta = 0;
  for (int j = 0; j < m; ++j)
    for (int k = 0; k < m; ++k) {
      double dot = 0;
      for (int r = 0; r < d; ++r) dot += q[std::size_t(r) * m + j] * q[std::size_t(r) * m + k];
      eta += (dot - (j == k ? 1.0 : 0.0)) * (dot - (j == k ? 1.0 : 0.0));
    }
  eta = std::sqrt(eta);
  constexpr double u64 = 1.1102230246251565e-16;
  pr.coord_error = 4 * (6 * eta + 10 * double(d) * u64 * std::sqrt(double(m) + 1));
  return pr;
}

namespace {
// WhitenedProjection::project for m = MC columns (0: m at run time), so that the default's
// column loops unroll and stay in registers.
template <int MC>
void project_vectors(const WhitenedProjection& pr, const double* z, std::size_t n, std::vector<double>& out, double& max_abs, double& max_norm) {
  const int C = pr.C, d = pr.d;
  const std::size_t L = std::size_t(C) * d, D = std::size_t(pr.dims()), M = MC > 0 ? std::size_t(MC) : std::size_t(pr.m);
  constexpr std::size_t kMaxLocal = 64;
  out.resize(n * D);
  for (std::size_t v = 0; v < n; ++v) {
    double* x = &out[v * D];
    double r2 = 0, z2 = 0;
    for (int c = 0; c < C; ++c) {
      const double* zc = z + v * L + std::size_t(c) * d;
      double s[MC > 0 ? MC : kMaxLocal] = {};
      for (int r = 0; r < d; ++r) {  // s = Qᵀz_c, the basis read row by row (its m columns contiguous)
        const double* q = &pr.basis[std::size_t(r) * M];
        for (std::size_t j = 0; j < M; ++j) s[j] += q[j] * zc[r];
        z2 += zc[r] * zc[r];
      }
      for (int r = 0; r < d; ++r) {  // the part outside the basis, z_c − Q s
        const double* q = &pr.basis[std::size_t(r) * M];
        double e = zc[r];
        for (std::size_t j = 0; j < M; ++j) e -= q[j] * s[j];
        r2 += e * e;
      }
      for (std::size_t j = 0; j < M; ++j) x[std::size_t(c) * M + j] = s[j];
    }
    x[D - 1] = std::sqrt(r2);
    for (std::size_t e = 0; e < D; ++e) max_abs = std::max(max_abs, std::fabs(x[e]));
    max_norm = std::max(max_norm, std::sqrt(z2));
  }
}
}  // namespace

void WhitenedProjection::project(const double* z, std::size_t n, std::vector<double>& out, double& max_abs, double& max_norm) const {
  if (m == 4) return project_vectors<4>(*this, z, n, out, max_abs, max_norm);
  if (m > 64) throw InvalidArgument("the whitened projection takes at most 64 columns per channel");
  return project_vectors<0>(*this, z, n, out, max_abs, max_norm);
}

}  // namespace lemmse
