// The estimators (ESTIMATORS.md §5) and their side outputs.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lemmse/operators.hpp"
#include "lemmse/tensor.hpp"

namespace lemmse {

// mmse: unconstrained posterior mean; e-mmse: translation-equivariant (all circular shifts);
// le-mmse: local (P×P receptive field) and equivariant; l-mmse: local, not equivariant
// (each pixel only compares with training patches at its own position).
enum class EstimatorKind { mmse, emmse, lemmse, lmmse };
EstimatorKind parse_estimator(const std::string& s);
const char* to_string(EstimatorKind k);

enum class Backend { automatic, reference, cpu, cuda };
Backend parse_backend(const std::string& s);
const char* to_string(Backend b);

struct EstimatorSettings {
  EstimatorKind estimator = EstimatorKind::lemmse;
  int patch = 5;                 // P (odd); ignored by mmse and e-mmse (whole image)
  double sigma = 0.1;            // noise standard deviation on the [0,1] scale (> 0)
  Compat compat = Compat::consistent;
  int topk = 0;                  // keep the k largest log-weights per pixel (0: none)
  bool log_density = false;
  bool variance = false;
  bool effective_count = false;
  int threads = 0;               // 0: all hardware threads
  double mask_tolerance = 1e-4;  // τ of the binary-mask membership test (ESTIMATORS.md §5.6)
  // Called now and then with (work done, total work); return false to cancel (Error thrown).
  std::function<bool(double, double)> progress;
};

struct EstimatorOutputs {
  Images estimate;                         // K×C×H×W posterior mean
  std::vector<double> log_density;         // K×H×W  logsumexp of the log-weights (unnormalised)
  Images variance;                         // K×C×H×W posterior variance E[x²] − E[x]²
  std::vector<double> effective_count;     // K×H×W  1 / Σ w² (w: normalised weights)
  int topk = 0;
  std::vector<double> topk_log_weight;     // K×k×H×W, descending; −inf where fewer than k keys
  std::vector<double> topk_weight;         // K×k×H×W normalised weights exp(ℓ − log-density)
  std::vector<std::int64_t> topk_image;    // K×k×H×W index of the training image (−1 if none)
  std::vector<std::int64_t> topk_position; // K×k×H×W key position n = i·W + j (−1 if none)
  Backend backend = Backend::reference;
  double seconds = 0;                      // wall time of the engine (input preparation and copies included)
  double device_seconds = 0;               // CUDA: kernels alone (events); 0 on host backends
  double pairs = 0;                        // (query pixel, key) pairs evaluated
  std::string kernel;                      // CUDA: the kernel that ran ("band", "tiled", "whitened direct|dot|mma"); empty on host backends
};

// Runs an estimator on measurements y (K×C×H×W, as measured: B is applied inside) against the
// clean training images. train_ids labels the training images in the top-k output.
EstimatorOutputs run_estimator(const EstimatorSettings& s, Backend backend, const Images& train,
                               const std::vector<std::int64_t>& train_ids, const ForwardOperator& A,
                               const PreInverse& B, const Images& y);

// The fp64 reference on some query rows only: each listed row's outputs are the bits
// run_estimator(s, Backend::reference, …) gives there; the other rows' are NaN (top-k entries
// empty). For accuracy checks of runs whose full reference would take too long (lemmse_bench
// --reference-rows). rows: distinct, in [0, H); InvalidArgument otherwise.
EstimatorOutputs run_reference_rows(const EstimatorSettings& s, const Images& train, const std::vector<std::int64_t>& train_ids,
                                    const ForwardOperator& A, const PreInverse& B, const Images& y, const std::vector<int>& rows);

// Checks settings and shapes; throws InvalidArgument with a clear message.
void validate_inputs(const EstimatorSettings& s, const Images& train, const Images& y);

}  // namespace lemmse
