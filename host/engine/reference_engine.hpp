// The fp64 reference engine: the oracle every fast path is tested against.
#pragma once
#include "engine/problem.hpp"

namespace lemmse {
EstimatorOutputs run_reference(const EstimatorSettings& s, const Problem& p, const Images& train,
                               const std::vector<std::int64_t>& train_ids, const PreInverse& B, const Images& y);
}  // namespace lemmse
