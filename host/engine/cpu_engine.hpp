// The fast CPU engine: float32 direct differences with separable fp64 window sums, fp64
// online softmax, vectorised (AVX2 when the CPU has it) and threaded over (query image ×
// training slice) units merged in slice order — bit-identical for any thread count.
// Serves the plain and weighted metrics (B = identity, mask, ε-mask), top-k included; the whitened
// metric runs on the fp64 reference (backend.cpp decides).
#pragma once
#include "engine/problem.hpp"

namespace lemmse {
bool cpu_engine_supports(const EstimatorSettings& s, const Problem& p);
EstimatorOutputs run_cpu_engine(const EstimatorSettings& s, const Problem& p, const Images& train,
                                const std::vector<std::int64_t>& train_ids, const PreInverse& B, const Images& y);
const char* cpu_engine_variant();  // "avx512", "avx2" or "generic" (cpu::kernels())
}  // namespace lemmse
