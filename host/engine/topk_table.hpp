// The k best keys of every pixel of one query image (kernels/topk.hpp heaps). The best k of a set
// under topk_better's total order do not depend on the order keys arrive in, so slices may be
// merged into it in any order: the result is the same for any thread count.
#pragma once
#include <algorithm>
#include <atomic>
#include <limits>
#include <vector>

#include "kernels/topk.hpp"

namespace lemmse {
class TopkTable {
 public:
  TopkTable(std::size_t npix, int k) : k_(k), heap_(npix * std::size_t(k)), n_(npix, 0), floor_(npix, kOpen) {}
  // Offers e to pixel m's list. A key with logit −inf (incompatible with the pixel) never enters.
  void push(std::size_t m, const TopkEntry& e) {
    // The common case, a key below the worst kept, is decided by the dense floors alone: the
    // heaps' roots lie k entries apart (240 bytes at k = 10), and testing them for every key
    // of a shift made top-k runs ~2× slower than plain ones (CIFAR-10, P = 5).
    if (!(e.logit >= floor_[m])) return;
    int& n = n_[m];
    TopkEntry* h = &heap_[m * std::size_t(k_)];
    if (n == k_ && !topk_better(e, h[0])) return;  // (equal logits: the image and position decide)
    topk_push(h, &n, k_, e);
    if (n == k_ && h[0].logit > floor_[m]) floor_[m] = h[0].logit;
  }
  // Turns away from pixel m's list every key below x from now on (x: a lower bound on the logit
  // of the k-th best key the list is to end with, so that no key it needs is lost).
  void raise_floor(std::size_t m, double x) {
    if (x > floor_[m]) floor_[m] = x;
  }
  // The logit a key must reach to enter pixel m's list: kOpen while the list is not full (and no
  // floor was raised), so that one comparison passes every finite logit and turns away −inf (a key
  // incompatible with the pixel).
  double floor(std::size_t m) const { return floor_[m]; }
  const double* floors() const { return floor_.data(); }  // (every pixel's, for vector scans)
  void merge_from(const TopkTable& o) {
    for (std::size_t m = 0; m < n_.size(); ++m)
      for (int i = 0; i < o.n_[m]; ++i) push(m, o.heap_[m * std::size_t(k_) + std::size_t(i)]);
  }
  void clear() {
    std::fill(n_.begin(), n_.end(), 0);
    std::fill(floor_.begin(), floor_.end(), kOpen);
  }
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
  static constexpr double kOpen = -std::numeric_limits<double>::max();
  std::vector<double> floor_;  // per pixel: the higher of the root's logit once the heap is full and the raised floor; kOpen before
};

// Per pixel, a lower bound on the logit of the k-th best key of its final list: the highest k-th
// best that any slice's full list has reached (those k keys are among all keys, so the final k-th
// best is at least as high). A key below it cannot enter the final list, whichever slice holds it;
// so the final lists do not depend on when a slice sees a raise, and slices running in parallel
// may raise and read it at any time. Without it each slice's lists (16 training images) would fill
// from nothing, and the engines' float32 screens would pass every key they might take (CPU window
// engine, CIFAR-10, P = 5, σ = 0.01: top-k ran 2× slower than a plain run).
class SharedTopkFloors {
 public:
  explicit SharedTopkFloors(std::size_t npix) : v_(npix) {
    for (auto& f : v_) f.store(-std::numeric_limits<double>::infinity(), std::memory_order_relaxed);
  }
  double at(std::size_t m) const { return v_[m].load(std::memory_order_relaxed); }
  void raise(std::size_t m, double x) {
    double cur = v_[m].load(std::memory_order_relaxed);
    while (x > cur && !v_[m].compare_exchange_weak(cur, x, std::memory_order_relaxed)) {
    }
  }
  // Publishes the slice's floors (t: its lists) and takes the others' raises; raised(m) is called
  // for each pixel whose floor in t rose.
  template <class Raised>
  void exchange(TopkTable& t, Raised&& raised) {
    for (std::size_t m = 0; m < v_.size(); ++m) {
      const double mine = t.floor(m), theirs = at(m);
      if (mine > theirs) {
        raise(m, mine);
      } else if (theirs > mine) {
        t.raise_floor(m, theirs);
        raised(m);
      }
    }
  }

 private:
  std::vector<std::atomic<double>> v_;
};

}  // namespace lemmse
