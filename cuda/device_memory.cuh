// RAII owners of device resources shared by the CUDA engines: allocations, streams, events and
// NVTX ranges (for Nsight Systems timelines). Every CUDA call is checked.
#pragma once
#include <nvtx3/nvToolsExt.h>

#include <vector>

#include "cuda/cuda_check.cuh"

namespace lemmse {

// One device allocation, freed on every path.
template <class T>
struct DeviceArray {
  T* p = nullptr;
  std::size_t n = 0;
  explicit DeviceArray(std::size_t count) : n(count) {
    if (n) LEMMSE_CUDA_CHECK(cudaMalloc(&p, n * sizeof(T)));
  }
  DeviceArray(const std::vector<T>& host, cudaStream_t s) : DeviceArray(host.size()) {
    if (n) LEMMSE_CUDA_CHECK(cudaMemcpyAsync(p, host.data(), n * sizeof(T), cudaMemcpyHostToDevice, s));
  }
  ~DeviceArray() {
    if (p) cudaFree(p);
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  T* get() const { return n ? p : nullptr; }
};

struct Stream {
  cudaStream_t s = nullptr;
  Stream() { LEMMSE_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking)); }
  ~Stream() { cudaStreamDestroy(s); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
};
struct Event {
  cudaEvent_t e = nullptr;
  // cudaEventDisableTiming for events that only order streams (cheaper to record and wait on).
  explicit Event(unsigned flags = cudaEventDefault) { LEMMSE_CUDA_CHECK(cudaEventCreateWithFlags(&e, flags)); }
  ~Event() { cudaEventDestroy(e); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
};
// NVTX range for Nsight Systems timelines.
struct NvtxRange {
  explicit NvtxRange(const char* name) { nvtxRangePushA(name); }
  ~NvtxRange() { nvtxRangePop(); }
};

}  // namespace lemmse
