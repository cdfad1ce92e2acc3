#include "support/naive_reference.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <system_error>
#include <vector>

#include "support/skip.hpp"

using namespace lemmse;

namespace lemmse_test {

std::string data_dir() {
  const char* d = std::getenv("LEMMSE_DATA_DIR");
  if (!d || !*d || !std::filesystem::is_directory(d)) return "";
  return d;
}

std::string fashion_mnist_dir() {
  const std::string d = "/usr/share/datasets/fashion-mnist";
  return std::filesystem::exists(d + "/train-images-idx3-ubyte.gz") ? d : "";
}

namespace {
// The directories temp_dir made, removed when the test process exits normally (each ctest case is
// its own process: /tmp no longer collects a few dozen directories per suite run).
struct TempDirs {
  std::vector<std::filesystem::path> paths;
  ~TempDirs() {
    std::error_code ec;  // (best effort: never throw from a destructor)
    for (const auto& p : paths) std::filesystem::remove_all(p, ec);
  }
};
TempDirs& temp_dirs() {
  static TempDirs d;
  return d;
}
}  // namespace

std::string temp_dir(const std::string& tag) {
  auto p = std::filesystem::temp_directory_path() / ("lemmse-test-" + tag + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  temp_dirs().paths.push_back(p);
  return p.string();
}

Images random_images(std::size_t n, ImageShape s, unsigned seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Images im(n, s);
  for (double& v : im.data) v = u(g);
  return im;
}

namespace {
long md(long i, long n) { return ((i % n) + n) % n; }

// Solves S x = b (dense, partial pivoting); S is copied.
std::vector<double> solve(std::vector<double> S, std::vector<double> b) {
  const int d = int(b.size());
  for (int k = 0; k < d; ++k) {
    int piv = k;
    for (int i = k + 1; i < d; ++i)
      if (std::fabs(S[i * d + k]) > std::fabs(S[piv * d + k])) piv = i;
    for (int j = 0; j < d; ++j) std::swap(S[k * d + j], S[piv * d + j]);
    std::swap(b[k], b[piv]);
    for (int i = k + 1; i < d; ++i) {
      const double f = S[i * d + k] / S[k * d + k];
      for (int j = k; j < d; ++j) S[i * d + j] -= f * S[k * d + j];
      b[i] -= f * b[k];
    }
  }
  std::vector<double> x(d);
  for (int i = d - 1; i >= 0; --i) {
    double v = b[i];
    for (int j = i + 1; j < d; ++j) v -= S[i * d + j] * x[j];
    x[i] = v / S[i * d + i];
  }
  return x;
}

struct Key {
  double logit;
  std::vector<double> value;
};

void reduce(const std::vector<Key>& keys, int C, std::size_t m, std::size_t HW, NaiveResult& r) {
  double mx = -INFINITY;
  for (const Key& k : keys) mx = std::max(mx, k.logit);
  double s = 0;
  std::vector<double> mean(C, 0.0);
  for (const Key& k : keys) {
    const double w = std::exp(k.logit - mx);
    s += w;
    for (int c = 0; c < C; ++c) mean[c] += w * k.value[c];
  }
  for (int c = 0; c < C; ++c) mean[c] /= s;
  std::vector<double> var(C, 0.0);
  for (const Key& k : keys) {
    const double w = std::exp(k.logit - mx) / s;
    for (int c = 0; c < C; ++c) var[c] += w * (k.value[c] - mean[c]) * (k.value[c] - mean[c]);
  }
  for (int c = 0; c < C; ++c) {
    r.estimate[c * HW + m] = mean[c];
    r.variance[c * HW + m] = var[c];
  }
  r.log_density[m] = mx + std::log(s);
  r.max_logit[m] = mx;
}
}  // namespace

NaiveResult naive_estimate(EstimatorKind est, int P, double sigma, Compat compat, const Images& train,
                           const ForwardOperator& A, const PreInverse& B, const double* y) {
  const int C = train.shape.c, H = train.shape.h, W = train.shape.w;
  const std::size_t HW = std::size_t(H) * W;
  NaiveResult r;
  r.estimate.assign(C * HW, 0);
  r.variance.assign(C * HW, 0);
  r.log_density.assign(HW, 0);
  r.max_logit.assign(HW, 0);
  const double s2 = 2 * sigma * sigma;
  auto at = [&](const double* img, int c, long i, long j) { return img[c * HW + md(i, H) * W + md(j, W)]; };
  const Images Ax = A.apply(train);

  if (est == EstimatorKind::mmse || est == EstimatorKind::emmse) {
    // ℓ(b,k) = −‖y − T_k A x_b‖²/(2σ²), value T_k x_b; MMSE: k = identity shift only.
    // (Invertible B is ignored by these estimators, ESTIMATORS.md §5.1–5.2.)
    const long oh = (H - 1) / 2, ow = (W - 1) / 2;
    std::vector<std::vector<Key>> keys(HW);
    for (std::size_t b = 0; b < train.n; ++b)
      for (long i = 0; i < H; ++i)
        for (long j = 0; j < W; ++j) {
          if (est == EstimatorKind::mmse && !(i == oh && j == ow)) continue;
          double d = 0;
          for (int c = 0; c < C; ++c)
            for (long rr = 0; rr < H; ++rr)
              for (long q = 0; q < W; ++q) {
                const double e = y[c * HW + rr * W + q] - at(Ax.image(b), c, rr + i - oh, q + j - ow);
                d += e * e;
              }
          for (long rr = 0; rr < H; ++rr)
            for (long q = 0; q < W; ++q) {
              Key k{-d / s2, std::vector<double>(C)};
              for (int c = 0; c < C; ++c) k.value[c] = at(train.image(b), c, rr + i - oh, q + j - ow);
              keys[rr * W + q].push_back(k);
            }
        }
    for (std::size_t m = 0; m < HW; ++m) reduce(keys[m], C, m, HW, r);
    return r;
  }

  // LE-MMSE / L-MMSE, patches Π_n(z)[c,u,w] = z[c, i−a+u, j−a+w]
  const int a = (P - 1) / 2;
  std::vector<double> v(y, y + C * HW);
  if (B.kind != PreinverseKind::identity) B.apply(y, v.data(), C);
  Images keysrc = Ax;
  if (B.kind != PreinverseKind::identity) keysrc = B.apply(Ax);

  // Dense patch covariance of B e for the whitened case: S = G Gᵀ, G = rows of B at a patch.
  std::vector<double> S;
  const int d = P * P;
  if (B.kind == PreinverseKind::inverse) {
    std::vector<double> Bm(HW * HW), imp(HW), col(HW);
    for (std::size_t q = 0; q < HW; ++q) {
      std::fill(imp.begin(), imp.end(), 0.0);
      imp[q] = 1;
      B.apply(imp.data(), col.data(), 1);
      for (std::size_t p = 0; p < HW; ++p) Bm[p * HW + q] = col[p];
    }
    S.assign(d * d, 0);
    for (int i1 = 0; i1 < d; ++i1)
      for (int i2 = 0; i2 < d; ++i2) {
        const std::size_t p1 = md(-a + i1 / P, H) * W + md(-a + i1 % P, W), p2 = md(-a + i2 / P, H) * W + md(-a + i2 % P, W);
        double sum = 0;
        for (std::size_t q = 0; q < HW; ++q) sum += Bm[p1 * HW + q] * Bm[p2 * HW + q];
        S[i1 * d + i2] = sum;
      }
  }

  for (long mi = 0; mi < H; ++mi)
    for (long mj = 0; mj < W; ++mj) {
      const std::size_t m = mi * W + mj;
      // strata for the binary mask
      std::vector<char> eligible(HW, 1);
      std::vector<int> rank(HW, 0);
      if (B.kind == PreinverseKind::mask && est == EstimatorKind::lemmse) {
        std::vector<char> in(HW, 0);
        int best = -1;
        double norm2 = 0;
        for (int c = 0; c < C; ++c)
          for (int u = 0; u < P; ++u)
            for (int w = 0; w < P; ++w) norm2 += std::pow(at(v.data(), c, mi - a + u, mj - a + w), 2);
        for (long ni = 0; ni < H; ++ni)
          for (long nj = 0; nj < W; ++nj) {
            double out2 = 0;
            int rnk = 0;
            for (int u = 0; u < P; ++u)
              for (int w = 0; w < P; ++w) {
                const double Mn = B.mask[md(ni - a + u, H) * W + md(nj - a + w, W)];
                rnk += Mn != 0;
                for (int c = 0; c < C; ++c) out2 += std::pow((1 - Mn) * at(v.data(), c, mi - a + u, mj - a + w), 2);
              }
            const std::size_t n = ni * W + nj;
            rank[n] = rnk;
            const double lhs = std::sqrt(out2), rhs = 1e-4 * std::sqrt(norm2);
            in[n] = compat == Compat::reference ? lhs < rhs : lhs <= rhs;
            if (in[n] && (best < 0 || rnk < best)) best = rnk;
          }
        for (std::size_t n = 0; n < HW; ++n) eligible[n] = best < 0 ? 1 : (in[n] && rank[n] == best);
      } else if (B.kind == PreinverseKind::mask) {
        for (long ni = 0; ni < H; ++ni)
          for (long nj = 0; nj < W; ++nj) {
            int rnk = 0;
            for (int u = 0; u < P; ++u)
              for (int w = 0; w < P; ++w) rnk += B.mask[md(ni - a + u, H) * W + md(nj - a + w, W)] != 0;
            rank[ni * W + nj] = rnk;
          }
      }
      std::vector<Key> keys;
      for (std::size_t b = 0; b < train.n; ++b)
        for (long ni = 0; ni < H; ++ni)
          for (long nj = 0; nj < W; ++nj) {
            const std::size_t n = ni * W + nj;
            if (est == EstimatorKind::lmmse && n != m) continue;
            if (!eligible[n]) continue;
            double l = 0;
            if (B.kind == PreinverseKind::identity || B.kind == PreinverseKind::mask) {
              for (int c = 0; c < C; ++c)
                for (int u = 0; u < P; ++u)
                  for (int w = 0; w < P; ++w) {
                    const double Mn = B.kind == PreinverseKind::mask ? B.mask[md(ni - a + u, H) * W + md(nj - a + w, W)] : 1.0;
                    const double e = Mn * at(keysrc.image(b), c, ni - a + u, nj - a + w) - Mn * at(v.data(), c, mi - a + u, mj - a + w);
                    l -= e * e / s2;
                  }
              if (B.kind == PreinverseKind::mask)
                l -= compat == Compat::reference ? 0.5 * C * rank[n] * std::log(2 * M_PI)
                                                 : C * rank[n] * (0.5 * std::log(2 * M_PI) + std::log(sigma));
            } else if (B.kind == PreinverseKind::eps_mask) {
              const double kappa = compat == Compat::consistent ? C : 1;
              for (int u = 0; u < P; ++u)
                for (int w = 0; w < P; ++w) {
                  const std::size_t kp = md(ni - a + u, H) * W + md(nj - a + w, W);
                  for (int c = 0; c < C; ++c) {
                    const double e = A.mask[kp] * at(train.image(b), c, ni - a + u, nj - a + w) - B.inv_beta[kp] * at(v.data(), c, mi - a + u, mj - a + w);
                    l -= e * e / s2;
                  }
                  l += kappa * std::log(B.inv_beta[kp]);
                }
            } else {  // whitened: −½ Σ_c d_cᵀ S⁻¹ d_c / σ²
              for (int c = 0; c < C; ++c) {
                std::vector<double> dv(d);
                for (int u = 0; u < P; ++u)
                  for (int w = 0; w < P; ++w)
                    dv[u * P + w] = at(keysrc.image(b), c, ni - a + u, nj - a + w) - at(v.data(), c, mi - a + u, mj - a + w);
                const std::vector<double> z = solve(S, dv);
                double q = 0;
                for (int i = 0; i < d; ++i) q += dv[i] * z[i];
                l -= q / s2;
              }
            }
            Key k{l, std::vector<double>(C)};
            for (int c = 0; c < C; ++c) k.value[c] = train.image(b)[c * HW + n];
            keys.push_back(k);
          }
      reduce(keys, C, m, HW, r);
    }
  return r;
}

}  // namespace lemmse_test
