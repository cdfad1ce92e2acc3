// The C API: results equal the C++ engine's, strided/uint8 inputs, every misuse a status + message.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <thread>

#include "engine/engine_helpers.hpp"
#include "lemmse/datasets.hpp"
#include "lemmse/lemmse.h"

using namespace lemmse;

namespace {
lemmse_array host_array(const void* data, lemmse_dtype t, int64_t n, int64_t c, int64_t h, int64_t w) {
  lemmse_array a;
  std::memset(&a, 0, sizeof a);
  a.data = data;
  a.dtype = t;
  a.memory = LEMMSE_MEMORY_HOST;
  a.shape[0] = n, a.shape[1] = c, a.shape[2] = h, a.shape[3] = w;
  return a;
}
struct Ctx {
  lemmse_context* p = nullptr;
  Ctx() { REQUIRE(lemmse_context_create(LEMMSE_BACKEND_REFERENCE, 0, 2, &p) == LEMMSE_OK); }
  ~Ctx() { lemmse_context_destroy(p); }
};
}  // namespace

TEST_CASE("C API estimates equal the C++ engine's, with every side output", "[capi]") {
  Images train = lemmse_test::random_images(4, ImageShape{3, 6, 7}, 1);
  Images y = lemmse_test::random_images(2, ImageShape{3, 6, 7}, 2);
  Ctx ctx;
  lemmse_array ta = host_array(train.data.data(), LEMMSE_FLOAT64, 4, 3, 6, 7);
  REQUIRE(lemmse_set_training_images(ctx.p, &ta) == LEMMSE_OK);
  REQUIRE(lemmse_set_problem(ctx.p, "inpaint-box:3", 0) == LEMMSE_OK);
  REQUIRE(lemmse_set_preinverse(ctx.p, LEMMSE_PREINVERSE_EPS_MASK, 1e-3) == LEMMSE_OK);
  lemmse_params p;
  lemmse_params_init(&p);
  p.patch = 3;
  p.sigma = 0.15;
  p.topk = 2;
  const std::size_t n = y.data.size(), hw = 42;
  std::vector<double> est(n), var(n), ld(2 * hw), ec(2 * hw), tw(2 * 2 * hw), tl(2 * 2 * hw);
  std::vector<int64_t> ti(2 * 2 * hw), tp(2 * 2 * hw);
  lemmse_outputs out;
  std::memset(&out, 0, sizeof out);
  out.estimate = est.data(), out.variance = var.data(), out.log_density = ld.data(), out.effective_count = ec.data();
  out.topk_weight = tw.data(), out.topk_log_weight = tl.data(), out.topk_image = ti.data(), out.topk_position = tp.data();
  lemmse_array ya = host_array(y.data.data(), LEMMSE_FLOAT64, 2, 3, 6, 7);
  REQUIRE(lemmse_estimate(ctx.p, &p, &ya, &out) == LEMMSE_OK);
  CHECK(std::string(lemmse_last_error()).empty());
  CHECK(out.pairs == 2.0 * 42 * 4 * 42);

  ForwardOperator A = make_forward_operator("inpaint-box:3", train.shape, Compat::consistent);
  PreInverse B = make_preinverse(PreinverseKind::eps_mask, A, Compat::consistent);
  EstimatorSettings s;
  s.patch = 3;
  s.sigma = 0.15;
  s.topk = 2;
  s.variance = s.log_density = s.effective_count = true;
  EstimatorOutputs r = lemmse_test::estimate(s, train, A, B, y);
  CHECK(est == r.estimate.data);
  CHECK(var == r.variance.data);
  CHECK(ld == r.log_density);
  CHECK(ec == r.effective_count);
  CHECK(ti == r.topk_image);
  CHECK(tp == r.topk_position);
}

TEST_CASE("C API: a caller's stationary pre-inverse filter", "[capi][whitened]") {
  Images train = lemmse_test::random_images(5, ImageShape{2, 6, 7}, 11);
  Images y = lemmse_test::random_images(1, ImageShape{2, 6, 7}, 12);
  Ctx ctx;
  lemmse_array ta = host_array(train.data.data(), LEMMSE_FLOAT64, 5, 2, 6, 7);
  REQUIRE(lemmse_set_training_images(ctx.p, &ta) == LEMMSE_OK);
  REQUIRE(lemmse_set_problem(ctx.p, "blur-gaussian:1", 0) == LEMMSE_OK);
  // the filter kind needs its kernel: refused through lemmse_set_preinverse
  CHECK(lemmse_set_preinverse(ctx.p, LEMMSE_PREINVERSE_FILTER, 0) == LEMMSE_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(lemmse_last_error()).find("lemmse_set_preinverse_filter") != std::string::npos);
  const std::vector<double> singular{-1, 1};
  lemmse_array sa = host_array(singular.data(), LEMMSE_FLOAT64, 1, 1, 1, 2);
  CHECK(lemmse_set_preinverse_filter(ctx.p, &sa) == LEMMSE_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(lemmse_last_error()).find("not invertible") != std::string::npos);
  const std::vector<double> k{0, 1, 0, 1, 8, 1, 0, 1, 0};
  lemmse_array ka = host_array(k.data(), LEMMSE_FLOAT64, 1, 1, 3, 3);
  REQUIRE(lemmse_set_preinverse_filter(ctx.p, &ka) == LEMMSE_OK);
  lemmse_params p;
  lemmse_params_init(&p);
  p.patch = 3;
  p.sigma = 0.2;
  std::vector<double> est(y.data.size());
  lemmse_outputs out;
  std::memset(&out, 0, sizeof out);
  out.estimate = est.data();
  lemmse_array ya = host_array(y.data.data(), LEMMSE_FLOAT64, 1, 2, 6, 7);
  REQUIRE(lemmse_estimate(ctx.p, &p, &ya, &out) == LEMMSE_OK);

  ForwardOperator A = make_forward_operator("blur-gaussian:1", train.shape, Compat::consistent);
  PreInverse B = make_filter_preinverse(A, k, 3, 3, Compat::consistent);
  EstimatorSettings s;
  s.patch = 3;
  s.sigma = 0.2;
  CHECK(est == lemmse_test::estimate(s, train, A, B, y).estimate.data);
}

TEST_CASE("C API reads strided float32 and uint8 arrays", "[capi]") {
  // NHWC uint8 training images described with strides, and a float32 measurement.
  const int N = 3, C = 3, H = 5, W = 5;
  std::vector<std::uint8_t> nhwc(N * H * W * C);
  for (std::size_t i = 0; i < nhwc.size(); ++i) nhwc[i] = std::uint8_t((i * 29) % 256);
  lemmse_array ta = host_array(nhwc.data(), LEMMSE_UINT8, N, C, H, W);
  ta.strides[0] = H * W * C, ta.strides[1] = 1, ta.strides[2] = W * C, ta.strides[3] = C;
  Images same(N, ImageShape{C, H, W});
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c)
      for (int i = 0; i < H * W; ++i) same.image(n)[c * H * W + i] = nhwc[(n * H * W + i) * C + c] / 255.0;
  Images yd = lemmse_test::random_images(1, ImageShape{C, H, W}, 5);
  std::vector<float> yf(yd.data.begin(), yd.data.end());
  Ctx a, b;
  lemmse_array sa = host_array(same.data.data(), LEMMSE_FLOAT64, N, C, H, W);
  REQUIRE(lemmse_set_training_images(a.p, &ta) == LEMMSE_OK);
  REQUIRE(lemmse_set_training_images(b.p, &sa) == LEMMSE_OK);
  lemmse_params p;
  lemmse_params_init(&p);
  p.patch = 3;
  std::vector<double> e1(75), e2(75);
  lemmse_outputs o1{}, o2{};
  o1.estimate = e1.data();
  o2.estimate = e2.data();
  lemmse_array y32 = host_array(yf.data(), LEMMSE_FLOAT32, 1, C, H, W);
  REQUIRE(lemmse_estimate(a.p, &p, &y32, &o1) == LEMMSE_OK);
  REQUIRE(lemmse_estimate(b.p, &p, &y32, &o2) == LEMMSE_OK);
  CHECK(e1 == e2);
}

TEST_CASE("C API misuse returns a status and a thread-local message", "[capi][errors]") {
  CHECK(lemmse_context_create(LEMMSE_BACKEND_AUTO, 0, 0, nullptr) == LEMMSE_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(lemmse_last_error()).find("NULL") != std::string::npos);
  Ctx ctx;
  lemmse_params p;
  lemmse_params_init(&p);
  double buf[16];
  lemmse_outputs out{};
  out.estimate = buf;
  std::vector<double> y(4, 0.5);
  lemmse_array ya = host_array(y.data(), LEMMSE_FLOAT64, 1, 1, 2, 2);
  CHECK(lemmse_estimate(ctx.p, &p, &ya, &out) == LEMMSE_ERROR_INVALID_ARGUMENT);  // no training set
  CHECK(std::string(lemmse_last_error()).find("no training set") != std::string::npos);
  CHECK(lemmse_set_training_dataset(ctx.p, "nope", nullptr, nullptr, 5, nullptr, 0) == LEMMSE_ERROR_INVALID_ARGUMENT);
  CHECK(lemmse_set_training_dataset(ctx.p, "mnist", "/nonexistent", nullptr, 5, nullptr, 0) == LEMMSE_ERROR_IO);
  REQUIRE(lemmse_set_training_dataset(ctx.p, "builtin", nullptr, "gray28", 3, nullptr, 0) == LEMMSE_OK);
  CHECK(lemmse_set_problem(ctx.p, "blur-gaussian:-1", 0) == LEMMSE_ERROR_INVALID_ARGUMENT);
  CHECK(lemmse_set_problem(ctx.p, "inpaint-mask:/nonexistent.npy", 0) == LEMMSE_ERROR_IO);
  REQUIRE(lemmse_set_problem(ctx.p, "denoise", 0) == LEMMSE_OK);
  CHECK(lemmse_estimate(ctx.p, &p, &ya, &out) == LEMMSE_ERROR_INVALID_ARGUMENT);  // 2×2 vs 28×28
  CHECK(std::string(lemmse_last_error()).find("training images are") != std::string::npos);
  y[0] = NAN;
  lemmse_array yn = host_array(y.data(), LEMMSE_FLOAT64, 1, 1, 2, 2);
  CHECK(lemmse_estimate(ctx.p, &p, &yn, &out) == LEMMSE_ERROR_INVALID_ARGUMENT);
  lemmse_array dev = ya;
  dev.memory = LEMMSE_MEMORY_CUDA_DEVICE;
  if (lemmse_cuda_device_count() == 0) CHECK(lemmse_estimate(ctx.p, &p, &dev, &out) != LEMMSE_OK);
  lemmse_context* cc = nullptr;
  REQUIRE(lemmse_context_create(LEMMSE_BACKEND_CUDA, 0, 0, &cc) == LEMMSE_OK);
  REQUIRE(lemmse_set_training_dataset(cc, "builtin", nullptr, "gray28", 2, nullptr, 0) == LEMMSE_OK);
  std::vector<double> y28(784, 0.5), e28(784), k28(784);
  lemmse_array y28a = host_array(y28.data(), LEMMSE_FLOAT64, 1, 1, 28, 28);
  lemmse_outputs o28{};
  o28.estimate = e28.data();
  if (lemmse_cuda_device_count() == 0) CHECK(lemmse_estimate(cc, &p, &y28a, &o28) == LEMMSE_ERROR_UNSUPPORTED);
  lemmse_params pk = p;  // top-k on a CUDA context: refused without a device, served with one
  pk.topk = 1;
  o28.topk_log_weight = k28.data();
  const int rk = lemmse_estimate(cc, &pk, &y28a, &o28);
  if (lemmse_cuda_device_count() == 0) {
    CHECK(rk == LEMMSE_ERROR_UNSUPPORTED);
  } else {
    CHECK(rk == LEMMSE_OK);
    CHECK(std::isfinite(k28[0]));
  }
  lemmse_context_destroy(cc);
  // Messages are per thread: another thread's success does not clear this thread's message.
  CHECK(lemmse_set_problem(ctx.p, "bogus", 0) == LEMMSE_ERROR_INVALID_ARGUMENT);
  std::thread([] { CHECK(std::string(lemmse_version()).size() > 0); lemmse_params_init(nullptr); }).join();
  CHECK(std::string(lemmse_last_error()).find("bogus") != std::string::npos);
  CHECK(std::string(lemmse_status_string(LEMMSE_ERROR_FORMAT)) == "malformed file");
}

TEST_CASE("C API progress callback reports and cancels", "[capi]") {
  Ctx ctx;
  REQUIRE(lemmse_set_training_dataset(ctx.p, "builtin", nullptr, "gray28", 400, nullptr, 0) == LEMMSE_OK);
  std::vector<double> y(784), e(784);
  REQUIRE(lemmse_dataset_read("builtin", nullptr, "gray28", LEMMSE_SPLIT_TEST, 0, 1, y.data()) == LEMMSE_OK);
  struct State {
    int calls = 0;
  } st;
  auto cb = [](double done, double total, void* u) -> int {
    auto* s = static_cast<State*>(u);
    ++s->calls;
    return done >= 0 && total > 0 ? 1 : 0;  // cancel at the first report
  };
  REQUIRE(lemmse_set_progress(ctx.p, cb, &st) == LEMMSE_OK);
  lemmse_params p;
  lemmse_params_init(&p);
  lemmse_outputs out{};
  out.estimate = e.data();
  lemmse_array ya = host_array(y.data(), LEMMSE_FLOAT64, 1, 1, 28, 28);
  CHECK(lemmse_estimate(ctx.p, &p, &ya, &out) == LEMMSE_ERROR_CANCELLED);
  CHECK(st.calls >= 1);
  int64_t count = 0, c = 0, h = 0, w = 0;
  REQUIRE(lemmse_dataset_shape("builtin", nullptr, "rgb32", LEMMSE_SPLIT_TEST, &count, &c, &h, &w) == LEMMSE_OK);
  CHECK(count == 10000);
  CHECK(c == 3);
  CHECK(h == 32);
}
