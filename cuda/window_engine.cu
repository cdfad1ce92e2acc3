// The CUDA window engine: host orchestration (uploads, launches in slice groups, merge, outputs)
// around the tiled kernel, whose arithmetic is kernels/window_tile.hpp (tested on the host by
// tests/kernels/test_window_tile.cpp; on a device by tests/cuda/test_cuda_engine.cpp).
#include <nvtx3/nvToolsExt.h>

#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "cuda/cuda_check.cuh"
#include "cuda/device_memory.cuh"
#include "cuda/staged_upload.cuh"
#include "cuda/topk_slots.cuh"
#include "cuda/window_band_launch.hpp"
#include "cuda/window_tile_launch.hpp"
#include "engine/cuda_engine.hpp"
#include "engine/cuda_memory_plan.hpp"
#include "engine/whitened_cuda.hpp"
#include "engine/whitened_setup.hpp"
#include "engine/window_tile_setup.hpp"
#include "lemmse/device.hpp"
#include "util/format.hpp"

namespace lemmse {
namespace {

// Slices per launch: bounds one launch's run time, so progress and cancellation are regular.
constexpr int kSlicesPerLaunch = 1024;

__global__ void window_merge_kernel(WindowTileArgs a, TileOutputs o, long long nimg, unsigned long long* first_empty) {
  const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= nimg * a.HW) return;
  if (!tile_merge_pixel(a, o, i / a.HW, int(i % a.HW))) atomicMin(first_empty, (unsigned long long)i);
}

// A streamed training set: the chunk's slices folded into each pixel's carried state, and after
// the last chunk the outputs from it (tile_carry_pixel: the same merges in the same order).
__global__ void window_fold_kernel(WindowTileArgs a, SoftmaxAcc<double>* carry, long long nimg) {
  const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= nimg * a.HW) return;
  tile_carry_pixel(a, carry, i / a.HW, int(i % a.HW));
}

__global__ void window_write_kernel(WindowTileArgs a, TileOutputs o, const SoftmaxAcc<double>* carry, long long nimg,
                                    unsigned long long* first_empty) {
  const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= nimg * a.HW) return;
  if (!tile_write_pixel(a, o, carry[i], i / a.HW, int(i % a.HW))) atomicMin(first_empty, (unsigned long long)i);
}

// Shared memory a block may use on the current device (opt-in limit).
std::size_t device_shared_limit() {
  int dev = 0, v = 0;
  LEMMSE_CUDA_CHECK(cudaGetDevice(&dev));
  LEMMSE_CUDA_CHECK(cudaDeviceGetAttribute(&v, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
  return std::size_t(v);
}

// Shifts per barrier round: 1 by default — measured fastest on an H200 (CIFAR-10, 10,000 training
// images, P = 5: 145 ms with 1, 155 ms with 2, 206 ms with 4, whose unrolled rounds spill
// registers; equal at P = 17; bench/results/2026-11-26-h200-cuda-engine.md).
// LEMMSE_TILE_SHIFTS=1|2|4 chooses another (same bits: tests/cuda/test_cuda_engine.cpp).
// Top-k runs one shift per round (its kernels are instantiated for that only).
int choose_tile_shifts(const WindowTileArgs& a) {
  if (const char* env = std::getenv("LEMMSE_TILE_SHIFTS")) {
    const int ts = std::atoi(env);
    if (ts != 1 && ts != 2 && ts != 4) throw InvalidArgument("LEMMSE_TILE_SHIFTS must be 1, 2 or 4");
    if (a.topk > 0 && ts != 1) throw Unsupported("LEMMSE_TILE_SHIFTS=" + std::string(env) + ": --topk runs one shift per round");
    if (tile_shared_bytes(a, ts) > device_shared_limit()) throw Unsupported("LEMMSE_TILE_SHIFTS=" + std::string(env) + ": too little shared memory");
    return ts;
  }
  return 1;
}

// The band kernel (kernels/window_band.hpp) where it fits (images ≤ 32 columns and 64 rows, P×P
// windows), where its shared memory does, and where it was measured faster than the tiled kernel
// (H200, CIFAR-10, 10,000 training images, kernel ms, band / tiled in the same call;
// bench/results/2026-11-27-h200-kernels.md):
//   σ = 0.1:  P = 5  133 / 145;  P = 7  143 / 154;  P = 11 154 / 166;  P = 17 259 / 189
//   σ = 0.5:  P = 5  253 / 147;  P = 7  354 / 159;  P = 11 377 / 172
//   σ = 0.01: band 61 (P = 5), 100 (7), 139 (11), 251 (17)
//   → band for windows of ≤ 11 columns (float32 horizontal sums) at σ ≤ 0.1; tiled elsewhere.
// More keys pass the band kernel's screen as σ grows and take its per-row exact path.
// LEMMSE_WINDOW_KERNEL=tile|band forces one (band where it cannot run is an error), for
// measurements and tests.
// Top-k is the tiled kernel's only.
bool choose_band(const WindowTileArgs& a) {
  const bool fits = band_fits(a) && band_shared_bytes(a) <= device_shared_limit();
  if (const char* env = std::getenv("LEMMSE_WINDOW_KERNEL")) {
    const std::string k = env;
    if (k == "tile") return false;
    if (k != "band") throw InvalidArgument("LEMMSE_WINDOW_KERNEL must be tile or band");
    if (a.topk > 0) throw Unsupported("LEMMSE_WINDOW_KERNEL=band: the band kernel has no top-k (--topk runs the tiled kernel)");
    if (!fits) throw Unsupported("LEMMSE_WINDOW_KERNEL=band: the band kernel takes P×P windows on images of at most 32 columns and 64 rows");
    return true;
  }
  const double sigma = std::sqrt(0.5 / a.inv_two_sigma2) * (1 - 1e-9);
  return a.topk == 0 && fits && !band_h64(a) && sigma <= 0.1;
}

// Float32 arrays per training image on the device: keys (B A x) and values (x), or the values
// alone when they are the keys (plain denoising), and their bytes.
int train_arrays(const Problem& p) { return p.keys_are_train ? 1 : 2; }
double train_bytes(const Problem& p) { return train_arrays(p) * double(p.ntrain) * double(p.C) * double(p.HW) * 4.0; }

}  // namespace

bool cuda_engine_supports(const EstimatorSettings& s, const Problem& p, std::string* why) {
  if (cuda_device_count() == 0) {
    if (why) *why = "no CUDA device is available here (" + cuda_device_summary() + ")";
    return false;
  }
  if (p.metric == Metric::whitened) {  // covered, and one query image with one slice fits
    if (!whitened_cuda_covers(s, p, why)) return false;
    std::size_t free_b = 0, total_b = 0;
    LEMMSE_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    const WhitenedCudaPlan plan = plan_whitened_cuda(s, p, 1, double(free_b));
    if (plan.group == 0 && why) *why = plan.why;
    return plan.group > 0;
  }
  if (!window_tile_supports(s, p, why)) return false;
  const WindowTileArgs a = tile_args(p);
  const std::size_t need = tile_shared_bytes(a, 1), have = device_shared_limit();
  if (need > have) {
    if (why) *why = "an image this size needs " + std::to_string(need) + " bytes of shared memory per block; the device has " + std::to_string(have);
    return false;
  }
  // One query image must fit beside the training set, or beside a chunk of it (float32 keys and
  // values; tile_args leaves the training set out of its sizes).
  std::size_t free_b = 0, total_b = 0;
  LEMMSE_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  const int nslice = int((p.ntrain + kTileSlice - 1) / kTileSlice);
  const WindowCudaPlan plan = plan_window_cuda(a.HW, a.C, nslice, s.topk, std::min(nslice, kSlicesPerLaunch), 1, 0.0, train_bytes(p),
                                               double(free_b), train_arrays(p));
  if (plan.group == 0 && why) *why = plan.why;
  return plan.group > 0;
}

EstimatorOutputs run_cuda_engine(const EstimatorSettings& s, const Problem& p, const Images& train,
                                 const std::vector<std::int64_t>& train_ids, const PreInverse& B, const Images& y) {
  if (p.metric == Metric::whitened) return run_whitened_cuda(s, p, train, train_ids, B, y);
  const auto t0 = std::chrono::steady_clock::now();
  NvtxRange whole("lemmse window engine");
  std::string why;
  if (!cuda_engine_supports(s, p, &why)) throw Unsupported("--backend cuda: " + why);
  TileInputs in = [&] {
    NvtxRange r("prepare inputs (host)");
    return prepare_tile_inputs(s, p, train, B, y);
  }();
  WindowTileArgs a = in.args;
  const std::size_t HW = std::size_t(a.HW), C = std::size_t(a.C);
  const std::size_t per_slice_partial = (3 + 3 * C) * HW * sizeof(double);
  const int k = s.topk;

  // Device memory (engine/cuda_memory_plan.hpp): the queries and the outputs stay resident, and the
  // training set (keys and values, float32) when it fits, else it streams in chunks of whole
  // slices (each group of query images then reads the whole set once more); the fp64 slice
  // partials and top-k heaps are sized per group of query images. LEMMSE_TOPK_SLOTS=n caps the
  // slots, LEMMSE_WINDOW_CHUNK=n the chunk (tests: same lists, same bits).
  std::size_t free_b = 0, total_b = 0;
  LEMMSE_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  const double resident = double(in.q.size() + in.weight.size() + 2 * in.dshift.size()) * 4.0 + double(in.valid.size()) +
                          double(in.nimg) * double(HW) * 8.0 * (2.0 * double(C) + 2.0);
  const WindowCudaPlan plan = plan_window_cuda(a.HW, a.C, a.nslice, k, std::min(a.nslice, kSlicesPerLaunch), in.nimg, resident,
                                               train_bytes(p), double(free_b), train_arrays(p));
  if (plan.group == 0) throw ResourceError(plan.why + " (reduce --train-count, --test-count or --topk, or use --backend cpu)");
  const int slots = plan.slots;
  const std::size_t group = plan.group;
  const int per_launch = k > 0 ? slots : kSlicesPerLaunch;
  const int chunk = plan.chunk;
  const bool streamed = chunk < a.nslice;
  const std::size_t image_floats = C * HW;
  // Streamed: two chunk buffers, so that the next chunk uploads while the kernels read this one.
  const std::size_t held_images = streamed ? std::size_t(chunk) * kTileSlice : train.n, nbuf = streamed ? 2 : 1;
  const std::size_t buf_floats = held_images * image_floats;
  a.partial_slices = streamed ? chunk : a.nslice;

  Stream stream, copy_stream;
  const cudaStream_t st = stream.s, cs = copy_stream.s;
  nvtxRangePushA("upload");
  // (no key array when the keys are the values: the kernels read the values as keys)
  DeviceArray<float> d_q(in.q, st), d_keys(p.keys_are_train ? 0 : nbuf * buf_floats), d_vals(nbuf * buf_floats), d_weight(in.weight, st);
  auto keys_of = [&](std::size_t buf) { return (p.keys_are_train ? d_vals.get() : d_keys.get()) + buf * buf_floats; };
  // Keys (B A x) and values (x) of training images [b0, b1) as float32 into buffer `buf`:
  // converted on the host's threads into pinned chunks while the previous chunk is copied.
  // Resident, one upload on the kernels' stream; streamed, chunk by chunk on the copy stream.
  StagedUpload up(streamed ? cs : st, staged_upload_chunk(), s.threads);
  auto upload = [&](std::size_t b0, std::size_t b1, std::size_t buf) {
    NvtxRange r("upload training images");
    if (!p.keys_are_train)
      up.to_float(d_keys.get() + buf * buf_floats, p.keys(train).data.data() + b0 * image_floats, (b1 - b0) * image_floats);
    up.to_float(d_vals.get() + buf * buf_floats, train.data.data() + b0 * image_floats, (b1 - b0) * image_floats);
  };
  if (!streamed) {
    upload(0, train.n, 0);
    up.finish();
  }
  DeviceArray<double> d_dshift(in.dshift, st);
  DeviceArray<std::uint8_t> d_valid(in.valid, st);
  DeviceArray<int> d_pattern(in.pattern, st);
  TileHostOutputs ho = make_tile_outputs(s, in);
  DeviceArray<double> d_est(ho.estimate.size()), d_var(ho.variance.size()), d_logd(ho.log_density.size()),
      d_eff(ho.effective_count.size()), d_partial(group * std::size_t(a.partial_slices) * per_slice_partial / sizeof(double));
  DeviceArray<SoftmaxAcc<double>> d_carry(streamed ? group * HW : 0);
  DeviceArray<unsigned long long> d_empty(1);
  DeviceArray<TopkEntry> d_topk(group * std::size_t(slots) * HW * std::size_t(k));
  DeviceArray<int> d_topk_count(group * std::size_t(slots) * HW);
  if (k > 0)  // entries past a heap's count are copied back but never read; zeroed once for initcheck
    LEMMSE_CUDA_CHECK(cudaMemsetAsync(d_topk.get(), 0, d_topk.n * sizeof(TopkEntry), st));
  a.topk_slots = std::max(slots, 1);
  a.topk_heap = d_topk.get();
  a.topk_count = d_topk_count.get();
  a.keys = keys_of(0);
  a.vals = d_vals.get();
  a.weight = d_weight.get();
  a.dshift = d_dshift.get();
  a.pattern_of = d_pattern.get();
  a.partial = d_partial.get();
  a.valid = d_valid.get();  // set per group below; here it sizes the shared memory (pattern ids)
  nvtxRangePop();

  const bool band = choose_band(a);
  const int ts = band ? 1 : choose_tile_shifts(a);
  const std::size_t smem = band ? band_shared_bytes(a) : tile_shared_bytes(a, ts);
  Event start, stop;
  LEMMSE_CUDA_CHECK(cudaEventRecord(start.e, st));
  auto launch = [&](dim3 grid, const WindowTileArgs& ga, int s0) {
    if (band) switch (a.C) {
        case 1: return launch_window_band<1>(grid, smem, st, ga, s0);
        case 2: return launch_window_band<2>(grid, smem, st, ga, s0);
        case 3: return launch_window_band<3>(grid, smem, st, ga, s0);
        case 4: return launch_window_band<4>(grid, smem, st, ga, s0);
      }
    switch (a.C) {
      case 1: return launch_window_tiles<1>(in.ppt, ts, grid, smem, st, ga, s0);
      case 2: return launch_window_tiles<2>(in.ppt, ts, grid, smem, st, ga, s0);
      case 3: return launch_window_tiles<3>(in.ppt, ts, grid, smem, st, ga, s0);
      case 4: return launch_window_tiles<4>(in.ppt, ts, grid, smem, st, ga, s0);
    }
  };
  // Streamed, chunk number n (counting through every group's pass over the set) goes into buffer
  // n % 2 on the copy stream, once the kernels that read that buffer's previous chunk are done
  // (`consumed`); the kernels wait for its copy (`uploaded`). Chunk n + 1 is enqueued right after
  // chunk n's kernels, so its host conversion and copy run while they do.
  const int nchunk = (a.nslice + chunk - 1) / chunk;
  const long long chunks_total = streamed ? (long long)((in.nimg + group - 1) / group) * nchunk : 0;
  long long chunks_up = 0;
  Event uploaded[2] = {Event(cudaEventDisableTiming), Event(cudaEventDisableTiming)};
  Event consumed[2] = {Event(cudaEventDisableTiming), Event(cudaEventDisableTiming)};
  auto upload_next = [&] {
    const std::size_t buf = std::size_t(chunks_up % 2);
    const int c0 = int(chunks_up % nchunk) * chunk, c1 = std::min(a.nslice, c0 + chunk);
    if (chunks_up >= 2) LEMMSE_CUDA_CHECK(cudaStreamWaitEvent(cs, consumed[buf].e, 0));
    upload(std::size_t(c0) * kTileSlice, std::min(train.n, std::size_t(c1) * kTileSlice), buf);
    LEMMSE_CUDA_CHECK(cudaEventRecord(uploaded[buf].e, cs));
    ++chunks_up;
  };
  long long chunks_run = 0;
  {
    const double total_work = double(in.nimg) * double(train.n);
    for (std::size_t g0 = 0; g0 < in.nimg; g0 += group) {
      const std::size_t ng = std::min(group, in.nimg - g0);
      WindowTileArgs ga = a;
      ga.q = d_q.get() + g0 * C * HW;
      ga.valid = d_valid.get() ? d_valid.get() + g0 * HW * std::size_t(a.npat) : nullptr;
      if (k > 0) LEMMSE_CUDA_CHECK(cudaMemsetAsync(d_topk_count.get(), 0, d_topk_count.n * sizeof(int), st));
      for (int c0 = 0; c0 < a.nslice; c0 += chunk) {
        const int c1 = std::min(a.nslice, c0 + chunk);
        if (streamed) {
          if (chunks_up == chunks_run) upload_next();  // (the first chunk)
          const std::size_t buf = std::size_t(chunks_run % 2);
          LEMMSE_CUDA_CHECK(cudaStreamWaitEvent(st, uploaded[buf].e, 0));
          ga.keys = keys_of(buf);
          ga.vals = d_vals.get() + buf * buf_floats;
          ga.key0 = (long long)c0 * kTileSlice;
          ga.partial_first = c0;
        }
        for (int s0 = c0; s0 < c1; s0 += per_launch) {
          NvtxRange r(band ? "window band" : "window tiles");
          const int ns = std::min(per_launch, c1 - s0);
          launch(dim3(unsigned(ns), unsigned(ng)), ga, s0);
          if (s.progress) {
            LEMMSE_CUDA_CHECK(cudaStreamSynchronize(st));
            const double done = double(g0) * double(train.n) + double(ng) * double(std::min<long long>((long long)(s0 + ns) * kTileSlice, a.ntrain));
            if (!s.progress(done, total_work)) throw Cancelled("cancelled by the progress callback");
          }
        }
        if (streamed) {
          NvtxRange r("fold chunk");
          const long long npix = (long long)(ng * HW);
          window_fold_kernel<<<unsigned((npix + 255) / 256), 256, 0, st>>>(ga, d_carry.get(), (long long)ng);
          LEMMSE_CUDA_CHECK(cudaGetLastError());
          LEMMSE_CUDA_CHECK(cudaEventRecord(consumed[chunks_run % 2].e, st));
          ++chunks_run;
          if (chunks_up < chunks_total) upload_next();
        }
      }
      NvtxRange r("merge slices");
      const TileOutputs o{d_est.get() + g0 * C * HW, d_var.get() ? d_var.get() + g0 * C * HW : nullptr,
                          d_logd.get() ? d_logd.get() + g0 * HW : nullptr, d_eff.get() ? d_eff.get() + g0 * HW : nullptr};
      // The group's outputs: the merge addresses them from the group's first image.
      unsigned long long none = ULLONG_MAX, first = 0;
      LEMMSE_CUDA_CHECK(cudaMemcpyAsync(d_empty.get(), &none, sizeof none, cudaMemcpyHostToDevice, st));
      const long long npix = (long long)(ng * HW);
      if (streamed)
        window_write_kernel<<<unsigned((npix + 255) / 256), 256, 0, st>>>(ga, o, d_carry.get(), (long long)ng, d_empty.get());
      else
        window_merge_kernel<<<unsigned((npix + 255) / 256), 256, 0, st>>>(ga, o, (long long)ng, d_empty.get());
      LEMMSE_CUDA_CHECK(cudaGetLastError());
      LEMMSE_CUDA_CHECK(cudaMemcpyAsync(&first, d_empty.get(), sizeof first, cudaMemcpyDeviceToHost, st));
      LEMMSE_CUDA_CHECK(cudaStreamSynchronize(st));
      if (first != ULLONG_MAX) throw_no_compatible_key(g0 * HW + std::size_t(first), HW);
      if (k > 0) {  // each pixel's slots merged into slot 0, whose lists come back (pitched by the slots)
        NvtxRange rk("merge top-k");
        merge_and_copy_topk(tile_topk_slots(ga), ng, ho.topk.data() + g0 * HW * std::size_t(k), ho.topk_count.data() + g0 * HW, st);
        LEMMSE_CUDA_CHECK(cudaStreamSynchronize(st));
      }
    }
  }
  LEMMSE_CUDA_CHECK(cudaEventRecord(stop.e, st));
  auto down = [&](std::vector<double>& h, const DeviceArray<double>& d) {
    if (!h.empty()) LEMMSE_CUDA_CHECK(cudaMemcpyAsync(h.data(), d.get(), h.size() * sizeof(double), cudaMemcpyDeviceToHost, st));
  };
  down(ho.estimate, d_est);
  down(ho.variance, d_var);
  down(ho.log_density, d_logd);
  down(ho.effective_count, d_eff);
  LEMMSE_CUDA_CHECK(cudaStreamSynchronize(st));
  float ms = 0;
  LEMMSE_CUDA_CHECK(cudaEventElapsedTime(&ms, start.e, stop.e));
  EstimatorOutputs out = finish_tile_outputs(s, in, std::move(ho), y.shape, train_ids);
  out.backend = Backend::cuda;
  out.kernel = band ? (a.band_queue ? "band queue" : "band") : (k > 0 ? "tiled top-k" : "tiled");
  out.device_seconds = 1e-3 * double(ms);
  if (s.progress) s.progress(double(in.nimg) * double(train.n), double(in.nimg) * double(train.n));
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace lemmse
