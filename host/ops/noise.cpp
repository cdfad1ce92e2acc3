// Gaussian measurement noise from a counter-based stream: image i of a run gets the stream
// (seed, i), so results do not depend on batching, threads or which subset is evaluated.
#include <cmath>

#include "lemmse/errors.hpp"
#include "lemmse/operators.hpp"
#include "util/splitmix.hpp"

namespace lemmse {
Images make_measurements(const Images& clean, const ForwardOperator& A, double sigma, std::uint64_t seed, std::uint64_t first_index) {
  if (!(sigma >= 0) || !std::isfinite(sigma)) throw InvalidArgument("noise σ must be finite and ≥ 0");
  Images y = A.apply(clean);
  const std::size_t per = clean.shape.size();
  for (std::size_t i = 0; i < y.n; ++i) {
    SplitMix rng{seed * 0xD1B54A32D192ED03ull ^ ((first_index + i) * 0x9E3779B97F4A7C15ull) ^ 0x5EEDull};
    double* yi = y.image(i);
    for (std::size_t k = 0; k < per; k += 2) {  // Box–Muller, two normals per draw
      const double r = std::sqrt(-2.0 * std::log(rng.open01())), th = 2.0 * M_PI * rng.open01();
      yi[k] += sigma * r * std::cos(th);
      if (k + 1 < per) yi[k + 1] += sigma * r * std::sin(th);
    }
  }
  return y;
}

}  // namespace lemmse
