// Every estimator as one "window problem" (DESIGN.md §1): for query pixel m, training image b
// and key position n = m + t (t: a circular shift; all shifts or only t = 0),
//   D = Σ_{u ∈ window} w(n+u) Σ_c (q_c(m+u) − k_{b,c}(n+u))²        (plain / weighted)
//   D = Σ_c ‖G⁻¹(Π_m(q)_c − Π_n(k_b)_c)‖²,  S = G Gᵀ                 (whitened)
//   ℓ = −D / (2σ²) + bias(n)   if valid(m, n),   value x_b[:, n].
// The window is P×P (le-mmse, l-mmse) or the whole image (e-mmse, mmse).
#pragma once
#include <cstdint>
#include <vector>

#include "lemmse/estimator.hpp"

namespace lemmse {

enum class Metric { plain, weighted, whitened };

struct Problem {
  int C = 0, H = 0, W = 0;
  std::size_t HW = 0;
  int du0 = 0, du1 = 0, dv0 = 0, dv1 = 0;  // window offsets: rows du0..du1, columns dv0..dv1
  bool whole = false;                      // window = whole image (D independent of m)
  bool all_shifts = true;
  Metric metric = Metric::plain;
  double inv_two_sigma2 = 0;
  std::vector<double> pixel_weight;        // weighted: w(p) at key pixels
  std::vector<double> key_bias;            // bias(n); empty = 0
  // binary-mask strata (all-shift estimators with B = mask)
  bool strata = false;
  bool strict_membership = false;          // reference: ‖·‖ < τ‖v‖ and "nothing qualifies ⇒ all"
  double tolerance = 1e-4;
  std::vector<int> pattern_of;             // HW: pattern id of key position n
  std::vector<int> pattern_rank;           // r of each pattern
  std::vector<std::vector<std::uint8_t>> pattern_bits;  // each: window-sized 0/1 (row-major)
  // whitened
  int d = 0;                               // P²
  std::vector<double> chol;                // d×d lower-triangular G, S = G Gᵀ
  bool query_is_y = false;                 // compare with y itself (whole-window inverse filter)
  // Keys B A x_b for every training image: the training images themselves when B A = I (plain
  // denoising: no copy on the host, one upload to a device), else their own copy.
  std::size_t ntrain = 0;                  // training images
  bool keys_are_train = false;
  Images own_keys;                         // empty when keys_are_train
  const Images& keys(const Images& train) const { return keys_are_train ? train : own_keys; }

  int win_h() const { return du1 - du0 + 1; }
  int win_w() const { return dv1 - dv0 + 1; }
};

struct QuerySetup {
  std::vector<double> q;                   // C×H×W query image (v = B y, or y)
  std::vector<std::uint8_t> valid;         // strata: HW × patterns
  std::vector<double> qwhite;              // whitened: HW × C·d
};

Problem build_problem(const EstimatorSettings& s, const Images& train, const ForwardOperator& A, const PreInverse& B);
// Whether build_problem's keys are the training images themselves (Problem::keys_are_train).
bool keys_are_train(const EstimatorSettings& s, const ForwardOperator& A, const PreInverse& B);
QuerySetup build_query(const Problem& p, const EstimatorSettings& s, const PreInverse& B, const double* y);
// Whitened patch vectors (C·d each) of an image at every position n.
void whiten_patches(const Problem& p, const double* img, std::vector<double>& out);
// The pixel index of each element r of the square patch at pixel n (row-major window, circular
// boundary) into at[r·stride] — the gather both whitenings use.
void patch_pixels(const Problem& p, std::size_t n, std::size_t* at, std::size_t stride);
// The same through the CPU kernels (engine/whiten_fast.cpp: 32 pixels at a time, FMAs on AVX2
// builds): equal to whiten_patches up to rounding (tests: 1e-12 of the vector's norm).
void whiten_patches_fast(const Problem& p, const double* img, std::vector<double>& out);

}  // namespace lemmse
