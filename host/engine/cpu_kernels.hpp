// The CPU engine's inner loops, compiled twice (baseline x86-64 and AVX2+FMA) and chosen at run
// time. One call handles one (training image, shift): the distance of every query pixel (fp64
// differences and window sums without subtraction, a few adds per pixel whatever P is), then the
// fp64 online-softmax update of every pixel that has a key within reach of its running max.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/online_softmax.hpp"

namespace lemmse {
namespace cpu {

// One training image as the window kernels read it: every row stored twice (row width 2W), so a
// shifted key row is one contiguous run of W pixels and no loop splits at the wrap.
struct KeyImage {
  const double* k;              // C × H × 2W keys (B A x_b)
  const double* weight;         // H × 2W pixel weights at key pixels, or null
  const double* val;            // C × H × 2W values (clean x_b)
  const double* bias;           // H × 2W per-key bias, or null
  const int* pattern;           // H × 2W binary-mask pattern id of each key position, or null
};

// What a KeyImage holds per key position, the same for every training image: built once per run
// from H×W arrays (each may be null: not used by the problem).
struct KeyPositionStore {
  std::vector<double> weight, bias;
  std::vector<int> pattern;
  void fill(int H, int W, const double* pixel_weight, const double* key_bias, const int* pattern_of);
};

// One training image's keys and values with rows stored twice, from C×H×W arrays.
struct KeyImageStore {
  std::vector<double> k, val;
  void fill(int C, int H, int W, const double* key, const double* value);
  KeyImage view(const KeyPositionStore& positions) const;
};

// Per-(query image, shift) arguments of the window kernels.
struct ShiftArgs {
  int C, H, W;
  std::size_t HW;
  int du0, du1, dv0, dv1;       // window offsets
  bool whole;                   // whole-image window: every pixel gets the same D
  const double* q;              // C×HW query (v = B y)
  const std::uint8_t* qvalid;   // strata: HW × npattern validity of (query pixel, key pattern), or null
  std::size_t npattern;
  double inv_two_sigma2;
  bool second_moments;          // also Σw² and Σw(x − K)² (variance, effective count); else those sums mean nothing
  double* scratch;              // window_scratch_size(H, W, wh, ww) doubles, zero-filled once (its tails are read, never written)
  double* l;                    // out: HW logits of this shift (−inf for keys not allowed)
};

// Doubles of scratch the window kernels need for an H×W image and a wh×ww window. Its arrays are
// kScratchSkew doubles apart beyond their sizes, so that arrays of 2^k bytes do not start at the
// same address modulo 4096 (loads behind stores to such addresses wait: 4K aliasing).
constexpr std::size_t kScratchSkew = 40;
std::size_t window_scratch_size(int H, int W, int wh, int ww);

// Longest window side the kernels sum (a window of n terms takes at most 1 + the set bits of n
// below its top one ≤ 10 terms); cpu_engine_supports sends longer ones to the reference engine.
constexpr int kMaxWindow = 1023;

// Per-pixel softmax state (structure of arrays, fp64): the shared SoftmaxRows view.
using AccState = SoftmaxRows;

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
  // The distances of every query pixel to the keys at shift (ti, tj) (fp64 differences and
  // window sums without subtraction), then their logits into a.l and the fp64 online-softmax update.
  void (*shift_update)(const AccState&, const ShiftArgs&, const KeyImage&, int ti, int tj);
  void (*whitened_distances)(const WhitenedDistanceArgs&);
  void (*push_block)(SoftmaxAcc<double>&, const BlockArgs&);
  const char* name;
};

// The fastest variant this CPU runs (AVX2+FMA when available).
const Kernels& kernels();
// Every variant this CPU runs, the fastest first (for tests that hold them to each other).
std::vector<const Kernels*> kernel_variants();

}  // namespace cpu
}  // namespace lemmse
