// AVX-512 (F, DQ, VL, BW) + FMA build of the CPU engine's loops: the AVX2 code, plus 8-double /
// 16-float steps in the exact pass's flat loops (LEMMSE_KERNEL_WIDE: e, window sums, logits and
// the float32 update). Each lane does the AVX2 build's operations, so the results are its bits.
// Used only on CPUs that have all four extensions (see cpu_kernels_generic.cpp).
#define LEMMSE_KERNEL_NS avx512
#define LEMMSE_KERNEL_WIDE 1
#include "engine/cpu_kernels.inc"
