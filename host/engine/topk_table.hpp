// The k best keys of every pixel of one query image (kernels/topk.hpp heaps). The best k of a set
// under topk_better's total order do not depend on the order keys arrive in, so slices may be
// merged into it in any order: the result is the same for any thread count.
#pragma once
#include <algorithm>
#include <vector>

#include "kernels/topk.hpp"

namespace lemmse {
class TopkTable {
 public:
  TopkTable(std::size_t npix, int k) : k_(k), heap_(npix * std::size_t(k)), n_(npix, 0) {}
  void push(std::size_t m, const TopkEntry& e) {
    int& n = n_[m];
    TopkEntry* h = &heap_[m * std::size_t(k_)];
    if (n == k_ && !topk_better(e, h[0])) return;  // the common case: not better than the worst kept
    topk_push(h, &n, k_, e);
  }
  // The logit a key must beat to enter pixel m's list (−inf while the list is not full).
  double floor(std::size_t m) const { return n_[m] == k_ ? heap_[m * std::size_t(k_)].logit : -INFINITY; }
  void merge_from(const TopkTable& o) {
    for (std::size_t m = 0; m < n_.size(); ++m)
      for (int i = 0; i < o.n_[m]; ++i) push(m, o.heap_[m * std::size_t(k_) + std::size_t(i)]);
  }
  void clear() { std::fill(n_.begin(), n_.end(), 0); }
  // Pixel m's entries, best first (sorts in place).
  const TopkEntry* sorted(std::size_t m, int* n) {
    topk_sort(&heap_[m * std::size_t(k_)], n_[m]);
    *n = n_[m];
    return &heap_[m * std::size_t(k_)];
  }

 private:
  int k_;
  std::vector<TopkEntry> heap_;
  std::vector<int> n_;
};
}  // namespace lemmse
