// Brute-force evaluations written straight from ESTIMATORS.md (explicit patches, explicit
// shifts, dense matrices, two-pass log-sum-exp), independent of the engine's window algebra.
// Only for tiny images.
#pragma once
#include <vector>

#include "lemmse/estimator.hpp"
#include "lemmse/operators.hpp"

namespace lemmse_test {

struct NaiveResult {
  std::vector<double> estimate;     // C×H×W
  std::vector<double> log_density;  // H×W
  std::vector<double> variance;     // C×H×W
  std::vector<double> max_logit;    // H×W
};

// One measurement y (C×H×W) against clean training images.
NaiveResult naive_estimate(lemmse::EstimatorKind est, int P, double sigma, lemmse::Compat compat,
                           const lemmse::Images& train, const lemmse::ForwardOperator& A,
                           const lemmse::PreInverse& B, const double* y);

lemmse::Images random_images(std::size_t n, lemmse::ImageShape s, unsigned seed);

}  // namespace lemmse_test
