// The CPU window engine's per-pixel softmax state: the fp64 state (SoftmaxRows) plus float32
// partial sums of the keys pushed since the last fold.
//
// Why: the per-key update (one exp and 1 + C multiply-adds per (pixel, key) pair) is half the
// engine's time when most keys are live (σ ≥ 0.2). In float32 it runs 8 pixels per AVX2
// instruction instead of 4, with a float32 exp; folding the partial sums into the fp64 state every
// kFoldShifts shifts keeps each float32 sum to at most kFoldShifts terms (relative rounding
// ≤ kFoldShifts·2⁻²⁴ of the partial, itself a small part of the total). The partial sums share
// the fp64 state's running max (weights exp(ℓ − mx) ≤ 1) and are taken about piv = float32 of
// its pivot; a new running max folds the pixel first, so no float32 sum is ever rescaled.
//
//   part.s  = Σ w,  part.s2 = Σ w²,  part.a1_c = Σ w (x_c − piv_c),  part.a2_c = Σ w (x_c − piv_c)²
//   fold: with δ = piv_c − pivot_c (fp64),  a1 += a1' + δ s',  a2 += a2' + δ(2 a1' + δ s')
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "util/aligned_vector.hpp"

#include "engine/softmax_store.hpp"
#include "kernels/online_softmax.hpp"

namespace lemmse {
namespace cpu {

// Shifts between folds of the float32 partial sums into the fp64 state.
constexpr int kFoldShifts = 16;

// Float32 partial sums (structure of arrays, channel stride npix), H rows of W pixels.
struct PartialRows {
  std::size_t npix;
  int C, H, W;
  float* s;
  float* s2;
  float* piv;    // C×npix: float32 of the fp64 state's pivot
  float* a1;     // C×npix
  float* a2;     // C×npix
  std::uint8_t* dirty;  // H: whether a row has partial sums to fold
};

// What the window kernels update: both states and the shifts pushed since the last fold.
struct AccState {
  SoftmaxRows rows;
  PartialRows part;
  int* pending;
};

// Host storage behind an AccState. rows() is the state to read once the kernels' fold has run
// (Kernels::fold): before it, up to kFoldShifts shifts' keys are still in the partial sums.
class AccStore {
 public:
  void init(int H, int W, int C) {
    const std::size_t npix = std::size_t(H) * std::size_t(W);
    rows_.init(npix, C);
    H_ = H;
    W_ = W;
    C_ = C;
    stride_ = stream_stride(npix);
    buf_.assign((2 + 3 * std::size_t(C)) * stride_, 0.0f);
    dirty_.assign(std::size_t(H), 0);
    pending_ = 0;
  }
  // Bytes init allocates (for the engines' memory checks).
  static double bytes(std::size_t npix, int C) {
    return SoftmaxRowStore::bytes(npix, C) + double((2 + 3 * std::size_t(C)) * stream_stride(npix)) * sizeof(float);
  }
  AccState view() {
    float* b = buf_.data();
    const std::size_t k = stride_, c = std::size_t(C_);
    return AccState{rows_.view(), PartialRows{k, C_, H_, W_, b, b + k, b + 2 * k, b + (2 + c) * k, b + (2 + 2 * c) * k, dirty_.data()},
                    &pending_};
  }
  SoftmaxRows rows() { return rows_.view(); }

 private:
  static std::size_t stream_stride(std::size_t npix) { return padded_stream_stride<float>(npix); }
  SoftmaxRowStore rows_;
  int H_ = 0, W_ = 0, C_ = 0;
  std::size_t stride_ = 0;
  AlignedVector<float> buf_;
  std::vector<std::uint8_t> dirty_;
  int pending_ = 0;
};

}  // namespace cpu
}  // namespace lemmse
