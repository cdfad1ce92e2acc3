// Checked CUDA runtime calls: every call site goes through LEMMSE_CUDA_CHECK, which throws
// lemmse::Error naming the call, the file and the CUDA error string.
#pragma once
#include <cuda_runtime.h>

#include <string>

#include "lemmse/errors.hpp"

#define LEMMSE_CUDA_CHECK(call)                                                                  \
  do {                                                                                           \
    const cudaError_t lemmse_err_ = (call);                                                      \
    if (lemmse_err_ != cudaSuccess)                                                              \
      throw ::lemmse::Error(std::string("CUDA error in ") + #call + " (" + __FILE__ + ":" +      \
                            std::to_string(__LINE__) + "): " + cudaGetErrorString(lemmse_err_)); \
  } while (0)
