// The whitened screen's first stage: a short vector per whitened patch whose float32 distances
// bound the full whitened distance from below, so most keys are ruled out before their C·P²
// elements are read. For an orthonormal basis Q (d × m, the same for every channel),
//   ‖z_q − z_k‖² = Σ_c ‖Qᵀ(z_q,c − z_k,c)‖² + ‖R_q − R_k‖² ≥ ‖x_q − x_k‖²,
// with x = (Qᵀz_0, …, Qᵀz_{C−1}, ‖R‖) and R = (z_c − QQᵀz_c)_c the part outside the basis (reverse
// triangle inequality on the last term). Q spans the leading principal directions of whitened
// training patches (orthogonal iteration on their covariance): natural patches put most of their
// energy there, so the bound is close for the pairs that matter, while the residual norm keeps
// the query's noise floor (white after whitening, spread over every direction) in the bound.
#pragma once
#include <cstddef>
#include <vector>

#include "engine/problem.hpp"

namespace lemmse {

struct WhitenedProjection {
  int C = 0, d = 0, m = 0;
  std::vector<double> basis;    // d × m, row-major, orthonormal columns to ~1e-15
  double coord_error = 0;       // ‖computed x − exact x‖ ≤ coord_error · ‖z‖ (fp64 rounding, basis drift)
  int dims() const { return C * m + 1; }
  // x of n whitened vectors (n × C·d, as whiten_patches writes them) into out (n × dims()), and
  // the largest |x element| and ‖z‖ among them.
  void project(const double* z, std::size_t n, std::vector<double>& out, double& max_abs, double& max_norm) const;
};

// Basis columns per channel for a d-element patch (LEMMSE_WHITENED_PROJECTION=m sets it, at most
// 64 and d − 1; 0: no first stage).
int whitened_projection_columns(int d);

// The projection of problem p from the whitened patches of its first few training images
// (p.own_keys); m columns (1 ≤ m < d).
WhitenedProjection make_whitened_projection(const Problem& p, int m);

}  // namespace lemmse
