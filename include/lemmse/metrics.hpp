// Image-quality metrics (PSNR as reported in metrics.json).
#pragma once
#include <cstddef>

namespace lemmse {
// PSNR in dB with a fixed data range (1 for images on the [0,1] scale); +inf for identical images.
double psnr(const double* ref, const double* est, std::size_t n, double range = 1.0);
// The paper's validation PSNR (deepinv): data range = max(ref) − min(ref) of the reference.
double psnr_dynamic(const double* ref, const double* est, std::size_t n);
}  // namespace lemmse
