// The C API (include/lemmse/lemmse.h) over the C++ library. Every entry point runs inside
// guard(): exceptions become status codes plus a thread-local message; none crosses the boundary.
#include "lemmse/lemmse.h"

#include <cmath>
#include <cstring>
#include <new>
#include <optional>
#include <string>

#include "lemmse/datasets.hpp"
#include "lemmse/device.hpp"
#include "lemmse/errors.hpp"
#include "lemmse/estimator.hpp"
#include "lemmse/operators.hpp"
#include "util/device_copy.hpp"

struct lemmse_context {
  lemmse::Backend backend = lemmse::Backend::automatic;
  int device = 0, threads = 0;
  void* stream = nullptr;
  lemmse::Images train;
  std::vector<std::int64_t> train_ids;
  lemmse::Compat compat = lemmse::Compat::consistent;
  std::optional<lemmse::ForwardOperator> A;
  lemmse::PreinverseKind pre = lemmse::PreinverseKind::identity;
  double eps = 1e-3;
  std::vector<double> filter;          // LEMMSE_PREINVERSE_FILTER: B's kernel, filter_h × filter_w
  std::size_t filter_h = 0, filter_w = 0;
  lemmse_progress_fn progress = nullptr;
  void* progress_user = nullptr;
};

namespace {

thread_local std::string g_error;

template <class F>
lemmse_status guard(F&& f) {
  try {
    f();
    g_error.clear();
    return LEMMSE_OK;
  } catch (const lemmse::InvalidArgument& e) {
    g_error = e.what();
    return LEMMSE_ERROR_INVALID_ARGUMENT;
  } catch (const lemmse::IoError& e) {
    g_error = e.what();
    return LEMMSE_ERROR_IO;
  } catch (const lemmse::FormatError& e) {
    g_error = e.what();
    return LEMMSE_ERROR_FORMAT;
  } catch (const lemmse::Unsupported& e) {
    g_error = e.what();
    return LEMMSE_ERROR_UNSUPPORTED;
  } catch (const lemmse::NumericalError& e) {
    g_error = e.what();
    return LEMMSE_ERROR_NUMERICAL;
  } catch (const lemmse::Cancelled& e) {
    g_error = e.what();
    return LEMMSE_ERROR_CANCELLED;
  } catch (const lemmse::ResourceError& e) {
    g_error = e.what();
    return LEMMSE_ERROR_OUT_OF_MEMORY;
  } catch (const std::bad_alloc&) {
    g_error = "out of memory";
    return LEMMSE_ERROR_OUT_OF_MEMORY;
  } catch (const lemmse::Error& e) {
    g_error = e.what();
    return LEMMSE_ERROR_INTERNAL;
  } catch (const std::exception& e) {
    g_error = std::string("internal error: ") + e.what();
    return LEMMSE_ERROR_INTERNAL;
  } catch (...) {
    g_error = "internal error: unknown exception";
    return LEMMSE_ERROR_INTERNAL;
  }
}

void require(bool ok, const std::string& msg) {
  if (!ok) throw lemmse::InvalidArgument(msg);
}

lemmse_context* need(lemmse_context* ctx) {
  require(ctx != nullptr, "the context is NULL");
  return ctx;
}

std::string str_or(const char* s, const char* dflt) { return s ? std::string(s) : std::string(dflt); }

lemmse::DatasetSpec dataset_spec(const char* dataset, const char* data_dir, const char* variant) {
  require(dataset != nullptr, "dataset is NULL");
  lemmse::DatasetSpec d;
  d.kind = lemmse::parse_dataset_kind(dataset);
  d.data_dir = str_or(data_dir, "");
  d.builtin_variant = str_or(variant, "gray28");
  return d;
}

// Reads a strided (possibly device-resident) array into fp64 NCHW images.
lemmse::Images to_images(const lemmse_array* a, const char* what, void* stream) {
  require(a != nullptr, std::string(what) + " is NULL");
  require(a->data != nullptr, std::string(what) + ": data is NULL");
  for (int i = 0; i < 4; ++i) require(a->shape[i] >= 0, std::string(what) + ": negative shape");
  require(a->shape[1] >= 1 && a->shape[2] >= 1 && a->shape[3] >= 1, std::string(what) + ": empty image shape");
  require(a->dtype == LEMMSE_UINT8 || a->dtype == LEMMSE_FLOAT32 || a->dtype == LEMMSE_FLOAT64, std::string(what) + ": unknown dtype");
  std::int64_t st[4];
  const bool contiguous = !a->strides[0] && !a->strides[1] && !a->strides[2] && !a->strides[3];
  st[3] = contiguous ? 1 : a->strides[3];
  st[2] = contiguous ? a->shape[3] : a->strides[2];
  st[1] = contiguous ? a->shape[2] * a->shape[3] : a->strides[1];
  st[0] = contiguous ? a->shape[1] * a->shape[2] * a->shape[3] : a->strides[0];
  std::int64_t lo = 0, hi = 0;  // element offsets spanned by the array
  for (int i = 0; i < 4; ++i) {
    if (a->shape[i] == 0) continue;
    const std::int64_t ext = st[i] * (a->shape[i] - 1);
    (ext < 0 ? lo : hi) += ext;
  }
  const std::size_t item = a->dtype == LEMMSE_UINT8 ? 1 : a->dtype == LEMMSE_FLOAT32 ? 4 : 8;
  const unsigned char* base = static_cast<const unsigned char*>(a->data);
  std::vector<unsigned char> staged;
  if (a->memory == LEMMSE_MEMORY_CUDA_DEVICE) {
    const std::size_t span = std::size_t(hi - lo + 1) * item;
    staged.resize(span);
    lemmse::copy_device_to_host(staged.data(), base + lo * std::int64_t(item), span, stream);
    base = staged.data() - lo * std::int64_t(item);
  } else {
    require(a->memory == LEMMSE_MEMORY_HOST, std::string(what) + ": unknown memory kind");
  }
  lemmse::Images im(std::size_t(a->shape[0]), lemmse::ImageShape{int(a->shape[1]), int(a->shape[2]), int(a->shape[3])});
  std::size_t o = 0;
  for (std::int64_t n = 0; n < a->shape[0]; ++n)
    for (std::int64_t c = 0; c < a->shape[1]; ++c)
      for (std::int64_t y = 0; y < a->shape[2]; ++y)
        for (std::int64_t x = 0; x < a->shape[3]; ++x) {
          const unsigned char* p = base + (n * st[0] + c * st[1] + y * st[2] + x * st[3]) * std::int64_t(item);
          double v;
          if (a->dtype == LEMMSE_UINT8) v = *p / 255.0;
          else if (a->dtype == LEMMSE_FLOAT32) { float f; std::memcpy(&f, p, 4); v = f; }
          else std::memcpy(&v, p, 8);
          require(std::isfinite(v), std::string(what) + ": NaN or infinite value at image " + std::to_string(n));
          im.data[o++] = v;
        }
  return im;
}

// H×W plane (shape {1,1,H,W}) as a flat vector; the same reader as images.
std::vector<double> to_plane(const lemmse_array* a, const char* what, std::size_t& rows, std::size_t& cols, void* stream) {
  require(a != nullptr, std::string(what) + " is NULL");
  require(a->shape[0] == 1 && a->shape[1] == 1, std::string(what) + " must have shape {1, 1, H, W}");
  lemmse::Images im = to_images(a, what, stream);
  rows = std::size_t(im.shape.h);
  cols = std::size_t(im.shape.w);
  return im.data;
}

void need_training(const lemmse_context* ctx) {
  require(ctx->train.n > 0, "no training set: call lemmse_set_training_dataset or lemmse_set_training_images first");
}

lemmse::PreInverse preinverse(const lemmse_context* ctx) {
  if (ctx->pre == lemmse::PreinverseKind::filter)
    return lemmse::make_filter_preinverse(*ctx->A, ctx->filter, ctx->filter_h, ctx->filter_w, ctx->compat);
  return lemmse::make_preinverse(ctx->pre, *ctx->A, ctx->compat, ctx->eps);
}

}  // namespace

extern "C" {

const char* lemmse_version(void) { return LEMMSE_VERSION_STRING; }
const char* lemmse_last_error(void) { return g_error.c_str(); }

const char* lemmse_status_string(lemmse_status s) {
  switch (s) {
    case LEMMSE_OK: return "ok";
    case LEMMSE_ERROR_INVALID_ARGUMENT: return "invalid argument";
    case LEMMSE_ERROR_IO: return "I/O error";
    case LEMMSE_ERROR_FORMAT: return "malformed file";
    case LEMMSE_ERROR_UNSUPPORTED: return "unsupported";
    case LEMMSE_ERROR_NUMERICAL: return "numerical error";
    case LEMMSE_ERROR_OUT_OF_MEMORY: return "out of memory";
    case LEMMSE_ERROR_CANCELLED: return "cancelled";
    case LEMMSE_ERROR_INTERNAL: return "internal error";
  }
  return "unknown status";
}

int lemmse_cuda_device_count(void) {
  try {
    return lemmse::cuda_device_count();
  } catch (...) {
    return 0;
  }
}

lemmse_status lemmse_context_create(lemmse_backend backend, int device, int threads, lemmse_context** out) {
  return guard([&] {
    require(out != nullptr, "out is NULL");
    *out = nullptr;
    require(backend >= LEMMSE_BACKEND_AUTO && backend <= LEMMSE_BACKEND_CUDA, "unknown backend");
    require(threads >= 0, "threads must be ≥ 0");
    require(device >= 0, "device must be ≥ 0");
    auto* ctx = new lemmse_context;
    ctx->backend = backend == LEMMSE_BACKEND_REFERENCE ? lemmse::Backend::reference
                   : backend == LEMMSE_BACKEND_CPU     ? lemmse::Backend::cpu
                   : backend == LEMMSE_BACKEND_CUDA    ? lemmse::Backend::cuda
                                                       : lemmse::Backend::automatic;
    ctx->device = device;
    ctx->threads = threads;
    *out = ctx;
  });
}

void lemmse_context_destroy(lemmse_context* ctx) { delete ctx; }

lemmse_status lemmse_context_set_stream(lemmse_context* ctx, void* cuda_stream) {
  return guard([&] { need(ctx)->stream = cuda_stream; });
}

lemmse_status lemmse_dataset_shape(const char* dataset, const char* data_dir, const char* variant, lemmse_split split,
                                   int64_t* count, int64_t* c, int64_t* h, int64_t* w) {
  return guard([&] {
    const lemmse::DatasetSpec d = dataset_spec(dataset, data_dir, variant);
    const lemmse::Split sp = split == LEMMSE_SPLIT_TRAIN ? lemmse::Split::train : lemmse::Split::test;
    const std::size_t n = lemmse::split_size(d, sp);
    const lemmse::Images one = lemmse::load_split(d, sp, 0, n ? 1 : 0);
    if (count) *count = std::int64_t(n);
    if (c) *c = one.shape.c;
    if (h) *h = one.shape.h;
    if (w) *w = one.shape.w;
  });
}

lemmse_status lemmse_dataset_read(const char* dataset, const char* data_dir, const char* variant, lemmse_split split,
                                  int64_t first, int64_t count, double* out) {
  return guard([&] {
    require(out != nullptr, "out is NULL");
    require(first >= 0 && count >= 0, "first and count must be ≥ 0");
    const lemmse::DatasetSpec d = dataset_spec(dataset, data_dir, variant);
    const lemmse::Images im = lemmse::load_split(d, split == LEMMSE_SPLIT_TRAIN ? lemmse::Split::train : lemmse::Split::test,
                                                 std::size_t(first), std::size_t(count));
    std::copy(im.data.begin(), im.data.end(), out);
  });
}

lemmse_status lemmse_set_training_dataset(lemmse_context* ctx, const char* dataset, const char* data_dir, const char* variant,
                                          int64_t count, const int64_t* indices, int64_t n_indices) {
  return guard([&] {
    need(ctx);
    lemmse::SelectionSpec s;
    s.test_count = 0;
    if (indices) {
      require(n_indices > 0, "n_indices must be > 0");
      s.train_index_list.assign(indices, indices + n_indices);
    } else {
      require(count > 0, "count must be > 0");
      s.train_count = std::size_t(count);
    }
    lemmse::LoadedData data = lemmse::load_data(dataset_spec(dataset, data_dir, variant), s);
    ctx->train = std::move(data.train);
    ctx->train_ids = std::move(data.train_ids);
    ctx->A.reset();
  });
}

lemmse_status lemmse_set_training_images(lemmse_context* ctx, const lemmse_array* images) {
  return guard([&] {
    need(ctx);
    lemmse::Images im = to_images(images, "training images", ctx->stream);
    require(im.n > 0, "the training set is empty");
    ctx->train = std::move(im);
    ctx->train_ids.resize(ctx->train.n);
    for (std::size_t i = 0; i < ctx->train.n; ++i) ctx->train_ids[i] = std::int64_t(i);
    ctx->A.reset();
  });
}

lemmse_status lemmse_training_shape(const lemmse_context* ctx, int64_t* n, int64_t* c, int64_t* h, int64_t* w) {
  return guard([&] {
    require(ctx != nullptr, "the context is NULL");
    if (n) *n = std::int64_t(ctx->train.n);
    if (c) *c = ctx->train.shape.c;
    if (h) *h = ctx->train.shape.h;
    if (w) *w = ctx->train.shape.w;
  });
}

lemmse_status lemmse_set_problem(lemmse_context* ctx, const char* problem, uint64_t mask_seed) {
  return guard([&] {
    need_training(need(ctx));
    require(problem != nullptr, "problem is NULL");
    ctx->A = lemmse::make_forward_operator(problem, ctx->train.shape, ctx->compat, mask_seed);
  });
}

lemmse_status lemmse_set_problem_mask(lemmse_context* ctx, const lemmse_array* mask) {
  return guard([&] {
    need_training(need(ctx));
    std::size_t r, c;
    const std::vector<double> m = to_plane(mask, "mask", r, c, ctx->stream);
    require(r == std::size_t(ctx->train.shape.h) && c == std::size_t(ctx->train.shape.w), "the mask must be H×W like the training images");
    ctx->A = lemmse::make_mask_operator(ctx->train.shape, m, "inpaint-mask");
  });
}

lemmse_status lemmse_set_problem_kernel(lemmse_context* ctx, const lemmse_array* kernel) {
  return guard([&] {
    need_training(need(ctx));
    std::size_t r, c;
    const std::vector<double> k = to_plane(kernel, "kernel", r, c, ctx->stream);
    ctx->A = lemmse::make_kernel_operator(ctx->train.shape, k, r, c, ctx->compat, "blur-kernel");
  });
}

lemmse_status lemmse_set_preinverse(lemmse_context* ctx, lemmse_preinverse kind, double eps) {
  return guard([&] {
    need(ctx);
    require(kind >= LEMMSE_PREINVERSE_IDENTITY && kind <= LEMMSE_PREINVERSE_INVERSE,
            kind == LEMMSE_PREINVERSE_FILTER ? "LEMMSE_PREINVERSE_FILTER is set with lemmse_set_preinverse_filter (it needs the kernel)"
                                             : "unknown pre-inverse");
    ctx->pre = static_cast<lemmse::PreinverseKind>(kind);
    ctx->eps = eps;
    if (ctx->A) preinverse(ctx);  // validate against the current problem now
  });
}

lemmse_status lemmse_set_preinverse_filter(lemmse_context* ctx, const lemmse_array* kernel) {
  return guard([&] {
    need(ctx);
    std::size_t r, c;
    std::vector<double> k = to_plane(kernel, "kernel", r, c, ctx->stream);
    if (ctx->A) lemmse::make_filter_preinverse(*ctx->A, k, r, c, ctx->compat);  // validate before keeping it
    ctx->filter = std::move(k);
    ctx->filter_h = r;
    ctx->filter_w = c;
    ctx->pre = lemmse::PreinverseKind::filter;
  });
}

lemmse_status lemmse_set_compat(lemmse_context* ctx, lemmse_compat compat) {
  return guard([&] {
    need(ctx);
    require(compat == LEMMSE_COMPAT_CONSISTENT || compat == LEMMSE_COMPAT_REFERENCE, "unknown compat mode");
    ctx->compat = compat == LEMMSE_COMPAT_REFERENCE ? lemmse::Compat::reference : lemmse::Compat::consistent;
  });
}

lemmse_status lemmse_simulate(lemmse_context* ctx, const lemmse_array* clean, double sigma, uint64_t seed,
                              uint64_t first_index, double* y_out) {
  return guard([&] {
    need_training(need(ctx));
    require(y_out != nullptr, "y_out is NULL");
    require(ctx->A.has_value(), "no problem set: call lemmse_set_problem first");
    const lemmse::Images x = to_images(clean, "clean images", ctx->stream);
    require(x.shape == ctx->train.shape, "clean images must have the training images' C×H×W");
    const lemmse::Images y = lemmse::make_measurements(x, *ctx->A, sigma, seed, first_index);
    std::copy(y.data.begin(), y.data.end(), y_out);
  });
}

void lemmse_params_init(lemmse_params* p) {
  if (!p) return;
  p->estimator = LEMMSE_LE_MMSE;
  p->patch = 5;
  p->sigma = 0.1;
  p->topk = 0;
  p->mask_tolerance = 1e-4;
}

lemmse_status lemmse_set_progress(lemmse_context* ctx, lemmse_progress_fn fn, void* user) {
  return guard([&] {
    need(ctx)->progress = fn;
    ctx->progress_user = user;
  });
}

lemmse_status lemmse_estimate(lemmse_context* ctx, const lemmse_params* params, const lemmse_array* y, lemmse_outputs* out) {
  return guard([&] {
    need_training(need(ctx));
    require(params != nullptr, "params is NULL");
    require(out != nullptr && out->estimate != nullptr, "outputs: estimate buffer is NULL");
    require(params->estimator >= LEMMSE_MMSE && params->estimator <= LEMMSE_L_MMSE, "unknown estimator");
    if (!ctx->A) ctx->A = lemmse::make_forward_operator("denoise", ctx->train.shape, ctx->compat);
    const lemmse::Images ys = to_images(y, "measurements", ctx->stream);
    lemmse::EstimatorSettings s;
    s.estimator = static_cast<lemmse::EstimatorKind>(params->estimator);
    s.patch = params->patch;
    s.sigma = params->sigma;
    s.compat = ctx->compat;
    s.topk = params->topk;
    s.mask_tolerance = params->mask_tolerance;
    s.log_density = out->log_density != nullptr;
    s.variance = out->variance != nullptr;
    s.effective_count = out->effective_count != nullptr;
    s.threads = ctx->threads;
    require(params->topk == 0 || (out->topk_log_weight || out->topk_weight || out->topk_image || out->topk_position),
            "topk > 0 but no top-k output buffer was given");
    if (ctx->progress) {
      lemmse_progress_fn fn = ctx->progress;
      void* user = ctx->progress_user;
      s.progress = [fn, user](double done, double total) { return fn(done, total, user) == 0; };
    }
    const lemmse::EstimatorOutputs r =
        lemmse::run_estimator(s, ctx->backend, ctx->train, ctx->train_ids, *ctx->A, preinverse(ctx), ys);
    std::copy(r.estimate.data.begin(), r.estimate.data.end(), out->estimate);
    if (out->log_density) std::copy(r.log_density.begin(), r.log_density.end(), out->log_density);
    if (out->variance) std::copy(r.variance.data.begin(), r.variance.data.end(), out->variance);
    if (out->effective_count) std::copy(r.effective_count.begin(), r.effective_count.end(), out->effective_count);
    if (out->topk_log_weight) std::copy(r.topk_log_weight.begin(), r.topk_log_weight.end(), out->topk_log_weight);
    if (out->topk_weight) std::copy(r.topk_weight.begin(), r.topk_weight.end(), out->topk_weight);
    if (out->topk_image) std::copy(r.topk_image.begin(), r.topk_image.end(), out->topk_image);
    if (out->topk_position) std::copy(r.topk_position.begin(), r.topk_position.end(), out->topk_position);
    out->seconds = r.seconds;
    out->pairs = r.pairs;
  });
}

}  // extern "C"
