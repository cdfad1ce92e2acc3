// AVX2 + FMA build of the CPU engine's loops (compiled with -mavx2 -mfma; used only on CPUs that
// have them, see cpu_kernels_generic.cpp).
#define LEMMSE_KERNEL_NS avx2
#include "engine/cpu_kernels.inc"
