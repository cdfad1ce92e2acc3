// The CPU engine of the whitened metric (inverse-filter pre-inverse, DESIGN.md §3): every query
// patch and key patch is whitened once in fp64 (engine/problem.hpp whiten_patches), and the
// distance of each (query pixel, key) pair is the direct fp64 sum of its C·P² squared
// differences — the reference's arithmetic in register blocks (6 queries × 8 keys), not the
// ||q||² + ||k||² − 2q·k expansion, whose cancellation grows with the whitening's gain (~10⁴).
// A float32 screen (engine/whitened_screen.hpp: a projected lower bound, then the same differences
// in float32, each with a proven error bound) first rules out the keys that lie too far below their
// pixel's running max to add anything: the fp64 distances are computed only for the panels of 8
// keys it cannot rule out — the same bits as without it.
// Same work split and merge order as the window engine: (query image × slice of 16 training
// images) units merged in slice order, bit-identical for any thread count; top-k included.
// Query images are taken in groups: each slice whitens a training image once and runs every image
// of the group against it (the keys were whitened again for each query image before).
#pragma once
#include <cstddef>

#include "engine/problem.hpp"
#include "engine/whitened_screen.hpp"

namespace lemmse {
// Bytes of per-(image, slice) softmax states a group of query images may hold.
constexpr std::size_t kWhitenedGroupBytes = std::size_t(512) << 20;
// Query images per group for nimg query images against ntrain training images of HW pixels:
// as many as kWhitenedGroupBytes of states allow (at least 1). LEMMSE_WHITENED_GROUP=G sets it
// (tests: results are the same bits for any group size).
std::size_t whitened_group_images(std::size_t nimg, std::size_t ntrain, std::size_t HW);
// LEMMSE_WHITENED_GROUP=G, the cap on query images per group both whitened engines obey (the CUDA
// one: engine/cuda_memory_plan.hpp); 0 when unset.
std::size_t whitened_group_cap();

// LEMMSE_WHITENED_SCREEN=0 turns the screen off (A/B runs; same bits).
EstimatorOutputs run_whitened_cpu(const EstimatorSettings& s, const Problem& p, const Images& train,
                                  const std::vector<std::int64_t>& train_ids, const PreInverse& B, const Images& y,
                                  WhitenedScreenStats* stats = nullptr);
}  // namespace lemmse
