// The CUDA engines' top-k heaps, host side (cuda/topk_slots.cuh).
#include "cuda/topk_slots.cuh"

namespace lemmse {
namespace {
__global__ void topk_merge_kernel(TopkSlots t, long long nimg) {
  const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= nimg * t.HW) return;
  topk_merge_slots(t, i / t.HW, int(i % t.HW));
}
}  // namespace

void merge_and_copy_topk(const TopkSlots& t, std::size_t nimg, TopkEntry* heap, int* count, cudaStream_t st) {
  const long long npix = (long long)(nimg * std::size_t(t.HW));
  topk_merge_kernel<<<unsigned((npix + 255) / 256), 256, 0, st>>>(t, (long long)nimg);
  LEMMSE_CUDA_CHECK(cudaGetLastError());
  // Slot 0 of each image: rows of HW heaps, pitched by the slots.
  const std::size_t row = std::size_t(t.HW) * std::size_t(t.k) * sizeof(TopkEntry), crow = std::size_t(t.HW) * sizeof(int);
  LEMMSE_CUDA_CHECK(cudaMemcpy2DAsync(heap, row, t.heap, row * std::size_t(t.slots), row, nimg, cudaMemcpyDeviceToHost, st));
  LEMMSE_CUDA_CHECK(cudaMemcpy2DAsync(count, crow, t.count, crow * std::size_t(t.slots), crow, nimg, cudaMemcpyDeviceToHost, st));
}

}  // namespace lemmse
