// Device discovery. A missing driver or device is not an error here: it means "no GPU".
#include <cstdio>

#include "cuda/cuda_check.cuh"
#include "lemmse/device.hpp"

namespace lemmse {

int cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver"/"no device" error
    return 0;
  }
  return n;
}

std::string cuda_device_summary() {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();
    return std::string("no CUDA device: ") + cudaGetErrorString(e);
  }
  std::string s;
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p{};
    LEMMSE_CUDA_CHECK(cudaGetDeviceProperties(&p, i));
    char line[256];
    std::snprintf(line, sizeof line, "%d: %s, sm_%d%d, %.1f GiB\n", i, p.name, p.major, p.minor, p.totalGlobalMem / 1073741824.0);
    s += line;
  }
  return n ? s : "no CUDA device";
}

bool cuda_built() { return true; }

}  // namespace lemmse

#include "util/device_copy.hpp"

namespace lemmse {
void copy_device_to_host(void* dst, const void* src, std::size_t bytes, void* stream) {
  const cudaStream_t s = static_cast<cudaStream_t>(stream);
  LEMMSE_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s));
  LEMMSE_CUDA_CHECK(cudaStreamSynchronize(s));
}
}  // namespace lemmse
