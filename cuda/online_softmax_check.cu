// Runs the shared online-softmax and top-k arithmetic (host/kernels/*.hpp) on the device, so the
// GPU tests can check that the kernels' building blocks give the host's results. The engine's
// fused kernels (issue 3) are built from these same functions.
#include <vector>

#include "cuda/cuda_check.cuh"
#include "cuda/online_softmax_check.hpp"
#include "kernels/exp_poly.hpp"
#include "kernels/online_softmax.hpp"
#include "kernels/topk.hpp"

namespace lemmse {
// Compiles the shared exp approximations for the device (their bit casts differ there).
__global__ void exp_poly_kernel(const float* x, float* yf, double* yd, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) {
    yf[i] = exp_poly_f(x[i]);
    yd[i] = exp_poly(double(x[i]));
  }
}

namespace {
__global__ void softmax_stream_kernel(const double* logits, const double* values, int n, int C, double* out) {
  SoftmaxAcc<double> a;
  softmax_init(a);
  for (int i = 0; i < n; ++i) softmax_push(a, logits[i], values + i * C, C, 745.0);
  out[0] = softmax_log_density(a);
  out[1] = softmax_effective_count(a);
  for (int c = 0; c < C; ++c) {
    out[2 + c] = softmax_mean(a, c);
    out[2 + C + c] = softmax_variance(a, c);
  }
}
}  // namespace

std::vector<double> device_softmax_stream(const std::vector<double>& logits, const std::vector<double>& values, int C) {
  const int n = int(logits.size());
  double *dl = nullptr, *dv = nullptr, *dout = nullptr;
  std::vector<double> out(2 + 2 * std::size_t(C));
  LEMMSE_CUDA_CHECK(cudaMalloc(&dl, sizeof(double) * logits.size()));
  LEMMSE_CUDA_CHECK(cudaMalloc(&dv, sizeof(double) * values.size()));
  LEMMSE_CUDA_CHECK(cudaMalloc(&dout, sizeof(double) * out.size()));
  LEMMSE_CUDA_CHECK(cudaMemcpy(dl, logits.data(), sizeof(double) * logits.size(), cudaMemcpyHostToDevice));
  LEMMSE_CUDA_CHECK(cudaMemcpy(dv, values.data(), sizeof(double) * values.size(), cudaMemcpyHostToDevice));
  softmax_stream_kernel<<<1, 1>>>(dl, dv, n, C, dout);
  LEMMSE_CUDA_CHECK(cudaGetLastError());
  LEMMSE_CUDA_CHECK(cudaMemcpy(out.data(), dout, sizeof(double) * out.size(), cudaMemcpyDeviceToHost));
  LEMMSE_CUDA_CHECK(cudaFree(dl));
  LEMMSE_CUDA_CHECK(cudaFree(dv));
  LEMMSE_CUDA_CHECK(cudaFree(dout));
  return out;
}

}  // namespace lemmse
