#include "engine/cpu_engine.hpp"

#include <atomic>
#include <chrono>
#include <cmath>
#include <mutex>

#include "engine/cpu_kernels.hpp"
#include "engine/pixel_outputs.hpp"
#include "engine/softmax_store.hpp"
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
  positions.fill(H, W, p.pixel_weight.empty() ? nullptr : p.pixel_weight.data(), p.key_bias.empty() ? nullptr : p.key_bias.data(),
                 p.strata ? p.pattern_of.data() : nullptr);

  EstimatorOutputs out = make_outputs(s, nimg, y.shape, Backend::cpu);
  const int k = s.topk;
  TopkTable image_topk(k > 0 ? HW : 0, k);
  std::mutex topk_mutex;

  std::atomic<long> done{0};
  std::atomic<bool> cancel{false};
  const int ww = p.win_w();
  // One query image at a time: its slices run in parallel and are merged right after, so the
  // partial states held at once are one image's (nslice × HW), whatever the batch size.
  std::vector<SoftmaxRowStore> partials(nslice);
  for (std::size_t img = 0; img < nimg; ++img) {
    parallel_for(
        nslice, resolve_threads(s.threads),
        [&](std::size_t sl) {
          partials[sl].init(HW, C);
          const cpu::AccState st = partials[sl].view();
          std::vector<double> scratch(cpu::window_scratch_size(H, W, p.win_h(), ww)), l(HW);
          const QuerySetup& q = queries[img];
          cpu::ShiftArgs sa{C, H, W, HW, p.du0, p.du1, p.dv0, p.dv1, p.whole, q.q.data(),
                            p.strata ? q.valid.data() : nullptr, np, p.inv_two_sigma2, s.variance || s.effective_count,
                            scratch.data(), l.data()};
          cpu::KeyImageStore key;
          TopkTable slice_topk(k > 0 ? HW : 0, k);
          for (std::size_t b = sl * kSlice; b < std::min(train.n, (sl + 1) * kSlice); ++b) {
            if (cancel) return;
            key.fill(C, H, W, p.keys.image(b), train.image(b));
            const cpu::KeyImage kv = key.view(positions);
            const std::size_t nshift = p.all_shifts ? HW : 1;
            for (std::size_t t = 0; t < nshift; ++t) {
              const int ti = int(t / W), tj = int(t % W);
              K.shift_update(st, sa, kv, ti, tj);
              if (k > 0)  // l: this shift's logits (−inf for incompatible keys)
                for (int r = 0; r < H; ++r) {
                  const std::size_t key_row = std::size_t((r + ti) % H) * W;
                  for (int j = 0; j < W; ++j) {
                    const std::size_t m = std::size_t(r) * W + std::size_t(j);
                    if (l[m] > -INFINITY)
                      slice_topk.push(m, TopkEntry{l[m], train_ids[b], std::int64_t(key_row + std::size_t(j + tj < W ? j + tj : j + tj - W))});
                  }
                }
            }
            ++done;
          }
          if (k > 0) {
            std::lock_guard<std::mutex> lock(topk_mutex);
            image_topk.merge_from(slice_topk);
          }
        },
        progress_poll(s, done, double(nimg * train.n), cancel));
    merge_slices_and_write(
        out, s, img, nslice, [&](std::size_t sl, std::size_t m) { return softmax_rows_at(partials[sl].view(), m); }, image_topk);
  }
  if (s.progress) s.progress(double(nimg * train.n), double(nimg * train.n));
  out.pairs = double(nimg) * double(HW) * double(train.n) * double(p.all_shifts ? HW : 1);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace lemmse
