// The CPU engine's inner loops, compiled twice (baseline x86-64 and AVX2+FMA) and chosen at run
// time. One call handles one (training image, shift): the distance of every query pixel (float32
// differences, fp64 window sums), then the fp64 online-softmax update of a row of pixels.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/online_softmax.hpp"

namespace lemmse {
namespace cpu {

struct DistanceArgs {
  int C, H, W;
  std::size_t HW;
  int du0, du1, dv0, dv1;       // window offsets
  bool whole;                   // whole-image window: every pixel gets the same D
  const float* q;               // C×HW query (v = B y)
  const float* key;             // C×HW key image (B A x_b)
  const float* pixel_weight;    // HW weights at key pixels, or null
  float* e;                     // scratch H×(W + window width)
  double* hsum;                 // scratch H×W (window sums in fp64: see kernels/window_tile.hpp)
  float* ext;                   // scratch W + window width
  double* D;                    // out: HW distances
};

// Per-pixel softmax state (structure of arrays, fp64): the shared SoftmaxRows view.
using AccState = SoftmaxRows;

struct RowArgs {
  int W, tj;                    // row width, column shift
  std::size_t loc0;             // first pixel of the row in the state
  std::size_t key_row;          // n of key column 0 (before the shift)
  const double* D;              // W distances
  double inv_two_sigma2;
  const double* bias;           // HW per key position, or null
  const std::uint8_t* valid;    // W flags (1 = key allowed), or null
  const double* val;            // C×HW value image (clean x_b)
  std::size_t HW;
  double* l;                    // scratch W
  double* w;                    // scratch W
};

struct Kernels {
  void (*distances)(const DistanceArgs&, int ti, int tj);
  void (*accumulate_row)(const AccState&, const RowArgs&);
  const char* name;
};

// The fastest variant this CPU runs (AVX2+FMA when available).
const Kernels& kernels();

}  // namespace cpu
}  // namespace lemmse
