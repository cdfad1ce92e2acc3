// Host storage behind a SoftmaxRows view (kernels/online_softmax.hpp), shared by the engines.
#pragma once
#include <limits>
#include <vector>

#include "kernels/online_softmax.hpp"

namespace lemmse {
class SoftmaxRowStore {
 public:
  // npix pixels of C channels, empty: running max −DBL_MAX (finite, so −inf logits never give NaN).
  void init(std::size_t npix, int C) {
    C_ = C;
    mx_.assign(npix, -std::numeric_limits<double>::max());
    s_.assign(npix, 0.0);
    s2_.assign(npix, 0.0);
    piv_.assign(npix * std::size_t(C), 0.0);
    a1_.assign(npix * std::size_t(C), 0.0);
    a2_.assign(npix * std::size_t(C), 0.0);
  }
  SoftmaxRows view() { return SoftmaxRows{mx_.size(), C_, mx_.data(), s_.data(), s2_.data(), piv_.data(), a1_.data(), a2_.data()}; }

 private:
  int C_ = 0;
  std::vector<double> mx_, s_, s2_, piv_, a1_, a2_;
};
}  // namespace lemmse
