// Host side of the tiled window engine (kernels/window_tile.hpp): the float32 inputs a launch
// reads, the choice of kernel instantiation, and the outputs' assembly. Shared by the CUDA engine
// (cuda/window_engine.cu) and the host emulation of its blocks (tests/kernels).
#pragma once
#include <string>
#include <vector>

#include "engine/problem.hpp"
#include "kernels/window_tile.hpp"
#include "lemmse/errors.hpp"

namespace lemmse {

struct TileInputs {
  WindowTileArgs args{};  // scalar fields set; pointer fields null (set to device or host copies)
  std::size_t nimg = 0;
  int ppt = 1;            // pixels per thread (1, 2, 4, 8 or 16)
  std::vector<float> q, weight;  // keys (p.keys) and values (train) are converted by the caller
  std::vector<double> dshift;
  std::vector<std::uint8_t> valid;
  std::vector<int> pattern;
};

// Largest image the tiled engine takes: 16 pixels per thread.
constexpr std::size_t kTileMaxPixels = 16 * std::size_t(kTileThreads);

// Whether the tiled engine covers this request; if not, why (for --backend cuda's message).
bool window_tile_supports(const EstimatorSettings& s, const Problem& p, std::string* why);

// The launch's scalar fields from the problem; presence of the optional per-key arrays (weight,
// bias, strata) is marked by non-null placeholders, so shared-memory sizes can be computed from it.
WindowTileArgs tile_args(const Problem& p);

TileInputs prepare_tile_inputs(const EstimatorSettings& s, const Problem& p, const Images& train, const PreInverse& B,
                               const Images& y);

// Host outputs for nimg images, sized by the settings (estimate always; the log-density also for
// top-k, whose weights are exp(ℓ − log-density)). topk: each pixel's merged list, best first
// (nimg × HW × k, image = index into the training set), topk_count entries of it filled.
struct TileHostOutputs {
  std::vector<double> estimate, variance, log_density, effective_count;
  std::vector<TopkEntry> topk;
  std::vector<int> topk_count;
};
TileHostOutputs make_tile_outputs(const EstimatorSettings& s, const TileInputs& in);
// The outputs as EstimatorOutputs; top-k images are labelled with train_ids.
EstimatorOutputs finish_tile_outputs(const EstimatorSettings& s, const TileInputs& in, TileHostOutputs&& o,
                                     const ImageShape& shape, const std::vector<std::int64_t>& train_ids);
// The NumericalError for pixel `flat` (image · HW + m) that no key is compatible with.
[[noreturn]] void throw_no_compatible_key(std::size_t flat, std::size_t HW);

}  // namespace lemmse
