// Host emulation of the CUDA window engine: runs each block of the launch with its threads one
// after another between the barriers, on the very phase functions the kernel calls
// (kernels/window_tile.hpp), then the in-order merge. What the GPU adds — scheduling, shared
// memory banks, the hardware exp2 — is what the [gpu] tests check on a device.
#pragma once
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <climits>
#include <type_traits>
#include <vector>

#include "engine/window_tile_setup.hpp"
#include "kernels/window_band.hpp"

namespace lemmse_test {

// Calls f(integral_constant<C>, integral_constant<PPT>): the emulation's counterpart of the
// launch switch in cuda/window_tile_kernel.cuh.
template <class F>
void tile_dispatch(int C, int ppt, F&& f) {
  auto by_ppt = [&](auto c) {
    switch (ppt) {
      case 1: return f(c, std::integral_constant<int, 1>{});
      case 2: return f(c, std::integral_constant<int, 2>{});
      case 4: return f(c, std::integral_constant<int, 4>{});
      case 8: return f(c, std::integral_constant<int, 8>{});
      case 16: return f(c, std::integral_constant<int, 16>{});
    }
    throw lemmse::Error("tiled engine: no instantiation for " + std::to_string(ppt) + " pixels per thread");
  };
  switch (C) {
    case 1: return by_ppt(std::integral_constant<int, 1>{});
    case 2: return by_ppt(std::integral_constant<int, 2>{});
    case 3: return by_ppt(std::integral_constant<int, 3>{});
    case 4: return by_ppt(std::integral_constant<int, 4>{});
  }
  throw lemmse::Error("tiled engine: no instantiation for " + std::to_string(C) + " channels");
}

// With a.topk > 0, also the top-k kernels' phase (TS = 1 on the device). A runtime flag here, not
// the kernel's template parameter: with a <C, 4, 1, true> instance beside <C, 4, 1, false> in one
// translation unit, GCC 12 (-O1 and up) dropped the latter's tile_fold calls (the "several pixels
// per thread" test caught it; not understood; clang compiled both forms correctly).
template <int C, int PPT, int TS>
void emulate_tile_block(const lemmse::WindowTileArgs& a, long long img, int slice) {
  const bool topk = a.topk > 0;
  using namespace lemmse;
  std::vector<double> smem((tile_shared_bytes(a, TS) + sizeof(double) - 1) / sizeof(double));
  const TileShared sh = tile_shared_layout(a, smem.data(), TS);
  std::vector<TileThread<C, PPT>> th(kTileThreads);
  struct Floors {
    double v[PPT];
  };
  std::vector<Floors> floor(topk ? kTileThreads : 0);
  for (int tid = 0; tid < kTileThreads; ++tid) {
    tile_begin(a, sh, th[tid], img, slice, tid);
    if (topk) tile_topk_begin(a, floor[tid].v, img, slice, tid);
  }
  const long long b0 = (long long)slice * kTileSlice, b1 = std::min(a.ntrain, b0 + kTileSlice);
  const int nti = a.all_shifts ? a.H : 1, ntj = a.all_shifts ? a.W : 1;
  for (long long b = b0; b < b1; ++b) {
    for (int tid = 0; tid < kTileThreads; ++tid) tile_load_image(a, sh, b, tid);
    int ti = 0, tj = 0;
    while (ti < nti) {
      const TileRound<TS> rd = tile_next_round<TS>(ti, tj, nti, ntj);
      for (int tid = 0; tid < kTileThreads; ++tid)
        for (int s = 0; s < rd.n; ++s) tile_phase_e(a, sh, th[tid], rd.ti[s], rd.tj[s], s, tid);
      for (int tid = 0; tid < kTileThreads; ++tid)
        for (int s = 0; s < rd.n; ++s) tile_phase_h(a, sh, th[tid], s, tid);
      for (int tid = 0; tid < kTileThreads; ++tid)
        for (int s = 0; s < rd.n; ++s) {
          tile_phase_v(a, sh, th[tid], img, rd.ti[s], rd.tj[s], s, tid);
          if (topk) tile_phase_topk(a, sh, th[tid], floor[tid].v, img, rd.ti[s], rd.tj[s], s, tid, b, slice % a.topk_slots);
        }
    }
    for (int tid = 0; tid < kTileThreads; ++tid) tile_fold(a, th[tid], img, slice, tid);
  }
}

// One block of the band kernel (cuda/window_band.cu): its warps one after another, each warp's
// lanes in lockstep per walk row, the shuffles read from the source lane's value.
template <int C, class HT>
void emulate_band_block(const lemmse::WindowTileArgs& a, long long img, int slice) {
  using namespace lemmse;
  std::vector<double> smem((band_shared_bytes(a) + sizeof(double) - 1) / sizeof(double));
  const BandShared sh = band_shared_layout(a, smem.data());
  const int nthreads = band_threads(a), wh = band_window_rows(a), ww = band_window_cols(a);
  std::vector<BandLane> L(nthreads);
  for (int tid = 0; tid < nthreads; ++tid) band_begin_shared(a, sh, tid, nthreads);
  for (int tid = 0; tid < nthreads; ++tid) {
    band_lane_init(a, L[tid], tid);
    band_begin_lane<C>(a, sh, L[tid], img, slice);
  }
  const long long b0 = (long long)slice * kTileSlice, b1 = std::min(a.ntrain, b0 + kTileSlice);
  const int nti = a.all_shifts ? a.H : 1, ntj = a.all_shifts ? a.W : 1;
  for (long long b = b0; b < b1; ++b) {
    for (int tid = 0; tid < nthreads; ++tid) band_load_image(a, sh, b, tid, nthreads);
    const float* val = a.vals + std::size_t(b - a.key0) * std::size_t(C) * std::size_t(a.HW);
    for (int w = 0; w < band_warps(a); ++w) {
      BandLane* lanes = &L[std::size_t(w) * kBandLanes];
      HT* hbuf = band_hcol<HT>(a, sh, w, 0);
      const int nwalk = lanes[0].nrows + wh - 1;
      int rstart = lanes[0].r0 + a.du0;
      if (rstart < 0) rstart += a.H;
      for (int ti = 0; ti < nti; ++ti)
        for (int tj = 0; tj < ntj; ++tj) {
          int kc[kBandLanes];
          HT D[kBandLanes][kBandRows] = {};
          for (int l = 0; l < kBandLanes; ++l) kc[l] = (lanes[l].j + tj) % a.W;
          int rq = rstart, kr = (rstart + ti) % a.H;
          for (int i = 0; i < nwalk; ++i) {
            HT lv[kBandLevels][kBandLanes];
            for (int l = 0; l < kBandLanes; ++l) {
              float q[C];
              band_query<C>(a, img, rq * a.W + lanes[l].j, q);
              lv[0][l] = band_e<C>(a, sh, q, kr * a.W + kc[l]);
            }
            for (int v = 1; v < kBandLevels; ++v)
              if ((1 << v) <= ww)
                for (int l = 0; l < kBandLanes; ++l) lv[v][l] = lv[v - 1][l] + lv[v - 1][lanes[l].src_build[v - 1]];
            for (int l = 0; l < kBandLanes; ++l) {
              const HT h = band_combine<HT>(ww, [&](int v) { return lv[v][lanes[l].src_comb[v]]; });
              hbuf[i * kBandLanes + l] = h;
              band_accumulate(D[l], h, i, wh);
            }
            if (++rq == a.H) rq = 0;
            if (++kr == a.H) kr = 0;
          }
          if (!a.band_queue) {
            for (int l = 0; l < kBandLanes; ++l) band_finish_shift<C>(a, sh, lanes[l], img, ti, kc[l], D[l], hbuf + l, val);
          } else {  // the warp's queue, item by item (the kernel deals them to lanes 32 at a time)
            unsigned pass[kBandLanes];
            for (int l = 0; l < kBandLanes; ++l) pass[l] = band_screen(a, sh, lanes[l], ti, kc[l], D[l]);
            BandQueue q;
            q.first[0] = 0;
            for (int k = 0; k < kBandRows; ++k) {  // the kernel's ballot per band row
              q.rowmask[k] = 0;
              for (int l = 0; l < kBandLanes; ++l)
                if ((pass[l] >> k) & 1u) q.rowmask[k] |= 1u << l;
              q.first[k + 1] = q.first[k] + __builtin_popcount(q.rowmask[k]);
            }
            for (int i = 0; i < q.first[kBandRows]; ++i) {
              int k = 0, src = 0;
              band_queue_item(q, i, k, src);
              if (band_queue_index(q, k, src) != i) throw std::logic_error("band queue: item and index disagree");
              band_set_cut(lanes[src], k, band_exact_key<C>(a, sh, img, lanes[src].j, lanes[src].r0, k, ti, tj, hbuf + src, val));
            }
          }
        }
    }
    for (int tid = 0; tid < nthreads; ++tid) band_fold<C>(a, sh, L[tid], img, slice);
  }
}

// automatic: the band kernel where it fits, as the engine chooses (cuda/window_engine.cu).
enum class EmulatedKernel { tile, band, automatic };

// The whole engine, emulated: same inputs, launch shape and outputs as run_cuda_engine, with ts
// shifts per barrier round (1, 2 or 4); with s.topk, the tiled kernel's top-k instances with
// topk_slots heaps per image (the engine's launches of topk_slots slices, in order), training
// images labelled by their index. chunk_slices > 0: the training set streamed as the engine does
// when it does not fit on the device, that many 16-image slices per chunk, each chunk in a buffer
// of its own (WindowTileArgs::key0: its first image), the partial buffer holding one chunk's
// slices, folded into a carried state after each chunk (tile_carry_pixel).
inline lemmse::EstimatorOutputs emulate_window_engine(const lemmse::EstimatorSettings& s, const lemmse::Problem& p,
                                                      const lemmse::Images& train, const lemmse::PreInverse& B,
                                                      const lemmse::Images& y, int ts = 1,
                                                      EmulatedKernel kernel = EmulatedKernel::tile, bool screen_off = false,
                                                      int topk_slots = 2, int chunk_slices = 0) {
  using namespace lemmse;
  TileInputs in = prepare_tile_inputs(s, p, train, B, y);
  WindowTileArgs a = in.args;
  a.q = in.q.data();
  const std::vector<float> keys(p.keys(train).data.begin(), p.keys(train).data.end()), vals(train.data.begin(), train.data.end());  // as the engine uploads them
  a.keys = keys.data();
  a.vals = vals.data();
  a.weight = in.weight.empty() ? nullptr : in.weight.data();
  a.dshift = in.dshift.empty() ? nullptr : in.dshift.data();
  a.valid = in.valid.empty() ? nullptr : in.valid.data();
  a.pattern_of = in.pattern.empty() ? nullptr : in.pattern.data();
  const int chunk = chunk_slices > 0 ? chunk_slices : a.nslice;
  a.partial_slices = chunk;
  std::vector<double> partial(in.nimg * std::size_t(chunk) * (3 + 3 * std::size_t(a.C)) * std::size_t(a.HW));
  a.partial = partial.data();
  std::vector<SoftmaxAcc<double>> carry(chunk_slices > 0 ? in.nimg * std::size_t(a.HW) : 0);
  a.band_screen_off = screen_off;
  const std::size_t HW = std::size_t(a.HW), k = std::size_t(s.topk);
  a.topk_slots = topk_slots;
  std::vector<TopkEntry> heap(in.nimg * std::size_t(topk_slots) * HW * k);
  std::vector<int> count(in.nimg * std::size_t(topk_slots) * HW, 0);
  a.topk_heap = heap.data();
  a.topk_count = count.data();
  if (k > 0 && (kernel != EmulatedKernel::tile || ts != 1)) throw Unsupported("emulation: top-k runs the tiled kernel, one shift per round");
  if (kernel == EmulatedKernel::automatic) kernel = band_fits(a) ? EmulatedKernel::band : EmulatedKernel::tile;
  if (kernel == EmulatedKernel::band && !band_fits(a)) throw Unsupported("emulation: the band kernel does not take this shape or window");
  const std::size_t image_floats = std::size_t(a.C) * HW;
  std::vector<float> chunk_keys, chunk_vals;
  for (int c0 = 0; c0 < a.nslice; c0 += chunk) {
    const int c1 = std::min(a.nslice, c0 + chunk);
    if (chunk_slices > 0) {  // (a buffer of the chunk's size: an offset not taken from key0 reads past it)
      a.key0 = (long long)c0 * kTileSlice;
      const std::size_t b0 = std::size_t(a.key0), b1 = std::min<std::size_t>(train.n, std::size_t(c1) * kTileSlice);
      chunk_keys.assign(keys.begin() + std::ptrdiff_t(b0 * image_floats), keys.begin() + std::ptrdiff_t(b1 * image_floats));
      chunk_vals.assign(vals.begin() + std::ptrdiff_t(b0 * image_floats), vals.begin() + std::ptrdiff_t(b1 * image_floats));
      chunk_keys.shrink_to_fit();
      chunk_vals.shrink_to_fit();
      a.keys = chunk_keys.data();
      a.vals = chunk_vals.data();
      a.partial_first = c0;
    }
    if (kernel == EmulatedKernel::band) {
      for (std::size_t img = 0; img < in.nimg; ++img)
        for (int sl = c0; sl < c1; ++sl) {
          auto run = [&](auto c, auto ht) { emulate_band_block<decltype(c)::value, decltype(ht)>(a, (long long)img, sl); };
          auto by_c = [&](auto ht) {
            switch (a.C) {
              case 1: return run(std::integral_constant<int, 1>{}, ht);
              case 2: return run(std::integral_constant<int, 2>{}, ht);
              case 3: return run(std::integral_constant<int, 3>{}, ht);
              default: return run(std::integral_constant<int, 4>{}, ht);
            }
          };
          if (band_h64(a)) by_c(double{}); else by_c(float{});
        }
    } else {
      tile_dispatch(a.C, in.ppt, [&](auto c, auto ppt) {
        for (std::size_t img = 0; img < in.nimg; ++img)
          for (int sl = c0; sl < c1; ++sl) {
            constexpr int Cc = decltype(c)::value, P = decltype(ppt)::value;
            if (ts == 4)
              emulate_tile_block<Cc, P, 4>(a, (long long)img, sl);
            else if (ts == 2)
              emulate_tile_block<Cc, P, 2>(a, (long long)img, sl);
            else
              emulate_tile_block<Cc, P, 1>(a, (long long)img, sl);
          }
      });
    }
    for (std::size_t img = 0; img < carry.size() / HW; ++img)  // (chunks only: the engine's fold kernel)
      for (int m = 0; m < a.HW; ++m) tile_carry_pixel(a, carry.data(), (long long)img, m);
  }
  TileHostOutputs o = make_tile_outputs(s, in);
  const TileOutputs to{o.estimate.data(), o.variance.empty() ? nullptr : o.variance.data(),
                       o.log_density.empty() ? nullptr : o.log_density.data(),
                       o.effective_count.empty() ? nullptr : o.effective_count.data()};
  for (std::size_t img = 0; img < in.nimg; ++img)
    for (int m = 0; m < a.HW; ++m)
      if (!(carry.empty() ? tile_merge_pixel(a, to, (long long)img, m) : tile_write_pixel(a, to, carry[img * HW + std::size_t(m)], (long long)img, m)))
        throw_no_compatible_key(img * std::size_t(a.HW) + std::size_t(m), std::size_t(a.HW));
  for (std::size_t img = 0; img < in.nimg && k > 0; ++img)
    for (int m = 0; m < a.HW; ++m) {  // the merge kernel, then the engine's copy of slot 0
      const TopkSlots t = tile_topk_slots(a);
      topk_merge_slots(t, (long long)img, m);
      const std::size_t c0 = topk_cell(t, (long long)img, 0, m);
      std::copy(heap.begin() + std::ptrdiff_t(c0 * k), heap.begin() + std::ptrdiff_t((c0 + 1) * k), o.topk.begin() + std::ptrdiff_t((img * HW + std::size_t(m)) * k));
      o.topk_count[img * HW + std::size_t(m)] = count[c0];
    }
  std::vector<std::int64_t> ids(train.n);
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = std::int64_t(i);
  EstimatorOutputs out = finish_tile_outputs(s, in, std::move(o), y.shape, ids);
  out.backend = Backend::cuda;
  return out;
}

}  // namespace lemmse_test
