// Host preparation for the CUDA whitened engine (and its host emulation): the inverse of the
// Cholesky factor, and the whitened query vectors laid out element-major for coalesced loads.
#pragma once
#include <string>
#include <vector>

#include "engine/problem.hpp"

namespace lemmse {

// G⁻¹ (d×d, lower-triangular, row-major) of the problem's Cholesky factor G, by forward
// substitution in fp64.
std::vector<double> whitening_inverse(const Problem& p);

// Whitened query vectors of images y as L × (nimg·HW), element-major (L = C·d).
std::vector<double> whitened_queries_t(const Problem& p, const EstimatorSettings& s, const PreInverse& B, const Images& y);

// Whether the CUDA whitened engine covers the request; else *why says what is missing.
bool whitened_cuda_covers(const EstimatorSettings& s, const Problem& p, std::string* why);

}  // namespace lemmse
