#include "engine/whitened_setup.hpp"

#include <cmath>
#include <cstdlib>

#include "kernels/online_softmax.hpp"
#include "lemmse/errors.hpp"

namespace lemmse {

std::vector<double> whitening_inverse(const Problem& p) {
  const int d = p.d;
  std::vector<double> inv(std::size_t(d) * d, 0.0);
  for (int col = 0; col < d; ++col)  // column col of G⁻¹: solve G z = e_col
    for (int r = col; r < d; ++r) {
      double v = r == col ? 1.0 : 0.0;
      for (int k = col; k < r; ++k) v -= p.chol[std::size_t(r) * d + k] * inv[std::size_t(k) * d + col];
      inv[std::size_t(r) * d + col] = v / p.chol[std::size_t(r) * d + r];
    }
  return inv;
}

std::vector<double> whitened_queries_t(const Problem& p, const EstimatorSettings& s, const PreInverse& B, const Images& y,
                                       std::size_t img0, std::size_t nimg) {
  if (img0 > y.n || nimg > y.n - img0) throw InvalidArgument("whitened_queries_t: images out of range");
  const std::size_t L = std::size_t(p.C) * p.d, HW = p.HW, nq = nimg * HW;
  std::vector<double> qT(L * nq), qw;
  for (std::size_t img = 0; img < nimg; ++img) {
    whiten_patches(p, build_query(p, s, B, y.image(img0 + img)).q.data(), qw);
    for (std::size_t m = 0; m < HW; ++m)
      for (std::size_t e = 0; e < L; ++e) qT[e * nq + img * HW + m] = qw[m * L + e];
  }
  return qT;
}

std::vector<double> squared_norms_t(const std::vector<double>& vT, std::size_t L, std::size_t n) {
  std::vector<double> out(n, 0.0);
  for (std::size_t e = 0; e < L; ++e)
    for (std::size_t i = 0; i < n; ++i) out[i] = std::fma(vT[e * n + i], vT[e * n + i], out[i]);
  return out;
}

WtVariant whitened_variant() {
  const char* env = std::getenv("LEMMSE_WHITENED_KERNEL");
  if (!env || !*env) return WtVariant::automatic;
  const std::string v = env;
  if (v == "direct") return WtVariant::direct;
  if (v == "dot") return WtVariant::dot;
  if (v == "mma") return WtVariant::mma;
  if (v == "mma2") return WtVariant::mma2;
  throw InvalidArgument("LEMMSE_WHITENED_KERNEL must be direct, dot, mma or mma2; got '" + v + "'");
}

bool whitened_cuda_covers(const EstimatorSettings& s, const Problem& p, std::string* why) {
  auto no = [&](const char* m) {
    if (why) *why = m;
    return false;
  };
  if (p.metric != Metric::whitened) return no("the problem's metric is not whitened");
  if (s.estimator != EstimatorKind::lemmse) return no("the CUDA whitened engine serves le-mmse only (l-mmse runs on the CPU engine)");
  if (p.C > kMaxChannels) return no("more than 4 channels");
  return true;
}

}  // namespace lemmse
