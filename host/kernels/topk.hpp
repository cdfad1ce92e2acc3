// Bounded top-k of (logit, training image, key position) per query pixel, kept as a min-heap on
// a caller-provided array. Ties are broken towards the smaller (image, position), so the result
// is a pure function of the set of keys, independent of the order they arrive in.
#pragma once
#include <cstdint>

#include "kernels/hd.hpp"

namespace lemmse {

struct TopkEntry {
  double logit;
  std::int64_t image;
  std::int64_t position;
};

// true when a ranks above b.
LEMMSE_HD bool topk_better(const TopkEntry& a, const TopkEntry& b) {
  if (a.logit != b.logit) return a.logit > b.logit;
  if (a.image != b.image) return a.image < b.image;
  return a.position < b.position;
}

LEMMSE_HD void topk_sift_down(TopkEntry* h, int n, int i) {
  while (true) {
    int l = 2 * i + 1, r = l + 1, worst = i;
    if (l < n && topk_better(h[worst], h[l])) worst = l;
    if (r < n && topk_better(h[worst], h[r])) worst = r;
    if (worst == i) return;
    const TopkEntry t = h[i];
    h[i] = h[worst];
    h[worst] = t;
    i = worst;
  }
}

// Inserts e into the heap h of current size *n and capacity k (h[0] is the worst kept entry).
LEMMSE_HD void topk_push(TopkEntry* h, int* n, int k, const TopkEntry& e) {
  if (*n < k) {
    int i = (*n)++;
    h[i] = e;
    while (i > 0) {  // sift up: parents are worse than children
      const int p = (i - 1) / 2;
      if (!topk_better(h[p], h[i])) break;
      const TopkEntry t = h[p];
      h[p] = h[i];
      h[i] = t;
      i = p;
    }
    return;
  }
  if (k == 0 || !topk_better(e, h[0])) return;
  h[0] = e;
  topk_sift_down(h, *n, 0);
}

// Sorts the heap in place into descending rank order (best first).
LEMMSE_HD void topk_sort(TopkEntry* h, int n) {
  for (int end = n - 1; end > 0; --end) {
    const TopkEntry t = h[0];
    h[0] = h[end];
    h[end] = t;
    topk_sift_down(h, end, 0);
  }
  // heap-sort with a "worst at root" heap leaves the array best-first
}

}  // namespace lemmse
