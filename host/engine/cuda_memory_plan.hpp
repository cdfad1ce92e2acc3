// Device-memory plans of the CUDA engines, as host arithmetic: what fits in the free memory a
// device reports, so that `--backend auto` can fall back to the CPU engines before a CUDA run
// starts, and so that the plans are tested where no device is present (tests/engine).
#pragma once
#include <cstddef>
#include <string>

#include "engine/problem.hpp"

namespace lemmse {

// Top-k heap slots per query image: max_slots (as many as a launch has slices), fewer where
// memory asks (budget bytes for the slots, slot_bytes each); LEMMSE_TOPK_SLOTS=n caps them (tests:
// several launches per slot give the same lists). May return 0: nothing fits.
constexpr int kMaxTopkSlots = 1024;
int topk_slot_count(int max_slots, double budget, double slot_bytes);

// The CUDA window engine's plan: the queries and the outputs stay resident (`resident` bytes), and
// the training set (keys and values in float32, `train_bytes`) too when it fits; else it streams
// in chunks of `chunk` 16-image slices through two buffers (the next chunk uploads while the
// kernels read the current one; both together at most a quarter of 90 % of the free memory, at
// least one slice each; LEMMSE_WINDOW_CHUNK=n images caps a chunk). Query images go through in groups, each holding its
// fp64 slice partials ((3 + 3C) × HW doubles per slice and image: every slice's, or a chunk's and
// a carried state when streamed) and top-k heaps (`slots` slots of HW heaps per image, at most
// max_slots: a launch's slices). The groups take at most the smaller of half of what 90 % of the
// free memory leaves beside what stays resident and 8 GiB, and at most 65,535 images (a launch's
// grid height); group == 0: one image does not fit (why says so).
struct WindowCudaPlan {
  std::size_t group = 0;
  int slots = 0;
  int chunk = 0;     // slices per upload of the training set: nslice when it stays resident
  double bytes = 0;  // what stays resident + the chunk + the groups' buffers
  std::string why;
};
// train_arrays: float32 arrays per training image on the device (keys and values; 1 when the
// keys are the values, Problem::keys_are_train).
WindowCudaPlan plan_window_cuda(int HW, int C, int nslice, int topk, int max_slots, std::size_t nimg, double resident, double train_bytes,
                                double free_bytes, int train_arrays = 2);

// The CUDA whitened engine's plan: query images go through in groups (each group's whitened
// queries, fp64 slice partials and top-k heaps are on the device at once) and, within a group,
// training images in chunks whitened on the device (one chunk of whitened keys at a time). The
// training set's keys and values (fp64) stay resident. Everything planned fits in 80 % of the free
// memory; group == 0 means that not even one query image and one slice of training images fit
// (why says so).
struct WhitenedCudaPlan {
  std::size_t group = 0;  // query images per group
  std::size_t chunk = 0;  // training images per chunk: a multiple of the 16-image slice
  int slots = 0;          // top-k slots per query image (0 without --topk)
  double bytes = 0;       // device memory the plan uses
  std::string why;        // when group == 0
};
WhitenedCudaPlan plan_whitened_cuda(const EstimatorSettings& s, const Problem& p, std::size_t nimg, double free_bytes);

}  // namespace lemmse
