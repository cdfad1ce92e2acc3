// Thin FFTW wrapper for circular filtering of H×W real images (fp64). Plans are made once per
// size under a lock (the FFTW planner is not thread-safe); execution is thread-safe.
#pragma once
#include <complex>
#include <memory>
#include <vector>

namespace lemmse {

class RealFft2 {
 public:
  RealFft2(int h, int w);
  ~RealFft2();
  RealFft2(const RealFft2&) = delete;
  RealFft2& operator=(const RealFft2&) = delete;
  int spectrum_size() const { return h_ * (w_ / 2 + 1); }
  // Unnormalised forward transform of h*w reals into h*(w/2+1) complex values.
  void forward(const double* in, std::complex<double>* out) const;
  // Inverse transform, normalised by 1/(h*w), so inverse(forward(x)) == x.
  void inverse(const std::complex<double>* in, double* out) const;

 private:
  int h_, w_;
  void* plan_fwd_;
  void* plan_inv_;
};

// out = F⁻¹( transfer · F(x) ) for one h×w plane (out may alias x).
void apply_transfer(const RealFft2& fft, const std::vector<std::complex<double>>& transfer, const double* x, double* out);

}  // namespace lemmse
