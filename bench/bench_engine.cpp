// lemmse_bench: times an estimator on any backend over a grid of patch sizes and noise levels,
// checks each fast result against the fp64 reference (PSNR, DESIGN.md §5 bar) and reports pairs/s
// and ms per image as a table and JSON. Exit status 1 when a result misses the accuracy bar.
//   lemmse_bench --dataset fashion-mnist --train-count 1000 --patch 3,5,7,11,17 --sigma 0.05,0.2
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "lemmse/datasets.hpp"
#include "lemmse/errors.hpp"
#include "lemmse/estimator.hpp"
#include "lemmse/io.hpp"
#include "lemmse/metrics.hpp"
#include "lemmse/operators.hpp"

using namespace lemmse;

namespace {
// n query rows spread evenly over H (the middle of n equal bands); empty (every row) when n is 0 or
// at least H.
std::vector<int> spread_rows(int n, int H) {
  std::vector<int> rows;
  if (n > 0 && n < H)
    for (int i = 0; i < n; ++i) rows.push_back(int((2L * i + 1) * H / (2L * n)));
  return rows;
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lemmse_bench: speed and accuracy of the engines against the fp64 reference"};
  std::string dataset = "builtin", data_dir, variant = "gray28", estimator = "le-mmse", problem = "denoise",
              preinverse = "identity", backend = "cpu", json_path;
  std::size_t train_count = 1000, test_count = 1;
  std::vector<int> patches{5};
  std::vector<double> sigmas{0.1};
  int repeat = 3, threads = 0, topk = 0, reference_rows = 0;
  bool no_reference = false, train_from_test = false;
  std::string dump_dir;
  app.add_option("--dataset", dataset, "builtin | mnist | fashion-mnist | cifar-10 | folder | npy")->capture_default_str();
  app.add_option("--data-dir", data_dir, "dataset location (as lemmse run)");
  app.add_option("--builtin", variant, "gray28 | rgb32")->capture_default_str();
  app.add_option("--train-count", train_count, "training images")->capture_default_str();
  app.add_option("--test-count", test_count, "query images (test split)")->capture_default_str();
  app.add_option("--estimator", estimator, "mmse | e-mmse | le-mmse | l-mmse")->capture_default_str();
  app.add_option("--problem", problem, "as lemmse run")->capture_default_str();
  app.add_option("--preinverse", preinverse, "as lemmse run")->capture_default_str();
  app.add_option("--patch", patches, "patch sizes, comma-separated")->delimiter(',')->capture_default_str();
  app.add_option("--sigma", sigmas, "noise levels, comma-separated")->delimiter(',')->capture_default_str();
  app.add_option("--backend", backend, "backend timed: cpu | reference | cuda")->capture_default_str();
  app.add_option("--repeat", repeat, "timed runs (the median is reported)")->capture_default_str();
  app.add_option("--threads", threads, "CPU threads (0: all)")->capture_default_str();
  app.add_option("--topk", topk, "also keep the K best keys per pixel (timed with the rest; the share of pixels whose best key "
                                 "matches the reference's is reported)")->capture_default_str();
  app.add_option("--json", json_path, "write the results as JSON here");
  app.add_flag("--no-reference", no_reference, "skip the fp64 reference (no accuracy column)");
  app.add_option("--reference-rows", reference_rows,
                 "run the fp64 reference on this many query rows, spread evenly over the image, and measure the accuracy "
                 "there (0: every row); for runs whose full reference would take too long")
      ->check(CLI::Range(0, 1 << 20))
      ->capture_default_str();
  app.add_flag("--train-from-test", train_from_test,
               "train on the first --train-count images of the test split and query the training split (e.g. the "
               "shared CIFAR-10 copy: 10,000 lossless test images, 4,000 training images)");
  app.add_option("--dump-dir", dump_dir, "write each row's measurements and estimate as .npy here (for bench/torch_baseline.py)");
  CLI11_PARSE(app, argc, argv);
  try {
    DatasetSpec d;
    d.kind = parse_dataset_kind(dataset);
    d.data_dir = data_dir;
    d.builtin_variant = variant;
    SelectionSpec sel;
    sel.train_count = train_count;
    sel.test_count = test_count;
    LoadedData data;
    if (train_from_test) {
      data.train = load_split(d, Split::test, 0, train_count);
      data.queries = load_split(d, Split::train, 0, test_count);
      data.train_ids.resize(data.train.n);
      for (std::size_t i = 0; i < data.train.n; ++i) data.train_ids[i] = std::int64_t(i);
      data.description = std::string(to_string(d.kind)) + " (training set: test split; queries: training split)";
    } else {
      data = load_data(d, sel);
    }
    const Backend be = parse_backend(backend);
    const int nthreads = threads ? threads : int(std::max(1u, std::thread::hardware_concurrency()));
    if (!dump_dir.empty()) {
      std::filesystem::create_directories(dump_dir);
      const ImageShape& sh = data.train.shape;
      write_npy_f64(dump_dir + "/train.npy", {data.train.n, std::size_t(sh.c), std::size_t(sh.h), std::size_t(sh.w)}, data.train.data);
    }
    nlohmann::json rows = nlohmann::json::array();
    bool ok = true;
    std::printf("%-8s %-10s %-9s %3s %7s %10s %10s %10s %12s %10s %10s\n", "estim.", "problem", "B", "P", "sigma", "ms/image",
                "kernel ms", "ref ms/img", "pairs/s", "speed-up", "PSNR(ref)");
    for (int P : patches)
      for (double sigma : sigmas) {
        EstimatorSettings s;
        s.estimator = parse_estimator(estimator);
        s.patch = P;
        s.sigma = sigma;
        s.threads = threads;
        s.topk = topk;
        const ForwardOperator A = make_forward_operator(problem, data.train.shape, s.compat);
        const PreInverse B = make_preinverse(parse_preinverse(preinverse), A, s.compat);
        const Images y = make_measurements(data.queries, A, sigma, 0);
        std::vector<double> times, dev_times;
        EstimatorOutputs fast;
        for (int r = 0; r < std::max(1, repeat); ++r) {
          fast = run_estimator(s, be, data.train, data.train_ids, A, B, y);
          times.push_back(fast.seconds);
          dev_times.push_back(fast.device_seconds);
        }
        std::sort(times.begin(), times.end());
        const double t = times[times.size() / 2];
        std::sort(dev_times.begin(), dev_times.end());
        const double td = dev_times[dev_times.size() / 2];  // kernels alone (CUDA); 0 on host backends
        if (!dump_dir.empty()) {
          const std::string tag = dump_dir + "/" + estimator + "_P" + std::to_string(P) + "_s" + std::to_string(sigma);
          const std::vector<std::size_t> shp{y.n, std::size_t(y.shape.c), std::size_t(y.shape.h), std::size_t(y.shape.w)};
          write_npy_f64(tag + "_y.npy", shp, y.data);
          write_npy_f64(tag + "_estimate.npy", shp, fast.estimate.data);
          if (B.kind == PreinverseKind::inverse) {  // what a whitened baseline needs: v = B y, keys B A x, R
            write_npy_f64(tag + "_v.npy", shp, B.apply(y).data);
            const Images keys = B.apply(A.apply(data.train));
            write_npy_f64(tag + "_keys.npy", {keys.n, std::size_t(keys.shape.c), std::size_t(keys.shape.h), std::size_t(keys.shape.w)}, keys.data);
            write_npy_f64(tag + "_autocorr.npy", {std::size_t(y.shape.h), std::size_t(y.shape.w)}, B.noise_autocorr);
          }
        }
        double acc = NAN, ref_s = NAN, top1 = NAN;
        // The reference on every row, or on `ref_rows` rows spread evenly (the accuracy measured
        // on those rows; no speed-up reported: one-row units cost more per row than whole images).
        const int H = y.shape.h, W = y.shape.w;
        const std::vector<int> ref_rows = spread_rows(reference_rows, H);
        if (!no_reference) {
          const EstimatorOutputs ref = ref_rows.empty() ? run_estimator(s, Backend::reference, data.train, data.train_ids, A, B, y)
                                                        : run_reference_rows(s, data.train, data.train_ids, A, B, y, ref_rows);
          ref_s = ref.seconds;
          acc = INFINITY;
          const std::size_t HW = y.shape.pixels();
          std::vector<std::size_t> pixels;  // the pixels the reference evaluated
          for (int r = 0; r < H; ++r)
            if (ref_rows.empty() || std::find(ref_rows.begin(), ref_rows.end(), r) != ref_rows.end())
              for (int j = 0; j < W; ++j) pixels.push_back(std::size_t(r) * std::size_t(W) + std::size_t(j));
          for (std::size_t i = 0; i < y.n; ++i) {
            std::vector<double> a, b;
            for (int c = 0; c < y.shape.c; ++c)
              for (std::size_t m : pixels) {
                a.push_back(ref.estimate.image(i)[std::size_t(c) * HW + m]);
                b.push_back(fast.estimate.image(i)[std::size_t(c) * HW + m]);
              }
            acc = std::min(acc, psnr(a.data(), b.data(), a.size()));
          }
          if (topk > 0) {  // entry 0 of image i, pixel m sits at (i·k)·HW + m
            std::size_t same = 0;
            for (std::size_t i = 0; i < y.n; ++i)
              for (std::size_t m : pixels) {
                const std::size_t o = i * std::size_t(topk) * HW + m;
                same += ref.topk_image[o] == fast.topk_image[o] && ref.topk_position[o] == fast.topk_position[o];
              }
            top1 = double(same) / double(y.n * pixels.size());
          }
          const double bar = sigma < 0.005 ? 80.0 : 100.0;
          if (acc < bar) ok = false;
        }
        const double pps = fast.pairs / (td > 0 ? td : t);  // kernel rate on the GPU, wall rate on the CPU
        std::printf("%-8s %-10s %-9s %3d %7g %10.1f %10.2f %10.1f %12.3g %9.2fx %10.1f\n", estimator.c_str(), problem.c_str(),
                    preinverse.c_str(), P, sigma, 1e3 * t / double(y.n), 1e3 * td / double(y.n), 1e3 * ref_s / double(y.n), pps,
                    ref_rows.empty() ? ref_s / t : NAN, acc);
        if (!no_reference && !ref_rows.empty())
          std::printf("    reference on %zu of %d rows (accuracy there; ref ms/img: those rows' time)\n", ref_rows.size(), H);
        if (topk > 0 && !std::isnan(top1)) std::printf("    top-%d: best key as the reference's at %.4f %% of pixels\n", topk, 100 * top1);
        rows.push_back({{"estimator", estimator}, {"problem", problem}, {"preinverse", preinverse}, {"patch", P},
                        {"sigma", sigma}, {"backend", to_string(fast.backend)}, {"median_s", t},
                        {"ms_per_image", 1e3 * t / double(y.n)},
                        {"tile_shifts", std::getenv("LEMMSE_TILE_SHIFTS") ? std::getenv("LEMMSE_TILE_SHIFTS") : "auto"},
                        {"kernel", fast.kernel}, {"topk", topk},
                        {"top1_match", std::isnan(top1) ? nlohmann::json(nullptr) : nlohmann::json(top1)},
                        {"kernel_ms_per_image", 1e3 * td / double(y.n)}, {"pairs", fast.pairs}, {"pairs_per_s", pps},
                        {"threads", nthreads}, {"reference_s", std::isnan(ref_s) ? nlohmann::json(nullptr) : nlohmann::json(ref_s)},
                        {"reference_rows", no_reference ? nlohmann::json(nullptr) : nlohmann::json(ref_rows.empty() ? std::size_t(H) : ref_rows.size())},
                        {"psnr_vs_reference", std::isfinite(acc) || std::isinf(acc) ? nlohmann::json(acc) : nlohmann::json(nullptr)}});
      }
    if (!json_path.empty()) {
      nlohmann::json j = {{"dataset", data.description}, {"train_count", data.train.n}, {"test_count", data.queries.n}, {"rows", rows}};
      std::ofstream(json_path) << j.dump(2) << "\n";
    }
    if (!ok) std::fprintf(stderr, "lemmse_bench: a result misses the accuracy bar (DESIGN.md §5)\n");
    return ok ? 0 : 1;
  } catch (const Error& e) {
    std::fprintf(stderr, "lemmse_bench: error: %s\n", e.what());
    return 2;
  }
}
