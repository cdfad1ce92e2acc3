// Progress line on stderr for long runs: percentage, elapsed time and an estimate of the rest.
// Rewrites one line on a terminal, prints a line every few seconds otherwise.
#pragma once
#include <chrono>
#include <string>

namespace lemmse {
class ProgressReporter {
 public:
  explicit ProgressReporter(std::string label, bool enabled = true);
  void update(double done, double total);
  void finish();

 private:
  std::string label_;
  bool enabled_, tty_, printed_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};
}  // namespace lemmse
