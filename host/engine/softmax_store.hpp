// Host storage behind a SoftmaxRows view (kernels/online_softmax.hpp), shared by the engines.
#pragma once
#include <algorithm>
#include <limits>
#include <vector>

#include "kernels/online_softmax.hpp"
#include "util/aligned_vector.hpp"

namespace lemmse {
// Elements between two streams of npix elements of T in one buffer: a multiple of 4096 bytes plus
// 256 (64-byte multiples for small npix), so streams never agree in their low 12 address bits
// (4K aliasing; see SoftmaxRowStore).
template <class T>
inline std::size_t padded_stream_stride(std::size_t npix) {
  constexpr std::size_t page = 4096 / sizeof(T), line = 64 / sizeof(T), skew = 256 / sizeof(T);
  const std::size_t rounded = npix >= page / 2 ? (npix + page - 1) / page * page : (npix + line - 1) / line * line;
  return rounded + skew;
}

class SoftmaxRowStore {
 public:
  // npix pixels of C channels, empty: running max −DBL_MAX (finite, so −inf logits never give NaN).
  //
  // One buffer of 3 + 3C streams (mx, s, s2, then C channels each of piv, a1, a2), stream k at
  // k·stride doubles with stride ≡ 256 bytes (mod 4096): the row loops load one stream right
  // after storing to another at the same index, and streams whose addresses agree in their low
  // 12 bits make the CPU hold such loads back (4K aliasing) — that alone cost the CPU engine's
  // update loop several times its arithmetic.
  void init(std::size_t npix, int C) {
    C_ = C;
    stride_ = stream_stride(npix);
    buf_.assign((3 + 3 * std::size_t(C)) * stride_, 0.0);
    std::fill(buf_.begin(), buf_.begin() + std::ptrdiff_t(npix), -std::numeric_limits<double>::max());
  }
  // Bytes init(npix, C) allocates (for the engines' memory checks).
  static double bytes(std::size_t npix, int C) { return double((3 + 3 * std::size_t(C)) * stream_stride(npix)) * sizeof(double); }

  SoftmaxRows view() {
    double* b = buf_.data();
    const std::size_t k = stride_, c = std::size_t(C_);
    return SoftmaxRows{k, C_, b, b + k, b + 2 * k, b + 3 * k, b + (3 + c) * k, b + (3 + 2 * c) * k};
  }

 private:
  static std::size_t stream_stride(std::size_t npix) { return padded_stream_stride<double>(npix); }
  int C_ = 0;
  std::size_t stride_ = 0;
  AlignedVector<double> buf_;
};
}  // namespace lemmse
