#include "engine/cuda_memory_plan.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/online_softmax.hpp"
#include "kernels/topk.hpp"
#include "kernels/whitened_tile.hpp"
#include "kernels/window_tile.hpp"
#include "engine/whitened_cpu.hpp"
#include "util/format.hpp"
#include "util/parse.hpp"

namespace lemmse {

int topk_slot_count(int max_slots, double budget, double slot_bytes) {
  int slots = max_slots;
  if (const long cap = env_count("LEMMSE_TOPK_SLOTS", 1, kMaxTopkSlots)) slots = std::min(slots, int(cap));
  return int(std::max(0.0, std::min<double>(slots, std::floor(budget / slot_bytes))));
}

WindowCudaPlan plan_window_cuda(int HW, int C, int nslice, int topk, int max_slots, std::size_t nimg, double resident, double train_bytes,
                                double free_bytes, int train_arrays) {
  WindowCudaPlan plan;
  const double slice_partial = (3.0 + 3.0 * C) * double(HW) * 8.0;  // one slice's fp64 state of one image
  const double slice_train = double(kTileSlice) * train_arrays * C * double(HW) * 4.0;  // one slice's keys and values
  const double slot = topk > 0 ? double(topk_slot_bytes(HW, topk)) : 0.0;
  // LEMMSE_WINDOW_CHUNK=n (tests: several chunks): at most n training images per chunk, rounded
  // down to whole slices (at least one).
  int chunk = nslice;
  if (const long cap = env_count("LEMMSE_WINDOW_CHUNK", 1, 1L << 40)) chunk = int(std::min<long>(nslice, std::max(1L, cap / kTileSlice)));
  // Streamed: two chunk buffers (one uploads while the kernels read the other), together at most a
  // quarter of it.
  if (chunk == nslice && resident + train_bytes + nslice * slice_partial + slot > 0.9 * free_bytes)
    chunk = int(std::max(1.0, std::min<double>(nslice - 1, std::floor(0.125 * 0.9 * free_bytes / slice_train))));
  plan.chunk = chunk;
  // Streamed, the partials hold one chunk's slices and a carried state (one slice's size).
  const double held = chunk == nslice ? resident + train_bytes : resident + 2.0 * chunk * slice_train;
  const double partial = chunk == nslice ? nslice * slice_partial : (chunk + 1) * slice_partial;
  const double budget = std::min(0.5 * (0.9 * free_bytes - held), 8.0 * 1073741824.0);
  if (held + partial + slot > 0.9 * free_bytes || (topk > 0 && partial + slot > budget)) {
    plan.why = "the CUDA engine needs about " + gib(held + partial + slot) + " of device memory (" + gib(held) +
               " for the training set" + (chunk < nslice ? " (two chunks of " + std::to_string(chunk * kTileSlice) + " images)" : std::string()) +
               ", queries and outputs) but " + gib(free_bytes) + " is free";
    return plan;
  }
  // Top-k: as many slots as a launch has slices (each slot then holds one slice per launch),
  // fewer where the budget asks it; the group of images shrinks first.
  plan.slots = topk > 0 ? topk_slot_count(max_slots, budget - partial, slot) : 0;
  const double per_image = partial + plan.slots * slot;
  plan.group = std::size_t(std::max(1.0, std::min({double(nimg), std::floor(budget / per_image), 65535.0})));
  plan.bytes = held + double(plan.group) * per_image;
  return plan;
}

WhitenedCudaPlan plan_whitened_cuda(const EstimatorSettings& s, const Problem& p, std::size_t nimg, double free_bytes) {
  WhitenedCudaPlan plan;
  const double HW = double(p.HW), L = double(p.C) * p.d, ntrain = double(p.ntrain);
  const double nslice = std::ceil(ntrain / kWtSlice);
  // Resident: keys (B A x) and values (x) in fp64, and G⁻¹.
  const double fixed = 2.0 * ntrain * double(p.C) * HW * 8.0 + double(p.d) * p.d * 8.0;
  // A chunk: whitened keys (L per key) and their squared norms, per training image.
  const double per_train_image = (L + 1.0) * HW * 8.0, chunk_min = kWtSlice * per_train_image;
  // A group, per query image: whitened queries and their norms, one softmax state per slice and
  // one merged, and the top-k heaps (slot1 per slot).
  const double base1 = HW * (L * 8.0 + 8.0 + (nslice + 1.0) * double(sizeof(SoftmaxAcc<double>)));
  const double slot1 = s.topk > 0 ? double(topk_slot_bytes(int(p.HW), s.topk)) : 0.0;
  const double avail = 0.8 * free_bytes - fixed, room = avail - chunk_min;
  if (room < base1 + slot1) {
    plan.why = "the CUDA whitened engine needs about " + gib(fixed + chunk_min + base1 + slot1) + " of device memory (" + gib(fixed) +
               " for the training set) but " + gib(free_bytes) + " is free";
    return plan;
  }
  // Slots first (up to a quarter of the room for one image), then as many query images as half
  // the room holds, then the largest chunk the rest holds (at most 4 GiB unless one slice needs
  // more, and at most 65,535 slices: a launch's grid height).
  plan.slots = s.topk > 0 ? topk_slot_count(int(std::min<double>(nslice, kMaxTopkSlots)), std::max(0.25 * room - base1, slot1), slot1) : 0;
  const double g1 = base1 + plan.slots * slot1;
  plan.group = std::size_t(std::clamp<double>(std::floor(0.5 * room / g1), 1.0, double(std::max<std::size_t>(nimg, 1))));
  if (const std::size_t cap = whitened_group_cap()) plan.group = std::min(plan.group, cap);
  const double chunk_bytes = std::min(std::max(4.0 * 1073741824.0, chunk_min), avail - double(plan.group) * g1);
  const double most = std::min(nslice, 65535.0) * kWtSlice;
  plan.chunk = std::size_t(std::min(most, std::floor(chunk_bytes / chunk_min) * kWtSlice));
  // LEMMSE_WHITENED_CHUNK=n (tests: several chunks per group): at most n training images, rounded
  // up to whole slices.
  if (const long cap = env_count("LEMMSE_WHITENED_CHUNK", 1, 1L << 40))
    plan.chunk = std::min(plan.chunk, std::size_t((cap + kWtSlice - 1) / kWtSlice) * kWtSlice);
  plan.bytes = fixed + double(plan.chunk) * per_train_image + double(plan.group) * g1;
  return plan;
}

}  // namespace lemmse
