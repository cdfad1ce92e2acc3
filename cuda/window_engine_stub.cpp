// Builds without a CUDA compiler: the CUDA engine is absent, and says so.
#include "engine/cuda_engine.hpp"
#include "lemmse/errors.hpp"

namespace lemmse {
bool cuda_engine_supports(const EstimatorSettings&, const Problem&, std::string* why) {
  if (why) *why = "this lemmse build has no CUDA support (nvcc was not found at configure time)";
  return false;
}
EstimatorOutputs run_cuda_engine(const EstimatorSettings&, const Problem&, const Images&, const std::vector<std::int64_t>&, const PreInverse&,
                                 const Images&) {
  throw Unsupported("this lemmse build has no CUDA support (nvcc was not found at configure time)");
}
}  // namespace lemmse
