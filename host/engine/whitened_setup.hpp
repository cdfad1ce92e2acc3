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

// Whitened query vectors of images img0 .. img0 + nimg − 1 of y as L × (nimg·HW), element-major
// (L = C·d); without a range, of every image.
std::vector<double> whitened_queries_t(const Problem& p, const EstimatorSettings& s, const PreInverse& B, const Images& y,
                                       std::size_t img0, std::size_t nimg);
inline std::vector<double> whitened_queries_t(const Problem& p, const EstimatorSettings& s, const PreInverse& B, const Images& y) {
  return whitened_queries_t(p, s, B, y, 0, y.n);
}

// ‖v‖² of each of the n columns of an element-major L × n array, summed in element order.
std::vector<double> squared_norms_t(const std::vector<double>& vT, std::size_t L, std::size_t n);

// The CUDA whitened engine's distance kernel: direct fp64 differences (2 instructions per element),
// the fp64 dot-product form (1), or that form on the fp64 tensor cores (sm_80+): mma compiled for
// one block per SM (214 registers), mma2 for two (128 registers, a few spills). automatic (no
// LEMMSE_WHITENED_KERNEL=direct|dot|mma|mma2): mma2 where the device has fp64 tensor cores, else
// direct. Measured on an H200 (CIFAR-10, 10,000 training images, P = 5 / 7 / 11, kernel ms, one
// call): mma 211 / 325 / 860, mma2 178 / 297 / 845, dot 235 (P = 5); mma2 with the tile's values
// staged in shared memory (a later call): 151 / 275 / 814
// (bench/results/2026-11-27-h200-kernels.md; before the key cursor: mma 244 / 381 / 978).
enum class WtVariant { automatic, direct, dot, mma, mma2 };
WtVariant whitened_variant();

// Whether the CUDA whitened engine covers the request; else *why says what is missing.
bool whitened_cuda_covers(const EstimatorSettings& s, const Problem& p, std::string* why);

}  // namespace lemmse
