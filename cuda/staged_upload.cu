// Staged fp64 → float32 uploads (see staged_upload.cuh).
#include <algorithm>

#include "cuda/staged_upload.cuh"
#include "util/parallel.hpp"

namespace lemmse {

StagedUpload::StagedUpload(cudaStream_t stream, std::size_t chunk, int threads)
    : stream_(stream), chunk_(std::max<std::size_t>(chunk, 1)), threads_(resolve_threads(threads)) {
  try {
    for (int k = 0; k < 2; ++k) {
      LEMMSE_CUDA_CHECK(cudaMallocHost(&buf_[k], chunk_ * sizeof(float)));
      LEMMSE_CUDA_CHECK(cudaEventCreateWithFlags(&done_[k], cudaEventDisableTiming));
    }
  } catch (...) {
    release();
    throw;
  }
}

StagedUpload::~StagedUpload() { release(); }

void StagedUpload::release() {
  for (int k = 0; k < 2; ++k) {
    if (done_[k]) {
      if (pending_[k]) cudaEventSynchronize(done_[k]);  // the copy still reads the pinned buffer
      cudaEventDestroy(done_[k]);
    }
    if (buf_[k]) cudaFreeHost(buf_[k]);
    done_[k] = nullptr;
    buf_[k] = nullptr;
    pending_[k] = false;
  }
}

void StagedUpload::to_float(float* dst, const double* src, std::size_t n) {
  // Conversion in blocks of 64 Ki values per task: a 16 Mi-value chunk is 256 tasks.
  constexpr std::size_t kBlock = std::size_t(1) << 16;
  for (std::size_t off = 0; off < n; off += chunk_) {
    const std::size_t m = std::min(chunk_, n - off);
    const int k = next_;
    next_ ^= 1;
    if (pending_[k]) LEMMSE_CUDA_CHECK(cudaEventSynchronize(done_[k]));  // its previous copy has read it
    float* b = buf_[k];
    const double* s = src + off;
    parallel_for((m + kBlock - 1) / kBlock, threads_, [&](std::size_t t) {
      const std::size_t i0 = t * kBlock, i1 = std::min(m, i0 + kBlock);
      for (std::size_t i = i0; i < i1; ++i) b[i] = float(s[i]);
    });
    LEMMSE_CUDA_CHECK(cudaMemcpyAsync(dst + off, b, m * sizeof(float), cudaMemcpyHostToDevice, stream_));
    LEMMSE_CUDA_CHECK(cudaEventRecord(done_[k], stream_));
    pending_[k] = true;
  }
}

void StagedUpload::finish() {
  for (int k = 0; k < 2; ++k)
    if (pending_[k]) {
      LEMMSE_CUDA_CHECK(cudaEventSynchronize(done_[k]));
      pending_[k] = false;
    }
}

}  // namespace lemmse
