// Device discovery for builds without a CUDA compiler.
#include "lemmse/device.hpp"

namespace lemmse {
int cuda_device_count() { return 0; }
std::string cuda_device_summary() { return "this build has no CUDA support (nvcc was not found at configure time)"; }
bool cuda_built() { return false; }
}  // namespace lemmse
