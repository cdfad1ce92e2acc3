/* lemmse C API example: LE-MMSE denoising of one built-in test image against 300 built-in
 * training images, with the top-3 source patches of the centre pixel.
 * Build against an installed lemmse:  find_package(lemmse) + target_link_libraries(app lemmse::lemmse)
 * Exit status 0 when the estimate is closer to the clean image than the measurement is. */
#include <lemmse/lemmse.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(call)                                                                      \
  do {                                                                                   \
    lemmse_status st_ = (call);                                                          \
    if (st_ != LEMMSE_OK) {                                                              \
      fprintf(stderr, "%s failed: %s: %s\n", #call, lemmse_status_string(st_), lemmse_last_error()); \
      return 1;                                                                          \
    }                                                                                    \
  } while (0)

static double psnr(const double* a, const double* b, size_t n) {
  double se = 0;
  for (size_t i = 0; i < n; ++i) se += (a[i] - b[i]) * (a[i] - b[i]);
  return 10.0 * log10((double)n / se);
}

int main(void) {
  enum { K = 3 };
  lemmse_context* ctx = NULL;
  int64_t c, h, w;
  printf("lemmse %s\n", lemmse_version());
  CHECK(lemmse_context_create(LEMMSE_BACKEND_AUTO, 0, 0, &ctx));
  CHECK(lemmse_set_training_dataset(ctx, "builtin", NULL, "gray28", 300, NULL, 0));
  CHECK(lemmse_training_shape(ctx, NULL, &c, &h, &w));
  CHECK(lemmse_set_problem(ctx, "denoise", 0));

  const size_t n = (size_t)(c * h * w), hw = (size_t)(h * w);
  double* clean = malloc(n * sizeof *clean);
  double* y = malloc(n * sizeof *y);
  double* est = malloc(n * sizeof *est);
  double* topk_w = malloc(K * hw * sizeof *topk_w);
  int64_t* topk_img = malloc(K * hw * sizeof *topk_img);
  int64_t* topk_pos = malloc(K * hw * sizeof *topk_pos);
  CHECK(lemmse_dataset_read("builtin", NULL, "gray28", LEMMSE_SPLIT_TEST, 0, 1, clean));

  lemmse_array x = {clean, LEMMSE_FLOAT64, LEMMSE_MEMORY_HOST, {1, c, h, w}, {0, 0, 0, 0}};
  const double sigma = 0.2;
  CHECK(lemmse_simulate(ctx, &x, sigma, 7, 0, y));

  lemmse_params p;
  lemmse_params_init(&p);
  p.estimator = LEMMSE_LE_MMSE;
  p.patch = 5;
  p.sigma = sigma;
  p.topk = K;
  lemmse_outputs out = {0};
  out.estimate = est;
  out.topk_weight = topk_w;
  out.topk_image = topk_img;
  out.topk_position = topk_pos;
  lemmse_array ya = {y, LEMMSE_FLOAT64, LEMMSE_MEMORY_HOST, {1, c, h, w}, {0, 0, 0, 0}};
  CHECK(lemmse_estimate(ctx, &p, &ya, &out));

  const double p_in = psnr(clean, y, n), p_out = psnr(clean, est, n);
  printf("PSNR: measurement %.2f dB -> LE-MMSE %.2f dB (%.2f s, %.3g pairs)\n", p_in, p_out, out.seconds, out.pairs);
  const size_t centre = (size_t)(h / 2 * w + w / 2);
  for (int k = 0; k < K; ++k)
    printf("centre pixel source %d: training image %lld, position (%lld, %lld), weight %.4f\n", k,
           (long long)topk_img[k * hw + centre], (long long)(topk_pos[k * hw + centre] / w),
           (long long)(topk_pos[k * hw + centre] % w), topk_w[k * hw + centre]);

  /* A misuse returns a status and a message; nothing crashes. */
  p.patch = 4;
  if (lemmse_estimate(ctx, &p, &ya, &out) != LEMMSE_ERROR_INVALID_ARGUMENT) return 1;
  printf("even patch size refused: %s\n", lemmse_last_error());

  lemmse_context_destroy(ctx);
  free(clean), free(y), free(est), free(topk_w), free(topk_img), free(topk_pos);
  return p_out > p_in + 3.0 ? 0 : 1;
}
