// Host side of the CUDA engines' top-k heaps (kernels/topk.hpp TopkSlots): the merge of every
// pixel's slots into slot 0 and the copy of slot 0's lists back (how many slots:
// engine/cuda_memory_plan.hpp). Shared by the window engine and the whitened engine.
#pragma once
#include <cstddef>

#include "cuda/cuda_check.cuh"
#include "engine/cuda_memory_plan.hpp"  // topk_slot_count
#include "kernels/topk.hpp"

namespace lemmse {

// Enqueues, for the nimg query images of t: each pixel's slots merged into slot 0 and sorted
// best first, then slot 0's heaps and counts copied into heap (nimg × HW × k) and count
// (nimg × HW) on the host. The caller synchronises the stream before reading them.
void merge_and_copy_topk(const TopkSlots& t, std::size_t nimg, TopkEntry* heap, int* count, cudaStream_t st);

}  // namespace lemmse
