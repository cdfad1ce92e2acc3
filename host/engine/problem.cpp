// Turns (estimator, A, B, compat) into the window problem the engines evaluate.
#include "engine/problem.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "lemmse/errors.hpp"
#include "util/parallel.hpp"

namespace lemmse {
namespace {

std::size_t wrap(long i, long n) { return std::size_t(((i % n) + n) % n); }

// Cholesky S = G Gᵀ in place (lower triangle). Throws when S is not positive definite.
void cholesky(std::vector<double>& S, int d) {
  for (int j = 0; j < d; ++j) {
    double diag = S[std::size_t(j) * d + j];
    for (int k = 0; k < j; ++k) diag -= S[std::size_t(j) * d + k] * S[std::size_t(j) * d + k];
    if (!(diag > 0))
      throw NumericalError("the patch noise covariance of the inverse filter is not positive definite "
                           "(Cholesky pivot " + std::to_string(diag) + " at row " + std::to_string(j) +
                           "); the pre-inverse is too ill-conditioned at this patch size");
    const double g = std::sqrt(diag);
    S[std::size_t(j) * d + j] = g;
    for (int i = j + 1; i < d; ++i) {
      double v = S[std::size_t(i) * d + j];
      for (int k = 0; k < j; ++k) v -= S[std::size_t(i) * d + k] * S[std::size_t(j) * d + k];
      S[std::size_t(i) * d + j] = v / g;
    }
    for (int i = 0; i < j; ++i) S[std::size_t(i) * d + j] = 0;
  }
}

bool whole_window(const EstimatorSettings& s) { return s.estimator == EstimatorKind::mmse || s.estimator == EstimatorKind::emmse; }

// Whole-image windows with an invertible circulant B: (Bd)ᵀ(BBᵀ)⁻¹(Bd) = ‖d‖², so the whitened
// distance is exactly the plain distance between y and shifts of A x_b: B acts as the identity.
PreinverseKind effective_preinverse(const EstimatorSettings& s, const PreInverse& B) {
  const bool circulant = B.kind == PreinverseKind::inverse || B.kind == PreinverseKind::filter;
  return whole_window(s) && circulant ? PreinverseKind::identity : B.kind;
}

}  // namespace

bool keys_are_train(const EstimatorSettings& s, const ForwardOperator& A, const PreInverse& B) {
  return A.kind == ForwardOperator::Kind::identity && effective_preinverse(s, B) == PreinverseKind::identity;
}

Problem build_problem(const EstimatorSettings& s, const Images& train, const ForwardOperator& A, const PreInverse& B) {
  Problem p;
  p.C = train.shape.c;
  p.H = train.shape.h;
  p.W = train.shape.w;
  p.HW = train.shape.pixels();
  p.ntrain = train.n;
  p.inv_two_sigma2 = 1.0 / (2.0 * s.sigma * s.sigma);
  p.tolerance = s.mask_tolerance;
  p.whole = whole_window(s);
  p.all_shifts = s.estimator == EstimatorKind::emmse || s.estimator == EstimatorKind::lemmse;
  if (p.whole) {
    p.du0 = -(p.H - 1) / 2;
    p.du1 = p.H - 1 + p.du0;
    p.dv0 = -(p.W - 1) / 2;
    p.dv1 = p.W - 1 + p.dv0;
  } else {
    const int a = (s.patch - 1) / 2;
    p.du0 = p.dv0 = -a;
    p.du1 = p.dv1 = s.patch - 1 - a;
  }

  const PreinverseKind bk = effective_preinverse(s, B);
  p.query_is_y = bk != B.kind;
  // Keys B A x_b: the training images themselves when A and B are identities, else a copy with B A
  // applied (B in place, all cores).
  p.keys_are_train = keys_are_train(s, A, B);
  if (!p.keys_are_train) {
    p.own_keys = A.apply(train);
    if (bk != PreinverseKind::identity)
      parallel_for(p.own_keys.n, 0, [&](std::size_t i) { B.apply(p.own_keys.image(i), p.own_keys.image(i), p.C); });
  }

  const std::size_t WW = std::size_t(p.win_h()) * p.win_w();
  auto key_pixel = [&](std::size_t n, int du, int dv) {
    return wrap(long(n / p.W) + du, p.H) * p.W + wrap(long(n % p.W) + dv, p.W);
  };

  switch (bk) {
    case PreinverseKind::identity:
      p.metric = Metric::plain;
      break;
    case PreinverseKind::eps_mask: {
      p.metric = Metric::weighted;
      p.pixel_weight.resize(p.HW);
      for (std::size_t q = 0; q < p.HW; ++q) p.pixel_weight[q] = B.inv_beta[q] * B.inv_beta[q];
      // log-det bonus κ Σ_u log β⁻¹(n+u): κ = C is the Gaussian normaliser; the authors' code uses 1.
      const double kappa = s.compat == Compat::consistent ? p.C : 1.0;
      p.key_bias.assign(p.HW, 0.0);
      for (std::size_t n = 0; n < p.HW; ++n) {
        double b = 0;
        for (int du = p.du0; du <= p.du1; ++du)
          for (int dv = p.dv0; dv <= p.dv1; ++dv) b += std::log(B.inv_beta[key_pixel(n, du, dv)]);
        p.key_bias[n] = kappa * b;
      }
      break;
    }
    case PreinverseKind::mask: {
      p.metric = Metric::weighted;
      p.pixel_weight = B.mask;
      p.strata = p.all_shifts;  // a shift-0 estimator only ever compares position m with m
      p.strict_membership = s.compat == Compat::reference;
      std::map<std::vector<std::uint8_t>, int> ids;
      p.pattern_of.resize(p.HW);
      p.key_bias.assign(p.HW, 0.0);
      for (std::size_t n = 0; n < p.HW; ++n) {
        std::vector<std::uint8_t> bits(WW);
        int r = 0, k = 0;
        for (int du = p.du0; du <= p.du1; ++du)
          for (int dv = p.dv0; dv <= p.dv1; ++dv, ++k) r += bits[std::size_t(k)] = B.mask[key_pixel(n, du, dv)] != 0.0;
        auto it = ids.find(bits);
        if (it == ids.end()) {
          it = ids.emplace(bits, int(p.pattern_bits.size())).first;
          p.pattern_bits.push_back(bits);
          p.pattern_rank.push_back(r);
        }
        p.pattern_of[n] = it->second;
        // Gaussian normaliser of the r observed pixels (all C channels). The authors' code keeps
        // only the 2π part; within a stratum (equal r) it cancels either way.
        const double log_norm = s.compat == Compat::consistent ? 0.5 * std::log(2 * M_PI) + std::log(s.sigma)
                                                                : 0.5 * std::log(2 * M_PI);
        p.key_bias[n] = -double(p.C) * r * log_norm;
      }
      break;
    }
    case PreinverseKind::inverse:
    case PreinverseKind::filter: {  // any invertible stationary B: Mahalanobis distance of B's noise
      p.metric = Metric::whitened;
      p.d = s.patch * s.patch;
      p.chol.resize(std::size_t(p.d) * p.d);
      for (int i = 0; i < p.d; ++i)
        for (int j = 0; j < p.d; ++j) {
          const long du = long(j / s.patch) - long(i / s.patch), dv = long(j % s.patch) - long(i % s.patch);
          p.chol[std::size_t(i) * p.d + j] = B.noise_autocorr[wrap(du, p.H) * p.W + wrap(dv, p.W)];
        }
      cholesky(p.chol, p.d);
      break;
    }
  }
  return p;
}

void patch_pixels(const Problem& p, std::size_t n, std::size_t* at, std::size_t stride) {
  const int P = p.win_w();
  const long i = long(n / p.W), j = long(n % p.W);
  const std::size_t c0 = wrap(j + p.dv0, p.W);
  for (int u = 0; u < P; ++u) {
    const std::size_t row = wrap(i + p.du0 + u, p.H) * p.W;
    std::size_t c = c0;  // (columns step by one and wrap: no division per element)
    for (int v = 0; v < P; ++v, c = c + 1 == std::size_t(p.W) ? 0 : c + 1) at[std::size_t(u * P + v) * stride] = row + c;
  }
}

void whiten_patches(const Problem& p, const double* img, std::vector<double>& out) {
  // Forward substitution G z = patch, kLanes neighbouring pixels at a time in explicit vectors: the
  // same operations in the same order for every pixel as one pixel alone (v −= g_k z_k, then
  // z = v / g_r), in kLanes / 2 independent chains of SSE2 pairs (one pixel alone waited ~4 cycles
  // on each step; left to itself the compiler vectorised the k sum with shuffles instead).
  typedef double v2 __attribute__((vector_size(16)));  // (SSE2: this file is built for baseline x86-64)
  typedef double v2u __attribute__((vector_size(16), aligned(8), may_alias));
  constexpr int kLanes = 8, kVecs = kLanes / 2;
  const int d = p.d, C = p.C;
  const std::size_t HW = p.HW;
  out.resize(HW * std::size_t(C) * d);
  std::vector<std::size_t> at(std::size_t(d) * kLanes);  // pixel index of patch element r of lane q
  std::vector<double> z(std::size_t(d) * kLanes);  // z[r·kLanes + q]
  for (std::size_t n0 = 0; n0 < HW; n0 += kLanes) {
    const int nv = int(std::min<std::size_t>(kLanes, HW - n0));
    for (int q = 0; q < kLanes; ++q)  // (lanes past the image repeat its last pixel)
      patch_pixels(p, n0 + std::size_t(q < nv ? q : nv - 1), &at[std::size_t(q)], kLanes);
    for (int c = 0; c < C; ++c) {
      const double* plane = img + std::size_t(c) * HW;
      for (int r = 0; r < d; ++r) {
        v2 v[kVecs];  // (constant indices only: the chains stay in registers)
        const std::size_t* a = &at[std::size_t(r) * kLanes];
        for (int h = 0; h < kVecs; ++h) v[h] = v2{plane[a[2 * h]], plane[a[2 * h + 1]]};
        const double* g = &p.chol[std::size_t(r) * d];
        for (int k = 0; k < r; ++k) {
          const v2 gk = v2{} + g[k];
          const double* zk = &z[std::size_t(k) * kLanes];
          for (int h = 0; h < kVecs; ++h) v[h] -= gk * *reinterpret_cast<const v2u*>(zk + 2 * h);
        }
        for (int h = 0; h < kVecs; ++h) *reinterpret_cast<v2u*>(&z[std::size_t(r) * kLanes + 2 * std::size_t(h)]) = v[h] / g[r];
      }
      for (int q = 0; q < nv; ++q) {
        double* o = &out[((n0 + std::size_t(q)) * C + c) * d];
        for (int r = 0; r < d; ++r) o[r] = z[std::size_t(r) * kLanes + std::size_t(q)];
      }
    }
  }
}

QuerySetup build_query(const Problem& p, const EstimatorSettings& s, const PreInverse& B, const double* y) {
  (void)s;
  QuerySetup q;
  q.q.assign(y, y + p.HW * p.C);
  if (!p.query_is_y && B.kind != PreinverseKind::identity) B.apply(y, q.q.data(), p.C);
  if (p.metric == Metric::whitened) whiten_patches(p, q.q.data(), q.qwhite);
  if (p.strata) {
    // Membership of n's pattern for query m: ‖(1 − M_n) ⊙ v_m‖ < τ‖v_m‖ (reference, strict) or
    // ≤ (consistent: the support of v_m lies in the pattern's observed set). Among members, only
    // the smallest rank r counts (the lowest-dimensional Gaussian containing v_m dominates).
    const std::size_t np = p.pattern_bits.size();
    q.valid.assign(p.HW * np, 0);
    std::vector<double> e2;
    for (std::size_t m = 0; m < p.HW; ++m) {
      const long i = long(m / p.W), j = long(m % p.W);
      e2.clear();
      double norm2 = 0;
      for (int du = p.du0; du <= p.du1; ++du)
        for (int dv = p.dv0; dv <= p.dv1; ++dv) {
          double v2 = 0;
          const std::size_t pix = wrap(i + du, p.H) * p.W + wrap(j + dv, p.W);
          for (int c = 0; c < p.C; ++c) v2 += q.q[std::size_t(c) * p.HW + pix] * q.q[std::size_t(c) * p.HW + pix];
          e2.push_back(v2);
          norm2 += v2;
        }
      const double thr = p.tolerance * std::sqrt(norm2);
      int best = -1;
      std::vector<std::uint8_t> member(np, 0);
      for (std::size_t k = 0; k < np; ++k) {
        double out2 = 0;
        for (std::size_t u = 0; u < e2.size(); ++u)
          if (!p.pattern_bits[k][u]) out2 += e2[u];
        const double out = std::sqrt(out2);
        member[k] = p.strict_membership ? out < thr : out <= thr;
        if (member[k] && (best < 0 || p.pattern_rank[k] < best)) best = p.pattern_rank[k];
      }
      for (std::size_t k = 0; k < np; ++k)
        q.valid[m * np + k] = best < 0 ? 1 : (member[k] && p.pattern_rank[k] == best);  // none ⇒ all (reference)
    }
  }
  return q;
}

}  // namespace lemmse
