// Host side of the CUDA engines' top-k heaps (kernels/topk.hpp TopkSlots): how many slots, the
// merge of every pixel's slots into slot 0, and the copy of slot 0's lists back. Shared by the
// window engine and the whitened engine.
#pragma once
#include <cstddef>

#include "cuda/cuda_check.cuh"
#include "kernels/topk.hpp"

namespace lemmse {

// Slots of heaps per query image: max_slots (as many as a launch has slices), fewer where memory
// asks (budget bytes for the slots, slot_bytes each); LEMMSE_TOPK_SLOTS=n caps them (tests:
// several launches per slot give the same lists). May return 0: nothing fits.
constexpr int kMaxTopkSlots = 1024;
int topk_slot_count(int max_slots, double budget, double slot_bytes);

// Enqueues, for the nimg query images of t: each pixel's slots merged into slot 0 and sorted
// best first, then slot 0's heaps and counts copied into heap (nimg × HW × k) and count
// (nimg × HW) on the host. The caller synchronises the stream before reading them.
void merge_and_copy_topk(const TopkSlots& t, std::size_t nimg, TopkEntry* heap, int* count, cudaStream_t st);

}  // namespace lemmse
