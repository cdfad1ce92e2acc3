/*
 * lemmse C API (C99). Closed-form constrained MMSE estimators (MMSE, E-MMSE, LE-MMSE, L-MMSE) for
 * imaging inverse problems; conventions in docs/CONVENTIONS.md.
 *
 * Conventions of this API
 * - Every function returns a lemmse_status; on failure lemmse_last_error() gives a message for the
 *   calling thread (valid until that thread's next lemmse call). No C++ exception crosses it.
 * - Images are N×C×H×W arrays (lemmse_array): uint8 (0–255, divided by 255), float32 or float64
 *   (on the [0,1] scale), with arbitrary element strides, in host or CUDA device memory.
 * - Outputs go to caller-provided host buffers of float64 / int64, C-contiguous.
 * - A context holds the backend, the training set, the operator A, the pre-inverse B and the
 *   settings. It is not thread-safe: use one context per thread, or serialise the calls.
 *   Different contexts are independent.
 * - Backends: LEMMSE_BACKEND_REFERENCE (fp64 oracle); CPU (the vectorised CPU engine: float32
 *   distances, fp64 sums, top-k, within the accuracy bar of the oracle; the inverse filter in
 *   fp64 whitened form); CUDA (the CUDA engine, same bar; top-k tested in host emulation, not
 *   yet on a GPU; the inverse filter with l-mmse is refused with LEMMSE_ERROR_UNSUPPORTED, as
 *   is a machine without a device);
 *   AUTO (CUDA when a device is present and the request is covered and asks no top-k, else CPU).
 *   Device-memory arrays are accepted when the library is built with CUDA; they are copied to
 *   host memory (the CUDA engine then uploads what it needs).
 */
#ifndef LEMMSE_LEMMSE_H
#define LEMMSE_LEMMSE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define LEMMSE_API __declspec(dllexport)
#else
#define LEMMSE_API __attribute__((visibility("default")))
#endif

typedef enum lemmse_status {
  LEMMSE_OK = 0,
  LEMMSE_ERROR_INVALID_ARGUMENT = 1, /* bad parameter, shape, value (σ ≤ 0, even P, NaN, ...) */
  LEMMSE_ERROR_IO = 2,               /* a file could not be opened, read or written */
  LEMMSE_ERROR_FORMAT = 3,           /* a file is malformed (magic, size, header) */
  LEMMSE_ERROR_UNSUPPORTED = 4,      /* valid request this build/backend cannot serve */
  LEMMSE_ERROR_NUMERICAL = 5,        /* e.g. a patch covariance that is not positive definite */
  LEMMSE_ERROR_OUT_OF_MEMORY = 6,    /* the message names the memory needed and available */
  LEMMSE_ERROR_CANCELLED = 7,        /* the progress callback asked to stop */
  LEMMSE_ERROR_INTERNAL = 8          /* a bug: please report it with the message */
} lemmse_status;

typedef enum lemmse_backend {
  LEMMSE_BACKEND_AUTO = 0,
  LEMMSE_BACKEND_REFERENCE = 1,
  LEMMSE_BACKEND_CPU = 2,
  LEMMSE_BACKEND_CUDA = 3
} lemmse_backend;

typedef enum lemmse_dtype { LEMMSE_UINT8 = 0, LEMMSE_FLOAT32 = 1, LEMMSE_FLOAT64 = 2 } lemmse_dtype;
typedef enum lemmse_memory { LEMMSE_MEMORY_HOST = 0, LEMMSE_MEMORY_CUDA_DEVICE = 1 } lemmse_memory;

typedef enum lemmse_estimator {
  LEMMSE_MMSE = 0,   /* unconstrained posterior mean */
  LEMMSE_E_MMSE = 1, /* translation-equivariant: all circular shifts, whole image */
  LEMMSE_LE_MMSE = 2,/* local (P×P) and equivariant: the paper's estimator */
  LEMMSE_L_MMSE = 3  /* local, not equivariant: each pixel compares with its own position only */
} lemmse_estimator;

typedef enum lemmse_preinverse {
  LEMMSE_PREINVERSE_IDENTITY = 0, /* physics-agnostic */
  LEMMSE_PREINVERSE_MASK = 1,     /* binary mask (inpainting) */
  LEMMSE_PREINVERSE_EPS_MASK = 2, /* ε-inverse mask (inpainting) */
  LEMMSE_PREINVERSE_INVERSE = 3,  /* regularised inverse filter (blur) */
  LEMMSE_PREINVERSE_FILTER = 4    /* the caller's stationary B: set with lemmse_set_preinverse_filter */
} lemmse_preinverse;

typedef enum lemmse_compat { LEMMSE_COMPAT_CONSISTENT = 0, LEMMSE_COMPAT_REFERENCE = 1 } lemmse_compat;
typedef enum lemmse_split { LEMMSE_SPLIT_TRAIN = 0, LEMMSE_SPLIT_TEST = 1 } lemmse_split;

/* A strided N×C×H×W array. strides are in elements (not bytes); all zero means C-contiguous. */
typedef struct lemmse_array {
  const void* data;
  lemmse_dtype dtype;
  lemmse_memory memory;
  int64_t shape[4];   /* N, C, H, W */
  int64_t strides[4]; /* elements; {0,0,0,0} = contiguous NCHW */
} lemmse_array;

typedef struct lemmse_context lemmse_context;

/* ---- library ---- */
LEMMSE_API const char* lemmse_version(void);              /* "MAJOR.MINOR.PATCH" */
LEMMSE_API const char* lemmse_last_error(void);           /* thread-local; "" after success */
LEMMSE_API const char* lemmse_status_string(lemmse_status s);
LEMMSE_API int lemmse_cuda_device_count(void);            /* 0 without CUDA support or device */

/* ---- context ----
 * device: CUDA device ordinal (ignored by host backends). threads: CPU threads, 0 = all. */
LEMMSE_API lemmse_status lemmse_context_create(lemmse_backend backend, int device, int threads, lemmse_context** out);
LEMMSE_API void lemmse_context_destroy(lemmse_context* ctx); /* NULL is allowed */
/* CUDA stream (cudaStream_t) on which device work and copies of this context are ordered. */
LEMMSE_API lemmse_status lemmse_context_set_stream(lemmse_context* ctx, void* cuda_stream);

/* ---- datasets (files or the built-in generator) ----
 * dataset: "builtin", "mnist", "fashion-mnist", "cifar-10", "folder" or "npy"; data_dir as for
 * the CLI's --data-dir (NULL: the default, e.g. Debian's FashionMNIST folder); variant: the built-in
 * variant "gray28" or "rgb32" (NULL: gray28). */
LEMMSE_API lemmse_status lemmse_dataset_shape(const char* dataset, const char* data_dir, const char* variant,
                                              lemmse_split split, int64_t* count, int64_t* c, int64_t* h, int64_t* w);
/* Reads images first … first+count−1 of a split into out (count×C×H×W float64, [0,1]). */
LEMMSE_API lemmse_status lemmse_dataset_read(const char* dataset, const char* data_dir, const char* variant,
                                             lemmse_split split, int64_t first, int64_t count, double* out);

/* ---- training set ----
 * From a dataset: the first `count` training images, or (indices != NULL) the n_indices listed. */
LEMMSE_API lemmse_status lemmse_set_training_dataset(lemmse_context* ctx, const char* dataset, const char* data_dir,
                                                     const char* variant, int64_t count, const int64_t* indices,
                                                     int64_t n_indices);
/* From caller memory (copied; the caller may free its array after the call). */
LEMMSE_API lemmse_status lemmse_set_training_images(lemmse_context* ctx, const lemmse_array* images);
LEMMSE_API lemmse_status lemmse_training_shape(const lemmse_context* ctx, int64_t* n, int64_t* c, int64_t* h, int64_t* w);

/* ---- forward operator A and pre-inverse B (need the training set first: they take its size) ----
 * problem: "denoise", "inpaint-box:S", "inpaint-random:PCT", "inpaint-mask:FILE.npy",
 * "blur-gaussian:STD", "blur-disk:R", "blur-kernel:FILE.npy"; mask_seed seeds inpaint-random. */
LEMMSE_API lemmse_status lemmse_set_problem(lemmse_context* ctx, const char* problem, uint64_t mask_seed);
/* Inpainting with a caller mask: H×W values 0 (missing) or 1 (observed); shape {1,1,H,W}. */
LEMMSE_API lemmse_status lemmse_set_problem_mask(lemmse_context* ctx, const lemmse_array* mask);
/* Blur with a caller kernel (shape {1,1,kh,kw}, kh ≤ H, kw ≤ W), centre at (kh/2, kw/2), applied as
 * a circular cross-correlation. */
LEMMSE_API lemmse_status lemmse_set_problem_kernel(lemmse_context* ctx, const lemmse_array* kernel);
/* eps is used by LEMMSE_PREINVERSE_EPS_MASK only (the paper: 1e-3). */
LEMMSE_API lemmse_status lemmse_set_preinverse(lemmse_context* ctx, lemmse_preinverse kind, double eps);
/* The caller's stationary pre-inverse for a blur problem: B y = kernel ⋆ y (shape {1,1,kh,kw},
 * centre at (kh/2, kw/2), circular cross-correlation, as lemmse_set_problem_kernel). It must be
 * invertible (LEMMSE_ERROR_INVALID_ARGUMENT otherwise); physics-aware estimators then use the
 * whitened distance of its noise covariance. Selects LEMMSE_PREINVERSE_FILTER. */
LEMMSE_API lemmse_status lemmse_set_preinverse_filter(lemmse_context* ctx, const lemmse_array* kernel);
/* Consistent (default) or the authors' code's conventions (docs/CONVENTIONS.md). Set it before
 * lemmse_set_problem: operators built afterwards follow it. */
LEMMSE_API lemmse_status lemmse_set_compat(lemmse_context* ctx, lemmse_compat compat);

/* ---- measurements ----
 * y = A x + σ e for clean images x (N×C×H×W); image i uses the noise stream (seed, first_index+i).
 * y_out: N×C×H×W float64. */
LEMMSE_API lemmse_status lemmse_simulate(lemmse_context* ctx, const lemmse_array* clean, double sigma, uint64_t seed,
                                         uint64_t first_index, double* y_out);

/* ---- estimation ---- */
typedef struct lemmse_params {
  lemmse_estimator estimator; /* default LEMMSE_LE_MMSE */
  int patch;                  /* odd P, default 5 (le-mmse, l-mmse) */
  double sigma;               /* noise std on the [0,1] scale, > 0; default 0.1 */
  int topk;                   /* k largest log-weights per pixel, default 0 */
  double mask_tolerance;      /* τ of the binary-mask membership test, default 1e-4 */
} lemmse_params;
LEMMSE_API void lemmse_params_init(lemmse_params* p);

/* Caller buffers (host, float64 unless noted). NULL skips an output; estimate is required.
 * K = number of measurements, k = params.topk. */
typedef struct lemmse_outputs {
  double* estimate;         /* K×C×H×W posterior mean */
  double* log_density;      /* K×H×W   logsumexp of the log-weights */
  double* variance;         /* K×C×H×W posterior variance */
  double* effective_count;  /* K×H×W   1/Σw² */
  double* topk_log_weight;  /* K×k×H×W descending; −inf where fewer keys */
  double* topk_weight;      /* K×k×H×W normalised weights */
  int64_t* topk_image;      /* K×k×H×W training-image index (−1 where none) */
  int64_t* topk_position;   /* K×k×H×W key position i·W + j (−1 where none) */
  double seconds;           /* filled: estimation time */
  double pairs;             /* filled: (query pixel, key) pairs evaluated */
} lemmse_outputs;

/* Progress: called from the calling thread every ~0.2 s with (done, total) work units; return
 * nonzero to cancel (lemmse_estimate then returns LEMMSE_ERROR_CANCELLED). NULL disables it. */
typedef int (*lemmse_progress_fn)(double done, double total, void* user);
LEMMSE_API lemmse_status lemmse_set_progress(lemmse_context* ctx, lemmse_progress_fn fn, void* user);

/* Estimates x from measurements y (K×C×H×W, as measured: B is applied inside). */
LEMMSE_API lemmse_status lemmse_estimate(lemmse_context* ctx, const lemmse_params* params, const lemmse_array* y,
                                         lemmse_outputs* out);

#ifdef __cplusplus
}
#endif
#endif /* LEMMSE_LEMMSE_H */
