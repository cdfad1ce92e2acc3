// `lemmse run`: load data, build A and B, measure (or read y), estimate, write outputs.
#include "cli/run_command.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "lemmse/metrics.hpp"
#include "lemmse/datasets.hpp"
#include "lemmse/errors.hpp"
#include "lemmse/estimator.hpp"
#include "lemmse/io.hpp"
#include "lemmse/operators.hpp"
#include "cli/output_set.hpp"
#include "cli/progress.hpp"
#include "cli/signals.hpp"

namespace lemmse {

void add_run_options(CLI::App& c, RunOptions& o) {
  c.add_option("--dataset", o.dataset, "builtin | mnist | fashion-mnist | cifar-10 | folder | npy")
      ->check(CLI::IsMember({"builtin", "mnist", "fashion-mnist", "cifar-10", "folder", "npy"}))
      ->capture_default_str();
  c.add_option("--data-dir", o.data_dir,
               "Dataset location: IDX folder (mnist, fashion-mnist; default for fashion-mnist: "
               "/usr/share/datasets/fashion-mnist), CIFAR-10 binary folder (*.bin or *.bin.gz), image folder, "
               "or the .npy file itself (N×C×H×W or N×H×W×C, uint8 0–255 or float 0–1)");
  c.add_option("--test-data", o.test_data,
               "folder/npy only: a separate pool of query images (default: the images not selected for training)");
  c.add_option("--builtin", o.builtin_variant, "Built-in dataset variant: gray28 (28×28 grey) or rgb32 (32×32 RGB)")
      ->check(CLI::IsMember({"gray28", "rgb32"}))
      ->capture_default_str();
  c.add_option("--split", o.split, "Split the query images come from (train or test)")
      ->check(CLI::IsMember({"train", "test"}))
      ->capture_default_str();
  auto* tc = c.add_option("--train-count", o.train_count, "Training set = the first N training images")->capture_default_str();
  c.add_option("--train-indices", o.train_indices, "Training set = these indices (.npy, 1-D integers) of the training split")
      ->excludes(tc);
  c.add_option("--test-count", o.test_count, "Number of query images (ignored with --measurement)")->capture_default_str();
  c.add_option("--test-start", o.test_start, "Index of the first query image in its split")->capture_default_str();
  c.add_option("--estimator", o.estimator, "mmse | e-mmse | le-mmse | l-mmse")
      ->check(CLI::IsMember({"mmse", "e-mmse", "le-mmse", "l-mmse"}))
      ->capture_default_str();
  c.add_option("--patch", o.patch, "Patch side P (odd; receptive field of le-mmse and l-mmse)")->capture_default_str();
  c.add_option("--problem", o.problem,
               "Forward operator A: denoise | inpaint-box:S | inpaint-random:PCT | inpaint-mask:FILE.npy | "
               "blur-gaussian:STD | blur-disk:R | blur-kernel:FILE.npy")
      ->capture_default_str();
  c.add_option("--preinverse", o.preinverse,
               "Pre-inverse B applied to y (physics-aware estimators): identity (physics-agnostic) | mask (binary "
               "mask, inpainting) | eps-mask (ε-inverse mask, inpainting) | inverse (inverse filter, blur) | filter "
               "(your own stationary B for a blur problem: --preinverse-kernel)")
      ->check(CLI::IsMember({"identity", "mask", "eps-mask", "inverse", "filter"}))
      ->capture_default_str();
  c.add_option("--preinverse-kernel", o.preinverse_kernel,
               "With --preinverse filter: B's correlation kernel as .npy (H×W, centre at (H/2, W/2), as blur-kernel); "
               "it must be invertible");
  c.add_option("--eps", o.eps, "ε of the eps-mask pre-inverse")->capture_default_str();
  c.add_option("--sigma", o.sigma, "Noise standard deviation σ on the [0,1] scale (> 0)")->capture_default_str();
  c.add_option("--measurement", o.measurement,
               "Use y from this .npy (N×C×H×W float) exactly instead of simulating it; no clean images then");
  c.add_option("--noise-seed", o.noise_seed, "Seed of the simulated Gaussian noise")->capture_default_str();
  c.add_option("--mask-seed", o.mask_seed, "Seed of inpaint-random (lemmse's generator, not torch-identical)")->capture_default_str();
  c.add_option("--topk", o.topk, "Write the K largest log-weights per pixel with their training image and position")
      ->capture_default_str();
  c.add_flag("--log-density", o.log_density, "Write log_density.npy (logsumexp of the log-weights per pixel)");
  c.add_flag("--variance", o.variance, "Write variance.npy (posterior variance per pixel and channel)");
  c.add_flag("--effective-count", o.effective_count, "Write effective_count.npy (1/Σw², effective number of keys)");
  c.add_option("--out", o.out, "Output directory")->capture_default_str();
  c.add_option("--backend", o.backend,
               "auto | reference (fp64 oracle) | cpu (vectorised engine: fp64 distances behind a float32 screen, "
               "float32 weights summed into fp64, top-k; the inverse filter in fp64 whitened form) | cuda (fused tiled kernels, top-k in the "
               "tiled kernel; the inverse filter for le-mmse, top-k included). auto = cuda when a device is present and the request "
               "is covered (top-k runs stay on cpu: the CUDA top-k has not run on a GPU yet), else cpu")
      ->check(CLI::IsMember({"auto", "reference", "cpu", "cuda"}))
      ->capture_default_str();
  c.add_option("--threads", o.threads, "CPU threads (0: all)")->capture_default_str();
  c.add_option("--compat", o.compat,
               "consistent (the mathematically consistent estimator, default) | reference (reproduce the authors' "
               "code where it departs: ε-mask κ = 1, binary-mask normaliser and all-missing rule, float32 kernels)")
      ->check(CLI::IsMember({"consistent", "reference"}))
      ->capture_default_str();
  c.add_option("--grid-rows", o.grid_rows, "Images shown in grid.png")->capture_default_str();
  c.add_option("--grid-scale", o.grid_scale, "Pixel magnification in grid.png")->check(CLI::Range(1, 32))->capture_default_str();
  c.add_flag("--quiet", o.quiet, "No progress output");
}

namespace {

std::vector<std::size_t> shape4(std::size_t n, int c, int h, int w) {
  return {n, std::size_t(c), std::size_t(h), std::size_t(w)};
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / double(v.size());
}

nlohmann::json finite_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

}  // namespace

void check_run_options(const RunOptions& o) {
  parse_estimator(o.estimator);
  parse_compat(o.compat);
  parse_backend(o.backend);
  parse_preinverse(o.preinverse);
  if ((o.preinverse == "filter") != !o.preinverse_kernel.empty())
    throw InvalidArgument("--preinverse filter and --preinverse-kernel FILE.npy go together");
  parse_dataset_kind(o.dataset);
  check_problem_spec(o.problem);
  if (!(o.sigma > 0) || !std::isfinite(o.sigma)) throw InvalidArgument("--sigma must be a finite number > 0");
  if (o.patch < 1 || o.patch % 2 == 0) throw InvalidArgument("--patch must be odd (the patch centre is a pixel); got " + std::to_string(o.patch));
  if (o.topk < 0) throw InvalidArgument("--topk must be ≥ 0");
  if (o.threads < 0) throw InvalidArgument("--threads must be ≥ 0");
  if (!(o.eps > 0 && o.eps <= 1)) throw InvalidArgument("--eps must be in (0, 1]");
  if (o.measurement.empty() && o.test_count == 0) throw InvalidArgument("--test-count must be ≥ 1");
}

int execute_run(const RunOptions& o) {
  check_run_options(o);
  const auto t0 = std::chrono::steady_clock::now();
  auto log = [&](const std::string& s) {
    if (!o.quiet) std::fprintf(stderr, "lemmse: %s\n", s.c_str());
  };

  EstimatorSettings s;
  s.estimator = parse_estimator(o.estimator);
  s.patch = o.patch;
  s.sigma = o.sigma;
  s.compat = parse_compat(o.compat);
  s.topk = o.topk;
  s.log_density = o.log_density;
  s.variance = o.variance;
  s.effective_count = o.effective_count;
  s.threads = o.threads;
  const Backend backend = parse_backend(o.backend);

  DatasetSpec d;
  d.kind = parse_dataset_kind(o.dataset);
  d.data_dir = o.data_dir;
  d.test_data = o.test_data;
  d.builtin_variant = o.builtin_variant;
  SelectionSpec sel;
  sel.train_count = o.train_count;
  sel.train_indices = o.train_indices;
  sel.split = o.split == "train" ? Split::train : Split::test;
  sel.test_start = o.test_start;
  sel.test_count = o.measurement.empty() ? o.test_count : 0;
  LoadedData data = load_data(d, sel);
  log("training set: " + std::to_string(data.train.n) + " images " + std::to_string(data.train.shape.c) + "×" +
      std::to_string(data.train.shape.h) + "×" + std::to_string(data.train.shape.w) + " from " + data.description);

  const ForwardOperator A = make_forward_operator(o.problem, data.train.shape, s.compat, o.mask_seed);
  const PreInverse B = o.preinverse == "filter" ? load_filter_preinverse(A, o.preinverse_kernel, s.compat)
                                                 : make_preinverse(parse_preinverse(o.preinverse), A, s.compat, o.eps);

  Images y;
  const bool have_clean = o.measurement.empty();
  if (have_clean) {
    y = make_measurements(data.queries, A, o.sigma, o.noise_seed, 0);
  } else {
    y = npy_to_images(read_npy(o.measurement), "'" + o.measurement + "'");
  }
  validate_inputs(s, data.train, y);

  std::filesystem::create_directories(o.out);
  ProgressReporter progress(std::string(to_string(s.estimator)) + " on " + std::to_string(y.n) + " image(s)", !o.quiet);
  s.progress = [&](double done, double total) {
    progress.update(done, total);
    return !interrupted();  // Ctrl-C: the engine stops at its next check, nothing is written
  };
  const EstimatorOutputs r = run_estimator(s, backend, data.train, data.train_ids, A, B, y);
  progress.finish();

  const ImageShape sh = y.shape;
  const std::string dir = o.out + "/";
  OutputSet outs(o.out);
  write_npy_f64(outs.path("estimate.npy"), shape4(y.n, sh.c, sh.h, sh.w), r.estimate.data);
  write_npy_f64(outs.path("measurement.npy"), shape4(y.n, sh.c, sh.h, sh.w), y.data);
  if (have_clean) write_npy_f64(outs.path("clean.npy"), shape4(y.n, sh.c, sh.h, sh.w), data.queries.data);
  if (s.log_density) write_npy_f64(outs.path("log_density.npy"), shape4(y.n, 1, sh.h, sh.w), r.log_density);
  if (s.variance) write_npy_f64(outs.path("variance.npy"), shape4(y.n, sh.c, sh.h, sh.w), r.variance.data);
  if (s.effective_count) write_npy_f64(outs.path("effective_count.npy"), shape4(y.n, 1, sh.h, sh.w), r.effective_count);
  if (s.topk > 0) {
    const auto shp = shape4(y.n, s.topk, sh.h, sh.w);
    write_npy_f64(outs.path("topk_log_weight.npy"), shp, r.topk_log_weight);
    write_npy_f64(outs.path("topk_weight.npy"), shp, r.topk_weight);
    write_npy_i64(outs.path("topk_image.npy"), shp, r.topk_image);
    write_npy_i64(outs.path("topk_position.npy"), shp, r.topk_position);
  }
  std::vector<const Images*> cols{&y, &r.estimate};
  if (have_clean) cols.push_back(&data.queries);
  write_png_grid(outs.path("grid.png"), cols, o.grid_rows, o.grid_scale);

  nlohmann::json m;
  m["estimator"] = o.estimator;
  m["problem"] = o.problem;
  m["preinverse"] = o.preinverse;
  if (!o.preinverse_kernel.empty()) m["preinverse_kernel"] = o.preinverse_kernel;
  m["compat"] = o.compat;
  m["sigma"] = o.sigma;
  m["patch"] = (s.estimator == EstimatorKind::lemmse || s.estimator == EstimatorKind::lmmse) ? nlohmann::json(o.patch) : nlohmann::json(nullptr);
  m["dataset"] = data.description;
  m["train_count"] = data.train.n;
  m["query_indices"] = data.query_ids;
  m["measurement_file"] = o.measurement.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.measurement);
  m["noise_seed"] = o.noise_seed;
  m["backend"] = to_string(r.backend);
  m["threads"] = o.threads;
  m["timing"] = {{"estimator_s", r.seconds},
                 {"ms_per_image", 1e3 * r.seconds / double(y.n)},
                 {"pairs", r.pairs},
                 {"pairs_per_s", r.seconds > 0 ? r.pairs / r.seconds : 0.0},
                 {"total_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}};
  if (r.backend == Backend::cuda) m["timing"]["device_kernels_s"] = r.device_seconds;  // CUDA events, kernels alone
  if (have_clean) {
    std::vector<double> pe, py, pd;
    for (std::size_t i = 0; i < y.n; ++i) {
      pe.push_back(psnr(data.queries.image(i), r.estimate.image(i), sh.size()));
      py.push_back(psnr(data.queries.image(i), y.image(i), sh.size()));
      pd.push_back(psnr_dynamic(data.queries.image(i), r.estimate.image(i), sh.size()));
    }
    nlohmann::json je = nlohmann::json::array(), jy = nlohmann::json::array(), jd = nlohmann::json::array();
    for (std::size_t i = 0; i < y.n; ++i) {
      je.push_back(finite_or_null(pe[i]));
      jy.push_back(finite_or_null(py[i]));
      jd.push_back(finite_or_null(pd[i]));
    }
    m["psnr"] = je;
    m["psnr_mean"] = finite_or_null(mean(pe));
    m["psnr_measurement"] = jy;
    m["psnr_measurement_mean"] = finite_or_null(mean(py));
    m["psnr_dynamic_range"] = jd;
    m["psnr_note"] = "psnr: data range 1; psnr_dynamic_range: range of the clean image (the paper's deepinv metric)";
    char line[200];
    std::snprintf(line, sizeof line, "PSNR: measurement %.2f dB -> estimate %.2f dB (mean over %zu images)", mean(py), mean(pe), y.n);
    log(line);
  }
  {
    std::ofstream f(outs.path("metrics.json"));
    f << m.dump(2) << "\n";
    if (!f) throw IoError("cannot write '" + dir + "metrics.json'");
  }
  outs.commit();
  char line[200];
  std::snprintf(line, sizeof line, "%.2f s on the %s backend (%.0f ms per image, %.3g pairs/s); outputs in %s", r.seconds,
                to_string(r.backend), 1e3 * r.seconds / double(y.n), r.seconds > 0 ? r.pairs / r.seconds : 0.0, o.out.c_str());
  log(line);
  return 0;
}

}  // namespace lemmse
