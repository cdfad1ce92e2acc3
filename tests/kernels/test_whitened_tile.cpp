// The CUDA whitened engine's arithmetic without a GPU: a host emulation of its blocks — keys
// whitened through G⁻¹ (kernels/whitened_tile.hpp wt_whiten_element), each thread's keys in the
// kernel's order, direct differences or the dot-product form, the per-pair push (wt_push), the
// half-warp merge tree and the slice merge — against the fp64 reference with the accuracy bar of
// DESIGN.md §5.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <set>

#include "engine/accuracy_bar.hpp"
#include "engine/pixel_outputs.hpp"
#include "engine/problem.hpp"
#include "engine/whitened_setup.hpp"
#include "kernels/whitened_tile.hpp"

using namespace lemmse;
using namespace lemmse_test;

namespace {

// Whitened keys of every training image as the device forms them: L × (N·HW), element-major
// (whitened problems own their keys B A x).
std::vector<double> whitened_keys_t(const Problem& p, const std::vector<double>& ginv, std::size_t N) {
  const int d = p.d, L = p.C * d, HW = int(p.HW);
  const std::size_t ncols = N * p.HW;
  std::vector<double> kT(std::size_t(L) * ncols);
  for (std::size_t col = 0; col < ncols; ++col)
    for (int c = 0; c < p.C; ++c)
      for (int r = 0; r < d; ++r) {
        const int n = int(col % p.HW);
        kT[(std::size_t(c) * d + r) * ncols + col] = wt_whiten_element(p.own_keys.image(col / p.HW), p.H, p.W, p.win_w(), p.du0, p.dv0,
                                                                       ginv.data(), d, c, n / p.W, n % p.W, r);
      }
  (void)HW;
  return kT;
}

// tk: the top-k heaps (null: none), offered to as the TOPK kernels do: per 64-key tile, after its
// pushes, the tile's logits in key order into the query's heap in the slice's slot.
template <int C, bool kDot>
SoftmaxAcc<double> emulate_pixel(const Problem& p, const Images& train, const std::vector<double>& qT, std::size_t nq,
                                 std::size_t q, const std::vector<double>& kT, double qn, const std::vector<double>& kn,
                                 const TopkSlots* tk) {
  const std::size_t L = std::size_t(C) * p.d, HW = p.HW, ncols = train.n * HW;
  SoftmaxAcc<double> total;
  softmax_init(total);
  for (std::size_t kbeg = 0; kbeg < ncols; kbeg += kWtSlice * HW) {  // one block per slice
    const std::size_t kend = std::min(ncols, kbeg + kWtSlice * HW);
    SoftmaxAcc<double> lane[16];
    for (auto& a : lane) softmax_init(a);
    const int slice = int(kbeg / (kWtSlice * HW));
    const std::size_t cell = tk ? topk_cell(*tk, (long long)(q / HW), slice % tk->slots, int(q % HW)) : 0;
    double floor = tk ? topk_floor(*tk, cell) : 0.0;
    for (std::size_t k0 = kbeg; k0 < kend; k0 += kWtTileK) {
      double lg[kWtTileK];
      for (int tx = 0; tx < 16; ++tx)
        for (int j = 0; j < kWtPerThread; ++j) {
          const std::size_t k = k0 + std::size_t(tx + 16 * j);
          if (k >= kend) continue;
          double D = 0;
          for (std::size_t e = 0; e < L; ++e) {
            if (kDot) {
              D = std::fma(qT[e * nq + q], kT[e * ncols + k], D);
            } else {
              const double t = qT[e * nq + q] - kT[e * ncols + k];
              D = std::fma(t, t, D);
            }
          }
          if (kDot) D = wt_distance_from_dot(qn, kn[k], D);
          lg[tx + 16 * j] = -D * p.inv_two_sigma2;
          wt_push<C>(lane[tx], lg[tx + 16 * j], train.image(k / HW) + k % HW, (long long)HW);
        }
      for (int off = 0; tk && off < kWtTileK && k0 + std::size_t(off) < kend; ++off) {
        const std::size_t k = k0 + std::size_t(off);
        if (lg[off] >= floor) topk_offer(*tk, floor, cell, TopkEntry{lg[off], std::int64_t(k / HW), std::int64_t(k % HW)});
      }
    }
    for (int off = 8; off > 0; off /= 2)  // the shuffle tree: lane t takes lane t + off
      for (int t = 0; t < off; ++t) softmax_merge(lane[t], lane[t + off], C);
    softmax_merge(total, lane[0], C);  // slice order
  }
  return total;
}

// The emulated engine; with s.topk, heaps in `slots` slots, merged into slot 0 as the merge
// kernel does (image = training index).
template <bool kDot>
EstimatorOutputs run_emulated_slots(const EstimatorSettings& s, const Images& train, const ForwardOperator& A, const PreInverse& B,
                                    const Images& y, int slots) {
  const Problem p = build_problem(s, train, A, B);
  REQUIRE(whitened_cuda_covers(s, p, nullptr));
  const std::vector<double> ginv = whitening_inverse(p), qT = whitened_queries_t(p, s, B, y), kT = whitened_keys_t(p, ginv, train.n);
  const std::size_t nq = y.n * p.HW, L = std::size_t(p.C) * p.d, k = std::size_t(s.topk);
  const std::vector<double> qn = squared_norms_t(qT, L, nq), kn = squared_norms_t(kT, L, train.n * p.HW);
  std::vector<TopkEntry> heap(std::size_t(slots) * nq * k);
  std::vector<int> count(std::size_t(slots) * nq, 0);
  const TopkSlots tk{s.topk, slots, int(p.HW), heap.data(), count.data()};
  std::vector<SoftmaxAcc<double>> acc(nq);
  for (std::size_t q = 0; q < nq; ++q) switch (p.C) {
      case 1: acc[q] = emulate_pixel<1, kDot>(p, train, qT, nq, q, kT, qn[q], kn, k > 0 ? &tk : nullptr); break;
      case 2: acc[q] = emulate_pixel<2, kDot>(p, train, qT, nq, q, kT, qn[q], kn, k > 0 ? &tk : nullptr); break;
      case 3: acc[q] = emulate_pixel<3, kDot>(p, train, qT, nq, q, kT, qn[q], kn, k > 0 ? &tk : nullptr); break;
      default: FAIL("unexpected channel count");
    }
  EstimatorOutputs out = make_outputs(s, y.n, y.shape, Backend::cuda);
  for (std::size_t q = 0; q < nq; ++q) {
    const long long img = (long long)(q / p.HW);
    const int m = int(q % p.HW);
    if (k > 0) topk_merge_slots(tk, img, m);
    const std::size_t c0 = k > 0 ? topk_cell(tk, img, 0, m) : 0;
    write_pixel(out, s, std::size_t(img), std::size_t(m), acc[q], k > 0 ? &heap[c0 * k] : nullptr, k > 0 ? count[c0] : 0);
  }
  return out;
}
template <bool kDot>
EstimatorOutputs run_emulated(const EstimatorSettings& s, const Images& train, const ForwardOperator& A, const PreInverse& B,
                              const Images& y) {
  return run_emulated_slots<kDot>(s, train, A, B, y, 1);
}

}  // namespace

TEST_CASE("whitening through G⁻¹ (device) equals forward substitution (reference)", "[engine][whitened][tile]") {
  const ImageShape shape{2, 9, 11};
  Images train = random_images(3, shape, 601);
  for (int P : {3, 5, 9}) {
    ForwardOperator A = make_forward_operator("blur-gaussian:1", shape, Compat::consistent);
    PreInverse B = make_preinverse(PreinverseKind::inverse, A, Compat::consistent);
    const Problem p = build_problem(settings(EstimatorKind::lemmse, P, 0.1), train, A, B);
    const std::vector<double> ginv = whitening_inverse(p), kT = whitened_keys_t(p, ginv, train.n);
    const std::size_t L = std::size_t(p.C) * p.d, ncols = train.n * p.HW;
    std::vector<double> ref;
    double worst = 0, scale = 0;
    for (std::size_t b = 0; b < train.n; ++b) {
      whiten_patches(p, p.keys(train).image(b), ref);
      for (std::size_t n = 0; n < p.HW; ++n)
        for (std::size_t e = 0; e < L; ++e) {
          worst = std::max(worst, std::fabs(ref[n * L + e] - kT[e * ncols + b * p.HW + n]));
          scale = std::max(scale, std::fabs(ref[n * L + e]));
        }
    }
    INFO("P=" << P << " max |whitened| " << scale);
    CHECK(worst <= 1e-10 * scale);
  }
}

TEST_CASE("emulated CUDA whitened engine meets the accuracy bar on random images", "[engine][whitened][tile]") {
  const ImageShape shape{3, 9, 10};  // 90 pixels: a full and a partial 64-vector tile
  Images train = random_images(20, shape, 611), clean = random_images(2, shape, 612);  // two slices, the second partial
  for (Compat cm : {Compat::consistent, Compat::reference})
    for (int P : {3, 5})
      for (double sigma : {0.001, 0.01, 0.1, 1.0})
        for (const FastRunner& run : {FastRunner(run_emulated<false>), FastRunner(run_emulated<true>)})
          check_bar(run, train, clean, "blur-gaussian:1", PreinverseKind::inverse, cm, EstimatorKind::lemmse, P, sigma, Data::random);
}

TEST_CASE("emulated CUDA whitened engine meets the accuracy bar on real images", "[engine][whitened][tile][real]") {
  const auto sets = real_sets(12, 2);  // (partial slices: the random-image case)
  if (sets.empty()) LEMMSE_SKIP("neither dataset-fashion-mnist nor LEMMSE_DATA_DIR is available");
  for (const auto& [train, clean] : sets)
    for (int P : {3, 5})
      for (double sigma : {0.001, 0.05})
        for (const FastRunner& run : {FastRunner(run_emulated<false>), FastRunner(run_emulated<true>)})
          check_bar(run, train, clean, "blur-gaussian:1", PreinverseKind::inverse, Compat::consistent, EstimatorKind::lemmse, P, sigma);
}

TEST_CASE("emulated CUDA whitened engine top-k: the reference's keys, logits and weights", "[engine][whitened][tile][topk]") {
  const ImageShape shape{2, 8, 9};  // 72 pixels: 64-key tiles straddle training images
  Images train = random_images(37, shape, 631), clean = random_images(2, shape, 632);  // 3 slices, the last partial
  ForwardOperator A = make_forward_operator("blur-gaussian:1", shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::inverse, A, Compat::consistent);
  Images y = make_measurements(clean, A, 0.2, 4);
  for (int P : {3, 5}) {
    EstimatorSettings s = settings(EstimatorKind::lemmse, P, 0.2);
    s.topk = 6;
    s.threads = 2;
    const EstimatorOutputs ref = run_estimator(s, Backend::reference, train, iota_ids(train.n), A, B, y);
    for (bool dot : {false, true}) {
      INFO("P=" << P << (dot ? " dot" : " direct"));
      const EstimatorOutputs emu = dot ? run_emulated<true>(s, train, A, B, y) : run_emulated<false>(s, train, A, B, y);
      // (G⁻¹ whitening against the reference's forward substitution: ~1e-10 relative)
      check_topk(ref, emu, y.n, shape.pixels(), s.topk, [](double l, std::int64_t) { return 1e-8 * (1 + std::fabs(l)); });
    }
  }
}

TEST_CASE("emulated CUDA whitened engine top-k: the same lists for any slot count, the same estimate as without",
          "[engine][whitened][tile][topk]") {
  const ImageShape shape{1, 7, 8};
  Images train = random_images(40, shape, 641), clean = random_images(2, shape, 642);  // 3 slices
  ForwardOperator A = make_forward_operator("blur-gaussian:1", shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::inverse, A, Compat::consistent);
  Images y = make_measurements(clean, A, 0.1, 6);
  EstimatorSettings s = settings(EstimatorKind::lemmse, 3, 0.1);
  const EstimatorOutputs plain = run_emulated<true>(s, train, A, B, y);
  s.topk = 9;
  const EstimatorOutputs one = run_emulated_slots<true>(s, train, A, B, y, 1);
  CHECK(std::memcmp(plain.estimate.data.data(), one.estimate.data.data(), plain.estimate.data.size() * 8) == 0);
  for (int slots : {2, 3, 5}) {
    INFO("slots " << slots);
    const EstimatorOutputs more = run_emulated_slots<true>(s, train, A, B, y, slots);
    check_same_topk(one, more);
  }
  // The lists hold keys of every slice (not only the first slot's)
  std::set<std::int64_t> images(one.topk_image.begin(), one.topk_image.end());
  CHECK(*images.rbegin() >= 32);
}

TEST_CASE("CUDA whitened engine coverage: le-mmse, with or without top-k", "[engine][whitened][tile]") {
  const ImageShape shape{1, 8, 8};
  Images train = random_images(2, shape, 621);
  ForwardOperator A = make_forward_operator("blur-gaussian:1", shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::inverse, A, Compat::consistent);
  EstimatorSettings s = settings(EstimatorKind::lemmse, 3, 0.1);
  std::string why;
  CHECK(whitened_cuda_covers(s, build_problem(s, train, A, B), &why));
  s.topk = 2;
  CHECK(whitened_cuda_covers(s, build_problem(s, train, A, B), &why));
  s = settings(EstimatorKind::lmmse, 3, 0.1);
  CHECK_FALSE(whitened_cuda_covers(s, build_problem(s, train, A, B), &why));
  PreInverse I = make_preinverse(PreinverseKind::identity, A, Compat::consistent);
  s = settings(EstimatorKind::lemmse, 3, 0.1);
  CHECK_FALSE(whitened_cuda_covers(s, build_problem(s, train, A, I), &why));
}
