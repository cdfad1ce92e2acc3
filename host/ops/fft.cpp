#include "ops/fft.hpp"

#include <fftw3.h>

#include <cstring>
#include <mutex>

#include "lemmse/errors.hpp"

namespace lemmse {
namespace {
std::mutex& planner_mutex() {
  static std::mutex m;
  return m;
}
struct FftwBuf {
  void* p;
  explicit FftwBuf(std::size_t bytes) : p(fftw_malloc(bytes)) {
    if (!p) throw Error("out of memory for an FFT buffer");
  }
  ~FftwBuf() { fftw_free(p); }
};
}  // namespace

RealFft2::RealFft2(int h, int w) : h_(h), w_(w) {
  std::lock_guard<std::mutex> lock(planner_mutex());
  FftwBuf r(sizeof(double) * std::size_t(h) * w), c(sizeof(fftw_complex) * std::size_t(spectrum_size()));
  plan_fwd_ = fftw_plan_dft_r2c_2d(h, w, static_cast<double*>(r.p), static_cast<fftw_complex*>(c.p), FFTW_ESTIMATE);
  plan_inv_ = fftw_plan_dft_c2r_2d(h, w, static_cast<fftw_complex*>(c.p), static_cast<double*>(r.p), FFTW_ESTIMATE);
  if (!plan_fwd_ || !plan_inv_) throw Error("FFTW could not plan a " + std::to_string(h) + "×" + std::to_string(w) + " transform");
}

RealFft2::~RealFft2() {
  std::lock_guard<std::mutex> lock(planner_mutex());
  fftw_destroy_plan(static_cast<fftw_plan>(plan_fwd_));
  fftw_destroy_plan(static_cast<fftw_plan>(plan_inv_));
}

void RealFft2::forward(const double* in, std::complex<double>* out) const {
  const std::size_t n = std::size_t(h_) * w_, m = std::size_t(spectrum_size());
  FftwBuf r(sizeof(double) * n), c(sizeof(fftw_complex) * m);
  std::memcpy(r.p, in, sizeof(double) * n);
  fftw_execute_dft_r2c(static_cast<fftw_plan>(plan_fwd_), static_cast<double*>(r.p), static_cast<fftw_complex*>(c.p));
  std::memcpy(static_cast<void*>(out), c.p, sizeof(fftw_complex) * m);
}

void RealFft2::inverse(const std::complex<double>* in, double* out) const {
  const std::size_t n = std::size_t(h_) * w_, m = std::size_t(spectrum_size());
  FftwBuf r(sizeof(double) * n), c(sizeof(fftw_complex) * m);
  std::memcpy(c.p, static_cast<const void*>(in), sizeof(fftw_complex) * m);  // c2r destroys its input
  fftw_execute_dft_c2r(static_cast<fftw_plan>(plan_inv_), static_cast<fftw_complex*>(c.p), static_cast<double*>(r.p));
  const double scale = 1.0 / double(n);
  const double* rp = static_cast<const double*>(r.p);
  for (std::size_t i = 0; i < n; ++i) out[i] = rp[i] * scale;
}

void apply_transfer(const RealFft2& fft, const std::vector<std::complex<double>>& transfer, const double* x, double* out) {
  std::vector<std::complex<double>> spec(std::size_t(fft.spectrum_size()));
  fft.forward(x, spec.data());
  for (std::size_t i = 0; i < spec.size(); ++i) spec[i] *= transfer[i];
  fft.inverse(spec.data(), out);
}

}  // namespace lemmse
