#include "engine/whitened_screen.hpp"

#include <algorithm>
#include <cmath>

namespace lemmse {
namespace {

constexpr std::size_t NL = cpu::kWhitenedLanes;

// Above this magnitude float32 squares could overflow (an overflowed distance would be cut).
constexpr double kMaxScreenedValue = 1e17;

double max_abs_of(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::fabs(x) > m ? std::fabs(x) : m;  // (NaN: left out; NaN distances are never cut)
  return m;
}

// A key more than skip + 1 nats (in logit) below its pixel's running max mx would get weight 0 in
// push_block (its drop rule is skip nats, after rounding ℓ − mx to float32), so dropping it
// changes no bit. This is the largest exact distance that may still be live; +inf before any key.
double live_distance(double mx, double skip, double inv_two_sigma2) {
  if (mx == -INFINITY) return INFINITY;
  return (skip + 1.0 - mx) / inv_two_sigma2;
}

// The back-off (WhitenedScreenWorker): the screen pays while few panels are live (its float32
// pass costs about half the exact one); the longest unscreened run spans several training images
// (~900 blocks each at P = 5 and CIFAR-10 sizes, more at larger P).
constexpr double kMaxLiveFraction = 0.4;
constexpr int kMaxUnscreenedRun = 16383;

}  // namespace

WhitenedScreen::WhitenedScreen(const Problem& p, int projection_columns) : L_(p.C * p.d), projected_(projection_columns > 0) {
  if (projected_) proj_ = make_whitened_projection(p, projection_columns);
}

void WhitenedScreen::set_queries(const std::vector<std::vector<double>>& qw, std::size_t ng, std::size_t rows) {
  q32_.resize(ng);
  qp32_.resize(ng);
  q_max_ = qp_max_ = q_norm_ = 0;
  std::vector<double> xp;
  for (std::size_t g = 0; g < ng; ++g) {
    q32_[g].assign(qw[g].begin(), qw[g].begin() + long(rows * std::size_t(L_)));
    q_max_ = std::max(q_max_, max_abs_of(qw[g]));
    if (projected_) {
      proj_.project(qw[g].data(), rows, xp, qp_max_, q_norm_);
      qp32_[g].assign(xp.begin(), xp.end());
    }
  }
}

void WhitenedScreen::load_keys(const std::vector<double>& kw, const AlignedVector<double>& kP, std::size_t HW, std::size_t npad, Keys& k) const {
  k.kP32.assign(kP.begin(), kP.end());
  k.max_abs = max_abs_of(kw);
  k.proj_max_abs = k.max_norm = 0;
  if (projected_) {
    proj_.project(kw.data(), HW, k.xp, k.proj_max_abs, k.max_norm);
    cpu::pack_panels(k.xp.data(), HW, std::size_t(proj_.dims()), npad, k.kPp32);
  }
}

WhitenedScreen::Bounds WhitenedScreen::bounds(const Keys& k) const {
  Bounds b;
  const double vmax = std::max(q_max_, k.max_abs), pmax = std::max(qp_max_, k.proj_max_abs);
  b.usable = vmax <= kMaxScreenedValue && pmax <= kMaxScreenedValue;
  b.full = cpu::Float32Bound::for_terms(double(L_), double(L_) + 3, vmax, 1.0);
  if (projected_) {
    const double dims = double(proj_.dims());
    b.proj = cpu::Float32Bound::for_terms(dims, dims + 3, pmax, 1.0);
    // The fp64 coordinates are off the exact ones by ≤ coord_error·‖z‖ each, the query's and the key's.
    b.proj.abs_sqrt += 2 * proj_.coord_error * std::max(q_norm_, k.max_norm);
  }
  return b;
}

WhitenedScreen::Cuts WhitenedScreen::cuts(const Bounds& bd, double dmax) const {
  if (dmax == -INFINITY) return Cuts{-INFINITY, -INFINITY};
  return Cuts{projected_ ? bd.proj.cut(dmax) : INFINITY, bd.full.cut(dmax)};
}

std::size_t WhitenedScreen::mark(const cpu::Kernels& K, const Keys& k, std::size_t g, std::size_t m0, std::size_t n0, std::size_t cnt,
                                 const Cuts* cuts, float* D32, std::uint8_t* live, bool* any, WhitenedScreenStats& stats) const {
  constexpr std::size_t MQ = cpu::kWhitenedQueries;
  const std::size_t np = cnt / NL;
  std::fill(live, live + MQ * np, std::uint8_t(1));
  std::size_t nq = 0, nlive = 0;
  for (std::size_t i = 0; i < MQ; ++i) nq += cuts[i].full != -INFINITY;
  stats.screened_pairs += double(nq * cnt);
  if (projected_) {  // stage 1
    const std::size_t dims = std::size_t(proj_.dims());
    K.whitened_distances32(cpu::WhitenedDistance32Args{int(dims), cnt, &qp32_[g][m0 * dims], k.kPp32.data() + n0 * dims, D32});
    for (std::size_t i = 0; i < MQ; ++i) K.keep_live_panels(&D32[i * cnt], np, cuts[i].proj, &live[i * np]);
  }
  // stage 2, on the panels some query still needs
  cpu::WhitenedDistance32Args a{L_, cnt, &q32_[g][m0 * std::size_t(L_)], k.kP32.data() + n0 * std::size_t(L_), D32};
  a.live = live;
  stats.float32_pairs += double(K.whitened_distances32(a) * nq * NL);
  for (std::size_t i = 0; i < MQ; ++i) {
    const std::size_t n = K.keep_live_panels(&D32[i * cnt], np, cuts[i].full, &live[i * np]);
    any[i] = n > 0;
    nlive += n;
  }
  stats.exact_pairs += double(nlive * NL);
  return nlive;
}

WhitenedScreenWorker::WhitenedScreenWorker(const WhitenedScreen& screen, std::size_t nimages, std::size_t HW, std::size_t nchunk)
    : screen_(screen), HW_(HW), cut_mx_(nimages * HW), cuts_(nimages * HW),
      D32_(cpu::kWhitenedQueries * nchunk), live_(cpu::kWhitenedQueries * (nchunk / NL)) {}

void WhitenedScreenWorker::new_image(const std::vector<double>* kw, const AlignedVector<double>* kP, std::size_t npad) {
  kw_ = kw;
  kP_ = kP;
  npad_ = npad;
  prepared_ = false;
  usable_ = true;
  std::fill(cut_mx_.begin(), cut_mx_.end(), std::nan(""));  // (cuts depend on the image's bounds)
}

bool WhitenedScreenWorker::screen_block(const cpu::Kernels& K, std::size_t g, std::size_t m0, std::size_t n0, std::size_t cnt,
                                        const SoftmaxAcc<double>* st, double skip, double inv_two_sigma2, bool* any, const double* list_floor) {
  constexpr std::size_t MQ = cpu::kWhitenedQueries;
  if (!usable_) return false;
  if (rest_ > 0) {
    --rest_;
    return false;
  }
  if (!prepared_) {
    screen_.load_keys(*kw_, *kP_, HW_, npad_, keys_);
    bounds_ = screen_.bounds(keys_);
    prepared_ = true;
    if (!(usable_ = bounds_.usable)) return false;
  }
  WhitenedScreen::Cuts cq[MQ];
  std::size_t nq = 0;
  for (std::size_t i = 0; i < MQ && m0 + i < HW_; ++i, ++nq) {  // (padding queries: never live)
    const std::size_t at = g * HW_ + m0 + i;
    double mx = st[m0 + i].mx;
    if (list_floor) {  // a key the list can take is live too: −inf (every key live) while it fills
      const double lf = list_floor[m0 + i];
      mx = lf > -1e300 ? std::min(mx, lf + skip) : -INFINITY;
    }
    if (!(cut_mx_[at] == mx)) {  // (NaN: not yet for this image)
      cut_mx_[at] = mx;
      cuts_[at] = screen_.cuts(bounds_, live_distance(mx, skip, inv_two_sigma2));
    }
    cq[i] = cuts_[at];
  }
  for (std::size_t i = nq; i < MQ; ++i) cq[i] = WhitenedScreen::Cuts{-INFINITY, -INFINITY};
  const std::size_t nlive = screen_.mark(K, keys_, g, m0, n0, cnt, cq, D32_.data(), live_.data(), any, stats_);
  if (double(nlive) > kMaxLiveFraction * double(nq * (cnt / NL)))
    rest_ = run_ = std::min(2 * run_ + 1, kMaxUnscreenedRun);
  else
    run_ = 0;
  return true;
}

}  // namespace lemmse
