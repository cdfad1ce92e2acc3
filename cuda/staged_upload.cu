// Staged uploads of fp64 host arrays (see staged_upload.cuh).
#include <algorithm>
#include <cstdlib>

#include "cuda/staged_upload.cuh"
#include "lemmse/errors.hpp"
#include "util/parallel.hpp"
#include "util/parse.hpp"

namespace lemmse {

std::size_t staged_upload_chunk() {
  if (const long v = env_count("LEMMSE_UPLOAD_CHUNK", 1, 1L << 40)) return std::size_t(v);
  return std::size_t(4) << 20;
}

StagedUpload::StagedUpload(cudaStream_t stream, std::size_t chunk, int threads)
    : stream_(stream), chunk_(std::max<std::size_t>(chunk, 1)), threads_(resolve_threads(threads)) {
  try {
    for (int k = 0; k < 2; ++k) {
      LEMMSE_CUDA_CHECK(cudaMallocHost(&buf_[k], chunk_ * sizeof(double)));
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

void StagedUpload::to_float(float* dst, const double* src, std::size_t n) { stage(dst, src, n); }
void StagedUpload::copy(double* dst, const double* src, std::size_t n) { stage(dst, src, n); }

template <class D>
void StagedUpload::stage(D* dst, const double* src, std::size_t n) {
  // Blocks of 64 Ki values per task: the default 4 Mi-value chunk is 64 tasks.
  constexpr std::size_t kBlock = std::size_t(1) << 16;
  for (std::size_t off = 0; off < n; off += chunk_) {
    const std::size_t m = std::min(chunk_, n - off);
    const int k = next_;
    next_ ^= 1;
    if (pending_[k]) LEMMSE_CUDA_CHECK(cudaEventSynchronize(done_[k]));  // its previous copy has read it
    D* b = reinterpret_cast<D*>(buf_[k]);
    const double* s = src + off;
    parallel_for((m + kBlock - 1) / kBlock, threads_, [&](std::size_t t) {
      const std::size_t i0 = t * kBlock, i1 = std::min(m, i0 + kBlock);
      for (std::size_t i = i0; i < i1; ++i) b[i] = D(s[i]);
    });
    LEMMSE_CUDA_CHECK(cudaMemcpyAsync(dst + off, b, m * sizeof(D), cudaMemcpyHostToDevice, stream_));
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
