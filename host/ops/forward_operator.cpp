// Forward operators A (ESTIMATORS.md §3): identity, inpainting masks, circular blurs.
#include <cmath>
#include <cstring>

#include "lemmse/errors.hpp"
#include "lemmse/io.hpp"
#include "lemmse/operators.hpp"
#include "ops/fft.hpp"
#include "util/parallel.hpp"
#include "util/parse.hpp"
#include "util/splitmix.hpp"

namespace lemmse {

Compat parse_compat(const std::string& s) {
  if (s == "consistent") return Compat::consistent;
  if (s == "reference") return Compat::reference;
  throw InvalidArgument("unknown --compat '" + s + "' (consistent or reference)");
}
const char* to_string(Compat c) { return c == Compat::consistent ? "consistent" : "reference"; }

namespace {

// A 2-D array from a .npy (H×W, 1×H×W or 1×1×H×W).
NpyArray read_plane(const std::string& file, const char* what, std::size_t& rows, std::size_t& cols) {
  NpyArray a = read_npy(file);
  std::vector<std::size_t> s;
  for (std::size_t d : a.shape) if (d != 1 || s.size()) s.push_back(d);
  while (s.size() < 2) s.insert(s.begin(), 1);
  if (s.size() != 2) throw InvalidArgument("'" + file + "': a " + std::string(what) + " must be a 2-D array (H×W)");
  rows = s[0];
  cols = s[1];
  for (double v : a.values)
    if (!std::isfinite(v)) throw InvalidArgument("'" + file + "': non-finite value in the " + std::string(what));
  return a;
}

// Builds the rolled correlation kernel (centre at index 0) from an array whose centre is
// (kh/2, kw/2); kernels smaller than the image are wrapped circularly.
void set_kernel(ForwardOperator& A, const std::vector<double>& k, std::size_t kh, std::size_t kw) {
  if (kh > std::size_t(A.h) || kw > std::size_t(A.w))
    throw InvalidArgument("blur kernel " + std::to_string(kh) + "×" + std::to_string(kw) + " is larger than the " +
                          std::to_string(A.h) + "×" + std::to_string(A.w) + " image");
  A.kind = ForwardOperator::Kind::convolution;
  A.kernel.assign(std::size_t(A.h) * A.w, 0.0);
  for (std::size_t u = 0; u < kh; ++u)
    for (std::size_t v = 0; v < kw; ++v) {
      const long du = long(u) - long(kh / 2), dv = long(v) - long(kw / 2);
      const std::size_t r = std::size_t((du % A.h + A.h) % A.h), c = std::size_t((dv % A.w + A.w) % A.w);
      A.kernel[r * A.w + c] += k[u * kw + v];
    }
  // (A x)(p) = Σ_d k(d) x(p+d)  ⇒  DFT(A x) = conj(K) · X.
  auto fft = std::make_shared<RealFft2>(A.h, A.w);
  A.transfer.resize(std::size_t(fft->spectrum_size()));
  fft->forward(A.kernel.data(), A.transfer.data());
  for (auto& t : A.transfer) t = std::conj(t);
  A.fft = fft;
}

// Full-grid centred kernel (offsets t = k − H/2), normalised to sum 1, as the paper builds it.
std::vector<double> centred_kernel(int h, int w, Compat compat, double (*f)(double, double, double), double param) {
  std::vector<double> k(std::size_t(h) * w);
  double sum = 0;
  for (int r = 0; r < h; ++r)
    for (int c = 0; c < w; ++c) sum += k[std::size_t(r) * w + c] = f(r - h / 2, c - w / 2, param);
  if (!(sum > 0)) throw InvalidArgument("the blur kernel is empty (radius too small?)");
  for (double& v : k) {
    v /= sum;
    if (compat == Compat::reference) v = double(float(v));  // the paper stores kernels in float32
  }
  return k;
}

void check_mask(const std::vector<double>& mask, const std::string& what) {
  for (double v : mask)
    if (v != 0.0 && v != 1.0) throw InvalidArgument(what + ": mask values must be 0 (missing) or 1 (observed)");
}

}  // namespace

void check_problem_spec(const std::string& spec) {
  const auto colon = spec.find(':');
  const std::string name = spec.substr(0, colon), arg = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (name == "denoise") {
    if (colon != std::string::npos) throw InvalidArgument("--problem denoise takes no parameter");
    return;
  }
  const bool numeric = name == "inpaint-box" || name == "inpaint-random" || name == "blur-gaussian" || name == "blur-disk";
  const bool file = name == "inpaint-mask" || name == "blur-kernel";
  if (!numeric && !file)
    throw InvalidArgument("unknown --problem '" + spec +
                          "' (denoise, inpaint-box:S, inpaint-random:PCT, inpaint-mask:FILE.npy, blur-gaussian:STD, blur-disk:R, blur-kernel:FILE.npy)");
  if (arg.empty()) throw InvalidArgument("--problem " + name + " needs a parameter, e.g. " + name + (file ? ":FILE.npy" : ":15"));
  if (name == "inpaint-box") parse_long(arg, "inpaint-box size");
  else if (numeric) parse_double(arg, name + " parameter");
}

ForwardOperator make_mask_operator(ImageShape shape, const std::vector<double>& mask, const std::string& name) {
  if (mask.size() != shape.pixels())
    throw InvalidArgument(name + ": the mask has " + std::to_string(mask.size()) + " values, the images " +
                          std::to_string(shape.h) + "×" + std::to_string(shape.w) + " pixels");
  check_mask(mask, name);
  ForwardOperator A;
  A.name = name;
  A.h = shape.h;
  A.w = shape.w;
  A.kind = ForwardOperator::Kind::mask;
  A.mask = mask;
  return A;
}

ForwardOperator make_kernel_operator(ImageShape shape, const std::vector<double>& kernel, std::size_t kh, std::size_t kw,
                                     Compat compat, const std::string& name) {
  if (kernel.size() != kh * kw || kh == 0 || kw == 0) throw InvalidArgument(name + ": kernel size does not match its shape");
  for (double v : kernel)
    if (!std::isfinite(v)) throw InvalidArgument(name + ": non-finite value in the kernel");
  ForwardOperator A;
  A.name = name;
  A.h = shape.h;
  A.w = shape.w;
  std::vector<double> k = kernel;
  if (compat == Compat::reference) for (double& v : k) v = double(float(v));
  set_kernel(A, k, kh, kw);
  return A;
}

ForwardOperator make_forward_operator(const std::string& spec, ImageShape shape, Compat compat, std::uint64_t mask_seed) {
  ForwardOperator A;
  A.name = spec;
  A.h = shape.h;
  A.w = shape.w;
  const std::size_t HW = shape.pixels();
  const auto colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  const std::string arg = colon == std::string::npos ? "" : spec.substr(colon + 1);
  auto need_arg = [&] {
    if (arg.empty()) throw InvalidArgument("--problem " + name + " needs a parameter, e.g. " + name + ":15");
  };
  if (name == "denoise") {
    if (!arg.empty()) throw InvalidArgument("--problem denoise takes no parameter");
    A.kind = ForwardOperator::Kind::identity;
  } else if (name == "inpaint-box") {
    need_arg();
    const long S = parse_long(arg, "inpaint-box size");
    if (S < 1 || S > shape.h || S > shape.w) throw InvalidArgument("inpaint-box size must be in [1, image side]");
    A.kind = ForwardOperator::Kind::mask;
    A.mask.assign(HW, 1.0);
    const int r0 = shape.h / 2 - int(S) / 2, c0 = shape.w / 2 - int(S) / 2;
    for (int r = r0; r < r0 + S; ++r)
      for (int c = c0; c < c0 + S; ++c) A.mask[std::size_t(r) * shape.w + c] = 0.0;
  } else if (name == "inpaint-random") {
    need_arg();
    const double pct = parse_double(arg, "inpaint-random percentage");
    if (!(pct >= 0 && pct <= 100)) throw InvalidArgument("inpaint-random percentage must be in [0, 100]");
    A.kind = ForwardOperator::Kind::mask;
    A.mask.resize(HW);
    // Same rule as the paper (kept when a uniform draw exceeds p/100), lemmse's own stream:
    // not torch-identical. Supply the paper's mask with inpaint-mask:FILE.npy for parity.
    SplitMix rng{mask_seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull};
    for (std::size_t p = 0; p < HW; ++p) A.mask[p] = rng.uni() > pct / 100.0 ? 1.0 : 0.0;
  } else if (name == "inpaint-mask") {
    need_arg();
    std::size_t rows, cols;
    const NpyArray a = read_plane(arg, "mask", rows, cols);
    if (rows != std::size_t(shape.h) || cols != std::size_t(shape.w))
      throw InvalidArgument("'" + arg + "': mask is " + std::to_string(rows) + "×" + std::to_string(cols) +
                            ", images are " + std::to_string(shape.h) + "×" + std::to_string(shape.w));
    A = make_mask_operator(shape, a.values, "'" + arg + "'");
    A.name = spec;
  } else if (name == "blur-gaussian") {
    need_arg();
    const double s = parse_double(arg, "blur-gaussian std");
    if (!(s > 0) || !std::isfinite(s)) throw InvalidArgument("blur-gaussian std must be > 0");
    auto g = [](double r, double c, double sd) { return std::exp(-(r * r + c * c) / (2 * sd * sd)); };
    set_kernel(A, centred_kernel(shape.h, shape.w, compat, g, s), std::size_t(shape.h), std::size_t(shape.w));
  } else if (name == "blur-disk") {
    need_arg();
    const double rad = parse_double(arg, "blur-disk radius");
    if (!(rad >= 0) || !std::isfinite(rad)) throw InvalidArgument("blur-disk radius must be ≥ 0");
    auto d = [](double r, double c, double R) { return r * r + c * c <= R * R ? 1.0 : 0.0; };
    set_kernel(A, centred_kernel(shape.h, shape.w, compat, d, rad), std::size_t(shape.h), std::size_t(shape.w));
  } else if (name == "blur-kernel") {
    need_arg();
    std::size_t rows, cols;
    const NpyArray a = read_plane(arg, "kernel", rows, cols);
    A = make_kernel_operator(shape, a.values, rows, cols, compat, spec);
  } else {
    throw InvalidArgument("unknown --problem '" + spec +
                          "' (denoise, inpaint-box:S, inpaint-random:PCT, inpaint-mask:FILE.npy, blur-gaussian:STD, blur-disk:R, blur-kernel:FILE.npy)");
  }
  return A;
}

PreInverse load_filter_preinverse(const ForwardOperator& A, const std::string& npy_file, Compat compat) {
  std::size_t rows, cols;
  const NpyArray a = read_plane(npy_file, "pre-inverse kernel", rows, cols);  // the reader blur-kernel uses
  return make_filter_preinverse(A, a.values, rows, cols, compat);
}

void ForwardOperator::apply(const double* x, double* out, int channels) const {
  const std::size_t HW = std::size_t(h) * w;
  for (int c = 0; c < channels; ++c) {
    const double* xc = x + c * HW;
    double* oc = out + c * HW;
    switch (kind) {
      case Kind::identity:
        if (oc != xc) std::memmove(oc, xc, HW * sizeof(double));
        break;
      case Kind::mask:
        for (std::size_t p = 0; p < HW; ++p) oc[p] = mask[p] * xc[p];
        break;
      case Kind::convolution:
        apply_transfer(*fft, transfer, xc, oc);
        break;
    }
  }
}

Images ForwardOperator::apply(const Images& x) const {
  Images out = x;
  if (kind == Kind::identity) return out;
  // Images are independent (FFTW's new-array execution is thread-safe): all cores, same bits.
  parallel_for(x.n, 0, [&](std::size_t i) { apply(x.image(i), out.image(i), x.shape.c); });
  return out;
}

}  // namespace lemmse
