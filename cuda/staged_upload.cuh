// Host fp64 arrays to device float32 through two pinned staging buffers: the conversion runs on
// the host's threads, chunk by chunk, while the previous chunk's copy is in flight. Replaces a
// single-threaded conversion into fresh pageable vectors plus a pageable copy, which took most of
// the window engine's ~200 ms of host time per call at 10,000 CIFAR-10 training images
// (bench/results/2026-11-27-h200-kernels.md: 244–440 ms end to end against 61–377 ms of kernel).
#pragma once
#include <cstddef>

#include "cuda/cuda_check.cuh"

namespace lemmse {

class StagedUpload {
 public:
  // chunk: floats per staging buffer; threads: host threads for the conversion (0 = all).
  StagedUpload(cudaStream_t stream, std::size_t chunk, int threads);
  ~StagedUpload();
  StagedUpload(const StagedUpload&) = delete;
  StagedUpload& operator=(const StagedUpload&) = delete;
  // dst[i] = float(src[i]) for i < n, enqueued on the stream (src may be reused once finish() returns).
  void to_float(float* dst, const double* src, std::size_t n);
  // Waits for every copy enqueued so far.
  void finish();

 private:
  void release();
  cudaStream_t stream_;
  std::size_t chunk_;
  int threads_;
  float* buf_[2] = {nullptr, nullptr};
  cudaEvent_t done_[2] = {nullptr, nullptr};
  bool pending_[2] = {false, false};
  int next_ = 0;
};

}  // namespace lemmse
