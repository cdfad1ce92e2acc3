// Bounded top-k of (logit, training image, key position) per query pixel, kept as a min-heap on
// a caller-provided array. Ties are broken towards the smaller (image, position), so the result
// is a pure function of the set of keys, independent of the order they arrive in.
#pragma once
#include <cmath>
#include <cstddef>
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

// Top-k lists of many query pixels in flat memory (a device's, or the host emulation's): a heap of
// k entries per (query image, slot, pixel), cell (img·slots + slot)·HW + m, with its entry count.
// Blocks that may run at once use distinct slots (a launch covers at most `slots` slices and slice
// sl uses slot sl mod slots); topk_merge_slots then folds a pixel's slots into slot 0 and sorts it.
// The lists do not depend on the slot count: topk_push keeps the same set whatever order keys
// arrive in. (The CUDA window and whitened engines.)
struct TopkSlots {
  int k;
  int slots;
  int HW;
  TopkEntry* heap;  // cells × k; image = training index, position = key pixel
  int* count;       // cells: entries held (zeroed before the first launch)
};

// Bytes of one slot's heaps and counts for the HW pixels of one query image.
inline std::size_t topk_slot_bytes(int HW, int k) { return std::size_t(HW) * (std::size_t(k) * sizeof(TopkEntry) + sizeof(int)); }

LEMMSE_HD std::size_t topk_cell(const TopkSlots& t, long long img, int slot, int m) {
  return (std::size_t(img) * std::size_t(t.slots) + std::size_t(slot)) * std::size_t(t.HW) + std::size_t(m);
}

// The logit a key must reach to be offered to a cell's heap: its worst entry's once full, −inf before.
LEMMSE_HD double topk_floor(const TopkSlots& t, std::size_t cell) {
  return t.count[cell] == t.k ? t.heap[cell * std::size_t(t.k)].logit : -INFINITY;
}

// Offers key e to a cell's heap unless it is below floor (the cell's, kept by the caller), which it
// then updates.
LEMMSE_HD void topk_offer(const TopkSlots& t, double& floor, std::size_t cell, const TopkEntry& e) {
  if (e.logit < floor) return;  // equal logits may still win on (image, position): topk_push decides
  TopkEntry* h = t.heap + cell * std::size_t(t.k);
  int n = t.count[cell];
  topk_push(h, &n, t.k, e);
  t.count[cell] = n;
  if (n == t.k) floor = h[0].logit;
}

// After the last launch: pixel m's heaps of every slot merged into slot 0's, sorted best first.
LEMMSE_HD void topk_merge_slots(const TopkSlots& t, long long img, int m) {
  const std::size_t k = std::size_t(t.k), c0 = topk_cell(t, img, 0, m);
  TopkEntry* h0 = t.heap + c0 * k;
  int n0 = t.count[c0];
  for (int slot = 1; slot < t.slots; ++slot) {
    const std::size_t c = topk_cell(t, img, slot, m);
    const TopkEntry* h = t.heap + c * k;
    for (int i = 0; i < t.count[c]; ++i) topk_push(h0, &n0, t.k, h[i]);
  }
  topk_sort(h0, n0);
  t.count[c0] = n0;
}

}  // namespace lemmse
