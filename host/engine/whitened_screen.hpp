// The whitened CPU engine's screen: which (query, 8-key panel) pairs need their exact fp64
// distances. Two float32 stages, each compared with a cut that holds whatever their rounding
// (cpu::Float32Bound), so a key they rule out is one push_block would give weight 0 — the
// results are the bits of the unscreened engine:
//  1. projected: distances of the short vectors of WhitenedProjection (C·m + 1 elements, a lower
//     bound on the whitened distance), for every pair;
//  2. full: the C·P² whitened elements in float32, for the panels stage 1 left live.
#pragma once
#include <cstddef>
#include <cmath>
#include <cstdint>
#include <vector>

#include "engine/cpu_kernels.hpp"
#include "kernels/online_softmax.hpp"
#include "engine/whitened_projection.hpp"

namespace lemmse {

// What the screen did in a run (tests, diagnostics): (query pixel, key) pairs it looked at; of
// those, the ones whose full float32 distance it computed (stage 2, whole panels) and the ones
// whose exact distance it left to compute (whole panels of 8 keys).
struct WhitenedScreenStats {
  double screened_pairs = 0, float32_pairs = 0, exact_pairs = 0;
  void add(const WhitenedScreenStats& o) {
    screened_pairs += o.screened_pairs;
    float32_pairs += o.float32_pairs;
    exact_pairs += o.exact_pairs;
  }
};

class WhitenedScreen {
 public:
  // For problem p (whitened vectors of L = C·d elements); projection_columns m per channel (0:
  // stage 2 alone).
  WhitenedScreen(const Problem& p, int projection_columns);
  // The query images of a group: whitened vectors qw[g], rows × L each (padding rows included).
  void set_queries(const std::vector<std::vector<double>>& qw, std::size_t ng, std::size_t rows);

  // One training image's float32 panels (both stages) and magnitudes, from its whitened keys
  // kw (HW × L) and fp64 panels kP (WhitenedDistanceArgs::kP, npad keys).
  struct Keys {
    AlignedVector<float> kP32, kPp32;
    std::vector<double> xp;  // projected keys, HW × dims (scratch)
    double max_abs = 0, proj_max_abs = 0, max_norm = 0;
  };
  void load_keys(const std::vector<double>& kw, const AlignedVector<double>& kP, std::size_t HW, std::size_t npad, Keys& k) const;

  // The cut of each stage for this training image (usable = false: values too large for float32
  // squares; run unscreened).
  struct Bounds {
    cpu::Float32Bound full, proj;
    bool usable = false;
  };
  Bounds bounds(const Keys& k) const;

  // The two stages' cuts for a query whose largest live exact distance is dmax (−inf: a padding
  // query, never live; +inf: no key yet, every key live).
  struct Cuts {
    float proj = INFINITY, full = INFINITY;
  };
  Cuts cuts(const Bounds& bd, double dmax) const;

  // live[i·np + j] (np = cnt / 8) for the kWhitenedQueries queries from row m0 of query image g
  // against keys n0 … n0 + cnt: whether query i may have a key of panel j within its cuts[i].
  // any[i]: whether query i has a live panel. D32: kWhitenedQueries × cnt floats of scratch.
  // Returns the live count.
  std::size_t mark(const cpu::Kernels& K, const Keys& k, std::size_t g, std::size_t m0, std::size_t n0, std::size_t cnt,
                   const Cuts* cuts, float* D32, std::uint8_t* live, bool* any, WhitenedScreenStats& stats) const;

 private:
  int L_ = 0;
  bool projected_ = false;
  WhitenedProjection proj_;
  std::vector<std::vector<float>> q32_, qp32_;  // per query image: full and projected float32 vectors
  double q_max_ = 0, qp_max_ = 0, q_norm_ = 0;
};

// One worker's use of the screen over its training images: the back-off (after a screened block
// with > 40 % of its panels live, 1, 3, 7 … up to 16,383 blocks run unscreened: at large σ nearly
// every key is live), each query pixel's cuts for the current image (recomputed when its running
// max moves), the image's float32 panels (made when a block first runs screened, so the back-off
// passes over whole images at their cost too), scratch and statistics.
class WhitenedScreenWorker {
 public:
  WhitenedScreenWorker(const WhitenedScreen& screen, std::size_t nimages, std::size_t HW, std::size_t nchunk);
  // A new training image: its whitened keys kw (HW × L) and fp64 panels kP (npad keys).
  void new_image(const std::vector<double>* kw, const AlignedVector<double>* kP, std::size_t npad);
  // The block of queries m0 … m0 + 5 of query image g (softmax states st, indexed by pixel)
  // against keys n0 … n0 + cnt: false when it runs unscreened; else live() holds its verdicts and
  // any[i] whether query i has a live panel. skip: push_block's drop threshold in nats.
  // list_floor (top-k; or null): per pixel, the logit a key must reach to enter its list
  // (TopkTable::floors): keys down to it stay live too.
  bool screen_block(const cpu::Kernels& K, std::size_t g, std::size_t m0, std::size_t n0, std::size_t cnt, const SoftmaxAcc<double>* st,
                    double skip, double inv_two_sigma2, bool* any, const double* list_floor = nullptr);
  const std::uint8_t* live() const { return live_.data(); }
  const WhitenedScreenStats& stats() const { return stats_; }

 private:
  const WhitenedScreen& screen_;
  std::size_t HW_;
  int rest_ = 0, run_ = 0;
  std::vector<double> cut_mx_;                 // per (query image, pixel): the max its cuts are for (running, or lowered by top-k; NaN: none yet)
  std::vector<WhitenedScreen::Cuts> cuts_;
  const std::vector<double>* kw_ = nullptr;
  const AlignedVector<double>* kP_ = nullptr;
  std::size_t npad_ = 0;
  bool prepared_ = false, usable_ = true;
  WhitenedScreen::Keys keys_;
  WhitenedScreen::Bounds bounds_;
  std::vector<float> D32_;
  std::vector<std::uint8_t> live_;
  WhitenedScreenStats stats_;
};

}  // namespace lemmse
