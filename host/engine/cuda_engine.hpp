// The CUDA window engine (cuda/window_engine.cu; cuda/window_engine_stub.cpp without CUDA): the
// tiled kernels of kernels/window_tile.hpp over the plain and weighted metrics (B = identity,
// mask, ε-mask), every estimator, with log-density, variance, effective count and top-k; the whitened
// metric (inverse filter, LE-MMSE) goes to cuda/whitened_engine.cu.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/problem.hpp"

namespace lemmse {
// True when a device is present and the engine covers the request; else *why says what is missing.
bool cuda_engine_supports(const EstimatorSettings& s, const Problem& p, std::string* why);
// train_ids label the training images in the top-k outputs.
EstimatorOutputs run_cuda_engine(const EstimatorSettings& s, const Problem& p, const Images& train,
                                 const std::vector<std::int64_t>& train_ids, const PreInverse& B, const Images& y);
}  // namespace lemmse
