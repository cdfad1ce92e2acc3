// Shared set-up for the estimator tests.
#pragma once
#include <cmath>
#include <numeric>

#include "lemmse/estimator.hpp"
#include "lemmse/operators.hpp"
#include "support/naive_reference.hpp"

namespace lemmse_test {

inline std::vector<std::int64_t> iota_ids(std::size_t n) {
  std::vector<std::int64_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

// Settings with every side output that needs no top-k buffer switched on.
inline lemmse::EstimatorSettings settings(lemmse::EstimatorKind e, int P, double sigma) {
  lemmse::EstimatorSettings s;
  s.estimator = e;
  s.patch = P;
  s.sigma = sigma;
  s.log_density = s.variance = s.effective_count = true;
  return s;
}

inline lemmse::EstimatorOutputs estimate(lemmse::EstimatorSettings s, const lemmse::Images& train,
                                         const lemmse::ForwardOperator& A, const lemmse::PreInverse& B,
                                         const lemmse::Images& y) {
  return lemmse::run_estimator(s, lemmse::Backend::reference, train, iota_ids(train.n), A, B, y);
}

inline double max_abs_diff(const double* a, const double* b, std::size_t n) {
  double m = 0;
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

// Circular shift of every channel of one image by (di, dj): out[i+di, j+dj] = in[i, j].
inline lemmse::Images shifted(const lemmse::Images& x, int di, int dj) {
  lemmse::Images o = x;
  const int H = x.shape.h, W = x.shape.w;
  for (std::size_t n = 0; n < x.n; ++n)
    for (int c = 0; c < x.shape.c; ++c)
      for (int i = 0; i < H; ++i)
        for (int j = 0; j < W; ++j)
          o.image(n)[c * H * W + ((i + di) % H) * W + (j + dj) % W] = x.image(n)[c * H * W + i * W + j];
  return o;
}

}  // namespace lemmse_test
