// The fp64 reference engine: the oracle every fast path is tested against.
#pragma once
#include "engine/problem.hpp"

namespace lemmse {
// rows: the query rows to evaluate (null: all). Each listed row's outputs are the bits a run on
// every row gives (units never change results); the other rows' are NaN (top-k entries empty).
EstimatorOutputs run_reference(const EstimatorSettings& s, const Problem& p, const Images& train,
                               const std::vector<std::int64_t>& train_ids, const PreInverse& B, const Images& y,
                               const std::vector<int>* rows = nullptr);
}  // namespace lemmse
