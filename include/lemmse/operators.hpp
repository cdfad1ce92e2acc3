// Forward operators A, pre-inverses B and the noise model (ESTIMATORS.md §1.1, §3, §4).
// Every operator is circular (periodic boundary). Convolutions are circular
// cross-correlations with the kernel centre at offset 0, as in the paper's code.
#pragma once
#include <complex>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lemmse/tensor.hpp"

namespace lemmse {

class RealFft2;  // internal FFT plan (host/ops/fft.hpp)

// Where the authors' code departs from the consistent derivation, `consistent` (the default)
// follows the mathematics and `reference` reproduces the authors' code (docs/CONVENTIONS.md).
enum class Compat { consistent, reference };
Compat parse_compat(const std::string& s);
const char* to_string(Compat c);

// A = identity | pixel mask μ (shared by channels) | circular correlation with a kernel.
struct ForwardOperator {
  enum class Kind { identity, mask, convolution };
  Kind kind = Kind::identity;
  std::string name;             // the --problem text, e.g. "blur-gaussian:1"
  int h = 0, w = 0;
  std::vector<double> mask;     // mask: h*w values in {0,1} (1 = observed)
  std::vector<double> kernel;   // convolution: h*w correlation kernel, centre at index (0,0)
  std::vector<std::complex<double>> transfer;  // convolution: DFT of the operator, h*(w/2+1)
  std::shared_ptr<const RealFft2> fft;         // convolution: plan for h×w

  bool is_inpainting() const { return kind == Kind::mask; }
  bool is_convolution() const { return kind == Kind::convolution; }
  // out = A x for one C-channel image (out may alias x).
  void apply(const double* x, double* out, int channels) const;
  Images apply(const Images& x) const;
};

// Parses --problem and builds A for images of the given shape:
// denoise | inpaint-box:S | inpaint-random:PCT | inpaint-mask:FILE.npy | blur-gaussian:STD |
// blur-disk:R | blur-kernel:FILE.npy. `mask_seed` seeds inpaint-random (lemmse's own generator,
// not torch-identical). In compat reference, blur kernels are rounded to float32 as the paper's.
ForwardOperator make_forward_operator(const std::string& spec, ImageShape shape, Compat compat,
                                      std::uint64_t mask_seed = 1234);

// Checks the syntax of a --problem spec (name and parameter) without building anything.
void check_problem_spec(const std::string& spec);

// A from arrays: a mask (h*w values 0/1) or a correlation kernel kh×kw with its centre at
// (kh/2, kw/2) (kh ≤ H, kw ≤ W). In compat reference the kernel is rounded to float32.
ForwardOperator make_mask_operator(ImageShape shape, const std::vector<double>& mask, const std::string& name);
ForwardOperator make_kernel_operator(ImageShape shape, const std::vector<double>& kernel, std::size_t kh, std::size_t kw,
                                     Compat compat, const std::string& name);

// The pre-inverse B applied to y before the estimator (physics-aware variants).
// filter: a user-supplied stationary B (a correlation kernel; make_filter_preinverse).
enum class PreinverseKind { identity, mask, eps_mask, inverse, filter };
PreinverseKind parse_preinverse(const std::string& s);
const char* to_string(PreinverseKind k);

struct PreInverse {
  PreinverseKind kind = PreinverseKind::identity;
  int h = 0, w = 0;
  std::vector<double> mask;       // mask, eps_mask: μ
  std::vector<double> beta;       // eps_mask: β = μ + ε(1−μ)
  std::vector<double> inv_beta;   // eps_mask: 1/β
  double eps = 1e-3;              // eps_mask: ε
  std::vector<std::complex<double>> transfer;  // inverse, filter: DFT of B (h*(w/2+1))
  std::vector<double> noise_autocorr;          // inverse, filter: R(d) = Σ_t k_B(t) k_B(t+d), h*w
  std::shared_ptr<const RealFft2> fft;         // inverse, filter: plan for h×w

  void apply(const double* y, double* out, int channels) const;
  Images apply(const Images& y) const;
};

// Builds B for A. Denoising always gets B = I (any choice is equivalent). mask and eps-mask
// need an inpainting problem; inverse needs a blur problem (InvalidArgument otherwise).
// inverse: B is the regularised inverse filter 1/(Â + 1e-7) (consistent) or the authors'
// float32 kernel real(ifft2(1/(fft2(k)+1e-7))) centred at (H/2, W/2) (reference).
PreInverse make_preinverse(PreinverseKind kind, const ForwardOperator& A, Compat compat, double eps = 1e-3);

// A user-supplied stationary pre-inverse for a blur problem A: B y = kernel ⋆ y (circular
// cross-correlation, kernel kh×kw with its centre at (kh/2, kw/2), as blur-kernel). Physics-aware
// estimators then use the whitened metric of B's noise covariance. Rejects (InvalidArgument) a
// kernel whose transfer function vanishes (B not invertible: no covariance to whiten).
PreInverse make_filter_preinverse(const ForwardOperator& A, const std::vector<double>& kernel, std::size_t kh, std::size_t kw,
                                  Compat compat);
// The same from a .npy kernel (H×W, 1×H×W or 1×1×H×W), as blur-kernel:FILE.npy reads it.
PreInverse load_filter_preinverse(const ForwardOperator& A, const std::string& npy_file, Compat compat);

// y = A x + σ e with e ~ N(0, I) over every entry (also masked pixels). Image i of the batch
// uses the noise stream (seed, first_index + i), so a subset sees the same noise as the whole.
Images make_measurements(const Images& clean, const ForwardOperator& A, double sigma, std::uint64_t seed,
                         std::uint64_t first_index = 0);

}  // namespace lemmse
