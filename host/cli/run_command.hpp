// `lemmse run`: options and execution.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

namespace lemmse {
struct RunOptions {
  std::string dataset = "builtin", data_dir, test_data, builtin_variant = "gray28", split = "test";
  std::size_t train_count = 1000, test_count = 4, test_start = 0;
  std::string train_indices;
  std::string estimator = "le-mmse";
  int patch = 5;
  std::string problem = "denoise", preinverse = "identity", compat = "consistent", backend = "auto";
  std::string preinverse_kernel;  // --preinverse filter: .npy kernel of B
  double sigma = 0.2, eps = 1e-3;
  std::string measurement;
  std::uint64_t noise_seed = 0, mask_seed = 1234;
  int topk = 0, threads = 0;
  bool log_density = false, variance = false, effective_count = false, quiet = false;
  std::string out = "lemmse-out";
  std::size_t grid_rows = 8;
  int grid_scale = 4;
};
void add_run_options(CLI::App& cmd, RunOptions& o);
// Checks every option that can be checked without reading data (names, numbers, the problem's
// syntax); throws lemmse::InvalidArgument. execute_run calls it first.
void check_run_options(const RunOptions& o);
int execute_run(const RunOptions& o);
}  // namespace lemmse
