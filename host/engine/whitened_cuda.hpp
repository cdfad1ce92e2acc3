// The CUDA whitened engine (cuda/whitened_engine.cu; absent without CUDA: cuda/window_engine_stub.cpp
// refuses every CUDA request first). LE-MMSE with the inverse-filter pre-inverse.
#pragma once
#include "engine/problem.hpp"

namespace lemmse {
EstimatorOutputs run_whitened_cuda(const EstimatorSettings& s, const Problem& p, const Images& train, const PreInverse& B,
                                   const Images& y);
}  // namespace lemmse
