#include "engine/whitened_cpu.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>

#include "engine/cpu_kernels.hpp"
#include "engine/pixel_outputs.hpp"
#include "engine/topk_table.hpp"
#include "engine/whitened_projection.hpp"
#include "kernels/online_softmax.hpp"
#include "lemmse/errors.hpp"
#include "util/parallel.hpp"
#include "util/parse.hpp"

namespace lemmse {
namespace {

constexpr std::size_t kSlice = 16;  // training images per unit: fixed, so results never depend on threads
constexpr double kSkipNats = 708.0;  // shift-0 pushes: fp64 exp underflows below this (online_softmax.hpp)

std::size_t round_up(std::size_t n, std::size_t m) { return (n + m - 1) / m * m; }

// Scratch of one unit: one training image's whitened keys, packed in panels and padded, its
// values padded, and one query block's distances and logits.
struct Scratch {
  std::vector<double> kw;
  AlignedVector<double> kP, val, D, l;  // (the kernels read them in whole vectors)
};

// Whitened keys of training image b in panels of kWhitenedLanes keys (WhitenedDistanceArgs::kP;
// padding 0) and its values as C × npad.
void load_keys(const Problem& p, const Images& train, std::size_t b, std::size_t npad, Scratch& w) {
  const std::size_t L = std::size_t(p.C) * p.d, HW = p.HW;
  whiten_patches_fast(p, p.keys(train).image(b), w.kw);
  cpu::pack_panels(w.kw.data(), HW, L, npad, w.kP);
  w.val.assign(std::size_t(p.C) * npad, 0.0);
  for (int c = 0; c < p.C; ++c) std::copy_n(train.image(b) + std::size_t(c) * HW, HW, &w.val[std::size_t(c) * npad]);
}

// Whether the float32 screen runs (LEMMSE_WHITENED_SCREEN=0 turns it off: tests and A/B runs;
// the results are the same bits either way).
bool whitened_screen_enabled() {
  const char* env = std::getenv("LEMMSE_WHITENED_SCREEN");
  if (!env) return true;
  const std::string v(env);
  if (v == "0") return false;
  if (v == "1") return true;
  throw InvalidArgument("LEMMSE_WHITENED_SCREEN must be 0 or 1, not '" + v + "'");
}

}  // namespace

std::size_t whitened_group_cap() { return std::size_t(env_count("LEMMSE_WHITENED_GROUP", 1, 1L << 40)); }

std::size_t whitened_group_images(std::size_t nimg, std::size_t ntrain, std::size_t HW) {
  if (const std::size_t cap = whitened_group_cap()) return std::min(nimg, cap);
  const double per_image = double((ntrain + kSlice - 1) / kSlice) * double(HW) * double(sizeof(SoftmaxAcc<double>));
  return std::max<std::size_t>(1, std::min(nimg, std::size_t(double(kWhitenedGroupBytes) / per_image)));
}

EstimatorOutputs run_whitened_cpu(const EstimatorSettings& s, const Problem& p, const Images& train,
                                  const std::vector<std::int64_t>& train_ids, const PreInverse& B, const Images& y,
                                  WhitenedScreenStats* stats) {
  const auto t0 = std::chrono::steady_clock::now();
  const cpu::Kernels& K = cpu::kernels();
  constexpr std::size_t MQ = cpu::kWhitenedQueries;
  const int C = p.C, k = s.topk;
  const std::size_t HW = p.HW, L = std::size_t(C) * p.d, nimg = y.n, nslice = (train.n + kSlice - 1) / kSlice;
  const std::size_t npad = round_up(HW, cpu::kWhitenedLanes), mpad = round_up(HW, MQ);
  // Keys per chunk: ~128 KiB of key panels (L2-resident), whole pairs of panels (the screen's
  // float32 blocks take two at a time).
  constexpr std::size_t kPair = 2 * cpu::kWhitenedLanes;
  const std::size_t nchunk = std::min(npad, std::max<std::size_t>(1, (16384 / L + kPair / 2) / kPair) * kPair);
  // Query images per group: each training image is whitened once per group, not once per query image.
  const std::size_t group = whitened_group_images(nimg, train.n, HW);

  const double block_skip = cpu::skip_nats_for(double(train.n) * double(HW));
  // The float32 screen: exact fp64 distances only for the (query, key panel) pairs it cannot rule
  // out (with top-k, keys a list may take stay live: their logits are all computed).
  std::unique_ptr<WhitenedScreen> screen;
  if (p.all_shifts && whitened_screen_enabled()) screen = std::make_unique<WhitenedScreen>(p, whitened_projection_columns(p.d));
  const double push_skip = std::min(block_skip, cpu::kMaxPushSkip);
  const bool second = s.variance || s.effective_count;  // Σw², Σw(x − K)² only when asked for
  EstimatorOutputs out = make_outputs(s, nimg, y.shape, Backend::cpu);
  std::vector<TopkTable> image_topk;
  std::mutex topk_mutex;  // (and the screen's statistics)
  std::atomic<long> done{0};
  std::atomic<bool> cancel{false};
  // partials[g][sl]: image g of the group, slice sl
  std::vector<std::vector<std::vector<SoftmaxAcc<double>>>> partials(group, std::vector<std::vector<SoftmaxAcc<double>>>(nslice));
  std::vector<std::vector<double>> qw(group);
  for (std::size_t g0 = 0; g0 < nimg; g0 += group) {
    const std::size_t ng = std::min(group, nimg - g0);
    image_topk.assign(ng, TopkTable(k > 0 ? HW : 0, k));
    for (std::size_t g = 0; g < ng; ++g) {
      // Whitened query vectors, HW × L, padded with copies of the last pixel's to a whole block.
      whiten_patches_fast(p, build_query(p, s, B, y.image(g0 + g)).q.data(), qw[g]);
      qw[g].resize(mpad * L);
      for (std::size_t m = HW; m < mpad; ++m) std::copy_n(&qw[g][(HW - 1) * L], L, &qw[g][m * L]);
    }
    if (screen) screen->set_queries(qw, ng, mpad);
    std::vector<SharedTopkFloors> shared_floors;  // per query image of the group (top-k)
    for (std::size_t g = 0; g < (k > 0 ? ng : 0); ++g) shared_floors.emplace_back(HW);
    parallel_for(
        nslice, resolve_threads(s.threads),
        [&](std::size_t sl) {
          std::vector<TopkTable> slice_topk(ng, TopkTable(k > 0 ? HW : 0, k));
          for (std::size_t g = 0; g < ng; ++g) {
            partials[g][sl].resize(HW);
            for (auto& a : partials[g][sl]) softmax_init(a);
          }
          Scratch w;
          std::unique_ptr<WhitenedScreenWorker> sw;
          if (screen) sw = std::make_unique<WhitenedScreenWorker>(*screen, ng, HW, nchunk);
          w.D.resize(MQ * nchunk);
          w.l.resize(npad);
          for (std::size_t b = sl * kSlice; b < std::min(train.n, (sl + 1) * kSlice); ++b) {
            if (cancel) return;
            load_keys(p, train, b, npad, w);
            if (sw) sw->new_image(&w.kw, &w.kP, npad);
            for (std::size_t g = 0; g < shared_floors.size(); ++g) shared_floors[g].exchange(slice_topk[g], [](std::size_t) {});
            for (std::size_t g = 0; g < ng; ++g) {  // every query image of the group against these keys
              std::vector<SoftmaxAcc<double>>& st = partials[g][sl];
              const double* q = qw[g].data();
              if (!p.all_shifts) {  // l-mmse: key position n = m only
                for (std::size_t m = 0; m < HW; ++m) {
                  double D = 0;
                  for (std::size_t e = 0; e < L; ++e) {
                    const double d = q[m * L + e] - w.kw[m * L + e];
                    D += d * d;
                  }
                  const double l = -D * p.inv_two_sigma2;
                  double x[kMaxChannels];
                  for (int c = 0; c < C; ++c) x[c] = w.val[std::size_t(c) * npad + m];
                  softmax_push(st[m], l, x, C, kSkipNats);
                  if (k > 0) slice_topk[g].push(m, TopkEntry{l, train_ids[b], std::int64_t(m)});
                }
                continue;
              }
              // Keys in chunks whose panels stay in L2 across all query blocks (the whole
              // image's keys, L × HW doubles, do not at CIFAR-10 sizes); per pixel the chunks arrive
              // in key order.
              for (std::size_t n0 = 0; n0 < npad; n0 += nchunk) {
                const std::size_t cnt = std::min(nchunk, npad - n0), nreal = n0 < HW ? std::min(cnt, HW - n0) : 0;
                const std::size_t np = cnt / cpu::kWhitenedLanes;
                for (std::size_t m0 = 0; m0 < HW; m0 += MQ) {
                  cpu::WhitenedDistanceArgs args{int(L), cnt, &q[m0 * L], w.kP.data() + n0 * L, w.D.data()};
                  bool any[MQ];
                  // float32 distances first; exact ones only where a key may be live
                  const bool screened = sw && sw->screen_block(K, g, m0, n0, cnt, st.data(), push_skip, p.inv_two_sigma2, any,
                                                                  k > 0 ? slice_topk[g].floors() : nullptr);
                  if (screened) args.live = sw->live();
                  K.whitened_distances(args);
                  for (std::size_t i = 0; i < MQ && m0 + i < HW; ++i) {
                    if (screened && !any[i]) continue;  // every key dropped: the push would add nothing
                    const double* D = &w.D[i * cnt];
                    if (screened) {  // logits of the live panels only (whole panels: −inf past nreal below)
                      const std::uint8_t* live = sw->live() + i * np;
                      for (std::size_t j = 0; j < np; ++j) {
                        double* lj = &w.l[j * cpu::kWhitenedLanes];
                        const double* Dj = &D[j * cpu::kWhitenedLanes];
                        if (live[j])
                          for (std::size_t t = 0; t < cpu::kWhitenedLanes; ++t) lj[t] = -Dj[t] * p.inv_two_sigma2;
                        else
                          for (std::size_t t = 0; t < cpu::kWhitenedLanes; ++t) lj[t] = -INFINITY;
                      }
                    } else {
                      for (std::size_t n = 0; n < nreal; ++n) w.l[n] = -D[n] * p.inv_two_sigma2;
                    }
                    for (std::size_t n = nreal; n < cnt; ++n) w.l[n] = -INFINITY;
                    K.push_block(st[m0 + i], cpu::BlockArgs{w.l.data(), cnt, w.val.data() + n0, npad, C, block_skip, second});
                    if (k > 0) {
                      const double floor = slice_topk[g].floor(m0 + i);
                      for (std::size_t n = 0; n < nreal; ++n)
                        if (w.l[n] >= floor) slice_topk[g].push(m0 + i, TopkEntry{w.l[n], train_ids[b], std::int64_t(n0 + n)});
                    }
                  }
                }
              }
            }
            done += long(ng);
          }
          std::lock_guard<std::mutex> lock(topk_mutex);
          if (k > 0)
            for (std::size_t g = 0; g < ng; ++g) image_topk[g].merge_from(slice_topk[g]);
          if (stats && sw) stats->add(sw->stats());
        },
        progress_poll(s, done, double(nimg * train.n), cancel));
    for (std::size_t g = 0; g < ng; ++g)  // slice order
      merge_slices_and_write(out, s, g0 + g, nslice, [&](std::size_t sl, std::size_t m) { return partials[g][sl][m]; }, image_topk[g]);
  }
  if (s.progress) s.progress(double(nimg * train.n), double(nimg * train.n));
  out.pairs = double(nimg) * double(HW) * double(train.n) * double(p.all_shifts ? HW : 1);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace lemmse
