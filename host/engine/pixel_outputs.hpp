// The host engines' common steps: sizing the outputs of a batch of query images, polling the
// progress callback, merging slice partials in slice order and writing each pixel's outputs from
// its merged softmax state and its top-k list.
#pragma once
#include <atomic>
#include <cmath>
#include <functional>
#include <string>

#include "kernels/online_softmax.hpp"
#include "engine/topk_table.hpp"
#include "kernels/topk.hpp"
#include "lemmse/errors.hpp"
#include "lemmse/estimator.hpp"

namespace lemmse {

inline EstimatorOutputs make_outputs(const EstimatorSettings& s, std::size_t nimg, ImageShape shape, Backend backend) {
  EstimatorOutputs out;
  out.backend = backend;
  const std::size_t HW = shape.pixels();
  out.estimate = Images(nimg, shape);
  if (s.variance) out.variance = Images(nimg, shape);
  if (s.log_density) out.log_density.assign(nimg * HW, 0.0);
  if (s.effective_count) out.effective_count.assign(nimg * HW, 0.0);
  out.topk = s.topk;
  if (s.topk > 0) {
    const std::size_t n = nimg * std::size_t(s.topk) * HW;
    out.topk_log_weight.assign(n, -INFINITY);
    out.topk_weight.assign(n, 0.0);
    out.topk_image.assign(n, -1);
    out.topk_position.assign(n, -1);
  }
  return out;
}

// Pixel m of query image img: its ntop top-k entries (best first, images labelled) with their
// weights exp(ℓ − log-density).
inline void write_topk(EstimatorOutputs& out, const EstimatorSettings& s, std::size_t img, std::size_t m, double logd,
                       const TopkEntry* top, int ntop) {
  const std::size_t HW = out.estimate.shape.pixels();
  for (int i = 0; i < ntop; ++i) {
    const std::size_t o = (img * std::size_t(s.topk) + std::size_t(i)) * HW + m;
    out.topk_log_weight[o] = top[i].logit;
    out.topk_weight[o] = std::exp(top[i].logit - logd);
    out.topk_image[o] = top[i].image;
    out.topk_position[o] = top[i].position;
  }
}

// Pixel m of query image img: estimate, variance, log-density, effective count and the ntop
// entries of top (best first). Throws when no key was compatible with the pixel.
inline void write_pixel(EstimatorOutputs& out, const EstimatorSettings& s, std::size_t img, std::size_t m,
                        const SoftmaxAcc<double>& a, const TopkEntry* top, int ntop) {
  const std::size_t HW = out.estimate.shape.pixels();
  const int C = out.estimate.shape.c;
  if (!(a.s > 0))
    throw NumericalError("no training key is compatible with query pixel (" + std::to_string(m / out.estimate.shape.w) + ", " +
                         std::to_string(m % out.estimate.shape.w) + ") of image " + std::to_string(img));
  for (int c = 0; c < C; ++c) {
    out.estimate.image(img)[std::size_t(c) * HW + m] = softmax_mean(a, c);
    if (s.variance) out.variance.image(img)[std::size_t(c) * HW + m] = softmax_variance(a, c);
  }
  const double logd = softmax_log_density(a);
  if (s.log_density) out.log_density[img * HW + m] = logd;
  if (s.effective_count) out.effective_count[img * HW + m] = softmax_effective_count(a);
  write_topk(out, s, img, m, logd, top, ntop);
}

// The poll parallel_for calls between tasks: reports done/total and, when the callback returns
// false, stops the workers (cancel) and throws Cancelled.
inline std::function<void()> progress_poll(const EstimatorSettings& s, const std::atomic<long>& done, double total,
                                           std::atomic<bool>& cancel) {
  return [&s, &done, total, &cancel] {
    if (s.progress && !s.progress(double(done), total)) {
      cancel = true;
      throw Cancelled("cancelled by the progress callback");
    }
  };
}

// Every pixel of image img: its nslice partial states at(slice, m) merged in slice order, then
// written with its top-k list (the table is cleared for the next image).
template <class PartialAt>
void merge_slices_and_write(EstimatorOutputs& out, const EstimatorSettings& s, std::size_t img, std::size_t nslice,
                            PartialAt at, TopkTable& topk) {
  const int C = out.estimate.shape.c;
  for (std::size_t m = 0; m < out.estimate.shape.pixels(); ++m) {
    SoftmaxAcc<double> a;
    softmax_init(a);
    for (std::size_t sl = 0; sl < nslice; ++sl) softmax_merge(a, at(sl, m), C);
    int n = 0;
    const TopkEntry* h = s.topk > 0 ? topk.sorted(m, &n) : nullptr;
    write_pixel(out, s, img, m, a, h, n);
  }
  if (s.topk > 0) topk.clear();
}

}  // namespace lemmse
