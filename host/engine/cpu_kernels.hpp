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

// Whitened metric (engine/whitened_cpu.cpp): squared distances between kWhitenedQueries query
// vectors and every key vector of one training image, as direct fp64 differences.
constexpr int kWhitenedQueries = 4;
constexpr int kWhitenedLanes = 8;  // keys per register block; key counts are padded to a multiple
struct WhitenedDistanceArgs {
  int L;                        // vector length C·P²
  std::size_t n;                // keys in this block, a multiple of kWhitenedLanes
  std::size_t stride;           // distance between one element's rows of kT (the padded key count)
  const double* q;              // kWhitenedQueries × L query vectors
  const double* kT;             // L rows of `stride` key elements, transposed (padding: anything finite)
  double* D;                    // out: kWhitenedQueries × n squared distances
};

// One pixel's logits l[0..n) against keys with values val (C rows; −inf logits for padding),
// pushed into its fp64 online-softmax state in one block: one max update per block, float32
// weights (keys > 87 nats below the max dropped, as accumulate_row does), fp64 lane sums folded
// in a fixed order.
struct BlockArgs {
  const double* l;              // n logits (a multiple of kWhitenedLanes)
  std::size_t n;
  const double* val;            // C rows of `stride` values
  std::size_t stride;
  int C;
};

struct Kernels {
  void (*distances)(const DistanceArgs&, int ti, int tj);
  void (*accumulate_row)(const AccState&, const RowArgs&);
  void (*whitened_distances)(const WhitenedDistanceArgs&);
  void (*push_block)(SoftmaxAcc<double>&, const BlockArgs&);
  const char* name;
};

// The fastest variant this CPU runs (AVX2+FMA when available).
const Kernels& kernels();

}  // namespace cpu
}  // namespace lemmse
