// fp64 reference evaluation of the window problem (problem.hpp), exact up to fp64 rounding.
//
// Work units are (query image, block of query rows — or, for selected rows with the whitened
// metric, of entries of the row list); every query pixel is owned by one unit
// and sees the keys in one fixed order (training image, then shift), so results are
// bit-identical for any number of threads. Per (training image b, shift t) the unit forms the
// difference image e(p) = w(p+t) Σ_c (q_c(p) − k_c(p+t))² once and gets every pixel's window
// distance from separable window sums (no running-sum subtraction, so no cancellation).
#include "engine/reference_engine.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>

#include "kernels/exp_poly.hpp"
#include "engine/pixel_outputs.hpp"
#include "engine/softmax_store.hpp"
#include "kernels/online_softmax.hpp"
#include "kernels/topk.hpp"
#include "lemmse/errors.hpp"
#include "util/parallel.hpp"

namespace lemmse {
namespace {

// Keys more than 708 nats below a pixel's running max get weight 0: their weight relative to
// the max (< e^−708 ≈ 3e−308) cannot change any fp64 sum that holds the max's weight 1.
constexpr double kSkipNats = 708.0;

inline std::size_t wrap(long i, long n) { return std::size_t(((i % n) + n) % n); }

// out[j] = Σ_{k<len} in[j + k·stride] for j < W: a direct sum (vectorised over j), never a
// running sum with subtraction, so every window sum is as exact as its terms allow.
inline void window_sum(const double* __restrict in, int len, int W, double* __restrict out, std::size_t stride) {
  for (int j = 0; j < W; ++j) out[j] = in[j];
  for (int k = 1; k < len; ++k) {
    const double* __restrict src = in + std::size_t(k) * stride;
    for (int j = 0; j < W; ++j) out[j] += src[j];
  }
}

struct Unit {
  std::size_t image;
  int r0, r1;                 // query rows [r0, r1), or entries [r0, r1) of `list`
  const int* list = nullptr;  // selected rows (whitened metric only: its distances need no row run)
  int row(int i) const { return list ? list[r0 + i] : r0 + i; }  // the unit's i-th query row
};

class UnitRunner {
 public:
  UnitRunner(const EstimatorSettings& s, const Problem& p, const Images& train, const std::vector<std::int64_t>& ids,
             const QuerySetup& q, EstimatorOutputs& out, std::atomic<long>& done, const std::atomic<bool>& cancel)
      : s_(s), p_(p), train_(train), ids_(ids), q_(q), out_(out), done_(done), cancel_(cancel) {}

  void run(const Unit& u) {
    const int rows = u.r1 - u.r0, W = p_.W, C = p_.C;
    const std::size_t npix = std::size_t(rows) * W;
    // Per-pixel softmax state, structure-of-arrays so the row loops vectorise (the same
    // arithmetic as softmax_push in kernels/online_softmax.hpp).
    store_.init(npix, C);
    st_ = store_.view();
    const int k = s_.topk;
    std::vector<TopkEntry> heap(npix * std::size_t(k));
    std::vector<int> heap_n(npix, 0);
    std::vector<double> D(npix), l(W), w(W);
    std::vector<std::size_t> nidx(W);
    std::vector<double> kwhite;
    const std::size_t np = p_.pattern_bits.size();
    const bool has_bias = !p_.key_bias.empty();

    for (std::size_t b = 0; b < train_.n; ++b) {
      if (cancel_) return;
      const double* key = p_.keys(train_).image(b);
      const double* val = train_.image(b);
      if (p_.metric == Metric::whitened) whiten_patches(p_, key, kwhite);
      const std::size_t nshift = p_.all_shifts ? p_.HW : 1;
      for (std::size_t t = 0; t < nshift; ++t) {
        const int ti = int(t / W), tj = int(t % W);
        distances(u, ti, tj, key, kwhite, D);
        for (int r = 0; r < rows; ++r) {
          const std::size_t key_row = wrap(u.row(r) + ti, p_.H) * W;
          const std::size_t m0 = std::size_t(u.row(r)) * W, loc0 = std::size_t(r) * W;
          const int split = W - tj;  // columns j < split read key column j + tj, the rest j + tj − W
          for (int j = 0; j < W; ++j) nidx[j] = key_row + std::size_t(j < split ? j + tj : j + tj - W);
          const double* Dr = &D[loc0];
          for (int j = 0; j < W; ++j) l[j] = -Dr[j] * p_.inv_two_sigma2 + (has_bias ? p_.key_bias[nidx[j]] : 0.0);
          if (p_.strata)
            for (int j = 0; j < W; ++j)
              if (!q_.valid[(m0 + j) * np + std::size_t(p_.pattern_of[nidx[j]])]) l[j] = -INFINITY;
          double* mx = st_.mx + loc0;
          for (int j = 0; j < W; ++j)
            if (l[j] > mx[j]) softmax_rows_new_max(st_, loc0 + j, l[j], val + nidx[j], p_.HW);
          for (int j = 0; j < W; ++j) {  // branch-free: vectorised (needs -fno-trapping-math)
            const double z = l[j] - mx[j];   // ≤ 0; −inf for invalid keys
            const double e = exp_poly(z < -kSkipNats ? -kSkipNats : z);
            w[j] = z < -kSkipNats ? 0.0 : e;
          }
          double* ss = st_.s + loc0;
          double* s2 = st_.s2 + loc0;
          for (int j = 0; j < W; ++j) {
            ss[j] += w[j];
            s2[j] += w[j] * w[j];
          }
          for (int c = 0; c < C; ++c) {
            const double* v = val + std::size_t(c) * p_.HW + key_row + tj;  // v[j] for j < split, v[j − W] after
            double* pv = st_.piv + std::size_t(c) * st_.npix + loc0;
            double* a1 = st_.a1 + std::size_t(c) * st_.npix + loc0;
            double* a2 = st_.a2 + std::size_t(c) * st_.npix + loc0;
            for (int j = 0; j < split; ++j) {
              const double d = v[j] - pv[j];
              a1[j] += w[j] * d;
              a2[j] += w[j] * d * d;
            }
            for (int j = split; j < W; ++j) {
              const double d = v[j - W] - pv[j];
              a1[j] += w[j] * d;
              a2[j] += w[j] * d * d;
            }
          }
          if (k > 0)
            for (int j = 0; j < W; ++j)
              if (l[j] > -INFINITY)
                topk_push(&heap[(loc0 + j) * k], &heap_n[loc0 + j], k, TopkEntry{l[j], ids_[b], std::int64_t(nidx[j])});
        }
      }
      ++done_;
    }
    write(u, heap, heap_n);
  }

 private:
  // D(m) for every query pixel m of the unit, for shift (ti, tj).
  void distances(const Unit& u, int ti, int tj, const double* key, const std::vector<double>& kwhite, std::vector<double>& D) {
    const int rows = u.r1 - u.r0, W = p_.W, H = p_.H, C = p_.C;
    const double* q = q_.q.data();
    if (p_.metric == Metric::whitened) {
      const std::size_t len = std::size_t(C) * p_.d;
      for (int r = 0; r < rows; ++r)
        for (int j = 0; j < W; ++j) {
          const std::size_t m = std::size_t(u.row(r)) * W + j;
          const std::size_t n = wrap(u.row(r) + ti, H) * W + wrap(j + tj, W);
          const double* a = &q_.qwhite[m * len];
          const double* b = &kwhite[n * len];
          double sum = 0;
          for (std::size_t i = 0; i < len; ++i) sum += (a[i] - b[i]) * (a[i] - b[i]);
          D[std::size_t(r) * W + j] = sum;
        }
      return;
    }
    // e over the rows the windows touch: query rows r0+du0 … r1−1+du1 (circular)
    const int erows = p_.whole ? H : rows + p_.du1 - p_.du0;
    const int rbase = p_.whole ? 0 : u.r0 + p_.du0;
    const int ww = p_.win_w();
    e_.resize(std::size_t(erows) * (W + ww));
    hsum_.resize(std::size_t(erows) * W);
    const bool weighted = p_.metric == Metric::weighted;
    double total = 0;
    for (int er = 0; er < erows; ++er) {
      const std::size_t qi = wrap(rbase + er, H), ki = wrap(rbase + er + ti, H);
      double* __restrict row = &e_[std::size_t(er) * (W + ww)];
      // e(j) = w(key) Σ_c (q_c(qi, j) − k_c(ki, j + tj))², in two contiguous column segments
      const int split = W - tj;
      for (int j = 0; j < W; ++j) row[j] = 0.0;
      for (int c = 0; c < C; ++c) {
        const double* __restrict qr = q + std::size_t(c) * p_.HW + qi * W;
        const double* __restrict kr = key + std::size_t(c) * p_.HW + ki * W + tj;  // kr[j], or kr[j − W] past split
        for (int j = 0; j < split; ++j) row[j] += (qr[j] - kr[j]) * (qr[j] - kr[j]);
        for (int j = split; j < W; ++j) row[j] += (qr[j] - kr[j - W]) * (qr[j] - kr[j - W]);
      }
      if (weighted) {
        const double* __restrict pw = p_.pixel_weight.data() + ki * W + tj;
        for (int j = 0; j < split; ++j) row[j] *= pw[j];
        for (int j = split; j < W; ++j) row[j] *= pw[j - W];
      }
      if (p_.whole) {
        for (int j = 0; j < W; ++j) total += row[j];
        continue;
      }
      // extended row ext[x] = e(x + dv0) for x in [0, W + ww − 1), dv0 = −a ≤ 0, then window sums
      double* ext = &ext_buf(W + ww)[0];
      const int a = -p_.dv0;
      std::copy(row + W - a, row + W, ext);
      std::copy(row, row + W, ext + a);
      std::copy(row, row + (ww - 1 - a), ext + a + W);
      window_sum(ext, ww, W, &hsum_[std::size_t(er) * W], 1);
    }
    if (p_.whole) {
      std::fill(D.begin(), D.begin() + std::ptrdiff_t(std::size_t(rows) * W), total);
      return;
    }
    const int wh = p_.win_h();
    for (int r = 0; r < rows; ++r) window_sum(&hsum_[std::size_t(r) * W], wh, W, &D[std::size_t(r) * W], std::size_t(W));
  }

  std::vector<double>& ext_buf(std::size_t n) {
    if (ext_.size() < n) ext_.resize(n);
    return ext_;
  }

  void write(const Unit& u, std::vector<TopkEntry>& heap, const std::vector<int>& heap_n) {
    const int k = s_.topk;
    for (int r = 0; r < u.r1 - u.r0; ++r)
      for (int j = 0; j < p_.W; ++j) {
        const std::size_t loc = std::size_t(r) * p_.W + j, m = std::size_t(u.row(r)) * p_.W + j;
        TopkEntry* h = k > 0 ? &heap[loc * k] : nullptr;
        if (k > 0) topk_sort(h, heap_n[loc]);
        write_pixel(out_, s_, u.image, m, softmax_rows_at(st_, loc), h, k > 0 ? heap_n[loc] : 0);
      }
  }

  const EstimatorSettings& s_;
  const Problem& p_;
  const Images& train_;
  const std::vector<std::int64_t>& ids_;
  const QuerySetup& q_;
  EstimatorOutputs& out_;
  std::atomic<long>& done_;
  const std::atomic<bool>& cancel_;
  std::vector<double> e_, hsum_, ext_;
  SoftmaxRowStore store_;
  SoftmaxRows st_{};
};

}  // namespace

EstimatorOutputs run_reference(const EstimatorSettings& s, const Problem& p, const Images& train,
                               const std::vector<std::int64_t>& train_ids, const PreInverse& B, const Images& y,
                               const std::vector<int>* rows) {
  const auto t0 = std::chrono::steady_clock::now();
  EstimatorOutputs out = make_outputs(s, y.n, y.shape, Backend::reference);
  const std::size_t K = y.n, HW = p.HW;

  std::vector<QuerySetup> queries;
  for (std::size_t i = 0; i < K; ++i) queries.push_back(build_query(p, s, B, y.image(i)));

  // Split rows only when there are fewer images than threads; the split never changes results.
  // Selected rows, NaN in the rows left out: with the whitened metric split like whole images (a
  // unit whitens every training image once, whatever its rows); otherwise one unit per row (the
  // window sums need a unit's rows to be a run).
  const int threads = resolve_threads(s.threads);
  const int per_image = int((std::size_t(threads) + K - 1) / std::max<std::size_t>(K, 1));
  std::vector<Unit> units;
  for (std::size_t i = 0; i < K; ++i)
    if (rows && p.metric != Metric::whitened) {
      for (int r : *rows) units.push_back(Unit{i, r, r + 1});
    } else {
      const int n = rows ? int(rows->size()) : p.H, blocks = std::max(1, std::min(n, per_image));
      for (int b = 0; b < blocks; ++b) units.push_back(Unit{i, n * b / blocks, n * (b + 1) / blocks, rows ? rows->data() : nullptr});
    }
  if (rows) {
    std::vector<char> kept(std::size_t(p.H), 0);
    for (int r : *rows) kept[std::size_t(r)] = 1;
    auto blank = [&](double* a, std::size_t planes) {  // planes of HW values, rows of W
      for (std::size_t k = 0; k < planes; ++k)
        for (int r = 0; r < p.H; ++r)
          if (!kept[std::size_t(r)]) std::fill_n(a + k * HW + std::size_t(r) * p.W, p.W, NAN);
    };
    blank(out.estimate.data.data(), out.estimate.data.size() / HW);
    blank(out.variance.data.data(), out.variance.data.size() / HW);
    blank(out.log_density.data(), out.log_density.size() / HW);
    blank(out.effective_count.data(), out.effective_count.size() / HW);
  }

  std::atomic<long> done{0};
  std::atomic<bool> cancel{false};
  const double total = double(units.size()) * double(train.n);
  parallel_for(units.size(), threads,
               [&](std::size_t i) {
                 UnitRunner(s, p, train, train_ids, queries[units[i].image], out, done, cancel).run(units[i]);
               },
               progress_poll(s, done, total, cancel));
  if (s.progress) s.progress(total, total);
  const double pixels = rows ? double(rows->size()) * double(p.W) : double(HW);
  out.pairs = double(K) * pixels * double(train.n) * double(p.all_shifts ? HW : 1);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace lemmse
