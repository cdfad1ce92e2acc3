// lemmse command line: `lemmse run` (estimate), `lemmse info` (build and devices).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <new>

#include "cli/run_command.hpp"
#include "cli/signals.hpp"
#include "lemmse/device.hpp"
#include "lemmse/errors.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "lemmse: closed-form constrained MMSE estimators (MMSE, E-MMSE, LE-MMSE, L-MMSE) for imaging inverse\n"
      "problems: the analytic limit of translation-equivariant, finite-receptive-field CNN solvers\n"
      "(arXiv 2601.10334). See README.md and docs/CONVENTIONS.md."};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("lemmse ") + LEMMSE_VERSION);
  lemmse::RunOptions run;
  CLI::App* run_cmd = app.add_subcommand("run", "Estimate clean images from measurements and write the results to --out");
  lemmse::add_run_options(*run_cmd, run);
  CLI::App* info_cmd = app.add_subcommand("info", "Print the version, the build's CUDA support and the devices found");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    if (*info_cmd) {
      std::printf("lemmse %s\nCUDA sources built: %s\n%s", LEMMSE_VERSION, lemmse::cuda_built() ? "yes" : "no",
                  lemmse::cuda_device_summary().c_str());
      std::printf("\n");
      return 0;
    }
    lemmse::install_interrupt_handlers();
    return lemmse::execute_run(run);
  } catch (const lemmse::Cancelled&) {
    std::fprintf(stderr, "\nlemmse: interrupted; no output files were written\n");
    return 130;
  } catch (const lemmse::Error& e) {
    std::fprintf(stderr, "lemmse: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "lemmse: error: out of memory (reduce --train-count, --test-count or --topk)\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lemmse: internal error: %s\n", e.what());
    return 3;
  }
}
