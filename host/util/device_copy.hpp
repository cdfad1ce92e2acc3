// Copies from CUDA device memory to host memory (cuda/device_info.cu); builds without CUDA throw
// Unsupported. The host backends use it for device arrays handed to the C API.
#pragma once
#include <cstddef>

namespace lemmse {
void copy_device_to_host(void* dst, const void* src, std::size_t bytes, void* stream);
}  // namespace lemmse
