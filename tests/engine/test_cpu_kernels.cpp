// The CPU window kernel (engine/cpu_kernels.inc) on its own, every variant this CPU runs, against
// direct fp64 arithmetic: logits of every (pixel, shift) from explicit window sums with wrap-around,
// and the softmax state after a run of shifts against softmax_push. Odd sizes (W not a multiple of
// the vector width, windows as wide as the image) and every optional input (pixel weights, key
// bias, binary-mask patterns, whole-image window).
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>

#include "support/skip.hpp"
#include "engine/cpu_kernels.hpp"
#include "lemmse/errors.hpp"
#include "engine/softmax_store.hpp"
#include "engine/topk_offer.hpp"
#include "kernels/online_softmax.hpp"

using namespace lemmse;

namespace {
struct Case {
  int C, H, W, P;
  bool weight, bias, pattern, whole;
};

// D for query pixel (r, j) at shift (ti, tj), directly: every window term in fp64, in row-major
// window order.
double direct_distance(const Case& k, const std::vector<double>& q, const std::vector<double>& key, const std::vector<double>& w,
                       int r, int j, int ti, int tj) {
  const int a = (k.P - 1) / 2;
  const int u0 = k.whole ? 0 : -a, u1 = k.whole ? k.H - 1 : k.P - 1 - a;
  const int v0 = k.whole ? 0 : -a, v1 = k.whole ? k.W - 1 : k.P - 1 - a;
  const auto wrap = [](int i, int n) { return ((i % n) + n) % n; };
  double D = 0;
  for (int u = u0; u <= u1; ++u)
    for (int v = v0; v <= v1; ++v) {
      const int qr = k.whole ? u : wrap(r + u, k.H), qc = k.whole ? v : wrap(j + v, k.W);
      const int kr = wrap(qr + ti, k.H), kc = wrap(qc + tj, k.W);
      double e = 0;
      for (int c = 0; c < k.C; ++c) {
        const double d = q[(std::size_t(c) * k.H + qr) * k.W + qc] - key[(std::size_t(c) * k.H + kr) * k.W + kc];
        e += d * d;
      }
      D += (k.weight ? w[std::size_t(kr) * k.W + kc] : 1.0) * e;
    }
  return D;
}

// Whether two softmax states hold the same bits in every pixel (second moments included).
bool same_state(cpu::AccStore& a, cpu::AccStore& b, std::size_t HW, int C) {
  bool same = true;
  for (std::size_t m = 0; m < HW; ++m) {
    const SoftmaxAcc<double> x = softmax_rows_at(a.rows(), m), y = softmax_rows_at(b.rows(), m);
    same = same && x.mx == y.mx && x.s == y.s && x.s2 == y.s2;
    for (int c = 0; c < C; ++c) same = same && x.a1[c] == y.a1[c] && x.a2[c] == y.a2[c] && x.pivot[c] == y.pivot[c];
  }
  return same;
}
}  // namespace

TEST_CASE("CPU window kernel: logits and softmax state against direct fp64 sums, every variant", "[engine][cpu][kernels]") {
  const std::vector<Case> cases = {
      {1, 9, 11, 3, false, false, false, false}, {3, 9, 11, 5, true, true, false, false}, {2, 7, 13, 7, false, true, true, false},
      {1, 12, 10, 9, true, false, false, false}, {3, 8, 8, 1, false, false, false, false}, {4, 6, 9, 5, false, false, false, true},
      {1, 11, 11, 11, true, true, true, false},  {3, 16, 16, 15, false, false, false, false},
      {2, 20, 18, 17, true, true, false, false},  {1, 26, 27, 25, false, false, false, false},
      {1, 14, 15, 13, false, true, false, false},  // P = 11 … 25: every choice of doubling levels
      {2, 5, 3, 3, false, true, false, false},     // rows narrower than one 4-pixel group
      {1, 9, 4, 3, true, false, false, false},
      // W a multiple of 4 without patterns, P ≥ 7: the vertical sums in registers (strip_logits,
      // AVX-512) in 8-column strips, a 4-column strip after them, even windows, bias and weights
      {3, 10, 24, 11, false, true, false, false}, {1, 9, 12, 17, true, false, false, false},
      {2, 9, 20, 8, false, true, false, false}, {1, 16, 16, 16, true, true, false, false}};
  std::mt19937 rng(31);
  std::uniform_real_distribution<float> U(0.0f, 1.0f);
  for (const cpu::Kernels* K : cpu::kernel_variants())
    for (const Case& k : cases) {
      const bool second = (&k - cases.data()) % 2 == 0;  // Σw², Σw(x − K)² on every other case
      // Every logit in l (top-k) on cases 0, 1, 4, 5, …; else −inf for the keys dropped.
      const bool all_logits = (&k - cases.data()) / 2 % 2 == 0;
      std::size_t dropped = 0;
      INFO(K->name << " second moments=" << second << " all_logits=" << all_logits << " C=" << k.C << " H=" << k.H << " W=" << k.W << " P=" << k.P << " weight=" << k.weight
                   << " bias=" << k.bias << " pattern=" << k.pattern << " whole=" << k.whole);
      const std::size_t HW = std::size_t(k.H) * k.W, n = HW * std::size_t(k.C);
      std::vector<double> q(n), key(n), w(HW);
      std::vector<double> val(n), bias(HW);
      std::vector<int> pattern(HW);
      for (auto& x : q) x = U(rng);
      for (std::size_t i = 0; i < n; ++i) key[i] = 0.8 * q[i] + 0.2 * U(rng);  // near keys: live logits
      for (auto& x : w) x = 0.5f + U(rng);
      for (auto& x : val) x = U(rng);
      for (auto& x : bias) x = -3.0 * double(U(rng));
      for (auto& x : pattern) x = int(U(rng) * 3.0f);  // 3 patterns
      std::vector<std::uint8_t> qvalid(HW * 3);
      for (auto& x : qvalid) x = U(rng) < 0.7f;
      const double sigma = 0.2, inv = 1 / (2 * sigma * sigma);

      cpu::KeyPositionStore positions;
      const int a = (k.P - 1) / 2;
      const int du0 = k.whole ? 0 : -a, du1 = k.whole ? k.H - 1 : k.P - 1 - a, dv0 = k.whole ? 0 : -a, dv1 = k.whole ? k.W - 1 : k.P - 1 - a;
      const int margin = cpu::key_margin(dv0, dv1);
      positions.fill(k.H, k.W, margin, k.weight ? w.data() : nullptr, k.bias ? bias.data() : nullptr, k.pattern ? pattern.data() : nullptr);
      cpu::KeyImageStore store;
      store.fill(k.C, k.H, k.W, margin, key.data(), val.data());
      const cpu::KeyImage image = store.view(positions);
      std::vector<double> scratch(cpu::window_scratch_size(k.H, k.W, du1 - du0 + 1, dv1 - dv0 + 1)), l(HW);
      cpu::QueryImageStore qs;
      qs.fill(k.C, k.H, k.W, margin, q.data());
      cpu::ShiftArgs sa{k.C, k.H, k.W, HW, du0, du1, dv0, dv1, k.whole, qs.qx0(), qs.q320(), qs.stride, k.pattern ? qvalid.data() : nullptr, 3, inv,
                        second, scratch.data(), l.data(), 87.0, nullptr};
      sa.all_logits = all_logits;
      if (!all_logits) sa.skip_nats = 4.0;  // many keys dropped: the −inf logits and the update's test of them
      cpu::AccStore st;
      st.init(k.H, k.W, k.C);
      std::vector<SoftmaxAcc<double>> ref(HW);
      for (auto& r : ref) softmax_init(r);
      double worst_l = 0;
      for (int t = 0; t < int(HW); t += 7) {  // a spread of shifts, wrap-arounds included
        const int ti = t / k.W, tj = t % k.W;
        K->shifts_update(st.view(), sa, image, ti, tj, 1);
        for (int r = 0; r < k.H; ++r)
          for (int j = 0; j < k.W; ++j) {
            const std::size_t m = std::size_t(r) * k.W + j, key_pos = std::size_t((r + ti) % k.H) * k.W + std::size_t((j + tj) % k.W);
            double lr = -direct_distance(k, q, key, w, r, j, ti, tj) * inv + (k.bias ? bias[key_pos] : 0.0);
            if (k.pattern && !qvalid[m * 3 + std::size_t(pattern[key_pos])]) lr = -INFINITY;
            if (std::isinf(lr)) {
              REQUIRE(std::isinf(l[m]));
              continue;
            }
            if (!all_logits && l[m] == -INFINITY) {  // dropped: more than skip below the running max
              REQUIRE(lr - ref[m].mx < -sa.skip_nats + 1e-9);
              ++dropped;
              continue;
            }
            worst_l = std::max(worst_l, std::fabs(l[m] - lr) / std::max(1.0, std::fabs(lr)));
            if (!all_logits) REQUIRE(lr - ref[m].mx >= -sa.skip_nats - 1e-9);
            double x[kMaxChannels];
            for (int c = 0; c < k.C; ++c) x[c] = val[std::size_t(c) * HW + key_pos];
            softmax_push(ref[m], lr, x, k.C, 745.0);
          }
      }
      K->fold(st.view(), second);
      CHECK(worst_l < 1e-13);  // fp64 throughout: only the order of the sums differs
      if (all_logits) CHECK(dropped == 0);
      if (!all_logits && !k.whole) CHECK(dropped > 0);
      double worst_mean = 0, worst_s = 0, worst_var = 0, worst_s2 = 0;
      for (std::size_t m = 0; m < HW; ++m) {
        const SoftmaxAcc<double> got = softmax_rows_at(st.rows(), m);
        if (ref[m].s == 0) continue;
        REQUIRE(got.s > 0);
        const double scale = std::exp(got.mx - ref[m].mx);  // the sums are relative to each one's max
        worst_s = std::max(worst_s, std::fabs(got.s * scale / ref[m].s - 1));
        for (int c = 0; c < k.C; ++c)
          worst_mean = std::max(worst_mean, std::fabs((got.pivot[c] + got.a1[c] / got.s) - (ref[m].pivot[c] + ref[m].a1[c] / ref[m].s)));
        if (!second) continue;
        worst_s2 = std::max(worst_s2, std::fabs(got.s2 * scale * scale / ref[m].s2 - 1));
        for (int c = 0; c < k.C; ++c)
          worst_var = std::max(worst_var, std::fabs(softmax_variance(got, c) - softmax_variance(ref[m], c)));
      }
      // The other second-moment mode leaves the estimate's sums bit for bit as they are.
      {
        cpu::AccStore other;
        other.init(k.H, k.W, k.C);
        cpu::ShiftArgs sb = sa;
        sb.second_moments = !second;
        for (int t = 0; t < int(HW); t += 7) K->shifts_update(other.view(), sb, image, t / k.W, t % k.W, 1);
        K->fold(other.view(), sb.second_moments);
        bool same = true;
        for (std::size_t m = 0; m < HW; ++m) {
          const SoftmaxAcc<double> x = softmax_rows_at(st.rows(), m), y = softmax_rows_at(other.rows(), m);
          same = same && x.mx == y.mx && x.s == y.s;
          for (int c = 0; c < k.C; ++c) same = same && x.a1[c] == y.a1[c] && x.pivot[c] == y.pivot[c];
        }
        CHECK(same);
      }
      // Whole rows of shifts per call (their e computed a block at a time) give the shift-by-shift
      // bits, with every optional input.
      {
        cpu::AccStore one, rows;
        one.init(k.H, k.W, k.C);
        rows.init(k.H, k.W, k.C);
        for (int ti = 0; ti < k.H; ++ti) {
          for (int tj = 0; tj < k.W; ++tj) K->shifts_update(one.view(), sa, image, ti, tj, 1);
          K->shifts_update(rows.view(), sa, image, ti, 0, k.W);
        }
        K->fold(one.view(), second);
        K->fold(rows.view(), second);
        CHECK(same_state(one, rows, HW, k.C));
      }
      CHECK(worst_s < 1e-5);
      CHECK(worst_mean < 1e-6);
      CHECK(worst_s2 < 1e-5);
      CHECK(worst_var < 1e-6);
    }
}

// The float32 screen only passes over keys the exact test drops, and the per-group exact pass sums
// each D with full_shift's very additions: whichever pass runs after it, the softmax state is the
// unscreened run's, bit for bit. Keys near the cut (a σ sweep, near copies of the query among
// random keys) and every shape the screen takes (P = 1 … 31, doubling levels, W not a multiple of
// 4 or 8, pixel weights).
TEST_CASE("CPU window kernel: the float32 screen changes no bit of the softmax state", "[engine][cpu][kernels]") {
  struct Shape {
    int C, H, W, P;
    bool weight;
  };
  const std::vector<Shape> shapes = {{1, 9, 11, 3, false}, {3, 10, 13, 5, true}, {3, 16, 16, 7, false}, {2, 12, 21, 11, true},
                                     {1, 20, 18, 17, false}, {3, 8, 9, 1, false}, {1, 33, 35, 31, true},
                                     {2, 10, 24, 11, true},  {1, 12, 20, 13, false}};
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> U(0.0, 1.0);
  for (const cpu::Kernels* K : cpu::kernel_variants())
    for (const Shape& k : shapes)
      for (double sigma : {0.02, 0.1, 0.4}) {
        INFO(K->name << " C=" << k.C << " H=" << k.H << " W=" << k.W << " P=" << k.P << " weight=" << k.weight << " sigma=" << sigma);
        const std::size_t HW = std::size_t(k.H) * k.W, n = HW * std::size_t(k.C);
        const int a = (k.P - 1) / 2, du0 = -a, du1 = k.P - 1 - a, dv0 = -a, dv1 = k.P - 1 - a, margin = cpu::key_margin(dv0, dv1);
        std::vector<double> q(n), w(HW);
        for (auto& x : q) x = U(rng);
        for (auto& x : w) x = 0.5 + U(rng);
        // Three training images: random, a noisy copy of the query (keys near every pixel's max), random.
        std::vector<std::vector<double>> keys(3, std::vector<double>(n)), vals(3, std::vector<double>(n));
        for (int b = 0; b < 3; ++b)
          for (std::size_t i = 0; i < n; ++i) {
            keys[b][i] = b == 1 ? q[i] + 0.05 * (U(rng) - 0.5) : U(rng);
            vals[b][i] = U(rng);
          }
        cpu::KeyPositionStore positions;
        positions.fill(k.H, k.W, margin, k.weight ? w.data() : nullptr, nullptr, nullptr);
        cpu::QueryImageStore qs;
        qs.fill(k.C, k.H, k.W, margin, q.data());
        const double inv = 1 / (2 * sigma * sigma);
        const double skip = 40.0;
        // Floor pre-pass over the near copy's keys: each pixel's least float32 distance.
        std::vector<float> dmin(HW, INFINITY);
        std::vector<double> best(HW, -INFINITY);  // the fp64 max logit over the same keys
        {
          std::vector<float> scratch(cpu::window_scratch_size(k.H, k.W, k.P, k.P), 0.0f);
          cpu::ShiftArgs sa{k.C, k.H, k.W, HW, du0, du1, dv0, dv1, false, qs.qx0(), qs.q320(), qs.stride, nullptr, 0, inv,
                            false, nullptr, nullptr, skip, nullptr};
          cpu::KeyImageStore store;
          store.fill(k.C, k.H, k.W, margin, keys[1].data(), vals[1].data());
          for (std::size_t t = 0; t < HW; ++t) {
            const int ti = int(t / k.W), tj = int(t % k.W);
            K->min_distances32(sa, store.view(positions), ti, tj, scratch.data(), dmin.data());
            for (int r = 0; r < k.H; ++r)
              for (int j = 0; j < k.W; ++j) {
                const Case c{k.C, k.H, k.W, k.P, k.weight, false, false, false};
                best[std::size_t(r) * k.W + j] = std::max(best[std::size_t(r) * k.W + j], -direct_distance(c, q, keys[1], w, r, j, ti, tj) * inv);
              }
          }
        }
        // force −1: no screen; chunk: shifts per shifts_update call (the last of a row: the rest);
        // lists: top-k lists to fill through the per-shift hook (every logit kept), or null.
        const auto run = [&](int force, bool floor, int chunk, TopkTable* lists = nullptr) {
          std::vector<double> scratch(cpu::window_scratch_size(k.H, k.W, k.P, k.P)), l(HW);
          cpu::Screen screen;
          screen.init(k.C, k.H, k.W, k.P, k.P, 1.0, k.weight ? 1.5 : 1.0, skip, inv);
          screen.force = force;
          if (lists) screen.list_floor = lists->floors();
          if (floor) {
            screen.set_floor(dmin.data());
            bool below = true, close = true;  // a lower bound on the max, and a tight one
            for (std::size_t m = 0; m < HW; ++m) {
              below = below && screen.floor[m] <= best[m];
              close = close && screen.floor[m] >= best[m] - 1e-2 - 1e-4 * std::fabs(best[m]);
            }
            CHECK(below);
            CHECK(close);
          }
          cpu::ShiftArgs sa{k.C, k.H, k.W, HW, du0, du1, dv0, dv1, false, qs.qx0(), qs.q320(), qs.stride, nullptr, 0, inv,
                            true, scratch.data(), l.data(), skip, force < 0 ? nullptr : &screen};
          auto st = std::make_unique<cpu::AccStore>();
          st->init(k.H, k.W, k.C);
          TopkOffer offer{lists, l.data(), k.H, k.W, 0, force < 0 ? nullptr : &screen, st->view().rows.mx};
          if (lists) {
            sa.all_logits = true;
            sa.on_logits = TopkOffer::call;
            sa.logits_ctx = &offer;
          }
          cpu::KeyImageStore store;
          for (int b = 0; b < 3; ++b) {
            offer.train_id = b;
            store.fill(k.C, k.H, k.W, margin, keys[b].data(), vals[b].data());
            for (int ti = 0; ti < k.H; ++ti)
              for (int tj = 0; tj < k.W; tj += chunk) K->shifts_update(st->view(), sa, store.view(positions), ti, tj, std::min(chunk, k.W - tj));
          }
          K->fold(st->view(), sa.second_moments);
          return st;
        };
        const auto ref = run(-1, false, 1);
        // Runs of shifts (whole rows, and 3 at a time: runs that end inside a block of e) give the
        // shift-by-shift bits, with every screen mode and without the screen.
        for (const auto& [force, chunk] : std::vector<std::pair<int, int>>{{1, 1}, {2, 1}, {0, 1}, {-1, k.W}, {-1, 3}, {0, k.W}, {0, 3}, {2, k.W}}) {
          INFO("force=" << force << " shifts per call=" << chunk);
          const auto got = run(force, false, chunk);
          CHECK(same_state(*ref, *got, HW, k.C));
        }
        // With the floor the screen also drops keys far below the final max from the first key on:
        // the sums agree to fp64 resolution (not always bit for bit).
        const auto floored = run(0, true, k.W);
        double worst = 0;
        for (std::size_t m = 0; m < HW; ++m) {
          const SoftmaxAcc<double> x = softmax_rows_at(ref->rows(), m), y = softmax_rows_at(floored->rows(), m);
          REQUIRE(x.mx == y.mx);
          worst = std::max(worst, std::fabs(y.s / x.s - 1));
          for (int c = 0; c < k.C; ++c) worst = std::max(worst, std::fabs((y.pivot[c] + y.a1[c] / y.s) - (x.pivot[c] + x.a1[c] / x.s)));
        }
        CHECK(worst < 1e-14);
        // Top-k through the hook: with every screen mode (its cuts lowered to the lists' floors)
        // the lists are the unscreened run's, and so is the state.
        TopkTable all(HW, 3);
        const auto ref_k = run(-1, false, 1, &all);
        for (const auto& [force, floor] : std::vector<std::pair<int, bool>>{{1, false}, {0, false}, {2, false}, {1, true}, {0, true}}) {
          INFO("top-k, force=" << force << " floor=" << floor);
          TopkTable got(HW, 3), want = all;  // (sorted() sorts a heap in place: once per copy)
          const auto state = run(force, floor, k.W, &got);
          if (!floor) CHECK(same_state(*ref_k, *state, HW, k.C));
          std::size_t differ = 0;
          for (std::size_t m = 0; m < HW; ++m) {
            int na = 0, ng = 0;
            const TopkEntry* ea = want.sorted(m, &na);
            const TopkEntry* eg = got.sorted(m, &ng);
            bool same = na == ng;
            for (int i = 0; same && i < na; ++i)
              same = ea[i].logit == eg[i].logit && ea[i].image == eg[i].image && ea[i].position == eg[i].position;
            differ += same ? 0 : 1;
          }
          CHECK(differ == 0);
        }
      }
}

// push_block (the whitened path's update) against softmax_push key by key in fp64: logits spread
// over ~40 nats so some keys fall past the drop threshold, −inf padding, new maxima inside later
// blocks; with and without the second moments (which leave the estimate's sums bit for bit alone).
TEST_CASE("CPU push_block: blocks of keys against softmax_push, every variant", "[engine][cpu][kernels][whitened]") {
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> U(0.0, 1.0);
  for (const cpu::Kernels* K : cpu::kernel_variants())
    for (int C = 1; C <= kMaxChannels; ++C) {
      INFO(K->name << " C=" << C);
      constexpr std::size_t n = 64, stride = 72, blocks = 5;
      SoftmaxAcc<double> got[2], ref;
      softmax_init(got[0]);
      softmax_init(got[1]);
      softmax_init(ref);
      const double skip = 30.0;
      for (std::size_t b = 0; b < blocks; ++b) {
        std::vector<double> l(n), val(std::size_t(C) * stride);
        for (std::size_t i = 0; i < n; ++i) l[i] = i + 5 >= n ? -INFINITY : -40.0 * U(rng) + 3.0 * double(b);  // the last 5: padding
        for (auto& x : val) x = U(rng);
        for (int second = 0; second < 2; ++second) K->push_block(got[second], cpu::BlockArgs{l.data(), n, val.data(), stride, C, skip, second == 1});
        for (std::size_t i = 0; i < n; ++i) {
          double x[kMaxChannels];
          for (int c = 0; c < C; ++c) x[c] = val[std::size_t(c) * stride + i];
          if (l[i] >= ref.mx - skip) softmax_push(ref, l[i], x, C, skip);
        }
      }
      const SoftmaxAcc<double>& g = got[1];
      REQUIRE(g.mx == ref.mx);
      CHECK(std::fabs(g.s / ref.s - 1) < 1e-6);
      CHECK(std::fabs(g.s2 / ref.s2 - 1) < 1e-6);
      for (int c = 0; c < C; ++c) {
        CHECK(std::fabs((g.pivot[c] + g.a1[c] / g.s) - (ref.pivot[c] + ref.a1[c] / ref.s)) < 1e-6);
        CHECK(std::fabs(softmax_variance(g, c) - softmax_variance(ref, c)) < 1e-6);
        CHECK(got[0].a1[c] == g.a1[c]);
        CHECK(got[0].pivot[c] == g.pivot[c]);
      }
      CHECK(got[0].s == g.s);
      CHECK(got[0].mx == g.mx);
    }
}

// The whitened screen's float32 distances within their proven bound of the fp64 ones (values of
// magnitude 1 and 1000, keys equal to a query up to rounding-sized offsets, so D near 0 too), the
// cut it derives never ruling out a key at or below its distance, and the exact distances of live
// panels only (single query rows or whole blocks) giving the full block's bits.
TEST_CASE("CPU whitened float32 distances: within Float32Bound, and live panels give the full bits", "[engine][cpu][kernels][whitened]") {
  constexpr int MQ = cpu::kWhitenedQueries, NL = cpu::kWhitenedLanes;
  std::mt19937 rng(23);
  std::uniform_real_distribution<double> U(-1.0, 1.0);
  for (const cpu::Kernels* K : cpu::kernel_variants())
    for (int L : {27, 75, 363})
      for (double M : {1.0, 1000.0}) {
        INFO(K->name << " L=" << L << " M=" << M);
        const std::size_t n = 5 * NL, np = n / NL;  // (an odd panel count: the float32 pass's single-panel block too)
        std::vector<double> q(std::size_t(MQ) * L), key(n * std::size_t(L));
        for (auto& x : q) x = M * U(rng);
        for (std::size_t j = 0; j < n; ++j)
          for (int e = 0; e < L; ++e) {  // keys 0, 8, 16 …: query (j / 8) % 6 up to tiny offsets; the rest random
            const double base = j % NL == 0 ? q[(j / NL % MQ) * std::size_t(L) + std::size_t(e)] : M * U(rng);
            key[j * std::size_t(L) + std::size_t(e)] = base + (j % NL == 0 ? M * 1e-7 * U(rng) : 0.0);
          }
        double vmax = 0;
        for (double x : q) vmax = std::max(vmax, std::fabs(x));
        for (double x : key) vmax = std::max(vmax, std::fabs(x));
        std::vector<double> kP(n * std::size_t(L));
        for (std::size_t j = 0; j < n; ++j)
          for (int e = 0; e < L; ++e) kP[((j / NL) * std::size_t(L) + std::size_t(e)) * NL + j % NL] = key[j * std::size_t(L) + std::size_t(e)];
        const std::vector<float> q32(q.begin(), q.end()), kP32(kP.begin(), kP.end());
        std::vector<double> D(MQ * n);
        std::vector<float> D32(MQ * n);
        K->whitened_distances(cpu::WhitenedDistanceArgs{L, n, q.data(), kP.data(), D.data()});
        K->whitened_distances32(cpu::WhitenedDistance32Args{L, n, q32.data(), kP32.data(), D32.data()});
        const cpu::Float32Bound b = cpu::Float32Bound::for_terms(L, L + 3.0, vmax, 1.0);
        int near = 0;
        for (std::size_t m = 0; m < D.size(); ++m) {
          const double r = std::sqrt(D[m]), lo = r > b.abs_sqrt ? (1 - b.rel) * (r - b.abs_sqrt) * (r - b.abs_sqrt) : 0.0;
          CHECK(double(D32[m]) >= lo);
          CHECK(double(D32[m]) <= (1 + b.rel) * (r + b.abs_sqrt) * (r + b.abs_sqrt));
          CHECK(!(D32[m] > b.cut(D[m])));  // a key at the live limit itself is never cut
          near += D[m] < 1e-9 * M * M * L;
        }
        CHECK(near >= MQ - 1);  // (the near-duplicates exist: the bound was tested where it is tightest)
        // Exact distances for a live pattern only: every pattern of queries per panel, 0 … MQ live.
        std::vector<std::uint8_t> live(MQ * np);
        for (std::size_t j = 0; j < np; ++j)
          for (int i = 0; i < MQ; ++i) live[std::size_t(i) * np + j] = i < int(j + 1) && (i + int(j)) % 3 != 1;
        std::vector<double> Dl(MQ * n, std::nan(""));
        cpu::WhitenedDistanceArgs a{L, n, q.data(), kP.data(), Dl.data()};
        a.live = live.data();
        K->whitened_distances(a);
        for (int i = 0; i < MQ; ++i)
          for (std::size_t j = 0; j < n; ++j) {
            const std::size_t m = std::size_t(i) * n + j;
            if (live[std::size_t(i) * np + j / NL])
              CHECK(std::memcmp(&Dl[m], &D[m], sizeof(double)) == 0);
          }
        // The float32 pass computes the panels some query wants (here 0, 2 and 3 of 5: a single
        // before an unwanted one, then a pair) with the full pass's bits, and returns their count.
        CHECK(K->whitened_distances32(cpu::WhitenedDistance32Args{L, n, q32.data(), kP32.data(), D32.data()}) == np);
        for (std::size_t j = 0; j < np; ++j)
          for (int i = 0; i < MQ; ++i) live[std::size_t(i) * np + j] = j % 3 != 1 && i == int(j % MQ);
        std::vector<float> D32l(MQ * n, std::nanf(""));
        cpu::WhitenedDistance32Args a32{L, n, q32.data(), kP32.data(), D32l.data()};
        a32.live = live.data();
        CHECK(K->whitened_distances32(a32) == 3);
        for (int i = 0; i < MQ; ++i)
          for (std::size_t j = 0; j < n; ++j) {
            const std::size_t m = std::size_t(i) * n + j, panel = j / NL;
            if (panel % 3 != 1) CHECK(std::memcmp(&D32l[m], &D32[m], sizeof(float)) == 0);
          }
      }
}

// The AVX-512 variant runs each lane's arithmetic as the AVX2 variant does (8-double / 16-float
// steps instead of 4 / 8): the same bits — every shift's logits, the folded softmax state, the
// whitened fp64 and float32 distances. Rows of 32, 27 and 16 pixels (two, one and a partial wide
// update step), windows with doubling levels, every optional input.
TEST_CASE("CPU kernels: the AVX-512 variant gives the AVX2 variant's bits", "[engine][cpu][kernels]") {
  const cpu::Kernels *wide = nullptr, *narrow = nullptr;
  for (const cpu::Kernels* K : cpu::kernel_variants()) {
    if (std::string(K->name) == "avx512") wide = K;
    if (std::string(K->name) == "avx2") narrow = K;
  }
  if (!wide || !narrow) LEMMSE_SKIP("this CPU or build runs no AVX-512 variant");
  const std::vector<Case> cases = {{3, 6, 32, 5, false, false, false, false}, {1, 7, 27, 13, true, true, false, false},
                                   {2, 5, 16, 3, false, true, true, false},   {3, 9, 32, 17, false, false, false, false},
                                   {4, 4, 19, 3, false, false, false, true}};
  std::mt19937 rng(41);
  std::uniform_real_distribution<double> U(0.0, 1.0);
  for (const Case& k : cases)
    for (int mode = 0; mode < 2; ++mode) {  // mode 1: second moments and every logit kept
      INFO("C=" << k.C << " H=" << k.H << " W=" << k.W << " P=" << k.P << " mode=" << mode);
      const std::size_t HW = std::size_t(k.H) * k.W, n = HW * std::size_t(k.C);
      std::vector<double> q(n), key(n), val(n), w(HW), bias(HW);
      std::vector<int> pattern(HW);
      std::vector<std::uint8_t> qvalid(HW * 3);
      for (auto& x : q) x = U(rng);
      for (std::size_t i = 0; i < n; ++i) key[i] = 0.7 * q[i] + 0.3 * U(rng);
      for (auto& x : val) x = U(rng);
      for (auto& x : w) x = 0.5 + U(rng);
      for (auto& x : bias) x = -2.0 * U(rng);
      for (auto& x : pattern) x = int(U(rng) * 3.0);
      for (auto& x : qvalid) x = U(rng) < 0.7;
      const int a = (k.P - 1) / 2;
      const int du0 = k.whole ? 0 : -a, du1 = k.whole ? k.H - 1 : k.P - 1 - a, dv0 = k.whole ? 0 : -a, dv1 = k.whole ? k.W - 1 : k.P - 1 - a;
      const int margin = cpu::key_margin(dv0, dv1);
      cpu::KeyPositionStore positions;
      positions.fill(k.H, k.W, margin, k.weight ? w.data() : nullptr, k.bias ? bias.data() : nullptr, k.pattern ? pattern.data() : nullptr);
      cpu::KeyImageStore store;
      store.fill(k.C, k.H, k.W, margin, key.data(), val.data());
      cpu::QueryImageStore qs;
      qs.fill(k.C, k.H, k.W, margin, q.data());
      const double sigma = 0.15, inv = 1 / (2 * sigma * sigma);
      struct Run {
        std::unique_ptr<cpu::AccStore> st = std::make_unique<cpu::AccStore>();
        std::vector<double> scratch, l, logits;  // logits: every shift's l, one after another
      };
      const auto run = [&](const cpu::Kernels* K) {
        Run r;
        r.scratch.assign(cpu::window_scratch_size(k.H, k.W, du1 - du0 + 1, dv1 - dv0 + 1), 0.0);
        r.l.assign(HW, 0.0);
        cpu::ShiftArgs sa{k.C, k.H, k.W, HW, du0, du1, dv0, dv1, k.whole, qs.qx0(), qs.q320(), qs.stride, k.pattern ? qvalid.data() : nullptr, 3,
                          inv, mode == 1, r.scratch.data(), r.l.data(), mode == 1 ? 87.0 : 6.0, nullptr};
        sa.all_logits = mode == 1;
        r.st->init(k.H, k.W, k.C);
        for (int t = 0; t < int(HW); t += 3) {
          K->shifts_update(r.st->view(), sa, store.view(positions), t / k.W, t % k.W, 1);
          r.logits.insert(r.logits.end(), r.l.begin(), r.l.end());
        }
        K->fold(r.st->view(), sa.second_moments);
        return r;
      };
      const Run x = run(narrow), y = run(wide);
      REQUIRE(x.logits.size() == y.logits.size());
      CHECK(std::memcmp(x.logits.data(), y.logits.data(), x.logits.size() * sizeof(double)) == 0);
      bool same = true;
      for (std::size_t m = 0; m < HW; ++m) {
        const SoftmaxAcc<double> u = softmax_rows_at(x.st->rows(), m), v = softmax_rows_at(y.st->rows(), m);
        same = same && std::memcmp(&u.mx, &v.mx, 8) == 0 && std::memcmp(&u.s, &v.s, 8) == 0 && std::memcmp(&u.s2, &v.s2, 8) == 0;
        for (int c = 0; c < k.C; ++c)
          same = same && std::memcmp(&u.a1[c], &v.a1[c], 8) == 0 && std::memcmp(&u.a2[c], &v.a2[c], 8) == 0 &&
                 std::memcmp(&u.pivot[c], &v.pivot[c], 8) == 0;
      }
      CHECK(same);
    }
  // Whitened distances: 7 panels (pairs and a single panel in the fp64 pass; fours, a pair and a
  // single in the float32 one), every block, then a live pattern.
  constexpr int MQ = cpu::kWhitenedQueries, NL = cpu::kWhitenedLanes;
  for (int L : {27, 75, 147}) {
    INFO("whitened L=" << L);
    const std::size_t n = 7 * NL, np = n / NL;
    std::vector<double> q(std::size_t(MQ) * L), kP(n * std::size_t(L));
    for (auto& x : q) x = 2 * U(rng) - 1;
    for (auto& x : kP) x = 2 * U(rng) - 1;
    const std::vector<float> q32(q.begin(), q.end()), kP32(kP.begin(), kP.end());
    std::vector<std::uint8_t> live(MQ * np);
    for (std::size_t j = 0; j < np; ++j)
      for (int i = 0; i < MQ; ++i) live[std::size_t(i) * np + j] = (i * 5 + int(j) * 3) % 7 < int(j);
    for (const std::uint8_t* lv : {static_cast<const std::uint8_t*>(nullptr), static_cast<const std::uint8_t*>(live.data())}) {
      std::vector<double> D[2];
      std::vector<float> D32[2];
      for (int v = 0; v < 2; ++v) {
        const cpu::Kernels* K = v ? wide : narrow;
        D[v].assign(MQ * n, 0.0);
        D32[v].assign(MQ * n, 0.0f);
        cpu::WhitenedDistanceArgs a{L, n, q.data(), kP.data(), D[v].data()};
        a.live = lv;
        K->whitened_distances(a);
        cpu::WhitenedDistance32Args a32{L, n, q32.data(), kP32.data(), D32[v].data()};
        a32.live = lv;
        K->whitened_distances32(a32);
      }
      CHECK(std::memcmp(D[0].data(), D[1].data(), D[0].size() * sizeof(double)) == 0);
      CHECK(std::memcmp(D32[0].data(), D32[1].data(), D32[0].size() * sizeof(float)) == 0);
    }
  }
}

TEST_CASE("CPU kernels: LEMMSE_CPU_KERNELS names a variant this CPU runs", "[engine][cpu][kernels]") {
  for (const cpu::Kernels* K : cpu::kernel_variants()) CHECK(&cpu::kernel_variant(K->name) == K);
  CHECK(std::string(cpu::kernel_variant("").name) == cpu::kernel_variants().front()->name);  // (unset or empty: the fastest)
  CHECK_THROWS_AS(cpu::kernel_variant("avx9000"), InvalidArgument);
  CHECK_THROWS_WITH(cpu::kernel_variant("avx9000"), Catch::Contains("generic"));  // (the message lists what runs)
}

// The whitened screen's panel cut, every variant: a panel stays live when it was and one of its
// values is at or below the cut or NaN; dead panels stay dead whatever their values.
TEST_CASE("CPU whitened screen: keep_live_panels against its definition in every variant", "[engine][cpu][kernels][whitened]") {
  constexpr std::size_t NL = cpu::kWhitenedLanes, np = 301;
  std::mt19937 rng(57);
  std::uniform_real_distribution<float> U(0.0f, 2.0f);
  std::vector<float> D(np * NL);
  for (std::size_t j = 0; j < np; ++j)
    for (std::size_t t = 0; t < NL; ++t) {
      float x = 1.0f + U(rng);  // above the cut (1.0) …
      if (j % 5 == 0 && t == j % NL) x = U(rng) < 1.0f ? 1.0f : 0.5f;  // … but one lane at or below it,
      if (j % 7 == 0 && t == 3) x = std::nanf("");                      // or NaN (live),
      if (j % 11 == 0) x = -INFINITY;                                     // or all far below
      D[j * NL + t] = x;
    }
  std::vector<std::uint8_t> live0(np);
  for (std::size_t j = 0; j < np; ++j) live0[j] = j % 3 != 1;
  std::vector<std::uint8_t> want = live0;
  std::size_t want_n = 0;
  for (std::size_t j = 0; j < np; ++j) {
    bool any = false;
    for (std::size_t t = 0; t < NL; ++t) any = any || !(D[j * NL + t] > 1.0f);
    want[j] = std::uint8_t(live0[j] && any);
    want_n += want[j];
  }
  REQUIRE(want_n > 20);  // (both outcomes occur)
  REQUIRE(want_n < np / 2);
  for (const cpu::Kernels* K : cpu::kernel_variants()) {
    INFO(K->name);
    std::vector<std::uint8_t> live = live0;
    CHECK(K->keep_live_panels(D.data(), np, 1.0f, live.data()) == want_n);
    CHECK(live == want);
  }
}

// The periodic layouts the window kernels read: every stored column c (from −margin to the end of
// the padded stride) of row r holds image column c mod W, and rows start on 64-byte lines (the
// aligned buffers and whole-line strides the kernels' 512-bit loads were measured faster with).
TEST_CASE("CPU window layouts: periodic rows on whole cache lines", "[engine][cpu][kernels]") {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> U(0.0, 1.0);
  for (const int W : {5, 27, 32})
    for (const int P : {3, 11, 17}) {
      INFO("W=" << W << " P=" << P);
      const int C = 3, H = 4, margin = cpu::key_margin(-P / 2, P / 2);
      std::vector<double> img(std::size_t(C) * H * W), val(img.size());
      for (auto& x : img) x = U(rng);
      for (auto& x : val) x = U(rng);
      cpu::KeyImageStore keys;
      keys.fill(C, H, W, margin, img.data(), val.data());
      const cpu::KeyPositionStore positions;
      const cpu::KeyImage kv = keys.view(positions);
      cpu::QueryImageStore qs;
      qs.fill(C, H, W, margin, img.data());
      CHECK(kv.stride % 8 == 0);
      CHECK(kv.stride >= std::size_t(2 * W + 2 * margin));
      CHECK(qs.stride % 8 == 0);
      CHECK(qs.stride >= std::size_t(W + 2 * margin));
      // Row starts (column −margin) on lines; with margin − pad ≡ 0 (mod 8) the query's window columns too.
      CHECK(reinterpret_cast<std::uintptr_t>(kv.k - margin) % 64 == 0);
      CHECK(reinterpret_cast<std::uintptr_t>(qs.qx0() - margin) % 64 == 0);
      CHECK(reinterpret_cast<std::uintptr_t>(qs.qx0() - P / 2) % 64 == 0);
      bool periodic = true;
      for (int c = 0; c < C; ++c)
        for (int r = 0; r < H; ++r)
          for (int col = -margin; col < int(kv.stride) - margin; ++col) {
            const double want = img[(std::size_t(c) * H + std::size_t(r)) * W + std::size_t(((col % W) + W) % W)];
            const std::size_t krow = (std::size_t(c) * H + std::size_t(r)) * kv.stride;
            periodic = periodic && kv.k[std::ptrdiff_t(krow) + col] == want && double(kv.k32[std::ptrdiff_t(krow) + col]) == double(float(want));
            if (col < int(qs.stride) - margin)
              periodic = periodic && qs.qx0()[std::ptrdiff_t((std::size_t(c) * H + std::size_t(r)) * qs.stride) + col] == want;
          }
      CHECK(periodic);
    }
}
