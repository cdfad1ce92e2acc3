// The CUDA whitened engine's device-memory plan (engine/cuda_memory_plan.hpp), as host
// arithmetic, so it is tested where no device is: every plan fits in 80 % of the free memory, in
// whole slices; groups of query images make any number of them fit (the CIFAR-10 test set: 10,000
// images); what cannot fit is refused with the reason; the tuning variables cap the plan.
#include <catch2/catch.hpp>
#include <cmath>
#include <string>

#include "engine/cuda_memory_plan.hpp"
#include "engine/problem.hpp"
#include "kernels/whitened_tile.hpp"
#include "lemmse/errors.hpp"
#include "support/scoped_env.hpp"

using namespace lemmse;
using lemmse_test::ScopedEnv;

namespace {
constexpr double kGiB = 1073741824.0;

// The plan reads only the shapes: channels, pixels, window size and the training-set size.
Problem shapes(int C, int H, int W, int P, std::size_t ntrain) {
  Problem p;
  p.C = C;
  p.H = H;
  p.W = W;
  p.HW = std::size_t(H) * W;
  p.d = P * P;
  p.ntrain = ntrain;
  return p;
}

EstimatorSettings with_topk(int k) {
  EstimatorSettings s;
  s.estimator = EstimatorKind::lemmse;
  s.topk = k;
  return s;
}

std::size_t whole_slices(std::size_t n) { return (n + kWtSlice - 1) / kWtSlice * kWtSlice; }
}  // namespace

TEST_CASE("CUDA whitened plan: within 80 % of free memory, whole slices, groups of 1 to nimg", "[plan]") {
  for (std::size_t ntrain : {37, 10000, 50000})
    for (int P : {3, 5, 11})
      for (std::size_t nimg : {1, 7, 10000})
        for (int k : {0, 10}) {
          std::size_t last_group = 0;
          for (double free_b : {0.01 * kGiB, 0.25 * kGiB, 2 * kGiB, 16 * kGiB, 140 * kGiB}) {  // increasing
            const WhitenedCudaPlan plan = plan_whitened_cuda(with_topk(k), shapes(3, 32, 32, P, ntrain), nimg, free_b);
            INFO("ntrain " << ntrain << " P " << P << " nimg " << nimg << " k " << k << " free " << free_b / kGiB << " GiB");
            CHECK(plan.group >= last_group);  // more memory never shrinks the group
            last_group = plan.group;
            if (plan.group == 0) {
              CHECK(plan.why.find("free") != std::string::npos);
              continue;
            }
            CHECK(plan.bytes <= 0.8 * free_b);
            CHECK(plan.group <= nimg);
            CHECK(plan.chunk % kWtSlice == 0);
            CHECK(plan.chunk >= std::size_t(kWtSlice));
            CHECK(plan.chunk <= whole_slices(ntrain));
            if (k > 0) {
              CHECK(plan.slots >= 1);
              CHECK(std::size_t(plan.slots) <= std::min<std::size_t>(whole_slices(ntrain) / kWtSlice, kMaxTopkSlots));
            } else {
              CHECK(plan.slots == 0);
            }
          }
          CHECK(last_group > 0);  // (140 GiB: resident)  // 140 GiB holds every case above
        }
}

TEST_CASE("CUDA whitened plan: the CIFAR-10 test set goes through in groups, small sets at once", "[plan]") {
  const Problem cifar = shapes(3, 32, 32, 5, 10000);
  // One group for all 10,000 query images would need a state per (slice, pixel): 625 × 1024 ×
  // 10,000 × 120 bytes = 768 GB, more than any device holds.
  const WhitenedCudaPlan all = plan_whitened_cuda(with_topk(0), cifar, 10000, 140 * kGiB);
  CHECK(all.group > 1);
  CHECK(all.group < 10000);
  const WhitenedCudaPlan few = plan_whitened_cuda(with_topk(10), shapes(3, 32, 32, 5, 1000), 8, 140 * kGiB);
  CHECK(few.group == 8);
  CHECK(few.chunk >= 1000);  // the keys are whitened once for every group
  CHECK(few.slots == 63);    // a slot per slice: one launch for the whole set
}

TEST_CASE("CUDA whitened plan: refuses, with the sizes, what one query image and one slice cannot fit", "[plan]") {
  const WhitenedCudaPlan plan = plan_whitened_cuda(with_topk(0), shapes(3, 32, 32, 11, 50000), 1, 2 * kGiB);
  CHECK(plan.group == 0);  // the training set alone (keys and values, fp64) is 2.3 GiB
  CHECK(plan.why.find("training set") != std::string::npos);
  CHECK(plan.why.find("2.00 GiB is free") != std::string::npos);
}

TEST_CASE("CUDA whitened plan: very large and very small images stay within the launch limits", "[plan]") {
  // 512×512 RGB at P = 11: one slice of whitened keys is 12 GB, above the 4 GiB chunk budget.
  const WhitenedCudaPlan big = plan_whitened_cuda(with_topk(0), shapes(3, 512, 512, 11, 100), 4, 140 * kGiB);
  CHECK(big.group >= 1);
  CHECK(big.chunk == std::size_t(kWtSlice));
  CHECK(big.bytes <= 0.8 * 140 * kGiB);
  // 4×4 images: a 4 GiB chunk would hold millions of images; a launch holds 65,535 slices.
  const WhitenedCudaPlan tiny = plan_whitened_cuda(with_topk(0), shapes(1, 4, 4, 3, 4000000), 1, 140 * kGiB);
  CHECK(tiny.chunk == std::size_t(65535) * kWtSlice);
}

TEST_CASE("CUDA whitened plan: the tuning variables cap groups, chunks and slots, and bad values are refused", "[plan]") {
  const Problem p = shapes(3, 32, 32, 5, 1000);
  {
    ScopedEnv g("LEMMSE_WHITENED_GROUP", "2"), c("LEMMSE_WHITENED_CHUNK", "20"), sl("LEMMSE_TOPK_SLOTS", "3");
    const WhitenedCudaPlan plan = plan_whitened_cuda(with_topk(4), p, 8, 140 * kGiB);
    CHECK(plan.group == 2);
    CHECK(plan.chunk == 32);  // rounded up to whole slices
    CHECK(plan.slots == 3);
  }
  for (const char* bad : {"0", "-3", "two", "4x", ""}) {
    INFO("'" << bad << "'");
    {
      ScopedEnv g("LEMMSE_WHITENED_GROUP", bad);
      CHECK_THROWS_AS(plan_whitened_cuda(with_topk(0), p, 8, 140 * kGiB), InvalidArgument);
    }
    {
      ScopedEnv c("LEMMSE_WHITENED_CHUNK", bad);
      CHECK_THROWS_AS(plan_whitened_cuda(with_topk(0), p, 8, 140 * kGiB), InvalidArgument);
    }
    {
      ScopedEnv sl("LEMMSE_TOPK_SLOTS", bad);
      CHECK_THROWS_AS(plan_whitened_cuda(with_topk(4), p, 8, 140 * kGiB), InvalidArgument);
    }
  }
  ScopedEnv sl("LEMMSE_TOPK_SLOTS", "1025");  // above kMaxTopkSlots
  CHECK_THROWS_WITH(plan_whitened_cuda(with_topk(4), p, 8, 140 * kGiB), Catch::Contains("LEMMSE_TOPK_SLOTS must be 1 to 1024"));
}

TEST_CASE("CUDA window plan: within 90 % of free memory, groups of 1 to nimg within the group budget", "[plan]") {
  for (int nslice : {1, 625, 3125})
    for (int C : {1, 3})
      for (std::size_t nimg : {1, 7, 10000})
        for (int k : {0, 10}) {
          const int HW = C == 1 ? 784 : 1024;
          const double train = 2.0 * 16 * nslice * C * HW * 4.0;  // the training set in float32
          const double slice_partial = (3 + 3 * C) * HW * 8.0;
          std::size_t last_group = 0;
          for (double free_b : {0.01 * kGiB, 0.25 * kGiB, 2 * kGiB, 16 * kGiB, 140 * kGiB}) {  // increasing
            const WindowCudaPlan plan = plan_window_cuda(HW, C, nslice, k, std::min(nslice, 1024), nimg, 0.0, train, free_b);
            INFO("nslice " << nslice << " C " << C << " nimg " << nimg << " k " << k << " free " << free_b / kGiB << " GiB");
            if (plan.chunk == nslice) CHECK(plan.group >= last_group);  // (streamed at less memory, groups may be larger)
            last_group = plan.chunk == nslice ? plan.group : 0;
            if (plan.group == 0) {
              CHECK(plan.why.find("is free") != std::string::npos);
              continue;
            }
            CHECK(plan.bytes <= 0.9 * free_b);
            CHECK(plan.group <= nimg);
            // The set stays resident when it fits with one image's partials, else streams in
            // two chunk buffers of an eighth of 90 % of free memory at most (whole slices, at least one).
            const bool fits = train + nslice * slice_partial + (k > 0 ? topk_slot_bytes(HW, k) : 0) <= 0.9 * free_b;
            CHECK(plan.chunk >= 1);
            CHECK((plan.chunk == nslice) == fits);
            if (!fits) CHECK((plan.chunk == 1 || plan.chunk * 2.0 * 16 * C * HW * 4.0 <= 0.125 * 0.9 * free_b));
            const double resident = plan.chunk == nslice ? train : 2.0 * plan.chunk * 2.0 * 16 * C * HW * 4.0;
            const double partial = plan.chunk == nslice ? nslice * slice_partial : (plan.chunk + 1) * slice_partial;
            const double budget = std::min(0.5 * (0.9 * free_b - resident), 8 * kGiB);
            CHECK((plan.group == 1 || plan.bytes - resident <= budget));  // beyond one image, the groups keep to the budget
            if (k > 0) {
              CHECK(plan.slots >= 1);
              CHECK(plan.slots <= std::min(nslice, 1024));
              CHECK(partial + topk_slot_bytes(HW, k) <= budget);  // top-k refuses what one slot cannot hold within it
            } else {
              CHECK(plan.slots == 0);
            }
          }
          CHECK(last_group > 0);  // (140 GiB: resident)
        }
}

TEST_CASE("CUDA window plan: 10,000 query images against 50,000 in groups, refusals name the sizes", "[plan]") {
  // CIFAR-10: 3125 slices × 12 fp64 sums × 1024 pixels = 307 MB of partials per query image; the
  // groups take at most 8 GiB of them.
  const WindowCudaPlan cifar = plan_window_cuda(1024, 3, 3125, 0, 1024, 10000, 0.0, 2.0 * 50000 * 3072 * 4.0, 140 * kGiB);
  CHECK(cifar.group == std::size_t(8 * kGiB / (3125.0 * 12 * 1024 * 8)));
  CHECK(cifar.chunk == 3125);  // (resident)
  // Many tiny query images: a launch's grid holds 65,535 of them.
  CHECK(plan_window_cuda(16, 1, 1, 0, 1, 1000000, 0.0, 0.0, 140 * kGiB).group == 65535);
  const WindowCudaPlan no = plan_window_cuda(1024, 3, 3125, 0, 1024, 1, 20 * kGiB, 2.0 * 50000 * 3072 * 4.0, 16 * kGiB);
  CHECK(no.group == 0);
  CHECK(no.why.find("for the training set (two chunks of 49984 images), queries and outputs") != std::string::npos);
  CHECK(no.why.find("16.00 GiB is free") != std::string::npos);
}

TEST_CASE("CUDA window plan: a training set larger than the device streams in chunks of whole slices", "[plan]") {
  // CIFAR-10's 50,000 images (1.2 GB as float32 keys and values) beside 1 GiB free: two buffers of
  // floor(0.125 × 0.9 GiB / 393,216 bytes per slice) = 307 slices, partials for a chunk and a carry.
  const WindowCudaPlan p = plan_window_cuda(1024, 3, 3125, 0, 1024, 100, 0.0, 2.0 * 50000 * 3072 * 4.0, 1 * kGiB);
  REQUIRE(p.group > 0);
  CHECK(p.chunk == 307);
  CHECK(p.bytes <= 0.9 * kGiB);
  CHECK(p.group == std::size_t(std::floor(0.5 * (0.9 * kGiB - 2 * 307 * 393216.0) / (308 * 12 * 1024 * 8.0))));
  // Keys that are the values (plain denoising): one array per image, so twice the slices in a
  // chunk (here beside 0.5 GiB), and a set that streams with two arrays stays resident with one.
  const WindowCudaPlan one = plan_window_cuda(1024, 3, 3125, 0, 1024, 100, 0.0, 50000 * 3072 * 4.0, 0.5 * kGiB, 1);
  CHECK(one.chunk == 307);  // floor(0.125 × 0.9 × 0.5 GiB / 196,608 bytes per slice)
  CHECK(plan_window_cuda(1024, 3, 3125, 0, 1024, 100, 0.0, 2.0 * 50000 * 3072 * 4.0, 0.5 * kGiB).chunk == 153);
  CHECK(one.bytes <= 0.9 * 0.5 * kGiB);
  CHECK(plan_window_cuda(1024, 3, 3125, 0, 1024, 1, 0.0, 2.0 * 50000 * 3072 * 4.0, 1.5 * kGiB).chunk < 3125);
  CHECK(plan_window_cuda(1024, 3, 3125, 0, 1024, 1, 0.0, 50000 * 3072 * 4.0, 1.5 * kGiB, 1).chunk == 3125);
  // A set 100× the device's memory: still a chunk (the partials no longer grow with the set).
  const WindowCudaPlan big = plan_window_cuda(1024, 3, 312500, 10, 1024, 1, 0.0, 2.0 * 5000000 * 3072 * 4.0, 1 * kGiB);
  CHECK(big.group == 1);
  CHECK(big.chunk < 312500);
  CHECK(big.bytes <= 0.9 * kGiB);
  // LEMMSE_WINDOW_CHUNK (tests): whole slices, at least one; strict values.
  {
    ScopedEnv env("LEMMSE_WINDOW_CHUNK", "40");
    CHECK(plan_window_cuda(1024, 3, 3125, 0, 1024, 1, 0.0, 1.2e9, 140 * kGiB).chunk == 2);
  }
  {
    ScopedEnv env("LEMMSE_WINDOW_CHUNK", "5");
    CHECK(plan_window_cuda(1024, 3, 3125, 0, 1024, 1, 0.0, 1.2e9, 140 * kGiB).chunk == 1);
  }
  {
    ScopedEnv env("LEMMSE_WINDOW_CHUNK", "4x");
    CHECK_THROWS_WITH(plan_window_cuda(1024, 3, 3125, 0, 1024, 1, 0.0, 1.2e9, 140 * kGiB), Catch::Contains("LEMMSE_WINDOW_CHUNK"));
  }
  // Nothing fits: one slice of a huge image plus its partials exceeds the memory; the why says a chunk.
  const WindowCudaPlan no = plan_window_cuda(1 << 22, 3, 100, 0, 100, 1, 0.0, 100 * 16 * 2.0 * 3 * 4194304 * 4.0, 1 * kGiB);
  CHECK(no.group == 0);
  CHECK(no.why.find("two chunks of 16 images") != std::string::npos);
}
