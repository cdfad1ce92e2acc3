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

// n vectors of `dims` elements (row-major) into float32 panels of NL (padding 0 up to npad).
void float_panels(const double* x, std::size_t n, std::size_t dims, std::size_t npad, std::vector<float>& out) {
  out.assign(npad * dims, 0.0f);
  for (std::size_t v = 0; v < n; ++v)
    for (std::size_t e = 0; e < dims; ++e) out[((v / NL) * dims + e) * NL + v % NL] = float(x[v * dims + e]);
}

// live[j] &= (panel j of D32, NL lanes, has a value at or below cut; NaN counts as live) for the
// panels live on entry; returns how many stay live.
std::size_t keep_live_panels(const float* D32, std::size_t np, float cut, std::uint8_t* live) {
  std::size_t nlive = 0;
  for (std::size_t j = 0; j < np; ++j) {
    if (!live[j]) continue;
    bool lv = false;
    for (std::size_t t = 0; t < NL; ++t) lv |= !(D32[j * NL + t] > cut);
    live[j] = lv;
    nlive += lv;
  }
  return nlive;
}

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

void WhitenedScreen::load_keys(const std::vector<double>& kw, const std::vector<double>& kP, std::size_t HW, std::size_t npad, Keys& k) const {
  k.kP32.assign(kP.begin(), kP.end());
  k.max_abs = max_abs_of(kw);
  k.proj_max_abs = k.max_norm = 0;
  if (projected_) {
    proj_.project(kw.data(), HW, k.xp, k.proj_max_abs, k.max_norm);
    float_panels(k.xp.data(), HW, std::size_t(proj_.dims()), npad, k.kPp32);
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
    for (std::size_t i = 0; i < MQ; ++i) keep_live_panels(&D32[i * cnt], np, cuts[i].proj, &live[i * np]);
  }
  // stage 2, on the panels some query still needs
  cpu::WhitenedDistance32Args a{L_, cnt, &q32_[g][m0 * std::size_t(L_)], k.kP32.data() + n0 * std::size_t(L_), D32};
  a.live = live;
  K.whitened_distances32(a);
  for (std::size_t j = 0; j < np; ++j) {
    bool wanted = false;
    for (std::size_t i = 0; i < MQ; ++i) wanted |= live[i * np + j] != 0;
    stats.float32_pairs += wanted ? double(nq * NL) : 0.0;
  }
  for (std::size_t i = 0; i < MQ; ++i) {
    const std::size_t n = keep_live_panels(&D32[i * cnt], np, cuts[i].full, &live[i * np]);
    any[i] = n > 0;
    nlive += n;
  }
  stats.exact_pairs += double(nlive * NL);
  return nlive;
}

}  // namespace lemmse
