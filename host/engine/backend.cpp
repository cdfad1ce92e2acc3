// Backend selection and the public run_estimator entry point.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "engine/cpu_engine.hpp"
#include "engine/cpu_acc_state.hpp"
#include "engine/softmax_store.hpp"
#include "engine/whitened_cpu.hpp"
#include "engine/cuda_engine.hpp"
#include "engine/problem.hpp"
#include "engine/reference_engine.hpp"
#include "lemmse/device.hpp"
#include "lemmse/errors.hpp"
#include "lemmse/estimator.hpp"
#include "kernels/online_softmax.hpp"
#include "util/format.hpp"
#include "util/parallel.hpp"

namespace lemmse {

EstimatorKind parse_estimator(const std::string& s) {
  if (s == "mmse") return EstimatorKind::mmse;
  if (s == "e-mmse") return EstimatorKind::emmse;
  if (s == "le-mmse") return EstimatorKind::lemmse;
  if (s == "l-mmse") return EstimatorKind::lmmse;
  throw InvalidArgument("unknown --estimator '" + s + "' (mmse, e-mmse, le-mmse, l-mmse)");
}
const char* to_string(EstimatorKind k) {
  switch (k) {
    case EstimatorKind::mmse: return "mmse";
    case EstimatorKind::emmse: return "e-mmse";
    case EstimatorKind::lemmse: return "le-mmse";
    case EstimatorKind::lmmse: return "l-mmse";
  }
  return "?";
}
Backend parse_backend(const std::string& s) {
  if (s == "auto") return Backend::automatic;
  if (s == "reference") return Backend::reference;
  if (s == "cpu") return Backend::cpu;
  if (s == "cuda") return Backend::cuda;
  throw InvalidArgument("unknown --backend '" + s + "' (auto, reference, cpu, cuda)");
}
const char* to_string(Backend b) {
  switch (b) {
    case Backend::automatic: return "auto";
    case Backend::reference: return "reference";
    case Backend::cpu: return "cpu";
    case Backend::cuda: return "cuda";
  }
  return "?";
}

void validate_inputs(const EstimatorSettings& s, const Images& train, const Images& y) {
  if (train.n == 0) throw InvalidArgument("the training set is empty");
  if (y.n == 0) throw InvalidArgument("there are no measurements to estimate from");
  if (train.shape != y.shape)
    throw InvalidArgument("measurements are " + std::to_string(y.shape.c) + "×" + std::to_string(y.shape.h) + "×" +
                          std::to_string(y.shape.w) + " (C×H×W) but training images are " + std::to_string(train.shape.c) +
                          "×" + std::to_string(train.shape.h) + "×" + std::to_string(train.shape.w));
  if (train.shape.c < 1 || train.shape.c > kMaxChannels)
    throw InvalidArgument("images have " + std::to_string(train.shape.c) + " channels; 1 to " + std::to_string(kMaxChannels) + " are supported");
  if (!(s.sigma > 0) || !std::isfinite(s.sigma)) throw InvalidArgument("--sigma must be a finite number > 0");
  const bool local = s.estimator == EstimatorKind::lemmse || s.estimator == EstimatorKind::lmmse;
  if (local) {
    if (s.patch < 1 || s.patch % 2 == 0)
      throw InvalidArgument("--patch must be odd (the patch centre is a pixel); got " + std::to_string(s.patch));
    if (s.patch > train.shape.h || s.patch > train.shape.w)
      throw InvalidArgument("--patch " + std::to_string(s.patch) + " is larger than the " + std::to_string(train.shape.h) +
                            "×" + std::to_string(train.shape.w) + " images");
  }
  if (s.topk < 0) throw InvalidArgument("--topk must be ≥ 0");
  if (s.threads < 0) throw InvalidArgument("--threads must be ≥ 0");
  if (!(s.mask_tolerance >= 0)) throw InvalidArgument("mask tolerance must be ≥ 0");
  for (double v : y.data)
    if (!std::isfinite(v)) throw InvalidArgument("the measurements contain NaN or infinite values");
  for (double v : train.data)
    if (!std::isfinite(v)) throw InvalidArgument("the training images contain NaN or infinite values");
}

namespace {
// Host memory available for new allocations (Linux MemAvailable), or 0 when unknown.
double available_host_bytes() {
  std::FILE* f = std::fopen("/proc/meminfo", "r");
  if (!f) return 0;
  char line[256];
  double kb = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
  std::fclose(f);
  return kb * 1024.0;
}


// Fails early, naming both sizes, when the run cannot fit in host memory.
void check_host_memory(const EstimatorSettings& s, const Images& train, const Images& y, int threads, bool whitened, bool keys_copied) {
  const double HW = double(train.shape.pixels()), CHW = double(train.shape.size()), K = double(y.n);
  double need = keys_copied ? double(train.n) * CHW * 8.0 : 0.0;     // keys B A x_b (none when B A = I)
  need += K * CHW * 8.0 * (s.variance ? 2.0 : 1.0);                  // estimate, variance
  need += K * HW * 8.0 * ((s.log_density ? 1 : 0) + (s.effective_count ? 1 : 0));
  need += K * double(s.topk) * HW * 32.0;                            // top-k outputs
  need += std::min(K, double(std::max(threads, 1))) * HW * double(s.topk) * 24.0;  // top-k heaps in flight
  // CPU engines: one softmax state per (slice, pixel): the window engine's rows with float32
  // partial sums, or the whitened engine's SoftmaxAcc per pixel
  const double state = whitened ? HW * double(sizeof(SoftmaxAcc<double>)) : cpu::AccStore::bytes(std::size_t(HW), int(train.shape.c));
  // (the whitened engine holds a group of query images' states at once)
  const double group = whitened ? double(whitened_group_images(y.n, train.n, std::size_t(HW))) : 1.0;
  need += std::ceil(double(train.n) / 16.0) * state * group;
  if (whitened)  // whitened vectors (C·P² doubles per position): the group's queries, two key copies per thread
    need += (group + 2.0 * std::max(threads, 1)) * HW * double(train.shape.c) * double(s.patch) * double(s.patch) * 8.0;
  const double avail = available_host_bytes();
  if (avail > 0 && need > avail)
    throw ResourceError("this run needs about " + gib(need) + " of host memory but " + gib(avail) +
                        " is available (reduce --train-count, --test-count or --topk)");
}
// The inputs checked (shapes, labels, host memory) and the window problem built.
Problem checked_problem(const EstimatorSettings& s, const Images& train, const std::vector<std::int64_t>& train_ids,
                        const ForwardOperator& A, const PreInverse& B, const Images& y) {
  validate_inputs(s, train, y);
  if (train_ids.size() != train.n) throw InvalidArgument("train_ids must label every training image");
  if (A.h != train.shape.h || A.w != train.shape.w) throw InvalidArgument("the operator was built for another image size");
  const bool whitened = (B.kind == PreinverseKind::inverse || B.kind == PreinverseKind::filter) &&
                        (s.estimator == EstimatorKind::lemmse || s.estimator == EstimatorKind::lmmse);
  check_host_memory(s, train, y, resolve_threads(s.threads), whitened, !keys_are_train(s, A, B));
  return build_problem(s, train, A, B);
}
}  // namespace

EstimatorOutputs run_reference_rows(const EstimatorSettings& s, const Images& train, const std::vector<std::int64_t>& train_ids,
                                    const ForwardOperator& A, const PreInverse& B, const Images& y, const std::vector<int>& rows) {
  if (rows.empty()) throw InvalidArgument("no reference rows were given");
  std::vector<char> seen(std::size_t(std::max(train.shape.h, 0)), 0);
  for (int r : rows) {
    if (r < 0 || r >= train.shape.h)
      throw InvalidArgument("reference row " + std::to_string(r) + " is outside the images' rows 0 to " + std::to_string(train.shape.h - 1));
    if (seen[std::size_t(r)]++) throw InvalidArgument("reference row " + std::to_string(r) + " is listed twice");
  }
  const Problem p = checked_problem(s, train, train_ids, A, B, y);
  return run_reference(s, p, train, train_ids, B, y, &rows);
}

EstimatorOutputs run_estimator(const EstimatorSettings& s, Backend backend, const Images& train,
                               const std::vector<std::int64_t>& train_ids, const ForwardOperator& A,
                               const PreInverse& B, const Images& y) {
  const Problem p = checked_problem(s, train, train_ids, A, B, y);
  // cuda: the CUDA engine or a clear refusal. auto: the CUDA engine when a device is present and
  // it covers the request, else the fast CPU engines (window or whitened); --backend reference
  // asks for the fp64 reference. The CUDA engine's top-k is tested in host emulation only (no
  // device has run it yet), so auto keeps top-k on the CPU until the GPU tests have passed.
  std::string why;
  if (backend == Backend::cuda) {
    if (!cuda_engine_supports(s, p, &why)) throw Unsupported("--backend cuda: " + why + "; use --backend cpu or reference");
    return run_cuda_engine(s, p, train, train_ids, B, y);
  }
  if (backend == Backend::automatic && s.topk == 0 && cuda_engine_supports(s, p, nullptr)) return run_cuda_engine(s, p, train, train_ids, B, y);
  if (backend != Backend::reference && p.metric == Metric::whitened) return run_whitened_cpu(s, p, train, train_ids, B, y);
  if (backend != Backend::reference && cpu_engine_supports(s, p)) return run_cpu_engine(s, p, train, train_ids, B, y);
  return run_reference(s, p, train, train_ids, B, y);
}

}  // namespace lemmse
