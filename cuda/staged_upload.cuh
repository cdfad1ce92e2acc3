// Host fp64 arrays to the device (as float32 or fp64) through two pinned staging buffers: the
// conversion or copy into them runs on the host's threads, chunk by chunk, while the previous
// chunk's transfer is in flight. Replaces a
// single-threaded conversion into fresh pageable vectors plus a pageable copy, which took most of
// the window engine's ~200 ms of host time per call at 10,000 CIFAR-10 training images
// (bench/results/2026-11-27-h200-kernels.md: 244–440 ms end to end against 61–377 ms of kernel).
#pragma once
#include <cstddef>

#include "cuda/cuda_check.cuh"

namespace lemmse {

// Values per staging buffer: 4 Mi (32 MB of pinned buffer; 16 MB per float32 transfer), or
// LEMMSE_UPLOAD_CHUNK (tests cross chunk boundaries with small ones; same bits).
std::size_t staged_upload_chunk();

class StagedUpload {
 public:
  // chunk: values per staging buffer (buffers hold chunk doubles); threads: host threads for the
  // conversion or copy (0 = all).
  StagedUpload(cudaStream_t stream, std::size_t chunk, int threads);
  ~StagedUpload();
  StagedUpload(const StagedUpload&) = delete;
  StagedUpload& operator=(const StagedUpload&) = delete;
  // dst[i] = float(src[i]) for i < n, enqueued on the stream (src may be reused once finish() returns).
  void to_float(float* dst, const double* src, std::size_t n);
  // dst[i] = src[i] for i < n, the same way (the whitened engine's fp64 keys and values).
  void copy(double* dst, const double* src, std::size_t n);
  // Waits for every copy enqueued so far.
  void finish();

 private:
  template <class D>
  void stage(D* dst, const double* src, std::size_t n);
  void release();
  cudaStream_t stream_;
  std::size_t chunk_;
  int threads_;
  double* buf_[2] = {nullptr, nullptr};
  cudaEvent_t done_[2] = {nullptr, nullptr};
  bool pending_[2] = {false, false};
  int next_ = 0;
};

}  // namespace lemmse
