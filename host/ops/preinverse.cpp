// Pre-inverses B (ESTIMATORS.md §4): identity, binary mask, ε-inverse mask, inverse filter, and a
// user-supplied stationary filter.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "lemmse/errors.hpp"
#include "lemmse/operators.hpp"
#include "ops/fft.hpp"
#include "util/parallel.hpp"

namespace lemmse {

PreinverseKind parse_preinverse(const std::string& s) {
  if (s == "identity") return PreinverseKind::identity;
  if (s == "mask") return PreinverseKind::mask;
  if (s == "eps-mask") return PreinverseKind::eps_mask;
  if (s == "inverse") return PreinverseKind::inverse;
  if (s == "filter") return PreinverseKind::filter;
  throw InvalidArgument("unknown --preinverse '" + s + "' (identity, mask, eps-mask, inverse, filter)");
}

const char* to_string(PreinverseKind k) {
  switch (k) {
    case PreinverseKind::identity: return "identity";
    case PreinverseKind::mask: return "mask";
    case PreinverseKind::eps_mask: return "eps-mask";
    case PreinverseKind::inverse: return "inverse";
    case PreinverseKind::filter: return "filter";
  }
  return "?";
}

namespace {
// Noise covariance of B e is circulant with autocorrelation R = F⁻¹(|B̂|²).
void set_noise_autocorr(PreInverse& B) {
  std::vector<std::complex<double>> P(B.transfer.size());
  for (std::size_t i = 0; i < P.size(); ++i) P[i] = std::norm(B.transfer[i]);
  B.noise_autocorr.resize(std::size_t(B.h) * B.w);
  B.fft->inverse(P.data(), B.noise_autocorr.data());
}
}  // namespace

PreInverse make_preinverse(PreinverseKind kind, const ForwardOperator& A, Compat compat, double eps) {
  PreInverse B;
  B.h = A.h;
  B.w = A.w;
  if (kind == PreinverseKind::filter)
    throw InvalidArgument("--preinverse filter needs its kernel (--preinverse-kernel FILE.npy; make_filter_preinverse)");
  if (A.kind == ForwardOperator::Kind::identity || kind == PreinverseKind::identity) return B;  // B = I
  const std::size_t HW = std::size_t(A.h) * A.w;
  if (kind == PreinverseKind::mask || kind == PreinverseKind::eps_mask) {
    if (!A.is_inpainting())
      throw InvalidArgument(std::string("--preinverse ") + to_string(kind) + " needs an inpainting problem (inpaint-box, inpaint-random, inpaint-mask)");
    B.kind = kind;
    B.mask = A.mask;
    if (kind == PreinverseKind::eps_mask) {
      if (!(eps > 0 && eps <= 1) || !std::isfinite(eps)) throw InvalidArgument("--eps must be in (0, 1]");
      B.beta.resize(HW);
      B.inv_beta.resize(HW);
      if (compat == Compat::reference) {
        // The authors' operator: ε, β and 1/β are float32 (1/β = 999.99994 for ε = 1e-3).
        const float ef = float(eps);
        B.eps = ef;
        for (std::size_t p = 0; p < HW; ++p) {
          const float bf = float(A.mask[p]) + ef * (1.0f - float(A.mask[p]));
          B.beta[p] = bf;
          B.inv_beta[p] = 1.0f / bf;
        }
      } else {
        B.eps = eps;
        for (std::size_t p = 0; p < HW; ++p) {
          B.beta[p] = A.mask[p] + eps * (1.0 - A.mask[p]);
          B.inv_beta[p] = 1.0 / B.beta[p];
        }
      }
    }
    return B;
  }
  // inverse filter
  if (!A.is_convolution())
    throw InvalidArgument("--preinverse inverse needs a blur problem; for inpainting use --preinverse mask or eps-mask");
  B.kind = PreinverseKind::inverse;
  auto fft = A.fft;
  B.fft = fft;
  const std::size_t M = std::size_t(fft->spectrum_size());
  B.transfer.resize(M);
  constexpr double kReg = 1e-7;  // added to the complex spectrum, as in the paper
  if (compat == Compat::consistent) {
    for (std::size_t i = 0; i < M; ++i) B.transfer[i] = 1.0 / (A.transfer[i] + kReg);
  } else {
    // Authors' construction: k_inv = float32(real(ifft2(1 / (fft2(k_arr) + 1e-7)))) on the
    // un-rolled array k_arr (centre at (H/2, W/2)); B correlates with k_inv centred there too.
    std::vector<double> k_arr(HW), k_inv_arr(HW), rolled(HW);
    const int ch = A.h / 2, cw = A.w / 2;
    for (int r = 0; r < A.h; ++r)
      for (int c = 0; c < A.w; ++c)
        k_arr[std::size_t((r + ch) % A.h) * A.w + (c + cw) % A.w] = A.kernel[std::size_t(r) * A.w + c];
    std::vector<std::complex<double>> K(M);
    fft->forward(k_arr.data(), K.data());
    for (auto& v : K) v = 1.0 / (v + kReg);
    fft->inverse(K.data(), k_inv_arr.data());
    for (double& v : k_inv_arr) v = double(float(v));
    for (int r = 0; r < A.h; ++r)
      for (int c = 0; c < A.w; ++c)
        rolled[std::size_t(r) * A.w + c] = k_inv_arr[std::size_t((r + ch) % A.h) * A.w + (c + cw) % A.w];
    fft->forward(rolled.data(), B.transfer.data());
    for (auto& t : B.transfer) t = std::conj(t);
  }
  set_noise_autocorr(B);
  return B;
}

PreInverse make_filter_preinverse(const ForwardOperator& A, const std::vector<double>& kernel, std::size_t kh, std::size_t kw,
                                  Compat compat) {
  if (!A.is_convolution())
    throw InvalidArgument("--preinverse filter needs a blur problem (blur-gaussian, blur-disk, blur-kernel)");
  // The kernel as an operator of the same grid and conventions as blur-kernel: its transfer is B̂.
  const ForwardOperator K = make_kernel_operator(ImageShape{1, A.h, A.w}, kernel, kh, kw, compat, "preinverse filter");
  PreInverse B;
  B.kind = PreinverseKind::filter;
  B.h = A.h;
  B.w = A.w;
  B.fft = K.fft;
  B.transfer = K.transfer;
  double lo = INFINITY, hi = 0;
  for (const auto& t : B.transfer) {
    lo = std::min(lo, std::abs(t));
    hi = std::max(hi, std::abs(t));
  }
  if (!(lo > 1e-12 * hi))
  {
    char msg[200];
    std::snprintf(msg, sizeof msg, "the --preinverse filter is not invertible: its transfer function reaches %.3g (largest %.3g)", lo, hi);
    throw InvalidArgument(std::string(msg) + ", so its noise covariance cannot be whitened");
  }
  set_noise_autocorr(B);
  return B;
}

void PreInverse::apply(const double* y, double* out, int channels) const {
  const std::size_t HW = std::size_t(h) * w;
  for (int c = 0; c < channels; ++c) {
    const double* yc = y + c * HW;
    double* oc = out + c * HW;
    switch (kind) {
      case PreinverseKind::identity:
        if (oc != yc) std::memmove(oc, yc, HW * sizeof(double));
        break;
      case PreinverseKind::mask:
        for (std::size_t p = 0; p < HW; ++p) oc[p] = mask[p] * yc[p];
        break;
      case PreinverseKind::eps_mask:
        for (std::size_t p = 0; p < HW; ++p) oc[p] = beta[p] * yc[p];
        break;
      case PreinverseKind::inverse:
      case PreinverseKind::filter:
        apply_transfer(*fft, transfer, yc, oc);
        break;
    }
  }
}

Images PreInverse::apply(const Images& y) const {
  Images out = y;
  if (kind == PreinverseKind::identity) return out;
  parallel_for(y.n, 0, [&](std::size_t i) { apply(y.image(i), out.image(i), y.shape.c); });  // independent images
  return out;
}

}  // namespace lemmse
