// The CUDA engine on a device (skipped, and reported as skipped, without one): the accuracy bar
// of DESIGN.md §5 against the fp64 reference for every estimator and diagonal pre-inverse, on
// random and real images; agreement with the host emulation of its blocks; determinism;
// cancellation; refusals; the whitened (inverse-filter) engine likewise. "[gpu][sanitize]" cases are small enough for compute-sanitizer.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <string>

#include "engine/accuracy_bar.hpp"
#include "engine/problem.hpp"
#include "kernels/tile_emulator.hpp"
#include "lemmse/device.hpp"
#include "support/scoped_env.hpp"

using namespace lemmse;
using namespace lemmse_test;

// Skips the test (as skipped) without CUDA or a device; a macro, so the skip leaves the test case.
#if defined(LEMMSE_WITH_CUDA)
#define REQUIRE_DEVICE() \
  if (cuda_device_count() == 0) LEMMSE_SKIP("no CUDA device: " + cuda_device_summary())
#else
#define REQUIRE_DEVICE() LEMMSE_SKIP("built without CUDA")
#endif

namespace {
const FastRunner run_cuda = runner_for(Backend::cuda);

struct Case {
  Images train, y;
  ForwardOperator A;
  PreInverse B;
};
Case make_case(ImageShape shape, std::size_t ntrain, std::size_t nq, const std::string& problem, PreinverseKind pre,
               double sigma, unsigned seed) {
  Case c{random_images(ntrain, shape, seed), {}, make_forward_operator(problem, shape, Compat::consistent), {}};
  c.B = make_preinverse(pre, c.A, Compat::consistent);
  c.y = make_measurements(random_images(nq, shape, seed + 1), c.A, sigma, seed + 2);
  return c;
}
}  // namespace

TEST_CASE("CUDA engine meets the accuracy bar on random images", "[gpu]") {
  REQUIRE_DEVICE();
  check_bar_on_random_images(run_cuda);
}

TEST_CASE("CUDA engine: every pixels-per-thread kernel, P = 3 … 17", "[gpu]") {
  REQUIRE_DEVICE();
  // 9×9 (1 pixel per thread), 24×24 (4), 32×32×3 (4), 40×40 (8), 48×48 (16)
  const std::vector<ImageShape> shapes = {{1, 9, 9}, {1, 24, 24}, {3, 32, 32}, {2, 40, 40}, {1, 48, 48}};
  for (const ImageShape& shape : shapes) {
    Images train = random_images(18, shape, 411), clean = random_images(1, shape, 412);
    for (int P : {3, 7, 17}) {
      if (P > shape.h) continue;
      check_bar(run_cuda, train, clean, "denoise", PreinverseKind::identity, Compat::consistent, EstimatorKind::lemmse, P, 0.05, Data::random);
    }
    check_bar(run_cuda, train, clean, "inpaint-box:7", PreinverseKind::mask, Compat::consistent, EstimatorKind::lemmse, 5, 0.1, Data::random);
  }
}

TEST_CASE("CUDA engine meets the accuracy bar on real images (P = 3 … 17)", "[gpu][real]") {
  REQUIRE_DEVICE();
  const auto sets = real_sets(40, 40);
  if (sets.empty()) LEMMSE_SKIP("neither dataset-fashion-mnist nor LEMMSE_DATA_DIR is available");
  for (const auto& [train, clean] : sets)
    for (int P : {3, 5, 7, 11, 17}) {
      for (double sigma : {0.001, 0.01, 0.1, 0.5})
        check_bar(run_cuda, train, clean, "denoise", PreinverseKind::identity, Compat::consistent, EstimatorKind::lemmse, P, sigma);
      if (P == 5)
        for (auto pre : {PreinverseKind::eps_mask, PreinverseKind::mask, PreinverseKind::identity})
          for (EstimatorKind e : {EstimatorKind::lemmse, EstimatorKind::lmmse, EstimatorKind::emmse, EstimatorKind::mmse})
            check_bar(run_cuda, train, clean, "inpaint-box:15", pre, Compat::consistent, e, P, 0.05);
    }
}

TEST_CASE("CUDA engine agrees with the host emulation of its blocks", "[gpu][sanitize]") {
  REQUIRE_DEVICE();
  // Same arithmetic; only the hardware exp2 (≤ 2 ulp) and FMA contraction differ. Both kernels:
  // the band kernel (default at this size; P = 13 takes its fp64 horizontal sums) with its exact
  // path in row and in queue order (LEMMSE_BAND_EXACT, read by the device run and the emulation
  // alike), and the tiled one.
  for (EmulatedKernel kernel : {EmulatedKernel::band, EmulatedKernel::tile})
    for (const char* order : {"row", "queue"})
      for (int P : {5, 13})
        for (auto pre : {PreinverseKind::identity, PreinverseKind::mask, PreinverseKind::eps_mask}) {
          if (kernel == EmulatedKernel::tile && std::string(order) == "queue") continue;
          ScopedEnv exact("LEMMSE_BAND_EXACT", order);
          Case c = make_case(ImageShape{2, 13, 14}, 21, 2, "inpaint-box:5", pre, 0.1, 421);
          EstimatorSettings s = settings(EstimatorKind::lemmse, P, 0.1);
          EstimatorOutputs dev = [&] {
            ScopedEnv env("LEMMSE_WINDOW_KERNEL", kernel == EmulatedKernel::band ? "band" : "tile");
            return run_cuda(s, c.train, c.A, c.B, c.y);
          }();
          EstimatorOutputs emu = emulate_window_engine(s, build_problem(s, c.train, c.A, c.B), c.train, c.B, c.y, 1, kernel);
          INFO("B = " << to_string(pre) << " P = " << P << (kernel == EmulatedKernel::band ? " band, " : " tile, ") << order);
          CHECK(dev.kernel == (kernel == EmulatedKernel::tile ? "tiled" : std::string(order) == "queue" ? "band queue" : "band"));
          CHECK(psnr(emu.estimate.data.data(), dev.estimate.data.data(), dev.estimate.data.size()) > 120);
          // Absolute margin: ε-mask logits are large, and 1e-7 of them is ~1e-6 nats (seen: 1.6e-6).
          for (std::size_t m = 0; m < dev.log_density.size(); ++m)
            REQUIRE(dev.log_density[m] == Approx(emu.log_density[m]).epsilon(1e-5).margin(1e-5));
        }
}

TEST_CASE("CUDA engine: band and tiled kernels both meet the bar on CIFAR-sized images", "[gpu]") {
  REQUIRE_DEVICE();
  // 32 × 32 × 3, the band kernel's full warp; the tiled kernel forced on the same problems.
  const ImageShape shape{3, 32, 32};
  Images train = random_images(12, shape, 471), clean = random_images(1, shape, 472);
  for (const char* kernel : {"band", "tile", "band-queue"}) {
    ScopedEnv env("LEMMSE_WINDOW_KERNEL", std::string(kernel) == "tile" ? "tile" : "band");
    ScopedEnv exact("LEMMSE_BAND_EXACT", std::string(kernel) == "band-queue" ? "queue" : "row");
    for (int P : {5, 11, 13, 25})
      check_bar(run_cuda, train, clean, "denoise", PreinverseKind::identity, Compat::consistent, EstimatorKind::lemmse, P, 0.05, Data::random);
    check_bar(run_cuda, train, clean, "inpaint-box:9", PreinverseKind::eps_mask, Compat::consistent, EstimatorKind::lmmse, 7, 0.1, Data::random);
  }
  ScopedEnv env("LEMMSE_WINDOW_KERNEL", "band");  // a shape the band kernel does not take: refused, with the reason
  Case wide = make_case(ImageShape{1, 8, 40}, 3, 1, "denoise", PreinverseKind::identity, 0.1, 473);
  CHECK_THROWS_WITH(run_cuda(settings(EstimatorKind::lemmse, 3, 0.1), wide.train, wide.A, wide.B, wide.y), Catch::Contains("32 columns"));
}

TEST_CASE("CUDA engine results are bit-identical run to run and across query batches", "[gpu][sanitize]") {
  REQUIRE_DEVICE();
  Case c = make_case(ImageShape{3, 8, 8}, 37, 3, "denoise", PreinverseKind::identity, 0.1, 431);
  EstimatorSettings s = settings(EstimatorKind::lemmse, 3, 0.1);
  EstimatorOutputs a = run_cuda(s, c.train, c.A, c.B, c.y), b = run_cuda(s, c.train, c.A, c.B, c.y);
  CHECK(std::memcmp(a.estimate.data.data(), b.estimate.data.data(), a.estimate.data.size() * 8) == 0);
  CHECK(std::memcmp(a.variance.data.data(), b.variance.data.data(), a.variance.data.size() * 8) == 0);
  // Image 1 alone gives the same bits as image 1 within the batch.
  Images y1(1, c.y.shape);
  std::memcpy(y1.image(0), c.y.image(1), c.y.shape.size() * 8);
  EstimatorOutputs one = run_cuda(s, c.train, c.A, c.B, y1);
  CHECK(std::memcmp(one.estimate.image(0), a.estimate.image(1), c.y.shape.size() * 8) == 0);
  CHECK(a.device_seconds > 0);
}

TEST_CASE("CUDA engine: the progress callback sees the work and can cancel it", "[gpu]") {
  REQUIRE_DEVICE();
  Case c = make_case(ImageShape{1, 12, 12}, 40, 2, "denoise", PreinverseKind::identity, 0.1, 441);
  EstimatorSettings s = settings(EstimatorKind::lemmse, 3, 0.1);
  double last = 0, total = 0;
  s.progress = [&](double done, double all) {
    last = done;
    total = all;
    return true;
  };
  run_cuda(s, c.train, c.A, c.B, c.y);
  CHECK(total == 80);
  CHECK(last == total);
  s.progress = [](double, double) { return false; };
  CHECK_THROWS_AS(run_cuda(s, c.train, c.A, c.B, c.y), Cancelled);
}

TEST_CASE("CUDA engine refuses what it does not cover, with the reason", "[gpu]") {
  REQUIRE_DEVICE();
  Case c = make_case(ImageShape{1, 8, 8}, 4, 1, "blur-gaussian:1", PreinverseKind::inverse, 0.1, 451);
  EstimatorSettings s = settings(EstimatorKind::lemmse, 3, 0.1);
  s.topk = 3;  // the whitened metric's top-k runs the tiled kernels: forcing an mma one is refused
  {
    ScopedEnv mma("LEMMSE_WHITENED_KERNEL", "mma2");
    CHECK_THROWS_WITH(run_estimator(s, Backend::cuda, c.train, iota_ids(4), c.A, c.B, c.y), Catch::Contains("top-k"));
  }
  s = settings(EstimatorKind::lmmse, 3, 0.1);
  CHECK_THROWS_WITH(run_estimator(s, Backend::cuda, c.train, iota_ids(4), c.A, c.B, c.y), Catch::Contains("le-mmse only"));
  s = settings(EstimatorKind::lemmse, 3, 0.1);
  Case big = make_case(ImageShape{1, 80, 80}, 2, 1, "denoise", PreinverseKind::identity, 0.1, 452);
  CHECK_THROWS_WITH(run_estimator(s, Backend::cuda, big.train, iota_ids(2), big.A, big.B, big.y), Catch::Contains("pixels"));
}

TEST_CASE("CUDA engine top-k: the reference's keys, logits and weights", "[gpu][topk]") {
  REQUIRE_DEVICE();
  check_float32_topk_sweep(
      [](const EstimatorSettings& s, const Images& train, const std::vector<std::int64_t>& ids, const ForwardOperator& A,
         const PreInverse& B, const Images& y) {
        EstimatorOutputs out = run_estimator(s, Backend::cuda, train, ids, A, B, y);
        CHECK(out.kernel == "tiled top-k");
        return out;
      },
      481, [](std::size_t i) { return std::int64_t(500 + 2 * i); });  // labels pass through
}

TEST_CASE("CUDA engine top-k: the same lists for any slot count, across query batches, with exact ties", "[gpu][topk][sanitize]") {
  REQUIRE_DEVICE();
  Case c = make_case(ImageShape{1, 9, 7}, 70, 3, "inpaint-box:3", PreinverseKind::eps_mask, 0.1, 491);  // 5 slices
  EstimatorSettings s = settings(EstimatorKind::lemmse, 5, 0.1);
  s.topk = 11;
  const EstimatorOutputs all = run_cuda(s, c.train, c.A, c.B, c.y);
  for (const char* slots : {"1", "2", "3"}) {
    ScopedEnv env("LEMMSE_TOPK_SLOTS", slots);
    const EstimatorOutputs more = run_cuda(s, c.train, c.A, c.B, c.y);
    INFO("LEMMSE_TOPK_SLOTS=" << slots);
    check_same_topk(all, more);
  }
  Images y1(1, c.y.shape);  // image 1 alone: the same lists as within the batch
  std::memcpy(y1.image(0), c.y.image(1), c.y.shape.size() * 8);
  const EstimatorOutputs one = run_cuda(s, c.train, c.A, c.B, y1);
  const std::size_t HW = c.y.shape.pixels(), per = HW * std::size_t(s.topk);
  CHECK(std::memcmp(one.topk_log_weight.data(), all.topk_log_weight.data() + per, per * 8) == 0);
  CHECK(std::equal(one.topk_position.begin(), one.topk_position.end(), all.topk_position.begin() + std::ptrdiff_t(per)));
  // The emulation's lists (keys alike wherever the logits are not near-tied; FMA contraction moves them by ~1e-7)
  const EstimatorOutputs emu = emulate_window_engine(s, build_problem(s, c.train, c.A, c.B), c.train, c.B, c.y, 1, EmulatedKernel::tile, false, 2);
  const Problem pr = build_problem(s, c.train, c.A, c.B);
  check_topk(emu, all, c.y.n, HW, s.topk, distance_topk_tol(pr, 1e-6));
  // Constant training images: every position of an image ties; ranked by image, then position.
  Images flat(20, c.y.shape);
  for (std::size_t b = 0; b < flat.n; ++b) std::fill(flat.image(b), flat.image(b) + HW, 0.05 * double((b * 7) % 20));
  ForwardOperator A = make_forward_operator("denoise", c.y.shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::identity, A, Compat::consistent);
  s = settings(EstimatorKind::lemmse, 3, 0.1);
  s.topk = 8;
  const EstimatorOutputs ref = run_estimator(s, Backend::reference, flat, iota_ids(flat.n), A, B, c.y);
  const EstimatorOutputs tie = run_cuda(s, flat, A, B, c.y);
  CHECK(tie.topk_image == ref.topk_image);
  CHECK(tie.topk_position == ref.topk_position);
  // The band kernel has no top-k: forcing it is refused, with the reason.
  ScopedEnv band("LEMMSE_WINDOW_KERNEL", "band");
  CHECK_THROWS_WITH(run_cuda(s, flat, A, B, c.y), Catch::Contains("top-k"));
}

TEST_CASE("CUDA engine: keys and values uploaded in small staged chunks give the same bits", "[gpu][sanitize]") {
  REQUIRE_DEVICE();
  Case c = make_case(ImageShape{3, 12, 10}, 23, 2, "denoise", PreinverseKind::identity, 0.1, 471);
  EstimatorSettings s = settings(EstimatorKind::lemmse, 5, 0.1);
  const EstimatorOutputs whole = run_cuda(s, c.train, c.A, c.B, c.y);
  for (const char* chunk : {"1", "997", "360"}) {  // one value, a prime, one image per chunk
    ScopedEnv env("LEMMSE_UPLOAD_CHUNK", chunk);
    const EstimatorOutputs part = run_cuda(s, c.train, c.A, c.B, c.y);
    CHECK(std::memcmp(whole.estimate.data.data(), part.estimate.data.data(), whole.estimate.data.size() * 8) == 0);
  }
  ScopedEnv bad("LEMMSE_UPLOAD_CHUNK", "0");
  CHECK_THROWS_AS(run_cuda(s, c.train, c.A, c.B, c.y), InvalidArgument);
}

TEST_CASE("CUDA engine: 1, 2 or 4 shifts per barrier round give the same bits", "[gpu][sanitize]") {
  REQUIRE_DEVICE();
  Case c = make_case(ImageShape{3, 10, 11}, 20, 2, "inpaint-box:3", PreinverseKind::eps_mask, 0.1, 461);
  EstimatorSettings s = settings(EstimatorKind::lemmse, 5, 0.1);
  std::vector<EstimatorOutputs> outs;
  ScopedEnv tile("LEMMSE_WINDOW_KERNEL", "tile");  // the band kernel (default at this size) has no rounds
  for (const char* ts : {"1", "2", "4"}) {
    ScopedEnv shifts("LEMMSE_TILE_SHIFTS", ts);
    outs.push_back(run_cuda(s, c.train, c.A, c.B, c.y));
  }
  for (std::size_t i = 1; i < outs.size(); ++i) {
    CHECK(std::memcmp(outs[0].estimate.data.data(), outs[i].estimate.data.data(), outs[0].estimate.data.size() * 8) == 0);
    CHECK(std::memcmp(outs[0].log_density.data(), outs[i].log_density.data(), outs[0].log_density.size() * 8) == 0);
  }
}

TEST_CASE("CUDA engine: the training set streamed in chunks gives the same bits (tiled, band, top-k)", "[gpu][sanitize][topk]") {
  // LEMMSE_WINDOW_CHUNK forces the path of a set larger than the device: chunks of 1 and 2 slices
  // (5 slices, the last partial), a fold into the carried state after each; also with top-k.
  // Also plain denoising, whose keys are the values (one device array per chunk buffer).
  REQUIRE_DEVICE();
  for (const bool denoise : {false, true}) {
    const Case c = denoise ? make_case(ImageShape{3, 13, 30}, 70, 2, "denoise", PreinverseKind::identity, 0.1, 472)
                           : make_case(ImageShape{3, 13, 30}, 70, 2, "inpaint-box:5", PreinverseKind::eps_mask, 0.1, 471);
    for (const char* kernel : {"tile", "band"})
      for (int k : {0, 5}) {
        if (std::string(kernel) == "band" && k > 0) continue;  // (top-k runs the tiled kernel)
        EstimatorSettings s = settings(EstimatorKind::lemmse, 3, 0.1);
        s.variance = s.effective_count = true;
        s.log_density = k == 0;
        s.topk = k;
        ScopedEnv which("LEMMSE_WINDOW_KERNEL", kernel);
        const EstimatorOutputs whole = run_cuda(s, c.train, c.A, c.B, c.y);
        for (const char* chunk : {"16", "32"}) {
          INFO((denoise ? "denoise " : "inpaint ") << kernel << " topk=" << k << " chunk=" << chunk);
          ScopedEnv ch("LEMMSE_WINDOW_CHUNK", chunk);
          const EstimatorOutputs part = run_cuda(s, c.train, c.A, c.B, c.y);
          CHECK(std::memcmp(whole.estimate.data.data(), part.estimate.data.data(), whole.estimate.data.size() * 8) == 0);
          CHECK(std::memcmp(whole.variance.data.data(), part.variance.data.data(), whole.variance.data.size() * 8) == 0);
          CHECK(std::memcmp(whole.effective_count.data(), part.effective_count.data(), whole.effective_count.size() * 8) == 0);
          if (k > 0) check_same_topk(whole, part);
          else CHECK(std::memcmp(whole.log_density.data(), part.log_density.data(), whole.log_density.size() * 8) == 0);
        }
      }
  }
}

TEST_CASE("CUDA whitened engine meets the accuracy bar on random images", "[gpu][whitened]") {
  REQUIRE_DEVICE();
  const ImageShape shape{3, 9, 10};
  Images train = random_images(20, shape, 701), clean = random_images(2, shape, 702);
  for (Compat cm : {Compat::consistent, Compat::reference})
    for (int P : {3, 5})
      for (double sigma : {0.001, 0.01, 0.1, 1.0})
        check_bar(run_cuda, train, clean, "blur-gaussian:1", PreinverseKind::inverse, cm, EstimatorKind::lemmse, P, sigma, Data::random);
  // Images of fewer than 64 pixels: a 64-key tile spans several training images (the kernels'
  // key cursor wraps more than once per tile).
  const ImageShape tiny{1, 6, 7};
  Images ttrain = random_images(30, tiny, 703), tclean = random_images(2, tiny, 704);
  for (double sigma : {0.01, 0.1})
    check_bar(run_cuda, ttrain, tclean, "blur-gaussian:1", PreinverseKind::inverse, Compat::consistent, EstimatorKind::lemmse, 3, sigma,
              Data::random);
}

TEST_CASE("CUDA whitened engine meets the accuracy bar on real images (P = 3 … 11)", "[gpu][whitened][real]") {
  REQUIRE_DEVICE();
  const auto sets = real_sets(40, 12);
  if (sets.empty()) LEMMSE_SKIP("neither dataset-fashion-mnist nor LEMMSE_DATA_DIR is available");
  for (const auto& [train, clean] : sets)
    for (int P : {3, 5, 7, 11})
      for (double sigma : {0.001, 0.01, 0.2})
        check_bar(run_cuda, train, clean, "blur-gaussian:1", PreinverseKind::inverse, Compat::consistent, EstimatorKind::lemmse, P, sigma);
}

TEST_CASE("CUDA whitened engine top-k: the reference's lists and labels, any slot count, direct and dot", "[gpu][whitened][topk][sanitize]") {
  REQUIRE_DEVICE();
  const ImageShape shape{2, 8, 9};  // 72 pixels: 64-key tiles straddle training images
  Images train = random_images(37, shape, 721), clean = random_images(2, shape, 722);  // 3 slices, the last partial
  ForwardOperator A = make_forward_operator("blur-gaussian:1", shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::inverse, A, Compat::consistent);
  Images y = make_measurements(clean, A, 0.2, 4);
  EstimatorSettings s = settings(EstimatorKind::lemmse, 3, 0.2);
  std::vector<std::int64_t> ids(train.n);
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = std::int64_t(2000 + 7 * i);  // labels pass through
  s.topk = 6;
  const EstimatorOutputs ref = run_estimator(s, Backend::reference, train, ids, A, B, y);
  for (const char* variant : {"direct", "dot"}) {
    ScopedEnv v("LEMMSE_WHITENED_KERNEL", variant);
    INFO(variant);
    EstimatorSettings s0 = s;
    s0.topk = 0;
    const EstimatorOutputs plain = run_estimator(s0, Backend::cuda, train, ids, A, B, y);
    const EstimatorOutputs got = run_estimator(s, Backend::cuda, train, ids, A, B, y);
    CHECK(got.kernel == std::string("whitened ") + variant + " top-k");
    check_topk(ref, got, y.n, shape.pixels(), s.topk, [](double l, std::int64_t) { return 1e-8 * (1 + std::fabs(l)); });
    CHECK(std::memcmp(plain.estimate.data.data(), got.estimate.data.data(), got.estimate.data.size() * 8) == 0);  // top-k adds, changes nothing
    for (const char* slots : {"1", "2"}) {  // several launches per slot: the same lists
      ScopedEnv sl("LEMMSE_TOPK_SLOTS", slots);
      const EstimatorOutputs more = run_estimator(s, Backend::cuda, train, ids, A, B, y);
      check_same_topk(got, more);
    }
    {  // one query image per group, one slice per chunk: the heaps start afresh for each group
      ScopedEnv g("LEMMSE_WHITENED_GROUP", "1"), ch("LEMMSE_WHITENED_CHUNK", "16");
      check_same_topk(got, run_estimator(s, Backend::cuda, train, ids, A, B, y));
    }
  }
}

TEST_CASE("CUDA whitened engine: same bits run to run and across query batches, progress", "[gpu][whitened][sanitize]") {
  REQUIRE_DEVICE();
  Case c = make_case(ImageShape{2, 9, 8}, 37, 3, "blur-gaussian:1", PreinverseKind::inverse, 0.1, 711);
  EstimatorSettings s = settings(EstimatorKind::lemmse, 3, 0.1);
  EstimatorOutputs a = run_cuda(s, c.train, c.A, c.B, c.y), b = run_cuda(s, c.train, c.A, c.B, c.y);
  CHECK(std::memcmp(a.estimate.data.data(), b.estimate.data.data(), a.estimate.data.size() * 8) == 0);
  CHECK(std::memcmp(a.effective_count.data(), b.effective_count.data(), a.effective_count.size() * 8) == 0);
  Images y1(1, c.y.shape);
  std::memcpy(y1.image(0), c.y.image(2), c.y.shape.size() * 8);
  EstimatorOutputs one = run_cuda(s, c.train, c.A, c.B, y1);
  CHECK(std::memcmp(one.estimate.image(0), a.estimate.image(2), c.y.shape.size() * 8) == 0);
  {  // keys and values uploaded in staged chunks of 997 values: the same bits
    ScopedEnv chunk("LEMMSE_UPLOAD_CHUNK", "997");
    EstimatorOutputs staged = run_cuda(s, c.train, c.A, c.B, c.y);
    CHECK(std::memcmp(a.estimate.data.data(), staged.estimate.data.data(), a.estimate.data.size() * 8) == 0);
  }
  for (const char* group : {"1", "2"})  // query images in groups, training images in chunks of one slice
    for (const char* chunk : {"16", "1000"}) {
      INFO("LEMMSE_WHITENED_GROUP=" << group << " LEMMSE_WHITENED_CHUNK=" << chunk);
      ScopedEnv g("LEMMSE_WHITENED_GROUP", group), ch("LEMMSE_WHITENED_CHUNK", chunk);
      EstimatorOutputs grouped = run_cuda(s, c.train, c.A, c.B, c.y);
      CHECK(std::memcmp(a.estimate.data.data(), grouped.estimate.data.data(), a.estimate.data.size() * 8) == 0);
      CHECK(std::memcmp(a.variance.data.data(), grouped.variance.data.data(), a.variance.data.size() * 8) == 0);
      CHECK(std::memcmp(a.effective_count.data(), grouped.effective_count.data(), a.effective_count.size() * 8) == 0);
    }
  double last = 0;
  s.progress = [&](double done, double) {
    last = done;
    return true;
  };
  run_cuda(s, c.train, c.A, c.B, c.y);
  CHECK(last == 3 * 37);
  {  // in groups of one image and chunks of one slice: increasing, and all of it at the end
    ScopedEnv g("LEMMSE_WHITENED_GROUP", "1"), ch("LEMMSE_WHITENED_CHUNK", "16");
    std::vector<double> seen;
    s.progress = [&](double done, double total) {
      CHECK(total == 3 * 37);
      seen.push_back(done);
      return true;
    };
    run_cuda(s, c.train, c.A, c.B, c.y);
    REQUIRE(seen.size() == 3 * 3 + 1);  // 3 groups × 3 chunks, then the end
    CHECK(std::is_sorted(seen.begin(), seen.end()));
    CHECK(seen[2] == 37);
    CHECK(seen.back() == 3 * 37);
  }
  s.progress = [](double, double) { return false; };
  CHECK_THROWS_AS(run_cuda(s, c.train, c.A, c.B, c.y), Cancelled);
}
