#include "lemmse/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace lemmse {
double psnr(const double* ref, const double* est, std::size_t n, double range) {
  double se = 0;
  for (std::size_t i = 0; i < n; ++i) se += (ref[i] - est[i]) * (ref[i] - est[i]);
  if (se == 0) return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(range * range / (se / double(n)));
}
double psnr_dynamic(const double* ref, const double* est, std::size_t n) {
  const auto [lo, hi] = std::minmax_element(ref, ref + n);
  return psnr(ref, est, n, *hi - *lo);
}
}  // namespace lemmse
