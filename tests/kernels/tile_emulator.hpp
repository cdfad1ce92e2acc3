// Host emulation of the CUDA window engine: runs each block of the launch with its threads one
// after another between the barriers, on the very phase functions the kernel calls
// (kernels/window_tile.hpp), then the in-order merge. What the GPU adds — scheduling, shared
// memory banks, the hardware exp2 — is what the [gpu] tests check on a device.
#pragma once
#include <climits>
#include <type_traits>
#include <vector>

#include "engine/window_tile_setup.hpp"

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

template <int C, int PPT, int TS>
void emulate_tile_block(const lemmse::WindowTileArgs& a, long long img, int slice) {
  using namespace lemmse;
  std::vector<double> smem((tile_shared_bytes(a, TS) + sizeof(double) - 1) / sizeof(double));
  const TileShared sh = tile_shared_layout(a, smem.data(), TS);
  std::vector<TileThread<C, PPT>> th(kTileThreads);
  for (int tid = 0; tid < kTileThreads; ++tid) tile_begin(a, sh, th[tid], img, slice, tid);
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
        for (int s = 0; s < rd.n; ++s) tile_phase_v(a, sh, th[tid], img, rd.ti[s], rd.tj[s], s, tid);
    }
    for (int tid = 0; tid < kTileThreads; ++tid) tile_fold(a, th[tid], img, slice, tid);
  }
}

// The whole engine, emulated: same inputs, launch shape and outputs as run_cuda_engine, with ts
// shifts per barrier round (1, 2 or 4).
inline lemmse::EstimatorOutputs emulate_window_engine(const lemmse::EstimatorSettings& s, const lemmse::Problem& p,
                                                      const lemmse::Images& train, const lemmse::PreInverse& B,
                                                      const lemmse::Images& y, int ts = 1) {
  using namespace lemmse;
  TileInputs in = prepare_tile_inputs(s, p, train, B, y);
  WindowTileArgs a = in.args;
  a.q = in.q.data();
  a.keys = in.keys.data();
  a.vals = in.vals.data();
  a.weight = in.weight.empty() ? nullptr : in.weight.data();
  a.dshift = in.dshift.empty() ? nullptr : in.dshift.data();
  a.valid = in.valid.empty() ? nullptr : in.valid.data();
  a.pattern_of = in.pattern.empty() ? nullptr : in.pattern.data();
  std::vector<double> partial(in.nimg * std::size_t(a.nslice) * (3 + 3 * std::size_t(a.C)) * std::size_t(a.HW));
  a.partial = partial.data();
  tile_dispatch(a.C, in.ppt, [&](auto c, auto ppt) {
    for (std::size_t img = 0; img < in.nimg; ++img)
      for (int sl = 0; sl < a.nslice; ++sl) {
        constexpr int Cc = decltype(c)::value, P = decltype(ppt)::value;
        if (ts == 4)
          emulate_tile_block<Cc, P, 4>(a, (long long)img, sl);
        else if (ts == 2)
          emulate_tile_block<Cc, P, 2>(a, (long long)img, sl);
        else
          emulate_tile_block<Cc, P, 1>(a, (long long)img, sl);
      }
  });
  TileHostOutputs o = make_tile_outputs(s, in);
  const TileOutputs to{o.estimate.data(), o.variance.empty() ? nullptr : o.variance.data(),
                       o.log_density.empty() ? nullptr : o.log_density.data(),
                       o.effective_count.empty() ? nullptr : o.effective_count.data()};
  for (std::size_t img = 0; img < in.nimg; ++img)
    for (int m = 0; m < a.HW; ++m)
      if (!tile_merge_pixel(a, to, (long long)img, m)) throw_no_compatible_key(img * std::size_t(a.HW) + std::size_t(m), std::size_t(a.HW));
  EstimatorOutputs out = finish_tile_outputs(s, in, std::move(o), y.shape);
  out.backend = Backend::cuda;
  return out;
}

}  // namespace lemmse_test
