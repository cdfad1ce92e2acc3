// The CUDA whitened engine (cuda/whitened_engine.cu; absent without CUDA: cuda/window_engine_stub.cpp
// refuses every CUDA request first). LE-MMSE with the inverse-filter pre-inverse.
#pragma once
#include "engine/problem.hpp"

namespace lemmse {
// train_ids: the caller's label of each training image (top-k lists name them).
EstimatorOutputs run_whitened_cuda(const EstimatorSettings& s, const Problem& p, const Images& train,
                                   const std::vector<std::int64_t>& train_ids, const PreInverse& B, const Images& y);
}  // namespace lemmse
