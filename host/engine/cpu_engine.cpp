#include "engine/cpu_engine.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>

#include "engine/cpu_kernels.hpp"
#include "engine/pixel_outputs.hpp"
#include "engine/softmax_store.hpp"
#include "engine/topk_offer.hpp"
#include "engine/topk_table.hpp"
#include "kernels/online_softmax.hpp"
#include "kernels/topk.hpp"
#include "lemmse/errors.hpp"
#include "util/parallel.hpp"

namespace lemmse {
namespace {

// Training images per work unit. Fixed (never derived from the thread count) so that the merge
// order, hence every result bit, is the same on any machine.
constexpr std::size_t kSlice = 16;

// Largest |x| of n values (NaN: NaN).
double max_abs(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::isnan(x) || std::fabs(x) > m ? std::fabs(x) : m;
  return m;
}

// Training images (the first ones: a fixed choice, so the floor and every result bit are the same
// for any thread count) whose keys set the screen's floor on each pixel's final max (Screen).
constexpr std::size_t kFloorImages = 8;

}  // namespace

const char* cpu_engine_variant() { return cpu::kernels().name; }

bool cpu_engine_supports(const EstimatorSettings&, const Problem& p) {
  return p.metric != Metric::whitened && (p.whole || (p.win_h() <= cpu::kMaxWindow && p.win_w() <= cpu::kMaxWindow));
}


EstimatorOutputs run_cpu_engine(const EstimatorSettings& s, const Problem& p, const Images& train,
                                const std::vector<std::int64_t>& train_ids, const PreInverse& B, const Images& y) {
  const auto t0 = std::chrono::steady_clock::now();
  const cpu::Kernels& K = cpu::kernels();
  const int C = p.C, H = p.H, W = p.W;
  const std::size_t HW = p.HW, nimg = y.n, nslice = (train.n + kSlice - 1) / kSlice;

  std::vector<QuerySetup> queries;
  for (std::size_t i = 0; i < nimg; ++i) queries.push_back(build_query(p, s, B, y.image(i)));
  const std::size_t np = p.pattern_bits.size();
  cpu::KeyPositionStore positions;  // pixel weights, key bias, mask patterns: the same for every training image
  // The float32 screen (cpu_kernels.hpp) needs every key's logit to be a plain −D/2σ² (no strata,
  // no key bias), a local window and values float32 can carry. With top-k it also keeps every key
  // that can still enter its pixel's list (Screen::list_floor).
  const int wh = p.win_h(), ww = p.win_w();
  const double mag = max_abs(p.keys(train).data);
  const double wmax = p.pixel_weight.empty() ? 1.0 : max_abs(p.pixel_weight);
  const bool weights_nonneg = std::all_of(p.pixel_weight.begin(), p.pixel_weight.end(), [](double w) { return w >= 0; });  // (its bound needs them)
  const bool screened = weights_nonneg && !p.whole && !p.strata && p.key_bias.empty() && wh <= cpu::kMaxScreenWindow &&
                        ww <= cpu::kMaxScreenWindow && mag < 1e15 && wmax < 1e15;
  const int margin = cpu::key_margin(p.dv0, p.dv1);
  const double skip_nats = cpu::skip_nats_for(double(train.n) * double(p.all_shifts ? HW : 1));
  positions.fill(H, W, margin, p.pixel_weight.empty() ? nullptr : p.pixel_weight.data(), p.key_bias.empty() ? nullptr : p.key_bias.data(),
                 p.strata ? p.pattern_of.data() : nullptr);

  EstimatorOutputs out = make_outputs(s, nimg, y.shape, Backend::cpu);
  const int k = s.topk;
  TopkTable image_topk(k > 0 ? HW : 0, k);
  std::mutex topk_mutex;

  std::atomic<long> done{0};
  std::atomic<bool> cancel{false};
  // One query image at a time: its slices run in parallel and are merged right after, so the
  // partial states held at once are one image's (nslice × HW), whatever the batch size.
  std::vector<cpu::AccStore> partials(nslice);
  for (std::size_t img = 0; img < nimg; ++img) {
    cpu::QueryImageStore qstore;
    qstore.fill(C, H, W, margin, queries[img].q.data());
    const cpu::ShiftArgs base{C, H, W, HW, p.du0, p.du1, p.dv0, p.dv1, p.whole, qstore.qx0(), qstore.q320(), qstore.stride,
                              nullptr, 0, p.inv_two_sigma2, false, nullptr, nullptr, skip_nats, nullptr};
    // The screen's floor: each pixel's least float32 distance over the first kFloorImages training
    // images (a min: the same whichever thread computes which image).
    std::vector<float> floor_dmin;
    const double qmag = std::max(mag, max_abs(queries[img].q));  // the largest |value| the screen's bound must cover
    if (screened) {
      const std::size_t nf = std::min(train.n, kFloorImages);
      std::vector<std::vector<float>> dmin(nf);
      parallel_for(nf, resolve_threads(s.threads), [&](std::size_t b) {
        dmin[b].assign(HW, INFINITY);
        AlignedVector<float> scratch(cpu::window_scratch_size(H, W, wh, ww), 0.0f);
        cpu::KeyImageStore key;
        key.fill(C, H, W, margin, p.keys(train).image(b), train.image(b));
        const cpu::KeyImage kv = key.view(positions);
        for (std::size_t t = 0; t < (p.all_shifts ? HW : 1); ++t) K.min_distances32(base, kv, int(t / W), int(t % W), scratch.data(), dmin[b].data());
      });
      floor_dmin.assign(HW, INFINITY);
      for (const auto& d : dmin)
        for (std::size_t m = 0; m < HW; ++m) floor_dmin[m] = std::min(floor_dmin[m], d[m]);
    }
    SharedTopkFloors shared_floors(k > 0 ? HW : 0);
    parallel_for(
        nslice, resolve_threads(s.threads),
        [&](std::size_t sl) {
          partials[sl].init(H, W, C);
          const cpu::AccState st = partials[sl].view();
          AlignedVector<double> scratch(cpu::window_scratch_size(H, W, wh, ww)), l(HW);
          const QuerySetup& q = queries[img];
          TopkTable slice_topk(k > 0 ? HW : 0, k);
          cpu::Screen screen;
          if (screened) {
            screen.init(C, H, W, wh, ww, qmag, wmax, skip_nats, p.inv_two_sigma2);
            if (k > 0) screen.list_floor = slice_topk.floors();
            screen.set_floor(floor_dmin.data());
          }
          cpu::ShiftArgs sa = base;
          sa.qvalid = p.strata ? q.valid.data() : nullptr;
          sa.npattern = np;
          sa.second_moments = s.variance || s.effective_count;
          sa.scratch = scratch.data();
          sa.l = l.data();
          sa.screen = screened ? &screen : nullptr;
          sa.all_logits = k > 0;
          cpu::KeyImageStore key;
          TopkOffer offer{&slice_topk, l.data(), H, W, 0, screened ? &screen : nullptr, st.rows.mx};
          if (k > 0) {
            sa.on_logits = TopkOffer::call;
            sa.logits_ctx = &offer;
          }
          for (std::size_t b = sl * kSlice; b < std::min(train.n, (sl + 1) * kSlice); ++b) {
            if (cancel) return;
            key.fill(C, H, W, margin, p.keys(train).image(b), train.image(b));
            const cpu::KeyImage kv = key.view(positions);
            const std::size_t nshift = p.all_shifts ? HW : 1;
            offer.train_id = train_ids[b];
            if (k > 0) offer.sync(shared_floors);
            // A row of shifts per call (shifts_update reads the image rows once for several); with
            // top-k, offer reads each shift's logits between them.
            for (std::size_t t = 0; t < nshift; t += std::size_t(W)) K.shifts_update(st, sa, kv, int(t / W), 0, int(std::min<std::size_t>(W, nshift - t)));
            ++done;
          }
          K.fold(st, sa.second_moments);  // the last shifts' partial sums into the fp64 state
          if (k > 0) {
            std::lock_guard<std::mutex> lock(topk_mutex);
            image_topk.merge_from(slice_topk);
          }
        },
        progress_poll(s, done, double(nimg * train.n), cancel));
    merge_slices_and_write(
        out, s, img, nslice, [&](std::size_t sl, std::size_t m) { return softmax_rows_at(partials[sl].rows(), m); }, image_topk);
  }
  if (s.progress) s.progress(double(nimg * train.n), double(nimg * train.n));
  out.pairs = double(nimg) * double(HW) * double(train.n) * double(p.all_shifts ? HW : 1);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace lemmse
