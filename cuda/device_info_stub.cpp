// Device discovery for builds without a CUDA compiler.
#include "lemmse/device.hpp"

namespace lemmse {
int cuda_device_count() { return 0; }
std::string cuda_device_summary() { return "this build has no CUDA support (nvcc was not found at configure time)"; }
bool cuda_built() { return false; }
}  // namespace lemmse

#include "lemmse/errors.hpp"
#include "util/device_copy.hpp"

namespace lemmse {
void copy_device_to_host(void*, const void*, std::size_t, void*) {
  throw Unsupported("a CUDA device array was given, but this lemmse build has no CUDA support");
}
}  // namespace lemmse
