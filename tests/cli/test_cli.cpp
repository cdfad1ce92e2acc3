// The command line as users run it: outputs, metrics, and clear refusals of bad input.
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "lemmse/io.hpp"
#include "support/skip.hpp"

using namespace lemmse;

namespace {
struct Result {
  int code;
  std::string output;
};
Result lemmse_cli(const std::string& args) {
  const std::string cmd = std::string(LEMMSE_CLI_PATH) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  std::string out;
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), out};
}
}  // namespace

TEST_CASE("lemmse run writes every output and improves PSNR", "[cli]") {
  const std::string dir = lemmse_test::temp_dir("cli-run");
  Result r = lemmse_cli("run --train-count 60 --test-count 2 --patch 3 --sigma 0.2 --topk 3 --log-density --variance "
                        "--effective-count --threads 2 --backend cpu --out " + dir);
  INFO(r.output);
  REQUIRE(r.code == 0);
  for (const char* f : {"estimate.npy", "measurement.npy", "clean.npy", "log_density.npy", "variance.npy",
                        "effective_count.npy", "topk_log_weight.npy", "topk_weight.npy", "topk_image.npy",
                        "topk_position.npy", "metrics.json", "grid.png"})
    CHECK(std::filesystem::exists(dir + "/" + f));
  CHECK(read_npy(dir + "/estimate.npy").shape == std::vector<std::size_t>{2, 1, 28, 28});
  CHECK(read_npy(dir + "/topk_image.npy").shape == std::vector<std::size_t>{2, 3, 28, 28});
  nlohmann::json m = nlohmann::json::parse(std::ifstream(dir + "/metrics.json"));
  CHECK(m["psnr_mean"].get<double>() > m["psnr_measurement_mean"].get<double>() + 3.0);
  CHECK(m["estimator"] == "le-mmse");
  CHECK(m["psnr"].size() == 2);

  // --measurement: y is used exactly; re-running on the written measurement reproduces the estimate.
  const std::string dir2 = lemmse_test::temp_dir("cli-meas");
  // (same backend as the first run, which computed top-k too)
  Result r2 = lemmse_cli("run --train-count 60 --patch 3 --sigma 0.2 --threads 2 --backend cpu --measurement " + dir +
                         "/measurement.npy --out " + dir2);
  INFO(r2.output);
  REQUIRE(r2.code == 0);
  CHECK(read_npy(dir2 + "/estimate.npy").values == read_npy(dir + "/estimate.npy").values);
  CHECK(!std::filesystem::exists(dir2 + "/clean.npy"));
}

TEST_CASE("lemmse refuses bad input with a message and a non-zero exit", "[cli][errors]") {
  const std::string dir = lemmse_test::temp_dir("cli-bad");
  struct Bad {
    std::string args, message;
  };
  write_npy_f64(dir + "/nan.npy", {1, 1, 28, 28}, std::vector<double>(784, NAN));
  write_npy_f64(dir + "/rgb.npy", {1, 3, 28, 28}, std::vector<double>(3 * 784, 0.5));
  { std::ofstream(dir + "/junk.npy") << "junk"; }
  write_npy_f64(dir + "/singular.npy", {3, 3}, {0, 1, 0, 1, 4, 1, 0, 1, 0});  // transfer 0 at (π, π)
  const std::string small = " --train-count 5 --test-count 1 --out " + dir + "/o";
  for (const Bad& b : std::vector<Bad>{
           {"run --patch 4" + small, "odd"},
           {"run --patch 29" + small, "larger than"},
           {"run --sigma 0" + small, "--sigma"},
           {"run --sigma -1" + small, "--sigma"},
           {"run --sigma nan" + small, "sigma"},
           {"run --train-count 0 --out " + dir + "/o", "empty"},
           {"run --no-such-flag", "no-such-flag"},
           {"run --estimator foo" + small, "estimator"},
           {"run --problem inpaint-box:99" + small, "inpaint-box"},
           {"run --problem blur-gaussian:1 --preinverse mask" + small, "inpainting"},
           {"run --measurement " + dir + "/nan.npy" + small, "NaN"},
           {"run --measurement " + dir + "/rgb.npy" + small, "training images are"},
           {"run --measurement " + dir + "/junk.npy" + small, "bad magic"},
           {"run --dataset mnist" + small, "--data-dir"},
           {"run --dataset npy --data-dir " + dir + "/missing.npy" + small, "cannot open"},
           {"run --backend cuda --estimator l-mmse --problem blur-gaussian:1 --preinverse inverse" + small, "--backend cuda"},  // refused with or without a device
           {"run --problem blur-gaussian:1 --preinverse filter" + small, "--preinverse-kernel"},
           {"run --problem blur-gaussian:1 --preinverse filter --preinverse-kernel " + dir + "/singular.npy" + small, "not invertible"},
           {"run --problem denoise --preinverse filter --preinverse-kernel " + dir + "/singular.npy" + small, "blur problem"},
       }) {
    Result r = lemmse_cli(b.args);
    INFO(b.args << "\n" << r.output);
    CHECK(r.code != 0);
    CHECK(r.code < 128);  // an exit, not a crash
    CHECK_THAT(r.output, Catch::Contains(b.message));
  }
}

TEST_CASE("help documents the contract flags", "[cli]") {
  Result r = lemmse_cli("run --help");
  REQUIRE(r.code == 0);
  for (const char* flag : {"--dataset", "--data-dir", "--split", "--train-count", "--train-indices", "--estimator", "--patch",
                           "--problem", "--preinverse", "--sigma", "--measurement", "--test-count", "--noise-seed", "--topk",
                           "--log-density", "--variance", "--out", "--backend", "--threads", "--compat"})
    CHECK_THAT(r.output, Catch::Contains(flag));
}

TEST_CASE("Ctrl-C stops a run cleanly and writes no output file", "[cli][signals]") {
  const std::string dir = lemmse_test::temp_dir("cli-sigint");
  const std::string log = dir + "/log.txt";
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::freopen(log.c_str(), "w", stderr);
    // The CPU backend (a GPU would finish before the signal arrives).
    execl(LEMMSE_CLI_PATH, "lemmse", "run", "--backend", "cpu", "--train-count", "3000", "--test-count", "2", "--threads", "2", "--out",
          (dir + "/o").c_str(), (char*)nullptr);
    std::_Exit(127);
  }
  usleep(1500 * 1000);
  kill(pid, SIGINT);
  int st = 0;
  waitpid(pid, &st, 0);
  REQUIRE(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 130);
  std::ifstream f(log);
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  CHECK_THAT(text, Catch::Contains("interrupted"));
  std::size_t files = 0;
  if (std::filesystem::exists(dir + "/o"))
    for (auto& e : std::filesystem::directory_iterator(dir + "/o")) {
      UNSCOPED_INFO("left behind: " << e.path());
      ++files;
    }
  CHECK(files == 0);  // neither results nor .partial files
}

TEST_CASE("outputs are byte-identical across runs and thread counts", "[cli][determinism]") {
  const std::string dir = lemmse_test::temp_dir("cli-det");
  std::vector<std::uint8_t> first;
  for (const char* threads : {"1", "2", "3"}) {
    Result r = lemmse_cli(std::string("run --train-count 30 --test-count 2 --patch 3 --problem inpaint-box:9 --preinverse mask "
                                      "--topk 2 --variance --quiet --threads ") + threads + " --out " + dir + "/" + threads);
    REQUIRE(r.code == 0);
    for (const char* f : {"/estimate.npy", "/variance.npy", "/topk_position.npy"}) {
      const auto bytes = read_file_bytes(dir + "/" + threads + f);
      const auto base = read_file_bytes(dir + "/1" + f);
      CHECK(bytes == base);
    }
  }
}

TEST_CASE("runs that cannot fit in memory are refused up front", "[cli][limits]") {
  Result r = lemmse_cli("run --train-count 5 --test-count 1 --topk 100000000 --out " + lemmse_test::temp_dir("cli-mem"));
  CHECK(r.code == 1);
  CHECK_THAT(r.output, Catch::Contains("GiB of host memory"));
}
