// LEMMSE_HD marks arithmetic shared by host code and CUDA kernels: the CPU tests exercise the
// very functions the kernels run (DESIGN.md §6).
#pragma once
#if defined(__CUDACC__)
#define LEMMSE_HD __host__ __device__ __forceinline__
#else
#define LEMMSE_HD inline
#endif

// Full unrolling of loops over compile-time bounds (registers, not local memory, on the device).
#if defined(__CUDA_ARCH__)
#define LEMMSE_UNROLL _Pragma("unroll")
#else
#define LEMMSE_UNROLL
#endif
