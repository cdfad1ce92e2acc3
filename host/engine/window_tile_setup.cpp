#include "engine/window_tile_setup.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

#include "engine/pixel_outputs.hpp"
#include "lemmse/errors.hpp"

namespace lemmse {

bool window_tile_supports(const EstimatorSettings&, const Problem& p, std::string* why) {
  auto no = [&](const std::string& w) {
    if (why) *why = w;
    return false;
  };
  if (p.metric == Metric::whitened) return no("the whitened (inverse-filter) metric is not in the CUDA engine yet (issue 4)");
  if (p.C < 1 || p.C > 4) return no("the CUDA engine takes 1 to 4 channels");
  if (p.HW > kTileMaxPixels) return no("the CUDA engine takes images of at most " + std::to_string(kTileMaxPixels) + " pixels");
  return true;
}

WindowTileArgs tile_args(const Problem& p) {
  static const float weight_mark = 0;
  static const double bias_mark = 0;
  static const std::uint8_t valid_mark = 0;
  WindowTileArgs a{};
  a.C = p.C;
  a.H = p.H;
  a.W = p.W;
  a.HW = int(p.HW);
  a.du0 = p.du0;
  a.du1 = p.du1;
  a.dv0 = p.dv0;
  a.dv1 = p.dv1;
  a.whole = p.whole;
  a.all_shifts = p.all_shifts;
  a.inv_two_sigma2 = p.inv_two_sigma2;
  a.scale2 = p.inv_two_sigma2 * 1.4426950408889634;
  a.npat = int(p.pattern_bits.size());
  a.weight = p.pixel_weight.empty() ? nullptr : &weight_mark;
  a.dshift = p.key_bias.empty() ? nullptr : &bias_mark;
  a.valid = p.strata ? &valid_mark : nullptr;
  return a;
}

TileInputs prepare_tile_inputs(const EstimatorSettings& s, const Problem& p, const Images& train, const PreInverse& B,
                               const Images& y) {
  TileInputs in;
  WindowTileArgs& a = in.args;
  a = tile_args(p);
  a.weight = nullptr;  // pointers are set by the caller to its copies of the arrays below
  a.dshift = nullptr;
  a.valid = nullptr;
  a.ntrain = (long long)train.n;
  a.nslice = int((train.n + kTileSlice - 1) / kTileSlice);
  a.partial_first = 0;  // (the whole set's slices; the engine narrows these when it streams chunks)
  a.partial_slices = a.nslice;
  a.topk = s.topk;  // the heaps and their slot count are set by the caller
  a.topk_slots = 1;
  // The band kernel drops keys more than ln K + 38 nats below the running maximum (K keys per
  // pixel): all of them together weigh ≤ e⁻³⁸ of the largest weight, under half an ulp of the sum
  // (the CPU engine's rule). The tiled kernel keeps the hardware exp2's own limit, 2⁻¹²⁶.
  const double keys = double(train.n) * (p.all_shifts ? double(p.HW) : 1.0);
  a.band_skip_log2 = float(std::max(double(kTileSkipLog2), -(std::log(keys) + 38.0) / std::log(2.0)));
  // The band kernel's exact path: row order (default) or queue order (kernels/window_band.hpp;
  // same bits). Queue order is not measured on a GPU yet.
  a.band_queue = 0;
  if (const char* env = std::getenv("LEMMSE_BAND_EXACT")) {
    const std::string v = env;
    if (v == "queue") a.band_queue = 1;
    else if (v != "row") throw InvalidArgument("LEMMSE_BAND_EXACT must be row or queue; got '" + v + "'");
  }
  in.nimg = y.n;
  const std::size_t need = (p.HW + kTileThreads - 1) / kTileThreads;
  while (std::size_t(in.ppt) < need) in.ppt *= 2;

  in.weight.assign(p.pixel_weight.begin(), p.pixel_weight.end());
  // Bias in distance units (logit = −g/2σ² with g = D − 2σ² bias), so one float carries the key's score.
  for (double b : p.key_bias) {
    in.dshift.push_back(-b / p.inv_two_sigma2);
    a.dshift_max = std::max(a.dshift_max, std::fabs(in.dshift.back()));
  }
  if (p.strata) in.pattern.assign(p.pattern_of.begin(), p.pattern_of.end());
  in.q.reserve(y.n * p.HW * std::size_t(p.C));
  for (std::size_t i = 0; i < y.n; ++i) {
    const QuerySetup qs = build_query(p, s, B, y.image(i));
    in.q.insert(in.q.end(), qs.q.begin(), qs.q.end());
    if (p.strata) in.valid.insert(in.valid.end(), qs.valid.begin(), qs.valid.end());
  }
  return in;
}

TileHostOutputs make_tile_outputs(const EstimatorSettings& s, const TileInputs& in) {
  const std::size_t HW = std::size_t(in.args.HW), CHW = HW * std::size_t(in.args.C);
  TileHostOutputs o;
  o.estimate.assign(in.nimg * CHW, 0.0);
  if (s.variance) o.variance.assign(in.nimg * CHW, 0.0);
  if (s.effective_count) o.effective_count.assign(in.nimg * HW, 0.0);
  if (s.log_density || s.topk > 0) o.log_density.assign(in.nimg * HW, 0.0);
  if (s.topk > 0) {
    o.topk.assign(in.nimg * HW * std::size_t(s.topk), TopkEntry{-INFINITY, -1, -1});
    o.topk_count.assign(in.nimg * HW, 0);
  }
  return o;
}

EstimatorOutputs finish_tile_outputs(const EstimatorSettings& s, const TileInputs& in, TileHostOutputs&& o,
                                     const ImageShape& shape, const std::vector<std::int64_t>& train_ids) {
  EstimatorOutputs out = make_outputs(s, in.nimg, shape, Backend::cuda);
  const std::size_t HW = std::size_t(in.args.HW), k = std::size_t(std::max(s.topk, 0));
  for (std::size_t img = 0; img < in.nimg && k > 0; ++img)
    for (std::size_t m = 0; m < HW; ++m) {
      const std::size_t pix = img * HW + m;
      TopkEntry* top = &o.topk[pix * k];
      for (int i = 0; i < o.topk_count[pix]; ++i) top[i].image = train_ids.at(std::size_t(top[i].image));  // index → label
      write_topk(out, s, img, m, o.log_density[pix], top, o.topk_count[pix]);
    }
  out.estimate.data = std::move(o.estimate);
  if (s.variance) out.variance.data = std::move(o.variance);
  if (s.log_density) out.log_density = std::move(o.log_density);
  out.effective_count = std::move(o.effective_count);
  out.pairs = double(in.nimg) * double(in.args.HW) * double(in.args.ntrain) * double(in.args.all_shifts ? in.args.HW : 1);
  return out;
}

void throw_no_compatible_key(std::size_t flat, std::size_t HW) {
  throw NumericalError("no training key is compatible with query pixel " + std::to_string(flat % HW) + " of image " +
                       std::to_string(flat / HW));
}

}  // namespace lemmse
