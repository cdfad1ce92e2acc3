// `lemmse run` argument parsing and option checking (nothing is loaded or computed).
// Input: arguments separated by newlines or NUL bytes.
#include <CLI/CLI.hpp>
#include <string>

#include "cli/run_command.hpp"
#include "fuzz_common.hpp"

static void fuzz_one(const std::vector<std::uint8_t>& bytes) {
  std::vector<std::string> args{"lemmse", "run"};
  std::string cur;
  for (std::uint8_t b : bytes) {
    if (b == '\n' || b == 0) {
      args.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(char(b));
    }
  }
  if (!cur.empty()) args.push_back(cur);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  CLI::App app{"lemmse"};
  app.require_subcommand(1);
  lemmse::RunOptions o;
  CLI::App* run = app.add_subcommand("run", "");
  lemmse::add_run_options(*run, o);
  try {
    app.parse(int(argv.size()), argv.data());
  } catch (const CLI::Error&) {
    return;
  }
  lemmse::check_run_options(o);
}
