// The CPU engine of the whitened metric (inverse-filter pre-inverse, DESIGN.md §3): every query
// patch and key patch is whitened once in fp64 (engine/problem.hpp whiten_patches), and the
// distance of each (query pixel, key) pair is the direct fp64 sum of its C·P² squared
// differences — the reference's arithmetic in register blocks (4 queries × 8 keys), not the
// ||q||² + ||k||² − 2q·k expansion, whose cancellation grows with the whitening's gain (~10⁴).
// Same work split and merge order as the window engine: (query image × slice of 16 training
// images) units merged in slice order, bit-identical for any thread count; top-k included.
#pragma once
#include "engine/problem.hpp"

namespace lemmse {
EstimatorOutputs run_whitened_cpu(const EstimatorSettings& s, const Problem& p, const Images& train,
                                  const std::vector<std::int64_t>& train_ids, const PreInverse& B, const Images& y);
}  // namespace lemmse
